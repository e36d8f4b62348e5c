/**
 * Harness of the hostile-client suite: a real `bbc1-core` process (apps/core/dist, or a bundle of
 * the sources made with esbuild when dist/ is missing; `BBC1_CORE_ENTRY` points at another build,
 * e.g. one of an older commit), a legitimate client (@bbc1/client) whose answers are timed, raw
 * attacker sockets, and the node's memory read from /proc/<pid>/status.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { connect, createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { KeyPair, addEventAsset, bytesEqual, getNewId, makeTransaction, toHex, type BBcTransaction } from "@bbc1/bbclib";
import { BBcAppClient } from "@bbc1/client";
import { encodeMessage, MessageParser, type WireMessage } from "@bbc1/wire";

const appDir = resolve(import.meta.dirname, "..", "..");
let entry = process.env.BBC1_CORE_ENTRY ?? join(appDir, "dist", "bbc1-core.js");

/** Makes sure an executable entry exists (bundles the sources when dist/ was not built). */
export async function ensureEntry(): Promise<string> {
  if (existsSync(entry)) return entry;
  if (process.env.BBC1_CORE_ENTRY !== undefined) throw new Error(`BBC1_CORE_ENTRY ${entry} does not exist`);
  const { build } = await import("esbuild");
  entry = join(appDir, "node_modules", ".cache", "bbc1-hostile", "bbc1-core.mjs");
  await build({
    entryPoints: [join(appDir, "src", "bbc1-core.ts")],
    outfile: entry,
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
            const pj = realpathSync(join(appDir, "..", "..", "node_modules", args.path, "package.json"));
            const src = (JSON.parse(readFileSync(pj, "utf8")) as { exports: Record<string, Record<string, string>> }).exports["."]!["@bbc1/source"]!;
            return { path: join(dirname(pj), src) };
          });
        },
      },
    ],
  });
  return entry;
}

function freePort(): Promise<number> {
  return new Promise((res) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => res(p));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export { sleep };

/** A running bbc1-core process. */
export interface Core {
  child: ChildProcess;
  pid: number;
  port: number;
  dir: string;
  nodeKeyPath: string;
  stderr(): string;
  /** VmRSS in MiB. */
  rss(): number;
  /** VmHWM (peak RSS since start or the last {@link resetPeak}) in MiB. */
  peak(): number;
  /** Resets VmHWM to the current RSS (/proc/<pid>/clear_refs). */
  resetPeak(): void;
  /** True while the process runs. */
  alive(): boolean;
  /** SIGTERM, then SIGKILL after 5 s; removes the working directory unless kept. */
  stop(options?: { keepDir?: boolean }): Promise<void>;
}

function statusKiB(pid: number, field: "VmRSS" | "VmHWM"): number {
  const m = readFileSync(`/proc/${pid}/status`, "utf8").match(new RegExp(`${field}:\\s+(\\d+)`));
  return m ? Number(m[1]) : 0;
}

/** Starts bbc1-core with `config` written to config.json (e.g. a `limits` section) and the node key on. */
export async function startCore(options: { config?: object; dir?: string; args?: string[] } = {}): Promise<Core> {
  const exe = await ensureEntry();
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), "bbc1-hostile-"));
  if (options.config !== undefined) writeFileSync(join(dir, "config.json"), JSON.stringify(options.config));
  const port = await freePort();
  // the HTTP endpoint on an ephemeral port (a build given by BBC1_CORE_ENTRY may predate the flag)
  const httpArgs = process.env.BBC1_CORE_ENTRY === undefined ? ["--http_port", "0"] : [];
  const child = spawn(process.execPath, [exe, "--coreport", String(port), "--p2pport", "0", "--p2pbind", "127.0.0.1", ...httpArgs, "--workingdir", dir, "-v", "info", ...(options.args ?? [])], {
    cwd: dir,
    stdio: ["ignore", "ignore", "pipe"],
  });
  let err = "";
  child.stderr!.on("data", (d: Buffer) => {
    err += d.toString();
    if (err.length > 4_000_000) err = err.slice(-2_000_000);
  });
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const deadline = Date.now() + 30_000;
  while (!err.includes("bbc1-core ready")) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`bbc1-core did not start:\n${err}`);
    await sleep(50);
  }
  const pid = child.pid!;
  return {
    child,
    pid,
    port,
    dir,
    nodeKeyPath: join(dir, "node_key.pem"),
    stderr: () => err,
    rss: () => statusKiB(pid, "VmRSS") / 1024,
    peak: () => statusKiB(pid, "VmHWM") / 1024,
    resetPeak: () => writeFileSync(`/proc/${pid}/clear_refs`, "5"),
    alive: () => child.exitCode === null && child.signalCode === null,
    async stop(o = {}) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const t = setTimeout(() => child.kill("SIGKILL"), 5000);
        await exited;
        clearTimeout(t);
      }
      if (!o.keepDir && options.dir === undefined) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A transaction stored by the legitimate user, with its asset file if any. */
