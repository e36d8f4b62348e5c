/**
 * KeyPair: v1.1.1's `bbclib.KeyPair` (libbbcsig underneath) in TypeScript.
 */
import { backend as defaultBackend } from "#crypto-backend";
import { BbcLibError } from "./errors.js";
import type { CryptoBackend, CurveType } from "./crypto/backend.js";
import { curveInfo, normalizePrivateKey } from "./crypto/curves.js";
import { privateKeyFromDer, privateKeyFromPem, privateKeyToDer, privateKeyToPem, publicKeyToPem } from "./crypto/keys.js";
import { readCertificatePublicKey, verifyCertificate } from "./crypto/x509.js";

/** Options of the {@link KeyPair} constructor (v1.1.1: curvetype, compression, privkey, pubkey). */
export interface KeyPairOptions {
  /** 2 = P-256 (default, v1.1.1's DEFAULT_CURVETYPE), 1 = secp256k1. */
  curveType?: CurveType;
  /** Whether derived and generated public keys are compressed (33 bytes). Default false (65 bytes). */
  compressed?: boolean;
  /** A private key (big-endian scalar; shorter than 32 bytes is left-padded). */
  privateKey?: Uint8Array | null;
  /** A public key, kept as given (any encoding; checked when used). */
  publicKey?: Uint8Array | null;
  /** Crypto implementation; default: the package's (`node:crypto` on Node, @noble elsewhere). */
  backend?: CryptoBackend;
}

/**
 * A key pair of curve P-256 (2) or secp256k1 (1), with v1.1.1's methods in camelCase.
 *
 * Differences from v1.1.1, all on inputs that gave broken pairs there:
 * - given a private key only, the constructor derives the public key (v1.1.1 left it zeroed
 *   until `mk_keyobj_from_private_key` was called);
 * - {@link fromPrivateKey} derives the public key in the pair's form (compressed or not);
 *   v1.1.1's `mk_keyobj_from_private_key` always derived the uncompressed key, even for a
 *   pair created with `compression=True`;
 * - reading a key from DER/PEM or a certificate adopts the curve it names (v1.1.1 kept the
 *   pair's `curvetype`, so a secp256k1 key read into a P-256 pair signed with the wrong curve);
 * - private keys are always 32 bytes (v1.1.1's generate could return 31 bytes plus a junk byte
 *   when the scalar's top byte was zero), and bad keys raise {@link BbcLibError} `BAD_KEY`
 *   instead of being silently accepted.
 */
export class KeyPair {
  /** 1 = secp256k1, 2 = P-256. */
  curveType: CurveType;
  /** Whether derived public keys are compressed. */
  compressed: boolean;
  /** 32-byte private key, or null for a verify-only pair. */
  privateKey: Uint8Array | null;
  /** Public key (65 bytes uncompressed or 33 bytes compressed), or null. */
  publicKey: Uint8Array | null;
  private readonly backend: CryptoBackend;

  constructor(options: KeyPairOptions = {}) {
    const curve = options.curveType ?? 2;
    curveInfo(curve); // BAD_CURVE for anything but 1 or 2
    this.curveType = curve;
    this.compressed = options.compressed === true;
    this.backend = options.backend ?? defaultBackend;
    this.privateKey = options.privateKey != null ? normalizePrivateKey(curve, options.privateKey).slice() : null;
    this.publicKey = options.publicKey != null ? options.publicKey.slice() : null;
    if (this.privateKey !== null && this.publicKey === null) {
      this.publicKey = this.backend.getPublicKey(curve, this.privateKey, this.compressed);
    }
  }

  /** A new key pair with a fresh random private key (v1.1.1 `KeyPair(...).generate()`). */
  static generate(curveType: CurveType = 2, compressed = false, backend?: CryptoBackend): KeyPair {
    return new KeyPair({ curveType, compressed, backend }).generate();
  }

  /** Replace the keys with a fresh random pair (v1.1.1 `generate`). Returns this. */
  generate(): this {
    const d = this.backend.generatePrivateKey(this.curveType);
    this.privateKey = d;
    this.publicKey = this.backend.getPublicKey(this.curveType, d, this.compressed);
    return this;
  }

  /**
   * v1.1.1 `mk_keyobj_from_private_key`: set the private key (when given) and derive the
   * public key from it, in this pair's form (see the class notes). Returns this.
   */
  fromPrivateKey(privateKey?: Uint8Array): this {
    if (privateKey !== undefined) this.privateKey = normalizePrivateKey(this.curveType, privateKey).slice();
    const d = this.requirePrivateKey();
    this.publicKey = this.backend.getPublicKey(this.curveType, d, this.compressed);
    return this;
  }

