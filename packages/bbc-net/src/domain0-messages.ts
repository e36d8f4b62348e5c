import { DataHandlerCommand, Domain0Command, InfraMessageCategory, MsgType, UserRoutingCommand, u16Bytes, type WireMessage, type WireValue } from "@bbc1/wire";
import { toHex } from "@bbc1/bbclib";
import { NetError } from "./errors.js";

/**
 * Builders and strict parsers of the domain0 messages (p2p-protocol.md §11, §8.7, §9.5). Builders
 * put the keys in v1.1.1's order (it decides the bytes, §18.3); the sender then adds
 * `destination_node_id` (if absent) and `source_node_id`. Parsers throw `NetError` `BAD_MESSAGE`
 * for anything v1.1.1 would have crashed on (§14 H12, H13), so a hostile peer costs a counted drop.
 */

const ZERO32 = new Uint8Array(32);

/** A cross reference on the wire: `[domain_id, transaction_id]`, both 32 bytes. */
export interface CrossRefPair {
  readonly domainId: Uint8Array;
  readonly transactionId: Uint8Array;
}

/** `cross_ref_verification_info`: what the outer domain proves with (§11.5 step 4). */
export interface VerificationInfo {
  /** `transaction_base_digest` of the outer transaction (32 bytes). */
  readonly transactionBaseDigest: Uint8Array;
  /** Its BBcCrossRef, binary format. */
  readonly crossRef: Uint8Array;
  /** Its first BBcSignature, binary format. */
  readonly signature: Uint8Array;
  /** The outer transaction's `format_type`. */
  readonly formatType: number;
}

function id32(v: WireValue | undefined, what: string): Uint8Array {
  if (!(v instanceof Uint8Array) || v.length !== 32) throw new NetError("BAD_MESSAGE", `${what} is not a 32-byte string`);
  return v;
}

/** The `cross_ref` value: exactly two 32-byte strings (v1.1.1 indexes [0] and [1] unchecked, H13). */
export function parseCrossRef(v: WireValue | undefined): CrossRefPair {
  if (!Array.isArray(v) || v.length !== 2) throw new NetError("BAD_MESSAGE", "cross_ref is not a 2-element array");
  return { domainId: id32(v[0], "cross_ref[0] (domain_id)"), transactionId: id32(v[1], "cross_ref[1] (transaction_id)") };
}

/**
 * `domain_list` of ADV_DOMAIN_LIST: an array (else `BAD_MESSAGE`, H13) whose 32-byte entries are
 * kept, at most `max` of them, duplicates removed; other entries are skipped.
 */
export function parseDomainList(v: WireValue | undefined, max: number): Uint8Array[] {
  if (!Array.isArray(v)) throw new NetError("BAD_MESSAGE", "domain_list is not an array");
  const out: Uint8Array[] = [];
  const seen = new Set<string>();
  for (const d of v as WireValue[]) {
    if (out.length >= max) break;
    if (!(d instanceof Uint8Array) || d.length !== 32) continue;
    const k = toHex(d);
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(d);
  }
  return out;
}

/** `cross_ref_verification_info`: `[digest(32), cross_ref bytes, signature bytes, format_type int]`. */
export function parseVerificationInfo(v: WireValue | undefined): VerificationInfo {
  if (!Array.isArray(v) || v.length !== 4) throw new NetError("BAD_MESSAGE", "cross_ref_verification_info is not a 4-element array");
  const [d, c, s, f] = v as WireValue[];
  const formatType = typeof f === "bigint" ? Number(f) : f;
  if (!(c instanceof Uint8Array) || !(s instanceof Uint8Array) || typeof formatType !== "number" || !Number.isInteger(formatType)) {
    throw new NetError("BAD_MESSAGE", "cross_ref_verification_info holds values of the wrong types");
  }
  return { transactionBaseDigest: id32(d, "transaction_base_digest"), crossRef: c, signature: s, formatType };
}

