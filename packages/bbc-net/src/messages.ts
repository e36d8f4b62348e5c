import {
  InfraMessageCategory,
  NetworkCommand,
  TopologyCommand,
  decodeTlv,
  encodeTlv,
  u16Bytes,
  type WireMessage,
  type WireValue,
} from "@bbc1/wire";
import { NetError } from "./errors.js";
import type { KeyExchangeFields } from "./key-exchange.js";

/**
 * Builders of the network-layer messages with the reference's key order (it decides the bytes,
 * §18.3), and the admin part of §3.4. A builder returns the top-level map and the admin part;
 * {@link sealAdmin} joins them, then the sender sets `destination_node_id` (broadcast copies)
 * and `source_node_id` last, as v1.1.1's send function does.
 */

/** Signs admin parts: a domain's key (see `DomainKeys`). */
export interface AdminSigner {
  readonly enabled: boolean;
  sign(adminInfo: Uint8Array): Uint8Array;
  verify(adminInfo: Uint8Array, signature: Uint8Array): boolean;
}

/** A top-level map and its admin part, before sealing. */
export interface AdminMessage {
  msg: WireMessage;
  admin: WireMessage;
}

/**
 * `include_admin_info_into_message_if_needed`: puts `message_seq` into the admin part, then
 * either TLV-encodes and signs it (`admin_info`, `nodekey_signature`) or merges it into the
 * top level. A nil admin value is omitted when signing (TLV cannot carry nil, Q14).
 */
export function sealAdmin(m: AdminMessage, seq: number, signer: AdminSigner | undefined): WireMessage {
  const { msg, admin } = m;
  admin.message_seq = seq;
  if (signer?.enabled) {
    const part: WireMessage = {};
    for (const [k, v] of Object.entries(admin) as Array<[keyof WireMessage, WireMessage[keyof WireMessage]]>) if (v !== null && v !== undefined) part[k] = v;
    const info = encodeTlv(part);
    msg.admin_info = info;
    msg.nodekey_signature = signer.sign(info);
  } else {
    Object.assign(msg, admin);
  }
  return msg;
}

/**
 * `check_admin_signature` for a domain with a key: `admin_info` and `nodekey_signature` must be
 * present and verify; the TLV is then decoded and merged over the message (signed values win).
 * Throws `BAD_SIGNATURE` / `BAD_MESSAGE`.
 */
export function openAdmin(msg: WireMessage, signer: AdminSigner): WireMessage {
  const info = msg.admin_info;
  const sig = msg.nodekey_signature;
  if (!(info instanceof Uint8Array) || !(sig instanceof Uint8Array)) throw new NetError("BAD_SIGNATURE", "admin message without admin_info / nodekey_signature");
  if (!signer.verify(info, sig)) throw new NetError("BAD_SIGNATURE", "nodekey_signature does not verify with the domain key");
  let part: WireMessage;
  try {
    part = decodeTlv(info, { unknownKeys: "drop", maxDepth: 4 });
  } catch (cause) {
    throw new NetError("BAD_MESSAGE", "admin_info is not a TLV message", { cause });
  }
  return Object.assign(msg, part);
}

/** Fields of a domain ping or pong (§5.4). */
export interface PingFields {
  domainId: Uint8Array;
  /** Sender's node id in the domain. */
  nodeId: Uint8Array;
  /** 0 = ping, 1 = pong. */
  domainPing: 0 | 1;
  /** Ping: our nonce; pong: the ping's nonce, echoed unchanged (value and type). */
  nonce: WireValue;
  staticEntry: boolean;
  externalIp4addr: string | null;
  externalIp6addr: string | null;
}

/** DOMAIN_PING / pong: `infra_msg_type, domain_id` + admin `node_id, domain_ping, nonce, static_entry, external_ip4addr, external_ip6addr`. */
export function buildDomainPing(f: PingFields): AdminMessage {
  return {
    msg: { infra_msg_type: u16Bytes(InfraMessageCategory.CATEGORY_NETWORK), domain_id: f.domainId },
    admin: {
      node_id: f.nodeId,
      domain_ping: f.domainPing,
      nonce: f.nonce,
      static_entry: f.staticEntry,
      external_ip4addr: f.externalIp4addr,
      external_ip6addr: f.externalIp6addr,
    },
  };
}

const KX_COMMAND = {
  request: NetworkCommand.REQUEST_KEY_EXCHANGE,
  response: NetworkCommand.RESPONSE_KEY_EXCHANGE,
  confirm: NetworkCommand.CONFIRM_KEY_EXCHANGE,
} as const;

/** REQUEST/RESPONSE/CONFIRM_KEY_EXCHANGE (§6.2): `destination_node_id` at top level and repeated in the admin part. */
export function buildKeyExchange(domainId: Uint8Array, destination: Uint8Array, command: keyof typeof KX_COMMAND, f: KeyExchangeFields): AdminMessage {
  return {
    msg: { infra_msg_type: u16Bytes(InfraMessageCategory.CATEGORY_NETWORK), domain_id: domainId, destination_node_id: destination },
    admin: { destination_node_id: destination, command: u16Bytes(KX_COMMAND[command]), ecdh: f.ecdh, nonce: f.nonce, random: f.random, hint: f.hint },
  };
}

/** NOTIFY_NEIGHBOR_LIST (§7): `infra_msg_type, domain_id, command` + admin `neighbor_list`. */
export function buildNeighborListMessage(domainId: Uint8Array, neighborList: Uint8Array): AdminMessage {
  return {
    msg: { infra_msg_type: u16Bytes(InfraMessageCategory.CATEGORY_TOPOLOGY), domain_id: domainId, command: u16Bytes(TopologyCommand.NOTIFY_NEIGHBOR_LIST) },
    admin: { neighbor_list: neighborList },
  };
}

/** NOTIFY_LEAVE (§5.6): `infra_msg_type, domain_id, command` + admin `source_node_id, nonce` (32 random bytes). */
export function buildNotifyLeave(domainId: Uint8Array, sourceNodeId: Uint8Array, nonce: Uint8Array): AdminMessage {
  return {
    msg: { infra_msg_type: u16Bytes(InfraMessageCategory.CATEGORY_NETWORK), domain_id: domainId, command: u16Bytes(NetworkCommand.NOTIFY_LEAVE) },
    admin: { source_node_id: sourceNodeId, nonce },
  };
}

/** Reads a 2-byte category/command value; undefined when absent or not 2 bytes. */
export function u16Of(v: unknown): number | undefined {
  return v instanceof Uint8Array && v.length === 2 ? (v[0]! << 8) | v[1]! : undefined;
}
