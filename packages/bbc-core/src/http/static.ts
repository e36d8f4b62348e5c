/**
 * The explorer's static files: `dist/explorer/` of this package (index.html, app.js, app.css),
 * built by `npm run build` (scripts/build-explorer.mjs bundles explorer/src with esbuild, with
 * `@bbc1/bbclib`'s browser build inside).
 * @module
 */
import { readFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  map: "application/json; charset=utf-8",
  svg: "image/svg+xml",
};

// from dist/http/static.js: ../explorer; from src/http/static.ts (tests run the sources): ../../dist/explorer
const CANDIDATES = ["../explorer/", "../../dist/explorer/"].map((p) => fileURLToPath(new URL(p, import.meta.url)));

let dir: string | null | undefined;
function explorerDir(): string | null {
  if (dir === undefined || dir === null) dir = CANDIDATES.find((c) => existsSync(`${c}index.html`)) ?? null;
  return dir;
}

const cache = new Map<string, { type: string; body: Uint8Array }>();

/**
 * A file of the explorer: undefined when there is no such file, null when the explorer was
 * not built. Names are a fixed set (no path from the request reaches the file system).
 */
export async function explorerFile(name: string): Promise<{ type: string; body: Uint8Array } | undefined | null> {
  if (!/^[a-z0-9-]+\.(html|js|css|map|svg)$/.test(name)) return undefined;
  const cached = cache.get(name);
  if (cached !== undefined) return cached;
  const d = explorerDir();
  if (d === null) return null;
  let body: Uint8Array;
  try {
    body = await readFile(d + name);
  } catch {
    return undefined;
  }
  const f = { type: TYPES[name.slice(name.lastIndexOf(".") + 1)]!, body };
  cache.set(name, f);
  return f;
}
