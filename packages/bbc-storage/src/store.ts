/**
 * The ledger store: v1.1.1 data_handler semantics over one or more databases, with group commit.
 * @module
 */
import { mkdirSync } from "node:fs";
import { bytesEqual, deserialize, toHex } from "@bbc1/bbclib";
import { AssetFileStore } from "./asset-files.js";
import { asBytes, crossRefOf, edgeOf, type DbBackend, type RawTxRow } from "./backend.js";
import { DEFAULT_SEARCH_MAX_COUNT, resolveStorageConfig, type ResolvedStorageConfig } from "./config.js";
import { StorageError } from "./errors.js";
import { asRecord } from "./record.js";
import { GroupCommit } from "./group-commit.js";
import { LedgerTables } from "./tables.js";
import { traverseLedger } from "./traverse.js";
// static: in a bundle, the apply thread runs the bundle itself and must reach apply-thread.ts's worker code
import { openSqliteLedger } from "./logged-sqlite.js";
import type {
  CrossRefRow,
  DbType,
  InsertInput,
  InsertOptions,
  InsertResult,
  IntegrityReport,
  LedgerStore,
  OpenLedgerStoreOptions,
  RepairCandidate,
  ReplicationStrategy,
  SearchConditions,
  SearchOptions,
  SearchResult,
  StorageLogger,
  StoreStats,
  StoredTransaction,
  TopologyEdge,
  TraverseOptions,
  TraverseResult,
} from "./types.js";

const silent: StorageLogger = { debug() {}, info() {}, warn() {}, error() {} };

/**
 * Open the ledger of one domain: creates the storage directory, connects to every configured database and runs the
 * schema migrations.
 *
 * @example
 * ```ts
 * const store = await openLedgerStore({ domainId, workingDir: ".bbc1" }); // SQLite in .bbc1/<domain>/bbc1_db.sqlite
 * await store.insertTransaction(tx);
 * const row = await store.getTransaction(tx.transactionId!);
 * await store.close();
 * ```
 */
export async function openLedgerStore(options: OpenLedgerStoreOptions): Promise<LedgerStore> {
  const cfg = resolveStorageConfig(options);
  try {
    mkdirSync(cfg.storageRoot, { recursive: true });
  } catch (cause) {
    throw new StorageError("IO_ERROR", `cannot create storage directory ${cfg.storageRoot}`, { cause });
  }
  const backends: DbBackend[] = [];
  try {
    for (const server of cfg.servers) {
      if (cfg.dbType === "sqlite") {
        backends.push(
          await openSqliteLedger(server.file as string, server.dbNum, {
            storageRoot: cfg.storageRoot,
            external: cfg.external,
            logger: options.logger ?? silent,
            settings: { ...cfg.commitLog, ...options.commitLog },
            memory: cfg.sqliteMemory,
          }),
        );
      } else {
        const { openServerBackend } = await import("./server.js");
        backends.push(await openServerBackend(cfg.dbType, server));
      }
    }
  } catch (e) {
    await Promise.allSettled(backends.map((b) => b.close()));
    throw e;
  }
  return new LedgerStoreImpl(cfg, backends, options);
}

class LedgerStoreImpl implements LedgerStore {
  readonly dbType: DbType;
  readonly dbCount: number;
  readonly replicationStrategy: ReplicationStrategy;
  readonly useExternalStorage: boolean;
  readonly domainId: Uint8Array;
  readonly storageRoot: string;
  readonly assetFiles: AssetFileStore;
  readonly searchMaxCount: number;
  private readonly backends: DbBackend[];
  private readonly log: StorageLogger;
  readonly #commits: GroupCommit;
  private closed = false;

