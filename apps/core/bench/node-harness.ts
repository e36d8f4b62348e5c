/**
 * What the benches of apps/core share to run `bbc1-core` as its own process and to look at it: free
 * loopback ports, the node's entry (dist/ or an esbuild bundle of the sources), starting a node and
 * waiting for its ready line, killing every child process with the bench however it ends, CPU and RSS
 * from /proc, load-client processes that answer with a JSON report, and GET_STATS.
 *
 * Not a bench itself (scripts/bench.mjs runs only `*.bench.ts`); each bench bundle carries its own copy.
 *
 * Environment read here: BBC1_BENCH_NODE=bundle (the node from an esbuild bundle instead of dist/),
 * BBC1_BENCH_NODE_ARGS (extra bbc1-core flags), BBC1_BENCH_NODE_EXEC_ARGS (node's own flags for the node
 * process), BBC1_BENCH_CPU_PROF=<dir> (the node with --cpu-prof into that directory),
 * BBC1_BENCH_CLIENT_PROF=<dir> (the same for load clients).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, realpathSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { getNewId, toHex } from "@bbc1/bbclib";
import { BBcAppClient } from "@bbc1/client";

/** A row of the root bench table (scripts/bench.mjs prints these; `package` is added there). */
export interface BenchRow {
  name: string;
  opsPerSec: number;
  p50us?: number;
  p99us?: number;
  note?: string;
}

/** The value at quantile `q` (0..1) of an ascending array, 0 when it is empty. */
export function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
}

/** A TCP port on 127.0.0.1 that was free a moment ago (the OS picked it; another process may take it first). */
export function freePort(): Promise<number> {
  return new Promise((res) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => res(p));
    });
  });
}

// ------------------------------------------------------------------ child processes

const children = new Set<ChildProcess>();
let reaperInstalled = false;

/**
 * Registers a child so that it is SIGKILLed when this process exits, however it ends (a failed bench
 * must not leave nodes holding ports and CPU). The exit and signal handlers are installed on the first
 * call, so a process that starts no children (a load client) keeps its default signal behaviour.
 */
export function track<C extends ChildProcess>(c: C): C {
  if (!reaperInstalled) {
    reaperInstalled = true;
    process.on("exit", () => {
      for (const k of children) k.kill("SIGKILL");
    });
    // process.exit runs the "exit" handler above; death by a signal would not
    for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.once(sig, () => process.exit(130));
  }
  children.add(c);
  c.on("exit", () => children.delete(c));
  return c;
}

// ------------------------------------------------------------------ the node

/** The repository's root: found upwards from this file, which is either the source or a bundle under node_modules/.cache. */
export function repoRoot(): string {
  let d = dirname(fileURLToPath(import.meta.url));
  while (d !== "/" && !existsSync(join(d, "apps", "core", "src", "bbc1-core.ts"))) d = dirname(d);
  return d;
}

/** How {@link nodeEntry} finds the `bbc1-core` to run. */
export interface NodeEntryOptions {
  /**
   * true: build through turbo first (cached when nothing changed), then run apps/core/dist/bbc1-core.js, what
   * `npm start` runs. false: run dist/ as it is, or a bundle of the sources when there is no dist/.
   */
  build: boolean;
}

/**
 * The script to start `bbc1-core` from. BBC1_BENCH_NODE=bundle always gives an esbuild bundle of the sources
 * ({@link bundleNode}; its worker threads then load the whole bundle).
 */
export async function nodeEntry(root: string, opts: NodeEntryOptions): Promise<string> {
  const dist = join(root, "apps", "core", "dist", "bbc1-core.js");
  if (process.env.BBC1_BENCH_NODE === "bundle") return bundleNode(root);
  if (!opts.build) return existsSync(dist) ? dist : bundleNode(root);
  const { execFileSync } = await import("node:child_process");
  execFileSync(process.execPath, [join(root, "node_modules", "turbo", "bin", "turbo"), "run", "build", "--output-logs=errors-only"], { cwd: root, stdio: ["ignore", "ignore", "inherit"] });
  return dist;
}

