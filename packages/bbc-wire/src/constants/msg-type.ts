/**
 * `MsgType`: client <-> core commands (bbc1 v1.1.1 `bbclib.MsgType`), carried as msgpack
 * integers in `command`. Note that REQUEST_COUNT_TRANSACTIONS and RESPONSE_COUNT_TRANSACTIONS
 * share the value 95 (a core treats an incoming 95 as a request).
 */
export const MsgType = Object.freeze({
  REQUEST_SETUP_DOMAIN: 0,
  RESPONSE_SETUP_DOMAIN: 1,
  REQUEST_SET_STATIC_NODE: 4,
  RESPONSE_SET_STATIC_NODE: 5,
  REQUEST_GET_CONFIG: 8,
  RESPONSE_GET_CONFIG: 9,
  REQUEST_MANIP_LEDGER_SUBSYS: 10,
  RESPONSE_MANIP_LEDGER_SUBSYS: 11,
  DOMAIN_PING: 12,
  REQUEST_GET_DOMAINLIST: 13,
  RESPONSE_GET_DOMAINLIST: 14,
  REQUEST_INSERT_NOTIFICATION: 15,
  CANCEL_INSERT_NOTIFICATION: 16,
  REQUEST_GET_STATS: 17,
  RESPONSE_GET_STATS: 18,
  NOTIFY_DOMAIN_KEY_UPDATE: 19,
  REQUEST_GET_NEIGHBORLIST: 21,
  RESPONSE_GET_NEIGHBORLIST: 22,
  REQUEST_GET_USERS: 23,
  RESPONSE_GET_USERS: 24,
  REQUEST_GET_FORWARDING_LIST: 25,
  RESPONSE_GET_FORWARDING_LIST: 26,
  REQUEST_GET_NODEID: 27,
  RESPONSE_GET_NODEID: 28,
  REQUEST_GET_NOTIFICATION_LIST: 29,
  RESPONSE_GET_NOTIFICATION_LIST: 30,
  REQUEST_CLOSE_DOMAIN: 31,
  RESPONSE_CLOSE_DOMAIN: 32,
  REQUEST_ECDH_KEY_EXCHANGE: 33,
  RESPONSE_ECDH_KEY_EXCHANGE: 34,

  REGISTER: 64,
  UNREGISTER: 65,
  MESSAGE: 66,

  REQUEST_GATHER_SIGNATURE: 67,
  RESPONSE_GATHER_SIGNATURE: 68,
  REQUEST_SIGNATURE: 69,
  RESPONSE_SIGNATURE: 70,
  REQUEST_INSERT: 71,
  RESPONSE_INSERT: 72,
  NOTIFY_INSERTED: 73,
  NOTIFY_CROSS_REF: 74,

  REQUEST_SEARCH_TRANSACTION: 82,
  RESPONSE_SEARCH_TRANSACTION: 83,
  REQUEST_SEARCH_WITH_CONDITIONS: 86,
  RESPONSE_SEARCH_WITH_CONDITIONS: 87,
  REQUEST_TRAVERSE_TRANSACTIONS: 88,
  RESPONSE_TRAVERSE_TRANSACTIONS: 89,
  REQUEST_CROSS_REF_VERIFY: 90,
  RESPONSE_CROSS_REF_VERIFY: 91,
  REQUEST_CROSS_REF_LIST: 92,
  RESPONSE_CROSS_REF_LIST: 93,
  REQUEST_REPAIR: 94,
  REQUEST_COUNT_TRANSACTIONS: 95,
  RESPONSE_COUNT_TRANSACTIONS: 95,

  REQUEST_REGISTER_HASH_IN_SUBSYS: 128,
  RESPONSE_REGISTER_HASH_IN_SUBSYS: 129,
  REQUEST_VERIFY_HASH_IN_SUBSYS: 130,
  RESPONSE_VERIFY_HASH_IN_SUBSYS: 131,
} as const);

/** A MsgType name. */
export type MsgTypeName = keyof typeof MsgType;
/** A MsgType value. */
export type MsgTypeValue = (typeof MsgType)[MsgTypeName];

const byValue = new Map<number, MsgTypeName>();
for (const [name, value] of Object.entries(MsgType) as [MsgTypeName, number][]) {
  if (!byValue.has(value)) byValue.set(value, name); // 95 -> REQUEST_COUNT_TRANSACTIONS
}

/** The name of a MsgType value (95 gives `REQUEST_COUNT_TRANSACTIONS`), or `undefined`. */
export function msgTypeName(value: number): MsgTypeName | undefined {
  return byValue.get(value);
}

/**
 * Commands that need the node key (`admin_info` + `nodekey_signature`) when the core has one
 * (bbc1 v1.1.1 `bbc_core.admin_message_commands`).
 */
export const ADMIN_MSG_TYPES: readonly number[] = Object.freeze([
  MsgType.REQUEST_GET_STATS,
  MsgType.REQUEST_GET_NEIGHBORLIST,
  MsgType.REQUEST_GET_CONFIG,
  MsgType.REQUEST_GET_DOMAINLIST,
  MsgType.REQUEST_GET_FORWARDING_LIST,
  MsgType.REQUEST_GET_USERS,
  MsgType.REQUEST_GET_NODEID,
  MsgType.REQUEST_GET_NOTIFICATION_LIST,
  MsgType.REQUEST_SETUP_DOMAIN,
  MsgType.REQUEST_CLOSE_DOMAIN,
  MsgType.NOTIFY_DOMAIN_KEY_UPDATE,
  MsgType.DOMAIN_PING,
  MsgType.REQUEST_SET_STATIC_NODE,
  MsgType.REQUEST_MANIP_LEDGER_SUBSYS,
]);

/**
 * Commands for which the Python client puts no `query_id` into the request
 * (bbc1 v1.1.1 `bbc_app.MESSAGE_WITH_NO_RESPONSE`).
 */
export const MSG_TYPES_WITHOUT_RESPONSE: readonly number[] = Object.freeze([
  MsgType.MESSAGE,
  MsgType.REGISTER,
  MsgType.UNREGISTER,
  MsgType.DOMAIN_PING,
  MsgType.REQUEST_INSERT_NOTIFICATION,
  MsgType.CANCEL_INSERT_NOTIFICATION,
  MsgType.REQUEST_REPAIR,
]);

/** True for an admin command ({@link ADMIN_MSG_TYPES}). */
export function isAdminMsgType(value: number): boolean {
  return ADMIN_MSG_TYPES.includes(value);
}

/** True when the Python client sends this command with a `query_id`. */
export function msgTypeHasQueryId(value: number): boolean {
  return !MSG_TYPES_WITHOUT_RESPONSE.includes(value);
}
