/**
 * SQLite back end: better-sqlite3 (synchronous), WAL, synchronous=FULL. The schema is created by the kysely
 * migrations; statements are compiled once by kysely and kept as prepared better-sqlite3 statements, so a group
 * commit runs its whole batch synchronously inside one SQLite transaction.
 * @internal
 * @module
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { Kysely, SqliteDialect, sql, type CompiledQuery } from "kysely";
import { asInt, dbError, toBuf, type DbBackend, type RawSearchRow, type RawTxRow } from "./backend.js";
import { StorageError } from "./errors.js";
import { migrateToLatest, type LedgerDatabase } from "./schema.js";
import type { IntegrityReport, LedgerRecord, SearchConditions } from "./types.js";

type Stmt = Database.Statement<unknown[], unknown>;
const Z = Buffer.alloc(0);

/** Memory settings of a SQLite ledger connection (`db.sqlite_cache_mb`, `db.sqlite_mmap_mb`). */
export interface SqliteMemory {
  /** SQLite page cache of the connection, MiB (default 32). */
  cacheMb?: number;
  /**
   * Bytes of the file read through mmap, MiB (default 0). Off by default: every page fault maps its neighbours too
   * (fault-around), so random reads of a large ledger grow the process's RSS by far more than they read (measured:
   * +600 MB after 8,000 lookups in a ledger of 1M transactions).
   */
  mmapMb?: number;
}

/** Open (creating when missing) the SQLite ledger file and bring its schema up to date. */
export async function openSqliteBackend(file: string, dbNum = 0, memory: SqliteMemory = {}): Promise<SqliteBackend> {
  let db: Database.Database;
  try {
    mkdirSync(dirname(file), { recursive: true });
    db = new Database(file);
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = FULL");
    db.pragma("busy_timeout = 5000");
    // keep index pages in memory and checkpoint less often
    db.pragma(`cache_size = -${Math.round((memory.cacheMb ?? 32) * 1024)}`);
    db.pragma("wal_autocheckpoint = 4000");
    db.pragma(`mmap_size = ${Math.round((memory.mmapMb ?? 0) * 1024 * 1024)}`);
  } catch (cause) {
    throw new StorageError("CONNECT_FAILED", `cannot open SQLite ledger ${file}: ${(cause as Error).message}`, { cause, details: { file } });
  }
  const kysely = new Kysely<LedgerDatabase>({ dialect: new SqliteDialect({ database: db }) });
  try {
    await migrateToLatest(kysely, "sqlite");
  } catch (e) {
    await kysely.destroy();
    throw e;
  }
  return new SqliteBackend(db, kysely, dbNum);
}

export class SqliteBackend implements DbBackend {
  readonly dbNum: number;
  readonly dialect = "sqlite" as const;
  /** The connection (the commit log's backend reads through it). */
  readonly db: Database.Database;
  readonly kysely: Kysely<LedgerDatabase>;
  private readonly cache = new Map<string, Stmt>();
  private readonly insTx: Stmt;
  private readonly insAsset: Stmt;
  private readonly insEdge: Stmt;
  private readonly getTx: Stmt;
  private readonly hasTx: Stmt;
  private readonly runBatch: (records: LedgerRecord[]) => boolean[];
  private lsnStmt: Stmt | undefined;

