import { ErrorCode, MsgType, getText } from "@bbc1/wire";
import { isJsonObject, type JsonObject } from "../config.js";
import { concatBytes } from "@bbc1/bbclib";
import { ipv4Bytes, ipv6Bytes, u16be } from "../util.js";
import { bytes, direct, has, response, type RequestContext } from "./context.js";

/** REQUEST_SETUP_DOMAIN: create the domain named in `admin_info` (status 0, `result` bool). */
export async function handleSetupDomain(ctx: RequestContext): Promise<void> {
  const { msg, core } = ctx;
  if (!has(msg, ["domain_id"]) || ctx.domainId === null) {
    ctx.log.debug("REQUEST_SETUP_DOMAIN: bad format");
    return;
  }
  const ret = response(ctx, MsgType.RESPONSE_SETUP_DOMAIN, null);
  let conf: JsonObject | undefined;
  if (msg.bbc_configuration !== undefined && msg.bbc_configuration !== null) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(getText(msg, "bbc_configuration") ?? "");
    } catch {
      parsed = undefined;
    }
    if (!isJsonObject(parsed)) {
      ret.result = false;
      ret.reason = "config file must be in JSON format";
      ret.domain_id = ctx.domainId;
      return direct(ctx, ret);
    }
    conf = parsed;
  }
  if (ctx.domainId.length !== 32) {
    ret.result = false;
    ret.reason = "domain_id must be 32 bytes";
    ret.domain_id = ctx.domainId;
    return direct(ctx, ret);
  }
  try {
    ret.result = await core.createDomain(ctx.domainId, conf);
    if (!ret.result) ret.reason = "Already exists";
  } catch (e) {
    ctx.log.error({ err: e }, "REQUEST_SETUP_DOMAIN: cannot create the domain");
    ret.result = false;
    ret.reason = `Cannot open the ledger: ${(e as Error).message}`;
  }
  ret.domain_id = ctx.domainId;
  core.config.save();
  direct(ctx, ret);
}

/** REQUEST_CLOSE_DOMAIN (`domain_id` nil in the answer, as the reference). */
export async function handleCloseDomain(ctx: RequestContext): Promise<void> {
  const ret = response(ctx, MsgType.RESPONSE_CLOSE_DOMAIN, null);
  ret.result = ctx.domainId !== null ? await ctx.core.removeDomain(ctx.domainId) : false;
  if (!ret.result) ret.reason = "No such domain";
  direct(ctx, ret);
}

/**
 * REQUEST_SET_STATIC_NODE: without a P2P layer the neighbour is not contacted; `result` true
 * as in the reference when `node_info` is present (it does not persist the neighbour either).
 */
export function handleSetStaticNode(ctx: RequestContext): void {
  const ret = response(ctx, MsgType.RESPONSE_SET_STATIC_NODE);
  ret.domain_id = ctx.domainId;
  const info = ctx.msg.node_info;
  if (info === undefined || info === null) ret.result = false;
  else {
    ret.result = true;
    ctx.core.config.save();
    ctx.log.info("REQUEST_SET_STATIC_NODE: no P2P layer on this node; neighbour not contacted");
  }
  direct(ctx, ret);
}

/** DOMAIN_PING: no P2P layer, nothing to ping. No answer (as the reference). */
export function handleDomainPing(ctx: RequestContext): void {
  const { msg } = ctx;
  if (!has(msg, ["domain_id", "source_user_id", "port_number"])) return;
  if (msg.ipv4_address === undefined && msg.ipv6_address === undefined) return;
  ctx.log.info("DOMAIN_PING: no P2P layer on this node; ignored");
}

/** NOTIFY_DOMAIN_KEY_UPDATE: domain keys belong to the P2P layer; nothing to reload. */
export function handleDomainKeyUpdate(ctx: RequestContext): void {
  ctx.log.debug("NOTIFY_DOMAIN_KEY_UPDATE: no domain keys in use");
}

/** REQUEST_GET_CONFIG: the in-memory configuration as 2-space JSON text. */
export function handleGetConfig(ctx: RequestContext): void {
  const ret = response(ctx, MsgType.RESPONSE_GET_CONFIG);
  ret.bbc_configuration = ctx.core.config.jsonText();
  direct(ctx, ret);
}

/** REQUEST_GET_DOMAINLIST: 2-byte count + 32-byte domain ids, creation order. */
export function handleGetDomainList(ctx: RequestContext): void {
  const ret = response(ctx, MsgType.RESPONSE_GET_DOMAINLIST);
  const ids = [...ctx.core.domains.values()].map((d) => d.id);
  ret.domain_list = concatBytes(...[u16be(ids.length), ...ids]);
  direct(ctx, ret);
}

