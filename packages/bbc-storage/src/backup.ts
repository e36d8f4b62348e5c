/**
 * Online, consistent backup of a SQLite ledger: SQLite's backup API on a connection that holds
 * one read transaction for the whole copy, so the copy is the database as of one moment while
 * the node goes on writing (WAL: readers and the writer do not block each other). With the ledger's commit log, a
 * running node's tables trail its acknowledgements by the records not yet applied (milliseconds); a log left by a
 * node that is not running is applied before the copy.
 * @module
 */
import { existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { StorageError } from "./errors.js";
import { recoverSqliteLedger } from "./logged-sqlite.js";

/** Options of {@link backupSqliteLedger}. */
export interface SqliteBackupOptions {
  /**
   * The domain's storage directory (asset files), for records the ledger's commit log still holds when no node
   * owns it: they are applied (files included) before the copy. Default: the directory of `source`.
   */
  storageRoot?: string;
  /** storage.type "external": asset files are not written by that replay. */
  external?: boolean;
  /** Pages per step (default 1024); progress is reported after each step. */
  pagesPerStep?: number;
  /** Called after each step with pages copied and total pages. */
  onProgress?: (copiedPages: number, totalPages: number) => void;
}

/** What {@link backupSqliteLedger} wrote. */
export interface SqliteBackupResult {
  file: string;
  pages: number;
  bytes: number;
  /** `PRAGMA integrity_check` of the copy. */
  integrity: string;
}

/**
 * Copies the SQLite ledger `source` to `destination` (a new file; written as a temp file and
 * renamed, so a failed backup leaves nothing half-written), checks the copy's integrity. The
 * source may be in use by a running node.
 */
export async function backupSqliteLedger(source: string, destination: string, options: SqliteBackupOptions = {}): Promise<SqliteBackupResult> {
  if (!existsSync(source)) throw new StorageError("BAD_ARGUMENT", `no SQLite ledger at ${source}`);
  if (existsSync(destination)) throw new StorageError("BAD_ARGUMENT", `${destination} exists; a backup never overwrites`);
  // a commit log nobody owns (a node killed and not restarted) may hold acknowledged inserts the tables lack: apply
  // them first. A running node owns its log: the copy is then its tables as of one moment.
  await recoverSqliteLedger(source, { storageRoot: options.storageRoot ?? dirname(source), external: options.external });
  let db: Database.Database;
  try {
    db = new Database(source, { fileMustExist: true });
    db.pragma("busy_timeout = 10000");
  } catch (cause) {
    throw new StorageError("CONNECT_FAILED", `cannot open SQLite ledger ${source}: ${(cause as Error).message}`, { cause });
  }
  const tmp = `${destination}.partial-${process.pid}`;
  try {
    mkdirSync(dirname(destination), { recursive: true });
    // one read transaction across every step: the snapshot cannot move, so the backup never restarts
    db.prepare("BEGIN").run();
    db.prepare("SELECT count(*) FROM sqlite_master").get();
    const step = Math.max(1, options.pagesPerStep ?? 1024);
    const meta = await db.backup(tmp, {
      progress: ({ totalPages, remainingPages }) => {
        options.onProgress?.(totalPages - remainingPages, totalPages);
        return step;
      },
    });
    db.prepare("COMMIT").run();
    const copy = new Database(tmp, { fileMustExist: true });
    let integrity: string;
    let bytes: number;
    try {
      copy.pragma("journal_mode = WAL"); // the ledger's mode, so the restored file behaves like the original
      integrity = (copy.pragma("integrity_check") as Array<{ integrity_check: string }>).map((r) => r.integrity_check).join("; ");
      const pageSize = copy.pragma("page_size", { simple: true }) as number;
      bytes = meta.totalPages * pageSize;
      copy.pragma("wal_checkpoint(TRUNCATE)");
    } finally {
      copy.close();
    }
    if (integrity !== "ok") throw new StorageError("CORRUPT_DATA", `the backup of ${source} fails its integrity check: ${integrity}`);
    renameSync(tmp, destination);
    for (const ext of ["-wal", "-shm"]) if (existsSync(tmp + ext)) renameSync(tmp + ext, destination + ext);
    return { file: destination, pages: meta.totalPages, bytes, integrity };
  } catch (e) {
    for (const f of [tmp, `${tmp}-wal`, `${tmp}-shm`]) rmSync(f, { force: true });
    if (e instanceof StorageError) throw e;
    throw new StorageError("IO_ERROR", `backup of ${source} failed: ${(e as Error).message}`, { cause: e });
  } finally {
    if (db.inTransaction) db.prepare("ROLLBACK").run();
    db.close();
  }
}