  constructor(db: Database.Database, kysely: Kysely<LedgerDatabase>, dbNum: number) {
    this.db = db;
    this.kysely = kysely;
    this.dbNum = dbNum;
    const k = kysely;
    this.insTx = this.prep(k.insertInto("transaction_table").values({ transaction_id: Z, transaction_data: Z }).onConflict((oc) => oc.doNothing()).compile());
    this.insAsset = this.prep(
      k.insertInto("asset_info_table").values({ transaction_id: Z, asset_group_id: Z, asset_id: Z, user_id: Z, asset_file_size: 0, asset_file_digest: Z }).compile(),
    );
    this.insEdge = this.prep(k.insertInto("topology_table").values({ base: Z, point_to: Z }).compile());
    this.getTx = this.prep(k.selectFrom("transaction_table").select(["transaction_id", "transaction_data"]).where("transaction_id", "=", Z).compile());
    // the duplicate check of every insert: the index alone answers it, without copying the stored transaction
    this.hasTx = this.prep(k.selectFrom("transaction_table").select(sql<number>`1`.as("one")).where("transaction_id", "=", Z).compile());
    const { insTx, insAsset, insEdge } = this;
    this.runBatch = db.transaction((records: LedgerRecord[]) => {
      const out: boolean[] = [];
      for (const r of records) {
        const id = toBuf(r.transactionId);
        const ok = insTx.run(id, toBuf(r.data)).changes === 1;
        out.push(ok);
        if (!ok) continue;
        for (const a of r.assets) {
          insAsset.run(id, nb(a.assetGroupId), nb(a.assetId), nb(a.userId), a.assetFileSize ?? 0, nb(a.assetFileDigest));
        }
        for (const p of r.pointTo) insEdge.run(id, toBuf(p));
      }
      return out;
    });
  }

  private prep(q: CompiledQuery): Stmt {
    return this.db.prepare(q.sql);
  }

  private cached(key: string, build: () => CompiledQuery): Stmt {
    let s = this.cache.get(key);
    if (!s) {
      s = this.prep(build());
      this.cache.set(key, s);
    }
    return s;
  }

  async insertBatch(records: LedgerRecord[]): Promise<boolean[]> {
    try {
      return this.runBatch(records);
    } catch (cause) {
      throw dbError(`SQLite insert of ${records.length} transaction(s) failed`, cause);
    }
  }

  /** Synchronous read by id (used by the store's fast path). */
  getTransactionSync(transactionId: Uint8Array): RawTxRow | undefined {
    return this.getTx.get(toBuf(transactionId)) as RawTxRow | undefined;
  }

  /** True when a transaction with this id is stored. */
  hasTransactionSync(transactionId: Uint8Array): boolean {
    return this.hasTx.get(toBuf(transactionId)) !== undefined;
  }

  async getTransaction(transactionId: Uint8Array): Promise<RawTxRow | undefined> {
    try {
      return this.getTransactionSync(transactionId);
    } catch (cause) {
      throw dbError("SQLite read failed", cause);
    }
  }

  async searchAssetRows(c: SearchConditions, ascending: boolean, limit: number): Promise<RawSearchRow[]> {
    try {
      return this.searchAssetRowsSync(c, ascending, limit);
    } catch (cause) {
      throw dbError("SQLite search failed", cause);
    }
  }

  searchAssetRowsSync(c: SearchConditions, ascending: boolean, limit: number): RawSearchRow[] {
    const key = `s${c.assetGroupId ? 1 : 0}${c.assetId ? 1 : 0}${c.userId ? 1 : 0}${ascending ? "a" : "d"}${limit > 0 ? "l" : ""}`;
    const stmt = this.cached(key, () => {
      let q = this.kysely
        .selectFrom("asset_info_table as a")
        .leftJoin("transaction_table as t", "t.transaction_id", "a.transaction_id")
        .select(["a.id as id", "a.transaction_id as transaction_id", "t.transaction_id as tx_id", "t.transaction_data as transaction_data"]);
      if (c.assetGroupId) q = q.where("a.asset_group_id", "=", Z);
      if (c.assetId) q = q.where("a.asset_id", "=", Z);
      if (c.userId) q = q.where("a.user_id", "=", Z);
      q = q.orderBy("a.id", ascending ? "asc" : "desc");
      if (limit > 0) q = q.limit(1);
      return q.compile();
    });
    const params: unknown[] = condParams(c);
    if (limit > 0) params.push(limit);
    return stmt.all(...params) as RawSearchRow[];
  }

