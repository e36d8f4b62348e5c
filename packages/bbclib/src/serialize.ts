/**
 * serialize / deserialize: dispatch on BBcFormat to the binary or dictionary codec.
 */
import { BbcLibError } from "./errors.js";
import { binaryAssetDigestInput, binaryForIdBytes, decodeTransactionBinary, encodeTransactionBinary } from "./codec/binary.js";
import { decodeTransactionDict, dictAssetDigestInput, dictForIdBytes, encodeTransactionDict } from "./codec/dict.js";
import { isFormatType, type BBcAsset, type BBcTransaction } from "./model.js";

/** Options of {@link deserialize}. */
export interface DeserializeOptions {
  /** Largest serialized input accepted (default 64 MiB). */
  maxBytes?: number;
  /** Largest decompressed body of a bz2/zlib format (default 64 MiB). */
  maxInflatedBytes?: number;
  /**
   * BSON/msgpack formats: demand exactly the keys, in the order, that v1.1.1 writes (default
   * true), so a decoded transaction always re-encodes to the bytes it came from. `false`
   * behaves like v1.1.1's `dict.get(key, default)`: unknown keys are ignored, missing ones
   * take their defaults.
   */
  strictKeys?: boolean;
}

const DEFAULT_MAX_BYTES = 64 * 1024 * 1024;

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
 * computing its digest and transaction id. Throws BbcLibError on any malformed input.
 */
export function deserialize(data: Uint8Array, options: DeserializeOptions = {}): BBcTransaction {
  if (!(data instanceof Uint8Array)) throw new BbcLibError("BAD_ARGUMENT", "deserialize expects a Uint8Array");
  const max = options.maxBytes ?? DEFAULT_MAX_BYTES;
  if (data.length > max) throw new BbcLibError("TOO_LARGE", `serialized transaction of ${data.length} bytes exceeds the limit of ${max}`);
  if (data.length < 2) throw new BbcLibError("TRUNCATED", `serialized transaction of ${data.length} byte(s) lacks its 2-byte format prefix`);
  const f = data[0] | (data[1] << 8);
  if (!isFormatType(f)) throw new BbcLibError("UNKNOWN_FORMAT", `unknown format prefix ${f} (expected 0-6)`);
  return f === 0 ? decodeTransactionBinary(data) : decodeTransactionDict(data, f, options.maxInflatedBytes, options.strictKeys ?? true);
}
