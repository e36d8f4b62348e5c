/**
 * The commit log of a SQLite ledger: an append-only sequence of segment files holding one record per inserted
 * transaction (with its asset files). A batch of records is written with one `write` and made durable with one
 * `fdatasync`; that is the durable commit of every insert in the batch. The SQLite tables are filled behind it
 * (see `logged-sqlite.ts`), and a segment is deleted once every record in it is durable in SQLite too.
 *
 * Segment file `<seq, 16 hex digits>.log`:
 * ```
 * header (64 bytes): "BBC1CLOG" | u32 version 1 | u32 header size 64 | u64 seq | u64 first lsn | 16 bytes ledger id
 *                    | 12 reserved | u32 CRC-32 of bytes 0..59
 * records:           u32 payload length | u32 CRC-32 (seq, length, lsn, payload) | u64 lsn | payload
 * ```
 * Records carry consecutive lsns across segments. Segments are preallocated (zero-filled, fsynced, then renamed into
 * place) so that an `fdatasync` after an append does not also have to journal a new file size; a length of 0 ends a
 * segment's records. Recovery reads the segments in order and stops at the first record that is torn (short, bad
 * CRC) or out of sequence: nothing after it was ever acknowledged, because a batch is acknowledged only after the
 * `fdatasync` that follows its write (and every earlier write) returns.
 *
 * Only one process may append: the owner holds an exclusive SQLite lock on `LOCK` in the log directory (released by
 * the kernel when the process dies, kill -9 included).
 * @internal
 * @module
 */
import { closeSync, fdatasync, fdatasyncSync, fsync, fsyncSync, mkdirSync, openSync, readFileSync, readSync, readdirSync, renameSync, rmSync, writeSync, close as closeCb, promises as fsp } from "node:fs";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import Database from "better-sqlite3";
import { StorageError } from "./errors.js";

const MAGIC = Buffer.from("BBC1CLOG", "latin1");
const HEADER = 64;
/** Frame header of a record: length, CRC, lsn. */
export const FRAME = 16;
/** Size of the first preallocated segment (the next ones double, up to the maximum). */
const FIRST_SPARE = 1 << 20;
const MIN_SEGMENT = 4096;

/** Options of the commit log. */
export interface CommitLogOptions {
  /** Largest size of a segment file (default 32 MiB); the first segments are smaller (1 MiB, doubling). */
  segmentBytes?: number;
  /**
   * Where the fdatasync runs: "pool" (libuv's thread pool: the event loop goes on meanwhile), "inline" (on the
   * calling thread: no hand-off, the loop waits) or "auto" (the default): inline when {@link CommitLog.sync} is told
   * the batch is alone (one insert and nothing else waiting: the loop has nothing to do meanwhile and the hand-off
   * to the pool and back is pure latency) or while the disk syncs fast (see {@link autoInlineBelowMs}), else on the
   * pool.
   */
  fdatasync?: "pool" | "inline" | "auto";
  /**
   * "auto" syncs a batch of up to {@link autoInlineMaxRecords} records on the calling thread while the log's recent
   * fdatasyncs (a moving average) took less than this many ms (default 1): blocking the event loop that briefly
   * costs less than the pool's two thread wake-ups (~0.3 ms measured on a busy 2-core machine), while a slow disk
   * would hold the loop up.
   */
  autoInlineBelowMs?: number;
  /**
   * Largest batch "auto" syncs inline on a fast disk (default 8). A larger batch means many clients waiting: the
   * event loop has their next requests to read meanwhile, so the pool's overlap pays (measured with 64 clients: the
   * same inserts/s either way, and a node that filled 1,000,000 transactions inline held 198–206 MB against 184 MB).
   */
  autoInlineMaxRecords?: number;
}

/** Default of {@link CommitLogOptions.autoInlineBelowMs}. */
export const AUTO_INLINE_BELOW_MS = 1;
/** Default of {@link CommitLogOptions.autoInlineMaxRecords}. */
export const AUTO_INLINE_MAX_RECORDS = 8;

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

