import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BZIP2_DEFAULT_MAX_OUTPUT_BYTES, bzip2Compress, bzip2Decompress } from "../src/codec/bzip2.js";
import { Bzip2Failure } from "../src/codec/bzip2/decompress.js";
import { BbcLibError } from "../src/errors.js";

interface CompressCase {
  name: string;
  level: number;
  input_hex: string;
  output_hex: string;
}
interface DecompressCase {
  name: string;
  compressed_hex: string;
  output_hex: string | null;
}

const fixture = JSON.parse(
  readFileSync(fileURLToPath(new URL("./fixtures/bzip2-cases.json", import.meta.url)), "utf8"),
) as { cases: CompressCase[]; decompress_cases: DecompressCase[] };

const fromHex = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, "hex"));
const toHex = (u: Uint8Array): string => Buffer.from(u.buffer, u.byteOffset, u.byteLength).toString("hex");

/** Runs fn and returns the BbcLibError it throws (failing on any other outcome type). */
function bbcError(fn: () => unknown): BbcLibError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(BbcLibError);
    return e as BbcLibError;
  }
  throw new Error("expected a BbcLibError");
}

/**
 * Decompresses possibly corrupt data: must either return bytes or throw a
 * DECOMPRESS BbcLibError whose cause is the decoder's own failure (so that an
 * internal TypeError/RangeError wrapped for safety still fails the test).
 */
function decompressOrReject(data: Uint8Array, maxOutputBytes?: number): Uint8Array | BbcLibError {
  try {
    return bzip2Decompress(data, maxOutputBytes === undefined ? undefined : { maxOutputBytes });
  } catch (e) {
    expect(e).toBeInstanceOf(BbcLibError);
    const err = e as BbcLibError;
    // a corrupt stream is DECOMPRESS; one that would inflate past the cap DECOMPRESSED_TOO_LARGE
    expect(["DECOMPRESS", "DECOMPRESSED_TOO_LARGE"]).toContain(err.code);
    expect(err.cause).toBeInstanceOf(Bzip2Failure);
    return err;
  }
}

describe("bzip2 oracle cases (CPython bz2 / libbzip2)", () => {
  it("fixture has the expected coverage", () => {
    expect(fixture.cases.length).toBeGreaterThanOrEqual(70);
    const names = fixture.cases.map((c) => c.name);
    for (const n of ["empty@1", "random-250000@1", "zeros-250KB@1", "abab-60000@1", "bson-tx-0@1", "msgpack-tx-0@1"]) {
      expect(names).toContain(n);
    }
    expect(new Set(fixture.cases.map((c) => c.level))).toEqual(new Set([1, 9]));
  });

  for (const c of fixture.cases) {
    it(`compress ${c.name} (${c.input_hex.length / 2} bytes)`, () => {
      const input = fromHex(c.input_hex);
      const out = bzip2Compress(input, c.level);
      expect(toHex(out)).toBe(c.output_hex);
      expect(toHex(bzip2Decompress(fromHex(c.output_hex)))).toBe(c.input_hex);
    });
  }
});

describe("bzip2 decompression-only cases (bz2.decompress semantics)", () => {
  for (const c of fixture.decompress_cases) {
    it(`${c.name} -> ${c.output_hex === null ? "error" : "bytes"}`, () => {
      const data = fromHex(c.compressed_hex);
      if (c.output_hex === null) {
        const err = bbcError(() => bzip2Decompress(data));
        expect(err.code).toBe("DECOMPRESS");
      } else {
        expect(toHex(bzip2Decompress(data))).toBe(c.output_hex);
      }
    });
  }

  it("rejects a randomised block (bzip2 0.9.0) instead of misdecoding it", () => {
    const s = bzip2Compress(new TextEncoder().encode("randomised"), 1);
    // The randomised flag is the bit after header (4 bytes), magic (6) and CRC (4).
    const bad = s.slice();
    bad[14] |= 0x80;
    const err = bbcError(() => bzip2Decompress(bad));
    expect(err.code).toBe("DECOMPRESS");
    expect(err.message).toMatch(/randomised/);
  });
});

