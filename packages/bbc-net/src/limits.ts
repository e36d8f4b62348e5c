import { ByteBudget, KeyedSlots, RefusalCounter, TokenBucket, type LimitName, type NowFn } from "@bbc1/wire";
import { NetError } from "./errors.js";

/**
 * Resource limits of the P2P port: the `limits.p2p` section of config.json (snake_case keys,
 * the client port's key names where a limit applies to both; see {@link readP2pLimits}). The
 * primitives are `@bbc1/wire`'s (one budget design for the client and the P2P port); the
 * partial-frame pool is process-wide (`limits.partial_frames_total_bytes`, passed in by the
 * core as `partialFrames`). Every refusal is counted under its {@link LimitName} in the
 * {@link RefusalCounter} (the core reports them in GET_STATS category `limits`) and in stats as
 * `network.refused.<limit>` (P2P only).
 */
export interface NetLimits {
  /** `max_frame_bytes`: largest frame payload accepted (UDP or TCP). Default 64 MiB (room for replicated asset files). */
  maxFrameBytes: number;
  /** `max_connections`: simultaneous inbound TCP connections. Default 100 (v1.1.1's `network.max_connections`). */
  maxConnections: number;
  /** `max_connections_per_address`: simultaneous inbound TCP connections from one IP address. Default 16. */
  maxConnectionsPerAddress: number;
  /** `read_timeout_ms`: an inbound TCP connection must deliver its message(s) and close within this long after accept. Default 60 000. */
  readTimeoutMs: number;
  /** `idle_timeout_ms`: an inbound TCP connection that sends nothing for this long is closed. Default 10 000. */
  idleTimeoutMs: number;
  /** `max_messages_per_connection`: frames one inbound TCP connection may carry (v1.1.1 sends one). Default 64. */
  maxMessagesPerConnection: number;
  /** `message_rate_per_address`: messages per second from one peer (UDP: address and port; TCP: address). Default 20 000. */
  messageRatePerAddress: number;
  /** `message_burst_per_address`: burst of that rate. Default 40 000. */
  messageBurstPerAddress: number;
  /** `ecdh_per_second`: REQUEST_KEY_EXCHANGE handled per second from one IP address (P-384 work). Default 20. */
  ecdhPerSecond: number;
  /** `ecdh_burst`: burst of that rate. Default 40. */
  ecdhBurst: number;
  /** `max_tracked_addresses`: peers whose rate buckets are kept; the oldest is forgotten beyond it. Default 4096. */
  maxTrackedAddresses: number;
  /** `max_neighbors_per_domain`: neighbour entries per domain; further nodes are refused. Default 1000. */
  maxNeighborsPerDomain: number;
  /** `max_outgoing_connections`: simultaneous outgoing TCP sends (one connection per large message). Default 256. */
  maxOutgoingConnections: number;
  /** `output_total_bytes`: bytes of outgoing TCP messages not yet handed to the kernel. Default 256 MiB. */
  outputTotalBytes: number;
  /** `send_timeout_ms`: an outgoing TCP send must complete within this long. Default 30 000. */
  sendTimeoutMs: number;
  /** `resync_window_bytes`: keystream scanned to re-synchronise an encrypted stream after a lost or reordered frame. Default 256 KiB. */
  resyncWindowBytes: number;
  /** `max_forwarding_entries`: user routing forwarding entries per domain (§8.2); beyond it the oldest expiring entry goes. Default 65 536. */
  maxForwardingEntries: number;
  /** `max_nodes_per_forwarding_entry`: nodes one forwarding entry may list. Default 256. */
  maxNodesPerForwardingEntry: number;
  /** `max_pending_resolves`: RESOLVE_USER_LOCATION waiting for an answer, per domain. Default 4096. */
  maxPendingResolves: number;
  /** `max_messages_per_resolve`: messages queued behind one pending resolution. Default 256. */
  maxMessagesPerResolve: number;
  /** `resolve_queue_bytes`: bytes of messages queued behind pending resolutions, per domain. Default 64 MiB. */
  resolveQueueBytes: number;
  /**
   * `max_pending_resolves_per_peer`: resolutions started on behalf of one peer's message (a
   * domain0 proof routed to a user not here), per domain. Default 64. The client port's
   * `limits.client.max_pending_resolves_per_connection` is the same for client connections.
   */
  maxPendingResolvesPerPeer: number;
  /** `resolve_queue_bytes_per_peer`: bytes of such messages waiting behind resolutions, per domain. Default 4 MiB. */
  resolveQueueBytesPerPeer: number;
}

/** The defaults of {@link NetLimits}. */
export const DEFAULT_NET_LIMITS: Readonly<NetLimits> = Object.freeze({
  maxFrameBytes: 64 * 1024 * 1024,
  maxConnections: 100,
  maxConnectionsPerAddress: 16,
  readTimeoutMs: 60_000,
  idleTimeoutMs: 10_000,
  maxMessagesPerConnection: 64,
  messageRatePerAddress: 20_000,
  messageBurstPerAddress: 40_000,
  ecdhPerSecond: 20,
  ecdhBurst: 40,
  maxTrackedAddresses: 4096,
  maxNeighborsPerDomain: 1000,
  maxOutgoingConnections: 256,
  outputTotalBytes: 256 * 1024 * 1024,
  sendTimeoutMs: 30_000,
  resyncWindowBytes: 256 * 1024,
  maxForwardingEntries: 65_536,
  maxNodesPerForwardingEntry: 256,
  maxPendingResolves: 4096,
  maxMessagesPerResolve: 256,
  resolveQueueBytes: 64 * 1024 * 1024,
  maxPendingResolvesPerPeer: 64,
  resolveQueueBytesPerPeer: 4 * 1024 * 1024,
});

