/**
 * The one verified, durable insert of a transaction into a domain's ledger. Client inserts (REQUEST_INSERT) go
 * through it, and so will transactions replicated from other nodes: decode and verify (signatures, asset-file
 * digests), insert with asset files (resolved only once durable, see @bbc1/storage), then the counters, the
 * verified-bytes cache and the insert notifications. The caller turns the outcome into its protocol's answer.
 * @module
 */
import { toHex } from "@bbc1/bbclib";
import type { Logger } from "pino";
import type { Domain } from "./domain.js";
import { isCoreError } from "./errors.js";
import type { CoreInternals } from "./handlers/context.js";
import { assetRowsOf, edgesOf } from "./ledger-rows.js";
import type { LedgerEntry } from "./store.js";
import { VerifiedCache, type WireAssetFiles } from "./validator.js";

/** What {@link insertVerified} did. `text` is v1.1.1's reason for a refusal. */
export type InsertOutcome =
  | { ok: true; transactionId: Uint8Array; assetGroupIds: Uint8Array[] }
  | {
      ok: false;
      why: "bad_transaction" | "no_domain" | "duplicate" | "asset_conflict" | "ledger_failure";
      text: string;
      transactionId?: Uint8Array;
      /** With `bad_transaction`: an asset file does not match its digest (the transaction itself verified). */
      assetFile?: boolean;
    };

/**
 * Verifies `data` (+ `files`, asset id → content) and inserts it into `domain`'s ledger; resolves once the insert
 * is durable (or refused). Counts as v1.1.1 does (`transaction.invalid`, `asset_file.invalid`,
 * `data_handler.insert_transaction`, `fail_exec_sql`, `store_in_storage`) plus `asset_file.conflict`.
 */
export async function insertVerified(core: CoreInternals, domain: Domain | undefined, data: Uint8Array, files: WireAssetFiles, log: Logger): Promise<InsertOutcome> {
  core.insertsInProgress++;
  try {
    return await insertCounted(core, domain, data, files, log);
  } finally {
    core.insertsInProgress--;
  }
}

async function insertCounted(core: CoreInternals, domain: Domain | undefined, data: Uint8Array, files: WireAssetFiles, log: Logger): Promise<InsertOutcome> {
  const verifyStarted = performance.now();
  // an insert alone is verified at once (the shortest path), and where the ledger can, its signatures (on the pool) while
  // the ledger makes it durable (the check's time comes off the insert's latency); while others are in progress
  // (waiting for their commit, or verified), this one's signatures go off the event loop (libuv's pool, or the
  // workers' batches with `verifyBatches`) so that the loop goes on reading and committing and the curve arithmetic
  // runs on another core
  const alone = core.insertsInProgress <= 1;
  const deferring = alone && domain?.ledger?.checksSignatures === true;
  const verdict = deferring ? await core.validateDeferred(data, files) : await core.validate(data, files, !alone);
  let verifySeconds = (performance.now() - verifyStarted) / 1000;
  const deferred = verdict.ok ? (verdict as { verifySignatures?: () => boolean; verifySignaturesAsync?: () => Promise<boolean> }) : undefined;
  const deferredSync = deferred?.verifySignatures;
  const deferredAsync = deferred?.verifySignaturesAsync;
  if (deferredSync === undefined) core.metrics.verifySeconds.observe(verifySeconds);
  if (!verdict.ok) {
    if (verdict.why === "asset_file") core.stats.increment("asset_file", "invalid");
    else core.stats.increment("transaction", "invalid");
    log.debug({ why: verdict.why }, "insert: bad transaction");
    return { ok: false, why: "bad_transaction", text: "Bad transaction format", assetFile: verdict.why === "asset_file" };
  }
  if (domain === undefined || domain.ledger === null) return { ok: false, why: "no_domain", text: "Set up the domain, first!" };
  const tx = verdict.tx;
  const txid = tx.transactionId!;
  const rows = assetRowsOf(tx);
  const entry: LedgerEntry = {
    transactionId: txid,
    transactionData: data,
    assets: rows.map(({ assetGroupId, assetId, userId, hasFile }) => ({ assetGroupId, assetId, userId, hasFile })),
    pointsTo: edgesOf(tx),
    files: [],
  };
  if (deferredSync !== undefined) {
    const observed = (t: number) => {
      verifySeconds += (performance.now() - t) / 1000;
      core.metrics.verifySeconds.observe(verifySeconds);
    };
    entry.verifySignatures = () => {
      const t = performance.now();
      try {
        return deferredSync();
      } finally {
        observed(t);
      }
    };
    if (deferredAsync !== undefined) {
      entry.verifySignaturesAsync = async () => {
        const t = performance.now();
        try {
          return await deferredAsync();
        } finally {
          observed(t);
        }
      };
    }
  }
  const external = (domain.section.storage as { type?: unknown } | undefined)?.type === "external";
  if (!external) {
    for (const r of rows) {
      const content = verdict.files.get(toHex(r.assetId));
      if (content !== undefined) entry.files.push({ assetGroupId: r.assetGroupId, assetId: r.assetId, content });
    }
  }
  // v1.1.1's DataHandler.insert_transaction counts every attempt, duplicates included
  core.stats.increment("data_handler", "insert_transaction");
  let inserted = false;
  try {
    inserted = await domain.ledger.insert(entry);
    // an id already stored: v1.1.1's INSERT fails in exec_sql
    if (!inserted) core.stats.increment("data_handler", "fail_exec_sql");
  } catch (e) {
    if (isCoreError(e) && e.code === "SIGNATURE_INVALID") {
      // the ledger ran the deferred signature check: the same outcome (and counters) as a failed verification
      // before the insert, which v1.1.1 does not count as an insert attempt
      core.stats.decrement("data_handler", "insert_transaction");
      core.stats.increment("transaction", "invalid");
      log.debug({ why: "signature" }, "insert: bad transaction");
      return { ok: false, why: "bad_transaction", text: "Bad transaction format" };
    }
    if (isCoreError(e) && e.code === "ASSET_CONFLICT") {
      // never acknowledge an insert while another file is served for one of its assets
      core.stats.increment("asset_file", "conflict");
      log.warn({ transaction_id: toHex(txid), err: e.message }, "insert refused: an asset file slot holds other content");
      return { ok: false, why: "asset_conflict", text: "Asset file conflicts with a stored file", transactionId: txid };
    }
    log.error({ err: e }, "insert: ledger failure");
    core.stats.increment("data_handler", "fail_exec_sql");
    return { ok: false, why: "ledger_failure", text: "Failed to insert a transaction into the ledger", transactionId: txid };
  }
  if (!inserted) return { ok: false, why: "duplicate", text: "Failed to insert a transaction into the ledger", transactionId: txid };
  if (entry.files.length > 0) core.stats.increment("data_handler", "store_in_storage", entry.files.length);
  const groups = new Map<string, Uint8Array>();
  for (const r of rows) groups.set(toHex(r.assetGroupId), r.assetGroupId);
  core.verified.add(VerifiedCache.keyOf(data));
  domain.notifyInserted(txid, [...groups.values()]);
  core.crossRefs.inserted(domain, tx);
  return { ok: true, transactionId: txid, assetGroupIds: [...groups.values()] };
}
