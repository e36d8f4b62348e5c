/**
 * Whole-table access to one ledger database, the same for SQLite, PostgreSQL and MySQL/MariaDB:
 * ordered scans, raw row copies with their ids, counts and digests. This is what `bbc1 export`,
 * `bbc1 migrate` and their verification stand on; a schema change adapts this file.
 * @module
 */
import { createHash } from "node:crypto";
import { sql, type Kysely } from "kysely";
import { asBytes, asInt, dbError, toBuf } from "./backend.js";
import { StorageError } from "./errors.js";
import type { LedgerDatabase } from "./schema.js";
import type { DbType } from "./types.js";

/** The tables of the ledger that hold data (the merkle_* tables of v1.1.1 are never written). */
export type LedgerTableName = "transaction_table" | "asset_info_table" | "topology_table" | "cross_ref_table";

/** Every data table, in copy order. */
export const LEDGER_TABLES: readonly LedgerTableName[] = ["transaction_table", "asset_info_table", "topology_table", "cross_ref_table"];

const SPEC: Record<LedgerTableName, { key: string; columns: readonly string[]; ints: readonly string[] }> = {
  transaction_table: { key: "transaction_id", columns: ["transaction_id", "transaction_data"], ints: [] },
  asset_info_table: { key: "id", columns: ["id", "transaction_id", "asset_group_id", "asset_id", "user_id", "asset_file_size", "asset_file_digest"], ints: ["id", "asset_file_size"] },
  topology_table: { key: "id", columns: ["id", "base", "point_to"], ints: ["id"] },
  cross_ref_table: { key: "id", columns: ["id", "transaction_id", "outer_domain_id", "txid_having_cross_ref"], ints: ["id"] },
};

/** A row as stored: column name → bytes, integer or null. */
export type LedgerRow = Record<string, Uint8Array | number | null>;

/** Count and SHA-256 of one table's rows in key order (equal on two databases = same content). */
export interface TableSummary {
  rows: number;
  digest: string;
}

/** Progress of {@link copyLedger}: rows copied so far of `table` (of `total`). */
export interface CopyProgress {
  table: LedgerTableName;
  copied: number;
  total: number;
}

/** Whole-table operations on one database of a ledger store ({@link LedgerStore.tables}). */
export class LedgerTables {
  readonly dialect: DbType;
  readonly #k: Kysely<LedgerDatabase>;
  readonly #settle: (() => Promise<void>) | undefined;
  #settled = false;

  /** `settle` (from the store): waited for once, before the first read, so the tables hold every acknowledged insert. */
  constructor(kysely: Kysely<LedgerDatabase>, dialect: DbType, settle?: () => Promise<void>) {
    this.#k = kysely;
    this.dialect = dialect;
    this.#settle = settle;
  }

  async #ready(): Promise<void> {
    if (this.#settled || this.#settle === undefined) return;
    await this.#settle();
    this.#settled = true;
  }

  /** Rows of `table` whose key is above `after` (null: from the start), in key order, at most `limit`. */
  async scan(table: LedgerTableName, after: Uint8Array | number | null, limit: number): Promise<LedgerRow[]> {
    await this.#ready();
    const { key, columns } = SPEC[table];
    const db = this.#k as unknown as Kysely<Record<string, Record<string, unknown>>>;
    let q = db.selectFrom(table).select(columns as string[]);
    if (after !== null) q = q.where(key, ">", after instanceof Uint8Array ? toBuf(after) : after);
    try {
      const rows = await q.orderBy(key, "asc").limit(limit).execute();
      return rows.map((r) => normalise(table, r));
    } catch (cause) {
      throw dbError(`scan of ${table} failed`, cause);
    }
  }

  /**
   * Transaction ids above `after` (null: from the start) in key order, at most `limit`, without
   * the transaction bytes: the key walk of catch-up, which must see transactions that have no
   * asset_info_table row.
   */
  async transactionIdsAfterKey(after: Uint8Array | null, limit: number): Promise<Uint8Array[]> {
    await this.#ready();
    const db = this.#k as unknown as Kysely<Record<string, Record<string, unknown>>>;
    let q = db.selectFrom("transaction_table").select(["transaction_id"]);
    if (after !== null) q = q.where("transaction_id", ">", toBuf(after));
    try {
      const rows = await q.orderBy("transaction_id", "asc").limit(Math.max(0, Math.floor(limit))).execute();
      return rows.map((r) => asBytes(r.transaction_id)).filter((v): v is Uint8Array => v !== undefined);
    } catch (cause) {
      throw dbError("scan of transaction_table failed", cause);
    }
  }

