/**
 * Reading the storage-related keys of a v1.1.1 domain config.
 * @module
 */
import { isAbsolute, join } from "node:path";
import { StorageError } from "./errors.js";
import type { CommitLogSettings, DbConfig, DbType, DomainStorageConfig, OpenLedgerStoreOptions, ReplicationStrategy } from "./types.js";

function badFdatasync(): never {
  throw new StorageError("BAD_CONFIG", 'db.commit_log.fdatasync must be "auto", "pool" or "inline"');
}

/** `db.commit_log` to settings (a wrong type is a BAD_CONFIG). */
function commitLogOf(v: DbConfig["commit_log"]): CommitLogSettings {
  if (v === undefined || v === null || v === true) return {};
  if (v === false) return { enabled: false };
  if (typeof v !== "object") throw new StorageError("BAD_CONFIG", "db.commit_log must be true, false or an object");
  const num = (x: unknown, k: string) => {
    if (x === undefined) return undefined;
    if (typeof x !== "number" || !Number.isFinite(x) || x <= 0) throw new StorageError("BAD_CONFIG", `db.commit_log.${k} must be a positive number`);
    return x;
  };
  if (v.apply_thread !== undefined && typeof v.apply_thread !== "boolean") throw new StorageError("BAD_CONFIG", "db.commit_log.apply_thread must be a boolean");
  return {
    segmentBytes: num(v.segment_bytes, "segment_bytes"),
    syncIntervalMs: num(v.sync_interval_ms, "sync_interval_ms"),
    maxPending: num(v.max_pending, "max_pending"),
    applyDelayMs: num(v.apply_delay_ms, "apply_delay_ms"),
    applyThread: v.apply_thread,
    fdatasync: v.fdatasync === undefined ? undefined : v.fdatasync === "inline" || v.fdatasync === "pool" || v.fdatasync === "auto" ? v.fdatasync : badFdatasync(),
  };
}

/** v1.1.1 `domain_default` storage and db sections. */
export const DEFAULT_DOMAIN_STORAGE_CONFIG: Readonly<DomainStorageConfig> = Object.freeze({
  storage: { type: "internal" },
  db: {
    db_type: "sqlite",
    db_name: "bbc_ledger.sqlite",
    replication_strategy: "all",
    db_servers: [{ db_addr: "127.0.0.1", db_port: 3306, db_user: "user", db_pass: "pass" }],
  },
});

/** Default `search_config.max_count` of v1.1.1. */
export const DEFAULT_SEARCH_MAX_COUNT = 30;
/** Default `search_config.max_traverse` of v1.1.1. */
export const DEFAULT_MAX_TRAVERSE = 30;

/** One database to connect to. */
export interface ResolvedServer {
  dbNum: number;
  /** SQLite: file path. */
  file?: string;
  host?: string;
  port?: number;
  user?: string;
  password?: string;
  /** Database name (servers). */
  database?: string;
  /** Connection string when given. */
  url?: string;
  /** PostgreSQL schema. */
  schema?: string;
}

/** The storage configuration after defaults. */
export interface ResolvedStorageConfig {
  dbType: DbType;
  domainIdHex: string;
  storageRoot: string;
  external: boolean;
  replicationStrategy: ReplicationStrategy;
  servers: ResolvedServer[];
  /** SQLite: the commit log's settings from `db.commit_log`. */
  commitLog: CommitLogSettings;
  /** SQLite: `db.sqlite_cache_mb`, `db.sqlite_mmap_mb`. */
  sqliteMemory: { cacheMb?: number; mmapMb?: number };
}

/** Map v1.1.1 `replication_strategy` to its meaning ("all", "p2p", anything else external). */
export function replicationStrategyOf(value: unknown): ReplicationStrategy {
  if (value === undefined || value === null || value === "all") return "all";
  if (value === "p2p") return "p2p";
  return "external";
}

