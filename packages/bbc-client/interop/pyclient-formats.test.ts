/**
 * MANUAL interop check (not in CI): the ORIGINAL BBc-1 v1.1.1 Python client (bbc_app.BBcAppClient
 * + bbclib, unchanged) against OUR node, in BBcFormat 0 (binary), 1 and 3 (BSON, BSON+zlib), 4
 * and 6 (msgpack, msgpack+zlib), once with node key and once with --no_nodekey. The Python side
 * is interop/pyclient_formats.py; it prints PASS/FAIL per step and exits non-zero on a failure.
 *
 *   BBC1_PYREF=/work/pyref npx vitest run -c packages/bbc-client/interop/vitest.config.ts pyclient-formats
 *
 * BBC1_PYREF: a directory with the original `bbc1` package (in vendor/, bbc1/ or itself, with
 * libbbcsig.so) and optionally shim/sitecustomize.py (put on PYTHONPATH first). Without it the
 * suite is skipped. BBC1_PYTHON picks the interpreter (default /usr/bin/python3).
 *
 * The node is `apps/core/dist/bbc1-core.js` (run `npx turbo run build` first) on an ephemeral
 * loopback port in a temp working dir; if that file is missing, an in-process BBcCoreService
 * from the sources is used instead (BBC1_FORMATS_IN_PROCESS=1 forces it).
 *
 * Optional parity check against the original node: with BBC1_PYNODE_PORT (and
 * BBC1_PYNODE_WORKDIR, whose node_key.pem the script loads if present) the script also runs
 * against that bbc_core.py, and the key/type shape of every answer the Python client received
 * must be the same from both nodes (for the node-key mode matching the Python node's).
 */
import { afterAll, describe, expect, it } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";
import { BBcCoreService } from "@bbc1/core";

const PYREF = process.env.BBC1_PYREF;
const PYTHON = process.env.BBC1_PYTHON ?? "/usr/bin/python3";
const script = fileURLToPath(new URL("./pyclient_formats.py", import.meta.url));
const coreJs = fileURLToPath(new URL("../../../apps/core/dist/bbc1-core.js", import.meta.url));
const inProcess = process.env.BBC1_FORMATS_IN_PROCESS === "1" || !existsSync(coreJs);
const FORMATS = "0,1,3,4,6";

if (!PYREF) {
  console.warn(
    "pyclient-formats: SKIPPED — set BBC1_PYREF to a directory holding the original BBc-1 v1.1.1 " +
      "(see packages/bbc-client/README.md, 'The original Python client against this node').",
  );
}

interface RunningNode {
  port: number;
  dir: string;
  stop(): Promise<void>;
}

/** Starts our node (the bbc1-core executable, or in-process) on an ephemeral port. */
async function startNode(nodeKey: boolean): Promise<RunningNode> {
  const dir = mkdtempSync(join(tmpdir(), `pyfmt-${nodeKey ? "key" : "nokey"}-`));
  if (inProcess) {
    const node = await BBcCoreService.start({ workingDir: dir, corePort: 0, p2pPort: 0, useNodeKey: nodeKey, logLevel: "silent" });
    return { port: node.port, dir, stop: () => node.close() };
  }
  const args = [coreJs, "--coreport", "0", "--p2pport", "0", "--workingdir", dir, nodeKey ? "--nodekey" : "--no_nodekey", "-v", "info"];
  const child: ChildProcess = spawn(process.execPath, args, { stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  const port = await new Promise<number>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`bbc1-core did not start in 20 s: ${log}`)), 20_000);
    child.once("exit", (code) => reject(new Error(`bbc1-core exited (${code}): ${log}`)));
    createInterface({ input: child.stderr! }).on("line", (l) => {
      log += `${l}\n`;
      try {
        const j = JSON.parse(l) as { msg?: string; port?: number };
        if (j.msg === "bbc1-core ready" && typeof j.port === "number") {
          clearTimeout(t);
          resolve(j.port);
        }
      } catch {
        /* not a log line */
      }
    });
  });
  return {
    port,
    dir,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}

