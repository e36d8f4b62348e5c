/**
 * The transaction model of BBc-1 v1.1.1: BBcTransaction and its parts, with the reference's
 * semantics (truncated ids, signature slots, approvers). Byte formats live in `codec/`.
 */
import { backend } from "#crypto-backend";
import { sha256 } from "#sha256";
import { bytesEqual, toHex, utf8Encode } from "./bytes.js";
import { KeyType, type CurveType } from "./crypto/backend.js";
import { BbcLibError } from "./errors.js";
import { DEFAULT_ID_LEN, getRandomValue } from "./ids.js";
import type { BsonDocument } from "./codec/bson.js";
import { assetDigestInput, serializeTransaction, transactionForIdBytes } from "./serialize.js";

/** The serialization formats of v1.1.1 (the 2-byte little-endian prefix of a serialized transaction). */
export const BBcFormat = Object.freeze({
  FORMAT_BINARY: 0,
  FORMAT_BSON: 1,
  FORMAT_BSON_COMPRESS_BZ2: 2,
  FORMAT_BSON_COMPRESS_ZLIB: 3,
  FORMAT_MSGPACK: 4,
  FORMAT_MSGPACK_COMPRESS_BZ2: 5,
  FORMAT_MSGPACK_COMPRESS_ZLIB: 6,
} as const);

/** One of the {@link BBcFormat} values. */
export type FormatType = (typeof BBcFormat)[keyof typeof BBcFormat];

/** True for a {@link BBcFormat} value this library knows. */
export function isFormatType(v: number): v is FormatType {
  return Number.isInteger(v) && v >= 0 && v <= 6;
}

/** True for the msgpack family (4, 5, 6). */
export function isMsgpackFormat(f: number): boolean {
  return f === 4 || f === 5 || f === 6;
}

export { KeyType };

/**
 * An asset body: bytes (a string is stored as its UTF-8 bytes), or a dictionary, which v1.1.1
 * encodes as a BSON document inside binary transactions and as a map in BSON/msgpack ones.
 */
export type AssetBody = Uint8Array | BsonDocument;

/** Anything that can sign: a {@link KeyPair} or the same fields. */
export interface SigningKey {
  curveType: number;
  privateKey: Uint8Array | null;
  publicKey: Uint8Array | null;
}

function truncate(id: Uint8Array, idLength: number): Uint8Array {
  return id.length > idLength ? id.subarray(0, idLength).slice() : id;
}

/** Number of entries of a dictionary body (what v1.1.1 records as asset_body_size for a dict). */
function dictSize(d: BsonDocument): number {
  return d instanceof Map ? d.size : Object.keys(d).length;
}

/** Common construction options of the parts. */
export interface PartOptions {
  formatType?: FormatType;
  idLength?: number;
}

/** The asset of an event or relation: user, nonce, optional file (by digest) and body. */
export class BBcAsset {
  formatType: FormatType;
  idLength: number;
  assetId: Uint8Array | null = null;
  userId: Uint8Array | null = null;
  nonce: Uint8Array;
  assetFileSize = 0;
  /** The file content, kept only on the creating side; it travels separately from the transaction. */
  assetFile: Uint8Array | null = null;
  assetFileDigest: Uint8Array | null = null;
  assetBodySize = 0;
  assetBody: AssetBody | null = null;

  constructor(
    options: PartOptions & { userId?: Uint8Array; assetFile?: Uint8Array; assetBody?: AssetBody | string; nonce?: Uint8Array } = {},
  ) {
    this.formatType = options.formatType ?? BBcFormat.FORMAT_BINARY;
    this.idLength = options.idLength ?? DEFAULT_ID_LEN;
    // A decoder passes the nonce it read: no random bytes drawn for nothing.
    this.nonce = options.nonce ?? getRandomValue(DEFAULT_ID_LEN);
    if (options.userId) this.add({ userId: options.userId, assetFile: options.assetFile, assetBody: options.assetBody });
  }

