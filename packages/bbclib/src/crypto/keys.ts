/**
 * Key encodings, byte for byte as libbbcsig (OpenSSL) writes them, in pure TypeScript:
 *
 * - private key DER: SEC1 `ECPrivateKey` as `i2d_ECPrivateKey` writes it (version 1, the
 *   32-byte private key, `[0]` named-curve OID, `[1]` uncompressed public key);
 * - private key PEM: the same in `-----BEGIN EC PRIVATE KEY-----` (PEM_write_bio_ECPrivateKey);
 * - public key DER/PEM: `SubjectPublicKeyInfo` in `-----BEGIN PUBLIC KEY-----`
 *   (PEM_write_bio_EC_PUBKEY), always with the uncompressed point: libbbcsig builds a fresh
 *   EC_KEY, whose conversion form defaults to uncompressed, whatever form the key came in.
 *
 * Readers accept SEC1 and (unencrypted) PKCS#8, in DER or PEM ("EC PRIVATE KEY" or
 * "PRIVATE KEY"), as OpenSSL's PEM_read_bio_PrivateKey does.
 */
import { p256 } from "@noble/curves/nist.js";
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { BbcLibError } from "../errors.js";
import type { CurveType } from "./backend.js";
import { OID_EC_PUBLIC_KEY, curveByOid, curveInfo, normalizePrivateKey, normalizePublicKey } from "./curves.js";
import {
  Tag,
  bitStringBytes,
  children,
  decodeOid,
  encodeBitString,
  encodeOid,
  expectTlv,
  readTlv,
  smallInteger,
  tlv,
  value,
  type Tlv,
} from "./der.js";
import { pemDecode, pemEncode } from "./pem.js";

/** A private key read from DER or PEM: its curve (from the encoding) and the 32-byte scalar. */
export interface DecodedPrivateKey {
  curve: CurveType;
  privateKey: Uint8Array;
}

/** A public key read from DER, PEM or a certificate. */
export interface DecodedPublicKey {
  curve: CurveType;
  publicKey: Uint8Array;
}

export const PEM_EC_PRIVATE_KEY = "EC PRIVATE KEY";
export const PEM_PRIVATE_KEY = "PRIVATE KEY";
export const PEM_PUBLIC_KEY = "PUBLIC KEY";

const curveOidCache = new Map<CurveType, Uint8Array>();
function curveOidTlv(curve: CurveType): Uint8Array {
  let t = curveOidCache.get(curve);
  if (t === undefined) {
    t = encodeOid(curveInfo(curve).oid);
    curveOidCache.set(curve, t);
  }
  return t;
}

function nobleFor(curve: CurveType): typeof p256 {
  return curve === 1 ? secp256k1 : p256;
}

/**
 * Decodes a public key point for `curve` (any form OpenSSL accepts: uncompressed,
 * compressed, hybrid) and re-encodes it; `BAD_KEY` when it is not a point of the curve.
 */
export function convertPublicKey(curve: CurveType, publicKey: Uint8Array, compressed: boolean): Uint8Array {
  curveInfo(curve);
  const norm = normalizePublicKey(publicKey);
  if (norm === null) throw new BbcLibError("BAD_KEY", `public key of ${publicKey?.length} bytes is not an EC point encoding`);
  try {
    return nobleFor(curve).Point.fromBytes(norm).toBytes(compressed);
  } catch (e) {
    throw new BbcLibError("BAD_KEY", `public key is not a point of curve ${curve}`, { cause: e });
  }
}

/**
 * SubjectPublicKeyInfo for a point, wrapped as is (no validation, form kept):
 * SEQUENCE { SEQUENCE { id-ecPublicKey, namedCurve }, BIT STRING point }.
 */
export function encodeSpki(curve: CurveType, point: Uint8Array): Uint8Array {
  return tlv(Tag.SEQUENCE, tlv(Tag.SEQUENCE, encodeOid(OID_EC_PUBLIC_KEY), curveOidTlv(curve)), encodeBitString(point));
}

/**
 * SEC1 ECPrivateKey: SEQUENCE { 1, OCTET STRING d (32 bytes), [0] OID, [1] BIT STRING point }.
 * `publicKey` (uncompressed) is optional here; when absent, the `[1]` field is left out
 * (OpenSSL recomputes it on import).
 */
export function encodeSec1(curve: CurveType, privateKey: Uint8Array, publicKey?: Uint8Array): Uint8Array {
  const d = normalizePrivateKey(curve, privateKey);
  const parts = [tlv(Tag.INTEGER, Uint8Array.of(1)), tlv(Tag.OCTET_STRING, d), tlv(0xa0, curveOidTlv(curve))];
  if (publicKey !== undefined) parts.push(tlv(0xa1, encodeBitString(publicKey)));
  return tlv(Tag.SEQUENCE, ...parts);
}

/**
 * Private key in DER (SEC1) exactly as libbbcsig `output_der` returns it. The public key is
 * derived from the private key (give `uncompressedPublicKey` to skip that when you have it).
 */
