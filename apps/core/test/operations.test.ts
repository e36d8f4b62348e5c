/**
 * What an operator sees, over real processes: a corrupted node_key.pem is a warning naming the
 * file and the old file is kept aside; SIGHUP reopens the log file after logrotate moved it; and
 * `npm start` shows the node's own output, the build's only when the build fails.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeyPair } from "@bbc1/bbclib";
import { BBcAppClient } from "@bbc1/client";
import { coreEntry, ensureBuilt, freePort, repoDir, run, startNode } from "./helpers.js";

let root: string;
beforeAll(async () => {
  await ensureBuilt();
  root = mkdtempSync(join(tmpdir(), "bbc1-ops-"));
}, 120_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));

const jsonLines = (text: string) =>
  text
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as { level: number; msg: string; [k: string]: unknown });

async function until(what: string, cond: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("operator-facing messages", () => {
  it("a corrupted node_key.pem: a warning naming the file, the old file kept aside, a new key in use", async () => {
    const cwd = join(root, "corrupt-key");
    mkdirSync(join(cwd, ".bbc1"), { recursive: true });
    const garbage = "-----BEGIN EC PRIVATE KEY-----\nbm90IGEga2V5\n-----END EC PRIVATE KEY-----\n";
    writeFileSync(join(cwd, ".bbc1", "node_key.pem"), garbage);
    const node = await startNode(cwd);
    try {
      const warn = jsonLines(node.stderr()).find((l) => l.msg.startsWith("node key file is unreadable"));
      expect(warn, node.stderr()).toBeDefined();
      expect(warn!.level).toBe(40); // warn, not info
      expect(warn!.path).toBe(join(".bbc1", "node_key.pem"));
      const keptAs = String(warn!.keptAs);
      expect(keptAs).toMatch(/node_key\.pem\.corrupt-\d{4}-/);
      expect(readFileSync(join(cwd, keptAs), "utf8")).toBe(garbage);
      expect(warn!.reason).toBeTruthy();
      // the new key is a key, and admin commands signed with it are served
      const pem = readFileSync(join(cwd, ".bbc1", "node_key.pem"), "utf8");
      expect(() => new KeyPair().fromPrivateKeyPem(pem)).not.toThrow();
      const c = await BBcAppClient.connect({ port: node.port, nodeKey: pem, requestTimeoutMs: 10_000 });
      expect((await c.getDomainList()).length).toBeGreaterThanOrEqual(0);
      await c.close();
    } finally {
      expect(await node.stop()).toBe(0);
    }
    // a second start finds a good key: no warning, nothing moved again
    const again = await startNode(cwd);
    try {
      expect(again.stderr()).not.toContain("node key file is unreadable");
    } finally {
      await again.stop();
    }
  }, 60_000);

  it("SIGHUP reopens the log file (logrotate moved it away)", async () => {
    const cwd = join(root, "sighup");
    mkdirSync(cwd, { recursive: true });
    const log = join(cwd, "core.log");
    const port = await freePort();
    const child = spawn(process.execPath, [coreEntry, "--coreport", String(port), "--p2pport", "0", "--http_port", "0", "--no_nodekey", "-v", "info", "--log", log], { cwd, stdio: ["ignore", "pipe", "pipe"] });
    const exit = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
    const read = (f: string) => (existsSync(f) ? readFileSync(f, "utf8") : "");
    await until("the ready line in the log file", () => read(log).includes("bbc1-core ready"));
    renameSync(log, `${log}.1`);
    // a line logged before SIGHUP still goes to the renamed file (the descriptor is the same)
    const c = await BBcAppClient.connect({ port, requestTimeoutMs: 10_000 });
    await c.getDomainList();
    await until("the admin line in the moved file", () => read(`${log}.1`).includes("admin command served"));
    expect(existsSync(log)).toBe(false);
    child.kill("SIGHUP");
    await until("a new log file with the reopen line", () => read(log).includes("SIGHUP: log file reopened"));
    await c.getDomainList();
    await until("the next admin line in the new file", () => read(log).includes("admin command served"));
    await c.close();
    child.kill("SIGTERM");
    expect(await exit).toBe(0);
    const rotated = read(`${log}.1`);
    const fresh = read(log);
    expect(rotated).toContain("bbc1-core ready");
    expect(rotated).not.toContain("SIGHUP: log file reopened");
    expect(fresh).not.toContain("bbc1-core ready");
    expect(fresh).toContain("bbc1 core closed");
    for (const l of jsonLines(fresh)) expect(l.name).toBe("bbc1-core");
  }, 60_000);
});

describe("npm start", () => {
  it("shows the node's output, not the build's", async () => {
    const port = await freePort();
    const wd = join(root, "npm-start-wd");
    // scripts/start.mjs is what `npm start` runs; flags after it go to bbc1-core
    const child = spawn(process.execPath, [join(repoDir, "scripts", "start.mjs"), "--coreport", String(port), "--p2pport", "0", "--http_port", "0", "--no_nodekey", "-w", wd, "-v", "info"], { cwd: repoDir, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
    const exit = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
    await until("bbc1-core ready", () => out.includes("bbc1-core ready") || child.exitCode !== null, 170_000);
    child.kill("SIGTERM");
    expect(await exit).toBe(0);
    const lines = out.trimEnd().split("\n");
    // one line for the build (and one for npm ci when node_modules was stale), then the node's JSON lines
    const first = lines.findIndex((l) => l.startsWith("{"));
    const before = lines.slice(0, first);
    expect(before.at(-1)).toMatch(/^bbc1-ts: built in \d+\.\d s; starting bbc1-core \(Ctrl-C stops it\)$/);
    expect(before.length).toBeLessThanOrEqual(2);
    for (const l of lines.slice(first)) expect(JSON.parse(l).name, l).toBe("bbc1-core");
    expect(out).not.toMatch(/Tasks:|cache hit|turbo|tsc -p/);
    expect(out).toContain("bbc1 core closed");
  }, 180_000);

  it("a failing build step shows its output and says which step failed", async () => {
    const step = join(repoDir, "scripts", "quiet-step.mjs");
    const failing = await run("node", ["--input-type=module", "-e", `import { runQuietly } from ${JSON.stringify(step)}; runQuietly("the build (turbo run build)", process.execPath, ["-e", "console.log('src/x.ts(1,1): error TS2304'); console.error('tsc failed'); process.exit(3)"], process.cwd()); console.log("not reached");`], { cwd: root });
    expect(failing.code).toBe(3);
    expect(failing.out).toBe("");
    expect(failing.err).toBe("src/x.ts(1,1): error TS2304\ntsc failed\nstart: the build (turbo run build) failed (exit code 3); its output is above\n");
    const passing = await run("node", ["--input-type=module", "-e", `import { runQuietly } from ${JSON.stringify(step)}; runQuietly("the build", process.execPath, ["-e", "console.log('lots of build output')"], process.cwd()); console.log("next");`], { cwd: root });
    expect(passing).toEqual({ code: 0, out: "next\n", err: "" });
  });
});
