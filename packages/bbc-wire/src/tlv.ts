import { decodeAllowance, type DecodeBudget } from "@bbc1/bbclib";
import { WireError, plainBytes } from "./errors.js";
import { keyBytesShared, keyTypeName, type KeyTypeName } from "./constants/key-type.js";
import type { WireMessage, WireValue } from "./message.js";

/**
 * TLV ("binary", payload type 0) codec: bbc1 v1.1.1 `make_TLV_formatted_message` /
 * `make_dictionary_from_TLV_format`, also used for `admin_info`.
 *
 * A message is a sequence of `key(4) ‖ item`; an item is `type u32 BE ‖ length u32 BE ‖ value`:
 *
 * | type | value | encoded from | decoded to |
 * |---|---|---|---|
 * | 0 | raw bytes | `Uint8Array`, `string` (UTF-8) | `Uint8Array` |
 * | 1 | 8-byte unsigned BE integer | non-negative integer `number` / `bigint` | `number` (`bigint` beyond 2^53) |
 * | 2 | 1 byte, 1 = true, 0 = false | `boolean` | `boolean` |
 * | 3 | concatenated items | array | array |
 *
 * Like the reference, TLV cannot carry nil, negative integers, floats or maps: encoding them
 * throws `ENCODE`. The decoder is stricter than the reference, which it must be to never
 * misread: an item header or value running past its container is `INVALID_TLV_LENGTH`; an
 * unknown type, an integer not 8 bytes long or a boolean not `00`/`01` is `INVALID_TLV`.
 */

const TYPE_BYTES = 0;
const TYPE_INT = 1;
const TYPE_BOOL = 2;
const TYPE_LIST = 3;
const MAX_U64 = (1n << 64n) - 1n;
const MAX_U32 = 0xffffffff;
const textEncoder = new TextEncoder();

/** Options of the TLV and msgpack decoders. */
export interface MapDecodeOptions {
  /** What to do with a 4-byte key that is not a KeyType: `"error"` (default) throws `UNKNOWN_KEY`, `"drop"` skips it. */
  unknownKeys?: "error" | "drop";
  /** Maximum nesting depth of values below the message map (default 32). */
  maxDepth?: number;
  /**
   * Element and allocation budgets of one payload (missing fields: bbclib's
   * `DEFAULT_DECODE_BUDGET`: 32,768 values, 1 MiB + 8 × payload length estimated heap bytes,
   * at most 160 MiB). Beyond them `DECODE_BUDGET`.
   */
  decodeBudget?: DecodeBudget;
}

/** Default maximum nesting depth of values below the message map ({@link MapDecodeOptions.maxDepth}). */
export const DEFAULT_MAX_DEPTH = 32;

