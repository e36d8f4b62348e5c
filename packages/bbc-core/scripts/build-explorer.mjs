#!/usr/bin/env node
// Builds the ledger explorer page into dist/explorer/: explorer/src/main.ts bundled for the
// browser with esbuild (so @bbc1/bbclib comes in through its browser path, @noble, no node:
// module), plus index.html and app.css. The core serves these files at /explorer/.
import { build } from "esbuild";
import { copyFileSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";

const pkg = resolve(import.meta.dirname, "..");
const out = join(pkg, "dist", "explorer");
mkdirSync(out, { recursive: true });
const result = await build({
  entryPoints: [join(pkg, "explorer", "src", "main.ts")],
  outfile: join(out, "app.js"),
  bundle: true,
  platform: "browser",
  format: "esm",
  target: ["es2022"],
  minify: true,
  sourcemap: true,
  metafile: true,
  legalComments: "none",
  logLevel: "warning",
});
const nodeInputs = Object.keys(result.metafile.inputs).filter((p) => p.startsWith("node:") || /node-backend|sha256-node|inflate-node/.test(p));
if (nodeInputs.length > 0) {
  console.error(`build-explorer: the browser bundle pulled in Node-only modules: ${nodeInputs.join(", ")}`);
  process.exit(1);
}
for (const f of ["index.html", "app.css"]) copyFileSync(join(pkg, "explorer", f), join(out, f));