  /** Set user, file and/or body, then recompute the asset id. */
  add(parts: { userId?: Uint8Array; assetFile?: Uint8Array; assetBody?: AssetBody | string }): this {
    if (parts.userId) this.userId = truncate(parts.userId, this.idLength);
    if (parts.assetFile) {
      this.assetFile = parts.assetFile;
      this.assetFileSize = parts.assetFile.length;
      this.assetFileDigest = truncate(sha256(parts.assetFile), this.idLength);
    }
    if (parts.assetBody !== undefined && parts.assetBody !== null) {
      // v1.1.1 stored len(str) (characters) for a str body, which breaks non-ASCII bodies in the
      // binary format; we store the UTF-8 byte length, identical for ASCII.
      const body = typeof parts.assetBody === "string" ? utf8Encode(parts.assetBody) : parts.assetBody;
      this.assetBody = body;
      this.assetBodySize = body instanceof Uint8Array ? body.length : dictSize(body);
    }
    this.digest();
    return this;
  }

  /** Compute and set the asset id: SHA-256 of the for-digest serialization, truncated to idLength. */
  digest(): Uint8Array {
    if (!this.userId) throw new BbcLibError("BAD_ARGUMENT", "asset has no user_id: cannot compute asset_id");
    this.assetId = truncate(sha256(assetDigestInput(this)), this.idLength);
    return this.assetId;
  }

  /** [digest, content] of the asset file, or [null, null] when there is none. */
  getAssetFile(): [Uint8Array | null, Uint8Array | null] {
    return this.assetFile ? [this.assetFileDigest, this.assetFile] : [null, null];
  }

  /** Attach `file` if its digest (truncated to `idLength`) matches the recorded one. */
  recoverAssetFile(file: Uint8Array, idLength = DEFAULT_ID_LEN): boolean {
    if (bytesEqual(truncate(sha256(file), idLength), this.assetFileDigest)) {
      this.assetFile = file;
      return true;
    }
    return false;
  }
}

/** An event: an asset in an asset group, with the approvers a later transaction needs. */
export class BBcEvent {
  formatType: FormatType;
  idLength: number;
  assetGroupId: Uint8Array | null = null;
  referenceIndices: number[] = [];
  mandatoryApprovers: Uint8Array[] = [];
  optionApproverNumNumerator = 0;
  optionApproverNumDenominator = 0;
  optionApprovers: Uint8Array[] = [];
  asset: BBcAsset | null = null;

  constructor(options: PartOptions & { assetGroupId?: Uint8Array } = {}) {
    this.formatType = options.formatType ?? BBcFormat.FORMAT_BINARY;
    this.idLength = options.idLength ?? DEFAULT_ID_LEN;
    if (options.assetGroupId) this.assetGroupId = truncate(options.assetGroupId, this.idLength);
  }

  /** Add parts, as v1.1.1's BBcEvent.add. */
  add(parts: {
    assetGroupId?: Uint8Array;
    referenceIndex?: number;
    mandatoryApprover?: Uint8Array;
    optionApproverNumNumerator?: number;
    optionApproverNumDenominator?: number;
    optionApprover?: Uint8Array;
    asset?: BBcAsset;
  }): this {
    if (parts.assetGroupId) this.assetGroupId = truncate(parts.assetGroupId, this.idLength);
    if (parts.referenceIndex !== undefined) this.referenceIndices.push(parts.referenceIndex);
    if (parts.mandatoryApprover) this.mandatoryApprovers.push(truncate(parts.mandatoryApprover, this.idLength));
    if (parts.optionApproverNumNumerator && parts.optionApproverNumNumerator > 0) this.optionApproverNumNumerator = parts.optionApproverNumNumerator;
    if (parts.optionApproverNumDenominator && parts.optionApproverNumDenominator > 0) this.optionApproverNumDenominator = parts.optionApproverNumDenominator;
    if (parts.optionApprover) this.optionApprovers.push(truncate(parts.optionApprover, this.idLength));
    if (parts.asset) this.asset = parts.asset;
    return this;
  }
}

