/**
 * Construction helpers of v1.1.1 (make_transaction, add_event_asset, ...), as free functions.
 */
import { DEFAULT_ID_LEN } from "./ids.js";
import { BbcLibError } from "./errors.js";
import {
  BBcAsset,
  BBcEvent,
  BBcPointer,
  BBcReference,
  BBcRelation,
  BBcSignature,
  BBcTransaction,
  BBcWitness,
  BBcFormat,
  type AssetBody,
  type FormatType,
} from "./model.js";
import { decodeSignatureBinary } from "./codec/binary.js";

/** Options of {@link makeTransaction}. */
export interface MakeTransactionOptions {
  eventNum?: number;
  relationNum?: number;
  witness?: boolean;
  formatType?: FormatType;
  idLength?: number;
  version?: number;
}

/** A transaction with `eventNum` events (each with an empty asset), `relationNum` relations and optionally a witness. */
export function makeTransaction(options: MakeTransactionOptions = {}): BBcTransaction {
  const formatType = options.formatType ?? BBcFormat.FORMAT_BINARY;
  const idLength = options.idLength ?? DEFAULT_ID_LEN;
  const tx = new BBcTransaction({ formatType, idLength, version: options.version });
  for (let i = 0; i < (options.eventNum ?? 0); i++) {
    const evt = new BBcEvent({ formatType, idLength });
    evt.add({ asset: new BBcAsset({ formatType, idLength }) });
    tx.add({ event: evt });
  }
  for (let i = 0; i < (options.relationNum ?? 0); i++) tx.add({ relation: new BBcRelation({ formatType, idLength }) });
  if (options.witness) tx.add({ witness: new BBcWitness({ formatType, idLength }) });
  return tx;
}

/** Asset contents for the add_* helpers. */
export interface AssetContent {
  assetBody?: AssetBody | string;
  assetFile?: Uint8Array;
}

function part<T>(list: T[], idx: number, what: string): T {
  const p = list[idx];
  if (!p) throw new BbcLibError("BAD_ARGUMENT", `transaction has no ${what} ${idx}`);
  return p;
}

/** Give event `eventIdx` an asset of `userId` in `assetGroupId` (add_event_asset). */
export function addEventAsset(tx: BBcTransaction, eventIdx: number, assetGroupId: Uint8Array, userId: Uint8Array, content: AssetContent = {}): void {
  const asset = new BBcAsset({ userId, ...content, formatType: tx.formatType, idLength: tx.idLength });
  part(tx.events, eventIdx, "event").add({ assetGroupId, asset });
}

/** Give relation `relationIdx` an asset of `userId` in `assetGroupId` (add_relation_asset). */
export function addRelationAsset(tx: BBcTransaction, relationIdx: number, assetGroupId: Uint8Array, userId: Uint8Array, content: AssetContent = {}): void {
  const asset = new BBcAsset({ userId, ...content, formatType: tx.formatType, idLength: tx.idLength });
  part(tx.relations, relationIdx, "relation").add({ assetGroupId, asset });
}

/** Add a pointer to relation `relationIdx` (add_relation_pointer). */
export function addRelationPointer(tx: BBcTransaction, relationIdx: number, refTransactionId?: Uint8Array | null, refAssetId?: Uint8Array | null): void {
  const pointer = new BBcPointer({ transactionId: refTransactionId, assetId: refAssetId, formatType: tx.formatType, idLength: tx.idLength });
  part(tx.relations, relationIdx, "relation").add({ pointer });
}

/**
 * Add a reference to event `eventIndexInRef` of `refTransaction`, reserving signature slots for
 * its approvers (add_reference_to_transaction). Returns the reference.
 */
export function addReferenceToTransaction(tx: BBcTransaction, assetGroupId: Uint8Array, refTransaction: BBcTransaction, eventIndexInRef: number): BBcReference {
  const ref = new BBcReference({
    assetGroupId,
    transaction: tx,
    refTransaction,
    eventIndexInRef,
    formatType: tx.formatType,
    idLength: tx.idLength,
  });
  tx.add({ reference: ref });
  return ref;
}

/** A relation with an asset (make_relation_with_asset). */
export function makeRelationWithAsset(
  assetGroupId: Uint8Array,
  userId: Uint8Array,
  content: AssetContent = {},
  options: { formatType?: FormatType; idLength?: number } = {},
): BBcRelation {
  const formatType = options.formatType ?? BBcFormat.FORMAT_BINARY;
  const idLength = options.idLength ?? DEFAULT_ID_LEN;
  const relation = new BBcRelation({ formatType, idLength });
  relation.add({ assetGroupId, asset: new BBcAsset({ userId, ...content, formatType, idLength }) });
  return relation;
}

/** Add a pointer to `relation` (add_pointer_in_relation). */
export function addPointerInRelation(relation: BBcRelation, refTransactionId?: Uint8Array | null, refAssetId?: Uint8Array | null): void {
  relation.add({ pointer: new BBcPointer({ transactionId: refTransactionId, assetId: refAssetId, formatType: relation.formatType, idLength: relation.idLength }) });
}

/** A signature from its binary serialization (recover_signature_object). */
export function recoverSignatureObject(data: Uint8Array): BBcSignature {
  return decodeSignatureBinary(data);
}
