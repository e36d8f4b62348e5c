/**
 * The crypto interface of bbclib. Two implementations give identical results:
 * `node-backend.ts` (OpenSSL through node:crypto) and `noble-backend.ts` (@noble/curves,
 * everywhere). The package's `#crypto-backend` import picks one by export condition.
 */

/** Curve identifiers as v1.1.1 stores them in signatures (`key_type`). */
export const KeyType = Object.freeze({
  NOT_INITIALIZED: 0,
  ECDSA_SECP256k1: 1,
  ECDSA_P256v1: 2,
} as const);

/** A curve that can sign: 1 = secp256k1, 2 = P-256 (prime256v1). */
export type CurveType = 1 | 2;

export interface CryptoBackend {
  /** "node" or "noble": which implementation this is. */
  readonly name: string;
  /** A fresh random private key (32 bytes, big-endian scalar) for `curve`. */
  generatePrivateKey(curve: CurveType): Uint8Array;
  /** Public key of `privateKey`: 65-byte uncompressed (0x04…) or 33-byte compressed (0x02/0x03…). */
  getPublicKey(curve: CurveType, privateKey: Uint8Array, compressed: boolean): Uint8Array;
  /**
   * ECDSA signature over `digest` = SHA-256(`message`), as v1.1.1 makes it: r || s,
   * each left-padded with zeros to 32 bytes (64 bytes in all).
   * Giving the message lets OpenSSL hash and sign in one call.
   */
  signMessage(curve: CurveType, privateKey: Uint8Array, message: Uint8Array): Uint8Array;
  /** Same as {@link signMessage} but over a digest given as is (no hashing). */
  signDigest(curve: CurveType, privateKey: Uint8Array, digest: Uint8Array): Uint8Array;
  /**
   * Verify `signature` over SHA-256(`message`) with v1.1.1's rules: the signature is
   * split in two halves r and s (length / 2 each, big-endian); any public key encoding
   * OpenSSL accepts (compressed or uncompressed). Returns false, never throws, on bad input.
   */
  verifyMessage(curve: CurveType, publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean;
  /**
   * {@link verifyMessage} off the calling thread where the backend can (node:crypto: libuv's thread pool), with the
   * same verdicts; elsewhere it verifies synchronously and returns a settled promise. Never rejects.
   */
  verifyMessageAsync(curve: CurveType, publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean>;
  /** Same as {@link verifyMessage} over a digest given as is. */
  verifyDigest(curve: CurveType, publicKey: Uint8Array, digest: Uint8Array, signature: Uint8Array): boolean;
}
