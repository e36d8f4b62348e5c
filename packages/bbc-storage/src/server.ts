/**
 * PostgreSQL (pg) and MySQL/MariaDB (mysql2) back ends on kysely. The database (and, for PostgreSQL, the schema)
 * is created when missing, then the kysely migrations bring it to the ledger schema.
 * @internal
 * @module
 */
import { Kysely, MysqlDialect, PostgresDialect, sql, type Transaction } from "kysely";
import { asBytes, asInt, dbError, toBuf, type DbBackend, type RawSearchRow, type RawTxRow } from "./backend.js";
import type { ResolvedServer } from "./config.js";
import { loadMysql, loadPg } from "./load.js";
import { StorageError } from "./errors.js";
import { migrateToLatest, type LedgerDatabase } from "./schema.js";
import type { IntegrityReport, LedgerRecord, SearchConditions } from "./types.js";

const CHUNK = 400;
const IDENT = /^[A-Za-z_][A-Za-z0-9_$]{0,62}$/;

function where(desc: ResolvedServer): string {
  return desc.url ? desc.url.replace(/\/\/[^@/]*@/, "//***@") : `${desc.host}:${desc.port}/${desc.database}`;
}

/** Connect to one server database, creating database/schema when missing, and migrate. */
export async function openServerBackend(dialect: "postgres" | "mysql", desc: ResolvedServer): Promise<ServerBackend> {
  const kysely = dialect === "postgres" ? await openPostgres(desc) : await openMysql(desc);
  try {
    await migrateToLatest(kysely, dialect, dialect === "postgres" ? (desc.schema ?? "public") : undefined);
  } catch (e) {
    await kysely.destroy().catch(() => undefined);
    throw e;
  }
  return new ServerBackend(kysely, dialect, desc.dbNum);
}

async function openPostgres(desc: ResolvedServer): Promise<Kysely<LedgerDatabase>> {
  const pg = loadPg();
  if (desc.schema !== undefined && !IDENT.test(desc.schema)) throw new StorageError("BAD_CONFIG", `db_schema "${desc.schema}" is not a plain identifier`);
  const base: import("pg").PoolConfig = desc.url
    ? { connectionString: desc.url }
    : { host: desc.host, port: desc.port, user: desc.user, password: desc.password, database: desc.database };
  const probe = async (config: import("pg").ClientConfig) => {
    const c = new pg.Client({ ...config, connectionTimeoutMillis: 5000 });
    await c.connect();
    return c;
  };
  let client: import("pg").Client;
  try {
    client = await probe(base);
  } catch (cause) {
    const dbName = desc.database;
    if ((cause as { code?: string }).code === "3D000" && dbName && IDENT.test(dbName)) {
      // the database does not exist: create it through the maintenance database
      try {
        const admin = await probe({ ...base, database: "postgres", ...(desc.url ? { connectionString: desc.url.replace(/\/[^/?]*(\?|$)/, "/postgres$1") } : {}) });
        try {
          await admin.query(`CREATE DATABASE "${dbName}"`);
        } finally {
          await admin.end();
        }
        client = await probe(base);
      } catch (cause2) {
        throw new StorageError("CONNECT_FAILED", `cannot create PostgreSQL database ${dbName}: ${(cause2 as Error).message}`, { cause: cause2 });
      }
    } else {
      throw new StorageError("CONNECT_FAILED", `cannot connect to PostgreSQL ${where(desc)}: ${(cause as Error).message}`, { cause });
    }
  }
  try {
    if (desc.schema) await client.query(`CREATE SCHEMA IF NOT EXISTS "${desc.schema}"`);
  } catch (cause) {
    throw new StorageError("DB_ERROR", `cannot create schema ${desc.schema}: ${(cause as Error).message}`, { cause });
  } finally {
    await client.end();
  }
  const pool = new pg.Pool({ ...base, max: 8, ...(desc.schema ? { options: `-c search_path="${desc.schema}"` } : {}) });
  pool.on("error", () => undefined); // idle client errors surface on the next query instead of crashing the process
  return new Kysely<LedgerDatabase>({ dialect: new PostgresDialect({ pool }) });
}

