/**
 * zlib.compress(data) of CPython (stock zlib 1.2.x, level 6) for inputs of up to
 * {@link FAST_DEFLATE_MAX} bytes, byte for byte, several times faster than pako on the sizes of
 * transactions: the state (hash chains, trees, window) is allocated once and never cleared (hash
 * heads carry the number of the call that wrote them), where pako allocates and zeroes ~300 KiB
 * per call.
 *
 * It follows the algorithm of zlib's deflate_slow (lazy matching with good 8, lazy 16, nice 128,
 * chain 128, 3-byte matches farther than 4096 dropped), one block (an input this small never
 * fills the 16383-symbol buffer nor slides the 32 KiB window), and _tr_flush_block's choice of a
 * stored, static or dynamic block with zlib's Huffman construction (heap order, depth tie-break,
 * length-limit repair). Tests compare it with pako on the vectors and random inputs.
 */

/** Largest input this implementation takes (one deflate block, window never slides). */
export const FAST_DEFLATE_MAX = 16382;

const MIN_MATCH = 3;
const MAX_MATCH = 258;
const MIN_LOOKAHEAD = MAX_MATCH + MIN_MATCH + 1;
const W_SIZE = 32768;
const W_MASK = W_SIZE - 1;
const HASH_SIZE = 32768;
const HASH_MASK = HASH_SIZE - 1;
const MAX_DIST = W_SIZE - MIN_LOOKAHEAD;
const GOOD_LENGTH = 8;
const MAX_LAZY = 16;
const NICE_LENGTH = 128;
const MAX_CHAIN = 128;
const TOO_FAR = 4096;

const LITERALS = 256;
const LENGTH_CODES = 29;
const L_CODES = LITERALS + 1 + LENGTH_CODES;
const D_CODES = 30;
const BL_CODES = 19;
const HEAP_SIZE = 2 * L_CODES + 1;
const MAX_BITS = 15;
const MAX_BL_BITS = 7;
const END_BLOCK = 256;
const REP_3_6 = 16;
const REPZ_3_10 = 17;
const REPZ_11_138 = 18;

const EXTRA_LBITS = Int32Array.from([0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]);
const EXTRA_DBITS = Int32Array.from([0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13]);
const EXTRA_BLBITS = Int32Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 3, 7]);
const BL_ORDER = Int32Array.from([16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]);

// ------------------------------------------------------------------ static tables

const LENGTH_CODE = new Uint8Array(MAX_MATCH - MIN_MATCH + 1);
const BASE_LENGTH = new Int32Array(LENGTH_CODES);
const DIST_CODE = new Uint8Array(512);
const BASE_DIST = new Int32Array(D_CODES);

function bitReverse(code: number, len: number): number {
  let res = 0;
  do {
    res |= code & 1;
    code >>>= 1;
    res <<= 1;
  } while (--len > 0);
  return res >>> 1;
}

/** A Huffman tree: frequencies, code lengths, codes, parents (for the 2n-1 nodes). */
class Tree {
  readonly freq: Int32Array;
  readonly len: Int32Array;
  readonly code: Int32Array;
  readonly dad: Int32Array;
  maxCode = 0;
  constructor(size: number) {
    this.freq = new Int32Array(size);
    this.len = new Int32Array(size);
    this.code = new Int32Array(size);
    this.dad = new Int32Array(size);
  }
}

const blCount = new Int32Array(MAX_BITS + 1);
const nextCode = new Int32Array(MAX_BITS + 1);

/** Codes from code lengths (zlib's gen_codes); `count` holds the number of codes per length. */
function genCodes(len: Int32Array, code: Int32Array, maxCode: number, count: Int32Array): void {
  let c = 0;
  for (let bits = 1; bits <= MAX_BITS; bits++) {
    c = (c + count[bits - 1]) << 1;
    nextCode[bits] = c;
  }
  for (let n = 0; n <= maxCode; n++) {
    const l = len[n];
    if (l === 0) continue;
    code[n] = bitReverse(nextCode[l]++, l);
  }
}