describe("bzip2 API arguments", () => {
  it("defaults to block size 9, like bz2.compress", () => {
    const data = new TextEncoder().encode("default level");
    expect(toHex(bzip2Compress(data))).toBe(toHex(bzip2Compress(data, 9)));
    expect(bzip2Compress(data)[3]).toBe(0x39);
  });

  it("empty input gives header + end-of-stream for each level", () => {
    for (let level = 1; level <= 9; level++) {
      expect(toHex(bzip2Compress(new Uint8Array(0), level))).toBe(`425a68${(0x30 + level).toString(16)}17724538509000000000`);
    }
  });

  it("rejects bad block sizes and non-Uint8Array data with BAD_ARGUMENT", () => {
    for (const level of [0, 10, 1.5, Number.NaN, -1]) {
      expect(bbcError(() => bzip2Compress(new Uint8Array(1), level)).code).toBe("BAD_ARGUMENT");
    }
    expect(bbcError(() => bzip2Compress("abc" as unknown as Uint8Array)).code).toBe("BAD_ARGUMENT");
    expect(bbcError(() => bzip2Decompress([1, 2] as unknown as Uint8Array)).code).toBe("BAD_ARGUMENT");
    for (const max of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(bbcError(() => bzip2Decompress(new Uint8Array(0), { maxOutputBytes: max })).code).toBe("BAD_ARGUMENT");
    }
  });

  it("accepts Buffer and subarray views", () => {
    const data = new TextEncoder().encode("xxhello view worldxx");
    const view = data.subarray(2, data.length - 2);
    const c = bzip2Compress(view, 1);
    expect(toHex(bzip2Decompress(Buffer.from(c)))).toBe(toHex(view));
  });

  it("maxOutputBytes is an exact bound", () => {
    const data = new Uint8Array(5000);
    for (let i = 0; i < data.length; i++) data[i] = (i * 31) % 7;
    const c = bzip2Compress(data, 1);
    expect(bzip2Decompress(c, { maxOutputBytes: 5000 }).length).toBe(5000);
    expect(bbcError(() => bzip2Decompress(c, { maxOutputBytes: 4999 })).code).toBe("DECOMPRESSED_TOO_LARGE");
    expect(bzip2Decompress(bzip2Compress(new Uint8Array(0)), { maxOutputBytes: 0 }).length).toBe(0);
  });

  it("exposes the 64 MiB default limit", () => {
    expect(BZIP2_DEFAULT_MAX_OUTPUT_BYTES).toBe(64 * 1024 * 1024);
  });
});

/** Inputs with the structures that stress the codec: random, runs, periodic, small alphabets. */
const structuredBytes = (maxLength: number): fc.Arbitrary<Uint8Array> =>
  fc
    .array(
      fc.oneof(
        fc.uint8Array({ maxLength: Math.min(maxLength, 2000) }),
        fc.record({ b: fc.integer({ min: 0, max: 255 }), n: fc.integer({ min: 1, max: 700 }) }).map(({ b, n }) => new Uint8Array(n).fill(b)),
        fc
          .record({ pat: fc.uint8Array({ minLength: 1, maxLength: 12 }), n: fc.integer({ min: 1, max: maxLength }) })
          .map(({ pat, n }) => Uint8Array.from({ length: n }, (_, i) => pat[i % pat.length])),
        fc
          .record({ seed: fc.integer(), n: fc.integer({ min: 1, max: 3000 }), k: fc.integer({ min: 1, max: 4 }) })
          .map(({ seed, n, k }) => Uint8Array.from({ length: n }, (_, i) => 97 + (((seed ^ (i * 2654435761)) >>> 7) % k))),
      ),
      { maxLength: 4 },
    )
    .map((parts) => {
      const total = Math.min(
        maxLength,
        parts.reduce((s, p) => s + p.length, 0),
      );
      const out = new Uint8Array(total);
      let o = 0;
      for (const p of parts) {
        const n = Math.min(p.length, total - o);
        out.set(p.subarray(0, n), o);
        o += n;
      }
      return out;
    });

