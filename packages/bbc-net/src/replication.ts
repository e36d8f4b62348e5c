/**
 * Replication of transactions between the nodes of a domain (p2p-protocol.md §9.1–§9.3):
 * REQUEST_REPLICATION_INSERT (DATA `00 00`) sent to every neighbour after a local insert is
 * durable, and received ones handed to the core, which verifies them like a client insert.
 * The catch-up of a restarted node (our addition) lives in `catchup.ts` and shares this object.
 * @module
 */
import type { Logger } from "pino";
import { toHex } from "@bbc1/bbclib";
import { InfraMessageCategory, getBytes, u16Bytes, type WireMessage, type WireValue } from "@bbc1/wire";
import type { Scheduler } from "./clock.js";
import type { CommandDispatch } from "./dispatch.js";
import type { NetworkDomain } from "./domain.js";
import { NetError } from "./errors.js";
import type { ReceiveContext, ReplicatedInsertResult } from "./interfaces.js";
import type { StatsSink } from "./stats.js";
import type { NetTimings } from "./timings.js";
import { CatchUp } from "./catchup.js";

/** DATA `infra_command` of REQUEST_REPLICATION_INSERT. */
export const REQUEST_REPLICATION_INSERT = 0x0000;
/** DATA `infra_command` of RESPONSE_REPLICATION_INSERT (never sent; v1.1.1 only counts it). */
export const RESPONSE_REPLICATION_INSERT = 0x0001;

/**
 * `db.replication_strategy` as v1.1.1 reads it: `"all"` broadcasts every local insert to every
 * neighbour (one hop), `"p2p"` is v1.1.1's unimplemented placeholder (nothing is sent), anything
 * else is "external" (nothing is sent; replication is left to an external database cluster).
 */
export type ReplicationStrategy = "all" | "p2p" | "external";

/**
 * The strategy of a `db.replication_strategy` value. v1.1.1 raises on a missing key (its default
 * config always has `"all"`); a missing or null value is `"all"` here.
 */
export function replicationStrategyOf(value: unknown): ReplicationStrategy {
  if (value === undefined || value === null || value === "all") return "all";
  if (value === "p2p") return "p2p";
  return "external";
}

/** What a REQUEST_REPLICATION_INSERT carries, checked. */
export interface ReplicationInsert {
  /** The serialized transaction exactly as its client submitted it. */
  readonly transactionData: Uint8Array;
  /** `all_asset_files` (asset id → file); null when absent or nil. */
  readonly assetFiles: ReadonlyMap<Uint8Array, Uint8Array> | null;
  /** Bytes held by the message's data (transaction + files), for the in-flight budget. */
  readonly size: number;
}

/**
 * Decodes the body of a received REQUEST_REPLICATION_INSERT. Throws `NetError` `BAD_MESSAGE` when
 * `transaction_data` is missing or not bytes (a v1.1.1 receiver crashed there, H12) or when
 * `all_asset_files` is neither nil nor a map of byte strings to byte strings.
 */
export function decodeReplicationInsert(msg: WireMessage): ReplicationInsert {
  let data: Uint8Array | undefined;
  try {
    data = getBytes(msg, "transaction_data");
  } catch {
    data = undefined;
  }
  if (data === undefined) throw new NetError("BAD_MESSAGE", "REQUEST_REPLICATION_INSERT without transaction_data bytes");
  const raw: WireValue | undefined = msg.all_asset_files;
  let size = data.length;
  if (raw === undefined || raw === null) return { transactionData: data, assetFiles: null, size };
  if (!(raw instanceof Map)) throw new NetError("BAD_MESSAGE", `REQUEST_REPLICATION_INSERT all_asset_files is not a map (${typeof raw})`);
  const files = new Map<Uint8Array, Uint8Array>();
  for (const [k, v] of raw) {
    if (!(k instanceof Uint8Array) || !(v instanceof Uint8Array)) throw new NetError("BAD_MESSAGE", "REQUEST_REPLICATION_INSERT all_asset_files holds a key or value that is not bytes");
    files.set(k, v);
    size += k.length + v.length;
  }
  return { transactionData: data, assetFiles: files, size };
}

