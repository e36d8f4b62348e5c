import { randomBytes } from "node:crypto";
import { networkInterfaces } from "node:os";
import pino, { type Logger } from "pino";
import { bytesEqual, toHex } from "@bbc1/bbclib";
import { InfraMessageCategory, KeyRegistry, type ByteBudget, RefusalCounter, decodePayload, isWireError, splitFrame, type Frame, type WireMessage } from "@bbc1/wire";
import { RealScheduler, type RandomFn, type Scheduler } from "./clock.js";
import { StreamDecryptor } from "./decrypt.js";
import { DomainKeys, type DomainKeyConfig } from "./domain-key.js";
import { NetworkDomain, type EncryptionPolicy, type StaticNode } from "./domain.js";
import { NetError, isNetError } from "./errors.js";
import type { CategoryHandler, ReceiveContext } from "./interfaces.js";
import { NetBudgets, resolveLimits, type NetLimits } from "./limits.js";
import { u16Of } from "./messages.js";
import { NodeInfo } from "./neighbors.js";
import { NetStats, type StatsSink } from "./stats.js";
import { resolveTimings, type NetTimings } from "./timings.js";
import { Transport, type PeerAddress } from "./transport.js";
import { isIPv4, isIPv6 } from "./addresses.js";

/** domain_global_0: 32 zero bytes. */
export const DOMAIN_GLOBAL_0 = new Uint8Array(32);

/** v1.1.1's default P2P port. */
export const DEFAULT_P2P_PORT = 6641;

/** Options of {@link BBcNetwork}. Everything is optional. */
export interface BBcNetworkOptions {
  /** P2P port for UDP and TCP (`--p2pport`; default 6641; 0 = ephemeral). */
  port?: number;
  /** IPv4 address to bind (default `0.0.0.0`). */
  host4?: string;
  /** IPv6 address to bind, e.g. `"::"`; default null: no IPv6 sockets (§2.6). */
  host6?: string | null;
  /** Advertised IPv4 (`--ip4addr`); default: the bound address, or the first non-internal interface address, or 127.0.0.1. */
  ip4addr?: string | null;
  /** Advertised IPv6 (`--ip6addr`); default none (nil in pings, `::` in lists, §2.6). */
  ip6addr?: string | null;
  /** The `domain_key` config section (`use`, `directory`, `obsolete_timeout`). */
  domainKey?: DomainKeyConfig;
  /** When to send encrypted to neighbours with an established key: `"off"` (default, §6.6), `"udp"` (UDP-sized messages only), `"all"`. */
  encryption?: EncryptionPolicy;
  /** Process-wide key registry, shared with the client port's ECDH (key names unique across both). */
  registry?: KeyRegistry;
  /** Clock/scheduler of every protocol timer (default: real time). */
  scheduler?: Scheduler;
  /** Random source of timer jitter and ping nonces (default `Math.random`). */
  random?: RandomFn;
  /** Protocol times (default v1.1.1's). */
  timings?: Partial<NetTimings>;
  /** Resource limits of the P2P port (defaults in `DEFAULT_NET_LIMITS`). */
  limits?: Partial<NetLimits>;
  /** Injected pino logger (default: silent). */
  logger?: Logger;
  /** Counters (the core passes its `BBcStats`; default a private {@link NetStats}). */
  stats?: StatsSink;
  /** Refusal counters by limit name (the core shares its own across its ports). */
  refusals?: RefusalCounter;
  /** The process-wide pool for partial frames (the core's `partialFrames`, `limits.partial_frames_total_bytes`); default a private 256 MiB pool. */
  partialFrames?: ByteBudget;
}

/** Options of {@link BBcNetwork.createDomain}. */
export interface CreateDomainOptions {
  /** This node's id in the domain (config `node_id`); default 32 random bytes. */
  nodeId?: Uint8Array;
  /** Static neighbours to add (config `static_nodes`). */
  staticNodes?: readonly StaticNode[];
  /** First `message_seq` minus one (default: the clock in ms). */
  initialMessageSeq?: number;
}

