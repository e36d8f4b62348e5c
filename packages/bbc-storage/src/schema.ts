/**
 * The ledger schema (kysely table types) and its migrations, one schema for the three dialects.
 *
 * Tables follow v1.1.1 `data_handler.py` (transaction_table, asset_info_table, topology_table, cross_ref_table,
 * merkle_*), with two additive columns on asset_info_table (asset_file_size, asset_file_digest). Indexes pair each
 * search column with the row id so that "ORDER BY id LIMIT n" is served by the index. v1.1.1's indexes that no query
 * uses (asset_info_table.transaction_id, the duplicate index on transaction_table's primary key) are left out: each
 * costs a random page write per insert.
 * @module
 */
import { Migrator, sql, type ColumnDefinitionBuilder, type Generated, type Kysely, type Migration, type MigrationProvider } from "kysely";
import { StorageError } from "./errors.js";
import type { DbType } from "./types.js";

export interface TransactionTable {
  transaction_id: Uint8Array;
  transaction_data: Uint8Array;
}
export interface AssetInfoTable {
  id: Generated<number>;
  transaction_id: Uint8Array;
  asset_group_id: Uint8Array | null;
  asset_id: Uint8Array | null;
  user_id: Uint8Array | null;
  asset_file_size: number | null;
  asset_file_digest: Uint8Array | null;
}
export interface TopologyTable {
  id: Generated<number>;
  base: Uint8Array;
  point_to: Uint8Array;
}
export interface CrossRefTable {
  id: Generated<number>;
  transaction_id: Uint8Array;
  outer_domain_id: Uint8Array;
  txid_having_cross_ref: Uint8Array;
}
export interface MerkleBranchTable {
  digest: Uint8Array;
  leaf_left: Uint8Array | null;
  leaf_right: Uint8Array | null;
}
export interface MerkleLeafTable extends MerkleBranchTable {
  prev: Uint8Array | null;
}
export interface MerkleRootTable {
  root: Uint8Array;
  spec: Uint8Array | null;
}

/** Kysely database type of the ledger. */
export interface LedgerDatabase {
  transaction_table: TransactionTable;
  asset_info_table: AssetInfoTable;
  topology_table: TopologyTable;
  cross_ref_table: CrossRefTable;
  merkle_branch_table: MerkleBranchTable;
  merkle_leaf_table: MerkleLeafTable;
  merkle_root_table: MerkleRootTable;
}

/** Column types per dialect. */
function types(dialect: DbType) {
  switch (dialect) {
    case "sqlite":
      return { id: sql`blob`, data: sql`blob`, big: sql`integer` };
    case "postgres":
      return { id: sql`bytea`, data: sql`bytea`, big: sql`bigint` };
    case "mysql":
      return { id: sql`varbinary(64)`, data: sql`longblob`, big: sql`bigint` };
  }
}

function serialId(dialect: DbType) {
  return (c: ColumnDefinitionBuilder) => {
    if (dialect === "sqlite") return c.primaryKey(); // INTEGER PRIMARY KEY: the rowid alias, as v1.1.1
    if (dialect === "postgres") return c.primaryKey().generatedByDefaultAsIdentity();
    return c.primaryKey().autoIncrement();
  };
}

