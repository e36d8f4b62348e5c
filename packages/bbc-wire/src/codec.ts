import { WireError, plainBytes } from "./errors.js";
import { HEADER_LENGTH, decodeHeader, writeHeader } from "./header.js";
import { PayloadType, type WirePayloadType } from "./constants/infra.js";
import { KEY_NAME_LENGTH, type KeyRegistry } from "./crypto.js";
import type { WireMessage } from "./message.js";
import { DEFAULT_MAX_DEPTH, decodeTlv, encodeTlv, type MapDecodeOptions } from "./tlv.js";
import { decodeMsgpackValue, encodeMsgpack, encodeMsgpackAfter, messageFromMsgpack } from "./msgpack.js";

/** Default maximum payload size accepted by the decoders and the parser: 64 MiB. */
export const DEFAULT_MAX_MESSAGE_SIZE = 64 * 1024 * 1024;

/** Options of {@link encodeMessage} / {@link encodePayload}. */
export interface EncodeOptions {
  /** `payload_version` header field (the reference always sends 0). */
  payloadVersion?: number;
  /** Key registry holding the cipher; required for `Type_encrypted_msgpack`. */
  registry?: KeyRegistry;
  /** Our key name whose cipher encrypts the payload; required for `Type_encrypted_msgpack`. */
  keyName?: Uint8Array;
  /** Refuse (`TOO_LARGE`) to produce a payload larger than this many bytes (default 2^32-1). */
  maxMessageSize?: number;
}

/** Options of the decoders ({@link decodePayload}, {@link decodeFrame}, {@link MessageParser}). */
export interface DecodeOptions extends MapDecodeOptions {
  /** Key registry for `Type_encrypted_msgpack` payloads. Without it they fail with `UNKNOWN_KEY_NAME`. */
  registry?: KeyRegistry;
  /** Maximum payload size in bytes (default {@link DEFAULT_MAX_MESSAGE_SIZE}). */
  maxMessageSize?: number;
}

function checkPayloadType(payloadType: number): asserts payloadType is WirePayloadType {
  if (payloadType !== 0 && payloadType !== 2 && payloadType !== 3) {
    throw new WireError("UNKNOWN_PAYLOAD_TYPE", `payload type ${String(payloadType)} is not 0 (TLV), 2 (msgpack) or 3 (encrypted msgpack)`);
  }
}

function encodePlain(payloadType: WirePayloadType, message: WireMessage): Uint8Array {
  return payloadType === PayloadType.Type_binary ? encodeTlv(message) : encodeMsgpack(message);
}

/**
 * Encodes the payload (body) of a message without the frame header: TLV for type 0, msgpack
 * for 2, `hint ‖ AES-CTR(msgpack)` for 3 (advancing that key's send stream).
 */
export function encodePayload(payloadType: WirePayloadType, message: WireMessage, options?: EncodeOptions): Uint8Array {
  return frameOrPayload(payloadType, message, options, false);
}

/**
 * Encodes a whole frame: the 8-byte header (`payload_type` u16 BE, `payload_version` u16 BE,
 * length u32 BE) followed by the payload, like the reference's `make_message`.
 *
 * For `Type_encrypted_msgpack` pass `registry` and `keyName` (our key name); the payload is the
 * peer's key name (the entry's hint) followed by the next bytes of that key's AES-CTR stream
 * XOR the msgpack. Frames of one key must be sent in the order they were encoded.
 */
export function encodeMessage(payloadType: WirePayloadType, message: WireMessage, options?: EncodeOptions): Uint8Array {
  return frameOrPayload(payloadType, message, options, true);
}

function frameOrPayload(payloadType: number, message: WireMessage, options: EncodeOptions | undefined, withHeader: boolean): Uint8Array {
  checkPayloadType(payloadType);
  if (message === null || typeof message !== "object") {
    throw new WireError("INVALID_ARGUMENT", "message must be an object keyed by KeyType names");
  }
  const version = options?.payloadVersion ?? 0;
  if (!Number.isInteger(version) || version < 0 || version > 0xffff) {
    throw new WireError("INVALID_ARGUMENT", `payloadVersion ${String(version)} is not an integer in 0..65535`);
  }
  const max = Math.min(options?.maxMessageSize ?? 0xffffffff, 0xffffffff);
  const h = withHeader ? HEADER_LENGTH : 0;

  if (payloadType === PayloadType.Type_msgpack && withHeader) {
    // the body is written after room for the header: one buffer, no copy
    const out = encodeMsgpackAfter(message, HEADER_LENGTH);
    const length = out.length - HEADER_LENGTH;
    if (length > max) throw new WireError("TOO_LARGE", `payload of ${length} bytes exceeds the maximum ${max}`);
    writeHeader(out, 0, payloadType, version, length);
    return out;
  }
  if (payloadType !== PayloadType.Type_encrypted_msgpack) {
    const body = encodePlain(payloadType, message);
    if (body.length > max) throw new WireError("TOO_LARGE", `payload of ${body.length} bytes exceeds the maximum ${max}`);
    if (!withHeader) return body;
    const out = new Uint8Array(HEADER_LENGTH + body.length);
    writeHeader(out, 0, payloadType, version, body.length);
    out.set(body, HEADER_LENGTH);
    return out;
  }

  const registry = options?.registry;
  const keyName = options?.keyName;
  if (registry === undefined || keyName === undefined) {
    throw new WireError("INVALID_ARGUMENT", "encrypted msgpack needs options.registry and options.keyName");
  }
  const entry = registry.get(keyName);
  if (entry === undefined) throw new WireError("UNKNOWN_KEY_NAME", `no cipher for key name ${hex(keyName)}`);
  const plain = encodeMsgpack(message);
  const len = KEY_NAME_LENGTH + plain.length;
  if (len > max) throw new WireError("TOO_LARGE", `payload of ${len} bytes exceeds the maximum ${max}`);
  const out = new Uint8Array(h + len);
  if (withHeader) writeHeader(out, 0, payloadType, version, len);
  out.set(entry.hint, h);
  out.set(entry.encryptor.update(plain), h + KEY_NAME_LENGTH);
  return out;
}

