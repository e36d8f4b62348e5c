/**
 * The BSON and msgpack formats written and read directly from and into the model, without the
 * intermediate dictionaries of dict.ts. This module walks the transaction once for both
 * formats; dict-msgpack.ts and dict-bson.ts supply the writer and reader of each encoding
 * (precomputed keys, one reused buffer, keys compared as bytes instead of built as strings).
 *
 * Both directions give exactly what dict.ts gives (the generic path stays the reference; tests
 * compare them on the vectors and on random and mutated transactions). The reader only handles
 * the canonical shape v1.1.1 writes: on anything else (version 0, a dictionary asset body, a
 * float, a budget overrun, a malformed byte) it gives up ({@link GIVE_UP}) and the caller runs
 * the generic decoder, so what is accepted or refused, and with which error, stays the generic
 * path's.
 */
import { toHex } from "../bytes.js";
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
import { HEAP } from "./budget.js";

/** Thrown by readers to leave the direct path; never escapes the codec modules. */
export const GIVE_UP: unique symbol = Symbol("give up the direct decoder");

/** A key in both encodings: msgpack (fixstr header + ASCII) and BSON (ASCII + NUL). */
export interface Key {
  readonly name: string;
  readonly mp: Uint8Array;
  readonly bs: Uint8Array;
}

function key(name: string): Key {
  const ascii = Uint8Array.from(name, (c) => c.charCodeAt(0));
  const mp = new Uint8Array(ascii.length + 1);
  mp[0] = 0xa0 | ascii.length;
  mp.set(ascii, 1);
  const bs = new Uint8Array(ascii.length + 1);
  bs.set(ascii);
  return { name, mp, bs };
}

export const K = {
  transaction_base: key("transaction_base"),
  cross_ref: key("cross_ref"),
  signatures: key("signatures"),
  header: key("header"),
  version: key("version"),
  timestamp: key("timestamp"),
  id_length: key("id_length"),
  events: key("events"),
  references: key("references"),
  relations: key("relations"),
  witness: key("witness"),
  asset_group_id: key("asset_group_id"),
  reference_indices: key("reference_indices"),
  mandatory_approvers: key("mandatory_approvers"),
  option_approver_num_numerator: key("option_approver_num_numerator"),
  option_approver_num_denominator: key("option_approver_num_denominator"),
  option_approvers: key("option_approvers"),
  asset: key("asset"),
  asset_id: key("asset_id"),
  user_id: key("user_id"),
  nonce: key("nonce"),
  asset_file_size: key("asset_file_size"),
  asset_file_digest: key("asset_file_digest"),
  asset_body_size: key("asset_body_size"),
  asset_body: key("asset_body"),
  transaction_id: key("transaction_id"),
  event_index_in_ref: key("event_index_in_ref"),
  sig_indices: key("sig_indices"),
  pointers: key("pointers"),
  user_ids: key("user_ids"),
  domain_id: key("domain_id"),
  key_type: key("key_type"),
  pubkey_len: key("pubkey_len"),
  pubkey: key("pubkey"),
  signature_len: key("signature_len"),
  signature: key("signature"),
  tx_base: key("tx_base"),
};

/**
 * One kind of dictionary of the transaction (its keys in order). `mpHeap` is what the generic
 * msgpack decoder charges to the budget for it: an object, its entries and its key strings
 * (each first a byte string).
 */
export interface MapKind {
  readonly keys: readonly Key[];
  readonly mpHeap: number;
}

function kind(...keys: Key[]): MapKind {
  let keysHeap = 0;
  for (const k of keys) keysHeap += HEAP.bytes + k.mp.length - 1;
  return { keys, mpHeap: HEAP.object + HEAP.objectEntry * keys.length + keysHeap };
}

