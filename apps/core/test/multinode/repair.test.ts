/**
 * Repair across real bbc1-core processes (p2p-protocol.md §10): three nodes hold the same
 * transactions; on A a transaction is forged in the SQLite file (after the commit log applied)
 * and an asset file is overwritten; a client's REQUEST_REPAIR makes A ask B and C, verify the
 * answer and replace its copy, and search stops answering "compromised". A hostile peer speaking
 * raw frames answers A's request with forged data: ignored, counted, nothing replaced.
 */
import { createSocket, type Socket } from "node:dgram";
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeyPair, addEventAsset, getNewId, makeTransaction, toHex, type BBcTransaction } from "@bbc1/bbclib";
import { BBcAppClient } from "@bbc1/client";
import { decodePayload, encodeMessage, splitFrame, u16Bytes, type WireMessage } from "@bbc1/wire";
import { ensureBuilt } from "../helpers.js";
import { cluster, holdsExactly, until, type Cluster, type ClusterNode } from "./cluster.js";

beforeAll(() => ensureBuilt(), 120_000);

const hex = toHex;
const te = new TextEncoder();
const domainId = getNewId("multinode repair domain");
const group = getNewId("repair group");
const user = getNewId("repair user");
const key = KeyPair.generate();

function signed(body: string, file?: Uint8Array): BBcTransaction {
  const t = makeTransaction({ eventNum: 1, witness: true });
  addEventAsset(t, 0, group, user, { assetBody: body, ...(file !== undefined ? { assetFile: file } : {}) });
  t.witness!.addWitness(user);
  t.addSignature(user, t.sign(key));
  t.digest();
  return t;
}

function ledgerFile(n: ClusterNode): string {
  const dir = join(n.cwd, ".bbc1", hex(domainId));
  const f = readdirSync(dir).find((x) => x.endsWith(".sqlite"));
  if (f === undefined) throw new Error(`no sqlite file in ${dir}`);
  return join(dir, f);
}

/** The transaction row as the tables hold it (undefined until the commit log applied it). */
function storedRow(n: ClusterNode, txid: Uint8Array): Buffer | undefined {
  const db = new Database(ledgerFile(n), { readonly: true, fileMustExist: true });
  try {
    const r = db.prepare("SELECT transaction_data FROM transaction_table WHERE transaction_id = ?").get(Buffer.from(txid)) as { transaction_data: Buffer } | undefined;
    return r?.transaction_data;
  } finally {
    db.close();
  }
}

/** Flips a byte inside the last signature of the stored row, behind the node's back. */
async function forgeRow(n: ClusterNode, txid: Uint8Array): Promise<Buffer> {
  const row = await until("the commit log to apply the row", async () => storedRow(n, txid));
  const bad = Buffer.from(row);
  bad[bad.length - 5]! ^= 0xff;
  const db = new Database(ledgerFile(n), { fileMustExist: true });
  try {
    db.pragma("busy_timeout = 5000");
    db.prepare("UPDATE transaction_table SET transaction_data = ? WHERE transaction_id = ?").run(bad, Buffer.from(txid));
  } finally {
    db.close();
  }
  return bad;
}

/** Runs one statement on the node's SQLite file behind its back (after the commit log applied the row). */
async function onTables(n: ClusterNode, txid: Uint8Array, sql: string): Promise<void> {
  await until("the commit log to apply the row", async () => storedRow(n, txid));
  const db = new Database(ledgerFile(n), { fileMustExist: true });
  try {
    db.pragma("busy_timeout = 5000");
    db.prepare(sql).run(Buffer.from(txid));
  } finally {
    db.close();
  }
}

function assetRows(n: ClusterNode, txid: Uint8Array): number {
  const db = new Database(ledgerFile(n), { readonly: true, fileMustExist: true });
  try {
    return (db.prepare("SELECT count(*) AS n FROM asset_info_table WHERE transaction_id = ?").get(Buffer.from(txid)) as { n: number }).n;
  } finally {
    db.close();
  }
}

const assetPath = (n: ClusterNode, aid: Uint8Array) => join(n.cwd, ".bbc1", hex(domainId), hex(group), hex(aid));

