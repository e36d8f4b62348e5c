/**
 * Ledger commands on paths the main ledger suite does not reach: stored data that no longer
 * validates (v1.1.1 `_create_search_result`), missing asset files, the search / traverse limits of
 * `search_config` taken from --config / --default_config, and traverse's asset files.
 */
import { existsSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeyPair, getNewId } from "@bbc1/bbclib";
import { MsgType } from "@bbc1/wire";
import { CoreError, storageLedgerFactory, type DomainLedger, type LedgerFactory } from "../src/index.js";
import { delegatingLedger } from "./helpers/ledgers.js";
import { client, setupDomain, signedTx, startNode, type SignedTx, type TestNode } from "./helpers/node.js";
import { text, type RawClient } from "./helpers/raw-client.js";

/**
 * Removes a stored asset file once it is on disk: the commit log answers when its record is durable and
 * writes the file into the storage directory when it applies the record (up to apply_delay_ms later).
 */
async function removeStoredFile(path: string): Promise<void> {
  const end = Date.now() + 10_000;
  while (!existsSync(path)) {
    if (Date.now() > end) throw new Error(`the asset file never appeared: ${path}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  unlinkSync(path);
}

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const BASE_KEYS = ["domain_id", "command", "destination_user_id", "query_id", "status"];

/** Stored transaction bytes replaced on read, as if the database had been altered behind the node's back. */
const tampered = new Map<string, Uint8Array>();

function tamperingFactory(): LedgerFactory {
  const real = storageLedgerFactory({ searchMaxCount: 30 });
  return async (args) => {
    const l: DomainLedger = await real(args);
    return delegatingLedger(l, {
      getTransaction: async (id) => tampered.get(hex(id)) ?? (await l.getTransaction(id)),
      search: async (c, d, n) => (await l.search(c, d, n)).map((t) => ({ ...t, data: tampered.get(hex(t.transactionId)) ?? t.data })),
    });
  };
}

/** The transaction with one signature byte flipped: still decodes, same id, signature fails. */
function badSignature(s: SignedTx): Uint8Array {
  const bad = s.data.slice();
  bad[bad.length - 5]! ^= 0xff;
  return bad;
}

describe("stored data that fails validation (compromised) and missing files", () => {
  let t: TestNode;
  let c: RawClient;
  const key = KeyPair.generate();
  const user = getNewId("compromise user");
  const domainId = getNewId("compromise domain");

  beforeAll(async () => {
    t = await startNode({ ledgerFactory: tamperingFactory() });
    await setupDomain(t.port, domainId);
    c = await client(t.port, domainId, user);
    c.register();
  });
  afterAll(async () => {
    await c.close();
    await t.stop();
  });

  async function insert(s: SignedTx, files = new Map<Uint8Array, Uint8Array>()): Promise<void> {
    const res = await c.answer(c.request(MsgType.REQUEST_INSERT, { transaction_data: s.data, all_asset_files: files }));
    expect(res.status).toBe(0);
  }

  /** Inserts a transaction whose asset carries `text` as its file; returns it and the file's path on disk. */
  async function insertWithFile(label: string, text: string): Promise<{ s: SignedTx; assetId: Uint8Array; path: string }> {
    const g = getNewId(label + " " + Math.random());
    const content = new TextEncoder().encode(text);
    const s = signedTx(key, user, g, { file: content });
    const assetId = s.tx.events[0]!.asset!.assetId!;
    await insert(s, new Map([[assetId, content]]));
    // the test alters the file on disk: it must be in its place (written a few ms after the acknowledgement)
    await t.node.domains.get(hex(domainId))!.ledger!.settle!();
    return { s, assetId, path: join(t.dir, hex(domainId), hex(g), hex(assetId)) };
  }

  it("search by id: a stored transaction whose signature fails answers -15 with compromised_transaction_data", async () => {
    const s = signedTx(key, user, getNewId("ag " + Math.random()));
    await insert(s);
    const bad = badSignature(s);
    tampered.set(hex(s.id), bad);
    const res = await c.answer(c.request(MsgType.REQUEST_SEARCH_TRANSACTION, { transaction_id: s.id }));
    expect(Object.keys(res)).toEqual([...BASE_KEYS, "compromised_transaction_ids", "transaction_id", "compromised_transaction_data", "infra_msg_type"]);
    expect(res.command).toBe(MsgType.RESPONSE_SEARCH_TRANSACTION);
    expect(res.status).toBe(-15);
    expect(res.compromised_transaction_data).toEqual(bad);
    expect(res.compromised_transaction_ids).toEqual([s.id]);
    expect(res.transaction_id).toEqual(s.id);
  });

  it("search by id: stored bytes of another transaction (id mismatch) are reported compromised", async () => {
    const s = signedTx(key, user, getNewId("ag " + Math.random()));
    const other = signedTx(key, user, getNewId("ag " + Math.random()));
    await insert(s);
    tampered.set(hex(s.id), other.data);
    const res = await c.answer(c.request(MsgType.REQUEST_SEARCH_TRANSACTION, { transaction_id: s.id }));
    expect(res.status).toBe(-15);
    expect(res.compromised_transaction_data).toEqual(other.data);
    expect(res.compromised_transaction_ids).toEqual([s.id]);
    expect(res.transaction_data).toBeUndefined();
  });

  it("search by id: an altered asset file answers -15 with transaction_data and compromised_asset_files", async () => {
    const { s, assetId, path } = await insertWithFile("file group", "original file");
    const altered = new TextEncoder().encode("altered file!");
    writeFileSync(path, altered);
    const res = await c.answer(c.request(MsgType.REQUEST_SEARCH_TRANSACTION, { transaction_id: s.id }));
    expect(Object.keys(res)).toEqual([...BASE_KEYS, "compromised_asset_files", "transaction_id", "transaction_data", "infra_msg_type"]);
    expect(res.status).toBe(-15);
    expect(res.transaction_data).toEqual(s.data);
    const bad = res.compromised_asset_files as Map<Uint8Array, Uint8Array>;
    expect([...bad.keys()]).toEqual([assetId]);
    expect([...bad.values()]).toEqual([altered]);
    expect(res.all_asset_files).toBeUndefined();
  });

  it("search by id: a missing asset file is omitted silently (status 0, no file keys)", async () => {
    const { s, path } = await insertWithFile("missing file group", "soon gone");
    await removeStoredFile(path);
    const res = await c.answer(c.request(MsgType.REQUEST_SEARCH_TRANSACTION, { transaction_id: s.id }));
    expect(Object.keys(res)).toEqual([...BASE_KEYS, "transaction_id", "transaction_data", "infra_msg_type"]);
    expect(res.status).toBe(0);
  });

  it("search with conditions: valid ones in transactions, compromised ones beside them; only compromised → -14", async () => {
    const g = getNewId("mixed group " + Math.random());
    const good = signedTx(key, user, g);
    const bad = signedTx(key, user, g);
    await insert(good);
    await insert(bad);
    tampered.set(hex(bad.id), badSignature(bad));
    const res = await c.answer(c.request(MsgType.REQUEST_SEARCH_WITH_CONDITIONS, { asset_group_id: g, direction: 0, count: 10 }));
    // newest first: the compromised one is met first, so its keys come first (dict insertion order)
    expect(Object.keys(res)).toEqual([...BASE_KEYS, "compromised_transactions", "compromised_transaction_ids", "transactions", "infra_msg_type"]);
    expect(res.status).toBe(0);
    expect(res.transactions).toEqual([good.data]);
    expect(res.compromised_transactions).toEqual([badSignature(bad)]);
    expect(res.compromised_transaction_ids).toEqual([bad.id]);

    const g2 = getNewId("all bad group " + Math.random());
    const only = signedTx(key, user, g2);
    await insert(only);
    tampered.set(hex(only.id), badSignature(only));
    const none = await c.answer(c.request(MsgType.REQUEST_SEARCH_WITH_CONDITIONS, { asset_group_id: g2, direction: 0, count: 10 }));
    expect(Object.keys(none)).toEqual([...BASE_KEYS, "reason", "infra_msg_type"]);
    expect(none.status).toBe(-14);
    expect(text(none.reason)).toBe("Cannot find transaction");
  });

  it("search with conditions without direction and count uses 0 and 1 (newest, one transaction)", async () => {
    const g = getNewId("defaults group " + Math.random());
    const a = signedTx(key, user, g);
    const b = signedTx(key, user, g);
    await insert(a);
    await insert(b);
    const res = await c.answer(c.request(MsgType.REQUEST_SEARCH_WITH_CONDITIONS, { asset_group_id: g }));
    expect(res.transactions).toEqual([b.data]);
  });

  it("traverse returns all_asset_files (nil for a file missing from storage) after all_included", async () => {
    const g = getNewId("traverse files " + Math.random());
    const f1 = new TextEncoder().encode("first file");
    const f2 = new TextEncoder().encode("second file");
    const a = signedTx(key, user, g, { file: f1 });
    const a1 = a.tx.events[0]!.asset!.assetId!;
    await insert(a, new Map([[a1, f1]]));
    const b = signedTx(key, user, g, { file: f2, pointTo: [a.id] });
    const b1 = b.tx.events[0]!.asset!.assetId!;
    await insert(b, new Map([[b1, f2]]));
    await removeStoredFile(join(t.dir, hex(domainId), hex(g), hex(a1)));
    const res = await c.answer(c.request(MsgType.REQUEST_TRAVERSE_TRANSACTIONS, { transaction_id: b.id, direction: 1, hop_count: 3 }));
    expect(Object.keys(res)).toEqual([...BASE_KEYS, "transaction_id", "transaction_tree", "all_included", "all_asset_files", "infra_msg_type"]);
    expect(res.transaction_tree).toEqual([[b.data], [a.data]]);
    const files = new Map([...(res.all_asset_files as Map<Uint8Array, Uint8Array | null>)].map(([k, v]) => [hex(k), v]));
    expect(files.get(hex(b1))).toEqual(f2);
    expect(files.has(hex(a1))).toBe(true);
    expect(files.get(hex(a1))).toBeNull();
  });

  it("REQUEST_REPAIR checks the local copy only: counted, never answered", async () => {
    const stat = (n: string) => t.node.stats.get("transaction", n) ?? 0;
    const good = signedTx(key, user, getNewId("repair " + Math.random()));
    const bad = signedTx(key, user, getNewId("repair " + Math.random()));
    await insert(good);
    await insert(bad);
    tampered.set(hex(bad.id), badSignature(bad));
    const [req0, fail0] = [stat("repair_request"), stat("fail_to_repair_in_local")];
    c.request(MsgType.REQUEST_REPAIR, { transaction_id: good.id });
    c.request(MsgType.REQUEST_REPAIR, { transaction_id: bad.id });
    c.request(MsgType.REQUEST_REPAIR, { transaction_id: getNewId("never stored") });
    c.request(MsgType.REQUEST_REPAIR, { asset_group_id: getNewId("g"), asset_id: getNewId("a") });
    c.request(MsgType.REQUEST_REPAIR, {});
    expect(await c.nothing(200)).toBe(true);
    expect(stat("repair_request") - req0).toBe(3);
    expect(stat("fail_to_repair_in_local") - fail0).toBe(2);
    expect((await c.answer(c.request(MsgType.REQUEST_SEARCH_TRANSACTION, { transaction_id: good.id }))).status).toBe(0);
  });

  it("traverse without hop_count (mandatory) answers -1 'lack of mandatory params'", async () => {
    const res = await c.answer(c.request(MsgType.REQUEST_TRAVERSE_TRANSACTIONS, { transaction_id: new Uint8Array(32), direction: 1 }));
    expect(res.command).toBe(MsgType.RESPONSE_TRAVERSE_TRANSACTIONS);
    expect(res.status).toBe(-1);
    expect(text(res.reason)).toBe("lack of mandatory params");
  });
});

describe("a ledger of an embedder that checks a lone insert's signatures itself (checksSignatures)", () => {
  it("gets the synchronous check (a boolean) and the pooled one with the same verdicts; a forged insert is refused", async () => {
    const seen: Array<{ sync: string; pooled: boolean | undefined }> = [];
    const real = storageLedgerFactory({ searchMaxCount: 30 });
    const factory: LedgerFactory = async (args) => {
      const l: DomainLedger = await real(args);
      return delegatingLedger(l, {
        checksSignatures: true,
        // checks synchronously, as a ledger written against the synchronous contract does
        insert: async (e) => {
          const verdict = e.verifySignatures?.();
          seen.push({ sync: typeof verdict, pooled: await e.verifySignaturesAsync?.() });
          if (verdict !== true) throw new CoreError("SIGNATURE_INVALID", "a signature does not verify");
          return l.insert({ ...e, verifySignatures: undefined, verifySignaturesAsync: undefined });
        },
      });
    };
    const t = await startNode({ ledgerFactory: factory });
    try {
      const domainId = getNewId("embedder ledger " + Math.random());
      const key = new KeyPair();
      key.generate();
      const user = getNewId("embedder user");
      await setupDomain(t.port, domainId);
      const c = await client(t.port, domainId, user);
      c.register();
      const ins = (data: Uint8Array) => c.answer(c.request(MsgType.REQUEST_INSERT, { transaction_data: data, all_asset_files: new Map() }));
      const good = signedTx(key, user, getNewId("g " + Math.random()));
      expect((await ins(good.data)).status).toBe(0);
      const forged = signedTx(key, user, getNewId("g " + Math.random()));
      expect(text((await ins(badSignature(forged))).reason)).toBe("Bad transaction format");
      expect(seen).toEqual([
        { sync: "boolean", pooled: true },
        { sync: "boolean", pooled: false },
      ]);
      expect((await c.answer(c.request(MsgType.REQUEST_SEARCH_TRANSACTION, { transaction_id: forged.id }))).status).not.toBe(0);
      expect((await c.answer(c.request(MsgType.REQUEST_SEARCH_TRANSACTION, { transaction_id: good.id }))).status).toBe(0);
      await c.close();
    } finally {
      await t.stop();
    }
  });
});

describe("README deviations: answered where v1.1.1 closes the connection", () => {
  let t: TestNode;
  let c: RawClient;
  const user = getNewId("deviation user");
  const domainId = getNewId("deviation domain");

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

  it("a transaction that decodes with id_length 0 is 'Bad transaction format' (v1.1.1 stores it under an empty id)", async () => {
    // binary format, version 1, timestamp 0, id_length 0, no parts, no witness, no cross_ref, no signatures
    const zeroIdLength = new Uint8Array([0, 0, 1, 0, 0, 0, ...new Array(8).fill(0), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    const res = await c.answer(c.request(MsgType.REQUEST_INSERT, { transaction_data: zeroIdLength, all_asset_files: new Map() }));
    expect(res.status).toBe(-1);
    expect(text(res.reason)).toBe("Bad transaction format");
    expect((await c.answer(c.request(MsgType.REQUEST_SEARCH_TRANSACTION, { transaction_id: new Uint8Array(0) }))).status).toBe(-14);
    // control: the same empty transaction as version 0 (no id_length field: 32-byte ids) is valid in v1.1.1 too
    const v0 = await c.answer(c.request(MsgType.REQUEST_INSERT, { transaction_data: new Uint8Array(26), all_asset_files: new Map() }));
    expect(v0.status).toBe(0);
    expect((v0.transaction_id as Uint8Array).length).toBe(32);
  });

  it("search without condition → -14; count/traverse/search in a domain not served → -1 'No such domain' / -14", async () => {
    const none = await c.answer(c.request(MsgType.REQUEST_SEARCH_WITH_CONDITIONS, { direction: 0, count: 1 }));
    expect(none.status).toBe(-14);
    expect(text(none.reason)).toBe("Cannot find transaction");
    const o = await client(t.port, getNewId("unserved"), user);
    const cnt = await o.answer(o.request(MsgType.REQUEST_COUNT_TRANSACTIONS, { user_id: user }));
    expect(Object.keys(cnt)).toEqual([...BASE_KEYS, "reason"]);
    expect(cnt.status).toBe(-1);
    expect(text(cnt.reason)).toBe("No such domain");
    const tr = await o.answer(o.request(MsgType.REQUEST_TRAVERSE_TRANSACTIONS, { transaction_id: new Uint8Array(32), direction: 1, hop_count: 3 }));
    expect(Object.keys(tr)).toEqual([...BASE_KEYS, "transaction_id", "reason"]);
    expect(tr.status).toBe(-14);
    const sr = await o.answer(o.request(MsgType.REQUEST_SEARCH_TRANSACTION, { transaction_id: new Uint8Array(32) }));
    expect(sr.status).toBe(-14);
    expect(o.closed).toBe(false);
    await o.close();
  });

  it("GET_NOTIFICATION_LIST without subscriptions → 00 00; GET_NODEID of an unknown domain → -1 'No such domain'", async () => {
    const nl = await c.answer(c.request(MsgType.REQUEST_GET_NOTIFICATION_LIST, { random: new Uint8Array(32) }));
    expect(nl.command).toBe(MsgType.RESPONSE_GET_NOTIFICATION_LIST);
    expect(nl.notification_list).toEqual(new Uint8Array([0, 0]));
    const nid = await c.answer(c.request(MsgType.REQUEST_GET_NODEID, { domain_id: getNewId("unknown") }));
    expect(nid.command).toBe(MsgType.RESPONSE_GET_NODEID);
    expect(nid.status).toBe(-1);
    expect(text(nid.reason)).toBe("No such domain");
    expect(nid.node_id).toBeUndefined();
  });

  it("CANCEL_INSERT_NOTIFICATION for a group the user is not in is ignored; the subscription of others stays", async () => {
    const g = getNewId("kept group " + Math.random());
    const other = await client(t.port, domainId, getNewId("subscriber"));
    other.request(MsgType.REQUEST_INSERT_NOTIFICATION, { asset_group_id: g });
    await new Promise((r) => setTimeout(r, 50));
    c.request(MsgType.CANCEL_INSERT_NOTIFICATION, { asset_group_id: g });
    c.request(MsgType.CANCEL_INSERT_NOTIFICATION, { asset_group_id: getNewId("never subscribed") });
    const nl = await c.answer(c.request(MsgType.REQUEST_GET_NOTIFICATION_LIST, { random: new Uint8Array(32) }));
    expect((nl.notification_list as Uint8Array).subarray(0, 2)).toEqual(new Uint8Array([0, 1]));
    expect(c.closed).toBe(false);
    await other.close();
  });
});

describe("REQUEST_GET_STATS counters of the insert / search path (bbc_stats names)", () => {
  it("counts like v1.1.1: a duplicate reaches the data handler (insert_transaction, fail_exec_sql)", async () => {
    const t = await startNode();
    try {
      const domainId = getNewId("stats domain");
      await setupDomain(t.port, domainId);
      const user = getNewId("stats user");
      const key = KeyPair.generate();
      const c = await client(t.port, domainId, user);
      c.register();
      const g = getNewId("stats group");
      const content = new TextEncoder().encode("stats file");
      const s = signedTx(key, user, g, { file: content });
      const files = new Map([[s.tx.events[0]!.asset!.assetId!, content]]);
      const ins = (data: Uint8Array, f: Map<Uint8Array, Uint8Array>) => c.answer(c.request(MsgType.REQUEST_INSERT, { transaction_data: data, all_asset_files: f }));
      expect((await ins(s.data, files)).status).toBe(0);
      expect(text((await ins(s.data, files)).reason)).toBe("Failed to insert a transaction into the ledger");
      expect(text((await ins(badSignature(signedTx(key, user, g)), new Map())).reason)).toBe("Bad transaction format");
      const f2 = signedTx(key, user, g, { file: content });
      expect(text((await ins(f2.data, new Map([[f2.tx.events[0]!.asset!.assetId!, new Uint8Array([1])]]))).reason)).toBe("Bad transaction format");
      expect((await c.answer(c.request(MsgType.REQUEST_SEARCH_TRANSACTION, { transaction_id: s.id }))).status).toBe(0);
      expect((await c.answer(c.request(MsgType.REQUEST_TRAVERSE_TRANSACTIONS, { transaction_id: s.id, direction: 1, hop_count: 1 }))).status).toBe(0);
      c.request(MsgType.REQUEST_INSERT_NOTIFICATION, { asset_group_id: g });
      c.request(MsgType.CANCEL_INSERT_NOTIFICATION, { asset_group_id: g });
      const st = await c.answer(c.request(MsgType.REQUEST_GET_STATS, { random: new Uint8Array(32) }));
      const flat: Record<string, Record<string, number>> = {};
      for (const [k, v] of st.stats as Map<Uint8Array, Map<Uint8Array, number>>) flat[text(k)] = Object.fromEntries([...v].map(([a, b]) => [text(a), b]));
      expect(flat.transaction).toMatchObject({ insert_count: 4, insert_fail_count: 3, invalid: 1, search_count: 2 });
      expect(flat.asset_file).toMatchObject({ invalid: 1 });
      expect(flat.data_handler).toMatchObject({ insert_transaction: 2, fail_exec_sql: 1, store_in_storage: 1 });
      expect(flat.multicast).toMatchObject({ join: 1, leave: 1 });
      // every routed answer written to the registered user: 4 inserts, the search, the traverse
      expect(flat.user_message).toMatchObject({ sent_msg_to_user: 6 });
      // the admin connection of setupDomain (1 message, closed) and this one (10 messages)
      expect(flat.client).toMatchObject({ total_num: 1, num_message_receive: 11 });
      // the ledger's durable commits (our extension): the insert, the duplicate and the forged signature reached it (a
      // lone insert's signatures are checked during its fdatasync: the forged one was logged unverified and refused);
      // the file mismatch did not (files are checked first)
      expect(flat.ledger).toMatchObject({ committed_tx: 3, max_tx_per_commit: 1 });
      expect(flat.ledger!.commits).toBe(3);
      // the stored insert and the forged one were logged (the duplicate was found before its record was written): the
      // stored one has a file, so its signatures were checked first; the forged one's check ran on the pool during its
      // fdatasync; both lone fdatasyncs ran inline ("auto")
      expect(flat.ledger!.log_syncs).toBe(2);
      expect(flat.ledger!.inline_syncs).toBe(2);
      // what was applied: only the stored one
      expect(flat.ledger!.applied_tx ?? 1).toBeLessThanOrEqual(1);
      await c.close();
    } finally {
      await t.stop();
    }
  });
});

describe("search_config limits from --config / --default_config", () => {
  let t: TestNode;
  let c: RawClient;
  let dir: string;
  const key = KeyPair.generate();
  const user = getNewId("limits user");
  const domainId = getNewId("limits domain");

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "bbc1-core-limits-"));
    const configFile = join(dir, "my-config.json");
    const defaultConfigFile = join(dir, "default.json");
    writeFileSync(configFile, JSON.stringify({ search_config: { max_count: 20, max_traverse: 20 } }));
    // --default_config replaces whole top-level sections of the loaded config
    writeFileSync(defaultConfigFile, JSON.stringify({ search_config: { max_count: 2, max_traverse: 3 } }));
    t = await startNode({ configFile, defaultConfigFile }, dir);
    await setupDomain(t.port, domainId);
    c = await client(t.port, domainId, user);
    c.register();
  });
  afterAll(async () => {
    await c.close();
    await t.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("the node reports the merged configuration and writes it to the --config file", async () => {
    const res = await c.answer(c.request(MsgType.REQUEST_GET_CONFIG, { random: new Uint8Array(32) }));
    const conf = JSON.parse(text(res.bbc_configuration));
    expect(conf.search_config).toEqual({ max_count: 2, max_traverse: 3 });
    expect(conf.domains[hex(domainId)]).toBeDefined();
  });

  it("search with conditions is capped at max_count, count <= 0 too (v1.1.1 sends everything for count <= 0)", async () => {
    const g = getNewId("capped " + Math.random());
    for (let i = 0; i < 4; i++) {
      const s = signedTx(key, user, g);
      expect((await c.answer(c.request(MsgType.REQUEST_INSERT, { transaction_data: s.data, all_asset_files: new Map() }))).status).toBe(0);
    }
    const capped = await c.answer(c.request(MsgType.REQUEST_SEARCH_WITH_CONDITIONS, { asset_group_id: g, direction: 0, count: 10 }));
    expect((capped.transactions as Uint8Array[]).length).toBe(2);
    for (const count of [0, -1]) {
      const all = await c.answer(c.request(MsgType.REQUEST_SEARCH_WITH_CONDITIONS, { asset_group_id: g, direction: 0, count }));
      expect((all.transactions as Uint8Array[]).length).toBe(2);
    }
    const n = await c.answer(c.request(MsgType.REQUEST_COUNT_TRANSACTIONS, { asset_group_id: g }));
    expect(n.count).toBe(4);
  });

  it("traverse stops at max_traverse transactions with all_included false", async () => {
    const g = getNewId("long chain " + Math.random());
    const chain: SignedTx[] = [];
    for (let i = 0; i < 6; i++) {
      const s = signedTx(key, user, g, i > 0 ? { pointTo: [chain[i - 1]!.id] } : {});
      expect((await c.answer(c.request(MsgType.REQUEST_INSERT, { transaction_data: s.data, all_asset_files: new Map() }))).status).toBe(0);
      chain.push(s);
    }
    const full = await c.answer(c.request(MsgType.REQUEST_TRAVERSE_TRANSACTIONS, { transaction_id: chain[5]!.id, direction: 1, hop_count: 3 }));
    expect((full.transaction_tree as unknown[]).length).toBe(3);
    expect(full.all_included).toBe(true);
    const cut = await c.answer(c.request(MsgType.REQUEST_TRAVERSE_TRANSACTIONS, { transaction_id: chain[5]!.id, direction: 1, hop_count: 100 }));
    expect(cut.status).toBe(0);
    expect(cut.transaction_tree).toEqual([[chain[5]!.data], [chain[4]!.data], [chain[3]!.data]]);
    expect(cut.all_included).toBe(false);
    const fwd = await c.answer(c.request(MsgType.REQUEST_TRAVERSE_TRANSACTIONS, { transaction_id: chain[0]!.id, direction: 0, hop_count: 5 }));
    expect(fwd.transaction_tree).toEqual([[chain[0]!.data], [chain[1]!.data], [chain[2]!.data]]);
    expect(fwd.all_included).toBe(false);
  });
});
