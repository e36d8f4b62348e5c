/**
 * Move-to-front of the BWT output (libbzip2's generateMTFValues), with runs of front symbols
 * (zeros) written in bijective base 2 using RUNA/RUNB, followed by the end-of-block symbol.
 */

const RUNA = 0;
const RUNB = 1;

/** The move-to-front list (256 symbols, 4 to a word). */
const MTF_LIST = new Int32Array(64);
/** Masks of the bytes of a word below / above byte b (0..3). */
const BYTES_BELOW = Int32Array.of(0, 0xff, 0xffff, 0xffffff);
const BYTES_ABOVE = Int32Array.of(~0xff, ~0xffff, ~0xffffff, 0);

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
  // The list, four symbols to a word: position p is byte p & 3 (from the low end) of word p >> 2.
  // A symbol is searched for a word at a time (a zero-byte test on word ^ symbol × 0x01010101)
  // and the words before it shifted up by a byte on the way, as libbzip2 shifts its bytes.
  const yy = MTF_LIST;
  yy.fill(0);
  for (let i = 0; i < nInUse; i++) yy[i >> 2] |= i << (8 * (i & 3));

  // wr and zPend stay locals of this loop: a closure flushing the zeros had them captured, so
  // every increment went through memory.
  let wr = 0;
  let zPend = 0;
  for (let i = 0; i < nblock; i++) {
    let j = ptr[i] - 1;
    if (j < 0) j += nblock;
    const llI = unseqToSeq[block[j]];
    let x = yy[0];
    if ((x & 0xff) === llI) {
      zPend++;
      continue;
    }
    if (zPend > 0) {
      wr = putZeroRun(mtfv, mtfFreq, wr, zPend);
      zPend = 0;
    }
    const pattern = llI * 0x01010101;
    let w = 0;
    let carry = llI;
    let found: number;
    for (;;) {
      const y = x ^ pattern;
      // Nonzero iff y has a zero byte; its lowest set bit marks the first one.
      found = (y - 0x01010101) & ~y & 0x80808080;
      if (found !== 0) break;
      yy[w] = (x << 8) | carry;
      carry = x >>> 24;
      x = yy[++w];
    }
    const b = (31 - Math.clz32(found & -found)) >> 3;
    yy[w] = (x & BYTES_ABOVE[b]) | ((x & BYTES_BELOW[b]) << 8) | carry;
    const k = (w << 2) + b;
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
