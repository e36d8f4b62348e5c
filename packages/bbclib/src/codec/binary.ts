/**
 * FORMAT_BINARY (0) of v1.1.1: little-endian fixed-width integers, ids as "bigint"
 * (2-byte length + bytes), each part prefixed with its length.
 *
 * The decoder is strict: every length must fit the enclosing part and no byte may be left
 * over, so whatever it accepts re-encodes to the same bytes (except the reference's pointer
 * quirk, see BBcPointer.idLength).
 */
import { sha256 } from "#sha256";
import { ByteWriter, allocBytes, copyBytes } from "../bytes.js";
import { BbcLibError } from "../errors.js";
import { bsonDecode, bsonEncode, type BsonDocument } from "./bson.js";
import { DecodeMeter, HEAP, type DecodeBudget } from "./budget.js";
import {
  BBcAsset,
  BBcCrossRef,
  BBcEvent,
  BBcPointer,
  BBcReference,
  BBcRelation,
  BBcSignature,
  BBcTransaction,
  BBcWitness,
  type FormatType,
} from "../model.js";
import { toHex } from "../bytes.js";

function need(v: Uint8Array | null, what: string): Uint8Array {
  if (!v) throw new BbcLibError("ENCODE", `cannot serialize: ${what} is not set`);
  return v;
}

/** v1.1.1 to_bigint: the declared width `size`, then the bytes as they are. */
function bigint(w: ByteWriter, v: Uint8Array, size: number): void {
  w.u16le(size);
  w.bytes(v);
}

function u16(w: ByteWriter, v: number, what: string): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xffff) throw new BbcLibError("ENCODE", `${what} ${v} does not fit in 2 bytes`);
  w.u16le(v);
}

/** Write a part prefixed by its length (4 bytes, or 2 for pointers). */
function part(w: ByteWriter, lenBytes: 2 | 4, body: () => void): void {
  const at = w.reserve(lenBytes);
  const start = w.pos;
  body();
  const n = w.pos - start;
  if (lenBytes === 2) {
    if (n > 0xffff) throw new BbcLibError("ENCODE", `part of ${n} bytes exceeds its 2-byte length field`);
    w.view.setUint16(at, n, true);
  } else w.view.setUint32(at, n, true);
}

function writeBody(w: ByteWriter, a: BBcAsset): void {
  const body = a.assetBody;
  if (body !== null && !(body instanceof Uint8Array)) {
    const doc = bsonEncode(body);
    w.u16le(1);
    u16(w, doc.length, "dictionary asset body size");
    w.bytes(doc);
  } else {
    w.u16le(0);
    u16(w, a.assetBodySize, "asset_body_size");
    if (a.assetBodySize > 0) w.bytes(need(body, "asset_body"));
  }
}

/** The bytes hashed for the asset id in the binary format. */
export function binaryAssetDigestInput(a: BBcAsset): Uint8Array {
  const w = new ByteWriter(128 + (a.assetBody instanceof Uint8Array ? a.assetBody.length : 64));
  bigint(w, need(a.userId, "asset.user_id"), a.idLength);
  u16(w, a.nonce.length, "nonce length");
  w.bytes(a.nonce);
  w.u32le(a.assetFileSize);
  if (a.assetFileSize > 0) w.bytes(need(a.assetFileDigest, "asset_file_digest"));
  writeBody(w, a);
  return w.finish();
}

function writeAsset(w: ByteWriter, a: BBcAsset): void {
  bigint(w, need(a.assetId, "asset.asset_id"), a.idLength);
  bigint(w, need(a.userId, "asset.user_id"), a.idLength);
  u16(w, a.nonce.length, "nonce length");
  w.bytes(a.nonce);
  w.u32le(a.assetFileSize);
  if (a.assetFileSize > 0) bigint(w, need(a.assetFileDigest, "asset_file_digest"), a.idLength);
  writeBody(w, a);
}

