/**
 * A SQLite ledger behind a commit log (see the storage README, "Durable inserts"):
 *
 * 1. an insert batch is checked for duplicates (pending records, then the tables), appended to the log with one
 *    write and made durable with one fdatasync: that is its commit;
 * 2. the batch then enters the overlay (reads see it from now on) and the insert promises resolve;
 * 3. the apply step (`apply-thread.ts`: on the main thread every `applyDelayMs`, or on a worker thread) puts the
 *    records into the tables with `synchronous=NORMAL`, batching whatever has arrived, and reports the applied
 *    lsn: the overlay forgets them;
 * 4. every `syncIntervalMs` a sync point makes the applied rows and their asset files durable on their own; log
 *    segments below it are deleted.
 *
 * Opening the ledger recovers: the log's records above the tables' `applied_lsn` are applied (asset files first),
 * a sync point is taken, and a new segment is started. Only the process holding the log's lock does this; a second
 * process that opens the same ledger (a CLI while the node runs) commits directly to SQLite with
 * `synchronous=FULL`, as without a log.
 * @internal
 * @module
 */
import { existsSync } from "node:fs";
import type { ExecOp } from "./applier.js";
import { startApplier, type ApplyHost } from "./apply-thread.js";
import { checkSignatures, dbError, type DbBackend, type RawSearchRow, type RawTxRow } from "./backend.js";
import { FRAME, acquireLogLock, releaseLogLock, type CommitLog } from "./commit-log.js";
import { StorageError } from "./errors.js";
import { encodeInsert, insertSize, type LoggedFile, type LoggedInsert } from "./log-codec.js";
import { recoverLog } from "./log-recovery.js";
import { countMerged, searchMerged, topologyMerged } from "./overlay-reads.js";
import { Overlay, idKey } from "./overlay.js";
import type { CommitLogSettings, CommitLogStats } from "./log-settings.js";
import { openSqliteBackend, type SqliteBackend, type SqliteMemory } from "./sqlite.js";
import type { IntegrityReport, LedgerRecord, SearchConditions, StorageLogger } from "./types.js";

/** Opens a SQLite ledger, behind a commit log unless disabled or owned by another process. */
export async function openSqliteLedger(
  file: string,
  dbNum: number,
  args: { storageRoot: string; external: boolean; logger: StorageLogger; settings?: CommitLogSettings; memory?: SqliteMemory },
): Promise<DbBackend> {
  const sqlite = await openSqliteBackend(file, dbNum, args.memory);
  const settings = args.settings ?? {};
  if (settings.enabled === false) return sqlite;
  const dir = `${file}.commit-log`;
  let lock;
  try {
    lock = acquireLogLock(dir);
  } catch (e) {
    await sqlite.close();
    throw e;
  }
  if (lock === undefined) {
    args.logger.info({ file }, "the ledger's commit log belongs to another process: committing directly to SQLite");
    return sqlite;
  }
  try {
    const { log, appliedLsn, replayed } = recoverLog(sqlite.db, file, dir, args, settings);
    sqlite.db.pragma("synchronous = FULL");
    const backend = new LoggedSqliteBackend(sqlite, log, lock, appliedLsn, replayed, args, settings);
    await backend.start();
    return backend;
  } catch (e) {
    releaseLogLock(lock);
    await sqlite.close();
    throw e;
  }
}

/**
 * Applies what the commit log of `file` holds beyond its tables, when no process owns the log (a node that was
 * killed and not restarted). Resolves true when it did, false when a running process owns the log (its tables then
 * trail its acknowledgements by the records not yet applied) or there is no log.
 */
export async function recoverSqliteLedger(file: string, args: { storageRoot: string; external?: boolean; logger?: StorageLogger }): Promise<boolean> {
  if (!existsSync(`${file}.commit-log`)) return false;
  const silent: StorageLogger = { debug() {}, info() {}, warn() {}, error() {} };
  const b = await openSqliteLedger(file, 0, { storageRoot: args.storageRoot, external: args.external ?? false, logger: args.logger ?? silent, settings: { applyThread: false } });
  const owned = b instanceof LoggedSqliteBackend;
  await b.close();
  return owned;
}