/** The migrations of the ledger schema for one dialect, in order. */
export function ledgerMigrations(dialect: DbType): Record<string, Migration> {
  const t = types(dialect);
  const idType = dialect === "sqlite" ? "integer" : "bigint";
  return {
    "0001_ledger": {
      async up(db: Kysely<any>) {
        // a rowid table with the primary key as its (automatic) unique index, as v1.1.1: rows are appended, and
        // transactions of a few hundred bytes or more would overflow the pages of a WITHOUT ROWID table
        await db.schema
          .createTable("transaction_table")
          .ifNotExists()
          .addColumn("transaction_id", t.id, (c) => c.primaryKey().notNull())
          .addColumn("transaction_data", t.data)
          .execute();

        await db.schema
          .createTable("asset_info_table")
          .ifNotExists()
          .addColumn("id", idType, serialId(dialect))
          .addColumn("transaction_id", t.id)
          .addColumn("asset_group_id", t.id)
          .addColumn("asset_id", t.id)
          .addColumn("user_id", t.id)
          .addColumn("asset_file_size", t.big)
          .addColumn("asset_file_digest", t.id)
          .execute();
        // (column, id, transaction_id): ordered scans for search, and count(DISTINCT transaction_id) from the index alone
        await db.schema.createIndex("asset_info_table_group").ifNotExists().on("asset_info_table").columns(["asset_group_id", "id", "transaction_id"]).execute();
        await db.schema.createIndex("asset_info_table_asset").ifNotExists().on("asset_info_table").columns(["asset_id", "id"]).execute();
        await db.schema.createIndex("asset_info_table_user").ifNotExists().on("asset_info_table").columns(["user_id", "id", "transaction_id"]).execute();

        await db.schema
          .createTable("topology_table")
          .ifNotExists()
          .addColumn("id", idType, serialId(dialect))
          .addColumn("base", t.id)
          .addColumn("point_to", t.id)
          .execute();
        await db.schema.createIndex("topology_table_base").ifNotExists().on("topology_table").columns(["base", "id"]).execute();
        await db.schema.createIndex("topology_table_point_to").ifNotExists().on("topology_table").columns(["point_to", "id"]).execute();

        await db.schema
          .createTable("cross_ref_table")
          .ifNotExists()
          .addColumn("id", idType, serialId(dialect))
          .addColumn("transaction_id", t.id)
          .addColumn("outer_domain_id", t.id)
          .addColumn("txid_having_cross_ref", t.id)
          .execute();
        await db.schema.createIndex("cross_ref_table_txid").ifNotExists().on("cross_ref_table").column("transaction_id").execute();
        await db.schema.createIndex("cross_ref_table_domain").ifNotExists().on("cross_ref_table").column("outer_domain_id").execute();

        // Ledger subsystem tables of v1.1.1 (never used by the core; kept for schema parity).
        await db.schema
          .createTable("merkle_branch_table")
          .ifNotExists()
          .addColumn("digest", t.id, (c) => c.primaryKey().notNull())
          .addColumn("leaf_left", t.id)
          .addColumn("leaf_right", t.id)
          .execute();
        await db.schema
          .createTable("merkle_leaf_table")
          .ifNotExists()
          .addColumn("digest", t.id, (c) => c.primaryKey().notNull())
          .addColumn("leaf_left", t.id)
          .addColumn("leaf_right", t.id)
          .addColumn("prev", t.id)
          .execute();
        await db.schema
          .createTable("merkle_root_table")
          .ifNotExists()
          .addColumn("root", t.id, (c) => c.primaryKey().notNull())
          .addColumn("spec", t.id)
          .execute();
      },
      async down(db: Kysely<any>) {
        for (const name of ["merkle_root_table", "merkle_leaf_table", "merkle_branch_table", "cross_ref_table", "topology_table", "asset_info_table", "transaction_table"]) {
          await db.schema.dropTable(name).ifExists().execute();
        }
      },
    },
    // A ledger created by v1.1.1 itself already has asset_info_table without our two additive columns (0001's
    // CREATE TABLE IF NOT EXISTS leaves it as it is): add them. v1.1.1 had no PostgreSQL back end.
    "0002_v111_asset_columns": {
      async up(db: Kysely<any>) {
        if (dialect === "postgres") return;
        for (const [column, type] of [
          ["asset_file_size", t.big],
          ["asset_file_digest", t.id],
        ] as const) {
          if (!(await hasColumn(db, "asset_info_table", column))) {
            await db.schema.alterTable("asset_info_table").addColumn(column, type).execute();
          }
        }
      },
    },
    // SQLite only: where the commit log (commit-log.ts) stands. `applied_lsn`: the last log record in these tables
    // (updated in the same transaction as its rows); `synced_lsn`: the last one durable without the log (rows and
    // asset files fsynced); `ledger_id` ties the log's segments to this database file.
    "0003_sqlite_commit_log_state": {
      async up(db: Kysely<any>) {
        if (dialect !== "sqlite") return;
        await sql`CREATE TABLE IF NOT EXISTS commit_log_state (id INTEGER PRIMARY KEY CHECK (id = 1), ledger_id BLOB NOT NULL, applied_lsn INTEGER NOT NULL, synced_lsn INTEGER NOT NULL)`.execute(db);
      },
    },
  };
}

/** Whether `table` has `column` (probed with a query that reads no row, portable across dialects). */
async function hasColumn(db: Kysely<any>, table: string, column: string): Promise<boolean> {
  try {
    await sql`select ${sql.ref(column)} from ${sql.table(table)} where 1 = 0`.execute(db);
    return true;
  } catch {
    return false;
  }
}

/** Bring a database to the latest ledger schema. */
export async function migrateToLatest(db: Kysely<any>, dialect: DbType, schema?: string): Promise<void> {
  const provider: MigrationProvider = { getMigrations: async () => ledgerMigrations(dialect) };
  // PostgreSQL: name the schema of the migration tables, or kysely's existence check may see another schema's
  const migrator = new Migrator({ db, provider, ...(schema ? { migrationTableSchema: schema } : {}) });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === "Error")?.migrationName;
    throw new StorageError("DB_ERROR", `schema migration ${failed ?? ""} failed on ${dialect}: ${(error as Error).message ?? String(error)}`, { cause: error });
  }
}
