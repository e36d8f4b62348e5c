/** The node's explorer API (same origin; the token, if any, travels in a cookie). */

export interface NodeInfo {
  version: string;
  started_at: number;
  uptime_seconds: number;
  client: { host: string; port: number };
  p2p_port: number;
  p2p: boolean;
  node_key: boolean;
  domains: {
    domain_id: string;
    node_id: string;
    registered_users: number;
    transactions: number | null;
    size_bytes: number | null;
    db_type: string | null;
    has_ledger: boolean;
    neighbours: { node_id: string; ipv4: string | null; ipv6: string | null; port: number; is_static: boolean; state?: string }[] | null;
  }[];
  stats: Record<string, Record<string, number>>;
  resources: Record<string, number>;
  refusals: Record<string, number>;
  page: { max_transactions: number; max_graph_nodes: number; max_bytes: number };
}

export interface StoredTx {
  transaction_id: string;
  data: string | null;
}

export interface Page {
  transactions: StoredTx[];
  next: number | null;
}

export interface Graph {
  transaction_id: string;
  hops: number;
  nodes: { transaction_id: string; hop: number; stored: boolean | null; data: string | null }[];
  edges: { from: string; to: string }[];
  truncated: boolean;
}

/** An answer that was not 2xx. */
export class ApiError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

async function getJson<T>(path: string): Promise<T> {
  const r = await fetch(`/api/${path}`, { headers: { accept: "application/json" } });
  const body = (await r.json().catch(() => ({ error: r.statusText }))) as T & { error?: string };
  if (!r.ok) throw new ApiError(r.status, body.error ?? r.statusText);
  return body;
}

export const api = {
  node: () => getJson<NodeInfo>("node"),
  page: (domain: string, opts: { before?: number | null; limit?: number; by?: "group" | "asset" | "user"; id?: string }) => {
    const q = new URLSearchParams();
    if (opts.limit !== undefined) q.set("limit", String(opts.limit));
    if (opts.before !== undefined && opts.before !== null) q.set("before", String(opts.before));
    if (opts.by !== undefined && opts.id !== undefined) q.set(opts.by, opts.id);
    return getJson<Page>(`domains/${domain}/transactions?${q}`);
  },
  transaction: (domain: string, txid: string) => getJson<StoredTx & { size: number }>(`domains/${domain}/transactions/${txid}`),
  graph: (domain: string, txid: string, hops = 2) => getJson<Graph>(`domains/${domain}/transactions/${txid}/graph?hops=${hops}`),
  assetUrl: (domain: string, group: string, asset: string) => `/api/domains/${domain}/assets/${group}/${asset}`,
};

/** Base64 to bytes. */
export function fromBase64(b64: string): Uint8Array {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}
