/**
 * Applying commit-log records to the SQLite tables: the asset files first (temp file + link, kept when one exists),
 * then the rows of every record and the new `applied_lsn`, in one SQLite transaction. The connection runs with
 * `synchronous=NORMAL` (the log already made these inserts durable); a *sync point* later fsyncs the asset files
 * written since the previous one and commits `synced_lsn` with `synchronous=FULL`, after which the log segments
 * up to it may go. Runs on the apply thread (`apply-thread.ts`), or on the main thread when no worker can be started.
 * @internal
 * @module
 */
import { createHash, randomBytes } from "node:crypto";
import { closeSync, existsSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, promises as fsp } from "node:fs";
import { join } from "node:path";
import type Database from "better-sqlite3";
import { toBuf } from "./backend.js";
import type { LoggedFile, LoggedInsert } from "./log-codec.js";
import type { LedgerRecord } from "./types.js";

type Stmt = Database.Statement<unknown[], unknown>;

const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex");

/** The commit-log state row of a ledger (table `commit_log_state`). */
export interface LogState {
  ledgerId: Uint8Array;
  appliedLsn: number;
  syncedLsn: number;
}

/** Reads (creating on first use) the commit-log state of the ledger. */
export function readLogState(db: Database.Database): LogState {
  let row = db.prepare("SELECT ledger_id, applied_lsn, synced_lsn FROM commit_log_state WHERE id = 1").get() as { ledger_id: Buffer; applied_lsn: number; synced_lsn: number } | undefined;
  if (row === undefined) {
    db.prepare("INSERT OR IGNORE INTO commit_log_state (id, ledger_id, applied_lsn, synced_lsn) VALUES (1, ?, 0, 0)").run(randomBytes(16));
    row = db.prepare("SELECT ledger_id, applied_lsn, synced_lsn FROM commit_log_state WHERE id = 1").get() as { ledger_id: Buffer; applied_lsn: number; synced_lsn: number };
  }
  return { ledgerId: new Uint8Array(row.ledger_id), appliedLsn: Number(row.applied_lsn), syncedLsn: Number(row.synced_lsn) };
}

/** A write that does not come through the log: run after every record posted before it, committed with FULL. */
export type ExecOp =
  | { op: "remove"; transactionId: Uint8Array; pointTo: Uint8Array[] | null }
  | { op: "crossRef"; transactionId: Uint8Array; outerDomainId: Uint8Array; txidHavingCrossRef: Uint8Array }
  /** Repair: the row and its edges replaced by `record` (and its asset rows added) in one commit. */
  | { op: "replace"; record: LedgerRecord };

/** Options of {@link SqliteApplier}. */
export interface ApplierOptions {
  storageRoot: string;
  /** storage.type external: asset files are not written. */
  external: boolean;
}

function nb(v: Uint8Array | null): Buffer | null {
  return v ? toBuf(v) : null;
}

/** Applies log records to one SQLite connection (synchronous; see the module comment). */
export class SqliteApplier {
  readonly #db: Database.Database;
  readonly #opts: ApplierOptions;
  readonly #insTx: Stmt;
  readonly #insAsset: Stmt;
  readonly #insEdge: Stmt;
  readonly #setApplied: Stmt;
  readonly #setSynced: Stmt;
  readonly #delTx: Stmt;
  readonly #delEdge: Stmt;
  readonly #delBase: Stmt;
  readonly #insXref: Stmt;
  readonly #run: (items: readonly LoggedInsert[], repair: boolean) => void;
  /** Files (and their directories) written since the last sync point. */
  #unsynced = new Set<string>();
  #appliedLsn: number;
  #syncedLsn: number;
  /** Counters: SQLite transactions run, records applied. */
  readonly counts = { transactions: 0, records: 0 };

