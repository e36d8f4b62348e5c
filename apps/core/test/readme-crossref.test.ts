/**
 * The cross-reference example of packages/bbc-core/README.md runs as written: four bbc1-core
 * processes started as the README says (its config.json, `--domain0` on A0 and B0, ports given
 * to the example through BBC1_NODES), the ```js block saved in the clone and run; it prints
 * `verified true`.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureBuilt, repoDir, run, startNode, type NodeProc } from "./helpers.js";

const readme = readFileSync(join(repoDir, "packages", "bbc-core", "README.md"), "utf8");
const section = readme.slice(readme.indexOf("### Cross references between domains"));
const config = /```json\n([\s\S]*?)```/.exec(section)![1]!;
const example = /```js\n([\s\S]*?)```/.exec(section)![1]!;

describe("README: cross references between domains", () => {
  const root = mkdtempSync(join(tmpdir(), "bbc1-readme-crossref-"));
  const procs: NodeProc[] = [];
  beforeAll(async () => {
    await ensureBuilt();
    for (const [name, domain0] of [["a0", true], ["a1", false], ["b0", true], ["b1", false]] as const) {
      const cwd = join(root, name);
      mkdirSync(join(cwd, ".bbc1"), { recursive: true });
      writeFileSync(join(cwd, ".bbc1", "config.json"), config);
      procs.push(await startNode(cwd, ["--no_nodekey", "--ip4addr", "127.0.0.1", ...(domain0 ? ["--domain0"] : [])]));
    }
  }, 120_000);
  afterAll(async () => {
    for (const p of procs) await p.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it("prints verified true", async () => {
    const dir = join(repoDir, "node_modules", ".cache", "readme-example");
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `cross-ref-${process.pid}.mjs`);
    writeFileSync(file, example);
    try {
      const env = { ...process.env, BBC1_NODES: procs.map((p) => `${p.port}:${p.p2pPort}`).join(",") };
      const r = await run("node", [file], { cwd: root, env });
      if (r.code !== 0) {
        // what each node counted, to tell where the flow stopped
        const { BBcAppClient } = await import("@bbc1/client");
        for (const p of procs) {
          const c = await BBcAppClient.connect({ port: p.port, domainId: new Uint8Array(32), userId: new Uint8Array(32).fill(1) });
          const st = await c.getStats();
          r.err += `\nnode ${p.port}: ${JSON.stringify({ domain0: st.domain0, user_message: st.user_message, network: st.network })}`;
          await c.close();
        }
      }
      expect(r.err).toBe("");
      expect(r.code, r.out).toBe(0);
      expect(r.out).toBe("verified true\n");
    } finally {
      rmSync(file, { force: true });
    }
  }, 150_000);
});
