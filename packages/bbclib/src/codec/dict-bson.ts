/**
 * The BSON formats (1, 2, 3) through the direct walk of dict-direct.ts: a writer and a reader
 * for py-bson's choices (bytes as binary subtype 0, int32 when it fits else int64, documents in
 * insertion order), on one reused buffer.
 */
import { sha256 } from "#sha256";
import { ByteWriter, copyBytes } from "../bytes.js";
import type { BBcTransaction, FormatType } from "../model.js";
import { encodeBsonElementInto, type BsonValue } from "./bson.js";
import { DecodeMeter, HEAP, type DecodeBudget } from "./budget.js";
import { GIVE_UP, readTransaction, writeBase, writeForId, writeTransaction, type Key, type MapKind, type TxReader, type TxWriter } from "./dict-direct.js";

const INT32_MIN = -0x8000_0000;
const INT32_MAX = 0x7fff_ffff;

/** "0", "1", ... as NUL-terminated keys, for list items. */
const INDEX_KEYS: Uint8Array[] = Array.from({ length: 256 }, (_, i) => Uint8Array.from([...String(i)].map((c) => c.charCodeAt(0)).concat(0)));

function indexKey(i: number): Uint8Array {
  return i < INDEX_KEYS.length ? INDEX_KEYS[i] : Uint8Array.from([...String(i)].map((c) => c.charCodeAt(0)).concat(0));
}

class BsonWriter extends ByteWriter implements TxWriter {
  /** Key (NUL-terminated) of the next element; null at the root. */
  private key: Uint8Array | null = null;
  private keyName = "";
  /** Offsets of the length fields of the open documents. */
  private readonly open: number[] = [];

  reset(): void {
    this.pos = 0;
    this.key = null;
    this.open.length = 0;
  }
  private head(type: number): void {
    const k = this.key!;
    const n = k.length;
    this.ensure(n + 1);
    const b = this.buf;
    let p = this.pos;
    b[p++] = type;
    for (let i = 0; i < n; i++) b[p++] = k[i];
    this.pos = p;
  }
  private openDoc(type: number): void {
    if (this.key !== null) this.head(type);
    this.open.push(this.reserve(4));
  }
  private closeDoc(): void {
    this.u8(0);
    const start = this.open.pop()!;
    this.view.setInt32(start, this.pos - start, true);
  }
  map(_kind: MapKind): void {
    this.openDoc(0x03);
  }
  end(): void {
    this.closeDoc();
  }
  field(k: Key): void {
    this.key = k.bs;
    this.keyName = k.name;
  }
  list(): void {
    this.openDoc(0x04);
  }
  item(i: number): void {
    this.key = indexKey(i);
    this.keyName = String(i);
  }
  endList(): void {
    this.closeDoc();
  }
  nil(): void {
    this.head(0x0a);
  }
  raw(v: Uint8Array | null): void {
    if (v === null || v === undefined) return this.head(0x0a);
    if (!(v instanceof Uint8Array)) return this.any(v);
    const n = v.length;
    this.head(0x05);
    this.ensure(n + 5);
    const b = this.buf;
    let p = this.pos;
    b[p++] = n & 0xff;
    b[p++] = (n >>> 8) & 0xff;
    b[p++] = (n >>> 16) & 0xff;
    b[p++] = n >>> 24;
    b[p++] = 0;
    if (n <= 64) for (let i = 0; i < n; i++) b[p++] = v[i];
    else {
      b.set(v, p);
      p += n;
    }
    this.pos = p;
  }
  int(v: number): void {
    if (Number.isInteger(v) && v >= INT32_MIN && v <= INT32_MAX) {
      this.head(0x10);
      this.ensure(4);
      this.view.setInt32(this.pos, v, true);
      this.pos += 4;
      return;
    }
    this.any(v);
  }
  any(v: unknown): void {
    encodeBsonElementInto(this, this.keyName, v as BsonValue);
  }
}

let scratch = new BsonWriter(2048);

function takeScratch(): BsonWriter {
  if (scratch.buf.length > 1 << 20) scratch = new BsonWriter(2048);
  scratch.reset();
  return scratch;
}

