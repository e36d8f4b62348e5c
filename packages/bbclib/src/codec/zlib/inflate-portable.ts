/**
 * zlib inflate for browsers and other non-Node runtimes: pako (a port of stock zlib), fed in
 * slices so that a bomb is stopped within one slice's worth of output past the cap.
 */
import { Inflate, constants } from "pako";
import { BbcLibError } from "../../errors.js";

/** Name of this backend (tests and benchmarks report it). */
export const inflateBackendName = "pako";

/**
 * Inflates the zlib stream `data`, which must end exactly at the end of the stream. Throws
 * `DECOMPRESSED_TOO_LARGE` as soon as the output would exceed `maxOut` bytes, `DECOMPRESS` when
 * the stream is corrupt, incomplete or followed by other bytes.
 */
export function inflateZlib(data: Uint8Array, maxOut: number): Uint8Array {
  const chunks: Uint8Array[] = [];
  let total = 0;
  let tooLarge = false;
  const inf = new Inflate({ chunkSize: 16384 });
  inf.onData = (chunk: Uint8Array) => {
    total += chunk.length;
    if (total > maxOut) tooLarge = true;
    else chunks.push(chunk);
  };
  let ended = false;
  let err = 0;
  inf.onEnd = (status: number) => {
    ended = true;
    err = status;
  };
  // 1 KiB of deflate inflates to at most ~1 MiB, so the cap is noticed within that much output.
  const step = 1024;
  let fed = 0;
  while (fed < data.length && !tooLarge && !ended) {
    const end = Math.min(fed + step, data.length);
    inf.push(data.subarray(fed, end), end === data.length ? constants.Z_FINISH : false);
    fed = end;
  }
  if (tooLarge) throw new BbcLibError("DECOMPRESSED_TOO_LARGE", `zlib: inflated data exceeds ${maxOut} bytes`);
  if (!ended || err !== constants.Z_OK || inf.err) {
    throw new BbcLibError("DECOMPRESS", `zlib: corrupt or incomplete stream${inf.msg ? ` (${inf.msg})` : ""}`);
  }
  const strm = (inf as unknown as { strm?: { avail_in: number } }).strm;
  if (fed < data.length || (strm && strm.avail_in > 0)) {
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