export function privateKeyToDer(curve: CurveType, privateKey: Uint8Array, uncompressedPublicKey?: Uint8Array): Uint8Array {
  const d = normalizePrivateKey(curve, privateKey);
  const pub = uncompressedPublicKey ?? nobleFor(curve).getPublicKey(d, false);
  if (pub.length !== 65 || pub[0] !== 0x04) throw new BbcLibError("BAD_KEY", "expected a 65-byte uncompressed public key");
  return encodeSec1(curve, d, pub);
}

/** Private key in PEM ("EC PRIVATE KEY") exactly as libbbcsig `output_pem` returns it. */
export function privateKeyToPem(curve: CurveType, privateKey: Uint8Array, uncompressedPublicKey?: Uint8Array): string {
  return pemEncode(PEM_EC_PRIVATE_KEY, privateKeyToDer(curve, privateKey, uncompressedPublicKey));
}

/** Public key as SubjectPublicKeyInfo DER (libbbcsig `output_public_key_der`): always uncompressed. */
export function publicKeyToDer(curve: CurveType, publicKey: Uint8Array): Uint8Array {
  return encodeSpki(curve, convertPublicKey(curve, publicKey, false));
}

/** Public key in PEM ("PUBLIC KEY") as libbbcsig `output_public_key_pem` returns it: always uncompressed. */
export function publicKeyToPem(curve: CurveType, publicKey: Uint8Array): string {
  return pemEncode(PEM_PUBLIC_KEY, publicKeyToDer(curve, publicKey));
}

function curveFromParams(t: Tlv): CurveType {
  if (t.tag !== Tag.OID) {
    throw new BbcLibError("BAD_CURVE", "EC parameters other than a named curve (explicit or implicit) are not supported");
  }
  const oid = decodeOid(t);
  const c = curveByOid(oid);
  if (c === undefined) throw new BbcLibError("BAD_CURVE", `unsupported curve OID ${oid} (only P-256 and secp256k1)`);
  return c.type;
}

function checkEmbeddedPublicKey(curve: CurveType, t: Tlv): void {
  // OpenSSL's d2i_ECPrivateKey decodes the embedded point and fails when it is not a point of
  // the curve; it does not check that it matches the private key (libbbcsig recomputes it).
  const point = bitStringBytes(t);
  convertPublicKey(curve, point, false);
}

/** Decodes SEC1 ECPrivateKey content; `outerCurve` comes from a PKCS#8 wrapper. */
function decodeSec1(der: Uint8Array, outerCurve?: CurveType): DecodedPrivateKey {
  const seq = expectTlv(der, 0, Tag.SEQUENCE, der.length, "ECPrivateKey");
  if (seq.end !== der.length) throw new BbcLibError("MALFORMED", "ECPrivateKey: trailing bytes");
  const items = children(seq);
  if (items.length < 2) throw new BbcLibError("MALFORMED", "ECPrivateKey: missing fields");
  if (items[0].tag !== Tag.INTEGER || smallInteger(items[0]) !== 1) {
    throw new BbcLibError("MALFORMED", "ECPrivateKey: version must be 1");
  }
  if (items[1].tag !== Tag.OCTET_STRING) throw new BbcLibError("MALFORMED", "ECPrivateKey: privateKey must be an OCTET STRING");
  let curve = outerCurve;
  let pubField: Tlv | undefined;
  let i = 2;
  if (i < items.length && items[i].tag === 0xa0) {
    const inner = children(items[i]);
    if (inner.length !== 1) throw new BbcLibError("MALFORMED", "ECPrivateKey: [0] must hold one parameters element");
    const c = curveFromParams(inner[0]);
    if (outerCurve !== undefined && c !== outerCurve) {
      throw new BbcLibError("MALFORMED", "PKCS#8: curve of the algorithm and of the ECPrivateKey differ");
    }
    curve = c;
    i++;
  }
  if (i < items.length && items[i].tag === 0xa1) {
    const inner = children(items[i]);
    if (inner.length !== 1) throw new BbcLibError("MALFORMED", "ECPrivateKey: [1] must hold one BIT STRING");
    pubField = inner[0];
    i++;
  }
  if (i !== items.length) throw new BbcLibError("MALFORMED", "ECPrivateKey: unexpected field");
  if (curve === undefined) throw new BbcLibError("BAD_CURVE", "ECPrivateKey without curve parameters");
  const privateKey = normalizePrivateKey(curve, value(items[1])).slice();
  if (pubField !== undefined) checkEmbeddedPublicKey(curve, pubField);
  return { curve, privateKey };
}