export const M = {
  root: kind(K.transaction_base, K.cross_ref, K.signatures),
  rootV0: kind(K.transaction_base, K.signatures),
  base: kind(K.header, K.events, K.references, K.relations, K.witness),
  baseV0: kind(K.header, K.events, K.references, K.relations, K.witness, K.cross_ref),
  header: kind(K.version, K.timestamp, K.id_length),
  event: kind(
    K.asset_group_id,
    K.reference_indices,
    K.mandatory_approvers,
    K.option_approver_num_numerator,
    K.option_approver_num_denominator,
    K.option_approvers,
    K.asset,
  ),
  asset: kind(K.asset_id, K.user_id, K.nonce, K.asset_file_size, K.asset_file_digest, K.asset_body_size, K.asset_body),
  reference: kind(K.asset_group_id, K.transaction_id, K.event_index_in_ref, K.sig_indices),
  relation: kind(K.asset_group_id, K.pointers, K.asset),
  pointer: kind(K.transaction_id, K.asset_id),
  witness: kind(K.user_ids, K.sig_indices),
  crossRef: kind(K.domain_id, K.transaction_id),
  signatureEmpty: kind(K.key_type),
  signature: kind(K.key_type, K.pubkey_len, K.pubkey, K.signature_len, K.signature),
  forId: kind(K.tx_base, K.cross_ref),
};

// ------------------------------------------------------------------ writing

/** What the walk needs from an encoding. A field's value follows its {@link field} call. */
export interface TxWriter {
  /** Open a dictionary (as the value of the last field, or the root). */
  map(kind: MapKind): void;
  /** Close the last open dictionary. */
  end(): void;
  field(k: Key): void;
  /** A byte string, or nil for null. */
  raw(v: Uint8Array | null): void;
  /** An integer field (what the generic codec writes for any other number). */
  int(v: number): void;
  nil(): void;
  /** Open a list of `n` values; {@link item} before each. */
  list(n: number): void;
  item(i: number): void;
  endList(): void;
  /** Any other value (a dictionary asset body), as the generic codec writes it. */
  any(v: unknown): void;
}

function rawList(w: TxWriter, list: readonly Uint8Array[]): void {
  w.list(list.length);
  for (let i = 0; i < list.length; i++) {
    w.item(i);
    w.raw(list[i]);
  }
  w.endList();
}

function intList(w: TxWriter, list: readonly number[]): void {
  w.list(list.length);
  for (let i = 0; i < list.length; i++) {
    w.item(i);
    w.int(list[i]);
  }
  w.endList();
}

function writeAsset(w: TxWriter, a: BBcAsset | null): void {
  if (!a) return w.nil();
  w.map(M.asset);
  w.field(K.asset_id);
  w.raw(a.assetId);
  w.field(K.user_id);
  w.raw(a.userId);
  w.field(K.nonce);
  w.raw(a.nonce);
  w.field(K.asset_file_size);
  w.int(a.assetFileSize);
  w.field(K.asset_file_digest);
  w.raw(a.assetFileDigest);
  w.field(K.asset_body_size);
  w.int(a.assetBodySize);
  w.field(K.asset_body);
  const body = a.assetBody;
  if (body === null || body === undefined || body instanceof Uint8Array) w.raw(body ?? null);
  else w.any(body);
  w.end();
}

function writeCrossRef(w: TxWriter, c: BBcCrossRef | null): void {
  if (!c) return w.nil();
  w.map(M.crossRef);
  w.field(K.domain_id);
  w.raw(c.domainId);
  w.field(K.transaction_id);
  w.raw(c.transactionId);
  w.end();
}

