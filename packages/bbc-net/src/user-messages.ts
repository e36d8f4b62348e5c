import { DataHandlerCommand, InfraMessageCategory, MsgType, UserRoutingCommand, getBool, getBytes, u16Bytes, type WireMessage } from "@bbc1/wire";
import { NetError } from "./errors.js";

/**
 * Builders of the user-routing messages (§8.4–§8.5) and NOTIFY_INSERTED (§9.4) with the key
 * order of v1.1.1 (it decides the bytes, §18.3). The sender adds `destination_node_id` (per
 * broadcast copy) and `source_node_id` last. At the end, the checked readers of received USER
 * messages' fields.
 */

const USER = u16Bytes(InfraMessageCategory.CATEGORY_USER);
const DATA = u16Bytes(InfraMessageCategory.CATEGORY_DATA);

/** `infra_msg_type` 00 02. */
export function categoryUser(): Uint8Array {
  return USER.slice();
}

/** RESOLVE_USER_LOCATION (broadcast): who hosts `destinationUserId`? `nonce` names the waiting messages. */
export function buildResolve(domainId: Uint8Array, destinationUserId: Uint8Array, sourceUserId: Uint8Array | null, nonce: number | null): WireMessage {
  const m: WireMessage = {
    infra_msg_type: USER.slice(),
    domain_id: domainId,
    infra_command: u16Bytes(UserRoutingCommand.RESOLVE_USER_LOCATION),
    destination_user_id: destinationUserId,
  };
  if (nonce !== null) m.nonce = nonce;
  if (sourceUserId !== null) m.source_user_id = sourceUserId;
  return m;
}

/**
 * RESPONSE_USER_LOCATION: the received RESOLVE rewritten in place (its key order kept):
 * back to its sender node, addressed to the asking user, from the found user.
 */
export function buildResolveResponse(resolve: WireMessage, senderNodeId: Uint8Array, foundUserId: Uint8Array): WireMessage {
  const m: WireMessage = { ...resolve };
  m.destination_node_id = senderNodeId;
  if (resolve.source_user_id !== undefined) m.destination_user_id = resolve.source_user_id;
  m.source_user_id = foundUserId;
  m.infra_command = u16Bytes(UserRoutingCommand.RESPONSE_USER_LOCATION);
  return m;
}

/** RESPONSE_NO_SUCH_USER to the node that forwarded a message for `userId`. */
export function buildNoSuchUser(domainId: Uint8Array, toNodeId: Uint8Array, userId: Uint8Array): WireMessage {
  return {
    domain_id: domainId,
    infra_msg_type: USER.slice(),
    destination_node_id: toNodeId,
    infra_command: u16Bytes(UserRoutingCommand.RESPONSE_NO_SUCH_USER),
    user_id: userId,
  };
}

/** JOIN_MULTICAST_RECEIVER (broadcast); `staticEntry` true = permanent (insert notifications). */
export function buildJoin(domainId: Uint8Array, userId: Uint8Array, staticEntry: boolean): WireMessage {
  return {
    infra_msg_type: USER.slice(),
    domain_id: domainId,
    infra_command: u16Bytes(UserRoutingCommand.JOIN_MULTICAST_RECEIVER),
    user_id: userId,
    static_entry: staticEntry,
  };
}

/** LEAVE_MULTICAST_RECEIVER (broadcast). */
export function buildLeave(domainId: Uint8Array, userId: Uint8Array): WireMessage {
  return {
    domain_id: domainId,
    infra_msg_type: USER.slice(),
    infra_command: u16Bytes(UserRoutingCommand.LEAVE_MULTICAST_RECEIVER),
    user_id: userId,
  };
}

/** NOTIFY_INSERTED (DATA 00 04) for a node that joined one of `assetGroupIds`. */
export function buildNotifyInserted(domainId: Uint8Array, transactionId: Uint8Array, assetGroupIds: readonly Uint8Array[]): WireMessage {
  return {
    domain_id: domainId,
    infra_command: u16Bytes(DataHandlerCommand.NOTIFY_INSERTED),
    command: MsgType.NOTIFY_INSERTED,
    transaction_id: transactionId,
    asset_group_ids: [...assetGroupIds],
    infra_msg_type: DATA.slice(),
  };
}

// --- reading received USER messages ---------------------------------------------------

/** Python's truthiness of a decoded value, as v1.1.1 tested flags (`is_anycast`, `static_entry`). */
export function isTruthy(v: unknown): boolean {
  return v !== undefined && v !== null && v !== false && v !== 0;
}

/** A required id (bytes, 1..255 long): a typed drop otherwise. */
export function idOf(msg: WireMessage, key: "user_id" | "source_user_id" | "destination_user_id"): Uint8Array {
  const v = optionalId(msg, key);
  if (v === undefined) throw new NetError("BAD_MESSAGE", `USER message without ${key}`);
  return v;
}

/** An optional id (bytes, 1..255 long, or absent): a typed drop when present and malformed. */
export function optionalId(msg: WireMessage, key: "user_id" | "source_user_id" | "destination_user_id"): Uint8Array | undefined {
  let v: Uint8Array | undefined;
  try {
    v = getBytes(msg, key);
  } catch {
    throw new NetError("BAD_MESSAGE", `USER message whose ${key} is not bytes`);
  }
  if (v !== undefined && (v.length === 0 || v.length > 255)) throw new NetError("BAD_MESSAGE", `USER message whose ${key} is ${v.length} bytes long`);
  return v;
}

/** A flag: a bool, absent (false), or, as v1.1.1 took it, any value by its truthiness. */
export function boolOf(msg: WireMessage, key: "static_entry"): boolean {
  try {
    return getBool(msg, key) ?? false;
  } catch {
    // v1.1.1 took any truthy value; a non-bool is treated as its truthiness
    return isTruthy(msg[key]);
  }
}
