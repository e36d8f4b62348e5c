/**
 * What the store needs from one database. One implementation per dialect family: `SqliteBackend`
 * (better-sqlite3, synchronous prepared statements compiled by kysely) and `ServerBackend` (kysely over pg / mysql2).
 * @internal
 * @module
 */
import type { Kysely } from "kysely";
import { StorageError } from "./errors.js";
import type { LedgerDatabase } from "./schema.js";
import type { LoggedFile } from "./log-codec.js";
import type { CrossRefRow, DbType, IntegrityReport, LedgerRecord, SearchConditions, TopologyEdge } from "./types.js";

/** A raw row as read back: values are whatever the driver returned, checked by the store. */
export interface RawTxRow {
  transaction_id: unknown;
  transaction_data: unknown;
}

/** One asset-index row joined with its transaction row (null columns when the transaction is gone). */
export interface RawSearchRow {
  id: unknown;
  transaction_id: unknown;
  tx_id: unknown;
  transaction_data: unknown;
}

export interface DbBackend {
  readonly dbNum: number;
  /** The dialect and the kysely instance over this database (for whole-table work: {@link LedgerTables}). */
  readonly dialect: DbType;
  readonly kysely: Kysely<LedgerDatabase>;
  /**
   * Insert the records in one database transaction (durable when the promise resolves). Returns, per record,
   * whether its transaction row was inserted (false: the id already existed, or appeared earlier in the batch).
   * A back end with {@link takesAssetFiles} also takes each record's asset files and makes them durable with it.
   * `alone`: this batch is one insert and no other is queued (a back end may then commit on the calling thread).
   * `verify` (commit log, one record): its signature check, to run while the record is made durable (rejects with
   * SIGNATURE_INVALID when it fails).
   */
  insertBatch(records: LedgerRecord[], files?: LoggedFile[][], alone?: boolean, verify?: () => boolean | Promise<boolean>): Promise<boolean[]>;
  /** True when {@link insertBatch} stores the asset files itself (the SQLite commit log). */
  readonly takesAssetFiles?: boolean;
  /** Resolves once every acknowledged insert is in the tables (a commit log applies behind its acknowledgements). */
  settle?(): Promise<void>;
  /** The content of an asset file that is durable but not yet written to its place (commit log), if any. */
  pendingFile?(assetGroupId: Uint8Array, assetId: Uint8Array): Uint8Array | undefined;
  /** Counters of the commit log, when there is one. */
  readonly logStats?: import("./log-settings.js").CommitLogStats;
  getTransaction(transactionId: Uint8Array): Promise<RawTxRow | undefined>;
  searchAssetRows(conditions: SearchConditions, ascending: boolean, limit: number): Promise<RawSearchRow[]>;
  count(conditions: SearchConditions): Promise<number>;
  topology(transactionId: Uint8Array, toPast: boolean): Promise<Array<{ id: unknown; base: unknown; point_to: unknown }>>;
  insertCrossRef(transactionId: Uint8Array, outerDomainId: Uint8Array, txidHavingCrossRef: Uint8Array): Promise<void>;
  searchCrossRefs(transactionId: Uint8Array | undefined): Promise<Array<Record<string, unknown>>>;
  countCrossRefsByDomain(outerDomainId: Uint8Array): Promise<number>;
  /** Delete the transaction row and topology rows (base = id, point_to in pointTo). True if the tx row existed. */
  removeTransaction(transactionId: Uint8Array, pointTo: Uint8Array[] | null): Promise<boolean>;
  /**
   * Repair: delete the transaction row and every topology row whose base is its id, then insert `record` (row,
   * asset rows, edges), atomically and durably. True if a row existed before.
   */
  replaceTransaction(record: LedgerRecord): Promise<boolean>;
  integrity(): Promise<IntegrityReport>;
  close(): Promise<void>;
}

/** View driver bytes (Buffer, Uint8Array) as a plain Uint8Array; undefined for anything else. */
export function asBytes(v: unknown): Uint8Array | undefined {
  if (v instanceof Uint8Array) return v.constructor === Uint8Array ? v : new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  return undefined;
}

/** Driver bytes as Buffer for binding (no copy). */
/**
 * Runs an insert's signature check (`InsertOptions.verifySignatures`; none: true). A synchronous check runs
 * before this returns; a throw, a rejection or anything but `true` is a refusal.
 */
export async function checkSignatures(check: (() => boolean | Promise<boolean>) | undefined): Promise<boolean> {
  if (check === undefined) return true;
  try {
    return (await check()) === true;
  } catch {
    return false;
  }
}

export function toBuf(v: Uint8Array): Buffer {
  return Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

/** Integers from drivers (number, bigint, numeric string). */
export function asInt(v: unknown): number | undefined {
  if (typeof v === "number" && Number.isSafeInteger(v)) return v;
  if (typeof v === "bigint") return Number(v);
  if (typeof v === "string" && /^-?\d+$/.test(v)) return Number(v);
  return undefined;
}

/** Edge row to TopologyEdge, or a CORRUPT_ROW error. */
export function edgeOf(row: { id: unknown; base: unknown; point_to: unknown }): TopologyEdge {
  const id = asInt(row.id);
  const base = asBytes(row.base);
  const pointTo = asBytes(row.point_to);
  if (id === undefined || !base || !pointTo) {
    throw new StorageError("CORRUPT_ROW", `topology_table row ${String(row.id)} holds a non-binary base or point_to`, { details: { table: "topology_table", id: String(row.id) } });
  }
  return { id, base, pointTo };
}

export function crossRefOf(row: Record<string, unknown>): CrossRefRow {
  const id = asInt(row.id);
  const transactionId = asBytes(row.transaction_id);
  const outerDomainId = asBytes(row.outer_domain_id);
  const txidHavingCrossRef = asBytes(row.txid_having_cross_ref);
  if (id === undefined || !transactionId || !outerDomainId || !txidHavingCrossRef) {
    throw new StorageError("CORRUPT_ROW", `cross_ref_table row ${String(row.id)} holds non-binary values`, { details: { table: "cross_ref_table", id: String(row.id) } });
  }
  return { id, transactionId, outerDomainId, txidHavingCrossRef };
}

/** Wrap a driver error. */
export function dbError(what: string, cause: unknown): StorageError {
  if (cause instanceof StorageError) return cause;
  return new StorageError("DB_ERROR", `${what}: ${(cause as Error)?.message ?? String(cause)}`, { cause });
}