  /**
   * v1.1.1 `mk_keyobj_from_private_key_der`: read a SEC1 (or PKCS#8) DER private key; the
   * public key is derived in this pair's form and the curve is the key's. Returns this.
   */
  fromPrivateKeyDer(der: Uint8Array): this {
    const { curve, privateKey } = privateKeyFromDer(der);
    return this.setPrivate(curve, privateKey);
  }

  /**
   * v1.1.1 `mk_keyobj_from_private_key_pem`: read an "EC PRIVATE KEY" (or "PRIVATE KEY")
   * PEM; the public key is derived in this pair's form and the curve is the key's. Returns this.
   */
  fromPrivateKeyPem(pem: string): this {
    const { curve, privateKey } = privateKeyFromPem(pem);
    return this.setPrivate(curve, privateKey);
  }

  /**
   * v1.1.1 `import_publickey_cert_pem`: accept a self-signed, currently valid X.509
   * certificate (see {@link verifyCertificate}); with `privateKeyPem` (not empty), that key
   * must belong to the certificate and becomes this pair's key, otherwise the certificate's
   * public key is imported (in this pair's form) and the private key is cleared. The curve
   * becomes the certificate's. Returns false (pair unchanged) when the certificate or key
   * is refused.
   */
  importPublicKeyCertPem(certPem: string, privateKeyPem?: string | null, now?: Date): boolean {
    const priv = privateKeyPem ?? undefined;
    if (!verifyCertificate(certPem, priv, now)) return false;
    try {
      if (priv !== undefined && priv.length > 0) {
        this.fromPrivateKeyPem(priv);
      } else {
        const { curve, publicKey } = readCertificatePublicKey(certPem, this.compressed);
        this.curveType = curve;
        this.privateKey = null;
        this.publicKey = publicKey;
      }
    } catch {
      return false;
    }
    return true;
  }

  /** v1.1.1 `get_private_key_in_der`: SEC1 DER as OpenSSL's i2d_ECPrivateKey writes it. */
  getPrivateKeyDer(): Uint8Array {
    const d = this.requirePrivateKey();
    return privateKeyToDer(this.curveType, d, this.backend.getPublicKey(this.curveType, d, false));
  }

  /** v1.1.1 `get_private_key_in_pem` ("-----BEGIN EC PRIVATE KEY-----"), as a string. */
  getPrivateKeyPem(): string {
    const d = this.requirePrivateKey();
    return privateKeyToPem(this.curveType, d, this.backend.getPublicKey(this.curveType, d, false));
  }

  /**
   * v1.1.1 `get_public_key_in_pem` ("-----BEGIN PUBLIC KEY-----"), as a string; the point is
   * always written uncompressed, as libbbcsig wrote it.
   */
  getPublicKeyPem(): string {
    if (this.publicKey === null) throw new BbcLibError("BAD_KEY", "key pair has no public key");
    return publicKeyToPem(this.curveType, this.publicKey);
  }

  /** v1.1.1 `sign`: ECDSA over `digest` as given; 64 bytes r || s. */
  sign(digest: Uint8Array): Uint8Array {
    return this.backend.signDigest(this.curveType, this.requirePrivateKey(), digest);
  }

  /** Sign SHA-256(`message`): equal to `sign(sha256(message))`, faster on Node. */
  signMessage(message: Uint8Array): Uint8Array {
    return this.backend.signMessage(this.curveType, this.requirePrivateKey(), message);
  }

  /** v1.1.1 `verify`: false (never throws) when there is no public key or anything is invalid. */
  verify(digest: Uint8Array, signature: Uint8Array): boolean {
    if (this.publicKey === null) return false;
    return this.backend.verifyDigest(this.curveType, this.publicKey, digest, signature);
  }

  /** Verify over SHA-256(`message`): equal to `verify(sha256(message), signature)`, faster on Node. */
  verifyMessage(message: Uint8Array, signature: Uint8Array): boolean {
    if (this.publicKey === null) return false;
    return this.backend.verifyMessage(this.curveType, this.publicKey, message, signature);
  }

  private requirePrivateKey(): Uint8Array {
    if (this.privateKey === null) throw new BbcLibError("BAD_KEY", "key pair has no private key");
    return this.privateKey;
  }

  private setPrivate(curve: CurveType, privateKey: Uint8Array): this {
    const pub = this.backend.getPublicKey(curve, privateKey, this.compressed);
    this.curveType = curve;
    this.privateKey = privateKey;
    this.publicKey = pub;
    return this;
  }
}

