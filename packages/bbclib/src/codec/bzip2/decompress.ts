/**
 * Defensive bzip2 decompressor. Every length, count and index read from the
 * input is range-checked before use, work per block is bounded by the block
 * size declared in the stream header, and output is capped by a byte limit.
 */

import { CRC_INIT, CRC_TABLE_I32, combineCrc } from "./crc.js";

const RUNA = 0;
const RUNB = 1;
const N_GROUPS = 6;
const G_SIZE = 50;
const MAX_CODE_LEN = 20;
const MAX_ALPHA_SIZE = 258;
const MAX_SELECTORS = 18002;
const LOOKUP_BITS = 9;

/** Why decoding stopped; `truncated` and `limit` are never ignored in trailing streams. */
export type Bzip2FailureKind = "truncated" | "data" | "limit";

/** Internal failure carrying its kind; the public wrapper turns it into a BbcLibError. */
export class Bzip2Failure extends Error {
  constructor(
    readonly kind: Bzip2FailureKind,
    message: string,
  ) {
    super(message);
  }
}

const fail = (message: string): Bzip2Failure => new Bzip2Failure("data", message);
const tooLarge = (max: number): Bzip2Failure => new Bzip2Failure("limit", `bzip2 output exceeds the limit of ${max} bytes`);

/** Most-significant-bit-first reader over a byte array. */
class BitReader {
  /** Bit position of the next unread bit. */
  pos: number;
  readonly end: number;

  constructor(
    private readonly data: Uint8Array,
    byteOffset: number,
  ) {
    this.pos = byteOffset * 8;
    this.end = data.length * 8;
  }

  /** The next 24 bits without consuming them; bits past the end read as zero. */
  peek24(): number {
    const d = this.data;
    const i = this.pos >>> 3;
    const len = d.length;
    let w: number;
    if (i + 3 < len) {
      w = (d[i] << 24) | (d[i + 1] << 16) | (d[i + 2] << 8) | d[i + 3];
    } else {
      w = 0;
      for (let k = 0; k < 4; k++) w = (w << 8) | (i + k < len ? d[i + k] : 0);
    }
    return ((w << (this.pos & 7)) >>> 8) & 0xffffff;
  }

  /** Consumes n bits (already peeked); fails if that runs past the input. */
  skip(n: number): void {
    this.pos += n;
    if (this.pos > this.end) throw new Bzip2Failure("truncated", "bzip2 stream is truncated");
  }

  /** Reads n bits, 1 <= n <= 24. */
  read(n: number): number {
    const v = this.peek24() >>> (24 - n);
    this.skip(n);
    return v;
  }

  bit(): number {
    return this.read(1);
  }

  read32(): number {
    const hi = this.read(16);
    return ((hi << 16) | this.read(16)) >>> 0;
  }

  get bitsLeft(): number {
    return this.end - this.pos;
  }

  /** Moves to the next byte boundary; returns that byte offset. */
  alignToByte(): number {
    this.pos = (this.pos + 7) & ~7;
    return this.pos >>> 3;
  }
}

/** Growable output buffer that refuses to exceed a byte limit. */
class Output {
  buf: Uint8Array;
  len = 0;

  constructor(readonly max: number) {
    this.buf = new Uint8Array(Math.min(max, 1024));
  }

  /** Makes room for n more bytes after `len`; fails if that would pass the limit. */
  grow(n: number): void {
    const need = this.len + n;
    if (need <= this.buf.length) return;
    if (need > this.max) throw tooLarge(this.max);
    const size = Math.min(this.max, Math.max(this.buf.length * 2, need, 1024));
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }
}

/** Canonical Huffman decoding table for one coding group. */
interface DecodeTable {
  minLen: number;
  maxLen: number;
  /** For each length, the first canonical code of that length. */
  start: Int32Array;
  /** For each length, how many symbols have it. */
  count: Int32Array;
  /** For each length, the index in `symbols` of its first symbol. */
  offset: Int32Array;
  /** Symbols ordered by (length, value). */
  symbols: Uint16Array;
  /** Indexed by the next LOOKUP_BITS bits: (symbol << 5) | length, or 0 if the code is longer. */
  lookup: Int32Array;
}

