import { randomBytes } from "node:crypto";
import type { Logger } from "pino";
import { bytesEqual, toHex } from "@bbc1/bbclib";
import { InfraMessageCategory, NetworkCommand, encodeMessage, getBool, getBytes, getInt, getText, type KeyRegistry, type WireMessage } from "@bbc1/wire";
import { ProtocolTimer, type RandomFn, type Scheduler } from "./clock.js";
import type { DomainKeys } from "./domain-key.js";
import { NetError } from "./errors.js";
import type { CategoryHandler, PluggableCategory, ReceiveContext } from "./interfaces.js";
import { KeyExchange, KeyExchangeState, type KeyExchangeFields } from "./key-exchange.js";
import type { NetBudgets } from "./limits.js";
import { buildDomainPing, buildKeyExchange, buildNeighborListMessage, buildNotifyLeave, openAdmin, sealAdmin, u16Of, type AdminMessage } from "./messages.js";
import { NeighborTable, decodeNeighborList, type AddResult, type NodeInfo } from "./neighbors.js";
import type { StatsSink } from "./stats.js";
import type { NetTimings } from "./timings.js";
import { Topology } from "./topology.js";
import { TCP_THRESHOLD_SIZE, type Destination, type PeerAddress, type SendResult } from "./transport.js";
import { checkPort, isIPv4, isIPv6, usableIPv4, usableIPv6 } from "./addresses.js";

/** When to send encrypted to a neighbour with an established key (§6.6). */
export type EncryptionPolicy = "off" | "udp" | "all";

/** How a message may be sent: `"any"` = encrypted if the policy and an established key allow (v1.1.1 Type_any). */
export type SendMode = "any" | "plain";

/** A static neighbour as the core persists it (`static_nodes`: `{node_id_hex: [ipv4, ipv6, port]}`). */
export interface StaticNode {
  readonly nodeId: Uint8Array;
  readonly ipv4: string | null;
  readonly ipv6: string | null;
  readonly port: number;
}

/** What a {@link NetworkDomain} is built from (the network passes these). */
export interface NetworkDomainDeps {
  domainId: Uint8Array;
  nodeId: Uint8Array;
  /** Our own entry (`my_info`): advertised addresses, p2p port, domain0 flag. */
  myInfo: NodeInfo;
  /** What pings carry in `external_ip4addr` / `external_ip6addr` (null = nil / omitted when signed). */
  externalIp4addr: string | null;
  externalIp6addr: string | null;
  keys: DomainKeys;
  registry: KeyRegistry;
  scheduler: Scheduler;
  random: RandomFn;
  timings: NetTimings;
  budgets: NetBudgets;
  stats: StatsSink;
  logger: Logger;
  encryption: EncryptionPolicy;
  /** Hands a framed message to the transport. */
  transmit: (frame: Uint8Array, dest: Destination) => SendResult;
  /** Told when one of our key names gets or loses a cipher for a neighbour of this domain. */
  onKeyName: (keyName: Uint8Array, installed: boolean, node: NodeInfo) => void;
  /**
   * First `message_seq` minus one, then a plain counter (as v1.1.1, which starts at 0). Default:
   * the clock in ms, and the counter never falls below the clock, so a restart never goes backwards (§15.4).
   */
  initialMessageSeq?: number;
}

interface PingEntry {
  answered: boolean;
  retry: ProtocolTimer;
  expire: ProtocolTimer;
}

/**
 * One domain's network components (v1.1.1's `domains[domain_id]` of `BBcNetwork`): the neighbour
 * table with a key exchange per neighbour, the topology manager, the domain key, domain pings,
 * the admin sequence counter, and the pluggable USER / DATA handlers.
 *
 * Start/stop order: the network creates it, the domain key is loaded, then {@link start} arms
 * the topology and purge timers. {@link leave} broadcasts NOTIFY_LEAVE; {@link close} stops every
 * timer, closes the handlers and deletes every cipher of its neighbours.
 */