interface Segment {
  seq: number;
  firstLsn: number;
  path: string;
}

function segName(seq: number): string {
  return `${seq.toString(16).padStart(16, "0")}.log`;
}

function u64(view: DataView, off: number, v: number): void {
  view.setUint32(off, v >>> 0, true);
  view.setUint32(off + 4, Math.floor(v / 0x1_0000_0000), true);
}

function readU64(view: DataView, off: number): number {
  return view.getUint32(off, true) + view.getUint32(off + 4, true) * 0x1_0000_0000;
}

function seqBytes(seq: number): Uint8Array {
  const b = new Uint8Array(8);
  u64(new DataView(b.buffer), 0, seq);
  return b;
}

/** CRC-32 of a record frame: over the segment seq, the length, the lsn and the payload. */
function frameCrc(seqB: Uint8Array, frame: Uint8Array, payloadEnd: number): number {
  let c = crc32(seqB);
  c = crc32(frame.subarray(0, 4), c);
  c = crc32(frame.subarray(8, payloadEnd), c);
  return c >>> 0;
}

function header(seq: number, firstLsn: number, ledgerId: Uint8Array): Uint8Array {
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

function parseHeader(buf: Uint8Array): { seq: number; firstLsn: number; ledgerId: Uint8Array } | undefined {
  if (buf.length < HEADER || !Buffer.from(buf.buffer, buf.byteOffset, 8).equals(MAGIC)) return undefined;
  const v = new DataView(buf.buffer, buf.byteOffset, HEADER);
  if (v.getUint32(8, true) !== 1 || v.getUint32(12, true) !== HEADER) return undefined;
  if ((crc32(buf.subarray(0, 60)) >>> 0) !== v.getUint32(60, true)) return undefined;
  return { seq: readU64(v, 16), firstLsn: readU64(v, 24), ledgerId: buf.slice(32, 48) };
}

/**
 * Holds the log directory's `LOCK` (an exclusive lock of a small SQLite file): true when this process now owns the
 * log. The lock lasts until {@link releaseLogLock} or the process's end.
 */
export function acquireLogLock(dir: string): Database.Database | undefined {
  mkdirSync(dir, { recursive: true });
  const db = new Database(join(dir, "LOCK"));
  try {
    db.pragma("busy_timeout = 0");
    db.exec("BEGIN EXCLUSIVE");
    return db;
  } catch (e) {
    db.close();
    if ((e as { code?: string }).code === "SQLITE_BUSY") return undefined;
    throw new StorageError("IO_ERROR", `cannot lock the commit log ${dir}: ${(e as Error).message}`, { cause: e });
  }
}

export function releaseLogLock(lock: Database.Database): void {
  try {
    if (lock.inTransaction) lock.exec("ROLLBACK");
  } finally {
    lock.close();
  }
}

function listSegments(dir: string): Segment[] {
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

interface Open {
  seq: number;
  firstLsn: number;
  fd: number;
  path: string;
  /** Preallocated size; Infinity for a segment that grows with each write. */
  capacity: number;
  pos: number;
  seqB: Uint8Array;
}

/**
 * The appending side of the log (owner only). `append` writes a batch synchronously (the page cache), `sync` makes
 * everything appended so far durable.
 */
export class CommitLog {
  readonly dir: string;
  readonly #ledgerId: Uint8Array;
  readonly #maxSegment: number;
  #cur: Open;
  /** Closed segments still on disk, oldest first (deleted by {@link release}). */
  readonly #old: Segment[] = [];
  /** fds written since the last sync (the current one and any rolled-over ones). */
  #dirty = new Set<number>();
  #retired: number[] = [];
  #dirDirty = false;
  #nextLsn: number;
  #spare: { path: string; size: number } | undefined;
  #preparing: Promise<void> | undefined;
  #nextSpareSize: number;
  #syncing: Promise<void> | undefined;
  readonly #placement: "pool" | "inline" | "auto";
  readonly #autoInlineBelowMs: number;
  readonly #autoInlineMaxRecords: number;
  /**
   * Moving average of the recent inline fdatasyncs' durations, ms: the disk's own time (on the pool the hand-offs
   * would count too). Undefined until the first one.
   */
  #syncMs: number | undefined;
  /** Small batches sent to the pool for a slow disk since the last inline one (every 32nd goes inline, a probe). */
  #slowSkips = 0;
  #closed = false;
  /** fdatasync calls made (for the stats). */
  syncs = 0;
  /** Of which on the calling thread. */
  inlineSyncs = 0;

  private constructor(dir: string, ledgerId: Uint8Array, nextLsn: number, old: Segment[], options: CommitLogOptions) {
    this.dir = dir;
    this.#ledgerId = ledgerId;
    this.#maxSegment = Math.max(MIN_SEGMENT, options.segmentBytes ?? 32 << 20);
    this.#nextSpareSize = Math.min(FIRST_SPARE, this.#maxSegment);
    this.#placement = options.fdatasync ?? "auto";
    this.#autoInlineBelowMs = options.autoInlineBelowMs ?? AUTO_INLINE_BELOW_MS;
    this.#autoInlineMaxRecords = options.autoInlineMaxRecords ?? AUTO_INLINE_MAX_RECORDS;
    this.#nextLsn = nextLsn;
    this.#old.push(...old);
    for (const f of readdirSync(dir)) if (f.startsWith("spare")) rmSync(join(dir, f), { force: true });
    const seq = (old.at(-1)?.seq ?? 0) + 1;
    // the first segment is preallocated too (a few ms here): in a file that grows, every fdatasync also has to
    // journal the new size, which made the commits of a freshly opened log several times slower under load
    this.#spare = { path: this.#zeroFillSync(seq), size: this.#nextSpareSize };
    this.#nextSpareSize = Math.min(this.#maxSegment, this.#nextSpareSize * 2);
    this.#cur = this.#create(seq, nextLsn);
    // the new segment's header must be durable before the first record in it is acknowledged
    fsyncSync(this.#cur.fd);
    syncDirSync(dir);
  }

  /**
   * Opens the log for appending after {@link scanLog}: a new segment starting at `nextLsn`; the existing segments
   * stay (read-only) until {@link release} deletes them.
   */
  static open(dir: string, ledgerId: Uint8Array, nextLsn: number, options: CommitLogOptions = {}): CommitLog {
    const old = listSegments(dir).map((s) => {
      const h = parseHeader(readHead(s.path));
      return { ...s, firstLsn: h?.firstLsn ?? 0 };
    });
    return new CommitLog(dir, ledgerId, nextLsn, old, options);
  }

  get nextLsn(): number {
    return this.#nextLsn;
  }

  #create(seq: number, firstLsn: number): Open {
    const path = join(this.dir, segName(seq));
    let fd: number;
    let capacity = Infinity;
    if (this.#spare !== undefined) {
      renameSync(this.#spare.path, path);
      capacity = this.#spare.size;
      this.#spare = undefined;
      fd = openSync(path, "r+");
    } else {
      fd = openSync(path, "wx");
    }
    writeSync(fd, header(seq, firstLsn, this.#ledgerId), 0, HEADER, 0);
    this.#dirDirty = true;
    return { seq, firstLsn, fd, path, capacity, pos: HEADER, seqB: seqBytes(seq) };
  }

  /** Bytes of frame + payload for a payload of `n` bytes. */
  static frameSize(n: number): number {
    return FRAME + n;
  }

  /**
   * Appends records already laid out in `buf` as frames (each {@link FRAME} header left blank, then its payload of
   * `lengths[i]` bytes); fills in lengths, lsns and CRCs; writes them. Returns the lsn of the first record.
   */
  append(buf: Uint8Array, lengths: readonly number[]): number {
    if (this.#closed) throw new StorageError("CLOSED", "the commit log is closed");
    if (this.#mustRoll(buf.length)) this.#roll(buf.length);
    const cur = this.#cur;
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    const first = this.#nextLsn;
    let off = 0;
    for (const len of lengths) {
      const lsn = this.#nextLsn++;
      view.setUint32(off, len, true);
      u64(view, off + 8, lsn);
      view.setUint32(off + 4, frameCrc(cur.seqB, buf.subarray(off), FRAME + len), true);
      off += FRAME + len;
    }
    let written = 0;
    while (written < buf.length) written += writeSync(cur.fd, buf, written, buf.length - written, cur.pos + written);
    cur.pos += buf.length;
    this.#dirty.add(cur.fd);
    // the next segment is made ready as soon as the current one takes records, so that a roll finds it (a segment
    // that had to grow, the spare not being ready, journals its size at every fdatasync)
    if (this.#spare === undefined && this.#preparing === undefined) this.#prepareSpare();
    return first;
  }

  #mustRoll(len: number): boolean {
    const cur = this.#cur;
    if (cur.capacity !== Infinity) return cur.pos + len > cur.capacity;
    // a growing segment (no spare was ready) moves to a preallocated one as soon as there is one
    return cur.pos > HEADER && (this.#spare !== undefined || cur.pos + len > this.#maxSegment);
  }

  #roll(need: number): void {
    const cur = this.#cur;
    this.#old.push({ seq: cur.seq, firstLsn: cur.firstLsn, path: cur.path });
    this.#retired.push(cur.fd);
    if (this.#spare !== undefined && this.#spare.size < HEADER + need) {
      rmSync(this.#spare.path, { force: true });
      this.#spare = undefined;
    }
    this.#cur = this.#create(cur.seq + 1, this.#nextLsn);
    this.#dirty.add(this.#cur.fd);
  }

  /** Zero-fills a segment of {@link #nextSpareSize} bytes for `seq` on this thread, fsynced; returns its path. */
  #zeroFillSync(seq: number): string {
    const size = this.#nextSpareSize;
    const tmp = join(this.dir, `spare-${seq}.tmp`);
    const ready = join(this.dir, `spare-${seq}`);
    const fd = openSync(tmp, "w");
    try {
      const zeros = new Uint8Array(Math.min(size, 1 << 20));
      for (let at = 0; at < size; at += zeros.length) {
        const n = Math.min(zeros.length, size - at);
        let done = 0;
        while (done < n) done += writeSync(fd, zeros, done, n - done, at + done);
      }
      fdatasyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, ready);
    return ready;
  }

  /** Zero-fills the next segment in the background (the libuv pool), fsyncs it, and keeps it ready. */
  #prepareSpare(): void {
    const size = this.#nextSpareSize;
    this.#nextSpareSize = Math.min(this.#maxSegment, size * 2);
    const tmp = join(this.dir, `spare-${this.#cur.seq + 1}.tmp`);
    const ready = join(this.dir, `spare-${this.#cur.seq + 1}`);
    this.#preparing = (async () => {
      const fh = await fsp.open(tmp, "w");
      try {
        const zeros = new Uint8Array(Math.min(size, 1 << 20));
        for (let at = 0; at < size && !this.#closed; at += zeros.length) await fh.write(zeros, 0, Math.min(zeros.length, size - at), at);
        await fh.datasync();
      } finally {
        await fh.close();
      }
      if (this.#closed) throw new Error("closed");
      await fsp.rename(tmp, ready);
      this.#spare = { path: ready, size };
    })()
      .catch(() => {
        void fsp.rm(tmp, { force: true }).catch(() => undefined);
      })
      .finally(() => {
        this.#preparing = undefined;
      });
  }

  /**
   * Makes every record appended so far durable: one fdatasync per segment written since the last sync (plus the
   * directory when a segment was added). Concurrent calls share the running sync and then sync again if needed.
   * `alone`: the caller's batch is a lone insert with nothing else waiting (see {@link CommitLogOptions.fdatasync});
   * `records`: how many records the caller's batch holds (for "auto").
   */
  async sync(alone = false, records = Infinity): Promise<void> {
    while (this.#syncing !== undefined) await this.#syncing;
    if (this.#dirty.size === 0 && !this.#dirDirty) return;
    const fds = [...this.#dirty];
    const dir = this.#dirDirty;
    const retired = this.#retired;
    this.#dirty = new Set();
    this.#dirDirty = false;
    this.#retired = [];
    let inline = this.#placement === "inline" || (this.#placement === "auto" && alone);
    if (!inline && this.#placement === "auto" && records <= this.#autoInlineMaxRecords) {
      // a slow disk keeps small batches on the pool, but one in 32 still goes inline to see whether it sped up
      inline = (this.#syncMs ?? 0) < this.#autoInlineBelowMs || ++this.#slowSkips >= 32;
    }
    if (inline) this.#slowSkips = 0;
    const run = async () => {
      const started = performance.now();
      try {
        if (inline) {
          for (const fd of fds) fdatasyncSync(fd);
          if (dir) syncDirSync(this.dir);
          this.inlineSyncs += fds.length;
        } else {
          await Promise.all(fds.map((fd) => datasync(fd)));
          if (dir) await syncDir(this.dir);
        }
        this.syncs += fds.length;
        if (inline) {
          const ms = performance.now() - started;
          this.#syncMs = this.#syncMs === undefined ? ms : this.#syncMs * 0.9 + ms * 0.1;
        }
      } catch (cause) {
        for (const fd of fds) this.#dirty.add(fd);
        this.#dirDirty ||= dir;
        throw new StorageError("IO_ERROR", `commit log fdatasync failed: ${(cause as Error).message}`, { cause });
      }
      for (const fd of retired) closeCb(fd, () => undefined);
    };
    // (inline, `run` completes before it returns: the marker is cleared after it either way)
    this.#syncing = run();
    try {
      await this.#syncing;
    } finally {
      this.#syncing = undefined;
    }
  }

  /** Deletes the closed segments whose records are all at or below `durableLsn`. */
  release(durableLsn: number): number {
    let n = 0;
    while (this.#old.length > 0) {
      const nextFirst = this.#old[1]?.firstLsn ?? this.#cur.firstLsn;
      if (nextFirst - 1 > durableLsn) break;
      const seg = this.#old.shift()!;
      rmSync(seg.path, { force: true });
      n++;
    }
    return n;
  }

  /** Segments on disk (closed ones and the current one). */
  get segments(): number {
    return this.#old.length + 1;
  }

  /** Closes the log; with `durableLsn` covering everything, every segment is deleted (a clean shutdown). */
  async close(durableLsn?: number): Promise<void> {
    if (this.#closed) return;
    await this.sync();
    this.#closed = true;
    await this.#preparing;
    closeSync(this.#cur.fd);
    if (durableLsn !== undefined && durableLsn >= this.#nextLsn - 1) {
      for (const s of this.#old.splice(0)) rmSync(s.path, { force: true });
      rmSync(this.#cur.path, { force: true });
    }
    for (const f of readdirSync(this.dir)) if (f.startsWith("spare")) rmSync(join(this.dir, f), { force: true });
  }
}

function readHead(path: string): Uint8Array {
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

function datasync(fd: number): Promise<void> {
  return new Promise((res, rej) => fdatasync(fd, (e) => (e ? rej(e) : res())));
}

async function syncDir(dir: string): Promise<void> {
  const fd = openSync(dir, "r");
  try {
    await new Promise<void>((res, rej) => fsync(fd, (e) => (e ? rej(e) : res())));
  } finally {
    closeSync(fd);
  }
}

function syncDirSync(dir: string): void {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
