import { ErrorCode, MsgType, getText, type WireValue } from "@bbc1/wire";
import { isJsonObject, type JsonObject } from "../config.js";
import { concatBytes } from "@bbc1/bbclib";
import { u16be } from "../util.js";
import { addressOf } from "../p2p.js";
import { direct, has, int, response, type RequestContext } from "./context.js";

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
 * REQUEST_SET_STATIC_NODE: `node_info` = [node_id, ipv4, ipv6, port] becomes a static neighbour
 * of the domain (its key exchange starts within 1–6 s, our next neighbour list tells it about
 * us) and is saved in config.json under `static_nodes` (v1.1.1 keeps it in memory only, Q20).
 * `result` true as the reference; false when `node_info` is missing, unusable, or the domain is
 * not served (the reference answers true and ignores it there).
 */
export function handleSetStaticNode(ctx: RequestContext): void {
  const ret = response(ctx, MsgType.RESPONSE_SET_STATIC_NODE);
  ret.domain_id = ctx.domainId;
  const info = ctx.msg.node_info;
  const net = ctx.domain?.net;
  if (info === undefined || info === null) ret.result = false;
  else if (net === undefined || net === null) {
    ctx.log.info("REQUEST_SET_STATIC_NODE: domain not served; ignored");
    ret.result = false;
  } else {
    try {
      if (!Array.isArray(info) || info.length < 4) throw new Error("node_info is not [node_id, ipv4, ipv6, port]");
      const nodeId = info[0];
      if (!(nodeId instanceof Uint8Array) || nodeId.length !== 32) throw new Error("node_id is not 32 bytes");
      const port = int(info[3] as WireValue, -1);
      if (port < 1 || port > 65535) throw new Error("port is not 1..65535");
      const ipv4 = addressOf(info[1], 4);
      const ipv6 = addressOf(info[2], 6);
      if (ipv4 === null && ipv6 === null) throw new Error("no address");
      net.addStaticNode(nodeId, ipv4, ipv6, port);
      ret.result = true;
      ctx.log.info({ node_id: Buffer.from(nodeId).toString("hex").slice(0, 8), ipv4, ipv6, port }, "static node added");
    } catch (e) {
      ctx.log.warn({ reason: (e as Error).message }, "REQUEST_SET_STATIC_NODE: unusable node_info; ignored");
      ret.result = false;
    }
  }
  direct(ctx, ret);
}

/**
 * DOMAIN_PING: the node sends a domain ping (§5.4) to `ipv4_address` / `ipv6_address` :
 * `port_number`, not static (v1.1.1 ignores the client's `static_entry`). No answer (as the
 * reference); the pong makes the nodes neighbours.
 */
export function handleDomainPing(ctx: RequestContext): void {
  const { msg } = ctx;
  if (!has(msg, ["domain_id", "source_user_id", "port_number"])) return;
  if (msg.ipv4_address === undefined && msg.ipv6_address === undefined) return;
  const net = ctx.domain?.net;
  if (net === undefined || net === null) {
    ctx.log.info("DOMAIN_PING: domain not served; ignored");
    return;
  }
  try {
    const port = int(msg.port_number, -1);
    const ipv4 = addressOf(msg.ipv4_address, 4);
    const ipv6 = addressOf(msg.ipv6_address, 6);
    if (!net.sendDomainPing(ipv4, ipv6, port, false)) ctx.log.info({ ipv4, ipv6, port }, "DOMAIN_PING: no usable address; nothing sent");
  } catch (e) {
    ctx.log.warn({ reason: (e as Error).message }, "DOMAIN_PING: unusable address or port; ignored");
  }
}

/** NOTIFY_DOMAIN_KEY_UPDATE: the domain key file is read again (§4); no answer. */
export function handleDomainKeyUpdate(ctx: RequestContext): void {
  const net = ctx.domain?.net;
  if (net === undefined || net === null) return;
  const ok = net.reloadDomainKey();
  ctx.log.info({ loaded: ok, keys: net.keys.keyCount }, "NOTIFY_DOMAIN_KEY_UPDATE: domain key reloaded");
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
 * REQUEST_GET_NEIGHBORLIST: 4-byte count then 63-byte entries, this node first (port written
 * little-endian, P2P-Q6). Unknown domain → `status` false, "No such domain" (Quirk C11).
 */
export function handleGetNeighborList(ctx: RequestContext): void {
  const ret = response(ctx, MsgType.RESPONSE_GET_NEIGHBORLIST);
  const net = ctx.domain?.net;
  if (ctx.domain !== undefined && net !== undefined && net !== null) {
    ret.domain_id = ctx.domain.id;
    ret.neighbor_list = net.neighborListBytes();
  } else {
    ret.status = false;
    ret.reason = "No such domain";
  }
  direct(ctx, ret);
}

/** REQUEST_GET_FORWARDING_LIST: the domain's forwarding entries (user routing across nodes). */
export function handleGetForwardingList(ctx: RequestContext): void {
  const ret = response(ctx, MsgType.RESPONSE_GET_FORWARDING_LIST);
  const parts: Uint8Array[] = [];
  const entries = ctx.domain?.routing?.forwardingList() ?? [...(ctx.domain?.forwardingEntries.values() ?? [])];
  parts.push(u16be(entries.length));
  for (const e of entries) parts.push(e.id, u16be(e.nodes.length), ...e.nodes);
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
  // the ledgers' group-commit counters, summed over the domains (max_* as the maximum)
  const ledger = new Map<string, number>();
  for (const d of ctx.core.domains.values()) {
    for (const [k, v] of Object.entries(d.ledger?.commitStats?.() ?? {})) ledger.set(k, k.startsWith("max_") ? Math.max(ledger.get(k) ?? 0, v) : (ledger.get(k) ?? 0) + v);
  }
  if (ledger.size > 0) stats.set("ledger", ledger);
  const batches = ctx.core.verifyBatchStats();
  if (batches !== undefined) stats.set("verify", new Map([["batches", batches.batches], ["signatures", batches.signatures], ["max_batch", batches.maxBatch]]));
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

