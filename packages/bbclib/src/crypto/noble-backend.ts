/**
 * The portable crypto backend: @noble/curves (P-256, secp256k1) and @noble/hashes (SHA-256).
 * Runs everywhere (browsers, Deno, Bun, Node). Results match the node:crypto backend
 * (`node-backend.ts`) bit for bit, except that signatures differ because ECDSA nonces do:
 * noble uses RFC 6979 deterministic nonces, OpenSSL random ones; both verify everywhere.
 */
import { p256 } from "@noble/curves/nist.js";
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { BbcLibError } from "../errors.js";
import type { CryptoBackend, CurveType } from "./backend.js";
import { curveInfo, normalizePrivateKey, normalizePublicKey, normalizeSignature } from "./curves.js";

type NobleCurve = typeof p256;

/** The noble curve object for a curve type (`BAD_CURVE` otherwise). */
export function nobleCurve(curve: CurveType): NobleCurve {
  if (curve === 2) return p256;
  if (curve === 1) return secp256k1;
  return curveInfo(curve) as never; // throws BAD_CURVE
}

/**
 * ECDSA takes the leftmost bits of the digest, as many as the order has (256 for both
 * curves), so only the first 32 bytes of a longer digest matter (OpenSSL truncates the
 * same way). Cutting here also keeps noble's 8 KiB digest limit out of the way.
 */
function truncateDigest(digest: Uint8Array): Uint8Array {
  return digest.length > 32 ? digest.subarray(0, 32) : digest;
}

function signDigest(curve: CurveType, privateKey: Uint8Array, digest: Uint8Array): Uint8Array {
  const c = nobleCurve(curve);
  const d = normalizePrivateKey(curve, privateKey);
  if (!(digest instanceof Uint8Array)) throw new BbcLibError("BAD_ARGUMENT", "digest must be a Uint8Array");
  try {
    // lowS: false: like OpenSSL, keep whichever s the computation gives (verifiers accept both).
    return c.sign(truncateDigest(digest), d, { prehash: false, lowS: false });
  } catch (e) {
    throw new BbcLibError("BAD_KEY", `signing failed: ${(e as Error).message}`, { cause: e });
  }
}

function verifyDigest(curve: CurveType, publicKey: Uint8Array, digest: Uint8Array, signature: Uint8Array): boolean {
  try {
    if (curve !== 1 && curve !== 2) return false;
    if (!(digest instanceof Uint8Array)) return false;
    const sig = normalizeSignature(curve, signature);
    if (sig === null) return false;
    const pub = normalizePublicKey(publicKey);
    if (pub === null) return false;
    // lowS: false: OpenSSL accepts high-S signatures, so must we.
    return nobleCurve(curve).verify(sig, truncateDigest(digest), pub, { prehash: false, lowS: false });
  } catch {
    return false;
  }
}

/** The @noble implementation of {@link CryptoBackend}. */
export const nobleBackend: CryptoBackend = Object.freeze({
  name: "noble",

  generatePrivateKey(curve: CurveType): Uint8Array {
    return nobleCurve(curve).utils.randomSecretKey();
  },

  getPublicKey(curve: CurveType, privateKey: Uint8Array, compressed: boolean): Uint8Array {
    const c = nobleCurve(curve);
    return c.getPublicKey(normalizePrivateKey(curve, privateKey), compressed === true);
  },

  signMessage(curve: CurveType, privateKey: Uint8Array, message: Uint8Array): Uint8Array {
    if (!(message instanceof Uint8Array)) throw new BbcLibError("BAD_ARGUMENT", "message must be a Uint8Array");
    nobleCurve(curve);
    return signDigest(curve, privateKey, sha256(message));
  },

  signDigest,

  verifyMessage(curve: CurveType, publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
    if (!(message instanceof Uint8Array)) return false;
    if (curve !== 1 && curve !== 2) return false;
    return verifyDigest(curve, publicKey, sha256(message), signature);
  },

  /** No thread to hand the work to here: verified now. */
  verifyMessageAsync(curve: CurveType, publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean> {
    try {
      return Promise.resolve(nobleBackend.verifyMessage(curve, publicKey, message, signature));
    } catch {
      return Promise.resolve(false);
    }
  },

  verifyDigest,
});

/** The default backend of this build (selected through the `#crypto-backend` import). */
export const backend: CryptoBackend = nobleBackend;
