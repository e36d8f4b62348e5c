import { WireError } from "../errors.js";

/**
 * Payload types of the 8-byte frame header (bbc1 v1.1.1 `message_key_types.PayloadType`).
 * `Type_any` is an internal "encrypt if possible" marker of the reference and never appears on
 * the wire; decoders reject it as an unknown payload type.
 */
export const PayloadType = Object.freeze({
  Type_binary: 0,
  Type_any: 1,
  Type_msgpack: 2,
  Type_encrypted_msgpack: 3,
} as const);

/** A PayloadType value. */
export type PayloadTypeValue = (typeof PayloadType)[keyof typeof PayloadType];

/** Payload types a frame may carry on the wire (0 TLV, 2 msgpack, 3 encrypted msgpack). */
export type WirePayloadType = 0 | 2 | 3;

/** True for the payload types that can appear on the wire. */
export function isWirePayloadType(v: number): v is WirePayloadType {
  return v === 0 || v === 2 || v === 3;
}

/**
 * `InfraMessageCategory`: value of `infra_msg_type` in node-to-node messages. On the wire each
 * is a 2-byte big-endian **byte string** (see {@link u16Bytes}), not an integer.
 */
export const InfraMessageCategory = Object.freeze({
  CATEGORY_NETWORK: 0,
  CATEGORY_TOPOLOGY: 1,
  CATEGORY_USER: 2,
  CATEGORY_DATA: 3,
  CATEGORY_DOMAIN0: 4,
} as const);

/** An InfraMessageCategory value. */
export type InfraMessageCategoryValue = (typeof InfraMessageCategory)[keyof typeof InfraMessageCategory];

/** `command` values (2-byte strings) of CATEGORY_NETWORK messages (bbc1 v1.1.1 `BBcNetwork`). */
export const NetworkCommand = Object.freeze({
  NOTIFY_LEAVE: 0,
  REQUEST_KEY_EXCHANGE: 1,
  RESPONSE_KEY_EXCHANGE: 2,
  CONFIRM_KEY_EXCHANGE: 3,
} as const);

/** `command` values (2-byte strings) of CATEGORY_TOPOLOGY messages (`TopologyManagerBase`). */
export const TopologyCommand = Object.freeze({
  NOTIFY_NEIGHBOR_LIST: 0,
} as const);

/** `infra_command` values (2-byte strings) of CATEGORY_USER messages (`UserMessageRouting`). */
export const UserRoutingCommand = Object.freeze({
  RESOLVE_USER_LOCATION: 0,
  RESPONSE_USER_LOCATION: 1,
  RESPONSE_NO_SUCH_USER: 2,
  JOIN_MULTICAST_RECEIVER: 3,
  LEAVE_MULTICAST_RECEIVER: 4,
  CROSS_REF_ASSIGNMENT: 5,
} as const);

/** `infra_command` values (2-byte strings) of CATEGORY_DATA messages (`DataHandler`). */
export const DataHandlerCommand = Object.freeze({
  REQUEST_REPLICATION_INSERT: 0,
  RESPONSE_REPLICATION_INSERT: 1,
  REQUEST_SEARCH: 2,
  RESPONSE_SEARCH: 3,
  NOTIFY_INSERTED: 4,
  REPAIR_TRANSACTION_DATA: 5,
  REPLICATION_CROSS_REF: 6,
} as const);

/** `command` values (2-byte strings) of CATEGORY_DOMAIN0 messages (`Domain0Manager`; 3 is unused). */
export const Domain0Command = Object.freeze({
  ADV_DOMAIN_LIST: 0,
  DISTRIBUTE_CROSS_REF: 1,
  NOTIFY_CROSS_REF_REGISTERED: 2,
  REQUEST_VERIFY: 4,
  REQUEST_VERIFY_FROM_OUTER_DOMAIN: 5,
  RESPONSE_VERIFY_FROM_OUTER_DOMAIN: 6,
} as const);

/**
 * `command` values of repair messages (`RepairManager`). Unlike the other per-manager codes
 * these are msgpack **integers**, carried in DATA messages whose `infra_command` is
 * REPAIR_TRANSACTION_DATA.
 */
export const RepairCommand = Object.freeze({
  REQUEST_REPAIR_TRANSACTION: 0,
  REQUEST_REPAIR_ASSET_FILE: 1,
  REQUEST_TO_SEND_TRANSACTION_DATA: 2,
  RESPONSE_TRANSACTION_DATA: 3,
  REQUEST_TO_SEND_ASSET_FILE: 4,
  RESPONSE_ASSET_FILE: 5,
} as const);

/**
 * The 2-byte big-endian byte string the reference uses for categories and per-manager
 * commands (`to_2byte`), e.g. `u16Bytes(InfraMessageCategory.CATEGORY_USER)` is `00 02`.
 * Throws a `WireError` (`INVALID_ARGUMENT`) for a value outside 0..65535.
 */
export function u16Bytes(value: number): Uint8Array {
  if (!Number.isInteger(value) || value < 0 || value > 0xffff) {
    throw new WireError("INVALID_ARGUMENT", `u16Bytes: ${String(value)} is not an integer in 0..65535`);
  }
  return new Uint8Array([(value >>> 8) & 0xff, value & 0xff]);
}

/** Reads a 2-byte big-endian byte string back to its number, or `undefined` if not 2 bytes. */
export function u16FromBytes(value: unknown): number | undefined {
  if (!(value instanceof Uint8Array) || value.length !== 2) return undefined;
  return (value[0]! << 8) | value[1]!;
}
