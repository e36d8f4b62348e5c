/**
 * Move-to-front of the BWT output (libbzip2's generateMTFValues), with runs of front symbols
 * (zeros) written in bijective base 2 using RUNA/RUNB, followed by the end-of-block symbol.
 *
 * libbzip2 keeps the list and searches it. Here a symbol's place in the list is counted instead:
 * the list holds the symbols seen so far, most recent first, then the unseen ones in their
 * initial (ascending) order. So a seen symbol's place is the number of distinct symbols since
 * its last occurrence, which is the number of positions in between that are the latest
 * occurrence of their symbol: one bit per position marks those, and a population count over the
 * gap gives the place. An unseen symbol's place is the count of seen symbols plus the unseen ones
 * below it. On a transaction (~1 KB, ~180 distinct bytes, a symbol 58 places back on average,
 * the first occurrences far deeper) this is about half the work of walking the list.
 */

const RUNA = 0;
const RUNB = 1;

/** Last position of each symbol (by rank), -1 before its first. */
const LAST = new Int32Array(256);
/** Which symbols have occurred (bit s). */
const SEEN = new Int32Array(8);
/** Bit t set iff position t is the latest occurrence of its symbol so far; grown as needed. */
let marks = new Int32Array(64);

/** Number of set bits of a 32-bit word. */
function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

/**
 * Writes the MTF/RLE2 symbols of the block's BWT into `mtfv` and their counts into `mtfFreq`.
 *
 * @param block - the block (nblock bytes).
 * @param ptr - the sorted rotations.
 * @param unseqToSeq - each used byte's rank among the used bytes.
 * @param nInUse - number of used bytes.
 * @param mtfv - receives the symbols; at least nblock + 1 entries.
 * @param mtfFreq - receives the symbol counts; at least nInUse + 2 entries.
 * @returns the number of symbols written (end-of-block included).
 */
export function generateMtfValues(
  block: Uint8Array,
  nblock: number,
  ptr: Int32Array,
  unseqToSeq: Uint8Array,
  nInUse: number,
  mtfv: Uint16Array,
  mtfFreq: Int32Array,
): number {
  const EOB = nInUse + 1;
  mtfFreq.fill(0, 0, EOB + 1);
  const words = (nblock >> 5) + 1;
  if (marks.length < words) marks = new Int32Array(words);
  const mark = marks;
  mark.fill(0, 0, words);
  const last = LAST;
  last.fill(-1);
  const seen = SEEN;
  seen.fill(0);
  let nSeen = 0;
  let front = 0; // the list starts 0, 1, 2, ...

  let wr = 0;
  let zPend = 0;
  for (let t = 0; t < nblock; t++) {
    let j = ptr[t] - 1;
    if (j < 0) j += nblock;
    const s = unseqToSeq[block[j]];
    const l = last[s];
    last[s] = t;
    mark[t >> 5] |= 1 << (t & 31);
    if (s === front) {
      // Still in front: l is t - 1, or s is the unseen 0 at the very start.
      if (l >= 0) mark[l >> 5] &= ~(1 << (l & 31));
      else {
        seen[s >> 5] |= 1 << (s & 31);
        nSeen++;
      }
      zPend++;
      continue;
    }
    front = s;
    if (zPend > 0) {
      wr = putZeroRun(mtfv, mtfFreq, wr, zPend);
      zPend = 0;
    }
    let k: number;
    if (l >= 0) {
      // Marked positions in (l, t): words wa..wb, the ends masked.
      mark[l >> 5] &= ~(1 << (l & 31));
      const from = l + 1;
      const to = t - 1;
      const wa = from >> 5;
      const wb = to >> 5;
      const low = -1 << (from & 31);
      const high = -1 >>> (31 - (to & 31));
      if (wa === wb) {
        k = popcount(mark[wa] & low & high);
      } else {
        k = popcount(mark[wa] & low) + popcount(mark[wb] & high);
        for (let w = wa + 1; w < wb; w++) k += popcount(mark[w]);
      }
    } else {
      // nSeen in front, then the unseen below s.
      const ws = s >> 5;
      let below = popcount(seen[ws] & ((1 << (s & 31)) - 1));
      for (let w = 0; w < ws; w++) below += popcount(seen[w]);
      k = nSeen + s - below;
      seen[ws] |= 1 << (s & 31);
      nSeen++;
    }
    mtfv[wr++] = k + 1;
    mtfFreq[k + 1]++;
  }
  if (zPend > 0) wr = putZeroRun(mtfv, mtfFreq, wr, zPend);
  mtfv[wr++] = EOB;
  mtfFreq[EOB]++;
  return wr;
}

/** Writes a run of `zPend` zeros (>= 1) as RUNA/RUNB digits; returns the new write position. */
function putZeroRun(mtfv: Uint16Array, mtfFreq: Int32Array, wr: number, zPend: number): number {
  zPend--;
  for (;;) {
    const s = zPend & 1 ? RUNB : RUNA;
    mtfv[wr++] = s;
    mtfFreq[s]++;
    if (zPend < 2) return wr;
    zPend = (zPend - 2) >> 1;
  }
}
