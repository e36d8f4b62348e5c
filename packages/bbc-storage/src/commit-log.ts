/**
 * The commit log of a SQLite ledger: an append-only sequence of segment files holding one record per inserted
 * transaction (with its asset files). A batch of records is written with one `write` and made durable with one
 * `fdatasync`; that is the durable commit of every insert in the batch. The SQLite tables are filled behind it
 * (see `logged-sqlite.ts`), and a segment is deleted once every record in it is durable in SQLite too.
 *
 * The segment format and recovery's scan are in `log-segments.ts`. Segments are preallocated (zero-filled, fsynced,
 * then renamed into place), the first one of a freshly opened log too, so that an `fdatasync` after an append does
 * not also have to journal a new file size.
 *
 * Only one process may append: the owner holds an exclusive SQLite lock on `LOCK` in the log directory (released by
 * the kernel when the process dies, kill -9 included).
 * @internal
 * @module
 */
import { closeSync, fdatasync, fdatasyncSync, fsync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, writeSync, close as closeCb, promises as fsp } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { StorageError } from "./errors.js";
import { FRAME, HEADER, frameCrc, header, listSegments, parseHeader, readHead, segName, seqBytes, u64, type Segment } from "./log-segments.js";

export { FRAME, scanLog, type RecoveredRecord, type RecoveryScan } from "./log-segments.js";
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
   * to the pool and back is pure latency) or when it is small while the disk syncs fast (see
   * {@link autoInlineBelowMs}, {@link autoInlineMaxRecords}), else on the pool.
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
