import { BbcLibError, msgpackDecode, msgpackEncode, type DecodeBudget, type MsgpackValue } from "@bbc1/bbclib";
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

const textEncoder = new TextEncoder();
const TWO_32 = 0x1_0000_0000;

function rawHeaderLength(n: number): number {
  return n <= 0x1f ? 1 : n <= 0xffff ? 3 : 5;
}

function intLength(v: number): number {
  if (v >= 0) return v < 0x80 ? 1 : v <= 0xff ? 2 : v <= 0xffff ? 3 : v < TWO_32 ? 5 : 9;
  return v >= -0x20 ? 1 : v >= -0x80 ? 2 : v >= -0x8000 ? 3 : v >= -0x8000_0000 ? 5 : 9;
}

/** Encodes a message as a msgpack map with 4-byte raw keys, in insertion order (body only). */
export function encodeMsgpack(message: WireMessage): Uint8Array {
  return encodeMsgpackAfter(message, 0);
}

/**
 * Size of `m` as a msgpack map when every key and value is a byte string or nil (asset files,
 * referred transactions), else -1. Such maps are written by {@link writeBytesMap} without
 * going through bbclib's codec (a writer allocated and copied per map).
 */
function bytesMapLength(m: Map<WireValue, WireValue>): number {
  const n = m.size;
  let size = n <= 15 ? 1 : n <= 0xffff ? 3 : 5;
  for (const [k, v] of m) {
    if (!(k instanceof Uint8Array) || k.length >= TWO_32) return -1;
    size += rawHeaderLength(k.length) + k.length;
    if (v === null) size += 1;
    else if (v instanceof Uint8Array && v.length < TWO_32) size += rawHeaderLength(v.length) + v.length;
    else return -1;
  }
  return size;
}

function writeRaw(out: Uint8Array, dv: DataView, p: number, v: Uint8Array): number {
  const len = v.length;
  if (len <= 0x1f) out[p++] = 0xa0 | len;
  else if (len <= 0xffff) {
    out[p++] = 0xda;
    dv.setUint16(p, len);
    p += 2;
  } else {
    out[p++] = 0xdb;
    dv.setUint32(p, len);
    p += 4;
  }
  out.set(v, p);
  return p + len;
}

function writeMapHeader(out: Uint8Array, dv: DataView, p: number, n: number): number {
  if (n <= 15) out[p++] = 0x80 | n;
  else if (n <= 0xffff) {
    out[p++] = 0xde;
    dv.setUint16(p, n);
    p += 2;
  } else {
    out[p++] = 0xdf;
    dv.setUint32(p, n);
    p += 4;
  }
  return p;
}

function writeBytesMap(out: Uint8Array, dv: DataView, p: number, m: Map<WireValue, WireValue>): number {
  p = writeMapHeader(out, dv, p, m.size);
  for (const [k, v] of m) {
    p = writeRaw(out, dv, p, k as Uint8Array);
    if (v === null) out[p++] = 0xc0;
    else p = writeRaw(out, dv, p, v as Uint8Array);
  }
  return p;
}

/**
 * {@link encodeMsgpack} into a buffer with `headroom` bytes free in front (where
 * {@link encodeMessage} writes the frame header, saving a copy of the body).
 * @internal
 */