async function openMysql(desc: ResolvedServer): Promise<Kysely<LedgerDatabase>> {
  const mysql = loadMysql();
  const dbName = desc.database;
  if (!dbName || !/^[A-Za-z0-9_$]{1,64}$/.test(dbName)) {
    throw new StorageError("BAD_CONFIG", `MySQL database name "${dbName ?? ""}" must be 1-64 characters of [A-Za-z0-9_$] (set db_name or put it in db_url)`);
  }
  const base = desc.url
    ? (() => {
        const u = new URL(desc.url);
        return {
          host: u.hostname,
          port: u.port ? Number(u.port) : 3306,
          user: decodeURIComponent(u.username),
          password: decodeURIComponent(u.password),
        };
      })()
    : { host: desc.host, port: desc.port, user: desc.user, password: desc.password };
  try {
    const conn = mysql.createConnection({ ...base, connectTimeout: 5000 });
    await conn.promise().query(`CREATE DATABASE IF NOT EXISTS \`${dbName}\``);
    await conn.promise().end();
  } catch (cause) {
    throw new StorageError("CONNECT_FAILED", `cannot connect to MySQL ${where(desc)}: ${(cause as Error).message}`, { cause });
  }
  const pool = mysql.createPool({ ...base, database: dbName, connectionLimit: 8, supportBigNumbers: true, bigNumberStrings: true, charset: "utf8mb4" });
  return new Kysely<LedgerDatabase>({ dialect: new MysqlDialect({ pool }) });
}

export class ServerBackend implements DbBackend {
  readonly dbNum: number;
  private readonly k: Kysely<LedgerDatabase>;
  readonly dialect: "postgres" | "mysql";

  get kysely(): Kysely<LedgerDatabase> {
    return this.k;
  }

  constructor(kysely: Kysely<LedgerDatabase>, dialect: "postgres" | "mysql", dbNum: number) {
    this.k = kysely;
    this.dialect = dialect;
    this.dbNum = dbNum;
  }

  async insertBatch(records: LedgerRecord[]): Promise<boolean[]> {
    try {
      if (this.dialect === "postgres" && records.length <= CHUNK) return await this.insertPgStatement(records);
      return await this.k.transaction().execute((trx) => this.insertInTrx(trx, records, false));
    } catch (cause) {
      if (this.dialect === "mysql" && isDuplicate(cause)) {
        // lost a race with another writer between the existence check and the insert: go row by row
        try {
          return await this.k.transaction().execute((trx) => this.insertInTrx(trx, records, true));
        } catch (cause2) {
          throw dbError(`${this.dialect} insert of ${records.length} transaction(s) failed`, cause2);
        }
      }
      throw dbError(`${this.dialect} insert of ${records.length} transaction(s) failed`, cause);
    }
  }