const STATIC_L = new Tree(L_CODES + 2);
const STATIC_D = new Tree(D_CODES);
{
  let length = 0;
  let code = 0;
  for (; code < LENGTH_CODES - 1; code++) {
    BASE_LENGTH[code] = length;
    for (let n = 0; n < 1 << EXTRA_LBITS[code]; n++) LENGTH_CODE[length++] = code;
  }
  LENGTH_CODE[length - 1] = code;
  let dist = 0;
  for (code = 0; code < 16; code++) {
    BASE_DIST[code] = dist;
    for (let n = 0; n < 1 << EXTRA_DBITS[code]; n++) DIST_CODE[dist++] = code;
  }
  dist >>= 7;
  for (; code < D_CODES; code++) {
    BASE_DIST[code] = dist << 7;
    for (let n = 0; n < 1 << (EXTRA_DBITS[code] - 7); n++) DIST_CODE[256 + dist++] = code;
  }
  const count = new Int32Array(MAX_BITS + 1);
  let n = 0;
  for (; n <= 143; n++, count[8]++) STATIC_L.len[n] = 8;
  for (; n <= 255; n++, count[9]++) STATIC_L.len[n] = 9;
  for (; n <= 279; n++, count[7]++) STATIC_L.len[n] = 7;
  for (; n <= 287; n++, count[8]++) STATIC_L.len[n] = 8;
  genCodes(STATIC_L.len, STATIC_L.code, L_CODES + 1, count);
  for (n = 0; n < D_CODES; n++) {
    STATIC_D.len[n] = 5;
    STATIC_D.code[n] = bitReverse(n, 5);
  }
}

function dCode(dist: number): number {
  return dist < 256 ? DIST_CODE[dist] : DIST_CODE[256 + (dist >>> 7)];
}

// ------------------------------------------------------------------ state (reused)

// Mutable state lives in one object: module-level `let` bindings cost a hole check on every
// access from a function, which showed in the profile of the hot loops.
class State {
  window = new Uint8Array(4096);
  symCount = 0;
  heapLen = 0;
  heapMax = 0;
  optLen = 0;
  staticLen = 0;
  out = new Uint8Array(4096);
  outPos = 0;
  bitBuf = 0;
  bitCount = 0;
  strstart = 0;
  lookahead = 0;
  matchStart = 0;
  prevLength = 0;
}
const S = new State();
/**
 * Hash chain heads: (call number << 16) | position. A head written by an earlier call reads as
 * zlib's NIL (0), so the table needs no clearing between calls (only when the number wraps).
 */
const HEAD = new Int32Array(HASH_SIZE);
let generation = 0;
const PREV = new Uint16Array(W_SIZE);
const SYM_DIST = new Uint16Array(FAST_DEFLATE_MAX + 1);
const SYM_LC = new Uint8Array(FAST_DEFLATE_MAX + 1);
const dynL = new Tree(HEAP_SIZE);
const dynD = new Tree(2 * D_CODES + 1);
const blTree = new Tree(2 * BL_CODES + 1);
const HEAP = new Int32Array(HEAP_SIZE);
const DEPTH = new Uint8Array(HEAP_SIZE);
const HEAP_KEY = new Int32Array(HEAP_SIZE);

function sendBits(value: number, length: number): void {
  const s = S;
  let buf = s.bitBuf | (value << s.bitCount);
  let count = s.bitCount + length;
  if (count >= 8) {
    const out = s.out;
    let p = s.outPos;
    do {
      out[p++] = buf & 0xff;
      buf >>>= 8;
      count -= 8;
    } while (count >= 8);
    s.outPos = p;
  }
  s.bitBuf = buf;
  s.bitCount = count;
}

function windup(): void {
  if (S.bitCount > 0) S.out[S.outPos++] = S.bitBuf & 0xff;
  S.bitBuf = 0;
  S.bitCount = 0;
}

// ------------------------------------------------------------------ Huffman trees (zlib trees.c)

/**
 * zlib's pqdownheap. Its `smaller(n, m)` (lower frequency, then lower or equal depth) is
 * `key(n) <= key(m)` with key = frequency × 256 + depth (depths stay below 256); each heap
 * slot keeps its node's key beside it (`hk`). Done bottom-up (Floyd): walk the smaller-child
 * path to a leaf moving children up, then move the entry back up past the children it is
 * `smaller` than. Keys only grow along the path, so the array ends exactly as zlib's does.
 */
function pqdownheap(heap: Int32Array, hk: Int32Array, k: number, heapLen: number): void {
  const v = heap[k];
  const kv = hk[k];
  const top = k;
  let j = k << 1;
  while (j <= heapLen) {
    if (j < heapLen && hk[j + 1] <= hk[j]) j++;
    heap[k] = heap[j];
    hk[k] = hk[j];
    k = j;
    j <<= 1;
  }
  while (k > top) {
    const p = k >> 1;
    if (!(kv <= hk[p])) break;
    heap[k] = heap[p];
    hk[k] = hk[p];
    k = p;
  }
  heap[k] = v;
  hk[k] = kv;
}

