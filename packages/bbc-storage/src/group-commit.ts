/**
 * Group commit for the ledger store: inserts queued while a commit runs go into the next one, each round one
 * database transaction (or one commit-log batch) per database, with the signature checks, asset-file placement and
 * conflict refusals that have to come before anything of an insert is written.
 * @internal
 * @module
 */
import { toHex } from "@bbc1/bbclib";
import type { AssetFileStore } from "./asset-files.js";
import { checkSignatures, type DbBackend } from "./backend.js";
import { StorageError, isStorageError } from "./errors.js";
import type { LoggedFile } from "./log-codec.js";
import type { InsertOptions, InsertResult, LedgerRecord, StorageLogger } from "./types.js";

interface Pending {
  record: LedgerRecord;
  options: InsertOptions | undefined;
  resolve: (r: InsertResult) => void;
  reject: (e: unknown) => void;
}

/** What a {@link GroupCommit} writes to and reports through. */
export interface GroupCommitOptions {
  backends: DbBackend[];
  assetFiles: AssetFileStore;
  /** the domain keeps its asset files outside the node (v1.1.1 `use_external_storage`): none are written */
  external: boolean;
  log: StorageLogger;
  /** called with a batch's size before it is committed */
  onCommit?: (inserts: number) => void;
  /** called with a batch's size and its commit time once it is committed */
  onCommitted?: (inserts: number, seconds: number) => void;
  /** largest batch (default 1024) */
  maxBatch?: number;
}

/** The insert queue of one ledger store and the commits that drain it. */
export class GroupCommit {
  /** batches committed (attempts, including a failed batch retried one by one), inserts, largest batch */
  readonly counts = { batches: 0, inserts: 0, maxBatch: 0 };
  readonly #backends: DbBackend[];
  readonly #assetFiles: AssetFileStore;
  readonly #external: boolean;
  readonly #log: StorageLogger;
  readonly #onCommit: ((inserts: number) => void) | undefined;
  readonly #onCommitted: ((inserts: number, seconds: number) => void) | undefined;
  readonly #maxBatch: number;
  #queue: Pending[] = [];
  #flushing = false;
  #scheduled = false;
  #drained: Array<() => void> = [];

  constructor(options: GroupCommitOptions) {
    this.#backends = options.backends;
    this.#assetFiles = options.assetFiles;
    this.#external = options.external;
    this.#log = options.log;
    this.#onCommit = options.onCommit;
    this.#onCommitted = options.onCommitted;
    this.#maxBatch = Math.max(1, options.maxBatch ?? 1024);
  }

  /** Queues `record` for the next commit; resolves with its outcome once that commit is durable. */
  enqueue(record: LedgerRecord, options: InsertOptions | undefined): Promise<InsertResult> {
    return new Promise<InsertResult>((resolve, reject) => {
      this.#queue.push({ record, options, resolve, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#flushing || this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      void this.#flush();
    });
  }

