/**
 * MANUAL interop check (not in CI): the same suite as test/integration.test.ts, against the
 * ORIGINAL Python bbc_core.py (see /work/pyref/README-local.md), plus the reference's quirks.
 *
 *   /work/pyref/start_pynode.sh /tmp/pynode 9310 6810 --no_nodekey
 *   /work/pyref/start_pynode.sh /tmp/pynode-key 9311 6811 --nodekey
 *   BBC1_PYNODE_PORT=9310 BBC1_PYNODE_P2P_PORT=6810 npx vitest run -c packages/bbc-client/interop/vitest.config.ts
 *   BBC1_PYNODE_PORT=9311 BBC1_PYNODE_KEY=/tmp/pynode-key/node_key.pem npx vitest run -c packages/bbc-client/interop/vitest.config.ts
 */
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { sha256, toHex } from "@bbc1/bbclib";
import { BBcAppClient } from "../src/index.js";
import { clientSuite } from "../test/suite.js";

const port = Number(process.env.BBC1_PYNODE_PORT ?? "9310");
const host = process.env.BBC1_PYNODE_HOST ?? "127.0.0.1";
const keyPath = process.env.BBC1_PYNODE_KEY;
const pem = keyPath ? readFileSync(keyPath, "utf8") : null;

clientSuite("python bbc_core", () => ({ host, port, nodeKeyPem: pem, bounceMs: 5000 }));

describe("python bbc_core: reference behaviour seen through the client", () => {
  const domainId = sha256(new TextEncoder().encode(`pyquirks ${Date.now()}`));

  it("get_node_id is answered (this client signs it when a node key is set)", async () => {
    const c = await BBcAppClient.connect({ host, port, domainId, nodeKey: pem, requestTimeoutMs: 5000 });
    try {
      expect((await c.domainSetup(domainId)).result).toBe(true);
      expect(await c.getNodeId()).toHaveLength(32);
      const nb = await c.getDomainNeighborlist(domainId);
      expect(nb[0]!.ipv4).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
      if (process.env.BBC1_PYNODE_P2P_PORT) expect(nb[0]!.port).toBe(Number(process.env.BBC1_PYNODE_P2P_PORT));
      expect(Math.abs(nb[0]!.updatedAt - Date.now() / 1000)).toBeLessThan(3600);
      const stats = await c.getStats();
      expect(Object.keys(stats)).toContain("client");
      // the reference crashes on GET_NOTIFICATION_LIST for a domain without subscriptions: connection closed
      await expect(c.getNotificationList()).rejects.toMatchObject({ code: "DISCONNECTED" });
    } finally {
      await c.close();
    }
  });

  it("REQUEST_MANIP_LEDGER_SUBSYS without a subsystem drops the connection (reference crash)", async () => {
    const c = await BBcAppClient.connect({ host, port, domainId, nodeKey: pem, requestTimeoutMs: 5000 });
    await expect(c.manipulateLedgerSubsystem(true, domainId)).rejects.toMatchObject({ code: "DISCONNECTED" });
    expect(c.closed).toBe(true);
  });

  it("encrypted requests (payload 3) are decrypted by the reference core", async () => {
    const c = await BBcAppClient.connect({ host, port, domainId, userId: sha256(new TextEncoder().encode("enc")), nodeKey: pem, requestTimeoutMs: 5000 });
    try {
      await c.register();
      await c.exchangeKey({ encryptRequests: true });
      expect(await c.countTransactions({ userId: new Uint8Array(32) })).toBe(0);
      expect(await c.requestCrossRefHoldersList()).toEqual([]);
      expect(c.receivedFrames.encrypted).toBe(2);
      expect(toHex(c.domainId!)).toBe(toHex(domainId));
    } finally {
      await c.close();
    }
  });
});