/** The BSON body of `tx` (no prefix, not compressed) as a view into a shared scratch buffer, valid until the next call. */
export function bsonTransactionBody(tx: BBcTransaction): Uint8Array {
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

/** The for-id bytes of a BSON-format transaction; sets transactionBaseDigest. */
export function bsonForIdBytes(tx: BBcTransaction): Uint8Array {
  const w = takeScratch();
  writeBase(w, tx, false);
  return forIdFromBaseDigest(tx, sha256(w.buf.subarray(0, w.pos)));
}

/**
 * Reads the BSON py-bson writes, charging the budget exactly as the generic decoder charges
 * the same bytes, so a body fits on one path iff on the other.
 */
class BsonReader implements TxReader {
  pos = 0;
  /** Type byte of the element whose key was just read (0x03 for the root document). */
  private type = 0x03;
  /** End offsets of the open documents. */
  private readonly ends: number[] = [];

  constructor(
    readonly buf: Uint8Array,
    readonly meter: DecodeMeter,
  ) {}

  private charge(n: number, heap: number): void {
    const m = this.meter;
    m.elements -= n;
    m.bytes -= heap;
    if (m.elements < 0 || m.bytes < 0) throw GIVE_UP;
  }
  private i32(): number {
    const b = this.buf;
    const p = this.pos;
    if (p + 4 > b.length) throw GIVE_UP;
    this.pos = p + 4;
    return b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24);
  }
  /** An element header: its type byte and exactly the key `k` (NUL-terminated). */
  private header(k: Uint8Array): void {
    const b = this.buf;
    const p = this.pos;
    const n = k.length;
    if (p + 1 + n > this.ends[this.ends.length - 1]) throw GIVE_UP;
    this.type = b[p];
    if (this.type === 0) throw GIVE_UP;
    for (let i = 0; i < n; i++) if (b[p + 1 + i] !== k[i]) throw GIVE_UP;
    this.pos = p + 1 + n;
    // The generic decoder: a key string and an entry per element.
    this.charge(2, HEAP.string + HEAP.objectEntry + n);
  }
  private openDoc(expected: number, heap: number): void {
    if (this.type !== expected) throw GIVE_UP;
    if (this.ends.length > 0) this.charge(0, heap);
    const start = this.pos;
    const len = this.i32();
    if (len < 5 || start + len > (this.ends.length > 0 ? this.ends[this.ends.length - 1] : this.buf.length)) throw GIVE_UP;
    this.ends.push(start + len);
  }
  private closeDoc(): void {
    const end = this.ends.pop()!;
    if (this.pos !== end - 1 || this.buf[this.pos] !== 0) throw GIVE_UP;
    this.pos = end;
  }
  map(_kind: MapKind): void {
    this.openDoc(0x03, HEAP.object);
  }
  end(): void {
    this.closeDoc();
  }
  field(k: Key): void {
    this.header(k.bs);
  }
  nil(): boolean {
    return this.type === 0x0a;
  }
  list(): number {
    this.openDoc(0x04, HEAP.array);
    return -1;
  }
  more(i: number): boolean {
    if (this.buf[this.pos] === 0) {
      this.closeDoc();
      return false;
    }
    this.header(indexKey(i));
    return true;
  }
  raw(): Uint8Array {
    if (this.type !== 0x05) throw GIVE_UP;
    const n = this.i32();
    const p = this.pos;
    if (n < 0 || this.buf[p] !== 0 || p + 1 + n > this.ends[this.ends.length - 1]) throw GIVE_UP;
    this.charge(0, HEAP.bytes + n);
    this.pos = p + 1 + n;
    return this.buf.subarray(p + 1, p + 1 + n);
  }
  uint(): number {
    if (this.type === 0x10) {
      const v = this.i32();
      if (v < 0) throw GIVE_UP;
      return v;
    }
    if (this.type !== 0x12) throw GIVE_UP;
    this.charge(0, HEAP.number);
    const lo = this.i32() >>> 0;
    const hi = this.i32();
    // py-bson writes an int that fits 32 bits as int32; a negative or beyond 2^53 is not a field value
    if (hi < 0 || hi > 0x1fffff || (hi === 0 && lo <= INT32_MAX)) throw GIVE_UP;
    return hi * 0x1_0000_0000 + lo;
  }
  rawList(): Uint8Array[] {
    this.list();
    const out: Uint8Array[] = [];
    for (let i = 0; this.more(i); i++) out.push(this.raw());
    return out;
  }
  uintList(): number[] {
    this.list();
    const out: number[] = [];
    for (let i = 0; this.more(i); i++) out.push(this.uint());
    return out;
  }
  peekEmptySignature(): boolean {
    // { key_type: <int32> } is 4 + (1 + 9 + 4) + 1 = 19 bytes
    const b = this.buf;
    const p = this.pos;
    return p + 4 <= b.length && (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24)) === 19;
  }
}

/**
 * Decode the BSON `body` of a transaction (see decodeMsgpackTransactionFast): undefined when it
 * is not in the shape this path reads, and the caller runs the generic decoder.
 */
export function decodeBsonTransactionFast(
  data: Uint8Array,
  body: Uint8Array,
  privateBody: boolean,
  formatType: FormatType,
  budget: DecodeBudget | undefined,
): BBcTransaction | undefined {
  try {
    const meter = new DecodeMeter(budget, body.length, "BSON");
    meter.take(1, HEAP.object); // the root document
    const r = new BsonReader(privateBody ? body : copyBytes(body), meter);
    const base = { start: 0, end: 0 };
    const tx = readTransaction(r, formatType, base);
    if (r.pos !== r.buf.length) return undefined;
    tx.transactionData = data;
    // The shape py-bson writes re-encodes to exactly these bytes, so the base digest is their hash.
    tx.setDigest(sha256(forIdFromBaseDigest(tx, sha256(r.buf.subarray(base.start, base.end)))));
    return tx;
  } catch (e) {
    if (e === GIVE_UP || (e as { code?: string })?.code === "DECODE_BUDGET") return undefined;
    throw e;
  }
}
