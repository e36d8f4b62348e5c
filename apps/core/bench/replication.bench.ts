/**
 * Replication of a domain of three `bbc1-core` processes (A, B, C on loopback, full mesh): insert
 * throughput on A under 16 clients in 4 client processes (every insert durable on A before its
 * answer) while A replicates to B and C; the same load on a single node for comparison; and the
 * replication lag until a transaction is searchable on B: a probe client inserts on A every 20 ms
 * during the load and a client on B, subscribed to the probe's asset group, is told once B stored it
 * (then confirms it by a search). Lag is measured from A's answer and from the request.
 *
 * Each insert row reports the CPU per transaction of every process (from /proc: all threads, and
 * the main thread of each node; the client processes from process.cpuUsage; "bench" is this
 * process, which runs the lag probe) and the bound it sets: with every process sharing the
 * machine's cores, at most cores / (sum of CPU per transaction) transactions a second.
 *
 * Environment: as e2e.bench.ts (BBC1_BENCH_MS per row, BBC1_BENCH_RUNS); BBC1_BENCH_ROWS=...,repl
 * selects (default: run); BBC1_BENCH_REPL_SOLO=0 skips the single-node row; BBC1_BENCH_DB (every node) and
 * BBC1_BENCH_REPLICA_DB (B and C) are JSON merged into the domain's `db` section (e.g.
 * `{"commit_log":{"apply_thread":true}}`). The lag row adds, from B's /metrics, how long B took from receiving
 * each replication to having it durable, and B's transactions per group commit.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { KeyPair, addEventAsset, getNewId, makeTransaction, toHex } from "@bbc1/bbclib";
import { BBcAppClient } from "@bbc1/client";
// the bundle of this bench includes e2e.bench.ts, so it is also the load client that measureLoad spawns
import { measureLoad, type Measured } from "./e2e.bench.js";
import { getStats, nodeEntry, quantile as at, repoRoot, startDomainNode, stopNode, type BenchRow, type NodeProc } from "./node-harness.js";

/**
 * "CPU µs/tx: A 410 (main 330), B 280 (main 250), ..., sum 1,200 → bound 1,660 tx/s on 2 cores":
 * `names` label `m.watched` (after the measured node itself); per transaction inserted on the node.
 */
function cpuNote(m: Measured, names: string[], nodeName: string): string {
  const per = (us: number) => us / Math.max(1, m.txs);
  const parts: string[] = [];
  let sum = 0;
  if (m.cpuPerTx !== undefined) {
    parts.push(`${nodeName} ${m.cpuPerTx.toFixed(0)} (main ${m.mainCpuPerTx?.toFixed(0) ?? "–"})`);
    sum += m.cpuPerTx;
  }
  (m.watched ?? []).forEach((w, i) => {
    const name = names[i] ?? `pid${i}`;
    parts.push(name === "bench" ? `${name} ${per(w.cpuUs).toFixed(0)}` : `${name} ${per(w.cpuUs).toFixed(0)} (main ${per(w.mainUs).toFixed(0)})`);
    sum += per(w.cpuUs);
  });
  if (m.clientCpuPerTx !== undefined) {
    parts.push(`clients ${m.clientCpuPerTx.toFixed(0)}`);
    sum += m.clientCpuPerTx;
  }
  const cores = availableParallelism();
  return `CPU µs/tx: ${parts.join(", ")}; sum ${sum.toFixed(0)} → bound ${((cores * 1e6) / sum).toFixed(0)} tx/s on ${cores} cores`;
}

/** BBC1_BENCH_DB (every node) and BBC1_BENCH_REPLICA_DB (B and C): JSON merged into the domain's `db` section. */
function dbExtra(name: string): Record<string, unknown> {
  const all = process.env.BBC1_BENCH_DB ? (JSON.parse(process.env.BBC1_BENCH_DB) as Record<string, unknown>) : {};
  const replica = (name === "b" || name === "c") && process.env.BBC1_BENCH_REPLICA_DB ? (JSON.parse(process.env.BBC1_BENCH_REPLICA_DB) as Record<string, unknown>) : {};
  return { ...all, ...replica };
}

/** Node `name` of the bench, in `<root>/<name>`: SQLite, every transaction replicated to every node. */
function replNode(entry: string, domainId: Uint8Array, root: string, name: string): Promise<{ node: NodeProc; wd: string }> {
  const section = { storage: { type: "internal" }, db: { db_type: "sqlite", db_name: "bbc_ledger.sqlite", replication_strategy: "all", ...dbExtra(name) } };
  return startDomainNode(entry, root, name, { domainId, section });
}

