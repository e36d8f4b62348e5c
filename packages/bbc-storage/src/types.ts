/**
 * Public types of `@bbc1/storage`: the ledger store interface, its records and its configuration.
 *
 * Semantics follow bbc1 v1.1.1 `bbc1/core/data_handler.py` (see client-protocol.md §8.2–§8.5, §9).
 * @module
 */
import type { BBcTransaction } from "@bbc1/bbclib";
import type { StorageError } from "./errors.js";
import type { AssetFileStore } from "./asset-files.js";
import type { CommitLogSettings, CommitLogStats } from "./log-settings.js";

/** Back ends. `"sqlite"` is the embedded default (one file per domain), the others are servers. */
export type DbType = "sqlite" | "postgres" | "mysql";

/**
 * v1.1.1 `db.replication_strategy`: `"all"` (broadcast inserts to the domain's neighbours),
 * `"p2p"` (no replication; reserved in v1.1.1), anything else = `"external"` (no replication, no peer repair).
 */
export type ReplicationStrategy = "all" | "p2p" | "external";

/** Numeric values of v1.1.1 `DataHandler.REPLICATION_*`. */
export const ReplicationCode = Object.freeze({ all: 0, p2p: 1, external: 2 } as const);

/**
 * One database server entry of `db.db_servers` (v1.1.1 keys, plus TypeScript extensions).
 * Each entry is one database; the entry's position in the list is its `db_num`.
 */
export interface DbServerConfig {
  /** Host (v1.1.1 default "127.0.0.1"). */
  db_addr?: string;
  /** Port (v1.1.1 default 3306 for MySQL; 5432 is used for PostgreSQL when absent). */
  db_port?: number;
  /** User (v1.1.1 code default "user"). */
  db_user?: string;
  /** Password (v1.1.1 code default "password"). */
  db_pass?: string;
  /**
   * TS extension: a connection string (`postgres://user@host:5432/db`, `mysql://user:pw@host:3306/db`).
   * When set it replaces db_addr/db_port/db_user/db_pass, and its path names the database (db_name is then ignored).
   */
  db_url?: string;
  /** TS extension, PostgreSQL only: schema that holds the tables (created when missing; default "public"). */
  db_schema?: string;
}

/** The `db` section of a domain's config (v1.1.1 `domain_default.db`). */
export interface DbConfig {
  /** "sqlite" (default), "mysql", or (TS extension) "postgres" / "postgresql". */
  db_type?: string;
  /**
   * SQLite: file name under the domain's storage root (default "bbc1_db.sqlite" when the key is missing, as
   * v1.1.1's code; the default config.json says "bbc_ledger.sqlite"). MySQL/PostgreSQL: database name when the
   * server entry has no `db_url` (created when missing).
   */
  db_name?: string;
  /** "all" (default), "p2p", anything else = external. See {@link ReplicationStrategy}. */
  replication_strategy?: string;
  /** MySQL/PostgreSQL: one database per entry (db_num = index). Ignored for SQLite (always exactly one DB). */
  db_servers?: DbServerConfig[];
  /**
   * TS extension, SQLite only: the commit log in front of the tables (README, "Durable inserts"). `true` (default),
   * `false` (every insert batch commits to SQLite with synchronous=FULL), or settings:
   * `{ "segment_bytes": 33554432, "sync_interval_ms": 1000, "max_pending": 20000, "apply_thread": true }`.
   */
  /** TS extension, SQLite: page cache of the ledger's connection in MiB (default 32). */
  sqlite_cache_mb?: number;
  /** TS extension, SQLite: MiB of the file read through mmap (default 0: mmap grows the RSS on random reads). */
  sqlite_mmap_mb?: number;
  commit_log?: boolean | { segment_bytes?: number; sync_interval_ms?: number; max_pending?: number; apply_delay_ms?: number; apply_thread?: boolean; fdatasync?: "auto" | "pool" | "inline" };
}

/** The `storage` section of a domain's config (v1.1.1 `domain_default.storage`). */
export interface StorageSectionConfig {
  /** "internal" (default) or "external" (asset files are neither written nor repaired by the node). */
  type?: string;
  /** Absolute directory under which `<domain_id hex>/` is used instead of the working directory. */
  root?: string;
}

/** A domain's config section as in v1.1.1 `config.json` (`domains[<hex>]`); only the storage-related keys are read. */
export interface DomainStorageConfig {
  storage?: StorageSectionConfig;
  db?: DbConfig;
  [key: string]: unknown;
}

