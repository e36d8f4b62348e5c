/**
 * Burrows-Wheeler block sorting exactly as libbzip2 1.0.x orders rotations.
 *
 * For most blocks any correct sort gives the same output, but when a block
 * contains identical rotations (periodic data) the position chosen for
 * rotation 0 (`origPtr`) depends on how ties are broken. To emit the same bytes
 * as libbzip2, this module follows its two strategies step by step:
 *
 * - the "fallback" sort (blocks of fewer than 10000 bytes, or when the main
 *   sort runs over its work budget): bucket refinement by doubling prefix
 *   lengths, with a three-way quicksort using a fixed pseudo-random pivot
 *   choice and an insertion sort for small ranges;
 * - the "main" sort: two-byte radix buckets, big buckets processed from the
 *   smallest upwards, three-way radix quicksort and Shell sort on the unsorted
 *   small buckets, derivation of other buckets by scanning finished ones, and
 *   the 16-bit "quadrant" ranks that speed up later comparisons. Every
 *   comparison loop charges a work budget; when the budget runs out the result
 *   is discarded and the fallback sort is used instead.
 */

import { sortDistinctRotations } from "./rotsort.js";

/** Bytes repeated after the end of the block so comparisons can run past it. */
export const BZ_N_OVERSHOOT = 34;

const SETMASK = 1 << 21;
const CLEARMASK = ~SETMASK;

const MAIN_QSORT_SMALL_THRESH = 20;
const MAIN_QSORT_DEPTH_THRESH = 14; // radix depth (2) + quicksort depth (12)
const QSORT_STACK_SIZE = 100;
const FALLBACK_QSORT_SMALL_THRESH = 10;
const MAIN_SORT_MIN_BLOCK = 10000;

const SHELL_INCS = [1, 4, 13, 40, 121, 364, 1093, 3280, 9841, 29524, 88573, 265720, 797161, 2391484];

function internal(message: string): Error {
  return new Error(`bzip2 block sort invariant violated: ${message}`);
}

/** Insertion sorts (stride 4, then stride 1) of fmap[lo..hi] by eclass. */
function fallbackSimpleSort(fmap: Int32Array, eclass: Int32Array, lo: number, hi: number): void {
  if (lo === hi) return;
  if (hi - lo > 3) {
    for (let i = hi - 4; i >= lo; i--) {
      const tmp = fmap[i];
      const ec = eclass[tmp];
      let j = i + 4;
      for (; j <= hi && ec > eclass[fmap[j]]; j += 4) fmap[j - 4] = fmap[j];
      fmap[j - 4] = tmp;
    }
  }
  for (let i = hi - 1; i >= lo; i--) {
    const tmp = fmap[i];
    const ec = eclass[tmp];
    let j = i + 1;
    for (; j <= hi && ec > eclass[fmap[j]]; j++) fmap[j - 1] = fmap[j];
    fmap[j - 1] = tmp;
  }
}

