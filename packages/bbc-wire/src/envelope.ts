import { WireError } from "./errors.js";
import { ErrorCode } from "./constants/status.js";
import { u16Bytes } from "./constants/infra.js";
import { msgTypeHasQueryId } from "./constants/msg-type.js";
import type { WireMessage, WireValue } from "./message.js";

/**
 * Builders of the common envelopes, with the key order of the reference (the order decides the
 * encoded bytes). Each returns a fresh message object that callers extend with per-command keys.
 */

/** Fields of a client -> core request ({@link clientRequest}). */
export interface ClientRequestFields {
  /** MsgType of the request. */
  command: number;
  /** The client's current domain, or `null` (msgpack nil) when none is set. */
  domainId: Uint8Array | null;
  /** The client's current user, or `null` when none is set. */
  sourceUserId: Uint8Array | null;
  /**
   * 2-byte query id. Put in only when given; the Python client adds one for every command
   * except those in `MSG_TYPES_WITHOUT_RESPONSE` (see {@link msgTypeHasQueryId}).
   */
  queryId?: Uint8Array;
  /** `status` (default `ESUCCESS` = 0, as the Python client sends). */
  status?: number;
}

/**
 * A client -> core request as `bbc_app._make_message_structure` builds it:
 * `command, domain_id, source_user_id, status[, query_id]`.
 */
export function clientRequest(fields: ClientRequestFields): WireMessage {
  const msg: WireMessage = {
    command: fields.command,
    domain_id: fields.domainId,
    source_user_id: fields.sourceUserId,
    status: fields.status ?? ErrorCode.ESUCCESS,
  };
  if (fields.queryId !== undefined) msg.query_id = checkQueryId(fields.queryId);
  return msg;
}

/** Fields of a core -> client response ({@link coreResponse}). */
export interface CoreResponseFields {
  /** The domain (usually the request's; `null` for some admin responses). */
  domainId: Uint8Array | null;
  /** MsgType of the response. */
  command: number;
  /** The requester's user id (the request's `source_user_id`). */
  destinationUserId: Uint8Array | null;
  /** The request's query id (`null`/absent when the request had none). */
  queryId: Uint8Array | null | undefined;
  /** `status` (default `ESUCCESS`). */
  status?: number;
}

/**
 * A core -> client response as `bbc_core._make_message_structure` builds it:
 * `domain_id, command, destination_user_id, query_id, status`.
 */
export function coreResponse(fields: CoreResponseFields): WireMessage {
  return {
    domain_id: fields.domainId,
    command: fields.command,
    destination_user_id: fields.destinationUserId,
    query_id: fields.queryId ?? null,
    status: fields.status ?? ErrorCode.ESUCCESS,
  };
}

/**
 * The response envelope for `request` (domain, requester and query id copied from it), as the
 * core builds it for every answer.
 */
export function responseTo(request: WireMessage, command: number, status: number = ErrorCode.ESUCCESS): WireMessage {
  return coreResponse({
    domainId: bytesOrNull(request.domain_id),
    command,
    destinationUserId: bytesOrNull(request.source_user_id),
    queryId: bytesOrNull(request.query_id),
    status,
  });
}

/** Fields of a node-to-node message ({@link infraMessage}). */
export interface InfraMessageFields {
  /** InfraMessageCategory value; sent as a 2-byte string. */
  category: number;
  /** The domain (32 bytes; domain 0 is 32 zero bytes). */
  domainId: Uint8Array;
  /** Addressee node (all messages except domain pings and broadcasts before addressing). */
  destinationNodeId?: Uint8Array;
  /** Sender node; the reference's send function sets it last, at send time. */
  sourceNodeId?: Uint8Array;
  /** Per-manager `command` (NETWORK / TOPOLOGY / DOMAIN0), sent as a 2-byte string. */
  command?: number;
  /** Per-manager `infra_command` (USER / DATA), sent as a 2-byte string. */
  infraCommand?: number;
}

/**
 * A node-to-node envelope: `infra_msg_type, domain_id[, destination_node_id][, command]
 * [, infra_command][, source_node_id]` with categories and commands as 2-byte strings.
 */
export function infraMessage(fields: InfraMessageFields): WireMessage {
  const msg: WireMessage = {
    infra_msg_type: u16Bytes(fields.category),
    domain_id: fields.domainId,
  };
  if (fields.destinationNodeId !== undefined) msg.destination_node_id = fields.destinationNodeId;
  if (fields.command !== undefined) msg.command = u16Bytes(fields.command);
  if (fields.infraCommand !== undefined) msg.infra_command = u16Bytes(fields.infraCommand);
  if (fields.sourceNodeId !== undefined) msg.source_node_id = fields.sourceNodeId;
  return msg;
}

/**
 * The Python client's next query id: the previous one read as a 2-byte little-endian counter,
 * plus one, modulo 65536, written back little-endian (`bbc_app._make_message_structure`).
 */
export function nextQueryId(previous: Uint8Array): Uint8Array {
  checkQueryId(previous);
  const n = ((previous[0]! | (previous[1]! << 8)) + 1) & 0xffff;
  return new Uint8Array([n & 0xff, n >>> 8]);
}

export { msgTypeHasQueryId };

function checkQueryId(q: Uint8Array): Uint8Array {
  if (!(q instanceof Uint8Array) || q.length !== 2) {
    throw new WireError("INVALID_ARGUMENT", "query_id must be 2 bytes");
  }
  return q;
}

function bytesOrNull(v: WireValue | undefined): Uint8Array | null {
  return v instanceof Uint8Array ? v : null;
}