/** The 2-byte `command` of a DOMAIN0 message, or undefined. */
export function domain0CommandOf(msg: WireMessage): number | undefined {
  const c = msg.command;
  return c instanceof Uint8Array && c.length === 2 ? (c[0]! << 8) | c[1]! : undefined;
}

const CAT_DOMAIN0 = () => u16Bytes(InfraMessageCategory.CATEGORY_DOMAIN0);

/** ADV_DOMAIN_LIST (broadcast in domain_global_0, plain). */
export function buildAdvDomainList(domainList: readonly Uint8Array[]): WireMessage {
  return { infra_msg_type: CAT_DOMAIN0(), domain_id: ZERO32, command: u16Bytes(Domain0Command.ADV_DOMAIN_LIST), domain_list: [...domainList] };
}

/** DISTRIBUTE_CROSS_REF (to one domain0 node of a foreign domain). */
export function buildDistributeCrossRef(origin: Uint8Array, transactionId: Uint8Array): WireMessage {
  return { infra_msg_type: CAT_DOMAIN0(), command: u16Bytes(Domain0Command.DISTRIBUTE_CROSS_REF), domain_id: ZERO32, cross_ref: [origin, transactionId] };
}

/** CROSS_REF_ASSIGNMENT (CATEGORY_USER, to a neighbour in a regular domain, §8.7). */
export function buildCrossRefAssignment(domainId: Uint8Array, destination: Uint8Array, cr: CrossRefPair): WireMessage {
  return {
    infra_msg_type: u16Bytes(InfraMessageCategory.CATEGORY_USER),
    infra_command: u16Bytes(UserRoutingCommand.CROSS_REF_ASSIGNMENT),
    cross_ref: [cr.domainId, cr.transactionId],
    domain_id: domainId,
    destination_node_id: destination,
  };
}

/** NOTIFY_CROSS_REF_REGISTERED (to a domain0 node of the cross_ref's origin domain). */
export function buildCrossRefRegistered(destination: Uint8Array, outerDomainId: Uint8Array, txidHavingCrossRef: Uint8Array, cr: CrossRefPair): WireMessage {
  return {
    infra_msg_type: CAT_DOMAIN0(),
    command: u16Bytes(Domain0Command.NOTIFY_CROSS_REF_REGISTERED),
    domain_id: ZERO32,
    destination_node_id: destination,
    outer_domain_id: outerDomainId,
    txid_having_cross_ref: txidHavingCrossRef,
    cross_ref: [cr.domainId, cr.transactionId],
  };
}

/** REPLICATION_CROSS_REF (DATA `00 06`, broadcast in the origin domain, §9.5). */
export function buildReplicationCrossRef(domainId: Uint8Array, transactionId: Uint8Array, outerDomainId: Uint8Array, txidHavingCrossRef: Uint8Array): WireMessage {
  return {
    domain_id: domainId,
    infra_msg_type: u16Bytes(InfraMessageCategory.CATEGORY_DATA),
    infra_command: u16Bytes(DataHandlerCommand.REPLICATION_CROSS_REF),
    transaction_id: transactionId,
    outer_domain_id: outerDomainId,
    txid_having_cross_ref: txidHavingCrossRef,
  };
}

/** The client keys REQUEST_CROSS_REF_VERIFY may carry into REQUEST_VERIFY (in the client's order). */
const VERIFY_KEYS = new Set(["command", "domain_id", "source_user_id", "status", "query_id", "transaction_id"]);

/**
 * REQUEST_VERIFY from a client's REQUEST_CROSS_REF_VERIFY map (§11.5 step 2): the same map in the
 * client's key order, `command` := `00 04`, then `destination_node_id` and `infra_msg_type`.
 * Only the keys v1.1.1's client sends are kept, so a client cannot push other keys to peers;
 * `transaction_id` and `source_user_id` must be byte strings (H13).
 */