/** Three-way quicksort of fmap[loSt..hiSt] by eclass, pivot picked by a tiny LCG. */
function fallbackQSort3(
  fmap: Int32Array,
  eclass: Int32Array,
  loSt: number,
  hiSt: number,
  stackLo: Int32Array,
  stackHi: Int32Array,
): void {
  let r = 0;
  let sp = 0;
  stackLo[sp] = loSt;
  stackHi[sp] = hiSt;
  sp++;

  while (sp > 0) {
    if (sp >= QSORT_STACK_SIZE - 1) throw internal("fallback stack overflow");
    sp--;
    const lo = stackLo[sp];
    const hi = stackHi[sp];
    if (hi - lo < FALLBACK_QSORT_SMALL_THRESH) {
      fallbackSimpleSort(fmap, eclass, lo, hi);
      continue;
    }

    r = (r * 7621 + 1) % 32768;
    const r3 = r % 3;
    const med = r3 === 0 ? eclass[fmap[lo]] : r3 === 1 ? eclass[fmap[(lo + hi) >> 1]] : eclass[fmap[hi]];

    let unLo = lo;
    let ltLo = lo;
    let unHi = hi;
    let gtHi = hi;
    let tmp: number;

    for (;;) {
      while (unLo <= unHi) {
        const n = eclass[fmap[unLo]] - med;
        if (n === 0) {
          tmp = fmap[unLo];
          fmap[unLo] = fmap[ltLo];
          fmap[ltLo] = tmp;
          ltLo++;
          unLo++;
          continue;
        }
        if (n > 0) break;
        unLo++;
      }
      while (unLo <= unHi) {
        const n = eclass[fmap[unHi]] - med;
        if (n === 0) {
          tmp = fmap[unHi];
          fmap[unHi] = fmap[gtHi];
          fmap[gtHi] = tmp;
          gtHi--;
          unHi--;
          continue;
        }
        if (n < 0) break;
        unHi--;
      }
      if (unLo > unHi) break;
      tmp = fmap[unLo];
      fmap[unLo] = fmap[unHi];
      fmap[unHi] = tmp;
      unLo++;
      unHi--;
    }

    if (gtHi < ltLo) continue;

    let n = Math.min(ltLo - lo, unLo - ltLo);
    for (let a = lo, b = unLo - n; n > 0; a++, b++, n--) {
      tmp = fmap[a];
      fmap[a] = fmap[b];
      fmap[b] = tmp;
    }
    let m = Math.min(hi - gtHi, gtHi - unHi);
    for (let a = unLo, b = hi - m + 1; m > 0; a++, b++, m--) {
      tmp = fmap[a];
      fmap[a] = fmap[b];
      fmap[b] = tmp;
    }

    n = lo + unLo - ltLo - 1;
    m = hi - (gtHi - unHi) + 1;

    if (n - lo > hi - m) {
      stackLo[sp] = lo;
      stackHi[sp] = n;
      sp++;
      stackLo[sp] = m;
      stackHi[sp] = hi;
      sp++;
    } else {
      stackLo[sp] = m;
      stackHi[sp] = hi;
      sp++;
      stackLo[sp] = lo;
      stackHi[sp] = n;
      sp++;
    }
  }
}

/**
 * Sorts the rotations of block[0..nblock-1] into fmap by repeatedly doubling
 * the compared prefix length (Manber-Myers style), libbzip2's fallback order.
 */
export function fallbackSort(fmap: Int32Array, block: Uint8Array, nblock: number): void {
  const ftab = new Int32Array(257);
  const eclass = new Int32Array(nblock);
  // One flag per position: set where a bucket of equal-so-far rotations begins.
  // 64 extra entries hold alternating sentinels that stop the bucket scan.
  const bucketHead = new Uint8Array(nblock + 64);
  const stackLo = new Int32Array(QSORT_STACK_SIZE);
  const stackHi = new Int32Array(QSORT_STACK_SIZE);

  for (let i = 0; i < nblock; i++) ftab[block[i]]++;
  for (let i = 1; i < 257; i++) ftab[i] += ftab[i - 1];
  for (let i = 0; i < nblock; i++) {
    const j = block[i];
    const k = ftab[j] - 1;
    ftab[j] = k;
    fmap[k] = i;
  }

  for (let i = 0; i < 256; i++) bucketHead[ftab[i]] = 1;
  for (let i = 0; i < 32; i++) {
    bucketHead[nblock + 2 * i] = 1;
    bucketHead[nblock + 2 * i + 1] = 0;
  }

  let H = 1;
  for (;;) {
    let j = 0;
    for (let i = 0; i < nblock; i++) {
      if (bucketHead[i]) j = i;
      let k = fmap[i] - H;
      if (k < 0) k += nblock;
      eclass[k] = j;
    }

    let nNotDone = 0;
    let r = -1;
    for (;;) {
      // Find the next bucket [l, r] holding more than one rotation.
      let k = r + 1;
      while (bucketHead[k]) k++;
      const l = k - 1;
      if (l >= nblock) break;
      while (!bucketHead[k]) k++;
      r = k - 1;
      if (r >= nblock) break;

      if (r > l) {
        nNotDone += r - l + 1;
        fallbackQSort3(fmap, eclass, l, r, stackLo, stackHi);
        let cc = -1;
        for (let i = l; i <= r; i++) {
          const cc1 = eclass[fmap[i]];
          if (cc !== cc1) {
            bucketHead[i] = 1;
            cc = cc1;
          }
        }
      }
    }

    H *= 2;
    if (H > nblock || nNotDone === 0) break;
  }
}

/**
 * libbzip2's main sort. `block` and `quadrant` must have at least
 * nblock + BZ_N_OVERSHOOT entries. Returns the work budget left; a negative
 * value means the sort was abandoned and `ptr` must be recomputed.
 */
