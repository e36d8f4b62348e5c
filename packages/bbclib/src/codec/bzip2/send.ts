/**
 * libbzip2's sendMTFValues: chooses up to six Huffman tables for the block's MTF symbols (four
 * refinement iterations over groups of 50 symbols), then writes the symbol map, the selectors,
 * the delta-coded code lengths and the coded symbols.
 */

import type { BitSink } from "./bitsink.js";
import { assignCodes, makeCodeLengths, MAX_ALPHA_SIZE } from "./huffman.js";

const N_GROUPS = 6;
const G_SIZE = 50;
const N_ITERS = 4;
const MAX_CODE_LEN = 17;
const LESSER_ICOST = 0;
const GREATER_ICOST = 15;

// Tables reused across blocks and calls (allocating them was a tenth of a small compression).
const LEN: Uint8Array[] = Array.from({ length: N_GROUPS }, () => new Uint8Array(MAX_ALPHA_SIZE));
const RFREQ: Int32Array[] = Array.from({ length: N_GROUPS }, () => new Int32Array(MAX_ALPHA_SIZE));
/**
 * Every table's lengths side by side, two to a word: symbol v's word k holds tables 2k and 2k+1
 * in its low and high 16 bits. A group's six costs are then summed with three additions per
 * symbol, as libbzip2 does: 50 lengths of at most 17 never carry into the other half.
 */
const LEN_PACKED = new Int32Array(MAX_ALPHA_SIZE * 3);
/** Each table's code and length of every symbol in one word (code << 5 | length). */
const CODE_LEN: Int32Array[] = Array.from({ length: N_GROUPS }, () => new Int32Array(MAX_ALPHA_SIZE));
const COST = new Int32Array(N_GROUPS);
const SEL_POS = new Uint8Array(N_GROUPS);
let selectorScratch = new Uint8Array(1024);
let selectorMtfScratch = new Uint8Array(1024);
/** The selectors of the previous iteration of the current block. */
let prevSelectorScratch = new Uint8Array(1024);

/**
 * The bits of a code-length change of d (-20..20): |d| times 10 (up) or 11 (down), then the 0
 * that moves on to the next symbol; index d + 20. Changes of 12 and more take over 24 bits and
 * are written in pieces.
 */
const DELTA_NBITS = new Uint8Array(41);
const DELTA_BITS = new Int32Array(41);
for (let d = -20; d <= 20; d++) {
  const a = Math.abs(d);
  DELTA_NBITS[d + 20] = 2 * a + 1;
  let v = 0;
  for (let k = 0; k < a && a <= 11; k++) v = (v << 2) | (d > 0 ? 2 : 3);
  DELTA_BITS[d + 20] = v << 1;
}

/**
 * Chooses and writes the block's Huffman tables, selectors and coded symbols.
 *
 * @param w - output; the block header is already written.
 * @param inUse - which byte values occur in the block.
 * @param mtfv - the MTF symbols (nMTF of them, end-of-block last).
 * @param nInUse - number of used byte values.
 * @param mtfFreq - count of each symbol in mtfv.
 */