/** Decode tables reused across blocks and calls (a block has at most N_GROUPS of them). */
const TABLES: DecodeTable[] = Array.from({ length: N_GROUPS }, () => ({
  minLen: 0,
  maxLen: 0,
  start: new Int32Array(MAX_CODE_LEN + 2),
  count: new Int32Array(MAX_CODE_LEN + 2),
  offset: new Int32Array(MAX_CODE_LEN + 2),
  symbols: new Uint16Array(MAX_ALPHA_SIZE),
  lookup: new Int32Array(1 << LOOKUP_BITS),
}));
const FILL = new Int32Array(MAX_CODE_LEN + 2);

function buildDecodeTable(t: DecodeTable, lengths: Uint8Array, alphaSize: number): DecodeTable {
  const { count, start, offset, symbols, lookup } = t;
  count.fill(0);
  let minLen = MAX_CODE_LEN;
  let maxLen = 0;
  for (let i = 0; i < alphaSize; i++) {
    const l = lengths[i];
    count[l]++;
    if (l < minLen) minLen = l;
    if (l > maxLen) maxLen = l;
  }
  let code = 0;
  let idx = 0;
  for (let l = 1; l <= MAX_CODE_LEN; l++) {
    start[l] = code;
    offset[l] = idx;
    code += count[l];
    idx += count[l];
    // A canonical code with more codewords than fit in l bits is not a prefix code.
    if (code > 1 << l) throw fail("bzip2 Huffman code lengths are over-subscribed");
    code <<= 1;
  }
  // Symbols by (length, value): one counting pass.
  FILL.set(offset);
  for (let s = 0; s < alphaSize; s++) symbols[FILL[lengths[s]]++] = s;
  lookup.fill(0);
  for (let l = minLen; l <= Math.min(maxLen, LOOKUP_BITS); l++) {
    const shift = LOOKUP_BITS - l;
    const span = 1 << shift;
    for (let k = 0; k < count[l]; k++) {
      const first = (start[l] + k) << shift;
      const entry = (symbols[offset[l] + k] << 5) | l;
      if (span <= 32) for (let x = first, e = first + span; x < e; x++) lookup[x] = entry;
      else lookup.fill(entry, first, first + span);
    }
  }
  t.minLen = minLen;
  t.maxLen = maxLen;
  return t;
}

function decodeSymbol(br: BitReader, t: DecodeTable): number {
  const bits = br.peek24();
  const e = t.lookup[bits >>> (24 - LOOKUP_BITS)];
  if (e !== 0) {
    br.skip(e & 31);
    return e >>> 5;
  }
  for (let l = Math.max(t.minLen, LOOKUP_BITS + 1); l <= t.maxLen; l++) {
    const i = (bits >>> (24 - l)) - t.start[l];
    if (i >= 0 && i < t.count[l]) {
      br.skip(l);
      return t.symbols[t.offset[l] + i];
    }
  }
  // No codeword matches: either an incomplete code or bits past the end.
  br.skip(Math.min(t.maxLen, br.bitsLeft + 1));
  throw fail("bzip2 stream has an invalid Huffman code");
}

/**
 * The block array, reused across blocks. It starts small and doubles on
 * demand up to the block size declared by the stream header, so a short input
 * does not pay for a 900k-entry allocation.
 */
class BlockArray {
  tt: Int32Array;

  constructor(readonly limit: number) {
    // A small array is kept for the next stream (most inputs are transactions of a few KiB).
    this.tt = cachedTT ?? new Int32Array(4096);
    cachedTT = undefined;
  }

  /** Hands a small array back for the next stream. */
  release(): void {
    if (this.tt.length <= 65536) cachedTT = this.tt;
  }

  /** Ensures room for `need` entries (need <= limit, checked by the caller). */
  ensure(need: number): Int32Array {
    if (need > this.tt.length) {
      const next = new Int32Array(Math.min(this.limit, Math.max(need, this.tt.length * 2)));
      next.set(this.tt);
      this.tt = next;
    }
    return this.tt;
  }
}

// Per-block scratch, reused (every entry read is written first in each block).
const SEQ_TO_UNSEQ = new Uint8Array(256);
let cachedTT: Int32Array | undefined;
const SELECTOR = new Uint8Array(MAX_SELECTORS);
const LENGTHS = new Uint8Array(MAX_ALPHA_SIZE);
const UNZFTAB = new Int32Array(256);
const MTF = new Uint8Array(256);
const CFTAB = new Int32Array(257);

/**
 * Decodes one block (after its magic) and appends its bytes to `out`.
 * Returns the block CRC stored in the stream (already verified).
 */
