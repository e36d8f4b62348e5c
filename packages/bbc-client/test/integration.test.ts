/**
 * @bbc1/client against a real @bbc1/core node (in-process, port 0, temporary working dir,
 * node key on). The suite itself is in suite.ts (it also runs against the Python original).
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BBcCoreService } from "@bbc1/core";
import { bytesEqual, sha256 } from "@bbc1/bbclib";
import { BBcAppClient } from "../src/index.js";
import { clientSuite } from "./suite.js";

let dir: string;
let node: BBcCoreService;
let pem: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "bbc1-client-it-"));
  node = await BBcCoreService.start({ workingDir: dir, corePort: 0, p2pPort: 0, p2pHost: "127.0.0.1", useNodeKey: true, logLevel: "silent", resolveTimeoutMs: 300 });
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

it("@bbc1/core: ledger-subsystem switch answers −4; multicast registration and anycast messages", async () => {
  const te = new TextEncoder();
  const domainId = sha256(te.encode("it extra domain"));
  const pemClient = await BBcAppClient.connect({ port: node.port, domainId, nodeKey: pem });
  const group = sha256(te.encode("it multicast user"));
  const r1 = await BBcAppClient.connect({ port: node.port, domainId, userId: group });
  const sender = await BBcAppClient.connect({ port: node.port, domainId, userId: sha256(te.encode("it sender")) });
  try {
    expect((await pemClient.domainSetup(domainId)).result).toBe(true);
    await expect(pemClient.manipulateLedgerSubsystem(true, domainId)).rejects.toMatchObject({ code: "ERROR_STATUS", status: -4 });
    await r1.register(true);
    await sender.register();
    for (let i = 0; !(await pemClient.getUserList()).some((u) => bytesEqual(u, group)); i++) {
      if (i > 50) throw new Error("multicast user not registered");
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(Array.isArray(await pemClient.getForwardingList())).toBe(true);
    const got = r1.waitFor("message");
    await sender.sendMessage("to any of the group", group, { anycast: true });
    const m = await got;
    expect(new TextDecoder().decode(m.message as Uint8Array)).toBe("to any of the group");
    expect(m.raw.is_anycast).toBe(true);
    // v1.1.1 sets anycast_ttl 5 and decrements it before each delivery attempt
    expect(m.anycastTtl).toBe(4);
  } finally {
    await Promise.all([pemClient.close(), r1.close(), sender.close()]);
  }
});
