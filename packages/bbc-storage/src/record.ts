/**
 * Turning a transaction into the rows the ledger stores, and stored bytes back into a transaction.
 * @module
 */
import { BBcTransaction, bytesEqual, deserialize, toHex } from "@bbc1/bbclib";
import { StorageError } from "./errors.js";
import type { AssetInfo, InsertInput, LedgerRecord, StoredTransaction } from "./types.js";

/**
 * Asset rows of a transaction (v1.1.1 `DataHandler.get_asset_info`): every event with an asset, in order, then every
 * relation with an asset, in order.
 */
export function assetInfoOf(tx: BBcTransaction): AssetInfo[] {
  const info: AssetInfo[] = [];
  for (const part of [...tx.events, ...tx.relations]) {
    const a = part.asset;
    if (!a) continue;
    info.push({
      assetGroupId: part.assetGroupId,
      assetId: a.assetId,
      userId: a.userId,
      assetFileSize: a.assetFileSize,
      assetFileDigest: a.assetFileDigest,
    });
  }
  return info;
}

/** Topology edges of a transaction (v1.1.1 `DataHandler._get_topology_info`): references, then relations' pointers. */
export function pointToOf(tx: BBcTransaction): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const r of tx.references) if (r.transactionId) out.push(r.transactionId);
  for (const rel of tx.relations) for (const p of rel.pointers) if (p.transactionId) out.push(p.transactionId);
  return out;
}

/**
 * The {@link LedgerRecord} of a transaction. `data` defaults to `tx.transactionData` (the bytes the client sent;
 * serialized when absent); the id defaults to `tx.transactionId` (computed when absent).
 */
export function toLedgerRecord(tx: BBcTransaction, data?: Uint8Array): LedgerRecord {
  const bytes = data ?? tx.transactionData ?? tx.serialize();
  if (!tx.transactionId) tx.digest();
  const transactionId = tx.transactionId;
  if (!transactionId) throw new StorageError("BAD_ARGUMENT", "transaction has no transaction_id");
  return { transactionId, data: bytes, assets: assetInfoOf(tx), pointTo: pointToOf(tx) };
}

/** Normalize an insert input to a record, checking its shape. */
export function asRecord(input: InsertInput): LedgerRecord {
  const rec = input instanceof BBcTransaction ? toLedgerRecord(input) : input;
  if (!rec || !(rec.transactionId instanceof Uint8Array) || !(rec.data instanceof Uint8Array) || !Array.isArray(rec.assets) || !Array.isArray(rec.pointTo)) {
    throw new StorageError("BAD_ARGUMENT", "insert expects a BBcTransaction or a LedgerRecord {transactionId, data, assets, pointTo}");
  }
  if (rec.transactionId.length > 64) throw new StorageError("BAD_ARGUMENT", `transaction_id of ${rec.transactionId.length} bytes is too long (max 64)`);
  const optId = (v: unknown) => v === null || v === undefined || (v instanceof Uint8Array && v.length <= 64);
  for (const a of rec.assets) {
    if (!a || !optId(a.assetGroupId) || !optId(a.assetId) || !optId(a.userId) || !optId(a.assetFileDigest) || !Number.isSafeInteger(a.assetFileSize ?? 0)) {
      throw new StorageError("BAD_ARGUMENT", "asset rows need ids of at most 64 bytes (or null) and an integer asset_file_size");
    }
  }
  for (const p of rec.pointTo) {
    if (!(p instanceof Uint8Array) || p.length > 64) throw new StorageError("BAD_ARGUMENT", "pointTo entries must be ids of at most 64 bytes");
  }
  return rec;
}

/**
 * Deserialize a stored row and check that the computed id matches the stored key. Throws StorageError
 * `CORRUPT_DATA` (a repair candidate) when the bytes do not decode or decode to another transaction.
 */
export function decodeStoredTransaction(row: StoredTransaction): BBcTransaction {
  let tx: BBcTransaction;
  try {
    tx = deserialize(row.data);
  } catch (cause) {
    throw new StorageError("CORRUPT_DATA", `stored transaction ${toHex(row.transactionId)} does not decode`, {
      cause,
      details: { transactionId: toHex(row.transactionId) },
    });
  }
  if (!tx.transactionId || !bytesEqual(tx.transactionId, row.transactionId)) {
    throw new StorageError("CORRUPT_DATA", `stored transaction ${toHex(row.transactionId)} decodes to id ${tx.transactionId ? toHex(tx.transactionId) : "(none)"}`, {
      details: { transactionId: toHex(row.transactionId) },
    });
  }
  return tx;
}
