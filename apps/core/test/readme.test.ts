/**
 * The root README's newcomer promises: the client example runs exactly as written (the code block
 * is taken from README.md, saved in the clone and run against a live bbc1-core), and the bin
 * launchers exist after `npm ci` (CI runs on a fresh clone) with their run bit in git.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureBuilt, repoDir, run, startNode } from "./helpers.js";

/** The ```js block under "### A client session" in README.md. */
function readmeExample(): string {
  const readme = readFileSync(join(repoDir, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("### A client session"));
  const m = /```js\n([\s\S]*?)```/.exec(section);
  if (!m) throw new Error("README.md: no ```js block under '### A client session'");
  return m[1]!;
}

describe("README newcomer path", () => {
  let cwd: string;
  beforeAll(async () => {
    await ensureBuilt();
    cwd = mkdtempSync(join(tmpdir(), "bbc1-readme-"));
  }, 120_000);
  afterAll(() => rmSync(cwd, { recursive: true, force: true }));

  it("the client example runs as written against a live node (twice: the domain exists the second time)", async () => {
    // saved in the clone (imports resolve from its node_modules), run where the node runs (its .bbc1 is there)
    const dir = join(repoDir, "node_modules", ".cache", "readme-example");
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `hello-${process.pid}.mjs`);
    writeFileSync(file, readmeExample());
    const node = await startNode(cwd);
    try {
      const env = { ...process.env, BBC1_PORT: String(node.port) };
      for (let i = 0; i < 2; i++) {
        const r = await run("node", [file], { cwd, env });
        expect(r.err).toBe("");
        expect(r.code).toBe(0);
        expect(r.out).toMatch(/^stored [0-9a-f]{64} hello, ledger\n$/);
      }
    } finally {
      rmSync(file, { force: true });
      expect(await node.stop()).toBe(0);
    }
  }, 60_000);

  it("bin launchers are in git with mode 100755, linked by npm ci, and answer --help", async () => {
    const files = execFileSync("git", ["ls-files", "-s", "apps/core/bin"], { cwd: repoDir, encoding: "utf8" }).trim().split("\n");
    expect(files.length).toBe(2);
    for (const line of files) expect(line).toMatch(/^100755 /);
    const pkg = JSON.parse(readFileSync(join(repoDir, "apps", "core", "package.json"), "utf8")) as { bin: Record<string, string> };
    expect(pkg.bin).toEqual({ "bbc1-core": "./bin/bbc1-core.js", bbc1: "./bin/bbc1.js" });
    for (const name of ["bbc1-core", "bbc1"]) {
      const link = join(repoDir, "node_modules", ".bin", name);
      expect(existsSync(link), `${link} (npm ci links it)`).toBe(true);
      expect(realpathSync(link)).toBe(realpathSync(join(repoDir, "apps", "core", "bin", `${name}.js`)));
      expect(statSync(link).mode & 0o111).not.toBe(0);
      // executed directly: needs the shebang and the run bit, as `npx <name>` does
      const r = await run(link, ["--help"], { cwd });
      expect(r.code, r.err).toBe(0);
      expect(r.out).toMatch(/usage|Usage/);
    }
  });
});