  /** Number of rows of `table`. */
  async count(table: LedgerTableName): Promise<number> {
    await this.#ready();
    const db = this.#k as unknown as Kysely<Record<string, Record<string, unknown>>>;
    try {
      const r = await db.selectFrom(table).select((eb) => eb.fn.countAll().as("n")).executeTakeFirst();
      return asInt(r?.n) ?? 0;
    } catch (cause) {
      throw dbError(`count of ${table} failed`, cause);
    }
  }

  /** The largest key of `table`, or null when it is empty. */
  async maxKey(table: LedgerTableName): Promise<Uint8Array | number | null> {
    const rows = await this.scanDescending(table, 1);
    const k = rows[0]?.[SPEC[table].key];
    return k === undefined ? null : k;
  }

  private async scanDescending(table: LedgerTableName, limit: number): Promise<LedgerRow[]> {
    await this.#ready();
    const { key, columns } = SPEC[table];
    const db = this.#k as unknown as Kysely<Record<string, Record<string, unknown>>>;
    try {
      const rows = await db.selectFrom(table).select(columns as string[]).orderBy(key, "desc").limit(limit).execute();
      return rows.map((r) => normalise(table, r));
    } catch (cause) {
      throw dbError(`scan of ${table} failed`, cause);
    }
  }

  /** The row of `table` with key `key`, or undefined. */
  async get(table: LedgerTableName, key: Uint8Array | number): Promise<LedgerRow | undefined> {
    await this.#ready();
    const spec = SPEC[table];
    const db = this.#k as unknown as Kysely<Record<string, Record<string, unknown>>>;
    const r = await db
      .selectFrom(table)
      .select(spec.columns as string[])
      .where(spec.key, "=", key instanceof Uint8Array ? toBuf(key) : key)
      .executeTakeFirst();
    return r === undefined ? undefined : normalise(table, r);
  }

  /**
   * Rows of asset_info_table newest first (descending id): all of them, or those whose `column`
   * equals `value`; only ids below `before` when it is given; at most `limit`. Each filter is
   * served by an index that pairs the column with the id (a page costs `limit` index steps).
   */
  async assetRowsNewestFirst(filter: { column: "asset_group_id" | "asset_id" | "user_id"; value: Uint8Array } | null, before: number | null, limit: number): Promise<LedgerRow[]> {
    const { columns } = SPEC.asset_info_table;
    const db = this.#k as unknown as Kysely<Record<string, Record<string, unknown>>>;
    let q = db.selectFrom("asset_info_table").select(columns as string[]);
    if (filter !== null) q = q.where(filter.column, "=", toBuf(filter.value));
    if (before !== null) q = q.where("id", "<", before);
    try {
      const rows = await q.orderBy("id", "desc").limit(Math.max(0, Math.floor(limit))).execute();
      return rows.map((r) => normalise("asset_info_table", r));
    } catch (cause) {
      throw dbError("scan of asset_info_table failed", cause);
    }
  }

