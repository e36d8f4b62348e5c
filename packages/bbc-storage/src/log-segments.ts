/**
 * The segment files of the commit log, and recovery's scan of them (the appending side is `commit-log.ts`).
 *
 * Segment file `<seq, 16 hex digits>.log`:
 * ```
 * header (64 bytes): "BBC1CLOG" | u32 version 1 | u32 header size 64 | u64 seq | u64 first lsn | 16 bytes ledger id
 *                    | 12 reserved | u32 CRC-32 of bytes 0..59
 * records:           u32 payload length | u32 CRC-32 (seq, length, lsn, payload) | u64 lsn | payload
 * ```
 * Records carry consecutive lsns across segments; a length of 0 ends a segment's records (the zero-filled rest of a
 * preallocated segment). Recovery reads the segments in order and stops at the first record that is torn (short, bad
 * CRC) or out of sequence: nothing after it was ever acknowledged, because a batch is acknowledged only after the
 * `fdatasync` that follows its write (and every earlier write) returns.
 * @internal
 * @module
 */
import { closeSync, mkdirSync, openSync, readFileSync, readSync, readdirSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { crc32 } from "node:zlib";

const MAGIC = Buffer.from("BBC1CLOG", "latin1");
/** Size of a segment's header. */
export const HEADER = 64;
/** Frame header of a record: length, CRC, lsn. */
export const FRAME = 16;

/** A record found by recovery. Its payload is `buf[start, end)`. */
export interface RecoveredRecord {
  lsn: number;
  buf: Uint8Array;
  view: DataView;
  start: number;
  end: number;
}

/** What recovery found in the log directory. */
export interface RecoveryScan {
  /** Valid records, in lsn order (only those above `afterLsn`). */
  records: RecoveredRecord[];
  /** The lsn the next record gets. */
  nextLsn: number;
  /** First lsn held by the log (0 when it holds nothing). */
  firstLsn: number;
  /** Why the scan stopped before the end of the last segment, if it did (a torn write, a gap). */
  stoppedBecause?: string;
}

export interface Segment {
  seq: number;
  firstLsn: number;
  path: string;
}

export function segName(seq: number): string {
  return `${seq.toString(16).padStart(16, "0")}.log`;
}

export function u64(view: DataView, off: number, v: number): void {
  view.setUint32(off, v >>> 0, true);
  view.setUint32(off + 4, Math.floor(v / 0x1_0000_0000), true);
}

export function readU64(view: DataView, off: number): number {
  return view.getUint32(off, true) + view.getUint32(off + 4, true) * 0x1_0000_0000;
}

export function seqBytes(seq: number): Uint8Array {
  const b = new Uint8Array(8);
  u64(new DataView(b.buffer), 0, seq);
  return b;
}

/** CRC-32 of a record frame: over the segment seq, the length, the lsn and the payload. */
export function frameCrc(seqB: Uint8Array, frame: Uint8Array, payloadEnd: number): number {
  let c = crc32(seqB);
  c = crc32(frame.subarray(0, 4), c);
  c = crc32(frame.subarray(8, payloadEnd), c);
  return c >>> 0;
}

export function header(seq: number, firstLsn: number, ledgerId: Uint8Array): Uint8Array {
  const h = new Uint8Array(HEADER);
  const v = new DataView(h.buffer);
  h.set(MAGIC, 0);
  v.setUint32(8, 1, true);
  v.setUint32(12, HEADER, true);
  u64(v, 16, seq);
  u64(v, 24, firstLsn);
  h.set(ledgerId.subarray(0, 16), 32);
  v.setUint32(60, crc32(h.subarray(0, 60)) >>> 0, true);
  return h;
}

export function parseHeader(buf: Uint8Array): { seq: number; firstLsn: number; ledgerId: Uint8Array } | undefined {
  if (buf.length < HEADER || !Buffer.from(buf.buffer, buf.byteOffset, 8).equals(MAGIC)) return undefined;
  const v = new DataView(buf.buffer, buf.byteOffset, HEADER);
  if (v.getUint32(8, true) !== 1 || v.getUint32(12, true) !== HEADER) return undefined;
  if ((crc32(buf.subarray(0, 60)) >>> 0) !== v.getUint32(60, true)) return undefined;
  return { seq: readU64(v, 16), firstLsn: readU64(v, 24), ledgerId: buf.slice(32, 48) };
}

export function listSegments(dir: string): Segment[] {
  const out: Segment[] = [];
  for (const f of readdirSync(dir)) {
    const m = /^([0-9a-f]{16})\.log$/.exec(f);
    if (m) out.push({ seq: parseInt(m[1]!, 16), firstLsn: 0, path: join(dir, f) });
  }
  return out.sort((a, b) => a.seq - b.seq);
}

/**
 * Reads every segment of `dir` (the owner's lock held) and returns the valid records above `afterLsn`. A torn record
 * ends its segment; a later segment that does not start exactly where the valid records end is deleted with all
 * after it: nothing in them was acknowledged. A segment of another ledger
 * (a different id in its header) or a gap between the SQLite state and the log makes the whole directory move aside
 * to `<dir>.stale-<time>` (logged by the caller through `stoppedBecause`).
 */
export function scanLog(dir: string, ledgerId: Uint8Array, afterLsn: number): RecoveryScan & { movedAside?: string } {
  const segs = listSegments(dir);
  const records: RecoveredRecord[] = [];
  let expected = 0;
  let firstLsn = 0;
  let stoppedBecause: string | undefined;
  let stopAt = segs.length;
  for (let i = 0; i < segs.length; i++) {
    const seg = segs[i]!;
    const buf = new Uint8Array(readFileSync(seg.path));
    const h = parseHeader(buf);
    if (h === undefined || h.seq !== seg.seq) {
      // a segment being put in place when the process died: nothing in it was acknowledged
      stoppedBecause ??= `segment ${segName(seg.seq)} has no valid header`;
      stopAt = i;
      break;
    }
    if (!Buffer.from(h.ledgerId).equals(Buffer.from(ledgerId.subarray(0, 16)))) {
      const aside = `${dir}.stale-${Date.now()}`;
      renameSync(dir, aside);
      mkdirSync(dir, { recursive: true });
      return { records: [], nextLsn: afterLsn + 1, firstLsn: 0, stoppedBecause: `the log belongs to another ledger; moved to ${aside}`, movedAside: aside };
    }
    if (i === 0) {
      firstLsn = h.firstLsn;
      expected = h.firstLsn;
      if (h.firstLsn > afterLsn + 1) {
        const aside = `${dir}.stale-${Date.now()}`;
        renameSync(dir, aside);
        mkdirSync(dir, { recursive: true });
        return {
          records: [],
          nextLsn: afterLsn + 1,
          firstLsn: 0,
          stoppedBecause: `the log starts at ${h.firstLsn} but the database holds only up to ${afterLsn} (an older database file?); moved to ${aside}`,
          movedAside: aside,
        };
      }
    } else if (h.firstLsn !== expected) {
      stoppedBecause ??= `segment ${segName(seg.seq)} starts at ${h.firstLsn}, expected ${expected}`;
      stopAt = i;
      break;
    }
    seg.firstLsn = h.firstLsn;
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    const sb = seqBytes(seg.seq);
    let off = HEADER;
    let torn = false;
    while (off + FRAME <= buf.length) {
      const len = view.getUint32(off, true);
      if (len === 0) break; // end of the records (zero-filled rest)
      const end = off + FRAME + len;
      const lsn = readU64(view, off + 8);
      if (end > buf.length || lsn !== expected || frameCrc(sb, buf.subarray(off), end - off) !== view.getUint32(off + 4, true)) {
        torn = true;
        break;
      }
      if (lsn > afterLsn) records.push({ lsn, buf, view, start: off + FRAME, end });
      expected = lsn + 1;
      off = end;
    }
    // a torn record ends this segment; the next one counts only if it continues at the torn record's lsn (the
    // segment recovery started after it), else it holds writes that were never acknowledged and goes
    if (torn) stoppedBecause ??= `a torn record at offset ${off} of ${segName(seg.seq)}`;
  }
  // segments after the stop point hold nothing acknowledged; the one with the torn tail is kept (read-only)
  for (const seg of segs.slice(stopAt)) rmSync(seg.path, { force: true });
  if (segs.length === 0 || firstLsn === 0) return { records, nextLsn: afterLsn + 1, firstLsn: 0, stoppedBecause };
  return { records, nextLsn: Math.max(expected, afterLsn + 1), firstLsn, stoppedBecause };
}

/** The header bytes of a segment file (empty when the file is shorter). */
export function readHead(path: string): Uint8Array {
  const fd = openSync(path, "r");
  try {
    const b = new Uint8Array(HEADER);
    let got = 0;
    while (got < HEADER) {
      const n = readSync(fd, b, got, HEADER - got, got);
      if (n === 0) return new Uint8Array(0);
      got += n;
    }
    return b;
  } finally {
    closeSync(fd);
  }
}