export class NetworkDomain {
  readonly domainId: Uint8Array;
  readonly nodeId: Uint8Array;
  readonly neighbors: NeighborTable;
  readonly topology: Topology;
  readonly keys: DomainKeys;
  readonly #d: NetworkDomainDeps;
  readonly #kx = new Map<NodeInfo, KeyExchange>();
  readonly #pings = new Map<number, PingEntry>();
  readonly #handlers = new Map<PluggableCategory, CategoryHandler>();
  readonly #purgeTimer: ProtocolTimer;
  readonly #staticListeners: Array<(nodes: StaticNode[]) => void> = [];
  readonly #newNeighborListeners: Array<(node: NodeInfo) => void> = [];
  /** Nodes that sent NOTIFY_LEAVE (hex -> when), ignored in neighbour lists until they contact us again. */
  readonly #departed = new Map<string, number>();
  #seq: number;
  readonly #seqFollowsClock: boolean;
  #closed = false;

  constructor(deps: NetworkDomainDeps) {
    this.#d = deps;
    this.domainId = deps.domainId.slice();
    this.nodeId = deps.nodeId.slice();
    this.keys = deps.keys;
    this.#seq = Math.max(0, Math.floor(deps.initialMessageSeq ?? deps.scheduler.now()));
    this.#seqFollowsClock = deps.initialMessageSeq === undefined;
    this.neighbors = new NeighborTable({
      myNodeId: this.nodeId,
      myInfo: deps.myInfo,
      maxNeighbors: deps.budgets.limits.maxNeighborsPerDomain,
      now: () => deps.scheduler.now(),
      onCreated: (node) => {
        this.#attachKeyExchange(node);
        for (const fn of this.#newNeighborListeners) fn(node);
      },
      onRemoved: (node) => this.#detachKeyExchange(node),
      onFull: () => {
        deps.budgets.refuse("neighbors");
        deps.stats.increment("network", "refused.neighbors");
      },
      evictable: (node) => !node.isStatic && this.#kx.get(node)?.state !== KeyExchangeState.ESTABLISHED,
      onEvicted: () => deps.stats.increment("network", "neighbors_evicted"),
    });
    this.topology = new Topology({
      neighbors: this.neighbors,
      scheduler: deps.scheduler,
      random: deps.random,
      timings: deps.timings,
      stats: deps.stats,
      logger: deps.logger,
      advertise: (list) => this.broadcast(sealAdmin(buildNeighborListMessage(this.domainId, list), this.#nextSeq(), this.keys), "plain"),
      departed: (nodeId) => this.#isDeparted(nodeId),
    });
    this.#purgeTimer = new ProtocolTimer(
      deps.scheduler,
      () => {
        const n = this.neighbors.purge(deps.timings.nodeLifetimeMs);
        if (n > 0) deps.stats.set("network", "neighbor_nodes", this.neighbors.size);
        this.#purgeTimer.start(deps.timings.purgeIntervalMs);
      },
      (err) => deps.logger.error({ err }, "neighbour purge failed"),
    );
  }

  /** Arms the periodic timers (topology refresh, neighbour purge). */
  start(): void {
    this.topology.start();
    this.#purgeTimer.start(this.#d.timings.purgeIntervalMs);
  }

  /** The key exchange with a neighbour (undefined for unknown nodes). */
  keyExchangeOf(nodeId: Uint8Array): KeyExchange | undefined {
    const n = this.neighbors.get(nodeId);
    return n === undefined ? undefined : this.#kx.get(n);
  }

  /** Installs the handler of a category (user routing, replication/repair). */
  setHandler(category: PluggableCategory, handler: CategoryHandler): void {
    this.#handlers.set(category, handler);
  }

  /**
   * `add_neighbor`: adds or refreshes a neighbour; a new or changed one triggers an
   * advertisement soon. Our own id, a missing port and a full table are refused.
   */
  addNeighbor(nodeId: Uint8Array, ipv4: string | null, ipv6: string | null, port: number | null, isStatic = false): AddResult {
    if (this.#closed || port === null) return "refused";
    // direct contact: a node that left and comes back is a neighbour again
    if (this.#departed.size > 0) this.#departed.delete(toHex(nodeId));
    const r = this.neighbors.add({ nodeId, ipv4, ipv6, port, isStatic });
    const node = r !== "refused" ? this.neighbors.get(nodeId) : undefined;
    if (node !== undefined) node.directAt = Math.max(1, this.#d.scheduler.now());
    if (r === "new" || r === "changed") {
      this.topology.notifyNeighborUpdate();
      this.#d.stats.set("network", "neighbor_nodes", this.neighbors.size);
    }
    if (isStatic && r === "new") this.#emitStatic();
    return r;
  }

  /**
   * A static neighbour (config `static_nodes` at startup, REQUEST_SET_STATIC_NODE): added as
   * `is_static`; its key exchange starts within 1–6 s and our next neighbour list tells it
   * about us. Listeners of {@link onStaticNodesChanged} are told so the core can persist it.
   */
  addStaticNode(nodeId: Uint8Array, ipv4: string | null, ipv6: string | null, port: number): AddResult {
    if (nodeId.length !== 32) throw new NetError("INVALID_ARGUMENT", "node id must be 32 bytes");
    checkPort(port);
    const v4 = ipv4 === null || ipv4 === "" ? null : ipv4;
    const v6 = ipv6 === null || ipv6 === "" ? null : ipv6;
    if (v4 !== null && !isIPv4(v4)) throw new NetError("BAD_ADDRESS", `not an IPv4 address: ${v4}`);
    if (v6 !== null && !isIPv6(v6)) throw new NetError("BAD_ADDRESS", `not an IPv6 address: ${v6}`);
    return this.addNeighbor(nodeId, v4, v6, port, true);
  }

  /** Neighbours created as static, for persisting (`static_nodes`). */
  staticNodes(): StaticNode[] {
    return this.neighbors.staticNodes().map((n) => ({ nodeId: n.nodeId.slice(), ipv4: n.ipv4, ipv6: n.ipv6, port: n.port }));
  }

  /** Calls `fn` for every neighbour entry created (by ping, message or neighbour list); `fn` must not throw. */
  onNewNeighbor(fn: (node: NodeInfo) => void): void {
    this.#newNeighborListeners.push(fn);
  }

  /** Calls `fn` with the static nodes whenever one is added. */
  onStaticNodesChanged(fn: (nodes: StaticNode[]) => void): void {
    this.#staticListeners.push(fn);
  }

  /** Our entry then every neighbour, as RESPONSE_GET_NEIGHBORLIST / NOTIFY_NEIGHBOR_LIST carry them. */
  neighborListBytes(): Uint8Array {
    return this.neighbors.encodeList();
  }

  /** Sets our domain0 flag (the process joined or left domain_global_0) and advertises it soon. */
  setDomain0Flag(flag: boolean): void {
    if (this.neighbors.myInfo.isDomain0Node === flag) return;
    this.neighbors.myInfo.isDomain0Node = flag;
    // v1.1.1 meant to advertise here but re-armed a refresh chain instead (Q22).
    this.topology.notifyNeighborUpdate();
  }

  /** Reloads the domain key file (client NOTIFY_DOMAIN_KEY_UPDATE). */
  reloadDomainKey(): boolean {
    return this.keys.load();
  }

  /**
   * `send_domain_ping`: pings `(ipv4 | ipv6, port)` with a fresh nonce; resent once after 1 s
   * without a pong; forgotten after 10 s. False when no address is given or none is usable.
   */
  sendDomainPing(ipv4: string | null, ipv6: string | null, port: number, isStatic = false): boolean {
    if (this.#closed) return false;
    checkPort(port);
    const dest: Destination = { ipv4: usableIPv4(ipv4), ipv6: usableIPv6(ipv6), port };
    if (dest.ipv4 === null && dest.ipv6 === null) return false;
    let nonce: number;
    do nonce = Math.floor(this.#d.random() * 0x100000000) >>> 0;
    while (this.#pings.has(nonce));
    const onError = (err: unknown): void => this.#d.logger.error({ err }, "ping timer failed");
    const send = (): void => {
      this.#d.stats.increment("network", "domain_ping_send");
      const m = buildDomainPing({
        domainId: this.domainId,
        nodeId: this.nodeId,
        domainPing: 0,
        nonce,
        staticEntry: isStatic,
        externalIp4addr: this.#d.externalIp4addr,
        externalIp6addr: this.#d.externalIp6addr,
      });
      this.#sendTo(dest, sealAdmin(m, this.#nextSeq(), this.keys), "plain");
    };
    const entry: PingEntry = {
      answered: false,
      retry: new ProtocolTimer(this.#d.scheduler, () => entry.answered || send(), onError),
      expire: new ProtocolTimer(this.#d.scheduler, () => this.#pings.delete(nonce), onError),
    };
    this.#pings.set(nonce, entry);
    entry.retry.start(this.#d.timings.pingRetryMs);
    entry.expire.start(this.#d.timings.pingExpireMs);
    send();
    return true;
  }

  /**
   * Sends `msg` to the neighbour `nodeId` (sets `destination_node_id` if absent and
   * `source_node_id`). `"none"` when the node is unknown or unreachable.
   */
  sendToNode(nodeId: Uint8Array, msg: WireMessage, mode: SendMode = "any"): SendResult {
    const node = this.neighbors.get(nodeId);
    if (node === undefined || this.#closed) return "none";
    if (msg.destination_node_id === undefined) msg.destination_node_id = node.nodeId;
    return this.#sendTo(node, msg, mode, node);
  }

  /** Sends one copy of `msg` to every neighbour (`destination_node_id` set per copy). Returns how many were sent. */
  broadcast(msg: WireMessage, mode: SendMode = "any"): number {
    if (this.#closed) return 0;
    let n = 0;
    for (const node of this.neighbors.nodes()) {
      msg.destination_node_id = node.nodeId;
      if (this.#sendTo(node, msg, mode, node) !== "none") n++;
    }
    return n;
  }

  /**
   * Sends NOTIFY_LEAVE (domain closed, node shutting down) to every neighbour that has talked to
   * us: those know us, and a v1.1.1 node that does not know the leaving node crashes on it (H7).
   */
  leave(): number {
    if (this.#closed) return 0;
    const msg = sealAdmin(buildNotifyLeave(this.domainId, this.nodeId, new Uint8Array(randomBytes(32))), this.#nextSeq(), this.keys);
    let n = 0;
    for (const node of this.neighbors.nodes()) {
      if (!node.heardFrom) continue;
      msg.destination_node_id = node.nodeId;
      if (this.#sendTo(node, msg, "any", node) !== "none") n++;
    }
    return n;
  }

  /** Marks the sender's entry as heard from directly (called after a message was handled). */
  heard(nodeId: Uint8Array): void {
    const n = this.neighbors.get(nodeId);
    if (n !== undefined) n.heardFrom = true;
  }

  /** Stops every timer and handler of the domain and forgets its neighbours (and their ciphers). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.topology.close();
    this.#purgeTimer.cancel();
    this.keys.close();
    for (const p of this.#pings.values()) {
      p.retry.cancel();
      p.expire.cancel();
    }
    this.#pings.clear();
    this.neighbors.clear();
    for (const h of this.#handlers.values()) {
      try {
        await h.close?.();
      } catch (err) {
        this.#d.logger.warn({ err }, "handler close failed");
      }
    }
  }

  /**
   * A received message of this domain (envelope already checked by the network: `domain_id`
   * served, `source_node_id` 32 bytes, category known). Throws `NetError` for a message to drop.
   */
  receive(category: number, msg: WireMessage, ctx: ReceiveContext): void | Promise<void> {
    if (this.#closed) return;
    const from = ctx.from;
    switch (category) {
      case InfraMessageCategory.CATEGORY_NETWORK:
        return this.#network(msg, ctx);
      case InfraMessageCategory.CATEGORY_TOPOLOGY: {
        // With a domain key the sender is added only once its signature verified (v1.1.1 adds
        // it first, so anyone could plant entries in a keyed domain).
        if (!this.keys.enabled) this.addNeighbor(ctx.sourceNodeId, from.family === 4 ? from.address : null, from.family === 6 ? from.address : null, from.port);
        return this.#topologyMessage(msg, ctx);
      }
      case InfraMessageCategory.CATEGORY_USER:
      case InfraMessageCategory.CATEGORY_DATA: {
        this.addNeighbor(ctx.sourceNodeId, from.family === 4 ? from.address : null, from.family === 6 ? from.address : null, from.port);
        const h = this.#handlers.get(category === InfraMessageCategory.CATEGORY_USER ? "user" : "data");
        if (h === undefined) throw new NetError("NO_HANDLER", "no handler for this category in this domain");
        return h.handle(msg, ctx);
      }
      default:
        throw new NetError("BAD_MESSAGE", `unknown infra category ${category}`);
    }
  }

  /** Refreshes the sender's entry from the datagram address (DOMAIN0 messages, handled by the network). */
  touchSender(ctx: ReceiveContext): void {
    const f = ctx.from;
    this.addNeighbor(ctx.sourceNodeId, f.family === 4 ? f.address : null, f.family === 6 ? f.address : null, f.port);
  }

  #markDeparted(nodeId: Uint8Array): void {
    // bounded like the table itself; the oldest departure is forgotten first
    if (this.#departed.size >= this.#d.budgets.limits.maxNeighborsPerDomain) this.#departed.delete(this.#departed.keys().next().value!);
    this.#departed.set(toHex(nodeId), this.#d.scheduler.now());
  }

  #isDeparted(nodeId: Uint8Array): boolean {
    if (this.#departed.size === 0) return false;
    const key = toHex(nodeId);
    const at = this.#departed.get(key);
    if (at === undefined) return false;
    // a peer that missed the leave stops listing it once its entry is purged (node lifetime)
    if (this.#d.scheduler.now() - at > this.#d.timings.nodeLifetimeMs) {
      this.#departed.delete(key);
      return false;
    }
    return true;
  }

  #nextSeq(): number {
    // Seeded from (and kept at or above) the clock in ms: never backwards across restarts (§15.4).
    this.#seq = this.#seqFollowsClock ? Math.max(this.#seq + 1, Math.floor(this.#d.scheduler.now())) : this.#seq + 1;
    return this.#seq;
  }

  #sendTo(dest: Destination, msg: WireMessage, mode: SendMode, node?: NodeInfo): SendResult {
    msg.source_node_id = this.nodeId;
    const kx = node !== undefined ? this.#kx.get(node) : undefined;
    const policy = this.#d.encryption;
    let frame: Uint8Array;
    if (mode === "any" && policy !== "off" && kx !== undefined && kx.canEncrypt) {
      const plain = encodeMessage(2, msg);
      if (policy === "udp" && plain.length + 4 > TCP_THRESHOLD_SIZE) frame = plain;
      else frame = encodeMessage(3, msg, { registry: this.#d.registry, keyName: kx.keyName! });
    } else {
      frame = encodeMessage(2, msg);
    }
    return this.#d.transmit(frame, dest);
  }

  #attachKeyExchange(node: NodeInfo): void {
    const kx = new KeyExchange({
      registry: this.#d.registry,
      scheduler: this.#d.scheduler,
      random: this.#d.random,
      timings: this.#d.timings,
      logger: this.#d.logger,
      send: (command, f) => this.#sendKeyExchange(node, command, f),
      onKeyName: (name, installed) => this.#d.onKeyName(name, installed, node),
    });
    this.#kx.set(node, kx);
    kx.startInitial();
  }

  #detachKeyExchange(node: NodeInfo): void {
    this.#kx.get(node)?.close();
    this.#kx.delete(node);
    this.#d.stats.set("network", "neighbor_nodes", this.neighbors.size);
  }

  #sendKeyExchange(node: NodeInfo, command: "request" | "response" | "confirm", f: KeyExchangeFields): boolean {
    const m: AdminMessage = buildKeyExchange(this.domainId, node.nodeId, command, f);
    return this.#sendTo(node, sealAdmin(m, this.#nextSeq(), this.keys), "plain", node) !== "none";
  }

  #emitStatic(): void {
    const nodes = this.staticNodes();
    for (const fn of this.#staticListeners) {
      try {
        fn(nodes);
      } catch (err) {
        this.#d.logger.warn({ err }, "static node listener failed");
      }
    }
  }

  #topologyMessage(msg: WireMessage, ctx: ReceiveContext): void {
    if (msg.destination_node_id === undefined || msg.command === undefined) throw new NetError("BAD_MESSAGE", "topology message without destination_node_id / command");
    if (this.keys.enabled) {
      openAdmin(msg, this.keys);
      const f = ctx.from;
      this.addNeighbor(ctx.sourceNodeId, f.family === 4 ? f.address : null, f.family === 6 ? f.address : null, f.port);
    }
    if (u16Of(msg.command) !== 0) throw new NetError("BAD_MESSAGE", "unknown topology command");
    const list = getBytes(msg, "neighbor_list");
    if (list === undefined) throw new NetError("BAD_MESSAGE", "NOTIFY_NEIGHBOR_LIST without neighbor_list");
    this.topology.onNeighborList(decodeNeighborList(list, this.#d.budgets.limits.maxNeighborsPerDomain + 1));
  }

  #network(msg: WireMessage, ctx: ReceiveContext): void {
    if (this.keys.enabled) openAdmin(msg, this.keys);
    else if (msg.admin_info !== undefined) throw new NetError("BAD_SIGNATURE", "signed admin message in a domain without a domain key (all nodes must agree, H9)");
    const src = ctx.sourceNodeId;
    const known = this.neighbors.get(src);
    if (known !== undefined) {
      const seq = getInt(msg, "message_seq");
      if (seq === undefined) throw new NetError("BAD_MESSAGE", "admin message without message_seq");
      const s = Number(seq);
      if (s <= known.adminSequenceNumber) {
        // Strict with a domain key (replay protection); lenient without (the check protects nothing
        // there and would ignore a restarted peer until its counter catches up, Q16).
        if (this.keys.enabled) throw new NetError("STALE_SEQUENCE", `message_seq ${s} not above ${known.adminSequenceNumber}`);
        this.#d.stats.increment("network", "message_seq_regressed");
      }
      known.adminSequenceNumber = s;
    }
    if (msg.domain_ping !== undefined) {
      if (ctx.from.transport !== "udp") throw new NetError("BAD_MESSAGE", "domain ping over TCP");
      return this.#receivePing(msg, ctx.from);
    }
    const command = u16Of(msg.command);
    switch (command) {
      case NetworkCommand.REQUEST_KEY_EXCHANGE: {
        const f = kxFields(msg);
        if (f === undefined) return;
        if (!this.#d.budgets.ecdhRate.tryTake(ctx.from.address)) {
          this.#d.budgets.refuse("ecdh_rate");
          this.#d.stats.increment("network", "refused.ecdh_rate");
          return;
        }
        if (known === undefined) {
          const f4 = ctx.from;
          this.addNeighbor(src, f4.family === 4 ? f4.address : null, f4.family === 6 ? f4.address : null, f4.port);
        }
        this.keyExchangeOf(src)?.onRequest(f);
        return;
      }
      case NetworkCommand.RESPONSE_KEY_EXCHANGE: {
        // From an unknown node this crashed v1.1.1 (H7): here a counted drop.
        if (known === undefined) throw new NetError("BAD_MESSAGE", "RESPONSE_KEY_EXCHANGE from an unknown node");
        const f = kxFields(msg);
        if (f !== undefined) this.keyExchangeOf(src)?.onResponse(f);
        return;
      }
      case NetworkCommand.CONFIRM_KEY_EXCHANGE:
        if (known === undefined) throw new NetError("BAD_MESSAGE", "CONFIRM_KEY_EXCHANGE from an unknown node");
        this.keyExchangeOf(src)?.onConfirm();
        return;
      case NetworkCommand.NOTIFY_LEAVE: {
        const leaving = getBytes(msg, "source_node_id", 32);
        if (leaving === undefined) return;
        if (this.neighbors.get(leaving) === undefined) throw new NetError("BAD_MESSAGE", "NOTIFY_LEAVE from an unknown node");
        this.topology.notifyNeighborUpdate();
        this.neighbors.remove(leaving);
        this.#markDeparted(leaving);
        return;
      }
      default:
        throw new NetError("BAD_MESSAGE", "NETWORK message without domain_ping or a known command");
    }
  }

  #receivePing(msg: WireMessage, from: PeerAddress): void {
    const nodeId = getBytes(msg, "node_id", 32);
    if (nodeId === undefined) throw new NetError("BAD_MESSAGE", "domain ping without node_id");
    this.#d.stats.increment("network", "domain_ping_receive");
    if (bytesEqual(nodeId, this.nodeId)) return;
    // Only literal addresses of the right family (a hostname killed the reference later, H15).
    const ip4 = literal(getTextSafe(msg, "external_ip4addr"), 4);
    const ip6 = literal(getTextSafe(msg, "external_ip6addr"), 6);
    const isStatic = getBool(msg, "static_entry") ?? false;
    const kind = getInt(msg, "domain_ping");
    this.addNeighbor(nodeId, ip4 === "0.0.0.0" ? null : ip4, ip6 === "::" ? null : ip6, from.port, isStatic);
    this.#d.stats.increment("network", "domain_ping_received");
    if (kind === 1) {
      const nonce = msg.nonce;
      const p = typeof nonce === "number" ? this.#pings.get(nonce) : undefined;
      if (p === undefined) throw new NetError("BAD_MESSAGE", "pong for no ping of ours (H8)");
      p.answered = true;
      p.retry.cancel();
      return;
    }
    if (kind !== 0) throw new NetError("BAD_MESSAGE", `domain_ping ${String(kind)} is neither 0 nor 1`);
    const pong = buildDomainPing({
      domainId: this.domainId,
      nodeId: this.nodeId,
      domainPing: 1,
      nonce: msg.nonce ?? null,
      staticEntry: isStatic,
      externalIp4addr: this.#d.externalIp4addr,
      externalIp6addr: this.#d.externalIp6addr,
    });
    // Answer to the ping's advertised address (as v1.1.1), else to where it came from.
    const dest: Destination =
      usableIPv4(ip4) !== null || usableIPv6(ip6) !== null
        ? { ipv4: ip4, ipv6: ip6, port: from.port! }
        : { ipv4: from.family === 4 ? from.address : null, ipv6: from.family === 6 ? from.address : null, port: from.port! };
    this.#sendTo(dest, sealAdmin(pong, this.#nextSeq(), this.keys), "plain");
  }
}

function kxFields(msg: WireMessage): KeyExchangeFields | undefined {
  const ecdh = getBytes(msg, "ecdh");
  const nonce = getBytes(msg, "nonce");
  const random = getBytes(msg, "random");
  const hint = getBytes(msg, "hint");
  if (ecdh === undefined || nonce === undefined || random === undefined || hint === undefined) return undefined;
  if (nonce.length !== 16 || hint.length !== 4 || (ecdh.length !== 97 && ecdh.length !== 49)) throw new NetError("BAD_MESSAGE", "key exchange values of the wrong size");
  return { ecdh, nonce, random, hint };
}

function getTextSafe(msg: WireMessage, key: "external_ip4addr" | "external_ip6addr"): string | undefined {
  try {
    return getText(msg, key);
  } catch {
    return undefined;
  }
}

function literal(s: string | undefined, family: 4 | 6): string | null {
  if (s === undefined || s === "") return null;
  return (family === 4 ? isIPv4(s) : isIPv6(s)) ? s : null;
}

