/**
 * Session, messaging, notification and admin paths the main suites do not reach, each checked
 * over real sockets against what v1.1.1 `bbc_core.py` sends (client-protocol.md §6).
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeyPair, addEventAsset, encodeSignatureBinary, getNewId, makeTransaction } from "@bbc1/bbclib";
import { MsgType, encodeTlv, type WireMessage } from "@bbc1/wire";
import { client, setupDomain, signedTx, startNode, type TestNode } from "./helpers/node.js";
import { RawClient, text } from "./helpers/raw-client.js";

const BASE_KEYS = ["domain_id", "command", "destination_user_id", "query_id", "status"];
const pause = (ms = 50) => new Promise((r) => setTimeout(r, ms));

describe("sessions, signatures and notifications", () => {
  let t: TestNode;
  let a: RawClient;
  let b: RawClient;
  const domainId = getNewId("session edge domain");
  const ua = getNewId("edge alice");
  const ub = getNewId("edge bob");
  const ka = KeyPair.generate();
  const kb = KeyPair.generate();

  beforeAll(async () => {
    t = await startNode();
    await setupDomain(t.port, domainId);
    a = await client(t.port, domainId, ua);
    b = await client(t.port, domainId, ub);
    a.register();
    b.register();
    await pause();
  });
  afterAll(async () => {
    await a.close();
    await b.close();
    await t.stop();
  });

  async function users(): Promise<Uint8Array> {
    return (await a.answer(a.request(MsgType.REQUEST_GET_USERS, { random: new Uint8Array(32) }))).user_list as Uint8Array;
  }

  it("UNREGISTER removes the user, keeps the connection; messages to it then bounce", async () => {
    const u = getNewId("leaving user");
    const c = await client(t.port, domainId, u);
    c.register();
    await pause();
    expect(Buffer.from(await users()).includes(Buffer.from(u))).toBe(true);
    c.request(MsgType.UNREGISTER);
    await pause();
    expect(Buffer.from(await users()).includes(Buffer.from(u))).toBe(false);
    // the connection still serves requests (answered on it although no user is registered)
    const r = c.request(MsgType.REQUEST_SEARCH_TRANSACTION, { transaction_id: new Uint8Array(32) });
    expect((await c.answer(r)).status).toBe(-14);
    expect(c.closed).toBe(false);
    a.request(MsgType.MESSAGE, { destination_user_id: u, message: "are you there?" });
    const back = await a.command(MsgType.MESSAGE, 3000);
    expect(back.result).toBe(false);
    expect(text(back.reason)).toBe("Cannot find such user");
    expect(await c.nothing(100, (x) => x.message.command === MsgType.MESSAGE)).toBe(true);
    await c.close();
  });

  it("REGISTER for a domain not served, or with a nil domain, registers nothing and answers nothing", async () => {
    const u = getNewId("misplaced user");
    const c = await client(t.port, getNewId("not served"), u);
    c.register();
    c.domainId = null;
    c.register();
    expect(await c.nothing(150)).toBe(true);
    expect(Buffer.from(await users()).includes(Buffer.from(u))).toBe(false);
    expect(t.node.domains.size).toBe(1);
    await c.close();
  });

  it("REQUEST_INSERT for a domain not served: invalid → 'Bad transaction format', valid → 'Set up the domain, first!' (direct)", async () => {
    const u = getNewId("lost inserter");
    const c = await client(t.port, getNewId("nowhere"), u);
    const s = signedTx(ka, u, getNewId("g"));
    const bad = s.data.slice();
    bad[bad.length - 5]! ^= 0xff;
    const r1 = await c.answer(c.request(MsgType.REQUEST_INSERT, { transaction_data: bad, all_asset_files: new Map() }));
    expect(Object.keys(r1)).toEqual([...BASE_KEYS, "reason"]);
    expect(r1.command).toBe(MsgType.RESPONSE_INSERT);
    expect(r1.status).toBe(-1);
    expect(text(r1.reason)).toBe("Bad transaction format");
    const r2 = await c.answer(c.request(MsgType.REQUEST_INSERT, { transaction_data: s.data, all_asset_files: new Map() }));
    expect(r2.status).toBe(-1);
    expect(text(r2.reason)).toBe("Set up the domain, first!");
    await c.close();
  });

  it("RESPONSE_SIGNATURE without status → -255 with the signer's reason, key order of the reference", async () => {
    const s = signedTx(ka, ua, getNewId("g"));
    const req = a.request(MsgType.REQUEST_GATHER_SIGNATURE, { transaction_data: s.data, transaction_id: s.id, destination_user_ids: [ub] });
    const sigReq = await b.command(MsgType.REQUEST_SIGNATURE);
    const msg: WireMessage = { ...b.base(MsgType.RESPONSE_SIGNATURE), destination_user_id: ua, transaction_id: s.id, reason: "status-less denial", query_id: sigReq.query_id };
    delete msg.status;
    b.send(msg);
    const res = await a.answer(req);
    expect(Object.keys(res)).toEqual([...BASE_KEYS, "reason", "source_user_id", "infra_msg_type"]);
    expect(res.command).toBe(MsgType.RESPONSE_GATHER_SIGNATURE);
    expect(res.status).toBe(-255);
    expect(text(res.reason)).toBe("status-less denial");
    expect(res.source_user_id).toEqual(ub);
  });

  it("RESPONSE_SIGNATURE with status 0 and no signature → status 0, nothing else (Quirk C16)", async () => {
    const q = new Uint8Array([0x31, 0x32]);
    b.request(MsgType.RESPONSE_SIGNATURE, { destination_user_id: ua, transaction_id: new Uint8Array(32), query_id: q });
    const res = await a.answer({ query_id: q });
    expect(Object.keys(res)).toEqual([...BASE_KEYS, "source_user_id", "infra_msg_type"]);
    expect(res.status).toBe(0);
  });

  it("RESPONSE_SIGNATURE with a signature but no ref_index is dropped (the reference's handler fails on it)", async () => {
    const s = signedTx(ka, ua, getNewId("g"));
    const q = new Uint8Array([0x41, 0x42]);
    b.request(MsgType.RESPONSE_SIGNATURE, { destination_user_id: ua, transaction_id: s.id, signature: encodeSignatureBinary(s.tx.sign(kb)), transaction_data_format: 0, query_id: q });
    expect(await a.nothing(200, (x) => x.message.command === MsgType.RESPONSE_GATHER_SIGNATURE)).toBe(true);
    // b's connection keeps working
    expect((await b.answer(b.request(MsgType.REQUEST_SEARCH_TRANSACTION, { transaction_id: new Uint8Array(32) }))).status).toBe(-14);
  });

  it("REQUEST_SIGNATURE carries transactions and all_asset_files, not transaction_id nor is_anycast", async () => {
    const s = signedTx(ka, ua, getNewId("g"));
    const referred = signedTx(ka, ua, getNewId("g"));
    const files = new Map([[getNewId("asset"), new Uint8Array([7, 7, 7])]]);
    const req = a.request(MsgType.REQUEST_GATHER_SIGNATURE, {
      transaction_data: s.data,
      transaction_id: s.id,
      is_anycast: true,
      destination_user_ids: [ub],
      transactions: new Map([[referred.id, referred.data]]),
      all_asset_files: files,
    });
    const sigReq = await b.command(MsgType.REQUEST_SIGNATURE);
    expect(Object.keys(sigReq)).toEqual([...BASE_KEYS, "source_user_id", "transaction_data", "transactions", "all_asset_files", "infra_msg_type"]);
    expect(sigReq.query_id).toEqual(req.query_id);
    const tr = sigReq.transactions as Map<Uint8Array, Uint8Array>;
    expect([...tr.keys()]).toEqual([referred.id]);
    expect([...tr.values()]).toEqual([referred.data]);
    expect([...(sigReq.all_asset_files as Map<Uint8Array, Uint8Array>).values()]).toEqual([new Uint8Array([7, 7, 7])]);
  });

  it("a REQUEST_SIGNATURE for an unknown signer bounces to the requester with its query_id", async () => {
    const s = signedTx(ka, ua, getNewId("g"));
    const req = a.request(MsgType.REQUEST_GATHER_SIGNATURE, { transaction_data: s.data, transaction_id: s.id, destination_user_ids: [getNewId("ghost signer")] });
    const back = await a.answer(req, 3000);
    expect(back.command).toBe(MsgType.REQUEST_SIGNATURE);
    expect(back.result).toBe(false);
    expect(text(back.reason)).toBe("Cannot find such user");
    expect(back.destination_user_id).toEqual(ua);
  });

  it("REQUEST_GATHER_SIGNATURE that cannot be forwarded answers RESPONSE_GATHER_SIGNATURE -1 (the reference fails silently)", async () => {
    const s = signedTx(ka, ua, getNewId("g"));
    const noDst = await a.answer(a.request(MsgType.REQUEST_GATHER_SIGNATURE, { transaction_data: s.data, transaction_id: s.id }));
    expect(Object.keys(noDst)).toEqual([...BASE_KEYS, "reason", "infra_msg_type"]);
    expect(noDst.command).toBe(MsgType.RESPONSE_GATHER_SIGNATURE);
    expect(noDst.status).toBe(-1);
    expect(text(noDst.reason)).toBe("Fail to forward transaction");
    const noData = await a.answer(a.request(MsgType.REQUEST_GATHER_SIGNATURE, { transaction_id: s.id, destination_user_ids: [ub] }));
    expect(noData.status).toBe(-1);
    expect(text(noData.reason)).toBe("lack of mandatory params");
    const c = await client(t.port, getNewId("unserved gather domain"), ua);
    const unserved = await c.answer(c.request(MsgType.REQUEST_GATHER_SIGNATURE, { transaction_data: s.data, transaction_id: s.id, destination_user_ids: [ub] }));
    expect(unserved.status).toBe(-1);
    expect(text(unserved.reason)).toBe("Fail to forward transaction");
    expect(await b.nothing(150, (x) => x.message.command === MsgType.REQUEST_SIGNATURE)).toBe(true);
    await c.close();
  });

  it("CANCEL_INSERT_NOTIFICATION with a nil asset group cancels every group of the user", async () => {
    const g1 = getNewId("cancel all 1 " + Math.random());
    const g2 = getNewId("cancel all 2 " + Math.random());
    b.request(MsgType.REQUEST_INSERT_NOTIFICATION, { asset_group_id: g1 });
    b.request(MsgType.REQUEST_INSERT_NOTIFICATION, { asset_group_id: g2 });
    a.request(MsgType.REQUEST_INSERT_NOTIFICATION, { asset_group_id: g2 });
    await pause();
    const list = async () => (await a.answer(a.request(MsgType.REQUEST_GET_NOTIFICATION_LIST, { random: new Uint8Array(32) }))).notification_list as Uint8Array;
    expect([...(await list()).subarray(0, 2)]).toEqual([0, 2]);
    b.request(MsgType.CANCEL_INSERT_NOTIFICATION, { asset_group_id: null });
    await pause();
    // only g2 with a remains
    expect(await list()).toEqual(new Uint8Array([0, 1, ...g2, 0, 1, ...ua]));
    a.request(MsgType.CANCEL_INSERT_NOTIFICATION, { asset_group_id: g2 });
    await pause();
    expect(await list()).toEqual(new Uint8Array([0, 0]));
  });

  it("NOTIFY_INSERTED: one per subscriber even when subscribed to several of the groups; lists every group", async () => {
    const g1 = getNewId("two groups 1 " + Math.random());
    const g2 = getNewId("two groups 2 " + Math.random());
    b.request(MsgType.REQUEST_INSERT_NOTIFICATION, { asset_group_id: g1 });
    b.request(MsgType.REQUEST_INSERT_NOTIFICATION, { asset_group_id: g2 });
    await pause();
    const tx = makeTransaction({ eventNum: 2, witness: true });
    addEventAsset(tx, 0, g1, ua, { assetBody: "one" });
    addEventAsset(tx, 1, g2, ua, { assetBody: "two" });
    tx.witness!.addWitness(ua);
    tx.addSignature(ua, tx.sign(ka));
    const data = tx.serialize();
    const res = await a.answer(a.request(MsgType.REQUEST_INSERT, { transaction_data: data, all_asset_files: new Map() }));
    expect(res.status).toBe(0);
    const n = await b.command(MsgType.NOTIFY_INSERTED);
    expect(n.transaction_id).toEqual(res.transaction_id);
    expect(n.asset_group_ids).toEqual([g1, g2]);
    expect(await b.nothing(200, (x) => x.message.command === MsgType.NOTIFY_INSERTED)).toBe(true);
    b.request(MsgType.CANCEL_INSERT_NOTIFICATION, { asset_group_id: null });
  });
});

describe("admin edge cases", () => {
  it("without a node key, unsigned admin_info is decoded and merged over the top level", async () => {
    const t = await startNode({ useNodeKey: false });
    try {
      const c = await RawClient.connect(t.port);
      const d = getNewId("from admin_info");
      const msg: WireMessage = { ...c.base(MsgType.REQUEST_SETUP_DOMAIN), domain_id: getNewId("top level, overridden") };
      msg.admin_info = encodeTlv({ domain_id: d, random: new Uint8Array(32) });
      c.send(msg);
      const res = await c.answer(msg);
      expect(res.result).toBe(true);
      expect(res.domain_id).toEqual(d);
      expect([...t.node.domains.values()].map((x) => x.hex)).toEqual([Buffer.from(d).toString("hex")]);
      await c.close();
    } finally {
      await t.stop();
    }
  });

  it("with the node key: admin_info without nodekey_signature is dropped; SET_STATIC_NODE without node_info → result false; PING and key update unanswered", async () => {
    const t = await startNode({ useNodeKey: true });
    try {
      const nodeKey = new KeyPair().fromPrivateKeyPem(readFileSync(join(t.dir, "node_key.pem"), "utf8"));
      const d = getNewId("admin edge");
      await setupDomain(t.port, d, nodeKey);
      const c = await RawClient.connect(t.port);
      c.domainId = d;
      const unsigned: WireMessage = { ...c.base(MsgType.REQUEST_GET_DOMAINLIST), admin_info: encodeTlv({ random: new Uint8Array(randomBytes(32)) }) };
      c.send(unsigned);
      expect(await c.nothing(200)).toBe(true);
      c.nodeKey = nodeKey;
      const sn = await c.answer(c.admin(MsgType.REQUEST_SET_STATIC_NODE, { random: new Uint8Array(randomBytes(32)) }, { domain_id: d }));
      expect(Object.keys(sn)).toEqual([...BASE_KEYS, "result"]);
      expect(sn.command).toBe(MsgType.RESPONSE_SET_STATIC_NODE);
      expect(sn.result).toBe(false);
      expect(sn.domain_id).toEqual(d);
      c.admin(MsgType.DOMAIN_PING, { ipv4_address: "127.0.0.1", port_number: 6641, static_entry: true }, { domain_id: d });
      c.admin(MsgType.NOTIFY_DOMAIN_KEY_UPDATE, { random: new Uint8Array(randomBytes(32)) });
      expect(await c.nothing(200)).toBe(true);
      // still served after all of the above
      const dl = await c.answer(c.admin(MsgType.REQUEST_GET_DOMAINLIST, { random: new Uint8Array(randomBytes(32)) }));
      expect(dl.domain_list).toEqual(new Uint8Array([0, 1, ...d]));
      await c.close();
    } finally {
      await t.stop();
    }
  });
});

describe("per-connection limits", () => {
  it("maxConnections: beyond the limit an idle unregistered connection is evicted; with none, the new one is closed", async () => {
    const t = await startNode({ maxConnections: 2 });
    try {
      const d = getNewId("limit domain");
      await setupDomain(t.port, d);
      const idle = await client(t.port, d);
      const c1 = await client(t.port, d);
      c1.register();
      await pause();
      // the idle unregistered connection makes room for a new one
      const c2 = await client(t.port, d);
      for (let i = 0; i < 40 && !idle.closed; i++) await pause(25);
      expect(idle.closed).toBe(true);
      c2.register();
      await pause();
      // both registered: nothing to evict, the third is closed
      const c3 = await client(t.port, d);
      for (let i = 0; i < 40 && !c3.closed; i++) await pause(25);
      expect(c3.closed).toBe(true);
      expect(t.node.connectionCount).toBe(2);
      for (const c of [c1, c2]) {
        expect((await c.answer(c.request(MsgType.REQUEST_SEARCH_TRANSACTION, { transaction_id: new Uint8Array(32) }))).status).toBe(-14);
      }
      expect(t.node.stats.get("limits", "evicted_idle")).toBe(1);
      expect(t.node.stats.get("limits", "connections_total")).toBe(1);
      await c1.close();
      for (let i = 0; i < 40 && t.node.connectionCount > 1; i++) await pause(25);
      const c4 = await client(t.port, d);
      expect((await c4.answer(c4.request(MsgType.REQUEST_SEARCH_TRANSACTION, { transaction_id: new Uint8Array(32) }))).status).toBe(-14);
      await Promise.all([c2.close(), c4.close()]);
    } finally {
      await t.stop();
    }
  });

  it("maxWriteBuffer: a client that does not read is disconnected, the node keeps serving", async () => {
    const t = await startNode({ maxWriteBuffer: 256 * 1024 });
    try {
      const d = getNewId("write buffer domain");
      await setupDomain(t.port, d);
      const key = KeyPair.generate();
      const u = getNewId("big file owner");
      const good = await client(t.port, d, u);
      good.register();
      const content = new Uint8Array(512 * 1024).fill(0x61);
      const s = signedTx(key, u, getNewId("big"), { file: content });
      const ins = await good.answer(good.request(MsgType.REQUEST_INSERT, { transaction_data: s.data, all_asset_files: new Map([[s.tx.events[0]!.asset!.assetId!, content]]) }));
      expect(ins.status).toBe(0);
      const slow = await client(t.port, d, getNewId("slow reader"));
      slow.socket.pause();
      for (let i = 0; i < 64; i++) slow.request(MsgType.REQUEST_SEARCH_TRANSACTION, { transaction_id: s.id });
      for (let i = 0; i < 200 && t.node.connectionCount > 1; i++) await pause(25);
      expect(t.node.connectionCount).toBe(1);
      const again = await good.answer(good.request(MsgType.REQUEST_SEARCH_TRANSACTION, { transaction_id: s.id }));
      expect(again.status).toBe(0);
      slow.socket.destroy();
      await good.close();
    } finally {
      await t.stop();
    }
  });
});
