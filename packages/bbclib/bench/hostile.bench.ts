/**
 * How long one decode of a hostile input holds the thread with the default budgets: the
 * slowest input each decoder still accepts (as many of the costliest values as the budget
 * allows), the same plus one value (refused), maximum-size inputs of tiny values (refused), and
 * compression bombs (refused while inflating). The p99 column is the figure to watch.
 */
import { measure, type BenchRow } from "../../../bench/harness.js";
import { DEFAULT_DECODE_BUDGET, bsonDecode, bz2Compress, deserialize, msgpackDecode, zlibCompress } from "../src/index.js";
import { deflateSync } from "node:zlib";

const MiB = 1024 * 1024;
const N = DEFAULT_DECODE_BUDGET.maxElements;

/** msgpack array32: a raw32 byte string of `pad` bytes, then `n` copies of `fill`. */
function msgpackWorst(n: number, fill: number[], pad: number): Uint8Array {
  const b = new Uint8Array(10 + pad + n * fill.length);
  const dv = new DataView(b.buffer);
  b[0] = 0xdd;
  dv.setUint32(1, n + 1);
  b[5] = 0xdb;
  dv.setUint32(6, pad);
  for (let i = 0, o = 10 + pad; i < n; i++, o += fill.length) b.set(fill, o);
  return b;
}

/** A BSON document of a `pad`-byte binary then `n` empty binaries (keys of 4 letters). */
function bsonWorst(n: number, pad: number): Uint8Array {
  const el = 1 + 5 + 5;
  const len = 4 + (1 + 5 + 5 + pad) + n * el + 1;
  const b = new Uint8Array(len);
  const dv = new DataView(b.buffer);
  dv.setInt32(0, len, true);
  let o = 4;
  b.set([0x05, 0x70, 0x70, 0x70, 0x70, 0], o);
  dv.setInt32(o + 6, pad, true);
  o += 11 + pad;
  for (let i = 0; i < n; i++, o += el) {
    b[o] = 0x05;
    let k = i;
    for (let j = 0; j < 4; j++, k = Math.floor(k / 26)) b[o + 1 + j] = 0x61 + (k % 26);
  }
  return b;
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
    return "accepted";
  } catch (e) {
    return (e as { code?: string }).code ?? "untyped!";
  }
}

function row(name: string, fn: () => unknown, input: Uint8Array): BenchRow {
  const outcome = codeOf(fn);
  const r = measure(name, () => codeOf(fn), { ms: 600, note: `${outcome}, ${(input.length / 1024).toFixed(0)} KiB in` });
  return r;
}

export async function run(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const pad = 512 * 1024;
  // The costliest small value per input byte: an empty byte string (a0), as Map-mode wire decoding sees it.
  const accept = msgpackWorst(N - 2, [0xa0], pad);
  const over = msgpackWorst(N - 1, [0xa0], pad);
  rows.push(row("msgpack: most empty strings the budget takes", () => msgpackDecode(accept, { maps: "map" }), accept));
  rows.push(row("msgpack: one more (refused)", () => msgpackDecode(over, { maps: "map" }), over));
  const maps = msgpackWorst(Math.floor((N - 2) / 3), [0x81, 0xa0, 0xa0], 6 * MiB);
  rows.push(row("msgpack: maps of one entry (Map mode)", () => msgpackDecode(maps, { maps: "map" }), maps));
  // Lists of 15 empty strings: no single count is over the budget, their sum is; refused at the last.
  const lists = Math.ceil(N / 16) + 1;
  const nested = new Uint8Array(5 + lists * 16);
  nested[0] = 0xdd;
  new DataView(nested.buffer).setUint32(1, lists);
  for (let i = 0, o = 5; i < lists; i++, o += 16) {
    nested[o] = 0x9f;
    nested.fill(0xa0, o + 1, o + 16);
  }
  rows.push(row("msgpack: small lists of empty strings, one too many", () => msgpackDecode(nested, { maps: "map" }), nested));
  const flat = new Uint8Array(64 * MiB).fill(0xa0);
  flat[0] = 0xdd;
  new DataView(flat.buffer).setUint32(1, 64 * MiB - 5);
  rows.push(row("msgpack: 64 MiB list of empty strings", () => msgpackDecode(flat, { maps: "map" }), flat));

  // One map of distinct 4-letter keys (object mode, as transactions are decoded), after a pad.
  const nk = N / 2 - 2;
  const big = new Uint8Array(10 + pad + 5 + nk * 6);
  const bdv = new DataView(big.buffer);
  big[0] = 0x92;
  big[1] = 0xdb;
  bdv.setUint32(2, pad);
  let q = 6 + pad;
  big[q] = 0xdf;
  bdv.setUint32(q + 1, nk);
  q += 5;
  for (let i = 0; i < nk; i++, q += 6) {
    big[q] = 0xa4;
    let k = i;
    for (let j = 0; j < 4; j++, k = Math.floor(k / 26)) big[q + 1 + j] = 0x61 + (k % 26);
    big[q + 5] = 0xc0;
  }
  rows.push(row("msgpack (object mode): one map of 16k keys", () => msgpackDecode(big.subarray(0, q)), big));
  const bson = bsonWorst(N / 2 - 2, pad);
  rows.push(row("BSON: most empty binaries the budget takes", () => bsonDecode(bson), bson));

  // A binary transaction of as many references (two 1-byte ids each) as the budget takes.
  // bounded by the allocation budget (1 MiB + 8 × input) before the element budget
  const refs = 3880;
  const ref = [10, 0, 0, 0, 1, 0, 7, 1, 0, 9, 0, 0, 0, 0];
  const bin = new Uint8Array(20 + refs * ref.length + 8);
  const dv = new DataView(bin.buffer);
  dv.setUint32(2, 1, true);
  dv.setUint16(14, 1, true);
  dv.setUint16(18, refs, true);
  for (let i = 0, o = 20; i < refs; i++, o += ref.length) bin.set(ref, o);
  rows.push(row(`binary transaction: ${refs} references`, () => deserialize(bin), bin));

  const zbomb = new Uint8Array(deflateSync(new Uint8Array(64 * MiB), { level: 9 }));
  const z = new Uint8Array(zbomb.length + 2);
  z[0] = 6;
  z.set(zbomb, 2);
  rows.push(row("format 6: 64 MiB zlib bomb", () => deserialize(z), z));
  const b = bz2Compress(new Uint8Array(8 * MiB));
  const bz = new Uint8Array(b.length + 2);
  bz[0] = 5;
  bz.set(b, 2);
  rows.push(row("format 5: 8 MiB bz2 bomb", () => deserialize(bz), bz));
  // Within the allowance: 256 KiB of nils (inflated, then refused by the element budget).
  const small = zlibCompress(msgpackWorst(256 * 1024 - 16, [0xc0], 0));
  const s6 = new Uint8Array(small.length + 2);
  s6[0] = 6;
  s6.set(small, 2);
  rows.push(row("format 6: 256 KiB of nils", () => deserialize(s6), s6));
  return rows;
}
