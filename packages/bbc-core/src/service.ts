import { createServer, type Server } from "node:net";
import { randomBytes } from "node:crypto";
import pino, { type Logger } from "pino";
import { readFileSync } from "node:fs";
import { KeyPair, deserialize, fromHex, toHex, type DeserializeOptions } from "@bbc1/bbclib";
import { ByteBudget, KeyRegistry, MsgType, RefusalCounter, TokenBucket, isAdminMsgType } from "@bbc1/wire";
import { BBcNetwork, CommandDispatch, KeyExchangeState, isNetError, readP2pLimits, type EncryptionPolicy, type NetTimings, type NetworkDomain, type RepairLimits } from "@bbc1/net";
import { BBcConfig, DOMAIN_GLOBAL_0_HEX, DEFAULT_CORE_PORT, DEFAULT_P2P_PORT, isJsonObject, type JsonObject } from "./config.js";
import type { ClientConnection, QueuedRequest } from "./connection.js";
import { ClientPort } from "./client-port.js";
import { OutputPool } from "./outbox.js";
import { BounceBudget } from "./bounces.js";
import { AdminReplayCache } from "./admin-replay.js";
import { RESPONSE_OF, boundaryError, oversizedId } from "./boundary.js";
import { Domain } from "./domain.js";
import { CoreError } from "./errors.js";
import { checkAdmin, loadOrCreateNodeKey } from "./nodekey.js";
import { BBcStats } from "./stats.js";
import { decodeBudgetOf, deserializeOptionsOf, resolveLimits, type LimitOverrides, type ResolvedLimits } from "./limits.js";
import type { LedgerFactory } from "./store.js";
import { storageLedgerFactory } from "./storage-adapter.js";
import { readEncryption, readNetTimings, readStaticNodes, staticNodesJson } from "./p2p.js";
import { attachRouting } from "./routing.js";
import { CrossRefs, crossRefStockOf, readDomain0Settings } from "./cross-refs.js";
import {
  ASYNC_DIGEST_BYTES,
  VerifiedCache,
  assetFilesMatch,
  normaliseFiles,
  validateSubmitted,
  validateSubmittedAsync,
  validateSubmittedDeferred,
  type DeferredVerdict,
  type SubmittedVerdict,
  type WireAssetFiles,
} from "./validator.js";
import { ValidatorPool } from "./validator-pool.js";
import type { SignatureBatchStats } from "./signature-batch.js";
import type { CoreInternals, Handler, RequestContext } from "./handlers/context.js";
import * as ledger from "./handlers/ledger.js";
import * as messaging from "./handlers/messaging.js";
import * as session from "./handlers/session.js";
import * as admin from "./handlers/admin.js";
import { CoreMetrics } from "./http/metrics.js";
import { startHttpEndpoint, type HttpEndpoint, type HttpOptions } from "./http/index.js";
import { p2pViewOf, type P2pView } from "./http/p2p-view.js";
import { attachRepair, handleRepairRequest, readRepairLimits } from "./repair.js";
import { CoreReplicationLedger, attachReplication } from "./replication.js";