  /**
   * PostgreSQL, one statement (one round trip, one commit): the transaction rows with ON CONFLICT DO NOTHING, and the
   * asset and topology rows of exactly the ones it inserted, through data-modifying CTEs; rows keep the batch order.
   */
  private async insertPgStatement(records: LedgerRecord[]): Promise<boolean[]> {
    const firstIdx = new Map<string, number>();
    records.forEach((r, i) => {
      const key = Buffer.from(r.transactionId).toString("hex");
      if (!firstIdx.has(key)) firstIdx.set(key, i);
    });
    const candidates = [...firstIdx.values()];
    const b = (v: Uint8Array | null) => (v ? toBuf(v) : null);
    const txValues = candidates.map((i, ord) => sql`(${ord}::int, ${toBuf(records[i]!.transactionId)}::bytea, ${toBuf(records[i]!.data)}::bytea)`);
    const assetValues: ReturnType<typeof sql>[] = [];
    const edgeValues: ReturnType<typeof sql>[] = [];
    for (const i of candidates) {
      const r = records[i]!;
      const id = toBuf(r.transactionId);
      for (const a of r.assets) {
        assetValues.push(sql`(${assetValues.length}::int, ${id}::bytea, ${b(a.assetGroupId)}::bytea, ${b(a.assetId)}::bytea, ${b(a.userId)}::bytea, ${a.assetFileSize ?? 0}::bigint, ${b(a.assetFileDigest)}::bytea)`);
      }
      for (const p of r.pointTo) edgeValues.push(sql`(${edgeValues.length}::int, ${id}::bytea, ${toBuf(p)}::bytea)`);
    }
    const parts = [
      sql`v(ord, transaction_id, transaction_data) AS (VALUES ${sql.join(txValues)})`,
      sql`ins AS (INSERT INTO transaction_table (transaction_id, transaction_data) SELECT transaction_id, transaction_data FROM v ORDER BY ord ON CONFLICT (transaction_id) DO NOTHING RETURNING transaction_id)`,
    ];
    if (assetValues.length > 0) {
      parts.push(sql`a(ord, transaction_id, asset_group_id, asset_id, user_id, asset_file_size, asset_file_digest) AS (VALUES ${sql.join(assetValues)})`);
      parts.push(
        sql`ia AS (INSERT INTO asset_info_table (transaction_id, asset_group_id, asset_id, user_id, asset_file_size, asset_file_digest) SELECT a.transaction_id, a.asset_group_id, a.asset_id, a.user_id, a.asset_file_size, a.asset_file_digest FROM a JOIN ins ON ins.transaction_id = a.transaction_id ORDER BY a.ord)`,
      );
    }
    if (edgeValues.length > 0) {
      parts.push(sql`e(ord, base, point_to) AS (VALUES ${sql.join(edgeValues)})`);
      parts.push(sql`ie AS (INSERT INTO topology_table (base, point_to) SELECT e.base, e.point_to FROM e JOIN ins ON ins.transaction_id = e.base ORDER BY e.ord)`);
    }
    const res = await sql<{ transaction_id: unknown }>`WITH ${sql.join(parts)} SELECT transaction_id FROM ins`.execute(this.k);
    const inserted = new Set(res.rows.map((row) => Buffer.from(asBytes(row.transaction_id) ?? new Uint8Array(0)).toString("hex")));
    return records.map((r, i) => {
      const key = Buffer.from(r.transactionId).toString("hex");
      return firstIdx.get(key) === i && inserted.has(key);
    });
  }

  private async insertInTrx(trx: Transaction<LedgerDatabase>, records: LedgerRecord[], rowByRow: boolean): Promise<boolean[]> {
    // first occurrence of each id in the batch is the candidate
    const firstIdx = new Map<string, number>();
    records.forEach((r, i) => {
      const key = Buffer.from(r.transactionId).toString("hex");
      if (!firstIdx.has(key)) firstIdx.set(key, i);
    });
    const candidates = [...firstIdx.values()].map((i) => records[i]);
    const insertedKeys = new Set<string>();
    if (rowByRow) {
      for (const r of candidates) {
        const res = await trx.insertInto("transaction_table").ignore().values({ transaction_id: toBuf(r.transactionId), transaction_data: toBuf(r.data) }).executeTakeFirst();
        if (Number(res.numInsertedOrUpdatedRows ?? 0n) > 0) insertedKeys.add(Buffer.from(r.transactionId).toString("hex"));
      }
    } else if (this.dialect === "postgres") {
      for (let i = 0; i < candidates.length; i += CHUNK) {
        const part = candidates.slice(i, i + CHUNK);
        const rows = await trx
          .insertInto("transaction_table")
          .values(part.map((r) => ({ transaction_id: toBuf(r.transactionId), transaction_data: toBuf(r.data) })))
          .onConflict((oc) => oc.column("transaction_id").doNothing())
          .returning("transaction_id")
          .execute();
        for (const row of rows) insertedKeys.add(Buffer.from(asBytes(row.transaction_id) ?? new Uint8Array(0)).toString("hex"));
      }
    } else {
      for (let i = 0; i < candidates.length; i += CHUNK) {
        const part = candidates.slice(i, i + CHUNK);
        const existing = await trx
          .selectFrom("transaction_table")
          .select("transaction_id")
          .where("transaction_id", "in", part.map((r) => toBuf(r.transactionId)))
          .execute();
        const have = new Set(existing.map((e) => Buffer.from(asBytes(e.transaction_id) ?? new Uint8Array(0)).toString("hex")));
        const fresh = part.filter((r) => !have.has(Buffer.from(r.transactionId).toString("hex")));
        if (fresh.length === 0) continue;
        await trx
          .insertInto("transaction_table")
          .values(fresh.map((r) => ({ transaction_id: toBuf(r.transactionId), transaction_data: toBuf(r.data) })))
          .execute();
        for (const r of fresh) insertedKeys.add(Buffer.from(r.transactionId).toString("hex"));
      }
    }
    const out = records.map((r, i) => {
      const key = Buffer.from(r.transactionId).toString("hex");
      return firstIdx.get(key) === i && insertedKeys.has(key);
    });
    const assets: Array<Record<string, unknown>> = [];
    const edges: Array<{ base: Buffer; point_to: Buffer }> = [];
    records.forEach((r, i) => {
      if (!out[i]) return;
      const id = toBuf(r.transactionId);
      for (const a of r.assets) {
        assets.push({
          transaction_id: id,
          asset_group_id: a.assetGroupId ? toBuf(a.assetGroupId) : null,
          asset_id: a.assetId ? toBuf(a.assetId) : null,
          user_id: a.userId ? toBuf(a.userId) : null,
          asset_file_size: a.assetFileSize ?? 0,
          asset_file_digest: a.assetFileDigest ? toBuf(a.assetFileDigest) : null,
        });
      }
      for (const p of r.pointTo) edges.push({ base: id, point_to: toBuf(p) });
    });
    for (let i = 0; i < assets.length; i += CHUNK) await trx.insertInto("asset_info_table").values(assets.slice(i, i + CHUNK) as never).execute();
    for (let i = 0; i < edges.length; i += CHUNK) await trx.insertInto("topology_table").values(edges.slice(i, i + CHUNK)).execute();
    return out;
  }

