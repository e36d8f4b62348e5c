/**
 * The compressor's output: a big-endian bit sink over a byte buffer reused across calls.
 *
 * Hot loops (sendMtfValues) copy `buf`, `pos`, `bits` and `live` into locals, write there and
 * store them back: fields read and written on every symbol kept the JIT from holding them in
 * registers. They reserve room first, so no write checks the buffer's end.
 */

/** Buffers up to this size are kept for the next call; larger ones are dropped after use. */
const KEEP_MAX = 1 << 18;
let spare: Uint8Array = new Uint8Array(4096);

export class BitSink {
  buf: Uint8Array;
  /** Bytes written. */
  pos = 0;
  /** Pending bits, right-aligned (only the low `live` bits are meaningful). */
  bits = 0;
  /** Number of pending bits, below 8 between writes. */
  live = 0;

  constructor(initialSize: number) {
    this.buf = spare.length >= initialSize ? spare : new Uint8Array(initialSize);
  }

  /** Makes room for `bytes` more bytes (beyond the pending bits). */
  reserve(bytes: number): void {
    const need = this.pos + bytes + 8;
    if (need <= this.buf.length) return;
    const next = new Uint8Array(Math.max(need, this.buf.length * 2));
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }

  /** Appends the low `n` bits of `v` (n <= 24), most significant first; room must be reserved. */
  write(n: number, v: number): void {
    let bits = (this.bits << n) | v;
    let live = this.live + n;
    while (live >= 8) {
      live -= 8;
      this.buf[this.pos++] = bits >>> live;
    }
    this.bits = bits & ((1 << live) - 1);
    this.live = live;
  }

  write32(v: number): void {
    this.write(16, (v >>> 16) & 0xffff);
    this.write(16, v & 0xffff);
  }

  /** Pads the last byte with zero bits and returns a copy of the bytes written. */
  finish(): Uint8Array {
    if (this.live > 0) this.write(8 - this.live, 0);
    const out = this.buf.slice(0, this.pos);
    // The buffer is kept for the next stream unless it grew large (one big input should not pin
    // its memory). The stream is finished: nothing refers to the buffer now.
    if (this.buf.length <= KEEP_MAX && this.buf.length >= spare.length) spare = this.buf;
    return out;
  }
}
