/**
 * What users get: the node as its own `bbc1-core` process, load from separate client processes
 * through `@bbc1/client`, every transaction signed before the timed phase, every acknowledged
 * insert durable. Rows: 1 client sequential; 16 clients across 4 processes; 64 clients across 4
 * processes; search by id. Each insert row reports tx/s, p50/p99 latency, the node's CPU per
 * transaction (from /proc) and the transactions per durable commit (GET_STATS `ledger`).
 *
 * This file is also the load-client process (BBC1_BENCH_ROLE=load): the orchestrator spawns the
 * bundle it was built into. Starting the node, the load-client processes, /proc and GET_STATS are in
 * node-harness.ts, shared with the other benches of apps/core.
 *
 * Environment: BBC1_BENCH_MS (time per row, default 3000), BBC1_BENCH_RUNS (runs per row,
 * median reported, default 1), BBC1_BENCH_BACKENDS (sqlite,postgres,mysql; default sqlite),
 * BBC1_BENCH_ROWS (comma list of seq,16,64,search; default all), BBC1_BENCH_PYREF=1 with
 * BBC1_PYREF set adds v1.1.1 reference rows, BBC1_BENCH_1M=1 adds the million-transaction rows (BBC1_BENCH_1M_DIR
 * keeps that ledger for the next run), BBC1_BENCH_NODE=bundle runs the node from an esbuild bundle instead of dist/, BBC1_BENCH_NODE_ARGS (extra bbc1-core flags),
 * BBC1_BENCH_CPU_PROF=<dir> runs the node with --cpu-prof into that directory (BBC1_BENCH_CLIENT_PROF: the clients), BBC1_BENCH_DB is JSON merged into
 * the domain's `db` section (`{"commit_log":false}`: SQLite without the commit log).
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { KeyPair, addEventAsset, getNewId, makeTransaction, toHex, fromHex, type BBcTransaction } from "@bbc1/bbclib";
import { BBcAppClient } from "@bbc1/client";
import { cpuUs, freePort, getStats as stats, mainThreadCpuUs, nodeEntry, repoRoot, rssMb, spawnLoadClient, startNode, stopNode, type BenchRow, type LoadClient, type NodeProc } from "./node-harness.js";

const ROLE = process.env.BBC1_BENCH_ROLE;

// ------------------------------------------------------------------ load-client process

interface LoadJob {
  port: number;
  domainHex: string;
  clients: number;
  /** transactions signed per client before the timed phase */
  perClient: number;
  mode: "insert" | "search" | "fill";
  /** fill: transactions each client inserts (signed as it goes: the fill is not measured) */
  fillPerClient?: number;
  /** search: a file with transaction ids (hex, one a line) to look up instead of inserting its own */
  idsFile?: string;
  /** stop after this many requests per client (else at the deadline) */
  maxOps?: number;
}

interface LoadReport {
  sample?: string[];
  /** CPU of this client process during the timed phase, µs */
  cpuUs?: number;
  done: number;
  errors: number;
  exhausted: number;
  latUs: number[];
}

function oneTx(key: KeyPair, user: Uint8Array, group: Uint8Array, i: number): BBcTransaction {
  const tx = makeTransaction({ eventNum: 1, witness: true });
  addEventAsset(tx, 0, group, user, { assetBody: `bench body ${i} ${Math.random()}` });
  tx.witness!.addWitness(user);
  tx.addSignature(user, tx.sign(key));
  tx.digest();
  return tx;
}