  async getTransaction(transactionId: Uint8Array): Promise<RawTxRow | undefined> {
    try {
      return await this.k.selectFrom("transaction_table").select(["transaction_id", "transaction_data"]).where("transaction_id", "=", toBuf(transactionId)).executeTakeFirst();
    } catch (cause) {
      throw dbError(`${this.dialect} read failed`, cause);
    }
  }

  async searchAssetRows(c: SearchConditions, ascending: boolean, limit: number): Promise<RawSearchRow[]> {
    let q = this.k
      .selectFrom("asset_info_table as a")
      .leftJoin("transaction_table as t", "t.transaction_id", "a.transaction_id")
      .select(["a.id as id", "a.transaction_id as transaction_id", "t.transaction_id as tx_id", "t.transaction_data as transaction_data"]);
    if (c.assetGroupId) q = q.where("a.asset_group_id", "=", toBuf(c.assetGroupId));
    if (c.assetId) q = q.where("a.asset_id", "=", toBuf(c.assetId));
    if (c.userId) q = q.where("a.user_id", "=", toBuf(c.userId));
    q = q.orderBy("a.id", ascending ? "asc" : "desc");
    if (limit > 0) q = q.limit(limit);
    try {
      return (await q.execute()) as RawSearchRow[];
    } catch (cause) {
      throw dbError(`${this.dialect} search failed`, cause);
    }
  }

  async count(c: SearchConditions): Promise<number> {
    let q = this.k.selectFrom("asset_info_table").select((eb) => eb.fn.count("transaction_id").distinct().as("n"));
    if (c.assetGroupId) q = q.where("asset_group_id", "=", toBuf(c.assetGroupId));
    if (c.assetId) q = q.where("asset_id", "=", toBuf(c.assetId));
    if (c.userId) q = q.where("user_id", "=", toBuf(c.userId));
    try {
      const row = await q.executeTakeFirst();
      return asInt(row?.n) ?? 0;
    } catch (cause) {
      throw dbError(`${this.dialect} count failed`, cause);
    }
  }

  async topology(transactionId: Uint8Array, toPast: boolean) {
    try {
      return await this.k
        .selectFrom("topology_table")
        .select(["id", "base", "point_to"])
        .where(toPast ? "base" : "point_to", "=", toBuf(transactionId))
        .orderBy("id", "asc")
        .execute();
    } catch (cause) {
      throw dbError(`${this.dialect} topology read failed`, cause);
    }
  }

