/**
 * The pending user resolutions of one domain's routing (p2p-protocol.md §8.3–8.4): the messages
 * that wait for a RESOLVE_USER_LOCATION answer, keyed by (destination, source) pair and by nonce,
 * with what they hold of the domain's budgets (`limits.p2p.max_pending_resolves`,
 * `max_messages_per_resolve`, `resolve_queue_bytes`) and of their senders' quotas
 * ({@link ResolveAccounts}). Sending, answering and bouncing stay in `UserRouting`.
 * @module
 */
import type { WireMessage } from "@bbc1/wire";
import type { RandomFn, Scheduler, TimerHandle } from "./clock.js";
import type { NetLimits } from "./limits.js";
import { ResolveAccounts, type ResolveAccount, type RouteOwner } from "./resolve-accounts.js";
import type { NetTimings } from "./timings.js";

/** A message on its way to a user, and, while its destination is resolved, waiting. */
export interface Queued {
  msg: WireMessage;
  /** Encoded size in bytes; -1 until known (it is measured before the message waits). */
  size: number;
  /** A message that already bounced once: dropped if it cannot be delivered either (no Q28 loop). */
  bounced: boolean;
  /** Whose account holds its bytes (and, for the first message of a resolution, the resolution). */
  owner?: RouteOwner;
}

/** One resolution waiting for its answer or its timeout. */
export interface PendingResolve {
  readonly key: string;
  readonly nonce: number;
  readonly destination: Uint8Array;
  readonly messages: Queued[];
  /** The account that started it (holds one of its pending slots). */
  readonly owner: string | undefined;
  timer: TimerHandle;
}

/**
 * What {@link PendingResolves.enqueue} did with a message: refused it (`quota`: by its owner's quota,
 * else by a domain-wide limit; `limit` is the name to count), queued it behind the resolution already
 * pending for its pair, or started a resolution (the caller broadcasts the RESOLVE with its nonce).
 */
export type Enqueued = { kind: "refused"; limit: string; quota: boolean } | { kind: "joined" } | { kind: "started"; pending: PendingResolve };

/** Dependencies of {@link PendingResolves}; `limits` and `timings` are read at each use. */
export interface PendingResolvesDeps {
  scheduler: Scheduler;
  timings: Pick<NetTimings, "resolveTimeoutMs">;
  limits: Pick<NetLimits, "maxPendingResolves" | "maxMessagesPerResolve" | "resolveQueueBytes">;
  /** Draws the nonces (the routing's random source, shared with anycast). */
  random: RandomFn;
}

/** The resolution table of one domain's routing, with its byte and slot accounting. */
export class PendingResolves {
  readonly #d: PendingResolvesDeps;
  readonly #byKey = new Map<string, PendingResolve>();
  readonly #byNonce = new Map<number, PendingResolve>();
  /** Per-owner use of the resolution budgets. */
  readonly #accounts = new ResolveAccounts();
  #queuedBytes = 0;

  constructor(deps: PendingResolvesDeps) {
    this.#d = deps;
  }

  /** Resolutions waiting for an answer. */
  get size(): number {
    return this.#byKey.size;
  }

  /** Bytes of the messages queued behind them. */
  get queuedBytes(): number {
    return this.#queuedBytes;
  }

  /** What `ownerKey` holds now (pending resolutions it started, bytes it queued). */
  accountOf(ownerKey: string): Readonly<ResolveAccount> {
    return this.#accounts.get(ownerKey);
  }

  /** The resolution a RESPONSE_USER_LOCATION with this nonce answers, if any. */
  byNonce(nonce: number): PendingResolve | undefined {
    return this.#byNonce.get(nonce);
  }

  /** True while `p` is still the pending resolution of its pair (a timeout that fires after it settled does nothing). */
  isPending(p: PendingResolve): boolean {
    return this.#byKey.get(p.key) === p;
  }

  /**
   * Queues `q` (`q.size` known) behind the resolution of pair `key` (destination `dst`): joins the one
   * pending, or starts one whose timer calls `onTimeout` after the resolve timeout unless it settled first.
   * Checks, in this order: the owner's quotas (a flood from one connection is refused before it reaches
   * the domain's totals), the domain's queued bytes, messages per resolution, pending resolutions.
   */
  enqueue(key: string, dst: Uint8Array, q: Queued, onTimeout: (p: PendingResolve) => void): Enqueued {
    const L = this.#d.limits;
    const o = q.owner;
    const existing = this.#byKey.get(key);
    const over = o === undefined ? undefined : this.#accounts.refusal(o, q.size, existing === undefined);
    if (over !== undefined) return { kind: "refused", limit: over, quota: true };
    if (this.#queuedBytes + q.size > L.resolveQueueBytes) return { kind: "refused", limit: "resolve_queue_bytes", quota: false };
    if (existing !== undefined) {
      if (existing.messages.length >= L.maxMessagesPerResolve) return { kind: "refused", limit: "messages_per_resolve", quota: false };
      existing.messages.push(q);
      this.#hold(q, false);
      return { kind: "joined" };
    }
    if (this.#byKey.size >= L.maxPendingResolves) return { kind: "refused", limit: "pending_resolves", quota: false };
    let nonce: number;
    do nonce = Math.floor(this.#d.random() * 0x100000000) >>> 0;
    while (this.#byNonce.has(nonce));
    const p: PendingResolve = {
      key,
      nonce,
      destination: dst.slice(),
      messages: [q],
      owner: o?.key,
      timer: this.#d.scheduler.schedule(this.#d.timings.resolveTimeoutMs, () => onTimeout(p)),
    };
    this.#byKey.set(key, p);
    this.#byNonce.set(nonce, p);
    this.#hold(q, true);
    return { kind: "started", pending: p };
  }

  /** Ends `p` (answered or timed out): cancels its timer and releases what it and its messages held. */
  settle(p: PendingResolve): void {
    p.timer.cancel();
    this.#byKey.delete(p.key);
    this.#byNonce.delete(p.nonce);
    for (const q of p.messages) {
      this.#queuedBytes -= q.size;
      if (q.owner !== undefined) this.#accounts.release(q.owner.key, q.size, 0);
    }
    if (p.owner !== undefined) this.#accounts.release(p.owner, 0, 1);
  }

  /** Cancels every timer and forgets every resolution; their messages are dropped. */
  clear(): void {
    for (const p of this.#byKey.values()) p.timer.cancel();
    this.#byKey.clear();
    this.#byNonce.clear();
    this.#accounts.clear();
    this.#queuedBytes = 0;
  }

  /** Books a queued message (and a new resolution) on the domain's and its owner's accounts. */
  #hold(q: Queued, startsResolution: boolean): void {
    this.#queuedBytes += q.size;
    if (q.owner !== undefined) this.#accounts.hold(q.owner.key, q.size, startsResolution ? 1 : 0);
  }
}