  /**
   * Inserts raw rows (ids included) in one database transaction; rows whose key exists are
   * skipped. Returns how many were inserted.
   */
  async insertRows(table: LedgerTableName, rows: LedgerRow[]): Promise<number> {
    await this.#ready();
    if (rows.length === 0) return 0;
    const { columns } = SPEC[table];
    const values = rows.map((r) => Object.fromEntries(columns.map((c) => [c, bind(r[c])])));
    try {
      return await this.#k.transaction().execute(async (trx) => {
        const t = trx as unknown as Kysely<Record<string, Record<string, unknown>>>;
        let n = 0;
        for (let i = 0; i < values.length; i += 100) {
          const chunk = values.slice(i, i + 100);
          const q = this.dialect === "mysql" ? t.insertInto(table).ignore().values(chunk) : t.insertInto(table).values(chunk).onConflict((oc) => oc.doNothing());
          const r = await q.executeTakeFirst();
          n += Number(r.numInsertedOrUpdatedRows ?? 0n);
        }
        return n;
      });
    } catch (cause) {
      throw dbError(`insert into ${table} failed`, cause);
    }
  }

  /** After explicit-id inserts: PostgreSQL's identity sequences continue above the copied ids. */
  async fixSequences(): Promise<void> {
    if (this.dialect !== "postgres") return; // SQLite rowids and MySQL auto-increment follow MAX(id) themselves
    for (const t of ["asset_info_table", "topology_table", "cross_ref_table"]) {
      await sql`SELECT setval(pg_get_serial_sequence(${t}, 'id'), (SELECT COALESCE(MAX(id), 0) + 1 FROM ${sql.table(t)}), false)`.execute(this.#k);
    }
  }

  /** Count and digest of `table`: SHA-256 over every row in key order, each column length-prefixed. */
  async summary(table: LedgerTableName, pageSize = 2000): Promise<TableSummary> {
    const h = createHash("sha256");
    const { key, columns } = SPEC[table];
    let after: Uint8Array | number | null = null;
    let rows = 0;
    for (;;) {
      const page = await this.scan(table, after, pageSize);
      for (const r of page) {
        for (const c of columns) hashValue(h, r[c] ?? null);
        rows++;
      }
      if (page.length < pageSize) break;
      after = page[page.length - 1]![key]!;
    }
    return { rows, digest: h.digest("hex") };
  }

  /**
   * Every transaction once, in ledger order: the order of their first asset row (the order
   * searches use), then the transactions without asset rows in id order. Keeps the ids seen in
   * memory (about 100 bytes per transaction).
   */
  async *transactionsInLedgerOrder(pageSize = 500): AsyncGenerator<{ transactionId: Uint8Array; data: Uint8Array }> {
    const seen = new Set<string>();
    let afterId: number | null = null;
    for (;;) {
      const assets = await this.scan("asset_info_table", afterId, pageSize);
      for (const a of assets) {
        const id = a.transaction_id;
        if (!(id instanceof Uint8Array)) continue;
        const k = Buffer.from(id).toString("latin1");
        if (seen.has(k)) continue;
        const row = await this.get("transaction_table", id);
        if (row === undefined) continue; // an asset row of a removed transaction
        seen.add(k);
        yield { transactionId: id, data: dataOf(row) };
      }
      if (assets.length < pageSize) break;
      afterId = assets[assets.length - 1]!.id as number;
    }
    let after: Uint8Array | null = null;
    for (;;) {
      const txs = await this.scan("transaction_table", after, pageSize);
      for (const t of txs) {
        const id = t.transaction_id as Uint8Array;
        if (!seen.has(Buffer.from(id).toString("latin1"))) yield { transactionId: id, data: dataOf(t) };
      }
      if (txs.length < pageSize) break;
      after = txs[txs.length - 1]!.transaction_id as Uint8Array;
    }
  }
}

function dataOf(row: LedgerRow): Uint8Array {
  const d = row.transaction_data;
  if (!(d instanceof Uint8Array)) throw new StorageError("CORRUPT_ROW", `transaction_table row holds a non-binary transaction_data`);
  return d;
}

function normalise(table: LedgerTableName, r: Record<string, unknown>): LedgerRow {
  const out: LedgerRow = {};
  const { ints } = SPEC[table];
  for (const [c, v] of Object.entries(r)) {
    if (v === null || v === undefined) out[c] = null;
    else if (ints.includes(c)) {
      const n = asInt(v);
      if (n === undefined) throw new StorageError("CORRUPT_ROW", `${table}.${c} holds a non-integer value`);
      out[c] = n;
    } else {
      const b = asBytes(v);
      if (b === undefined) throw new StorageError("CORRUPT_ROW", `${table}.${c} holds a non-binary value`);
      out[c] = b;
    }
  }
  return out;
}

function bind(v: Uint8Array | number | null | undefined): unknown {
  if (v instanceof Uint8Array) return toBuf(v);
  return v ?? null;
}

function hashValue(h: ReturnType<typeof createHash>, v: Uint8Array | number | null): void {
  const head = Buffer.alloc(9);
  if (v === null) {
    head[0] = 0;
    h.update(head.subarray(0, 1));
  } else if (typeof v === "number") {
    head[0] = 1;
    head.writeBigInt64BE(BigInt(v), 1);
    h.update(head);
  } else {
    head[0] = 2;
    head.writeBigUInt64BE(BigInt(v.length), 1);
    h.update(head);
    h.update(v);
  }
}

