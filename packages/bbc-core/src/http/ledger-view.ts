/**
 * Read-only, bounded views of a domain's ledger for the metrics and the explorer: newest-first
 * pages of transactions (optionally by asset group, asset or user), the topology around a
 * transaction, the transaction count and the size on disk. Every call does a bounded amount of
 * work (a page is one indexed scan of at most a few times the page size), so a browser cannot
 * make the node walk its whole ledger.
 * @module
 */
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { toHex } from "@bbc1/bbclib";
import type { LedgerStore } from "@bbc1/storage";
import type { DomainLedger } from "../store.js";
import { StorageLedger } from "../storage-adapter.js";

/** What a page can be filtered by. */
export type LedgerFilter = { column: "asset_group_id" | "asset_id" | "user_id"; value: Uint8Array } | null;

/** One page of transaction ids, newest first. */
export interface LedgerPage {
  /** Each transaction with the cursor of its newest asset row (a next page may list it again: callers drop repeats). */
  items: { transactionId: Uint8Array; rowId: number | null }[];
  /** Cursor of the next (older) page, or null when this was the last one. */
  next: number | null;
}

/** A node of the topology graph: its distance from the origin (negative = older, positive = newer). */
export interface GraphNode {
  transactionId: Uint8Array;
  hop: number;
}

/** An edge of the topology graph: `from` references or points to `to`. */
export interface GraphEdge {
  from: Uint8Array;
  to: Uint8Array;
}

const COUNT_CACHE_MIN_MS = 1_000;
const views = new WeakMap<DomainLedger, LedgerView>();

/** Views of one domain's ledger. */
export class LedgerView {
  readonly ledger: DomainLedger;
  #countValue: number | undefined;
  #countAt = 0;
  #countTtl = COUNT_CACHE_MIN_MS;
  #countPending: Promise<void> | undefined;

  constructor(ledger: DomainLedger) {
    this.ledger = ledger;
  }

  /** The view of `ledger` (one per ledger, so that the count cache is shared). */
  static of(ledger: DomainLedger): LedgerView {
    let v = views.get(ledger);
    if (v === undefined) views.set(ledger, (v = new LedgerView(ledger)));
    return v;
  }

  /** The `@bbc1/storage` store behind the ledger, when it is one. */
  get store(): LedgerStore | undefined {
    return this.ledger instanceof StorageLedger ? this.ledger.store : undefined;
  }

  /**
   * Number of stored transactions. A count walks an index, so it is cached: for 1 s, or for
   * 200 times as long as the last count took (at most 0.5 % of the time goes to counting); the
   * previous value is returned while a new count runs. Undefined when the ledger cannot count.
   */
  async transactionCount(): Promise<number | undefined> {
    const store = this.store;
    if (store === undefined) return undefined;
    if (this.#countValue !== undefined && Date.now() - this.#countAt < this.#countTtl) return this.#countValue;
    this.#countPending ??= (async () => {
      const t0 = performance.now();
      try {
        this.#countValue = await store.tables().count("transaction_table");
        this.#countAt = Date.now();
        this.#countTtl = Math.max(COUNT_CACHE_MIN_MS, (performance.now() - t0) * 200);
      } catch {
        // a closed or unreachable store: the last value stays
      } finally {
        this.#countPending = undefined;
      }
    })();
    if (this.#countValue === undefined) await this.#countPending;
    return this.#countValue;
  }

  /** Bytes of the files directly in the domain's directory (SQLite database, WAL, commit log); undefined for server databases. */
  async sizeBytes(): Promise<number | undefined> {
    const store = this.store;
    if (store === undefined || store.dbType !== "sqlite") return undefined;
    let total = 0;
    try {
      for (const e of await readdir(store.storageRoot, { withFileTypes: true })) {
        // asset files live in per-group subdirectories; a directory of 64 hex digits is one of them
        if (e.isFile() || (e.isDirectory() && !/^[0-9a-f]{64}$/.test(e.name))) total += await sizeOf(join(store.storageRoot, e.name), e.isDirectory());
      }
    } catch {
      return undefined;
    }
    return total;
  }

  /** Durable commits and the inserts they carried (group commit counters of the store). */
  commitStats(): { batches: number; inserts: number } | undefined {
    const s = this.store?.stats;
    return s === undefined ? undefined : { batches: s.batches, inserts: s.inserts };
  }