function genBitlen(t: Tree, stree: Tree | null, extra: Int32Array, base: number, maxLength: number, heapMax: number): void {
  const { freq, len, dad } = t;
  const heap = HEAP;
  const maxCode = t.maxCode;
  blCount.fill(0);
  len[heap[heapMax]] = 0;
  let overflow = 0;
  let optLen = S.optLen;
  let staticLen = S.staticLen;
  let h: number;
  for (h = heapMax + 1; h < HEAP_SIZE; h++) {
    const n = heap[h];
    let bits = len[dad[n]] + 1;
    if (bits > maxLength) {
      bits = maxLength;
      overflow++;
    }
    len[n] = bits;
    if (n > maxCode) continue;
    blCount[bits]++;
    const xbits = n >= base ? extra[n - base] : 0;
    const f = freq[n];
    optLen += f * (bits + xbits);
    if (stree) staticLen += f * (stree.len[n] + xbits);
  }
  S.staticLen = staticLen;
  S.optLen = optLen;
  if (overflow === 0) return;
  do {
    let bits = maxLength - 1;
    while (blCount[bits] === 0) bits--;
    blCount[bits]--;
    blCount[bits + 1] += 2;
    blCount[maxLength]--;
    overflow -= 2;
  } while (overflow > 0);
  for (let bits = maxLength; bits !== 0; bits--) {
    let n = blCount[bits];
    while (n !== 0) {
      const m = heap[--h];
      if (m > maxCode) continue;
      if (len[m] !== bits) {
        S.optLen += (bits - len[m]) * freq[m];
        len[m] = bits;
      }
      n--;
    }
  }
}

function buildTree(t: Tree, stree: Tree | null, elems: number, extra: Int32Array, base: number, maxLength: number): void {
  const { freq, len, dad } = t;
  const heap = HEAP;
  const depth = DEPTH;
  const hk = HEAP_KEY;
  let heapLen = 0;
  let heapMax = HEAP_SIZE;
  let maxCode = -1;
  for (let n = 0; n < elems; n++) {
    if (freq[n] !== 0) {
      heap[++heapLen] = maxCode = n;
      hk[heapLen] = freq[n] * 256;
      depth[n] = 0;
    } else len[n] = 0;
  }
  // The format needs at least two codes of non-zero frequency.
  while (heapLen < 2) {
    const node = (heap[++heapLen] = maxCode < 2 ? ++maxCode : 0);
    hk[heapLen] = 256;
    freq[node] = 1;
    depth[node] = 0;
    S.optLen--;
    if (stree) S.staticLen -= stree.len[node];
  }
  t.maxCode = maxCode;
  for (let n = heapLen >> 1; n >= 1; n--) pqdownheap(heap, hk, n, heapLen);
  let node = elems;
  do {
    const n = heap[1];
    heap[1] = heap[heapLen];
    hk[1] = hk[heapLen--];
    pqdownheap(heap, hk, 1, heapLen);
    const m = heap[1];
    heap[--heapMax] = n;
    heap[--heapMax] = m;
    freq[node] = freq[n] + freq[m];
    const d = (depth[n] >= depth[m] ? depth[n] : depth[m]) + 1;
    depth[node] = d;
    dad[n] = dad[m] = node;
    hk[1] = freq[node] * 256 + d;
    heap[1] = node++;
    pqdownheap(heap, hk, 1, heapLen);
  } while (heapLen >= 2);
  heap[--heapMax] = heap[1];
  genBitlen(t, stree, extra, base, maxLength, heapMax);
  genCodes(len, t.code, maxCode, blCount);
}

function scanTree(t: Tree, maxCode: number): void {
  const len = t.len;
  const bl = blTree.freq;
  let prevlen = -1;
  let nextlen = len[0];
  let count = 0;
  let maxCount = 7;
  let minCount = 4;
  if (nextlen === 0) {
    maxCount = 138;
    minCount = 3;
  }
  len[maxCode + 1] = 0xffff; // guard
  for (let n = 0; n <= maxCode; n++) {
    const curlen = nextlen;
    nextlen = len[n + 1];
    if (++count < maxCount && curlen === nextlen) continue;
    else if (count < minCount) bl[curlen] += count;
    else if (curlen !== 0) {
      if (curlen !== prevlen) bl[curlen]++;
      bl[REP_3_6]++;
    } else if (count <= 10) bl[REPZ_3_10]++;
    else bl[REPZ_11_138]++;
    count = 0;
    prevlen = curlen;
    if (nextlen === 0) {
      maxCount = 138;
      minCount = 3;
    } else if (curlen === nextlen) {
      maxCount = 6;
      minCount = 3;
    } else {
      maxCount = 7;
      minCount = 4;
    }
  }
}

