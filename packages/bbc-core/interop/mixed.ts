/**
 * Helpers of the MANUAL mixed-domain checks (not in CI): real `bbc1-core` processes
 * (apps/core/dist/bbc1-core.js) next to ORIGINAL v1.1.1 nodes of a local reference setup.
 *
 * `BBC1_REF` (or `BBC1_PYREF`) names that setup, a directory with `bin/pynode` (start/stop a v1.1.1
 * core: `pynode start -w DIR -c COREPORT -p P2PPORT [bbc_core.py options]`, `pynode stop DIR`) and
 * `bin/pyadmin` (the original `bbc_app` client: `pyadmin --port P --domain NAME <command>`). The
 * reference runs with `BBC1_PYREF_TRACE=DIR/trace.jsonl`, one JSON line per P2P message it encodes
 * or decodes (`dir`, `payload_type` 0 plain / 2 encrypted, `category`, `command`, `src`, `dst`);
 * that is how these checks see what travelled encrypted. Domains are named: the id is sha256(name)
 * on both sides.
 *
 * The scenario checks (mixed-anycast, mixed-notify-leave, mixed-files, mixed-ring; helpers in
 * scenario.ts) also use these `pyadmin` subcommands: `listen-multi` (register_to_core with
 * on_multiple_nodes, one `message <src> anycast=<0|1> ttl=<n> <text>` line per MESSAGE),
 * `send-anycast --to V --count N`, `notify-ctl` (SIGUSR1 cancels the notification, SIGUSR2 closes
 * the connection), `insert-file --file-text T` (txid / asset_id / file_digest / tx),
 * `search-asset --asset-id` (REQUEST_SEARCH_WITH_CONDITIONS: `found <txid> sig=.. file=ok|mismatch|absent`),
 * `search-files --txid` (`files ok|bad <n>` / `compromised_asset_files <ids>`), `repair-asset`,
 * `sign-for-file` / `gather-file` (v1.1.1's test_fileproof_multi_core transfer), `ring-member`
 * (test_bbc_app_multi_core_many_transactions' member, SIGUSR1 starts its gather),
 * `count [--asset-group G | --no-group] [--of V]`, `deny-for --msg REASON` (sendback_denial_of_sign)
 * and `insert-groups --groups G1,G2` (notify-ctl takes `--groups` too).
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { toHex } from "@bbc1/bbclib";
import { BBcAppClient, type NeighborInfo } from "@bbc1/client";

export const REF = process.env.BBC1_REF ?? process.env.BBC1_PYREF;
export const coreEntry = resolve(import.meta.dirname, "..", "..", "..", "apps", "core", "dist", "bbc1-core.js");
const run = promisify(execFile);

export const sha = (s: string): Uint8Array => new Uint8Array(createHash("sha256").update(s).digest());
export const hex = (b: Uint8Array): string => toHex(b);
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `check` until it returns a value other than undefined; the error names `what` and the last value seen. */
export async function until<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000, everyMs = 150): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last !== undefined ? ` (last error: ${String(last)})` : ""}`);
    await sleep(everyMs);
  }
}

export function freePort(): Promise<number> {
  return new Promise((res) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => res(p));
    });
  });
}

/** Protocol times of our nodes here: quick where only our side waits; v1.1.1 keeps its real ones. */
export const OUR_TIMINGS = {
  ping_retry_ms: 500,
  ping_expire_ms: 5_000,
  key_exchange_invoke_min_ms: 100,
  key_exchange_invoke_max_ms: 400,
  key_exchange_retry_ms: 3_000,
  advertise_delay_ms: 400,
  neighbor_list_refresh_ms: 3_000,
};

/** One neighbour entry as both sides print it. */
export interface Entry {
  nodeId: string;
  ipv4: string;
  ipv6: string | null;
  port: number;
  domain0: boolean;
}

/** A node of either implementation, driven by the same questions. */
export interface MixedNode {
  kind: "ours" | "v1.1.1";
  name: string;
  dir: string;
  corePort: number;
  p2pPort: number;
  nodeId: Uint8Array;
  neighbors(): Promise<Entry[]>;
  ping(port: number): Promise<void>;
  staticNode(id: Uint8Array, port: number): Promise<void>;
  closeDomain(): Promise<void>;
  stop(): Promise<void>;
}

const started: MixedNode[] = [];
/** Stops every node these helpers started (afterAll). */
export async function stopAll(): Promise<void> {
  await Promise.all(started.splice(0).map((n) => n.stop().catch(() => undefined)));
}

export interface OursNode extends MixedNode {
  kind: "ours";
  proc: ChildProcess;
  admin: BBcAppClient;
  log: () => string;
  stats(): Promise<Record<string, Record<string, number>>>;
}

/** Starts `bbc1-core` (no node key, P2P on 127.0.0.1, ephemeral ports) with `config` merged into its config.json, and sets the domain up. */
export async function ours(name: string, domain: string, options: { config?: Record<string, unknown>; args?: string[]; setup?: boolean } = {}): Promise<OursNode> {
  if (!existsSync(coreEntry)) throw new Error(`${coreEntry} is missing: run npm run build first`);
  const dir = mkdtempSync(join(tmpdir(), `mixed-${name}-`));
  const { network, ...rest } = (options.config ?? {}) as { network?: Record<string, unknown> };
  writeFileSync(join(dir, "config.json"), JSON.stringify({ network: { timings: OUR_TIMINGS, ...network }, ...rest }));
  const corePort = await freePort();
  const args = [coreEntry, "--coreport", String(corePort), "--p2pport", "0", "--p2pbind", "127.0.0.1", "--ip4addr", "127.0.0.1", "--no_http", "--no_nodekey", "-w", dir, "-v", "info", ...(options.args ?? [])];
  const proc = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  proc.stdout!.on("data", (d: Buffer) => (log += d.toString()));
  proc.stderr!.on("data", (d: Buffer) => (log += d.toString()));
  const exit = new Promise<void>((r) => proc.on("exit", () => r()));
  await until(`bbc1-core ${name} ready`, () => {
    if (proc.exitCode !== null) throw new Error(`bbc1-core ${name} exited: ${log.slice(-2000)}`);
    return log.includes("bbc1-core ready") ? true : undefined;
  }, 30_000, 50);
  const p2pPort = Number(/"p2p_port":(\d+)/.exec(log)?.[1] ?? 0);
  const domainId = sha(domain);
  const admin = await BBcAppClient.connect({ port: corePort, domainId, userId: sha(`admin-${name}`), requestTimeoutMs: 10_000, unsignedAdminTimeoutMs: 10_000 });
  if (options.setup !== false) {
    const r = await admin.domainSetup(domainId);
    if (!r.result && r.reason !== "Already exists") throw new Error(`domain setup on ${name}: ${r.reason}`);
  }
  const nodeId = await admin.getNodeId();
  const n: OursNode = {
    kind: "ours",
    name,
    dir,
    corePort,
    p2pPort,
    nodeId,
    proc,
    admin,
    log: () => log,
    stats: () => admin.getStats(),
    async neighbors() {
      const l: NeighborInfo[] = await admin.getDomainNeighborlist(domainId);
      return l.map((e) => ({ nodeId: hex(e.nodeId), ipv4: e.ipv4, ipv6: e.ipv6, port: e.port, domain0: e.domain0 }));
    },
    ping: (port) => admin.sendDomainPing(domainId, "127.0.0.1", null, port),
    async staticNode(id, port) {
      if (!(await admin.setDomainStaticNode(domainId, id, "127.0.0.1", null, port))) throw new Error(`${name}: REQUEST_SET_STATIC_NODE refused`);
    },
    async closeDomain() {
      const r = await admin.domainClose(domainId);
      if (!r.result) throw new Error(`${name}: domain close: ${r.reason}`);
    },
    async stop() {
      await admin.close().catch(() => undefined);
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGTERM");
      await exit;
    },
  };
  started.push(n);
  return n;
}

export interface TraceLine {
  t: number;
  dir: "in" | "out";
  payload_type: number;
  category: number;
  command: number | null;
  infra_command: number;
  src: string;
  dst: string;
}

export interface RefNode extends MixedNode {
  kind: "v1.1.1";
  admin(...args: string[]): Promise<string>;
  trace(): TraceLine[];
  log(): string;
}

/** Starts an original v1.1.1 core through `$BBC1_REF/bin/pynode` (ports free, --ip4addr 127.0.0.1) and sets the domain up. */
export async function ref(name: string, domain: string, options: { args?: string[]; domainKeyPem?: string; setup?: boolean; env?: Record<string, string> } = {}): Promise<RefNode> {
  const dir = mkdtempSync(join(tmpdir(), `mixed-ref-${name}-`));
  const corePort = await freePort();
  const p2pPort = await freePort();
  const extra = [...(options.args ?? [])];
  if (options.domainKeyPem !== undefined) {
    mkdirSync(join(dir, "domain_keys"), { recursive: true });
    writeFileSync(join(dir, "domain_keys", `${hex(sha(domain))}.pem`), options.domainKeyPem);
    writeFileSync(join(dir, "dk.json"), JSON.stringify({ domain_key: { use: true, directory: join(dir, "domain_keys"), obsolete_timeout: 300 } }));
    // with a domain key and no IPv6 address v1.1.1 cannot sign its pings (p2p-protocol.md §18.2)
    extra.push("--ip6addr", "::", "--default_config", join(dir, "dk.json"));
  }
  const env = { ...process.env, ...options.env, BBC1_PYREF_TRACE: join(dir, "trace.jsonl") };
  await run(join(REF!, "bin", "pynode"), ["start", "-w", dir, "-c", String(corePort), "-p", String(p2pPort), "--no_nodekey", ...extra], { env });
  const admin = async (...args: string[]): Promise<string> => (await run(join(REF!, "bin", "pyadmin"), ["--port", String(corePort), "--domain", domain, ...args], { encoding: "utf8", timeout: 60_000 })).stdout;
  const n: RefNode = {
    kind: "v1.1.1",
    name,
    dir,
    corePort,
    p2pPort,
    nodeId: new Uint8Array(32),
    admin,
    trace() {
      const f = join(dir, "trace.jsonl");
      if (!existsSync(f)) return [];
      return readFileSync(f, "utf8").split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as TraceLine);
    },
    log: () => readFileSync(join(dir, "core.log"), "utf8"),
    async neighbors() {
      return (await admin("neighbors"))
        .split("\n")
        .filter((l) => l.startsWith("neighbor "))
        .map((l) => {
          const j = JSON.parse(l.slice("neighbor ".length)) as { node_id: string; ipv4: string; ipv6: string; port: number; domain0: boolean };
          return { nodeId: j.node_id, ipv4: j.ipv4, ipv6: j.ipv6, port: j.port, domain0: j.domain0 };
        });
    },
    async ping(port) {
      await admin("ping", "--ip4", "127.0.0.1", "--p2pport", String(port));
    },
    async staticNode(id, port) {
      await admin("static-node", "--node-id", hex(id), "--ip4", "127.0.0.1", "--p2pport", String(port));
    },
    async closeDomain() {
      await admin("domain-close");
    },
    async stop() {
      await run(join(REF!, "bin", "pynode"), ["stop", dir]);
    },
  };
  started.push(n);
  if (options.setup !== false) {
    const out = await admin("domain-setup");
    if (!/^domain_setup /.test(out)) throw new Error(`v1.1.1 ${name}: domain setup: ${out}`);
  }
  n.nodeId = new Uint8Array(Buffer.from(JSON.parse((await admin("node-id")).replace(/^node_id /, "")) as string, "hex"));
  return n;
}

/** The entry `of` lists for `about`, if any. */
export async function entryOf(of: MixedNode, about: MixedNode): Promise<Entry | undefined> {
  return (await of.neighbors()).find((e) => e.nodeId === hex(about.nodeId));
}

/** Waits until each of `nodes` lists exactly `nodes` (itself included). */
export async function fullMesh(nodes: MixedNode[], timeoutMs = 30_000): Promise<void> {
  const want = new Set(nodes.map((n) => hex(n.nodeId)));
  for (const n of nodes) {
    let last = "";
    await until(`${n.name} (${n.kind}) to list ${nodes.map((m) => m.name).join(", ")}`, async () => {
      const l = await n.neighbors();
      last = l.map((e) => nodes.find((m) => hex(m.nodeId) === e.nodeId)?.name ?? e.nodeId.slice(0, 8)).join(",");
      return l.length === want.size && l.every((e) => want.has(e.nodeId)) ? true : undefined;
    }, timeoutMs).catch((e: Error) => {
      throw new Error(`${e.message}; it lists ${last}`);
    });
  }
}

/** Our node's count of neighbours with an established key (GET_STATS resources). */
export async function establishedKeys(n: OursNode): Promise<number> {
  return (await n.stats()).resources?.p2p_established_keys ?? 0;
}

/** A long-running original client (`pyadmin ... listen | sign-for | notify`) against any node's client port. */
export interface PyClient {
  lines: string[];
  /** The first line starting with `prefix` (waits for it). */
  line(prefix: string, timeoutMs?: number): Promise<string>;
  kill(): void;
}

export function pyClient(port: number, domain: string, args: string[]): PyClient {
  const p = spawn(join(REF!, "bin", "pyadmin"), ["--port", String(port), "--domain", domain, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  const lines: string[] = [];
  let buf = "";
  let err = "";
  p.stdout!.on("data", (d: Buffer) => {
    buf += d.toString();
    const parts = buf.split("\n");
    buf = parts.pop()!;
    lines.push(...parts);
  });
  p.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  return {
    lines,
    line: (prefix, timeoutMs = 20_000) =>
      until(`pyadmin ${args[0]} to print "${prefix}"`, () => {
        const l = lines.find((x) => x.startsWith(prefix));
        if (l === undefined && p.exitCode !== null) throw new Error(`pyadmin ${args.join(" ")} exited ${p.exitCode}: ${lines.join(" | ")} ${err.slice(-1500)}`);
        return l;
      }, timeoutMs),
    kill: () => p.kill(),
  };
}

/** One run of the original client against any node's client port; stdout. */
export async function pyadmin(port: number, domain: string, ...args: string[]): Promise<string> {
  try {
    return (await run(join(REF!, "bin", "pyadmin"), ["--port", String(port), "--domain", domain, ...args], { encoding: "utf8", timeout: 60_000 })).stdout;
  } catch (e) {
    const x = e as { stdout?: string; stderr?: string; message: string };
    throw new Error(`pyadmin ${args.join(" ")} on port ${port} failed: stdout ${JSON.stringify(x.stdout ?? "")}, stderr ${JSON.stringify((x.stderr ?? "").slice(-800))}`);
  }
}

/** The SQLite ledger file of a node's domain (`<workingdir>/<domain hex>/*.sqlite`, both implementations). */
export function ledgerFile(n: MixedNode, domain: string): string {
  const dir = join(n.dir, hex(sha(domain)));
  const f = readdirSync(dir).find((x) => x.endsWith(".sqlite"));
  if (f === undefined) throw new Error(`no .sqlite file in ${dir}`);
  return join(dir, f);
}