  constructor(cfg: ResolvedStorageConfig, backends: DbBackend[], options: OpenLedgerStoreOptions) {
    this.dbType = cfg.dbType;
    this.dbCount = backends.length;
    this.replicationStrategy = cfg.replicationStrategy;
    this.useExternalStorage = cfg.external;
    this.domainId = new Uint8Array(Buffer.from(cfg.domainIdHex, "hex"));
    this.storageRoot = cfg.storageRoot;
    this.assetFiles = new AssetFileStore(cfg.storageRoot, { external: cfg.external });
    this.searchMaxCount = options.searchMaxCount ?? DEFAULT_SEARCH_MAX_COUNT;
    this.backends = backends;
    this.log = options.logger ?? silent;
    this.#commits = new GroupCommit({
      backends,
      assetFiles: this.assetFiles,
      external: cfg.external,
      log: this.log,
      onCommit: options.onCommit,
      onCommitted: options.onCommitted,
      maxBatch: options.maxBatch,
    });
    const b0 = backends[0];
    if (b0?.pendingFile !== undefined) this.assetFiles.setPendingSource((g, a) => b0.pendingFile!(g, a));
  }

  get stats(): StoreStats {
    const log = this.backends[0]?.logStats;
    return log === undefined ? { ...this.#commits.counts } : { ...this.#commits.counts, commitLog: { ...log } };
  }

  async settle(): Promise<void> {
    this.check();
    await this.whenDrained();
    await Promise.all(this.backends.map((b) => b.settle?.()));
  }

  private check(): void {
    if (this.closed) throw new StorageError("CLOSED", "the ledger store is closed");
  }

  private db(dbNum: number | undefined): DbBackend {
    const n = dbNum ?? 0;
    return this.backends[Number.isInteger(n) && n >= 0 && n < this.backends.length ? n : 0];
  }

  // ---- inserts: group commit (group-commit.ts) ------------------------------------------------------------

  insertTransaction(tx: InsertInput, options?: InsertOptions): Promise<InsertResult> {
    try {
      this.check();
      return this.#commits.enqueue(asRecord(tx), options);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  private whenDrained(): Promise<void> {
    return this.#commits.whenDrained();
  }

  // ---- reads -------------------------------------------------------------------------------------------------

  async getTransaction(transactionId: Uint8Array, options?: { dbNum?: number }): Promise<StoredTransaction | null> {
    this.check();
    checkId(transactionId, "transaction_id");
    const row = await this.db(options?.dbNum).getTransaction(transactionId);
    if (!row) return null;
    return rowToStored(row, transactionId);
  }

  async searchTransactions(options: SearchOptions): Promise<SearchResult> {
    this.check();
    const cond = conditionsOf(options);
    let count = options.count ?? 1;
    if (!Number.isFinite(count)) count = 0;
    count = Math.trunc(count);
    if (count > this.searchMaxCount) count = this.searchMaxCount;
    const rows = await this.db(options.dbNum).searchAssetRows(cond, options.direction === 1, count > 0 ? count : 0);
    const seen = new Set<string>();
    const transactions: StoredTransaction[] = [];
    const repairCandidates: RepairCandidate[] = [];
    for (const row of rows) {
      const aid = asBytes(row.transaction_id);
      if (!aid) {
        repairCandidates.push({
          transactionId: new Uint8Array(0),
          error: new StorageError("CORRUPT_ROW", `asset_info_table row ${String(row.id)} holds a non-binary transaction_id`, { details: { table: "asset_info_table", id: String(row.id) } }),
        });
        continue;
      }
      if (row.tx_id === null || row.tx_id === undefined) continue; // removed transaction: orphan asset row
      const key = toHex(aid);
      if (seen.has(key)) continue;
      seen.add(key);
      try {
        transactions.push(rowToStored({ transaction_id: row.tx_id, transaction_data: row.transaction_data }, aid));
      } catch (e) {
        if (!(e instanceof StorageError)) throw e;
        repairCandidates.push({ transactionId: aid, error: e });
      }
    }
    return { transactions, repairCandidates };
  }

  async countTransactions(conditions: SearchConditions, options?: { dbNum?: number }): Promise<number> {
    this.check();
    return this.db(options?.dbNum).count(conditionsOf(conditions));
  }

  async getTopology(transactionId: Uint8Array, toPast: boolean, options?: { dbNum?: number }): Promise<TopologyEdge[]> {
    this.check();
    checkId(transactionId, "transaction_id");
    const rows = await this.db(options?.dbNum).topology(transactionId, toPast);
    return rows.map(edgeOf);
  }

  async traverse(transactionId: Uint8Array, options: TraverseOptions = {}): Promise<TraverseResult> {
    this.check();
    checkId(transactionId, "transaction_id");
    return traverseLedger({ get: (id) => this.getTransaction(id), topology: (id, toPast) => this.getTopology(id, toPast), log: this.log }, transactionId, options);
  }

  // ---- cross_ref -----------------------------------------------------------------------------------------------

  async insertCrossRef(transactionId: Uint8Array, outerDomainId: Uint8Array, txidHavingCrossRef: Uint8Array): Promise<void> {
    this.check();
    checkId(transactionId, "transaction_id");
    checkId(outerDomainId, "outer_domain_id");
    checkId(txidHavingCrossRef, "txid_having_cross_ref");
    const results = await Promise.allSettled(this.backends.map((b) => b.insertCrossRef(transactionId, outerDomainId, txidHavingCrossRef)));
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
    for (const f of failed) this.log.error({ err: f.reason }, "cross_ref insert failed in one database");
    if (failed.length === results.length) throw failed[0].reason;
  }

  async searchCrossRefs(transactionId?: Uint8Array, options?: { dbNum?: number }): Promise<CrossRefRow[]> {
    this.check();
    if (transactionId !== undefined) checkId(transactionId, "transaction_id");
    const rows = await this.db(options?.dbNum).searchCrossRefs(transactionId);
    return rows.map(crossRefOf);
  }

  async countCrossRefsByDomain(outerDomainId: Uint8Array, options?: { dbNum?: number }): Promise<number> {
    this.check();
    checkId(outerDomainId, "outer_domain_id");
    return this.db(options?.dbNum).countCrossRefsByDomain(outerDomainId);
  }

  // ---- remove / restore ----------------------------------------------------------------------------------------

  async removeTransaction(transactionId: Uint8Array, options: { dbNum?: number; tx?: InsertInput } = {}): Promise<boolean> {
    this.check();
    checkId(transactionId, "transaction_id");
    await this.whenDrained();
    let pointTo: Uint8Array[] | null = null;
    if (options.tx !== undefined) {
      const rec = asRecord(options.tx);
      if (!bytesEqual(rec.transactionId, transactionId)) return false; // v1.1.1: a mismatching txobj is ignored
      pointTo = rec.pointTo;
    } else {
      const stored = await this.getTransaction(transactionId).catch((e: unknown) => {
        if (e instanceof StorageError && e.code === "CORRUPT_ROW") return { transactionId, data: new Uint8Array(0) };
        throw e;
      });
      if (stored) {
        try {
          pointTo = pointToFromData(stored.data);
        } catch {
          pointTo = null; // undecodable: remove every edge whose base is this id
        }
      }
    }
    const targets = options.dbNum === undefined || options.dbNum < 0 || options.dbNum >= this.backends.length ? this.backends : [this.backends[options.dbNum]];
    let removed = false;
    for (const b of targets) if (await b.removeTransaction(transactionId, pointTo)) removed = true;
    return removed;
  }

  async restoreTransaction(dbNum: number, transactionId: Uint8Array, tx: InsertInput): Promise<void> {
    this.check();
    const rec = asRecord(tx);
    if (!bytesEqual(rec.transactionId, transactionId)) {
      throw new StorageError("BAD_ARGUMENT", `restore: transaction ${toHex(rec.transactionId)} is not ${toHex(transactionId)}`);
    }
    await this.whenDrained();
    const b = this.db(dbNum);
    await b.removeTransaction(transactionId, rec.pointTo);
    await b.insertBatch([rec]);
  }

  async replaceTransaction(tx: InsertInput, options: { assetRows?: boolean } = {}): Promise<boolean> {
    this.check();
    const rec = asRecord(tx);
    checkId(rec.transactionId, "transaction_id");
    const record = options.assetRows === false ? { ...rec, assets: [] } : rec;
    await this.whenDrained();
    let existed = false;
    for (const b of this.backends) if (await b.replaceTransaction(record)) existed = true;
    return existed;
  }

  tables(dbNum = 0): LedgerTables {
    this.check();
    const b = this.backends[dbNum];
    if (b === undefined) throw new StorageError("BAD_ARGUMENT", `no database ${dbNum} (the store has ${this.backends.length})`);
    // whole-table work sees every acknowledged insert: wait for the commit log's apply step first
    return new LedgerTables(b.kysely, b.dialect, () => this.settle());
  }

  async checkIntegrity(): Promise<IntegrityReport> {
    this.check();
    const reports = await Promise.all(this.backends.map((b) => b.integrity()));
    return {
      ok: reports.every((r) => r.ok),
      messages: reports.flatMap((r, i) => (this.backends.length > 1 ? r.messages.map((m) => `db${i}: ${m}`) : r.messages)),
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.whenDrained();
    this.closed = true;
    await Promise.allSettled(this.backends.map((b) => b.close()));
  }
}

function pointToFromData(data: Uint8Array): Uint8Array[] {
  const tx = deserialize(data);
  const out: Uint8Array[] = [];
  for (const r of tx.references) if (r.transactionId) out.push(r.transactionId);
  for (const rel of tx.relations) for (const p of rel.pointers) if (p.transactionId) out.push(p.transactionId);
  return out;
}

function rowToStored(row: RawTxRow, expectedId: Uint8Array): StoredTransaction {
  const id = asBytes(row.transaction_id);
  const data = asBytes(row.transaction_data);
  if (!id || !data) {
    const what = !id ? "transaction_id" : row.transaction_data === null ? "transaction_data (NULL)" : `transaction_data (${typeof row.transaction_data})`;
    throw new StorageError("CORRUPT_ROW", `transaction_table row ${toHex(expectedId)} holds a non-binary ${what}`, {
      details: { table: "transaction_table", transactionId: toHex(expectedId) },
    });
  }
  return { transactionId: id, data };
}

function conditionsOf(c: SearchConditions): SearchConditions {
  const out: SearchConditions = {};
  if (c.assetGroupId) out.assetGroupId = checkId(c.assetGroupId, "asset_group_id");
  if (c.assetId) out.assetId = checkId(c.assetId, "asset_id");
  if (c.userId) out.userId = checkId(c.userId, "user_id");
  if (!out.assetGroupId && !out.assetId && !out.userId) {
    throw new StorageError("BAD_ARGUMENT", "search and count need at least one of asset_group_id, asset_id, user_id");
  }
  return out;
}

function checkId(v: unknown, what: string): Uint8Array {
  if (!(v instanceof Uint8Array)) throw new StorageError("BAD_ARGUMENT", `${what} must be a Uint8Array`);
  if (v.length > 64) throw new StorageError("BAD_ARGUMENT", `${what} of ${v.length} bytes is too long (max 64)`);
  return v;
}