/** Default of the process-wide partial-frame pool when the core passes none (`partial_frames_total_bytes`). */
export const DEFAULT_PARTIAL_FRAMES_TOTAL_BYTES = 256 * 1024 * 1024;

/** Merges `partial` over the defaults and checks every value (`INVALID_ARGUMENT`). */
export function resolveLimits(partial: Partial<NetLimits> | undefined): NetLimits {
  const out = { ...DEFAULT_NET_LIMITS };
  for (const [k, v] of Object.entries(partial ?? {})) {
    if (v === undefined) continue;
    if (!(k in DEFAULT_NET_LIMITS)) throw new NetError("INVALID_ARGUMENT", `unknown P2P limit ${k}`);
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0) throw new NetError("INVALID_ARGUMENT", `P2P limit ${k} must be a finite number >= 0, got ${String(v)}`);
    (out as Record<string, number>)[k] = v;
  }
  return out;
}

/** The config key of a limit: `maxFrameBytes` -> `max_frame_bytes`. */
export function p2pLimitKey(field: keyof NetLimits): string {
  return field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/**
 * Reads the `limits.p2p` section of config.json (snake_case keys as in {@link NetLimits}'
 * docs). Absent keys keep their defaults, unknown keys are ignored (a newer config works with
 * an older node), a value that is not a number >= 0 is `INVALID_ARGUMENT`.
 */
export function readP2pLimits(section: Readonly<Record<string, unknown>> | null | undefined): Partial<NetLimits> {
  const out: Partial<NetLimits> = {};
  if (section === null || section === undefined) return out;
  if (typeof section !== "object" || Array.isArray(section)) throw new NetError("INVALID_ARGUMENT", "limits.p2p must be an object");
  for (const field of Object.keys(DEFAULT_NET_LIMITS) as Array<keyof NetLimits>) {
    const v = section[p2pLimitKey(field)];
    if (v === undefined || v === null) continue;
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
      throw new NetError("INVALID_ARGUMENT", `limits.p2p.${p2pLimitKey(field)} must be a number >= 0, got ${JSON.stringify(v)}`);
    }
    out[field] = v;
  }
  return out;
}

/** A bounded map of per-address token buckets (oldest address forgotten first). */
export class AddressBuckets {
  readonly #m = new Map<string, TokenBucket>();
  readonly #rate: number;
  readonly #burst: number;
  readonly #max: number;
  readonly #now: NowFn;

  constructor(rate: number, burst: number, maxAddresses: number, now: NowFn) {
    this.#rate = rate;
    this.#burst = burst;
    this.#max = Math.max(1, maxAddresses);
    this.#now = now;
  }

  /** Takes one token for `address`; false when its rate is exhausted. */
  tryTake(address: string, cost = 1): boolean {
    let b = this.#m.get(address);
    if (b === undefined) {
      if (this.#m.size >= this.#max) this.#m.delete(this.#m.keys().next().value!);
      b = new TokenBucket(this.#rate, this.#burst, this.#now);
      this.#m.set(address, b);
    }
    return b.tryTake(cost);
  }

  get size(): number {
    return this.#m.size;
  }
}

/** The live budgets of one network instance. */
export class NetBudgets {
  readonly limits: NetLimits;
  readonly refusals: RefusalCounter;
  /** Partial frame bytes of the whole process (shared with the client port when the core passes its pool). */
  readonly partialFrames: ByteBudget;
  /** Outgoing TCP bytes in flight. */
  readonly outgoing: ByteBudget;
  /** Inbound TCP connections per IP. */
  readonly connectionsPerAddress: KeyedSlots;
  readonly messageRate: AddressBuckets;
  readonly ecdhRate: AddressBuckets;
  inboundConnections = 0;
  outgoingConnections = 0;

  constructor(limits: NetLimits, refusals: RefusalCounter, now: NowFn, partialFrames?: ByteBudget) {
    this.limits = limits;
    this.refusals = refusals;
    this.partialFrames = partialFrames ?? new ByteBudget(DEFAULT_PARTIAL_FRAMES_TOTAL_BYTES);
    this.outgoing = new ByteBudget(limits.outputTotalBytes);
    this.connectionsPerAddress = new KeyedSlots(limits.maxConnectionsPerAddress);
    this.messageRate = new AddressBuckets(limits.messageRatePerAddress, limits.messageBurstPerAddress, limits.maxTrackedAddresses, now);
    this.ecdhRate = new AddressBuckets(limits.ecdhPerSecond, limits.ecdhBurst, limits.maxTrackedAddresses, now);
  }

  /** Counts a refusal of `limit`. */
  refuse(limit: LimitName): void {
    this.refusals.count(limit);
  }
}