describe("bzip2 properties", () => {
  it("(a) compress -> decompress round-trips", () => {
    fc.assert(
      fc.property(structuredBytes(30000), fc.integer({ min: 1, max: 9 }), (data, level) => {
        const c = bzip2Compress(data, level);
        expect(toHex(bzip2Decompress(c))).toBe(toHex(data));
      }),
      { numRuns: 150 },
    );
  });

  it("(a') concatenated streams decode to the concatenated inputs", () => {
    fc.assert(
      fc.property(structuredBytes(3000), structuredBytes(3000), (a, b) => {
        const c1 = bzip2Compress(a, 1);
        const c2 = bzip2Compress(b, 9);
        const both = new Uint8Array(c1.length + c2.length);
        both.set(c1);
        both.set(c2, c1.length);
        expect(toHex(bzip2Decompress(both))).toBe(toHex(a) + toHex(b));
      }),
      { numRuns: 50 },
    );
  });

  it("round-trips multi-block inputs at level 1", () => {
    const data = new Uint8Array(230000);
    let x = 12345;
    for (let i = 0; i < data.length; i++) {
      x = (x * 1103515245 + 12345) >>> 0;
      data[i] = i % 3000 < 1500 ? x >>> 24 : 65 + ((x >>> 28) & 3);
    }
    const c = bzip2Compress(data, 1);
    expect(toHex(bzip2Decompress(c))).toBe(toHex(data));
  });

  const mutation = fc.oneof(
    fc.record({ kind: fc.constant("flip" as const), pos: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
    fc.record({ kind: fc.constant("set" as const), pos: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ kind: fc.constant("truncate" as const), pos: fc.nat() }),
    fc.record({ kind: fc.constant("delete" as const), pos: fc.nat(), n: fc.integer({ min: 1, max: 8 }) }),
    fc.record({ kind: fc.constant("insert" as const), pos: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  );
  type Mutation =
    | { kind: "flip"; pos: number; bit: number }
    | { kind: "set"; pos: number; value: number }
    | { kind: "truncate"; pos: number }
    | { kind: "delete"; pos: number; n: number }
    | { kind: "insert"; pos: number; bytes: Uint8Array };

  function mutate(data: Uint8Array, muts: Mutation[]): Uint8Array {
    let d = data.slice();
    for (const m of muts) {
      if (d.length === 0) break;
      const p = m.pos % d.length;
      switch (m.kind) {
        case "flip":
          d[p] ^= 1 << m.bit;
          break;
        case "set":
          d[p] = m.value;
          break;
        case "truncate":
          d = d.slice(0, p);
          break;
        case "delete":
          d = Uint8Array.from([...d.subarray(0, p), ...d.subarray(p + m.n)]);
          break;
        case "insert":
          d = Uint8Array.from([...d.subarray(0, p), ...m.bytes, ...d.subarray(p)]);
          break;
      }
    }
    return d;
  }

  it("(b) mutated or truncated streams return bytes or throw BbcLibError DECOMPRESS / DECOMPRESSED_TOO_LARGE", () => {
    fc.assert(
      fc.property(
        structuredBytes(4000),
        fc.integer({ min: 1, max: 9 }),
        fc.array(mutation, { minLength: 1, maxLength: 4 }),
        (data, level, muts) => {
          const bad = mutate(bzip2Compress(data, level), muts);
          const t0 = performance.now();
          const r = decompressOrReject(bad, 1 << 20);
          expect(performance.now() - t0).toBeLessThan(2000);
          if (r instanceof Uint8Array) expect(r.length).toBeLessThanOrEqual(1 << 20);
        },
      ),
      { numRuns: 1500 },
    );
  });

  it("(b') random bytes behind valid headers never escape as other errors", () => {
    const header = Uint8Array.from([0x42, 0x5a, 0x68, 0x31, 0x31, 0x41, 0x59, 0x26, 0x53, 0x59]);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.integer({ min: 0, max: 10 }), (tail, keep) => {
        const d = new Uint8Array(keep + tail.length);
        d.set(header.subarray(0, keep));
        d.set(tail, keep);
        decompressOrReject(d, 1 << 20);
      }),
      { numRuns: 1500 },
    );
  });

  it("(c) a decompression bomb stops at maxOutputBytes with DECOMPRESSED_TOO_LARGE", () => {
    const size = 3_000_000;
    const bomb = bzip2Compress(new Uint8Array(size).fill(0x61), 9);
    expect(bomb.length).toBeLessThan(200);
    expect(bzip2Decompress(bomb, { maxOutputBytes: size }).length).toBe(size);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: size - 1 }), (max) => {
        const err = decompressOrReject(bomb, max);
        expect(err).toBeInstanceOf(BbcLibError);
        expect((err as BbcLibError).code).toBe("DECOMPRESSED_TOO_LARGE");
        expect((err as BbcLibError).message).toMatch(/limit/);
      }),
      { numRuns: 40 },
    );
  });

  it("(c') the default limit stops a bomb larger than 64 MiB", () => {
    const bomb = bzip2Compress(new Uint8Array(BZIP2_DEFAULT_MAX_OUTPUT_BYTES + 1), 9);
    expect(bomb.length).toBeLessThan(20000);
    const err = bbcError(() => bzip2Decompress(bomb));
    expect(err.code).toBe("DECOMPRESSED_TOO_LARGE");
  });
});
