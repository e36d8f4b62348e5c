/**
 * The checks of `bbc1 tx verify` and `bbc1 import`: the bytes decode, the id is the digest of
 * the transaction, every signature verifies, and every asset file given matches its digest.
 */
import { bytesEqual, deserialize, sha256, toHex, type BBcTransaction } from "@bbc1/bbclib";

/** One check's outcome. */
export interface Check {
  name: string;
  ok: boolean;
  detail?: string;
}

/** Verdict on one transaction. */
export interface Verdict {
  ok: boolean;
  transaction: BBcTransaction | null;
  checks: Check[];
}

/**
 * Verifies serialized transaction `data`, expected to have id `expectedId` (when given), with
 * the asset files at hand (hex asset id → content). Assets whose file is absent are reported
 * (`missing`) but do not fail the verdict unless `requireFiles`.
 */
export function verifyTransactionData(
  data: Uint8Array,
  options: { expectedId?: Uint8Array; files?: ReadonlyMap<string, Uint8Array>; requireFiles?: boolean } = {},
): Verdict {
  const checks: Check[] = [];
  let tx: BBcTransaction;
  try {
    tx = deserialize(data);
  } catch (e) {
    return { ok: false, transaction: null, checks: [{ name: "decode", ok: false, detail: (e as Error).message }] };
  }
  checks.push({ name: "decode", ok: true, detail: `format ${tx.formatType}, ${data.length} bytes` });
  let id: Uint8Array | null = null;
  try {
    tx.digest();
    id = tx.transactionId;
  } catch (e) {
    checks.push({ name: "transaction_id", ok: false, detail: `digest failed: ${(e as Error).message}` });
  }
  if (id !== null) {
    if (options.expectedId !== undefined && !bytesEqual(id, options.expectedId)) {
      checks.push({ name: "transaction_id", ok: false, detail: `the transaction's digest is ${toHex(id)}, not ${toHex(options.expectedId)}` });
    } else checks.push({ name: "transaction_id", ok: true, detail: toHex(id) });
  }
  const message = tx.forIdBytes();
  tx.signatures.forEach((s, i) => {
    let ok = false;
    try {
      ok = s.verifyMessage(message);
    } catch {
      ok = false;
    }
    checks.push({ name: `signature[${i}]`, ok, detail: s.notInitialized ? "empty slot" : ok ? `key type ${s.keyType}` : "does not verify" });
  });
  if (tx.signatures.length === 0) checks.push({ name: "signatures", ok: true, detail: "the transaction has no signatures" });
  for (const holder of [...tx.events, ...tx.relations]) {
    const a = holder.asset;
    if (!a?.assetId || a.assetFileDigest === null || a.assetFileSize === 0) continue;
    const name = `asset_file ${toHex(a.assetId).slice(0, 16)}`;
    const content = options.files?.get(toHex(a.assetId));
    if (content === undefined) {
      checks.push({ name, ok: options.requireFiles !== true, detail: "missing" });
      continue;
    }
    const ok = bytesEqual(a.assetFileDigest, sha256(content).subarray(0, a.assetFileDigest.length));
    checks.push({ name, ok, detail: ok ? `${content.length} bytes` : "content does not match the recorded digest" });
  }
  return { ok: checks.every((c) => c.ok), transaction: tx, checks };
}
