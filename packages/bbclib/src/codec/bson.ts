/**
 * BSON codec with the type choices of the `bson` package (py-bson) that BBc-1 v1.1.1 used:
 * dict -> document (keys in insertion order), list -> array, bytes -> binary subtype 0,
 * str -> string, int -> int32 when it fits else int64, float -> double, bool, None -> null.
 */
import { BbcLibError } from "../errors.js";
import { ByteWriter, copyBytes, utf8Decode, utf8Encode } from "../bytes.js";
import { DecodeMeter, HEAP, type DecodeBudget } from "./budget.js";

/**
 * A double whose value is integral (e.g. Python `1.0`): kept apart from integers so that it
 * is re-encoded as a BSON double, byte for byte.
 */
export class BsonDouble {
  constructor(readonly value: number) {}
}

/** A BSON document: a plain object, or a Map where key order cannot be kept by an object. */
export type BsonDocument = { [key: string]: BsonValue } | Map<string, BsonValue>;

/** A value that this codec encodes or decodes. */
export type BsonValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | BsonDouble
  | BsonValue[]
  | BsonDocument;

const INT32_MIN = -0x8000_0000;
const INT32_MAX = 0x7fff_ffff;

/** Encode a document. Throws BbcLibError("ENCODE") for what BSON cannot carry. */
export function bsonEncode(doc: BsonDocument): Uint8Array {
  const w = new ByteWriter(256);
  encodeDocument(w, doc instanceof Map ? doc.entries() : Object.entries(doc), 0);
  return w.finish();
}

function cstring(w: ByteWriter, s: string): void {
  const b = utf8Encode(s);
  if (b.includes(0)) throw new BbcLibError("ENCODE", `BSON key contains a NUL byte: ${JSON.stringify(s)}`);
  w.bytes(b);
  w.u8(0);
}

function encodeDocument(w: ByteWriter, entries: Iterable<[string, BsonValue]>, depth: number): void {
  if (depth > 100) throw new BbcLibError("ENCODE", "BSON document nested too deeply (cycle?)");
  const start = w.reserve(4);
  for (const [k, v] of entries) encodeElement(w, k, v, depth);
  w.u8(0);
  w.view.setInt32(start, w.pos - start, true);
}

/**
 * Append the element `key: v` (type byte, key, value) to `w`, as {@link bsonEncode} writes it.
 * @internal
 */
export function encodeBsonElementInto(w: ByteWriter, key: string, v: BsonValue): void {
  encodeElement(w, key, v, 1);
}

function encodeElement(w: ByteWriter, key: string, v: BsonValue, depth: number): void {
  if (v === null || v === undefined) {
    w.u8(0x0a);
    cstring(w, key);
  } else if (typeof v === "boolean") {
    w.u8(0x08);
    cstring(w, key);
    w.u8(v ? 1 : 0);
  } else if (typeof v === "number") {
    if (Number.isInteger(v) && v >= INT32_MIN && v <= INT32_MAX) {
      w.u8(0x10);
      cstring(w, key);
      w.ensure(4);
      w.view.setInt32(w.pos, v, true);
      w.pos += 4;
    } else if (Number.isSafeInteger(v)) {
      encodeInt64(w, key, BigInt(v));
    } else {
      encodeDouble(w, key, v);
    }
  } else if (typeof v === "bigint") {
    if (v >= INT32_MIN && v <= INT32_MAX) return encodeElement(w, key, Number(v), depth);
    encodeInt64(w, key, v);
  } else if (v instanceof BsonDouble) {
    encodeDouble(w, key, v.value);
  } else if (typeof v === "string") {
    w.u8(0x02);
    cstring(w, key);
    const b = utf8Encode(v);
    w.u32le(b.length + 1);
    w.bytes(b);
    w.u8(0);
  } else if (v instanceof Uint8Array) {
    w.u8(0x05);
    cstring(w, key);
    w.u32le(v.length);
    w.u8(0);
    w.bytes(v);
  } else if (Array.isArray(v)) {
    w.u8(0x04);
    cstring(w, key);
    encodeDocument(
      w,
      v.map((x, i) => [String(i), x] as [string, BsonValue]),
      depth + 1,
    );
  } else if (v instanceof Map) {
    w.u8(0x03);
    cstring(w, key);
    encodeDocument(w, v.entries(), depth + 1);
  } else if (typeof v === "object") {
    w.u8(0x03);
    cstring(w, key);
    encodeDocument(w, Object.entries(v), depth + 1);
  } else {
    throw new BbcLibError("ENCODE", `BSON cannot encode a value of type ${typeof v} (key ${JSON.stringify(key)})`);
  }
}

function encodeInt64(w: ByteWriter, key: string, v: bigint): void {
  if (v < -(1n << 63n) || v >= 1n << 63n) throw new BbcLibError("ENCODE", `integer ${v} does not fit in BSON int64`);
  w.u8(0x12);
  cstring(w, key);
  w.ensure(8);
  w.view.setBigInt64(w.pos, v, true);
  w.pos += 8;
}

