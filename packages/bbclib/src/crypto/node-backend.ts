/**
 * The Node.js crypto backend: OpenSSL through node:crypto, as libbbcsig used OpenSSL.
 *
 * node:crypto cannot ECDSA-sign or verify a raw digest, but `sign("sha256", message, ...)`
 * computes ECDSA over SHA-256(message), which is exactly v1.1.1's signature over
 * digest = SHA-256(message): {@link CryptoBackend.signMessage} and
 * {@link CryptoBackend.verifyMessage} use that. The digest variants fall back to @noble,
 * which gives the same results.
 *
 * KeyObjects cost more to create than a verification, so they are kept in small bounded
 * LRU caches keyed by the key bytes (invalid public keys are cached too, as such).
 */
import { type KeyObject, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify } from "node:crypto";
import { BbcLibError } from "../errors.js";
import type { CryptoBackend, CurveType } from "./backend.js";
import { compressPoint, curveInfo, normalizePrivateKey, normalizePublicKey, normalizeSignature } from "./curves.js";
import { encodeSec1, encodeSpki } from "./keys.js";
import { nobleBackend } from "./noble-backend.js";

/** How many KeyObjects each cache keeps. */
const CACHE_SIZE = 1024;

/** The options object handed to sign, built once per key. */
interface KeyOptions {
  readonly key: KeyObject;
  readonly dsaEncoding: "ieee-p1363";
}

/**
 * DER `SEQUENCE { INTEGER r, INTEGER s }` of a 64-byte `r || s` whose halves are in [1, n-1]
 * (checked by normalizeSignature). OpenSSL verifies DER natively; handing it DER built here is
 * about 8 % faster than letting node:crypto convert an IEEE P1363 signature on every call.
 * Not built with der.ts's `tlv`/`encodeUnsignedInteger`: on this hot path their three separate
 * allocations would cost more than the conversion saves; one pooled Buffer does here.
 */
function rsToDer(sig: Uint8Array): Buffer {
  let r = 0;
  while (sig[r] === 0) r++; // r < 32: the half is not zero
  let s = 32;
  while (sig[s] === 0) s++;
  const rPad = sig[r]! >= 0x80 ? 1 : 0;
  const sPad = sig[s]! >= 0x80 ? 1 : 0;
  const rLen = 32 - r + rPad;
  const sLen = 64 - s + sPad;
  const der = Buffer.allocUnsafe(6 + rLen + sLen);
  der[0] = 0x30;
  der[1] = 4 + rLen + sLen;
  der[2] = 0x02;
  der[3] = rLen;
  let o = 4;
  if (rPad) der[o++] = 0;
  der.set(sig.subarray(r, 32), o);
  o += 32 - r;
  der[o++] = 0x02;
  der[o++] = sLen;
  if (sPad) der[o++] = 0;
  der.set(sig.subarray(s, 64), o);
  return der;
}

/** A Map-based LRU: a hit moves the entry to the back, an insert evicts the front. */
class Lru<V> {
  private readonly map = new Map<string, V>();
  constructor(private readonly max: number) {}

  get(k: string): V | undefined {
    const v = this.map.get(k);
    if (v !== undefined) {
      this.map.delete(k);
      this.map.set(k, v);
    }
    return v;
  }

  set(k: string, v: V): void {
    if (this.map.size >= this.max) {
      const first = this.map.keys().next();
      if (first.done !== true) this.map.delete(first.value);
    }
    this.map.set(k, v);
  }
}

const publicKeys = new Lru<KeyObject | false>(CACHE_SIZE);
const privateKeys = new Lru<KeyOptions>(CACHE_SIZE);

function cacheKey(curve: CurveType, bytes: Uint8Array): string {
  return curve + Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1");
}

/** A copy as a plain Uint8Array (our public API never hands out Buffers). */
function plain(buf: Uint8Array): Uint8Array {
  const out = new Uint8Array(buf.length);
  out.set(buf);
  return out;
}

/**
 * The KeyObject for a public key, or false when OpenSSL does not take it as a point of the
 * curve. `point` has passed {@link normalizePublicKey}.
 */
function publicKeyObject(curve: CurveType, point: Uint8Array): KeyObject | false {
  const k = cacheKey(curve, point);
  let key = publicKeys.get(k);
  if (key === undefined) {
    try {
      key = createPublicKey({ key: Buffer.from(encodeSpki(curve, point)), format: "der", type: "spki" });
    } catch {
      key = false; // not a point of the curve (OpenSSL's oct2point refused it)
    }
    publicKeys.set(k, key);
  }
  return key;
}

