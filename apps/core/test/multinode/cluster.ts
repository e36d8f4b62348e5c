/**
 * Several real bbc1-core processes on loopback (client and P2P ports ephemeral), each in its own
 * working directory, with fast protocol timers (`network.timings` in config.json, a test knob)
 * and no node key, driven through @bbc1/client.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getNewId, toHex } from "@bbc1/bbclib";
import { BBcAppClient, type NeighborInfo } from "@bbc1/client";
import { startNode, type NodeProc } from "../helpers.js";

/** Protocol times for tests (v1.1.1's are seconds to minutes). */
export const FAST_TIMINGS = {
  ping_retry_ms: 300,
  ping_expire_ms: 3_000,
  key_exchange_invoke_min_ms: 100,
  key_exchange_invoke_max_ms: 400,
  key_exchange_retry_ms: 600,
  advertise_delay_ms: 400,
  neighbor_list_refresh_ms: 4_000,
  resolve_timeout_ms: 1_000,
};

export interface ClusterNode {
  name: string;
  cwd: string;
  proc: NodeProc;
  /** Client port. */
  port: number;
  p2pPort: number;
  /** This node's node id in the cluster's domain (read again with {@link ClusterNode.refreshNodeId}). */
  nodeId: Uint8Array;
  /** Reads the node id again (a domain closed and set up again gets a new one). */
  refreshNodeId(): Promise<Uint8Array>;
  /** A connected admin client (no node key), domain set. */
  admin: BBcAppClient;
  neighbors(): Promise<NeighborInfo[]>;
  stats(): Promise<Record<string, Record<string, number>>>;
}

export interface Cluster {
  root: string;
  domainId: Uint8Array;
  nodes: ClusterNode[];
  /** Starts one more node (its domain set up); `config` is merged into its config.json. */
  add(name: string, options?: { config?: object; args?: string[] }): Promise<ClusterNode>;
  /** Stops a node: SIGTERM (graceful: NOTIFY_LEAVE) or SIGKILL. */
  stop(node: ClusterNode, signal?: "SIGTERM" | "SIGKILL"): Promise<void>;
  /** Starts a stopped node again in its working directory (same P2P port unless told otherwise). */
  restart(node: ClusterNode, options?: { p2pPort?: number }): Promise<ClusterNode>;
  close(): Promise<void>;
}

const hex = (b: Uint8Array) => toHex(b);

/** Polls `check` until it returns a value (not undefined) or the deadline passes. */
export async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 20_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last !== undefined ? `: ${String(last)}` : ""}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** True when `list` (a node's neighbour list, itself first) holds exactly the given node ids. */
export function holdsExactly(list: NeighborInfo[], ids: Uint8Array[]): boolean {
  const have = new Set(list.map((n) => hex(n.nodeId)));
  return have.size === ids.length && ids.every((id) => have.has(hex(id)));
}

/**
 * Ids (hex) of `ids` not searchable on `n` (yet: callers poll with {@link until}), looked up one by one by a client
 * of its own; a failed search counts as missing.
 */
export async function missingOn(n: ClusterNode, ids: Iterable<string>, domainId: Uint8Array): Promise<string[]> {
  const c = await BBcAppClient.connect({ port: n.port, domainId, userId: getNewId("checker " + Math.random()), requestTimeoutMs: 10_000 });
  const out: string[] = [];
  try {
    for (const id of ids) {
      const r = await c.searchTransaction(Uint8Array.from(Buffer.from(id, "hex"))).catch(() => null);
      if (r === null || r.transaction === null) out.push(id);
    }
  } finally {
    await c.close();
  }
  return out;
}

/** A cluster serving `domainId`; nodes are added with {@link Cluster.add}. */
export async function cluster(domainId: Uint8Array, base: { config?: object } = {}): Promise<Cluster> {
  const root = mkdtempSync(join(tmpdir(), "bbc1-multinode-"));
  const nodes: ClusterNode[] = [];

  async function open(name: string, cwd: string, args: string[]): Promise<ClusterNode> {
    const proc = await startNode(cwd, ["--no_nodekey", "--ip4addr", "127.0.0.1", ...args]);
    const admin = await BBcAppClient.connect({ port: proc.port, domainId, userId: new Uint8Array(32).fill(0xad), requestTimeoutMs: 10_000, unsignedAdminTimeoutMs: 10_000 });
    const setup = await admin.domainSetup(domainId);
    if (!setup.result && setup.reason !== "Already exists") throw new Error(`domain setup on ${name}: ${setup.reason}`);
    const nodeId = await admin.getNodeId();
    const n: ClusterNode = {
      name,
      cwd,
      proc,
      port: proc.port,
      p2pPort: proc.p2pPort,
      nodeId,
      admin,
      neighbors: () => admin.getDomainNeighborlist(domainId),
      stats: () => admin.getStats(),
      async refreshNodeId() {
        n.nodeId = await admin.getNodeId();
        return n.nodeId;
      },
    };
    return n;
  }

  const c: Cluster = {
    root,
    domainId,
    nodes,
    async add(name, options = {}) {
      const cwd = join(root, name);
      mkdirSync(join(cwd, ".bbc1"), { recursive: true });
      const config = { network: { timings: FAST_TIMINGS }, ...(base.config ?? {}), ...(options.config ?? {}) };
      writeFileSync(join(cwd, ".bbc1", "config.json"), JSON.stringify(config));
      const n = await open(name, cwd, options.args ?? []);
      nodes.push(n);
      nodes.sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
      return n;
    },
    async stop(node, signal = "SIGTERM") {
      await node.admin.close().catch(() => undefined);
      node.proc.child.kill(signal);
      await node.proc.exit;
    },
    async restart(node, options = {}) {
      const n = await open(node.name, node.cwd, ["--p2pport", String(options.p2pPort ?? node.p2pPort)]);
      nodes[nodes.indexOf(node)] = n;
      return n;
    },
    async close() {
      for (const n of nodes) {
        await n.admin.close().catch(() => undefined);
        if (n.proc.child.exitCode === null && n.proc.child.signalCode === null) {
          n.proc.child.kill("SIGTERM");
          await n.proc.exit;
        }
      }
      rmSync(root, { recursive: true, force: true });
    },
  };
  return c;
}

/** The `static_nodes` a node saved in its config.json for the domain. */
export function savedStaticNodes(node: ClusterNode, domainId: Uint8Array): Record<string, unknown> {
  const conf = JSON.parse(readFileSync(join(node.cwd, ".bbc1", "config.json"), "utf8"));
  return conf.domains[hex(domainId)]?.static_nodes ?? {};
}