function sendCode(c: number, t: Tree): void {
  sendBits(t.code[c], t.len[c]);
}

function sendTree(t: Tree, maxCode: number): void {
  const len = t.len;
  let prevlen = -1;
  let nextlen = len[0];
  let count = 0;
  let maxCount = 7;
  let minCount = 4;
  if (nextlen === 0) {
    maxCount = 138;
    minCount = 3;
  }
  for (let n = 0; n <= maxCode; n++) {
    const curlen = nextlen;
    nextlen = len[n + 1];
    if (++count < maxCount && curlen === nextlen) continue;
    else if (count < minCount) {
      do sendCode(curlen, blTree);
      while (--count !== 0);
    } else if (curlen !== 0) {
      if (curlen !== prevlen) {
        sendCode(curlen, blTree);
        count--;
      }
      sendCode(REP_3_6, blTree);
      sendBits(count - 3, 2);
    } else if (count <= 10) {
      sendCode(REPZ_3_10, blTree);
      sendBits(count - 3, 3);
    } else {
      sendCode(REPZ_11_138, blTree);
      sendBits(count - 11, 7);
    }
    count = 0;
    prevlen = curlen;
    if (nextlen === 0) {
      maxCount = 138;
      minCount = 3;
    } else if (curlen === nextlen) {
      maxCount = 6;
      minCount = 3;
    } else {
      maxCount = 7;
      minCount = 4;
    }
  }
}

function buildBlTree(): number {
  scanTree(dynL, dynL.maxCode);
  scanTree(dynD, dynD.maxCode);
  buildTree(blTree, null, BL_CODES, EXTRA_BLBITS, 0, MAX_BL_BITS);
  let maxBlindex: number;
  for (maxBlindex = BL_CODES - 1; maxBlindex >= 3; maxBlindex--) if (blTree.len[BL_ORDER[maxBlindex]] !== 0) break;
  S.optLen += 3 * (maxBlindex + 1) + 5 + 5 + 4;
  return maxBlindex;
}

function compressBlock(lt: Tree, dt: Tree): void {
  const symCount = S.symCount;
  const symDist = SYM_DIST;
  const symLc = SYM_LC;
  const lcode = lt.code;
  const llen = lt.len;
  const dcode = dt.code;
  const dlen = dt.len;
  // send_bits with the bit buffer in locals, flushed whenever 7 pending bits plus the next two
  // fields could pass 32 bits.
  const out = S.out;
  let p = S.outPos;
  let buf = S.bitBuf;
  let count = S.bitCount;
  for (let i = 0; i < symCount; i++) {
    let dist = symDist[i];
    let lc = symLc[i];
    if (dist === 0) {
      buf |= lcode[lc] << count;
      count += llen[lc];
    } else {
      let code = LENGTH_CODE[lc];
      const c = code + LITERALS + 1;
      buf |= lcode[c] << count;
      count += llen[c];
      let extra = EXTRA_LBITS[code];
      if (extra !== 0) {
        lc -= BASE_LENGTH[code];
        buf |= lc << count;
        count += extra;
      }
      while (count >= 8) {
        out[p++] = buf & 0xff;
        buf >>>= 8;
        count -= 8;
      }
      dist--;
      code = dCode(dist);
      buf |= dcode[code] << count;
      count += dlen[code];
      // flush again: a 15-bit distance code and 13 extra bits would not fit with the rest
      while (count >= 8) {
        out[p++] = buf & 0xff;
        buf >>>= 8;
        count -= 8;
      }
      extra = EXTRA_DBITS[code];
      if (extra !== 0) {
        dist -= BASE_DIST[code];
        buf |= dist << count;
        count += extra;
      }
    }
    while (count >= 8) {
      out[p++] = buf & 0xff;
      buf >>>= 8;
      count -= 8;
    }
  }
  S.outPos = p;
  S.bitBuf = buf;
  S.bitCount = count;
  sendCode(END_BLOCK, lt);
}

