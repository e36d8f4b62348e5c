/**
 * Both crypto backends (node:crypto / OpenSSL and @noble) must give identical results:
 * derived public keys from the golden vectors, the vectors' own OpenSSL signatures (binary
 * format, where the digest can be recomputed here), fresh signatures cross-verified, and
 * identical verdicts on mutated signatures and keys.
 */
import { createHash, createPublicKey } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { p256 } from "@noble/curves/nist.js";
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { afterEach, describe, expect, it } from "vitest";
import type { CryptoBackend, CurveType } from "../src/crypto/backend.js";
import { P256, SECP256K1, compressPoint, normalizeSignature } from "../src/crypto/curves.js";
import { encodeSpki } from "../src/crypto/keys.js";
import { nobleBackend } from "../src/crypto/noble-backend.js";
import { nodeBackend } from "../src/crypto/node-backend.js";
import { backend as defaultBackend } from "#crypto-backend";

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, "hex"));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
const sha256 = (b: Uint8Array): Uint8Array => Uint8Array.from(createHash("sha256").update(b).digest());
const concat = (...parts: Uint8Array[]): Uint8Array => Uint8Array.from(Buffer.concat(parts));

interface VectorCase {
  name: string;
  format_type: number;
  id_length: number;
  serialized: string;
  transaction_id: string;
  keys: { curve: CurveType; private_key: string; public_key: string }[];
  signatures: { key_type: CurveType; pubkey: string; signature: string }[];
}

const vectors = JSON.parse(
  readFileSync(fileURLToPath(new URL("./fixtures/bbclib-transactions.json", import.meta.url)), "utf8"),
) as { cases: VectorCase[] };

const backends: CryptoBackend[] = [nodeBackend, nobleBackend];
const curves: CurveType[] = [2, 1];
const orderOf = (c: CurveType): Uint8Array => (c === 2 ? P256.order : SECP256K1.order);
const orderBig = (c: CurveType): bigint => BigInt("0x" + toHex(orderOf(c)));
const big32 = (n: bigint): Uint8Array => hex(n.toString(16).padStart(64, "0"));

/** Verify on both backends by both paths; all four must agree; returns the verdict. */
function verdict(curve: CurveType, pub: Uint8Array, message: Uint8Array, sig: Uint8Array): boolean {
  const digest = sha256(message);
  const results = [
    nodeBackend.verifyMessage(curve, pub, message, sig),
    nobleBackend.verifyMessage(curve, pub, message, sig),
    nodeBackend.verifyDigest(curve, pub, digest, sig),
    nobleBackend.verifyDigest(curve, pub, digest, sig),
  ];
  expect(results, `curve ${curve} pub ${toHex(pub)} sig ${toHex(sig)}`).toEqual([results[0], results[0], results[0], results[0]]);
  // the off-thread path (OpenSSL on libuv's pool; noble: settled at once) gives the same verdict, checked after each test
  const label = `async: curve ${curve} pub ${toHex(pub)} sig ${toHex(sig)}`;
  asyncVerdicts.push(Promise.all([nodeBackend.verifyMessageAsync(curve, pub, message, sig), nobleBackend.verifyMessageAsync(curve, pub, message, sig)]).then((r) => ({ r, want: results[0]!, label })));
  return results[0];
}

const asyncVerdicts: Promise<{ r: boolean[]; want: boolean; label: string }>[] = [];
afterEach(async () => {
  for (const { r, want, label } of await Promise.all(asyncVerdicts.splice(0))) expect(r, label).toEqual([want, want]);
});

describe("default backend", () => {
  it("is the node backend under Node's export conditions", () => {
    expect(defaultBackend.name).toBe("node");
    expect(nobleBackend.name).toBe("noble");
  });
});