function decodeBlock(br: BitReader, out: Output, blockSizeMax: number, scratch: BlockArray): number {
  const storedCrc = br.read32();
  if (br.bit()) throw fail("bzip2 randomised blocks (bzip2 0.9.0 format) are not supported");
  const origPtr = br.read(24);

  // Symbol map.
  const seqToUnseq = SEQ_TO_UNSEQ;
  let nInUse = 0;
  const used16 = br.read(16);
  for (let i = 0; i < 16; i++) {
    if (used16 & (0x8000 >>> i)) {
      const bits = br.read(16);
      for (let j = 0; j < 16; j++) if (bits & (0x8000 >>> j)) seqToUnseq[nInUse++] = i * 16 + j;
    }
  }
  if (nInUse === 0) throw fail("bzip2 block uses no symbols");
  const alphaSize = nInUse + 2;
  const EOB = nInUse + 1;

  const nGroups = br.read(3);
  if (nGroups < 2 || nGroups > N_GROUPS) throw fail(`bzip2 block has ${nGroups} Huffman tables`);
  const nSelectorsRead = br.read(15);
  if (nSelectorsRead < 1) throw fail("bzip2 block has no selectors");
  const nSelectors = Math.min(nSelectorsRead, MAX_SELECTORS);
  const selector = SELECTOR;
  {
    const pos = [0, 1, 2, 3, 4, 5];
    for (let i = 0; i < nSelectorsRead; i++) {
      let j = 0;
      while (br.bit()) {
        j++;
        if (j >= nGroups) throw fail("bzip2 selector out of range");
      }
      if (i < MAX_SELECTORS) {
        const v = pos[j];
        for (let k = j; k > 0; k--) pos[k] = pos[k - 1];
        pos[0] = v;
        selector[i] = v;
      }
    }
  }

  const tables: DecodeTable[] = [];
  const lengths = LENGTHS;
  for (let t = 0; t < nGroups; t++) {
    let curr = br.read(5);
    for (let i = 0; i < alphaSize; i++) {
      for (;;) {
        if (curr < 1 || curr > MAX_CODE_LEN) throw fail("bzip2 code length out of range");
        if (!br.bit()) break;
        curr += br.bit() ? -1 : 1;
      }
      lengths[i] = curr;
    }
    tables.push(buildDecodeTable(TABLES[t], lengths, alphaSize));
  }

  // Huffman + RUNA/RUNB + move-to-front decoding into tt (low byte = symbol).
  let tt = scratch.tt;
  const unzftab = UNZFTAB.fill(0);
  const mtf = MTF;
  for (let i = 0; i < 256; i++) mtf[i] = i;
  let nblock = 0;
  let groupNo = -1;
  let groupPos = 0;
  let table = tables[0];
  let runLength = 0;
  let runWeight = 1;
  // Every 5 symbols of a block give at least 4 output bytes (the initial run-length coding
  // turns 4 equal bytes and a count into 4 + count bytes), so a block holding more symbols than
  // that cannot fit in the room left: stop before the inverse BWT and the output.
  const room = out.max - out.len;
  const fitLimit = room >= blockSizeMax ? blockSizeMax : Math.floor(room / 4) * 5 + 4;

  for (;;) {
    if (groupPos === 0) {
      groupNo++;
      if (groupNo >= nSelectors) throw fail("bzip2 block has too few selectors");
      groupPos = G_SIZE;
      table = tables[selector[groupNo]];
    }
    groupPos--;
    const sym = decodeSymbol(br, table);

    if (sym === RUNA || sym === RUNB) {
      runLength += (sym + 1) * runWeight;
      runWeight <<= 1;
      if (runWeight > 2 * 1024 * 1024 || runLength > blockSizeMax) throw fail("bzip2 run exceeds the block size");
      continue;
    }
    if (runLength > 0) {
      if (nblock + runLength > blockSizeMax) throw fail("bzip2 block exceeds its declared size");
      if (nblock + runLength > fitLimit) throw tooLarge(out.max);
      const uc = seqToUnseq[mtf[0]];
      unzftab[uc] += runLength;
      tt = scratch.ensure(nblock + runLength);
      tt.fill(uc, nblock, nblock + runLength);
      nblock += runLength;
      runLength = 0;
      runWeight = 1;
    }
    if (sym === EOB) break;

    // sym - 1 is a position in the move-to-front list (1..nInUse-1).
    const k = sym - 1;
    if (k >= nInUse) throw fail("bzip2 move-to-front index out of range");
    const v = mtf[k];
    if (k < 48) for (let j = k; j > 0; j--) mtf[j] = mtf[j - 1];
    else mtf.copyWithin(1, 0, k);
    mtf[0] = v;
    if (nblock >= blockSizeMax) throw fail("bzip2 block exceeds its declared size");
    if (nblock >= fitLimit) throw tooLarge(out.max);
    const uc = seqToUnseq[v];
    unzftab[uc]++;
    if (nblock === tt.length) tt = scratch.ensure(nblock + 1);
    tt[nblock++] = uc;
  }

  if (origPtr >= nblock) throw fail("bzip2 block origin pointer out of range");

  // Inverse BWT: link each position to the next one in the original order.
  const cftab = CFTAB;
  cftab[0] = 0;
  for (let i = 0; i < 256; i++) cftab[i + 1] = cftab[i] + unzftab[i];
  for (let i = 0; i < nblock; i++) {
    const uc = tt[i] & 0xff;
    tt[cftab[uc]++] |= i << 8;
  }

  // Walk the chain, undo the initial run-length coding and check the CRC.
  let crc = CRC_INIT | 0; // int32 while running (see CRC_TABLE_I32)
  let tPos = tt[origPtr] >>> 8;
  let last = -1;
  let same = 0;
  let buf = out.buf;
  let o = out.len;
  for (let i = 0; i < nblock; i++) {
    const e = tt[tPos];
    const ch = e & 0xff;
    tPos = e >>> 8;
    if (same === 4) {
      // ch counts extra repetitions of the last byte.
      if (o + ch > buf.length) {
        out.len = o;
        out.grow(ch);
        buf = out.buf;
      }
      for (let r = 0; r < ch; r++) {
        buf[o++] = last;
        crc = (crc << 8) ^ CRC_TABLE_I32[(crc >>> 24) ^ last];
      }
      same = 0;
      continue;
    }
    if (ch === last) same++;
    else {
      last = ch;
      same = 1;
    }
    if (o >= buf.length) {
      out.len = o;
      out.grow(1);
      buf = out.buf;
    }
    buf[o++] = ch;
    crc = (crc << 8) ^ CRC_TABLE_I32[(crc >>> 24) ^ ch];
  }
  out.len = o;
  // libbzip2 expects a count byte after four equal bytes, even at block end.
  if (same === 4) throw fail("bzip2 block ends inside a run");
  crc = ~crc >>> 0;
  if (crc !== storedCrc) throw fail("bzip2 block CRC mismatch");
  return crc;
}

