/**
 * The msgpack formats (4, 5, 6) through the direct walk of dict-direct.ts: a writer and a
 * reader for msgpack-python 0.5's choices (`use_bin_type=False`: bytes in the raw family,
 * smallest integers), on one reused buffer.
 */
import { sha256 } from "#sha256";
import { ByteWriter, copyBytes } from "../bytes.js";
import type { BBcTransaction, FormatType } from "../model.js";
import { DecodeMeter, HEAP, type DecodeBudget } from "./budget.js";
import { GIVE_UP, readTransaction, writeBase, writeForId, writeTransaction, type Key, type MapKind, type TxReader, type TxWriter } from "./dict-direct.js";
import { encodeMsgpackValueInto, type MsgpackValue } from "./msgpack.js";

const TWO_32 = 0x1_0000_0000;

class MsgpackWriter extends ByteWriter implements TxWriter {
  map(kind: MapKind): void {
    this.u8(0x80 | kind.keys.length);
  }
  end(): void {}
  field(k: Key): void {
    const m = k.mp;
    const n = m.length;
    this.ensure(n);
    const b = this.buf;
    let p = this.pos;
    for (let i = 0; i < n; i++) b[p++] = m[i];
    this.pos = p;
  }
  nil(): void {
    this.u8(0xc0);
  }
  list(n: number): void {
    if (n <= 15) this.u8(0x90 | n);
    else if (n <= 0xffff) {
      this.u8(0xdc);
      this.u16be(n);
    } else {
      this.u8(0xdd);
      this.u32be(n);
    }
  }
  item(): void {}
  endList(): void {}
  raw(v: Uint8Array | null): void {
    if (v === null || v === undefined) return this.u8(0xc0);
    if (!(v instanceof Uint8Array)) return encodeMsgpackValueInto(this, v as MsgpackValue);
    const n = v.length;
    this.ensure(n + 5);
    const b = this.buf;
    let p = this.pos;
    if (n <= 0x1f) b[p++] = 0xa0 | n;
    else if (n <= 0xffff) {
      b[p++] = 0xda;
      b[p++] = n >>> 8;
      b[p++] = n & 0xff;
    } else {
      b[p++] = 0xdb;
      this.view.setUint32(p, n);
      p += 4;
    }
    if (n <= 64) for (let i = 0; i < n; i++) b[p++] = v[i];
    else {
      b.set(v, p);
      p += n;
    }
    this.pos = p;
  }
  int(v: number): void {
    if (v >= 0 && v < 0x80 && (v | 0) === v) return this.u8(v);
    if (v >= 0 && v < TWO_32 && Number.isInteger(v)) {
      if (v <= 0xff) {
        this.u8(0xcc);
        this.u8(v);
      } else if (v <= 0xffff) {
        this.u8(0xcd);
        this.u16be(v);
      } else {
        this.u8(0xce);
        this.u32be(v);
      }
      return;
    }
    encodeMsgpackValueInto(this, v as MsgpackValue);
  }
  any(v: unknown): void {
    encodeMsgpackValueInto(this, v as MsgpackValue);
  }
}

let scratch = new MsgpackWriter(2048);

/** The shared writer, emptied; one that grew past 1 MiB for a huge transaction is dropped. */
function takeScratch(): MsgpackWriter {
  if (scratch.buf.length > 1 << 20) scratch = new MsgpackWriter(2048);
  scratch.pos = 0;
  return scratch;
}

/**
 * The msgpack body of `tx` (no prefix, not compressed) as a view into a shared scratch buffer,
 * valid until the next call: the caller copies or compresses it at once.
 */
export function msgpackTransactionBody(tx: BBcTransaction): Uint8Array {
  const w = takeScratch();
  writeTransaction(w, tx);
  return w.buf.subarray(0, w.pos);
}

function forIdFromBaseDigest(tx: BBcTransaction, base: Uint8Array): Uint8Array {
  tx.transactionBaseDigest = base;
  const w = takeScratch();
  writeForId(w, tx, base);
  return copyBytes(w.buf.subarray(0, w.pos));
}

/** The for-id bytes of a msgpack-format transaction; sets transactionBaseDigest. */
export function msgpackForIdBytes(tx: BBcTransaction): Uint8Array {
  const w = takeScratch();
  writeBase(w, tx, false);
  return forIdFromBaseDigest(tx, sha256(w.buf.subarray(0, w.pos)));
}

/**
 * Reads the canonical msgpack v1.1.1 writes, charging the budget exactly as the generic
 * decoder (object mode) charges the same bytes, so a body fits on one path iff on the other.
 */
class MsgpackReader implements TxReader {
  pos = 0;
  constructor(
    readonly buf: Uint8Array,
    readonly meter: DecodeMeter,
  ) {}

