/**
 * Our deflate of small inputs (zlib/deflate.ts) against pako, a port of stock zlib: the same
 * bytes for every input, whatever its statistics (incompressible, runs, few symbols, skewed
 * frequencies that force zlib's code-length repair), at every size up to the limit.
 */
import fc from "fast-check";
import { Deflate } from "pako";
import { describe, expect, it } from "vitest";
import { fromHex, toHex, zlibCompress, zlibDecompress } from "../src/index.js";
import { FAST_DEFLATE_MAX, deflateSmall } from "../src/codec/zlib/deflate.js";
import { transactionCases } from "./vectors.js";

const RUNS = Number(process.env.BBC1_PROPERTY_RUNS ?? 3000);

function pako6(data: Uint8Array): string {
  const d = new Deflate({ level: 6 });
  d.push(data, true);
  return toHex(d.result as Uint8Array);
}

function same(data: Uint8Array): void {
  const ours = toHex(deflateSmall(data));
  expect(ours).toBe(pako6(data));
}

/** Bytes drawn from a distribution: few symbols, skewed weights, runs, copies of earlier parts. */
const shaped = fc
  .record({
    n: fc.integer({ min: 0, max: FAST_DEFLATE_MAX }),
    alphabet: fc.integer({ min: 1, max: 256 }),
    skew: fc.double({ min: 0, max: 3, noNaN: true }),
    runs: fc.integer({ min: 0, max: 40 }),
    copies: fc.integer({ min: 0, max: 60 }),
    seed: fc.integer(),
  })
  .map(({ n, alphabet, skew, runs, copies, seed }) => {
    let s = seed >>> 0 || 1;
    const rnd = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = Math.floor(alphabet * rnd() ** (1 + skew));
    for (let r = 0; r < runs && n > 0; r++) {
      const at = Math.floor(rnd() * n);
      b.fill(b[at], at, Math.min(n, at + Math.floor(rnd() * 300)));
    }
    for (let c = 0; c < copies && n > 8; c++) {
      const from = Math.floor(rnd() * n);
      const to = Math.floor(rnd() * n);
      const len = Math.floor(rnd() * 400);
      b.copyWithin(to, from, Math.min(n, from + len));
    }
    return b;
  });

describe("deflate of small inputs = stock zlib level 6 (pako)", () => {
  it("edge sizes and contents", () => {
    for (const n of [0, 1, 2, 3, 4, 5, 257, 258, 259, 4096, 4097, FAST_DEFLATE_MAX]) {
      same(new Uint8Array(n));
      same(Uint8Array.from({ length: n }, (_, i) => (i * 7919) & 0xff));
      same(Uint8Array.from({ length: n }, (_, i) => (i * i * 31 + (i >> 3)) & 0xff));
    }
  });

  it("skewed (Fibonacci) literal frequencies that force zlib's code-length repair", () => {
    // 17-20 symbols with Fibonacci counts among uniform filler: the Huffman tree of the literals
    // gets deeper than 15 bits and must be repaired (gen_bitlen's overflow path). Instrumenting
    // the implementation showed these seeds take that path (48 of seeds 1-299 do).
    for (const seed of [2, 9, 10, 14, 23, 34, 36, 38, 48, 50, 61, 72]) {
      let x = seed * 7919;
      const rnd = () => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 2 ** 32);
      const k = 17 + (seed % 4);
      const fib = [1, 1];
      while (fib.length < k) fib.push(fib[fib.length - 1] + fib[fib.length - 2]);
      const scale = 1 + (seed % 3);
      const parts: number[] = [];
      fib.forEach((f, i) => {
        for (let j = 0; j < Math.ceil(f / scale); j++) parts.push(i);
      });
      const filler = Math.max(0, FAST_DEFLATE_MAX - parts.length - Math.floor(rnd() * 3000));
      for (let j = 0; j < filler && parts.length < FAST_DEFLATE_MAX; j++) parts.push(32 + Math.floor(rnd() * 224));
      for (let i = parts.length - 1; i > 0; i--) {
        const j = Math.floor(rnd() * (i + 1));
        [parts[i], parts[j]] = [parts[j], parts[i]];
      }
      same(Uint8Array.from(parts.slice(0, FAST_DEFLATE_MAX)));
    }
  });

  it(`random shaped inputs, ${RUNS} runs`, () => {
    fc.assert(fc.property(shaped, (b) => same(b)), { numRuns: RUNS });
  });

  it(`random bytes, ${RUNS} runs`, () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 3000 }), (b) => same(b)), { numRuns: RUNS });
  });

  it("zlibCompress round-trips and matches pako beyond the limit too", () => {
    for (const n of [FAST_DEFLATE_MAX - 1, FAST_DEFLATE_MAX, FAST_DEFLATE_MAX + 1, 70000]) {
      const b = Uint8Array.from({ length: n }, (_, i) => (i % 251) ^ (i >> 9));
      const z = zlibCompress(b);
      expect(toHex(z)).toBe(pako6(b));
      expect(toHex(zlibDecompress(z))).toBe(toHex(b));
    }
  });

  it("the zlib-format vectors re-compress to the reference bytes", () => {
    const cases = transactionCases().filter((c) => c.deserialize_ok && (c.format_type === 3 || c.format_type === 6));
    expect(cases.length).toBeGreaterThan(0);
    for (const c of cases) {
      const body = fromHex(c.serialized).subarray(2);
      expect(toHex(zlibCompress(zlibDecompress(body)))).toBe(toHex(body));
    }
  });
});
