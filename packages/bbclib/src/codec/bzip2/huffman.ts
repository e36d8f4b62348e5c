/**
 * Huffman code construction matching libbzip2 (BZ2_hbMakeCodeLengths and
 * BZ2_hbAssignCodes), so that code lengths, and thus the output bits, agree.
 */

/** Largest alphabet: 256 byte values + RUNA/RUNB - 1 + EOB. */
export const MAX_ALPHA_SIZE = 258;

/**
 * Computes code lengths for `alphaSize` symbols from their frequencies.
 * Weights carry the subtree depth in their low 8 bits so that, among equal
 * frequencies, shallower subtrees are merged first; zero frequencies count as
 * one. If some code exceeds `maxLen`, every frequency is halved (keeping it at
 * least one) and the construction is repeated.
 */
export function makeCodeLengths(len: Uint8Array, freq: Int32Array, alphaSize: number, maxLen: number): void {
  // Scratch reused across calls (the compressor calls this up to 24 times per block). The heap
  // keeps each entry's weight beside it (`hw`), so comparisons read one array; the order of
  // operations is libbzip2's, so ties break the same way.
  const heap = HEAP;
  const hw = HEAP_WEIGHT;
  const weight = WEIGHT;
  const parent = PARENT;

  // A zero frequency counts as one: f | ((f - 1) >>> 31) without a branch (zeros and non-zeros
  // alternate unpredictably, and the mispredicted test was a fourteenth of this function).
  for (let i = 0; i < alphaSize; i++) {
    const f = freq[i];
    weight[i + 1] = (f | ((f - 1) >>> 31)) << 8;
  }

  for (;;) {
    let nNodes = alphaSize;
    let nHeap = 0;
    heap[0] = 0;
    hw[0] = 0;
    weight[0] = 0;

    // Every node but the root gets its parent set below; nothing reads the root's.
    for (let i = 1; i <= alphaSize; i++) {
      nHeap++;
      upHeap(heap, hw, nHeap, i, weight[i]);
    }

    while (nHeap > 1) {
      const n1 = heap[1];
      heap[1] = heap[nHeap];
      hw[1] = hw[nHeap];
      nHeap--;
      downHeap(heap, hw, nHeap);
      const n2 = heap[1];
      heap[1] = heap[nHeap];
      hw[1] = hw[nHeap];
      nHeap--;
      downHeap(heap, hw, nHeap);
      nNodes++;
      parent[n1] = nNodes;
      parent[n2] = nNodes;
      const w1 = weight[n1];
      const w2 = weight[n2];
      const d1 = w1 & 0xff;
      const d2 = w2 & 0xff;
      const wn = ((w1 & ~0xff) + (w2 & ~0xff)) | (1 + (d1 > d2 ? d1 : d2));
      weight[nNodes] = wn;
      nHeap++;
      upHeap(heap, hw, nHeap, nNodes, wn);
    }

    // Depths top-down: a node's parent always has a higher number, the root (nNodes) none.
    // Gives the lengths libbzip2's walk up from each leaf gives.
    const depth = DEPTH;
    depth[nNodes] = 0;
    for (let k = nNodes - 1; k >= 1; k--) depth[k] = depth[parent[k]] + 1;
    let tooLong = false;
    for (let i = 1; i <= alphaSize; i++) {
      const j = depth[i];
      len[i - 1] = j;
      if (j > maxLen) tooLong = true;
    }
    if (!tooLong) return;

    for (let i = 1; i <= alphaSize; i++) {
      const j = 1 + ((weight[i] >> 8) >> 1);
      weight[i] = j << 8;
    }
  }
}

const HEAP = new Int32Array(MAX_ALPHA_SIZE + 2);
const HEAP_WEIGHT = new Int32Array(MAX_ALPHA_SIZE + 2);
const WEIGHT = new Int32Array(MAX_ALPHA_SIZE * 2);
const PARENT = new Int32Array(MAX_ALPHA_SIZE * 2);
const DEPTH = new Int32Array(MAX_ALPHA_SIZE * 2);

/** libbzip2's UPHEAP(z) with node `node` of weight `w` placed at `z`. */
function upHeap(heap: Int32Array, hw: Int32Array, z: number, node: number, w: number): void {
  while (w < hw[z >> 1]) {
    const p = z >> 1;
    heap[z] = heap[p];
    hw[z] = hw[p];
    z = p;
  }
  heap[z] = node;
  hw[z] = w;
}

/**
 * libbzip2's DOWNHEAP(1) over a heap of `nHeap` entries, done bottom-up (Floyd): walk the
 * smaller-child path to a leaf moving children up, then move the entry back up past the
 * children heavier than it. Along the path weights only grow, so the entry ends where
 * DOWNHEAP puts it and the array is the same, with one comparison per level instead of two.
 */
function downHeap(heap: Int32Array, hw: Int32Array, nHeap: number): void {
  let z = 1;
  const tmp = heap[1];
  const wt = hw[1];
  // The slot past the heap (dead: its entry was just moved to the top) holds a weight no child
  // is heavier than, so a lone last child needs no test, and the choice of the lighter child is
  // arithmetic: (right - left) >>> 31 is 1 exactly when right < left (weights are below 2^31).
  // It is a coin flip on real data, and a mispredicted branch per level cost a third of the time.
  hw[nHeap + 1] = 0x7fffffff;
  for (;;) {
    let y = z << 1;
    if (y > nHeap) break;
    y += (hw[y + 1] - hw[y]) >>> 31;
    heap[z] = heap[y];
    hw[z] = hw[y];
    z = y;
  }
  while (z > 1) {
    const p = z >> 1;
    if (!(wt < hw[p])) break;
    heap[z] = heap[p];
    hw[z] = hw[p];
    z = p;
  }
  heap[z] = tmp;
  hw[z] = wt;
}

const COUNT = new Int32Array(32);
const NEXT = new Int32Array(32);

/**
 * Canonical code assignment, as BZ2_hbAssignCodes: by increasing length, then by symbol value.
 * Counted per length first, so it takes one pass over the symbols instead of one per length.
 * Each symbol gets one word, code << 5 | length, what the writer needs.
 */
export function assignCodes(code: Int32Array, len: Uint8Array, alphaSize: number): void {
  const count = COUNT;
  const next = NEXT;
  count.fill(0);
  let minLen = 32;
  let maxLen = 0;
  for (let i = 0; i < alphaSize; i++) {
    const l = len[i];
    count[l]++;
    if (l > maxLen) maxLen = l;
    if (l < minLen) minLen = l;
  }
  let vec = 0;
  for (let n = minLen; n <= maxLen; n++) {
    next[n] = vec;
    vec = (vec + count[n]) << 1;
  }
  for (let i = 0; i < alphaSize; i++) {
    const l = len[i];
    code[i] = (next[l]++ << 5) | l;
  }
}