  async insertCrossRef(transactionId: Uint8Array, outerDomainId: Uint8Array, txidHavingCrossRef: Uint8Array): Promise<void> {
    try {
      await this.k
        .insertInto("cross_ref_table")
        .values({ transaction_id: toBuf(transactionId), outer_domain_id: toBuf(outerDomainId), txid_having_cross_ref: toBuf(txidHavingCrossRef) })
        .execute();
    } catch (cause) {
      throw dbError(`${this.dialect} cross_ref insert failed`, cause);
    }
  }

  async searchCrossRefs(transactionId: Uint8Array | undefined) {
    let q = this.k.selectFrom("cross_ref_table").select(["id", "transaction_id", "outer_domain_id", "txid_having_cross_ref"]);
    if (transactionId) q = q.where("transaction_id", "=", toBuf(transactionId));
    try {
      return (await q.orderBy("id", "asc").execute()) as Array<Record<string, unknown>>;
    } catch (cause) {
      throw dbError(`${this.dialect} cross_ref read failed`, cause);
    }
  }

  async countCrossRefsByDomain(outerDomainId: Uint8Array): Promise<number> {
    try {
      const row = await this.k
        .selectFrom("cross_ref_table")
        .select((eb) => eb.fn.countAll().as("n"))
        .where("outer_domain_id", "=", toBuf(outerDomainId))
        .executeTakeFirst();
      return asInt(row?.n) ?? 0;
    } catch (cause) {
      throw dbError(`${this.dialect} cross_ref count failed`, cause);
    }
  }

  async removeTransaction(transactionId: Uint8Array, pointTo: Uint8Array[] | null): Promise<boolean> {
    const id = toBuf(transactionId);
    try {
      return await this.k.transaction().execute(async (trx) => {
        const r = await trx.deleteFrom("transaction_table").where("transaction_id", "=", id).executeTakeFirst();
        if (pointTo === null) await trx.deleteFrom("topology_table").where("base", "=", id).execute();
        else for (const p of pointTo) await trx.deleteFrom("topology_table").where("base", "=", id).where("point_to", "=", toBuf(p)).execute();
        return Number(r.numDeletedRows) > 0;
      });
    } catch (cause) {
      throw dbError(`${this.dialect} remove failed`, cause);
    }
  }

  async replaceTransaction(record: LedgerRecord): Promise<boolean> {
    const id = toBuf(record.transactionId);
    try {
      return await this.k.transaction().execute(async (trx) => {
        const r = await trx.deleteFrom("transaction_table").where("transaction_id", "=", id).executeTakeFirst();
        await trx.deleteFrom("topology_table").where("base", "=", id).execute();
        await this.insertInTrx(trx, [record], false);
        return Number(r.numDeletedRows) > 0;
      });
    } catch (cause) {
      throw dbError(`${this.dialect} replace failed`, cause);
    }
  }

  async integrity(): Promise<IntegrityReport> {
    try {
      if (this.dialect === "mysql") {
        const res = await sql<{ Table: string; Msg_type: string; Msg_text: string }>`CHECK TABLE transaction_table, asset_info_table, topology_table, cross_ref_table`.execute(this.k);
        const bad = res.rows.filter((r) => r.Msg_type === "error" || (r.Msg_type === "status" && r.Msg_text !== "OK"));
        return { ok: bad.length === 0, messages: bad.length === 0 ? ["ok"] : bad.map((r) => `${r.Table}: ${r.Msg_text}`) };
      }
      await sql`SELECT count(*) FROM transaction_table`.execute(this.k);
      await sql`SELECT count(*) FROM asset_info_table`.execute(this.k);
      return { ok: true, messages: ["ok"] };
    } catch (cause) {
      return { ok: false, messages: [`${this.dialect} check failed: ${(cause as Error).message}`] };
    }
  }

  async close(): Promise<void> {
    await this.k.destroy();
  }
}

function isDuplicate(e: unknown): boolean {
  const err = e as { code?: string; errno?: number; cause?: unknown };
  return err?.code === "ER_DUP_ENTRY" || err?.errno === 1062 || (err?.cause !== undefined && err.cause !== e && isDuplicate(err.cause));
}
