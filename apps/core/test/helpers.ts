/**
 * Shared by the apps/core tests: the built executables (dist/, built by `turbo run build` before
 * `vitest run`; bundled from sources with esbuild when dist/ is missing), real node processes on
 * ephemeral ports, and the bbc1 CLI run as a process.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync, realpathSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join, resolve } from "node:path";

export const appDir = resolve(import.meta.dirname, "..");
export const repoDir = resolve(appDir, "..", "..");
export let coreEntry = join(appDir, "dist", "bbc1-core.js");
export let cliEntry = join(appDir, "dist", "bbc1.js");

export async function ensureBuilt(): Promise<void> {
  if (existsSync(coreEntry) && existsSync(cliEntry)) return;
  const out = join(appDir, "node_modules", ".cache", "bbc1-app-test");
  const { build } = await import("esbuild");
  await build({
    entryPoints: { "bbc1-core": join(appDir, "src", "bbc1-core.ts"), bbc1: join(appDir, "src", "bbc1.ts") },
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
            const pj = realpathSync(join(repoDir, "node_modules", args.path, "package.json"));
            const src = (JSON.parse(readFileSync(pj, "utf8")) as { exports: Record<string, Record<string, string>> }).exports["."]!["@bbc1/source"]!;
            return { path: join(dirname(pj), src) };
          });
        },
      },
    ],
  });
  coreEntry = join(out, "bbc1-core.mjs");
  cliEntry = join(out, "bbc1.mjs");
}

export function freePort(): Promise<number> {
  return new Promise((res) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => res(p));
    });
  });
}

export interface NodeProc {
  child: ChildProcess;
  port: number;
  /** The P2P port the node bound (from its "bbc1-core ready" log line). */
  p2pPort: number;
  /** URL of the HTTP endpoint (metrics, explorer) from the ready line; "" when it is off. */
  http: string;
  stderr: () => string;
  exit: Promise<number | null>;
  stop(): Promise<number | null>;
}

/**
 * Starts bbc1-core in `cwd` on an ephemeral port and waits until it serves. The node binds port 0
 * itself and the test reads the port from its ready line: a port picked here and bound later can be
 * taken in between by another test file running in parallel.
 */
export async function startNode(cwd: string, args: string[] = []): Promise<NodeProc> {
  const fixedPort = args.includes("--coreport") || args.includes("-cp");
  // the HTTP endpoint on an ephemeral port (its default 9180 would clash between tests)
  const child = spawn(process.execPath, [coreEntry, ...(fixedPort ? [] : ["--coreport", "0"]), "--p2pport", "0", "--p2pbind", "127.0.0.1", "--http_port", "0", "-v", "info", ...args], { cwd, stdio: ["ignore", "pipe", "pipe"] });
  let err = "";
  child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  child.stdout!.on("data", (d: Buffer) => (err += d.toString()));
  const exit = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  // "close" comes after both pipes are drained: what the child wrote before dying is all in `err`
  const closed = new Promise<void>((r) => child.on("close", () => r()));
  const deadline = Date.now() + 30_000;
  while (!err.includes("bbc1-core ready")) {
    if (child.exitCode !== null || child.signalCode !== null) {
      await Promise.race([closed, new Promise((r) => setTimeout(r, 2000))]);
      if (err.includes("bbc1-core ready")) break;
      throw new Error(`bbc1-core did not start (exit code ${child.exitCode}, signal ${child.signalCode}):\n${err}`);
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`bbc1-core did not start within 30 s:\n${err}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const readyLine = err.split("\n").find((l) => l.includes("bbc1-core ready")) ?? "";
  const port = Number(/"port":(\d+)/.exec(readyLine)?.[1] ?? NaN);
  if (!Number.isInteger(port) || port <= 0) throw new Error(`no port in the ready line: ${readyLine}`);
  const p2p = /"p2p_port":(\d+)/.exec(err.slice(Math.max(0, err.indexOf("bbc1-core ready") - 400)));
  return {
    child,
    port,
    p2pPort: p2p !== null ? Number(p2p[1]) : 0,
    http: /"http":"([^"]+)"/.exec(readyLine)?.[1] ?? "",
    stderr: () => err,
    exit,
    stop: () => {
      child.kill("SIGTERM");
      return exit;
    },
  };
}

export interface Ran {
  code: number | null;
  out: string;
  err: string;
}

/** Runs a program to its end. */
export function run(file: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv; input?: string }): Promise<Ran> {
  return new Promise((res) => {
    const c = spawn(file === "node" ? process.execPath : file, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    let err = "";
    c.stdout.on("data", (d: Buffer) => (out += d.toString()));
    c.stderr.on("data", (d: Buffer) => (err += d.toString()));
    c.on("exit", (code) => res({ code, out, err }));
    c.stdin.end(options.input ?? "");
  });
}

/** Runs the bbc1 CLI. */
export function bbc1(cwd: string, ...args: string[]): Promise<Ran> {
  return run("node", [cliEntry, ...args], { cwd });
}