/** A reference to an event of an earlier transaction, reserving signature slots for its approvers. */
export class BBcReference {
  formatType: FormatType;
  idLength: number;
  assetGroupId: Uint8Array | null = null;
  transactionId: Uint8Array | null = null;
  /** The transaction this reference belongs to (needed to reserve signature slots). */
  transaction: BBcTransaction | null;
  refTransaction: BBcTransaction | null = null;
  eventIndexInRef: number;
  sigIndices: number[] = [];
  mandatoryApprovers: Uint8Array[] | null = null;
  optionApprovers: Uint8Array[] | null = null;
  optionSigIds: Uint8Array[] = [];

  constructor(
    options: PartOptions & {
      assetGroupId?: Uint8Array | null;
      transaction?: BBcTransaction | null;
      refTransaction?: BBcTransaction | null;
      eventIndexInRef?: number;
    } = {},
  ) {
    this.formatType = options.formatType ?? BBcFormat.FORMAT_BINARY;
    this.idLength = options.idLength ?? DEFAULT_ID_LEN;
    if (options.assetGroupId) this.assetGroupId = truncate(options.assetGroupId, this.idLength);
    this.transaction = options.transaction ?? null;
    this.eventIndexInRef = options.eventIndexInRef ?? 0;
    if (options.refTransaction) this.prepareReference(options.refTransaction);
  }

  /**
   * Read the referred event: reserve a signature slot per mandatory approver and per
   * required option approver (numerator), and take the referred transaction's id.
   */
  prepareReference(refTransaction: BBcTransaction): void {
    this.refTransaction = refTransaction;
    const evt = refTransaction.events[this.eventIndexInRef];
    if (!evt) throw new BbcLibError("BAD_ARGUMENT", `referred transaction has no event ${this.eventIndexInRef}`);
    if (!this.transaction) throw new BbcLibError("BAD_ARGUMENT", "reference has no transaction to reserve signature slots in");
    for (const user of evt.mandatoryApprovers) this.sigIndices.push(this.transaction.getSigIndex(user));
    for (let i = 0; i < evt.optionApproverNumNumerator; i++) {
      const dummy = getRandomValue(4);
      this.optionSigIds.push(dummy);
      this.sigIndices.push(this.transaction.getSigIndex(dummy));
    }
    this.mandatoryApprovers = evt.mandatoryApprovers;
    this.optionApprovers = evt.optionApprovers;
    refTransaction.digest();
    this.transactionId = refTransaction.transactionId;
  }

  /** Put `signature` in the slot of `userId` (an option approver takes the next free option slot). */
  addSignature(userId: Uint8Array, signature: BBcSignature): void {
    if (!this.transaction) throw new BbcLibError("BAD_ARGUMENT", "reference has no transaction");
    let uid = userId;
    if (this.optionApprovers?.some((a) => bytesEqual(a, userId))) {
      const slot = this.optionSigIds.shift();
      if (!slot) return;
      uid = slot;
    }
    signature.formatType = this.transaction.formatType;
    this.transaction.addSignature(uid, signature);
  }

  /** {transaction_id hex: serialized referred transaction}. */
  getReferredTransaction(): Map<string, Uint8Array> {
    if (!this.refTransaction?.transactionId) throw new BbcLibError("BAD_ARGUMENT", "reference has no referred transaction");
    return new Map([[toHex(this.refTransaction.transactionId), this.refTransaction.serialize()]]);
  }

  /** The approvers of the referred event: mandatory ones, then option ones. */
  getDestinations(): Uint8Array[] {
    return [...(this.mandatoryApprovers ?? []), ...(this.optionApprovers ?? [])];
  }
}

