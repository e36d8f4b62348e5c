import { deserialize, validateTransaction, type BBcTransaction } from "@bbc1/bbclib";
import { hexOf } from "./util.js";

/** Asset files as they arrive in `all_asset_files` (asset id → content or nil). */
export type WireAssetFiles = ReadonlyMap<unknown, unknown> | null | undefined;

/** Verdict of {@link validateSubmitted}. */
export type SubmittedVerdict =
  | { ok: true; tx: BBcTransaction; files: Map<string, Uint8Array> }
  | { ok: false; why: "decode" | "signature" | "asset_file" };

/** Normalises `all_asset_files` to hex asset id → content (nil contents dropped). */
export function normaliseFiles(files: WireAssetFiles): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  if (files instanceof Map) {
    for (const [k, v] of files) {
      if (k instanceof Uint8Array && v instanceof Uint8Array) out.set(hexOf(k), v);
    }
  }
  return out;
}

/**
 * v1.1.1 `validate_transaction`: deserialize (any format), compute the digest, every signature
 * present must verify and every supplied asset file must match its digest. Transactions with
 * id_length 0 (garbage accepted by the reference's decoder, Quirk C20) are rejected.
 */
export function validateSubmitted(data: Uint8Array, files: WireAssetFiles): SubmittedVerdict {
  let tx: BBcTransaction;
  try {
    tx = deserialize(data);
    tx.digest();
  } catch {
    return { ok: false, why: "decode" };
  }
  if (tx.idLength === 0 || tx.transactionId === null || tx.transactionId.length === 0) return { ok: false, why: "decode" };
  const fileMap = normaliseFiles(files);
  let r;
  try {
    r = validateTransaction(tx, fileMap);
  } catch {
    return { ok: false, why: "signature" };
  }
  if (!r.valid) return { ok: false, why: "signature" };
  if (r.invalidAssets.length > 0) return { ok: false, why: "asset_file" };
  return { ok: true, tx, files: fileMap };
}
