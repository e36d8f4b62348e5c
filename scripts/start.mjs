#!/usr/bin/env node
// `npm start [-- <bbc1-core flags>]`: installs what is missing, builds quietly, then runs the
// bbc1-core executable (apps/core/dist/bbc1-core.js) in this process with the flags passed
// through. The install and build print one line each; their full output is shown only when
// they fail, so what follows is the node's own log. Defaults are bbc1-core's: client port 9000
// on 127.0.0.1, working directory .bbc1 in the current directory, SQLite ledgers, node key
// created on first start.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { runQuietly } from "./quiet-step.mjs";

const root = resolve(import.meta.dirname, "..");

// one line while `npm ci` runs (only when node_modules is missing or stale); npm's output on failure only
const deps = spawnSync(process.execPath, [join(root, "scripts", "ensure-deps.mjs"), "--quiet"], { cwd: root, stdio: "inherit" });
if (deps.status !== 0) process.exit(deps.status ?? 1);
const turbo = join(root, "node_modules", "turbo", "bin", "turbo");
const ms = runQuietly("the build (turbo run build)", process.execPath, [turbo, "run", "build", "--output-logs=errors-only"], root);
process.stderr.write(`bbc1-ts: built in ${(ms / 1000).toFixed(1)} s; starting bbc1-core (Ctrl-C stops it)\n`);

const entry = join(root, "apps", "core", "dist", "bbc1-core.js");
if (!existsSync(entry)) {
  process.stderr.write(`start: ${entry} is missing after the build\n`);
  process.exit(1);
}
// bbc1-core reads its flags from process.argv.slice(2), which are the flags given to this script.
process.argv[1] = entry;
await import(pathToFileURL(entry).href);
