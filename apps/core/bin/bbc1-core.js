#!/usr/bin/env node
// Launcher of `bbc1-core`: exists before the build (npm links workspace bins at `npm ci`, when dist/
// is not built yet) and runs the compiled program from dist/.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const entry = new URL("../dist/bbc1-core.js", import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write("bbc1-core: not built yet (apps/core/dist/bbc1-core.js is missing): run `npm run build` in the clone first\n");
  process.exit(1);
}
await import(entry.href);