  private byte(): number {
    if (this.pos >= this.buf.length) throw GIVE_UP;
    return this.buf[this.pos++];
  }
  private u32(): number {
    return ((this.byte() << 24) | (this.byte() << 16) | (this.byte() << 8) | this.byte()) >>> 0;
  }
  private charge(n: number, heap: number): void {
    const m = this.meter;
    m.elements -= n;
    m.bytes -= heap;
    if (m.elements < 0 || m.bytes < 0) throw GIVE_UP;
  }
  map(kind: MapKind): void {
    const n = kind.keys.length;
    if (this.byte() !== (0x80 | n)) throw GIVE_UP;
    this.charge(2 * n, kind.mpHeap);
  }
  end(): void {}
  field(k: Key): void {
    const b = this.buf;
    const p = this.pos;
    const m = k.mp;
    const n = m.length;
    if (p + n > b.length) throw GIVE_UP;
    for (let i = 0; i < n; i++) if (b[p + i] !== m[i]) throw GIVE_UP;
    this.pos = p + n;
  }
  nil(): boolean {
    if (this.buf[this.pos] === 0xc0) {
      this.pos++;
      return true;
    }
    return false;
  }
  list(): number {
    const t = this.byte();
    let n: number;
    if (t >= 0x90 && t <= 0x9f) n = t & 0x0f;
    else if (t === 0xdc) {
      n = (this.byte() << 8) | this.byte();
      if (n <= 0x0f) throw GIVE_UP;
    } else if (t === 0xdd) {
      n = this.u32();
      if (n <= 0xffff) throw GIVE_UP;
    } else throw GIVE_UP;
    if (n > this.buf.length - this.pos) throw GIVE_UP;
    this.charge(n, HEAP.array + HEAP.slot * n);
    return n;
  }
  more(i: number, n: number): boolean {
    return i < n;
  }
  uint(): number {
    const t = this.byte();
    if (t < 0x80) return t;
    switch (t) {
      case 0xcc: {
        const v = this.byte();
        if (v < 0x80) throw GIVE_UP;
        return v;
      }
      case 0xcd: {
        const v = (this.byte() << 8) | this.byte();
        if (v <= 0xff) throw GIVE_UP;
        return v;
      }
      case 0xce: {
        const v = this.u32();
        if (v <= 0xffff) throw GIVE_UP;
        return v;
      }
      case 0xcf: {
        this.charge(0, HEAP.number);
        const hi = this.u32();
        const lo = this.u32();
        if (hi === 0 || hi > 0x1fffff) throw GIVE_UP;
        return hi * TWO_32 + lo;
      }
      default:
        throw GIVE_UP;
    }
  }
  raw(): Uint8Array {
    const t = this.byte();
    let n: number;
    if (t >= 0xa0 && t <= 0xbf) n = t & 0x1f;
    else if (t === 0xda) {
      n = (this.byte() << 8) | this.byte();
      if (n <= 0x1f) throw GIVE_UP;
    } else if (t === 0xdb) {
      n = this.u32();
      if (n <= 0xffff) throw GIVE_UP;
    } else throw GIVE_UP;
    const p = this.pos;
    if (n > this.buf.length - p) throw GIVE_UP;
    this.charge(0, HEAP.bytes + n);
    this.pos = p + n;
    return this.buf.subarray(p, p + n);
  }
  rawList(): Uint8Array[] {
    const n = this.list();
    const out: Uint8Array[] = new Array(n);
    for (let i = 0; i < n; i++) out[i] = this.raw();
    return out;
  }
  uintList(): number[] {
    const n = this.list();
    const out: number[] = new Array(n);
    for (let i = 0; i < n; i++) out[i] = this.uint();
    return out;
  }
  peekEmptySignature(): boolean {
    return this.buf[this.pos] === 0x81;
  }
}

/**
 * Decode the msgpack `body` of a transaction (`data` is the whole input, kept as
 * transactionData; `privateBody` says `body` is a private buffer already, e.g. an inflated one).
 * Undefined when the body is not in the canonical shape this path reads: the caller then runs
 * the generic decoder.
 */
export function decodeMsgpackTransactionFast(
  data: Uint8Array,
  body: Uint8Array,
  privateBody: boolean,
  formatType: FormatType,
  budget: DecodeBudget | undefined,
): BBcTransaction | undefined {
  try {
    const meter = new DecodeMeter(budget, body.length, "msgpack");
    meter.take(1, HEAP.slot); // the root value
    const r = new MsgpackReader(privateBody ? body : copyBytes(body), meter);
    const base = { start: 0, end: 0 };
    const tx = readTransaction(r, formatType, base);
    if (r.pos !== r.buf.length) return undefined;
    tx.transactionData = data;
    // The canonical shape re-encodes to exactly these bytes, so the base digest is their hash.
    tx.setDigest(sha256(forIdFromBaseDigest(tx, sha256(r.buf.subarray(base.start, base.end)))));
    return tx;
  } catch (e) {
    if (e === GIVE_UP || (e as { code?: string })?.code === "DECODE_BUDGET") return undefined;
    throw e;
  }
}
