/**
 * Clean-up of what tests create on the shared PostgreSQL and MariaDB servers: a schema, a
 * database. The drivers are the storage package's (pg through `require`, with pg-pool's
 * CommonJS export put in the require cache first: under vitest's `import` condition pg would
 * otherwise get pg-pool's ESM wrapper).
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const req = createRequire(import.meta.url);

function pg(): typeof import("pg") {
  const libIndex = req.resolve("pg/lib/index.js");
  const fromPg = createRequire(libIndex);
  const poolPath = fromPg.resolve("pg-pool");
  if (poolPath.endsWith(".mjs") && !fromPg.cache[poolPath]) {
    fromPg.cache[poolPath] = { id: poolPath, filename: poolPath, loaded: true, exports: fromPg(join(dirname(poolPath), "..", "index.js")) } as NodeJS.Module;
  }
  return req(libIndex) as typeof import("pg");
}

const NAME = /^[a-z0-9_]+$/;

/** DROP SCHEMA name CASCADE on the server of `url`. */
export async function dropPgSchema(url: string, schema: string): Promise<void> {
  if (!NAME.test(schema)) throw new Error(`not a test schema name: ${schema}`);
  const c = new (pg().Client)({ connectionString: url, connectionTimeoutMillis: 3000 });
  await c.connect();
  try {
    await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await c.end();
  }
}

/** True when a schema of that name exists. */
export async function pgSchemaExists(url: string, schema: string): Promise<boolean> {
  const c = new (pg().Client)({ connectionString: url, connectionTimeoutMillis: 3000 });
  await c.connect();
  try {
    return (await c.query("SELECT 1 FROM information_schema.schemata WHERE schema_name = $1", [schema])).rowCount === 1;
  } finally {
    await c.end();
  }
}

async function mysqlQuery(url: string, sql: string, params: unknown[] = []): Promise<unknown[]> {
  const mysql = req("mysql2") as typeof import("mysql2");
  const u = new URL(url);
  const c = mysql.createConnection({ host: u.hostname, port: Number(u.port || 3306), user: decodeURIComponent(u.username), password: decodeURIComponent(u.password), connectTimeout: 3000 });
  try {
    const [rows] = await c.promise().query(sql, params);
    return rows as unknown[];
  } finally {
    await c.promise().end().catch(() => undefined);
  }
}

/** DROP DATABASE name on the server of `url`. */
export async function dropMysqlDatabase(url: string, db: string): Promise<void> {
  if (!NAME.test(db)) throw new Error(`not a test database name: ${db}`);
  await mysqlQuery(url, `DROP DATABASE IF EXISTS ${db}`);
}

/** True when a database of that name exists. */
export async function mysqlDatabaseExists(url: string, db: string): Promise<boolean> {
  return (await mysqlQuery(url, "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", [db])).length === 1;
}