/** zlib's _tr_flush_block for the last (only) block of `storedLen` bytes at the window start. */
function flushBlock(storedLen: number): void {
  buildTree(dynL, STATIC_L, L_CODES, EXTRA_LBITS, LITERALS + 1, MAX_BITS);
  buildTree(dynD, STATIC_D, D_CODES, EXTRA_DBITS, 0, MAX_BITS);
  const maxBlindex = buildBlTree();
  let optLenb = (S.optLen + 3 + 7) >>> 3;
  const staticLenb = (S.staticLen + 3 + 7) >>> 3;
  if (staticLenb <= optLenb) optLenb = staticLenb;
  if (storedLen + 4 <= optLenb) {
    sendBits(1, 3); // stored block, last
    windup();
    const out = S.out;
    let p = S.outPos;
    out[p++] = storedLen & 0xff;
    out[p++] = storedLen >>> 8;
    out[p++] = ~storedLen & 0xff;
    out[p++] = (~storedLen >>> 8) & 0xff;
    out.set(S.window.subarray(0, storedLen), p);
    S.outPos = p + storedLen;
  } else if (staticLenb === optLenb) {
    sendBits(3, 3); // static trees, last
    compressBlock(STATIC_L, STATIC_D);
  } else {
    sendBits(5, 3); // dynamic trees, last
    const lcodes = dynL.maxCode + 1;
    const dcodes = dynD.maxCode + 1;
    const blcodes = maxBlindex + 1;
    sendBits(lcodes - 257, 5);
    sendBits(dcodes - 1, 5);
    sendBits(blcodes - 4, 4);
    for (let rank = 0; rank < blcodes; rank++) sendBits(blTree.len[BL_ORDER[rank]], 3);
    sendTree(dynL, lcodes - 1);
    sendTree(dynD, dcodes - 1);
    compressBlock(dynL, dynD);
  }
  windup();
}

// ------------------------------------------------------------------ matching (zlib deflate.c)

/** zlib's longest_match from `strstart` along the chain starting at `curMatch`; sets S.matchStart. */
function longestMatch(w: Uint8Array, strstart: number, lookahead: number, prevLength: number, curMatch: number): number {
  const prev = PREV;
  let chainLength = MAX_CHAIN;
  const scan = strstart;
  let bestLen = prevLength;
  let niceMatch = NICE_LENGTH;
  const limit = strstart > MAX_DIST ? strstart - MAX_DIST : 0;
  if (prevLength >= GOOD_LENGTH) chainLength >>= 2;
  if (niceMatch > lookahead) niceMatch = lookahead;
  let scanEnd1 = w[scan + bestLen - 1];
  let scanEnd = w[scan + bestLen];
  const s0 = w[scan];
  const s1 = w[scan + 1];
  do {
    const match = curMatch;
    if (w[match + bestLen] !== scanEnd || w[match + bestLen - 1] !== scanEnd1 || w[match] !== s0 || w[match + 1] !== s1) continue;
    // The third bytes are equal too (same hash, same first two bytes); zlib compares from the fourth.
    let len = 3;
    while (len < MAX_MATCH && w[scan + len] === w[match + len]) len++;
    if (len > bestLen) {
      S.matchStart = curMatch;
      bestLen = len;
      if (len >= niceMatch) break;
      scanEnd1 = w[scan + bestLen - 1];
      scanEnd = w[scan + bestLen];
    }
  } while ((curMatch = prev[curMatch & W_MASK]) > limit && --chainLength !== 0);
  return bestLen <= lookahead ? bestLen : lookahead;
}

