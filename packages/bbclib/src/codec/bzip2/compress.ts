/**
 * bzip2 compressor producing the same bytes as libbzip2 1.0.x driven the way
 * CPython's `bz2.compress(data, level)` drives it (BZ_RUN over all input, then
 * BZ_FINISH; work factor 30).
 */

import { BZ_N_OVERSHOOT, blockSort } from "./blocksort.js";
import { CRC_INIT, CRC_TABLE_I32, combineCrc } from "./crc.js";
import { assignCodes, makeCodeLengths, MAX_ALPHA_SIZE } from "./huffman.js";

const RUNA = 0;
const RUNB = 1;
const N_GROUPS = 6;
const G_SIZE = 50;
const N_ITERS = 4;
const MAX_CODE_LEN = 17;
const LESSER_ICOST = 0;
const GREATER_ICOST = 15;

/** Big-endian bit sink with a growable byte buffer. */
class BitWriter {
  private buf: Uint8Array;
  private pos = 0;
  private bits = 0; // pending bits, right-aligned
  private live = 0; // number of pending bits (< 8 between calls)

  constructor(initialSize: number) {
    this.buf = new Uint8Array(Math.max(64, initialSize));
  }

  private grow(): void {
    const next = new Uint8Array(this.buf.length * 2);
    next.set(this.buf);
    this.buf = next;
  }

  /** Appends the low `n` bits of `v` (n <= 24), most significant first. */
  write(n: number, v: number): void {
    this.bits = (this.bits << n) | v;
    this.live += n;
    while (this.live >= 8) {
      if (this.pos === this.buf.length) this.grow();
      this.live -= 8;
      this.buf[this.pos++] = this.bits >>> this.live;
    }
    this.bits &= (1 << this.live) - 1;
  }

  write32(v: number): void {
    this.write(16, (v >>> 16) & 0xffff);
    this.write(16, v & 0xffff);
  }

  /** Pads the last byte with zero bits and returns the bytes written. */
  finish(): Uint8Array {
    if (this.live > 0) this.write(8 - this.live, 0);
    return this.buf.subarray(0, this.pos);
  }
}

/** The move-to-front list of generateMtfValues (256 symbols, 4 to a word). */
const MTF_LIST = new Int32Array(64);
/** Masks of the bytes of a word below / above byte b (0..3). */
const BYTES_BELOW = Int32Array.of(0, 0xff, 0xffff, 0xffffff);
const BYTES_ABOVE = Int32Array.of(~0xff, ~0xffff, ~0xffffff, 0);

/** Per-block state shared by the encoding stages. */
interface BlockInput {
  block: Uint8Array;
  nblock: number;
  inUse: Uint8Array;
}

/**
 * Move-to-front of the BWT output, with runs of front symbols (zeros) written
 * in bijective base 2 using RUNA/RUNB, followed by the end-of-block symbol.
 */