function decodePkcs8(seq: Tlv): DecodedPrivateKey {
  const items = children(seq);
  if (items.length < 3) throw new BbcLibError("MALFORMED", "PKCS#8: missing fields");
  if (items[0].tag !== Tag.INTEGER || smallInteger(items[0]) > 1) {
    throw new BbcLibError("MALFORMED", "PKCS#8: version must be 0 or 1");
  }
  const alg = items[1];
  if (alg.tag !== Tag.SEQUENCE) throw new BbcLibError("MALFORMED", "PKCS#8: bad AlgorithmIdentifier");
  const algItems = children(alg);
  if (algItems.length !== 2 || decodeOid(algItems[0]) !== OID_EC_PUBLIC_KEY) {
    throw new BbcLibError("UNKNOWN_FORMAT", "PKCS#8: not an EC key (id-ecPublicKey with a named curve)");
  }
  const curve = curveFromParams(algItems[1]);
  if (items[2].tag !== Tag.OCTET_STRING) throw new BbcLibError("MALFORMED", "PKCS#8: privateKey must be an OCTET STRING");
  for (let i = 3; i < items.length; i++) {
    if (items[i].tag !== 0xa0 && items[i].tag !== 0x81 && items[i].tag !== 0xa1) {
      throw new BbcLibError("MALFORMED", "PKCS#8: unexpected field");
    }
  }
  return decodeSec1(value(items[2]), curve);
}

/**
 * Reads a private key from DER: SEC1 ECPrivateKey (what libbbcsig `convert_from_der` reads)
 * or PKCS#8 PrivateKeyInfo holding one. The curve comes from the encoding.
 * Throws {@link BbcLibError} (`MALFORMED`, `TRUNCATED`, `BAD_CURVE`, `BAD_KEY`, ...) on bad input.
 */
export function privateKeyFromDer(der: Uint8Array): DecodedPrivateKey {
  if (!(der instanceof Uint8Array)) throw new BbcLibError("BAD_ARGUMENT", "DER must be a Uint8Array");
  const seq = expectTlv(der, 0, Tag.SEQUENCE, der.length, "private key");
  if (seq.end !== der.length) throw new BbcLibError("MALFORMED", "private key DER: trailing bytes");
  const first = readTlv(der, seq.valueStart, seq.end);
  const second = first.end < seq.end ? readTlv(der, first.end, seq.end) : undefined;
  if (second?.tag === Tag.SEQUENCE) return decodePkcs8(seq);
  return decodeSec1(der);
}

/**
 * Reads a private key from PEM: the first "EC PRIVATE KEY" (SEC1) or "PRIVATE KEY" (PKCS#8)
 * block; other blocks (e.g. "EC PARAMETERS") are skipped. Encrypted keys are refused.
 */
export function privateKeyFromPem(pem: string): DecodedPrivateKey {
  const block = pemDecode(pem, [PEM_EC_PRIVATE_KEY, PEM_PRIVATE_KEY]);
  if (block.label === PEM_EC_PRIVATE_KEY) return decodeSec1(block.der);
  const seq = expectTlv(block.der, 0, Tag.SEQUENCE, block.der.length, "PKCS#8");
  if (seq.end !== block.der.length) throw new BbcLibError("MALFORMED", "PKCS#8: trailing bytes");
  return decodePkcs8(seq);
}

/** Reads SubjectPublicKeyInfo content (shared with the X.509 reader). */
export function decodeSpkiTlv(spki: Tlv, compressed: boolean): DecodedPublicKey {
  if (spki.tag !== Tag.SEQUENCE) throw new BbcLibError("MALFORMED", "SubjectPublicKeyInfo: expected a SEQUENCE");
  const items = children(spki);
  if (items.length !== 2 || items[0].tag !== Tag.SEQUENCE) {
    throw new BbcLibError("MALFORMED", "SubjectPublicKeyInfo: expected algorithm and key");
  }
  const alg = children(items[0]);
  if (alg.length !== 2 || decodeOid(alg[0]) !== OID_EC_PUBLIC_KEY) {
    throw new BbcLibError("UNKNOWN_FORMAT", "SubjectPublicKeyInfo: not an EC key (id-ecPublicKey with a named curve)");
  }
  const curve = curveFromParams(alg[1]);
  const point = bitStringBytes(items[1]);
  return { curve, publicKey: convertPublicKey(curve, point, compressed) };
}

/** Reads a public key from SubjectPublicKeyInfo DER, returned in the requested form. */
export function publicKeyFromDer(der: Uint8Array, compressed = false): DecodedPublicKey {
  if (!(der instanceof Uint8Array)) throw new BbcLibError("BAD_ARGUMENT", "DER must be a Uint8Array");
  const t = readTlv(der, 0);
  if (t.end !== der.length) throw new BbcLibError("MALFORMED", "SubjectPublicKeyInfo: trailing bytes");
  return decodeSpkiTlv(t, compressed);
}

/** Reads a public key from PEM ("PUBLIC KEY"), returned in the requested form. */
export function publicKeyFromPem(pem: string, compressed = false): DecodedPublicKey {
  return publicKeyFromDer(pemDecode(pem, [PEM_PUBLIC_KEY]).der, compressed);
}
