#!/usr/bin/env node
// `npm start [-- <bbc1-core flags>]`: runs the bbc1-core executable built by `turbo run build`
// (apps/core/dist/bbc1-core.js) in this process, with the flags passed through. Defaults are
// bbc1-core's: client port 9000 on 127.0.0.1, working directory .bbc1 in the current
// directory, SQLite ledgers, node key created on first start.
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

const entry = resolve(import.meta.dirname, "..", "apps", "core", "dist", "bbc1-core.js");
if (!existsSync(entry)) {
  process.stderr.write(`start: ${entry} is missing; run "npm run build" first (npm start does).\n`);
  process.exit(1);
}
// bbc1-core reads its flags from process.argv.slice(2), which are the flags given to this script.
process.argv[1] = entry;
await import(pathToFileURL(entry).href);
