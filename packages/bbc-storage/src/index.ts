/**
 * @bbc1/storage: the BBc-1 ledger (v1.1.1 data_handler semantics) on SQLite (embedded default), PostgreSQL and
 * MySQL/MariaDB, plus the asset file store.
 *
 * @example
 * ```ts
 * import { openLedgerStore } from "@bbc1/storage";
 * const store = await openLedgerStore({ domainId, workingDir: ".bbc1", config: domainConfig });
 * const { inserted } = await store.insertTransaction(tx, { assetFiles });
 * const found = await store.searchTransactions({ assetGroupId, count: 10 });
 * await store.close();
 * ```
 * @packageDocumentation
 */
export { StorageError, isStorageError, type StorageErrorCode } from "./errors.js";
export { AssetFileStore, type AssetFileStoreOptions, type AssetVerifyStatus } from "./asset-files.js";
export {
  DEFAULT_DOMAIN_STORAGE_CONFIG,
  DEFAULT_SEARCH_MAX_COUNT,
  DEFAULT_MAX_TRAVERSE,
  resolveStorageConfig,
  replicationStrategyOf,
  domainIdHex,
  type ResolvedStorageConfig,
  type ResolvedServer,
} from "./config.js";
export { toLedgerRecord, assetInfoOf, pointToOf, decodeStoredTransaction } from "./record.js";
export { openLedgerStore } from "./store.js";
export {
  LedgerTables,
  LEDGER_TABLES,
  copyLedger,
  summarizeLedger,
  type LedgerTableName,
  type LedgerRow,
  type TableSummary,
  type CopyProgress,
  type CopyLedgerOptions,
  type CopyReport,
} from "./tables.js";
export { backupSqliteLedger, type SqliteBackupOptions, type SqliteBackupResult } from "./backup.js";
export { ledgerMigrations, migrateToLatest, type LedgerDatabase } from "./schema.js";
export {
  ReplicationCode,
  type DbType,
  type ReplicationStrategy,
  type DbServerConfig,
  type DbConfig,
  type StorageSectionConfig,
  type DomainStorageConfig,
  type StorageLogger,
  type OpenLedgerStoreOptions,
  type AssetInfo,
  type LedgerRecord,
  type InsertInput,
  type InsertOptions,
  type InsertResult,
  type StoredTransaction,
  type RepairCandidate,
  type SearchConditions,
  type SearchOptions,
  type SearchResult,
  type TopologyEdge,
  type CrossRefRow,
  type TraverseOptions,
  type TraverseResult,
  type IntegrityReport,
  type LedgerStore,
} from "./types.js";
