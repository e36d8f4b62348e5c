import { BbcLibError, msgpackDecode, msgpackEncode, type MsgpackValue } from "@bbc1/bbclib";
import { WireError, plainBytes } from "./errors.js";
import { keyBytesShared, keyTypeName } from "./constants/key-type.js";
import type { WireMessage, WireValue } from "./message.js";
import { DEFAULT_MAX_DEPTH, type MapDecodeOptions } from "./tlv.js";

/**
 * msgpack payload (type 2, and the plaintext of type 3) with the type choices of
 * msgpack-python 0.5 as the reference used it (`packb` with `use_bin_type=False`): byte strings
 * and text both go out in the raw/str family (fixstr, raw16 `da`, raw32 `db`; never str8 nor
 * bin), integers in their smallest encoding. On input both the str and the bin family are
 * accepted and decode to `Uint8Array`. The codec itself is `@bbc1/bbclib`'s; this module maps
 * between KeyType names and 4-byte keys and maps codec failures to `WireError`.
 */

/** Encodes a message as a msgpack map with 4-byte raw keys, in insertion order (body only). */
export function encodeMsgpack(message: WireMessage): Uint8Array {
  const map = new Map<MsgpackValue, MsgpackValue>();
  for (const name of Object.keys(message)) {
    const v = (message as Record<string, WireValue | undefined>)[name];
    if (v === undefined) continue;
    const key = keyBytesShared(name);
    if (key === undefined) throw new WireError("UNKNOWN_KEY", `msgpack: ${JSON.stringify(name)} is not a KeyType name`);
    map.set(key, v as MsgpackValue);
  }
  try {
    return msgpackEncode(map, { binary: "raw" });
  } catch (cause) {
    throw new WireError("ENCODE", `msgpack: cannot encode message: ${(cause as Error)?.message ?? String(cause)}`, { cause });
  }
}

/**
 * Decodes a msgpack value to a raw value, mapping codec failures to `WireError`
 * (`MALFORMED_MSGPACK`, `TOO_DEEP`).
 * @internal
 */
export function decodeMsgpackValue(body: Uint8Array, maxDepth: number): MsgpackValue {
  try {
    return msgpackDecode(plainBytes(body), { maps: "map", strings: "bytes", maxDepth });
  } catch (cause) {
    if (cause instanceof BbcLibError && cause.code === "TOO_LARGE" && /nesting|deep/i.test(cause.message)) {
      throw new WireError("TOO_DEEP", `msgpack: ${cause.message}`, { cause });
    }
    const what = cause instanceof BbcLibError ? `${cause.code}: ${cause.message}` : String(cause);
    throw new WireError("MALFORMED_MSGPACK", `msgpack payload is invalid (${what})`, { cause });
  }
}

/**
 * Turns a decoded msgpack value into a message: it must be a map whose keys are 4-byte byte
 * strings naming KeyTypes (`NOT_A_MAP`, `BAD_KEY_WIDTH`, `UNKNOWN_KEY`, `DUPLICATE_KEY`).
 * @internal
 */
export function messageFromMsgpack(value: MsgpackValue, options?: MapDecodeOptions): WireMessage {
  if (!(value instanceof Map)) {
    const what = value === null ? "nil" : Array.isArray(value) ? "an array" : value instanceof Uint8Array ? "a byte string" : typeof value;
    throw new WireError("NOT_A_MAP", `msgpack payload is ${what}, not a map`);
  }
  const dropUnknown = options?.unknownKeys === "drop";
  const out: Record<string, WireValue> = {};
  for (const [k, v] of value) {
    if (!(k instanceof Uint8Array) || k.length !== 4) {
      const what = k instanceof Uint8Array ? `${k.length}-byte string` : k === null ? "nil" : typeof k;
      throw new WireError("BAD_KEY_WIDTH", `msgpack: message key is a ${what}, expected a 4-byte string`);
    }
    const name = keyTypeName(k);
    if (name === undefined) {
      if (dropUnknown) continue;
      throw new WireError("UNKNOWN_KEY", `msgpack: key ${hex(k)} is not a KeyType`);
    }
    if (Object.prototype.hasOwnProperty.call(out, name)) {
      throw new WireError("DUPLICATE_KEY", `msgpack: key ${name} appears twice`);
    }
    out[name] = v as WireValue;
  }
  return out as WireMessage;
}

/** Decodes a msgpack payload (body only) to a message. */
export function decodeMsgpack(body: Uint8Array, options?: MapDecodeOptions): WireMessage {
  return messageFromMsgpack(decodeMsgpackValue(body, options?.maxDepth ?? DEFAULT_MAX_DEPTH), options);
}

function hex(b: Uint8Array): string {
  let s = "";
  for (const x of b) s += x.toString(16).padStart(2, "0");
  return s;
}
