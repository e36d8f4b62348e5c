/**
 * Pure TypeScript bzip2 (no Node built-ins, no WebAssembly, no dependencies).
 *
 * The compressor reproduces libbzip2 1.0.x byte for byte, i.e. the output of
 * CPython's `bz2.compress(data, compresslevel)`, which BBc-1 v1.1.1 uses
 * (level 1) for its BSON+bz2 and msgpack+bz2 transaction formats.
 * The decompressor validates everything it reads and caps its output size.
 *
 * @module
 */

import { BbcLibError } from "../errors.js";
import { compressStream } from "./bzip2/compress.js";
import { Bzip2Failure, decompressStreams } from "./bzip2/decompress.js";

/** Default cap on decompressed size: 64 MiB. */
export const BZIP2_DEFAULT_MAX_OUTPUT_BYTES = 64 * 1024 * 1024;

/** Options for {@link bzip2Decompress}. */
export interface Bzip2DecompressOptions {
  /**
   * Largest output accepted, in bytes (default 64 MiB). Decoding stops with a
   * `DECOMPRESSED_TOO_LARGE` error as soon as the output would grow past it (or a block
   * holds more symbols than could fit in the room left).
   */
  maxOutputBytes?: number;
}

/**
 * Compresses `data` into one bzip2 stream, byte-identical to libbzip2 1.0.x /
 * CPython `bz2.compress(data, blockSize100k)`.
 *
 * @param data - bytes to compress (any length).
 * @param blockSize100k - block size in units of 100 000 bytes, 1..9 (default 9,
 *   like `bz2.compress`). BBc-1 uses 1.
 * @returns the compressed stream (`BZh` header, blocks, end-of-stream marker).
 * @throws BbcLibError `BAD_ARGUMENT` if `data` is not a Uint8Array or the block
 *   size is not an integer in 1..9.
 */
export function bzip2Compress(data: Uint8Array, blockSize100k: number = 9): Uint8Array {
  if (!(data instanceof Uint8Array)) {
    throw new BbcLibError("BAD_ARGUMENT", "bzip2Compress: data must be a Uint8Array");
  }
  if (!Number.isInteger(blockSize100k) || blockSize100k < 1 || blockSize100k > 9) {
    throw new BbcLibError("BAD_ARGUMENT", `bzip2Compress: blockSize100k must be an integer 1..9, got ${String(blockSize100k)}`);
  }
  return compressStream(data, blockSize100k);
}

/**
 * Decompresses bzip2 data. Like CPython's `bz2.decompress`, concatenated
 * streams are decoded one after another, bytes after a complete stream that do
 * not form a valid stream are ignored, and empty input gives empty output.
 * Blocks in the obsolete "randomised" format of bzip2 0.9.0 are rejected.
 *
 * @param data - compressed bytes.
 * @param options - `maxOutputBytes` caps the decompressed size (default 64 MiB).
 * @returns the decompressed bytes.
 * @throws BbcLibError `DECOMPRESS` if the data is truncated or corrupt (bad magic,
 *   impossible table or length, CRC mismatch), `DECOMPRESSED_TOO_LARGE` as soon as it
 *   would inflate past `maxOutputBytes`;
 *   `BAD_ARGUMENT` if the arguments are unusable.
 */
export function bzip2Decompress(data: Uint8Array, options?: Bzip2DecompressOptions): Uint8Array {
  if (!(data instanceof Uint8Array)) {
    throw new BbcLibError("BAD_ARGUMENT", "bzip2Decompress: data must be a Uint8Array");
  }
  const max = options?.maxOutputBytes ?? BZIP2_DEFAULT_MAX_OUTPUT_BYTES;
  if (typeof max !== "number" || !Number.isSafeInteger(max) || max < 0) {
    throw new BbcLibError("BAD_ARGUMENT", `bzip2Decompress: maxOutputBytes must be a non-negative integer, got ${String(max)}`);
  }
  try {
    return decompressStreams(data, max);
  } catch (e) {
    if (e instanceof Bzip2Failure) throw new BbcLibError(e.kind === "limit" ? "DECOMPRESSED_TOO_LARGE" : "DECOMPRESS", e.message, { cause: e });
    // Anything else is a bug in this decoder or an allocation failure; keep the
    // promise that only BbcLibError escapes, but chain the original.
    throw new BbcLibError("DECOMPRESS", `bzip2 decoding failed: ${e instanceof Error ? e.message : String(e)}`, {
      cause: e,
    });
  }
}