/** Minimal structural logger (pino-compatible). Inject `pino()` or a child logger. */
export interface StorageLogger {
  debug(obj: unknown, msg?: string): void;
  info(obj: unknown, msg?: string): void;
  warn(obj: unknown, msg?: string): void;
  error(obj: unknown, msg?: string): void;
}

/** Options of {@link openLedgerStore}. */
export interface OpenLedgerStoreOptions {
  /** The domain (32 bytes, or 64 hex digits). */
  domainId: Uint8Array | string;
  /** The node's working directory (v1.1.1 `config.workingdir`, default ".bbc1"). */
  workingDir: string;
  /** The domain's config section (`config.domains[<hex>]`); defaults to v1.1.1 `domain_default`. */
  config?: DomainStorageConfig;
  /** `search_config.max_count` (default 30): upper bound for the `count` of condition searches. */
  searchMaxCount?: number;
  /** Called with the number of inserts of each group commit as it starts (metrics of commit sizes). */
  onCommit?: (inserts: number) => void;
  /**
   * Called once each group commit is durable (or refused), with its inserts and the seconds it took from its start:
   * the commit log's append and fdatasync, or the database's own commit (metrics of commit latency).
   */
  onCommitted?: (inserts: number, seconds: number) => void;
  /** Injected logger (pino-compatible); silent when absent. */
  logger?: StorageLogger;
  /** Group commit tuning: maximum inserts per database transaction (default 1024). */
  maxBatch?: number;
  /** SQLite: commit-log settings over the config's `db.commit_log` (see {@link CommitLogSettings}). */
  commitLog?: CommitLogSettings;
}

/** Settings of a SQLite ledger's commit log. */
export type { CommitLogSettings, CommitLogStats } from "./log-settings.js";

/** Group commit counters of a store ({@link LedgerStore.stats}). */
export interface StoreStats {
  /** Durable commits run (a database transaction each; with the SQLite commit log, one log fdatasync each). */
  batches: number;
  /** Inserts those commits carried (duplicates included). */
  inserts: number;
  /** Largest commit so far. */
  maxBatch: number;
  /** SQLite with a commit log: its counters (apply transactions, pending records, sync points). */
  commitLog?: CommitLogStats;
}

/** One asset index row as extracted from a transaction (v1.1.1 `DataHandler.get_asset_info`). */
export interface AssetInfo {
  /** asset_group_id of the event / relation that carries the asset. */
  assetGroupId: Uint8Array | null;
  assetId: Uint8Array | null;
  /** The asset's owner (`asset.user_id`). */
  userId: Uint8Array | null;
  /** `asset.asset_file_size` (0 when the asset has no file). */
  assetFileSize: number;
  /** `asset.asset_file_digest` (SHA-256 of the file) or null. */
  assetFileDigest: Uint8Array | null;
}

/**
 * Everything the store writes for one transaction: the key, the exact serialized bytes, the asset rows (events
 * first, then relations, in order) and the topology edges (references first, then every relation's pointers).
 * Build it with {@link toLedgerRecord} or pass a `BBcTransaction` directly.
 */
export interface LedgerRecord {
  transactionId: Uint8Array;
  /** The serialized transaction, stored byte for byte. */
  data: Uint8Array;
  assets: AssetInfo[];
  /** `point_to` transaction ids of the edges (base is `transactionId`), duplicates kept. */
  pointTo: Uint8Array[];
}

/** What {@link LedgerStore.insertTransaction} accepts. A `BBcTransaction` must carry `transactionData` or be serializable. */
export type InsertInput = BBcTransaction | LedgerRecord;

/** Options of {@link LedgerStore.insertTransaction}. */
export interface InsertOptions {
  /**
   * Asset files, made durable before the rows are committed (v1.1.1 wrote them after, so a crash could leave a stored
   * transaction without its file): asset_id (hex, lowercase) → content. Only files of assets that are in the
   * transaction are stored; an existing file is kept (v1.1.1). Ignored for `storage.type` "external".
   */
  assetFiles?: Map<string, Uint8Array> | Record<string, Uint8Array>;
  /**
   * What an asset file slot that already holds *different* content does: `"keep"` (default, v1.1.1) keeps it and
   * commits the rows anyway; `"refuse"` rejects this insert with `ASSET_CONFLICT` and writes none of its rows (the
   * other inserts of the same group commit are unaffected). An identical existing file is fine either way.
   */
  assetConflict?: "keep" | "refuse";
  /**
   * The signature check of this insert, left to the store so that it can run while the record is being made durable
   * (a lone insert into a SQLite ledger with its commit log: the record is logged as *unverified* and the check is
   * started before the log's fdatasync, so that a check that runs on another thread, as a returned promise says,
   * takes its time off the insert's latency). The insert is stored only if it gives true, else rejected with
   * `SIGNATURE_INVALID`; a throw or rejection counts as false. It must give exactly the verdict of
   * `validateTransaction(deserialize(data)).valid` of `@bbc1/bbclib` (signatures only): recovery checks an
   * unverified record it finds in the log again that way, and applies it only if it passes.
   */
  verifySignatures?: () => boolean | Promise<boolean>;
}