  async count(c: SearchConditions): Promise<number> {
    try {
      return this.countSync(c);
    } catch (cause) {
      throw dbError("SQLite count failed", cause);
    }
  }

  countSync(c: SearchConditions): number {
    const key = `c${c.assetGroupId ? 1 : 0}${c.assetId ? 1 : 0}${c.userId ? 1 : 0}`;
    const stmt = this.cached(key, () => {
      let q = this.kysely.selectFrom("asset_info_table").select((eb) => eb.fn.count("transaction_id").distinct().as("n"));
      if (c.assetGroupId) q = q.where("asset_group_id", "=", Z);
      if (c.assetId) q = q.where("asset_id", "=", Z);
      if (c.userId) q = q.where("user_id", "=", Z);
      return q.compile();
    });
    const row = stmt.get(...condParams(c)) as { n: unknown };
    return asInt(row.n) ?? 0;
  }

  /**
   * Whether the tables hold an asset row of `transactionId` with `assetId` matching the conditions (the asset_id
   * index finds it: a transaction removed and inserted again keeps its old asset rows, v1.1.1).
   */
  hasAssetRowSync(c: SearchConditions, assetId: Uint8Array, transactionId: Uint8Array): boolean {
    const key = `h${c.assetGroupId ? 1 : 0}${c.userId ? 1 : 0}`;
    const stmt = this.cached(key, () => {
      let q = this.kysely.selectFrom("asset_info_table").select("id").where("asset_id", "=", Z).where("transaction_id", "=", Z);
      if (c.assetGroupId) q = q.where("asset_group_id", "=", Z);
      if (c.userId) q = q.where("user_id", "=", Z);
      return q.limit(1).compile();
    });
    const p: unknown[] = [toBuf(assetId), toBuf(transactionId)];
    if (c.assetGroupId) p.push(toBuf(c.assetGroupId));
    if (c.userId) p.push(toBuf(c.userId));
    return stmt.get(...p, 1) !== undefined;
  }

  /**
   * Runs `fn` inside one read transaction, passing the commit log's `applied_lsn` of that snapshot: rows read by
   * `fn` and the lsn describe the same moment.
   */
  snapshot<T>(fn: (appliedLsn: number) => T): T {
    this.lsnStmt ??= this.db.prepare("SELECT applied_lsn FROM commit_log_state WHERE id = 1");
    const stmt = this.lsnStmt;
    return this.db.transaction(() => fn(Number((stmt.get() as { applied_lsn?: number } | undefined)?.applied_lsn ?? 0)))();
  }

  async topology(transactionId: Uint8Array, toPast: boolean) {
    try {
      return this.topologySync(transactionId, toPast);
    } catch (cause) {
      throw dbError("SQLite topology read failed", cause);
    }
  }

  topologySync(transactionId: Uint8Array, toPast: boolean): Array<{ id: unknown; base: unknown; point_to: unknown }> {
    const stmt = this.cached(toPast ? "tp" : "tf", () =>
      this.kysely
        .selectFrom("topology_table")
        .select(["id", "base", "point_to"])
        .where(toPast ? "base" : "point_to", "=", Z)
        .orderBy("id", "asc")
        .compile(),
    );
    return stmt.all(toBuf(transactionId)) as Array<{ id: unknown; base: unknown; point_to: unknown }>;
  }

  async insertCrossRef(transactionId: Uint8Array, outerDomainId: Uint8Array, txidHavingCrossRef: Uint8Array): Promise<void> {
    const stmt = this.cached("xi", () => this.kysely.insertInto("cross_ref_table").values({ transaction_id: Z, outer_domain_id: Z, txid_having_cross_ref: Z }).compile());
    try {
      stmt.run(toBuf(transactionId), toBuf(outerDomainId), toBuf(txidHavingCrossRef));
    } catch (cause) {
      throw dbError("SQLite cross_ref insert failed", cause);
    }
  }