async function meshed(nodes: NodeProc[], domainId: Uint8Array): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (const n of nodes) {
    const c = await BBcAppClient.connect({ port: n.port, domainId, userId: getNewId("bench mesh") });
    try {
      while ((await c.getDomainNeighborlist(domainId)).length < nodes.length) {
        if (Date.now() > deadline) throw new Error("the bench nodes did not form a mesh");
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      await c.close();
    }
  }
}

/** The cumulative buckets of a histogram on a node's /metrics (upper bound in seconds → count). */
async function histogram(n: NodeProc, name: string): Promise<Map<number, number>> {
  const text = await (await fetch(`http://127.0.0.1:${n.httpPort}/metrics`)).text();
  const out = new Map<number, number>();
  for (const m of text.matchAll(new RegExp(`^${name}_bucket\\{le="([^"]+)"\\} (\\d+)`, "gm"))) out.set(m[1] === "+Inf" ? Infinity : Number(m[1]), Number(m[2]));
  return out;
}

/** "p50 ≤ 5 ms, p99 ≤ 25 ms (n)" of the observations between two scrapes (bucket bounds). */
function bucketQuantiles(before: Map<number, number>, after: Map<number, number>): string {
  const bounds = [...after.keys()].sort((x, y) => x - y);
  const d = bounds.map((b) => (after.get(b) ?? 0) - (before.get(b) ?? 0));
  const n = d[d.length - 1] ?? 0;
  if (n === 0) return "none";
  const q = (p: number) => {
    const i = d.findIndex((c) => c >= p * n);
    const b = bounds[i]!;
    return b === Infinity ? `> ${bounds[i - 1]! * 1000} ms` : `≤ ${b * 1000} ms`;
  };
  return `p50 ${q(0.5)}, p99 ${q(0.99)} (${n})`;
}

/** Probe: inserts on A every `everyMs` until `stop()`, and times until B has each one. */
function lagProbe(a: NodeProc, b: NodeProc, domainId: Uint8Array, everyMs: number) {
  const fromAnswer: number[] = [];
  const fromRequest: number[] = [];
  let stopped = false;
  let lost = 0;
  const done = (async () => {
    const key = KeyPair.generate();
    const group = getNewId("lag probe group");
    const user = getNewId("lag probe user");
    const ca = await BBcAppClient.connect({ port: a.port, domainId, userId: user, requestTimeoutMs: 60_000 });
    const cb = await BBcAppClient.connect({ port: b.port, domainId, userId: getNewId("lag watcher"), requestTimeoutMs: 60_000 });
    await cb.register();
    const waiting = new Map<string, (t: number) => void>();
    cb.on("inserted", (n) => waiting.get(toHex(n.transactionId))?.(performance.now()));
    await cb.requestInsertCompletionNotification(group);
    while (!stopped) {
      const tx = makeTransaction({ eventNum: 1, witness: true });
      addEventAsset(tx, 0, group, user, { assetBody: `probe ${Math.random()}` });
      tx.witness!.addWitness(user);
      tx.addSignature(user, tx.sign(key));
      tx.digest();
      const id = toHex(tx.transactionId!);
      const seen = new Promise<number>((res) => waiting.set(id, res));
      const t0 = performance.now();
      await ca.insertTransaction(tx);
      const t1 = performance.now();
      const told = await Promise.race([seen, new Promise<number>((r) => setTimeout(() => r(-1), 5_000))]);
      waiting.delete(id);
      if (told < 0) lost++;
      else {
        // B's subscriber is told once B stored it, or earlier by A's NOTIFY_INSERTED (Q29): the
        // lag ends when a search on B answers it
        let t2 = told;
        for (;;) {
          const found = await cb.searchTransaction(tx.transactionId!).then(() => true, () => false);
          if (found) break;
          await new Promise((r) => setTimeout(r, 1));
          t2 = performance.now();
        }
        fromAnswer.push(Math.max(0, t2 - t1) * 1000);
        fromRequest.push((t2 - t0) * 1000);
      }
      await new Promise((r) => setTimeout(r, everyMs));
    }
    await ca.close();
    await cb.close();
  })();
  return {
    async stop() {
      stopped = true;
      await done;
      return { fromAnswer: fromAnswer.sort((x, y) => x - y), fromRequest: fromRequest.sort((x, y) => x - y), lost };
    },
  };
}