export interface StoredTx {
  id: Uint8Array;
  data: Uint8Array;
  assetId: Uint8Array;
  file: Uint8Array | null;
}

/**
 * The legitimate user: registered in its domain, with the node key for admin calls. Every
 * call it makes is expected to answer within `deadlineMs`.
 */
export class Legit {
  readonly client: BBcAppClient;
  readonly key = KeyPair.generate();
  readonly user: Uint8Array;
  readonly domainId: Uint8Array;
  readonly assetGroupId: Uint8Array;
  readonly stored: StoredTx[] = [];
  deadlineMs: number;

  private constructor(client: BBcAppClient, domainId: Uint8Array, user: Uint8Array, assetGroupId: Uint8Array, deadlineMs: number) {
    this.client = client;
    this.domainId = domainId;
    this.user = user;
    this.assetGroupId = assetGroupId;
    this.deadlineMs = deadlineMs;
  }

  /** Connects, sets up `domainId` if needed, registers. */
  static async connect(core: Core, domainId: Uint8Array, options: { deadlineMs?: number; assetGroupId?: Uint8Array } = {}): Promise<Legit> {
    const user = getNewId("legit user " + Math.random());
    const deadlineMs = options.deadlineMs ?? 8000;
    const client = await BBcAppClient.connect({ port: core.port, domainId, userId: user, requestTimeoutMs: deadlineMs });
    await client.loadNodeKey(core.nodeKeyPath);
    await client.domainSetup(domainId);
    await client.register();
    return new Legit(client, domainId, user, options.assetGroupId ?? getNewId("legit group " + Math.random()), deadlineMs);
  }

  /** A signed one-event transaction of this user (with `file` as its asset file when given). */
  makeTx(file?: Uint8Array, assetGroupId = this.assetGroupId): BBcTransaction {
    const tx = makeTransaction({ eventNum: 1, witness: true });
    addEventAsset(tx, 0, assetGroupId, this.user, { assetBody: "legit " + Math.random(), assetFile: file });
    tx.witness!.addWitness(this.user);
    tx.addSignature(this.user, tx.sign(this.key));
    tx.digest();
    return tx;
  }

  /** Inserts a transaction (optionally with a file) and remembers it for {@link verifyStored}. */
  async insert(file?: Uint8Array): Promise<StoredTx> {
    const tx = this.makeTx(file);
    const r = await this.client.insertTransaction(tx, { timeoutMs: this.deadlineMs });
    const s: StoredTx = { id: r.transactionId, data: tx.serialize(), assetId: tx.events[0]!.asset!.assetId!, file: file ?? null };
    this.stored.push(s);
    return s;
  }

  /** Insert + search by id, timed. Throws when either is not answered within the deadline. */
  async roundTrip(): Promise<number> {
    const t = performance.now();
    const s = await this.insert();
    const found = await this.client.searchTransaction(s.id, { timeoutMs: this.deadlineMs });
    if (!found.transactionData || !bytesEqual(found.transactionData, s.data)) throw new Error("round trip: search returned other bytes");
    return performance.now() - t;
  }

  /** Every stored transaction (and file) is still served unchanged. */
  async verifyStored(): Promise<void> {
    for (const s of this.stored) {
      const r = await this.client.searchTransaction(s.id, { timeoutMs: this.deadlineMs });
      if (!r.transactionData || !bytesEqual(r.transactionData, s.data)) throw new Error(`stored transaction ${toHex(s.id)} changed`);
      if (s.file !== null) {
        const f = r.assetFiles.get(toHex(s.assetId));
        if (!f || !bytesEqual(f, s.file)) throw new Error(`asset file of ${toHex(s.id)} changed`);
      }
    }
  }

  /** GET_STATS (admin, signed with the node key). */
  stats(): Promise<Record<string, Record<string, number>>> {
    return this.client.getStats({ timeoutMs: this.deadlineMs });
  }

  close(): Promise<void> {
    return this.client.close();
  }
}

/** Outcome of {@link during}. */
export interface During<T> {
  result: T | undefined;
  /** The slowest probe (ms). */
  worstMs: number;
  probes: number;
  /** Why a probe failed (no answer within its deadline), if one did. */
  probeError: unknown;
  /** Why the attack itself failed, if it did. */
  attackError: unknown;
}

/**
 * Runs `probe` repeatedly while `attack` runs, at least `minProbes` times. Failures are returned,
 * not thrown, so that a test can report the node's memory before it asserts; call
 * {@link During.check} style assertions afterwards.
 */
export async function during<T>(attack: Promise<T>, probe: () => Promise<number>, minProbes = 2): Promise<During<T>> {
  let done = false;
  const out: During<T> = { result: undefined, worstMs: 0, probes: 0, probeError: undefined, attackError: undefined };
  const settled = attack.then(
    (r) => {
      out.result = r;
    },
    (e: unknown) => {
      out.attackError = e;
    },
  ).finally(() => (done = true));
  const loop = (async () => {
    while ((!done || out.probes < minProbes) && out.probeError === undefined) {
      try {
        out.worstMs = Math.max(out.worstMs, await probe());
      } catch (e) {
        out.probeError = e;
      }
      out.probes++;
      await sleep(100);
    }
  })();
  await Promise.all([settled, loop]);
  return out;
}

