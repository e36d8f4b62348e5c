/** Transaction builders for the tests: real bbclib transactions, as the core would hand them over. */
import { KeyPair, addEventAsset, addReferenceToTransaction, addRelationAsset, addRelationPointer, deserialize, getRandomId, makeTransaction, validateTransaction, validateTransactionAsync, type BBcTransaction } from "@bbc1/bbclib";

export interface TxSpec {
  assetGroupId: Uint8Array;
  userId: Uint8Array;
  body?: string;
  file?: Uint8Array;
  /** Relation (with an asset in relationGroupId) pointing to these transactions. */
  pointTo?: Uint8Array[];
  relationGroupId?: Uint8Array;
  relationUserId?: Uint8Array;
  /** Add a BBcReference to event 0 of this transaction. */
  reference?: BBcTransaction;
}

/** Build, serialize and deserialize again (so transactionData / transactionId are what the core would have). */
export function makeTx(spec: TxSpec): BBcTransaction {
  const withRelation = spec.pointTo !== undefined || spec.relationGroupId !== undefined;
  const tx = makeTransaction({ eventNum: 1, relationNum: withRelation ? 1 : 0 });
  addEventAsset(tx, 0, spec.assetGroupId, spec.userId, { assetBody: spec.body ?? `body ${Math.random()}`, ...(spec.file ? { assetFile: spec.file } : {}) });
  if (withRelation) {
    addRelationAsset(tx, 0, spec.relationGroupId ?? spec.assetGroupId, spec.relationUserId ?? spec.userId, { assetBody: `rel ${Math.random()}` });
    for (const p of spec.pointTo ?? []) addRelationPointer(tx, 0, p, null);
  }
  if (spec.reference) addReferenceToTransaction(tx, spec.assetGroupId, spec.reference, 0);
  return deserialize(tx.serialize());
}

export const newId = (): Uint8Array => getRandomId();

const signer = KeyPair.generate();

/** A transaction signed by its user (witness and signature), or with `forged` a signature that does not verify. */
export function makeSignedTx(spec: TxSpec, forged = false): BBcTransaction {
  const tx = makeTransaction({ eventNum: 1, witness: true });
  addEventAsset(tx, 0, spec.assetGroupId, spec.userId, { assetBody: spec.body ?? `signed ${Math.random()}`, ...(spec.file ? { assetFile: spec.file } : {}) });
  tx.witness!.addWitness(spec.userId);
  tx.addSignature(spec.userId, tx.sign(signer));
  if (forged) tx.signatures[0]!.signature![9] ^= 0x21;
  return deserialize(tx.serialize());
}

/** The signature check a core would hand to the store (`InsertOptions.verifySignatures`). */
export const signaturesOf = (tx: BBcTransaction) => (): boolean => validateTransaction(tx).valid;

/** The same check verified on libuv's pool (a promise), as `@bbc1/core` hands it over. */
export const signaturesOnPool = (tx: BBcTransaction) => async (): Promise<boolean> => (await validateTransactionAsync(tx)).valid;
