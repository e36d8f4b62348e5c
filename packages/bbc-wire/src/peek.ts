/**
 * Reading the `command` of a frame without decoding it, so that a server can apply a
 * per-command size limit before it spends any work on a large payload.
 */
import { KeyType } from "./constants/key-type.js";

const CMD = KeyType.command >>> 0;

/** Options of {@link peekCommand}. */
export interface PeekOptions {
  /**
   * Values (and nested elements) the scan may step over before it finds `command` (default 64).
   * Clients put `command` first, so a legitimate frame never needs more than a few.
   */
  maxSteps?: number;
}

/**
 * The integer `command` of a payload of type 0 (TLV) or 2 (msgpack), found by scanning the
 * top-level keys; `undefined` when it is not found within `maxSteps` values, is not an integer,
 * the payload is malformed, or the payload is encrypted (type 3). Never throws, allocates
 * nothing, and touches at most a few hundred bytes for a well-formed frame.
 */
export function peekCommand(payloadType: number, body: Uint8Array, options?: PeekOptions): number | undefined {
  return peekEnvelope(payloadType, body, options).command;
}

/**
 * The envelope of a request that is refused before decoding, enough to answer it with an error
 * status: `command`, and `query_id`, `domain_id`, `source_user_id` when they are nil or byte
 * strings of at most 64 bytes (views into `body`, not copies). Keys not found (within
 * `maxSteps` values) are absent.
 */
export interface PeekedEnvelope {
  command?: number;
  query_id?: Uint8Array | null;
  domain_id?: Uint8Array | null;
  source_user_id?: Uint8Array | null;
}

/** Reads the {@link PeekedEnvelope} of a TLV or msgpack payload without decoding it; never throws. */
export function peekEnvelope(payloadType: number, body: Uint8Array, options?: PeekOptions): PeekedEnvelope {
  const steps = options?.maxSteps ?? 64;
  if (payloadType === 2) return peekMsgpack(body, steps);
  if (payloadType === 0) return peekTlv(body, steps);
  return {};
}

const SMALL = 64;
const BYTE_KEYS = new Map<number, "query_id" | "domain_id" | "source_user_id">([
  [KeyType.query_id >>> 0, "query_id"],
  [KeyType.domain_id >>> 0, "domain_id"],
  [KeyType.source_user_id >>> 0, "source_user_id"],
]);

function complete(e: PeekedEnvelope): boolean {
  return e.command !== undefined && e.query_id !== undefined && e.domain_id !== undefined && e.source_user_id !== undefined;
}

function u16(b: Uint8Array, p: number): number {
  return (b[p]! << 8) | b[p + 1]!;
}

function u32(b: Uint8Array, p: number): number {
  return ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
}

function peekTlv(b: Uint8Array, steps: number): PeekedEnvelope {
  const out: PeekedEnvelope = {};
  let p = 0;
  for (let i = 0; i < steps && b.length - p >= 12 && !complete(out); i++) {
    const key = u32(b, p);
    const type = u32(b, p + 4);
    const len = u32(b, p + 8);
    p += 12;
    if (len > b.length - p) return out;
    if (key === CMD && out.command === undefined) {
      if (type !== 1 || len !== 8) return out;
      const hi = u32(b, p);
      const lo = u32(b, p + 4);
      const v = hi === 0 ? lo : hi < 0x200000 ? hi * 0x100000000 + lo : undefined;
      if (v === undefined) return out;
      out.command = v;
    } else {
      const name = BYTE_KEYS.get(key);
      if (name !== undefined && type === 0 && len <= SMALL && out[name] === undefined) out[name] = b.subarray(p, p + len);
    }
    p += len;
  }
  return out;
}

/** State of the msgpack scan: position and remaining steps. */
interface Cursor {
  p: number;
  steps: number;
}

function peekMsgpack(b: Uint8Array, steps: number): PeekedEnvelope {
  const out: PeekedEnvelope = {};
  const c: Cursor = { p: 0, steps };
  const n = mapHeader(b, c);
  if (n === undefined) return out;
  for (let i = 0; i < n && !complete(out); i++) {
    const key = keyOf(b, c);
    if (key === undefined) return out;
    if (key === CMD && out.command === undefined) {
      const v = intAt(b, c);
      if (v === undefined) return out;
      out.command = v;
      if (!skip(b, c, 0)) return out;
      continue;
    }
    const name = BYTE_KEYS.get(key);
    if (name !== undefined && out[name] === undefined) {
      if (b[c.p] === 0xc0) out[name] = null;
      else {
        const save = c.p;
        const len = strLength(b, c);
        if (len !== undefined && len <= SMALL && c.p + len <= b.length) out[name] = b.subarray(c.p, c.p + len);
        c.p = save;
      }
    }
    if (!skip(b, c, 0)) return out;
  }
  return out;
}