/** Options of {@link BBcCoreService.start}. Every field is optional. */
export interface BBcCoreServiceOptions {
  /** Working directory (default `.bbc1`, relative to the current directory). */
  workingDir?: string;
  /** Config file (default `<workingDir>/config.json`). */
  configFile?: string;
  /** `--default_config`: file whose top-level sections replace the loaded config's. */
  defaultConfigFile?: string;
  /** Client TCP port (0 = ephemeral). Default: `client.port` of the config (9000). When given it is written to the config. */
  corePort?: number;
  /** Address the client server binds to (default `127.0.0.1`; `::` for every interface). */
  host?: string;
  /** P2P port, UDP and TCP (`--p2pport`; default `network.p2p_port`, 6641; 0 = ephemeral). When given it is written to the config. */
  p2pPort?: number;
  /** Address the P2P port binds to (default `0.0.0.0`, every IPv4 interface, as v1.1.1). */
  p2pHost?: string;
  /** IPv6 address the P2P port also binds to (default none: no IPv6 sockets, p2p-protocol.md §2.6). */
  p2pHost6?: string;
  /** When to encrypt towards neighbours with an established key: over config `network.encryption` ("off" default, "udp", "all"). */
  p2pEncryption?: EncryptionPolicy;
  /** Protocol times of the P2P layer, over config `network.timings` (for tests: v1.1.1's values by default). */
  netTimings?: Partial<NetTimings>;
  /** Force the node key on (true) or off (false); default `client.use_node_key` (true). */
  useNodeKey?: boolean;
  /** Also serve domain_global_0 (`--domain0`). */
  useDomain0?: boolean;
  /** `--ledgersubsystem`: accepted; no subsystem module exists, so nothing is loaded (logged). */
  useLedgerSubsystem?: boolean;
  /** `--ip4addr`: the IPv4 address advertised to peers (default: the bound address, else the first non-loopback interface address). */
  ip4addr?: string;
  /** `--ip6addr`: the IPv6 address advertised to peers (default none). */
  ip6addr?: string;
  /** Injected pino logger. Default: a pino logger on standard error at `logLevel`. */
  logger?: Logger;
  /** Level of the default logger (default "info"). */
  logLevel?: string;
  /** Opens a domain's ledger. Default: `@bbc1/storage` (SQLite unless the domain's `db` section says otherwise). */
  ledgerFactory?: LedgerFactory;
  /**
   * Resource limits over the `limits` section of config.json (README, "Resource limits").
   * The four options below are shorthands for `limits.client` fields.
   */
  limits?: LimitOverrides;
  /** Shorthand for `limits.client.maxFrameBytes` (default 64 MiB). */
  maxMessageSize?: number;
  /** Shorthand for `limits.client.maxQueuedRequests` (default 256). */
  maxQueuedRequests?: number;
  /** Shorthand for `limits.client.outputMaxBytesPerConnection` (default 128 MiB). */
  maxWriteBuffer?: number;
  /** Shorthand for `limits.client.maxConnections` (default 1000, the reference's pool size). */
  maxConnections?: number;
  /** Time before an undeliverable message bounces back to its sender (default 5000 ms, v1.1.1 RESOLVE_TIMEOUT). */
  resolveTimeoutMs?: number;
  /** Signature-verification worker threads (default: 0 below 2 CPUs, else min(4, CPUs-1)); 0 verifies on the main thread. */
  verifyWorkers?: number;
  /**
   * Verify the signatures of concurrent inserts on the worker threads in batches instead of on libuv's pool (default
   * false: on a 2-core machine it gave the same throughput and ~30 MB more RSS at a million inserts).
   */
  verifyBatches?: boolean;
  /** Transactions with at most this many signatures are verified on the main thread (default 8). */
  verifyInlineMaxSignatures?: number;
  /**
   * The HTTP endpoint (`/metrics`, `/healthz`, `/readyz`, the ledger explorer) over the `http`
   * section of config.json. Off unless this option (`true` or settings) or `http.enabled` turns
   * it on; `false` keeps it off whatever the config says.
   */
  http?: boolean | HttpOptions;
}

const HANDLERS = new Map<number, Handler>([
  [MsgType.REQUEST_INSERT, ledger.handleInsert],
  [MsgType.REQUEST_SEARCH_TRANSACTION, ledger.handleSearchTransaction],
  [MsgType.REQUEST_SEARCH_WITH_CONDITIONS, ledger.handleSearchWithConditions],
  [MsgType.REQUEST_COUNT_TRANSACTIONS, ledger.handleCount],
  [MsgType.REQUEST_TRAVERSE_TRANSACTIONS, ledger.handleTraverse],
  [MsgType.REQUEST_REPAIR, handleRepairRequest],
  [MsgType.REQUEST_CROSS_REF_LIST, ledger.handleCrossRefList],
  [MsgType.REQUEST_CROSS_REF_VERIFY, ledger.handleCrossRefVerify],
  [MsgType.REQUEST_REGISTER_HASH_IN_SUBSYS, ledger.handleSubsystem],
  [MsgType.REQUEST_VERIFY_HASH_IN_SUBSYS, ledger.handleSubsystem],
  [MsgType.MESSAGE, messaging.handleMessage],
  [MsgType.REQUEST_GATHER_SIGNATURE, messaging.handleGatherSignature],
  [MsgType.RESPONSE_SIGNATURE, messaging.handleResponseSignature],
  [MsgType.REGISTER, session.handleRegister],
  [MsgType.UNREGISTER, session.handleUnregister],
  [MsgType.REQUEST_ECDH_KEY_EXCHANGE, session.handleEcdh],
  [MsgType.REQUEST_INSERT_NOTIFICATION, session.handleInsertNotification],
  [MsgType.CANCEL_INSERT_NOTIFICATION, session.handleCancelInsertNotification],
  [MsgType.REQUEST_SETUP_DOMAIN, admin.handleSetupDomain],
  [MsgType.REQUEST_CLOSE_DOMAIN, admin.handleCloseDomain],
  [MsgType.REQUEST_SET_STATIC_NODE, admin.handleSetStaticNode],
  [MsgType.DOMAIN_PING, admin.handleDomainPing],
  [MsgType.NOTIFY_DOMAIN_KEY_UPDATE, admin.handleDomainKeyUpdate],
  [MsgType.REQUEST_GET_CONFIG, admin.handleGetConfig],
  [MsgType.REQUEST_GET_DOMAINLIST, admin.handleGetDomainList],
  [MsgType.REQUEST_GET_NEIGHBORLIST, admin.handleGetNeighborList],
  [MsgType.REQUEST_GET_FORWARDING_LIST, admin.handleGetForwardingList],
  [MsgType.REQUEST_GET_USERS, admin.handleGetUsers],
  [MsgType.REQUEST_GET_NODEID, admin.handleGetNodeId],
  [MsgType.REQUEST_GET_NOTIFICATION_LIST, admin.handleGetNotificationList],
  [MsgType.REQUEST_GET_STATS, admin.handleGetStats],
  [MsgType.REQUEST_MANIP_LEDGER_SUBSYS, admin.handleManipLedgerSubsys],
]);