/** A pointer from a relation to a transaction (and optionally one of its assets). */
export class BBcPointer {
  formatType: FormatType;
  /**
   * Width written in the binary length prefix of the ids. v1.1.1 decodes pointers of binary
   * transactions with the default 32 whatever the transaction's id_length: we keep that, so a
   * decoded transaction with shorter ids gets the same digest (and verdict) as in the reference.
   */
  idLength: number;
  transactionId: Uint8Array | null = null;
  assetId: Uint8Array | null = null;

  constructor(options: PartOptions & { transactionId?: Uint8Array | null; assetId?: Uint8Array | null } = {}) {
    this.formatType = options.formatType ?? BBcFormat.FORMAT_BINARY;
    this.idLength = options.idLength ?? DEFAULT_ID_LEN;
    if (options.transactionId) this.transactionId = truncate(options.transactionId, this.idLength);
    if (options.assetId) this.assetId = truncate(options.assetId, this.idLength);
  }

  add(parts: { transactionId?: Uint8Array; assetId?: Uint8Array }): this {
    if (parts.transactionId) this.transactionId = truncate(parts.transactionId, this.idLength);
    if (parts.assetId) this.assetId = truncate(parts.assetId, this.idLength);
    return this;
  }
}

/** A relation: an asset in an asset group, with pointers to other transactions. */
export class BBcRelation {
  formatType: FormatType;
  idLength: number;
  assetGroupId: Uint8Array | null = null;
  pointers: BBcPointer[] = [];
  asset: BBcAsset | null = null;

  constructor(options: PartOptions & { assetGroupId?: Uint8Array } = {}) {
    this.formatType = options.formatType ?? BBcFormat.FORMAT_BINARY;
    this.idLength = options.idLength ?? DEFAULT_ID_LEN;
    if (options.assetGroupId) this.assetGroupId = truncate(options.assetGroupId, this.idLength);
  }

  add(parts: { assetGroupId?: Uint8Array; asset?: BBcAsset; pointer?: BBcPointer | BBcPointer[] }): this {
    if (parts.assetGroupId) this.assetGroupId = truncate(parts.assetGroupId, this.idLength);
    if (parts.pointer) {
      if (Array.isArray(parts.pointer)) this.pointers.push(...parts.pointer);
      else this.pointers.push(parts.pointer);
    }
    if (parts.asset) this.asset = parts.asset;
    return this;
  }
}

/** Witnesses: users whose signatures the transaction carries without a reference requiring them. */
export class BBcWitness {
  formatType: FormatType;
  idLength: number;
  transaction: BBcTransaction | null = null;
  userIds: Uint8Array[] = [];
  sigIndices: number[] = [];

  constructor(options: PartOptions = {}) {
    this.formatType = options.formatType ?? BBcFormat.FORMAT_BINARY;
    this.idLength = options.idLength ?? DEFAULT_ID_LEN;
  }

  /** Register `userId` and reserve its signature slot. */
  addWitness(userId: Uint8Array): void {
    if (!this.transaction) throw new BbcLibError("BAD_ARGUMENT", "witness is not in a transaction yet (add it with tx.add({ witness }))");
    if (this.userIds.some((u) => bytesEqual(u, userId))) return;
    const uid = truncate(userId, this.idLength);
    this.userIds.push(uid);
    this.sigIndices.push(this.transaction.getSigIndex(uid));
  }

  /** Put `signature` in the slot reserved for `userId`. */
  addSignature(userId: Uint8Array, signature: BBcSignature): void {
    if (!this.transaction) throw new BbcLibError("BAD_ARGUMENT", "witness is not in a transaction");
    signature.formatType = this.transaction.formatType;
    this.transaction.addSignature(truncate(userId, this.idLength), signature);
  }
}

/** A cross reference: the id of a transaction in another domain. Its ids are always 32-byte wide. */
export class BBcCrossRef {
  formatType: FormatType;
  domainId: Uint8Array | null;
  transactionId: Uint8Array | null;

