import { webcrypto } from "node:crypto";
import { BBcAsset, bytesEqual, deserialize, isMsgpackFormat, sha256, toHex, validateTransaction, validateTransactionAsync, type BBcTransaction, type BsonValue, type DeserializeOptions, type ValidationResult } from "@bbc1/bbclib";

/** Asset files as they arrive in `all_asset_files` (asset id → content or nil). */
export type WireAssetFiles = ReadonlyMap<unknown, unknown> | null | undefined;

/** Verdict of {@link validateSubmitted}. */
export type SubmittedVerdict =
  | { ok: true; tx: BBcTransaction; files: Map<string, Uint8Array> }
  | { ok: false; why: "decode" | "signature" | "asset_file" | "asset_id" };

/** Normalises `all_asset_files` to hex asset id → content (nil contents dropped). */
export function normaliseFiles(files: WireAssetFiles): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  if (files instanceof Map) {
    for (const [k, v] of files) {
      if (k instanceof Uint8Array && v instanceof Uint8Array) out.set(toHex(k), v);
    }
  }
  return out;
}

/**
 * Serialized transactions whose signatures were verified, keyed by SHA-256 of the exact bytes:
 * identical bytes give identical verdicts, so a search of a transaction this node inserted (or
 * already checked) does not verify its signatures again. Bounded (oldest entries dropped).
 */
