/**
 * Error codes of {@link WireError}. Stable strings: callers may switch on them.
 *
 * Framing:
 * - `TRUNCATED_HEADER`: fewer than 8 bytes where a frame header was expected.
 * - `TRUNCATED`: the frame ended before the length its header announced.
 * - `TRAILING_DATA`: bytes after the one frame that was expected (e.g. in a UDP datagram).
 * - `TOO_LARGE`: a frame length is beyond the configured maximum message size.
 * - `UNKNOWN_PAYLOAD_TYPE`: the header names a payload type other than 0, 2 or 3.
 * - `PARSER_CLOSED`: a {@link MessageParser} that already failed was fed again.
 * - `OVER_BUDGET`: buffering the bytes would exceed a shared `ByteBudget` (e.g. the
 *   process-wide budget for partial frames); the parser is closed.
 * - `REFUSED`: a frame was refused before decoding by an admission check (e.g. a frame too
 *   large for its command); framing stays intact.
 *
 * Payloads:
 * - `INVALID_TLV`: a TLV item has an unknown data type or an impossible value.
 * - `INVALID_TLV_LENGTH`: a TLV length runs past the end of its container, or an item header is cut off.
 * - `MALFORMED_MSGPACK`: the msgpack payload is not valid msgpack (truncated, bad tag, trailing bytes).
 * - `NOT_A_MAP`: the payload decodes to something other than a map.
 * - `BAD_KEY_WIDTH`: a message key is not a 4-byte byte string.
 * - `UNKNOWN_KEY`: a 4-byte key that is not a KeyType (or a name that is not a KeyType name).
 * - `DUPLICATE_KEY`: the same key appears twice in one message.
 * - `TOO_DEEP`: nesting beyond the configured maximum depth.
 * - `DECODE_BUDGET`: the payload would decode to more values, or more heap, than the decode
 *   budget allows for its size (`MapDecodeOptions.budget`); nothing beyond is allocated.
 *
 * Encryption:
 * - `UNKNOWN_KEY_NAME`: the 4-byte key name of an encrypted payload (or the one asked for when
 *   encrypting) is not in the key registry.
 * - `DECRYPTION_FAILED`: the decrypted payload is not a msgpack map (wrong key or desynchronised stream).
 * - `BAD_KEY_MATERIAL`: a shared key, nonce, key name, hint or ECDH public key has the wrong size or is invalid.
 *
 * Other:
 * - `ENCODE`: a value cannot be encoded in the chosen payload type (e.g. a negative int or nil in TLV).
 * - `BAD_VALUE_TYPE`: a typed accessor found a value of another type than asked for.
 * - `INVALID_ARGUMENT`: an API was called with unusable arguments.
 */
export type WireErrorCode =
  | "TRUNCATED_HEADER"
  | "TRUNCATED"
  | "TRAILING_DATA"
  | "TOO_LARGE"
  | "UNKNOWN_PAYLOAD_TYPE"
  | "PARSER_CLOSED"
  | "OVER_BUDGET"
  | "REFUSED"
  | "INVALID_TLV"
  | "INVALID_TLV_LENGTH"
  | "MALFORMED_MSGPACK"
  | "NOT_A_MAP"
  | "BAD_KEY_WIDTH"
  | "UNKNOWN_KEY"
  | "DUPLICATE_KEY"
  | "TOO_DEEP"
  | "DECODE_BUDGET"
  | "UNKNOWN_KEY_NAME"
  | "DECRYPTION_FAILED"
  | "BAD_KEY_MATERIAL"
  | "ENCODE"
  | "BAD_VALUE_TYPE"
  | "INVALID_ARGUMENT";

/**
 * The one error class of `@bbc1/wire`. `code` says what kind of failure it is; the message
 * says what was wrong and with which input; `cause` chains the original error (for example
 * the `BbcLibError` of the msgpack codec).
 */
export class WireError extends Error {
  /** Always `"WireError"`. */
  override readonly name = "WireError";
  /** What kind of failure this is (see {@link WireErrorCode}). */
  readonly code: WireErrorCode;

  /** @param code - the failure kind; @param message - what was wrong; @param options - `cause` to chain. */
  constructor(code: WireErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** True when `e` is a {@link WireError} (optionally with the given code). */
export function isWireError(e: unknown, code?: WireErrorCode): e is WireError {
  return e instanceof WireError && (code === undefined || e.code === code);
}

/**
 * A plain `Uint8Array` view of `b` (no copy). Node's `Buffer` is a `Uint8Array` subclass whose
 * `slice()` returns a view instead of a copy; decoders work on plain views so that every value
 * they return is an independent plain `Uint8Array`, whatever the caller passed in.
 * @internal
 */
export function plainBytes(b: Uint8Array): Uint8Array {
  return Object.getPrototypeOf(b) === Uint8Array.prototype ? b : new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}