  constructor(options: { domainId?: Uint8Array | null; transactionId?: Uint8Array | null; formatType?: FormatType } = {}) {
    this.formatType = options.formatType ?? BBcFormat.FORMAT_BINARY;
    this.domainId = options.domainId ?? null;
    this.transactionId = options.transactionId ?? null;
  }
}

/** A signature slot: empty (reserved, "not initialized") or key type, public key and r||s. */
export class BBcSignature {
  formatType: FormatType;
  keyType: number;
  signature: Uint8Array | null = null;
  pubkey: Uint8Array | null = null;
  notInitialized = true;

  constructor(options: { keyType?: number; formatType?: FormatType } = {}) {
    this.formatType = options.formatType ?? BBcFormat.FORMAT_BINARY;
    this.keyType = options.keyType ?? KeyType.ECDSA_P256v1;
  }

  /** Set the signature bytes and/or the signer's public key. */
  add(parts: { signature?: Uint8Array; pubkey?: Uint8Array }): this {
    if (parts.signature) {
      this.notInitialized = false;
      this.signature = parts.signature;
    }
    if (parts.pubkey) this.pubkey = parts.pubkey;
    return this;
  }

  /** Verify over `digest` (v1.1.1 rules). False for an empty slot or an unknown key type. */
  verify(digest: Uint8Array): boolean {
    if (!this.pubkey || !this.signature) return false;
    if (this.keyType !== 1 && this.keyType !== 2) return false;
    return backend.verifyDigest(this.keyType as CurveType, this.pubkey, digest, this.signature);
  }

  /** Verify over SHA-256(`message`); equal to `verify(sha256(message))`, faster on Node. */
  verifyMessage(message: Uint8Array): boolean {
    if (!this.pubkey || !this.signature) return false;
    if (this.keyType !== 1 && this.keyType !== 2) return false;
    return backend.verifyMessage(this.keyType as CurveType, this.pubkey, message, this.signature);
  }

  /** {@link verifyMessage} with OpenSSL's work off this thread on Node (libuv's pool); the same verdict. Never rejects. */
  verifyMessageAsync(message: Uint8Array): Promise<boolean> {
    if (!this.pubkey || !this.signature) return Promise.resolve(false);
    if (this.keyType !== 1 && this.keyType !== 2) return Promise.resolve(false);
    return backend.verifyMessageAsync(this.keyType as CurveType, this.pubkey, message, this.signature);
  }
}

/** Options of a new {@link BBcTransaction}. */
export interface TransactionOptions {
  version?: number;
  formatType?: FormatType;
  idLength?: number;
  /** Seconds since the epoch; defaults to now. */
  timestamp?: number;
}

/** A transaction: events, references, relations, witness, cross reference and signatures. */
export class BBcTransaction {
  formatType: FormatType;
  idLength: number;
  version: number;
  /** Seconds since the epoch (v1.1.1 `int(time.time())`), an unsigned 64-bit field. */
  timestamp: number;
  events: BBcEvent[] = [];
  references: BBcReference[] = [];
  relations: BBcRelation[] = [];
  witness: BBcWitness | null = null;
  crossRef: BBcCrossRef | null = null;
  signatures: BBcSignature[] = [];
  /** user id (hex) -> index of its signature slot. */
  userIdSigIdxMapping = new Map<string, number>();
  transactionId: Uint8Array | null = null;
  transactionBaseDigest: Uint8Array | null = null;
  /** The bytes this transaction was deserialized from, or last serialized to. */
  transactionData: Uint8Array | null = null;
  /** asset id (hex) -> asset group id, filled by deserialization. */
  assetGroupIds = new Map<string, Uint8Array>();

  constructor(options: TransactionOptions = {}) {
    this.formatType = options.formatType ?? BBcFormat.FORMAT_BINARY;
    this.idLength = options.idLength ?? DEFAULT_ID_LEN;
    this.version = options.version ?? 1;
    this.timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
  }

