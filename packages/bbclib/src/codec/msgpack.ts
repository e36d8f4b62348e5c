/**
 * MessagePack codec with the exact type choices of msgpack-python 0.5 as BBc-1 v1.1.1 used it:
 * `packb(obj)` with `use_bin_type=False` sends bytes and str alike as the raw/str family
 * (fixstr, raw16 0xda, raw32 0xdb; never str8 0xd9 nor bin), and integers in their
 * smallest encoding. Decoding accepts the whole format (str8 and bin included).
 */
import { BbcLibError } from "../errors.js";
import { ByteWriter, copyBytes, utf8Decode, utf8Encode } from "../bytes.js";
import { DecodeMeter, HEAP, type DecodeBudget } from "./budget.js";

/** A value that this codec encodes or decodes. */
export type MsgpackValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | MsgpackValue[]
  | MsgpackMap
  | { [key: string]: MsgpackValue };

/** A msgpack map with keys of any msgpack type (e.g. the integer keys of BBc-1 wire messages). */
export type MsgpackMap = Map<MsgpackValue, MsgpackValue>;

/** Options of {@link msgpackEncode}. */
export interface MsgpackEncodeOptions {
  /**
   * How Uint8Array and string values go out. "raw" (default): both in the raw/str family as
   * msgpack-python 0.5 `use_bin_type=False`; "bin": Uint8Array as bin8/16/32 and strings as
   * str8/16/32 (the current spec).
   */
  binary?: "raw" | "bin";
}

/** Options of {@link msgpackDecode}. */
export interface MsgpackDecodeOptions {
  /**
   * "object" (default): maps become plain objects with string keys (or a Map with those string
   * keys when a key looks like an array index, whose order an object would not keep, or when
   * the map has more than 64 keys, which a Map holds three times cheaper);
   * "map": `Map` with keys as decoded.
   */
  maps?: "object" | "map";
  /** "bytes" (default): str/raw values become Uint8Array (msgpack-python `raw=True`); "string": UTF-8 strings. bin is always Uint8Array. */
  strings?: "bytes" | "string";
  /** Deepest nesting of arrays and maps accepted (default 64). */
  maxDepth?: number;
  /**
   * Accept only what msgpack-python 0.5 (`use_bin_type=False`) writes: the shortest integer
   * forms, raw (fixstr/raw16/raw32) for bytes and strings, float64, no duplicate map keys and,
   * in "object" mode, only UTF-8 string keys. Then decoding and re-encoding give the same
   * bytes. Default false (accept any valid msgpack).
   */
  canonical?: boolean;
  /** Element and allocation budgets (missing fields: `DEFAULT_DECODE_BUDGET`). */
  decodeBudget?: DecodeBudget;
}

const TWO_32 = 0x1_0000_0000;
const INDEX_KEY = /^(?:0|[1-9][0-9]{0,8})$/;
/** In "object" mode, maps with more keys than this decode to a Map. */
const LARGE_MAP = 64;

/** Encode `value` as msgpack. Throws BbcLibError("ENCODE") for values msgpack cannot carry. */
export function msgpackEncode(value: MsgpackValue, options?: MsgpackEncodeOptions): Uint8Array {
  const w = new ByteWriter(256);
  encodeValue(w, value, options?.binary === "bin", 0);
  return w.finish();
}

/**
 * Append the msgpack of `value` (raw family for bytes, as {@link msgpackEncode} by default) to `w`.
 * @internal
 */
export function encodeMsgpackValueInto(w: ByteWriter, value: MsgpackValue): void {
  encodeValue(w, value, false, 0);
}

function encodeRawHeader(w: ByteWriter, n: number, newSpec: boolean): void {
  if (n <= 0x1f) w.u8(0xa0 | n);
  else if (newSpec && n <= 0xff) {
    w.u8(0xd9);
    w.u8(n);
  } else if (n <= 0xffff) {
    w.u8(0xda);
    w.u16be(n);
  } else {
    w.u8(0xdb);
    w.u32be(n);
  }
}

