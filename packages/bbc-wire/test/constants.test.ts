import { describe, expect, it } from "vitest";
import {
  ADMIN_MSG_TYPES,
  DataHandlerCommand,
  Domain0Command,
  ErrorCode,
  InfraMessageCategory,
  KEY_TYPE_NAMES,
  KeyType,
  MsgType,
  NetworkCommand,
  PayloadType,
  RepairCommand,
  TopologyCommand,
  UserRoutingCommand,
  errorCodeName,
  isAdminMsgType,
  isKeyTypeName,
  keyTypeBytes,
  keyTypeName,
  msgTypeHasQueryId,
  msgTypeName,
  u16Bytes,
  u16FromBytes,
} from "../src/index.js";

// Transcribed from client-protocol.md §5 (independently of src/constants/msg-type.ts).
const MSG_TYPE_SPEC: [string, number][] = [
  ["REQUEST_SETUP_DOMAIN", 0], ["RESPONSE_SETUP_DOMAIN", 1], ["REQUEST_SET_STATIC_NODE", 4],
  ["RESPONSE_SET_STATIC_NODE", 5], ["REQUEST_GET_CONFIG", 8], ["RESPONSE_GET_CONFIG", 9],
  ["REQUEST_MANIP_LEDGER_SUBSYS", 10], ["RESPONSE_MANIP_LEDGER_SUBSYS", 11], ["DOMAIN_PING", 12],
  ["REQUEST_GET_DOMAINLIST", 13], ["RESPONSE_GET_DOMAINLIST", 14], ["REQUEST_INSERT_NOTIFICATION", 15],
  ["CANCEL_INSERT_NOTIFICATION", 16], ["REQUEST_GET_STATS", 17], ["RESPONSE_GET_STATS", 18],
  ["NOTIFY_DOMAIN_KEY_UPDATE", 19], ["REQUEST_GET_NEIGHBORLIST", 21], ["RESPONSE_GET_NEIGHBORLIST", 22],
  ["REQUEST_GET_USERS", 23], ["RESPONSE_GET_USERS", 24], ["REQUEST_GET_FORWARDING_LIST", 25],
  ["RESPONSE_GET_FORWARDING_LIST", 26], ["REQUEST_GET_NODEID", 27], ["RESPONSE_GET_NODEID", 28],
  ["REQUEST_GET_NOTIFICATION_LIST", 29], ["RESPONSE_GET_NOTIFICATION_LIST", 30], ["REQUEST_CLOSE_DOMAIN", 31],
  ["RESPONSE_CLOSE_DOMAIN", 32], ["REQUEST_ECDH_KEY_EXCHANGE", 33], ["RESPONSE_ECDH_KEY_EXCHANGE", 34],
  ["REGISTER", 64], ["UNREGISTER", 65], ["MESSAGE", 66], ["REQUEST_GATHER_SIGNATURE", 67],
  ["RESPONSE_GATHER_SIGNATURE", 68], ["REQUEST_SIGNATURE", 69], ["RESPONSE_SIGNATURE", 70],
  ["REQUEST_INSERT", 71], ["RESPONSE_INSERT", 72], ["NOTIFY_INSERTED", 73], ["NOTIFY_CROSS_REF", 74],
  ["REQUEST_SEARCH_TRANSACTION", 82], ["RESPONSE_SEARCH_TRANSACTION", 83], ["REQUEST_SEARCH_WITH_CONDITIONS", 86],
  ["RESPONSE_SEARCH_WITH_CONDITIONS", 87], ["REQUEST_TRAVERSE_TRANSACTIONS", 88], ["RESPONSE_TRAVERSE_TRANSACTIONS", 89],
  ["REQUEST_CROSS_REF_VERIFY", 90], ["RESPONSE_CROSS_REF_VERIFY", 91], ["REQUEST_CROSS_REF_LIST", 92],
  ["RESPONSE_CROSS_REF_LIST", 93], ["REQUEST_REPAIR", 94], ["REQUEST_COUNT_TRANSACTIONS", 95],
  ["RESPONSE_COUNT_TRANSACTIONS", 95], ["REQUEST_REGISTER_HASH_IN_SUBSYS", 128],
  ["RESPONSE_REGISTER_HASH_IN_SUBSYS", 129], ["REQUEST_VERIFY_HASH_IN_SUBSYS", 130], ["RESPONSE_VERIFY_HASH_IN_SUBSYS", 131],
];

// client-protocol.md Appendix B
const ERROR_SPEC: [string, number][] = [
  ["ESUCCESS", 0], ["EINVALID_COMMAND", -1], ["ENODESTINATION", -2], ["EUNAUTHORIZED_COMMAND", -3],
  ["ENOSUBSYSTEM", -4], ["ENOASSET", -11], ["EBADASSETDIGEST", -12], ["EASSET_INSERT", -13],
  ["ENOTRANSACTION", -14], ["EBADTRANSACTION", -15], ["EBADTXDIGEST", -16], ["EBADTXSIGNATURE", -17],
  ["ELEDGER_INSERT", -18], ["ESTORAGE_PUT", -19], ["ENOTINSTORAGE", -20], ["EBADKEYPAIR", -30],
  ["EBADSIGNNUMBER", -31], ["EOTHER", -255],
];