function writeEvent(w: ByteWriter, e: BBcEvent): void {
  bigint(w, need(e.assetGroupId, "event.asset_group_id"), e.idLength);
  u16(w, e.referenceIndices.length, "reference_indices count");
  for (const i of e.referenceIndices) u16(w, i, "reference index");
  u16(w, e.mandatoryApprovers.length, "mandatory_approvers count");
  for (const a of e.mandatoryApprovers) bigint(w, a, e.idLength);
  u16(w, e.optionApproverNumNumerator, "option_approver_num_numerator");
  u16(w, e.optionApproverNumDenominator, "option_approver_num_denominator");
  if (e.optionApprovers.length < e.optionApproverNumDenominator) {
    throw new BbcLibError("ENCODE", `event has ${e.optionApprovers.length} option approvers but denominator ${e.optionApproverNumDenominator}`);
  }
  for (let i = 0; i < e.optionApproverNumDenominator; i++) bigint(w, e.optionApprovers[i], e.idLength);
  if (!e.asset) throw new BbcLibError("ENCODE", "cannot serialize: event has no asset");
  const asset = e.asset;
  part(w, 4, () => writeAsset(w, asset));
}

function writeReference(w: ByteWriter, r: BBcReference): void {
  bigint(w, need(r.assetGroupId, "reference.asset_group_id"), r.idLength);
  bigint(w, need(r.transactionId, "reference.transaction_id"), r.idLength);
  u16(w, r.eventIndexInRef, "event_index_in_ref");
  u16(w, r.sigIndices.length, "sig_indices count");
  for (const i of r.sigIndices) u16(w, i, "sig index");
}

function writePointer(w: ByteWriter, p: BBcPointer): void {
  bigint(w, need(p.transactionId, "pointer.transaction_id"), p.idLength);
  if (p.assetId === null) w.u16le(0);
  else {
    w.u16le(1);
    bigint(w, p.assetId, p.idLength);
  }
}

function writeRelation(w: ByteWriter, r: BBcRelation): void {
  bigint(w, need(r.assetGroupId, "relation.asset_group_id"), r.idLength);
  u16(w, r.pointers.length, "pointers count");
  for (const p of r.pointers) part(w, 2, () => writePointer(w, p));
  if (r.asset) {
    const asset = r.asset;
    part(w, 4, () => writeAsset(w, asset));
  } else w.u32le(0);
}

function writeWitness(w: ByteWriter, x: BBcWitness): void {
  u16(w, x.sigIndices.length, "witness count");
  for (let i = 0; i < x.sigIndices.length; i++) {
    bigint(w, x.userIds[i], x.idLength);
    u16(w, x.sigIndices[i], "witness sig index");
  }
}

/** Cross references always use width 32 (v1.1.1 to_bigint default). */
export function writeCrossRef(w: ByteWriter, c: BBcCrossRef): void {
  bigint(w, need(c.domainId, "cross_ref.domain_id"), 32);
  bigint(w, need(c.transactionId, "cross_ref.transaction_id"), 32);
}

/** Binary serialization of a cross reference alone (as verify_using_cross_ref uses it). */
export function encodeCrossRefBinary(c: BBcCrossRef): Uint8Array {
  const w = new ByteWriter(72);
  writeCrossRef(w, c);
  return w.finish();
}

/** Binary serialization of a signature alone (4 zero bytes for an empty slot). */
export function writeSignature(w: ByteWriter, s: BBcSignature): void {
  if (s.notInitialized) {
    w.u32le(0);
    return;
  }
  w.u32le(s.keyType);
  const pub = need(s.pubkey, "signature.pubkey");
  const sig = need(s.signature, "signature.signature");
  w.u32le(pub.length * 8);
  w.bytes(pub);
  w.u32le(sig.length * 8);
  w.bytes(sig);
}

/** The serialized signature alone, as v1.1.1's BBcSignature.serialize() in binary. */
export function encodeSignatureBinary(s: BBcSignature): Uint8Array {
  const w = new ByteWriter(160);
  writeSignature(w, s);
  return w.finish();
}