/** Result of an insert. */
export interface InsertResult {
  /** False when no database accepted the transaction row (duplicate transaction_id in every DB). */
  inserted: boolean;
  transactionId: Uint8Array;
  /** Distinct asset_group_ids of the transaction's asset rows (what v1.1.1 notifies about). */
  assetGroupIds: Uint8Array[];
  /** db_num of every database that accepted the row. */
  insertedInto: number[];
}

/** A stored transaction row. */
export interface StoredTransaction {
  transactionId: Uint8Array;
  /** The stored serialized bytes, exactly as inserted. */
  data: Uint8Array;
}

/** A row of the stored data that could not be read back as expected; the core may repair it. */
export interface RepairCandidate {
  /** The transaction id of the broken row (empty when the id itself is unreadable). */
  transactionId: Uint8Array;
  error: StorageError;
}

/** Conditions of a search / count (AND-joined; at least one must be given). */
export interface SearchConditions {
  assetGroupId?: Uint8Array | null;
  assetId?: Uint8Array | null;
  userId?: Uint8Array | null;
}

/** Options of a condition search. */
export interface SearchOptions extends SearchConditions {
  /** 1 = ascending (oldest indexed asset first), anything else = descending (default 0). */
  direction?: number;
  /**
   * Maximum number of asset rows (not transactions) to look at, default 1. Capped at `searchMaxCount`;
   * `count <= 0` means no limit and no cap (v1.1.1 Quirk C6).
   */
  count?: number;
  /** Database to read (default 0; an index beyond the configured DBs falls back to 0). */
  dbNum?: number;
}

/** Result of a condition search. */
export interface SearchResult {
  /** Matching transactions, de-duplicated by id keeping the first occurrence, in index order. */
  transactions: StoredTransaction[];
  /** Rows that matched but could not be read (garbage in the row); not included in `transactions`. */
  repairCandidates: RepairCandidate[];
}

/** A topology edge row: `base` points to `pointTo` (a reference or pointer in `base`). */
export interface TopologyEdge {
  id: number;
  base: Uint8Array;
  pointTo: Uint8Array;
}

/** A cross_ref_table row. */
export interface CrossRefRow {
  id: number;
  transactionId: Uint8Array;
  outerDomainId: Uint8Array;
  txidHavingCrossRef: Uint8Array;
}

/** Options of {@link LedgerStore.traverse} (v1.1.1 `BBcCoreService._traverse_transactions`, spec §8.5). */
export interface TraverseOptions {
  /** 1 = towards the past (default), anything else = towards the future. */
  direction?: number;
  /** Number of levels (default 3); capped at 2 × maxTraverse. */
  hopCount?: number;
  /** `search_config.max_traverse` (default 30). */
  maxTraverse?: number;
  assetGroupId?: Uint8Array | null;
  userId?: Uint8Array | null;
}

/** Result of a traverse. */
export interface TraverseResult {
  /** False when a level was dropped because it would exceed maxTraverse. */
  allIncluded: boolean;
  /** Levels of stored transactions; level 0 is the origin. */
  tree: StoredTransaction[][];
}

/** Integrity check outcome. */
export interface IntegrityReport {
  ok: boolean;
  /** Messages of the back end's check (SQLite: PRAGMA integrity_check), "ok" when clean. */
  messages: string[];
}

/**
 * The ledger of one domain: transactions, asset index, topology, cross_ref, on one or more databases.
 *
 * Writes go to every configured database (db_num 0..dbCount-1); reads use db 0 unless `dbNum` is given.
 * Inserts are group-committed: inserts arriving while a commit is running share the next database transaction,
 * and an insert's promise resolves only after its rows are durable (and its asset files fsynced).
 * All methods reject with {@link StorageError} on failure.
 */