interface PyRun {
  code: number | null;
  out: string;
  err: string;
  passed: number;
  failed: string[];
}

function runPython(port: number, workingdir: string, label: string, shapes: string): Promise<PyRun> {
  const args = [script, "--port", String(port), "--workingdir", workingdir, "--formats", FORMATS, "--label", label, "--dump-shapes", shapes];
  const py = spawn(PYTHON, args, {
    env: { ...process.env, BBC1_PYREF: PYREF, PYTHONPATH: [join(PYREF!, "shim"), join(PYREF!, "vendor"), process.env.PYTHONPATH].filter(Boolean).join(":") },
  });
  let out = "";
  let err = "";
  py.stdout.on("data", (d: Buffer) => (out += d.toString()));
  py.stderr.on("data", (d: Buffer) => (err += d.toString()));
  return new Promise((resolve) => {
    const t = setTimeout(() => py.kill("SIGKILL"), 240_000);
    py.on("close", (code) => {
      clearTimeout(t);
      const m = /SUMMARY passed=(\d+) failed=(\d+)/.exec(out);
      const failed = out.split("\n").filter((l) => l.startsWith("FAIL"));
      resolve({ code, out, err, passed: m ? Number(m[1]) : 0, failed });
    });
  });
}

const summary: string[] = [];
const shapesOf: Record<string, string> = {};
const cleanup: string[] = [];
afterAll(() => {
  if (summary.length) console.log(`pyclient-formats (${inProcess ? "in-process @bbc1/core" : "apps/core/dist/bbc1-core.js"}):\n${summary.join("\n")}`);
  for (const d of cleanup) rmSync(d, { recursive: true, force: true });
});

describe.skipIf(!PYREF)("original v1.1.1 Python client against our node, BBcFormat 0/1/3/4/6", () => {
  for (const nodeKey of [true, false]) {
    const label = nodeKey ? "nodekey" : "no_nodekey";
    it(`${label}: every step passes`, { timeout: 300_000 }, async () => {
      const node = await startNode(nodeKey);
      cleanup.push(node.dir);
      let run: PyRun;
      try {
        expect(existsSync(join(node.dir, "node_key.pem"))).toBe(nodeKey);
        run = await runPython(node.port, node.dir, label, join(node.dir, "shapes.json"));
      } finally {
        await node.stop();
      }
      summary.push(`  ${label}: ${run.passed} passed, ${run.failed.length} failed (exit ${run.code})`);
      if (run.code !== 0 || run.failed.length) console.log(run.out, run.err.slice(-4000));
      expect(run.failed).toEqual([]);
      expect(run.code).toBe(0);
      expect(run.out).toContain(nodeKey ? "PASS [nodekey] load node key" : "(no node key: admin fields go unsigned)");
      for (const f of FORMATS.split(",")) expect(run.out).toMatch(new RegExp(`PASS \\[${label}\\] format ${f} .*: send_message A -> B`));
      expect(run.passed).toBeGreaterThan(100);
      shapesOf[label] = readFileSync(join(node.dir, "shapes.json"), "utf8");
    });
  }

  it.skipIf(!process.env.BBC1_PYNODE_PORT)("answers have the same shape as the original bbc_core.py's", { timeout: 300_000 }, async () => {
    const dir = process.env.BBC1_PYNODE_WORKDIR ?? mkdtempSync(join(tmpdir(), "pyfmt-pynode-"));
    const label = existsSync(join(dir, "node_key.pem")) ? "nodekey" : "no_nodekey";
    const out = join(mkdtempSync(join(tmpdir(), "pyfmt-shapes-")), "shapes.json");
    cleanup.push(join(out, ".."));
    const run = await runPython(Number(process.env.BBC1_PYNODE_PORT), dir, label, out);
    summary.push(`  bbc_core.py (${label}): ${run.passed} passed, ${run.failed.length} failed`);
    expect(run.failed).toEqual([]);
    expect(run.code).toBe(0);
    expect(shapesOf[label], "our node's run for this mode").toBeDefined();
    expect(JSON.parse(shapesOf[label]!)).toEqual(JSON.parse(readFileSync(out, "utf8")));
  });
});