function generateMtfValues(
  input: BlockInput,
  ptr: Int32Array,
  mtfFreq: Int32Array,
): { mtfv: Uint16Array; nMTF: number; nInUse: number } {
  const { block, nblock, inUse } = input;
  const unseqToSeq = new Uint8Array(256);
  let nInUse = 0;
  for (let i = 0; i < 256; i++) {
    if (inUse[i]) unseqToSeq[i] = nInUse++;
  }
  const EOB = nInUse + 1;
  mtfFreq.fill(0, 0, EOB + 1);

  const mtfv = new Uint16Array(nblock + 1);
  // The list, four symbols to a word: position p is byte p & 3 (from the low end) of word p >> 2.
  // A symbol is searched for a word at a time (a zero-byte test on word ^ symbol × 0x01010101)
  // and the words before it shifted up by a byte on the way, as libbzip2 shifts its bytes.
  const yy = MTF_LIST;
  yy.fill(0);
  for (let i = 0; i < nInUse; i++) yy[i >> 2] |= i << (8 * (i & 3));

  let wr = 0;
  let zPend = 0;
  const flushZeros = (): void => {
    zPend--;
    for (;;) {
      if (zPend & 1) {
        mtfv[wr++] = RUNB;
        mtfFreq[RUNB]++;
      } else {
        mtfv[wr++] = RUNA;
        mtfFreq[RUNA]++;
      }
      if (zPend < 2) break;
      zPend = (zPend - 2) >> 1;
    }
    zPend = 0;
  };

  for (let i = 0; i < nblock; i++) {
    let j = ptr[i] - 1;
    if (j < 0) j += nblock;
    const llI = unseqToSeq[block[j]];
    let x = yy[0];
    if ((x & 0xff) === llI) {
      zPend++;
      continue;
    }
    if (zPend > 0) flushZeros();
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
  if (zPend > 0) flushZeros();
  mtfv[wr++] = EOB;
  mtfFreq[EOB]++;
  return { mtfv, nMTF: wr, nInUse };
}

const LEN: Uint8Array[] = Array.from({ length: N_GROUPS }, () => new Uint8Array(MAX_ALPHA_SIZE));
const RFREQ: Int32Array[] = Array.from({ length: N_GROUPS }, () => new Int32Array(MAX_ALPHA_SIZE));
const CODE: Int32Array[] = Array.from({ length: N_GROUPS }, () => new Int32Array(MAX_ALPHA_SIZE));
/** Each table's frequencies in the previous selector iteration of the current block. */
const PREV_RFREQ: Int32Array[] = Array.from({ length: N_GROUPS }, () => new Int32Array(MAX_ALPHA_SIZE));
const LEN_ALL = new Uint8Array(MAX_ALPHA_SIZE * N_GROUPS);

/** Chooses and transmits the Huffman tables, selectors and coded symbols. */
function sendMtfValues(
  w: BitWriter,
  inUse: Uint8Array,
  mtfv: Uint16Array,
  nMTF: number,
  nInUse: number,
  mtfFreq: Int32Array,
): void {
  const alphaSize = nInUse + 2;
  // Tables reused across blocks and calls (allocating them was a tenth of a small compression).
  const len = LEN;
  const rfreq = RFREQ;
  const code = CODE;
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

  const lenAll = LEN_ALL;
  const maxSelectors = Math.ceil(nMTF / G_SIZE);
  const selector = new Uint8Array(maxSelectors);
  const cost = new Int32Array(N_GROUPS);
  let nSelectors = 0;

  for (let iter = 0; iter < N_ITERS; iter++) {
    for (let t = 0; t < nGroups; t++) rfreq[t].fill(0);
    nSelectors = 0;
    // Every table's lengths side by side (stride N_GROUPS), so one group's costs are summed in
    // one pass over its symbols (libbzip2 packs them in 16-bit halves for the same reason).
    for (let t = 0; t < nGroups; t++) {
      const l = len[t];
      for (let v = 0; v < alphaSize; v++) lenAll[v * N_GROUPS + t] = l[v];
    }
    for (let gs = 0; gs < nMTF; gs += G_SIZE) {
      const ge = Math.min(gs + G_SIZE, nMTF);
      let c0 = 0;
      let c1 = 0;
      let c2 = 0;
      let c3 = 0;
      let c4 = 0;
      let c5 = 0;
      for (let i = gs; i < ge; i++) {
        const o = mtfv[i] * N_GROUPS;
        c0 += lenAll[o];
        c1 += lenAll[o + 1];
        c2 += lenAll[o + 2];
        c3 += lenAll[o + 3];
        c4 += lenAll[o + 4];
        c5 += lenAll[o + 5];
      }
      cost[0] = c0;
      cost[1] = c1;
      cost[2] = c2;
      cost[3] = c3;
      cost[4] = c4;
      cost[5] = c5;
      // Cheapest table; ties go to the lowest table number.
      let bc = 999999999;
      let bt = -1;
      for (let t = 0; t < nGroups; t++) {
        if (cost[t] < bc) {
          bc = cost[t];
          bt = t;
        }
      }
      selector[nSelectors++] = bt;
      const f = rfreq[bt];
      for (let i = gs; i < ge; i++) f[mtfv[i]]++;
    }
    // A table whose frequencies are those of the previous iteration gets the same lengths again
    // (the construction depends on nothing else), so it is not rebuilt. When no table changed,
    // the next iteration would pick the same selectors and frequencies: the rest is skipped.
    // On a transaction-sized block this leaves out half to three quarters of the Huffman work,
    // which is most of libbzip2's own time there.
    let changed = false;
    for (let t = 0; t < nGroups; t++) {
      const f = rfreq[t];
      const prev = PREV_RFREQ[t];
      let same = iter > 0;
      for (let v = 0; same && v < alphaSize; v++) same = f[v] === prev[v];
      if (same) continue;
      changed = true;
      prev.set(f.subarray(0, alphaSize));
      makeCodeLengths(len[t], f, alphaSize, MAX_CODE_LEN);
    }
    if (!changed) break;
  }

  // Move-to-front of the selectors.
  const selectorMtf = new Uint8Array(nSelectors);
  {
    const pos = new Uint8Array(N_GROUPS);
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
    let minLen = 32;
    let maxLen = 0;
    const l = len[t];
    for (let i = 0; i < alphaSize; i++) {
      if (l[i] > maxLen) maxLen = l[i];
      if (l[i] < minLen) minLen = l[i];
    }
    assignCodes(code[t], l, minLen, maxLen, alphaSize);
  }

  // Symbol map: which 16-byte ranges are used, then which bytes within them.
  const inUse16 = new Uint8Array(16);
  for (let i = 0; i < 16; i++) {
    for (let j = 0; j < 16; j++) if (inUse[i * 16 + j]) inUse16[i] = 1;
  }
  for (let i = 0; i < 16; i++) w.write(1, inUse16[i]);
  for (let i = 0; i < 16; i++) {
    if (inUse16[i]) for (let j = 0; j < 16; j++) w.write(1, inUse[i * 16 + j] ? 1 : 0);
  }

  w.write(3, nGroups);
  w.write(15, nSelectors);
  for (let i = 0; i < nSelectors; i++) {
    for (let j = 0; j < selectorMtf[i]; j++) w.write(1, 1);
    w.write(1, 0);
  }

  // Code lengths, delta coded: 10 = +1, 11 = -1, 0 = next symbol.
  for (let t = 0; t < nGroups; t++) {
    const l = len[t];
    let curr = l[0];
    w.write(5, curr);
    for (let i = 0; i < alphaSize; i++) {
      while (curr < l[i]) {
        w.write(2, 2);
        curr++;
      }
      while (curr > l[i]) {
        w.write(2, 3);
        curr--;
      }
      w.write(1, 0);
    }
  }

  let selCtr = 0;
  for (let gs = 0; gs < nMTF; gs += G_SIZE) {
    const ge = Math.min(gs + G_SIZE, nMTF);
    const t = selector[selCtr++];
    const l = len[t];
    const c = code[t];
    for (let i = gs; i < ge; i++) {
      const s = mtfv[i];
      w.write(l[s], c[s]);
    }
  }
}

/**
 * Compresses `data` into a single bzip2 stream. `level` (1..9) sets the block
 * size to level * 100000 bytes; it must already be validated.
 */
export function compressStream(data: Uint8Array, level: number): Uint8Array {
  const nblockMAX = level * 100000 - 19;
  // RLE1 turns a run of 4 into 5 bytes, so a block never exceeds 5/4 of its input.
  const blockCap = Math.min(level * 100000, data.length + (data.length >> 2) + 8) + BZ_N_OVERSHOOT;
  const block = new Uint8Array(blockCap);
  const inUse = new Uint8Array(256);
  const mtfFreq = new Int32Array(MAX_ALPHA_SIZE);
  const w = new BitWriter(data.length + (data.length >> 3) + 64);

  let nblock = 0;
  let blockCrc = CRC_INIT | 0; // int32 while running (see CRC_TABLE_I32)
  let combinedCrc = 0;
  let runCh = 256; // byte of the pending run; 256 = none
  let runLen = 0;

  w.write(8, 0x42); // 'B'
  w.write(8, 0x5a); // 'Z'
  w.write(8, 0x68); // 'h'
  w.write(8, 0x30 + level);

  /** Adds the pending run to the block: 1-3 literal bytes, or 4 bytes and a count. */
  const addRun = (): void => {
    const ch = runCh;
    for (let i = 0; i < runLen; i++) blockCrc = (blockCrc << 8) ^ CRC_TABLE_I32[(blockCrc >>> 24) ^ ch];
    inUse[ch] = 1;
    if (runLen < 4) {
      for (let i = 0; i < runLen; i++) block[nblock++] = ch;
    } else {
      block[nblock++] = ch;
      block[nblock++] = ch;
      block[nblock++] = ch;
      block[nblock++] = ch;
      block[nblock++] = runLen - 4;
      inUse[runLen - 4] = 1;
    }
  };

  const emitBlock = (): void => {
    if (nblock === 0) return;
    const crc = ~blockCrc >>> 0;
    combinedCrc = combineCrc(combinedCrc, crc);
    const { ptr, origPtr } = blockSort(block, nblock);
    w.write(24, 0x314159);
    w.write(24, 0x265359);
    w.write32(crc);
    w.write(1, 0); // not randomised
    w.write(24, origPtr);
    const input: BlockInput = { block, nblock, inUse };
    const { mtfv, nMTF, nInUse } = generateMtfValues(input, ptr, mtfFreq);
    sendMtfValues(w, inUse, mtfv, nMTF, nInUse, mtfFreq);
    nblock = 0;
    blockCrc = CRC_INIT | 0;
    inUse.fill(0);
  };

  const n = data.length;
  for (let p = 0; p < n; p++) {
    // A full block is sent before the next byte is taken; a run still being
    // counted is carried over to the next block.
    if (nblock >= nblockMAX) emitBlock();
    const ch = data[p];
    if (ch !== runCh || runLen === 255) {
      if (runCh < 256) addRun();
      runCh = ch;
      runLen = 1;
    } else {
      runLen++;
    }
  }
  if (nblock >= nblockMAX) emitBlock();
  if (runCh < 256) addRun();
  emitBlock();

  w.write(24, 0x177245);
  w.write(24, 0x385090);
  w.write32(combinedCrc);
  return w.finish().slice();
}
