import { toHex } from "@bbc1/bbclib";
import { NetError } from "./errors.js";
import { bytesToIPv4, bytesToIPv6, ipv4ToBytes, ipv6ToBytes, isIPv4, isIPv6, normalizeIPv6 } from "./addresses.js";

/** Size of one binary neighbour entry (§5.1). */
export const NEIGHBOR_ENTRY_LENGTH = 63;

/**
 * `is_less_than` of v1.1.1 (§5.7): compares equal-length byte strings as unsigned
 * little-endian integers (the last byte is the most significant). False for different lengths
 * or equal values.
 */
export function isLessThan(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = a.length - 1; i >= 0; i--) {
    if (a[i]! < b[i]!) return true;
    if (a[i]! > b[i]!) return false;
  }
  return false;
}

/** One decoded 63-byte neighbour entry. */
export interface NeighborEntry {
  /** 32-byte node id. */
  nodeId: Uint8Array;
  /** `inet_ntop` text; `0.0.0.0` when none. */
  ipv4: string;
  /** `inet_ntop` text; `::` when none. */
  ipv6: string;
  /** The p2p port, read little-endian as the reference does (Q6). */
  port: number;
  /** Domain0 flag (byte `01`). */
  domain0: boolean;
  /** `updated_at` seconds (unsigned 64-bit big-endian); receivers ignore it. */
  updatedAt: bigint;
}

/** Writes one 63-byte entry (§5.1): port little-endian (`htons` on a little-endian host). */
export function encodeNeighborEntry(e: NeighborEntry): Uint8Array {
  const out = new Uint8Array(NEIGHBOR_ENTRY_LENGTH);
  if (e.nodeId.length !== 32) throw new NetError("INVALID_ARGUMENT", `node id must be 32 bytes, got ${e.nodeId.length}`);
  out.set(e.nodeId, 0);
  out.set(ipv4ToBytes(isIPv4(e.ipv4) ? e.ipv4 : null), 32);
  out.set(ipv6ToBytes(isIPv6(e.ipv6) ? e.ipv6 : null), 36);
  out[52] = e.port & 0xff;
  out[53] = (e.port >> 8) & 0xff;
  out[54] = e.domain0 ? 1 : 0;
  new DataView(out.buffer).setBigUint64(55, BigInt.asUintN(64, e.updatedAt), false);
  return out;
}

/** Reads one 63-byte entry at `offset` (throws `BAD_MESSAGE` when fewer bytes remain). */
export function decodeNeighborEntry(b: Uint8Array, offset = 0): NeighborEntry {
  if (offset < 0 || b.length - offset < NEIGHBOR_ENTRY_LENGTH) {
    throw new NetError("BAD_MESSAGE", `neighbour entry at ${offset} needs ${NEIGHBOR_ENTRY_LENGTH} bytes, ${Math.max(0, b.length - offset)} present`);
  }
  const dv = new DataView(b.buffer, b.byteOffset + offset, NEIGHBOR_ENTRY_LENGTH);
  return {
    nodeId: b.slice(offset, offset + 32),
    ipv4: bytesToIPv4(b.subarray(offset + 32, offset + 36)),
    ipv6: bytesToIPv6(b.subarray(offset + 36, offset + 52)),
    port: b[offset + 52]! | (b[offset + 53]! << 8),
    domain0: b[offset + 54] === 1,
    updatedAt: dv.getBigUint64(55, false),
  };
}

/** `neighbor_list`: a 4-byte big-endian count then the entries (§7). */
export function encodeNeighborList(entries: readonly NeighborEntry[]): Uint8Array {
  const out = new Uint8Array(4 + entries.length * NEIGHBOR_ENTRY_LENGTH);
  new DataView(out.buffer).setUint32(0, entries.length, false);
  entries.forEach((e, i) => out.set(encodeNeighborEntry(e), 4 + i * NEIGHBOR_ENTRY_LENGTH));
  return out;
}

/**
 * Reads a `neighbor_list`. The count must match the bytes provided exactly (a count beyond
 * them crashed the reference, H14): `BAD_MESSAGE` otherwise. At most `maxEntries` are accepted.
 */