/**
 * The node-to-node network of one process (v1.1.1 `BBcNetwork`): one {@link Transport} on the
 * P2P port, one process-wide key registry, and a {@link NetworkDomain} per served domain.
 *
 * Start/stop order:
 * 1. `new BBcNetwork(options)`; 2. `await start()` binds the port; 3. `createDomain()` per
 *    domain (loads its domain key, adds static nodes, arms its timers); 4. plug handlers
 *    (`domain.setHandler("user" | "data", ...)`, {@link setDomain0Handler});
 * 5. `removeDomain()` sends NOTIFY_LEAVE and closes that domain; `close()` sends NOTIFY_LEAVE
 *    in every domain, waits for the datagrams to leave, closes the domains, then the sockets.
 *
 * A received message reaches exactly one handler: NETWORK and TOPOLOGY the domain itself,
 * USER and DATA the domain's pluggable handlers, DOMAIN0 the process-wide one. Everything that
 * fails on the way is a logged drop counted as `network.drop.<reason>`.
 */
export class BBcNetwork {
  readonly registry: KeyRegistry;
  readonly scheduler: Scheduler;
  readonly stats: StatsSink;
  readonly refusals: RefusalCounter;
  readonly logger: Logger;
  readonly limits: NetLimits;
  readonly timings: NetTimings;
  readonly #o: BBcNetworkOptions;
  readonly #random: RandomFn;
  readonly #budgets: NetBudgets;
  readonly #transport: Transport;
  readonly #decryptor: StreamDecryptor;
  readonly #domains = new Map<string, NetworkDomain>();
  readonly #keyOwners = new Map<string, { domain: NetworkDomain; node: NodeInfo }>();
  #domain0Handler: CategoryHandler | null = null;
  #ip4addr: string | null = null;
  #ip6addr: string | null;
  #state: "new" | "started" | "closed" = "new";