export function sendMtfValues(w: BitSink, inUse: Uint8Array, mtfv: Uint16Array, nMTF: number, nInUse: number, mtfFreq: Int32Array): void {
  const alphaSize = nInUse + 2;
  const len = LEN;
  const rfreq = RFREQ;
  for (let t = 0; t < N_GROUPS; t++) len[t].fill(GREATER_ICOST);

  const nGroups = nMTF < 200 ? 2 : nMTF < 600 ? 3 : nMTF < 1200 ? 4 : nMTF < 2400 ? 5 : 6;

  // Initial tables: split the symbol range into nGroups slices of roughly
  // equal total frequency; each table favours one slice.
  {
    let nPart = nGroups;
    let remF = nMTF;
    let gs = 0;
    while (nPart > 0) {
      const tFreq = (remF / nPart) | 0;
      let ge = gs - 1;
      let aFreq = 0;
      while (aFreq < tFreq && ge < alphaSize - 1) {
        ge++;
        aFreq += mtfFreq[ge];
      }
      if (ge > gs && nPart !== nGroups && nPart !== 1 && (nGroups - nPart) % 2 === 1) {
        aFreq -= mtfFreq[ge];
        ge--;
      }
      const l = len[nPart - 1];
      for (let v = 0; v < alphaSize; v++) l[v] = v >= gs && v <= ge ? LESSER_ICOST : GREATER_ICOST;
      nPart--;
      gs = ge + 1;
      remF -= aFreq;
    }
  }

  const maxSelectors = Math.ceil(nMTF / G_SIZE);
  if (selectorScratch.length < maxSelectors) {
    selectorScratch = new Uint8Array(maxSelectors);
    selectorMtfScratch = new Uint8Array(maxSelectors);
  }
  const selector = selectorScratch;
  const nSelectors = maxSelectors;
  const packed = LEN_PACKED;
  const cost = COST;
  const l0 = len[0];
  const l1 = len[1];
  const l2 = len[2];
  const l3 = len[3];
  const l4 = len[4];
  const l5 = len[5];

  const prevSelector = prevSelectorScratch.length >= maxSelectors ? prevSelectorScratch : (prevSelectorScratch = new Uint8Array(maxSelectors));
  let repack = 0x3f;
  for (let iter = 0; iter < N_ITERS; iter++) {
    // Only the words of the tables rebuilt in the previous iteration change.
    if (repack & 0x03) for (let v = 0; v < alphaSize; v++) packed[3 * v] = l0[v] | (l1[v] << 16);
    if (repack & 0x0c) for (let v = 0; v < alphaSize; v++) packed[3 * v + 1] = l2[v] | (l3[v] << 16);
    if (repack & 0x30) for (let v = 0; v < alphaSize; v++) packed[3 * v + 2] = l4[v] | (l5[v] << 16);
    // The tables whose groups change (bit t for table t); every table in the first iteration.
    let changed = iter === 0 ? (1 << nGroups) - 1 : 0;
    let sel = 0;
    for (let gs = 0; gs < nMTF; gs += G_SIZE) {
      const ge = gs + G_SIZE < nMTF ? gs + G_SIZE : nMTF;
      let c01 = 0;
      let c23 = 0;
      let c45 = 0;
      if (nGroups > 4) {
        for (let i = gs; i < ge; i++) {
          const o = 3 * mtfv[i];
          c01 += packed[o];
          c23 += packed[o + 1];
          c45 += packed[o + 2];
        }
      } else {
        for (let i = gs; i < ge; i++) {
          const o = 3 * mtfv[i];
          c01 += packed[o];
          c23 += packed[o + 1];
        }
      }
      cost[0] = c01 & 0xffff;
      cost[1] = c01 >>> 16;
      cost[2] = c23 & 0xffff;
      cost[3] = c23 >>> 16;
      cost[4] = c45 & 0xffff;
      cost[5] = c45 >>> 16;
      // Cheapest table; ties go to the lowest table number.
      let bc = cost[0];
      let bt = 0;
      for (let t = 1; t < nGroups; t++) {
        if (cost[t] < bc) {
          bc = cost[t];
          bt = t;
        }
      }
      const before = prevSelector[sel];
      if (bt !== before) changed |= (1 << bt) | (1 << before);
      selector[sel] = bt;
      prevSelector[sel++] = bt;
    }
    // A table's frequencies are the sum over the groups that chose it, so a table whose groups
    // are those of the previous iteration has the same frequencies, hence the same lengths
    // (the construction depends on nothing else), and is neither counted nor rebuilt. When no
    // group changed table, the next iteration would pick the same again: the rest is skipped.
    // On a transaction-sized block this leaves out half to three quarters of the Huffman work,
    // which is most of libbzip2's own time there.
    if (changed === 0) break;
    for (let t = 0; t < nGroups; t++) if (changed & (1 << t)) rfreq[t].fill(0, 0, alphaSize);
    for (let g = 0, gs = 0; gs < nMTF; g++, gs += G_SIZE) {
      const t = selector[g];
      if ((changed & (1 << t)) === 0) continue;
      const ge = gs + G_SIZE < nMTF ? gs + G_SIZE : nMTF;
      const f = rfreq[t];
      for (let i = gs; i < ge; i++) f[mtfv[i]]++;
    }
    for (let t = 0; t < nGroups; t++) if (changed & (1 << t)) makeCodeLengths(len[t], rfreq[t], alphaSize, MAX_CODE_LEN);
    repack = changed;
  }

  // Move-to-front of the selectors.
  const selectorMtf = selectorMtfScratch;
  {
    const pos = SEL_POS;
    for (let i = 0; i < nGroups; i++) pos[i] = i;
    for (let i = 0; i < nSelectors; i++) {
      const llI = selector[i];
      let j = 0;
      let tmp = pos[0];
      while (llI !== tmp) {
        j++;
        const tmp2 = tmp;
        tmp = pos[j];
        pos[j] = tmp2;
      }
      pos[0] = tmp;
      selectorMtf[i] = j;
    }
  }

  for (let t = 0; t < nGroups; t++) {
    const l = len[t];
    assignCodes(CODE_LEN[t], l, alphaSize);
  }

  // Room for everything below: map 16 + 256 bits, 18 bits of counts, selectors of at most 6
  // bits, lengths of at most 5 + 33 bits per symbol, symbols of at most 17 bits.
  w.reserve((290 + 6 * nSelectors + nGroups * (5 + 33 * alphaSize) + 17 * nMTF + 7) >> 3);
  const out = w.buf;
  let pos = w.pos;
  let bits = w.bits;
  let live = w.live;

  // Symbol map: which 16-byte ranges are used, then which bytes within them.
  let used16 = 0;
  for (let i = 0; i < 16; i++) {
    let m = 0;
    for (let j = 0; j < 16; j++) m = (m << 1) | inUse[i * 16 + j];
    if (m !== 0) used16 |= 0x8000 >>> i;
  }
  bits = (bits << 16) | used16;
  live += 16;
  while (live >= 8) out[pos++] = bits >>> (live -= 8);
  for (let i = 0; i < 16; i++) {
    if ((used16 & (0x8000 >>> i)) === 0) continue;
    let m = 0;
    for (let j = 0; j < 16; j++) m = (m << 1) | inUse[i * 16 + j];
    bits = (bits << 16) | m;
    live += 16;
    while (live >= 8) out[pos++] = bits >>> (live -= 8);
  }

  bits = (bits << 3) | nGroups;
  live += 3;
  bits = (bits << 15) | nSelectors;
  live += 15;
  while (live >= 8) out[pos++] = bits >>> (live -= 8);
  // Selector j (0..5) as j ones and a zero.
  for (let i = 0; i < nSelectors; i++) {
    const j = selectorMtf[i];
    bits = (bits << (j + 1)) | ((1 << (j + 1)) - 2);
    live += j + 1;
    while (live >= 8) out[pos++] = bits >>> (live -= 8);
  }

  // Code lengths, delta coded: 10 = +1, 11 = -1, 0 = next symbol.
  for (let t = 0; t < nGroups; t++) {
    const l = len[t];
    let curr = l[0];
    bits = (bits << 5) | curr;
    live += 5;
    while (live >= 8) out[pos++] = bits >>> (live -= 8);
    for (let i = 0; i < alphaSize; i++) {
      let d = l[i] - curr;
      curr = l[i];
      // Changes past 11 (rare) go out in steps of 11 first.
      while (d > 11 || d < -11) {
        const step = d > 0 ? 11 : -11;
        bits = (bits << 22) | (DELTA_BITS[step + 20] >>> 1);
        live += 22;
        while (live >= 8) out[pos++] = bits >>> (live -= 8);
        d -= step;
      }
      bits = (bits << DELTA_NBITS[d + 20]) | DELTA_BITS[d + 20];
      live += DELTA_NBITS[d + 20];
      while (live >= 8) out[pos++] = bits >>> (live -= 8);
    }
  }

  // The symbols, each group of 50 with its table.
  for (let g = 0, gs = 0; gs < nMTF; g++, gs += G_SIZE) {
    const ge = gs + G_SIZE < nMTF ? gs + G_SIZE : nMTF;
    const cl = CODE_LEN[selector[g]];
    for (let i = gs; i < ge; i++) {
      const e = cl[mtfv[i]];
      const n = e & 31;
      bits = (bits << n) | (e >>> 5);
      live += n;
      while (live >= 8) out[pos++] = bits >>> (live -= 8);
    }
  }

  w.pos = pos;
  w.bits = bits & ((1 << live) - 1);
  w.live = live;
}
