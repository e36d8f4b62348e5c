import { createCipheriv, createECDH, hkdfSync, randomBytes, type Cipher } from "node:crypto";
import { WireError } from "./errors.js";

/**
 * Link encryption of BBc-1 v1.1.1 (`message_key_types.get_ECDH_parameters`,
 * `derive_shared_key`, `set_cipher`; p2p-protocol.md §6, client-protocol.md §2.6):
 *
 * - ECDH on secp384r1 (P-384), public keys as uncompressed X9.62 points (97 bytes);
 * - shared key = HKDF-SHA256(ECDH x-coordinate, salt = none, info = the initiator's 8-byte
 *   `random`, length 32);
 * - AES-256-CTR with the 16-byte `nonce` as the whole initial counter block (128-bit
 *   big-endian increment); the keystream continues from one message to the next;
 * - each side names its key with 4 random bytes (its "key name"); encrypted payloads start with
 *   the *receiver's* key name (the `hint` the receiver gave), so the receiver finds its key.
 */

/** Size of a P-384 public key as sent in `ecdh` (uncompressed point). */
export const ECDH_PUBLIC_KEY_LENGTH = 97;
/** Size of key names and hints. */
export const KEY_NAME_LENGTH = 4;
/** Size of the AES-CTR initial counter block (`nonce`). */
export const NONCE_LENGTH = 16;
/** Size of the derived AES-256 key. */
export const SHARED_KEY_LENGTH = 32;

/** A P-384 key pair for one exchange. */
export interface EcdhKeyPair {
  /** 48-byte private scalar. Keep it secret; discard after {@link deriveSharedKey}. */
  readonly privateKey: Uint8Array;
  /** 97-byte uncompressed public point (`04 ‖ X ‖ Y`), the value of `ecdh`. */
  readonly publicKey: Uint8Array;
}