  constructor(options: BBcNetworkOptions = {}) {
    this.#o = options;
    this.registry = options.registry ?? new KeyRegistry();
    this.scheduler = options.scheduler ?? new RealScheduler();
    this.stats = options.stats ?? new NetStats();
    this.refusals = options.refusals ?? new RefusalCounter();
    this.logger = options.logger ?? pino({ level: "silent" });
    this.limits = resolveLimits(options.limits);
    this.timings = resolveTimings(options.timings);
    this.#random = options.random ?? Math.random;
    this.#budgets = new NetBudgets(this.limits, this.refusals, () => performance.now(), options.partialFrames);
    this.#decryptor = new StreamDecryptor(this.registry, this.limits.resyncWindowBytes, () => performance.now());
    const ip6 = options.ip6addr ?? null;
    if (ip6 !== null && !isIPv6(ip6)) throw new NetError("BAD_ADDRESS", `ip6addr is not an IPv6 address: ${ip6}`);
    this.#ip6addr = ip6;
    if (options.ip4addr != null && !isIPv4(options.ip4addr)) throw new NetError("BAD_ADDRESS", `ip4addr is not an IPv4 address: ${options.ip4addr}`);
    this.#transport = new Transport({
      port: options.port ?? DEFAULT_P2P_PORT,
      host4: options.host4 ?? "0.0.0.0",
      host6: options.host6 ?? null,
      budgets: this.#budgets,
      logger: this.logger,
      stats: this.stats,
      onFrame: (frame, from) => this.#onFrame(frame, from),
    });
  }

  /** The bound P2P port (after {@link start}). */
  get port(): number {
    return this.#transport.port;
  }

  /** The advertised IPv4 address. */
  get ip4addr(): string | null {
    return this.#ip4addr;
  }

  /** The advertised IPv6 address (null: none). */
  get ip6addr(): string | null {
    return this.#ip6addr;
  }

  /** Binds UDP and TCP on the P2P port. Throws `BIND_FAILED`. */
  async start(): Promise<void> {
    if (this.#state !== "new") throw new NetError("CLOSED", "start() may be called once");
    await this.#transport.start();
    this.#state = "started";
    const host4 = this.#o.host4 ?? "0.0.0.0";
    this.#ip4addr = this.#o.ip4addr ?? (host4 !== "0.0.0.0" ? host4 : detectIPv4());
    this.logger.info({ port: this.port, ip4addr: this.#ip4addr, ip6addr: this.#ip6addr }, "p2p network listening");
  }

  /** Served domains. */
  domains(): NetworkDomain[] {
    return [...this.#domains.values()];
  }

  /** The domain's components, if served. */
  getDomain(domainId: Uint8Array): NetworkDomain | undefined {
    return this.#domains.get(toHex(domainId));
  }

  /** True when this process is in domain_global_0. */
  get inDomain0(): boolean {
    return this.#domains.has(toHex(DOMAIN_GLOBAL_0));
  }

  /**
   * `create_domain`: a neighbour table, topology, domain key and ping table for the domain.
   * Joining domain_global_0 sets the domain0 flag of every regular domain.
   */
  createDomain(domainId: Uint8Array, options: CreateDomainOptions = {}): NetworkDomain {
    if (this.#state !== "started") throw new NetError(this.#state === "new" ? "NOT_STARTED" : "CLOSED", "the network is not running");
    if (!(domainId instanceof Uint8Array) || domainId.length !== 32) throw new NetError("INVALID_ARGUMENT", "domain id must be 32 bytes");
    const key = toHex(domainId);
    if (this.#domains.has(key)) throw new NetError("DOMAIN_EXISTS", `domain ${key} is already served`);
    const nodeId = options.nodeId ?? new Uint8Array(randomBytes(32));
    if (nodeId.length !== 32) throw new NetError("INVALID_ARGUMENT", "node id must be 32 bytes");
    const isDomain0 = bytesEqual(domainId, DOMAIN_GLOBAL_0);
    const myInfo = new NodeInfo({
      nodeId,
      ipv4: this.#ip4addr ?? "0.0.0.0",
      ipv6: this.#ip6addr ?? "::",
      port: this.port,
      domain0: !isDomain0 && this.inDomain0,
      now: this.scheduler.now(),
    });
    const keys = new DomainKeys({ domainId, config: this.#o.domainKey, scheduler: this.scheduler, logger: this.logger });
    keys.load();
    const domain = new NetworkDomain({
      domainId,
      nodeId,
      myInfo,
      externalIp4addr: this.#ip4addr,
      externalIp6addr: this.#ip6addr,
      keys,
      registry: this.registry,
      scheduler: this.scheduler,
      random: this.#random,
      timings: this.timings,
      budgets: this.#budgets,
      stats: this.stats,
      logger: this.logger.child({ domain: key.slice(0, 8) }),
      encryption: this.#o.encryption ?? "off",
      transmit: (frame, dest) => this.#transport.send(frame, dest),
      onKeyName: (name, installed, node) => {
        if (installed) this.#keyOwners.set(toHex(name), { domain, node });
        else this.#keyOwners.delete(toHex(name));
      },
      initialMessageSeq: options.initialMessageSeq,
    });
    this.#domains.set(key, domain);
    domain.start();
    for (const s of options.staticNodes ?? []) {
      try {
        domain.addStaticNode(s.nodeId, s.ipv4, s.ipv6, s.port);
      } catch (err) {
        this.logger.warn({ err }, "static node ignored");
      }
    }
    if (isDomain0) for (const d of this.#domains.values()) if (d !== domain) d.setDomain0Flag(true);
    this.stats.increment("network", "num_domains");
    return domain;
  }

  /** `remove_domain`: NOTIFY_LEAVE to every neighbour, then the domain's components close. */
  async removeDomain(domainId: Uint8Array): Promise<boolean> {
    const key = toHex(domainId);
    const domain = this.#domains.get(key);
    if (domain === undefined) return false;
    domain.leave();
    await this.#transport.flush();
    this.#domains.delete(key);
    await domain.close();
    if (bytesEqual(domainId, DOMAIN_GLOBAL_0)) for (const d of this.#domains.values()) d.setDomain0Flag(false);
    this.stats.decrement("network", "num_domains");
    return true;
  }

  /** The process-wide DOMAIN0 handler (§11); without one, DOMAIN0 messages are dropped (H10). */
  setDomain0Handler(handler: CategoryHandler | null): void {
    this.#domain0Handler = handler;
  }

  /**
   * NOTIFY_LEAVE in every domain (unless `notifyLeave` is false, e.g. to simulate a crash),
   * domains closed, sockets closed.
   */
  async close(options: { notifyLeave?: boolean } = {}): Promise<void> {
    if (this.#state === "closed") return;
    const wasStarted = this.#state === "started";
    this.#state = "closed";
    if (wasStarted && options.notifyLeave !== false) {
      for (const d of this.#domains.values()) d.leave();
      await this.#transport.flush();
    }
    for (const d of this.#domains.values()) await d.close();
    this.#domains.clear();
    try {
      await this.#domain0Handler?.close?.();
    } catch (err) {
      this.logger.warn({ err }, "domain0 handler close failed");
    }
    await this.#transport.close();
  }

  /**
   * Handles one frame as if it had arrived from `from` (a datagram's bytes: exactly one frame).
   * For other transports and tests; never throws (a bad frame is a counted drop).
   */
  handleFrame(bytes: Uint8Array, from: PeerAddress): void {
    let frame: Frame;
    try {
      frame = splitFrame(bytes, { maxMessageSize: this.limits.maxFrameBytes });
    } catch (err) {
      return this.#drop("malformed_frame", { code: isWireError(err) ? err.code : String(err) });
    }
    try {
      this.#onFrame(frame, from);
    } catch (err) {
      this.#handlerFailed(err, from);
    }
  }

  #drop(reason: string, detail?: Record<string, unknown>): void {
    this.stats.increment("network", `drop.${reason}`);
    this.logger.debug({ reason, ...detail }, "p2p message dropped");
  }

  #onFrame(frame: Frame, from: PeerAddress): void {
    if (this.#state !== "started") return;
    let msg: WireMessage;
    let encrypted = false;
    try {
      if (frame.payloadType === 3) {
        msg = this.#decryptor.decrypt(frame.body, this.limits.maxFrameBytes).message;
        encrypted = true;
      } else {
        msg = decodePayload(frame.payloadType, frame.body, { maxMessageSize: this.limits.maxFrameBytes, unknownKeys: "drop" });
      }
    } catch (err) {
      if (isWireError(err, "UNKNOWN_KEY_NAME")) {
        this.#drop("unknown_key_name", { from: from.address });
        this.#rekeyByAddress(from);
      } else if (isWireError(err, "DECRYPTION_FAILED")) {
        this.#drop("decryption_failed", { from: from.address });
        // re-key with the neighbour this key belongs to (§6.6)
        const owner = this.#keyOwners.get(toHex(frame.body.subarray(0, 4)));
        owner?.domain.keyExchangeOf(owner.node.nodeId)?.rekeySoon();
      } else {
        this.#drop("decode", { from: from.address, code: isWireError(err) ? err.code : String(err) });
      }
      return;
    }
    const domainId = msg.domain_id;
    if (!(domainId instanceof Uint8Array) || domainId.length !== 32) return this.#drop("no_domain", { from: from.address });
    if (from.transport === "tcp" && msg.destination_node_id === undefined) return this.#drop("no_destination", { from: from.address });
    const domain = this.#domains.get(toHex(domainId));
    if (domain === undefined) return this.#drop("unknown_domain", { from: from.address });
    const category = u16Of(msg.infra_msg_type);
    if (category === undefined) return this.#drop("no_category", { from: from.address });
    const src = msg.source_node_id;
    if (!(src instanceof Uint8Array) || src.length !== 32) return this.#drop("no_source", { from: from.address });
    const ctx: ReceiveContext = { domainId, sourceNodeId: src, from, encrypted };
    try {
      let r: void | Promise<void>;
      if (category === InfraMessageCategory.CATEGORY_DOMAIN0) {
        const h = this.#domain0Handler;
        if (h === null || !this.inDomain0) return this.#drop("no_domain0", { from: from.address });
        domain.touchSender(ctx);
        r = h.handle(msg, ctx);
      } else {
        r = domain.receive(category, msg, ctx);
      }
      domain.heard(src);
      if (r instanceof Promise) r.catch((err: unknown) => this.#handlerFailed(err, from));
    } catch (err) {
      this.#handlerFailed(err, from);
    }
  }

  #handlerFailed(err: unknown, from: PeerAddress): void {
    if (isNetError(err)) this.#drop(err.code.toLowerCase(), { from: from.address, message: err.message });
    else if (isWireError(err)) this.#drop("bad_message", { from: from.address, code: err.code, message: err.message });
    else {
      this.stats.increment("network", "drop.handler_error");
      this.logger.warn({ err, from: from.address }, "p2p handler failed; message dropped");
    }
  }

  /** A frame named a key we do not hold: re-key with the neighbour at that UDP address (§6.6). */
  #rekeyByAddress(from: PeerAddress): void {
    if (from.port === null) return;
    for (const d of this.#domains.values()) {
      for (const n of d.neighbors.nodes()) {
        if (n.port === from.port && (n.ipv4 === from.address || n.ipv6 === from.address)) d.keyExchangeOf(n.nodeId)?.rekeySoon();
      }
    }
  }
}

function detectIPv4(): string {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === "IPv4" && !a.internal) return a.address;
  }
  return "127.0.0.1";
}
