/**
 * The dictionary form of a transaction that v1.1.1 packs with BSON (formats 1-3) or msgpack
 * (formats 4-6), and its compressed variants. Key order matters for the bytes and follows
 * the reference's get_dict() methods.
 */
import { sha256 } from "#sha256";
import { BbcLibError } from "../errors.js";
import { allocBytes, toHex } from "../bytes.js";
import { bsonDecode, bsonEncode, type BsonDocument, type BsonValue } from "./bson.js";
import { msgpackDecode, msgpackEncode, type MsgpackValue } from "./msgpack.js";
import { bz2Compress, bz2Decompress, zlibCompress, zlibDecompress, type InflateLimits } from "./compress.js";
import type { DecodeBudget } from "./budget.js";
import { decodeMsgpackTransactionFast, msgpackForIdBytes, msgpackTransactionBody } from "./dict-msgpack.js";
import { bsonForIdBytes, bsonTransactionBody, decodeBsonTransactionFast } from "./dict-bson.js";
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
  isMsgpackFormat,
  type AssetBody,
  type FormatType,
} from "../model.js";

type Dict = { [key: string]: unknown };

function pack(formatType: number, obj: Dict): Uint8Array {
  return isMsgpackFormat(formatType) ? msgpackEncode(obj as MsgpackValue) : bsonEncode(obj as BsonDocument);
}

function assetDict(a: BBcAsset): Dict {
  return {
    asset_id: a.assetId,
    user_id: a.userId,
    nonce: a.nonce,
    asset_file_size: a.assetFileSize,
    asset_file_digest: a.assetFileDigest,
    asset_body_size: a.assetBodySize,
    asset_body: a.assetBody,
  };
}

/** The bytes hashed for the asset id in the BSON and msgpack formats (always BSON, as v1.1.1). */
export function dictAssetDigestInput(a: BBcAsset): Uint8Array {
  return bsonEncode({
    user_id: a.userId,
    nonce: a.nonce,
    asset_file_size: a.assetFileSize,
    asset_file_digest: a.assetFileDigest,
    asset_body_size: a.assetBodySize,
    asset_body: a.assetBody,
  } as BsonDocument);
}

function eventDict(e: BBcEvent): Dict {
  return {
    asset_group_id: e.assetGroupId,
    reference_indices: e.referenceIndices,
    mandatory_approvers: e.mandatoryApprovers,
    option_approver_num_numerator: e.optionApproverNumNumerator,
    option_approver_num_denominator: e.optionApproverNumDenominator,
    option_approvers: e.optionApprovers,
    asset: e.asset ? assetDict(e.asset) : null,
  };
}

function referenceDict(r: BBcReference): Dict {
  return {
    asset_group_id: r.assetGroupId,
    transaction_id: r.transactionId,
    event_index_in_ref: r.eventIndexInRef,
    sig_indices: r.sigIndices,
  };
}

function relationDict(r: BBcRelation): Dict {
  return {
    asset_group_id: r.assetGroupId,
    pointers: r.pointers.map((p) => ({ transaction_id: p.transactionId, asset_id: p.assetId })),
    asset: r.asset ? assetDict(r.asset) : null,
  };
}

/** The dictionary of a cross reference. */
export function crossRefDict(c: BBcCrossRef): Dict {
  return { domain_id: c.domainId, transaction_id: c.transactionId };
}

function signatureDict(s: BBcSignature): Dict {
  if (s.notInitialized) return { key_type: 0 };
  const pub = s.pubkey ?? new Uint8Array(0);
  const sig = s.signature ?? new Uint8Array(0);
  return {
    key_type: s.keyType,
    pubkey_len: pub.length * 8,
    pubkey: pub,
    signature_len: sig.length * 8,
    signature: sig,
  };
}

function txBase(tx: BBcTransaction): Dict {
  return {
    header: { version: tx.version, timestamp: tx.timestamp, id_length: tx.idLength },
    events: tx.events.map(eventDict),
    references: tx.references.map(referenceDict),
    relations: tx.relations.map(relationDict),
    witness: tx.witness ? { user_ids: tx.witness.userIds, sig_indices: tx.witness.sigIndices } : null,
  };
}

/** The for-id bytes in the BSON/msgpack formats. Sets transactionBaseDigest. */
export function dictForIdBytes(tx: BBcTransaction): Uint8Array {
  return isMsgpackFormat(tx.formatType) ? msgpackForIdBytes(tx) : bsonForIdBytes(tx);
}

/** @internal The for-id bytes through the dictionaries (the reference for the direct codecs). */
export function dictForIdBytesGeneric(tx: BBcTransaction): Uint8Array {
  const base = sha256(pack(tx.formatType, txBase(tx)));
  tx.transactionBaseDigest = base;
  return pack(tx.formatType, { tx_base: base, cross_ref: tx.crossRef ? crossRefDict(tx.crossRef) : null });
}