/** The dictionary hashed for transaction_base_digest (with cross_ref inside for version 0 serializations). */
export function writeBase(w: TxWriter, tx: BBcTransaction, withCrossRef: boolean): void {
  w.map(withCrossRef ? M.baseV0 : M.base);
  w.field(K.header);
  w.map(M.header);
  w.field(K.version);
  w.int(tx.version);
  w.field(K.timestamp);
  w.int(tx.timestamp);
  w.field(K.id_length);
  w.int(tx.idLength);
  w.end();
  w.field(K.events);
  w.list(tx.events.length);
  for (let i = 0; i < tx.events.length; i++) {
    const e = tx.events[i];
    w.item(i);
    w.map(M.event);
    w.field(K.asset_group_id);
    w.raw(e.assetGroupId);
    w.field(K.reference_indices);
    intList(w, e.referenceIndices);
    w.field(K.mandatory_approvers);
    rawList(w, e.mandatoryApprovers);
    w.field(K.option_approver_num_numerator);
    w.int(e.optionApproverNumNumerator);
    w.field(K.option_approver_num_denominator);
    w.int(e.optionApproverNumDenominator);
    w.field(K.option_approvers);
    rawList(w, e.optionApprovers);
    w.field(K.asset);
    writeAsset(w, e.asset);
    w.end();
  }
  w.endList();
  w.field(K.references);
  w.list(tx.references.length);
  for (let i = 0; i < tx.references.length; i++) {
    const r = tx.references[i];
    w.item(i);
    w.map(M.reference);
    w.field(K.asset_group_id);
    w.raw(r.assetGroupId);
    w.field(K.transaction_id);
    w.raw(r.transactionId);
    w.field(K.event_index_in_ref);
    w.int(r.eventIndexInRef);
    w.field(K.sig_indices);
    intList(w, r.sigIndices);
    w.end();
  }
  w.endList();
  w.field(K.relations);
  w.list(tx.relations.length);
  for (let i = 0; i < tx.relations.length; i++) {
    const r = tx.relations[i];
    w.item(i);
    w.map(M.relation);
    w.field(K.asset_group_id);
    w.raw(r.assetGroupId);
    w.field(K.pointers);
    w.list(r.pointers.length);
    for (let j = 0; j < r.pointers.length; j++) {
      const p = r.pointers[j];
      w.item(j);
      w.map(M.pointer);
      w.field(K.transaction_id);
      w.raw(p.transactionId);
      w.field(K.asset_id);
      w.raw(p.assetId);
      w.end();
    }
    w.endList();
    w.field(K.asset);
    writeAsset(w, r.asset);
    w.end();
  }
  w.endList();
  w.field(K.witness);
  if (tx.witness) {
    w.map(M.witness);
    w.field(K.user_ids);
    rawList(w, tx.witness.userIds);
    w.field(K.sig_indices);
    intList(w, tx.witness.sigIndices);
    w.end();
  } else w.nil();
  if (withCrossRef) {
    w.field(K.cross_ref);
    writeCrossRef(w, tx.crossRef);
  }
  w.end();
}

function writeSignature(w: TxWriter, s: BBcSignature): void {
  if (s.notInitialized) {
    w.map(M.signatureEmpty);
    w.field(K.key_type);
    w.int(0);
    w.end();
    return;
  }
  const pub = s.pubkey ?? new Uint8Array(0);
  const sig = s.signature ?? new Uint8Array(0);
  w.map(M.signature);
  w.field(K.key_type);
  w.int(s.keyType);
  w.field(K.pubkey_len);
  w.int(pub.length * 8);
  w.field(K.pubkey);
  w.raw(pub);
  w.field(K.signature_len);
  w.int(sig.length * 8);
  w.field(K.signature);
  w.raw(sig);
  w.end();
}

/** The whole (uncompressed) body of `tx`. */
export function writeTransaction(w: TxWriter, tx: BBcTransaction): void {
  if (tx.version === 0) {
    w.map(M.rootV0);
    w.field(K.transaction_base);
    writeBase(w, tx, true);
  } else {
    w.map(M.root);
    w.field(K.transaction_base);
    writeBase(w, tx, false);
    w.field(K.cross_ref);
    writeCrossRef(w, tx.crossRef);
  }
  w.field(K.signatures);
  w.list(tx.signatures.length);
  for (let i = 0; i < tx.signatures.length; i++) {
    w.item(i);
    writeSignature(w, tx.signatures[i]);
  }
  w.endList();
  w.end();
}

/** { tx_base: digest, cross_ref }: the for-id dictionary. */
export function writeForId(w: TxWriter, tx: BBcTransaction, baseDigest: Uint8Array): void {
  w.map(M.forId);
  w.field(K.tx_base);
  w.raw(baseDigest);
  w.field(K.cross_ref);
  writeCrossRef(w, tx.crossRef);
  w.end();
}

// ------------------------------------------------------------------ reading

