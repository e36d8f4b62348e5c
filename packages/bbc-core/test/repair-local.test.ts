/**
 * REQUEST_REPAIR with several databases (v1.1.1 `_repair_transaction_data`, first step; it crashed the repair
 * worker there, Q31): a valid copy in one database replaces a forged or missing one in another, locally, before
 * any peer is asked. The node runs on two real SQLite ledgers presented as databases 0 and 1.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeyPair, getNewId, toHex } from "@bbc1/bbclib";
import { MsgType } from "@bbc1/wire";
import { StorageLedger, storageLedgerFactory, type DomainLedger, type LedgerFactory } from "../src/index.js";
import { delegatingLedger } from "./helpers/ledgers.js";
import { client, setupDomain, signedTx, startNode, type TestNode } from "./helpers/node.js";
import type { RawClient } from "./helpers/raw-client.js";

const dbs: StorageLedger[] = [];

/** Two SQLite ledgers (`<domain>/db0`, `<domain>/db1`) as one domain ledger with two databases. */
function twoDatabases(): LedgerFactory {
  const real = storageLedgerFactory({ searchMaxCount: 30 });
  return async (args) => {
    const [a, b] = (await Promise.all([0, 1].map((i) => real({ ...args, workingDir: join(args.workingDir, `db${i}`) })))) as [StorageLedger, StorageLedger];
    dbs.push(a, b);
    const l: DomainLedger = delegatingLedger(a, {
      insert: async (e) => (await Promise.all([a.insert(e), b.insert(e)])).some((x) => x),
      settle: async () => void (await Promise.all([a.settle(), b.settle()])),
      close: async () => void (await Promise.all([a.close(), b.close()])),
      copies: async (id) => [await a.getTransaction(id), await b.getTransaction(id)],
      replaceTransaction: async (e, o) => void (await Promise.all([a.replaceTransaction(e, o), b.replaceTransaction(e, o)])),
      replaceAssetFile: (g, x, c) => a.replaceAssetFile(g, x, c),
    });
    return l;
  };
}

describe("REQUEST_REPAIR restores from another local database first", () => {
  let t: TestNode;
  let c: RawClient;
  const key = KeyPair.generate();
  const user = getNewId("local repair user");
  const domainId = getNewId("local repair domain " + Math.random());
  const dbFile = (i: number) => join(t.dir, `db${i}`, toHex(domainId), "bbc_ledger.sqlite");

  beforeAll(async () => {
    t = await startNode({ ledgerFactory: twoDatabases() });
    await setupDomain(t.port, domainId);
    c = await client(t.port, domainId, user);
    c.register();
  });
  afterAll(async () => {
    await c?.close();
    await t?.stop();
  });

  async function forge(i: number, id: Uint8Array): Promise<void> {
    await Promise.all(dbs.map((d) => d.settle()));
    const db = new Database(dbFile(i), { fileMustExist: true });
    try {
      const r = db.prepare("SELECT transaction_data FROM transaction_table WHERE transaction_id = ?").get(Buffer.from(id)) as { transaction_data: Buffer };
      const bad = Buffer.from(r.transaction_data);
      bad[bad.length - 5]! ^= 0xff;
      db.prepare("UPDATE transaction_table SET transaction_data = ? WHERE transaction_id = ?").run(bad, Buffer.from(id));
    } finally {
      db.close();
    }
  }

  const stat = (cat: string, n: string) => t.node.stats.get(cat, n) ?? 0;
  const until = async (what: string, f: () => Promise<boolean> | boolean) => {
    const end = Date.now() + 10_000;
    while (!(await f())) {
      if (Date.now() > end) throw new Error(`timed out: ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  it("a forged copy in database 0 (the one searches read) is replaced by database 1's; no peer is asked", async () => {
    const s = signedTx(key, user, getNewId("g"));
    expect((await c.answer(c.request(MsgType.REQUEST_INSERT, { transaction_data: s.data, all_asset_files: new Map() }))).status).toBe(0);
    await forge(0, s.id);
    expect((await c.answer(c.request(MsgType.REQUEST_SEARCH_TRANSACTION, { transaction_id: s.id }))).status).toBe(-15);
    const asked = stat("repair", "request_transaction");
    c.request(MsgType.REQUEST_REPAIR, { transaction_id: s.id });
    await until("the local restore", async () => (await c.answer(c.request(MsgType.REQUEST_SEARCH_TRANSACTION, { transaction_id: s.id }))).status === 0);
    expect(stat("repair", "request_transaction")).toBe(asked);
    expect(stat("transaction", "success_repair")).toBeGreaterThanOrEqual(1);
    const log = join(t.dir, toHex(domainId), "repair_log.json");
    await until("the repair log", () => existsSync(log));
    expect(readFileSync(log, "utf8")).toContain(`"repaired_by":"locally"`);
  });

  it("a forged copy in database 1 is found and replaced although database 0 answers searches correctly", async () => {
    const s = signedTx(key, user, getNewId("g"));
    expect((await c.answer(c.request(MsgType.REQUEST_INSERT, { transaction_data: s.data, all_asset_files: new Map() }))).status).toBe(0);
    await forge(1, s.id);
    const before = stat("transaction", "success_repair");
    c.request(MsgType.REQUEST_REPAIR, { transaction_id: s.id });
    await until("database 1 restored", async () => Buffer.from((await dbs[dbs.length - 1]!.getTransaction(s.id))!).equals(Buffer.from(s.data)));
    expect(stat("transaction", "success_repair")).toBe(before + 1);
  });

  it("forged in both databases: nothing to restore locally, peers are asked", async () => {
    const s = signedTx(key, user, getNewId("g"));
    expect((await c.answer(c.request(MsgType.REQUEST_INSERT, { transaction_data: s.data, all_asset_files: new Map() }))).status).toBe(0);
    await forge(0, s.id);
    await forge(1, s.id);
    const [fails, asked] = [stat("transaction", "fail_to_repair_in_local"), stat("repair", "request_transaction")];
    c.request(MsgType.REQUEST_REPAIR, { transaction_id: s.id });
    await until("the request to peers", () => stat("repair", "request_transaction") === asked + 1);
    expect(stat("transaction", "fail_to_repair_in_local")).toBe(fails + 1);
  });
});