function writeBase(w: ByteWriter, tx: BBcTransaction): void {
  w.u32le(tx.version);
  w.u64le(tx.timestamp);
  if (tx.version !== 0) u16(w, tx.idLength, "id_length");
  u16(w, tx.events.length, "events count");
  for (const e of tx.events) part(w, 4, () => writeEvent(w, e));
  u16(w, tx.references.length, "references count");
  for (const r of tx.references) part(w, 4, () => writeReference(w, r));
  u16(w, tx.relations.length, "relations count");
  for (const r of tx.relations) part(w, 4, () => writeRelation(w, r));
  if (tx.witness) {
    w.u16le(1);
    const wit = tx.witness;
    part(w, 4, () => writeWitness(w, wit));
  } else w.u16le(0);
}

function writeCrossPart(w: ByteWriter, tx: BBcTransaction): void {
  if (tx.crossRef) {
    w.u16le(1);
    const c = tx.crossRef;
    part(w, 4, () => writeCrossRef(w, c));
  } else w.u16le(0);
}

/** The for-id bytes: SHA-256 of the base part, then the cross reference part. Sets transactionBaseDigest. */
export function binaryForIdBytes(tx: BBcTransaction): Uint8Array {
  // The base part is only hashed: write it into a reused scratch buffer.
  const w = takeScratch();
  writeBase(w, tx);
  return forIdFromBaseDigest(tx, sha256(w.buf.subarray(0, w.pos)));
}

let scratch = new ByteWriter(4096);

/** The shared scratch writer, emptied; one that grew past 1 MiB for a huge transaction is dropped. */
function takeScratch(): ByteWriter {
  if (scratch.buf.length > 1 << 20) scratch = new ByteWriter(4096);
  scratch.pos = 0;
  return scratch;
}

function forIdFromBaseDigest(tx: BBcTransaction, base: Uint8Array): Uint8Array {
  tx.transactionBaseDigest = base;
  if (!tx.crossRef) {
    // The common case: the base digest and a zero cross_ref count.
    const out = allocBytes(34);
    out.set(base);
    return out;
  }
  const out = new ByteWriter(32 + 80);
  out.bytes(base);
  writeCrossPart(out, tx);
  return out.finish();
}

/** The whole binary serialization, 2-byte format prefix included. */
export function encodeTransactionBinary(tx: BBcTransaction): Uint8Array {
  // Written into the reused scratch buffer; finish() copies out exactly the bytes written.
  const w = takeScratch();
  w.u16le(0);
  writeBase(w, tx);
  writeCrossPart(w, tx);
  u16(w, tx.signatures.length, "signatures count");
  for (const s of tx.signatures) part(w, 4, () => writeSignature(w, s));
  return w.finish();
}

// ---------------------------------------------------------------- decoding

/** A bounds-checked little-endian reader over one part; all readers of one input share a meter. */
class Reader {
  pos: number;
  constructor(
    readonly buf: Uint8Array,
    start: number,
    readonly end: number,
    readonly what: string,
    readonly meter: DecodeMeter,
  ) {
    this.pos = start;
  }
  private need(n: number, field: string): void {
    if (this.pos + n > this.end) {
      throw new BbcLibError("TRUNCATED", `${this.what}: ${field} needs ${n} byte(s) at offset ${this.pos}, ${this.end - this.pos} left`);
    }
  }
  u16(field: string): number {
    this.need(2, field);
    const v = this.buf[this.pos] | (this.buf[this.pos + 1] << 8);
    this.pos += 2;
    return v;
  }
  u32(field: string): number {
    this.need(4, field);
    const b = this.buf;
    const p = this.pos;
    this.pos += 4;
    return (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16)) + b[p + 3] * 0x1000000;
  }
  u64(field: string): number {
    const lo = this.u32(field);
    const hi = this.u32(field);
    if (hi > 0x1fffff) throw new BbcLibError("MALFORMED", `${this.what}: ${field} is beyond 2^53`);
    return hi * 0x1_0000_0000 + lo;
  }
  /** A view, not a copy: every entry point decodes a private copy of its input. */
  bytes(n: number, field: string): Uint8Array {
    this.need(n, field);
    this.meter.take(1, HEAP.bytes + HEAP.slot);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }
  /** v1.1.1 get_bigint: 2-byte length then that many bytes. */
  bigint(field: string): Uint8Array {
    return this.bytes(this.u16(field + " length"), field);
  }
  /**
   * An id written by to_bigint(x, size=width): its declared width must be `width` (the part's
   * id_length, 32 for cross references), which is all v1.1.1 ever writes and decodes sanely.
   */
  id(field: string, width: number): Uint8Array {
    const at = this.pos;
    const n = this.u16(field + " length");
    if (n !== width) throw new BbcLibError("MALFORMED", `${this.what}: ${field} at offset ${at} has width ${n}, expected ${width}`);
    return this.bytes(n, field);
  }
  /** A sub-reader over the next `n` bytes. */
  sub(n: number, what: string): Reader {
    this.need(n, what);
    const r = new Reader(this.buf, this.pos, this.pos + n, what, this.meter);
    this.pos += n;
    return r;
  }
  /** Charge a part object of the model. */
  part(): void {
    this.meter.take(1, HEAP.part);
  }
  /** Charge `n` integers about to be read into a list (2 bytes each on the wire). */
  ints(n: number, field: string): void {
    this.need(2 * n, field);
    this.meter.take(n, HEAP.slot * n);
  }
  done(): void {
    if (this.pos !== this.end) throw new BbcLibError("MALFORMED", `${this.what}: ${this.end - this.pos} unexpected trailing byte(s) at offset ${this.pos}`);
  }
}