function encodeDouble(w: ByteWriter, key: string, v: number): void {
  w.u8(0x01);
  cstring(w, key);
  w.ensure(8);
  w.view.setFloat64(w.pos, v, true);
  w.pos += 8;
}

/** Options of {@link bsonDecode}. */
export interface BsonDecodeOptions {
  /** Deepest nesting of documents and arrays accepted (default 64). */
  maxDepth?: number;
  /** Element and allocation budgets (missing fields: `DEFAULT_DECODE_BUDGET`). */
  decodeBudget?: DecodeBudget;
}

/**
 * Decode one BSON document that fills `bytes` exactly. Documents come back as plain objects,
 * or as a Map (same order) when a key looks like an array index (an object would reorder it)
 * or when they have more than 64 keys. Throws BbcLibError (TRUNCATED,
 * MALFORMED, TOO_LARGE for nesting, DECODE_BUDGET beyond `options.decodeBudget`) on bad input;
 * unsupported element types are MALFORMED.
 */
export function bsonDecode(bytes: Uint8Array, options?: BsonDecodeOptions): BsonDocument {
  const r = new Reader(bytes, options?.maxDepth ?? 64, new DecodeMeter(options?.decodeBudget, bytes.length, "BSON"));
  const doc = r.document(false, 0) as BsonDocument;
  if (r.pos !== bytes.length) throw new BbcLibError("MALFORMED", `BSON: ${bytes.length - r.pos} trailing byte(s) after the document`);
  return doc;
}

const INDEX_KEY = /^(?:0|[1-9][0-9]{0,8})$/;

/** Documents with more keys than this decode to a Map (see {@link bsonDecode}). */
export const LARGE_DOCUMENT = 64;