/**
 * Decodes a payload (body without header) of the given type, like the reference's
 * `deserialize_data`, but rejecting malformed input with a `WireError`.
 *
 * For type 3 the first 4 bytes name a key in `options.registry` (`UNKNOWN_KEY_NAME` if absent);
 * the rest is decrypted with that key's receive stream. If the plaintext is not a msgpack map
 * (wrong key or desynchronised stream) the stream position is restored and `DECRYPTION_FAILED`
 * is thrown, so the next correctly ordered message still decrypts. If it is a map but fails a
 * later check (e.g. an unknown key) the stream stays advanced, as the sender's did.
 */
export function decodePayload(payloadType: number, body: Uint8Array, options?: DecodeOptions): WireMessage {
  checkPayloadType(payloadType);
  if (!(body instanceof Uint8Array)) throw new WireError("INVALID_ARGUMENT", "payload must be a Uint8Array");
  body = plainBytes(body);
  const max = options?.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
  if (body.length > max) throw new WireError("TOO_LARGE", `payload of ${body.length} bytes exceeds the maximum ${max}`);
  const maxDepth = options?.maxDepth ?? DEFAULT_MAX_DEPTH;
  if (payloadType === PayloadType.Type_binary) return decodeTlv(body, options);
  if (payloadType === PayloadType.Type_msgpack) return messageFromMsgpack(decodeMsgpackValue(body, maxDepth, options?.decodeBudget), options);

  if (body.length < KEY_NAME_LENGTH) {
    throw new WireError("TRUNCATED", `encrypted payload of ${body.length} bytes has no 4-byte key name`);
  }
  const name = body.subarray(0, KEY_NAME_LENGTH);
  const entry = options?.registry?.get(name);
  if (entry === undefined) throw new WireError("UNKNOWN_KEY_NAME", `no cipher for key name ${hex(name)}`);
  const before = entry.decryptor.position;
  const plain = entry.decryptor.update(body.subarray(KEY_NAME_LENGTH));
  let value;
  try {
    value = decodeMsgpackValue(plain, maxDepth, options?.decodeBudget);
    if (!(value instanceof Map)) throw new WireError("NOT_A_MAP", "decrypted payload is not a map");
  } catch (cause) {
    // A plaintext that starts as a map but is too big for the budget was decrypted with the
    // right key: the stream stays advanced (as the sender's did) and the refusal says why.
    if (cause instanceof WireError && cause.code === "DECODE_BUDGET" && isMapTag(plain[0])) throw cause;
    entry.decryptor.seek(before);
    throw new WireError("DECRYPTION_FAILED", `payload for key name ${hex(name)} does not decrypt to a msgpack map`, { cause });
  }
  return messageFromMsgpack(value, options);
}

/** A frame split into header fields and payload. */
export interface Frame {
  /** Payload type from the header (0, 2 or 3). */
  readonly payloadType: number;
  /** `payload_version` from the header. */
  readonly formatVersion: number;
  /** The payload; may be a view into the input (no copy). */
  readonly body: Uint8Array;
}

/** A frame with its decoded message. */
export interface DecodedFrame extends Frame {
  /** The decoded message, keyed by KeyType name in wire order. */
  readonly message: WireMessage;
}

/**
 * Splits exactly one frame (e.g. a UDP datagram) into header and body without decoding it.
 * Throws `TRUNCATED_HEADER`, `UNKNOWN_PAYLOAD_TYPE`, `TOO_LARGE`, `TRUNCATED` or `TRAILING_DATA`.
 */
export function splitFrame(frame: Uint8Array, options?: { maxMessageSize?: number }): Frame {
  if (!(frame instanceof Uint8Array)) throw new WireError("INVALID_ARGUMENT", "frame must be a Uint8Array");
  frame = plainBytes(frame);
  const header = decodeHeader(frame);
  checkPayloadType(header.payloadType);
  const max = options?.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
  if (header.length > max) throw new WireError("TOO_LARGE", `frame announces ${header.length} bytes, maximum is ${max}`);
  const have = frame.length - HEADER_LENGTH;
  if (have < header.length) throw new WireError("TRUNCATED", `frame announces ${header.length} payload bytes, ${have} present`);
  if (have > header.length) throw new WireError("TRAILING_DATA", `${have - header.length} byte(s) after the frame`);
  return { payloadType: header.payloadType, formatVersion: header.formatVersion, body: frame.subarray(HEADER_LENGTH) };
}

/** Decodes exactly one complete frame (header + payload): {@link splitFrame} then {@link decodePayload}. */
export function decodeFrame(frame: Uint8Array, options?: DecodeOptions): DecodedFrame {
  const f = splitFrame(frame, options);
  const message = decodePayload(f.payloadType, f.body, options);
  return { payloadType: f.payloadType, formatVersion: f.formatVersion, body: f.body, message };
}

function isMapTag(b: number | undefined): boolean {
  return b !== undefined && ((b >= 0x80 && b <= 0x8f) || b === 0xde || b === 0xdf);
}

function hex(b: Uint8Array): string {
  let s = "";
  for (const x of b) s += x.toString(16).padStart(2, "0");
  return s;
}
