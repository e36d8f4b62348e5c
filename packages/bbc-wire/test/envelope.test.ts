import { describe, expect, it } from "vitest";
import {
  InfraMessageCategory,
  MsgType,
  UserRoutingCommand,
  NetworkCommand,
  clientRequest,
  coreResponse,
  decodeFrame,
  encodeMessage,
  getBool,
  getBytes,
  getInt,
  getList,
  getMap,
  getText,
  infraMessage,
  msgTypeHasQueryId,
  nextQueryId,
  responseTo,
  type WireMessage,
} from "../src/index.js";
import { bytesToHex, wireErrorCode as code } from "./helpers.js";


const dom = new Uint8Array(32).fill(0xd0);
const user = new Uint8Array(32).fill(0x11);

describe("envelopes", () => {
  it("clientRequest: command, domain_id, source_user_id, status[, query_id] (bbc_app order)", () => {
    const m = clientRequest({ command: MsgType.REQUEST_SEARCH_TRANSACTION, domainId: dom, sourceUserId: user, queryId: new Uint8Array([5, 0]) });
    expect(Object.keys(m)).toEqual(["command", "domain_id", "source_user_id", "status", "query_id"]);
    expect(m.status).toBe(0);
    const reg = clientRequest({ command: MsgType.REGISTER, domainId: null, sourceUserId: user });
    expect(Object.keys(reg)).toEqual(["command", "domain_id", "source_user_id", "status"]);
    const f = encodeMessage(2, reg);
    expect(bytesToHex(f.subarray(8, 8 + 1 + 5 + 1 + 5 + 1))).toBe("84a40000000940a400000050c0");
    expect(code(() => clientRequest({ command: 1, domainId: null, sourceUserId: null, queryId: new Uint8Array(3) }))).toBe("INVALID_ARGUMENT");
  });

  it("coreResponse / responseTo: domain_id, command, destination_user_id, query_id, status (bbc_core order)", () => {
    const req = clientRequest({ command: MsgType.REQUEST_INSERT, domainId: dom, sourceUserId: user, queryId: new Uint8Array([9, 9]) });
    const r = responseTo(req, MsgType.RESPONSE_INSERT);
    expect(Object.keys(r)).toEqual(["domain_id", "command", "destination_user_id", "query_id", "status"]);
    expect(r).toEqual({ domain_id: dom, command: 72, destination_user_id: user, query_id: new Uint8Array([9, 9]), status: 0 });
    expect(responseTo({ command: 1 }, 2, -1)).toEqual({ domain_id: null, command: 2, destination_user_id: null, query_id: null, status: -1 });
    expect(coreResponse({ domainId: null, command: 34, destinationUserId: user, queryId: undefined }).query_id).toBeNull();
  });

  it("infraMessage: categories and commands as 2-byte strings", () => {
    const m = infraMessage({
      category: InfraMessageCategory.CATEGORY_USER,
      domainId: dom,
      destinationNodeId: new Uint8Array(32),
      infraCommand: UserRoutingCommand.JOIN_MULTICAST_RECEIVER,
    });
    expect(Object.keys(m)).toEqual(["infra_msg_type", "domain_id", "destination_node_id", "infra_command"]);
    expect(m.infra_msg_type).toEqual(new Uint8Array([0, 2]));
    expect(m.infra_command).toEqual(new Uint8Array([0, 3]));
    const n = infraMessage({ category: 0, domainId: dom, command: NetworkCommand.CONFIRM_KEY_EXCHANGE, sourceNodeId: new Uint8Array(32) });
    expect(n.command).toEqual(new Uint8Array([0, 3]));
    expect(Object.keys(n)).toEqual(["infra_msg_type", "domain_id", "command", "source_node_id"]);
    expect(decodeFrame(encodeMessage(2, n)).message).toEqual(n);
  });

  it("nextQueryId: 2-byte little-endian counter modulo 65536", () => {
    expect(nextQueryId(new Uint8Array([0, 0]))).toEqual(new Uint8Array([1, 0]));
    expect(nextQueryId(new Uint8Array([0xff, 0]))).toEqual(new Uint8Array([0, 1]));
    expect(nextQueryId(new Uint8Array([0xff, 0xff]))).toEqual(new Uint8Array([0, 0]));
    expect(code(() => nextQueryId(new Uint8Array(1)))).toBe("INVALID_ARGUMENT");
    expect(msgTypeHasQueryId(MsgType.MESSAGE)).toBe(false);
  });
});

describe("typed accessors", () => {
  const m: WireMessage = {
    command: 5,
    count: 2n ** 60n,
    result: true,
    reason: new TextEncoder().encode("héllo"),
    ipv4_address: "1.2.3.4",
    domain_id: null,
    query_id: new Uint8Array([1, 2]),
    transactions: [new Uint8Array(1)],
    stats: new Map([[new Uint8Array([1]), 2]]),
    message: new Uint8Array([0xff]),
  };
  it("return typed values; undefined when absent or nil", () => {
    expect(getInt(m, "command")).toBe(5);
    expect(getInt(m, "count")).toBe(2n ** 60n);
    expect(getBool(m, "result")).toBe(true);
    expect(getText(m, "reason")).toBe("héllo");
    expect(getText(m, "ipv4_address")).toBe("1.2.3.4");
    expect(getBytes(m, "query_id", 2)).toEqual(new Uint8Array([1, 2]));
    expect(getBytes(m, "domain_id")).toBeUndefined();
    expect(getBytes(m, "user_id")).toBeUndefined();
    expect(getList(m, "transactions")?.length).toBe(1);
    expect(getMap(m, "stats")?.size).toBe(1);
  });
  it("throw BAD_VALUE_TYPE for other types", () => {
    expect(code(() => getBytes(m, "command"))).toBe("BAD_VALUE_TYPE");
    expect(code(() => getBytes(m, "query_id", 3))).toBe("BAD_VALUE_TYPE");
    expect(code(() => getInt(m, "result"))).toBe("BAD_VALUE_TYPE");
    expect(code(() => getBool(m, "command"))).toBe("BAD_VALUE_TYPE");
    expect(code(() => getText(m, "message"))).toBe("BAD_VALUE_TYPE");
    expect(code(() => getText(m, "command"))).toBe("BAD_VALUE_TYPE");
    expect(code(() => getList(m, "stats"))).toBe("BAD_VALUE_TYPE");
    expect(code(() => getMap(m, "transactions"))).toBe("BAD_VALUE_TYPE");
  });
});