describe("golden vectors", () => {
  it("has cases with keys of both curves and both point forms", () => {
    const shapes = new Set(vectors.cases.flatMap((c) => c.keys.map((k) => `${k.curve}/${k.public_key.length / 2}`)));
    expect(vectors.cases.length).toBeGreaterThan(0);
    expect(shapes.size).toBeGreaterThanOrEqual(2);
  });

  it("derives every vector public key from its private key on both backends", () => {
    let n = 0;
    for (const c of vectors.cases) {
      for (const k of c.keys) {
        const priv = hex(k.private_key);
        const pub = hex(k.public_key);
        const compressed = pub.length === 33;
        for (const b of backends) {
          expect(toHex(b.getPublicKey(k.curve, priv, compressed)), `${c.name} ${b.name}`).toBe(k.public_key);
          // the other form agrees across backends too
          expect(toHex(b.getPublicKey(k.curve, priv, !compressed))).toBe(toHex(nobleBackend.getPublicKey(k.curve, priv, !compressed)));
        }
        n++;
      }
      for (const s of c.signatures) {
        expect(c.keys.some((k) => k.public_key === s.pubkey && k.curve === s.key_type), c.name).toBe(true);
      }
    }
    expect(n).toBeGreaterThan(0);
  });

  it("verifies the vectors' OpenSSL signatures (binary format) on both backends, and rejects them mutated", () => {
    let checked = 0;
    for (const c of vectors.cases.filter((v) => v.format_type === 0)) {
      // v1.1.1 binary: body = serialized minus the 2-byte format prefix; it ends with
      // cross_ref (2-byte count, 0 here) and the signature list. The signed digest is
      // sha256(sha256(base) || cross_ref part).
      const body = hex(c.serialized).subarray(2);
      let tail = 2;
      for (const s of c.signatures) tail += 4 + 4 + 4 + s.pubkey.length / 2 + 4 + s.signature.length / 2;
      const cross = body.subarray(body.length - tail - 2, body.length - tail);
      expect(toHex(cross), c.name).toBe("0000");
      const base = body.subarray(0, body.length - tail - 2);
      const message = concat(sha256(base), cross);
      const digest = sha256(message);
      expect(toHex(digest.subarray(0, c.id_length)), c.name).toBe(c.transaction_id);
      for (const s of c.signatures) {
        const pub = hex(s.pubkey);
        const sig = hex(s.signature);
        expect(verdict(s.key_type, pub, message, sig), c.name).toBe(true);
        const bad = sig.slice();
        bad[5] ^= 0x10;
        expect(verdict(s.key_type, pub, message, bad)).toBe(false);
        const badMsg = message.slice();
        badMsg[0] ^= 1;
        expect(verdict(s.key_type, pub, badMsg, sig)).toBe(false);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(0);
  });
});

describe("fresh keys and signatures", () => {
  for (const curve of curves) {
    for (const compressed of [false, true]) {
      for (const keygen of backends) {
        it(`curve ${curve}, ${compressed ? "compressed" : "uncompressed"}, key from ${keygen.name}: both sign, both verify`, () => {
          const priv = keygen.generatePrivateKey(curve);
          expect(priv).toBeInstanceOf(Uint8Array);
          expect(priv.length).toBe(32);
          const pub = keygen.getPublicKey(curve, priv, compressed);
          expect(pub.length).toBe(compressed ? 33 : 65);
          for (const b of backends) expect(toHex(b.getPublicKey(curve, priv, compressed))).toBe(toHex(pub));
          const message = Uint8Array.from({ length: 440 }, (_, i) => (i * 7) & 0xff);
          const digest = sha256(message);
          for (const signer of backends) {
            const s1 = signer.signMessage(curve, priv, message);
            const s2 = signer.signDigest(curve, priv, digest);
            for (const s of [s1, s2]) {
              expect(s.length).toBe(64);
              expect(Object.getPrototypeOf(s)).toBe(Uint8Array.prototype);
              expect(verdict(curve, pub, message, s)).toBe(true);
              // the other curve never verifies
              expect(verdict(curve === 1 ? 2 : 1, pub, message, s)).toBe(false);
            }
          }
        });
      }
    }
  }

  it("node signatures are randomized, noble signatures are deterministic (RFC 6979)", () => {
    const priv = nobleBackend.generatePrivateKey(2);
    const m = new TextEncoder().encode("hello");
    expect(toHex(nodeBackend.signMessage(2, priv, m))).not.toBe(toHex(nodeBackend.signMessage(2, priv, m)));
    expect(toHex(nobleBackend.signMessage(2, priv, m))).toBe(toHex(nobleBackend.signMessage(2, priv, m)));
  });

  it("accepts high-S signatures (OpenSSL does) on both backends", () => {
    for (const curve of curves) {
      const priv = nodeBackend.generatePrivateKey(curve);
      const pub = nodeBackend.getPublicKey(curve, priv, false);
      const m = new TextEncoder().encode("high s");
      const sig = nobleBackend.signMessage(curve, priv, m);
      const s = BigInt("0x" + toHex(sig.subarray(32)));
      const flipped = concat(sig.subarray(0, 32), big32(orderBig(curve) - s));
      expect(verdict(curve, pub, m, sig)).toBe(true);
      expect(verdict(curve, pub, m, flipped)).toBe(true);
    }
  });

  it("handles private keys shorter than 32 bytes (leading zero) and rejects bad ones alike", () => {
    for (const curve of curves) {
      const short = hex("00".repeat(0) + "7f" + "11".repeat(30)); // 31 bytes
      const padded = concat(new Uint8Array(1), short);
      for (const b of backends) {
        expect(toHex(b.getPublicKey(curve, short, false))).toBe(toHex(b.getPublicKey(curve, padded, false)));
        const sig = b.signMessage(curve, short, Uint8Array.of(1, 2, 3));
        expect(verdict(curve, b.getPublicKey(curve, padded, true), Uint8Array.of(1, 2, 3), sig)).toBe(true);
        for (const bad of [new Uint8Array(32), orderOf(curve), new Uint8Array(0), concat(Uint8Array.of(1), padded)]) {
          expect(() => b.getPublicKey(curve, bad, false)).toThrow(expect.objectContaining({ code: "BAD_KEY" }));
          expect(() => b.signMessage(curve, bad, Uint8Array.of(1))).toThrow(expect.objectContaining({ code: "BAD_KEY" }));
          expect(() => b.signDigest(curve, bad, new Uint8Array(32))).toThrow(expect.objectContaining({ code: "BAD_KEY" }));
        }
        expect(() => b.getPublicKey(3 as CurveType, padded, false)).toThrow(expect.objectContaining({ code: "BAD_CURVE" }));
        expect(() => b.generatePrivateKey(0 as CurveType)).toThrow(expect.objectContaining({ code: "BAD_CURVE" }));
      }
    }
  });

  it("derives the same key as node:crypto's own import", () => {
    const priv = nobleBackend.generatePrivateKey(2);
    const pub = nobleBackend.getPublicKey(2, priv, false);
    const jwk = createPublicKey({
      key: { kty: "EC", crv: "P-256", x: Buffer.from(pub.subarray(1, 33)).toString("base64url"), y: Buffer.from(pub.subarray(33)).toString("base64url") },
      format: "jwk",
    }).export({ format: "jwk" });
    expect(jwk.x).toBe(Buffer.from(pub.subarray(1, 33)).toString("base64url"));
  });
});

describe("verification rules of v1.1.1 (libbbcsig verify)", () => {
  const m = new TextEncoder().encode("v1.1.1 verify rules");
  const fixtures = curves.map((curve) => {
    const priv = nobleBackend.generatePrivateKey(curve);
    return {
      curve,
      pub: nobleBackend.getPublicKey(curve, priv, false),
      pubC: nobleBackend.getPublicKey(curve, priv, true),
      sig: nodeBackend.signMessage(curve, priv, m),
    };
  });

  it("splits the signature in halves with leading zeros allowed and ignores an odd trailing byte", () => {
    for (const { curve, pub, pubC, sig } of fixtures) {
      const r = sig.subarray(0, 32);
      const s = sig.subarray(32);
      const z = new Uint8Array(3);
      expect(verdict(curve, pub, m, sig)).toBe(true);
      expect(verdict(curve, pubC, m, sig)).toBe(true);
      expect(verdict(curve, pub, m, concat(z, r, z, s))).toBe(true); // 70 bytes, halves of 35
      expect(verdict(curve, pub, m, concat(sig, Uint8Array.of(0xab)))).toBe(true); // 65: last byte ignored
      expect(verdict(curve, pub, m, concat(r, s, new Uint8Array(2)))).toBe(false); // 66: halves of 33 shift
      expect(verdict(curve, pub, m, sig.subarray(0, 63))).toBe(false);
      expect(verdict(curve, pub, m, concat(s, r))).toBe(false);
      expect(verdict(curve, pub, m, new Uint8Array(0))).toBe(false);
      expect(verdict(curve, pub, m, Uint8Array.of(1))).toBe(false);
    }
  });

  it("verifies signatures whose r or s has leading zero bytes or the high bit set (DER edge cases)", () => {
    for (const curve of curves) {
      const priv = nodeBackend.generatePrivateKey(curve);
      const pub = nodeBackend.getPublicKey(curve, priv, false);
      const seen = { rZero: 0, sZero: 0, rHigh: 0, sHigh: 0 };
      for (let i = 0; i < 20_000 && (seen.rZero < 2 || seen.sZero < 2 || seen.rHigh < 2 || seen.sHigh < 2); i++) {
        const msg = Uint8Array.of(i & 0xff, i >> 8, curve);
        const sig = nodeBackend.signMessage(curve, priv, msg);
        const kind = sig[0] === 0 ? "rZero" : sig[32] === 0 ? "sZero" : sig[0]! >= 0x80 ? "rHigh" : sig[32]! >= 0x80 ? "sHigh" : undefined;
        if (kind === undefined || seen[kind] >= 2) continue;
        seen[kind]++;
        expect(verdict(curve, pub, msg, sig)).toBe(true);
        const other = Uint8Array.of(i & 0xff, i >> 8, curve ^ 0xff);
        expect(verdict(curve, pub, other, sig)).toBe(false);
      }
      expect(seen).toEqual({ rZero: 2, sZero: 2, rHigh: 2, sHigh: 2 });
    }
  });

  it("rejects r or s zero or not below the order, and keys that are not points", () => {
    for (const { curve, pub, sig } of fixtures) {
      const r = sig.subarray(0, 32);
      const s = sig.subarray(32);
      const n = orderOf(curve);
      expect(verdict(curve, pub, m, concat(new Uint8Array(32), s))).toBe(false);
      expect(verdict(curve, pub, m, concat(r, new Uint8Array(32)))).toBe(false);
      expect(verdict(curve, pub, m, concat(r, n))).toBe(false);
      expect(verdict(curve, pub, m, concat(n, s))).toBe(false);
      // r + n has the same residue: OpenSSL rejects it as out of range, so do we
      const rPlusN = orderBig(curve) + BigInt("0x" + toHex(r));
      expect(verdict(curve, pub, m, concat(hex(rPlusN.toString(16).padStart(66, "0")), Uint8Array.of(0), s))).toBe(false);
      expect(normalizeSignature(curve, concat(r, s))).not.toBeNull();
      // the point at infinity (0x00) and undecodable keys: false (v1.1.1 verified with infinity)
      expect(verdict(curve, Uint8Array.of(0), m, sig)).toBe(false);
      expect(verdict(curve, new Uint8Array(65), m, sig)).toBe(false);
      const offCurve = pub.slice();
      offCurve[64] ^= 1;
      expect(verdict(curve, offCurve, m, sig)).toBe(false);
      // hybrid encoding (0x06/0x07 + parity of y) is a valid OpenSSL encoding
      const hybrid = pub.slice();
      hybrid[0] = 0x06 | (pub[64] & 1);
      expect(verdict(curve, hybrid, m, sig)).toBe(true);
      hybrid[0] ^= 1;
      expect(verdict(curve, hybrid, m, sig)).toBe(false);
      // bad curve types
      expect(nodeBackend.verifyMessage(0 as CurveType, pub, m, sig)).toBe(false);
      expect(nobleBackend.verifyMessage(3 as CurveType, pub, m, sig)).toBe(false);
      expect(nodeBackend.verifyDigest(3 as CurveType, pub, sha256(m), sig)).toBe(false);
    }
  });

  it("never throws on non-bytes input", () => {
    const { pub, sig } = fixtures[0];
    for (const b of backends) {
      expect(b.verifyMessage(2, null as unknown as Uint8Array, m, sig)).toBe(false);
      expect(b.verifyMessage(2, pub, m, undefined as unknown as Uint8Array)).toBe(false);
      expect(b.verifyMessage(2, pub, "x" as unknown as Uint8Array, sig)).toBe(false);
      expect(b.verifyDigest(2, pub, {} as unknown as Uint8Array, sig)).toBe(false);
    }
  });

  it("the off-thread verification never rejects on non-bytes input or unknown curves", async () => {
    const { pub, sig } = fixtures[0];
    for (const b of backends) {
      expect(await b.verifyMessageAsync(2, null as unknown as Uint8Array, m, sig)).toBe(false);
      expect(await b.verifyMessageAsync(2, pub, m, undefined as unknown as Uint8Array)).toBe(false);
      expect(await b.verifyMessageAsync(2, pub, "x" as unknown as Uint8Array, sig)).toBe(false);
      expect(await b.verifyMessageAsync(3 as CurveType, pub, m, sig)).toBe(false);
      expect(await b.verifyMessageAsync(2, pub, m, sig)).toBe(true);
    }
  });

  it("gives identical verdicts on both backends for mutated signatures, keys and messages (fast-check)", () => {
    type Mutation =
      | { kind: "flipSig"; index: number; bit: number }
      | { kind: "truncate"; length: number }
      | { kind: "pad"; zeros: number }
      | { kind: "append"; bytes: Uint8Array }
      | { kind: "swap" }
      | { kind: "rZero" }
      | { kind: "sOrder"; delta: number }
      | { kind: "wrongCurve" }
      | { kind: "compressedKey" }
      | { kind: "flipKey"; index: number; bit: number }
      | { kind: "garbageKey"; key: Uint8Array }
      | { kind: "prefixedGarbageKey"; prefix: number; body: Uint8Array }
      | { kind: "garbageSig"; sig: Uint8Array }
      | { kind: "flipMsg"; index: number; bit: number }
      | { kind: "none" };
    const mutation: fc.Arbitrary<Mutation> = fc.oneof(
      fc.record({ kind: fc.constant("flipSig" as const), index: fc.nat(63), bit: fc.nat(7) }),
      fc.record({ kind: fc.constant("truncate" as const), length: fc.nat(70) }),
      fc.record({ kind: fc.constant("pad" as const), zeros: fc.integer({ min: 1, max: 40 }) }),
      fc.record({ kind: fc.constant("append" as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 3 }) }),
      fc.constant({ kind: "swap" as const }),
      fc.constant({ kind: "rZero" as const }),
      fc.record({ kind: fc.constant("sOrder" as const), delta: fc.integer({ min: -2, max: 2 }) }),
      fc.constant({ kind: "wrongCurve" as const }),
      fc.constant({ kind: "compressedKey" as const }),
      fc.record({ kind: fc.constant("flipKey" as const), index: fc.nat(64), bit: fc.nat(7) }),
      fc.record({ kind: fc.constant("garbageKey" as const), key: fc.uint8Array({ maxLength: 70 }) }),
      fc.record({
        kind: fc.constant("prefixedGarbageKey" as const),
        prefix: fc.constantFrom(0, 2, 3, 4, 6, 7),
        body: fc.oneof(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ minLength: 64, maxLength: 64 })),
      }),
      fc.record({ kind: fc.constant("garbageSig" as const), sig: fc.uint8Array({ maxLength: 72 }) }),
      fc.record({ kind: fc.constant("flipMsg" as const), index: fc.nat(m.length - 1), bit: fc.nat(7) }),
      fc.constant({ kind: "none" as const }),
    );
    fc.assert(
      fc.property(fc.constantFrom(...fixtures), mutation, (fx, mu) => {
        let { curve, pub, sig } = fx;
        let msg = m;
        const r = sig.subarray(0, 32);
        const s = sig.subarray(32);
        let expected: boolean | undefined;
        switch (mu.kind) {
          case "flipSig":
            sig = sig.slice();
            sig[mu.index] ^= 1 << mu.bit;
            expected = false;
            break;
          case "truncate":
            sig = sig.subarray(0, Math.min(mu.length, 64));
            expected = mu.length >= 64 ? true : undefined;
            break;
          case "pad":
            sig = concat(new Uint8Array(mu.zeros), r, new Uint8Array(mu.zeros), s);
            expected = true;
            break;
          case "append":
            sig = concat(sig, mu.bytes);
            expected = mu.bytes.length === 1 ? true : undefined;
            break;
          case "swap":
            sig = concat(s, r);
            expected = toHex(r) === toHex(s);
            break;
          case "rZero":
            sig = concat(new Uint8Array(32), s);
            expected = false;
            break;
          case "sOrder": {
            const v = orderBig(curve) + BigInt(mu.delta);
            sig = concat(r, big32(v));
            expected = mu.delta >= 0 ? false : undefined;
            break;
          }
          case "wrongCurve":
            curve = curve === 1 ? 2 : 1;
            expected = false;
            break;
          case "compressedKey":
            pub = fx.pubC;
            expected = true;
            break;
          case "flipKey":
            pub = pub.slice();
            pub[mu.index] ^= 1 << mu.bit;
            break;
          case "garbageKey":
            pub = mu.key;
            break;
          case "prefixedGarbageKey":
            pub = concat(Uint8Array.of(mu.prefix), mu.body);
            break;
          case "garbageSig":
            sig = mu.sig;
            break;
          case "flipMsg":
            msg = m.slice();
            msg[mu.index] ^= 1 << mu.bit;
            expected = false;
            break;
          case "none":
            expected = true;
            break;
        }
        const v = verdict(curve, pub, msg, sig);
        if (expected !== undefined) expect(v).toBe(expected);
      }),
      { numRuns: 300 },
    );
  });

  it("OpenSSL and noble accept exactly the same points (fast-check)", () => {
    const spkiOk = (curve: CurveType, key: Uint8Array): boolean => {
      try {
        createPublicKey({ key: Buffer.from(encodeSpki(curve, key)), format: "der", type: "spki" });
        return true;
      } catch {
        return false;
      }
    };
    const nobleOk = (curve: CurveType, key: Uint8Array): boolean => {
      try {
        (curve === 2 ? p256 : secp256k1).Point.fromBytes(key);
        return true;
      } catch {
        return false;
      }
    };
    fc.assert(
      fc.property(
        fc.constantFrom<CurveType>(1, 2),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.boolean(),
        (curve, x, y, odd) => {
          const compressed = concat(Uint8Array.of(odd ? 3 : 2), x);
          const ok = nobleOk(curve, compressed);
          expect(spkiOk(curve, compressed)).toBe(ok);
          if (ok) {
            const u = (curve === 2 ? p256 : secp256k1).Point.fromBytes(compressed).toBytes(false);
            expect(spkiOk(curve, u)).toBe(true);
            const wrongY = u.slice();
            wrongY[64] ^= 1;
            expect(spkiOk(curve, wrongY)).toBe(false);
          }
          const random = concat(Uint8Array.of(4), x, y);
          expect(spkiOk(curve, random)).toBe(nobleOk(curve, random));
        },
      ),
      { numRuns: 200 },
    );
    // coordinates >= p are refused by both
    const ff = concat(Uint8Array.of(2), new Uint8Array(32).fill(0xff));
    for (const curve of curves) expect([spkiOk(curve, ff), nobleOk(curve, ff)]).toEqual([false, false]);
  });

  it("a random (r, s) verifies on both backends under the public key recovered from it (fast-check)", () => {
    fc.assert(
      fc.property(
        fc.constantFrom<CurveType>(1, 2),
        fc.uint8Array({ minLength: 64, maxLength: 64 }),
        fc.uint8Array({ maxLength: 100 }),
        fc.integer({ min: 0, max: 1 }),
        (curve, raw, msg, rec) => {
          const sig = normalizeSignature(curve, raw);
          fc.pre(sig !== null);
          const noble = curve === 2 ? p256 : secp256k1;
          let q: Uint8Array;
          try {
            q = noble.Signature.fromBytes(sig!).addRecoveryBit(rec).recoverPublicKey(sha256(msg)).toBytes(false);
          } catch {
            return; // r is not the x of a point
          }
          expect(verdict(curve, q, msg, sig!)).toBe(true);
          expect(verdict(curve, compressPoint(q), msg, sig!)).toBe(true);
        },
      ),
      { numRuns: 100 },
    );
  });
});