function readAsset(r: Reader, idLength: number, formatType: FormatType, budget: DecodeBudget | undefined): BBcAsset {
  r.part();
  const assetId = r.id("asset_id", idLength);
  const userId = r.id("user_id", idLength);
  const a = new BBcAsset({ idLength, formatType, nonce: r.bytes(r.u16("nonce length"), "nonce") });
  a.assetId = assetId;
  a.userId = userId;
  a.assetFileSize = r.u32("asset_file_size");
  a.assetFileDigest = a.assetFileSize > 0 ? r.id("asset_file_digest", idLength) : null;
  const dictFlag = r.u16("asset body dict flag");
  if (dictFlag === 1) {
    const doc = r.bytes(r.u16("dictionary body size"), "dictionary body");
    const body: BsonDocument = bsonDecode(doc, { decodeBudget: budget });
    a.assetBody = body;
    a.assetBodySize = body instanceof Map ? body.size : Object.keys(body).length;
  } else if (dictFlag === 0) {
    a.assetBodySize = r.u16("asset_body_size");
    a.assetBody = a.assetBodySize > 0 ? r.bytes(a.assetBodySize, "asset_body") : null;
  } else {
    // v1.1.1 treats any flag other than 1 as bytes; only 0 re-encodes identically.
    throw new BbcLibError("MALFORMED", `asset: body flag ${dictFlag} is neither 0 (bytes) nor 1 (dictionary)`);
  }
  r.done();
  return a;
}

function readEvent(r: Reader, idLength: number, formatType: FormatType, budget: DecodeBudget | undefined): BBcEvent {
  r.part();
  const e = new BBcEvent({ idLength, formatType });
  e.assetGroupId = r.id("asset_group_id", idLength);
  const nRef = r.u16("reference_indices count");
  r.ints(nRef, "reference indices");
  for (let i = 0; i < nRef; i++) e.referenceIndices.push(r.u16("reference index"));
  const nMand = r.u16("mandatory_approvers count");
  for (let i = 0; i < nMand; i++) e.mandatoryApprovers.push(r.id("mandatory approver", idLength));
  e.optionApproverNumNumerator = r.u16("option_approver_num_numerator");
  e.optionApproverNumDenominator = r.u16("option_approver_num_denominator");
  for (let i = 0; i < e.optionApproverNumDenominator; i++) e.optionApprovers.push(r.id("option approver", idLength));
  const n = r.u32("asset size");
  e.asset = readAsset(r.sub(n, "asset"), idLength, formatType, budget);
  r.done();
  return e;
}

function readReference(r: Reader, tx: BBcTransaction): BBcReference {
  r.part();
  const ref = new BBcReference({ idLength: tx.idLength, formatType: tx.formatType, transaction: tx });
  ref.assetGroupId = r.id("asset_group_id", tx.idLength);
  ref.transactionId = r.id("transaction_id", tx.idLength);
  ref.eventIndexInRef = r.u16("event_index_in_ref");
  const n = r.u16("sig_indices count");
  r.ints(n, "sig indices");
  for (let i = 0; i < n; i++) ref.sigIndices.push(r.u16("sig index"));
  r.done();
  return ref;
}