async function loadMain(): Promise<void> {
  const job = JSON.parse(process.argv[2]!) as LoadJob;
  const domainId = fromHex(job.domainHex);
  const key = KeyPair.generate();
  const group = getNewId("bench group");
  const clients: { c: BBcAppClient; txs: BBcTransaction[]; user: Uint8Array }[] = [];
  for (let i = 0; i < job.clients; i++) {
    const user = getNewId(`bench user ${process.pid} ${i}`);
    const c = await BBcAppClient.connect({ port: job.port, domainId, userId: user, requestTimeoutMs: 60_000 });
    await c.register();
    const txs: BBcTransaction[] = [];
    // signing (and serializing, which insertTransaction does) is the client's cost: done now
    for (let k = 0; k < job.perClient; k++) {
      const tx = oneTx(key, user, group, k);
      tx.serialize();
      txs.push(tx);
    }
    clients.push({ c, txs, user });
  }
  let searchIds: Uint8Array[] = [];
  if (job.mode === "search" && job.idsFile !== undefined) {
    searchIds = readFileSync(job.idsFile, "utf8").split("\n").filter((l) => l.length > 0).map(fromHex);
  } else if (job.mode === "search") {
    // what is searched was inserted (untimed) by this client
    const first = clients[0]!;
    for (const tx of first.txs.splice(0, Math.min(500, first.txs.length))) searchIds.push((await first.c.insertTransaction(tx)).transactionId);
  }
  process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
  const rl = createInterface({ input: process.stdin });
  rl.once("close", () => process.exit(0)); // the orchestrator is gone
  const go = await new Promise<number>((res) => rl.once("line", (l) => res(Number(l.trim()))));
  if (job.mode === "fill") {
    // fill a ledger: sign and insert, keep a sample of ids for later searches
    const sample: string[] = [];
    let done = 0;
    await Promise.all(
      clients.map(async ({ c, user }) => {
        for (let k = 0; k < (job.fillPerClient ?? 0); k++) {
          const tx = oneTx(key, user, group, k);
          const id = (await c.insertTransaction(tx)).transactionId;
          done++;
          if (sample.length < 2000) sample.push(toHex(id));
          else if (Math.random() < 2000 / done) sample[Math.floor(Math.random() * 2000)] = toHex(id);
        }
      }),
    );
    for (const { c } of clients) await c.close().catch(() => undefined);
    await new Promise<void>((res) => process.stdout.write(`${JSON.stringify({ done, errors: 0, exhausted: 0, latUs: [], sample })}\n`, () => res()));
    rl.close();
    return;
  }
  const report: LoadReport = { done: 0, errors: 0, exhausted: 0, latUs: [] };
  const cpu0 = process.cpuUsage();
  const deadline = performance.now() + go;
  await Promise.all(
    clients.map(async ({ c, txs }) => {
      let i = 0;
      while (performance.now() < deadline && (job.maxOps === undefined || i < job.maxOps)) {
        const t0 = performance.now();
        try {
          if (job.mode === "search") await c.searchTransaction(searchIds[i++ % searchIds.length]!);
          else {
            const tx = txs[i++];
            if (tx === undefined) {
              report.exhausted++;
              return;
            }
            await c.insertTransaction(tx);
          }
          report.latUs.push((performance.now() - t0) * 1000);
          report.done++;
        } catch {
          report.errors++;
        }
      }
    }),
  );
  const cpu = process.cpuUsage(cpu0);
  report.cpuUs = cpu.user + cpu.system;
  for (const { c } of clients) await c.close().catch(() => undefined);
  // stdout is a pipe (asynchronous): exit only once the report is written
  await new Promise<void>((res) => process.stdout.write(`${JSON.stringify(report)}\n`, () => res()));
  rl.close();
  searchIds = [];
}

if (ROLE === "load") {
  await loadMain();
  process.exit(0);
}

// ------------------------------------------------------------------ orchestrator

const MS = Number(process.env.BBC1_BENCH_MS ?? 3000);
const RUNS = Math.max(1, Number(process.env.BBC1_BENCH_RUNS ?? 1));

/** A load-client process running this file's bundle (the bundle of whichever bench imported this file). */
function spawnLoader(job: LoadJob): LoadClient<LoadReport> {
  return spawnLoadClient<LoadJob, LoadReport>(fileURLToPath(import.meta.url), job);
}