/** Bundles apps/core/src/bbc1-core.ts with our packages from their TypeScript sources; returns the bundle's path. */
export async function bundleNode(root: string): Promise<string> {
  // under the repository, so that the bundle's external imports resolve from node_modules
  const out = join(root, "node_modules", ".cache", "bbc1-e2e-bench");
  const file = join(out, "bbc1-core.mjs");
  const { build } = await import("esbuild");
  await build({
    entryPoints: { "bbc1-core": join(root, "apps", "core", "src", "bbc1-core.ts") },
    outdir: out,
    outExtension: { ".js": ".mjs" },
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    conditions: ["@bbc1/source", "node"],
    packages: "external",
    logLevel: "error",
    banner: { js: "import { createRequire as __cr } from 'module'; const require = __cr(import.meta.url);" },
    plugins: [
      {
        name: "bbc1-source",
        setup(b) {
          b.onResolve({ filter: /^@bbc1\/[^/]+$/ }, (args) => {
            const pj = realpathSync(join(root, "node_modules", args.path, "package.json"));
            const src = (JSON.parse(readFileSync(pj, "utf8")) as { exports: Record<string, Record<string, string>> }).exports["."]!["@bbc1/source"]!;
            return { path: join(dirname(pj), src) };
          });
        },
      },
    ],
  });
  return file;
}

/** A running `bbc1-core` process. */
export interface NodeProc {
  child: ChildProcess;
  /** its client port */
  port: number;
  /** its P2P port (UDP and TCP) */
  p2pPort: number;
  /** its HTTP port (/metrics) */
  httpPort: number;
  pid: number;
  /** ms from spawn to "bbc1-core ready" */
  startMs: number;
  /** resolves with the exit code once the process is gone */
  exit: Promise<number | null>;
}

/**
 * Starts `bbc1-core` from `entry` in working directory `wd` (its config.json, if any, is read from there) on
 * free client, P2P and HTTP ports, without a node key, and waits up to 120 s for its "bbc1-core ready" line.
 * `extra` flags come last. The child is {@link track}ed.
 */
export async function startNode(entry: string, wd: string, extra: string[] = []): Promise<NodeProc> {
  const port = await freePort();
  // P2P and HTTP ports of its own: the defaults (6641, 9180) may be taken by another node on this machine
  const p2pPort = await freePort();
  const httpPort = await freePort();
  const prof = process.env.BBC1_BENCH_CPU_PROF;
  // BBC1_BENCH_NODE_EXEC_ARGS: node's own flags for the node process (e.g. --heapsnapshot-signal=SIGUSR2)
  const execArgv = [...(prof ? ["--cpu-prof", "--cpu-prof-dir", prof] : []), ...(process.env.BBC1_BENCH_NODE_EXEC_ARGS ?? "").split(" ").filter((x) => x !== "")];
  const nodeArgs = (process.env.BBC1_BENCH_NODE_ARGS ?? "").split(" ").filter((x) => x !== "");
  const t0 = performance.now();
  const child = track(
    spawn(process.execPath, [...execArgv, entry, "--coreport", String(port), "--p2pport", String(p2pPort), "--http_port", String(httpPort), "--no_nodekey", "-w", wd, "-v", "info", ...nodeArgs, ...extra], {
      cwd: wd,
      stdio: ["ignore", "pipe", "pipe"],
    }),
  );
  let err = "";
  child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  child.stdout!.on("data", (d: Buffer) => (err += d.toString()));
  const exit = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  const deadline = Date.now() + 120_000;
  while (!err.includes("bbc1-core ready")) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`bbc1-core did not start:\n${err}`);
    await new Promise((r) => setTimeout(r, 5));
  }
  return { child, port, p2pPort, httpPort, pid: child.pid!, startMs: performance.now() - t0, exit };
}

/** Sends `signal` to the node unless it has exited already, and waits until it is gone. */
export async function stopNode(node: NodeProc, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
  if (node.child.exitCode === null && node.child.signalCode === null) node.child.kill(signal);
  await node.exit;
}

/** Network timings for nodes on loopback that should meet within a second or so, not v1.1.1's minutes. */
export const MESH_TIMINGS = { advertise_delay_ms: 300, key_exchange_invoke_min_ms: 100, key_exchange_invoke_max_ms: 300, neighbor_list_refresh_ms: 5_000 } as const;

/** What {@link startDomainNode} writes into the node's config.json. */
export interface DomainNodeConfig {
  domainId: Uint8Array;
  /** the domain's section (`storage`, `db`, ...) */
  section: Record<string, unknown>;
  /** further top-level config keys (e.g. `limits`) */
  config?: Record<string, unknown>;
}