function readPointer(r: Reader, formatType: FormatType, idLength: number): BBcPointer {
  // v1.1.1 builds BBcPointer() with the default id_length 32 here (see BBcPointer.idLength).
  r.part();
  const p = new BBcPointer({ formatType });
  p.transactionId = r.id("pointer transaction_id", idLength);
  const flag = r.u16("pointer asset flag");
  if (flag === 1) p.assetId = r.id("pointer asset_id", idLength);
  else if (flag !== 0) throw new BbcLibError("MALFORMED", `pointer: asset flag ${flag} is neither 0 nor 1`);
  r.done();
  return p;
}

function readRelation(r: Reader, idLength: number, formatType: FormatType, budget: DecodeBudget | undefined): BBcRelation {
  r.part();
  const rel = new BBcRelation({ idLength, formatType });
  rel.assetGroupId = r.id("asset_group_id", idLength);
  const n = r.u16("pointers count");
  for (let i = 0; i < n; i++) rel.pointers.push(readPointer(r.sub(r.u16("pointer size"), "pointer"), formatType, idLength));
  const astSize = r.u32("asset size");
  rel.asset = astSize > 0 ? readAsset(r.sub(astSize, "asset"), idLength, formatType, budget) : null;
  r.done();
  return rel;
}

function readWitness(r: Reader, tx: BBcTransaction): BBcWitness {
  r.part();
  const w = new BBcWitness({ idLength: tx.idLength, formatType: tx.formatType });
  w.transaction = tx;
  const n = r.u16("witness count");
  for (let i = 0; i < n; i++) {
    const uid = r.id("witness user_id", tx.idLength);
    // its slot: a hex key in the transaction's map and an empty signature
    r.meter.take(2, HEAP.string + 2 * uid.length + HEAP.mapEntry + HEAP.part + 2 * HEAP.slot);
    w.userIds.push(uid);
    w.sigIndices.push(r.u16("witness sig index"));
    tx.getSigIndex(uid.length > tx.idLength ? uid.subarray(0, tx.idLength) : uid);
  }
  r.done();
  return w;
}

function readCrossRef(r: Reader, formatType: FormatType): BBcCrossRef {
  r.part();
  const c = new BBcCrossRef({ formatType });
  c.domainId = r.id("cross_ref domain_id", 32);
  c.transactionId = r.id("cross_ref transaction_id", 32);
  r.done();
  return c;
}

/** Decode a binary cross reference (as verify_using_cross_ref receives it). */
export function decodeCrossRefBinary(data: Uint8Array): BBcCrossRef {
  return readCrossRef(new Reader(data.slice(), 0, data.length, "cross_ref", new DecodeMeter(undefined, data.length, "cross_ref")), 0);
}

function readSignature(r: Reader, formatType: FormatType): BBcSignature {
  r.part();
  const s = new BBcSignature({ formatType });
  const keyType = r.u32("key_type");
  s.keyType = keyType;
  if (keyType === 0) {
    r.done();
    return s;
  }
  const pubBits = r.u32("pubkey length");
  if (pubBits % 8 !== 0) throw new BbcLibError("MALFORMED", `signature: public key length ${pubBits} bits is not whole bytes`);
  const pubkey = r.bytes(pubBits / 8, "pubkey");
  const sigBits = r.u32("signature length");
  if (sigBits % 8 !== 0) throw new BbcLibError("MALFORMED", `signature: signature length ${sigBits} bits is not whole bytes`);
  const signature = r.bytes(sigBits / 8, "signature");
  s.add({ signature, pubkey });
  r.done();
  return s;
}

/** Decode a binary signature alone (recover_signature_object). */
export function decodeSignatureBinary(data: Uint8Array): BBcSignature {
  return readSignature(new Reader(data.slice(), 0, data.length, "signature", new DecodeMeter(undefined, data.length, "signature")), 0);
}

/**
 * Decode a binary transaction (`data` includes the 2-byte prefix, which must be 0).
 * Computes the digest and transaction id as v1.1.1's deserialize does. Every part and id is
 * charged against `budget` (DECODE_BUDGET beyond it).
 */