function u8(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

function checkLen(what: string, b: Uint8Array, len: number): void {
  if (!(b instanceof Uint8Array) || b.length !== len) {
    const got = b instanceof Uint8Array ? `${b.length} bytes` : typeof b;
    throw new WireError("BAD_KEY_MATERIAL", `${what} must be ${len} bytes, got ${got}`);
  }
}

/** Generates a fresh P-384 key pair (the reference makes one per exchange attempt). */
export function generateEcdhKeyPair(): EcdhKeyPair {
  const ecdh = createECDH("secp384r1");
  ecdh.generateKeys();
  // getPrivateKey() drops leading zero bytes (about 1 key in 256): always hand out 48 bytes.
  return { privateKey: padScalar(u8(ecdh.getPrivateKey())), publicKey: u8(ecdh.getPublicKey(undefined, "uncompressed")) };
}

/** A P-384 scalar left-padded to 48 bytes (a shorter one only lacks leading zeros). */
function padScalar(k: Uint8Array): Uint8Array {
  if (k.length >= 48) return k;
  const out = new Uint8Array(48);
  out.set(k, 48 - k.length);
  return out;
}

/**
 * Derives the 32-byte AES key: HKDF-SHA256 over the ECDH shared x-coordinate, no salt,
 * `info` = `sharedInfo` (the initiator's 8-byte `random`). Throws `BAD_KEY_MATERIAL` when the
 * peer's point is not a valid P-384 point or a key has the wrong size.
 */
export function deriveSharedKey(privateKey: Uint8Array, peerPublicKey: Uint8Array, sharedInfo: Uint8Array): Uint8Array {
  // Accept a scalar that lost its leading zero bytes elsewhere (as node's getPrivateKey() gives it).
  if (privateKey instanceof Uint8Array && privateKey.length > 0 && privateKey.length < 48) privateKey = padScalar(privateKey);
  checkLen("ECDH private key", privateKey, 48);
  if (!(peerPublicKey instanceof Uint8Array) || (peerPublicKey.length !== ECDH_PUBLIC_KEY_LENGTH && peerPublicKey.length !== 49)) {
    throw new WireError("BAD_KEY_MATERIAL", `peer ECDH public key must be a 97-byte (or 49-byte compressed) P-384 point`);
  }
  if (!(sharedInfo instanceof Uint8Array)) throw new WireError("BAD_KEY_MATERIAL", "HKDF info must be bytes");
  let secret: Buffer;
  try {
    const ecdh = createECDH("secp384r1");
    ecdh.setPrivateKey(privateKey);
    secret = ecdh.computeSecret(peerPublicKey);
  } catch (cause) {
    throw new WireError("BAD_KEY_MATERIAL", "ECDH failed: invalid P-384 private or public key", { cause });
  }
  return new Uint8Array(hkdfSync("sha256", secret, new Uint8Array(0), sharedInfo, SHARED_KEY_LENGTH));
}

const ONE_BLOCK = 16;
const MOD128 = 1n << 128n;

/**
 * One direction of an AES-256-CTR stream whose keystream continues across messages.
 * {@link position} counts the bytes processed; {@link seek} moves the stream to any position
 * (used to undo a decryption that turned out to be garbage).
 */
export class AesCtrStream {
  readonly #key: Uint8Array;
  readonly #nonce: bigint;
  #cipher: Cipher;
  #position = 0;

  constructor(key: Uint8Array, nonce: Uint8Array) {
    checkLen("AES-256 key", key, SHARED_KEY_LENGTH);
    checkLen("AES-CTR nonce", nonce, NONCE_LENGTH);
    this.#key = key.slice();
    let n = 0n;
    for (const b of nonce) n = (n << 8n) | BigInt(b);
    this.#nonce = n;
    this.#cipher = this.#cipherAt(0);
  }

  /** Bytes processed so far. */
  get position(): number {
    return this.#position;
  }

  /** XORs `data` with the next `data.length` keystream bytes (encrypts or decrypts). */
  update(data: Uint8Array): Uint8Array {
    if (data.length === 0) return new Uint8Array(0);
    const out = u8(this.#cipher.update(data));
    this.#position += data.length;
    return out;
  }

  /** Moves the stream to byte `position` of the keystream. */
  seek(position: number): void {
    if (!Number.isSafeInteger(position) || position < 0) {
      throw new WireError("INVALID_ARGUMENT", `AES-CTR seek position ${String(position)} is invalid`);
    }
    if (position === this.#position) return;
    this.#cipher = this.#cipherAt(position);
    this.#position = position;
  }

  #cipherAt(position: number): Cipher {
    const block = BigInt(Math.floor(position / ONE_BLOCK));
    let counter = (this.#nonce + block) % MOD128;
    const iv = new Uint8Array(16);
    for (let i = 15; i >= 0; i--) {
      iv[i] = Number(counter & 0xffn);
      counter >>= 8n;
    }
    const c = createCipheriv("aes-256-ctr", this.#key, iv);
    const skip = position % ONE_BLOCK;
    if (skip > 0) c.update(new Uint8Array(skip));
    return c;
  }
}

/** The cipher state stored under one of our key names. */
export interface CipherEntry {
  /** Our key name (4 bytes): encrypted payloads addressed to us start with it. */
  readonly keyName: Uint8Array;
  /** The peer's key name (4 bytes): every payload we encrypt starts with it. */
  readonly hint: Uint8Array;
  /** Stream for what we send. */
  readonly encryptor: AesCtrStream;
  /** Stream for what we receive (same key and initial counter as the encryptor, like the reference). */
  readonly decryptor: AesCtrStream;
}

function nameKey(name: Uint8Array): number {
  return ((name[0]! << 24) | (name[1]! << 16) | (name[2]! << 8) | name[3]!) >>> 0;
}

/**
 * A key registry: key name -> cipher pair, like the reference's process-wide `encryptors` /
 * `decryptors`. Key names must be unique across everything that shares one registry (client
 * and P2P links of one process in the reference). Not thread-shared; one per process or per
 * component as you like.
 */
export class KeyRegistry {
  readonly #entries = new Map<number, CipherEntry | null>();

  /** Number of names reserved or holding a cipher. */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * Picks a random 4-byte key name not yet in the registry and reserves it (no cipher yet),
   * as `get_ECDH_parameters` does.
   */
  reserveKeyName(): Uint8Array {
    for (;;) {
      const name = new Uint8Array(randomBytes(KEY_NAME_LENGTH));
      const k = nameKey(name);
      if (!this.#entries.has(k)) {
        this.#entries.set(k, null);
        return name;
      }
    }
  }

  /**
   * Installs the cipher pair under `keyName` (`set_cipher`): AES-256-CTR with `sharedKey` and
   * `nonce` as initial counter for both directions; outgoing payloads are prefixed with `hint`
   * (the peer's key name). Replaces an existing entry of that name.
   */
  setCipher(keyName: Uint8Array, sharedKey: Uint8Array, nonce: Uint8Array, hint: Uint8Array): CipherEntry {
    checkLen("key name", keyName, KEY_NAME_LENGTH);
    checkLen("hint", hint, KEY_NAME_LENGTH);
    const entry: CipherEntry = Object.freeze({
      keyName: keyName.slice(),
      hint: hint.slice(),
      encryptor: new AesCtrStream(sharedKey, nonce),
      decryptor: new AesCtrStream(sharedKey, nonce),
    });
    this.#entries.set(nameKey(keyName), entry);
    return entry;
  }

  /** Removes `keyName` (reserved or with a cipher), as `unset_cipher`. Returns whether it existed. */
  unsetCipher(keyName: Uint8Array): boolean {
    if (!(keyName instanceof Uint8Array) || keyName.length !== KEY_NAME_LENGTH) return false;
    return this.#entries.delete(nameKey(keyName));
  }

  /** True when `keyName` holds a cipher (not merely reserved). */
  hasCipher(keyName: Uint8Array): boolean {
    return this.get(keyName) !== undefined;
  }

  /** The cipher entry of `keyName`, or `undefined` when unknown, reserved only, or not 4 bytes. */
  get(keyName: Uint8Array): CipherEntry | undefined {
    if (!(keyName instanceof Uint8Array) || keyName.length !== KEY_NAME_LENGTH) return undefined;
    return this.#entries.get(nameKey(keyName)) ?? undefined;
  }

  /** Removes every entry. */
  clear(): void {
    this.#entries.clear();
  }
}
