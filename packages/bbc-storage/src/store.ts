/**
 * The ledger store: v1.1.1 data_handler semantics over one or more databases, with group commit.
 * @module
 */
import { mkdirSync } from "node:fs";
import { bytesEqual, deserialize, toHex } from "@bbc1/bbclib";
import { AssetFileStore } from "./asset-files.js";
import { asBytes, checkSignatures, crossRefOf, edgeOf, type DbBackend, type RawTxRow } from "./backend.js";
import { DEFAULT_MAX_TRAVERSE, DEFAULT_SEARCH_MAX_COUNT, resolveStorageConfig, type ResolvedStorageConfig } from "./config.js";
import { StorageError, isStorageError } from "./errors.js";
import { asRecord, assetInfoOf } from "./record.js";
import { LedgerTables } from "./tables.js";
// static: in a bundle, the apply thread runs the bundle itself and must reach apply-thread.ts's worker code
import { openSqliteLedger } from "./logged-sqlite.js";
import type { LoggedFile } from "./log-codec.js";
import type {
  CrossRefRow,
  DbType,
  InsertInput,
  InsertOptions,
  InsertResult,
  IntegrityReport,
  LedgerRecord,
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

interface Pending {
  record: LedgerRecord;
  options: InsertOptions | undefined;
  resolve: (r: InsertResult) => void;
  reject: (e: unknown) => void;
}

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
  readonly #counts = { batches: 0, inserts: 0, maxBatch: 0 };
  private readonly backends: DbBackend[];
  private readonly log: StorageLogger;
  private readonly onCommit: ((inserts: number) => void) | undefined;
  private readonly onCommitted: ((inserts: number, seconds: number) => void) | undefined;
  private readonly maxBatch: number;
  private queue: Pending[] = [];
  private flushing = false;
  private scheduled = false;
  private drained: Array<() => void> = [];
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
    this.onCommit = options.onCommit;
    this.onCommitted = options.onCommitted;
    this.maxBatch = Math.max(1, options.maxBatch ?? 1024);
    const b0 = backends[0];
    if (b0?.pendingFile !== undefined) this.assetFiles.setPendingSource((g, a) => b0.pendingFile!(g, a));
  }

  get stats(): StoreStats {
    const log = this.backends[0]?.logStats;
    return log === undefined ? { ...this.#counts } : { ...this.#counts, commitLog: { ...log } };
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

  // ---- inserts: group commit -------------------------------------------------------------------------------

  insertTransaction(tx: InsertInput, options?: InsertOptions): Promise<InsertResult> {
    try {
      this.check();
      const record = asRecord(tx);
      return new Promise<InsertResult>((resolve, reject) => {
        this.queue.push({ record, options, resolve, reject });
        this.schedule();
      });
    } catch (e) {
      return Promise.reject(e);
    }
  }

  private schedule(): void {
    if (this.flushing || this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  /** Drain the queue: each round takes everything queued so far into one database transaction per DB. */
  private async flush(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.length <= this.maxBatch ? this.queue : this.queue.slice(0, this.maxBatch);
        this.queue = this.queue.length <= this.maxBatch ? [] : this.queue.slice(this.maxBatch);
        this.onCommit?.(batch.length);
        const started = performance.now();
        await this.commitBatch(batch);
        this.onCommitted?.(batch.length, (performance.now() - started) / 1000);
      }
    } finally {
      this.flushing = false;
      const waiters = this.drained;
      this.drained = [];
      for (const w of waiters) w();
    }
  }

  private async commitBatch(batch: Pending[]): Promise<void> {
    this.#counts.batches++; // counts attempts, including a failed batch retried one by one
    this.#counts.inserts += batch.length;
    if (batch.length > this.#counts.maxBatch) this.#counts.maxBatch = batch.length;
    // The SQLite commit log takes the asset files into its records (durable with the rows, written to their place
    // before the rows are applied). Otherwise they are written first (each atomically and fsynced): a crash between
    // the two steps then leaves an unreferenced file at worst, never a stored transaction without its file.
    const logged = this.backends.length === 1 && this.backends[0]!.takesAssetFiles === true;
    const refused = new Set<Pending>();
    // a lone insert into the commit log has its signatures checked while its record is made durable; every other
    // insert that left the check to the store has it now, before anything of it is written. One with asset files is
    // checked first too: a forged insert must be refused as forged even when its file slot is taken (the conflict
    // check comes before the log)
    const alone = batch.length === 1 && this.queue.length === 0;
    const lone = batch[0]!;
    const loneCheck = logged && alone ? lone.options?.verifySignatures : undefined;
    const speculate = loneCheck !== undefined && !(lone.options?.assetFiles !== undefined && filesOf(lone.record, lone.options.assetFiles).length > 0) ? loneCheck : undefined;
    if (speculate === undefined && batch.some((p) => p.options?.verifySignatures !== undefined)) {
      const verdicts = await Promise.all(batch.map((p) => checkSignatures(p.options?.verifySignatures)));
      batch.forEach((p, i) => {
        if (verdicts[i]) return;
        refused.add(p);
        p.reject(new StorageError("SIGNATURE_INVALID", "a signature of the transaction does not verify"));
      });
      if (refused.size > 0) {
        batch = batch.filter((p) => !refused.has(p));
        if (batch.length === 0) return;
      }
    }
    if (logged) {
      if (!this.useExternalStorage) await this.refuseConflicts(batch, refused);
    } else if (!this.useExternalStorage) {
      await Promise.all(
        batch.map(async (p) => {
          if (!p.options?.assetFiles) return;
          const refuse = p.options.assetConflict === "refuse";
          try {
            await this.storeAssetFiles(p.record, p.options.assetFiles, refuse);
          } catch (e) {
            if (refuse && e instanceof StorageError && e.code === "ASSET_CONFLICT") {
              refused.add(p);
              p.reject(e);
              return;
            }
            // v1.1.1 ignores asset file write errors; the rows are committed all the same.
            this.log.error({ err: e, transactionId: toHex(p.record.transactionId) }, "asset file write failed");
          }
        }),
      );
    }
    if (refused.size > 0) {
      batch = batch.filter((p) => !refused.has(p));
      if (batch.length === 0) return;
    }
    const records = batch.map((p) => p.record);
    const files: LoggedFile[][] = logged && !this.useExternalStorage ? batch.map((p) => filesOf(p.record, p.options?.assetFiles)) : [];
    const results = await Promise.allSettled(this.backends.map((b) => (logged ? b.insertBatch(records, files, alone, speculate) : b.insertBatch(records))));
    const ok = results.filter((r): r is PromiseFulfilledResult<boolean[]> => r.status === "fulfilled");
    results.forEach((r, i) => {
      // a refused signature is the insert's outcome, not a database failure
      if (r.status === "rejected" && !isStorageError(r.reason, "SIGNATURE_INVALID")) this.log.error({ err: r.reason, dbNum: i }, "ledger insert failed in one database");
    });
    if (ok.length === 0 && batch.length > 1) {
      // one bad insert must not fail the others that shared its transaction: retry them one by one
      for (const p of batch) await this.commitBatch([p]);
      return;
    }
    if (ok.length === 0) {
      const first = (results[0] as PromiseRejectedResult).reason;
      const err = first instanceof StorageError ? first : new StorageError("DB_ERROR", String(first), { cause: first });
      for (const p of batch) p.reject(err);
      return;
    }
    batch.forEach((p, i) => {
      const insertedInto: number[] = [];
      results.forEach((r, dbNum) => {
        if (r.status === "fulfilled" && r.value[i]) insertedInto.push(dbNum);
      });
      const rec = p.record;
      p.resolve({ inserted: insertedInto.length > 0, transactionId: rec.transactionId, assetGroupIds: distinctGroups(rec), insertedInto });
    });
  }

  /**
   * Commit log: an insert with `assetConflict: "refuse"` whose file slot already holds other content (on disk, in a
   * pending record, or earlier in this batch) is rejected with ASSET_CONFLICT before anything is logged.
   */
  private async refuseConflicts(batch: Pending[], refused: Set<Pending>): Promise<void> {
    const inBatch = new Map<string, Uint8Array>();
    for (const p of batch) {
      const files = filesOf(p.record, p.options?.assetFiles);
      if (p.options?.assetConflict === "refuse") {
        for (const f of files) {
          const k = `${toHex(f.assetGroupId)}/${toHex(f.assetId)}`;
          const have = inBatch.get(k) ?? (await this.assetFiles.read(f.assetGroupId, f.assetId).catch(() => null));
          if (have !== null && have !== undefined && Buffer.compare(Buffer.from(have), Buffer.from(f.content)) !== 0) {
            refused.add(p);
            p.reject(new StorageError("ASSET_CONFLICT", `asset file ${k} already holds other content`, { details: { assetGroupId: toHex(f.assetGroupId), assetId: toHex(f.assetId) } }));
            break;
          }
        }
        if (refused.has(p)) continue;
      }
      for (const f of files) {
        const k = `${toHex(f.assetGroupId)}/${toHex(f.assetId)}`;
        if (!inBatch.has(k)) inBatch.set(k, f.content);
      }
    }
  }

  private async storeAssetFiles(rec: LedgerRecord, files: Map<string, Uint8Array> | Record<string, Uint8Array>, refuseConflict: boolean): Promise<void> {
    const get = (k: string) => (files instanceof Map ? files.get(k) : Object.prototype.hasOwnProperty.call(files, k) ? files[k] : undefined);
    for (const a of rec.assets) {
      if (!a.assetId || !a.assetGroupId) continue;
      const content = get(toHex(a.assetId));
      if (content instanceof Uint8Array) await this.assetFiles.write(a.assetGroupId, a.assetId, content, { conflict: refuseConflict ? "error" : "keep" });
    }
  }

  private whenDrained(): Promise<void> {
    if (!this.flushing && !this.scheduled && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.drained.push(resolve);
      this.schedule();
    });
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
    const maxTraverse = options.maxTraverse ?? DEFAULT_MAX_TRAVERSE;
    const toPast = (options.direction ?? 1) === 1;
    let hopCount = options.hopCount ?? 3;
    if (hopCount > maxTraverse * 2) hopCount = maxTraverse * 2;
    const visited = new Set<string>();
    let counted = 0;
    let current: Uint8Array[] = [transactionId];
    const tree: StoredTransaction[][] = [];
    let allIncluded = true;
    for (let hop = 0; hop < hopCount; hop++) {
      if (counted + current.length > maxTraverse) {
        allIncluded = false;
        break;
      }
      const level: StoredTransaction[] = [];
      const next: Uint8Array[] = [];
      for (const id of current) {
        const key = toHex(id);
        if (visited.has(key)) continue;
        counted++;
        visited.add(key);
        let stored: StoredTransaction | null;
        try {
          stored = await this.getTransaction(id);
        } catch (e) {
          if (e instanceof StorageError && e.code === "CORRUPT_ROW") {
            this.log.warn({ transactionId: key }, "traverse skips a corrupt row");
            continue;
          }
          throw e;
        }
        if (!stored) continue;
        if (options.assetGroupId || options.userId) {
          let match = false;
          try {
            for (const a of assetInfoOf(deserialize(stored.data))) {
              const g = !options.assetGroupId || (a.assetGroupId !== null && bytesEqual(a.assetGroupId, options.assetGroupId));
              const u = !options.userId || (a.userId !== null && bytesEqual(a.userId, options.userId));
              if (g && u) {
                match = true;
                break;
              }
            }
          } catch {
            match = false; // undecodable data cannot match a filter
          }
          if (!match) continue;
        }
        level.push(stored);
        for (const edge of await this.getTopology(id, toPast)) {
          const n = toPast ? edge.pointTo : edge.base;
          if (!visited.has(toHex(n))) next.push(n);
        }
      }
      if (level.length > 0) tree.push(level);
      current = next;
    }
    return { allIncluded, tree };
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

/** The asset files of a record that came with its insert (one per asset id). */
function filesOf(rec: LedgerRecord, files: Map<string, Uint8Array> | Record<string, Uint8Array> | undefined): LoggedFile[] {
  if (!files) return [];
  const get = (k: string) => (files instanceof Map ? files.get(k) : Object.prototype.hasOwnProperty.call(files, k) ? files[k] : undefined);
  const out: LoggedFile[] = [];
  const seen = new Set<string>();
  for (const a of rec.assets) {
    if (!a.assetId || !a.assetGroupId || a.assetId.length === 0 || a.assetGroupId.length === 0) continue;
    const k = toHex(a.assetId);
    const content = get(k);
    if (!(content instanceof Uint8Array) || seen.has(k)) continue;
    seen.add(k);
    out.push({ assetGroupId: a.assetGroupId, assetId: a.assetId, content });
  }
  return out;
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

function distinctGroups(rec: LedgerRecord): Uint8Array[] {
  const seen = new Map<string, Uint8Array>();
  for (const a of rec.assets) if (a.assetGroupId) seen.set(toHex(a.assetGroupId), a.assetGroupId);
  return [...seen.values()];
}