/** What the walk needs from an encoding; every method throws {@link GIVE_UP} on an unexpected byte. */
export interface TxReader {
  pos: number;
  /** Open a dictionary of `kind` (the value of the last field or list item, or the root). */
  map(kind: MapKind): void;
  /** Close it. */
  end(): void;
  /** The next key must be `k`. */
  field(k: Key): void;
  /** True (and consumed) when the value is nil. */
  nil(): boolean;
  /** A byte string, as a view into the reader's private buffer. */
  raw(): Uint8Array;
  /** A non-negative integer of at most 2^53, in its canonical form. */
  uint(): number;
  /** Open a list; returns its length, or -1 when only {@link more} knows it. */
  list(): number;
  /** Before item `i` of a list of length `n` (from {@link list}): false at the end (list closed). */
  more(i: number, n: number): boolean;
  rawList(): Uint8Array[];
  uintList(): number[];
  /** At a list item: is it the empty signature slot { key_type: 0 }? (nothing consumed) */
  peekEmptySignature(): boolean;
}

function rawOrNull(r: TxReader): Uint8Array | null {
  return r.nil() ? null : r.raw();
}

function readAsset(r: TxReader, formatType: FormatType, idLength: number): BBcAsset | null {
  if (r.nil()) return null;
  r.map(M.asset);
  r.field(K.asset_id);
  const assetId = rawOrNull(r);
  r.field(K.user_id);
  const userId = rawOrNull(r);
  r.field(K.nonce);
  const nonce = rawOrNull(r);
  if (nonce === null) throw GIVE_UP;
  const a = new BBcAsset({ formatType, idLength, nonce });
  a.assetId = assetId;
  a.userId = userId;
  r.field(K.asset_file_size);
  a.assetFileSize = r.uint();
  r.field(K.asset_file_digest);
  a.assetFileDigest = rawOrNull(r);
  r.field(K.asset_body_size);
  a.assetBodySize = r.uint();
  r.field(K.asset_body);
  a.assetBody = rawOrNull(r); // a dictionary body is left to the generic decoder
  r.end();
  return a;
}

function readCrossRef(r: TxReader, formatType: FormatType): BBcCrossRef | null {
  if (r.nil()) return null;
  r.map(M.crossRef);
  r.field(K.domain_id);
  const domainId = rawOrNull(r);
  r.field(K.transaction_id);
  const transactionId = rawOrNull(r);
  r.end();
  return new BBcCrossRef({ formatType, domainId, transactionId });
}

/** Where the dictionary of transaction_base starts and ends in the reader's buffer. */
export interface BaseRange {
  start: number;
  end: number;
}

/**
 * Read a whole body of version >= 1 (version 0 and anything unusual: {@link GIVE_UP}). The
 * caller sets transactionData and the digest; `base` receives the range of transaction_base
 * (for BSON the range starts at its document length, as the generic encoder's output would).
 */
