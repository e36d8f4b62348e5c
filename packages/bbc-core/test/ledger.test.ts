import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeyPair, getNewId, sha256 } from "@bbc1/bbclib";
import { MsgType } from "@bbc1/wire";
import { client, setupDomain, signedTx, startNode, type TestNode } from "./helpers/node.js";
import { text, type RawClient } from "./helpers/raw-client.js";

const domainId = getNewId("ledger test domain");
const ag = getNewId("asset group 1");
const ag2 = getNewId("asset group 2");

describe("ledger commands over raw frames", () => {
  let t: TestNode;
  let c: RawClient;
  const key = KeyPair.generate();
  const user = getNewId("ledger user");

  beforeAll(async () => {
    t = await startNode();
    await setupDomain(t.port, domainId);
    c = await client(t.port, domainId, user);
    c.register();
  });
  afterAll(async () => {
    await c.close();
    await t.stop();
  });

  it("inserts and answers RESPONSE_INSERT with exactly the reference keys", async () => {
    const s = signedTx(key, user, ag);
    const req = c.request(MsgType.REQUEST_INSERT, { transaction_data: s.data, all_asset_files: new Map() });
    const res = await c.answer(req);
    expect(Object.keys(res)).toEqual(["domain_id", "command", "destination_user_id", "query_id", "status", "transaction_id", "infra_msg_type"]);
    expect(res.command).toBe(MsgType.RESPONSE_INSERT);
    expect(res.status).toBe(0);
    expect(res.domain_id).toEqual(domainId);
    expect(res.destination_user_id).toEqual(user);
    expect(res.transaction_id).toEqual(s.id);
    expect(res.infra_msg_type).toEqual(new Uint8Array([0, 2]));
  });

  it("rejects a duplicate with -1 'Failed to insert a transaction into the ledger'", async () => {
    const s = signedTx(key, user, ag);
    await c.answer(c.request(MsgType.REQUEST_INSERT, { transaction_data: s.data, all_asset_files: new Map() }));
    const res = await c.answer(c.request(MsgType.REQUEST_INSERT, { transaction_data: s.data, all_asset_files: new Map() }));
    expect(res.status).toBe(-1);
    expect(text(res.reason)).toBe("Failed to insert a transaction into the ledger");
  });

  it("rejects a bad signature, garbage and a mismatching asset file with 'Bad transaction format'", async () => {
    const s = signedTx(key, user, ag);
    const bad = s.data.slice();
    bad[bad.length - 5]! ^= 0xff;
    for (const data of [bad, new Uint8Array([0, 0, 0x67, 0x61, 0x72, 0x62]), new Uint8Array([4, 0, 1, 2, 3])]) {
      const res = await c.answer(c.request(MsgType.REQUEST_INSERT, { transaction_data: data, all_asset_files: new Map() }));
      expect(res.status).toBe(-1);
      expect(text(res.reason)).toBe("Bad transaction format");
    }
    const f = signedTx(key, user, ag, { file: new TextEncoder().encode("file content") });
    const res = await c.answer(
      c.request(MsgType.REQUEST_INSERT, { transaction_data: f.data, all_asset_files: new Map([[f.tx.events[0]!.asset!.assetId!, new Uint8Array([1, 2, 3])]]) }),
    );
    expect(text(res.reason)).toBe("Bad transaction format");
  });

  it("answers nil domain and domain_global_0 as the reference", async () => {
    const s = signedTx(key, user, ag);
    const c2 = await client(t.port, null, user);
    const res = await c2.answer(c2.request(MsgType.REQUEST_INSERT, { transaction_data: s.data, all_asset_files: new Map() }));
    expect(res.status).toBe(-1);
    expect(text(res.reason)).toBe("Set up the domain, first!");
    c2.domainId = new Uint8Array(32);
    const res2 = await c2.answer(c2.request(MsgType.REQUEST_INSERT, { transaction_data: s.data, all_asset_files: new Map() }));
    expect(text(res2.reason)).toBe("Insert is not allowed in domain_global_0");
    await c2.close();
  });

  it("searches by id: found (with asset file), not found", async () => {
    const content = new TextEncoder().encode("the file " + Math.random());
    const s = signedTx(key, user, ag, { file: content });
    const assetId = s.tx.events[0]!.asset!.assetId!;
    const ins = await c.answer(c.request(MsgType.REQUEST_INSERT, { transaction_data: s.data, all_asset_files: new Map([[assetId, content]]) }));
    expect(ins.status).toBe(0);
    const res = await c.answer(c.request(MsgType.REQUEST_SEARCH_TRANSACTION, { transaction_id: s.id }));
    expect(res.command).toBe(MsgType.RESPONSE_SEARCH_TRANSACTION);
    expect(res.status).toBe(0);
    expect(Object.keys(res)).toEqual(["domain_id", "command", "destination_user_id", "query_id", "status", "all_asset_files", "transaction_id", "transaction_data", "infra_msg_type"]);
    expect(res.transaction_data).toEqual(s.data);
    const files = res.all_asset_files as Map<Uint8Array, Uint8Array>;
    expect([...files.values()][0]).toEqual(content);
    expect([...files.keys()][0]).toEqual(assetId);

    const nf = await c.answer(c.request(MsgType.REQUEST_SEARCH_TRANSACTION, { transaction_id: new Uint8Array(8) }));
    expect(nf.status).toBe(-14);
    expect(text(nf.reason)).toBe("Cannot find transaction");
    expect(nf.transaction_data).toBeUndefined();
  });

  it("searches with conditions, newest first, count capped, and counts", async () => {
    const u = getNewId("cond user " + Math.random());
    const g = getNewId("cond group " + Math.random());
    const ids: Uint8Array[] = [];
    for (let i = 0; i < 5; i++) {
      const s = signedTx(key, u, g);
      await c.answer(c.request(MsgType.REQUEST_INSERT, { transaction_data: s.data, all_asset_files: new Map() }));
      ids.push(s.id);
    }
    const res = await c.answer(c.request(MsgType.REQUEST_SEARCH_WITH_CONDITIONS, { asset_group_id: g, direction: 0, count: 3 }));
    expect(res.command).toBe(MsgType.RESPONSE_SEARCH_WITH_CONDITIONS);
    expect(res.status).toBe(0);
    const txs = res.transactions as Uint8Array[];
    expect(txs.length).toBe(3);
    const asc = await c.answer(c.request(MsgType.REQUEST_SEARCH_WITH_CONDITIONS, { asset_group_id: g, user_id: u, direction: 1, count: 0 }));
    expect((asc.transactions as Uint8Array[]).length).toBe(5);
    const cnt = await c.answer(c.request(MsgType.REQUEST_COUNT_TRANSACTIONS, { asset_group_id: g }));
    expect(cnt.command).toBe(95);
    expect(cnt.count).toBe(5);
    const none = await c.answer(c.request(MsgType.REQUEST_SEARCH_WITH_CONDITIONS, { asset_id: new Uint8Array(32), direction: 0, count: 1 }));
    expect(none.status).toBe(-14);
    expect(none.transactions).toBeUndefined();
    expect(none.all_asset_files).toBeUndefined();
    const zero = await c.answer(c.request(MsgType.REQUEST_COUNT_TRANSACTIONS, { asset_group_id: ag2 }));
    expect(zero.count).toBe(0);
  });

  it("traverses a chain backward and forward with hop limits", async () => {
    const g = getNewId("chain " + Math.random());
    const chain: Uint8Array[] = [];
    let prev: Uint8Array | undefined;
    for (let i = 0; i < 6; i++) {
      const s = signedTx(key, user, g, prev ? { pointTo: [prev] } : {});
      const r = await c.answer(c.request(MsgType.REQUEST_INSERT, { transaction_data: s.data, all_asset_files: new Map() }));
      expect(r.status).toBe(0);
      chain.push(s.id);
      prev = s.id;
    }
    const back = await c.answer(c.request(MsgType.REQUEST_TRAVERSE_TRANSACTIONS, { transaction_id: chain[5], direction: 1, hop_count: 3 }));
    expect(back.command).toBe(MsgType.RESPONSE_TRAVERSE_TRANSACTIONS);
    expect(back.status).toBe(0);
    expect(back.transaction_id).toEqual(chain[5]);
    const tree = back.transaction_tree as Uint8Array[][];
    expect(tree.length).toBe(3);
    expect(tree.map((l) => l.length)).toEqual([1, 1, 1]);
    expect(back.all_included).toBe(true);
    const fwd = await c.answer(c.request(MsgType.REQUEST_TRAVERSE_TRANSACTIONS, { transaction_id: chain[1], direction: 0, hop_count: 3 }));
    expect((fwd.transaction_tree as unknown[]).length).toBe(3);
    const back2 = await c.answer(c.request(MsgType.REQUEST_TRAVERSE_TRANSACTIONS, { transaction_id: chain[1], direction: 1, hop_count: 3 }));
    expect((back2.transaction_tree as unknown[]).length).toBe(2);
    const filtered = await c.answer(
      c.request(MsgType.REQUEST_TRAVERSE_TRANSACTIONS, { transaction_id: chain[5], direction: 1, hop_count: 3, asset_group_id: getNewId("other") }),
    );
    expect(filtered.status).toBe(-14);
    expect(filtered.transaction_id).toEqual(chain[5]);
  });

  it("cross-ref list is empty, subsystem answers -4, repair gets no answer", async () => {
    const cr = await c.answer(c.request(MsgType.REQUEST_CROSS_REF_LIST));
    expect(cr.command).toBe(MsgType.RESPONSE_CROSS_REF_LIST);
    expect(cr.transaction_id_list).toEqual([]);
    const sub = await c.answer(c.request(MsgType.REQUEST_REGISTER_HASH_IN_SUBSYS, { asset_group_id: ag, transaction_id: sha256(new Uint8Array(1)) }));
    expect(sub.command).toBe(MsgType.RESPONSE_REGISTER_HASH_IN_SUBSYS);
    expect(sub.status).toBe(-4);
    expect(text(sub.reason)).toBe("Ledger_subsystem is not activated");
    const ver = await c.answer(c.request(MsgType.REQUEST_VERIFY_HASH_IN_SUBSYS, { asset_group_id: ag, transaction_id: sha256(new Uint8Array(1)) }));
    expect(ver.command).toBe(MsgType.RESPONSE_VERIFY_HASH_IN_SUBSYS);
    expect(ver.status).toBe(-4);
    c.request(MsgType.REQUEST_REPAIR, { transaction_id: sha256(new Uint8Array(1)) });
    c.request(MsgType.REQUEST_CROSS_REF_VERIFY, { transaction_id: sha256(new Uint8Array(1)) });
    expect(await c.nothing(200)).toBe(true);
    expect(t.node.stats.get("transaction", "repair_request")).toBe(1);
  });
});