/**
 * Decodes one stream starting at `byteOffset`. Returns the byte offset just
 * after it (streams end on a byte boundary).
 */
function decodeStream(data: Uint8Array, byteOffset: number, out: Output): number {
  const br = new BitReader(data, byteOffset);
  if (br.read(8) !== 0x42 || br.read(8) !== 0x5a || br.read(8) !== 0x68) {
    throw fail("not a bzip2 stream (bad magic)");
  }
  const level = br.read(8) - 0x30;
  if (level < 1 || level > 9) throw fail("bzip2 stream has an invalid block size");
  const blockSizeMax = level * 100000;
  const scratch = new BlockArray(blockSizeMax);
  let combined = 0;
  try {
    for (;;) {
      const m1 = br.read(24);
      const m2 = br.read(24);
      if (m1 === 0x314159 && m2 === 0x265359) {
        const blockCrc = decodeBlock(br, out, blockSizeMax, scratch);
        combined = combineCrc(combined, blockCrc);
      } else if (m1 === 0x177245 && m2 === 0x385090) {
        const stored = br.read32();
        if (stored !== combined) throw fail("bzip2 stream CRC mismatch");
        return br.alignToByte();
      } else {
        throw fail("bzip2 block header magic not found");
      }
    }
  } finally {
    scratch.release();
  }
}

/**
 * Decodes all concatenated bzip2 streams in `data`, with CPython's
 * `bz2.decompress` semantics: after at least one complete stream, trailing
 * bytes that are not a valid stream are ignored, but a stream cut short is an
 * error. Empty input gives empty output.
 */
export function decompressStreams(data: Uint8Array, maxOutputBytes: number): Uint8Array {
  const out = new Output(maxOutputBytes);
  let offset = 0;
  let first = true;
  while (offset < data.length) {
    const mark = out.len;
    try {
      offset = decodeStream(data, offset, out);
    } catch (e) {
      if (!first && e instanceof Bzip2Failure && e.kind === "data") {
        out.len = mark;
        break;
      }
      throw e;
    }
    first = false;
  }
  return out.buf.slice(0, out.len);
}
