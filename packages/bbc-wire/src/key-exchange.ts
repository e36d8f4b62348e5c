import { randomBytes } from "node:crypto";
import { WireError } from "./errors.js";
import {
  ECDH_PUBLIC_KEY_LENGTH,
  KEY_NAME_LENGTH,
  NONCE_LENGTH,
  deriveSharedKey,
  generateEcdhKeyPair,
  type CipherEntry,
  type KeyRegistry,
} from "./crypto.js";
import { MsgType } from "./constants/msg-type.js";
import { coreResponse } from "./envelope.js";
import { getBytes, type WireMessage } from "./message.js";

/**
 * The ECDH key exchange of BBc-1 v1.1.1 on top of a {@link KeyRegistry}, for both uses of the
 * reference (client <-> core `REQUEST_ECDH_KEY_EXCHANGE`, client-protocol.md §2.6, and the
 * node <-> node REQUEST/RESPONSE/CONFIRM_KEY_EXCHANGE, p2p-protocol.md §6):
 *
 * 1. the initiator calls {@link createKeyExchangeOffer} and sends `ecdh`, `nonce`, `hint`, `random`;
 * 2. the responder calls {@link acceptKeyExchange} (installs its cipher) and answers with its own
 *    `ecdh` and `hint` (echoing `nonce` and `random`);
 * 3. the initiator calls {@link completeKeyExchange} with the answer (installs its cipher).
 *
 * Both ends then hold the same AES-256-CTR key and initial counter (the initiator's `nonce`);
 * each prefixes what it encrypts with the other's key name.
 */

/** Size of the HKDF `info` value (`random`) the reference sends. */
export const KEY_EXCHANGE_RANDOM_LENGTH = 8;

/** What an initiator keeps between sending its offer and receiving the answer. */
export interface KeyExchangeOffer {
  /** Our ephemeral P-384 private key (48 bytes). */
  readonly privateKey: Uint8Array;
  /** `ecdh`: our 97-byte uncompressed public point. */
  readonly publicKey: Uint8Array;
  /** `hint`: our 4-byte key name, reserved in the registry (no cipher yet). */
  readonly keyName: Uint8Array;
  /** `nonce`: 16 random bytes, the AES-CTR initial counter block of both directions. */
  readonly nonce: Uint8Array;
  /** `random`: 8 random bytes, the HKDF `info`. */
  readonly random: Uint8Array;
}

/** The peer values an exchange needs (the keys `ecdh`, `nonce`, `random`, `hint` of a message). */
export interface KeyExchangeValues {
  /** The peer's P-384 public point (97 bytes uncompressed, or 49 compressed). */
  readonly ecdh: Uint8Array;
  /** The initiator's 16-byte nonce. */
  readonly nonce: Uint8Array;
  /** The initiator's HKDF info (8 bytes in the reference). */
  readonly random: Uint8Array;
  /** The sender's 4-byte key name. */
  readonly hint: Uint8Array;
}

/** Result of {@link acceptKeyExchange}. */
export interface AcceptedKeyExchange {
  /** Our new key name (send it as `hint`); encrypted payloads addressed to us start with it. */
  readonly keyName: Uint8Array;
  /** Our ephemeral public point (send it as `ecdh`). */
  readonly publicKey: Uint8Array;
  /** The cipher installed in the registry under {@link keyName}. */
  readonly entry: CipherEntry;
}

/**
 * Starts an exchange as initiator (`bbc_app.exchange_key`, `KeyExchangeManager._send_request`):
 * a fresh P-384 key pair, a key name reserved in `registry`, a 16-byte nonce and 8-byte random.
 * Send `publicKey` as `ecdh`, `keyName` as `hint`, `nonce` and `random`.
 */
export function createKeyExchangeOffer(registry: KeyRegistry): KeyExchangeOffer {
  const pair = generateEcdhKeyPair();
  return {
    privateKey: pair.privateKey,
    publicKey: pair.publicKey,
    keyName: registry.reserveKeyName(),
    nonce: new Uint8Array(randomBytes(NONCE_LENGTH)),
    random: new Uint8Array(randomBytes(KEY_EXCHANGE_RANDOM_LENGTH)),
  };
}

/**
 * Answers an offer as responder (`bbc_core` REQUEST_ECDH_KEY_EXCHANGE, `KeyExchangeManager`
 * on REQUEST): fresh key pair and key name, key = HKDF-SHA256(ECDH, info = `random`), cipher
 * installed under our new key name with the offer's `nonce` and the peer's `hint` as prefix.
 * Throws `BAD_KEY_MATERIAL` for a value of the wrong size or an invalid point (nothing is left
 * in the registry then).
 */