function privateKeyOptions(curve: CurveType, privateKey: Uint8Array): KeyOptions {
  const d = normalizePrivateKey(curve, privateKey);
  const k = cacheKey(curve, d);
  let opts = privateKeys.get(k);
  if (opts === undefined) {
    try {
      // SEC1 without the public key: OpenSSL computes it on import.
      const key = createPrivateKey({ key: Buffer.from(encodeSec1(curve, d)), format: "der", type: "sec1" });
      opts = { key, dsaEncoding: "ieee-p1363" };
    } catch (e) {
      throw new BbcLibError("BAD_KEY", `OpenSSL refused the private key: ${(e as Error).message}`, { cause: e });
    }
    privateKeys.set(k, opts);
  }
  return opts;
}

function b64urlTo32(s: string | undefined): Uint8Array {
  const b = Buffer.from(s ?? "", "base64url");
  const out = new Uint8Array(32);
  out.set(b.subarray(Math.max(0, b.length - 32)), Math.max(0, 32 - b.length));
  return out;
}

/** The node:crypto (OpenSSL) implementation of {@link CryptoBackend}. */
export const nodeBackend: CryptoBackend = Object.freeze({
  name: "node",

  generatePrivateKey(curve: CurveType): Uint8Array {
    const info = curveInfo(curve);
    const { privateKey } = generateKeyPairSync("ec", { namedCurve: info.opensslName });
    return normalizePrivateKey(curve, b64urlTo32(privateKey.export({ format: "jwk" }).d)).slice();
  },

  getPublicKey(curve: CurveType, privateKey: Uint8Array, compressed: boolean): Uint8Array {
    const { key } = privateKeyOptions(curve, privateKey);
    const jwk = createPublicKey(key).export({ format: "jwk" });
    const point = new Uint8Array(65);
    point[0] = 0x04;
    point.set(b64urlTo32(jwk.x), 1);
    point.set(b64urlTo32(jwk.y), 33);
    return compressed === true ? compressPoint(point) : point;
  },

  signMessage(curve: CurveType, privateKey: Uint8Array, message: Uint8Array): Uint8Array {
    if (!(message instanceof Uint8Array)) throw new BbcLibError("BAD_ARGUMENT", "message must be a Uint8Array");
    const opts = privateKeyOptions(curve, privateKey);
    return plain(sign("sha256", message, opts));
  },

  /** node:crypto has no raw-digest ECDSA: this is the @noble implementation. */
  signDigest(curve: CurveType, privateKey: Uint8Array, digest: Uint8Array): Uint8Array {
    return nobleBackend.signDigest(curve, privateKey, digest);
  },

  verifyMessage(curve: CurveType, publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
    if (curve !== 1 && curve !== 2) return false;
    if (!(message instanceof Uint8Array)) return false;
    // v1.1.1's rules (split in halves, zero or >= n rejected), then OpenSSL gets 64-byte r || s.
    const sig = normalizeSignature(curve, signature);
    if (sig === null) return false;
    // Points OpenSSL cannot decode are false here; v1.1.1 verified them as the point at
    // infinity (a forgery risk), see normalizePublicKey.
    const point = normalizePublicKey(publicKey);
    if (point === null) return false;
    const key = publicKeyObject(curve, point);
    if (key === false) return false;
    try {
      return verify("sha256", message, key, rsToDer(sig));
    } catch {
      return false;
    }
  },

  verifyMessageAsync(curve: CurveType, publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean> {
    // the same checks as verifyMessage, here on the calling thread (cheap); OpenSSL's verify then runs on libuv's pool
    if (curve !== 1 && curve !== 2) return Promise.resolve(false);
    if (!(message instanceof Uint8Array)) return Promise.resolve(false);
    const sig = normalizeSignature(curve, signature);
    if (sig === null) return Promise.resolve(false);
    const point = normalizePublicKey(publicKey);
    if (point === null) return Promise.resolve(false);
    const key = publicKeyObject(curve, point);
    if (key === false) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      try {
        verify("sha256", message, key, rsToDer(sig), (err, ok) => resolve(err === null && ok === true));
      } catch {
        resolve(false);
      }
    });
  },

  /** node:crypto has no raw-digest ECDSA: this is the @noble implementation. */
  verifyDigest(curve: CurveType, publicKey: Uint8Array, digest: Uint8Array, signature: Uint8Array): boolean {
    return nobleBackend.verifyDigest(curve, publicKey, digest, signature);
  },
});

/** The default backend of this build (selected through the `#crypto-backend` import). */
export const backend: CryptoBackend = nodeBackend;
