/**
 * The settings and counters of a SQLite ledger behind a commit log (`logged-sqlite.ts`).
 * @module
 */

/** Commit-log settings of a SQLite ledger (`OpenLedgerStoreOptions.commitLog`, or `db.commit_log` in the config). */
export interface CommitLogSettings {
  /** False: every insert batch is its own SQLite commit with synchronous=FULL (the design without a log). */
  enabled?: boolean;
  /** Largest segment file (default 32 MiB). */
  segmentBytes?: number;
  /** How often applied records are made durable outside the log so that its segments can go (default 1000 ms). */
  syncIntervalMs?: number;
  /** Inserts waiting to be applied beyond which new inserts wait (default 20000). */
  maxPending?: number;
  /**
   * True: apply on a worker thread with its own SQLite connection (where the package runs as JavaScript). Default
   * false. Measured on a 2-core machine (2026-12-03, quiet): the thread gave a median +15 % inserts/s with 16 and 64
   * clients (the apply no longer holds the event loop) and the same sequential rate, but its connection, cache and
   * heap cost 40–90 MB of RSS at 1,000,000 transactions (209–273 MB against 160–181 MB), over the 200 MB budget.
   */
  applyThread?: boolean;
  /** Where the log's fdatasync runs (see {@link CommitLogOptions.fdatasync}). */
  fdatasync?: "auto" | "pool" | "inline";
  /**
   * Wait this long after a batch arrives before applying (default 50; it was 5, and 50 measured 12–30 % less node CPU
   * per insert in the e2e bench, sequential and 16 clients): fewer, larger SQLite transactions (less CPU
   * per insert) for records that stay in the overlay a little longer (reads see them there).
   */
  applyDelayMs?: number;
}

/** Counters of a logged ledger (part of `LedgerStore.stats`). */
export interface CommitLogStats {
  /** fdatasync calls on the log. */
  logSyncs: number;
  /** Of which on the inserting thread (a lone insert with `fdatasync` "auto", or every one with "inline"). */
  inlineSyncs: number;
  /** SQLite transactions that applied log records, and the records they applied. */
  applyTransactions: number;
  appliedRecords: number;
  /** Records durable but not yet in the tables. */
  pending: number;
  /** Sync points taken. */
  syncPoints: number;
  /** Records replayed from the log when the ledger was opened. */
  recovered: number;
  /** True when records are applied on a worker thread. */
  applyThread: boolean;
}
