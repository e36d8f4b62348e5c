/**
 * @bbc1/wire: BBc-1 v1.1.1 messages on the wire.
 *
 * - constant tables: {@link KeyType}, {@link MsgType}, {@link PayloadType},
 *   {@link InfraMessageCategory}, per-manager command codes, {@link ErrorCode};
 * - the 8-byte frame header, {@link encodeMessage}, {@link decodeFrame}, {@link decodePayload};
 * - streaming {@link FrameParser} / {@link MessageParser};
 * - payload codecs: TLV (type 0), msgpack (type 2), encrypted msgpack (type 3) with
 *   {@link KeyRegistry}, P-384 ECDH and HKDF-SHA256;
 * - key exchange helpers ({@link createKeyExchangeOffer}, {@link acceptKeyExchange},
 *   {@link completeKeyExchange}, {@link answerClientKeyExchange});
 * - a per-connection codec for servers and clients ({@link WireConnection});
 * - envelope builders and typed accessors;
 * - resource-budget primitives shared by the client and P2P ports ({@link ByteBudget},
 *   {@link TokenBucket}, {@link KeyedSlots}, {@link RefusalCounter}).
 *
 * @packageDocumentation
 */
export { WireError, isWireError, type WireErrorCode } from "./errors.js";
export {
  KeyType,
  KEY_TYPE_NAMES,
  isKeyTypeName,
  keyTypeBytes,
  keyTypeName,
  type KeyTypeName,
} from "./constants/key-type.js";
export {
  MsgType,
  ADMIN_MSG_TYPES,
  MSG_TYPES_WITHOUT_RESPONSE,
  isAdminMsgType,
  msgTypeHasQueryId,
  msgTypeName,
  type MsgTypeName,
  type MsgTypeValue,
} from "./constants/msg-type.js";
export {
  PayloadType,
  InfraMessageCategory,
  NetworkCommand,
  TopologyCommand,
  UserRoutingCommand,
  DataHandlerCommand,
  Domain0Command,
  RepairCommand,
  isWirePayloadType,
  u16Bytes,
  u16FromBytes,
  type PayloadTypeValue,
  type WirePayloadType,
  type InfraMessageCategoryValue,
} from "./constants/infra.js";
export { ErrorCode, errorCodeName, type ErrorCodeName } from "./constants/status.js";
export {
  getBool,
  getBytes,
  getInt,
  getList,
  getMap,
  getText,
  type WireMessage,
  type WireValue,
} from "./message.js";
export { HEADER_LENGTH, decodeHeader, encodeHeader, type FrameHeader } from "./header.js";
export { DEFAULT_MAX_DEPTH, decodeTlv, encodeTlv, type MapDecodeOptions } from "./tlv.js";
export { DEFAULT_DECODE_BUDGET, decodeAllowance, type DecodeAllowance, type DecodeBudget } from "@bbc1/bbclib";
export { decodeMsgpack, encodeMsgpack } from "./msgpack.js";
export {
  DEFAULT_MAX_MESSAGE_SIZE,
  decodeFrame,
  decodePayload,
  encodeMessage,
  encodePayload,
  splitFrame,
  type DecodeOptions,
  type DecodedFrame,
  type EncodeOptions,
  type Frame,
} from "./codec.js";
export {
  FrameParser,
  MessageParser,
  DEFAULT_BUDGET_ALLOWANCE,
  type FrameParserOptions,
  type MessageParserOptions,
  type ParsedMessage,
} from "./parser.js";
export {
  AesCtrStream,
  KeyRegistry,
  deriveSharedKey,
  generateEcdhKeyPair,
  ECDH_PUBLIC_KEY_LENGTH,
  KEY_NAME_LENGTH,
  NONCE_LENGTH,
  SHARED_KEY_LENGTH,
  type CipherEntry,
  type EcdhKeyPair,
} from "./crypto.js";
export {
  clientRequest,
  coreResponse,
  infraMessage,
  nextQueryId,
  responseTo,
  type ClientRequestFields,
  type CoreResponseFields,
  type InfraMessageFields,
} from "./envelope.js";
export {
  KEY_EXCHANGE_RANDOM_LENGTH,
  acceptKeyExchange,
  answerClientKeyExchange,
  completeKeyExchange,
  createKeyExchangeOffer,
  keyExchangeValues,
  type AcceptedKeyExchange,
  type KeyExchangeOffer,
  type KeyExchangeValues,
} from "./key-exchange.js";
export { WireConnection, type WireConnectionOptions } from "./connection.js";
export { ByteBudget, KeyedSlots, RefusalCounter, TokenBucket, type LimitName, type NowFn } from "./limits.js";
export { peekCommand, peekEnvelope, type PeekOptions, type PeekedEnvelope } from "./peek.js";
