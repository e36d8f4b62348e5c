/**
 * The HTTP endpoint of an embedded node: off unless asked for, `/metrics` in Prometheus format
 * whose values follow what the node does, `/healthz`, `/readyz` (a closed ledger makes it 503),
 * the token (401 without it, Bearer / cookie / query, never logged), loopback-only without a
 * token, the DNS-rebinding guard, read-only methods, and the explorer API's bounds.
 */
import { connect } from "node:net";
import { Writable } from "node:stream";
import { afterAll, describe, expect, it } from "vitest";
import pino from "pino";
import { KeyPair, getNewId, toHex } from "@bbc1/bbclib";
import { MsgType, RefusalCounter } from "@bbc1/wire";
import { BBcStats, CoreError, CoreMetrics, HttpEndpoint, resolveLimits, type LedgerFactory } from "../src/index.js";
import { client, setupDomain, signedTx, startNode, type TestNode } from "./helpers/node.js";

const started: TestNode[] = [];
afterAll(async () => {
  for (const n of started) await n.stop();
});

async function node(options: Parameters<typeof startNode>[0] = {}): Promise<TestNode> {
  const n = await startNode(options);
  started.push(n);
  return n;
}

function get(n: TestNode, path: string, headers: Record<string, string> = {}, method = "GET"): Promise<Response> {
  return fetch(`${n.node.http!.url}${path}`, { headers, method, redirect: "manual" });
}

/** Value of one sample of the exposition text (undefined when absent). */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split("\n")) {
    if (line.startsWith("#") || line === "") continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (.+)$/.exec(line);
    if (m === null || m[1] !== name) continue;
    const got: Record<string, string> = {};
    for (const p of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) got[p[1]!] = p[2]!;
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[3]);
  }
  return undefined;
}

async function insert(n: TestNode, domainId: Uint8Array, data: Uint8Array, files: Map<Uint8Array, Uint8Array> = new Map()): Promise<number> {
  const user = getNewId("metrics user");
  const c = await client(n.port, domainId, user);
  const req = c.request(MsgType.REQUEST_INSERT, { transaction_data: data, all_asset_files: files });
  const res = await c.answer(req);
  await c.close();
  return res.status as number;
}