/** The whole serialization in a BSON/msgpack format (compressed as the format says), prefix included. */
export function encodeTransactionDict(tx: BBcTransaction): Uint8Array {
  const f = tx.formatType;
  return withFormat(f, isMsgpackFormat(f) ? msgpackTransactionBody(tx) : bsonTransactionBody(tx));
}

/** Compress `body` as format `f` says and put the 2-byte prefix in front (a fresh array). */
function withFormat(f: FormatType, body: Uint8Array): Uint8Array {
  if (f === 2 || f === 5) body = bz2Compress(body);
  else if (f === 3 || f === 6) body = zlibCompress(body);
  const out = allocBytes(body.length + 2);
  out[0] = f & 0xff;
  out[1] = f >> 8;
  out.set(body, 2);
  return out;
}

/** @internal The whole serialization through the dictionaries (the reference for the direct codecs). */
export function encodeTransactionDictGeneric(tx: BBcTransaction): Uint8Array {
  const f = tx.formatType;
  const base = txBase(tx);
  const cross = tx.crossRef ? crossRefDict(tx.crossRef) : null;
  const signatures = tx.signatures.map(signatureDict);
  let body: Uint8Array;
  if (tx.version === 0) {
    base.cross_ref = cross;
    body = pack(f, { transaction_base: base, signatures });
  } else {
    body = pack(f, { transaction_base: base, cross_ref: cross, signatures });
  }
  if (f === 2 || f === 5) body = bz2Compress(body);
  else if (f === 3 || f === 6) body = zlibCompress(body);
  const out = new Uint8Array(body.length + 2);
  out[0] = f & 0xff;
  out[1] = f >> 8;
  out.set(body, 2);
  return out;
}

// ---------------------------------------------------------------- decoding

function bad(what: string): never {
  throw new BbcLibError("MALFORMED", what);
}

function isDict(v: unknown): v is Dict {
  return typeof v === "object" && v !== null && !(v instanceof Uint8Array) && !Array.isArray(v) && !(v instanceof Map);
}

function dict(v: unknown, what: string): Dict {
  if (v instanceof Map) {
    // Large maps decode as Map; no dictionary of a transaction has more than 7 keys.
    if (strictKeys && v.size > 16) bad(`${what} has ${v.size} keys`);
    return Object.fromEntries(v) as Dict;
  }
  if (!isDict(v)) bad(`${what} is not a dictionary`);
  return v;
}

/** Decoding context: strict mode demands the exact key set, in order, that v1.1.1 writes. */
let strictKeys = true;

function keysOf(v: Dict, expected: readonly string[], what: string): void {
  if (!strictKeys) return;
  const got = Object.keys(v);
  if (got.length !== expected.length || got.some((k, i) => k !== expected[i])) {
    bad(`${what} has keys [${got.join(", ")}], expected [${expected.join(", ")}]`);
  }
}

const ASSET_KEYS = ["asset_id", "user_id", "nonce", "asset_file_size", "asset_file_digest", "asset_body_size", "asset_body"];
const EVENT_KEYS = [
  "asset_group_id",
  "reference_indices",
  "mandatory_approvers",
  "option_approver_num_numerator",
  "option_approver_num_denominator",
  "option_approvers",
  "asset",
];
const REFERENCE_KEYS = ["asset_group_id", "transaction_id", "event_index_in_ref", "sig_indices"];
const RELATION_KEYS = ["asset_group_id", "pointers", "asset"];
const POINTER_KEYS = ["transaction_id", "asset_id"];
const SIGNATURE_KEYS = ["key_type", "pubkey_len", "pubkey", "signature_len", "signature"];
const HEADER_KEYS = ["version", "timestamp", "id_length"];
const BASE_KEYS = ["header", "events", "references", "relations", "witness"];
const WITNESS_KEYS = ["user_ids", "sig_indices"];
const CROSS_REF_KEYS = ["domain_id", "transaction_id"];

function optDict(v: unknown, what: string): Dict | null {
  return v === null || v === undefined ? null : dict(v, what);
}

function id(v: unknown, what: string): Uint8Array | null {
  if (v === null || v === undefined) return null;
  if (!(v instanceof Uint8Array)) bad(`${what} is not bytes`);
  return v;
}

function int(v: unknown, what: string, dflt = 0): number {
  if (v === undefined) return dflt;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0) bad(`${what} is not a non-negative integer`);
  return v;
}

function list(v: unknown, what: string): unknown[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) bad(`${what} is not a list`);
  return v;
}

function ids(v: unknown, what: string): Uint8Array[] {
  return list(v, what).map((x, i) => id(x, `${what}[${i}]`) ?? bad(`${what}[${i}] is null`));
}