interface Measured {
  txs: number;
  seconds: number;
  p50: number;
  p99: number;
  cpuPerTx?: number;
  /** of which the main thread */
  mainCpuPerTx?: number;
  /** the client processes' CPU per transaction */
  clientCpuPerTx?: number;
  txPerCommit?: number;
  /** mean time of a durable commit (bbc1_ledger_commit_duration_seconds), ms */
  commitMs?: number;
  /** signatures per batch verified on the worker (GET_STATS verify); undefined when none were */
  sigsPerBatch?: number;
  errors: number;
  exhausted: number;
  /** CPU (all threads, and the main thread) of each process in `watch` during the timed phase, µs */
  watched?: { cpuUs: number; mainUs: number }[];
}

async function measureLoad(node: NodeProc, domainId: Uint8Array, procs: number, perProc: number, mode: "insert" | "search", expectRate: number, idsFile?: string, maxOps?: number, watch: number[] = []): Promise<Measured> {
  const perClient = mode === "search" ? (idsFile ? 0 : 520) : Math.ceil(((expectRate * MS) / 1000) * 1.5 / (procs * perProc)) + 50;
  const loaders = Array.from({ length: procs }, () => spawnLoader({ port: node.port, domainHex: toHex(domainId), clients: perProc, perClient, mode, idsFile, maxOps }));
  await Promise.all(loaders.map((l) => l.ready));
  const before = await stats(node.port, domainId);
  const commit0 = await commitSeconds(node.httpPort);
  const cpu0 = cpuUs(node.pid);
  const main0 = mainThreadCpuUs(node.pid);
  // other processes whose CPU the caller wants over the same window (replication: the replicas)
  const watch0 = watch.map((pid) => ({ cpuUs: cpuUs(pid) ?? 0, mainUs: mainThreadCpuUs(pid) ?? 0 }));
  const t0 = performance.now();
  for (const l of loaders) l.child.stdin!.write(`${maxOps !== undefined ? 600_000 : MS}\n`);
  const reports = await Promise.all(loaders.map((l) => l.result));
  const seconds = (performance.now() - t0) / 1000;
  const cpu1 = cpuUs(node.pid);
  const main1 = mainThreadCpuUs(node.pid);
  const watched = watch.map((pid, i) => ({ cpuUs: (cpuUs(pid) ?? 0) - watch0[i]!.cpuUs, mainUs: (mainThreadCpuUs(pid) ?? 0) - watch0[i]!.mainUs }));
  const after = await stats(node.port, domainId);
  const commit1 = await commitSeconds(node.httpPort);
  const lat = reports.flatMap((r) => r.latUs).sort((a, b) => a - b);
  const txs = reports.reduce((n, r) => n + r.done, 0);
  const at = (q: number) => lat[Math.min(lat.length - 1, Math.floor(q * lat.length))] ?? 0;
  const commits = (after.ledger?.commits ?? 0) - (before.ledger?.commits ?? 0);
  const committed = (after.ledger?.committed_tx ?? 0) - (before.ledger?.committed_tx ?? 0);
  return {
    txs,
    seconds: maxOps !== undefined ? seconds : Math.min(seconds, MS / 1000 + 0.05),
    p50: at(0.5),
    p99: at(0.99),
    cpuPerTx: cpu0 !== undefined && cpu1 !== undefined && txs > 0 ? (cpu1 - cpu0) / txs : undefined,
    clientCpuPerTx: txs > 0 ? reports.reduce((n, r) => n + (r.cpuUs ?? 0), 0) / txs : undefined,
    mainCpuPerTx: main0 !== undefined && main1 !== undefined && txs > 0 ? (main1 - main0) / txs : undefined,
    txPerCommit: commits > 0 ? committed / commits : undefined,
    commitMs: commit0 !== undefined && commit1 !== undefined && commit1.count > commit0.count ? ((commit1.sum - commit0.sum) * 1000) / (commit1.count - commit0.count) : undefined,
    sigsPerBatch: (() => {
      const b = (after.verify?.batches ?? 0) - (before.verify?.batches ?? 0);
      return b > 0 ? ((after.verify?.signatures ?? 0) - (before.verify?.signatures ?? 0)) / b : undefined;
    })(),
    errors: reports.reduce((n, r) => n + r.errors, 0),
    exhausted: reports.reduce((n, r) => n + r.exhausted, 0),
    watched,
  };
}