/** Builds a REQUEST_REPLICATION_INSERT (key order of v1.1.1's `_send_replication_to_other_cores`). */
export function buildReplicationInsert(domainId: Uint8Array, transactionData: Uint8Array, assetFiles: ReadonlyMap<WireValue, WireValue> | null): WireMessage {
  const msg: WireMessage = {
    domain_id: domainId,
    infra_msg_type: u16Bytes(InfraMessageCategory.CATEGORY_DATA),
    infra_command: u16Bytes(REQUEST_REPLICATION_INSERT),
    transaction_data: transactionData,
  };
  if (assetFiles !== null) msg.all_asset_files = assetFiles as Map<WireValue, WireValue>;
  return msg;
}

/**
 * What replication and catch-up need from the node's ledger (implemented by the core). Every
 * store is verified like a client insert and durable before it resolves.
 */
export interface ReplicationLedger {
  /**
   * Verifies (signatures, asset_id and asset-file digests, decode budgets) and stores a
   * replicated transaction with its asset files, then notifies local subscribers like a local
   * insert. Never throws for bad data: it answers `rejected`.
   */
  insertReplicatedTransaction(domainId: Uint8Array, transactionData: Uint8Array, assetFiles: ReadonlyMap<Uint8Array, Uint8Array> | null): Promise<ReplicatedInsertResult>;
  /** True when the transaction is stored. */
  hasTransaction(domainId: Uint8Array, transactionId: Uint8Array): Promise<boolean>;
  /**
   * Catch-up cursor walk: ids of transactions stored after position `after` (0 = from the
   * start), in storage order, at most `limit`; `next` is the position to continue from and
   * `end` says nothing more is stored now.
   */
  transactionIdsAfter(domainId: Uint8Array, after: number, limit: number): Promise<{ ids: Uint8Array[]; next: number; end: boolean }>;
  /**
   * Catch-up key walk: ids of every stored transaction whose id is above `after` (empty: from the
   * start), in id order, at most `limit`, asset rows or not; `end` says none follows. Without it
   * the node answers every key walk with an empty last page.
   */
  transactionIdsAfterKey?(domainId: Uint8Array, after: Uint8Array, limit: number): Promise<{ ids: Uint8Array[]; end: boolean }>;
  /** The stored bytes of a transaction and its stored asset files, to send as a replication; null when not stored. */
  replicationPayload(domainId: Uint8Array, transactionId: Uint8Array): Promise<{ transactionData: Uint8Array; assetFiles: Map<Uint8Array, Uint8Array> | null } | null>;
  /** Catch-up positions per peer (node id hex → position) saved by {@link saveCatchupCursors}. */
  loadCatchupCursors?(domainId: Uint8Array): Record<string, number>;
  /** Saves the catch-up positions (called after a page completed; losing the last save only repeats work). */
  saveCatchupCursors?(domainId: Uint8Array, cursors: Record<string, number>): void;
}

/** Budgets of received replication work (per domain). Every refusal is counted under `replication`. */
export interface ReplicationLimits {
  /** Verifications in flight for one sending node (each waits for its durable commit too). Default 256. */
  maxInflightPerPeer: number;
  /** Bytes (transaction + files) in flight for one sending node. Default 64 MiB. */
  maxInflightBytesPerPeer: number;
  /** Verifications in flight in the domain. Default 1024. */
  maxInflightTotal: number;
  /** Bytes in flight in the domain. Default 256 MiB. */
  maxInflightBytesTotal: number;
  /** Transaction ids per catch-up message (ids lists and fetches). Default 256. */
  catchupIdsPerMessage: number;
  /** Transactions served to catch-up fetches per second, per requesting node. Default 2000. */
  catchupServePerSecond: number;
}

