/**
 * Per-sender accounts of user resolution (p2p-protocol.md §8.4): what one client connection or
 * one peer holds of a domain's pending RESOLVE_USER_LOCATION slots and of the bytes queued behind
 * them. The domain-wide totals (`limits.p2p.max_pending_resolves`, `resolve_queue_bytes`) alone let
 * one sender take every slot; these quotas leave room for the others.
 * @module
 */
import { toHex } from "@bbc1/bbclib";
import { DEFAULT_NET_LIMITS, type NetLimits } from "./limits.js";

/** The account of a routed message (`RouteOptions.owner`): a stable key and its quotas. */
export interface RouteOwner {
  /** Distinct per account ("c<connection id>", "p<node id hex>"). */
  key: string;
  /** Resolutions this account may have waiting at once. */
  maxPendingResolves: number;
  /** Bytes of its messages that may wait behind resolutions at once (one message is admitted whatever its size while it holds none). */
  maxQueuedBytes: number;
  /** Limit names counted when a quota refuses (the client's and the peer's differ). */
  refusals: { pendingResolves: string; queuedBytes: string };
}

/** What one account holds now. */
export interface ResolveAccount {
  pending: number;
  bytes: number;
}

/** The account of messages sent on behalf of peer `nodeId` (`limits.p2p.max_pending_resolves_per_peer`, `resolve_queue_bytes_per_peer`). */
export function peerOwner(nodeId: Uint8Array, limits: Partial<Pick<NetLimits, "maxPendingResolvesPerPeer" | "resolveQueueBytesPerPeer">>): RouteOwner {
  return {
    key: `p${toHex(nodeId)}`,
    maxPendingResolves: limits.maxPendingResolvesPerPeer ?? DEFAULT_NET_LIMITS.maxPendingResolvesPerPeer,
    maxQueuedBytes: limits.resolveQueueBytesPerPeer ?? DEFAULT_NET_LIMITS.resolveQueueBytesPerPeer,
    refusals: { pendingResolves: "pending_resolves_per_peer", queuedBytes: "resolve_queue_bytes_per_peer" },
  };
}

/** The accounts of one domain's routing; an account exists only while it holds something. */
export class ResolveAccounts {
  readonly #m = new Map<string, ResolveAccount>();

  get(key: string): Readonly<ResolveAccount> {
    return this.#m.get(key) ?? { pending: 0, bytes: 0 };
  }

  /** The quota `o` refuses a map of `size` bytes (`startsResolution`: it needs a new slot): the limit name, else undefined. */
  refusal(o: RouteOwner, size: number, startsResolution: boolean): string | undefined {
    const a = this.#m.get(o.key);
    // a single map is admitted while the account holds no bytes, so a large MESSAGE still gets through
    if (a !== undefined && a.bytes > 0 && a.bytes + size > o.maxQueuedBytes) return o.refusals.queuedBytes;
    if (startsResolution && (a?.pending ?? 0) >= o.maxPendingResolves) return o.refusals.pendingResolves;
    return undefined;
  }

  hold(key: string, bytes: number, pending: number): void {
    let a = this.#m.get(key);
    if (a === undefined) this.#m.set(key, (a = { pending: 0, bytes: 0 }));
    a.bytes += bytes;
    a.pending += pending;
  }

  release(key: string, bytes: number, pending: number): void {
    const a = this.#m.get(key);
    if (a === undefined) return;
    a.bytes -= bytes;
    a.pending -= pending;
    if (a.bytes <= 0 && a.pending <= 0) this.#m.delete(key);
  }

  clear(): void {
    this.#m.clear();
  }
}