/**
 * A BBc-1 v1.1.1 core node: config, node key, domains with their ledgers, the client TCP
 * server, statistics and logging. Embeddable:
 *
 * ```ts
 * const node = await BBcCoreService.start({ workingDir: "/tmp/node1", corePort: 0 });
 * console.log(node.port);
 * await node.close();
 * ```
 *
 * Lifecycle: `start` loads the config, the node key, opens every configured domain's ledger,
 * then listens. `close` stops accepting, stops reading, lets every request already read finish
 * (inserts complete and are answered), closes the connections, the ledgers, and saves the config.
 */
export class BBcCoreService implements CoreInternals {
  readonly config: BBcConfig;
  readonly stats = new BBcStats();
  readonly logger: Logger;
  readonly domains = new Map<string, Domain>();
  readonly registry = new KeyRegistry();
  /** The node key checking admin commands (null: not checked); replaced by {@link reloadNodeKey}. */
  nodeKey: KeyPair | null;
  /** Path of node_key.pem when the node key is in use. */
  readonly nodeKeyPath: string | undefined;
  /** The node-to-node network (P2P port, one NetworkDomain per served domain). */
  readonly network: BBcNetwork;
  /** domain_global_0 and cross references: the domain0 manager (with `--domain0`), stocks, REPLICATION_CROSS_REF. */
  readonly crossRefs: CrossRefs;
  readonly ip4addr: string | undefined;
  readonly ip6addr: string | undefined;
  readonly searchMaxCount: number;
  readonly traverseMaxCount: number;
  readonly verified = new VerifiedCache();
  /** See {@link CoreInternals.insertsInProgress}. */
  insertsInProgress = 0;
  /** Every resource limit in force (config.json `limits` over the defaults, then the options). */
  readonly limits: ResolvedLimits;
  /**
   * Bytes held in partial frames by every connection of the process; a P2P port of the same
   * node shares this pool.
   */
  readonly partialFrames: ByteBudget;
  /** Refusals by limit name (also counted in GET_STATS under the `limits` category). */
  readonly refusals = new RefusalCounter();
  /** Bytes queued for sending, all connections together. */
  readonly output: OutputPool;
  /** ECDH key exchanges, all connections together. */
  readonly ecdhTotal: TokenBucket;
  /** Decode limits of transactions (config `limits.decode`), also in the validator workers. */
  readonly deserializeOptions: DeserializeOptions;
  /** Prometheus metrics (served by the HTTP endpoint; README, "Metrics"). */
  readonly metrics: CoreMetrics;
  readonly #bounces: BounceBudget;
  readonly #adminReplay: AdminReplayCache | undefined;
  readonly #port: ClientPort;
  readonly #options: BBcCoreServiceOptions;
  readonly #ledgerFactory: LedgerFactory;
  readonly #pendingDomains = new Map<string, Promise<boolean>>();
  readonly #resolveTimeoutMs: number;
  readonly #repairLimits: Partial<RepairLimits>;
  readonly #pool: ValidatorPool | undefined;
  readonly #poolSize: number;
  #server: Server | undefined;
  #http: HttpEndpoint | undefined;
  #closing: Promise<void> | undefined;