  /**
   * True when the ledger answers a lookup within `timeoutMs` (an indexed read of an id that is
   * never stored): the store is open and its database reachable.
   */
  async probe(timeoutMs: number): Promise<boolean> {
    const store = this.store;
    const read = store !== undefined ? store.getTransaction(new Uint8Array(32)).then(() => true) : this.ledger.getTransaction(new Uint8Array(32)).then(() => true);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((r) => {
      timer = setTimeout(() => r(false), timeoutMs);
      timer.unref();
    });
    try {
      return await Promise.race([read.catch(() => false), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Up to `limit` distinct transactions newest first (by their asset rows: transactions without
   * any asset are not listed; look them up by id), older than cursor `before`. Scans at most
   * 4 × `limit` asset rows.
   */
  async page(filter: LedgerFilter, before: number | null, limit: number): Promise<LedgerPage> {
    const store = this.store;
    if (store === undefined) return this.#searchPage(filter, limit);
    // the tables trail the acknowledgements by a few ms behind a commit log: wait for them (bounded)
    await this.#settled(1_000);
    const tables = store.tables();
    const seen = new Set<string>();
    const ids: { transactionId: Uint8Array; rowId: number }[] = [];
    let cursor = before;
    let scanned = 0;
    const budget = limit * 4;
    while (ids.length < limit && scanned < budget) {
      const want = Math.min(budget - scanned, Math.max(limit, 16));
      const rows = await tables.assetRowsNewestFirst(filter, cursor, want);
      for (const r of rows) {
        scanned++;
        cursor = r.id as number;
        const id = r.transaction_id;
        if (!(id instanceof Uint8Array)) continue;
        const k = toHex(id);
        if (seen.has(k)) continue;
        seen.add(k);
        ids.push({ transactionId: id, rowId: cursor! });
        if (ids.length >= limit) break;
      }
      if (rows.length < want) return { items: ids, next: ids.length >= limit ? cursor : null };
    }
    return { items: ids, next: cursor };
  }

  async #settled(ms: number): Promise<void> {
    if (this.ledger.settle === undefined) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.ledger.settle().catch(() => undefined), new Promise<void>((r) => (timer = setTimeout(r, ms)))]);
    clearTimeout(timer);
  }

  /** Without table access (another ledger implementation): one bounded search, no further pages. */
  async #searchPage(filter: LedgerFilter, limit: number): Promise<LedgerPage> {
    if (filter === null) return { items: [], next: null };
    const cond = filter.column === "asset_group_id" ? { assetGroupId: filter.value } : filter.column === "asset_id" ? { assetId: filter.value } : { userId: filter.value };
    const found = await this.ledger.search(cond, 0, limit);
    return { items: found.map((f) => ({ transactionId: f.transactionId, rowId: null })), next: null };
  }

  /**
   * The topology around `origin`: breadth first toward the past (what it references) and the
   * future (what references it), `hops` levels each way, at most `maxNodes` nodes in all.
   */
  async graph(origin: Uint8Array, hops: number, maxNodes: number): Promise<{ nodes: GraphNode[]; edges: GraphEdge[]; truncated: boolean }> {
    const nodes = new Map<string, GraphNode>([[toHex(origin), { transactionId: origin, hop: 0 }]]);
    const edges = new Map<string, GraphEdge>();
    let truncated = false;
    for (const towardPast of [true, false]) {
      let level = [origin];
      for (let h = 1; h <= hops && level.length > 0; h++) {
        const next: Uint8Array[] = [];
        for (const id of level) {
          for (const n of await this.ledger.topology(id, towardPast)) {
            const from = towardPast ? id : n;
            const to = towardPast ? n : id;
            const key = toHex(n);
            if (!nodes.has(key)) {
              if (nodes.size >= maxNodes) {
                truncated = true;
                continue;
              }
              nodes.set(key, { transactionId: n, hop: towardPast ? -h : h });
              next.push(n);
            }
            edges.set(`${toHex(from)}>${toHex(to)}`, { from, to });
          }
        }
        level = next;
      }
    }
    return { nodes: [...nodes.values()], edges: [...edges.values()], truncated };
  }
}

async function sizeOf(path: string, isDir: boolean): Promise<number> {
  if (!isDir) return (await stat(path)).size;
  let total = 0;
  for (const e of await readdir(path, { withFileTypes: true })) if (e.isFile()) total += (await stat(join(path, e.name))).size;
  return total;
}
