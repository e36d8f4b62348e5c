#!/usr/bin/env node
// Installs the locked dependencies when they are missing or older than package-lock.json, so
// that `npm start` and `npm test` work on a fresh clone without a separate install step.
// With --quiet (npm start) npm's own output is shown only when the install fails.
import { spawnSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "..");
const quiet = process.argv.includes("--quiet");
const marker = join(root, "node_modules", ".package-lock.json");
const lock = join(root, "package-lock.json");
const fresh = existsSync(marker) && statSync(marker).mtimeMs >= statSync(lock).mtimeMs;
if (!fresh) {
  process.stderr.write(`bbc1-ts: installing dependencies (npm ci${quiet ? ", a few minutes on a fresh clone" : ""}) ...\n`);
  const npm = process.platform === "win32" ? "npm.cmd" : "npm";
  const r = spawnSync(npm, ["ci", "--no-audit", "--no-fund"], { cwd: root, stdio: quiet ? ["ignore", "pipe", "pipe"] : "inherit", encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0) {
    if (quiet) process.stderr.write(`${r.stdout ?? ""}${r.stderr ?? ""}`);
    process.stderr.write(`bbc1-ts: npm ci failed${r.error ? `: ${r.error.message}` : ` (exit code ${r.status})`}\n`);
    process.exit(r.status ?? 1);
  }
}