class Writer {
  parts: Uint8Array[] = [];
  size = 0;
  push(b: Uint8Array): void {
    this.parts.push(b);
    this.size += b.length;
  }
  concat(): Uint8Array {
    const out = new Uint8Array(this.size);
    let o = 0;
    for (const p of this.parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }
}

function itemHeader(type: number, length: number): Uint8Array {
  const h = new Uint8Array(8);
  const dv = new DataView(h.buffer);
  dv.setUint32(0, type);
  dv.setUint32(4, length);
  return h;
}

function encodeValue(w: Writer, v: WireValue, path: string, depth: number, maxDepth: number): void {
  if (depth > maxDepth) throw new WireError("TOO_DEEP", `TLV: ${path} nests deeper than ${maxDepth}`);
  if (typeof v === "boolean") {
    w.push(itemHeader(TYPE_BOOL, 1));
    w.push(new Uint8Array([v ? 1 : 0]));
  } else if (typeof v === "number" || typeof v === "bigint") {
    let big: bigint;
    if (typeof v === "number") {
      if (!Number.isInteger(v)) throw new WireError("ENCODE", `TLV: ${path} = ${v} is not an integer`);
      big = BigInt(v);
    } else {
      big = v;
    }
    if (big < 0n || big > MAX_U64) {
      throw new WireError("ENCODE", `TLV: ${path} = ${String(v)} does not fit in an unsigned 8-byte integer`);
    }
    w.push(itemHeader(TYPE_INT, 8));
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, big);
    w.push(b);
  } else if (v instanceof Uint8Array || typeof v === "string") {
    // The reference writes len(str) (characters) as the length, which breaks for non-ASCII
    // text; the UTF-8 byte length is written here (identical for ASCII).
    const b = typeof v === "string" ? textEncoder.encode(v) : v;
    if (b.length > MAX_U32) throw new WireError("ENCODE", `TLV: ${path} is longer than 2^32-1 bytes`);
    w.push(itemHeader(TYPE_BYTES, b.length));
    w.push(b);
  } else if (Array.isArray(v)) {
    const inner = new Writer();
    (v as readonly WireValue[]).forEach((item, i) => encodeValue(inner, item, `${path}[${i}]`, depth + 1, maxDepth));
    if (inner.size > MAX_U32) throw new WireError("ENCODE", `TLV: ${path} is longer than 2^32-1 bytes`);
    w.push(itemHeader(TYPE_LIST, inner.size));
    for (const p of inner.parts) w.push(p);
  } else {
    const what = v === null ? "nil" : v instanceof Map ? "a map" : typeof v;
    throw new WireError("ENCODE", `TLV: ${path} is ${what}, which TLV cannot carry`);
  }
}

/**
 * Encodes a message as a TLV payload (body only, no frame header), keys in insertion order.
 * Throws `UNKNOWN_KEY` for a name that is not a KeyType, `ENCODE` for values TLV cannot carry.
 */
export function encodeTlv(message: WireMessage, options?: { maxDepth?: number }): Uint8Array {
  const maxDepth = options?.maxDepth ?? DEFAULT_MAX_DEPTH;
  const w = new Writer();
  for (const name of Object.keys(message)) {
    const v = (message as Record<string, WireValue | undefined>)[name];
    if (v === undefined) continue;
    const key = keyBytesShared(name);
    if (key === undefined) throw new WireError("UNKNOWN_KEY", `TLV: ${JSON.stringify(name)} is not a KeyType name`);
    w.push(key);
    encodeValue(w, v, name, 1, maxDepth);
  }
  return w.concat();
}

function u32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

// Estimated heap bytes of decoded values (Node 20 x64), as bbclib's decoders count them.
const HEAP_SLOT = 8;
const HEAP_BYTES = 96;
const HEAP_ARRAY = 32;
const HEAP_NUMBER = 24;

/** What one TLV decode may still produce (see bbclib's `decodeAllowance`). */
class Meter {
  elements: number;
  bytes: number;
  readonly #limit: { elements: number; bytes: number };
  constructor(
    budget: DecodeBudget | undefined,
    readonly inputLength: number,
  ) {
    const a = decodeAllowance(budget, inputLength);
    this.#limit = a;
    this.elements = a.elements;
    this.bytes = a.bytes;
  }
  take(heap: number): void {
    this.elements--;
    this.bytes -= heap;
    if (this.elements < 0 || this.bytes < 0) this.#fail();
  }
  #fail(): never {
    const what =
      this.elements < 0
        ? `more than ${this.#limit.elements} values (decode budget maxElements)`
        : `values that would take more than ${this.#limit.bytes} heap bytes (decode budget allocation)`;
    throw new WireError("DECODE_BUDGET", `TLV: a ${this.inputLength}-byte payload holds ${what}`);
  }
}