  constructor(db: Database.Database, opts: ApplierOptions, state: LogState) {
    this.#db = db;
    this.#opts = opts;
    this.#appliedLsn = state.appliedLsn;
    this.#syncedLsn = state.syncedLsn;
    db.pragma("synchronous = NORMAL");
    this.#insTx = db.prepare("INSERT INTO transaction_table (transaction_id, transaction_data) VALUES (?, ?) ON CONFLICT DO NOTHING");
    this.#insAsset = db.prepare(
      "INSERT INTO asset_info_table (transaction_id, asset_group_id, asset_id, user_id, asset_file_size, asset_file_digest) VALUES (?, ?, ?, ?, ?, ?)",
    );
    this.#insEdge = db.prepare("INSERT INTO topology_table (base, point_to) VALUES (?, ?)");
    this.#setApplied = db.prepare("UPDATE commit_log_state SET applied_lsn = ? WHERE id = 1");
    this.#setSynced = db.prepare("UPDATE commit_log_state SET synced_lsn = ? WHERE id = 1");
    this.#delTx = db.prepare("DELETE FROM transaction_table WHERE transaction_id = ?");
    this.#delEdge = db.prepare("DELETE FROM topology_table WHERE base = ? AND point_to = ?");
    this.#delBase = db.prepare("DELETE FROM topology_table WHERE base = ?");
    this.#insXref = db.prepare("INSERT INTO cross_ref_table (transaction_id, outer_domain_id, txid_having_cross_ref) VALUES (?, ?, ?)");
    const { insTx, insAsset, insEdge, setApplied } = { insTx: this.#insTx, insAsset: this.#insAsset, insEdge: this.#insEdge, setApplied: this.#setApplied };
    this.#run = db.transaction((items: readonly LoggedInsert[], repair: boolean) => {
      // files before rows: a row never exists without its file
      if (!this.#opts.external) for (const it of items) for (const f of it.files) this.#writeFile(f, it, repair);
      for (const { record: r } of items) {
        const id = toBuf(r.transactionId);
        if (insTx.run(id, toBuf(r.data)).changes !== 1) continue; // already there (a replay, or another process)
        for (const a of r.assets) insAsset.run(id, nb(a.assetGroupId), nb(a.assetId), nb(a.userId), a.assetFileSize ?? 0, nb(a.assetFileDigest));
        for (const p of r.pointTo) insEdge.run(id, toBuf(p));
      }
      setApplied.run(items[items.length - 1]!.lsn);
    });
  }

  get appliedLsn(): number {
    return this.#appliedLsn;
  }

  get syncedLsn(): number {
    return this.#syncedLsn;
  }

  /**
   * Applies records (lsn order, all above {@link appliedLsn}) in one SQLite transaction. `repair` (recovery after a
   * crash): an asset file that exists but holds other bytes than the record is replaced when it does not match the
   * asset's recorded digest either (a file cut short by a power loss), else kept.
   */
  apply(items: readonly LoggedInsert[], repair = false): void {
    const fresh = items.filter((it) => it.lsn > this.#appliedLsn);
    if (fresh.length === 0) return;
    this.#run(fresh, repair);
    this.#appliedLsn = fresh[fresh.length - 1]!.lsn;
    this.counts.transactions++;
    this.counts.records += fresh.length;
  }

  /** Recovery: the files of records already in the tables, written again where missing or cut short. */
  repairFiles(items: readonly LoggedInsert[]): void {
    if (this.#opts.external) return;
    for (const it of items) for (const f of it.files) this.#writeFile(f, it, true);
  }

  #writeFile(f: LoggedFile, it: LoggedInsert, repair: boolean): void {
    const dir = join(this.#opts.storageRoot, hex(f.assetGroupId));
    const path = join(dir, hex(f.assetId));
    if (existsSync(path)) {
      if (!repair) return; // v1.1.1: an existing file is kept
      const have = readFileSync(path);
      if (have.equals(Buffer.from(f.content.buffer, f.content.byteOffset, f.content.byteLength))) return;
      const declared = it.record.assets.find((a) => a.assetId !== null && Buffer.from(a.assetId).equals(Buffer.from(f.assetId)))?.assetFileDigest;
      if (declared === null || declared === undefined) return; // nothing tells a torn file from a kept one: keep
      if (createHash("sha256").update(have).digest().equals(Buffer.from(declared))) return;
      const tmp = join(dir, `.${hex(f.assetId)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
      writeFileSync(tmp, f.content);
      renameSync(tmp, path);
    } else {
      mkdirSync(dir, { recursive: true });
      // temp file, then link: the final name never shows a partial file, and an existing one is never replaced
      const tmp = join(dir, `.${hex(f.assetId)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
      writeFileSync(tmp, f.content, { flag: "wx" });
      try {
        linkSync(tmp, path);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      } finally {
        rmSync(tmp, { force: true });
      }
    }
    this.#unsynced.add(path);
    this.#unsynced.add(dir);
  }

  /**
   * The sync point: fsyncs the asset files (and directories) written since the last one, then commits
   * `synced_lsn` with `synchronous=FULL` (which also makes every earlier NORMAL commit durable). Resolves with the
   * lsn up to which records are now durable outside the log.
   */
  async sync(): Promise<number> {
    const upTo = this.#appliedLsn;
    const paths = [...this.#unsynced];
    this.#unsynced.clear();
    try {
      await fsyncAll(paths);
    } catch (e) {
      for (const p of paths) this.#unsynced.add(p);
      throw e;
    }
    if (upTo <= this.#syncedLsn && paths.length === 0) return this.#syncedLsn;
    this.#full(() => this.#setSynced.run(upTo));
    this.#syncedLsn = upTo;
    return upTo;
  }

  /** The same as {@link sync}, synchronously (recovery and close). */
  syncNow(): number {
    const upTo = this.#appliedLsn;
    for (const p of this.#unsynced) fsyncPath(p);
    this.#unsynced.clear();
    this.#full(() => this.#setSynced.run(upTo));
    this.#syncedLsn = upTo;
    return upTo;
  }

  #full<T>(fn: () => T): T {
    this.#db.pragma("synchronous = FULL");
    try {
      return this.#db.transaction(fn)();
    } finally {
      this.#db.pragma("synchronous = NORMAL");
    }
  }

  /** A write outside the log (remove, cross_ref), committed durably. Returns what the operation returns. */
  exec(op: ExecOp): boolean {
    return this.#full(() => {
      if (op.op === "crossRef") {
        this.#insXref.run(toBuf(op.transactionId), toBuf(op.outerDomainId), toBuf(op.txidHavingCrossRef));
        return true;
      }
      if (op.op === "replace") {
        const r = op.record;
        const id = toBuf(r.transactionId);
        const existed = this.#delTx.run(id).changes > 0;
        this.#delBase.run(id);
        this.#insTx.run(id, toBuf(r.data));
        for (const a of r.assets) this.#insAsset.run(id, nb(a.assetGroupId), nb(a.assetId), nb(a.userId), a.assetFileSize ?? 0, nb(a.assetFileDigest));
        for (const pt of r.pointTo) this.#insEdge.run(id, toBuf(pt));
        return existed;
      }
      const id = toBuf(op.transactionId);
      const existed = this.#delTx.run(id).changes > 0;
      if (op.pointTo === null) this.#delBase.run(id);
      else for (const p of op.pointTo) this.#delEdge.run(id, toBuf(p));
      return existed;
    });
  }
}

function fsyncPath(path: string): void {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return; // removed since (repair, remove)
    throw e;
  }
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

async function fsyncAll(paths: string[]): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < paths.length) {
      const p = paths[next++]!;
      let fh: fsp.FileHandle;
      try {
        fh = await fsp.open(p, "r");
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT") continue;
        throw e;
      }
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(8, paths.length) }, worker));
}