/** Asserts a {@link during} run: every probe answered in time, the attack ran through. */
export function passed(r: During<unknown>): void {
  if (r.probeError !== undefined) throw new Error(`the legitimate client was not answered during the attack: ${String(r.probeError)}`);
  if (r.attackError !== undefined) throw r.attackError;
}

/** Logs and returns the node's peak RSS growth since `base` (MiB), before any assertion can fail. */
export function peakGrowth(core: Core, base: number, label: string): number {
  const growth = core.alive() ? core.peak() - base : Number.NaN;
  console.log(`${label}: peak RSS growth ${core.alive() ? growth.toFixed(0) + " MiB" : "n/a (the node died)"}`);
  return core.alive() ? growth : Number.POSITIVE_INFINITY;
}

/** A raw attacker connection that frames messages as the Python client does (or sends anything). */
export class Raw {
  readonly socket: Socket;
  readonly parser = new MessageParser({ unknownKeys: "drop" });
  readonly received: WireMessage[] = [];
  closed = false;
  readonly closedAt: Promise<void>;
  #q = 0;

  private constructor(socket: Socket, read: boolean) {
    this.socket = socket;
    socket.on("error", () => undefined);
    this.closedAt = new Promise((r) =>
      socket.once("close", () => {
        this.closed = true;
        r();
      }),
    );
    if (read) {
      socket.on("data", (chunk: Buffer) => {
        for (const m of this.parser.feed(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength))) if (m.ok) this.received.push(m.message);
      });
    } else socket.pause();
  }

  /** Connects; with `read: false` the socket never reads (a slow reader). */
  static open(port: number, options: { read?: boolean } = {}): Promise<Raw> {
    return new Promise((res, rej) => {
      const s = connect({ port, host: "127.0.0.1", noDelay: true }, () => res(new Raw(s, options.read ?? true)));
      s.once("error", rej);
    });
  }

  /** Next 2-byte little-endian query_id, as bbc_app does. */
  queryId(): Uint8Array {
    this.#q = (this.#q + 1) & 0xffff;
    return new Uint8Array([this.#q & 0xff, this.#q >>> 8]);
  }

  send(msg: WireMessage): boolean {
    return this.write(encodeMessage(2, msg));
  }

  write(bytes: Uint8Array): boolean {
    if (this.closed || this.socket.destroyed) return false;
    return this.socket.write(bytes);
  }

  /** Resolves when the socket can take more (or closed). */
  drained(): Promise<void> {
    if (this.closed || !this.socket.writableNeedDrain) return Promise.resolve();
    return new Promise((r) => {
      const done = () => {
        this.socket.off("drain", done);
        this.socket.off("close", done);
        r();
      };
      this.socket.once("drain", done);
      this.socket.once("close", done);
    });
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** An 8-byte frame header (payload type, length). */
export function header(payloadType: number, length: number): Uint8Array {
  const h = new Uint8Array(8);
  const dv = new DataView(h.buffer);
  dv.setUint16(0, payloadType);
  dv.setUint32(4, length);
  return h;
}

/** Waits until `pred` holds (polling), or throws after `timeoutMs`. */
export async function until(pred: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** Counter of GET_STATS, 0 when absent. */
export function stat(s: Record<string, Record<string, number>>, category: string, name: string): number {
  return s[category]?.[name] ?? 0;
}

/** Limits of the suite: the defaults, with timeouts and pools small enough for a short test. */
export const SUITE_LIMITS = {
  partial_frames_total_bytes: 64 * 1024 * 1024,
  output_total_bytes: 256 * 1024 * 1024,
  bounce_bytes_total: 16 * 1024 * 1024,
  client: {
    read_timeout_ms: 5000,
    read_timeout_unregistered_ms: 2000,
    idle_timeout_unregistered_ms: 20_000,
    output_bytes_per_connection: 4 * 1024 * 1024,
    output_max_bytes_per_connection: 64 * 1024 * 1024,
    output_stall_ms: 3000,
    max_subscriptions_per_connection: 256,
  },
};

/** A request as bbc_app builds it: base keys (with a query_id when `q` is given), then `fields`. */
export function request(command: number, domainId: Uint8Array | null, userId: Uint8Array | null, fields: WireMessage = {}, q?: Uint8Array): WireMessage {
  const m: WireMessage = { command, domain_id: domainId, source_user_id: userId, status: 0 };
  if (q !== undefined) m.query_id = q;
  return { ...m, ...fields };
}

/** `n` distinct random 32-byte ids. */
export function randomIds(n: number): Uint8Array[] {
  return Array.from({ length: n }, () => getNewId(String(Math.random())));
}

/** Pseudo-random bytes (cheap; not for keys). */
export function blob(n: number, seed = 1): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed * 2654435761;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}