export function buildRequestVerify(clientMsg: WireMessage, destination: Uint8Array): WireMessage {
  if (!(clientMsg.transaction_id instanceof Uint8Array) || !(clientMsg.source_user_id instanceof Uint8Array) || !(clientMsg.domain_id instanceof Uint8Array)) {
    throw new NetError("INVALID_ARGUMENT", "REQUEST_CROSS_REF_VERIFY needs byte-string domain_id, source_user_id and transaction_id");
  }
  const out: WireMessage = {};
  for (const [k, v] of Object.entries(clientMsg)) if (VERIFY_KEYS.has(k) && v !== undefined) (out as Record<string, WireValue>)[k] = v as WireValue;
  out.command = u16Bytes(Domain0Command.REQUEST_VERIFY);
  out.destination_node_id = destination;
  out.infra_msg_type = CAT_DOMAIN0();
  return out;
}

/** REQUEST_VERIFY_FROM_OUTER_DOMAIN (domain0, to a domain0 node of the outer domain). */
export function buildRequestVerifyOuter(a: {
  destination: Uint8Array;
  sourceUserId: Uint8Array;
  transactionId: Uint8Array;
  sourceDomainId: Uint8Array;
  outerDomainId: Uint8Array;
  txidHavingCrossRef: Uint8Array;
}): WireMessage {
  return {
    infra_msg_type: CAT_DOMAIN0(),
    command: u16Bytes(Domain0Command.REQUEST_VERIFY_FROM_OUTER_DOMAIN),
    domain_id: ZERO32,
    destination_node_id: a.destination,
    source_user_id: a.sourceUserId,
    transaction_id: a.transactionId,
    source_domain_id: a.sourceDomainId,
    outer_domain_id: a.outerDomainId,
    txid_having_cross_ref: a.txidHavingCrossRef,
  };
}

/** The keys of a request v1.1.1 echoes in RESPONSE_VERIFY_FROM_OUTER_DOMAIN. */
const ECHOED = new Set(["infra_msg_type", "command", "domain_id", "destination_node_id", "source_user_id", "transaction_id", "source_domain_id", "source_node_id"]);

/**
 * RESPONSE_VERIFY_FROM_OUTER_DOMAIN: the request map in its order without `outer_domain_id` and
 * `txid_having_cross_ref`, `cross_ref_verification_info` appended, `command` := `00 06`,
 * `destination_node_id` := the requester (v1.1.1 rewrites the received map). Unknown keys of the
 * request are not echoed.
 */
export function buildResponseVerifyOuter(request: WireMessage, requester: Uint8Array, info: VerificationInfo): WireMessage {
  const out: WireMessage = {};
  for (const [k, v] of Object.entries(request)) if (ECHOED.has(k) && v !== undefined) (out as Record<string, WireValue>)[k] = v as WireValue;
  out.cross_ref_verification_info = [info.transactionBaseDigest, info.crossRef, info.signature, info.formatType];
  out.command = u16Bytes(Domain0Command.RESPONSE_VERIFY_FROM_OUTER_DOMAIN);
  out.destination_node_id = requester;
  return out;
}

/** RESPONSE_CROSS_REF_VERIFY (client command 91) to the requesting user; no query_id (§11.5 step 5). */
export function buildResponseCrossRefVerify(sourceDomainId: Uint8Array, userId: Uint8Array, transactionId: Uint8Array, info: VerificationInfo): WireMessage {
  return {
    infra_msg_type: u16Bytes(InfraMessageCategory.CATEGORY_USER),
    command: MsgType.RESPONSE_CROSS_REF_VERIFY,
    domain_id: sourceDomainId,
    destination_user_id: userId,
    source_user_id: userId,
    transaction_id: transactionId,
    cross_ref_verification_info: [info.transactionBaseDigest, info.crossRef, info.signature, info.formatType],
  };
}

/** NOTIFY_CROSS_REF (client command 74) as v1.1.1's `_distribute_cross_refs_to_clients` builds it. */
export function buildNotifyCrossRef(domainId: Uint8Array, userId: Uint8Array, cr: CrossRefPair): WireMessage {
  return { domain_id: domainId, command: MsgType.NOTIFY_CROSS_REF, destination_user_id: userId, cross_ref: [cr.domainId, cr.transactionId] };
}