class Reader {
  pos = 0;
  private readonly view: DataView;
  constructor(
    private readonly buf: Uint8Array,
    private readonly maxDepth: number,
    private readonly meter: DecodeMeter,
  ) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    meter.take(1, HEAP.object);
  }

  private need(n: number, what: string): void {
    if (n < 0 || this.pos + n > this.buf.length) {
      throw new BbcLibError("TRUNCATED", `BSON: ${what} needs ${n} byte(s) at offset ${this.pos}, ${this.buf.length - this.pos} left`);
    }
  }

  private cstring(end: number): string {
    const i = this.buf.indexOf(0, this.pos);
    if (i < 0 || i >= end) throw new BbcLibError("MALFORMED", `BSON: unterminated key at offset ${this.pos}`);
    const s = this.utf8(this.buf.subarray(this.pos, i), "key");
    this.pos = i + 1;
    return s;
  }

  /** Strict UTF-8: py-bson rejects invalid sequences, and replacing them would change the bytes. */
  private utf8(b: Uint8Array, what: string): string {
    try {
      return utf8Decode(b, true);
    } catch {
      throw new BbcLibError("MALFORMED", `BSON: ${what} at offset ${this.pos} is not valid UTF-8`);
    }
  }

  /** A document or array; the caller has charged its own container cost. */
  document(isArray: boolean, depth: number): BsonDocument | BsonValue[] {
    if (depth > this.maxDepth) throw new BbcLibError("TOO_LARGE", `BSON: nesting deeper than ${this.maxDepth}`);
    this.need(4, "document length");
    const start = this.pos;
    const len = this.view.getInt32(this.pos, true);
    if (len < 5) throw new BbcLibError("MALFORMED", `BSON: document length ${len} at offset ${start}`);
    this.need(len, "document");
    const end = start + len;
    this.pos += 4;
    const keys: string[] = [];
    const values: BsonValue[] = [];
    let needsMap = false;
    // Past 16 keys the entries also go into a Map, which checks for duplicates and is returned
    // as is for a large document (one hash operation per key).
    let map: Map<string, BsonValue> | null = null;
    const meter = this.meter;
    while (true) {
      if (this.pos >= end) throw new BbcLibError("MALFORMED", `BSON: document at offset ${start} lacks its terminator`);
      const type = this.buf[this.pos++];
      if (type === 0) break;
      const keyStart = this.pos;
      const key = this.cstring(end);
      // Each element: its key, its entry in the document, its value's own object (charged below).
      meter.take(2, HEAP.string + HEAP.objectEntry + (this.pos - keyStart));
      const n = isArray ? values.length : keys.length;
      if (isArray) {
        if (key !== String(n)) throw new BbcLibError("MALFORMED", `BSON: array element key ${JSON.stringify(key)}, expected "${n}"`);
      } else if (map !== null) {
        if (map.has(key)) throw new BbcLibError("MALFORMED", `BSON: duplicate key ${JSON.stringify(key)}`);
      } else {
        for (let i = 0; i < n; i++) if (keys[i] === key) throw new BbcLibError("MALFORMED", `BSON: duplicate key ${JSON.stringify(key)}`);
      }
      const v = this.element(type, key, end, depth);
      if (isArray) {
        values.push(v);
        continue;
      }
      if (!needsMap && INDEX_KEY.test(key)) needsMap = true;
      if (map !== null) map.set(key, v);
      else {
        keys.push(key);
        values.push(v);
        if (keys.length === 16) {
          map = new Map<string, BsonValue>();
          for (let i = 0; i < 16; i++) map.set(keys[i], values[i]);
        }
      }
    }
    if (this.pos !== end) throw new BbcLibError("MALFORMED", `BSON: document at offset ${start} declares ${len} bytes but holds ${this.pos - start}`);
    if (isArray) return values;
    // A Map for large documents too: a plain object with thousands of fresh keys costs
    // ~250 ns per key to build (property transitions and internalised strings), a Map a third.
    if (map !== null) {
      if (needsMap || map.size > LARGE_DOCUMENT) return map;
      keys.length = 0;
      values.length = 0;
      for (const [k, v] of map) {
        keys.push(k);
        values.push(v);
      }
    } else if (needsMap) {
      const m = new Map<string, BsonValue>();
      for (let i = 0; i < keys.length; i++) m.set(keys[i], values[i]);
      return m;
    }
    const o: { [key: string]: BsonValue } = {};
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i];
      if (k === "__proto__") Object.defineProperty(o, k, { value: values[i], enumerable: true, writable: true, configurable: true });
      else o[k] = values[i];
    }
    return o;
  }

  private element(type: number, key: string, end: number, depth: number): BsonValue {
    switch (type) {
      case 0x01: {
        this.need(8, "double");
        const v = this.view.getFloat64(this.pos, true);
        if (Number.isNaN(v)) throw new BbcLibError("MALFORMED", `BSON: NaN for key ${JSON.stringify(key)}`);
        this.pos += 8;
        this.meter.take(0, HEAP.number);
        return Number.isInteger(v) ? new BsonDouble(v) : v;
      }
      case 0x02: {
        this.need(4, "string length");
        const n = this.view.getInt32(this.pos, true);
        this.pos += 4;
        if (n < 1) throw new BbcLibError("MALFORMED", `BSON: string length ${n} for key ${JSON.stringify(key)}`);
        this.need(n, "string");
        if (this.buf[this.pos + n - 1] !== 0) throw new BbcLibError("MALFORMED", `BSON: string for key ${JSON.stringify(key)} is not NUL-terminated`);
        this.meter.take(0, HEAP.string + n);
        const s = this.utf8(this.buf.subarray(this.pos, this.pos + n - 1), `string for key ${JSON.stringify(key)}`);
        this.pos += n;
        return s;
      }
      case 0x03:
        this.meter.take(0, HEAP.object);
        return this.document(false, depth + 1) as BsonDocument;
      case 0x04:
        this.meter.take(0, HEAP.array);
        return this.document(true, depth + 1) as BsonValue[];
      case 0x05: {
        this.need(5, "binary header");
        const n = this.view.getInt32(this.pos, true);
        if (n < 0) throw new BbcLibError("MALFORMED", `BSON: binary length ${n} for key ${JSON.stringify(key)}`);
        const subtype = this.buf[this.pos + 4];
        // py-bson writes bytes as subtype 0; any other subtype would not re-encode identically.
        if (subtype !== 0) throw new BbcLibError("MALFORMED", `BSON: binary subtype ${subtype} for key ${JSON.stringify(key)}`);
        this.pos += 5;
        this.need(n, "binary");
        this.meter.take(0, HEAP.bytes + n);
        const b = copyBytes(this.buf.subarray(this.pos, this.pos + n));
        this.pos += n;
        return b;
      }
      case 0x08: {
        this.need(1, "boolean");
        const b = this.buf[this.pos++];
        if (b > 1) throw new BbcLibError("MALFORMED", `BSON: boolean byte ${b} for key ${JSON.stringify(key)}`);
        return b === 1;
      }
      case 0x0a:
        return null;
      case 0x10: {
        this.need(4, "int32");
        const v = this.view.getInt32(this.pos, true);
        this.pos += 4;
        return v;
      }
      case 0x12: {
        this.need(8, "int64");
        const v = this.view.getBigInt64(this.pos, true);
        this.meter.take(0, HEAP.number);
        // py-bson writes an int that fits 32 bits as int32: an int64 of such a value is not its output.
        if (v >= -2147483648n && v <= 2147483647n) throw new BbcLibError("MALFORMED", `BSON: int64 ${v} for key ${JSON.stringify(key)} fits int32`);
        this.pos += 8;
        return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
      }
      default:
        void end;
        throw new BbcLibError("MALFORMED", `BSON: unsupported element type 0x${type.toString(16)} for key ${JSON.stringify(key)}`);
    }
  }
}
