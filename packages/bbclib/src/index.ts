/**
 * @bbc1/bbclib: BBc-1 v1.1.1 transactions in TypeScript. Build, sign, serialize, deserialize
 * and validate transactions offline, byte-compatible with the Python reference.
 *
 * @example
 * ```ts
 * import { KeyPair, makeTransaction, addEventAsset, getNewId } from "@bbc1/bbclib";
 * const keys = KeyPair.generate();
 * const user = getNewId("user");
 * const tx = makeTransaction({ eventNum: 1, witness: true });
 * addEventAsset(tx, 0, getNewId("asset group"), user, { assetBody: "hello" });
 * tx.witness!.addWitness(user);
 * tx.addSignature(user, tx.sign(keys));
 * const bytes = tx.serialize();
 * ```
 * @packageDocumentation
 */
export { BbcLibError, type BbcLibErrorCode } from "./errors.js";
export { toHex, fromHex, bytesEqual, concatBytes } from "./bytes.js";
export {
  DEFAULT_ID_LEN,
  DOMAIN_GLOBAL_0,
  getNewId,
  getRandomId,
  getRandomValue,
  idToString,
  idStringToBytes,
} from "./ids.js";
export {
  BBcFormat,
  KeyType,
  BBcTransaction,
  BBcEvent,
  BBcReference,
  BBcRelation,
  BBcPointer,
  BBcAsset,
  BBcWitness,
  BBcCrossRef,
  BBcSignature,
  isFormatType,
  isMsgpackFormat,
  type FormatType,
  type AssetBody,
  type SigningKey,
  type PartOptions,
  type TransactionOptions,
} from "./model.js";
export {
  deserialize,
  serializeTransaction,
  DEFAULT_DESERIALIZE_OPTIONS,
  DEFAULT_MAX_TRANSACTION_BYTES,
  type DeserializeOptions,
} from "./serialize.js";
export { DEFAULT_DECODE_BUDGET, decodeAllowance, type DecodeAllowance, type DecodeBudget } from "./codec/budget.js";
export {
  makeTransaction,
  addEventAsset,
  addRelationAsset,
  addRelationPointer,
  addReferenceToTransaction,
  makeRelationWithAsset,
  addPointerInRelation,
  recoverSignatureObject,
  type MakeTransactionOptions,
  type AssetContent,
} from "./helpers.js";
export { validateTransaction, validateTransactionAsync, verifyUsingCrossRef, type ValidationResult, type AssetRef, type AssetFiles } from "./validate.js";
export { encodeSignatureBinary, decodeSignatureBinary, encodeCrossRefBinary, decodeCrossRefBinary } from "./codec/binary.js";
export { msgpackEncode, msgpackDecode, type MsgpackValue, type MsgpackMap, type MsgpackEncodeOptions, type MsgpackDecodeOptions } from "./codec/msgpack.js";
export { bsonEncode, bsonDecode, BsonDouble, type BsonDecodeOptions, type BsonDocument, type BsonValue } from "./codec/bson.js";
export {
  zlibCompress,
  zlibDecompress,
  bz2Compress,
  bz2Decompress,
  inflateAllowance,
  DEFAULT_MAX_INFLATED_BYTES,
  DEFAULT_MAX_INFLATE_RATIO,
  INFLATE_RATIO_FLOOR,
  type InflateLimits,
} from "./codec/compress.js";
export { sha256 } from "#sha256";
export { backend as cryptoBackend } from "#crypto-backend";
export type { CryptoBackend, CurveType } from "./crypto/backend.js";
export { KeyPair } from "./keypair.js";
