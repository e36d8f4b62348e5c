import { ByteBudget, KeyedSlots, RefusalCounter, TokenBucket, type LimitName, type NowFn } from "@bbc1/wire";
import { NetError } from "./errors.js";

/**
 * Resource limits of the P2P port. The primitives are `@bbc1/wire`'s (one budget design for the
 * client and the P2P port); the values come from options with the defaults below. Every refusal
 * is counted under its {@link LimitName} in a {@link RefusalCounter} (and in stats as
 * `network.refused.<limit>`).
 */
export interface NetLimits {
  /** Largest frame payload accepted (UDP or TCP), bytes. Default 64 MiB (room for replicated asset files). */
  maxMessageSize: number;
  /** Bytes of partial TCP frames held by all connections together. Default 256 MiB. */
  maxBufferedBytesTotal: number;
  /** Simultaneous inbound TCP connections. Default 100 (v1.1.1's `network.max_connections`). */
  maxConnections: number;
  /** Simultaneous inbound TCP connections from one IP address. Default 16. */
  maxConnectionsPerAddress: number;
  /** An inbound TCP connection must finish (EOF) within this many ms after accept. Default 60 000. */
  tcpReadTimeoutMs: number;
  /** An inbound TCP connection that sends nothing for this long is closed. Default 10 000. */
  tcpIdleTimeoutMs: number;
  /** Frames one inbound TCP connection may carry (the reference sends one). Default 64. */
  maxMessagesPerConnection: number;
  /** Messages per second accepted from one peer (UDP: source address and port; TCP: source address), sustained. Default 20 000. */
  messageRatePerAddress: number;
  /** Burst of the per-address message rate. Default 40 000. */
  messageBurstPerAddress: number;
  /** Key-exchange requests per second handled from one IP address (P-384 work). Default 20. */
  keyExchangeRatePerAddress: number;
  /** Burst of the key-exchange rate. Default 40. */
  keyExchangeBurstPerAddress: number;
  /** IP addresses whose rate buckets are tracked; the oldest is forgotten beyond it. Default 4096. */
  maxTrackedAddresses: number;
  /** Neighbour entries per domain; further nodes are refused. Default 1000. */
  maxNeighborsPerDomain: number;
  /** Simultaneous outgoing TCP sends (one connection per large message). Default 256. */
  maxOutgoingConnections: number;
  /** Bytes of outgoing TCP messages not yet handed to the kernel. Default 256 MiB. */
  maxOutgoingBytes: number;
  /** An outgoing TCP send must complete within this many ms. Default 30 000. */
  tcpSendTimeoutMs: number;
  /** Keystream bytes scanned to re-synchronise an encrypted stream after a lost/reordered frame. Default 256 KiB. */
  resyncWindowBytes: number;
}

/** The defaults of {@link NetLimits}. */
export const DEFAULT_NET_LIMITS: Readonly<NetLimits> = Object.freeze({
  maxMessageSize: 64 * 1024 * 1024,
  maxBufferedBytesTotal: 256 * 1024 * 1024,
  maxConnections: 100,
  maxConnectionsPerAddress: 16,
  tcpReadTimeoutMs: 60_000,
  tcpIdleTimeoutMs: 10_000,
  maxMessagesPerConnection: 64,
  messageRatePerAddress: 20_000,
  messageBurstPerAddress: 40_000,
  keyExchangeRatePerAddress: 20,
  keyExchangeBurstPerAddress: 40,
  maxTrackedAddresses: 4096,
  maxNeighborsPerDomain: 1000,
  maxOutgoingConnections: 256,
  maxOutgoingBytes: 256 * 1024 * 1024,
  tcpSendTimeoutMs: 30_000,
  resyncWindowBytes: 256 * 1024,
});

/** Merges `partial` over the defaults and checks every value. */
export function resolveLimits(partial: Partial<NetLimits> | undefined): NetLimits {
  const out = { ...DEFAULT_NET_LIMITS, ...(partial ?? {}) };
  for (const [k, v] of Object.entries(out)) {
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
      throw new NetError("INVALID_ARGUMENT", `limit ${k} must be a finite number >= 0, got ${String(v)}`);
    }
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
  /** Partial TCP frame bytes of the whole process. */
  readonly buffered: ByteBudget;
  /** Outgoing TCP bytes in flight. */
  readonly outgoing: ByteBudget;
  /** Inbound TCP connections per IP. */
  readonly connectionsPerAddress: KeyedSlots;
  readonly messageRate: AddressBuckets;
  readonly keyExchangeRate: AddressBuckets;
  inboundConnections = 0;
  outgoingConnections = 0;

  constructor(limits: NetLimits, refusals: RefusalCounter, now: NowFn) {
    this.limits = limits;
    this.refusals = refusals;
    this.buffered = new ByteBudget(limits.maxBufferedBytesTotal);
    this.outgoing = new ByteBudget(limits.maxOutgoingBytes);
    this.connectionsPerAddress = new KeyedSlots(limits.maxConnectionsPerAddress);
    this.messageRate = new AddressBuckets(limits.messageRatePerAddress, limits.messageBurstPerAddress, limits.maxTrackedAddresses, now);
    this.keyExchangeRate = new AddressBuckets(limits.keyExchangeRatePerAddress, limits.keyExchangeBurstPerAddress, limits.maxTrackedAddresses, now);
  }

  /** Counts a refusal of `limit`. */
  refuse(limit: LimitName): void {
    this.refusals.count(limit);
  }
}