function mapHeader(b: Uint8Array, c: Cursor): number | undefined {
  if (c.p >= b.length) return undefined;
  const t = b[c.p]!;
  if (t >= 0x80 && t <= 0x8f) {
    c.p += 1;
    return t & 0x0f;
  }
  if (t === 0xde && c.p + 3 <= b.length) {
    c.p += 3;
    return u16(b, c.p - 2);
  }
  if (t === 0xdf && c.p + 5 <= b.length) {
    c.p += 5;
    return u32(b, c.p - 4);
  }
  return undefined;
}

/** A 4-byte key (raw/str or bin family) as a u32, or undefined. */
function keyOf(b: Uint8Array, c: Cursor): number | undefined {
  const len = strLength(b, c);
  if (len !== 4 || c.p + 4 > b.length) return undefined;
  const k = u32(b, c.p);
  c.p += 4;
  return k;
}

/** Length of a str/bin value at the cursor (header consumed), or undefined when it is not one. */
function strLength(b: Uint8Array, c: Cursor): number | undefined {
  if (c.p >= b.length) return undefined;
  const t = b[c.p]!;
  const need = (h: number): boolean => c.p + h <= b.length;
  if (t >= 0xa0 && t <= 0xbf) {
    c.p += 1;
    return t & 0x1f;
  }
  if ((t === 0xd9 || t === 0xc4) && need(2)) {
    c.p += 2;
    return b[c.p - 1]!;
  }
  if ((t === 0xda || t === 0xc5) && need(3)) {
    c.p += 3;
    return u16(b, c.p - 2);
  }
  if ((t === 0xdb || t === 0xc6) && need(5)) {
    c.p += 5;
    return u32(b, c.p - 4);
  }
  return undefined;
}

function intAt(b: Uint8Array, c: Cursor): number | undefined {
  if (c.p >= b.length) return undefined;
  const t = b[c.p]!;
  const left = b.length - c.p - 1;
  if (t <= 0x7f) return t;
  if (t >= 0xe0) return t - 0x100;
  const dv = new DataView(b.buffer, b.byteOffset + c.p + 1, Math.min(left, 8));
  switch (t) {
    case 0xcc:
      return left >= 1 ? dv.getUint8(0) : undefined;
    case 0xcd:
      return left >= 2 ? dv.getUint16(0) : undefined;
    case 0xce:
      return left >= 4 ? dv.getUint32(0) : undefined;
    case 0xcf:
      return left >= 8 ? safe(Number(dv.getBigUint64(0))) : undefined;
    case 0xd0:
      return left >= 1 ? dv.getInt8(0) : undefined;
    case 0xd1:
      return left >= 2 ? dv.getInt16(0) : undefined;
    case 0xd2:
      return left >= 4 ? dv.getInt32(0) : undefined;
    case 0xd3:
      return left >= 8 ? safe(Number(dv.getBigInt64(0))) : undefined;
    default:
      return undefined;
  }
}

function safe(n: number): number | undefined {
  return Number.isSafeInteger(n) ? n : undefined;
}

const FIXED: Record<number, number> = { 0xc0: 0, 0xc2: 0, 0xc3: 0, 0xcc: 1, 0xcd: 2, 0xce: 4, 0xcf: 8, 0xd0: 1, 0xd1: 2, 0xd2: 4, 0xd3: 8, 0xca: 4, 0xcb: 8, 0xd4: 2, 0xd5: 3, 0xd6: 5, 0xd7: 9, 0xd8: 17 };

/** Steps over one value; false when malformed, too deep or out of steps. */
function skip(b: Uint8Array, c: Cursor, depth: number): boolean {
  if (--c.steps < 0 || depth > 8 || c.p >= b.length) return false;
  const t = b[c.p]!;
  if (t <= 0x7f || t >= 0xe0) {
    c.p += 1;
    return true;
  }
  const fixed = FIXED[t];
  if (fixed !== undefined) {
    c.p += 1 + fixed;
    return c.p <= b.length;
  }
  const save = c.p;
  const len = strLength(b, c);
  if (len !== undefined) {
    c.p += len;
    return c.p <= b.length;
  }
  c.p = save;
  if (t === 0xc7 || t === 0xc8 || t === 0xc9) {
    const h = t === 0xc7 ? 1 : t === 0xc8 ? 2 : 4;
    if (c.p + 1 + h + 1 > b.length) return false;
    const l = h === 1 ? b[c.p + 1]! : h === 2 ? u16(b, c.p + 1) : u32(b, c.p + 1);
    c.p += 1 + h + 1 + l;
    return c.p <= b.length;
  }
  let items: number;
  if (t >= 0x90 && t <= 0x9f) {
    items = t & 0x0f;
    c.p += 1;
  } else if (t === 0xdc && c.p + 3 <= b.length) {
    items = u16(b, c.p + 1);
    c.p += 3;
  } else if (t === 0xdd && c.p + 5 <= b.length) {
    items = u32(b, c.p + 1);
    c.p += 5;
  } else {
    const m = mapHeader(b, c);
    if (m === undefined) return false;
    items = m * 2;
  }
  if (items > c.steps) return false;
  for (let i = 0; i < items; i++) if (!skip(b, c, depth + 1)) return false;
  return true;
}