describe("http endpoint", () => {
  it("is off unless the option or the config turns it on", async () => {
    const n = await node();
    expect(n.node.http).toBeUndefined();
    const m = await node({ http: { port: 0 } });
    expect(m.node.http?.port).toBeGreaterThan(0);
    expect(m.node.http!.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it("serves /metrics whose values follow inserts, errors, verification, connections and users", async () => {
    const n = await node({ http: { port: 0 } });
    const domainId = getNewId("metrics domain " + Math.random());
    await setupDomain(n.port, domainId);
    const key = KeyPair.generate();
    const user = getNewId("u");
    const group = getNewId("g");
    const before = await (await get(n, "/metrics")).text();
    expect(sample(before, "bbc1_inserts_total")).toBe(0);
    const tx = signedTx(key, user, group);
    expect(await insert(n, domainId, tx.data)).toBe(0);
    // a duplicate, then garbage
    expect(await insert(n, domainId, tx.data)).not.toBe(0);
    expect(await insert(n, domainId, new Uint8Array([1, 2, 3]))).not.toBe(0);
    const c = await client(n.port, domainId, user);
    c.register();
    await new Promise((r) => setTimeout(r, 100));
    const res = await get(n, "/metrics");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    const hex = toHex(domainId);
    expect(sample(text, "bbc1_inserts_total")).toBe(1);
    expect(sample(text, "bbc1_insert_errors_total", { reason: "duplicate" })).toBe(1);
    expect(sample(text, "bbc1_insert_errors_total", { reason: "invalid_transaction" })).toBe(1);
    expect(sample(text, "bbc1_insert_errors_total", { reason: "asset_conflict" })).toBe(0);
    expect(sample(text, "bbc1_insert_duration_seconds_count")).toBe(1);
    expect(sample(text, "bbc1_insert_duration_seconds_bucket", { le: "+Inf" })).toBe(1);
    expect(sample(text, "bbc1_verify_duration_seconds_count")).toBe(3); // every submitted transaction is verified (garbage too: it fails to decode)
    expect(sample(text, "bbc1_registered_users", { domain: hex })).toBe(1);
    expect(sample(text, "bbc1_client_connections")).toBe(1);
    expect(sample(text, "bbc1_client_received_bytes_total")).toBeGreaterThan(tx.data.length * 2);
    expect(sample(text, "bbc1_client_sent_bytes_total")).toBeGreaterThan(0);
    expect(sample(text, "bbc1_ledger_size_bytes", { domain: hex })).toBeGreaterThan(4096);
    expect(sample(text, "bbc1_ledger_commits_total", { domain: hex })).toBeGreaterThanOrEqual(1);
    // the commit-size histogram counts each group commit once, and its sum is the inserts they carried
    expect(sample(text, "bbc1_ledger_commit_batch_size_count", { domain: hex })).toBe(sample(text, "bbc1_ledger_commits_total", { domain: hex }));
    expect(sample(text, "bbc1_ledger_commit_batch_size_sum", { domain: hex })).toBe(sample(text, "bbc1_ledger_committed_inserts_total", { domain: hex }));
    expect(sample(text, "bbc1_ledger_commit_batch_size_bucket", { domain: hex, le: "1" })).toBeGreaterThanOrEqual(1);
    // one latency sample per commit, each a real duration
    expect(sample(text, "bbc1_ledger_commit_duration_seconds_count", { domain: hex })).toBe(sample(text, "bbc1_ledger_commits_total", { domain: hex }));
    expect(sample(text, "bbc1_ledger_commit_duration_seconds_sum", { domain: hex })).toBeGreaterThan(0);
    expect(sample(text, "bbc1_domains")).toBe(1);
    expect(sample(text, "bbc1_core_stats", { category: "transaction", name: "insert_count" })).toBe(3);
    expect(sample(text, "bbc1_p2p_listening")).toBe(1);
    expect(sample(text, "process_cpu_seconds_total")).toBeGreaterThan(0);
    expect(sample(text, "nodejs_eventloop_lag_seconds")).toBeDefined();
    // every family of ours follows the conventions: bbc1_ prefix, counters end in _total
    for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
      const [, name, type] = m;
      if (name!.startsWith("process_") || name!.startsWith("nodejs_")) continue;
      expect(name).toMatch(/^bbc1_[a-z0-9_]+$/);
      if (type === "counter") expect(name).toMatch(/_total$/);
      else expect(name).not.toMatch(/_total$/);
    }
    // the transaction count is cached for a second
    const deadline = Date.now() + 10_000;
    let count: number | undefined;
    while (Date.now() < deadline && (count = sample(await (await get(n, "/metrics")).text(), "bbc1_ledger_transactions", { domain: hex })) !== 1) await new Promise((r) => setTimeout(r, 200));
    expect(count).toBe(1);
    await c.close();
  });

  it("counts refusals by limit", async () => {
    const n = await node({ http: { port: 0 }, limits: { client: { maxIdBytes: 8 } } });
    const c = await client(n.port, getNewId("x"), getNewId("long user id"));
    const req = c.request(MsgType.REQUEST_COUNT_TRANSACTIONS, { asset_group_id: getNewId("g") });
    await c.answer(req);
    await c.close();
    expect(sample(await (await get(n, "/metrics")).text(), "bbc1_refusals_total", { limit: "id_length" })).toBe(1);
  });

  it("healthz is alive; readyz checks every domain's ledger", async () => {
    const n = await node({ http: { port: 0 } });
    const domainId = getNewId("ready domain " + Math.random());
    await setupDomain(n.port, domainId);
    expect((await get(n, "/healthz")).status).toBe(200);
    const ready = await get(n, "/readyz");
    expect(ready.status).toBe(200);
    expect(await ready.text()).toBe("ready: 1 domain(s), P2P listening\n");
    // a ledger that no longer answers makes the node unready
    await n.node.domains.get(toHex(domainId))!.ledger!.close();
    const down = await get(n, "/readyz");
    expect(down.status).toBe(503);
    expect(await down.text()).toContain(`domain ${toHex(domainId).slice(0, 16)}: ledger not answering`);
    expect((await get(n, "/healthz")).status).toBe(200);
  });

  it("is read-only and guards against DNS rebinding", async () => {
    const n = await node({ http: { port: 0 } });
    expect((await get(n, "/metrics", {}, "POST")).status).toBe(405);
    expect((await get(n, "/api/node", {}, "DELETE")).status).toBe(405);
    const evil = await new Promise<number>((resolve) => {
      // fetch() sets Host itself: a raw request names another host
      const s = connect(n.node.http!.port, "127.0.0.1", () => s.write("GET /metrics HTTP/1.1\r\nHost: evil.example:80\r\nConnection: close\r\n\r\n"));
      let buf = "";
      s.on("data", (d: Buffer) => (buf += d.toString()));
      s.on("close", () => resolve(Number(buf.split(" ")[1])));
    });
    expect(evil).toBe(403);
    expect((await get(n, "/metrics", { host: "localhost" })).status).toBe(200);
  });

  it("needs the token when one is configured, compares it in constant time and never logs it", async () => {
    const token = "s3cret-token-" + Math.random().toString(36).slice(2);
    const lines: string[] = [];
    const logger = pino({ level: "trace" }, new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }));
    const n = await node({ http: { port: 0, token }, logger });
    expect((await get(n, "/metrics")).status).toBe(401);
    expect((await get(n, "/metrics", { authorization: "Bearer wrong-token-but-long" })).status).toBe(401);
    expect((await get(n, "/metrics", { authorization: `Bearer ${token}` })).status).toBe(200);
    expect((await get(n, "/api/node")).status).toBe(401);
    // the probes stay open
    expect((await get(n, "/healthz")).status).toBe(200);
    expect((await get(n, "/readyz")).status).toBe(200);
    // ?token= once: a cookie, and a redirect that drops the token from the address
    const r = await get(n, `/explorer/?token=${encodeURIComponent(token)}`);
    expect(r.status).toBe(303);
    expect(r.headers.get("location")).toBe("/explorer/");
    const cookie = r.headers.get("set-cookie")!.split(";")[0]!;
    expect(cookie).toMatch(/^bbc1_token=/);
    expect(r.headers.get("set-cookie")).toMatch(/HttpOnly/);
    expect((await get(n, "/api/node", { cookie })).status).toBe(200);
    expect((await get(n, "/explorer/?token=nope-nope-nope-nope")).status).toBe(401);
    expect(lines.join("")).not.toContain(token);
    expect(lines.join("")).toContain("http endpoint listening");
  });

  it("refuses a non-loopback address without a token, and a short token", async () => {
    await expect(node({ http: { port: 0, host: "0.0.0.0" } })).rejects.toThrow(/not a loopback address: set http.token/);
    await expect(node({ http: { port: 0, token: "short" } })).rejects.toThrow(CoreError);
    const n = await node({ http: { port: 0, host: "0.0.0.0", token: "a-long-enough-token-123" } });
    expect((await fetch(`http://127.0.0.1:${n.node.http!.port}/metrics`)).status).toBe(401);
  });

  it("explorer API pages are bounded by search_config.max_count and paginate newest first", async () => {
    const n = await node({ http: { port: 0 } });
    const domainId = getNewId("page domain " + Math.random());
    await setupDomain(n.port, domainId);
    const key = KeyPair.generate();
    const user = getNewId("u");
    const group = getNewId("g");
    const ids: string[] = [];
    for (let i = 0; i < 35; i++) {
      const tx = signedTx(key, user, group);
      expect(await insert(n, domainId, tx.data)).toBe(0);
      ids.push(toHex(tx.id));
    }
    const d = toHex(domainId);
    const first = (await (await get(n, `/api/domains/${d}/transactions?limit=1000`)).json()) as { transactions: { transaction_id: string }[]; next: number | null };
    expect(first.transactions.length).toBe(30); // search_config.max_count
    expect(first.transactions.map((t) => t.transaction_id)).toEqual(ids.slice(-30).reverse());
    const second = (await (await get(n, `/api/domains/${d}/transactions?limit=1000&before=${first.next}`)).json()) as typeof first;
    expect(second.transactions.map((t) => t.transaction_id)).toEqual(ids.slice(0, 5).reverse());
    expect(second.next).toBeNull();
    const byGroup = (await (await get(n, `/api/domains/${d}/transactions?group=${toHex(group)}&limit=3`)).json()) as typeof first;
    expect(byGroup.transactions.map((t) => t.transaction_id)).toEqual(ids.slice(-3).reverse());
    expect((await get(n, `/api/domains/${d}/transactions?group=zz`)).status).toBe(400);
    expect((await get(n, `/api/domains/${"ab".repeat(33)}/transactions`)).status).toBe(404);
    const one = (await (await get(n, `/api/domains/${d}/transactions/${ids[0]}`)).json()) as { data: string };
    expect(Buffer.from(one.data, "base64").length).toBeGreaterThan(100);
    expect((await get(n, `/api/domains/${d}/transactions/${"00".repeat(32)}`)).status).toBe(404);
  });
  it("explorer requests are capped: over max_concurrent_requests 503 (counted), a stuck ledger answers 503 on the timeout", async () => {
    // a ledger whose reads hang until released
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const ledgerFactory: LedgerFactory = async () => ({
      insert: async () => true,
      getTransaction: async () => {
        await gate;
        return undefined;
      },
      search: async () => [],
      count: async () => 0,
      topology: async () => [],
      crossRefTransactionIds: async () => [],
      readAssetFile: async () => null,
      close: async () => undefined,
    });
    const n = await node({ http: { port: 0, maxConcurrentRequests: 2, requestTimeoutMs: 300 }, ledgerFactory });
    const domainId = getNewId("stuck " + Math.random());
    await setupDomain(n.port, domainId);
    const url = `/api/domains/${toHex(domainId)}/transactions/${"11".repeat(32)}`;
    const slow = [get(n, url), get(n, url)];
    await new Promise((r) => setTimeout(r, 50));
    const busy = await get(n, url);
    expect(busy.status).toBe(503);
    expect(busy.headers.get("retry-after")).toBe("1");
    expect(((await busy.json()) as { error: string }).error).toMatch(/^busy/);
    for (const r of await Promise.all(slow)) {
      expect(r.status).toBe(503);
      expect(((await r.json()) as { error: string }).error).toContain("did not answer within 300 ms");
    }
    // the slots stay taken while the reads are stuck, and come back when they end
    expect((await get(n, url)).status).toBe(503);
    release();
    await new Promise((r) => setTimeout(r, 50));
    expect((await get(n, url)).status).toBe(404);
    expect(sample(await (await get(n, "/metrics")).text(), "bbc1_refusals_total", { limit: "http_concurrency" })).toBeGreaterThanOrEqual(2);
    // the probes and the metrics are not behind the explorer's cap
    expect((await get(n, "/healthz")).status).toBe(200);
  });

  it("readyz includes the P2P port when the node has a P2P layer", async () => {
    const source = { stats: new BBcStats(), refusals: new RefusalCounter(), domains: new Map(), clientSockets: () => [], resources: () => ({}) };
    let listening = false;
    const ep = await HttpEndpoint.start(
      {
        ...source,
        metrics: new CoreMetrics(source),
        limits: resolveLimits(undefined),
        searchMaxCount: 30,
        traverseMaxCount: 30,
        info: () => ({ version: "test", startedAt: Date.now(), clientHost: "127.0.0.1", clientPort: 0, p2pPort: 0, nodeKey: false }),
        p2pListening: () => listening,
      },
      { enabled: true, host: "127.0.0.1", port: 0, tokenDigest: null, explorer: true, maxConcurrentRequests: 8, requestTimeoutMs: 10_000 },
      pino({ level: "silent" }),
    );
    try {
      const down = await fetch(`${ep.url}/readyz`);
      expect(down.status).toBe(503);
      expect(await down.text()).toContain("P2P port not listening");
      listening = true;
      const up = await fetch(`${ep.url}/readyz`);
      expect(up.status).toBe(200);
      expect(await up.text()).toBe("ready: 0 domain(s), P2P listening\n");
    } finally {
      await ep.close();
    }
  });
});
