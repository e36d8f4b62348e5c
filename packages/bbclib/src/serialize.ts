/**
 * serialize / deserialize: dispatch on BBcFormat to the binary or dictionary codec.
 */
import { BbcLibError } from "./errors.js";
import { binaryAssetDigestInput, binaryForIdBytes, decodeTransactionBinary, encodeTransactionBinary } from "./codec/binary.js";
import { decodeTransactionDict, dictAssetDigestInput, dictForIdBytes, encodeTransactionDict } from "./codec/dict.js";
import { DEFAULT_MAX_INFLATE_RATIO, DEFAULT_MAX_INFLATED_BYTES } from "./codec/compress.js";
import type { DecodeBudget } from "./codec/budget.js";
import { isFormatType, type BBcAsset, type BBcTransaction } from "./model.js";

/** Default largest serialized transaction {@link deserialize} accepts: 64 MiB. */
export const DEFAULT_MAX_TRANSACTION_BYTES = 64 * 1024 * 1024;

/**
 * Options of {@link deserialize}. The defaults protect a caller that passes none: see
 * {@link DEFAULT_DESERIALIZE_OPTIONS}.
 */
export interface DeserializeOptions {
  /** Largest serialized input accepted (default 64 MiB); beyond it `TOO_LARGE`. */
  maxBytes?: number;
  /**
   * Largest decompressed body of a bz2/zlib format (default 64 MiB); beyond it
   * `DECOMPRESSED_TOO_LARGE`, raised while inflating, as soon as the output passes the cap.
   */
  maxInflatedBytes?: number;
  /**
   * Largest decompressed / compressed size of a bz2/zlib format (default 32), the first 256 KiB
   * always allowed; beyond it `DECOMPRESSED_TOO_LARGE`. `Infinity` disables the ratio.
   */
  maxInflateRatio?: number;
  /**
   * Element and allocation budgets of the decode (defaults `DEFAULT_DECODE_BUDGET`), proportional
   * to the (decompressed) body; beyond them `DECODE_BUDGET`.
   */
  decodeBudget?: DecodeBudget;
  /**
   * BSON/msgpack formats: demand exactly the keys, in the order, that v1.1.1 writes (default
   * true), so a decoded transaction always re-encodes to the bytes it came from. `false`
   * behaves like v1.1.1's `dict.get(key, default)`: unknown keys are ignored, missing ones
   * take their defaults.
   */
  strictKeys?: boolean;
}

/** The option values {@link deserialize} uses for what a caller leaves out. */
export const DEFAULT_DESERIALIZE_OPTIONS = Object.freeze({
  maxBytes: DEFAULT_MAX_TRANSACTION_BYTES,
  maxInflatedBytes: DEFAULT_MAX_INFLATED_BYTES,
  maxInflateRatio: DEFAULT_MAX_INFLATE_RATIO,
  strictKeys: true,
});

/** Serialize `tx` in its formatType, 2-byte little-endian format prefix included. */
export function serializeTransaction(tx: BBcTransaction): Uint8Array {
  if (!isFormatType(tx.formatType)) throw new BbcLibError("UNKNOWN_FORMAT", `unknown format_type ${tx.formatType}`);
  return tx.formatType === 0 ? encodeTransactionBinary(tx) : encodeTransactionDict(tx);
}

/** The bytes whose SHA-256 is the transaction digest. */
export function transactionForIdBytes(tx: BBcTransaction): Uint8Array {
  if (!isFormatType(tx.formatType)) throw new BbcLibError("UNKNOWN_FORMAT", `unknown format_type ${tx.formatType}`);
  return tx.formatType === 0 ? binaryForIdBytes(tx) : dictForIdBytes(tx);
}

/** The bytes whose SHA-256 is the asset id (depends on the asset's own formatType, as in v1.1.1). */
export function assetDigestInput(asset: BBcAsset): Uint8Array {
  return asset.formatType === 0 ? binaryAssetDigestInput(asset) : dictAssetDigestInput(asset);
}

/**
 * Deserialize a transaction from any of the seven formats (read from its 2-byte prefix),
 * computing its digest and transaction id. Throws BbcLibError on any malformed input, and on
 * input beyond the limits of `options` (`TOO_LARGE`, `DECOMPRESSED_TOO_LARGE`, `DECODE_BUDGET`).
 */
export function deserialize(data: Uint8Array, options: DeserializeOptions = {}): BBcTransaction {
  if (!(data instanceof Uint8Array)) throw new BbcLibError("BAD_ARGUMENT", "deserialize expects a Uint8Array");
  const max = options.maxBytes ?? DEFAULT_MAX_TRANSACTION_BYTES;
  if (data.length > max) throw new BbcLibError("TOO_LARGE", `serialized transaction of ${data.length} bytes exceeds the limit of ${max}`);
  if (data.length < 2) throw new BbcLibError("TRUNCATED", `serialized transaction of ${data.length} byte(s) lacks its 2-byte format prefix`);
  const f = data[0] | (data[1] << 8);
  if (!isFormatType(f)) throw new BbcLibError("UNKNOWN_FORMAT", `unknown format prefix ${f} (expected 0-6)`);
  if (f === 0) return decodeTransactionBinary(data, options.decodeBudget);
  return decodeTransactionDict(data, f, options);
}
