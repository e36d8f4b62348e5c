/**
 * bzip2 compressor producing the same bytes as libbzip2 1.0.x driven the way
 * CPython's `bz2.compress(data, level)` drives it (BZ_RUN over all input, then
 * BZ_FINISH; work factor 30).
 *
 * The stages: run-length coding of the input into blocks (here), the block sort
 * (blocksort.ts, rotsort.ts), move-to-front (mtf.ts), Huffman tables and output (send.ts).
 * Every table and buffer a block needs is kept from one call to the next, sized to the input:
 * a transaction body is ~1 KB, and allocating and zeroing per call was a visible part of it.
 */

import { BitSink } from "./bitsink.js";
import { BZ_N_OVERSHOOT, blockSort } from "./blocksort.js";
import { CRC_TABLE_I32, combineCrc } from "./crc.js";
import { MAX_ALPHA_SIZE } from "./huffman.js";
import { generateMtfValues } from "./mtf.js";
import { sendMtfValues } from "./send.js";

/** Scratch larger than this (in elements) is not kept for the next call. */
const KEEP_MAX = 1 << 16;
let blockScratch = new Uint8Array(4096);
let ptrScratch = new Int32Array(2048);
let mtfvScratch = new Uint16Array(2048);
const IN_USE = new Uint8Array(256);
const UNSEQ_TO_SEQ = new Uint8Array(256);
const MTF_FREQ = new Int32Array(MAX_ALPHA_SIZE);

/**
 * Compresses `data` into a single bzip2 stream. `level` (1..9) sets the block
 * size to level * 100000 bytes; it must already be validated.
 */
export function compressStream(data: Uint8Array, level: number): Uint8Array {
  const n = data.length;
  const nblockMAX = level * 100000 - 19;
  // RLE1 turns a run of 4 into 5 bytes, so a block never exceeds 5/4 of its input.
  const blockCap = Math.min(level * 100000, n + (n >> 2) + 8) + BZ_N_OVERSHOOT;
  let block = blockScratch;
  if (block.length < blockCap) {
    block = new Uint8Array(blockCap);
    if (blockCap <= KEEP_MAX) blockScratch = block;
  }
  const inUse = IN_USE;
  inUse.fill(0);
  const w = new BitSink(n + (n >> 3) + 64);
  w.write(8, 0x42); // 'B'
  w.write(8, 0x5a); // 'Z'
  w.write(8, 0x68); // 'h'
  w.write(8, 0x30 + level);

  let p = 0;
  let nblock = 0;
  let runCh = 256; // byte of the pending run; 256 = none
  let runLen = 0;
  // The block's CRC covers the input bytes whose runs it holds: from crcFrom to the start of the
  // pending run (a run still being counted when a block fills is carried over to the next block).
  let crcFrom = 0;
  let combinedCrc = 0;
  for (;;) {
    while (p < n && nblock < nblockMAX) {
      const ch = data[p++];
      if (ch !== runCh || runLen === 255) {
        if (runCh < 256) nblock = addRun(block, nblock, inUse, runCh, runLen);
        runCh = ch;
        runLen = 1;
      } else {
        runLen++;
      }
    }
    // A full block is sent before the next byte is taken.
    if (p === n && nblock < nblockMAX) break;
    combinedCrc = combineCrc(combinedCrc, emitBlock(w, block, nblock, inUse, crc(data, crcFrom, p - runLen)));
    crcFrom = p - runLen;
    nblock = 0;
    inUse.fill(0);
  }
  if (runCh < 256) nblock = addRun(block, nblock, inUse, runCh, runLen);
  if (nblock > 0) combinedCrc = combineCrc(combinedCrc, emitBlock(w, block, nblock, inUse, crc(data, crcFrom, n)));

  w.reserve(12);
  w.write(24, 0x177245);
  w.write(24, 0x385090);
  w.write32(combinedCrc);
  return w.finish();
}

/** Adds a run of `runLen` (1..255) bytes `ch` to the block: 1-3 literal bytes, or 4 and a count. */
function addRun(block: Uint8Array, nblock: number, inUse: Uint8Array, ch: number, runLen: number): number {
  inUse[ch] = 1;
  if (runLen === 1) {
    block[nblock] = ch;
    return nblock + 1;
  }
  if (runLen < 4) {
    for (let i = 0; i < runLen; i++) block[nblock++] = ch;
    return nblock;
  }
  block[nblock] = ch;
  block[nblock + 1] = ch;
  block[nblock + 2] = ch;
  block[nblock + 3] = ch;
  block[nblock + 4] = runLen - 4;
  inUse[runLen - 4] = 1;
  return nblock + 5;
}

/** The bzip2 CRC (finished, unsigned) of data[from..to). */
function crc(data: Uint8Array, from: number, to: number): number {
  // Kept an int32 while running (see CRC_TABLE_I32).
  const table = CRC_TABLE_I32;
  let c = -1;
  for (let i = from; i < to; i++) c = (c << 8) ^ table[(c >>> 24) ^ data[i]];
  return ~c >>> 0;
}

/** Sorts, codes and writes one block (nblock >= 1); returns its CRC. */
function emitBlock(w: BitSink, block: Uint8Array, nblock: number, inUse: Uint8Array, blockCrc: number): number {
  if (ptrScratch.length < nblock) ptrScratch = new Int32Array(nblock);
  const { ptr, origPtr } = blockSort(block, nblock, undefined, ptrScratch);
  if (ptrScratch.length > KEEP_MAX) ptrScratch = new Int32Array(2048);
  w.reserve(16);
  w.write(24, 0x314159);
  w.write(24, 0x265359);
  w.write32(blockCrc);
  w.write(1, 0); // not randomised
  w.write(24, origPtr);

  const unseqToSeq = UNSEQ_TO_SEQ;
  let nInUse = 0;
  for (let i = 0; i < 256; i++) if (inUse[i]) unseqToSeq[i] = nInUse++;
  let mtfv = mtfvScratch;
  if (mtfv.length < nblock + 1) {
    mtfv = new Uint16Array(nblock + 1);
    if (nblock < KEEP_MAX) mtfvScratch = mtfv;
  }
  const nMTF = generateMtfValues(block, nblock, ptr, unseqToSeq, nInUse, mtfv, MTF_FREQ);
  sendMtfValues(w, inUse, mtfv, nMTF, nInUse, MTF_FREQ);
  return blockCrc;
}