function encodeInt(w: ByteWriter, v: number): void {
  if (v >= 0) {
    if (v < 0x80) w.u8(v);
    else if (v <= 0xff) {
      w.u8(0xcc);
      w.u8(v);
    } else if (v <= 0xffff) {
      w.u8(0xcd);
      w.u16be(v);
    } else if (v < TWO_32) {
      w.u8(0xce);
      w.u32be(v);
    } else {
      w.u8(0xcf);
      w.ensure(8);
      w.view.setBigUint64(w.pos, BigInt(v), false);
      w.pos += 8;
    }
  } else if (v >= -0x20) w.u8(v & 0xff);
  else if (v >= -0x80) {
    w.u8(0xd0);
    w.u8(v & 0xff);
  } else if (v >= -0x8000) {
    w.u8(0xd1);
    w.u16be(v & 0xffff);
  } else if (v >= -0x8000_0000) {
    w.u8(0xd2);
    w.u32be(v >>> 0);
  } else {
    w.u8(0xd3);
    w.ensure(8);
    w.view.setBigInt64(w.pos, BigInt(v), false);
    w.pos += 8;
  }
}

function encodeBigInt(w: ByteWriter, v: bigint): void {
  if (v >= -(1n << 63n) && v < 1n << 53n && v > -(1n << 53n)) return encodeInt(w, Number(v));
  w.ensure(9);
  if (v >= 0n) {
    if (v >= 1n << 64n) throw new BbcLibError("ENCODE", `integer ${v} does not fit in msgpack uint64`);
    w.u8(0xcf);
    w.view.setBigUint64(w.pos, v, false);
  } else {
    if (v < -(1n << 63n)) throw new BbcLibError("ENCODE", `integer ${v} does not fit in msgpack int64`);
    w.u8(0xd3);
    w.view.setBigInt64(w.pos, v, false);
  }
  w.pos += 8;
}

function encodeMapHeader(w: ByteWriter, n: number): void {
  if (n <= 15) w.u8(0x80 | n);
  else if (n <= 0xffff) {
    w.u8(0xde);
    w.u16be(n);
  } else {
    w.u8(0xdf);
    w.u32be(n);
  }
}

function encodeValue(w: ByteWriter, v: MsgpackValue, newSpec: boolean, depth: number): void {
  if (depth > 512) throw new BbcLibError("ENCODE", "msgpack value nested too deeply (cycle?)");
  if (v === null || v === undefined) {
    w.u8(0xc0);
  } else if (typeof v === "boolean") {
    w.u8(v ? 0xc3 : 0xc2);
  } else if (typeof v === "number") {
    // Integers beyond 2^53 arrive from the decoder as bigint: a number that large is a float.
    if (Number.isSafeInteger(v)) encodeInt(w, v);
    else {
      w.u8(0xcb);
      w.ensure(8);
      w.view.setFloat64(w.pos, v, false);
      w.pos += 8;
    }
  } else if (typeof v === "bigint") {
    encodeBigInt(w, v);
  } else if (typeof v === "string") {
    const b = utf8Encode(v);
    encodeRawHeader(w, b.length, newSpec);
    w.bytes(b);
  } else if (v instanceof Uint8Array) {
    if (newSpec) {
      const n = v.length;
      if (n <= 0xff) {
        w.u8(0xc4);
        w.u8(n);
      } else if (n <= 0xffff) {
        w.u8(0xc5);
        w.u16be(n);
      } else {
        w.u8(0xc6);
        w.u32be(n);
      }
    } else encodeRawHeader(w, v.length, false);
    w.bytes(v);
  } else if (Array.isArray(v)) {
    const n = v.length;
    if (n <= 15) w.u8(0x90 | n);
    else if (n <= 0xffff) {
      w.u8(0xdc);
      w.u16be(n);
    } else {
      w.u8(0xdd);
      w.u32be(n);
    }
    for (let i = 0; i < n; i++) encodeValue(w, v[i], newSpec, depth + 1);
  } else if (v instanceof Map) {
    encodeMapHeader(w, v.size);
    for (const [k, val] of v) {
      encodeValue(w, k, newSpec, depth + 1);
      encodeValue(w, val, newSpec, depth + 1);
    }
  } else if (typeof v === "object") {
    const keys = Object.keys(v);
    encodeMapHeader(w, keys.length);
    for (const k of keys) {
      encodeValue(w, k, newSpec, depth + 1);
      encodeValue(w, (v as { [key: string]: MsgpackValue })[k], newSpec, depth + 1);
    }
  } else {
    throw new BbcLibError("ENCODE", `msgpack cannot encode a value of type ${typeof v}`);
  }
}

/**
 * Decode one msgpack value that fills `bytes` exactly. Throws BbcLibError with code
 * TRUNCATED (input ends early), MALFORMED (reserved/ext type, bad key, trailing bytes),
 * TOO_LARGE (nesting deeper than `maxDepth`) or DECODE_BUDGET (more values or heap than
 * `options.decodeBudget` allows for this input, see {@link DecodeBudget}). A declared length or count
 * is checked against the bytes left and the budget before anything is allocated for it.
 */