export async function run(): Promise<BenchRow[]> {
  const rowsWanted = process.env.BBC1_BENCH_ROWS;
  if (rowsWanted !== undefined && !rowsWanted.split(",").includes("repl")) return [];
  const root = repoRoot();
  const entry = await nodeEntry(root, { build: false });
  const domainId = getNewId("replication bench domain");
  const dir = mkdtempSync(join(tmpdir(), "bbc1-repl-bench-"));
  const rows: BenchRow[] = [];
  const started: NodeProc[] = [];
  try {
    // single node first (same machine, same load): the rate replication has to keep up with
    const soloDomain = getNewId("solo bench domain");
    let soloRate = 0;
    if (process.env.BBC1_BENCH_REPL_SOLO !== "0") {
      const solo = await replNode(entry, soloDomain, dir, "solo");
      started.push(solo.node);
      const soloRun = await measureLoad(solo.node, soloDomain, 4, 4, "insert", 1000, undefined, undefined, [process.pid]);
      await stopNode(solo.node);
      const la0 = loadavg()[0]!.toFixed(1);
      soloRate = soloRun.txs / soloRun.seconds;
      rows.push({ name: "1 node: insert, 16 clients / 4 processes", opsPerSec: soloRate, p50us: soloRun.p50, p99us: soloRun.p99, note: `${cpuNote(soloRun, ["bench"], "node")}; load average ${la0}` });
    }

    const [a, b, c] = [await replNode(entry, domainId, dir, "a"), await replNode(entry, domainId, dir, "b"), await replNode(entry, domainId, dir, "c")];
    started.push(a.node, b.node, c.node);
    const admin = await BBcAppClient.connect({ port: a.node.port, domainId, userId: getNewId("bench admin") });
    await admin.sendDomainPing(domainId, "127.0.0.1", null, b.node.p2pPort);
    await admin.sendDomainPing(domainId, "127.0.0.1", null, c.node.p2pPort);
    await admin.close();
    await meshed([a.node, b.node, c.node], domainId);
    // idle lag first (nothing else running), then under the 16-client load
    const idle = lagProbe(a.node, b.node, domainId, 20);
    await new Promise((r) => setTimeout(r, 2_000));
    const idleLag = await idle.stop();
    const REPL_H = "bbc1_replicated_insert_duration_seconds";
    const onB0 = await counts(b.node, domainId);
    const h0 = await histogram(b.node, REPL_H);
    const probe = lagProbe(a.node, b.node, domainId, 20);
    const m = await measureLoad(a.node, domainId, 4, 4, "insert", 1000, undefined, undefined, [b.node.pid, c.node.pid, process.pid]);
    const lag = await probe.stop();
    const la = loadavg()[0]!.toFixed(1);
    const onB = await counts(b.node, domainId);
    const h1 = await histogram(b.node, REPL_H);
    const bCommits = onB.commits - onB0.commits;
    const bPerCommit = bCommits > 0 ? (onB.committed - onB0.committed) / bCommits : 0;
    rows.push({
      name: "3 nodes: insert on A, 16 clients / 4 processes, replicated to B and C",
      opsPerSec: m.txs / m.seconds,
      p50us: m.p50,
      p99us: m.p99,
      note: `B stored ${onB.stored} by replication (rejected ${onB.rejected}, dropped ${onB.dropped}); ${soloRate > 0 ? `${(((m.txs / m.seconds) / soloRate) * 100).toFixed(0)}% of the single-node rate; ` : ""}${cpuNote(m, ["B", "C", "bench"], "A")}; load average ${la}`,
    });
    rows.push({ name: "replication lag A→B (idle): A's answer → searchable on B", opsPerSec: 0, p50us: at(idleLag.fromAnswer, 0.5), p99us: at(idleLag.fromAnswer, 0.99), note: `${idleLag.fromAnswer.length} probes; from the request: p50 ${(at(idleLag.fromRequest, 0.5) / 1000).toFixed(1)} ms, p99 ${(at(idleLag.fromRequest, 0.99) / 1000).toFixed(1)} ms` });
    rows.push({
      name: "replication lag A→B under the 16-client load: A's answer → searchable on B",
      opsPerSec: 0,
      p50us: at(lag.fromAnswer, 0.5),
      p99us: at(lag.fromAnswer, 0.99),
      note: `${lag.fromAnswer.length} probes (${lag.lost} not seen in 5 s); from the request: p50 ${(at(lag.fromRequest, 0.5) / 1000).toFixed(1)} ms, p99 ${(at(lag.fromRequest, 0.99) / 1000).toFixed(1)} ms; on B, received → durable: ${bucketQuantiles(h0, h1)}, ${bPerCommit.toFixed(1)} tx/commit; load average ${la}`,
    });
  } finally {
    for (const n of started) await stopNode(n);
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

async function counts(n: NodeProc, domainId: Uint8Array): Promise<{ stored: number; rejected: number; dropped: number; commits: number; committed: number }> {
  const s = await getStats(n.port, domainId);
  const r = s.replication ?? {};
  return { stored: r.stored ?? 0, rejected: r.rejected ?? 0, dropped: (r.dropped_inflight ?? 0) + (r.dropped_bytes ?? 0), commits: s.ledger?.commits ?? 0, committed: s.ledger?.committed_tx ?? 0 };
}
