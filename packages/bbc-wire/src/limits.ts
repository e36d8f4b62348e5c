/**
 * Resource-budget primitives shared by every listening port of a node (the client port of
 * `@bbc1/core` and the P2P port of `@bbc1/net`). They hold no sockets and no timers: a server
 * asks them before it accepts, buffers or executes something, and counts every refusal under
 * one of the {@link LimitName}s so that stats and metrics report refusals by limit.
 *
 * The values themselves (how many bytes, how many per second) live in each server's config;
 * these classes only enforce them.
 */
import { WireError } from "./errors.js";

/**
 * The limits a node enforces, used as the label of refusal counters. Servers may count other
 * names too; these are the ones both ports share.
 */
export type LimitName =
  | "frame_size"
  | "connection_input"
  | "connection_output"
  | "partial_frames_total"
  | "read_timeout"
  | "idle_timeout"
  | "connections_total"
  | "connections_per_address"
  | "message_rate"
  | "expensive_rate"
  | "decode_budget"
  | "id_length"
  | (string & {});

/** Milliseconds of a monotonic clock; injectable so tests need not sleep. */
export type NowFn = () => number;

const monotonicNow: NowFn = () => performance.now();

function checkLimit(name: string, v: number): void {
  if (!(Number.isFinite(v) && v >= 0)) throw new WireError("INVALID_ARGUMENT", `${name} must be a finite number >= 0, got ${String(v)}`);
}

/**
 * A pool of bytes shared by many holders, e.g. the bytes of partial frames held by all
 * connections of a process. A holder reserves before it buffers and releases when the bytes
 * are gone; a refused reservation means "drop or close", never "wait".
 */
export class ByteBudget {
  /** Total bytes the pool allows. */
  readonly limit: number;
  #used = 0;

  constructor(limit: number) {
    checkLimit("ByteBudget limit", limit);
    this.limit = limit;
  }

  /** Bytes currently reserved. */
  get used(): number {
    return this.#used;
  }

  /** Bytes still available. */
  get available(): number {
    return Math.max(0, this.limit - this.#used);
  }

  /** Reserves `n` bytes; false (and nothing reserved) when that would exceed the limit. */
  tryReserve(n: number): boolean {
    if (n <= 0) return true;
    if (this.#used + n > this.limit) return false;
    this.#used += n;
    return true;
  }

  /** Returns `n` previously reserved bytes. Releasing more than is reserved clamps at zero. */
  release(n: number): void {
    if (n <= 0) return;
    this.#used = Math.max(0, this.#used - n);
  }
}

/**
 * Token bucket: `ratePerSecond` tokens are added continuously up to `burst`. Used for message
 * rates per peer address and for expensive requests (ECDH key generation, gathers) per
 * connection.
 */
export class TokenBucket {
  readonly ratePerSecond: number;
  readonly burst: number;
  readonly #now: NowFn;
  #tokens: number;
  #at: number;

  constructor(ratePerSecond: number, burst: number, now: NowFn = monotonicNow) {
    checkLimit("TokenBucket rate", ratePerSecond);
    checkLimit("TokenBucket burst", burst);
    this.ratePerSecond = ratePerSecond;
    this.burst = burst;
    this.#now = now;
    this.#tokens = burst;
    this.#at = now();
  }

  /** Tokens available now (fractional). */
  get tokens(): number {
    this.#refill();
    return this.#tokens;
  }

  /** Takes `cost` tokens; false (and nothing taken) when not enough have accumulated. */
  tryTake(cost = 1): boolean {
    this.#refill();
    if (this.#tokens < cost) return false;
    this.#tokens -= cost;
    return true;
  }

  #refill(): void {
    const t = this.#now();
    const dt = (t - this.#at) / 1000;
    this.#at = t;
    if (dt > 0) this.#tokens = Math.min(this.burst, this.#tokens + dt * this.ratePerSecond);
  }
}

/**
 * Counts holders per key (e.g. open connections per remote address) against a maximum.
 * Keys with no holder are forgotten, so the map cannot grow beyond the live holders.
 */
export class KeyedSlots {
  readonly maxPerKey: number;
  readonly #count = new Map<string, number>();

  constructor(maxPerKey: number) {
    checkLimit("KeyedSlots maxPerKey", maxPerKey);
    this.maxPerKey = maxPerKey;
  }

  /** Holders of `key` now. */
  count(key: string): number {
    return this.#count.get(key) ?? 0;
  }

  /** Distinct keys with at least one holder. */
  get size(): number {
    return this.#count.size;
  }

  /** Takes a slot for `key`; false when `key` already holds `maxPerKey`. */
  tryAcquire(key: string): boolean {
    const n = this.#count.get(key) ?? 0;
    if (n >= this.maxPerKey) return false;
    this.#count.set(key, n + 1);
    return true;
  }

  /** Gives a slot of `key` back. */
  release(key: string): void {
    const n = this.#count.get(key);
    if (n === undefined) return;
    if (n <= 1) this.#count.delete(key);
    else this.#count.set(key, n - 1);
  }
}

/**
 * Refusal counters by limit name: every time a budget says no, the server calls
 * {@link RefusalCounter.count} with the limit's name, so operators see which limit bites.
 */
export class RefusalCounter {
  readonly #counts = new Map<string, number>();
  readonly #listeners: Array<(limit: LimitName) => void> = [];

  /** Counts one refusal of `limit`. */
  count(limit: LimitName): void {
    this.#counts.set(limit, (this.#counts.get(limit) ?? 0) + 1);
    for (const l of this.#listeners) l(limit);
  }

  /** Refusals counted for `limit`. */
  get(limit: LimitName): number {
    return this.#counts.get(limit) ?? 0;
  }

  /** Every counter, by limit name. */
  snapshot(): Record<string, number> {
    return Object.fromEntries(this.#counts);
  }

  /** Calls `fn` on every refusal (e.g. to feed a metrics counter). */
  onRefusal(fn: (limit: LimitName) => void): void {
    this.#listeners.push(fn);
  }
}