function ints(v: unknown, what: string): number[] {
  return list(v, what).map((x, i) => int(x, `${what}[${i}]`));
}

function readAsset(v: Dict, formatType: FormatType, idLength: number): BBcAsset {
  keysOf(v, ASSET_KEYS, "asset");
  const nonce = id(v.nonce, "asset.nonce");
  if (!nonce) bad("asset.nonce is missing");
  const a = new BBcAsset({ formatType, idLength, nonce });
  a.assetId = id(v.asset_id, "asset.asset_id");
  a.userId = id(v.user_id, "asset.user_id");
  a.assetFileSize = int(v.asset_file_size, "asset.asset_file_size");
  a.assetFileDigest = id(v.asset_file_digest, "asset.asset_file_digest");
  a.assetBodySize = int(v.asset_body_size, "asset.asset_body_size");
  const body = v.asset_body;
  if (body === null || body === undefined) a.assetBody = null;
  else if (body instanceof Uint8Array || body instanceof Map || isDict(body)) a.assetBody = body as AssetBody;
  else bad("asset.asset_body is neither bytes nor a dictionary");
  return a;
}

function readEvent(v: Dict, f: FormatType, idLength: number): BBcEvent {
  keysOf(v, EVENT_KEYS, "event");
  const e = new BBcEvent({ formatType: f, idLength });
  e.assetGroupId = id(v.asset_group_id, "event.asset_group_id");
  e.referenceIndices = ints(v.reference_indices, "event.reference_indices");
  e.mandatoryApprovers = ids(v.mandatory_approvers, "event.mandatory_approvers");
  e.optionApproverNumNumerator = int(v.option_approver_num_numerator, "event.option_approver_num_numerator");
  e.optionApproverNumDenominator = int(v.option_approver_num_denominator, "event.option_approver_num_denominator");
  e.optionApprovers = ids(v.option_approvers, "event.option_approvers");
  const asset = optDict(v.asset, "event.asset");
  // v1.1.1 builds the asset with the default id_length here; it only matters for binary.
  e.asset = asset ? readAsset(asset, f, 32) : null;
  return e;
}

function readSignature(v: Dict, f: FormatType): BBcSignature {
  const s = new BBcSignature({ formatType: f });
  const keyType = int(v.key_type, "signature.key_type", -1);
  if (keyType < 0) bad("signature.key_type is missing");
  s.keyType = keyType;
  if (keyType === 0) {
    keysOf(v, ["key_type"], "empty signature");
    return s;
  }
  keysOf(v, SIGNATURE_KEYS, "signature");
  const pubkey = id(v.pubkey, "signature.pubkey");
  const signature = id(v.signature, "signature.signature");
  if (!pubkey || !signature) bad("signature lacks pubkey or signature");
  if (strictKeys && (v.pubkey_len !== pubkey.length * 8 || v.signature_len !== signature.length * 8)) {
    bad("signature.pubkey_len / signature_len do not match the lengths of pubkey / signature");
  }
  s.add({ pubkey, signature });
  return s;
}

/** What {@link decodeTransactionDict} takes from the options of deserialize. */
export interface DictDecodeOptions {
  maxInflatedBytes?: number;
  maxInflateRatio?: number;
  decodeBudget?: DecodeBudget;
  strictKeys?: boolean;
}

/**
 * Decode a BSON/msgpack transaction (`data` includes the 2-byte prefix). Computes the digest.
 * In strict mode the direct decoder of the format reads the canonical shape; anything else goes
 * through the dictionaries.
 */
export function decodeTransactionDict(data: Uint8Array, formatType: FormatType, options: DictDecodeOptions = {}): BBcTransaction {
  const strict = options.strictKeys ?? true;
  let body = data.subarray(2);
  const limits: InflateLimits = { maxBytes: options.maxInflatedBytes, maxRatio: options.maxInflateRatio };
  const compressed = formatType === 2 || formatType === 3 || formatType === 5 || formatType === 6;
  if (formatType === 2 || formatType === 5) body = bz2Decompress(body, limits);
  else if (formatType === 3 || formatType === 6) body = zlibDecompress(body, limits);
  if (strict) {
    const fast = isMsgpackFormat(formatType) ? decodeMsgpackTransactionFast : decodeBsonTransactionFast;
    const tx = fast(data, body, compressed, formatType, options.decodeBudget);
    if (tx !== undefined) return tx;
  }
  return decodeTransactionDictGeneric(data, body, formatType, options);
}

/** @internal The generic decoder through the dictionaries (`body` already inflated). */
export function decodeTransactionDictGeneric(data: Uint8Array, body: Uint8Array, formatType: FormatType, options: DictDecodeOptions = {}): BBcTransaction {
  strictKeys = options.strictKeys ?? true;
  try {
    return decodeDict(data, body, formatType, options);
  } finally {
    strictKeys = true;
  }
}

