/**
 * zlib and bz2 wrappers of the compressed BBcFormats, with decompression caps.
 *
 * Deflate: v1.1.1 used CPython's `zlib.compress(dat)` (level 6 on stock zlib). Node's bundled
 * zlib is Chromium's fork and emits different (valid) streams, so compression stays portable:
 * our own deflate (zlib/deflate.ts) up to 16 KiB, pako (a faithful port of stock zlib) beyond;
 * both reproduce the reference bytes exactly (checked by the vectors and against each other). Inflate has one result whatever the implementation: on Node it is the native
 * zlib, elsewhere pako (package.json `imports` `#zlib-inflate`).
 *
 * Decompression is capped twice: an absolute size, and a ratio to the compressed size (beyond
 * a floor that leaves room for small, very repetitive transactions). Both stop the inflate
 * early, never inflate fully and then check.
 */
import { Deflate } from "pako";
import { inflateZlib } from "#zlib-inflate";
import { BbcLibError } from "../errors.js";
import { bzip2Compress, bzip2Decompress } from "./bzip2.js";
import { FAST_DEFLATE_MAX, deflateSmall } from "./zlib/deflate.js";
import { copyBytes } from "../bytes.js";

/** Default absolute cap on a decompressed transaction body (64 MiB, the default largest message). */
export const DEFAULT_MAX_INFLATED_BYTES = 64 * 1024 * 1024;
/**
 * Default cap on decompressed size / compressed size (32). Transactions of real data compress
 * 1.2-5× in zlib and bz2; a bomb compresses ~1000× (zlib) or far more (bz2).
 */
export const DEFAULT_MAX_INFLATE_RATIO = 32;
/** Decompressed bytes allowed whatever the ratio (256 KiB): room for small, repetitive bodies. */
export const INFLATE_RATIO_FLOOR = 256 * 1024;

/** Caps of one decompression. */
export interface InflateLimits {
  /** Absolute cap on the decompressed size in bytes (default {@link DEFAULT_MAX_INFLATED_BYTES}). */
  maxBytes?: number;
  /**
   * Cap on decompressed size / compressed size (default {@link DEFAULT_MAX_INFLATE_RATIO}); the
   * first {@link INFLATE_RATIO_FLOOR} bytes are always allowed. `Infinity` disables it.
   */
  maxRatio?: number;
}

/**
 * The most bytes a `compressedLength`-byte stream may decompress to under `limits`:
 * `min(maxBytes, max(INFLATE_RATIO_FLOOR, maxRatio × compressedLength))`. A number is taken as
 * `maxBytes` alone (no ratio), as in earlier versions of this API.
 */
export function inflateAllowance(compressedLength: number, limits?: number | InflateLimits): number {
  if (typeof limits === "number") return checkLimit("maxBytes", limits);
  const maxBytes = checkLimit("maxBytes", limits?.maxBytes ?? DEFAULT_MAX_INFLATED_BYTES);
  const ratio = checkLimit("maxRatio", limits?.maxRatio ?? DEFAULT_MAX_INFLATE_RATIO);
  return Math.min(maxBytes, Math.max(INFLATE_RATIO_FLOOR, Math.floor(ratio * compressedLength)));
}

function checkLimit(name: string, v: number): number {
  if (typeof v !== "number" || Number.isNaN(v) || v < 0) {
    throw new BbcLibError("BAD_ARGUMENT", `decompression limit ${name} must be a number >= 0, got ${String(v)}`);
  }
  return v;
}

/** zlib.compress(data) of CPython: zlib header, level 6, default strategy. */
export function zlibCompress(data: Uint8Array): Uint8Array {
  if (data.length <= FAST_DEFLATE_MAX) return copyBytes(deflateSmall(data));
  const d = new Deflate({ level: 6 });
  d.push(data, true);
  if (d.err) throw new BbcLibError("ENCODE", `zlib compression failed: ${d.msg}`);
  return d.result as Uint8Array;
}

/**
 * Inflate a zlib stream. Throws BbcLibError `DECOMPRESSED_TOO_LARGE` beyond the allowance of
 * `limits` (see {@link inflateAllowance}; default 64 MiB and 32×), `DECOMPRESS` when the stream
 * is corrupt, incomplete or followed by other bytes.
 */
export function zlibDecompress(data: Uint8Array, limits?: number | InflateLimits): Uint8Array {
  if (!(data instanceof Uint8Array)) throw new BbcLibError("BAD_ARGUMENT", "zlibDecompress: data must be a Uint8Array");
  return inflateZlib(data, inflateAllowance(data.length, limits));
}

/** bz2.compress(data, compresslevel=1) of CPython (libbzip2), byte for byte. */
export function bz2Compress(data: Uint8Array): Uint8Array {
  return bzip2Compress(data, 1);
}

/**
 * Decompress a bz2 stream. Throws BbcLibError `DECOMPRESSED_TOO_LARGE` beyond the allowance of
 * `limits` (see {@link inflateAllowance}), `DECOMPRESS` when corrupt or truncated.
 */
export function bz2Decompress(data: Uint8Array, limits?: number | InflateLimits): Uint8Array {
  if (!(data instanceof Uint8Array)) throw new BbcLibError("BAD_ARGUMENT", "bz2Decompress: data must be a Uint8Array");
  return bzip2Decompress(data, { maxOutputBytes: inflateAllowance(data.length, limits) });
}
