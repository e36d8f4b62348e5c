/**
 * Errors that tell a newcomer what went wrong: an admin command without the node key (dropped by
 * the node without an answer) fails early and says why; a missing node key file names the
 * resolved path and where the node keeps it; a refused connect names the address once.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { BBcCoreService } from "@bbc1/core";
import { getNewId } from "@bbc1/bbclib";
import { BBcAppClient, DEFAULT_UNSIGNED_ADMIN_TIMEOUT_MS } from "../src/index.js";

let dir: string;
let node: BBcCoreService;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "bbc1-client-hints-"));
  node = await BBcCoreService.start({ workingDir: dir, corePort: 0, p2pPort: 0, p2pHost: "127.0.0.1", useNodeKey: true, logLevel: "silent" });
});

afterAll(async () => {
  await node?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("admin commands without the node key", () => {
  it("fail with TIMEOUT after the short unsigned-admin timeout, naming the cause and the fix", async () => {
    const c = await BBcAppClient.connect({ port: node.port, requestTimeoutMs: 60_000, unsignedAdminTimeoutMs: 400 });
    try {
      const started = Date.now();
      const err = await c.domainSetup(getNewId("hint domain")).then(
        () => undefined,
        (e: unknown) => e as Error & { code: string },
      );
      expect(err?.code).toBe("TIMEOUT");
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(err?.message).toContain("REQUEST_SETUP_DOMAIN");
      expect(err?.message).toContain("without a node key");
      expect(err?.message).toContain("loadNodeKey");
      expect(err?.message).toContain("--no_nodekey");
    } finally {
      await c.close();
    }
  });

  it("use 5 s by default even with a long request timeout", async () => {
    expect(DEFAULT_UNSIGNED_ADMIN_TIMEOUT_MS).toBe(5000);
    const c = await BBcAppClient.connect({ port: node.port, requestTimeoutMs: 60_000 });
    try {
      const started = Date.now();
      await expect(c.getDomainList()).rejects.toMatchObject({ code: "TIMEOUT" });
      const took = Date.now() - started;
      expect(took).toBeGreaterThanOrEqual(4_900);
      expect(took).toBeLessThan(20_000);
    } finally {
      await c.close();
    }
  }, 30_000);

  it("signed with the wrong key: the TIMEOUT says the signature did not verify", async () => {
    const { KeyPair } = await import("@bbc1/bbclib");
    const c = await BBcAppClient.connect({ port: node.port, requestTimeoutMs: 500, nodeKey: KeyPair.generate() });
    try {
      const err = (await c.getDomainList().catch((e: unknown) => e)) as Error & { code: string };
      expect(err.code).toBe("TIMEOUT");
      expect(err.message).toMatch(/signature does not verify/);
    } finally {
      await c.close();
    }
  });

  it("with the key the same call is answered (the short timeout applies to unsigned calls only)", async () => {
    const c = await BBcAppClient.connect({ port: node.port, unsignedAdminTimeoutMs: 1, nodeKey: readFileSync(join(dir, "node_key.pem"), "utf8") });
    try {
      expect(Array.isArray(await c.getDomainList())).toBe(true);
    } finally {
      await c.close();
    }
  });
});

describe("loadNodeKey and connect", () => {
  it("a missing relative key path is reported resolved, with where the node keeps its key", async () => {
    const c = await BBcAppClient.connect({ port: node.port });
    try {
      const err = (await c.loadNodeKey("no-such-dir/node_key.pem").catch((e: unknown) => e)) as Error & { code: string };
      expect(err.code).toBe("INVALID_ARGUMENT");
      expect(err.message).toContain(resolve("no-such-dir/node_key.pem"));
      expect(err.message).toContain("working directory");
    } finally {
      await c.close();
    }
  });

  it("a refused connect names the address once and hints at the node", async () => {
    const port = await new Promise<number>((res) => {
      const s = createServer();
      s.listen(0, "127.0.0.1", () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => res(p));
      });
    });
    const err = (await BBcAppClient.connect({ port }).catch((e: unknown) => e)) as Error & { code: string };
    expect(err.code).toBe("CONNECT_FAILED");
    expect(err.message.split(`127.0.0.1:${port}`).length - 1).toBe(1);
    expect(err.message).toContain("connection refused");
  });
});
