/**
 * A fast sort of the rotations of a small block, for blocks where the order is unique.
 *
 * When no two rotations of a block are equal, every correct sort puts them in the same order,
 * so libbzip2's own fallback sort (blocksort.ts, which a block under 10,000 bytes always
 * gets) can be replaced by any faster one without changing a byte of output. Two rotations
 * are equal only if the whole block is a repetition of a shorter string; then libbzip2's
 * tie-breaking decides which of the equal rotations is rotation 0 (`origPtr`), and the
 * caller must follow it step by step. This sort notices that case (a comparison that runs
 * the whole block length without a difference) and gives up, as it does when the
 * comparisons grow long (highly repetitive but non-periodic data), so that its cost stays a
 * small multiple of the block length before the exact sort takes over.
 *
 * On a transaction-sized block (~1 KB, mostly distinct bytes) it is several times faster than
 * the prefix-doubling fallback sort: rotations are bucketed by their first byte, and each
 * bucket is sorted comparing four bytes at a time.
 */

/** Work allowed, in 4-byte comparisons, per byte of the block (plus a constant). */
const WORK_PER_BYTE = 48;
const WORK_BASE = 4096;
/** Buckets up to this size are sorted by insertion, larger ones by merging. */
const INSERTION_MAX = 12;

// Scratch reused across calls (grown as needed): the 4-byte keys and the merge buffer.
let keys = new Int32Array(0);
let tmp = new Int32Array(0);
const bucketStart = new Int32Array(257);

/** Outcome of a comparison that found two equal rotations, or ran over the work budget. */
class GiveUp extends Error {}
const GIVE_UP = new GiveUp("rotation sort gives up");

/**
 * Sorts the rotations of block[0..nblock-1] into `ptr` (their start positions, ascending).
 *
 * @param ptr - receives the sorted start positions; at least `nblock` entries.
 * @param block - the block; only the first `nblock` bytes are read.
 * @param nblock - block length, at least 1.
 * @returns false, with `ptr` in an unspecified state, if two rotations are equal or the work
 *   budget ran out; the caller must then sort with libbzip2's algorithm.
 */
export function sortDistinctRotations(ptr: Int32Array, block: Uint8Array, nblock: number): boolean {
  const n = nblock;
  if (keys.length < 2 * n) keys = new Int32Array(Math.max(2 * n, 2048));
  const key = keys;
  // key[i] = the 4 bytes of the cyclic block starting at i mod n, big-endian, with the sign bit
  // flipped so that signed comparison orders them as unsigned; i < 2n lets a comparison run a
  // full block length from any start without reducing indices modulo n.
  {
    let src = (2 * n + 2) % n;
    let x = 0;
    for (let j = 2 * n + 2; j >= 0; j--) {
      x = (x >>> 8) | (block[src] << 24);
      if (j < 2 * n) key[j] = x ^ 0x80000000;
      src = src === 0 ? n - 1 : src - 1;
    }
  }

  // Bucket by the first byte.
  const start = bucketStart;
  start.fill(0);
  for (let i = 0; i < n; i++) start[block[i] + 1]++;
  for (let c = 1; c <= 256; c++) start[c] += start[c - 1];
  for (let i = 0; i < n; i++) ptr[start[block[i]]++] = i;
  // start[c] is now the end of bucket c, i.e. the start of bucket c + 1.

  let work = WORK_BASE + WORK_PER_BYTE * n;
  /** Compares the rotations at a and b from their second byte on; throws if they are equal. */
  const cmp = (a: number, b: number): number => {
    const end = a + n;
    let i = a + 1;
    let j = b + 1;
    for (; i < end; i += 4, j += 4) {
      const x = key[i];
      const y = key[j];
      if (x !== y) {
        work -= (i - a + 7) >> 2;
        if (work < 0) throw GIVE_UP;
        return x < y ? -1 : 1;
      }
    }
    throw GIVE_UP;
  };

  if (tmp.length < n) tmp = new Int32Array(Math.max(n, 1024));
  const buf = tmp;

  /** Sorts ptr[lo..hi) (all starting with the same byte). */
  const sortRange = (lo: number, hi: number): void => {
    if (hi - lo <= INSERTION_MAX) {
      for (let i = lo + 1; i < hi; i++) {
        const v = ptr[i];
        let j = i;
        while (j > lo && cmp(ptr[j - 1], v) > 0) {
          ptr[j] = ptr[j - 1];
          j--;
        }
        ptr[j] = v;
      }
      return;
    }
    const mid = (lo + hi) >> 1;
    sortRange(lo, mid);
    sortRange(mid, hi);
    if (cmp(ptr[mid - 1], ptr[mid]) < 0) return; // already in order
    for (let k = lo; k < mid; k++) buf[k] = ptr[k];
    let i = lo;
    let j = mid;
    let o = lo;
    while (i < mid && j < hi) {
      if (cmp(buf[i], ptr[j]) < 0) ptr[o++] = buf[i++];
      else ptr[o++] = ptr[j++];
    }
    while (i < mid) ptr[o++] = buf[i++];
  };

  try {
    let lo = 0;
    for (let c = 0; c < 256; c++) {
      const hi = start[c];
      if (hi - lo > 1) sortRange(lo, hi);
      lo = hi;
    }
  } catch (e) {
    if (e === GIVE_UP) return false;
    throw e;
  }
  return true;
}
