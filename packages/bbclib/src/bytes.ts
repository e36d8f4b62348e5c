/** Small byte helpers shared by the codecs. Browser-safe: no Buffer. */

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** Lowercase hex of `bytes`. */
export function toHex(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i++) out += HEX[bytes[i]];
  return out;
}

/** Bytes of a hex string (upper or lower case; an odd length or a non-hex digit is rejected). */
export function fromHex(hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
    throw new TypeError(`not a hex string: ${JSON.stringify(hex.length > 40 ? hex.slice(0, 40) + "…" : hex)}`);
  }
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.substr(i * 2, 2), 16);
  return out;
}

/** True when both arrays hold the same bytes. */
export function bytesEqual(a: Uint8Array | null | undefined, b: Uint8Array | null | undefined): boolean {
  if (a === b) return true;
  if (!a || !b || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

// Small results (encodings, digests, private copies of decoded input) are carved out of shared
// slabs, as Node does for small Buffers: a fresh ArrayBuffer per result costs a separate
// allocation each time, which dominated serialize/deserialize on hosts where allocation is slow
// (2.4 µs per ArrayBuffer measured on the CI machine, against 0.2 µs for a slab view). A slab
// region is handed out once, so it is zero-filled like a new Uint8Array. A live view keeps its
// whole slab (8 KiB) alive.
const SLAB_SIZE = 8 * 1024;
const SLAB_MAX_CHUNK = 1024;
let slab = new ArrayBuffer(SLAB_SIZE);
let slabAt = 0;

/** @internal A zero-filled `Uint8Array(n)`, from a shared slab when small. */
export function allocBytes(n: number): Uint8Array {
  if (n > SLAB_MAX_CHUNK) return new Uint8Array(n);
  if (slabAt + n > SLAB_SIZE) {
    slab = new ArrayBuffer(SLAB_SIZE);
    slabAt = 0;
  }
  const out = new Uint8Array(slab, slabAt, n);
  slabAt = (slabAt + n + 7) & ~7; // 8-byte aligned, so DataViews over a result stay fast
  return out;
}

/** @internal A private copy of `src` (see {@link allocBytes}). */
export function copyBytes(src: Uint8Array): Uint8Array {
  const out = allocBytes(src.length);
  out.set(src);
  return out;
}

/** Concatenation of `parts`. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8");
const strictDecoder = new TextDecoder("utf-8", { fatal: true });

/** UTF-8 bytes of a string. */
export function utf8Encode(s: string): Uint8Array {
  return encoder.encode(s);
}

/** String of UTF-8 bytes (invalid sequences become U+FFFD unless `strict`). */
export function utf8Decode(b: Uint8Array, strict = false): string {
  // Short ASCII (every key of a transaction dictionary) without a TextDecoder call, which
  // costs about a microsecond each.
  const n = b.length;
  if (n <= 32) {
    let ascii = true;
    for (let i = 0; i < n; i++) {
      if (b[i] >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (ascii) {
      let s = "";
      for (let i = 0; i < n; i++) s += String.fromCharCode(b[i]);
      return s;
    }
  }
  return (strict ? strictDecoder : decoder).decode(b);
}

/**
 * A growable byte buffer for encoders: amortised appends, little- and big-endian integers.
 */
export class ByteWriter {
  buf: Uint8Array;
  view: DataView;
  pos = 0;

  constructor(initial = 512) {
    this.buf = new Uint8Array(initial);
    this.view = new DataView(this.buf.buffer);
  }

  ensure(n: number): void {
    const need = this.pos + n;
    if (need <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v;
  }
  u16le(v: number): void {
    this.ensure(2);
    this.view.setUint16(this.pos, v, true);
    this.pos += 2;
  }
  u32le(v: number): void {
    this.ensure(4);
    this.view.setUint32(this.pos, v, true);
    this.pos += 4;
  }
  u64le(v: number | bigint): void {
    this.ensure(8);
    if (typeof v === "number" && v >= 0 && v <= Number.MAX_SAFE_INTEGER) {
      this.view.setUint32(this.pos, v >>> 0, true);
      this.view.setUint32(this.pos + 4, Math.floor(v / 0x1_0000_0000), true);
    } else this.view.setBigUint64(this.pos, BigInt(v), true);
    this.pos += 8;
  }
  u16be(v: number): void {
    this.ensure(2);
    this.view.setUint16(this.pos, v, false);
    this.pos += 2;
  }
  u32be(v: number): void {
    this.ensure(4);
    this.view.setUint32(this.pos, v, false);
    this.pos += 4;
  }
  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
  /** Reserve `n` bytes and return their offset, for length fields written afterwards. */
  reserve(n: number): number {
    this.ensure(n);
    const at = this.pos;
    this.pos += n;
    return at;
  }
  /** A copy of what was written. */
  finish(): Uint8Array {
    return copyBytes(this.buf.subarray(0, this.pos));
  }
}
