#!/usr/bin/env node
// Runs this package's benchmarks on their own (bundled with esbuild into node_modules/.cache so that third-party
// packages resolve). `npm run bench` at the root runs the same bench files together with every other package's.
// Usage: node packages/bbc-storage/bench/run-local.mjs   (env: BBC1_BENCH_1M=1, BBC1_BENCH_BACKENDS=sqlite,postgres,mysql)
import { build } from "esbuild";
import { mkdirSync, rmSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const here = import.meta.dirname;
const root = resolve(here, "../../..");
const outDir = join(root, "node_modules", ".cache", "bbc1-storage-bench");
mkdirSync(outDir, { recursive: true });
const rows = [];
for (const f of readdirSync(here).filter((f) => f.endsWith(".bench.ts"))) {
  const outfile = join(outDir, f.replace(/\.ts$/, `-${process.pid}.mjs`));
  await build({
    entryPoints: [join(here, f)],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    conditions: ["@bbc1/source", "node"],
    external: ["better-sqlite3", "pg", "pg-native", "mysql2"],
    banner: { js: "import { createRequire as __cr } from 'module'; const require = __cr(import.meta.url);" },
    logLevel: "error",
  });
  try {
    rows.push(...(await (await import(pathToFileURL(outfile).href)).run()));
  } finally {
    rmSync(outfile, { force: true });
  }
}
const fmt = (n, d = 0) => (n === undefined || n === null ? "" : Number(n).toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d }));
console.log("| benchmark | ops/s | p50 µs | p99 µs | note |");
console.log("|---|---:|---:|---:|---|");
for (const r of rows) console.log(`| ${r.name} | ${fmt(r.opsPerSec)} | ${fmt(r.p50us, 1)} | ${fmt(r.p99us, 1)} | ${r.note ?? ""} |`);
