/**
 * The explorer's JSON API (read-only). It serves stored bytes, never verdicts: the page decodes
 * transactions and checks their signatures itself with `@bbc1/bbclib`'s browser build. Every
 * answer is bounded: pages hold at most `search_config.max_count` transactions, graphs at most
 * `search_config.max_traverse` nodes, and an answer stops adding transaction bytes at
 * min(`limits.client.max_response_bytes`, 16 MiB) (at least one is always sent).
 *
 * Routes (under `/api/`):
 * - `node`: the node, its domains, neighbours, counters, gauges and refusals;
 * - `domains/<d>/transactions?limit=&before=&group=|asset=|user=`: newest first, paginated;
 * - `domains/<d>/transactions/<txid>`: the stored bytes of one transaction;
 * - `domains/<d>/transactions/<txid>/graph?hops=`: references and pointers around it;
 * - `domains/<d>/assets/<asset group>/<asset id>`: an asset file (download).
 * @module
 */
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import type { Readable } from "node:stream";
import { fromHex, toHex } from "@bbc1/bbclib";
import type { RefusalCounter } from "@bbc1/wire";
import type { Domain } from "../domain.js";
import type { BBcStats } from "../stats.js";
import type { ResolvedLimits } from "../limits.js";
import { LedgerView, type LedgerFilter } from "./ledger-view.js";

/** A neighbour as the explorer shows it. */
export interface NeighbourInfo {
  node_id: string;
  ipv4: string | null;
  ipv6: string | null;
  port: number;
  is_static: boolean;
  /** Key-exchange state, if known. */
  state?: string;
}

/** What the API reads from the node. */
export interface ExplorerNode {
  readonly domains: ReadonlyMap<string, Domain>;
  readonly limits: ResolvedLimits;
  readonly searchMaxCount: number;
  readonly traverseMaxCount: number;
  readonly stats: BBcStats;
  readonly refusals: RefusalCounter;
  resources(): Record<string, number>;
  /** Facts about the node shown on the page. */
  info(): { version: string; startedAt: number; clientHost: string; clientPort: number; p2pPort: number; nodeKey: boolean };
  /** Neighbours of a domain; undefined when the node has no P2P layer. */
  neighbours?(domainHex: string): NeighbourInfo[] | undefined;
}

/** An answer of the API. */
export type ApiResult =
  | { kind: "json"; status: number; body: unknown }
  | { kind: "file"; filename: string; size: number; open: () => Readable | Uint8Array };

const ABSOLUTE_MAX_BYTES = 16 * 1024 * 1024;

function json(status: number, body: unknown): ApiResult {
  return { kind: "json", status, body };
}

function b64(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.length).toString("base64");
}

/** The explorer API of one node. */
export class ExplorerApi {
  readonly #node: ExplorerNode;

  constructor(node: ExplorerNode) {
    this.#node = node;
  }

  get #maxBytes(): number {
    return Math.min(this.#node.limits.client.maxResponseBytes, ABSOLUTE_MAX_BYTES);
  }

  /** `route` is the path after `/api/`. */
  async handle(route: string, query: URLSearchParams): Promise<ApiResult> {
    const parts = route.split("/").filter((p) => p !== "");
    if (parts.length === 1 && parts[0] === "node") return this.#nodeInfo();
    if (parts[0] !== "domains" || parts.length < 3) return json(404, { error: "no such route" });
    const domain = this.#domain(parts[1]!);
    if (typeof domain === "string") return json(404, { error: domain });
    if (domain.ledger === null) return json(404, { error: "this domain has no ledger (domain_global_0)" });
    const view = LedgerView.of(domain.ledger);
    if (parts[2] === "transactions" && parts.length === 3) return this.#page(view, query);
    if (parts[2] === "transactions" && parts.length === 4) return this.#transaction(view, parts[3]!);
    if (parts[2] === "transactions" && parts.length === 5 && parts[4] === "graph") return this.#graph(view, parts[3]!, query);
    if (parts[2] === "assets" && parts.length === 5) return this.#asset(view, parts[3]!, parts[4]!);
    return json(404, { error: "no such route" });
  }

