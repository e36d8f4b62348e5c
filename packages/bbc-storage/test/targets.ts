/**
 * The three back ends the shared suite runs against. Each `fresh()` gives a new, empty ledger: a temp working
 * directory for SQLite, a random schema for PostgreSQL, a random database for MariaDB; `cleanup()` drops it.
 * A server that is not reachable is skipped loudly, or fails the run when CI is set.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRequire } from "node:module";
import Database from "better-sqlite3";
import { getRandomId } from "@bbc1/bbclib";
import type { DomainStorageConfig } from "@bbc1/storage";

const require = createRequire(import.meta.url);

export const PG_URL = process.env.BBC1_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test";
export const MYSQL_URL = process.env.BBC1_TEST_MYSQL_URL ?? "mysql://root@127.0.0.1:3306/test";
export const IN_CI = !!process.env.CI;

export interface Fresh {
  workingDir: string;
  domainId: Uint8Array;
  config: DomainStorageConfig;
  /** Run raw SQL (with `?` placeholders) directly on database `dbNum`, bypassing the store. */
  raw(dbNum: number, sql: string, params?: unknown[]): Promise<void>;
  cleanup(): Promise<void>;
}

export interface Target {
  name: "sqlite" | "postgres" | "mysql";
  /** Undefined when reachable, else why not. */
  unavailable?: string;
  fresh(dbs?: number): Promise<Fresh>;
}

const rnd = () => `bbc1_t_${randomBytes(5).toString("hex")}`;

function pgModule(): typeof import("pg") {
  // same guard as the package (see src/load.ts): pg-pool's ESM wrapper under vitest's conditions
  const libIndex = require.resolve("pg/lib/index.js");
  const fromPg = createRequire(libIndex);
  const poolPath = fromPg.resolve("pg-pool");
  if (poolPath.endsWith(".mjs") && !fromPg.cache[poolPath]) {
    fromPg.cache[poolPath] = { id: poolPath, filename: poolPath, loaded: true, exports: fromPg(join(poolPath, "..", "..", "index.js")) } as NodeJS.Module;
  }
  return require(libIndex);
}

async function pgExec(schema: string | null, sql: string, params: unknown[] = []): Promise<void> {
  const pg = pgModule();
  const c = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3000, ...(schema ? { options: `-c search_path=${schema}` } : {}) });
  await c.connect();
  try {
    let n = 0;
    await c.query(sql.replace(/\?/g, () => `$${++n}`), params);
  } finally {
    await c.end();
  }
}

async function mysqlExec(database: string | null, sql: string, params: unknown[] = []): Promise<void> {
  const mysql = require("mysql2") as typeof import("mysql2");
  const u = new URL(MYSQL_URL);
  const c = mysql.createConnection({
    host: u.hostname,
    port: Number(u.port || 3306),
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    connectTimeout: 3000,
    ...(database ? { database } : {}),
  });
  try {
    await c.promise().query(sql, params);
  } finally {
    await c.promise().end().catch(() => undefined);
  }
}

function mysqlUrlFor(db: string): string {
  const u = new URL(MYSQL_URL);
  u.pathname = `/${db}`;
  return u.toString();
}

async function probe(fn: () => Promise<void>): Promise<string | undefined> {
  try {
    await fn();
    return undefined;
  } catch (e) {
    return (e as Error).message || String(e);
  }
}

export const sqliteTarget: Target = {
  name: "sqlite",
  async fresh() {
    const workingDir = mkdtempSync(join(tmpdir(), "bbc1-storage-"));
    const domainId = getRandomId();
    const config: DomainStorageConfig = { storage: { type: "internal" }, db: { db_type: "sqlite", db_name: "bbc_ledger.sqlite", replication_strategy: "all" } };
    const file = join(workingDir, Buffer.from(domainId).toString("hex"), "bbc_ledger.sqlite");
    return {
      workingDir,
      domainId,
      config,
      async raw(_dbNum, sql, params = []) {
        const db = new Database(file);
        try {
          db.prepare(sql).run(...params);
        } finally {
          db.close();
        }
      },
      async cleanup() {
        rmSync(workingDir, { recursive: true, force: true });
      },
    };
  },
};

export async function pgTarget(): Promise<Target> {
  return {
    name: "postgres",
    unavailable: await probe(() => pgExec(null, "SELECT 1")),
    async fresh(dbs = 1) {
      const workingDir = mkdtempSync(join(tmpdir(), "bbc1-storage-"));
      const schemas = Array.from({ length: dbs }, rnd);
      return {
        workingDir,
        domainId: getRandomId(),
        config: {
          storage: { type: "internal" },
          db: { db_type: "postgres", replication_strategy: "all", db_servers: schemas.map((s) => ({ db_url: PG_URL, db_schema: s })) },
        },
        raw: (dbNum, sql, params) => pgExec(schemas[dbNum], sql, params),
        async cleanup() {
          for (const s of schemas) await pgExec(null, `DROP SCHEMA IF EXISTS ${s} CASCADE`);
          rmSync(workingDir, { recursive: true, force: true });
        },
      };
    },
  };
}

export async function mysqlTarget(): Promise<Target> {
  return {
    name: "mysql",
    unavailable: await probe(() => mysqlExec(null, "SELECT 1")),
    async fresh(dbs = 1) {
      const workingDir = mkdtempSync(join(tmpdir(), "bbc1-storage-"));
      const names = Array.from({ length: dbs }, rnd);
      return {
        workingDir,
        domainId: getRandomId(),
        config: { storage: { type: "internal" }, db: { db_type: "mysql", replication_strategy: "all", db_servers: names.map((n) => ({ db_url: mysqlUrlFor(n) })) } },
        raw: (dbNum, sql, params) => mysqlExec(names[dbNum], sql, params),
        async cleanup() {
          for (const n of names) await mysqlExec(null, `DROP DATABASE IF EXISTS \`${n}\``);
          rmSync(workingDir, { recursive: true, force: true });
        },
      };
    },
  };
}

/** All targets, probed once. */
export async function allTargets(): Promise<Target[]> {
  return [sqliteTarget, await pgTarget(), await mysqlTarget()];
}
