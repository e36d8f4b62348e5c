/**
 * Spawns the real bbc1-core executable (apps/core/dist/bbc1-core.js, built by `turbo run build`
 * before `vitest run` in CI; bundled here with esbuild when dist/ is missing) and talks to it
 * with @bbc1/client.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeyPair, addEventAsset, getNewId, makeTransaction } from "@bbc1/bbclib";
import { BBcAppClient } from "@bbc1/client";

const appDir = resolve(import.meta.dirname, "..");
let entry = join(appDir, "dist", "bbc1-core.js");

let cli = join(appDir, "dist", "bbc1.js");

async function ensureEntry(): Promise<void> {
  if (existsSync(entry) && existsSync(cli)) return;
  cli = join(appDir, "node_modules", ".cache", "bbc1-core-test", "bbc1.mjs");
  const { build } = await import("esbuild");
  entry = join(appDir, "node_modules", ".cache", "bbc1-core-test", "bbc1-core.mjs");
  await build({
    entryPoints: { "bbc1-core": join(appDir, "src", "bbc1-core.ts"), bbc1: join(appDir, "src", "bbc1.ts") },
    outdir: dirname(entry),
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
        // our packages from their TypeScript sources ("@bbc1/source" export), others external
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

interface Proc {
  child: ChildProcess;
  port: number;
  stderr: () => string;
  exit: Promise<number | null>;
}

async function run(args: string[], cwd: string): Promise<Proc> {
  const port = await freePort();
  // an ephemeral P2P port unless the test names one: a node left behind elsewhere (or another
  // suite) on the default 6641 must not make these tests fail
  const p2p = args.includes("--p2pport") ? [] : ["--p2pport", "0"];
  const child = spawn(process.execPath, [entry, "--coreport", String(port), "--http_port", "0", "-v", "info", ...p2p, ...args], { cwd, stdio: ["ignore", "pipe", "pipe"] });
  let err = "";
  child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  const exit = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  const deadline = Date.now() + 20_000;
  while (!err.includes("bbc1-core ready")) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`bbc1-core did not start:\n${err}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { child, port, stderr: () => err, exit };
}

function tx(key: KeyPair, user: Uint8Array, ag: Uint8Array) {
  const t = makeTransaction({ eventNum: 1, witness: true });
  addEventAsset(t, 0, ag, user, { assetBody: "app test " + Math.random() });
  t.witness!.addWitness(user);
  t.addSignature(user, t.sign(key));
  return t;
}

describe("bbc1-core executable", () => {
  let cwd: string;
  beforeAll(async () => {
    await ensureEntry();
    cwd = mkdtempSync(join(tmpdir(), "bbc1-app-"));
  }, 120_000);
  afterAll(() => rmSync(cwd, { recursive: true, force: true }));

  it("prints usage with --help and rejects unknown flags", async () => {
    const help = spawn(process.execPath, [entry, "--help"], { cwd });
    let out = "";
    help.stdout.on("data", (d: Buffer) => (out += d.toString()));
    expect(await new Promise((r) => help.on("exit", r))).toBe(0);
    expect(out).toContain("--coreport");
    const bad = spawn(process.execPath, [entry, "--nonsense"], { cwd, stdio: "ignore" });
    expect(await new Promise((r) => bad.on("exit", r))).toBe(2);
  });

  it("starts with defaults in .bbc1 (node key created), serves clients, stops cleanly on SIGTERM and keeps data", async () => {
    const p = await run([], cwd);
    expect(existsSync(join(cwd, ".bbc1", "node_key.pem"))).toBe(true);
    expect(existsSync(join(cwd, ".bbc1", "config.json"))).toBe(true);
    const domainId = getNewId("app domain " + Math.random());
    const user = getNewId("app user");
    const key = KeyPair.generate();
    const c = await BBcAppClient.connect({ port: p.port, domainId, userId: user, requestTimeoutMs: 10_000 });
    await c.loadNodeKey(join(cwd, ".bbc1", "node_key.pem"));
    await c.domainSetup(domainId);
    await c.register();
    const ids: Uint8Array[] = [];
    for (let i = 0; i < 5; i++) ids.push((await c.insertTransaction(tx(key, user, getNewId("ag")))).transactionId);
    const found = await c.searchTransaction(ids[2]!);
    expect(found.transactionData).toBeDefined();
    await c.close();
    p.child.kill("SIGTERM");
    expect(await p.exit).toBe(0);
    expect(p.stderr()).toContain("bbc1 core closed");
    const conf = JSON.parse(readFileSync(join(cwd, ".bbc1", "config.json"), "utf8"));
    expect(conf.domains[Buffer.from(domainId).toString("hex")]).toBeDefined();

    const p2 = await run([], cwd);
    const c2 = await BBcAppClient.connect({ port: p2.port, domainId, userId: user, requestTimeoutMs: 10_000 });
    await c2.register();
    expect(await c2.countTransactions({ userId: user })).toBe(5);
    await c2.close();
    p2.child.kill("SIGINT");
    expect(await p2.exit).toBe(0);
  });

  it("--daemon reports the pid once the node serves, --kill stops it; a daemon that cannot start is an error", async () => {
    const exec = (args: string[]) =>
      new Promise<{ code: number | null; out: string; err: string }>((res) => {
        const c = spawn(process.execPath, [entry, ...args], { cwd, stdio: ["ignore", "pipe", "pipe"] });
        let out = "";
        let err = "";
        c.stdout!.on("data", (d: Buffer) => (out += d.toString()));
        c.stderr!.on("data", (d: Buffer) => (err += d.toString()));
        c.on("exit", (code) => res({ code, out, err }));
      });
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    const wd = join(cwd, "daemon");
    const port = await freePort();
    const started = await exec(["--daemon", "--no_nodekey", "-w", wd, "--coreport", String(port), "--http_port", "0", "--p2pport", "0"]);
    expect(started.code, started.err).toBe(0);
    const pid = Number(/daemon pid (\d+)/.exec(started.out)?.[1]);
    expect(pid).toBeGreaterThan(0);
    expect(Number(readFileSync("/tmp/bbc1.pid", "utf8"))).toBe(pid);
    const c = await BBcAppClient.connect({ port, requestTimeoutMs: 10_000 });
    expect((await c.getBbcConfig()).config).toBeDefined();
    await c.close();

    // a second daemon on the same port cannot listen: the launcher says so and fails
    const clash = await exec(["--daemon", "--no_nodekey", "-w", join(cwd, "daemon2"), "--coreport", String(port), "--http_port", "0", "--p2pport", "0"]);
    expect(clash.code).toBe(1);
    expect(clash.err).toMatch(/could not start|exited during start/);

    const killed = await exec(["--kill"]);
    expect(killed.code).toBe(0);
    for (let i = 0; i < 100 && alive(pid); i++) await new Promise((r) => setTimeout(r, 100));
    expect(alive(pid)).toBe(false);
    expect(existsSync("/tmp/bbc1.pid")).toBe(false);
  });

  it("--daemon without --log says where its output goes, and the node logs there", async () => {
    const wd = join(cwd, "daemon-nolog");
    const port = await freePort();
    const r = await new Promise<{ code: number | null; out: string; err: string }>((res) => {
      const c = spawn(process.execPath, [entry, "--daemon", "--no_nodekey", "-w", wd, "--coreport", String(port), "--http_port", "0", "--p2pport", "0", "-v", "info"], { cwd, stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      let err = "";
      c.stdout!.on("data", (d: Buffer) => (out += d.toString()));
      c.stderr!.on("data", (d: Buffer) => (err += d.toString()));
      c.on("exit", (code) => res({ code, out, err }));
    });
    expect(r.code, r.err).toBe(0);
    const logFile = join(wd, "bbc1-core.log");
    expect(r.out).toContain(`log: ${logFile} (no --log given)`);
    expect(r.out).toMatch(/, http http:\/\/127\.0\.0\.1:\d+/);
    const pid = Number(/daemon pid (\d+)/.exec(r.out)?.[1]);
    try {
      const deadline = Date.now() + 10_000;
      while (!(existsSync(logFile) && readFileSync(logFile, "utf8").includes("bbc1-core ready")) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
      expect(readFileSync(logFile, "utf8")).toContain("bbc1-core ready");
    } finally {
      process.kill(pid, "SIGTERM");
      rmSync("/tmp/bbc1.pid", { force: true });
    }
    for (let i = 0; i < 100; i++) {
      try {
        process.kill(pid, 0);
      } catch {
        break;
      }
      await new Promise((res) => setTimeout(res, 100));
    }
    expect(readFileSync(logFile, "utf8")).toContain("bbc1 core closed");
  });

  it("--no_nodekey accepts unsigned admin commands; -w and --p2pport are honoured", async () => {
    const wd = join(cwd, "other-wd");
    const p = await run(["--no_nodekey", "-w", wd, "--p2pport", "7777"], cwd);
    const c = await BBcAppClient.connect({ port: p.port, requestTimeoutMs: 10_000 });
    const conf = (await c.getBbcConfig()).config as { network: { p2p_port: number }; client: { use_node_key: boolean }; workingdir: string };
    expect(conf.network.p2p_port).toBe(7777);
    expect(conf.client.use_node_key).toBe(false);
    expect(conf.workingdir).toBe(wd);
    expect(existsSync(join(wd, "node_key.pem"))).toBe(false);
    await c.close();
    p.child.kill("SIGTERM");
    expect(await p.exit).toBe(0);
  });

  it("verifies transactions with many signatures (worker threads in the built node)", async () => {
    const wd = join(cwd, "many-sigs");
    const p = await run(["--no_nodekey", "-w", wd], cwd);
    const domainId = getNewId("sig domain");
    const user = getNewId("sig user");
    const c = await BBcAppClient.connect({ port: p.port, domainId, userId: user, requestTimeoutMs: 10_000 });
    await c.domainSetup(domainId);
    await c.register();
    const build = (tamper: boolean) => {
      const t = makeTransaction({ eventNum: 1, witness: true });
      addEventAsset(t, 0, getNewId("ms"), user, { assetBody: "many " + Math.random() });
      const signers = Array.from({ length: 12 }, (_, i) => ({ id: getNewId("signer " + i + Math.random()), key: KeyPair.generate() }));
      for (const s of signers) t.witness!.addWitness(s.id);
      for (const s of signers) t.addSignature(s.id, t.sign(s.key));
      if (tamper) t.signatures[7]!.signature![5]! ^= 1;
      return t;
    };
    const ok = await c.insertTransaction(build(false));
    expect(ok.transactionId.length).toBe(32);
    await expect(c.insertTransaction(build(true))).rejects.toMatchObject({ code: "ERROR_STATUS" });
    await c.close();
    p.child.kill("SIGTERM");
    expect(await p.exit).toBe(0);
  });

  it("the bbc1 admin CLI talks to the node with its node key", async () => {
    const wd = join(cwd, "cli");
    const p = await run(["-w", wd], cwd);
    const exec = promisify(execFile);
    const bbc1 = (...a: string[]) => exec(process.execPath, [cli, "-p", String(p.port), "-k", join(wd, "node_key.pem"), ...a], { cwd });
    const d = (await exec(process.execPath, [cli, "id-create", "-s", "cli domain"])).stdout.trim();
    expect(d).toMatch(/^[0-9a-f]{64}$/);
    expect((await bbc1("domain-setup", d)).stdout.trim()).toBe("success");
    expect((await bbc1("domain-setup", d)).stdout.trim()).toBe("Already exists");
    expect((await bbc1("domains")).stdout.trim()).toBe(d);
    expect((await bbc1("node-id", d)).stdout.trim()).toMatch(/^[0-9a-f]{64}$/);
    const stat = JSON.parse((await bbc1("stat", "--json")).stdout);
    expect(stat.network.num_domains).toBe(1);
    const neighbors = JSON.parse((await bbc1("neighbors", d, "--json")).stdout);
    expect(neighbors.neighbors.length).toBe(1);
    expect((await bbc1("domain-close", d)).stdout.trim()).toBe("success");
    p.child.kill("SIGTERM");
    expect(await p.exit).toBe(0);
  });

  it("SIGKILL at random moments: every insert acknowledged to a client is there after a restart", async () => {
    const trials = Number(process.env.BBC1_NODE_CRASH_TRIALS ?? 6);
    const wd = join(cwd, "sigkill");
    const domainId = getNewId("sigkill domain");
    const key = KeyPair.generate();
    const acked: Uint8Array[] = [];
    let killedDuringWrites = 0;
    for (let t = 0; t < trials; t++) {
      const p = await run(["--no_nodekey", "-w", wd], cwd);
      const clients = await Promise.all(
        Array.from({ length: 4 }, async (_, i) => {
          const c = await BBcAppClient.connect({ port: p.port, domainId, userId: getNewId(`sigkill user ${i}`), requestTimeoutMs: 10_000 });
          if (t === 0 && i === 0) await c.domainSetup(domainId);
          return c;
        }),
      );
      for (const c of clients) await c.register();
      let inFlight = 0;
      let stop = false;
      const writers = clients.map(async (c, i) => {
        const user = getNewId(`sigkill user ${i}`);
        while (!stop) {
          const one = tx(key, user, getNewId("sigkill group"));
          inFlight++;
          try {
            const r = await c.insertTransaction(one);
            acked.push(r.transactionId);
          } catch {
            return; // the node died under this request: not acknowledged, nothing is promised
          } finally {
            inFlight--;
          }
        }
      });
      await new Promise((r) => setTimeout(r, 100 + Math.floor(Math.random() * 400)));
      if (inFlight > 0) killedDuringWrites++;
      p.child.kill("SIGKILL");
      expect(await p.exit).toBe(null);
      stop = true;
      await Promise.all(writers);
      for (const c of clients) await c.close().catch(() => undefined);
    }
    // one more start: every acknowledged transaction must be found and intact
    const p = await run(["--no_nodekey", "-w", wd], cwd);
    const c = await BBcAppClient.connect({ port: p.port, domainId, userId: getNewId("sigkill checker"), requestTimeoutMs: 10_000 });
    await c.register();
    let found = 0;
    for (const id of acked) {
      const r = await c.searchTransaction(id);
      expect(r.transaction?.transactionId).toEqual(id);
      found++;
    }
    expect(found).toBe(acked.length);
    console.log(`node crash test: ${trials} SIGKILLs, ${acked.length} acknowledged transactions found intact, ${killedDuringWrites} kills during writes`);
    expect(acked.length).toBeGreaterThan(trials * 10);
    expect(killedDuringWrites).toBeGreaterThan(0);
    await c.close();
    p.child.kill("SIGTERM");
    expect(await p.exit).toBe(0);
  }, 120_000);

  it("SIGINT during a burst of inserts: every acknowledged insert is on disk", async () => {
    const wd = join(cwd, "burst");
    const p = await run(["--no_nodekey", "-w", wd], cwd);
    const domainId = getNewId("burst domain");
    const user = getNewId("burst user");
    const key = KeyPair.generate();
    const c = await BBcAppClient.connect({ port: p.port, domainId, userId: user, requestTimeoutMs: 10_000 });
    await c.domainSetup(domainId);
    await c.register();
    let acked = 0;
    const pending: Promise<unknown>[] = [];
    for (let i = 0; i < 200; i++) {
      pending.push(
        c.insertTransaction(tx(key, user, getNewId("b"))).then(
          () => acked++,
          () => undefined,
        ),
      );
      if (i === 100) p.child.kill("SIGINT");
    }
    await Promise.all(pending);
    expect(await p.exit).toBe(0);
    await c.close().catch(() => undefined);
    const p2 = await run(["--no_nodekey", "-w", wd], cwd);
    const c2 = await BBcAppClient.connect({ port: p2.port, domainId, userId: user, requestTimeoutMs: 10_000 });
    await c2.register();
    const n = await c2.countTransactions({ userId: user });
    expect(n).toBeGreaterThanOrEqual(acked);
    expect(acked).toBeGreaterThan(0);
    await c2.close();
    p2.child.kill("SIGTERM");
    expect(await p2.exit).toBe(0);
  });
});
