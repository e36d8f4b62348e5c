/**
 * Loading the server drivers. pg is loaded through `require` with one guard: when the process runs with an
 * `import` resolution condition (vitest passes its resolve conditions to Node as `--conditions`), pg's own
 * `require("pg-pool")` would get pg-pool's ESM wrapper (a namespace, not the class) and pg fails to load.
 * The guard puts pg-pool's CommonJS export in the require cache under the wrapper's path first.
 * @internal
 * @module
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

function requireFrom(): NodeJS.Require {
  const here = createRequire(import.meta.url);
  try {
    here.resolve("pg/package.json");
    return here;
  } catch {
    return createRequire(join(process.cwd(), "package.json"));
  }
}

let pgModule: typeof import("pg") | undefined;

/** The pg module (CommonJS exports). */
export function loadPg(): typeof import("pg") {
  if (pgModule) return pgModule;
  const req = requireFrom();
  const libIndex = req.resolve("pg/lib/index.js");
  const fromPg = createRequire(libIndex);
  const poolPath = fromPg.resolve("pg-pool");
  if (poolPath.endsWith(".mjs") && !fromPg.cache[poolPath]) {
    const cjs = fromPg(join(dirname(poolPath), "..", "index.js"));
    fromPg.cache[poolPath] = { id: poolPath, filename: poolPath, loaded: true, exports: cjs } as NodeJS.Module;
  }
  pgModule = req(libIndex) as typeof import("pg");
  return pgModule;
}

/** The mysql2 module (callback API, as kysely's MysqlDialect wants). */
export function loadMysql(): typeof import("mysql2") {
  return requireFrom()("mysql2") as typeof import("mysql2");
}