/**
 * REQUEST_GET_NEIGHBORLIST: 4-byte count then 63-byte entries; a node without peers lists only
 * itself. Unknown domain → `status` false, "No such domain" (Quirk C11).
 */
export function handleGetNeighborList(ctx: RequestContext): void {
  const ret = response(ctx, MsgType.RESPONSE_GET_NEIGHBORLIST);
  const d = ctx.domain;
  if (d !== undefined) {
    const { core } = ctx;
    const port = core.p2pPort & 0xffff;
    const updated = new Uint8Array(8);
    new DataView(updated.buffer).setBigUint64(0, BigInt(d.createdAt));
    const entry = concatBytes(...[
      d.nodeId,
      ipv4Bytes(core.ip4addr ?? "127.0.0.1"),
      ipv6Bytes(core.ip6addr),
      new Uint8Array([port & 0xff, port >>> 8]), // htons() written big-endian = little-endian port (P2P-Q6)
      // v1.1.1 sets the domain0 flag of every regular domain once the process joined domain_global_0
      new Uint8Array([core.domains.has("0".repeat(64)) && d.hex !== "0".repeat(64) ? 1 : 0]),
      updated,
    ]);
    ret.domain_id = d.id;
    ret.neighbor_list = concatBytes(...[new Uint8Array([0, 0, 0, 1]), entry]);
  } else {
    ret.status = false;
    ret.reason = "No such domain";
  }
  direct(ctx, ret);
}

/** REQUEST_GET_FORWARDING_LIST: always empty on a node without peers. */
export function handleGetForwardingList(ctx: RequestContext): void {
  const ret = response(ctx, MsgType.RESPONSE_GET_FORWARDING_LIST);
  const parts: Uint8Array[] = [];
  const entries = ctx.domain?.forwardingEntries ?? new Map();
  parts.push(u16be(entries.size));
  for (const e of entries.values()) parts.push(e.id, u16be(e.nodes.length), ...e.nodes);
  ret.forwarding_list = concatBytes(...parts);
  direct(ctx, ret);
}

/** REQUEST_GET_USERS: users registered on this node in the domain. */
export function handleGetUsers(ctx: RequestContext): void {
  const ret = response(ctx, MsgType.RESPONSE_GET_USERS);
  const users = ctx.domain ? [...ctx.domain.users.values()].map((u) => u.userId) : [];
  ret.user_list = concatBytes(...[u16be(users.length), ...users]);
  direct(ctx, ret);
}

/** REQUEST_GET_NODEID: this node's id in the domain. */
export function handleGetNodeId(ctx: RequestContext): void {
  const ret = response(ctx, MsgType.RESPONSE_GET_NODEID);
  if (ctx.domain === undefined) {
    ret.status = ErrorCode.EINVALID_COMMAND;
    ret.reason = "No such domain";
  } else ret.node_id = ctx.domain.nodeId;
  direct(ctx, ret);
}

/** REQUEST_GET_NOTIFICATION_LIST: asset groups and their subscribers (empty list when none). */
export function handleGetNotificationList(ctx: RequestContext): void {
  const ret = response(ctx, MsgType.RESPONSE_GET_NOTIFICATION_LIST);
  const groups = ctx.domain ? [...ctx.domain.notifications.values()] : [];
  const parts: Uint8Array[] = [u16be(groups.length)];
  for (const g of groups) parts.push(g.assetGroupId, u16be(g.users.size), ...[...g.users.values()].map((s) => s.userId));
  ret.notification_list = concatBytes(...parts);
  direct(ctx, ret);
}

/** REQUEST_GET_STATS: snapshot of the counters. */
export function handleGetStats(ctx: RequestContext): void {
  const ret = response(ctx, MsgType.RESPONSE_GET_STATS);
  const stats = ctx.core.stats.toMaps();
  stats.set("resources", new Map(Object.entries(ctx.core.resources())));
  ret.stats = stats;
  direct(ctx, ret);
}

/** REQUEST_MANIP_LEDGER_SUBSYS without a subsystem: −4 (the reference's intended answer). */
export function handleManipLedgerSubsys(ctx: RequestContext): void {
  const ret = response(ctx, MsgType.RESPONSE_MANIP_LEDGER_SUBSYS);
  ret.status = ErrorCode.ENOSUBSYSTEM;
  ret.reason = "Ledger_subsystem is not installed";
  direct(ctx, ret);
}