describe("repair of a forged transaction and asset file from peers", () => {
  let c: Cluster;
  let a: ClusterNode;
  let b: ClusterNode;
  let cc: ClusterNode;
  const clients: BBcAppClient[] = [];
  const tx1 = signed("repair tx1 " + Math.random());
  const file2 = te.encode("asset file of tx2 ".repeat(40));
  const tx2 = signed("repair tx2 " + Math.random(), file2);
  const aid2 = tx2.events[0]!.asset!.assetId!;
  const tx5 = signed("repair tx5 " + Math.random());
  const file3 = te.encode("asset file of tx3 ".repeat(30));
  const tx3 = signed("repair tx3 " + Math.random(), file3);
  const tx4 = signed("repair tx4 " + Math.random());

  const clientOf = async (n: ClusterNode) => {
    const cl = await BBcAppClient.connect({ port: n.port, domainId, userId: user, requestTimeoutMs: 10_000 });
    clients.push(cl);
    return cl;
  };

  beforeAll(async () => {
    c = await cluster(domainId, { config: { limits: { repair: { resend_after_ms: 500 } } } });
    [a, b, cc] = await Promise.all([c.add("a"), c.add("b"), c.add("c")]);
    await a.admin.sendDomainPing(domainId, "127.0.0.1", null, b.p2pPort);
    await a.admin.sendDomainPing(domainId, "127.0.0.1", null, cc.p2pPort);
    for (const n of [a, b, cc]) await until(`${n.name} to list all three`, async () => (holdsExactly(await n.neighbors(), [a.nodeId, b.nodeId, cc.nodeId]) ? true : undefined));
    for (const n of [a, b, cc]) {
      const cl = await clientOf(n);
      for (const t of [tx1, tx2, tx3, tx4, tx5]) {
        // replication may already have brought it: a duplicate is fine
        await cl.insertTransaction(t).catch(() => undefined);
        await until(`${n.name} to hold the transaction`, async () => ((await cl.searchTransaction(t.transactionId!, { acceptCompromised: true })).transactionData !== null ? true : undefined));
      }
    }
  }, 120_000);

  afterAll(async () => {
    for (const cl of clients) await cl.close().catch(() => undefined);
    await c?.close();
  });

  it("a transaction forged in A's SQLite file is compromised, then repaired from B or C after REQUEST_REPAIR", async () => {
    const cl = clients[0]!;
    await forgeRow(a, tx1.transactionId!);
    const before = await cl.searchTransaction(tx1.transactionId!, { acceptCompromised: true });
    expect(before.compromised).toBe(true);
    await cl.requestToRepairTransaction(tx1.transactionId!);
    await until("tx1 to be repaired on A", async () => ((await cl.searchTransaction(tx1.transactionId!, { acceptCompromised: true })).compromised ? undefined : true));
    const after = await cl.searchTransaction(tx1.transactionId!);
    expect(hex(after.transactionData!)).toBe(hex(tx1.serialize()));
    // durable in the tables, not only in memory: the row holds the good bytes again once applied
    await until("the repaired row in the tables", async () => (storedRow(a, tx1.transactionId!)?.equals(Buffer.from(tx1.serialize())) ? true : undefined));
    const st = await a.stats();
    expect(st.repair?.repaired_transaction).toBe(1);
    expect(st.transaction?.repair_request).toBeGreaterThanOrEqual(1);
    const answered = ((await b.stats()).repair?.answered_transaction ?? 0) + ((await cc.stats()).repair?.answered_transaction ?? 0);
    expect(answered).toBeGreaterThanOrEqual(1);
    // the forged row's asset rows were kept, not written a second time
    expect(assetRows(a, tx1.transactionId!)).toBe(1);
    const log = readFileSync(join(a.cwd, ".bbc1", hex(domainId), "repair_log.json"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(log.some((e) => e.transaction_id === hex(tx1.transactionId!) && [hex(b.nodeId), hex(cc.nodeId)].includes(e.repaired_by))).toBe(true);
  });

  it("an asset file overwritten on A is compromised, then repaired after REQUEST_REPAIR for the asset", async () => {
    const cl = clients[0]!;
    const path = assetPath(a, aid2);
    await until("the asset file on disk", async () => (existsSync(path) ? true : undefined));
    writeFileSync(path, te.encode("forged content"));
    const before = await cl.searchTransaction(tx2.transactionId!, { acceptCompromised: true });
    expect(before.compromised).toBe(true);
    await cl.requestToRepairAsset(group, aid2);
    await until("the asset file to be repaired on A", async () => ((await cl.searchTransaction(tx2.transactionId!, { acceptCompromised: true })).compromised ? undefined : true));
    expect(hex(readFileSync(path))).toBe(hex(file2));
    expect((await a.stats()).repair?.repaired_asset_file).toBe(1);
  });

  it("a valid transaction is not asked for; a deleted row and its deleted asset file come back with one REQUEST_REPAIR", async () => {
    const cl = clients[0]!;
    const sent0 = (await a.stats()).repair?.request_transaction ?? 0;
    await cl.requestToRepairTransaction(tx4.transactionId!);
    await until("the request to be handled", async () => (((await a.stats()).transaction?.repair_request ?? 0) >= 2 ? true : undefined));
    expect((await a.stats()).repair?.request_transaction ?? 0).toBe(sent0);
    // tx3: row deleted from the tables and its file deleted: missing, not forged
    await onTables(a, tx3.transactionId!, "DELETE FROM transaction_table WHERE transaction_id = ?");
    const path = assetPath(a, tx3.events[0]!.asset!.assetId!);
    await until("the asset file on disk", async () => (existsSync(path) ? true : undefined));
    rmSync(path);
    await expect(cl.searchTransaction(tx3.transactionId!)).rejects.toThrow();
    await cl.requestToRepairTransaction(tx3.transactionId!);
    await until("tx3 and its file to be back on A", async () => {
      const r = await cl.searchTransaction(tx3.transactionId!, { acceptCompromised: true }).catch(() => null);
      return r !== null && !r.compromised && existsSync(path) ? true : undefined;
    });
    expect(hex(readFileSync(path))).toBe(hex(file3));
  });

  it("a hostile peer answering with forged data is ignored and counted; the forged row stays until a valid copy comes", async () => {
    const cl = clients[0]!;
    const evilId = getNewId("evil node");
    const sock: Socket = createSocket("udp4");
    await new Promise<void>((r) => sock.bind(0, "127.0.0.1", () => r()));
    const got: WireMessage[] = [];
    sock.on("message", (buf) => {
      try {
        const f = splitFrame(new Uint8Array(buf));
        if (f.payloadType === 2) got.push(decodePayload(2, f.body));
      } catch {
        // not a frame of ours to read
      }
    });
    const send = (m: WireMessage) => new Promise<void>((r) => sock.send(encodeMessage(2, m), a.p2pPort, "127.0.0.1", () => r()));
    const base = { domain_id: domainId, infra_msg_type: u16Bytes(3), infra_command: u16Bytes(5) };
    const txid = tx5.transactionId!;
    try {
      // a request for something A does not hold makes us A's neighbour and is harmless (H16)
      await send({ ...base, command: 2, transaction_id: getNewId("nothing"), nonce: new Uint8Array([9, 9, 9, 9]), destination_node_id: a.nodeId, source_node_id: evilId });
      await until("A to count the request it cannot answer", async () => (((await a.stats()).repair?.not_held ?? 0) >= 1 ? true : undefined));
      // forged everywhere: B and C have no valid copy to answer with, only the hostile peer answers
      const forged = await forgeRow(a, txid);
      await forgeRow(b, txid);
      await forgeRow(cc, txid);
      const repaired = (await a.stats()).repair?.repaired_transaction ?? 0;
      await cl.requestToRepairTransaction(txid);
      const req = await until("A's repair request to reach the hostile peer", async () => got.find((m) => m.command === 2 && m.transaction_id instanceof Uint8Array && hex(m.transaction_id) === hex(txid)));
      const other = signed("another valid transaction " + Math.random());
      // the requested transaction with a broken signature, and a valid transaction of another id
      for (const data of [new Uint8Array(forged), other.serialize()]) {
        await send({ ...req, command: 3, destination_node_id: a.nodeId, source_node_id: evilId, transaction_data: data });
      }
      await until("A to count two forged answers", async () => (((await a.stats()).repair?.forged_answer ?? 0) >= 2 ? true : undefined));
      expect((await a.stats()).repair?.repaired_transaction ?? 0).toBe(repaired);
      expect(storedRow(a, txid)?.equals(forged)).toBe(true);
      expect((await cl.searchTransaction(txid, { acceptCompromised: true })).compromised).toBe(true);
      expect((await cl.searchTransaction(other.transactionId!, { acceptCompromised: true }).catch(() => null))?.transactionData ?? null).toBeNull();
      // B and C hold it forged: no answer from them (counted), and everyone keeps serving
      await until("B and C to count the request they cannot answer", async () => (((await b.stats()).repair?.not_held ?? 0) >= 1 && ((await cc.stats()).repair?.not_held ?? 0) >= 1 ? true : undefined));
      expect((await cl.searchTransaction(tx1.transactionId!)).compromised).toBe(false);
      // B gets its good copy back (by hand): A's next request is answered by B and repairs A
      const db = new Database(ledgerFile(b), { fileMustExist: true });
      try {
        db.pragma("busy_timeout = 5000");
        db.prepare("UPDATE transaction_table SET transaction_data = ? WHERE transaction_id = ?").run(Buffer.from(tx5.serialize()), Buffer.from(txid));
      } finally {
        db.close();
      }
      await new Promise((r) => setTimeout(r, 600)); // resend_after_ms
      await cl.requestToRepairTransaction(txid);
      await until("the transaction to be repaired from B", async () => ((await cl.searchTransaction(txid, { acceptCompromised: true })).compromised ? undefined : true));
      await until("the repaired row in the tables", async () => (storedRow(a, txid)?.equals(Buffer.from(tx5.serialize())) ? true : undefined));
      expect((await a.stats()).repair?.repaired_transaction).toBe(repaired + 1);
    } finally {
      sock.close();
    }
  });

  it("repairs survive kill -9: after a restart A serves the repaired copies", async () => {
    await c.stop(a, "SIGKILL");
    const a2 = await c.restart(a);
    const cl = await clientOf(a2);
    for (const t of [tx1, tx2, tx3, tx5]) {
      const r = await cl.searchTransaction(t.transactionId!, { acceptCompromised: true });
      expect(r.compromised, "compromised after restart").toBe(false);
    }
    expect(hex(readFileSync(assetPath(a2, aid2)))).toBe(hex(file2));
  });
});