function decodeDict(data: Uint8Array, body: Uint8Array, formatType: FormatType, options: DictDecodeOptions): BBcTransaction {
  const budget = options.decodeBudget;
  const obj = (isMsgpackFormat(formatType) ? msgpackDecode(body, { canonical: strictKeys, decodeBudget: budget }) : bsonDecode(body, { decodeBudget: budget })) as unknown;
  const root = dict(obj, "transaction");
  const base = dict(root.transaction_base, "transaction_base");
  const header = dict(base.header, "transaction_base.header");
  keysOf(header, HEADER_KEYS, "header");
  const tx = new BBcTransaction({ formatType });
  tx.version = int(header.version, "header.version", -1);
  if (tx.version < 0) bad("header.version is missing");
  tx.timestamp = int(header.timestamp, "header.timestamp", -1);
  if (tx.timestamp < 0) bad("header.timestamp is missing");
  tx.idLength = int(header.id_length, "header.id_length", -1);
  if (tx.idLength < 0) bad("header.id_length is missing");
  if (tx.idLength < 1 || tx.idLength > 32) bad(`header.id_length ${tx.idLength} is outside 1..32`);
  const idLength = tx.idLength;
  if (tx.version === 0) {
    keysOf(root, ["transaction_base", "signatures"], "transaction");
    keysOf(base, [...BASE_KEYS, "cross_ref"], "transaction_base");
  } else {
    keysOf(root, ["transaction_base", "cross_ref", "signatures"], "transaction");
    keysOf(base, BASE_KEYS, "transaction_base");
  }

  tx.events = list(base.events, "events").map((e, i) => readEvent(dict(e, `events[${i}]`), formatType, idLength));
  tx.references = list(base.references, "references").map((x, i) => {
    const v = dict(x, `references[${i}]`);
    keysOf(v, REFERENCE_KEYS, "reference");
    const r = new BBcReference({ formatType, idLength, transaction: tx });
    r.assetGroupId = id(v.asset_group_id, "reference.asset_group_id");
    r.transactionId = id(v.transaction_id, "reference.transaction_id");
    r.eventIndexInRef = int(v.event_index_in_ref, "reference.event_index_in_ref");
    r.sigIndices = ints(v.sig_indices, "reference.sig_indices");
    return r;
  });
  tx.relations = list(base.relations, "relations").map((x, i) => {
    const v = dict(x, `relations[${i}]`);
    keysOf(v, RELATION_KEYS, "relation");
    const r = new BBcRelation({ formatType, idLength });
    r.assetGroupId = id(v.asset_group_id, "relation.asset_group_id");
    r.pointers = list(v.pointers, "relation.pointers").map((p, j) => {
      const pv = dict(p, `relation.pointers[${j}]`);
      keysOf(pv, POINTER_KEYS, "pointer");
      const ptr = new BBcPointer({ formatType, idLength });
      ptr.transactionId = id(pv.transaction_id, "pointer.transaction_id");
      ptr.assetId = id(pv.asset_id, "pointer.asset_id");
      return ptr;
    });
    const asset = optDict(v.asset, "relation.asset");
    r.asset = asset ? readAsset(asset, formatType, idLength) : null;
    return r;
  });
  for (const e of tx.events) if (e.asset?.assetId && e.assetGroupId) tx.assetGroupIds.set(toHex(e.asset.assetId), e.assetGroupId);
  for (const r of tx.relations) if (r.asset?.assetId && r.assetGroupId) tx.assetGroupIds.set(toHex(r.asset.assetId), r.assetGroupId);

  const wit = optDict(base.witness, "witness");
  if (wit) {
    keysOf(wit, WITNESS_KEYS, "witness");
    const w = new BBcWitness({ formatType, idLength });
    w.transaction = tx;
    w.userIds = ids(wit.user_ids, "witness.user_ids");
    w.sigIndices = ints(wit.sig_indices, "witness.sig_indices");
    for (const u of w.userIds) tx.getSigIndex(u.length > idLength ? u.subarray(0, idLength) : u);
    tx.witness = w;
  }
  const cross = optDict(tx.version === 0 ? base.cross_ref : root.cross_ref, "cross_ref");
  if (cross) {
    keysOf(cross, CROSS_REF_KEYS, "cross_ref");
    tx.crossRef = new BBcCrossRef({
      formatType,
      domainId: id(cross.domain_id, "cross_ref.domain_id"),
      transactionId: id(cross.transaction_id, "cross_ref.transaction_id"),
    });
  }
  tx.signatures = list(root.signatures, "signatures").map((s, i) => readSignature(dict(s, `signatures[${i}]`), formatType));
  tx.transactionData = data;
  tx.digest();
  return tx;
}

export type { BsonValue };
