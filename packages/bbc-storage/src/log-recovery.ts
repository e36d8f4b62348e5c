/**
 * Recovery of a SQLite ledger's commit log when the ledger is opened: the records above the tables' `applied_lsn`
 * are applied (asset files first), files of records applied but perhaps not synced are checked, a sync point is
 * taken and the log is reopened on a fresh segment.
 * @internal
 * @module
 */
import { deserialize, validateTransaction } from "@bbc1/bbclib";
import type Database from "better-sqlite3";
import { SqliteApplier, readLogState } from "./applier.js";
import { CommitLog, scanLog } from "./commit-log.js";
import { decodeInsert, type LoggedInsert } from "./log-codec.js";
import type { CommitLogSettings } from "./log-settings.js";
import type { StorageLogger } from "./types.js";

/**
 * Recovery's check of a record logged while its signatures were being verified (the insert's `verifySignatures`):
 * the verdict of bbclib's validateTransaction on its bytes, which that callback must equal. One that fails was never
 * acknowledged (its insert was refused) and is never applied.
 */
function signaturesHold(it: LoggedInsert): boolean {
  try {
    const tx = deserialize(it.record.data);
    tx.digest();
    return validateTransaction(tx).valid;
  } catch {
    return false;
  }
}

/** What {@link recoverLog} leaves: the open log, the lsn the tables hold, how many records it replayed. */
export interface RecoveredLog {
  log: CommitLog;
  appliedLsn: number;
  replayed: number;
}

/**
 * Brings the tables of `db` (the ledger `file`) up to the commit log in `dir`, whose lock the caller holds, and opens
 * the log for appending.
 */
export function recoverLog(
  db: Database.Database,
  file: string,
  dir: string,
  args: { storageRoot: string; external: boolean; logger: StorageLogger },
  settings: CommitLogSettings,
): RecoveredLog {
  const t0 = performance.now();
  const state = readLogState(db);
  // records from the last sync point on: rows above applied_lsn are replayed, files above synced_lsn checked
  const scan = scanLog(dir, state.ledgerId, state.syncedLsn);
  if (scan.stoppedBecause !== undefined) args.logger.warn({ file, reason: scan.stoppedBecause }, "commit log recovery: stopped early (nothing after that point was acknowledged)");
  const applier = new SqliteApplier(db, { storageRoot: args.storageRoot, external: args.external }, state);
  const decoded = scan.records.map((r) => decodeInsert(r.buf, r.view, r.start, r.end, r.lsn));
  // an unverified record whose signatures do not hold was refused: never applied, its files never written
  const items = decoded.filter((it) => it.unverified !== true || signaturesHold(it));
  const replay = items.filter((it) => it.lsn > state.appliedLsn);
  // (synced, applied]: rows are in the tables, files may not have reached the disk (power loss): check them
  const check = items.filter((it) => it.lsn <= state.appliedLsn && it.files.length > 0);
  if (check.length > 0) applier.repairFiles(check);
  for (let i = 0; i < replay.length; i += 4096) applier.apply(replay.slice(i, i + 4096), true);
  applier.syncNow();
  const log = CommitLog.open(dir, state.ledgerId, Math.max(scan.nextLsn, applier.appliedLsn + 1), { segmentBytes: settings.segmentBytes, fdatasync: settings.fdatasync });
  log.release(applier.appliedLsn);
  if (replay.length > 0 || scan.stoppedBecause !== undefined) {
    args.logger.info({ file, replayed: replay.length, ms: Math.round(performance.now() - t0) }, "commit log recovered");
  }
  return { log, appliedLsn: applier.appliedLsn, replayed: replay.length };
}