export interface LedgerStore {
  readonly dbType: DbType;
  /** Number of databases (v1.1.1 `len(db_adaptors)`). */
  readonly dbCount: number;
  readonly replicationStrategy: ReplicationStrategy;
  /** True when `storage.type` is "external": asset files are not written by the node. */
  readonly useExternalStorage: boolean;
  readonly domainId: Uint8Array;
  /** Per-domain storage directory (`<root or workingDir>/<domain hex>`). */
  readonly storageRoot: string;
  /** Asset files of this domain. */
  readonly assetFiles: AssetFileStore;
  /** `search_config.max_count` used to cap condition searches. */
  readonly searchMaxCount: number;
  /**
   * Whole-table access to database `dbNum` (default 0): ordered scans, raw row copies, counts and
   * digests, for export, migration and verification (see {@link LedgerTables}). Valid until `close`.
   */
  tables(dbNum?: number): import("./tables.js").LedgerTables;
  /** Group commit counters: durable commits run (`batches`) and inserts they carried (`inserts`). */
  readonly stats: Readonly<StoreStats>;

  /**
   * Resolves once every insert acknowledged so far is also in the database's tables. With SQLite's commit log the
   * tables are filled just behind the acknowledgements (reads through the store see every acknowledged insert at
   * once either way); call this before working on the tables directly. Immediate for the other back ends.
   */
  settle(): Promise<void>;

  /**
   * Insert a transaction with its asset rows and topology rows into every database, then store its asset files.
   * A duplicate transaction_id is not an error: it resolves with `inserted: false` and writes nothing (v1.1.1).
   */
  insertTransaction(tx: InsertInput, options?: InsertOptions): Promise<InsertResult>;

  /** The stored row of `transactionId`, or null. Rejects with StorageError `CORRUPT_ROW` if the row is garbage. */
  getTransaction(transactionId: Uint8Array, options?: { dbNum?: number }): Promise<StoredTransaction | null>;

  /** Search by asset_group_id / asset_id / user_id (AND), ordered by the asset index (spec §8.3). */
  searchTransactions(options: SearchOptions): Promise<SearchResult>;

  /** Number of distinct transaction ids in the asset index matching all conditions (spec §8.4; not capped). */
  countTransactions(conditions: SearchConditions, options?: { dbNum?: number }): Promise<number>;

  /**
   * Topology rows of a transaction in row order. `toPast` true: rows whose base is the id (edges to older
   * transactions); false: rows whose point_to is the id (edges from newer transactions).
   */
  getTopology(transactionId: Uint8Array, toPast: boolean, options?: { dbNum?: number }): Promise<TopologyEdge[]>;

  /** Walk the topology from a transaction as v1.1.1's core does (spec §8.5). */
  traverse(transactionId: Uint8Array, options?: TraverseOptions): Promise<TraverseResult>;

  /** Add a cross_ref_table row to every database (no de-duplication, as v1.1.1). */
  insertCrossRef(transactionId: Uint8Array, outerDomainId: Uint8Array, txidHavingCrossRef: Uint8Array): Promise<void>;

  /** cross_ref rows for a transaction id, or all rows when absent (row order). */
  searchCrossRefs(transactionId?: Uint8Array, options?: { dbNum?: number }): Promise<CrossRefRow[]>;

  /** Number of cross_ref rows whose outer_domain_id is the given domain. */
  countCrossRefsByDomain(outerDomainId: Uint8Array, options?: { dbNum?: number }): Promise<number>;

  /**
   * Delete the transaction row and its topology rows (matched by base and point_to) in one database or in all
   * (`dbNum` absent). Asset rows, cross_ref rows and asset files stay (v1.1.1). Without `tx` the stored row of
   * db 0 is read to find the edges. Resolves false when there was nothing to remove.
   */
  removeTransaction(transactionId: Uint8Array, options?: { dbNum?: number; tx?: InsertInput }): Promise<boolean>;

  /** Remove then insert again in database `dbNum` (v1.1.1 `restore_transaction_data`; asset rows accumulate). */
  restoreTransaction(dbNum: number, transactionId: Uint8Array, tx: InsertInput): Promise<void>;

  /**
   * Repair: in every database, atomically and durably, the transaction row of `tx`'s id and every topology row
   * whose base is that id are replaced by `tx` (its row, edges and, unless `assetRows` is false, asset rows); a
   * missing row is inserted. With SQLite's commit log it is one `synchronous=FULL` commit once the log is applied.
   * Unlike {@link restoreTransaction} a crash never leaves the transaction missing. Resolves true when a row existed.
   */
  replaceTransaction(tx: InsertInput, options?: { assetRows?: boolean }): Promise<boolean>;

  /** Backend integrity check of every database (SQLite: PRAGMA integrity_check; servers: a probe query). */
  checkIntegrity(): Promise<IntegrityReport>;

  /** Wait for queued inserts, then close every connection. Further calls reject with `CLOSED`. */
  close(): Promise<void>;
}