  private constructor(options: BBcCoreServiceOptions) {
    this.#options = options;
    this.logger = options.logger ?? pino({ name: "bbc1-core", level: options.logLevel ?? "info" }, pino.destination(2));
    this.config = new BBcConfig({ workingDir: options.workingDir, configFile: options.configFile, defaultConfigFile: options.defaultConfigFile });
    const conf = this.config.config;
    const client = conf.client as JsonObject;
    const network = conf.network as JsonObject;
    if (options.corePort !== undefined) client.port = options.corePort;
    if (options.p2pPort !== undefined && isJsonObject(network)) network.p2p_port = options.p2pPort;
    if (options.useNodeKey !== undefined) client.use_node_key = options.useNodeKey;
    this.ip4addr = options.ip4addr;
    this.ip6addr = options.ip6addr;
    this.searchMaxCount = this.config.searchMaxCount;
    this.traverseMaxCount = this.config.traverseMaxCount;
    if (client.use_node_key === true) {
      const nk = loadOrCreateNodeKey(this.config.workingDir);
      this.nodeKey = nk.key;
      this.nodeKeyPath = nk.path;
      if (nk.corruptKeptAs !== undefined) {
        this.logger.warn({ path: nk.path, keptAs: nk.corruptKeptAs, reason: nk.corruptReason }, "node key file is unreadable: moved aside, a new node key was generated (admin clients need the new one)");
      }
      this.logger.info({ path: nk.path, created: nk.created }, "the core uses node_key to check signatures on admin commands");
    } else {
      this.nodeKey = null;
      this.nodeKeyPath = undefined;
    }
    this.#ledgerFactory =
      options.ledgerFactory ??
      storageLedgerFactory({
        searchMaxCount: this.searchMaxCount,
        logger: this.logger.child({ component: "storage" }),
        onCommit: (hex) => {
          const cell = this.metrics.commitCell(hex);
          return (n) => cell.observe(n);
        },
        onCommitted: (hex) => {
          const cell = this.metrics.commitSecondsCell(hex);
          return (_n, seconds) => cell.observe(seconds);
        },
      });
    this.limits = resolveLimits(conf.limits, {
      process: options.limits?.process,
      decode: options.limits?.decode,
      client: {
        maxFrameBytes: options.maxMessageSize,
        maxQueuedRequests: options.maxQueuedRequests,
        outputMaxBytesPerConnection: options.maxWriteBuffer,
        maxConnections: options.maxConnections,
        ...options.limits?.client,
      },
    });
    const pl = this.limits.process;
    const cl = this.limits.client;
    this.deserializeOptions = deserializeOptionsOf(this.limits.decode, cl.maxFrameBytes);
    this.partialFrames = new ByteBudget(pl.partialFramesTotalBytes);
    this.output = new OutputPool(pl.outputTotalBytes);
    this.ecdhTotal = new TokenBucket(pl.ecdhTotalPerSecond, pl.ecdhTotalPerSecond);
    this.metrics = new CoreMetrics(this);
    this.#bounces = new BounceBudget({ maxCount: pl.bouncesTotal, maxBytes: pl.bounceBytesTotal, perConnection: cl.bouncesPerConnection, refusals: this.refusals });
    this.refusals.onRefusal((name) => this.stats.increment("limits", name));
    // one warning per limit and 10 s at most, so that a flood cannot flood the log
    const lastWarn = new Map<string, { at: number; since: number }>();
    this.refusals.onRefusal((name) => {
      const now = Date.now();
      const w = lastWarn.get(name) ?? { at: 0, since: 0 };
      w.since++;
      if (now - w.at >= 10_000) {
        this.logger.warn({ limit: name, refusals: w.since, total: this.refusals.get(name) }, "resource limit refused requests (GET_STATS category limits)");
        w.at = now;
        w.since = 0;
      }
      lastWarn.set(name, w);
    });
    // signed admin commands are accepted once (without a node key nothing is signed)
    this.#adminReplay = this.nodeKey !== null ? new AdminReplayCache(this.config.workingDir, pl.adminReplayCache) : undefined;
    this.#port = new ClientPort({
      limits: cl,
      registry: this.registry,
      partialFrames: this.partialFrames,
      output: this.output,
      decodeBudget: decodeBudgetOf(this.limits.decode),
      refusals: this.refusals,
      stats: this.stats,
      logger: this.logger,
      dispatch: (conn, req) => this.#process(conn, req),
      cleanup: (conn) => this.#cleanup(conn),
      closing: () => this.#closing !== undefined,
    });
    if (this.nodeKey === null) {
      this.logger.warn("admin commands are not authenticated (no node key): anyone who can reach the client port can close domains; safe only on a single-user machine");
    }
    this.#repairLimits = readRepairLimits(isJsonObject(conf.limits) ? conf.limits.repair : undefined);
    const workers = options.verifyWorkers ?? ValidatorPool.defaultSize();
    this.#poolSize = workers;
    this.#pool = workers > 0 ? new ValidatorPool(workers, { threshold: options.verifyInlineMaxSignatures, deserialize: this.deserializeOptions, batches: options.verifyBatches }) : undefined;
    this.network = this.#makeNetwork();
    this.#resolveTimeoutMs = options.resolveTimeoutMs ?? this.network.timings.resolveTimeoutMs;
    this.crossRefs = new CrossRefs(this, readDomain0Settings(isJsonObject(network) ? network.domain0 : undefined));
    this.config.save();
  }

  #makeNetwork(): BBcNetwork {
    const o = this.#options;
    const network = this.config.config.network;
    const netConf = isJsonObject(network) ? network : {};
    const port = typeof netConf.p2p_port === "number" ? netConf.p2p_port : DEFAULT_P2P_PORT;
    const domainKey = this.config.config.domain_key;
    let limits;
    try {
      limits = readP2pLimits(this.limits.p2p);
    } catch (e) {
      throw new CoreError("CONFIG_INVALID", `config: ${(e as Error).message}`, { cause: e });
    }
    try {
      return new BBcNetwork({
        port,
        host4: o.p2pHost ?? "0.0.0.0",
        host6: o.p2pHost6 ?? null,
        ip4addr: o.ip4addr ?? null,
        ip6addr: o.ip6addr ?? null,
        domainKey: isJsonObject(domainKey) ? (domainKey as { use?: boolean; directory?: string; obsolete_timeout?: number }) : undefined,
        encryption: o.p2pEncryption ?? readEncryption(netConf.encryption),
        registry: this.registry,
        timings: { ...readNetTimings(netConf.timings), ...o.netTimings, ...(o.resolveTimeoutMs !== undefined ? { resolveTimeoutMs: o.resolveTimeoutMs } : {}) },
        limits,
        partialFrames: this.partialFrames,
        refusals: this.refusals,
        stats: this.stats,
        logger: this.logger.child({ component: "p2p" }),
      });
    } catch (e) {
      if (isNetError(e)) throw new CoreError("INVALID_ARGUMENT", `P2P settings: ${e.message}`, { cause: e });
      throw e;
    }
  }

  /** The bound P2P port (UDP and TCP). */
  get p2pPort(): number {
    return this.network.port;
  }

  /**
   * Reads node_key.pem again (after `bbc1 key rotate`); admin commands are checked with the new
   * key from then on. Throws `NODE_KEY` (and keeps the current key) when the file is unreadable.
   * Returns false when the node key is not in use.
   */
  reloadNodeKey(): boolean {
    if (this.nodeKeyPath === undefined) return false;
    let key: KeyPair;
    try {
      key = new KeyPair().fromPrivateKeyPem(readFileSync(this.nodeKeyPath, "utf8"));
    } catch (cause) {
      throw new CoreError("NODE_KEY", `cannot reload node key ${this.nodeKeyPath}: ${(cause as Error).message}; the current key stays in use`, { cause });
    }
    this.nodeKey = key;
    this.logger.info({ path: this.nodeKeyPath }, "node key reloaded");
    return true;
  }

  /** Creates the service, opens the configured domains and starts listening. */
  static async start(options: BBcCoreServiceOptions = {}): Promise<BBcCoreService> {
    const svc = new BBcCoreService(options);
    try {
      await svc.#startNetwork();
      await svc.#openConfiguredDomains();
      await svc.#listen();
      svc.#http = await startHttpEndpoint(svc, options.http);
    } catch (e) {
      await svc.close().catch(() => undefined);
      throw e;
    }
    return svc;
  }

  /** The TCP port the client server listens on. */
  get port(): number {
    const a = this.#server?.address();
    return a !== null && typeof a === "object" ? a.port : 0;
  }

  /** The address the client server listens on. */
  get host(): string {
    const a = this.#server?.address();
    return a !== null && typeof a === "object" ? a.address : "";
  }

  /** Counters of the signature batches verified on worker threads (undefined without workers). */
  verifyBatchStats(): SignatureBatchStats | undefined {
    return this.#pool?.batchStats;
  }

  /** Worker threads verifying signatures (0 when verification runs inline). */
  get validatorThreads(): number {
    return this.#pool?.active ? this.#poolSize : 0;
  }

  /** Number of open client connections. */
  get connectionCount(): number {
    return this.#port.conns.size;
  }

  /** Sockets of the open client connections (byte counts for the metrics). */
  *clientSockets(): Iterable<{ readonly bytesRead: number; readonly bytesWritten: number }> {
    for (const c of this.#port.conns) yield c.socket;
  }

  /** The HTTP endpoint, when it is on. */
  get http(): HttpEndpoint | undefined {
    return this.#http;
  }

  /** The P2P layer as the metrics and the explorer show it (listening, neighbours and their key states, bytes). */
  p2pView(): P2pView {
    return p2pViewOf(this.network, this.domains, this.stats);
  }

  /**
   * Gauges of what the node holds now (GET_STATS category `resources`): connections, partial-frame
   * and output bytes, pending bounces, registered users, subscriptions.
   */
  resources(): Record<string, number> {
    let users = 0;
    let subscriptions = 0;
    let bounces = 0;
    let neighbors = 0;
    let encrypted = 0;
    for (const d of this.domains.values()) {
      users += d.users.size;
      subscriptions += d.subscriptionCount;
      bounces += d.pendingBounces;
      if (d.net === null) continue;
      for (const n of d.net.neighbors.nodes()) {
        neighbors++;
        if (d.net.keyExchangeOf(n.nodeId)?.state === KeyExchangeState.ESTABLISHED) encrypted++;
      }
    }
    return {
      connections: this.#port.conns.size,
      partial_frame_bytes: this.partialFrames.used,
      output_bytes: this.output.budget.used,
      pending_bounces: bounces,
      pending_bounce_bytes: this.#bounces.bytes.used,
      registered_users: users,
      subscriptions,
      admin_replay_entries: this.#adminReplay?.size ?? 0,
      p2p_neighbors: neighbors,
      p2p_established_keys: encrypted,
    };
  }

  async #startNetwork(): Promise<void> {
    try {
      await this.network.start();
    } catch (e) {
      throw new CoreError("P2P_FAILED", `cannot listen on the P2P port ${this.#options.p2pHost ?? "0.0.0.0"}:${String((this.config.config.network as JsonObject | undefined)?.p2p_port ?? DEFAULT_P2P_PORT)}: ${(e as Error).message}`, { cause: e });
    }
  }

  async #openConfiguredDomains(): Promise<void> {
    for (const hex of Object.keys(this.config.domains)) {
      if (hex.toLowerCase() === DOMAIN_GLOBAL_0_HEX && !this.#options.useDomain0) continue;
      if (!/^[0-9a-fA-F]{64}$/.test(hex)) {
        this.logger.warn({ domain: hex }, "config.json: a domain key that is not a 32-byte hex id is ignored");
        continue;
      }
      await this.createDomain(fromHex(hex));
      const section = this.config.domains[hex];
      const wantsSubsystem = (isJsonObject(section) && section.use_ledger_subsystem === true) || this.#options.useLedgerSubsystem === true;
      if (wantsSubsystem) this.logger.info({ domain: hex.slice(0, 8) }, "Failed to load ledger_subsystem module (none is installed)");
    }
  }

  async #listen(): Promise<void> {
    const client = this.config.config.client as JsonObject;
    const port = typeof client.port === "number" ? client.port : DEFAULT_CORE_PORT;
    const host = this.#options.host ?? "127.0.0.1";
    // connection caps are the port's (with eviction of idle unregistered connections), not Node's
    const server = createServer({ noDelay: true }, (s) => this.#port.accept(s));
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      const onError = (e: Error) => reject(new CoreError("LISTEN_FAILED", `cannot listen on ${host}:${port}: ${e.message}`, { cause: e }));
      server.once("error", onError);
      server.listen(port, host, () => {
        server.off("error", onError);
        server.on("error", (e) => this.logger.error({ err: e }, "client server error"));
        resolve();
      });
    });
    this.logger.info({ host: this.host, port: this.port }, "bbc1 core listening for clients");
  }

  /**
   * Creates (or joins) a domain as v1.1.1 `create_domain`: config section from the file or a copy
   * of `domain_default`, `conf` merged shallowly, node_id generated when missing, ledger opened.
   * Resolves false when the domain already exists.
   */
  async createDomain(domainId: Uint8Array, conf?: JsonObject): Promise<boolean> {
    const hex = toHex(domainId);
    if (this.domains.has(hex)) return false;
    const pending = this.#pendingDomains.get(hex);
    if (pending !== undefined) {
      await pending.catch(() => undefined);
      return false;
    }
    const p = this.#createDomain(domainId, hex, conf);
    this.#pendingDomains.set(hex, p);
    try {
      return await p;
    } finally {
      this.#pendingDomains.delete(hex);
    }
  }

  async #createDomain(domainId: Uint8Array, hex: string, conf: JsonObject | undefined): Promise<boolean> {
    const section = this.config.domainConfig(hex, true)!;
    if (conf !== undefined) Object.assign(section, conf);
    let nodeId: Uint8Array;
    if (typeof section.node_id === "string" && /^[0-9a-fA-F]{64}$/.test(section.node_id)) nodeId = fromHex(section.node_id);
    else {
      nodeId = new Uint8Array(randomBytes(32));
      section.node_id = toHex(nodeId);
    }
    this.config.save();
    const isGlobal0 = hex === DOMAIN_GLOBAL_0_HEX;
    const wd = typeof this.config.config.workingdir === "string" ? this.config.config.workingdir : this.config.workingDir;
    let ledgerStore = null;
    if (!isGlobal0) {
      try {
        ledgerStore = await this.#ledgerFactory({ domainId, domainHex: hex, config: section, workingDir: wd });
      } catch (e) {
        this.logger.error({ err: e, domain: hex.slice(0, 8) }, "cannot open the domain's ledger");
        if (conf !== undefined) this.config.removeDomainConfig(hex);
        throw new CoreError("STORE_FAILED", `cannot open the ledger of domain ${hex}: ${(e as Error).message}`, { cause: e });
      }
    }
    const log = this.logger.child({ domain: hex.slice(0, 8) });
    let net: NetworkDomain;
    try {
      net = this.network.createDomain(domainId, { nodeId, staticNodes: readStaticNodes(section, log) });
    } catch (e) {
      this.logger.error({ err: e, domain: hex.slice(0, 8) }, "cannot create the domain's network components");
      await ledgerStore?.close().catch(() => undefined);
      if (conf !== undefined) this.config.removeDomainConfig(hex);
      throw new CoreError("P2P_FAILED", `cannot join domain ${hex} on the P2P network: ${(e as Error).message}`, { cause: e });
    }
    // static nodes survive a restart (v1.1.1 keeps REQUEST_SET_STATIC_NODE in memory only, Q20)
    net.onStaticNodesChanged((nodes) => {
      const s = this.config.domains[hex];
      if (!isJsonObject(s)) return;
      s.static_nodes = staticNodesJson(nodes);
      if (!this.config.save()) this.logger.warn({ domain: hex.slice(0, 8) }, "static nodes could not be saved to config.json");
    });
    const data = new CommandDispatch();
    net.setHandler("data", data);
    const domain = new Domain({
      id: domainId,
      nodeId,
      section,
      ledger: ledgerStore,
      net,
      data,
      deps: {
        stats: this.stats,
        logger: log,
        resolveTimeoutMs: this.#resolveTimeoutMs,
        output: this.output,
        bounces: this.#bounces,
        refusals: this.refusals,
        notificationsPerTurn: this.limits.client.notificationsPerTurn,
        maxSubscriptionsPerConnection: this.limits.client.maxSubscriptionsPerConnection,
        maxPendingResolvesPerConnection: this.limits.client.maxPendingResolvesPerConnection,
        resolveQueueBytesPerConnection: this.limits.client.resolveQueueBytesPerConnection,
      },
    });
    if (ledgerStore !== null) attachRepair({ core: this, domain, net, data, scheduler: this.network.scheduler, workingDir: wd, limits: this.#repairLimits });
    attachRouting(domain, net, { network: this.network, output: this.output, stats: this.stats, refusals: this.refusals, logger: log, onCrossRefAssignment: (d, m, c) => crossRefStockOf(d)?.handle(m, c) });
    this.domains.set(hex, domain);
    domain.replication = attachReplication({ core: this, domain, net, dispatch: data, ledger: new CoreReplicationLedger(this, wd), scheduler: this.network.scheduler, timings: this.network.timings });
    this.crossRefs.domainCreated(domain, isGlobal0);
    this.logger.info({ domain: hex.slice(0, 8), node_id: toHex(nodeId).slice(0, 8) }, "domain created");
    return true;
  }

  /** Leaves a domain: stops its timers, closes its ledger (files stay), deletes its config section. */
  async removeDomain(domainId: Uint8Array): Promise<boolean> {
    const hex = toHex(domainId);
    const d = this.domains.get(hex);
    if (d === undefined) return false;
    this.domains.delete(hex);
    d.stop();
    // NOTIFY_LEAVE to the neighbours, then the domain's network components close
    await this.network.removeDomain(domainId).catch((e: unknown) => this.logger.error({ err: e }, "leaving the domain's P2P network failed"));
    this.crossRefs.domainRemoved(hex === DOMAIN_GLOBAL_0_HEX);
    this.config.removeDomainConfig(hex);
    this.metrics.domainRemoved(hex);
    if (d.ledger !== null) await d.ledger.close().catch((e: unknown) => this.logger.error({ err: e }, "closing ledger failed"));
    this.logger.info({ domain: hex.slice(0, 8) }, "domain removed");
    return true;
  }

  /**
   * Validation of a submitted transaction: many signatures on a worker thread when a pool is configured; with
   * `offThread`, the signatures of the others on libuv's thread pool (see {@link ValidatorPool.validate}).
   */
  validate(data: Uint8Array, files: WireAssetFiles, offThread = false): Promise<SubmittedVerdict> {
    const fileMap = normaliseFiles(files);
    let fileBytes = 0;
    for (const f of fileMap.values()) fileBytes += f.length;
    if (fileBytes < ASYNC_DIGEST_BYTES) {
      if (this.#pool !== undefined) return this.#pool.validate(data, files, offThread);
      return offThread ? validateSubmittedAsync(data, files, undefined, this.deserializeOptions) : Promise.resolve(validateSubmitted(data, files, false, undefined, this.deserializeOptions));
    }
    // large files: signatures first, then the file digests on the thread pool (the event loop stays free)
    return (async (): Promise<SubmittedVerdict> => {
      const v = this.#pool !== undefined ? await this.#pool.validate(data, null, offThread) : offThread ? await validateSubmittedAsync(data, null, undefined, this.deserializeOptions) : validateSubmitted(data, null, false, undefined, this.deserializeOptions);
      if (!v.ok) return v;
      return (await assetFilesMatch(v.tx, fileMap)) ? { ok: true, tx: v.tx, files: fileMap } : { ok: false, why: "asset_file" };
    })();
  }

  /**
   * {@link validate} with the signature check handed back (see {@link validateSubmittedDeferred}) for an insert that
   * is alone; transactions with large files or many signatures are validated whole as before.
   */
  validateDeferred(data: Uint8Array, files: WireAssetFiles): Promise<DeferredVerdict> {
    let fileBytes = 0;
    for (const f of normaliseFiles(files).values()) fileBytes += f.length;
    if (fileBytes >= ASYNC_DIGEST_BYTES) return this.validate(data, files, false);
    let tx;
    try {
      tx = deserialize(data, this.deserializeOptions);
    } catch {
      return Promise.resolve({ ok: false, why: "decode" });
    }
    if (this.#pool !== undefined && tx.signatures.length > this.#pool.threshold) return this.validate(data, files, false);
    return Promise.resolve(validateSubmittedDeferred(data, files, tx, this.deserializeOptions));
  }

  #process(conn: ClientConnection, req: QueuedRequest): void | Promise<void> {
    this.stats.increment("client", "num_message_receive");
    let msg = req.message;
    if (msg.command === undefined || msg.source_user_id === undefined) {
      this.logger.debug({ conn: conn.id }, "message has bad format");
      return;
    }
    const cmd = msg.command;
    if (typeof cmd !== "number") {
      this.logger.debug({ conn: conn.id }, "command is not an integer");
      return;
    }
    const admin = isAdminMsgType(cmd);
    if (admin) {
      const checked = checkAdmin(msg, this.nodeKey);
      if (!checked.ok) {
        this.logger.error({ conn: conn.id, address: conn.address, command: cmd, reason: checked.reason }, "Illegal access to core node");
        return;
      }
      if (checked.signed !== undefined && this.#adminReplay !== undefined) {
        let fresh: boolean;
        try {
          fresh = this.#adminReplay.accept(checked.signed);
        } catch (e) {
          this.logger.error({ conn: conn.id, command: cmd, err: e }, "admin command dropped: the replay log cannot be written");
          return;
        }
        if (!fresh) {
          this.refusals.count("admin_replay");
          this.logger.warn({ conn: conn.id, address: conn.address, command: cmd }, "admin command dropped: replayed admin_info (each signed admin_info is accepted once)");
          return;
        }
      }
      msg = checked.msg;
    }
    // ids are checked before any work is spent on them (not even a hex conversion)
    const maxId = this.limits.client.maxIdBytes;
    const badKey = oversizedId(msg, maxId);
    if (badKey !== undefined) {
      this.refusals.count("id_length");
      this.logger.debug({ conn: conn.id, command: cmd, key: badKey }, "request with an oversized id refused");
      const answer = admin ? undefined : RESPONSE_OF.get(cmd);
      if (answer !== undefined) conn.sendPlain(boundaryError(msg, answer, maxId, `${badKey} longer than ${maxId} bytes`), this.output);
      return;
    }
    const handler = HANDLERS.get(cmd);
    if (handler === undefined) {
      this.logger.error({ conn: conn.id, command: cmd }, "Bad command/response");
      return;
    }
    const domainId = msg.domain_id instanceof Uint8Array ? msg.domain_id : null;
    const ctx: RequestContext = {
      core: this,
      conn,
      msg,
      domainId,
      domain: domainId !== null ? this.domains.get(toHex(domainId)) : undefined,
      log: this.logger,
      size: req.size,
    };
    const r = handler(ctx);
    if (!admin) return r;
    const served = (): void => this.logger.info({ conn: conn.id, address: conn.address, command: cmd, signed: this.nodeKey !== null }, "admin command served");
    if (r === undefined) served();
    else return r.then(served);
  }

  /** What a closing connection registered goes: users, subscriptions, bounces, its cipher. */
  #cleanup(conn: ClientConnection): void {
    this.metrics.connectionClosed(conn.socket);
    for (const d of this.domains.values()) d.dropConnection(conn);
    for (const { domainHex, userId } of [...conn.registrations.values()]) this.domains.get(domainHex)?.unregisterUser(userId, conn);
    conn.registrations.clear();
    for (const b of [...conn.bounces]) b.cancel();
    conn.subscriptions.clear();
    conn.dropCipher();
  }

  /** Graceful shutdown (idempotent). */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    await this.#http?.close();
    const server = this.#server;
    const serverClosed = server ? new Promise<void>((r) => server.close(() => r())) : Promise.resolve();
    const conns = this.#port.conns;
    this.#port.pauseAll();
    const idle = Promise.all([...conns].map((c) => c.idle));
    await Promise.race([idle, delay(10_000)]);
    for (const c of [...conns]) c.socket.end();
    await Promise.race([
      Promise.all([...conns].map((c) => new Promise<void>((r) => (c.closed ? r() : c.socket.once("close", () => r()))))),
      delay(2_000),
    ]);
    for (const c of [...conns]) c.socket.destroy();
    this.#port.stop();
    await Promise.race([serverClosed, delay(1_000)]);
    // after the client port: NOTIFY_LEAVE in every domain, timers stopped, P2P sockets closed
    await this.network.close().catch((e: unknown) => this.logger.error({ err: e }, "closing the P2P network failed"));
    for (const d of this.domains.values()) {
      d.stop();
      if (d.ledger !== null) await d.ledger.close().catch((e: unknown) => this.logger.error({ err: e }, "closing ledger failed"));
    }
    await this.#pool?.close();
    this.#adminReplay?.close();
    this.config.save();
    this.logger.info("bbc1 core closed");
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}