export function decodeNeighborList(b: Uint8Array, maxEntries = Number.MAX_SAFE_INTEGER): NeighborEntry[] {
  if (!(b instanceof Uint8Array) || b.length < 4) throw new NetError("BAD_MESSAGE", "neighbor_list shorter than its 4-byte count");
  const count = new DataView(b.buffer, b.byteOffset, 4).getUint32(0, false);
  if (b.length !== 4 + count * NEIGHBOR_ENTRY_LENGTH) {
    throw new NetError("BAD_MESSAGE", `neighbor_list announces ${count} entries in ${b.length - 4} bytes`);
  }
  if (count > maxEntries) throw new NetError("LIMIT", `neighbor_list has ${count} entries, more than ${maxEntries}`);
  const out: NeighborEntry[] = [];
  for (let i = 0; i < count; i++) out.push(decodeNeighborEntry(b, 4 + i * NEIGHBOR_ENTRY_LENGTH));
  return out;
}

/** Result of {@link NeighborTable.add}. */
export type AddResult = "new" | "changed" | "unchanged" | "refused";

/** A neighbour (or our own `my_info`), v1.1.1's `NodeInfo` (§5.1). */
export class NodeInfo {
  readonly nodeId: Uint8Array;
  /** IPv4 text or null. */
  ipv4: string | null;
  /** IPv6 text or null. */
  ipv6: string | null;
  port: number;
  /** Last accepted `message_seq` from this node (§3.4). */
  adminSequenceNumber = 0;
  /** Set when the entry is created; later updates never change it. */
  readonly isStatic: boolean;
  /** Domain0 flag; null until learned (a neighbour list tells it). */
  isDomain0Node: boolean | null;
  readonly createdAt: number;
  /** Wall-clock ms of the last add/update. */
  updatedAt: number;
  isAlive = true;
  /**
   * True once a message from this node reached us directly: it then holds an entry for us (v1.1.1
   * only sends to its neighbours). NOTIFY_LEAVE goes only to such nodes: a v1.1.1 node that does
   * not know the leaving node crashes on it (Q10, H7).
   */
  heardFrom = false;
  /**
   * Scheduler time of the last first-hand word about this node's address (a datagram from it, a
   * ping, the admin's static node); 0 = only ever learned from neighbour lists.
   */
  directAt = 0;

  constructor(init: { nodeId: Uint8Array; ipv4?: string | null; ipv6?: string | null; port: number; isStatic?: boolean; domain0?: boolean | null; now: number }) {
    this.nodeId = init.nodeId.slice();
    this.ipv4 = init.ipv4 ? init.ipv4 : null;
    this.ipv6 = init.ipv6 ? normalizeIPv6Maybe(init.ipv6) : null;
    this.port = init.port;
    this.isStatic = init.isStatic === true;
    this.isDomain0Node = init.domain0 ?? null;
    this.createdAt = this.updatedAt = init.now;
  }

  /** Hex node id (the table key). */
  get key(): string {
    return toHex(this.nodeId);
  }

  /**
   * `NodeInfo.update`: a non-null address that differs replaces the stored one (a change unless
   * it is `127.0.0.1` / `::`), a different port or domain0 flag replaces it (a change).
   */
  update(u: { ipv4?: string | null; ipv6?: string | null; port?: number | null; domain0?: boolean | null }, now: number): boolean {
    let changed = false;
    if (u.ipv4 && u.ipv4 !== this.ipv4) {
      this.ipv4 = u.ipv4;
      if (u.ipv4 !== "127.0.0.1") changed = true;
    }
    const v6 = u.ipv6 ? normalizeIPv6Maybe(u.ipv6) : null;
    if (v6 && v6 !== this.ipv6) {
      this.ipv6 = v6;
      if (v6 !== "::") changed = true;
    }
    if (u.port != null && u.port !== this.port) {
      this.port = u.port;
      changed = true;
    }
    if (u.domain0 != null && u.domain0 !== this.isDomain0Node) {
      this.isDomain0Node = u.domain0;
      changed = true;
    }
    this.updatedAt = now;
    this.isAlive = true;
    return changed;
  }

  /** This node as a 63-byte entry (`get_nodeinfo`). */
  toEntry(): NeighborEntry {
    return {
      nodeId: this.nodeId,
      ipv4: this.ipv4 !== null && isIPv4(this.ipv4) ? this.ipv4 : "0.0.0.0",
      ipv6: this.ipv6 !== null && isIPv6(this.ipv6) ? this.ipv6 : "::",
      port: this.port,
      domain0: this.isDomain0Node === true,
      updatedAt: BigInt(Math.floor(this.updatedAt / 1000)),
    };
  }

  /** `NodeInfo.__lt__`: alive entries first, then {@link isLessThan} on node ids. */
  lessThan(other: NodeInfo): boolean {
    if (this.isAlive !== other.isAlive) return this.isAlive;
    return isLessThan(this.nodeId, other.nodeId);
  }
}

function normalizeIPv6Maybe(s: string): string {
  return isIPv6(s) ? normalizeIPv6(s) : s;
}

