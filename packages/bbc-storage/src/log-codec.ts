/**
 * The payload of one commit-log record: everything an insert writes (the {@link LedgerRecord} and the asset files
 * that come with it), in a compact binary form that the apply step and recovery decode again.
 *
 * ```
 * u8 type (1 = insert; 2 = insert whose signatures were being verified while it was logged: recovery verifies it)
 * id     transaction_id            id  = u8 length (255 = null) + bytes (ids are at most 64 bytes)
 * u32 length + transaction bytes
 * u16 asset rows, each: id asset_group_id, id asset_id, id user_id, f64 asset_file_size, id asset_file_digest
 * u16 topology edges, each: id point_to
 * u16 files, each: id asset_group_id, id asset_id, u32 length + content
 * ```
 * Little-endian throughout.
 * @internal
 * @module
 */
import { StorageError } from "./errors.js";
import type { LedgerRecord } from "./types.js";

/** An asset file carried by a log record. */
export interface LoggedFile {
  assetGroupId: Uint8Array;
  assetId: Uint8Array;
  content: Uint8Array;
}

/** A decoded insert record. */
export interface LoggedInsert {
  lsn: number;
  record: LedgerRecord;
  files: LoggedFile[];
  /** Logged before its signatures were verified (type 2): recovery verifies it before applying it. */
  unverified?: boolean;
}

const TYPE_INSERT = 1;
const TYPE_UNVERIFIED_INSERT = 2;
const NULL_ID = 255;

function idSize(v: Uint8Array | null | undefined): number {
  return 1 + (v ? v.length : 0);
}

/** Bytes {@link encodeInsert} writes for this record. */
export function insertSize(rec: LedgerRecord, files: readonly LoggedFile[]): number {
  let n = 1 + idSize(rec.transactionId) + 4 + rec.data.length + 2;
  for (const a of rec.assets) n += idSize(a.assetGroupId) + idSize(a.assetId) + idSize(a.userId) + 8 + idSize(a.assetFileDigest);
  n += 2;
  for (const p of rec.pointTo) n += idSize(p);
  n += 2;
  for (const f of files) n += idSize(f.assetGroupId) + idSize(f.assetId) + 4 + f.content.length;
  return n;
}

/** Writes the record at `off` of `out` (which has room for {@link insertSize} bytes); returns the end offset. */
export function encodeInsert(out: Uint8Array, view: DataView, off: number, rec: LedgerRecord, files: readonly LoggedFile[], unverified = false): number {
  const id = (v: Uint8Array | null | undefined) => {
    if (!v) {
      out[off++] = NULL_ID;
      return;
    }
    out[off++] = v.length;
    out.set(v, off);
    off += v.length;
  };
  const count = (n: number, what: string) => {
    if (n > 0xffff) throw new StorageError("BAD_ARGUMENT", `a transaction with ${n} ${what} cannot be logged (max 65535)`);
    view.setUint16(off, n, true);
    off += 2;
  };
  out[off++] = unverified ? TYPE_UNVERIFIED_INSERT : TYPE_INSERT;
  id(rec.transactionId);
  view.setUint32(off, rec.data.length, true);
  off += 4;
  out.set(rec.data, off);
  off += rec.data.length;
  count(rec.assets.length, "asset rows");
  for (const a of rec.assets) {
    id(a.assetGroupId);
    id(a.assetId);
    id(a.userId);
    view.setFloat64(off, a.assetFileSize ?? 0, true);
    off += 8;
    id(a.assetFileDigest);
  }
  count(rec.pointTo.length, "topology edges");
  for (const p of rec.pointTo) id(p);
  count(files.length, "asset files");
  for (const f of files) {
    id(f.assetGroupId);
    id(f.assetId);
    view.setUint32(off, f.content.length, true);
    off += 4;
    out.set(f.content, off);
    off += f.content.length;
  }
  return off;
}

/**
 * Decodes a payload written by {@link encodeInsert}. The result's byte arrays are views into `buf` (no copies): keep
 * `buf` alive as long as they are used. Throws `CORRUPT_DATA` for a payload that does not parse (the CRC of the log
 * frame makes that a software fault, not a torn write).
 */
export function decodeInsert(buf: Uint8Array, view: DataView, start: number, end: number, lsn: number): LoggedInsert {
  let off = start;
  const need = (n: number) => {
    if (off + n > end) throw new StorageError("CORRUPT_DATA", `commit log record ${lsn} is truncated`);
  };
  const id = (): Uint8Array | null => {
    need(1);
    const n = buf[off++]!;
    if (n === NULL_ID) return null;
    need(n);
    const v = buf.subarray(off, off + n);
    off += n;
    return v;
  };
  const u16 = () => {
    need(2);
    const v = view.getUint16(off, true);
    off += 2;
    return v;
  };
  const bytes32 = () => {
    need(4);
    const n = view.getUint32(off, true);
    off += 4;
    need(n);
    const v = buf.subarray(off, off + n);
    off += n;
    return v;
  };
  need(1);
  const type = buf[off++];
  if (type !== TYPE_INSERT && type !== TYPE_UNVERIFIED_INSERT) throw new StorageError("CORRUPT_DATA", `commit log record ${lsn} has unknown type ${type}`);
  const transactionId = id();
  if (transactionId === null) throw new StorageError("CORRUPT_DATA", `commit log record ${lsn} has no transaction_id`);
  const data = bytes32();
  const assets: LedgerRecord["assets"] = [];
  for (let i = 0, n = u16(); i < n; i++) {
    const assetGroupId = id();
    const assetId = id();
    const userId = id();
    need(8);
    const assetFileSize = view.getFloat64(off, true);
    off += 8;
    assets.push({ assetGroupId, assetId, userId, assetFileSize, assetFileDigest: id() });
  }
  const pointTo: Uint8Array[] = [];
  for (let i = 0, n = u16(); i < n; i++) {
    const p = id();
    if (p === null) throw new StorageError("CORRUPT_DATA", `commit log record ${lsn} has a null point_to`);
    pointTo.push(p);
  }
  const files: LoggedFile[] = [];
  for (let i = 0, n = u16(); i < n; i++) {
    const assetGroupId = id();
    const assetId = id();
    if (assetGroupId === null || assetId === null) throw new StorageError("CORRUPT_DATA", `commit log record ${lsn} has a file without ids`);
    files.push({ assetGroupId, assetId, content: bytes32() });
  }
  if (off !== end) throw new StorageError("CORRUPT_DATA", `commit log record ${lsn} has ${end - off} trailing bytes`);
  const item: LoggedInsert = { lsn, record: { transactionId, data, assets, pointTo }, files };
  if (type === TYPE_UNVERIFIED_INSERT) item.unverified = true;
  return item;
}