export function acceptKeyExchange(registry: KeyRegistry, offer: KeyExchangeValues): AcceptedKeyExchange {
  checkValues(offer);
  const pair = generateEcdhKeyPair();
  const sharedKey = deriveSharedKey(pair.privateKey, offer.ecdh, offer.random);
  const keyName = registry.reserveKeyName();
  const entry = registry.setCipher(keyName, sharedKey, offer.nonce, offer.hint);
  return { keyName, publicKey: pair.publicKey, entry };
}

/**
 * Completes an exchange as initiator when the answer arrives (`proc_resp_ecdh_key_exchange`,
 * `KeyExchangeManager` on RESPONSE): key = HKDF-SHA256(ECDH(our key, answer `ecdh`),
 * info = our `random`); cipher installed under our key name with our nonce, prefixed with the
 * answer's `hint`. Throws `BAD_KEY_MATERIAL` on bad values.
 */
export function completeKeyExchange(
  registry: KeyRegistry,
  offer: KeyExchangeOffer,
  answer: Pick<KeyExchangeValues, "ecdh" | "hint">,
): CipherEntry {
  checkBytes("hint", answer.hint, KEY_NAME_LENGTH);
  const sharedKey = deriveSharedKey(offer.privateKey, answer.ecdh, offer.random);
  return registry.setCipher(offer.keyName, sharedKey, offer.nonce, answer.hint);
}

/**
 * Reads `ecdh`, `nonce`, `random`, `hint` from a message (`BAD_KEY_MATERIAL` when one is
 * missing or has the wrong size).
 */
export function keyExchangeValues(message: WireMessage): KeyExchangeValues {
  const read = (k: "ecdh" | "nonce" | "random" | "hint"): Uint8Array => {
    let v: Uint8Array | undefined;
    try {
      v = getBytes(message, k);
    } catch (cause) {
      throw new WireError("BAD_KEY_MATERIAL", `key exchange: ${k} is not a byte string`, { cause });
    }
    if (v === undefined) throw new WireError("BAD_KEY_MATERIAL", `key exchange: ${k} is missing`);
    return v;
  };
  const values = { ecdh: read("ecdh"), nonce: read("nonce"), random: read("random"), hint: read("hint") };
  checkValues(values);
  return values;
}

/**
 * The core's side of a client's REQUEST_ECDH_KEY_EXCHANGE in one call: accepts the exchange
 * (cipher installed in `registry`) and builds the plaintext RESPONSE_ECDH_KEY_EXCHANGE exactly
 * as the reference does: `domain_id` nil, `command` 34, `destination_user_id`, `query_id`,
 * `status` 0, `ecdh`, `nonce`, `random`, `hint`. Send the response in plaintext (payload type
 * 2), then encrypt later routed messages on that connection with `keyName`
 * ({@link WireConnection.useKey}).
 */
export function answerClientKeyExchange(
  registry: KeyRegistry,
  request: WireMessage,
): { readonly response: WireMessage; readonly keyName: Uint8Array } {
  const values = keyExchangeValues(request);
  const accepted = acceptKeyExchange(registry, values);
  const response = coreResponse({
    domainId: null,
    command: MsgType.RESPONSE_ECDH_KEY_EXCHANGE,
    destinationUserId: bytesOrNull(request.source_user_id),
    queryId: bytesOrNull(request.query_id),
  });
  response.ecdh = accepted.publicKey;
  response.nonce = values.nonce;
  response.random = values.random;
  response.hint = accepted.keyName;
  return { response, keyName: accepted.keyName };
}

function checkValues(v: KeyExchangeValues): void {
  if (!(v.ecdh instanceof Uint8Array) || (v.ecdh.length !== ECDH_PUBLIC_KEY_LENGTH && v.ecdh.length !== 49)) {
    throw new WireError("BAD_KEY_MATERIAL", "key exchange: ecdh must be a 97-byte (or 49-byte compressed) P-384 point");
  }
  checkBytes("nonce", v.nonce, NONCE_LENGTH);
  checkBytes("hint", v.hint, KEY_NAME_LENGTH);
  if (!(v.random instanceof Uint8Array)) throw new WireError("BAD_KEY_MATERIAL", "key exchange: random must be bytes");
}

function checkBytes(what: string, b: unknown, len: number): void {
  if (!(b instanceof Uint8Array) || b.length !== len) {
    throw new WireError("BAD_KEY_MATERIAL", `key exchange: ${what} must be ${len} bytes`);
  }
}

function bytesOrNull(v: unknown): Uint8Array | null {
  return v instanceof Uint8Array ? v : null;
}
