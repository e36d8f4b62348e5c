#!/usr/bin/env node
// Runs every packages/*/bench/*.bench.ts (bundled on the fly with esbuild, so no build step is
// needed), prints one table and writes bench/results.json.
// Usage: npm run bench [-- <filter>]   e.g. npm run bench -- bbclib
import { build } from "esbuild";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir, cpus } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const root = resolve(import.meta.dirname, "..");
const filter = process.argv[2] ?? "";
const files = [];
for (const base of ["packages", "apps"]) {
  if (!existsSync(join(root, base))) continue;
  for (const pkg of readdirSync(join(root, base))) {
    const dir = join(root, base, pkg, "bench");
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir)) if (f.endsWith(".bench.ts") && `${pkg}/${f}`.includes(filter)) files.push({ pkg, file: join(dir, f) });
  }
}
// Our own packages are bundled from their TypeScript sources (the "@bbc1/source" export);
// third-party packages stay external and load from node_modules.
const sourceEntries = new Map();
for (const base of ["packages", "apps"]) {
  if (!existsSync(join(root, base))) continue;
  for (const dir of readdirSync(join(root, base))) {
    const pj = join(root, base, dir, "package.json");
    if (!existsSync(pj)) continue;
    const p = JSON.parse(readFileSync(pj, "utf8"));
    const entry = p.exports?.["."]?.["@bbc1/source"];
    if (p.name && entry) sourceEntries.set(p.name, join(root, base, dir, entry));
  }
}
const sourcePlugin = {
  name: "bbc1-source",
  setup(b) {
    b.onResolve({ filter: /^@bbc1\/[^/]+$/ }, (args) => {
      const path = sourceEntries.get(args.path);
      return path ? { path, external: false } : undefined;
    });
  },
};

// Bundles live under the repository so that their external imports resolve from node_modules.
mkdirSync(join(root, "node_modules", ".cache"), { recursive: true });
const out = mkdtempSync(join(root, "node_modules", ".cache", "bbc1-bench-"));
const rows = [];
try {
  for (const { pkg, file } of files) {
    const outfile = join(out, `${pkg}-${file.split("/").pop().replace(/\.ts$/, ".mjs")}`);
    await build({
      entryPoints: [file],
      outfile,
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      conditions: ["@bbc1/source", "node"],
      packages: "external",
      plugins: [sourcePlugin],
      banner: { js: "import { createRequire as __cr } from 'module'; const require = __cr(import.meta.url);" },
      logLevel: "error",
    });
    const mod = await import(pathToFileURL(outfile).href);
    process.stderr.write(`bench: ${pkg}/${file.split("/").pop()} ...\n`);
    const got = await mod.run();
    for (const r of got) rows.push({ package: pkg, ...r });
  }
} finally {
  rmSync(out, { recursive: true, force: true });
}
const fmt = (n, d = 0) => (n === undefined || n === null ? "" : Number(n).toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d }));
const header = ["package", "benchmark", "ops/s", "p50 µs", "p99 µs", "note"];
const table = rows.map((r) => [r.package, r.name, fmt(r.opsPerSec), fmt(r.p50us, 2), fmt(r.p99us, 2), r.note ?? ""]);
const widths = header.map((h, i) => Math.max(h.length, ...table.map((t) => String(t[i]).length)));
const line = (cells) => "| " + cells.map((c, i) => (i >= 2 && i <= 4 ? String(c).padStart(widths[i]) : String(c).padEnd(widths[i]))).join(" | ") + " |";
console.log(line(header));
console.log("|" + widths.map((w, i) => (i >= 2 && i <= 4 ? "-".repeat(w + 1) + ":" : "-".repeat(w + 2))).join("|") + "|");
for (const t of table) console.log(line(t));
mkdirSync(join(root, "bench"), { recursive: true });
writeFileSync(
  join(root, "bench", "results.json"),
  JSON.stringify({ date: new Date().toISOString(), node: process.version, cpus: cpus().length, cpu: cpus()[0]?.model, rows }, null, 2),
);
