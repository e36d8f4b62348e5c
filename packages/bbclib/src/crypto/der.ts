/**
 * A minimal DER reader and writer: just what key encodings and X.509 certificates need.
 * Pure TypeScript (no `node:*`), so it runs in browsers. Every malformed input gives a
 * {@link BbcLibError} (`TRUNCATED` or `MALFORMED`), never a RangeError.
 */
import { BbcLibError, type BbcLibErrorCode } from "../errors.js";

/** Universal tags used here. */
export const Tag = Object.freeze({
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const);

/** One decoded TLV: positions are offsets into the buffer it was read from. */
export interface Tlv {
  /** The identifier octet (class, constructed bit and tag number; low tag numbers only). */
  readonly tag: number;
  /** Offset of the identifier octet. */
  readonly start: number;
  /** Offset of the first content octet. */
  readonly valueStart: number;
  /** Offset just past the last content octet. */
  readonly end: number;
  /** The buffer the offsets refer to. */
  readonly buf: Uint8Array;
}

function fail(code: BbcLibErrorCode, what: string): never {
  throw new BbcLibError(code, `DER: ${what}`);
}

/**
 * Reads the TLV at `offset`, which must end at or before `limit` (default: end of `buf`).
 * Definite lengths only (DER); tag numbers >= 31 (multi-byte tags) are rejected.
 */
export function readTlv(buf: Uint8Array, offset: number, limit: number = buf.length): Tlv {
  if (offset >= limit) fail("TRUNCATED", `expected a TLV at offset ${offset}, input ends at ${limit}`);
  const tag = buf[offset];
  if ((tag & 0x1f) === 0x1f) fail("MALFORMED", `multi-byte tag at offset ${offset} is not supported`);
  let p = offset + 1;
  if (p >= limit) fail("TRUNCATED", `length missing at offset ${p}`);
  let len = buf[p++];
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0) fail("MALFORMED", `indefinite length at offset ${offset} is not DER`);
    if (n > 4) fail("TOO_LARGE", `length of ${n} octets at offset ${offset}`);
    if (p + n > limit) fail("TRUNCATED", `length octets run past the end at offset ${p}`);
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[p++];
  }
  const end = p + len;
  if (end > limit) fail("TRUNCATED", `value of ${len} bytes at offset ${p} runs past the end (${limit})`);
  return { tag, start: offset, valueStart: p, end, buf };
}

/** Reads a TLV and checks its tag. */
export function expectTlv(buf: Uint8Array, offset: number, tag: number, limit?: number, what = "element"): Tlv {
  const t = readTlv(buf, offset, limit);
  if (t.tag !== tag) {
    fail("MALFORMED", `${what}: expected tag 0x${tag.toString(16)}, got 0x${t.tag.toString(16)} at offset ${offset}`);
  }
  return t;
}

/** The children of a constructed TLV (SEQUENCE, SET, or a constructed context tag). */
export function children(t: Tlv): Tlv[] {
  const out: Tlv[] = [];
  let p = t.valueStart;
  while (p < t.end) {
    const c = readTlv(t.buf, p, t.end);
    out.push(c);
    p = c.end;
  }
  return out;
}

/** The content octets of a TLV (a view, not a copy). */
export function value(t: Tlv): Uint8Array {
  return t.buf.subarray(t.valueStart, t.end);
}

/** The whole encoding of a TLV, identifier to last content octet (a view). */
export function whole(t: Tlv): Uint8Array {
  return t.buf.subarray(t.start, t.end);
}

/** Decodes an OBJECT IDENTIFIER's content octets to dotted form ("1.2.840.10045.2.1"). */
export function decodeOid(t: Tlv): string {
  if (t.tag !== Tag.OID) fail("MALFORMED", `expected an OID at offset ${t.start}`);
  const v = value(t);
  if (v.length === 0) fail("MALFORMED", `empty OID at offset ${t.start}`);
  const parts: number[] = [];
  let acc = 0;
  let started = false;
  for (let i = 0; i < v.length; i++) {
    const b = v[i];
    if (!started && b === 0x80) fail("MALFORMED", `non-minimal OID arc at offset ${t.start}`);
    started = true;
    acc = acc * 128 + (b & 0x7f);
    if (acc > Number.MAX_SAFE_INTEGER / 128) fail("TOO_LARGE", `OID arc too large at offset ${t.start}`);
    if ((b & 0x80) === 0) {
      if (parts.length === 0) {
        const first = acc < 40 ? 0 : acc < 80 ? 1 : 2;
        parts.push(first, acc - first * 40);
      } else {
        parts.push(acc);
      }
      acc = 0;
      started = false;
    }
  }
  if (started) fail("TRUNCATED", `OID ends inside an arc at offset ${t.start}`);
  return parts.join(".");
}