export function readTransaction(r: TxReader, formatType: FormatType, base: BaseRange): BBcTransaction {
  r.map(M.root);
  r.field(K.transaction_base);
  base.start = r.pos;
  r.map(M.base);
  r.field(K.header);
  r.map(M.header);
  r.field(K.version);
  const version = r.uint();
  r.field(K.timestamp);
  const timestamp = r.uint();
  r.field(K.id_length);
  const idLength = r.uint();
  r.end();
  if (version === 0 || idLength < 1 || idLength > 32) throw GIVE_UP;
  const tx = new BBcTransaction({ formatType, idLength, version, timestamp });

  r.field(K.events);
  let n = r.list();
  for (let i = 0; r.more(i, n); i++) {
    r.map(M.event);
    const e = new BBcEvent({ formatType, idLength });
    r.field(K.asset_group_id);
    e.assetGroupId = rawOrNull(r);
    r.field(K.reference_indices);
    e.referenceIndices = r.uintList();
    r.field(K.mandatory_approvers);
    e.mandatoryApprovers = r.rawList();
    r.field(K.option_approver_num_numerator);
    e.optionApproverNumNumerator = r.uint();
    r.field(K.option_approver_num_denominator);
    e.optionApproverNumDenominator = r.uint();
    r.field(K.option_approvers);
    e.optionApprovers = r.rawList();
    r.field(K.asset);
    // v1.1.1 builds the event's asset with the default id_length (it only matters for binary).
    e.asset = readAsset(r, formatType, 32);
    r.end();
    tx.events.push(e);
  }
  r.field(K.references);
  n = r.list();
  for (let i = 0; r.more(i, n); i++) {
    r.map(M.reference);
    const ref = new BBcReference({ formatType, idLength, transaction: tx });
    r.field(K.asset_group_id);
    ref.assetGroupId = rawOrNull(r);
    r.field(K.transaction_id);
    ref.transactionId = rawOrNull(r);
    r.field(K.event_index_in_ref);
    ref.eventIndexInRef = r.uint();
    r.field(K.sig_indices);
    ref.sigIndices = r.uintList();
    r.end();
    tx.references.push(ref);
  }
  r.field(K.relations);
  n = r.list();
  for (let i = 0; r.more(i, n); i++) {
    r.map(M.relation);
    const rel = new BBcRelation({ formatType, idLength });
    r.field(K.asset_group_id);
    rel.assetGroupId = rawOrNull(r);
    r.field(K.pointers);
    const np = r.list();
    for (let j = 0; r.more(j, np); j++) {
      r.map(M.pointer);
      const p = new BBcPointer({ formatType, idLength });
      r.field(K.transaction_id);
      p.transactionId = rawOrNull(r);
      r.field(K.asset_id);
      p.assetId = rawOrNull(r);
      r.end();
      rel.pointers.push(p);
    }
    r.field(K.asset);
    rel.asset = readAsset(r, formatType, idLength);
    r.end();
    tx.relations.push(rel);
  }
  for (const e of tx.events) if (e.asset?.assetId && e.assetGroupId) tx.assetGroupIds.set(toHex(e.asset.assetId), e.assetGroupId);
  for (const rel of tx.relations) if (rel.asset?.assetId && rel.assetGroupId) tx.assetGroupIds.set(toHex(rel.asset.assetId), rel.assetGroupId);

  r.field(K.witness);
  if (!r.nil()) {
    r.map(M.witness);
    const w = new BBcWitness({ formatType, idLength });
    w.transaction = tx;
    r.field(K.user_ids);
    w.userIds = r.rawList();
    r.field(K.sig_indices);
    w.sigIndices = r.uintList();
    r.end();
    for (const u of w.userIds) tx.getSigIndex(u.length > idLength ? u.subarray(0, idLength) : u);
    tx.witness = w;
  }
  r.end();
  base.end = r.pos;
  r.field(K.cross_ref);
  tx.crossRef = readCrossRef(r, formatType);
  r.field(K.signatures);
  n = r.list();
  const sigs: BBcSignature[] = [];
  for (let i = 0; r.more(i, n); i++) sigs.push(readSignature(r, formatType));
  tx.signatures = sigs;
  r.end();
  return tx;
}

/** Read one signature dictionary (the empty slot is { key_type: 0 }). */
function readSignature(r: TxReader, formatType: FormatType): BBcSignature {
  const s = new BBcSignature({ formatType });
  if (r.peekEmptySignature()) {
    r.map(M.signatureEmpty);
    r.field(K.key_type);
    if (r.uint() !== 0) throw GIVE_UP;
    r.end();
    s.keyType = 0;
    return s;
  }
  r.map(M.signature);
  r.field(K.key_type);
  const keyType = r.uint();
  if (keyType === 0) throw GIVE_UP;
  s.keyType = keyType;
  r.field(K.pubkey_len);
  const pubLen = r.uint();
  r.field(K.pubkey);
  const pubkey = r.raw();
  r.field(K.signature_len);
  const sigLen = r.uint();
  r.field(K.signature);
  const signature = r.raw();
  r.end();
  if (pubLen !== pubkey.length * 8 || sigLen !== signature.length * 8) throw GIVE_UP;
  s.add({ pubkey, signature });
  return s;
}