/**
 * Starts a node of a multi-node bench in `<root>/<name>`: a config.json with {@link MESH_TIMINGS} and the one
 * domain, and the node advertising 127.0.0.1 so that its peers on this machine can reach it.
 */
export async function startDomainNode(entry: string, root: string, name: string, cfg: DomainNodeConfig): Promise<{ node: NodeProc; wd: string }> {
  const wd = join(root, name);
  mkdirSync(wd, { recursive: true });
  writeFileSync(join(wd, "config.json"), JSON.stringify({ workingdir: wd, network: { timings: MESH_TIMINGS }, ...cfg.config, domains: { [toHex(cfg.domainId)]: cfg.section } }));
  const node = await startNode(entry, wd, ["--ip4addr", "127.0.0.1"]);
  return { node, wd };
}

/** The node's statistics (GET_STATS, by a client of its own): category → counter → value. */
export async function getStats(port: number, domainId: Uint8Array): Promise<Record<string, Record<string, number>>> {
  const c = await BBcAppClient.connect({ port, domainId, userId: getNewId("bench stats") });
  try {
    return await c.getStats();
  } finally {
    await c.close();
  }
}

// ------------------------------------------------------------------ /proc

/** utime and stime (fields 14 and 15) of a /proc stat line, in µs. */
function statCpuUs(path: string): number | undefined {
  try {
    const stat = readFileSync(path, "utf8");
    // the command name in parentheses may hold spaces: count fields after its closing one
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(f[11]) + Number(f[12])) * 1e6) / 100; // CLK_TCK is 100 on Linux
  } catch {
    return undefined;
  }
}

/** utime + stime of a process in µs (all its threads), from /proc; undefined elsewhere or once it is gone. */
export function cpuUs(pid: number): number | undefined {
  return statCpuUs(`/proc/${pid}/stat`);
}

/** utime + stime in µs of the process's main thread (tid = pid); the rest is worker, pool and GC threads. */
export function mainThreadCpuUs(pid: number): number | undefined {
  return statCpuUs(`/proc/${pid}/task/${pid}/stat`);
}

/** Resident set size of a process in MB (VmRSS), from /proc; undefined elsewhere. */
export function rssMb(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

// ------------------------------------------------------------------ load-client processes

/**
 * A load-client process. The protocol, on its stdout one JSON object a line: `{"ready":true}` once it has
 * connected and prepared (signed) what it will send, then its report. It starts when it reads a line on its
 * stdin (the e2e bench sends the time to run, in ms) and exits when its stdin closes.
 */
export interface LoadClient<Report> {
  child: ChildProcess;
  /** the ready line came; rejects if the process exits before */
  ready: Promise<void>;
  /** its report; rejects if the process exits without one */
  result: Promise<Report>;
}

/**
 * Spawns `script` (a bundle that acts as a load client when BBC1_BENCH_ROLE=load) with the JSON of `job` as its
 * argument; BBC1_BENCH_CLIENT_PROF=<dir> runs it with --cpu-prof. The child is {@link track}ed.
 */
export function spawnLoadClient<Job, Report>(script: string, job: Job): LoadClient<Report> {
  const prof = process.env.BBC1_BENCH_CLIENT_PROF;
  const child = track(spawn(process.execPath, [...(prof ? ["--cpu-prof", "--cpu-prof-dir", prof] : []), script, JSON.stringify(job)], { env: { ...process.env, BBC1_BENCH_ROLE: "load" }, stdio: ["pipe", "pipe", "inherit"] }));
  const lines = createInterface({ input: child.stdout! });
  let readyRes!: () => void;
  let readyRej!: (e: Error) => void;
  const ready = new Promise<void>((res, rej) => ((readyRes = res), (readyRej = rej)));
  const result = new Promise<Report>((res, rej) => {
    lines.on("line", (l) => {
      const m = JSON.parse(l) as { ready?: boolean };
      if (m.ready) readyRes();
      else res(m as Report);
    });
    child.on("exit", (code) => {
      readyRej(new Error(`load client exited (${code})`));
      rej(new Error(`load client exited (${code})`));
    });
  });
  return { child, ready, result };
}
