/** Identifier helpers of v1.1.1 (get_new_id, get_random_id, id <-> hex). */
import { sha256 } from "#sha256";
import { fromHex, toHex, utf8Encode } from "./bytes.js";
import { BbcLibError } from "./errors.js";

/** Default length of ids in bytes (SHA-256). Transactions may truncate ids to `idLength`. */
export const DEFAULT_ID_LEN = 32;

/** The id of the global domain, domain_global_0: 32 zero bytes. */
export const DOMAIN_GLOBAL_0: Uint8Array = new Uint8Array(32);

/** `length` cryptographically random bytes. */
export function getRandomValue(length = DEFAULT_ID_LEN): Uint8Array {
  const out = new Uint8Array(length);
  globalThis.crypto.getRandomValues(out);
  return out;
}

const ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/** A random 256-bit id: SHA-256 of 16 random alphanumeric characters, as v1.1.1's get_random_id. */
export function getRandomId(): Uint8Array {
  const r = getRandomValue(16);
  let s = "";
  for (let i = 0; i < 16; i++) s += ALPHABET[r[i] % ALPHABET.length];
  return sha256(utf8Encode(s));
}

/**
 * A 256-bit id from a seed: SHA-256 of `seed` (followed by the current time as Python's
 * `"%f" % time.time()` when `includeTimestamp`), or a random id when no seed is given.
 */
export function getNewId(seed?: string | null, includeTimestamp = true): Uint8Array {
  if (seed === undefined || seed === null) return getRandomId();
  const s = includeTimestamp ? seed + (Date.now() / 1000).toFixed(6) : seed;
  return sha256(utf8Encode(s));
}

/** Lowercase hex of an id (convert_id_to_string). */
export function idToString(id: Uint8Array): string {
  return toHex(id);
}

/**
 * Bytes of a hex id (convert_idstring_to_bytes): shorter strings are left-padded with zero
 * bytes to `byteLength`, as the reference does.
 */
export function idStringToBytes(hex: string, byteLength = DEFAULT_ID_LEN): Uint8Array {
  let b: Uint8Array;
  try {
    b = fromHex(hex);
  } catch (e) {
    throw new BbcLibError("BAD_ARGUMENT", `id string is not hex: ${JSON.stringify(hex.slice(0, 80))}`, { cause: e });
  }
  if (b.length >= byteLength) return b;
  const out = new Uint8Array(byteLength);
  out.set(b, byteLength - b.length);
  return out;
}