export function decodeTransactionBinary(data: Uint8Array, budget?: DecodeBudget): BBcTransaction {
  const meter = new DecodeMeter(budget, data.length, "binary transaction");
  // One private copy of the input: the decoded parts are views into it, and nothing the
  // caller does to its buffer afterwards can change them.
  meter.take(1, HEAP.part + HEAP.bytes + data.length);
  data = copyBytes(data);
  const r = new Reader(data, 2, data.length, "transaction", meter);
  const tx = new BBcTransaction({ formatType: 0 });
  tx.version = r.u32("version");
  tx.timestamp = r.u64("timestamp");
  if (tx.version !== 0) tx.idLength = r.u16("id_length");
  if (tx.idLength < 1 || tx.idLength > 32) throw new BbcLibError("MALFORMED", `transaction: id_length ${tx.idLength} is outside 1..32`);
  const idLength = tx.idLength;
  const nEvt = r.u16("events count");
  for (let i = 0; i < nEvt; i++) {
    const e = readEvent(r.sub(r.u32("event size"), `event ${i}`), idLength, 0, budget);
    tx.events.push(e);
    if (e.asset?.assetId) tx.assetGroupIds.set(toHex(e.asset.assetId), e.assetGroupId as Uint8Array);
  }
  const nRef = r.u16("references count");
  for (let i = 0; i < nRef; i++) tx.references.push(readReference(r.sub(r.u32("reference size"), `reference ${i}`), tx));
  const nRel = r.u16("relations count");
  for (let i = 0; i < nRel; i++) {
    const rel = readRelation(r.sub(r.u32("relation size"), `relation ${i}`), idLength, 0, budget);
    tx.relations.push(rel);
    if (rel.asset?.assetId) tx.assetGroupIds.set(toHex(rel.asset.assetId), rel.assetGroupId as Uint8Array);
  }
  const nWit = r.u16("witness flag");
  if (nWit > 1) throw new BbcLibError("MALFORMED", `transaction: witness flag ${nWit} is neither 0 nor 1`);
  if (nWit === 1) tx.witness = readWitness(r.sub(r.u32("witness size"), "witness"), tx);
  const baseEnd = r.pos;
  const nCross = r.u16("cross_ref flag");
  if (nCross > 1) throw new BbcLibError("MALFORMED", `transaction: cross_ref flag ${nCross} is neither 0 nor 1`);
  if (nCross === 1) tx.crossRef = readCrossRef(r.sub(r.u32("cross_ref size"), "cross_ref"), 0);
  const nSig = r.u16("signatures count");
  // Slots reserved by the witness are replaced by what the transaction carries.
  tx.signatures = [];
  for (let i = 0; i < nSig; i++) {
    const size = r.u32("signature size");
    if (size === 4) {
      // v1.1.1 does not consume the 4 bytes of an empty slot (KeyType 0), so an empty slot
      // can only be the last one; we require those 4 bytes to be zero and to end the data.
      const s = r.sub(4, "empty signature slot");
      if (s.u32("key_type") !== 0) throw new BbcLibError("MALFORMED", `signature ${i}: 4-byte slot with a non-zero key type`);
      if (i !== nSig - 1) throw new BbcLibError("MALFORMED", `signature ${i}: an empty slot is only readable by v1.1.1 as the last one`);
      r.part();
      tx.signatures.push(new BBcSignature({ formatType: 0 }));
      continue;
    }
    if (size < 4) throw new BbcLibError("MALFORMED", `signature ${i}: size ${size} is too small`);
    tx.signatures.push(readSignature(r.sub(size, `signature ${i}`), 0));
  }
  r.done();
  tx.transactionData = data;
  // The strict reader guarantees that re-encoding the base part gives the input bytes back,
  // so hash those directly, except where v1.1.1 re-encodes pointers with another width.
  const quirk = tx.idLength !== 32 && tx.relations.some((rel) => rel.pointers.length > 0);
  if (quirk) tx.digest();
  else tx.setDigest(sha256(forIdFromBaseDigest(tx, sha256(data.subarray(2, baseEnd)))));
  return tx;
}
