/**
 * Validation with the verdicts of v1.1.1's validate_transaction_object and verify_using_cross_ref.
 */
import { sha256 } from "#sha256";
import { bytesEqual, concatBytes, toHex } from "./bytes.js";
import { bsonEncode, type BsonDocument } from "./codec/bson.js";
import { msgpackEncode, type MsgpackValue } from "./codec/msgpack.js";
import { decodeCrossRefBinary, decodeSignatureBinary, encodeCrossRefBinary } from "./codec/binary.js";
import { crossRefDict } from "./codec/dict.js";
import { isMsgpackFormat, type BBcTransaction, type FormatType } from "./model.js";

/** [asset_group_id, asset_id] of an asset whose file was checked. */
export type AssetRef = [assetGroupId: Uint8Array, assetId: Uint8Array];

/** The verdict of {@link validateTransaction}. */
export interface ValidationResult {
  /** Every signature present verifies over the transaction digest. */
  valid: boolean;
  /** Assets whose given file matches the recorded digest. */
  validAssets: AssetRef[];
  /** Assets whose given file does not match. */
  invalidAssets: AssetRef[];
}

/** Asset files by asset id: a Map keyed by hex id or by the id bytes, or a record keyed by hex id. A null content is skipped. */
export type AssetFiles = Map<string | Uint8Array, Uint8Array | null> | Record<string, Uint8Array | null>;

function lookup(files: AssetFiles, assetId: Uint8Array): Uint8Array | null | undefined {
  const hex = toHex(assetId);
  if (files instanceof Map) {
    if (files.has(hex)) return files.get(hex);
    for (const [k, v] of files) if (k instanceof Uint8Array && bytesEqual(k, assetId)) return v;
    return undefined;
  }
  return Object.prototype.hasOwnProperty.call(files, hex) ? files[hex] : undefined;
}

/**
 * Validate `tx` as v1.1.1 does: every signature present must verify over the transaction
 * digest (an empty slot fails; the reference does not check that the required approvers
 * signed). With `assetFiles`, each event/relation asset whose id is listed is checked: its
 * recorded file digest is compared with the full SHA-256 of the content, so with id_length
 * below 32 (truncated digest) a correct file is reported invalid, as in the reference.
 */
export function validateTransaction(tx: BBcTransaction, assetFiles?: AssetFiles | null): ValidationResult {
  const message = tx.forIdBytes();
  for (const sig of tx.signatures) {
    if (!sig.verifyMessage(message)) return { valid: false, validAssets: [], invalidAssets: [] };
  }
  return checkFiles(tx, assetFiles);
}

/**
 * {@link validateTransaction} with the signatures verified off this thread where the crypto backend can (on Node:
 * OpenSSL on libuv's thread pool, all of them at once), so that a server's event loop goes on meanwhile. The same
 * verdicts; never rejects for a bad signature (it is `valid: false`).
 */
export async function validateTransactionAsync(tx: BBcTransaction, assetFiles?: AssetFiles | null): Promise<ValidationResult> {
  const message = tx.forIdBytes();
  const sigs = tx.signatures;
  const verdicts = sigs.length === 1 ? [await sigs[0]!.verifyMessageAsync(message)] : await Promise.all(sigs.map((s) => s.verifyMessageAsync(message)));
  for (const ok of verdicts) if (!ok) return { valid: false, validAssets: [], invalidAssets: [] };
  return checkFiles(tx, assetFiles);
}

function checkFiles(tx: BBcTransaction, assetFiles: AssetFiles | null | undefined): ValidationResult {
  if (!assetFiles) return { valid: true, validAssets: [], invalidAssets: [] };
  const validAssets: AssetRef[] = [];
  const invalidAssets: AssetRef[] = [];
  for (const holder of [...tx.events, ...tx.relations]) {
    const asset = holder.asset;
    if (!asset?.assetId) continue;
    const content = lookup(assetFiles, asset.assetId);
    if (content === undefined || content === null) continue;
    const entry: AssetRef = [holder.assetGroupId as Uint8Array, asset.assetId];
    if (bytesEqual(asset.assetFileDigest, sha256(content))) validAssets.push(entry);
    else invalidAssets.push(entry);
  }
  return { valid: true, validAssets, invalidAssets };
}

/**
 * Confirm, with a cross reference and its signature obtained from another domain, that
 * `transactionId` of `domainId` exists (v1.1.1 verify_using_cross_ref).
 * `crossRefData` and `signatureData` are binary-serialized BBcCrossRef and BBcSignature.
 */
export function verifyUsingCrossRef(
  domainId: Uint8Array,
  transactionId: Uint8Array,
  transactionBaseDigest: Uint8Array,
  crossRefData: Uint8Array,
  signatureData: Uint8Array,
  formatType: FormatType = 0,
): boolean {
  let cross;
  let sig;
  try {
    cross = decodeCrossRefBinary(crossRefData);
    sig = decodeSignatureBinary(signatureData);
  } catch {
    return false;
  }
  if (!bytesEqual(cross.domainId, domainId) || !bytesEqual(cross.transactionId, transactionId)) return false;
  let message: Uint8Array;
  if (formatType === 0) {
    const head = new Uint8Array(6);
    const dv = new DataView(head.buffer);
    dv.setUint16(0, 1, true);
    dv.setUint32(2, crossRefData.length, true);
    message = concatBytes(transactionBaseDigest, head, encodeCrossRefBinary(cross));
  } else if (isMsgpackFormat(formatType)) {
    message = msgpackEncode({ tx_base: transactionBaseDigest, cross_ref: crossRefDict(cross) } as MsgpackValue);
  } else {
    message = bsonEncode({ tx_base: transactionBaseDigest, cross_ref: crossRefDict(cross) } as BsonDocument);
  }
  return sig.verifyMessage(message);
}