  async searchCrossRefs(transactionId: Uint8Array | undefined) {
    const stmt = this.cached(transactionId ? "xs1" : "xs0", () => {
      let q = this.kysely.selectFrom("cross_ref_table").select(["id", "transaction_id", "outer_domain_id", "txid_having_cross_ref"]);
      if (transactionId) q = q.where("transaction_id", "=", Z);
      return q.orderBy("id", "asc").compile();
    });
    try {
      return (transactionId ? stmt.all(toBuf(transactionId)) : stmt.all()) as Array<Record<string, unknown>>;
    } catch (cause) {
      throw dbError("SQLite cross_ref read failed", cause);
    }
  }

  async countCrossRefsByDomain(outerDomainId: Uint8Array): Promise<number> {
    const stmt = this.cached("xc", () =>
      this.kysely.selectFrom("cross_ref_table").select((eb) => eb.fn.countAll().as("n")).where("outer_domain_id", "=", Z).compile(),
    );
    try {
      return asInt((stmt.get(toBuf(outerDomainId)) as { n: unknown }).n) ?? 0;
    } catch (cause) {
      throw dbError("SQLite cross_ref count failed", cause);
    }
  }

  async removeTransaction(transactionId: Uint8Array, pointTo: Uint8Array[] | null): Promise<boolean> {
    const delTx = this.cached("rt", () => this.kysely.deleteFrom("transaction_table").where("transaction_id", "=", Z).compile());
    const delEdge = this.cached("re", () => this.kysely.deleteFrom("topology_table").where("base", "=", Z).where("point_to", "=", Z).compile());
    const delBase = this.cached("rb", () => this.kysely.deleteFrom("topology_table").where("base", "=", Z).compile());
    const id = toBuf(transactionId);
    try {
      return this.db.transaction(() => {
        const existed = delTx.run(id).changes > 0;
        if (pointTo === null) delBase.run(id);
        else for (const p of pointTo) delEdge.run(id, toBuf(p));
        return existed;
      })();
    } catch (cause) {
      throw dbError("SQLite remove failed", cause);
    }
  }

  async replaceTransaction(record: LedgerRecord): Promise<boolean> {
    const delTx = this.cached("rt", () => this.kysely.deleteFrom("transaction_table").where("transaction_id", "=", Z).compile());
    const delBase = this.cached("rb", () => this.kysely.deleteFrom("topology_table").where("base", "=", Z).compile());
    const id = toBuf(record.transactionId);
    try {
      return this.db.transaction(() => {
        const existed = delTx.run(id).changes > 0;
        delBase.run(id);
        this.runBatch([record]);
        return existed;
      })();
    } catch (cause) {
      throw dbError("SQLite replace failed", cause);
    }
  }

  async integrity(): Promise<IntegrityReport> {
    try {
      const rows = this.db.pragma("integrity_check") as Array<{ integrity_check: string }>;
      const messages = rows.map((r) => String(r.integrity_check));
      return { ok: messages.length === 1 && messages[0] === "ok", messages };
    } catch (cause) {
      return { ok: false, messages: [`integrity_check failed: ${(cause as Error).message}`] };
    }
  }

  async close(): Promise<void> {
    if (!this.db.open) return;
    try {
      this.db.pragma("wal_checkpoint(TRUNCATE)");
    } catch {
      // a checkpoint is an optimisation; the WAL is replayed on the next open anyway
    }
    await this.kysely.destroy();
  }
}

function nb(v: Uint8Array | null): Buffer | null {
  return v ? toBuf(v) : null;
}

function condParams(c: SearchConditions): unknown[] {
  const p: unknown[] = [];
  if (c.assetGroupId) p.push(toBuf(c.assetGroupId));
  if (c.assetId) p.push(toBuf(c.assetId));
  if (c.userId) p.push(toBuf(c.userId));
  return p;
}