/** Domain id to its 64 hex digit form. */
export function domainIdHex(domainId: Uint8Array | string): string {
  if (typeof domainId === "string") {
    if (!/^[0-9a-fA-F]+$/.test(domainId) || domainId.length % 2 !== 0) throw new StorageError("BAD_ARGUMENT", `domain_id "${domainId}" is not hex`);
    return domainId.toLowerCase();
  }
  if (!(domainId instanceof Uint8Array) || domainId.length === 0) throw new StorageError("BAD_ARGUMENT", "domain_id must be a non-empty Uint8Array or hex string");
  return Buffer.from(domainId.buffer, domainId.byteOffset, domainId.byteLength).toString("hex");
}

/**
 * Resolve the storage root, db type, databases and replication setting as v1.1.1's `DataHandler` does
 * (`_storage_setup`, `_db_setup`), with the TypeScript extensions (PostgreSQL, `db_url`, `db_schema`).
 */
export function resolveStorageConfig(options: OpenLedgerStoreOptions): ResolvedStorageConfig {
  const hexId = domainIdHex(options.domainId);
  const conf = options.config ?? DEFAULT_DOMAIN_STORAGE_CONFIG;
  const storage = conf.storage ?? { type: "internal" };
  const db = conf.db ?? {};
  const external = storage.type === "external";
  let storageRoot = join(options.workingDir, hexId);
  if (!external && typeof storage.root === "string" && isAbsolute(storage.root) && storage.root.startsWith("/")) {
    storageRoot = join(storage.root, hexId);
  }
  const rawType = String(db.db_type ?? "sqlite").toLowerCase();
  const dbType: DbType | undefined =
    rawType === "sqlite" || rawType === "sqlite3" ? "sqlite" : rawType === "mysql" || rawType === "mariadb" ? "mysql" : rawType === "postgres" || rawType === "postgresql" || rawType === "pg" ? "postgres" : undefined;
  if (!dbType) throw new StorageError("BAD_CONFIG", `unknown db.db_type "${String(db.db_type)}" (sqlite, mysql, postgres)`);
  const dbName = db.db_name ?? "bbc1_db.sqlite";
  if (typeof dbName !== "string" || dbName.length === 0) throw new StorageError("BAD_CONFIG", "db.db_name must be a non-empty string");
  const servers: ResolvedServer[] = [];
  if (dbType === "sqlite") {
    servers.push({ dbNum: 0, file: isAbsolute(dbName) ? dbName : join(storageRoot, dbName) });
  } else {
    const list = db.db_servers ?? [];
    if (!Array.isArray(list) || list.length === 0) throw new StorageError("BAD_CONFIG", `db.db_servers must list at least one server for db_type ${dbType}`);
    list.forEach((s, i) => {
      if (!s || typeof s !== "object") throw new StorageError("BAD_CONFIG", `db.db_servers[${i}] is not an object`);
      if (s.db_url !== undefined) {
        if (typeof s.db_url !== "string") throw new StorageError("BAD_CONFIG", `db.db_servers[${i}].db_url must be a string`);
        let u: URL;
        try {
          u = new URL(s.db_url);
        } catch (cause) {
          throw new StorageError("BAD_CONFIG", `db.db_servers[${i}].db_url is not a URL`, { cause });
        }
        const database = decodeURIComponent(u.pathname.replace(/^\//, "")) || undefined;
        servers.push({ dbNum: i, url: s.db_url, database, schema: s.db_schema });
      } else {
        servers.push({
          dbNum: i,
          host: s.db_addr ?? "127.0.0.1",
          port: s.db_port ?? (dbType === "mysql" ? 3306 : 5432),
          user: s.db_user ?? "user",
          password: s.db_pass ?? "password",
          database: dbName,
          schema: s.db_schema,
        });
      }
    });
  }
  const mb = (v: unknown, k: string): number | undefined => {
    if (v === undefined) return undefined;
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0) throw new StorageError("BAD_CONFIG", `db.${k} must be a number of MiB (0 or more)`);
    return v;
  };
  return {
    dbType,
    domainIdHex: hexId,
    storageRoot,
    external,
    replicationStrategy: replicationStrategyOf(db.replication_strategy),
    servers,
    commitLog: dbType === "sqlite" ? commitLogOf(db.commit_log) : {},
    sqliteMemory: { cacheMb: mb(db.sqlite_cache_mb, "sqlite_cache_mb"), mmapMb: mb(db.sqlite_mmap_mb, "sqlite_mmap_mb") },
  };
}