/** deflate_slow over the whole input (one block): fills the symbol buffer and the frequencies. */
function deflateSlow(w: Uint8Array, n: number): void {
  const lfreq = dynL.freq;
  const dfreq = dynD.freq;
  const head = HEAD;
  const prev = PREV;
  const gen = generation << 16;
  const symDist = SYM_DIST;
  const symLc = SYM_LC;
  const lengthCode = LENGTH_CODE;
  let strstart = 0;
  let lookahead = n;
  let matchLength = MIN_MATCH - 1;
  let prevLength = MIN_MATCH - 1;
  let matchAvailable = false;
  let prevMatch = 0;
  let sym = 0;
  S.matchStart = 0;
  while (lookahead !== 0) {
    let hashHead = 0;
    if (lookahead >= MIN_MATCH) {
      const h = ((w[strstart] << 10) ^ (w[strstart + 1] << 5) ^ w[strstart + 2]) & HASH_MASK;
      const v = head[h];
      hashHead = (v & 0xffff0000) === gen ? v & 0xffff : 0;
      prev[strstart & W_MASK] = hashHead;
      head[h] = gen | strstart;
    }
    prevLength = matchLength;
    prevMatch = S.matchStart;
    matchLength = MIN_MATCH - 1;
    if (hashHead !== 0 && prevLength < MAX_LAZY && strstart - hashHead <= MAX_DIST) {
      matchLength = longestMatch(w, strstart, lookahead, prevLength, hashHead);
      if (matchLength === MIN_MATCH && strstart - S.matchStart > TOO_FAR) matchLength = MIN_MATCH - 1;
    }
    if (prevLength >= MIN_MATCH && matchLength <= prevLength) {
      const maxInsert = strstart + lookahead - MIN_MATCH;
      // _tr_tally_dist
      const dist = strstart - 1 - prevMatch;
      const lc = prevLength - MIN_MATCH;
      symDist[sym] = dist;
      symLc[sym++] = lc;
      lfreq[lengthCode[lc] + LITERALS + 1]++;
      dfreq[dCode(dist - 1)]++;
      lookahead -= prevLength - 1;
      prevLength -= 2;
      do {
        if (++strstart <= maxInsert) {
          const h = ((w[strstart] << 10) ^ (w[strstart + 1] << 5) ^ w[strstart + 2]) & HASH_MASK;
          const v = head[h];
          prev[strstart & W_MASK] = (v & 0xffff0000) === gen ? v & 0xffff : 0;
          head[h] = gen | strstart;
        }
      } while (--prevLength !== 0);
      matchAvailable = false;
      matchLength = MIN_MATCH - 1;
      strstart++;
    } else if (matchAvailable) {
      const c = w[strstart - 1];
      symDist[sym] = 0;
      symLc[sym++] = c;
      lfreq[c]++;
      strstart++;
      lookahead--;
    } else {
      matchAvailable = true;
      strstart++;
      lookahead--;
    }
  }
  if (matchAvailable) {
    const c = w[strstart - 1];
    symDist[sym] = 0;
    symLc[sym++] = c;
    lfreq[c]++;
  }
  S.symCount = sym;
}

function adler32(data: Uint8Array): number {
  let a = 1;
  let b = 0;
  const n = data.length;
  let i = 0;
  while (i < n) {
    // sums stay far below 2^53 between reductions (exact in doubles)
    const end = Math.min(i + 3800, n);
    for (; i < end; i++) {
      a += data[i];
      b += a;
    }
    a %= 65521;
    b %= 65521;
  }
  return ((b << 16) | a) >>> 0;
}

/**
 * `zlib.compress(data)` (level 6) for `data.length <= FAST_DEFLATE_MAX`: the zlib header,
 * one deflate block, the Adler-32. Returns a view into a shared buffer, valid until the next
 * call: the caller copies it.
 */
export function deflateSmall(data: Uint8Array): Uint8Array {
  const n = data.length;
  if (n > FAST_DEFLATE_MAX) throw new RangeError(`deflateSmall takes at most ${FAST_DEFLATE_MAX} bytes`);
  // The window holds the input and MAX_MATCH + 8 zero bytes after it, as zlib's does after
  // its end: match comparisons may read that far.
  const s = S;
  if (s.window.length < n + MAX_MATCH + 8) s.window = new Uint8Array(2 * n + MAX_MATCH + 8);
  const w = s.window;
  w.set(data);
  w.fill(0, n, n + MAX_MATCH + 8);
  const outSize = n + (n >>> 3) + 64;
  if (s.out.length < outSize) s.out = new Uint8Array(2 * outSize);
  s.bitBuf = 0;
  s.bitCount = 0;
  s.optLen = 0;
  s.staticLen = 0;
  dynL.freq.fill(0, 0, L_CODES);
  dynD.freq.fill(0, 0, D_CODES);
  blTree.freq.fill(0, 0, BL_CODES);
  dynL.freq[END_BLOCK] = 1;

  // A new call number; after 32767 calls (positive Int32 values only) the table is cleared once.
  if (++generation > 0x7fff) {
    HEAD.fill(0);
    generation = 1;
  }
  s.out[0] = 0x78;
  s.out[1] = 0x9c;
  s.outPos = 2;
  deflateSlow(w, n);
  flushBlock(n);
  const a = adler32(data);
  const out = s.out;
  let p = s.outPos;
  out[p++] = a >>> 24;
  out[p++] = (a >>> 16) & 0xff;
  out[p++] = (a >>> 8) & 0xff;
  out[p++] = a & 0xff;
  return out.subarray(0, p);
}