/** Defaults of {@link ReplicationLimits}. */
export const DEFAULT_REPLICATION_LIMITS: Readonly<ReplicationLimits> = Object.freeze({
  maxInflightPerPeer: 256,
  maxInflightBytesPerPeer: 64 * 1024 * 1024,
  maxInflightTotal: 1024,
  maxInflightBytesTotal: 256 * 1024 * 1024,
  catchupIdsPerMessage: 256,
  catchupServePerSecond: 2000,
});

/** What a {@link Replication} is built from. */
export interface ReplicationDeps {
  net: NetworkDomain;
  dispatch: CommandDispatch;
  ledger: ReplicationLedger;
  strategy: ReplicationStrategy;
  limits?: Partial<ReplicationLimits>;
  stats: StatsSink;
  logger: Logger;
  scheduler: Scheduler;
  timings: NetTimings;
  /** Catch-up with peers that announce it (default true; only with strategy "all"; never towards v1.1.1 nodes, see catchup.ts). */
  catchUp?: boolean;
}

interface PeerLoad {
  count: number;
  bytes: number;
}

/**
 * Replication of one domain (`DataHandler`'s node-to-node part). Registers its DATA commands on
 * the domain's {@link CommandDispatch}; {@link replicate} is called by the core once a client
 * insert is durable.
 *
 * Budget: the network's per-address message rate bounds the messages; the verifications and the
 * bytes they hold are bounded per sending node and per domain ({@link ReplicationLimits}); what
 * exceeds them is dropped and counted (`replication.dropped_inflight`, `replication.dropped_bytes`),
 * and catch-up fetches it again later.
 */
export class Replication {
  readonly strategy: ReplicationStrategy;
  readonly limits: ReplicationLimits;
  readonly catchUp: CatchUp | null;
  readonly #d: ReplicationDeps;
  readonly #peers = new Map<string, PeerLoad>();
  #inflight = 0;
  #inflightBytes = 0;
  #closed = false;
  /** Settles when every verification in flight has finished (for close). */
  readonly #running = new Set<Promise<void>>();

  constructor(deps: ReplicationDeps) {
    this.#d = deps;
    this.strategy = deps.strategy;
    this.limits = { ...DEFAULT_REPLICATION_LIMITS, ...(deps.limits ?? {}) };
    for (const [k, v] of Object.entries(this.limits)) {
      if (typeof v !== "number" || !Number.isFinite(v) || v < 1) throw new NetError("INVALID_ARGUMENT", `replication limit ${k} must be a number >= 1, got ${String(v)}`);
    }
    deps.dispatch.set(REQUEST_REPLICATION_INSERT, {
      handle: (m, ctx) => this.#receive(m, ctx),
      close: () => this.close(),
    });
    deps.dispatch.set(RESPONSE_REPLICATION_INSERT, () => deps.stats.increment("data_handler", "RESPONSE_REPLICATION_INSERT"));
    this.catchUp =
      // "p2p" and external replicate nothing in v1.1.1: catch-up would make them replicate by pull
      deps.catchUp === false || deps.strategy !== "all"
        ? null
        : new CatchUp({
            net: deps.net,
            dispatch: deps.dispatch,
            ledger: deps.ledger,
            limits: this.limits,
            stats: deps.stats,
            logger: deps.logger,
            scheduler: deps.scheduler,
            timings: deps.timings,
            receive: (ins, ctx) => this.accept(ins, ctx),
          });
  }

  /** Verifications in flight (all peers). */
  get inflight(): number {
    return this.#inflight;
  }

