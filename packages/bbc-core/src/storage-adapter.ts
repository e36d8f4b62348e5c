import { isStorageError, openLedgerStore, type LedgerStore, type StorageLogger } from "@bbc1/storage";
import { CoreError } from "./errors.js";
import type { DomainLedger, LedgerEntry, LedgerFactory } from "./store.js";
import { toHex } from "@bbc1/bbclib";

/** Adapts a `@bbc1/storage` LedgerStore to the core's {@link DomainLedger}. */
export class StorageLedger implements DomainLedger {
  readonly store: LedgerStore;
  readonly checksSignatures = true;
  constructor(store: LedgerStore) {
    this.store = store;
  }

  async insert(entry: LedgerEntry): Promise<boolean> {
    const files = new Map<string, Uint8Array>();
    for (const f of entry.files) files.set(toHex(f.assetId), f.content);
    const r = await this.store
      .insertTransaction(
      {
        transactionId: entry.transactionId,
        data: entry.transactionData,
        assets: entry.assets.map((a) => ({
          assetGroupId: a.assetGroupId,
          assetId: a.assetId,
          userId: a.userId,
          assetFileSize: a.hasFile ? 1 : 0,
          assetFileDigest: null,
        })),
        pointTo: entry.pointsTo,
      },
      { assetFiles: files, assetConflict: "refuse", verifySignatures: entry.verifySignaturesAsync ?? entry.verifySignatures },
    )
      .catch((e: unknown) => {
        if (isStorageError(e) && e.code === "ASSET_CONFLICT") throw new CoreError("ASSET_CONFLICT", e.message, { cause: e });
        if (isStorageError(e) && e.code === "SIGNATURE_INVALID") throw new CoreError("SIGNATURE_INVALID", e.message, { cause: e });
        throw e;
      });
    return r.inserted;
  }

  async getTransaction(transactionId: Uint8Array): Promise<Uint8Array | undefined> {
    try {
      const r = await this.store.getTransaction(transactionId);
      return r === null ? undefined : r.data;
    } catch {
      return undefined;
    }
  }

  async search(cond: { assetGroupId?: Uint8Array; assetId?: Uint8Array; userId?: Uint8Array }, direction: number, limit: number): Promise<{ transactionId: Uint8Array; data: Uint8Array }[]> {
    const r = await this.store.searchTransactions({ ...cond, direction, count: limit <= 0 ? 0 : limit });
    return r.transactions.map((t) => ({ transactionId: t.transactionId, data: t.data }));
  }

  count(cond: { assetGroupId?: Uint8Array; assetId?: Uint8Array; userId?: Uint8Array }): Promise<number> {
    return this.store.countTransactions(cond);
  }

  async topology(transactionId: Uint8Array, towardPast: boolean): Promise<Uint8Array[]> {
    const edges = await this.store.getTopology(transactionId, towardPast);
    return edges.map((e) => (towardPast ? e.pointTo : e.base));
  }

  async crossRefTransactionIds(): Promise<Uint8Array[]> {
    return (await this.store.searchCrossRefs()).map((r) => r.transactionId);
  }

  insertCrossRef(row: { transactionId: Uint8Array; outerDomainId: Uint8Array; txidHavingCrossRef: Uint8Array }): Promise<boolean> {
    // one at a time, so that the duplicate check sees the rows written before
    const r = this.#xrefs.then(() => this.#insertCrossRef(row));
    this.#xrefs = r.catch(() => undefined);
    return r;
  }

  #xrefs: Promise<unknown> = Promise.resolve();

  async #insertCrossRef(row: { transactionId: Uint8Array; outerDomainId: Uint8Array; txidHavingCrossRef: Uint8Array }): Promise<boolean> {
    const have = await this.store.searchCrossRefs(row.transactionId);
    if (have.some((r) => toHex(r.outerDomainId) === toHex(row.outerDomainId) && toHex(r.txidHavingCrossRef) === toHex(row.txidHavingCrossRef))) return false;
    await this.store.insertCrossRef(row.transactionId, row.outerDomainId, row.txidHavingCrossRef);
    return true;
  }

  async crossRefsOf(transactionId: Uint8Array): Promise<{ transactionId: Uint8Array; outerDomainId: Uint8Array; txidHavingCrossRef: Uint8Array }[]> {
    return (await this.store.searchCrossRefs(transactionId)).map((r) => ({ transactionId: r.transactionId, outerDomainId: r.outerDomainId, txidHavingCrossRef: r.txidHavingCrossRef }));
  }

  readAssetFile(assetGroupId: Uint8Array, assetId: Uint8Array): Promise<Uint8Array | null> {
    return this.store.assetFiles.read(assetGroupId, assetId).catch(() => null);
  }

  async replaceTransaction(entry: LedgerEntry, options: { assetRows: boolean }): Promise<void> {
    const record = {
      transactionId: entry.transactionId,
      data: entry.transactionData,
      assets: options.assetRows ? entry.assets.map((a) => ({ assetGroupId: a.assetGroupId, assetId: a.assetId, userId: a.userId, assetFileSize: a.hasFile ? 1 : 0, assetFileDigest: null })) : [],
      pointTo: entry.pointsTo,
    };
    // one atomic, durable commit per database (with SQLite's commit log: after the log is applied)
    await this.store.replaceTransaction(record);
  }

  async copies(transactionId: Uint8Array): Promise<Array<Uint8Array | undefined>> {
    const out: Array<Uint8Array | undefined> = [];
    for (let i = 0; i < this.store.dbCount; i++) out.push(await this.store.getTransaction(transactionId, { dbNum: i }).then((r) => r?.data, () => undefined));
    return out;
  }

  async replaceAssetFile(assetGroupId: Uint8Array, assetId: Uint8Array, content: Uint8Array): Promise<void> {
    // a file still pending in the commit log is written with link(), which keeps an existing file: ours
    await this.store.settle();
    await this.store.assetFiles.write(assetGroupId, assetId, content, { overwrite: true });
  }

  close(): Promise<void> {
    return this.store.close();
  }

  settle(): Promise<void> {
    return this.store.settle();
  }

  commitStats(): Record<string, number> {
    const s = this.store.stats;
    const out: Record<string, number> = { commits: s.batches, committed_tx: s.inserts, max_tx_per_commit: s.maxBatch };
    const l = s.commitLog;
    if (l !== undefined) Object.assign(out, { log_syncs: l.logSyncs, inline_syncs: l.inlineSyncs, apply_transactions: l.applyTransactions, applied_tx: l.appliedRecords, pending: l.pending, sync_points: l.syncPoints });
    return out;
  }
}

/** The default {@link LedgerFactory}: `@bbc1/storage` with the domain's `db` / `storage` section. */
export function storageLedgerFactory(options: {
  searchMaxCount: number;
  logger?: StorageLogger;
  /** The observer of a domain's group-commit sizes (metrics). */
  onCommit?: (domainHex: string) => ((inserts: number) => void) | undefined;
  /** The observer of a domain's group-commit latency (metrics). */
  onCommitted?: (domainHex: string) => ((inserts: number, seconds: number) => void) | undefined;
}): LedgerFactory {
  return async ({ domainId, domainHex, config, workingDir }) => {
    const store = await openLedgerStore({
      domainId,
      workingDir,
      config: config as Parameters<typeof openLedgerStore>[0]["config"],
      searchMaxCount: options.searchMaxCount,
      logger: options.logger,
      onCommit: options.onCommit?.(domainHex),
      onCommitted: options.onCommitted?.(domainHex),
    });
    return new StorageLedger(store);
  };
}