describe("KeyType", () => {
  it("has 73 unique names and codes", () => {
    expect(KEY_TYPE_NAMES.length).toBe(73);
    expect(new Set(KEY_TYPE_NAMES.map((n) => KeyType[n])).size).toBe(73);
  });

  it("is frozen", () => {
    expect(Object.isFrozen(KeyType)).toBe(true);
    expect(Object.isFrozen(KEY_TYPE_NAMES)).toBe(true);
    expect(() => {
      (KeyType as unknown as Record<string, number>).status = 5;
    }).toThrow(TypeError);
  });

  it("maps names <-> 4-byte keys", () => {
    expect(keyTypeBytes("domain_id")).toEqual(new Uint8Array([0, 0, 0, 0x50]));
    expect(keyTypeBytes("merkle_tree")).toEqual(new Uint8Array([0, 0, 0, 0xa3]));
    expect(keyTypeBytes("nope")).toBeUndefined();
    expect(keyTypeName(new Uint8Array([0, 0, 0, 0x7c]))).toBe("transaction_data_format");
    expect(keyTypeName(0x16)).toBe("nodekey_signature");
    expect(keyTypeName(new Uint8Array([0, 0, 0]))).toBeUndefined();
    expect(keyTypeName(new Uint8Array([0, 0, 1, 0x50]))).toBeUndefined();
    expect(isKeyTypeName("ecdh")).toBe(true);
    expect(isKeyTypeName("toString")).toBe(false);
  });

  it("returns copies of the wire keys", () => {
    const a = keyTypeBytes("status")!;
    a[3] = 9;
    expect(keyTypeBytes("status")).toEqual(new Uint8Array(4));
  });
});

describe("MsgType", () => {
  it("matches the spec table exactly", () => {
    expect(Object.entries(MsgType)).toEqual(MSG_TYPE_SPEC);
    expect(Object.isFrozen(MsgType)).toBe(true);
  });
  it("names values; 95 is the request", () => {
    expect(msgTypeName(71)).toBe("REQUEST_INSERT");
    expect(msgTypeName(95)).toBe("REQUEST_COUNT_TRANSACTIONS");
    expect(msgTypeName(2)).toBeUndefined();
  });
  it("admin commands and query-id commands", () => {
    expect(ADMIN_MSG_TYPES.length).toBe(14);
    expect(isAdminMsgType(MsgType.REQUEST_GET_NODEID)).toBe(true);
    expect(isAdminMsgType(MsgType.REQUEST_ECDH_KEY_EXCHANGE)).toBe(false);
    expect(msgTypeHasQueryId(MsgType.REQUEST_INSERT)).toBe(true);
    expect(msgTypeHasQueryId(MsgType.REGISTER)).toBe(false);
    expect(msgTypeHasQueryId(MsgType.REQUEST_REPAIR)).toBe(false);
    expect(Object.isFrozen(ADMIN_MSG_TYPES)).toBe(true);
  });
});

describe("other tables", () => {
  it("PayloadType", () => {
    expect(PayloadType).toEqual({ Type_binary: 0, Type_any: 1, Type_msgpack: 2, Type_encrypted_msgpack: 3 });
  });
  it("InfraMessageCategory and 2-byte encoding", () => {
    expect(Object.values(InfraMessageCategory)).toEqual([0, 1, 2, 3, 4]);
    expect(u16Bytes(InfraMessageCategory.CATEGORY_DOMAIN0)).toEqual(new Uint8Array([0, 4]));
    expect(u16Bytes(0x1234)).toEqual(new Uint8Array([0x12, 0x34]));
    expect(u16FromBytes(new Uint8Array([1, 2]))).toBe(0x102);
    expect(u16FromBytes(new Uint8Array([1]))).toBeUndefined();
    expect(u16FromBytes(3)).toBeUndefined();
    expect(() => u16Bytes(0x10000)).toThrowError(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
  });
  it("per-manager command codes (p2p-protocol.md §3.3, repair_manager)", () => {
    expect(NetworkCommand).toEqual({ NOTIFY_LEAVE: 0, REQUEST_KEY_EXCHANGE: 1, RESPONSE_KEY_EXCHANGE: 2, CONFIRM_KEY_EXCHANGE: 3 });
    expect(TopologyCommand).toEqual({ NOTIFY_NEIGHBOR_LIST: 0 });
    expect(Object.values(UserRoutingCommand)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(DataHandlerCommand.REPAIR_TRANSACTION_DATA).toBe(5);
    expect(DataHandlerCommand.REPLICATION_CROSS_REF).toBe(6);
    expect(Object.values(Domain0Command)).toEqual([0, 1, 2, 4, 5, 6]);
    expect(Object.values(RepairCommand)).toEqual([0, 1, 2, 3, 4, 5]);
    for (const t of [NetworkCommand, TopologyCommand, UserRoutingCommand, DataHandlerCommand, Domain0Command, RepairCommand, InfraMessageCategory, PayloadType, ErrorCode]) {
      expect(Object.isFrozen(t)).toBe(true);
    }
  });
  it("ErrorCode matches bbc_error.py (client-protocol.md Appendix B)", () => {
    expect(Object.entries(ErrorCode)).toEqual(ERROR_SPEC);
    expect(errorCodeName(-14)).toBe("ENOTRANSACTION");
    expect(errorCodeName(-5)).toBeUndefined();
  });
});