function mainSort(ptr: Int32Array, block: Uint8Array, nblock: number, budgetInit: number): number {
  const quadrant = new Uint16Array(nblock + BZ_N_OVERSHOOT);
  const ftab = new Int32Array(65537);
  const runningOrder = new Int32Array(256);
  const bigDone = new Uint8Array(256);
  const copyStart = new Int32Array(256);
  const copyEnd = new Int32Array(256);
  const stackLo = new Int32Array(QSORT_STACK_SIZE);
  const stackHi = new Int32Array(QSORT_STACK_SIZE);
  const stackD = new Int32Array(QSORT_STACK_SIZE);
  const nextLo = [0, 0, 0];
  const nextHi = [0, 0, 0];
  const nextD = [0, 0, 0];
  let budget = budgetInit;

  /** Is the rotation starting at i1 greater than the one at i2? Charges the budget. */
  const mainGtU = (i1: number, i2: number): boolean => {
    let c1: number;
    let c2: number;
    for (let t = 0; t < 12; t++) {
      c1 = block[i1];
      c2 = block[i2];
      if (c1 !== c2) return c1 > c2;
      i1++;
      i2++;
    }
    let k = nblock + 8;
    do {
      for (let t = 0; t < 8; t++) {
        c1 = block[i1];
        c2 = block[i2];
        if (c1 !== c2) return c1 > c2;
        const s1 = quadrant[i1];
        const s2 = quadrant[i2];
        if (s1 !== s2) return s1 > s2;
        i1++;
        i2++;
      }
      if (i1 >= nblock) i1 -= nblock;
      if (i2 >= nblock) i2 -= nblock;
      k -= 8;
      budget--;
    } while (k >= 0);
    return false;
  };

  /** Shell sort of ptr[lo..hi] comparing rotations from depth d. */
  const mainSimpleSort = (lo: number, hi: number, d: number): void => {
    const bigN = hi - lo + 1;
    if (bigN < 2) return;
    let hp = 0;
    while (SHELL_INCS[hp] < bigN) hp++;
    hp--;
    for (; hp >= 0; hp--) {
      const h = SHELL_INCS[hp];
      for (let i = lo + h; i <= hi; i++) {
        const v = ptr[i];
        let j = i;
        while (mainGtU(ptr[j - h] + d, v + d)) {
          ptr[j] = ptr[j - h];
          j -= h;
          if (j <= lo + h - 1) break;
        }
        ptr[j] = v;
        // libbzip2 tests the budget every third insertion; once it is negative
        // the whole main sort is discarded, so testing earlier changes nothing.
        if (budget < 0) return;
      }
    }
  };

  /** Three-way radix quicksort of ptr[loSt..hiSt] on the byte at depth dSt and beyond. */
  const mainQSort3 = (loSt: number, hiSt: number, dSt: number): void => {
    let sp = 0;
    stackLo[sp] = loSt;
    stackHi[sp] = hiSt;
    stackD[sp] = dSt;
    sp++;

    while (sp > 0) {
      if (sp >= QSORT_STACK_SIZE - 2) throw internal("main stack overflow");
      sp--;
      const lo = stackLo[sp];
      const hi = stackHi[sp];
      const d = stackD[sp];

      if (hi - lo < MAIN_QSORT_SMALL_THRESH || d > MAIN_QSORT_DEPTH_THRESH) {
        mainSimpleSort(lo, hi, d);
        if (budget < 0) return;
        continue;
      }

      // Median of three bytes.
      let a = block[ptr[lo] + d];
      let b = block[ptr[hi] + d];
      const c = block[ptr[(lo + hi) >> 1] + d];
      if (a > b) {
        const t = a;
        a = b;
        b = t;
      }
      if (b > c) {
        b = c;
        if (a > b) b = a;
      }
      const med = b;

      let unLo = lo;
      let ltLo = lo;
      let unHi = hi;
      let gtHi = hi;
      let tmp: number;

      for (;;) {
        while (unLo <= unHi) {
          const n = block[ptr[unLo] + d] - med;
          if (n === 0) {
            tmp = ptr[unLo];
            ptr[unLo] = ptr[ltLo];
            ptr[ltLo] = tmp;
            ltLo++;
            unLo++;
            continue;
          }
          if (n > 0) break;
          unLo++;
        }
        while (unLo <= unHi) {
          const n = block[ptr[unHi] + d] - med;
          if (n === 0) {
            tmp = ptr[unHi];
            ptr[unHi] = ptr[gtHi];
            ptr[gtHi] = tmp;
            gtHi--;
            unHi--;
            continue;
          }
          if (n < 0) break;
          unHi--;
        }
        if (unLo > unHi) break;
        tmp = ptr[unLo];
        ptr[unLo] = ptr[unHi];
        ptr[unHi] = tmp;
        unLo++;
        unHi--;
      }

      if (gtHi < ltLo) {
        stackLo[sp] = lo;
        stackHi[sp] = hi;
        stackD[sp] = d + 1;
        sp++;
        continue;
      }

      let n = Math.min(ltLo - lo, unLo - ltLo);
      for (let x = lo, y = unLo - n; n > 0; x++, y++, n--) {
        tmp = ptr[x];
        ptr[x] = ptr[y];
        ptr[y] = tmp;
      }
      let m = Math.min(hi - gtHi, gtHi - unHi);
      for (let x = unLo, y = hi - m + 1; m > 0; x++, y++, m--) {
        tmp = ptr[x];
        ptr[x] = ptr[y];
        ptr[y] = tmp;
      }

      n = lo + unLo - ltLo - 1;
      m = hi - (gtHi - unHi) + 1;

      nextLo[0] = lo;
      nextHi[0] = n;
      nextD[0] = d;
      nextLo[1] = m;
      nextHi[1] = hi;
      nextD[1] = d;
      nextLo[2] = n + 1;
      nextHi[2] = m - 1;
      nextD[2] = d + 1;

      // Push the three partitions so that the smallest is processed first.
      const swapNext = (p: number, q: number): void => {
        let t = nextLo[p];
        nextLo[p] = nextLo[q];
        nextLo[q] = t;
        t = nextHi[p];
        nextHi[p] = nextHi[q];
        nextHi[q] = t;
        t = nextD[p];
        nextD[p] = nextD[q];
        nextD[q] = t;
      };
      if (nextHi[0] - nextLo[0] < nextHi[1] - nextLo[1]) swapNext(0, 1);
      if (nextHi[1] - nextLo[1] < nextHi[2] - nextLo[2]) swapNext(1, 2);
      if (nextHi[0] - nextLo[0] < nextHi[1] - nextLo[1]) swapNext(0, 1);

      for (let p = 0; p < 3; p++) {
        stackLo[sp] = nextLo[p];
        stackHi[sp] = nextHi[p];
        stackD[sp] = nextD[p];
        sp++;
      }
    }
  };

  // Two-byte frequency table; quadrant is already zero.
  let j = block[0] << 8;
  for (let i = nblock - 1; i >= 0; i--) {
    j = (j >> 8) | (block[i] << 8);
    ftab[j]++;
  }
  for (let i = 0; i < BZ_N_OVERSHOOT; i++) block[nblock + i] = block[i % nblock];

  // Radix sort on the first two bytes; afterwards ftab[x] is where bucket x starts.
  for (let i = 1; i <= 65536; i++) ftab[i] += ftab[i - 1];
  let s = block[0] << 8;
  for (let i = nblock - 1; i >= 0; i--) {
    s = (s >> 8) | (block[i] << 8);
    const k = ftab[s] - 1;
    ftab[s] = k;
    ptr[k] = i;
  }

  // Order the big (first byte) buckets from least to most full, with the same
  // Shell sort as libbzip2 so that equal sizes keep the same relative order.
  const bigFreq = (b: number): number => ftab[(b + 1) << 8] - ftab[b << 8];
  for (let i = 0; i < 256; i++) runningOrder[i] = i;
  {
    let h = 1;
    do h = 3 * h + 1;
    while (h <= 256);
    do {
      h = (h / 3) | 0;
      for (let i = h; i <= 255; i++) {
        const vv = runningOrder[i];
        const fv = bigFreq(vv);
        let jj = i;
        while (bigFreq(runningOrder[jj - h]) > fv) {
          runningOrder[jj] = runningOrder[jj - h];
          jj -= h;
          if (jj <= h - 1) break;
        }
        runningOrder[jj] = vv;
      }
    } while (h !== 1);
  }

  for (let i = 0; i <= 255; i++) {
    const ss = runningOrder[i];

    // Step 1: quicksort the small buckets [ss, j] not already derived.
    for (let jj = 0; jj <= 255; jj++) {
      if (jj !== ss) {
        const sb = (ss << 8) + jj;
        if (!(ftab[sb] & SETMASK)) {
          const lo = ftab[sb] & CLEARMASK;
          const hi = (ftab[sb + 1] & CLEARMASK) - 1;
          if (hi > lo) {
            mainQSort3(lo, hi, 2);
            if (budget < 0) return budget;
          }
        }
        ftab[sb] |= SETMASK;
      }
    }

    if (bigDone[ss]) throw internal("big bucket sorted twice");

    // Step 2: the sorted big bucket [ss] gives the order of every small
    // bucket [t, ss] (including [ss, ss]) by looking one byte back.
    for (let jj = 0; jj <= 255; jj++) {
      copyStart[jj] = ftab[(jj << 8) + ss] & CLEARMASK;
      copyEnd[jj] = (ftab[(jj << 8) + ss + 1] & CLEARMASK) - 1;
    }
    for (let jj = ftab[ss << 8] & CLEARMASK; jj < copyStart[ss]; jj++) {
      let k = ptr[jj] - 1;
      if (k < 0) k += nblock;
      const c1 = block[k];
      if (!bigDone[c1]) ptr[copyStart[c1]++] = k;
    }
    for (let jj = (ftab[(ss + 1) << 8] & CLEARMASK) - 1; jj > copyEnd[ss]; jj--) {
      let k = ptr[jj] - 1;
      if (k < 0) k += nblock;
      const c1 = block[k];
      if (!bigDone[c1]) ptr[copyEnd[c1]--] = k;
    }
    if (!(copyStart[ss] - 1 === copyEnd[ss] || (copyStart[ss] === 0 && copyEnd[ss] === nblock - 1))) {
      throw internal("bucket copy mismatch");
    }
    for (let jj = 0; jj <= 255; jj++) ftab[(jj << 8) + ss] |= SETMASK;

    // Step 3: record ranks within this big bucket for faster later comparisons.
    bigDone[ss] = 1;
    if (i < 255) {
      const bbStart = ftab[ss << 8] & CLEARMASK;
      const bbSize = (ftab[(ss + 1) << 8] & CLEARMASK) - bbStart;
      let shifts = 0;
      while (bbSize >> shifts > 65534) shifts++;
      for (let jj = bbSize - 1; jj >= 0; jj--) {
        const a2update = ptr[bbStart + jj];
        const qVal = (jj >> shifts) & 0xffff;
        quadrant[a2update] = qVal;
        if (a2update < BZ_N_OVERSHOOT) quadrant[a2update + nblock] = qVal;
      }
    }
  }
  return budget;
}