  /** Add parts, as v1.1.1's BBcTransaction.add (events and relations take the transaction's format). */
  add(parts: {
    event?: BBcEvent | BBcEvent[];
    reference?: BBcReference | BBcReference[];
    relation?: BBcRelation | BBcRelation[];
    witness?: BBcWitness;
    crossRef?: BBcCrossRef;
  }): this {
    if (parts.event) {
      if (Array.isArray(parts.event)) this.events.push(...parts.event);
      else this.events.push(parts.event);
      for (const evt of this.events) {
        evt.formatType = this.formatType;
        if (evt.asset) evt.asset.formatType = this.formatType;
      }
    }
    if (parts.reference) {
      if (Array.isArray(parts.reference)) this.references.push(...parts.reference);
      else this.references.push(parts.reference);
    }
    if (parts.relation) {
      if (Array.isArray(parts.relation)) this.relations.push(...parts.relation);
      else this.relations.push(parts.relation);
      for (const rtn of this.relations) {
        rtn.formatType = this.formatType;
        for (const p of rtn.pointers) p.formatType = this.formatType;
        if (rtn.asset) rtn.asset.formatType = this.formatType;
      }
    }
    if (parts.witness) {
      parts.witness.transaction = this;
      this.witness = parts.witness;
    }
    if (parts.crossRef) this.crossRef = parts.crossRef;
    return this;
  }

  /** Index of the signature slot of `userId`, reserving a new (empty) slot on first use. */
  getSigIndex(userId: Uint8Array): number {
    const key = toHex(userId);
    let idx = this.userIdSigIdxMapping.get(key);
    if (idx === undefined) {
      idx = this.userIdSigIdxMapping.size;
      this.userIdSigIdxMapping.set(key, idx);
      this.signatures.push(new BBcSignature({ formatType: this.formatType }));
    }
    return idx;
  }

  /** Put `signature` in the slot reserved for `userId`; false when no slot was reserved. */
  addSignature(userId: Uint8Array, signature: BBcSignature): boolean {
    const idx = this.userIdSigIdxMapping.get(toHex(userId));
    if (idx === undefined) return false;
    this.signatures[idx] = signature;
    return true;
  }

  /** The bytes whose SHA-256 is the transaction digest (base digest + cross reference part). */
  forIdBytes(): Uint8Array {
    return transactionForIdBytes(this);
  }

  /** The 32-byte digest; also sets `transactionId` to it truncated to `idLength`. */
  digest(): Uint8Array {
    return this.setDigest(sha256(transactionForIdBytes(this)));
  }

  /** @internal Set the transaction id from a digest computed elsewhere (the decoder's fast path). */
  setDigest(d: Uint8Array): Uint8Array {
    this.transactionId = d.length > this.idLength ? d.slice(0, this.idLength) : d;
    return d;
  }

  /** The serialized transaction with its 2-byte format prefix. */
  serialize(): Uint8Array {
    this.transactionData = serializeTransaction(this);
    return this.transactionData;
  }

  /**
   * A signature of this transaction by `keypair` (not yet placed in a slot: use
   * {@link addSignature} or a reference's/witness's addSignature).
   */
  sign(keypair: SigningKey): BBcSignature {
    if (!keypair.privateKey || !keypair.publicKey) throw new BbcLibError("BAD_KEY", "key pair lacks a private or public key");
    if (keypair.curveType !== 1 && keypair.curveType !== 2) throw new BbcLibError("BAD_CURVE", `key type ${keypair.curveType} is not supported`);
    const message = transactionForIdBytes(this);
    const s = backend.signMessage(keypair.curveType, keypair.privateKey, message);
    const d = sha256(message);
    this.transactionId = d.slice(0, this.idLength);
    const sig = new BBcSignature({ keyType: keypair.curveType, formatType: this.formatType });
    sig.add({ signature: s, pubkey: keypair.publicKey });
    return sig;
  }
}