/** Sum and count of bbc1_ledger_commit_duration_seconds over every domain, from the node's /metrics. */
async function commitSeconds(httpPort: number): Promise<{ sum: number; count: number } | undefined> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
    let sum = 0;
    let count = 0;
    for (const line of text.split("\n")) {
      const m = /^bbc1_ledger_commit_duration_seconds_(sum|count)\{[^}]*\} (\S+)$/.exec(line);
      if (m === null) continue;
      if (m[1] === "sum") sum += Number(m[2]);
      else count += Number(m[2]);
    }
    return { sum, count };
  } catch {
    return undefined;
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 === 1 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

function toRow(name: string, runs: Measured[], extra = ""): BenchRow {
  const rate = runs.map((r) => r.txs / r.seconds);
  const f = (n: number | undefined, d = 0) => (n === undefined || Number.isNaN(n) ? "–" : n.toFixed(d));
  const cpu = runs.map((r) => r.cpuPerTx).filter((x): x is number => x !== undefined);
  const mainCpu = runs.map((r) => r.mainCpuPerTx).filter((x): x is number => x !== undefined);
  const clientCpu = runs.map((r) => r.clientCpuPerTx).filter((x): x is number => x !== undefined);
  const tpc = runs.map((r) => r.txPerCommit).filter((x): x is number => x !== undefined);
  const commitMs = runs.map((r) => r.commitMs).filter((x): x is number => x !== undefined);
  const spb = runs.map((r) => r.sigsPerBatch).filter((x): x is number => x !== undefined);
  const errs = runs.reduce((n, r) => n + r.errors + r.exhausted, 0);
  const range = runs.length > 1 ? `; ${runs.length} runs ${f(Math.min(...rate))}–${f(Math.max(...rate))} tx/s` : "";
  return {
    name,
    opsPerSec: median(rate),
    p50us: median(runs.map((r) => r.p50)),
    p99us: median(runs.map((r) => r.p99)),
    note: `node CPU ${cpu.length ? f(median(cpu)) : "–"} µs/tx (main thread ${mainCpu.length ? f(median(mainCpu)) : "–"}), clients ${clientCpu.length ? f(median(clientCpu)) : "–"} µs/tx; ${tpc.length ? f(median(tpc), 1) : "–"} tx/commit${commitMs.length ? `, commit ${f(median(commitMs), 2)} ms` : ""}${spb.length ? `; ${f(median(spb), 1)} sig/verify batch` : ""}${range}${errs ? `; ${errs} errors/exhausted` : ""}${extra}`,
  };
}

function dbSection(backend: string, tag: string): Record<string, unknown> | undefined {
  if (backend === "sqlite") return undefined;
  if (backend === "postgres") {
    const url = process.env.BBC1_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test";
    return { db_type: "postgres", replication_strategy: "all", db_servers: [{ db_url: url, db_schema: `bench_${tag}` }] };
  }
  const url = process.env.BBC1_TEST_MYSQL_URL ?? "mysql://root@127.0.0.1:3306/test";
  const u = new URL(url);
  u.pathname = `/bench_${tag}`;
  return { db_type: "mysql", replication_strategy: "all", db_servers: [{ db_url: u.toString() }] };
}

async function dropDb(backend: string, tag: string): Promise<void> {
  try {
    if (backend === "postgres") {
      const pg = (await import("pg")).default;
      const c = new pg.Client({ connectionString: process.env.BBC1_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test" });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS "bench_${tag}" CASCADE`);
      await c.end();
    } else if (backend === "mysql") {
      const mysql = (await import("mysql2/promise")).default;
      const u = new URL(process.env.BBC1_TEST_MYSQL_URL ?? "mysql://root@127.0.0.1:3306/test");
      const c = await mysql.createConnection({ host: u.hostname, port: Number(u.port || 3306), user: decodeURIComponent(u.username) });
      await c.query(`DROP DATABASE IF EXISTS \`bench_${tag}\``);
      await c.end();
    }
  } catch {
    // a leftover bench schema is harmless
  }
}

async function withNode<T>(entry: string, backend: string, fn: (node: NodeProc, domainId: Uint8Array, wd: string) => Promise<T>): Promise<T> {
  const wd = mkdtempSync(join(tmpdir(), "bbc1-e2e-bench-"));
  const domainId = getNewId("e2e bench domain");
  const tag = toHex(getNewId("tag")).slice(0, 12);
  const db = dbSection(backend, tag);
  const section: Record<string, unknown> = { storage: { type: "internal" } };
  // BBC1_BENCH_DB: JSON merged into the domain's db section (e.g. {"commit_log":false} for the design without a log)
  const extra = process.env.BBC1_BENCH_DB ? (JSON.parse(process.env.BBC1_BENCH_DB) as Record<string, unknown>) : {};
  section.db = { ...(db ?? { db_type: "sqlite", db_name: "bbc_ledger.sqlite", replication_strategy: "all" }), ...extra };
  mkdirSync(wd, { recursive: true });
  writeFileSync(join(wd, "config.json"), JSON.stringify({ workingdir: wd, domains: { [toHex(domainId)]: section } }));
  const node = await startNode(entry, wd);
  try {
    return await fn(node, domainId, wd);
  } finally {
    await stopNode(node);
    rmSync(wd, { recursive: true, force: true });
    await dropDb(backend, tag);
  }
}

const ROWS = (process.env.BBC1_BENCH_ROWS ?? "seq,16,64,search").split(",");

export async function run(): Promise<BenchRow[]> {
  const root = repoRoot();
  const entry = await nodeEntry(root, { build: true });
  const rows: BenchRow[] = [];
  const backends = (process.env.BBC1_BENCH_BACKENDS ?? "sqlite").split(",").filter((b) => b !== "");
  for (const backend of backends) {
    const label = backend === "mysql" ? "mariadb" : backend;
    const seq: Measured[] = [];
    const c16: Measured[] = [];
    const c64: Measured[] = [];
    const search: Measured[] = [];
    // one node per backend; the rows alternate within each run
    // transactions are signed before each timed row, as many as it may need: after the first run, twice the rate
    // the row last reached (signing 1.5 × the target rate for a slow back end or a loaded machine costs more than the rows)
    const need = (runs: Measured[], first: number) => (runs.length === 0 ? (backend === "sqlite" ? first : first / 4) : Math.max(500, (2 * runs[runs.length - 1]!.txs) / runs[runs.length - 1]!.seconds));
    await withNode(entry, backend, async (node, domainId) => {
      for (let r = 0; r < RUNS; r++) {
        if (ROWS.includes("seq")) seq.push(await measureLoad(node, domainId, 1, 1, "insert", need(seq, 4000)));
        if (ROWS.includes("16")) c16.push(await measureLoad(node, domainId, 4, 4, "insert", need(c16, 16000)));
        if (ROWS.includes("64")) c64.push(await measureLoad(node, domainId, 4, 16, "insert", need(c64, 20000)));
        if (ROWS.includes("search")) search.push(await measureLoad(node, domainId, 1, 1, "search", 0));
      }
    });
    const where = "; bbc1-core process, @bbc1/client processes";
    if (seq.length) rows.push(toRow(`${label}: insert, 1 client sequential`, seq, where));
    if (c16.length) rows.push(toRow(`${label}: insert, 16 clients / 4 processes`, c16, where));
    if (c64.length) rows.push(toRow(`${label}: insert, 64 clients / 4 processes`, c64, where));
    if (search.length) rows.push(toRow(`${label}: search by transaction_id, 1 client`, search, ""));
  }
  if (process.env.BBC1_BENCH_PYREF === "1" && process.env.BBC1_PYREF) rows.push(...(await pyrefRows(process.env.BBC1_PYREF)));
  if (process.env.BBC1_BENCH_1M) rows.push(...(await millionRows(entry, Number(process.env.BBC1_BENCH_1M) > 1 ? Number(process.env.BBC1_BENCH_1M) : 1_000_000)));
  return rows;
}

/**
 * BBC1_BENCH_1M=1 (or a count): fill a SQLite ledger through the node to a million transactions, then measure a
 * search by id (ids sampled over the whole fill), the node's RSS, inserts at that size, and the restart after
 * kill -9 during inserts (spawn to "ready", and to the first search answered).
 */
async function millionRows(entry: string, total: number): Promise<BenchRow[]> {
  const wd = process.env.BBC1_BENCH_1M_DIR ?? mkdtempSync(join(tmpdir(), "bbc1-e2e-1m-"));
  const keep = process.env.BBC1_BENCH_1M_DIR !== undefined;
  mkdirSync(wd, { recursive: true }); // a BBC1_BENCH_1M_DIR that does not exist yet is filled from scratch
  const rows: BenchRow[] = [];
  const cfgFile = join(wd, "config.json");
  let domainId: Uint8Array;
  // a kept ledger: its domain is the one that is not domain_global_0 (the node writes that one into the config too)
  if (existsSync(cfgFile)) domainId = fromHex(Object.keys((JSON.parse(readFileSync(cfgFile, "utf8")) as { domains: Record<string, unknown> }).domains).find((h) => !/^0+$/.test(h))!);
  else {
    domainId = getNewId("e2e 1m domain");
    writeFileSync(cfgFile, JSON.stringify({ workingdir: wd, domains: { [toHex(domainId)]: { storage: { type: "internal" }, db: { db_type: "sqlite", db_name: "bbc_ledger.sqlite", replication_strategy: "all" } } } }));
  }
  const idsFile = join(wd, "sample-ids.txt");
  let node = await startNode(entry, wd);
  try {
    const st = await stats(node.port, domainId);
    const have = st.ledger?.committed_tx ?? 0;
    void have;
    const existing = existsSync(idsFile) ? readFileSync(idsFile, "utf8").split("\n").filter((l) => l).length : 0;
    if (existing === 0) {
      const t0 = performance.now();
      const procs = 4;
      const per = 16;
      const fillPerClient = Math.ceil(total / (procs * per));
      const loaders = Array.from({ length: procs }, () => spawnLoader({ port: node.port, domainHex: toHex(domainId), clients: per, perClient: 0, mode: "fill", fillPerClient }));
      await Promise.all(loaders.map((l) => l.ready));
      for (const l of loaders) l.child.stdin!.write("0\n");
      const reports = await Promise.all(loaders.map((l) => l.result));
      const filled = reports.reduce((n, r) => n + r.done, 0);
      writeFileSync(idsFile, `${reports.flatMap((r) => r.sample ?? []).join("\n")}\n`);
      const secs = (performance.now() - t0) / 1000;
      rows.push({ name: `sqlite @${filled.toLocaleString("en-US")}: fill, 64 clients / 4 processes (signing in the loop)`, opsPerSec: filled / secs, note: `${secs.toFixed(0)} s` });
    }
    // the first search of a stored transaction verifies its signature (v1.1.1 validates what it returns); the
    // node then remembers the verdict for those exact bytes (in memory, so again after a restart)
    const nIds = readFileSync(idsFile, "utf8").split("\n").filter((l) => l).length;
    const cold = await measureLoad(node, domainId, 1, 1, "search", 0, idsFile, nIds);
    rows.push(toRow(`sqlite @1M: search by transaction_id, first time (signature verified), 1 client`, [cold], `; ${nIds} ids sampled over the fill; node RSS ${rssMb(node.pid)?.toFixed(0)} MB`));
    const search: Measured[] = [];
    for (let r = 0; r < RUNS; r++) search.push(await measureLoad(node, domainId, 1, 1, "search", 0, idsFile));
    rows.push(toRow(`sqlite @1M: search by transaction_id, again (verdict remembered), 1 client`, search, `; node RSS ${rssMb(node.pid)?.toFixed(0)} MB`));
    const seq: Measured[] = [];
    const c16: Measured[] = [];
    for (let r = 0; r < RUNS; r++) {
      seq.push(await measureLoad(node, domainId, 1, 1, "insert", 4000));
      c16.push(await measureLoad(node, domainId, 4, 4, "insert", 16000));
    }
    rows.push(toRow("sqlite @1M: insert, 1 client sequential", seq));
    rows.push(toRow("sqlite @1M: insert, 16 clients / 4 processes", c16, `; node RSS ${rssMb(node.pid)?.toFixed(0)} MB`));
    // kill -9 under load, then restart
    const restart: number[] = [];
    const firstAnswer: number[] = [];
    for (let r = 0; r < Math.max(3, RUNS); r++) {
      const loaders = Array.from({ length: 4 }, () => spawnLoader({ port: node.port, domainHex: toHex(domainId), clients: 4, perClient: 400, mode: "insert" }));
      await Promise.all(loaders.map((l) => l.ready));
      for (const l of loaders) {
        l.result.catch(() => undefined); // killed below, with the node
        l.child.stdin!.write("5000\n");
      }
      await new Promise((res) => setTimeout(res, 300 + Math.random() * 700));
      await stopNode(node, "SIGKILL");
      for (const l of loaders) l.child.kill("SIGKILL");
      const t0 = performance.now();
      node = await startNode(entry, wd);
      restart.push(node.startMs);
      const c = await BBcAppClient.connect({ port: node.port, domainId, userId: getNewId("after restart") });
      await c.register();
      await c.searchTransaction(fromHex(readFileSync(idsFile, "utf8").split("\n")[0]!));
      firstAnswer.push(performance.now() - t0);
      await c.close();
    }
    rows.push({ name: "sqlite @1M: restart after kill -9 during inserts (spawn to ready)", opsPerSec: 0, p50us: median(restart) * 1000, p99us: Math.max(...restart) * 1000, note: `to the first search answered: median ${median(firstAnswer).toFixed(0)} ms, max ${Math.max(...firstAnswer).toFixed(0)} ms; RSS ${rssMb(node.pid)?.toFixed(0)} MB` });
  } finally {
    await stopNode(node);
    if (!keep) rmSync(wd, { recursive: true, force: true });
  }
  return rows;
}

/** The v1.1.1 reference node (Python) under the same load, for comparison in the same sitting. */
async function pyrefRows(pyref: string): Promise<BenchRow[]> {
  const wd = mkdtempSync(join(tmpdir(), "bbc1-e2e-pyref-"));
  const port = await freePort();
  const p2p = await freePort();
  const start = spawn(join(pyref, "start_pynode.sh"), [wd, String(port), String(p2p), "--no_nodekey"], { stdio: "ignore" });
  await new Promise((r) => start.on("exit", r));
  const domainId = getNewId("e2e bench domain");
  const rows: BenchRow[] = [];
  try {
    const admin = await BBcAppClient.connect({ port, domainId, userId: getNewId("admin") });
    await admin.domainSetup(domainId);
    await admin.close();
    const node = { port, pid: 0 } as NodeProc;
    const seq: Measured[] = [];
    const c16: Measured[] = [];
    for (let r = 0; r < RUNS; r++) {
      seq.push(await measureLoad(node, domainId, 1, 1, "insert", 1000));
      c16.push(await measureLoad(node, domainId, 4, 4, "insert", 1000));
    }
    rows.push(toRow("v1.1.1 reference: insert, 1 client sequential", seq));
    rows.push(toRow("v1.1.1 reference: insert, 16 clients / 4 processes", c16));
  } finally {
    spawn(join(pyref, "stop_pynode.sh"), [wd], { stdio: "ignore" });
    await new Promise((r) => setTimeout(r, 500));
    rmSync(wd, { recursive: true, force: true });
  }
  return rows;
}

export { withNode, measureLoad, type Measured };