class LoggedSqliteBackend implements DbBackend {
  readonly dbNum: number;
  readonly dialect = "sqlite" as const;
  readonly takesAssetFiles = true;
  readonly #sqlite: SqliteBackend;
  readonly #log: CommitLog;
  readonly #lock: ReturnType<typeof acquireLogLock>;
  readonly #overlay = new Overlay();
  readonly #args: { storageRoot: string; external: boolean; logger: StorageLogger };
  readonly #settings: CommitLogSettings;
  readonly #maxPending: number;
  #host!: ApplyHost;
  #applied: number;
  #logged: number;
  #waiters: Array<{ lsn: number; resolve: () => void }> = [];
  #timer: NodeJS.Timeout | undefined;
  #syncing: Promise<void> | undefined;
  #failed: StorageError | undefined;
  #closed = false;
  /**
   * The newest logged record is a refused unverified one. Its segment can go only once an applied record follows it
   * (the tables' applied_lsn must pass it), so until then a signature check is never overlapped again: a flood of
   * forged lone inserts logs one record, not one per insert.
   */
  #refusedPending = false;
  readonly logStats: CommitLogStats;

  constructor(
    sqlite: SqliteBackend,
    log: CommitLog,
    lock: ReturnType<typeof acquireLogLock>,
    applied: number,
    recovered: number,
    args: { storageRoot: string; external: boolean; logger: StorageLogger },
    settings: CommitLogSettings,
  ) {
    this.#sqlite = sqlite;
    this.dbNum = sqlite.dbNum;
    this.#log = log;
    this.#lock = lock;
    this.#applied = applied;
    this.#logged = applied;
    this.#args = args;
    this.#settings = settings;
    this.#maxPending = Math.max(1, settings.maxPending ?? 20_000);
    this.logStats = { logSyncs: 0, inlineSyncs: 0, applyTransactions: 0, appliedRecords: 0, pending: 0, syncPoints: 0, recovered, applyThread: false };
  }

  get kysely() {
    return this.#sqlite.kysely;
  }

  async start(): Promise<void> {
    this.#host = await this.#startHost(this.#settings.applyThread === true);
    this.logStats.applyThread = this.#host.threaded;
    const every = Math.max(10, this.#settings.syncIntervalMs ?? 1000);
    this.#timer = setInterval(() => void this.#syncPoint(), every);
    this.#timer.unref();
  }

  #startHost(thread: boolean): Promise<ApplyHost> {
    const db = this.#sqlite.db;
    return startApplier({
      file: db.name,
      mainDb: db,
      opts: { storageRoot: this.#args.storageRoot, external: this.#args.external },
      thread,
      delayMs: this.#settings.applyDelayMs ?? 50,
      events: {
        onApplied: (lsn) => this.#onApplied(lsn),
        onError: (message) => this.#args.logger.error({ err: message }, "applying the commit log to SQLite failed; retrying"),
        onLost: (message) => void this.#fallBack(message),
      },
    });
  }

  /** The apply thread died: apply on this thread from here, starting again with everything still pending. */
  async #fallBack(message: string): Promise<void> {
    this.#args.logger.error({ err: message }, "the commit log's apply thread died; applying on the main thread");
    const host = await this.#startHost(false);
    this.#host = host;
    this.logStats.applyThread = false;
    const pending = this.#overlay.all();
    if (pending.length > 0) host.post(pending, new Uint8Array(0));
  }

