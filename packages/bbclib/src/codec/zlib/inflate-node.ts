/**
 * zlib inflate on Node: the native zlib of node:zlib (several times faster than pako). The
 * output cap is `maxOutputLength`, which Node checks after every 16 KiB of output, so a bomb
 * stops there instead of being inflated in full.
 */
import { inflateSync } from "node:zlib";
import { copyBytes } from "../../bytes.js";
import { BbcLibError } from "../../errors.js";

/** Name of this backend (tests and benchmarks report it). */
export const inflateBackendName = "node:zlib";

interface InflateInfo {
  buffer: Uint8Array;
  engine: { bytesWritten: number };
}

/**
 * Inflates the zlib stream `data`, which must end exactly at the end of the stream. Throws
 * `DECOMPRESSED_TOO_LARGE` as soon as the output would exceed `maxOut` bytes, `DECOMPRESS` when
 * the stream is corrupt, incomplete or followed by other bytes.
 */
export function inflateZlib(data: Uint8Array, maxOut: number): Uint8Array {
  let res: InflateInfo;
  try {
    // maxOutputLength must be at least 1; a 0-byte cap is checked on the result.
    res = inflateSync(data, { maxOutputLength: Math.max(1, Math.min(maxOut, 2 ** 31 - 1)), info: true }) as unknown as InflateInfo;
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === "ERR_BUFFER_TOO_LARGE") throw new BbcLibError("DECOMPRESSED_TOO_LARGE", `zlib: inflated data exceeds ${maxOut} bytes`, { cause: e });
    throw new BbcLibError("DECOMPRESS", `zlib: corrupt or incomplete stream (${(e as Error).message})`, { cause: e });
  }
  const out = res.buffer;
  if (out.length > maxOut) throw new BbcLibError("DECOMPRESSED_TOO_LARGE", `zlib: inflated data exceeds ${maxOut} bytes`);
  if (res.engine.bytesWritten !== data.length) {
    throw new BbcLibError("DECOMPRESS", "zlib: trailing bytes after the compressed stream");
  }
  // A plain Uint8Array (no Buffer leaves this package). Decoded values may be views into it, so
  // a small result is not left holding a whole 16 KiB inflate chunk.
  if (out.buffer.byteLength > 2 * out.byteLength + 4096) return copyBytes(out);
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}