function decodeValue(b: Uint8Array, type: number, start: number, len: number, path: string, depth: number, maxDepth: number, meter: Meter): WireValue {
  if (depth > maxDepth) throw new WireError("TOO_DEEP", `TLV: ${path} nests deeper than ${maxDepth}`);
  switch (type) {
    case TYPE_BYTES:
      meter.take(HEAP_SLOT + HEAP_BYTES + len);
      return b.slice(start, start + len);
    case TYPE_INT: {
      if (len !== 8) throw new WireError("INVALID_TLV", `TLV: integer ${path} has length ${len}, expected 8`);
      const hi = u32(b, start);
      const lo = u32(b, start + 4);
      meter.take(HEAP_SLOT + HEAP_NUMBER);
      if (hi < 0x200000) return hi * 0x100000000 + lo;
      return (BigInt(hi) << 32n) | BigInt(lo);
    }
    case TYPE_BOOL: {
      if (len !== 1) throw new WireError("INVALID_TLV", `TLV: boolean ${path} has length ${len}, expected 1`);
      const v = b[start]!;
      if (v > 1) throw new WireError("INVALID_TLV", `TLV: boolean ${path} has value ${v}, expected 0 or 1`);
      meter.take(HEAP_SLOT);
      return v === 1;
    }
    case TYPE_LIST: {
      meter.take(HEAP_SLOT + HEAP_ARRAY);
      const out: WireValue[] = [];
      const end = start + len;
      let p = start;
      while (p < end) {
        if (end - p < 8) {
          throw new WireError("INVALID_TLV_LENGTH", `TLV: item ${path}[${out.length}] header cut off (${end - p} of 8 bytes)`);
        }
        const t = u32(b, p);
        const l = u32(b, p + 4);
        p += 8;
        if (l > end - p) {
          throw new WireError("INVALID_TLV_LENGTH", `TLV: item ${path}[${out.length}] length ${l} exceeds the ${end - p} bytes left`);
        }
        out.push(decodeValue(b, t, p, l, `${path}[${out.length}]`, depth + 1, maxDepth, meter));
        p += l;
      }
      return out;
    }
    default:
      throw new WireError("INVALID_TLV", `TLV: ${path} has unknown data type ${type}`);
  }
}

/**
 * Decodes a TLV payload (body only) to a message. An empty body is an empty message.
 * Throws a `WireError` (`INVALID_TLV_LENGTH`, `INVALID_TLV`, `UNKNOWN_KEY`, `DUPLICATE_KEY`,
 * `TOO_DEEP`) on malformed input, `DECODE_BUDGET` beyond `options.decodeBudget`.
 */
export function decodeTlv(body: Uint8Array, options?: MapDecodeOptions): WireMessage {
  const maxDepth = options?.maxDepth ?? DEFAULT_MAX_DEPTH;
  const dropUnknown = options?.unknownKeys === "drop";
  if (!(body instanceof Uint8Array)) throw new WireError("INVALID_ARGUMENT", "TLV payload must be a Uint8Array");
  body = plainBytes(body);
  const meter = new Meter(options?.decodeBudget, body.length);
  const out: Record<string, WireValue> = {};
  const n = body.length;
  let p = 0;
  while (p < n) {
    if (n - p < 12) {
      throw new WireError("INVALID_TLV_LENGTH", `TLV: entry at offset ${p} cut off (${n - p} of at least 12 bytes)`);
    }
    const key = body.subarray(p, p + 4);
    const name: KeyTypeName | undefined = keyTypeName(key);
    const t = u32(body, p + 4);
    const l = u32(body, p + 8);
    p += 12;
    if (l > n - p) {
      throw new WireError("INVALID_TLV_LENGTH", `TLV: value of key ${hex(key)} has length ${l}, only ${n - p} bytes left`);
    }
    if (name === undefined) {
      if (!dropUnknown) throw new WireError("UNKNOWN_KEY", `TLV: key ${hex(key)} is not a KeyType`);
      // still validate the value so that garbage is not silently accepted
      decodeValue(body, t, p, l, hex(key), 1, maxDepth, meter);
    } else {
      if (Object.prototype.hasOwnProperty.call(out, name)) {
        throw new WireError("DUPLICATE_KEY", `TLV: key ${name} appears twice`);
      }
      out[name] = decodeValue(body, t, p, l, name, 1, maxDepth, meter);
    }
    p += l;
  }
  return out as WireMessage;
}

function hex(b: Uint8Array): string {
  let s = "";
  for (const x of b) s += x.toString(16).padStart(2, "0");
  return s;
}