/** Encodes a dotted OID to its full TLV. */
export function encodeOid(oid: string): Uint8Array {
  const arcs = oid.split(".").map((s) => Number(s));
  if (arcs.length < 2 || arcs.some((a) => !Number.isSafeInteger(a) || a < 0)) {
    throw new BbcLibError("ENCODE", `bad OID ${oid}`);
  }
  const bytes: number[] = [];
  const pushArc = (a: number): void => {
    const tmp: number[] = [a & 0x7f];
    a = Math.floor(a / 128);
    while (a > 0) {
      tmp.unshift((a & 0x7f) | 0x80);
      a = Math.floor(a / 128);
    }
    bytes.push(...tmp);
  };
  pushArc(arcs[0] * 40 + arcs[1]);
  for (let i = 2; i < arcs.length; i++) pushArc(arcs[i]);
  return tlv(Tag.OID, Uint8Array.from(bytes));
}

/** The content of a BIT STRING with no unused bits (keys and signatures). */
export function bitStringBytes(t: Tlv): Uint8Array {
  if (t.tag !== Tag.BIT_STRING) fail("MALFORMED", `expected a BIT STRING at offset ${t.start}`);
  const v = value(t);
  if (v.length === 0) fail("MALFORMED", `empty BIT STRING at offset ${t.start}`);
  if (v[0] !== 0) fail("MALFORMED", `BIT STRING with ${v[0]} unused bits at offset ${t.start}`);
  return v.subarray(1);
}

/**
 * The magnitude of a non-negative INTEGER (leading zero octets removed; empty for zero).
 * Negative integers are rejected.
 */
export function unsignedIntegerBytes(t: Tlv): Uint8Array {
  if (t.tag !== Tag.INTEGER) fail("MALFORMED", `expected an INTEGER at offset ${t.start}`);
  const v = value(t);
  if (v.length === 0) fail("MALFORMED", `empty INTEGER at offset ${t.start}`);
  if (v[0] & 0x80) fail("MALFORMED", `negative INTEGER at offset ${t.start}`);
  let i = 0;
  while (i < v.length && v[i] === 0) i++;
  return v.subarray(i);
}

/** A small non-negative INTEGER as a number. */
export function smallInteger(t: Tlv): number {
  const v = unsignedIntegerBytes(t);
  if (v.length > 6) fail("TOO_LARGE", `INTEGER too large at offset ${t.start}`);
  let n = 0;
  for (const b of v) n = n * 256 + b;
  return n;
}

function encodeLength(len: number): Uint8Array {
  if (len < 0x80) return Uint8Array.of(len);
  const out: number[] = [];
  while (len > 0) {
    out.unshift(len & 0xff);
    len = Math.floor(len / 256);
  }
  return Uint8Array.of(0x80 | out.length, ...out);
}

/** Encodes one TLV with the given content parts. */
export function tlv(tag: number, ...parts: Uint8Array[]): Uint8Array {
  let len = 0;
  for (const p of parts) len += p.length;
  const l = encodeLength(len);
  const out = new Uint8Array(1 + l.length + len);
  out[0] = tag;
  out.set(l, 1);
  let o = 1 + l.length;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Encodes a non-negative INTEGER from its big-endian magnitude (minimal form). */
export function encodeUnsignedInteger(magnitude: Uint8Array): Uint8Array {
  let i = 0;
  while (i < magnitude.length - 1 && magnitude[i] === 0) i++;
  let m = magnitude.subarray(i);
  if (m.length === 0) m = Uint8Array.of(0);
  if (m[0] & 0x80) return tlv(Tag.INTEGER, Uint8Array.of(0), m);
  return tlv(Tag.INTEGER, m);
}

/** Encodes a BIT STRING with no unused bits. */
export function encodeBitString(content: Uint8Array): Uint8Array {
  return tlv(Tag.BIT_STRING, Uint8Array.of(0), content);
}

/** Byte-wise equality. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
