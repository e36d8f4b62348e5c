/**
 * MANUAL interop check (not in CI): the ORIGINAL bbc_app.BBcAppClient (Python, via /work/pyref)
 * and @bbc1/client make the same sequence of calls against a capturing server; every frame must
 * be byte-identical once the values that are random by design (`random`, the ECDSA node-key
 * signature) are taken from the Python frame.
 *
 *   npx vitest run -c packages/bbc-client/interop/vitest.config.ts wire-compare
 */
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { KeyPair, addEventAsset, makeTransaction, sha256, toHex } from "@bbc1/bbclib";
import { decodeTlv, encodeMessage, encodeTlv, type WireMessage } from "@bbc1/wire";
import { BBcAppClient } from "../src/index.js";
import { FakeCore, hex, type Received } from "../test/fake-core.js";

const PYREF = process.env.BBC1_PYREF ?? "/work/pyref";
const script = fileURLToPath(new URL("./pyclient_calls.py", import.meta.url));
const te = new TextEncoder();
const domain = sha256(te.encode("wire compare domain"));
const user = sha256(te.encode("wire compare user"));
const other = sha256(te.encode("wire compare other"));

function runPython(port: number, txHex: string, pemPath?: string): void {
  const args = [script, String(port), toHex(domain), toHex(user), toHex(other), txHex, ...(pemPath ? [pemPath] : [])];
  const r = spawnSync("/usr/bin/python3", args, {
    env: { ...process.env, PYTHONPATH: `${PYREF}/shim:${PYREF}/vendor:/work/ref` },
    encoding: "utf8",
    timeout: 30_000,
  });
  if (r.status !== 0) throw new Error(`python client failed (${r.status}): ${r.stderr}`);
}

async function runTs(port: number, tx: ReturnType<typeof makeTransaction>, pem?: string): Promise<void> {
  const c = await BBcAppClient.connect({ port, domainId: domain, userId: user, nodeKey: pem ?? null, requestTimeoutMs: 300 });
  const quiet = (p: Promise<unknown>): void => void p.catch(() => undefined);
  quiet(c.register());
  quiet(c.register(true));
  quiet(c.insertTransaction(tx));
  quiet(c.searchTransaction(tx.transactionId!));
  quiet(c.searchTransactionWithCondition({ assetGroupId: other, userId: user, count: 5 }));
  quiet(c.searchTransactionWithCondition({ assetId: other, direction: 1 }));
  quiet(c.countTransactions({ assetGroupId: other, assetId: user, userId: other }));
  quiet(c.traverseTransactions(tx.transactionId!, { userId: user, direction: 0, hopCount: 5 }));
  quiet(c.traverseTransactions(tx.transactionId!));
  quiet(c.sendMessage("hello", other));
  quiet(c.sendMessage(new Uint8Array([0, 1, ...te.encode("bytes")]), other, { anycast: true }));
  quiet(c.requestInsertCompletionNotification(other));
  quiet(c.cancelInsertCompletionNotification(other));
  quiet(c.requestToRepairTransaction(tx.transactionId!));
  quiet(c.requestToRepairAsset(other, user));
  quiet(c.requestVerifyByCrossRef(tx.transactionId!));
  quiet(c.requestCrossRefHoldersList());
  quiet(c.registerInLedgerSubsystem(other, tx.transactionId!));
  quiet(c.verifyInLedgerSubsystem(other, tx.transactionId!));
  quiet(c.gatherSignatures(tx, { destinations: [other, user], assetFiles: new Map([[other, te.encode("file")]]) }));
  quiet(c.sendbackSignature({ destUserId: other, transactionId: tx.transactionId, refIndex: -1, signature: tx.signatures[0]!, queryId: new Uint8Array([7, 8]) }));
  quiet(c.sendbackSignature({ destUserId: other, transactionId: tx.transactionId, refIndex: 2, signature: tx.signatures[0]! }));
  quiet(c.sendbackDenialOfSign({ destUserId: other, transactionId: tx.transactionId, reason: "no thanks", queryId: new Uint8Array([1, 2]) }));
  quiet(c.domainSetup(other, '{"a": 1}'));
  quiet(c.domainClose(other));
  quiet(c.getDomainNeighborlist(other));
  quiet(c.setDomainStaticNode(other, user, "10.0.0.1", "::1", 6641));
  quiet(c.sendDomainPing(other, "10.0.0.2", null, 6642));
  quiet(c.getBbcConfig());
  quiet(c.notifyDomainKeyUpdate());
  quiet(c.getDomainList());
  quiet(c.getUserList());
  quiet(c.getForwardingList());
  quiet(c.getNotificationList());
  quiet(c.manipulateLedgerSubsystem(true, other));
  quiet(c.getStats());
  await c.unregister();
  await new Promise((r) => setTimeout(r, 400));
  await c.close();
}

