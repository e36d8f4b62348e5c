import { WireError } from "./errors.js";
import { KeyRegistry, KEY_NAME_LENGTH } from "./crypto.js";
import { PayloadType } from "./constants/infra.js";
import { encodeMessage } from "./codec.js";
import { MessageParser, type MessageParserOptions, type ParsedMessage } from "./parser.js";
import type { WireMessage } from "./message.js";

/** Options of {@link WireConnection}. */
export interface WireConnectionOptions extends Omit<MessageParserOptions, "registry"> {
  /**
   * The key registry shared by every connection of the process (key names must be unique
   * across client and P2P links, as in the reference). A new private one when omitted.
   */
  registry?: KeyRegistry;
}

/**
 * Per-connection codec for one TCP stream, as a core (or a client) needs it:
 *
 * - **incoming**: {@link feed} chunks as they arrive and get decoded messages in order. Payload
 *   types 0 (TLV), 2 (msgpack) and 3 (encrypted msgpack, decrypted with the registry by the key
 *   name the frame starts with) are accepted, like the reference's `deserialize_data`. A frame
 *   that does not decode yields `{ ok: false, error }` and parsing goes on; a bad header (payload
 *   type 1 or unknown, or a length beyond `maxMessageSize`) throws and closes the connection's
 *   parser (`closed` is then true): close the socket.
 * - **outgoing**: {@link encodeDirect} frames a message as payload type 2 (the reference's
 *   direct responses, including RESPONSE_ECDH_KEY_EXCHANGE); {@link encodeRouted} uses payload
 *   type 3 when the connection has a key ({@link useKey}) and 2 otherwise, as the reference's
 *   `UserMessageRouting._send` does for routed messages (responses and notifications delivered
 *   to a registered user).
 *
 * Frames encrypted with one key must be written in the order they were encoded (the AES-CTR
 * keystream continues across messages).
 */
export class WireConnection {
  /** The key registry used to decrypt incoming and encrypt outgoing payloads. */
  readonly registry: KeyRegistry;
  readonly #parser: MessageParser;
  #keyName: Uint8Array | undefined;

  constructor(options?: WireConnectionOptions) {
    this.registry = options?.registry ?? new KeyRegistry();
    this.#parser = new MessageParser({ ...options, registry: this.registry });
  }

  /** Pushes a received chunk and iterates over every message now complete, in order. */
  feed(chunk: Uint8Array): IterableIterator<ParsedMessage> {
    return this.#parser.feed(chunk);
  }

  /** Declares the end of the stream; throws `TRUNCATED_HEADER` / `TRUNCATED` when a frame was cut off. */
  end(): void {
    this.#parser.end();
  }

  /** True after a framing error: the stream cannot be resynchronised, close the socket. */
  get closed(): boolean {
    return this.#parser.closed;
  }

  /** Bytes received and not yet returned as part of a message. */
  get bufferedBytes(): number {
    return this.#parser.bufferedBytes;
  }

  /** Our key name whose cipher encrypts routed messages, or `undefined` (plaintext). */
  get keyName(): Uint8Array | undefined {
    return this.#keyName;
  }

  /**
   * Encrypts later routed messages with the cipher stored under our `keyName` (after a key
   * exchange, e.g. `answerClientKeyExchange(...).keyName`), or goes back to plaintext with
   * `undefined`. Throws `UNKNOWN_KEY_NAME` when the registry holds no cipher of that name.
   */
  useKey(keyName: Uint8Array | undefined): void {
    if (keyName === undefined) {
      this.#keyName = undefined;
      return;
    }
    if (!(keyName instanceof Uint8Array) || keyName.length !== KEY_NAME_LENGTH || !this.registry.hasCipher(keyName)) {
      throw new WireError("UNKNOWN_KEY_NAME", "useKey: no cipher of that name in the registry");
    }
    this.#keyName = keyName.slice();
  }

  /** A direct (plaintext, payload type 2) frame, as the reference sends every direct response. */
  encodeDirect(message: WireMessage): Uint8Array {
    return encodeMessage(PayloadType.Type_msgpack, message);
  }

  /**
   * A routed frame: payload type 3 with the connection's key when it has one (and the cipher is
   * still in the registry), else payload type 2.
   */
  encodeRouted(message: WireMessage): Uint8Array {
    const keyName = this.#keyName;
    if (keyName !== undefined && this.registry.hasCipher(keyName)) {
      return encodeMessage(PayloadType.Type_encrypted_msgpack, message, { registry: this.registry, keyName });
    }
    return encodeMessage(PayloadType.Type_msgpack, message);
  }

  /**
   * Forgets the connection's key: removes its cipher from the registry (the reference's
   * `unset_cipher` on UNREGISTER / close) and returns to plaintext. Call it when the socket
   * closes. Buffered input is dropped.
   */
  dispose(): void {
    if (this.#keyName !== undefined) this.registry.unsetCipher(this.#keyName);
    this.#keyName = undefined;
    this.#parser.reset();
  }
}