  /**
   * After a client insert is durable: REQUEST_REPLICATION_INSERT with the client's bytes and
   * asset-file map to every neighbour (`"all"`); nothing for `"p2p"` / external, as v1.1.1.
   * Returns the number of copies sent.
   */
  replicate(transactionData: Uint8Array, assetFiles: ReadonlyMap<WireValue, WireValue> | null): number {
    if (this.#closed || this.strategy !== "all") return 0;
    const n = this.#d.net.broadcast(buildReplicationInsert(this.#d.net.domainId, transactionData, assetFiles), "any");
    if (n > 0) this.#d.stats.increment("replication", "sent", n);
    return n;
  }

  #receive(msg: WireMessage, ctx: ReceiveContext): Promise<void> | void {
    // v1.1.1 counts every received one, before looking at it
    this.#d.stats.increment("data_handler", "REQUEST_REPLICATION_INSERT");
    const ins = decodeReplicationInsert(msg);
    return this.accept(ins, ctx);
  }

  /**
   * Hands a decoded replication (received or fetched by catch-up) to the ledger within the
   * in-flight budgets. Resolves with the outcome, or `undefined` when it was dropped.
   */
  accept(ins: ReplicationInsert, ctx: ReceiveContext): Promise<void> | void {
    if (this.#closed) return;
    const key = toHex(ctx.sourceNodeId);
    let p = this.#peers.get(key);
    const l = this.limits;
    if (p !== undefined && p.count >= l.maxInflightPerPeer) return this.#drop("dropped_inflight", ctx);
    if (this.#inflight >= l.maxInflightTotal) return this.#drop("dropped_inflight", ctx);
    // one message larger than the byte budget still goes through alone
    if (p !== undefined && p.count > 0 && p.bytes + ins.size > l.maxInflightBytesPerPeer) return this.#drop("dropped_bytes", ctx);
    if (this.#inflight > 0 && this.#inflightBytes + ins.size > l.maxInflightBytesTotal) return this.#drop("dropped_bytes", ctx);
    if (p === undefined) this.#peers.set(key, (p = { count: 0, bytes: 0 }));
    p.count++;
    p.bytes += ins.size;
    this.#inflight++;
    this.#inflightBytes += ins.size;
    const peer = p;
    const run = this.#store(ins, ctx).finally(() => {
      peer.count--;
      peer.bytes -= ins.size;
      this.#inflight--;
      this.#inflightBytes -= ins.size;
      if (peer.count === 0) this.#peers.delete(key);
      this.#running.delete(run);
    });
    this.#running.add(run);
    return run;
  }

  async #store(ins: ReplicationInsert, ctx: ReceiveContext): Promise<void> {
    const s = this.#d.stats;
    let r: ReplicatedInsertResult;
    try {
      r = await this.#d.ledger.insertReplicatedTransaction(this.#d.net.domainId, ins.transactionData, ins.assetFiles);
    } catch (err) {
      s.increment("replication", "failed");
      this.#d.logger.warn({ err, from: toHex(ctx.sourceNodeId).slice(0, 8) }, "replicated transaction could not be stored");
      return;
    }
    s.increment("replication", r.outcome);
    if (r.outcome === "rejected") {
      this.#d.logger.warn({ from: toHex(ctx.sourceNodeId).slice(0, 8), address: ctx.from.address, reason: r.reason }, "replicated transaction rejected (not stored)");
      return;
    }
    this.catchUp?.arrived(r.transactionId);
  }

  #drop(reason: "dropped_inflight" | "dropped_bytes", ctx: ReceiveContext): void {
    this.#d.stats.increment("replication", reason);
    // what was dropped is fetched again by catch-up, soon rather than at the next pass
    this.catchUp?.soon(ctx.sourceNodeId);
    this.#d.logger.debug({ from: toHex(ctx.sourceNodeId).slice(0, 8), reason }, "replicated transaction dropped by the in-flight budget");
  }

  /** Starts the catch-up timers (after the domain's network started). */
  start(): void {
    this.catchUp?.start();
  }

  /** Stops catch-up and waits for the verifications in flight. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.catchUp?.close();
    await Promise.allSettled([...this.#running]);
  }
}