  /** Drain the queue: each round takes everything queued so far into one database transaction per DB. */
  async #flush(): Promise<void> {
    if (this.#flushing) return;
    this.#flushing = true;
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue.length <= this.#maxBatch ? this.#queue : this.#queue.slice(0, this.#maxBatch);
        this.#queue = this.#queue.length <= this.#maxBatch ? [] : this.#queue.slice(this.#maxBatch);
        this.#onCommit?.(batch.length);
        const started = performance.now();
        await this.#commitBatch(batch);
        this.#onCommitted?.(batch.length, (performance.now() - started) / 1000);
      }
    } finally {
      this.#flushing = false;
      const waiters = this.#drained;
      this.#drained = [];
      for (const w of waiters) w();
    }
  }

  async #commitBatch(batch: Pending[]): Promise<void> {
    this.counts.batches++; // counts attempts, including a failed batch retried one by one
    this.counts.inserts += batch.length;
    if (batch.length > this.counts.maxBatch) this.counts.maxBatch = batch.length;
    // The SQLite commit log takes the asset files into its records (durable with the rows, written to their place
    // before the rows are applied). Otherwise they are written first (each atomically and fsynced): a crash between
    // the two steps then leaves an unreferenced file at worst, never a stored transaction without its file.
    const logged = this.#backends.length === 1 && this.#backends[0]!.takesAssetFiles === true;
    const refused = new Set<Pending>();
    // a lone insert into the commit log has its signatures checked while its record is made durable; every other
    // insert that left the check to the store has it now, before anything of it is written. One with asset files is
    // checked first too: a forged insert must be refused as forged even when its file slot is taken (the conflict
    // check comes before the log)
    const alone = batch.length === 1 && this.#queue.length === 0;
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
      if (!this.#external) await this.#refuseConflicts(batch, refused);
    } else if (!this.#external) {
      await Promise.all(
        batch.map(async (p) => {
          if (!p.options?.assetFiles) return;
          const refuse = p.options.assetConflict === "refuse";
          try {
            await this.#storeAssetFiles(p.record, p.options.assetFiles, refuse);
          } catch (e) {
            if (refuse && e instanceof StorageError && e.code === "ASSET_CONFLICT") {
              refused.add(p);
              p.reject(e);
              return;
            }
            // v1.1.1 ignores asset file write errors; the rows are committed all the same.
            this.#log.error({ err: e, transactionId: toHex(p.record.transactionId) }, "asset file write failed");
          }
        }),
      );
    }
    if (refused.size > 0) {
      batch = batch.filter((p) => !refused.has(p));
      if (batch.length === 0) return;
    }
    const records = batch.map((p) => p.record);
    const files: LoggedFile[][] = logged && !this.#external ? batch.map((p) => filesOf(p.record, p.options?.assetFiles)) : [];
    const results = await Promise.allSettled(this.#backends.map((b) => (logged ? b.insertBatch(records, files, alone, speculate) : b.insertBatch(records))));
    const ok = results.filter((r): r is PromiseFulfilledResult<boolean[]> => r.status === "fulfilled");
    results.forEach((r, i) => {
      // a refused signature is the insert's outcome, not a database failure
      if (r.status === "rejected" && !isStorageError(r.reason, "SIGNATURE_INVALID")) this.#log.error({ err: r.reason, dbNum: i }, "ledger insert failed in one database");
    });
    if (ok.length === 0 && batch.length > 1) {
      // one bad insert must not fail the others that shared its transaction: retry them one by one
      for (const p of batch) await this.#commitBatch([p]);
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
  async #refuseConflicts(batch: Pending[], refused: Set<Pending>): Promise<void> {
    const inBatch = new Map<string, Uint8Array>();
    for (const p of batch) {
      const files = filesOf(p.record, p.options?.assetFiles);
      if (p.options?.assetConflict === "refuse") {
        for (const f of files) {
          const k = `${toHex(f.assetGroupId)}/${toHex(f.assetId)}`;
          const have = inBatch.get(k) ?? (await this.#assetFiles.read(f.assetGroupId, f.assetId).catch(() => null));
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

  async #storeAssetFiles(rec: LedgerRecord, files: Map<string, Uint8Array> | Record<string, Uint8Array>, refuseConflict: boolean): Promise<void> {
    const get = (k: string) => (files instanceof Map ? files.get(k) : Object.prototype.hasOwnProperty.call(files, k) ? files[k] : undefined);
    for (const a of rec.assets) {
      if (!a.assetId || !a.assetGroupId) continue;
      const content = get(toHex(a.assetId));
      if (content instanceof Uint8Array) await this.#assetFiles.write(a.assetGroupId, a.assetId, content, { conflict: refuseConflict ? "error" : "keep" });
    }
  }

  /** Resolves once nothing is queued or being committed. */
  whenDrained(): Promise<void> {
    if (!this.#flushing && !this.#scheduled && this.#queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.#drained.push(resolve);
      this.#schedule();
    });
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

function distinctGroups(rec: LedgerRecord): Uint8Array[] {
  const seen = new Map<string, Uint8Array>();
  for (const a of rec.assets) if (a.assetGroupId) seen.set(toHex(a.assetGroupId), a.assetGroupId);
  return [...seen.values()];
}