export function msgpackDecode(bytes: Uint8Array, options?: MsgpackDecodeOptions): MsgpackValue {
  const d = new Decoder(bytes, options);
  const v = d.value(0);
  if (d.pos !== bytes.length) {
    throw new BbcLibError("MALFORMED", `msgpack: ${bytes.length - d.pos} trailing byte(s) after the value`);
  }
  return v;
}

class Decoder {
  pos = 0;
  private readonly view: DataView;
  private readonly asMap: boolean;
  private readonly asString: boolean;
  private readonly maxDepth: number;
  private readonly canonical: boolean;
  private readonly meter: DecodeMeter;

  constructor(
    private readonly buf: Uint8Array,
    options?: MsgpackDecodeOptions,
  ) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.asMap = options?.maps === "map";
    this.asString = options?.strings === "string";
    this.maxDepth = options?.maxDepth ?? 64;
    this.canonical = options?.canonical ?? false;
    this.meter = new DecodeMeter(options?.decodeBudget, buf.length, "msgpack");
    // The root value; every other value is charged by the container that holds it.
    this.meter.take(1, HEAP.slot);
  }

  /** In canonical mode, reject a form msgpack-python 0.5 would not have written. */
  private check(ok: boolean, what: string): void {
    if (this.canonical && !ok) throw new BbcLibError("MALFORMED", `msgpack: non-canonical ${what} before offset ${this.pos}`);
  }

  private need(n: number): void {
    if (this.pos + n > this.buf.length) {
      throw new BbcLibError("TRUNCATED", `msgpack: need ${n} byte(s) at offset ${this.pos}, only ${this.buf.length - this.pos} left`);
    }
  }

  private u8(): number {
    this.need(1);
    return this.buf[this.pos++];
  }
  private u16(): number {
    this.need(2);
    const v = this.view.getUint16(this.pos);
    this.pos += 2;
    return v;
  }
  private u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.pos);
    this.pos += 4;
    return v;
  }

  private raw(n: number, isStr: boolean): Uint8Array | string {
    this.need(n);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    if (isStr && this.asString) {
      this.meter.take(0, HEAP.string + n);
      return this.utf8(b);
    }
    this.meter.take(0, HEAP.bytes + n);
    return copyBytes(b);
  }

  private utf8(b: Uint8Array): string {
    if (!this.canonical) return utf8Decode(b);
    try {
      return utf8Decode(b, true);
    } catch {
      throw new BbcLibError("MALFORMED", `msgpack: string before offset ${this.pos} is not valid UTF-8`);
    }
  }

  private array(n: number, depth: number): MsgpackValue[] {
    // Every element takes at least one byte: a count beyond what is left is a lie.
    this.need(n);
    this.meter.take(n, HEAP.array + HEAP.slot * n);
    const out: MsgpackValue[] = new Array(n);
    for (let i = 0; i < n; i++) out[i] = this.value(depth + 1);
    return out;
  }

  private map(n: number, depth: number): MsgpackValue {
    this.need(n * 2);
    if (this.asMap) {
      this.meter.take(2 * n, HEAP.map + HEAP.mapEntry * n);
      const m: MsgpackMap = new Map();
      for (let i = 0; i < n; i++) {
        const k = this.value(depth + 1);
        m.set(k, this.value(depth + 1));
      }
      return m;
    }
    this.meter.take(2 * n, HEAP.object + HEAP.objectEntry * n);
    const keys: string[] = new Array(n);
    const values: MsgpackValue[] = new Array(n);
    let needsMap = false;
    const seen = this.canonical ? new Set<string>() : null;
    for (let i = 0; i < n; i++) {
      const k = this.value(depth + 1);
      let key: string;
      if (typeof k === "string") key = k;
      else if (k instanceof Uint8Array) key = this.utf8(k);
      else if (this.canonical) throw new BbcLibError("MALFORMED", "msgpack: map key is not a string");
      else if (typeof k === "number" || typeof k === "bigint" || typeof k === "boolean") key = String(k);
      else throw new BbcLibError("MALFORMED", "msgpack: map key is not a scalar");
      if (seen) {
        if (seen.has(key)) throw new BbcLibError("MALFORMED", `msgpack: duplicate map key ${JSON.stringify(key)}`);
        seen.add(key);
      }
      // A plain object would move integer-like keys to the front: keep their order in a Map.
      if (!needsMap && INDEX_KEY.test(key)) needsMap = true;
      keys[i] = key;
      values[i] = this.value(depth + 1);
    }
    // A Map also for large maps: a plain object with thousands of fresh keys costs ~250 ns per
    // key to build, a Map a third.
    if (needsMap || n > LARGE_MAP) {
      const m: MsgpackMap = new Map();
      for (let i = 0; i < n; i++) m.set(keys[i], values[i]);
      return m;
    }
    const o: { [key: string]: MsgpackValue } = {};
    for (let i = 0; i < n; i++) {
      if (keys[i] === "__proto__") Object.defineProperty(o, keys[i], { value: values[i], enumerable: true, writable: true, configurable: true });
      else o[keys[i]] = values[i];
    }
    return o;
  }

  value(depth: number): MsgpackValue {
    if (depth > this.maxDepth) throw new BbcLibError("TOO_LARGE", `msgpack: nesting deeper than ${this.maxDepth}`);
    const t = this.u8();
    if (t < 0x80) return t;
    if (t >= 0xe0) return t - 0x100;
    if (t < 0x90) return this.map(t & 0x0f, depth);
    if (t < 0xa0) return this.array(t & 0x0f, depth);
    if (t < 0xc0) return this.raw(t & 0x1f, true);
    switch (t) {
      case 0xc0:
        return null;
      case 0xc2:
        return false;
      case 0xc3:
        return true;
      case 0xc4:
        this.check(false, "bin8");
        return this.raw(this.u8(), false);
      case 0xc5:
        this.check(false, "bin16");
        return this.raw(this.u16(), false);
      case 0xc6:
        this.check(false, "bin32");
        return this.raw(this.u32(), false);
      case 0xca: {
        this.check(false, "float32");
        this.need(4);
        const v = this.view.getFloat32(this.pos);
        this.pos += 4;
        this.meter.take(0, HEAP.number);
        return v;
      }
      case 0xcb: {
        this.need(8);
        const v = this.view.getFloat64(this.pos);
        this.pos += 8;
        this.check(!Number.isNaN(v), "NaN");
        this.meter.take(0, HEAP.number);
        return v;
      }
      case 0xcc: {
        const v = this.u8();
        this.check(v >= 0x80, "uint8");
        return v;
      }
      case 0xcd: {
        const v = this.u16();
        this.check(v > 0xff, "uint16");
        return v;
      }
      case 0xce: {
        const v = this.u32();
        this.check(v > 0xffff, "uint32");
        return v;
      }
      case 0xcf: {
        this.need(8);
        const v = this.view.getBigUint64(this.pos);
        this.pos += 8;
        this.check(v > 0xffffffffn, "uint64");
        this.meter.take(0, HEAP.number);
        return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
      }
      case 0xd0: {
        const u = this.u8();
        const v = u >= 0x80 ? u - 0x100 : u;
        this.check(v < -32, "int8");
        return v;
      }
      case 0xd1: {
        const u = this.u16();
        const v = u >= 0x8000 ? u - 0x10000 : u;
        this.check(v < -128, "int16");
        return v;
      }
      case 0xd2: {
        const v = this.u32() | 0;
        this.check(v < -32768, "int32");
        return v;
      }
      case 0xd3: {
        this.need(8);
        const v = this.view.getBigInt64(this.pos);
        this.pos += 8;
        this.check(v < -2147483648n, "int64");
        this.meter.take(0, HEAP.number);
        return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(v) : v;
      }
      case 0xd9:
        this.check(false, "str8");
        return this.raw(this.u8(), true);
      case 0xda: {
        const n = this.u16();
        this.check(n > 0x1f, "raw16");
        return this.raw(n, true);
      }
      case 0xdb: {
        const n = this.u32();
        this.check(n > 0xffff, "raw32");
        return this.raw(n, true);
      }
      case 0xdc: {
        const n = this.u16();
        this.check(n > 0x0f, "array16");
        return this.array(n, depth);
      }
      case 0xdd: {
        const n = this.u32();
        this.check(n > 0xffff, "array32");
        return this.array(n, depth);
      }
      case 0xde: {
        const n = this.u16();
        this.check(n > 0x0f, "map16");
        return this.map(n, depth);
      }
      case 0xdf: {
        const n = this.u32();
        this.check(n > 0xffff, "map32");
        return this.map(n, depth);
      }
      default:
        throw new BbcLibError("MALFORMED", `msgpack: unsupported type byte 0x${t.toString(16)} at offset ${this.pos - 1}`);
    }
  }
}