export class VerifiedCache {
  readonly #set = new Set<string>();
  readonly #max: number;
  constructor(max = 100_000) {
    this.#max = max;
  }
  static keyOf(data: Uint8Array): string {
    // a flat 32-character string of the digest's bytes: a hex string built by concatenation is a rope of ~26 V8
    // cons strings (~850 bytes), which made a full cache of 100,000 keys 85 MB of heap; this one is ~5 MB
    const d = sha256(data);
    return Buffer.from(d.buffer, d.byteOffset, d.byteLength).toString("latin1");
  }
  has(key: string): boolean {
    return this.#set.has(key);
  }
  add(key: string): void {
    if (this.#set.has(key)) return;
    if (this.#set.size >= this.#max) {
      const first = this.#set.values().next();
      if (first.done !== true) this.#set.delete(first.value);
    }
    this.#set.add(key);
  }
}

const strict = new TextDecoder("utf-8", { fatal: true });

/** A dictionary body with every byte string that is valid UTF-8 turned back into text. */
function textified(v: BsonValue): BsonValue {
  if (v instanceof Uint8Array) {
    try {
      return strict.decode(v);
    } catch {
      return v;
    }
  }
  if (Array.isArray(v)) return v.map(textified);
  if (v instanceof Map) return new Map([...v].map(([k, x]) => [k, textified(x)]));
  if (v !== null && typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) {
    return Object.fromEntries(Object.entries(v as Record<string, BsonValue>).map(([k, x]) => [k, textified(x)]));
  }
  return v;
}

function digestOf(asset: BBcAsset, body: BBcAsset["assetBody"]): Uint8Array {
  const copy = Object.assign(Object.create(BBcAsset.prototype) as BBcAsset, asset, { assetBody: body });
  return copy.digest();
}

/**
 * Every asset's asset_id is its digest as bbclib computes it: SHA-256 of the asset's digest
 * serialization, `id_length` bytes long. So no one can claim the file slot
 * (asset_group_id/asset_id) of an asset they did not make.
 *
 * One allowance for transactions of the original Python bbclib: in the msgpack formats its text
 * values inside a dictionary body come back as bytes (msgpack raw), while the asset_id was
 * computed over the text; such a body is also tried with its UTF-8 byte strings read as text.
 */
export function assetIdsMatch(tx: BBcTransaction): boolean {
  for (const holder of [...tx.events, ...tx.relations]) {
    const a = holder.asset;
    if (a === null || a.assetId === null) continue;
    if (a.userId === null || a.assetId.length !== tx.idLength || a.assetId.length === 0) return false;
    const n = a.assetId.length;
    let d: Uint8Array;
    try {
      d = digestOf(a, a.assetBody);
    } catch {
      return false;
    }
    if (bytesEqual(d.subarray(0, n), a.assetId)) continue;
    const body = a.assetBody;
    if (!isMsgpackFormat(tx.formatType) || body === null || body instanceof Uint8Array) return false;
    if (!bytesEqual(digestOf(a, textified(body as BsonValue) as BBcAsset["assetBody"]).subarray(0, n), a.assetId)) return false;
  }
  return true;
}

/** Files at least this large are hashed on the thread pool, not on the event loop. */
export const ASYNC_DIGEST_BYTES = 1024 * 1024;

/**
 * The asset-file check of `validate_transaction_object` (every supplied file of an event or
 * relation asset must have the asset's file digest, compared with the full SHA-256 as v1.1.1
 * does), hashing large files off the event loop. True when every file matches.
 */
export async function assetFilesMatch(tx: BBcTransaction, files: ReadonlyMap<string, Uint8Array>): Promise<boolean> {
  for (const holder of [...tx.events, ...tx.relations]) {
    const asset = holder.asset;
    if (!asset?.assetId) continue;
    const content = files.get(toHex(asset.assetId));
    if (content === undefined) continue;
    const digest = content.length >= ASYNC_DIGEST_BYTES ? new Uint8Array(await webcrypto.subtle.digest("SHA-256", content)) : sha256(content);
    if (asset.assetFileDigest === null || !bytesEqual(asset.assetFileDigest, digest)) return false;
  }
  return true;
}

/** Asset-file checks of `validate_transaction_object` without the signature part. */
export function checkAssetFiles(tx: BBcTransaction, files: ReadonlyMap<string, Uint8Array | null>): Pick<ValidationResult, "validAssets" | "invalidAssets"> {
  const validAssets: ValidationResult["validAssets"] = [];
  const invalidAssets: ValidationResult["invalidAssets"] = [];
  for (const holder of [...tx.events, ...tx.relations]) {
    const asset = holder.asset;
    if (!asset?.assetId) continue;
    const content = files.get(toHex(asset.assetId));
    if (content === undefined || content === null) continue;
    const entry: [Uint8Array, Uint8Array] = [holder.assetGroupId as Uint8Array, asset.assetId];
    if (asset.assetFileDigest !== null && bytesEqual(asset.assetFileDigest, sha256(content))) validAssets.push(entry);
    else invalidAssets.push(entry);
  }
  return { validAssets, invalidAssets };
}

/** `validate_transaction_object`, skipping signature checks for bytes in `cache`. */
export function validateStored(tx: BBcTransaction, data: Uint8Array, files: ReadonlyMap<string, Uint8Array | null>, cache?: VerifiedCache): ValidationResult {
  const key = cache !== undefined ? VerifiedCache.keyOf(data) : "";
  if (cache !== undefined && cache.has(key)) return { valid: true, ...checkAssetFiles(tx, files) };
  let r: ValidationResult;
  try {
    r = validateTransaction(tx, files as Map<string, Uint8Array | null>);
  } catch {
    return { valid: false, validAssets: [], invalidAssets: [] };
  }
  if (r.valid && cache !== undefined) cache.add(key);
  return r;
}

/**
 * v1.1.1 `validate_transaction`: deserialize (any format), compute the digest, every signature
 * present must verify and every supplied asset file must match its digest. Transactions with
 * id_length 0 (garbage accepted by the reference's decoder, Quirk C20) are rejected.
 */
export function validateSubmitted(
  data: Uint8Array,
  files: WireAssetFiles,
  skipSignatures = false,
  decoded?: BBcTransaction,
  options?: DeserializeOptions,
): SubmittedVerdict {
  const p = prepare(data, files, decoded, options);
  if (p.ok === false) return p;
  const { tx, fileMap } = p;
  if (skipSignatures) {
    if (checkAssetFiles(tx, fileMap).invalidAssets.length > 0) return { ok: false, why: "asset_file" };
    return { ok: true, tx, files: fileMap };
  }
  let r;
  try {
    r = validateTransaction(tx, fileMap);
  } catch {
    return { ok: false, why: "signature" };
  }
  return verdictOf(r, tx, fileMap);
}

/**
 * {@link validateSubmitted} (signatures checked) with OpenSSL's verification on libuv's thread pool: the event loop
 * reads and commits other inserts meanwhile, and the second core does the curve arithmetic. The same verdicts.
 */
export async function validateSubmittedAsync(data: Uint8Array, files: WireAssetFiles, decoded?: BBcTransaction, options?: DeserializeOptions): Promise<SubmittedVerdict> {
  const p = prepare(data, files, decoded, options);
  if (p.ok === false) return p;
  let r;
  try {
    r = await validateTransactionAsync(p.tx, p.fileMap);
  } catch {
    return { ok: false, why: "signature" };
  }
  return verdictOf(r, p.tx, p.fileMap);
}

/** {@link validateSubmittedDeferred}'s verdict: with `verifySignatures`, everything but the signatures was checked. */
export type DeferredVerdict =
  | Extract<SubmittedVerdict, { ok: false }>
  | { ok: true; tx: BBcTransaction; files: Map<string, Uint8Array>; verifySignatures?: () => boolean; verifySignaturesAsync?: () => Promise<boolean> };

/**
 * {@link validateSubmitted} with the signature check handed back as a closure, for a ledger that runs it while it
 * makes the insert durable ({@link LedgerEntry.verifySignatures}), and as `verifySignaturesAsync` the same check
 * off this thread where the crypto backend can (OpenSSL on libuv's pool), to run while this thread waits for the
 * `fdatasync`. Their verdict is exactly that of `validateTransaction` on the decoded transaction (what the ledger's
 * recovery checks again). The verdict order stays the inline one: when an asset file is bad, the signatures are
 * checked at once, and a bad signature wins.
 */
export function validateSubmittedDeferred(data: Uint8Array, files: WireAssetFiles, decoded?: BBcTransaction, options?: DeserializeOptions): DeferredVerdict {
  const p = prepare(data, files, decoded, options);
  if (p.ok === false) return p;
  const { tx, fileMap } = p;
  let message: Uint8Array;
  try {
    message = tx.forIdBytes();
  } catch {
    return { ok: false, why: "signature" };
  }
  const signatures = tx.signatures;
  const verifySignatures = (): boolean => {
    for (const s of signatures) if (!s.verifyMessage(message)) return false;
    return true;
  };
  if (checkAssetFiles(tx, fileMap).invalidAssets.length > 0) {
    let signed = false;
    try {
      signed = verifySignatures();
    } catch {
      signed = false;
    }
    return { ok: false, why: signed ? "asset_file" : "signature" };
  }
  // bbclib's own check (what recovery runs too), OpenSSL on libuv's pool where the backend can
  const verifySignaturesAsync = async (): Promise<boolean> => (await validateTransactionAsync(tx)).valid;
  return { ok: true, tx, files: fileMap, verifySignatures, verifySignaturesAsync };
}

/** One signature to verify: what {@link BBcSignature.verifyMessage} would check, taken apart for another thread. */
export interface SignatureJob {
  curve: number;
  publicKey: Uint8Array;
  message: Uint8Array;
  signature: Uint8Array;
}

/**
 * {@link validateSubmitted} (signatures checked) with the signatures handed to `verify` (which verifies all of them
 * elsewhere, e.g. on a worker thread in a batch with other transactions'). The same verdicts, in the same order:
 * a bad signature before a bad asset file. `verify` must give {@link BBcSignature.verifyMessage}'s verdict per job.
 */
export async function validateSubmittedWith(
  data: Uint8Array,
  files: WireAssetFiles,
  decoded: BBcTransaction | undefined,
  options: DeserializeOptions | undefined,
  verify: (jobs: SignatureJob[]) => Promise<boolean[]>,
): Promise<SubmittedVerdict> {
  const p = prepare(data, files, decoded, options);
  if (p.ok === false) return p;
  const { tx, fileMap } = p;
  let jobs: SignatureJob[];
  try {
    const message = tx.forIdBytes();
    jobs = [];
    for (const s of tx.signatures) {
      // the checks verifyMessage makes before it reaches the curve
      if (!s.pubkey || !s.signature || (s.keyType !== 1 && s.keyType !== 2)) return { ok: false, why: "signature" };
      jobs.push({ curve: s.keyType, publicKey: s.pubkey, message, signature: s.signature });
    }
  } catch {
    return { ok: false, why: "signature" };
  }
  if (jobs.length > 0 && !(await verify(jobs)).every((ok) => ok)) return { ok: false, why: "signature" };
  if (checkAssetFiles(tx, fileMap).invalidAssets.length > 0) return { ok: false, why: "asset_file" };
  return { ok: true, tx, files: fileMap };
}

/** Decode, digest and the id checks of a submitted transaction: a refusal, or what the signature step needs. */
function prepare(
  data: Uint8Array,
  files: WireAssetFiles,
  decoded: BBcTransaction | undefined,
  options: DeserializeOptions | undefined,
): Extract<SubmittedVerdict, { ok: false }> | { ok: undefined; tx: BBcTransaction; fileMap: Map<string, Uint8Array> } {
  let tx: BBcTransaction;
  try {
    tx = decoded ?? deserialize(data, options);
    tx.digest();
  } catch {
    return { ok: false, why: "decode" };
  }
  if (tx.idLength === 0 || tx.transactionId === null || tx.transactionId.length === 0) return { ok: false, why: "decode" };
  if (!assetIdsMatch(tx)) return { ok: false, why: "asset_id" };
  return { ok: undefined, tx, fileMap: normaliseFiles(files) };
}

function verdictOf(r: ValidationResult, tx: BBcTransaction, fileMap: Map<string, Uint8Array>): SubmittedVerdict {
  if (!r.valid) return { ok: false, why: "signature" };
  if (r.invalidAssets.length > 0) return { ok: false, why: "asset_file" };
  return { ok: true, tx, files: fileMap };
}