/** Options of {@link copyLedger}. */
export interface CopyLedgerOptions {
  /** Rows per database transaction (default 500). */
  batchSize?: number;
  onProgress?: (p: CopyProgress) => void;
}

/** What {@link copyLedger} did, per table. */
export type CopyReport = Record<LedgerTableName, { copied: number; skipped: number; total: number; resumedAfter: boolean }>;

/**
 * Copies every data table of `from` into `to`, rows with their ids, in key order and in batches
 * of one database transaction each. Resumable: each table continues after the largest key the
 * destination already holds (a re-run after an interruption copies the rest). The destination
 * must be empty or an earlier partial copy of the same source: a row at the resume point that
 * differs from the source's is a `BAD_ARGUMENT`. Ends with the PostgreSQL sequences moved past
 * the copied ids.
 */
export async function copyLedger(from: LedgerTables, to: LedgerTables, options: CopyLedgerOptions = {}): Promise<CopyReport> {
  const batch = Math.max(1, options.batchSize ?? 500);
  const report = {} as CopyReport;
  for (const table of LEDGER_TABLES) {
    const total = await from.count(table);
    const key = SPEC[table].key;
    let after = await to.maxKey(table);
    const resumedAfter = after !== null;
    if (after !== null) {
      const mine = await from.get(table, after);
      const theirs = await to.get(table, after);
      if (mine === undefined || theirs === undefined || !sameRow(table, mine, theirs)) {
        throw new StorageError("BAD_ARGUMENT", `the destination's ${table} holds rows that are not a copy of this ledger (key ${keyText(after)}): use an empty destination`);
      }
    }
    let copied = 0;
    let skipped = 0;
    let done = after === null ? 0 : await countUpTo(from, table, after);
    options.onProgress?.({ table, copied: done, total });
    for (;;) {
      const rows = await from.scan(table, after, batch);
      if (rows.length === 0) break;
      const n = await to.insertRows(table, rows);
      copied += n;
      skipped += rows.length - n;
      done += rows.length;
      after = rows[rows.length - 1]![key]!;
      options.onProgress?.({ table, copied: done, total: Math.max(total, done) });
      if (rows.length < batch) break;
    }
    report[table] = { copied, skipped, total, resumedAfter };
  }
  await to.fixSequences();
  return report;
}

async function countUpTo(t: LedgerTables, table: LedgerTableName, key: Uint8Array | number): Promise<number> {
  // progress only: rows at or below the resume key, counted by scanning keys (cheap next to copying them)
  let n = 0;
  let after: Uint8Array | number | null = null;
  for (;;) {
    const page = await t.scan(table, after, 5000);
    for (const r of page) {
      if (compareKey(r[SPEC[table].key]!, key) > 0) return n;
      n++;
    }
    if (page.length < 5000) return n;
    after = page[page.length - 1]![SPEC[table].key]!;
  }
}

function compareKey(a: Uint8Array | number | null, b: Uint8Array | number): number {
  if (typeof a === "number" && typeof b === "number") return a - b;
  return Buffer.compare(Buffer.from(a as Uint8Array), Buffer.from(b as Uint8Array));
}

function keyText(k: Uint8Array | number): string {
  return typeof k === "number" ? String(k) : Buffer.from(k).toString("hex");
}

function sameRow(table: LedgerTableName, a: LedgerRow, b: LedgerRow): boolean {
  for (const c of SPEC[table].columns) {
    const x = a[c] ?? null;
    const y = b[c] ?? null;
    if (x instanceof Uint8Array && y instanceof Uint8Array) {
      if (Buffer.compare(Buffer.from(x), Buffer.from(y)) !== 0) return false;
    } else if (x !== y) return false;
  }
  return true;
}

/** Count and digest of every data table. */
export async function summarizeLedger(t: LedgerTables): Promise<Record<LedgerTableName, TableSummary>> {
  const out = {} as Record<LedgerTableName, TableSummary>;
  for (const table of LEDGER_TABLES) out[table] = await t.summary(table);
  return out;
}