/** Default libbzip2 work factor (what CPython passes: 0, meaning 30). */
export const DEFAULT_WORK_FACTOR = 30;

/**
 * Sorts all rotations of block[0..nblock-1] as libbzip2's BZ2_blockSort does.
 * `block` must have room for nblock + BZ_N_OVERSHOOT bytes (the tail is
 * overwritten). Returns the sorted rotation start positions (in `scratch` when it has room
 * for nblock entries) and the index at which rotation 0 ended up (`origPtr`).
 */
export function blockSort(
  block: Uint8Array,
  nblock: number,
  workFactor: number = DEFAULT_WORK_FACTOR,
  scratch?: Int32Array,
): { ptr: Int32Array; origPtr: number } {
  const ptr = scratch !== undefined && scratch.length >= nblock ? scratch : new Int32Array(nblock);
  if (nblock < MAIN_SORT_MIN_BLOCK) {
    // Any correct order is libbzip2's unless two rotations are equal (see rotsort.ts).
    if (!sortDistinctRotations(ptr, block, nblock)) fallbackSort(ptr, block, nblock);
  } else {
    const wf = Math.min(100, Math.max(1, workFactor));
    const budget = mainSort(ptr, block, nblock, nblock * (((wf - 1) / 3) | 0));
    if (budget < 0) fallbackSort(ptr, block, nblock);
  }
  let origPtr = -1;
  for (let i = 0; i < nblock; i++) {
    if (ptr[i] === 0) {
      origPtr = i;
      break;
    }
  }
  if (origPtr < 0) throw internal("rotation 0 missing");
  return { ptr, origPtr };
}
