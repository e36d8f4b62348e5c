/**
 * Curve constants and the input rules both backends share, so that they accept and reject
 * exactly the same keys and signatures. Pure TypeScript (browser-safe).
 */
import { BbcLibError } from "../errors.js";
import type { CurveType } from "./backend.js";

/** Static facts about one curve. */
export interface CurveInfo {
  readonly type: CurveType;
  /** OpenSSL / node:crypto curve name. */
  readonly opensslName: "prime256v1" | "secp256k1";
  /** JWK `crv`. */
  readonly jwkName: "P-256" | "secp256k1";
  /** Named-curve OID, dotted. */
  readonly oid: string;
  /** Group order n, 32 bytes big-endian. */
  readonly order: Uint8Array;
}

function hex(s: string): Uint8Array {
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export const P256: CurveInfo = Object.freeze({
  type: 2,
  opensslName: "prime256v1",
  jwkName: "P-256",
  oid: "1.2.840.10045.3.1.7",
  order: hex("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551"),
});

export const SECP256K1: CurveInfo = Object.freeze({
  type: 1,
  opensslName: "secp256k1",
  jwkName: "secp256k1",
  oid: "1.3.132.0.10",
  order: hex("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141"),
});

/** id-ecPublicKey, the SPKI / PKCS#8 algorithm of EC keys. */
export const OID_EC_PUBLIC_KEY = "1.2.840.10045.2.1";

/** True for the curve types that can sign (1 = secp256k1, 2 = P-256). */
export function isCurveType(curve: unknown): curve is CurveType {
  return curve === 1 || curve === 2;
}

/** The curve's facts; `BAD_CURVE` for anything but 1 or 2. */
export function curveInfo(curve: CurveType): CurveInfo {
  if (curve === 2) return P256;
  if (curve === 1) return SECP256K1;
  throw new BbcLibError("BAD_CURVE", `unknown curve type ${String(curve)} (1 = secp256k1, 2 = P-256)`);
}

/** The curve with this named-curve OID, or undefined. */
export function curveByOid(oid: string): CurveInfo | undefined {
  if (oid === P256.oid) return P256;
  if (oid === SECP256K1.oid) return SECP256K1;
  return undefined;
}

/** Compares a 32-byte big-endian number with another: < 0, 0 or > 0. */
function cmp32(a: Uint8Array, aOff: number, b: Uint8Array): number {
  for (let i = 0; i < 32; i++) {
    const d = a[aOff + i] - b[i];
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * Places the big-endian number `src[from, to)` right-aligned in `out[outOff, outOff + 32)`.
 * Returns false when it is zero or not below `order` (too long counts as too large).
 */
function placeScalar(src: Uint8Array, from: number, to: number, out: Uint8Array, outOff: number, order: Uint8Array): boolean {
  while (from < to && src[from] === 0) from++;
  const len = to - from;
  if (len === 0 || len > 32) return false;
  out.set(src.subarray(from, to), outOff + 32 - len);
  return cmp32(out, outOff, order) < 0;
}

/**
 * v1.1.1's reading of a signature (libbbcsig `verify`): `numlen = len / 2` rounded down,
 * r = the first numlen bytes, s = the next numlen bytes, both big-endian with leading zeros
 * allowed; a trailing odd byte is ignored, as the C code ignores it. Returns the 64-byte
 * r || s, or null when r or s is zero or not below the curve order (OpenSSL's
 * ECDSA_do_verify rejects those too). Never throws.
 */
export function normalizeSignature(curve: CurveType, signature: Uint8Array): Uint8Array | null {
  if (!(signature instanceof Uint8Array)) return null;
  const info = curve === 2 ? P256 : curve === 1 ? SECP256K1 : undefined;
  if (info === undefined) return null;
  const half = signature.length >>> 1;
  if (half === 0) return null;
  const order = info.order;
  if (signature.length === 64) {
    // Fast path: the common shape needs no copy, only range checks.
    if (cmp32(signature, 0, order) >= 0 || cmp32(signature, 32, order) >= 0) return null;
    let rz = true;
    let sz = true;
    for (let i = 0; i < 32; i++) {
      if (signature[i] !== 0) rz = false;
      if (signature[32 + i] !== 0) sz = false;
    }
    return rz || sz ? null : signature;
  }
  const out = new Uint8Array(64);
  if (!placeScalar(signature, 0, half, out, 0, order)) return null;
  if (!placeScalar(signature, half, 2 * half, out, 32, order)) return null;
  return out;
}

/**
 * The public key encodings OpenSSL's EC_POINT_oct2point accepts for these curves, reduced to
 * the two that every library takes: 65-byte uncompressed (0x04) and 33-byte compressed
 * (0x02/0x03) are returned as they are; 65-byte hybrid (0x06/0x07, whose low bit must equal
 * y's parity) is rewritten as uncompressed. Returns null for anything else, including the
 * one-byte encoding 0x00 of the point at infinity. Whether the point is on the curve is left
 * to the backend. Never throws.
 *
 * Deliberate deviation: v1.1.1 (libbbcsig `verify`) ignored a failed EC_POINT_oct2point and
 * went on verifying with the point at infinity, which lets anyone forge a signature for an
 * undecodable "public key" (OpenSSL also returned -1 in some of those cases, which Python
 * took as true). We return false for every key that does not decode to a real point.
 */
export function normalizePublicKey(publicKey: Uint8Array): Uint8Array | null {
  if (!(publicKey instanceof Uint8Array)) return null;
  const len = publicKey.length;
  const head = publicKey[0];
  if (len === 65 && head === 0x04) return publicKey;
  if (len === 33 && (head === 0x02 || head === 0x03)) return publicKey;
  if (len === 65 && (head === 0x06 || head === 0x07)) {
    if ((head & 1) !== (publicKey[64] & 1)) return null;
    const out = publicKey.slice();
    out[0] = 0x04;
    return out;
  }
  return null;
}

/**
 * A private key as a 32-byte big-endian scalar: shorter inputs (a key whose top byte was
 * zero, as v1.1.1's generate_keypair could return it) are left-padded, longer ones may only
 * carry leading zeros. `BAD_KEY` when it is zero or not below the curve order.
 */
export function normalizePrivateKey(curve: CurveType, privateKey: Uint8Array): Uint8Array {
  const info = curveInfo(curve);
  if (!(privateKey instanceof Uint8Array)) throw new BbcLibError("BAD_KEY", "private key must be a Uint8Array");
  if (privateKey.length === 32) {
    if (cmp32(privateKey, 0, info.order) >= 0) throw new BbcLibError("BAD_KEY", "private key is not below the curve order");
    let zero = true;
    for (let i = 0; i < 32; i++) if (privateKey[i] !== 0) zero = false;
    if (zero) throw new BbcLibError("BAD_KEY", "private key is zero");
    return privateKey;
  }
  const out = new Uint8Array(32);
  if (!placeScalar(privateKey, 0, privateKey.length, out, 0, info.order)) {
    throw new BbcLibError("BAD_KEY", `private key of ${privateKey.length} bytes is zero, too long or not below the curve order`);
  }
  return out;
}

/** Compressed form (0x02/0x03 || x) of a 65-byte uncompressed point. */
export function compressPoint(uncompressed: Uint8Array): Uint8Array {
  const out = new Uint8Array(33);
  out[0] = 0x02 | (uncompressed[64] & 1);
  out.set(uncompressed.subarray(1, 33), 1);
  return out;
}