  /** A hex id of 1..max_id_bytes bytes, or an error text. */
  #id(hex: string, what: string): Uint8Array | string {
    const max = this.#node.limits.client.maxIdBytes;
    if (!/^(?:[0-9a-fA-F]{2})+$/.test(hex) || hex.length > max * 2) return `${what} must be 1 to ${max} bytes in hex`;
    return fromHex(hex);
  }

  #domain(hex: string): Domain | string {
    const id = this.#id(hex, "the domain id");
    if (typeof id === "string") return id;
    return this.#node.domains.get(toHex(id)) ?? "this node does not serve that domain";
  }

  async #nodeInfo(): Promise<ApiResult> {
    const n = this.#node;
    const info = n.info();
    const domains = [];
    for (const d of n.domains.values()) {
      const view = d.ledger !== null ? LedgerView.of(d.ledger) : undefined;
      domains.push({
        domain_id: d.hex,
        node_id: toHex(d.nodeId),
        registered_users: d.users.size,
        transactions: (await view?.transactionCount()) ?? null,
        size_bytes: (await view?.sizeBytes()) ?? null,
        db_type: view?.store?.dbType ?? null,
        has_ledger: d.ledger !== null,
        neighbours: n.neighbours?.(d.hex) ?? null,
      });
    }
    return json(200, {
      version: info.version,
      started_at: info.startedAt,
      uptime_seconds: Math.floor((Date.now() - info.startedAt) / 1000),
      client: { host: info.clientHost, port: info.clientPort },
      p2p_port: info.p2pPort,
      p2p: n.neighbours !== undefined,
      node_key: info.nodeKey,
      domains,
      stats: n.stats.snapshot(),
      resources: n.resources(),
      refusals: n.refusals.snapshot(),
      page: { max_transactions: n.searchMaxCount, max_graph_nodes: n.traverseMaxCount, max_bytes: this.#maxBytes },
    });
  }

  async #page(view: LedgerView, q: URLSearchParams): Promise<ApiResult> {
    const max = Math.max(1, this.#node.searchMaxCount);
    const limit = clampInt(q.get("limit"), 1, max, Math.min(20, max));
    const beforeText = q.get("before");
    const before = beforeText === null || beforeText === "" ? null : Number(beforeText);
    if (before !== null && !(Number.isSafeInteger(before) && before > 0)) return json(400, { error: "before must be a cursor returned by a previous page" });
    let filter: LedgerFilter = null;
    for (const [key, column] of [
      ["group", "asset_group_id"],
      ["asset", "asset_id"],
      ["user", "user_id"],
    ] as const) {
      const v = q.get(key);
      if (v === null) continue;
      if (filter !== null) return json(400, { error: "give one of group, asset, user" });
      const id = this.#id(v, key);
      if (typeof id === "string") return json(400, { error: id });
      filter = { column, value: id };
    }
    const page = await view.page(filter, before, limit);
    const items = [];
    let bytes = 0;
    let next = page.next;
    for (let i = 0; i < page.items.length; i++) {
      const it = page.items[i]!;
      if (items.length > 0 && bytes >= this.#maxBytes) {
        next = page.items[i - 1]!.rowId;
        break;
      }
      const data = await view.ledger.getTransaction(it.transactionId);
      bytes += data?.length ?? 0;
      items.push({ transaction_id: toHex(it.transactionId), data: data === undefined ? null : b64(data) });
    }
    return json(200, { transactions: items, next });
  }

  async #transaction(view: LedgerView, hex: string): Promise<ApiResult> {
    const id = this.#id(hex, "the transaction id");
    if (typeof id === "string") return json(400, { error: id });
    const data = await view.ledger.getTransaction(id);
    if (data === undefined) return json(404, { error: "no such transaction in this domain", transaction_id: toHex(id) });
    return json(200, { transaction_id: toHex(id), size: data.length, data: b64(data) });
  }

  async #graph(view: LedgerView, hex: string, q: URLSearchParams): Promise<ApiResult> {
    const id = this.#id(hex, "the transaction id");
    if (typeof id === "string") return json(400, { error: id });
    const maxNodes = Math.max(1, this.#node.traverseMaxCount);
    const hops = clampInt(q.get("hops"), 1, 5, 2);
    const g = await view.graph(id, hops, maxNodes);
    let bytes = 0;
    const nodes = [];
    for (const n of g.nodes) {
      // the page decodes the neighbours to tell references from pointers; bytes stop at the cap
      const read = bytes < this.#maxBytes;
      const data = read ? await view.ledger.getTransaction(n.transactionId) : undefined;
      bytes += data?.length ?? 0;
      nodes.push({ transaction_id: toHex(n.transactionId), hop: n.hop, stored: read ? data !== undefined : null, data: data === undefined ? null : b64(data) });
    }
    return json(200, { transaction_id: toHex(id), hops, nodes, edges: g.edges.map((e) => ({ from: toHex(e.from), to: toHex(e.to) })), truncated: g.truncated });
  }

  async #asset(view: LedgerView, groupHex: string, assetHex: string): Promise<ApiResult> {
    const group = this.#id(groupHex, "the asset group id");
    if (typeof group === "string") return json(400, { error: group });
    const asset = this.#id(assetHex, "the asset id");
    if (typeof asset === "string") return json(400, { error: asset });
    const filename = `${toHex(asset)}.bin`;
    const store = view.store;
    if (store !== undefined && !store.useExternalStorage) {
      // streamed from disk when it is there (files may be large); a file not yet moved out of the commit log is read
      const path = store.assetFiles.pathOf(group, asset);
      const st = await stat(path).catch(() => undefined);
      if (st?.isFile() === true) return { kind: "file", filename, size: st.size, open: () => createReadStream(path) };
    }
    const content = await view.ledger.readAssetFile(group, asset);
    if (content === null) return json(404, { error: "no such asset file" });
    return { kind: "file", filename, size: content.length, open: () => content };
  }
}

function clampInt(v: string | null, min: number, max: number, dflt: number): number {
  if (v === null || v === "") return dflt;
  const n = Number(v);
  if (!Number.isFinite(n)) return dflt;
  return Math.min(max, Math.max(min, Math.floor(n)));
}
