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
 * the prefix-doubling fallback sort: rotations are put in order of their first two bytes by two
 * counting passes, and each run that shares them (one to a few rotations; more where ids or
 * field names repeat) is sorted comparing bytes 3-6 as one integer read inline, going on four
 * bytes at a time only where those are equal too. Sorting whole first-byte buckets by comparisons
 * (a closure charging the budget on every call, before) was a fifth of a small compression.
 */

/** Work allowed, in 4-byte comparisons, per byte of the block (plus a constant). */
const WORK_PER_BYTE = 48;
const WORK_BASE = 4096;
/** Runs up to this size are sorted by insertion, larger ones by merging. */
const INSERTION_MAX = 12;

// Scratch reused across calls (grown as needed): the 4-byte keys, the radix / merge buffer, the
// bucket bounds and the first pass's cursors.
let keys = new Int32Array(0);
let tmp = new Int32Array(0);
const count = new Int32Array(256);
const cursor = new Int32Array(256);

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
  if (tmp.length < n) tmp = new Int32Array(Math.max(n, 1024));
  const key = keys;
  const buf = tmp;
  // key[i] = the 4 bytes of the cyclic block starting at i mod n, big-endian, with the sign bit
  // flipped so that signed comparison orders them as unsigned; i < 2n lets a comparison run a
  // full block length from any start without reducing indices modulo n.
  {
    let x = 0;
    for (let k = 2; k >= 0; k--) x = (x >>> 8) | (block[k % n] << 24);
    for (let i = n - 1; i >= 0; i--) {
      x = (x >>> 8) | (block[i] << 24);
      key[i] = x ^ 0x80000000;
    }
    key.copyWithin(n, 0, n);
  }

  // Radix sort by the first two bytes: two stable counting passes, second byte then first. Every
  // byte position of the cyclic block holds the same bytes, so both share one histogram.
  const start = count;
  const pos = cursor;
  start.fill(0);
  for (let i = 0; i < n; i++) start[block[i]]++;
  for (let c = 0, s = 0; c < 256; c++) {
    const k = start[c];
    start[c] = s;
    s += k;
  }
  pos.set(start);
  for (let i = 0; i < n; i++) buf[pos[(key[i] >>> 16) & 0xff]++] = i;
  for (let j = 0; j < n; j++) {
    const i = buf[j];
    ptr[start[block[i]]++] = i;
  }

  // Then each run of equal first two bytes (one or two rotations, mostly) by comparisons.
  const budget: Budget = { work: WORK_BASE + WORK_PER_BYTE * n };
  try {
    let lo = 0;
    let head = key[ptr[0]] >> 16;
    for (let j = 1; j <= n; j++) {
      const h = j < n ? key[ptr[j]] >> 16 : 0x10000;
      if (h === head) continue;
      if (j - lo > 1) sortRange(ptr, buf, key, n, lo, j, budget);
      lo = j;
      head = h;
    }
  } catch (e) {
    if (e === GIVE_UP) return false;
    throw e;
  }
  return true;
}

/** The budget of one block's comparisons (an object: the recursion charges it). */
interface Budget {
  work: number;
}

/**
 * Compares the rotations at a and b, whose first six bytes are equal, from their seventh byte on;
 * throws if they are equal.
 */
function cmpLong(key: Int32Array, n: number, a: number, b: number, budget: Budget): number {
  const end = a + n;
  for (let i = a + 6, j = b + 6; i < end; i += 4, j += 4) {
    const x = key[i];
    const y = key[j];
    if (x !== y) {
      if ((budget.work -= (i - a + 3) >> 2) < 0) throw GIVE_UP;
      return x < y ? -1 : 1;
    }
  }
  throw GIVE_UP;
}

/** Whether the rotation at a sorts before the one at b (both starting with the same two bytes). */
function less(key: Int32Array, n: number, a: number, b: number, budget: Budget): boolean {
  // Bytes 3-6 decide almost always; only equal ones go on to the loop.
  const x = key[a + 2];
  const y = key[b + 2];
  return x !== y ? x < y : cmpLong(key, n, a, b, budget) < 0;
}

/** Sorts ptr[lo..hi) (all starting with the same two bytes). */
function sortRange(ptr: Int32Array, buf: Int32Array, key: Int32Array, n: number, lo: number, hi: number, budget: Budget): void {
  if (hi - lo <= INSERTION_MAX) {
    for (let i = lo + 1; i < hi; i++) {
      const v = ptr[i];
      let j = i;
      while (j > lo && less(key, n, v, ptr[j - 1], budget)) {
        ptr[j] = ptr[j - 1];
        j--;
      }
      ptr[j] = v;
    }
    return;
  }
  const mid = (lo + hi) >> 1;
  sortRange(ptr, buf, key, n, lo, mid, budget);
  sortRange(ptr, buf, key, n, mid, hi, budget);
  if (less(key, n, ptr[mid - 1], ptr[mid], budget)) return; // already in order
  for (let k = lo; k < mid; k++) buf[k] = ptr[k];
  let i = lo;
  let j = mid;
  let o = lo;
  while (i < mid && j < hi) {
    if (less(key, n, ptr[j], buf[i], budget)) ptr[o++] = ptr[j++];
    else ptr[o++] = buf[i++];
  }
  while (i < mid) ptr[o++] = buf[i++];
}
