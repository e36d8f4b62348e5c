/**
 * The narrow ledger interface the core needs from a domain's store. `@bbc1/storage` is adapted
 * to it in `storage-adapter.ts`; tests may supply their own.
 */

/** One row of the asset index (events first, then relations, in order). */
export interface AssetIndexRow {
  assetGroupId: Uint8Array;
  assetId: Uint8Array;
  userId: Uint8Array | null;
  /** True when the asset declares a file (file size > 0). */
  hasFile: boolean;
}

/** Everything a successful insert writes. */
export interface LedgerEntry {
  transactionId: Uint8Array;
  /** Exactly the bytes the client submitted. */
  transactionData: Uint8Array;
  assets: AssetIndexRow[];
  /** Topology edges: referenced transaction ids (references then pointers, in order, duplicates kept). */
  pointsTo: Uint8Array[];
  /** Asset files supplied with the insert (asset group, asset id, content). */
  files: { assetGroupId: Uint8Array; assetId: Uint8Array; content: Uint8Array }[];
  /**
   * Set only for a ledger with {@link DomainLedger.checksSignatures}: the transaction's signature check, everything
   * else verified. The ledger stores the entry only if it returns true (it may run it while making the entry
   * durable), else rejects with `CoreError` `SIGNATURE_INVALID`.
   */
  verifySignatures?: () => boolean;
  /**
   * The same check off the event loop where the crypto backend can (OpenSSL on libuv's pool), set with
   * {@link verifySignatures}: a ledger that waits for its commit meanwhile uses this one. Its verdict is the same.
   */
  verifySignaturesAsync?: () => Promise<boolean>;
}

/** Search conditions (AND). */
export interface AssetCondition {
  assetGroupId?: Uint8Array;
  assetId?: Uint8Array;
  userId?: Uint8Array;
}

/** A domain's ledger. Every method may reject; the core maps failures to protocol errors. */
export interface DomainLedger {
  /**
   * Inserts durably: resolves only once the rows and files are on stable storage. Resolves
   * `false` when the transaction id is already stored (nothing written). Rejects with a
   * `CoreError` `ASSET_CONFLICT` (no row written) when a file slot of the transaction already
   * holds different content.
   */
  insert(entry: LedgerEntry): Promise<boolean>;
  /**
   * True when {@link insert} honours {@link LedgerEntry.verifySignatures}; the core then leaves a lone insert's
   * signature check to the ledger, which can overlap it with its durable commit. Absent: the core verifies first.
   */
  readonly checksSignatures?: boolean;
  /** The stored bytes of a transaction. */
  getTransaction(transactionId: Uint8Array): Promise<Uint8Array | undefined>;
  /**
   * Transactions of asset-index rows matching `cond`, ordered by row id ascending when
   * `direction` is 1, descending otherwise; at most `limit` rows when `limit` > 0 (the limit
   * counts rows, not transactions); de-duplicated keeping the first occurrence.
   */
  search(cond: AssetCondition, direction: number, limit: number): Promise<{ transactionId: Uint8Array; data: Uint8Array }[]>;
  /** Number of distinct transaction ids among matching asset-index rows. */
  count(cond: AssetCondition): Promise<number>;
  /** Topology neighbours: toward the past (`base` = id → `point_to`) or the future. */
  topology(transactionId: Uint8Array, towardPast: boolean): Promise<Uint8Array[]>;
  /** `transaction_id` column of every cross_ref row, table order. */
  crossRefTransactionIds(): Promise<Uint8Array[]>;
  /** Stores a cross_ref row (domain0 registration, REPLICATION_CROSS_REF); false when the same row is already there. */
  insertCrossRef?(row: { transactionId: Uint8Array; outerDomainId: Uint8Array; txidHavingCrossRef: Uint8Array }): Promise<boolean>;
  /** The cross_ref rows of a transaction of this domain. */
  crossRefsOf?(transactionId: Uint8Array): Promise<{ transactionId: Uint8Array; outerDomainId: Uint8Array; txidHavingCrossRef: Uint8Array }[]>;
  /** An asset file, or null when absent. */
  readAssetFile(assetGroupId: Uint8Array, assetId: Uint8Array): Promise<Uint8Array | null>;
  /**
   * Repair (v1.1.1 `restore_transaction_data`): replaces the stored row of `entry.transactionId` in every database by
   * `entry`, a verified copy (inserted when absent); durable before it resolves. `assetRows` false keeps the asset
   * rows already there instead of writing them again.
   */
  replaceTransaction?(entry: LedgerEntry, options: { assetRows: boolean }): Promise<void>;
  /** The stored bytes of a transaction in each database (index = db number; undefined where absent or unreadable). */
  copies?(transactionId: Uint8Array): Promise<Array<Uint8Array | undefined>>;
  /** Repair: overwrites an asset file (atomic, durable before it resolves). */
  replaceAssetFile?(assetGroupId: Uint8Array, assetId: Uint8Array, content: Uint8Array): Promise<void>;
  /** Waits for pending writes and releases resources. */
  close(): Promise<void>;
  /**
   * Resolves once every acknowledged insert is in the ledger's tables and its asset files in their place (a commit
   * log applies a few ms behind its acknowledgements; reads see everything at once either way).
   */
  settle?(): Promise<void>;
  /**
   * Counters of the ledger's durable commits (shown by GET_STATS under `ledger`, summed over domains):
   * `commits`, `committed_tx` (so committed_tx / commits is the group-commit size), `max_tx_per_commit`, and with
   * SQLite's commit log `log_syncs` (of which `inline_syncs`: on the main thread), `apply_transactions`, `applied_tx`, `pending`, `sync_points`.
   */
  commitStats?(): Record<string, number>;
}

/** Opens the ledger of a domain. */
export type LedgerFactory = (args: {
  domainId: Uint8Array;
  domainHex: string;
  /** The domain's config section. */
  config: Record<string, unknown>;
  /** `config.workingdir` (ledger and asset files live under `<workingdir>/<domain hex>`). */
  workingDir: string;
}) => Promise<DomainLedger>;
