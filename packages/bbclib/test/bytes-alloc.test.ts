/**
 * The slab allocator behind small results (encodings, digests, decoded copies) and the node
 * SHA-256 that writes into it: results must be independent, zero-filled, and the digests
 * identical to @noble/hashes for every length.
 */
import fc from "fast-check";
import { sha256 as nobleSha256 } from "@noble/hashes/sha2.js";
import { describe, expect, it } from "vitest";
import { allocBytes, copyBytes } from "../src/bytes.js";
import { sha256 as nodeSha256 } from "../src/crypto/sha256-node.js";
import { sha256 as portableSha256 } from "../src/crypto/sha256-noble.js";

describe("slab-backed small allocations", () => {
  it("hands out zero-filled, non-overlapping views, and large sizes on their own buffer", () => {
    const views: Uint8Array[] = [];
    for (let i = 0; i < 2000; i++) {
      const n = (i * 37) % 1100; // crosses the slab chunk limit and many slab boundaries
      const v = allocBytes(n);
      expect(v.length).toBe(n);
      expect(v.every((b) => b === 0)).toBe(true);
      v.fill(i & 0xff);
      views.push(v);
    }
    views.forEach((v, i) => expect(v.every((b) => b === (i & 0xff))).toBe(true));
    expect(allocBytes(4096).byteOffset).toBe(0);
    expect(allocBytes(4096).buffer.byteLength).toBe(4096);
  });

  it("copyBytes copies: later changes to the source do not show", () => {
    const src = Uint8Array.from([1, 2, 3, 4]);
    const c = copyBytes(src);
    src[0] = 9;
    expect([...c]).toEqual([1, 2, 3, 4]);
  });

  it("node and portable SHA-256 agree with @noble/hashes on random inputs of every size", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 3000 }), (data) => {
        const want = nobleSha256(data);
        expect(nodeSha256(data)).toEqual(want);
        expect(portableSha256(data)).toEqual(want);
      }),
      { numRuns: 500 },
    );
  });
});
