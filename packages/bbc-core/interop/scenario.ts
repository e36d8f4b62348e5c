/**
 * Helpers shared by the manual mixed checks of v1.1.1's multi-core scenarios (anycast,
 * notifications with cancellation and disconnection, asset files): a met pair of nodes, counts
 * of the reference's message trace, the original client as a long-running process with signals.
 * The `pyadmin` subcommands these use are listed in mixed.ts.
 */
import { spawn } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { REF, establishedKeys, fullMesh, ours, ref, sleep, until, type OursNode, type RefNode } from "./mixed.js";

/** One v1.1.1 node and one of ours in `domain`, met by ping, keys established (ours `network.encryption`, "all" unless given). */
export async function pair(domain: string, encryption: "all" | "udp" = "all"): Promise<{ r: RefNode; o: OursNode }> {
  const r = await ref("r", domain);
  const o = await ours("o", domain, { config: { network: { encryption } } });
  await o.ping(r.p2pPort);
  await fullMesh([o, r]);
  await until("ours to hold a key with v1.1.1", async () => ((await establishedKeys(o)) >= 1 ? true : undefined), 30_000);
  return { r, o };
}

/** Categories and infra commands of the reference's trace (p2p-protocol.md §8.5, §9.4). */
export const USER = 2;
export const DATA = 3;
export const JOIN = 3;
export const LEAVE = 4;
export const NOTIFY_INSERTED = 4;

/** How many P2P messages of `category`/`infraCommand` the reference traced in direction `dir`. */
export function traced(r: RefNode, dir: "in" | "out", category: number, infraCommand: number): number {
  return r.trace().filter((l) => l.dir === dir && l.category === category && l.infra_command === infraCommand).length;
}

/** A long-running original client whose lines are collected; `signal` drives notify-ctl. */
export interface PyProc {
  lines: string[];
  /** Lines starting with `prefix` so far. */
  all(prefix: string): string[];
  /** Waits until at least `n` lines start with `prefix`. */
  count(prefix: string, n: number, timeoutMs?: number): Promise<string[]>;
  signal(sig: NodeJS.Signals): void;
  kill(): void;
  exited(): Promise<number | null>;
}

export function pyProc(port: number, domain: string, args: string[]): PyProc {
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
  const exit = new Promise<number | null>((res) => p.on("exit", (code) => res(code)));
  const all = (prefix: string) => lines.filter((l) => l.startsWith(prefix));
  return {
    lines,
    all,
    count: (prefix, n, timeoutMs = 20_000) =>
      until(`pyadmin ${args.slice(0, 3).join(" ")} to print ${n} × "${prefix}"`, () => {
        const l = all(prefix);
        if (l.length >= n) return l;
        if (p.exitCode !== null) throw new Error(`pyadmin ${args.join(" ")} exited ${p.exitCode}: ${lines.join(" | ")} ${err.slice(-1500)}`);
        return undefined;
      }, timeoutMs, 100),
    signal: (sig) => p.kill(sig),
    kill: () => p.kill(),
    exited: () => exit,
  };
}

/** Waits `ms` and returns (a quiet period in which nothing more may arrive). */
export const quiet = (ms: number): Promise<void> => sleep(ms);

/** The path of the file named `name` anywhere under `dir` (asset files: `<storage>/<group hex>/<asset_id hex>`). */
export function findFile(dir: string, name: string): string | undefined {
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    const s = statSync(p);
    if (s.isDirectory()) {
      const f = findFile(p, name);
      if (f !== undefined) return f;
    } else if (e === name) return p;
  }
  return undefined;
}
