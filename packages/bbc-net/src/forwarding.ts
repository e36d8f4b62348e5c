import { toHex } from "@bbc1/bbclib";
import type { Scheduler, TimerHandle } from "./clock.js";

/** One forwarding entry: the nodes hosting a user (or subscribed to an asset group, §8.5). */
export interface ForwardingEntry {
  readonly id: Uint8Array;
  /** Node id hex -> node id, in the order they were added. */
  readonly nodes: Map<string, Uint8Array>;
  /** When the entry disappears (scheduler ms); null for a permanent entry. */
  expiresAt: number | null;
  timer: TimerHandle | null;
}

/** What {@link ForwardingTable.add} did. */
export type ForwardingAdd = "added" | "present" | "table_full" | "entry_full";

/**
 * The forwarding entries of one domain (v1.1.1 `forwarding_entries`, §8.2): user id (or asset
 * group id) -> nodes. A non-permanent entry disappears, with all its nodes, `lifetimeMs` after it
 * was created: v1.1.1's refresh can never postpone its timer (Q15), so traffic does not extend
 * it. Permanence is per entry as in the reference: a non-permanent addition to a permanent entry
 * gives it a timer.
 *
 * Bounded: at most `maxEntries` entries (a new one evicts the oldest expiring entry; when every
 * entry is permanent it is refused) and `maxNodes` nodes per entry.
 */
export class ForwardingTable {
  readonly #m = new Map<string, ForwardingEntry>();
  readonly #scheduler: Scheduler;
  readonly #lifetimeMs: number;
  readonly #maxEntries: number;
  readonly #maxNodes: number;
  readonly #onExpire: (entry: ForwardingEntry) => void;

  constructor(args: { scheduler: Scheduler; lifetimeMs: number; maxEntries: number; maxNodes: number; onExpire?: (entry: ForwardingEntry) => void }) {
    this.#scheduler = args.scheduler;
    this.#lifetimeMs = args.lifetimeMs;
    this.#maxEntries = Math.max(1, args.maxEntries);
    this.#maxNodes = Math.max(1, args.maxNodes);
    this.#onExpire = args.onExpire ?? (() => undefined);
  }

  /** Number of entries. */
  get size(): number {
    return this.#m.size;
  }

  /** The entry of `id`, if any. */
  get(id: Uint8Array): ForwardingEntry | undefined {
    return this.#m.get(toHex(id));
  }

  /** Every entry, oldest first. */
  entries(): IterableIterator<ForwardingEntry> {
    return this.#m.values();
  }

  /** The nodes of `id`'s entry (empty when none). */
  nodesOf(id: Uint8Array): Uint8Array[] {
    const e = this.get(id);
    return e === undefined ? [] : [...e.nodes.values()];
  }

  /** `_add_user_for_forwarding`. */
  add(id: Uint8Array, nodeId: Uint8Array, permanent: boolean): ForwardingAdd {
    const key = toHex(id);
    let e = this.#m.get(key);
    if (e === undefined) {
      if (this.#m.size >= this.#maxEntries && !this.#evictOne()) return "table_full";
      e = { id: id.slice(), nodes: new Map(), expiresAt: null, timer: null };
      this.#m.set(key, e);
    }
    if (!permanent && e.timer === null) {
      const entry = e;
      entry.expiresAt = this.#scheduler.now() + this.#lifetimeMs;
      entry.timer = this.#scheduler.schedule(this.#lifetimeMs, () => {
        if (this.#m.get(key) !== entry) return;
        this.#m.delete(key);
        this.#onExpire(entry);
      });
    }
    const nk = toHex(nodeId);
    if (e.nodes.has(nk)) return "present";
    if (e.nodes.size >= this.#maxNodes) return "entry_full";
    e.nodes.set(nk, nodeId.slice());
    return "added";
  }

  /**
   * `_remove_user_from_forwarding(user_id, node_id)`: removes the node; an entry left empty goes.
   * A node that is not in the entry is ignored (it crashed v1.1.1, Q26). True when removed.
   */
  removeNode(id: Uint8Array, nodeId: Uint8Array): boolean {
    const key = toHex(id);
    const e = this.#m.get(key);
    if (e === undefined) return false;
    if (!e.nodes.delete(toHex(nodeId))) return false;
    if (e.nodes.size === 0) this.#delete(key, e);
    return true;
  }

  /** Deletes `id`'s entry with all its nodes. */
  delete(id: Uint8Array): boolean {
    const key = toHex(id);
    const e = this.#m.get(key);
    if (e === undefined) return false;
    this.#delete(key, e);
    return true;
  }

  /** Forgets every entry and timer. */
  clear(): void {
    for (const e of this.#m.values()) e.timer?.cancel();
    this.#m.clear();
  }

  #delete(key: string, e: ForwardingEntry): void {
    e.timer?.cancel();
    this.#m.delete(key);
  }

  /** Evicts the oldest non-permanent entry; false when every entry is permanent. */
  #evictOne(): boolean {
    for (const [k, e] of this.#m) {
      if (e.timer !== null) {
        this.#delete(k, e);
        return true;
      }
    }
    return false;
  }
}