/** The TS frame with the Python frame's random values (top-level `random`, admin_info's `random`, signature). */
function aligned(ts: Received, py: Received, nodeKey: KeyPair | null): Uint8Array {
  const m: WireMessage = { ...ts.message };
  if (m.random !== undefined && py.message.random !== undefined && (m.random as Uint8Array).length === 32) m.random = py.message.random;
  if (m.admin_info !== undefined && py.message.admin_info !== undefined) {
    expect(nodeKey!.verify(sha256(m.admin_info as Uint8Array), m.nodekey_signature as Uint8Array)).toBe(true);
    expect(nodeKey!.verify(sha256(py.message.admin_info as Uint8Array), py.message.nodekey_signature as Uint8Array)).toBe(true);
    const t = decodeTlv(m.admin_info as Uint8Array);
    const p = decodeTlv(py.message.admin_info as Uint8Array);
    if (t.random !== undefined) t.random = p.random;
    expect(hex(encodeTlv(t))).toBe(hex(py.message.admin_info as Uint8Array));
    m.admin_info = py.message.admin_info;
    m.nodekey_signature = py.message.nodekey_signature;
  }
  return m === ts.message ? ts.frame : encodeMessage(2, m);
}

describe("bbc_app.py and @bbc1/client send the same bytes", () => {
  for (const withKey of [false, true]) {
    it(`every call, ${withKey ? "with" : "without"} a node key`, async () => {
      const keys = KeyPair.generate();
      const tx = makeTransaction({ eventNum: 1, witness: true });
      addEventAsset(tx, 0, other, user, { assetBody: "compare me" });
      tx.witness!.addWitness(user);
      tx.addSignature(user, tx.sign(keys));
      const nodeKey = withKey ? KeyPair.generate() : null;
      let pemPath: string | undefined;
      if (nodeKey) {
        pemPath = join(mkdtempSync(join(tmpdir(), "wire-compare-")), "node_key.pem");
        writeFileSync(pemPath, nodeKey.getPrivateKeyPem());
      }
      const core = await FakeCore.start();
      try {
        runPython(core.port, toHex(tx.serialize()), pemPath);
        await new Promise((r) => setTimeout(r, 300));
        const py = core.received.filter((r) => r.conn === core.conns[0]);
        await runTs(core.port, tx, nodeKey?.getPrivateKeyPem());
        const ts = core.received.filter((r) => r.conn === core.conns[1]);
        expect(py.length).toBeGreaterThan(30);
        expect(ts.map((r) => r.message.command)).toEqual(py.map((r) => r.message.command));
        for (let i = 0; i < py.length; i++) {
          const want = hex(py[i]!.frame);
          const got = hex(aligned(ts[i]!, py[i]!, nodeKey));
          if (got !== want) {
            throw new Error(`frame ${i} (command ${String(py[i]!.message.command)}) differs\npy ${want}\nts ${got}\npy keys ${Object.keys(py[i]!.message).join(",")}\nts keys ${Object.keys(ts[i]!.message).join(",")}`);
          }
        }
      } finally {
        await core.close();
      }
    });
  }
});
