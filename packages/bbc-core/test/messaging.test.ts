import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeyPair, encodeSignatureBinary, getNewId } from "@bbc1/bbclib";
import { MsgType, encodeMessage } from "@bbc1/wire";
import { client, setupDomain, signedTx, startNode, type TestNode } from "./helpers/node.js";
import { text, type RawClient } from "./helpers/raw-client.js";

const domainId = getNewId("messaging test domain");

describe("messages, signatures and notifications between clients on one node", () => {
  let t: TestNode;
  let a: RawClient;
  let b: RawClient;
  const ua = getNewId("alice");
  const ub = getNewId("bob");
  const ka = KeyPair.generate();
  const kb = KeyPair.generate();

  beforeAll(async () => {
    t = await startNode();
    await setupDomain(t.port, domainId);
    a = await client(t.port, domainId, ua);
    b = await client(t.port, domainId, ub);
    a.register();
    b.register();
    await new Promise((r) => setTimeout(r, 50));
  });
  afterAll(async () => {
    await a.close();
    await b.close();
    await t.stop();
  });

  it("delivers a unicast MESSAGE with every key the sender sent plus infra_msg_type", async () => {
    const sent = a.request(MsgType.MESSAGE, { destination_user_id: ub, message: "hello bob" });
    const got = await b.command(MsgType.MESSAGE);
    expect(Object.keys(got)).toEqual(["command", "domain_id", "source_user_id", "status", "destination_user_id", "message", "infra_msg_type"]);
    expect(got.source_user_id).toEqual(ua);
    expect(text(got.message)).toBe("hello bob");
    expect(sent.query_id).toBeUndefined();
  });

  it("delivers to every connection of a user registered twice", async () => {
    const b2 = await client(t.port, domainId, ub);
    b2.register();
    await new Promise((r) => setTimeout(r, 50));
    a.request(MsgType.MESSAGE, { destination_user_id: ub, message: new Uint8Array([1, 2, 3]) });
    const m1 = await b.command(MsgType.MESSAGE);
    const m2 = await b2.command(MsgType.MESSAGE);
    expect(m1.message).toEqual(new Uint8Array([1, 2, 3]));
    expect(m2.message).toEqual(new Uint8Array([1, 2, 3]));
    await b2.close();
  });

  it("anycast carries anycast_ttl", async () => {
    a.request(MsgType.MESSAGE, { destination_user_id: ub, message: "any", is_anycast: true });
    const got = await b.command(MsgType.MESSAGE);
    expect(got.anycast_ttl).toBe(4);
  });

  it("bounces a message to an unknown user with result false and 'Cannot find such user'", async () => {
    a.request(MsgType.MESSAGE, { destination_user_id: getNewId("nobody"), message: "lost" });
    const back = await a.command(MsgType.MESSAGE, 3000);
    expect(back.result).toBe(false);
    expect(text(back.reason)).toBe("Cannot find such user");
    expect(back.destination_user_id).toEqual(ua);
  });

  it("gathers a signature: REQUEST_SIGNATURE to the signer, RESPONSE_GATHER_SIGNATURE back", async () => {
    const s = signedTx(ka, ua, getNewId("g"));
    const req = a.request(MsgType.REQUEST_GATHER_SIGNATURE, {
      transaction_data: s.data,
      transaction_id: s.id,
      destination_user_ids: [ua, ub],
    });
    const sigReq = await b.command(MsgType.REQUEST_SIGNATURE);
    expect(Object.keys(sigReq)).toEqual(["domain_id", "command", "destination_user_id", "query_id", "status", "source_user_id", "transaction_data", "infra_msg_type"]);
    expect(sigReq.query_id).toEqual(req.query_id);
    expect(sigReq.source_user_id).toEqual(ua);
    expect(sigReq.transaction_data).toEqual(s.data);
    const sig = s.tx.sign(kb);
    b.request(MsgType.RESPONSE_SIGNATURE, {
      destination_user_id: ua,
      transaction_id: s.id,
      ref_index: -1,
      signature: encodeSignatureBinary(sig),
      transaction_data_format: 0,
      query_id: sigReq.query_id,
    });
    const res = await a.answer(req);
    expect(res.command).toBe(MsgType.RESPONSE_GATHER_SIGNATURE);
    expect(res.status).toBe(0);
    expect(res.source_user_id).toEqual(ub);
    expect(res.ref_index).toBe(-1);
    expect(res.signature).toEqual(encodeSignatureBinary(sig));
    expect(res.transaction_data_format).toBe(0);
  });

  it("relays a denial with status -255 and the reason", async () => {
    const s = signedTx(ka, ua, getNewId("g"));
    const req = a.request(MsgType.REQUEST_GATHER_SIGNATURE, { transaction_data: s.data, transaction_id: s.id, destination_user_ids: [ub] });
    const sigReq = await b.command(MsgType.REQUEST_SIGNATURE);
    b.request(MsgType.RESPONSE_SIGNATURE, { destination_user_id: ua, transaction_id: s.id, status: -255, reason: "no way", query_id: sigReq.query_id });
    const res = await a.answer(req);
    expect(res.status).toBe(-255);
    expect(text(res.reason)).toBe("no way");
    expect(res.signature).toBeUndefined();
  });

  it("notifies subscribers (NOTIFY_INSERTED before RESPONSE_INSERT), and stops after cancel", async () => {
    const g = getNewId("notify group " + Math.random());
    b.request(MsgType.REQUEST_INSERT_NOTIFICATION, { asset_group_id: g });
    a.request(MsgType.REQUEST_INSERT_NOTIFICATION, { asset_group_id: g });
    await new Promise((r) => setTimeout(r, 50));
    const s = signedTx(ka, ua, g);
    const req = a.request(MsgType.REQUEST_INSERT, { transaction_data: s.data, all_asset_files: new Map() });
    const first = await a.next();
    expect(first.message.command).toBe(MsgType.NOTIFY_INSERTED);
    const ins = await a.answer(req);
    expect(ins.status).toBe(0);
    const n = await b.command(MsgType.NOTIFY_INSERTED);
    expect(Object.keys(n)).toEqual(["domain_id", "infra_command", "command", "transaction_id", "asset_group_ids", "destination_user_id", "infra_msg_type"]);
    expect(n.transaction_id).toEqual(s.id);
    expect(n.asset_group_ids).toEqual([g]);
    expect(n.query_id).toBeUndefined();
    b.request(MsgType.CANCEL_INSERT_NOTIFICATION, { asset_group_id: g });
    await new Promise((r) => setTimeout(r, 50));
    const s2 = signedTx(ka, ua, g);
    await a.answer(a.request(MsgType.REQUEST_INSERT, { transaction_data: s2.data, all_asset_files: new Map() }));
    expect(await b.nothing(200, (r) => r.message.command === MsgType.NOTIFY_INSERTED)).toBe(true);
  });

  it("prunes a disconnected subscriber at the next notification", async () => {
    const g = getNewId("prune group " + Math.random());
    const uc = getNewId("carol");
    const c = await client(t.port, domainId, uc);
    c.register();
    c.request(MsgType.REQUEST_INSERT_NOTIFICATION, { asset_group_id: g });
    await new Promise((r) => setTimeout(r, 50));
    expect(t.node.domains.values().next().value!.notifications.size).toBeGreaterThan(0);
    await c.close();
    await new Promise((r) => setTimeout(r, 50));
    const s = signedTx(ka, ua, g);
    const res = await a.answer(a.request(MsgType.REQUEST_INSERT, { transaction_data: s.data, all_asset_files: new Map() }));
    expect(res.status).toBe(0);
    const d = [...t.node.domains.values()].find((x) => x.users.size > 0)!;
    expect([...d.notifications.keys()].includes(Buffer.from(g).toString("hex"))).toBe(false);
  });

  it("encrypts routed traffic after ECDH, keeps direct responses plaintext, and ends on UNREGISTER", async () => {
    const ue = getNewId("eve");
    const e = await client(t.port, domainId, ue);
    e.register();
    const ecdh = await e.exchangeKey();
    expect(Object.keys(ecdh)).toEqual(["domain_id", "command", "destination_user_id", "query_id", "status", "ecdh", "nonce", "random", "hint"]);
    expect(ecdh.domain_id).toBeNull();
    expect((ecdh.ecdh as Uint8Array).length).toBe(97);
    const s = signedTx(ka, ue, getNewId("enc"));
    const req = e.request(MsgType.REQUEST_INSERT, { transaction_data: s.data, all_asset_files: new Map() });
    const got = await e.next((r) => r.message.command === MsgType.RESPONSE_INSERT);
    expect(got.payloadType).toBe(3);
    expect(got.message.query_id).toEqual(req.query_id);
    expect(got.message.status).toBe(0);
    const sr = e.request(MsgType.REQUEST_SEARCH_TRANSACTION, { transaction_id: s.id });
    const found = await e.next((r) => r.message.command === MsgType.RESPONSE_SEARCH_TRANSACTION);
    expect(found.payloadType).toBe(3);
    expect(found.message.query_id).toEqual(sr.query_id);
    const dl = e.admin(MsgType.REQUEST_GET_DOMAINLIST, { random: new Uint8Array(32) });
    const dres = await e.next((r) => r.message.command === MsgType.RESPONSE_GET_DOMAINLIST);
    expect(dres.payloadType).toBe(2);
    expect(dres.message.query_id).toEqual(dl.query_id);
    // requests encrypted by the client (payload 3, prefixed with the core's key name) are accepted
    const enc = { ...e.base(MsgType.REQUEST_SEARCH_TRANSACTION), transaction_id: s.id };
    e.sendRaw(encodeMessage(3, enc, { registry: e.registry, keyName: e.keyName! }));
    const encAnswer = await e.next((r) => r.message.command === MsgType.RESPONSE_SEARCH_TRANSACTION);
    expect(encAnswer.message.query_id).toEqual(enc.query_id);
    expect(encAnswer.message.transaction_data).toEqual(s.data);
    e.request(MsgType.UNREGISTER);
    await new Promise((r) => setTimeout(r, 50));
    expect(t.node.registry.size).toBe(0);
    await e.close();
  });
});