  #onApplied(lsn: number): void {
    if (lsn <= this.#applied) return;
    this.#applied = lsn;
    this.#overlay.dropUpTo(lsn);
    const c = this.#host.counts;
    this.logStats.applyTransactions = c.transactions;
    this.logStats.appliedRecords = c.records;
    this.logStats.pending = this.#overlay.size;
    if (this.#waiters.length > 0) {
      const keep: Array<{ lsn: number; resolve: () => void }> = [];
      for (const w of this.#waiters) (w.lsn <= lsn ? w.resolve() : keep.push(w));
      this.#waiters = keep;
    }
  }

  #until(lsn: number): Promise<void> {
    if (this.#applied >= lsn) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ lsn, resolve }));
  }

  /** Resolves once every record logged so far is in the tables. */
  settle(): Promise<void> {
    return this.#until(this.#logged);
  }

  /** An asset file of a pending record (not yet on disk), if any. */
  pendingFile(assetGroupId: Uint8Array, assetId: Uint8Array): Uint8Array | undefined {
    return this.#overlay.file(assetGroupId, assetId);
  }

  async #syncPoint(): Promise<void> {
    if (this.#syncing !== undefined || this.#closed || this.#applied <= 0) return;
    this.#syncing = (async () => {
      try {
        const synced = await this.#host.sync();
        this.logStats.syncPoints++;
        this.#log.release(synced);
      } catch (e) {
        this.#args.logger.warn({ err: e }, "commit log sync point failed; retried later");
      }
    })().finally(() => (this.#syncing = undefined));
    await this.#syncing;
  }

  /**
   * `verify` (one record only): its signature check, started before the log's write and fdatasync so that a check
   * running on another thread (a promise) overlaps them; a synchronous one simply runs first. The record is logged
   * as unverified, and stored (overlay, tables) only if `verify` says yes (a throw or rejection is a no), else this
   * rejects with SIGNATURE_INVALID. A duplicate is checked too, so that a forged copy of a stored transaction is
   * refused as forged (the verdict order of verifying first).
   */
  async insertBatch(records: LedgerRecord[], files: LoggedFile[][] = [], alone = false, verify?: () => boolean | Promise<boolean>): Promise<boolean[]> {
    if (verify !== undefined && records.length !== 1) throw new StorageError("BAD_ARGUMENT", "a speculative signature check takes one record");
    if (this.#failed) throw this.#failed;
    if (this.#overlay.size >= this.#maxPending) await this.#until(this.#logged - this.#maxPending / 2);
    const out = new Array<boolean>(records.length).fill(false);
    const fresh: number[] = [];
    const seen = new Set<string>();
    let total = 0;
    const sizes: number[] = [];
    try {
      for (let i = 0; i < records.length; i++) {
        const r = records[i]!;
        const k = idKey(r.transactionId);
        if (seen.has(k) || this.#overlay.hasKey(k) || this.#sqlite.hasTransactionSync(r.transactionId)) continue;
        seen.add(k);
        fresh.push(i);
        const n = insertSize(r, files[i] ?? []);
        sizes.push(n);
        total += FRAME + n;
      }
    } catch (cause) {
      throw dbError("SQLite read failed", cause);
    }
    // checked first (nothing logged when it fails): a duplicate, or while a refused record waits to be passed
    if (verify !== undefined && (fresh.length === 0 || this.#refusedPending)) {
      if (!(await checkSignatures(verify))) throw new StorageError("SIGNATURE_INVALID", "a signature of the transaction does not verify");
      verify = undefined;
    }
    if (fresh.length === 0) return out;
    // one allocation of its own per batch: it is handed to the apply thread afterwards without a copy
    const buf = new Uint8Array(total);
    const view = new DataView(buf.buffer);
    let off = 0;
    fresh.forEach((i, k) => {
      const end = encodeInsert(buf, view, off + FRAME, records[i]!, files[i] ?? [], verify !== undefined);
      if (end !== off + FRAME + sizes[k]!) throw new StorageError("DB_ERROR", "commit log record size mismatch");
      off = end;
    });
    let first: number;
    let valid = true;
    // a check on another thread starts first and runs during the write and fdatasync (it never rejects)
    const started = verify === undefined ? undefined : checkSignatures(verify);
    try {
      first = this.#log.append(buf, sizes);
      if (verify === undefined) await this.#log.sync(alone && fresh.length === 1, fresh.length);
      else {
        await this.#log.sync(alone, fresh.length);
        valid = await started!;
      }
    } catch (e) {
      // the log's state after a failed write or fdatasync is unknown: refuse further inserts until reopened
      this.#failed = e instanceof StorageError ? e : new StorageError("IO_ERROR", `commit log write failed: ${(e as Error).message}`, { cause: e });
      this.#args.logger.error({ err: e }, "commit log write failed; inserts are refused until the ledger is reopened");
      throw this.#failed;
    }
    this.logStats.logSyncs = this.#log.syncs;
    this.logStats.inlineSyncs = this.#log.inlineSyncs;
    // refused: durable in the log as unverified, so recovery checks it again and leaves it out; nothing else sees it
    if (!valid) {
      this.#refusedPending = true;
      throw new StorageError("SIGNATURE_INVALID", "a signature of the transaction does not verify");
    }
    this.#refusedPending = false;
    const items: LoggedInsert[] = fresh.map((i, k) => ({ lsn: first + k, record: records[i]!, files: files[i] ?? [] }));
    this.#overlay.add(items);
    this.#logged = first + fresh.length - 1;
    this.logStats.pending = this.#overlay.size;
    this.#host.post(items, buf);
    for (const i of fresh) out[i] = true;
    return out;
  }

  async getTransaction(transactionId: Uint8Array): Promise<RawTxRow | undefined> {
    const p = this.#overlay.get(transactionId);
    if (p !== undefined) return { transaction_id: p.record.transactionId, transaction_data: p.record.data };
    try {
      return this.#sqlite.getTransactionSync(transactionId);
    } catch (cause) {
      throw dbError("SQLite read failed", cause);
    }
  }

  getTransactionSync(transactionId: Uint8Array): RawTxRow | undefined {
    const p = this.#overlay.get(transactionId);
    if (p !== undefined) return { transaction_id: p.record.transactionId, transaction_data: p.record.data };
    return this.#sqlite.getTransactionSync(transactionId);
  }

  async searchAssetRows(c: SearchConditions, ascending: boolean, limit: number): Promise<RawSearchRow[]> {
    try {
      return searchMerged(this.#sqlite, this.#overlay, c, ascending, limit);
    } catch (cause) {
      throw dbError("SQLite search failed", cause);
    }
  }

  async count(c: SearchConditions): Promise<number> {
    try {
      return countMerged(this.#sqlite, this.#overlay, c);
    } catch (cause) {
      throw dbError("SQLite count failed", cause);
    }
  }

  async topology(transactionId: Uint8Array, toPast: boolean): Promise<Array<{ id: unknown; base: unknown; point_to: unknown }>> {
    try {
      return topologyMerged(this.#sqlite, this.#overlay, transactionId, toPast);
    } catch (cause) {
      throw dbError("SQLite topology read failed", cause);
    }
  }

  async #exec(op: ExecOp): Promise<boolean> {
    if (this.#closed) throw new StorageError("CLOSED", "the ledger store is closed");
    await this.settle();
    try {
      return await this.#host.exec(op);
    } catch (cause) {
      throw dbError(`SQLite ${op.op} failed`, cause);
    }
  }

  async insertCrossRef(transactionId: Uint8Array, outerDomainId: Uint8Array, txidHavingCrossRef: Uint8Array): Promise<void> {
    await this.#exec({ op: "crossRef", transactionId, outerDomainId, txidHavingCrossRef });
  }

  searchCrossRefs(transactionId: Uint8Array | undefined) {
    return this.#sqlite.searchCrossRefs(transactionId);
  }

  countCrossRefsByDomain(outerDomainId: Uint8Array): Promise<number> {
    return this.#sqlite.countCrossRefsByDomain(outerDomainId);
  }

  removeTransaction(transactionId: Uint8Array, pointTo: Uint8Array[] | null): Promise<boolean> {
    return this.#exec({ op: "remove", transactionId, pointTo });
  }

  /** One SQLite commit (synchronous=FULL) outside the log, after every logged record is in the tables. */
  replaceTransaction(record: LedgerRecord): Promise<boolean> {
    return this.#exec({ op: "replace", record });
  }

  async integrity(): Promise<IntegrityReport> {
    await this.settle();
    return this.#sqlite.integrity();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    await this.#syncing;
    let synced: number | undefined;
    try {
      // the applier applies what is left, takes a last sync point and closes its connection
      synced = await withTimeout(this.#host.close(), 60_000, "the applier did not finish within 60 s");
    } catch (e) {
      this.#args.logger.error({ err: e }, "closing the commit log's applier failed; the log is replayed at the next open");
    }
    try {
      await this.#log.close(synced);
    } finally {
      if (this.#lock) releaseLogLock(this.#lock);
      await this.#sqlite.close();
    }
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<T>((_, rej) => (t = setTimeout(() => rej(new StorageError("IO_ERROR", what)), ms)))]).finally(() => clearTimeout(t));
}

export type { LoggedSqliteBackend };