/** Options of {@link NeighborTable}. */
export interface NeighborTableOptions {
  myNodeId: Uint8Array;
  myInfo: NodeInfo;
  maxNeighbors: number;
  now: () => number;
  /** Called for every entry created (the domain attaches its key exchange here). */
  onCreated?: (node: NodeInfo) => void;
  /** Called when a new node is refused because the table is full (and nothing could be evicted). */
  onFull?: () => void;
  /**
   * Entries that may make room for a new node when the table is full (the least recently
   * updated one goes): the domain passes "not static and no established key", so a flood of
   * made-up node ids cannot lock out real nodes.
   */
  evictable?: (node: NodeInfo) => boolean;
  /** Called for an entry evicted to make room. */
  onEvicted?: (node: NodeInfo) => void;
  /** Called for every entry removed or purged. */
  onRemoved?: (node: NodeInfo) => void;
}

/**
 * The neighbour table of one domain (v1.1.1 `NeighborInfo`): entries keyed by node id, our own
 * `my_info`. Static entries are listed by {@link staticNodes} for the core to persist.
 */
export class NeighborTable {
  readonly myNodeId: Uint8Array;
  readonly myInfo: NodeInfo;
  readonly #o: NeighborTableOptions;
  readonly #nodes = new Map<string, NodeInfo>();

  constructor(options: NeighborTableOptions) {
    this.#o = options;
    this.myNodeId = options.myNodeId.slice();
    this.myInfo = options.myInfo;
  }

  get size(): number {
    return this.#nodes.size;
  }

  /** The entry of `nodeId`, if any. */
  get(nodeId: Uint8Array): NodeInfo | undefined {
    return this.#nodes.get(toHex(nodeId));
  }

  /** Every entry (insertion order). */
  nodes(): NodeInfo[] {
    return [...this.#nodes.values()];
  }

  /** Entries created as static (config or REQUEST_SET_STATIC_NODE). */
  staticNodes(): NodeInfo[] {
    return this.nodes().filter((n) => n.isStatic);
  }

  /**
   * `NeighborInfo.add`: creates an entry ("new") or updates it ("changed"/"unchanged").
   * Our own node id and a table at its size limit give "refused".
   */
  add(a: { nodeId: Uint8Array; ipv4?: string | null; ipv6?: string | null; port: number; isStatic?: boolean; domain0?: boolean | null }): AddResult {
    if (a.nodeId.length !== 32) return "refused";
    const key = toHex(a.nodeId);
    if (key === toHex(this.myNodeId)) return "refused";
    const found = this.#nodes.get(key);
    if (found !== undefined) return found.update(a, this.#o.now()) ? "changed" : "unchanged";
    if (this.#nodes.size >= this.#o.maxNeighbors && !this.#evictOne()) {
      this.#o.onFull?.();
      return "refused";
    }
    const node = new NodeInfo({ ...a, now: this.#o.now() });
    this.#nodes.set(key, node);
    this.#o.onCreated?.(node);
    return "new";
  }

  #evictOne(): boolean {
    const ok = this.#o.evictable;
    if (ok === undefined) return false;
    let victim: NodeInfo | undefined;
    for (const n of this.#nodes.values()) if (ok(n) && (victim === undefined || n.updatedAt < victim.updatedAt)) victim = n;
    if (victim === undefined) return false;
    this.remove(victim.nodeId);
    this.#o.onEvicted?.(victim);
    return true;
  }

  /** Removes an entry (its key exchange is stopped by `onRemoved`). Returns whether it existed. */
  remove(nodeId: Uint8Array): boolean {
    const key = toHex(nodeId);
    const node = this.#nodes.get(key);
    if (node === undefined) return false;
    this.#nodes.delete(key);
    this.#o.onRemoved?.(node);
    return true;
  }

  /** Drops entries not alive or not refreshed for `lifetimeMs` (§5.6). Returns how many. */
  purge(lifetimeMs: number): number {
    const now = this.#o.now();
    let n = 0;
    for (const node of this.nodes()) {
      if (!node.isAlive || node.updatedAt + lifetimeMs < now) {
        this.remove(node.nodeId);
        n++;
      }
    }
    return n;
  }

  /** Removes every entry. */
  clear(): void {
    for (const node of this.nodes()) this.remove(node.nodeId);
  }

  /** Our entry then every alive neighbour, as `neighbor_list` bytes (§7). */
  encodeList(): Uint8Array {
    const entries = [this.myInfo.toEntry()];
    for (const n of this.#nodes.values()) if (n.isAlive) entries.push(n.toEntry());
    return encodeNeighborList(entries);
  }
}
