/**
 * zlib and bz2 wrappers of the compressed BBcFormats.
 *
 * Deflate: v1.1.1 used CPython's `zlib.compress(dat)` (level 6 on stock zlib). Node's bundled
 * zlib is Chromium's fork and emits different (valid) streams, so we use pako, a faithful
 * port of stock zlib, which reproduces the reference bytes exactly (checked by the vectors).
 */
import { Deflate, Inflate, constants } from "pako";
import { BbcLibError } from "../errors.js";
import { bzip2Compress, bzip2Decompress } from "./bzip2.js";

/** Largest decompressed transaction accepted by default (64 MiB): guards against bombs. */
export const DEFAULT_MAX_INFLATED_BYTES = 64 * 1024 * 1024;

/** zlib.compress(data) of CPython: zlib header, level 6, default strategy. */
export function zlibCompress(data: Uint8Array): Uint8Array {
  const d = new Deflate({ level: 6 });
  d.push(data, true);
  if (d.err) throw new BbcLibError("ENCODE", `zlib compression failed: ${d.msg}`);
  return d.result as Uint8Array;
}

/** Inflate a zlib stream; throws BbcLibError("DECOMPRESS") when corrupt, incomplete or larger than `maxBytes`. */
export function zlibDecompress(data: Uint8Array, maxBytes = DEFAULT_MAX_INFLATED_BYTES): Uint8Array {
  const chunks: Uint8Array[] = [];
  let total = 0;
  let tooLarge = false;
  const inf = new Inflate({ chunkSize: 16384 });
  inf.onData = (chunk: Uint8Array) => {
    total += chunk.length;
    if (total > maxBytes) tooLarge = true;
    else chunks.push(chunk);
  };
  let ended = false;
  let err = 0;
  inf.onEnd = (status: number) => {
    ended = true;
    err = status;
  };
  // Feed in slices so a bomb is noticed before it is fully inflated.
  const step = 4096;
  for (let off = 0; off < data.length && !tooLarge && !ended; off += step) {
    inf.push(data.subarray(off, Math.min(off + step, data.length)), off + step >= data.length ? constants.Z_FINISH : false);
  }
  if (tooLarge) throw new BbcLibError("DECOMPRESS", `zlib: inflated data exceeds ${maxBytes} bytes`);
  if (!ended || err !== constants.Z_OK || inf.err) {
    throw new BbcLibError("DECOMPRESS", `zlib: corrupt or incomplete stream${inf.msg ? ` (${inf.msg})` : ""}`);
  }
  const strm = (inf as unknown as { strm?: { avail_in: number } }).strm;
  if (strm && strm.avail_in > 0) {
    throw new BbcLibError("DECOMPRESS", "zlib: trailing bytes after the compressed stream");
  }
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(total);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

/** bz2.compress(data, compresslevel=1) of CPython (libbzip2), byte for byte. */
export function bz2Compress(data: Uint8Array): Uint8Array {
  return bzip2Compress(data, 1);
}

/** Decompress a bz2 stream; throws BbcLibError("DECOMPRESS") when corrupt or larger than `maxBytes`. */
export function bz2Decompress(data: Uint8Array, maxBytes = DEFAULT_MAX_INFLATED_BYTES): Uint8Array {
  return bzip2Decompress(data, { maxOutputBytes: maxBytes });
}
