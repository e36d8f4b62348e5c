/**
 * LedgerTables, copyLedger and backupSqliteLedger on every back end: copies between each pair
 * of back ends end with equal counts and digests, a copy interrupted half way resumes, ledger
 * order is the search order, and a SQLite backup taken while another process writes is
 * consistent.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { toHex } from "@bbc1/bbclib";
import { backupSqliteLedger, copyLedger, openLedgerStore, summarizeLedger, type LedgerStore } from "@bbc1/storage";
import { allTargets, IN_CI, type Fresh, type Target } from "./targets.js";
import { makeTx, newId } from "./txs.js";

const targets = await allTargets();

async function filled(t: Target, n: number): Promise<{ f: Fresh; store: LedgerStore; ids: Uint8Array[]; group: Uint8Array }> {
  const f = await t.fresh();
  const store = await openLedgerStore({ domainId: f.domainId, workingDir: f.workingDir, config: f.config });
  const ag = newId();
  const user = newId();
  const ids: Uint8Array[] = [];
  let prev: Uint8Array | undefined;
  for (let i = 0; i < n; i++) {
    const tx = makeTx({ assetGroupId: ag, userId: user, ...(prev ? { pointTo: [prev] } : {}) });
    await store.insertTransaction(tx);
    ids.push(tx.transactionId!);
    prev = tx.transactionId!;
  }
  await store.insertCrossRef(ids[0]!, newId(), newId());
  return { f, store, ids, group: ag };
}

for (const src of targets) {
  for (const dst of targets) {
    const missing = [src, dst].find((t) => t.unavailable);
    const name = `copyLedger ${src.name} -> ${dst.name}`;
    if (missing) {
      if (IN_CI) it(name, () => void expect.fail(`${missing.name} is not reachable: ${missing.unavailable}`));
      else it.skip(`${name} (SKIPPED: ${missing.name} not reachable)`, () => undefined);
      continue;
    }
    it(name + ": equal counts and digests, resumable, same search order", async () => {
      const a = await filled(src, 25);
      const b = await dst.fresh();
      const to = await openLedgerStore({ domainId: a.f.domainId, workingDir: b.workingDir, config: b.config });
      try {
        // an interrupted copy: the first part only, as a crash after some batches would leave it
        const part = a.store.tables();
        for (const table of ["transaction_table", "asset_info_table"] as const) {
          const rows = await part.scan(table, null, 10);
          await to.tables().insertRows(table, rows);
        }
        const progress: string[] = [];
        const report = await copyLedger(a.store.tables(), to.tables(), { batchSize: 7, onProgress: (p) => progress.push(`${p.table}:${p.copied}/${p.total}`) });
        expect(report.transaction_table).toMatchObject({ total: 25, copied: 15, resumedAfter: true });
        expect(report.asset_info_table.resumedAfter).toBe(true);
        expect(report.topology_table).toMatchObject({ copied: 24, resumedAfter: false });
        expect(report.cross_ref_table.copied).toBe(1);
        expect(progress.at(-1)).toBe("cross_ref_table:1/1");
        const s1 = await summarizeLedger(a.store.tables());
        const s2 = await summarizeLedger(to.tables());
        expect(s2).toEqual(s1);
        expect(s1.transaction_table.rows).toBe(25);
        // searches (ordered by asset row id) give the same answer on the copy
        const user = (await a.store.searchTransactions({ assetGroupId: makeGroupOf(a), count: 30 })).transactions.map((t) => toHex(t.transactionId));
        const copy = (await to.searchTransactions({ assetGroupId: makeGroupOf(a), count: 30 })).transactions.map((t) => toHex(t.transactionId));
        expect(copy).toEqual(user);
        // a second run copies nothing
        const again = await copyLedger(a.store.tables(), to.tables());
        expect(again.transaction_table.copied).toBe(0);
        expect(await summarizeLedger(to.tables())).toEqual(s1);
        // new inserts on the copy get ids above the copied ones (PostgreSQL sequences moved)
        const more = makeTx({ assetGroupId: makeGroupOf(a), userId: newId() });
        await to.insertTransaction(more);
        const latest = (await to.searchTransactions({ assetGroupId: makeGroupOf(a), count: 1 })).transactions[0]!;
        expect(toHex(latest.transactionId)).toBe(toHex(more.transactionId!));
        // a destination that is not a copy of the source is refused
        const other = await filled(src, 3);
        await expect(copyLedger(other.store.tables(), to.tables())).rejects.toMatchObject({ code: "BAD_ARGUMENT" });
        await other.store.close();
        await other.f.cleanup();
      } finally {
        await a.store.close();
        await to.close();
        await a.f.cleanup();
        await b.cleanup();
      }
    }, 60_000);
  }
}

function makeGroupOf(a: { group: Uint8Array }): Uint8Array {
  return a.group;
}

describe("transactionsInLedgerOrder", () => {
  it("yields every transaction once, in insertion order", async () => {
    const { f, store, ids } = await filled(targets[0]!, 12);
    try {
      const seen: string[] = [];
      for await (const t of store.tables().transactionsInLedgerOrder(5)) seen.push(toHex(t.transactionId));
      expect(seen).toEqual(ids.map(toHex));
    } finally {
      await store.close();
      await f.cleanup();
    }
  });
});

describe("assetRowsNewestFirst", () => {
  for (const t of targets) {
    const name = `pages of asset rows newest first on ${t.name}: all, by asset group, by user, by asset, from a cursor`;
    if (t.unavailable) {
      if (IN_CI) it(name, () => void expect.fail(`${t.name} is not reachable: ${t.unavailable}`));
      else it.skip(`${name} (SKIPPED: not reachable)`, () => undefined);
      continue;
    }
    it(name, async () => {
      const { f, store, ids, group } = await filled(t, 6);
      try {
        const tables = store.tables();
        const all = await tables.assetRowsNewestFirst(null, null, 100);
        // the first transaction has one asset row, the others two (event and relation)
        expect(all.length).toBe(11);
        const rowIds = all.map((r) => r.id as number);
        expect([...rowIds].sort((a, b) => b - a)).toEqual(rowIds);
        const newestFirst = [...new Set(all.map((r) => toHex(r.transaction_id as Uint8Array)))];
        expect(newestFirst).toEqual(ids.map(toHex).reverse());
        // a page of 4, then the rest from its cursor: the same rows in the same order
        const first = await tables.assetRowsNewestFirst({ column: "asset_group_id", value: group }, null, 4);
        const rest = await tables.assetRowsNewestFirst({ column: "asset_group_id", value: group }, first.at(-1)!.id as number, 100);
        expect([...first, ...rest].map((r) => r.id)).toEqual(rowIds);
        const user = all[0]!.user_id as Uint8Array;
        expect((await tables.assetRowsNewestFirst({ column: "user_id", value: user }, null, 3)).map((r) => r.id)).toEqual(rowIds.slice(0, 3));
        const asset = all[5]!.asset_id as Uint8Array;
        expect((await tables.assetRowsNewestFirst({ column: "asset_id", value: asset }, null, 3)).map((r) => r.id)).toEqual([rowIds[5]]);
        expect(await tables.assetRowsNewestFirst({ column: "asset_group_id", value: newId() }, null, 10)).toEqual([]);
        expect(await tables.assetRowsNewestFirst(null, rowIds.at(-1)!, 10)).toEqual([]);
      } finally {
        await store.close();
        await f.cleanup();
      }
    }, 60_000);
  }
});

describe("backupSqliteLedger", () => {
  it("copies a ledger another process is writing to: the copy is consistent and complete up to its moment", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bbc1-backup-"));
    try {
      const domainId = newId();
      const config = { db: { db_type: "sqlite", db_name: "bbc_ledger.sqlite" } } as const;
      const file = join(dir, toHex(domainId), "bbc_ledger.sqlite");
      const seed = await openLedgerStore({ domainId, workingDir: dir, config });
      for (let i = 0; i < 300; i++) await seed.insertTransaction(makeTx({ assetGroupId: newId(), userId: newId(), body: "x".repeat(2000) }));
      await seed.close();
      // a writer in another process inserts while the backup runs (plain better-sqlite3, resolved from the repo)
      const cache = join(resolve(import.meta.dirname, "..", "..", ".."), "node_modules", ".cache", "bbc1-storage-test");
      mkdirSync(cache, { recursive: true });
      const script = join(cache, `backup-writer-${process.pid}.mjs`);
      writeFileSync(
        script,
        `import Database from "better-sqlite3";
         import { randomBytes } from "node:crypto";
         const db = new Database(${JSON.stringify(file)});
         db.pragma("busy_timeout = 10000");
         const tx = db.prepare("INSERT INTO transaction_table (transaction_id, transaction_data) VALUES (?, ?)");
         const asset = db.prepare("INSERT INTO asset_info_table (transaction_id, asset_group_id, asset_id, user_id) VALUES (?, ?, ?, ?)");
         const both = db.transaction((id) => { tx.run(id, randomBytes(2000)); asset.run(id, randomBytes(32), randomBytes(32), randomBytes(32)); });
         process.stdout.write("ready\\n");
         const end = Date.now() + 3000;
         while (Date.now() < end) both(randomBytes(32));
         db.close();`,
      );
      const writer = spawn(process.execPath, [script], { stdio: ["ignore", "pipe", "inherit"] });
      await new Promise<void>((r) => writer.stdout!.once("data", () => r()));
      const steps: number[] = [];
      const out = join(dir, "backup", "bbc_ledger.sqlite");
      const r = await backupSqliteLedger(file, out, { pagesPerStep: 8, onProgress: (c) => steps.push(c) });
      const exited = new Promise((res) => writer.on("exit", res));
      expect(r.integrity).toBe("ok");
      expect(steps.length).toBeGreaterThan(3);
      // never restarted: copied pages only grow
      expect(steps.every((v, i) => i === 0 || v >= steps[i - 1]!)).toBe(true);
      const copy = await openLedgerStore({ domainId, workingDir: join(dir, "restored"), config: { db: { db_type: "sqlite", db_name: out } } });
      const s = await summarizeLedger(copy.tables());
      expect(s.transaction_table.rows).toBeGreaterThanOrEqual(300);
      expect(s.asset_info_table.rows).toBe(s.transaction_table.rows);
      expect((await copy.checkIntegrity()).ok).toBe(true);
      await copy.close();
      await exited;
      rmSync(script, { force: true });
      await expect(backupSqliteLedger(file, out)).rejects.toMatchObject({ code: "BAD_ARGUMENT" });
      expect(existsSync(`${out}.partial-${process.pid}`)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