export function encodeMsgpackAfter(message: WireMessage, headroom: number): Uint8Array {
  // Fast path: top-level byte strings, text, ints, booleans, nil and maps of byte strings are
  // written directly into one buffer of the exact size; any other value (lists, other maps,
  // floats, big ints) is encoded by bbclib's codec. Both follow the same msgpack-python 0.5
  // rules, so the bytes are identical.
  const names = Object.keys(message);
  const keys: Uint8Array[] = [];
  const values: (WireValue | Uint8Array)[] = [];
  const encoded: (Uint8Array | undefined)[] = [];
  let size = 0;
  let mapLength: number;
  for (const name of names) {
    const v = (message as Record<string, WireValue | undefined>)[name];
    if (v === undefined) continue;
    const key = keyBytesShared(name);
    if (key === undefined) throw new WireError("UNKNOWN_KEY", `msgpack: ${JSON.stringify(name)} is not a KeyType name`);
    let value: WireValue = v;
    let pre: Uint8Array | undefined;
    if (typeof value === "string") value = textEncoder.encode(value);
    if (value instanceof Uint8Array) {
      if (value.length >= TWO_32) throw new WireError("ENCODE", `msgpack: ${name} is longer than 2^32-1 bytes`);
      size += rawHeaderLength(value.length) + value.length;
    } else if (value === null || typeof value === "boolean") {
      size += 1;
    } else if (typeof value === "number" && Number.isSafeInteger(value)) {
      size += intLength(value);
    } else if (value instanceof Map && (mapLength = bytesMapLength(value)) >= 0) {
      size += mapLength;
    } else {
      try {
        pre = msgpackEncode(value as MsgpackValue, { binary: "raw" });
      } catch (cause) {
        throw new WireError("ENCODE", `msgpack: cannot encode ${name}: ${(cause as Error)?.message ?? String(cause)}`, { cause });
      }
      size += pre.length;
    }
    keys.push(key);
    values.push(value);
    encoded.push(pre);
    size += 5; // a4 + 4-byte key
  }
  const n = keys.length;
  const headerLength = n <= 15 ? 1 : n <= 0xffff ? 3 : 5;
  const out = new Uint8Array(headroom + headerLength + size);
  const dv = new DataView(out.buffer);
  let p = writeMapHeader(out, dv, headroom, n);
  for (let i = 0; i < n; i++) {
    out[p++] = 0xa4;
    out.set(keys[i]!, p);
    p += 4;
    const pre = encoded[i];
    if (pre !== undefined) {
      out.set(pre, p);
      p += pre.length;
      continue;
    }
    const v = values[i];
    if (v instanceof Uint8Array) p = writeRaw(out, dv, p, v);
    else if (v instanceof Map) p = writeBytesMap(out, dv, p, v);
    else if (v === null) out[p++] = 0xc0;
    else if (v === true) out[p++] = 0xc3;
    else if (v === false) out[p++] = 0xc2;
    else p = writeInt(out, dv, p, v as number);
  }
  return out;
}

function writeInt(out: Uint8Array, dv: DataView, p: number, v: number): number {
  if (v >= 0) {
    if (v < 0x80) out[p++] = v;
    else if (v <= 0xff) {
      out[p++] = 0xcc;
      out[p++] = v;
    } else if (v <= 0xffff) {
      out[p++] = 0xcd;
      dv.setUint16(p, v);
      p += 2;
    } else if (v < TWO_32) {
      out[p++] = 0xce;
      dv.setUint32(p, v);
      p += 4;
    } else {
      out[p++] = 0xcf;
      dv.setBigUint64(p, BigInt(v));
      p += 8;
    }
  } else if (v >= -0x20) out[p++] = v & 0xff;
  else if (v >= -0x80) {
    out[p++] = 0xd0;
    out[p++] = v & 0xff;
  } else if (v >= -0x8000) {
    out[p++] = 0xd1;
    dv.setInt16(p, v);
    p += 2;
  } else if (v >= -0x8000_0000) {
    out[p++] = 0xd2;
    dv.setInt32(p, v);
    p += 4;
  } else {
    out[p++] = 0xd3;
    dv.setBigInt64(p, BigInt(v));
    p += 8;
  }
  return p;
}

/**
 * Decodes a msgpack value to a raw value, mapping codec failures to `WireError`
 * (`MALFORMED_MSGPACK`, `TOO_DEEP`, `DECODE_BUDGET`).
 * @internal
 */
export function decodeMsgpackValue(body: Uint8Array, maxDepth: number, budget?: DecodeBudget): MsgpackValue {
  try {
    return msgpackDecode(plainBytes(body), { maps: "map", strings: "bytes", maxDepth, decodeBudget: budget });
  } catch (cause) {
    if (cause instanceof BbcLibError && cause.code === "TOO_LARGE" && /nesting|deep/i.test(cause.message)) {
      throw new WireError("TOO_DEEP", `msgpack: ${cause.message}`, { cause });
    }
    if (cause instanceof BbcLibError && cause.code === "DECODE_BUDGET") {
      throw new WireError("DECODE_BUDGET", cause.message, { cause });
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
  return messageFromMsgpack(decodeMsgpackValue(body, options?.maxDepth ?? DEFAULT_MAX_DEPTH, options?.decodeBudget), options);
}

function hex(b: Uint8Array): string {
  let s = "";
  for (const x of b) s += x.toString(16).padStart(2, "0");
  return s;
}
