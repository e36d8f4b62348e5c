/**
 * @bbc1/client against a real @bbc1/core node (in-process, port 0, temporary working dir,
 * node key on). The suite itself is in suite.ts (it also runs against the Python original).
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BBcCoreService } from "@bbc1/core";
import { BBcAppClient } from "../src/index.js";
import { clientSuite } from "./suite.js";

let dir: string;
let node: BBcCoreService;
let pem: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "bbc1-client-it-"));
  node = await BBcCoreService.start({ workingDir: dir, corePort: 0, useNodeKey: true, logLevel: "silent", resolveTimeoutMs: 300 });
  pem = readFileSync(join(dir, "node_key.pem"), "utf8");
});

afterAll(async () => {
  await node?.close();
  rmSync(dir, { recursive: true, force: true });
});

clientSuite("@bbc1/core", () => ({ port: node.port, nodeKeyPem: pem, bounceMs: 300 }));

it("loadNodeKey reads the node's node_key.pem", async () => {
  const c = await BBcAppClient.connect({ port: node.port });
  try {
    await c.loadNodeKey(join(dir, "node_key.pem"));
    expect((await c.getDomainList()).length).toBeGreaterThan(0);
    await expect(c.loadNodeKey(join(dir, "missing.pem"))).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
  } finally {
    await c.close();
  }
});
