/**
 * Where commit-log records are applied to SQLite: a worker thread with its own connection (the default when this
 * module runs as JavaScript: `dist/` or a bundle), or the main thread (from TypeScript sources, or when asked).
 * Either way the host posts batches that are already durable in the log, and learns through `onApplied` up to which
 * lsn the tables hold them. Writes outside the log (`exec`) and sync points run in order with the batches.
 * @internal
 * @module
 */
import { Worker, isMainThread, parentPort, workerData } from "node:worker_threads";
import Database from "better-sqlite3";
import { SqliteApplier, readLogState, type ApplierOptions, type ExecOp } from "./applier.js";
import { FRAME } from "./commit-log.js";
import { decodeInsert, type LoggedInsert } from "./log-codec.js";

const MARKER = "bbc1-storage-applier";

/** Connection settings of a ledger connection that writes behind the log. */
export function writerPragmas(db: Database.Database): void {
  db.pragma("journal_mode = WAL");
  db.pragma("busy_timeout = 5000");
  db.pragma("cache_size = -32768");
  // checkpoints run on the applying connection (NORMAL: they fsync the WAL and the database); fewer, larger ones
  db.pragma("wal_autocheckpoint = 8000");
}

/** Decodes the frames of a batch as written to the log. */
export function decodeFrames(buf: Uint8Array): LoggedInsert[] {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: LoggedInsert[] = [];
  for (let off = 0; off < buf.length; ) {
    const len = view.getUint32(off, true);
    const lsn = view.getUint32(off + 8, true) + view.getUint32(off + 12, true) * 0x1_0000_0000;
    out.push(decodeInsert(buf, view, off + FRAME, off + FRAME + len, lsn));
    off += FRAME + len;
  }
  return out;
}

type ToWorker =
  | { t: "apply"; frames: Uint8Array }
  | { t: "sync"; id: number }
  | { t: "exec"; id: number; op: ExecOp }
  | { t: "close"; id: number };

type FromWorker =
  | { t: "ready" }
  | { t: "applied"; lsn: number; transactions: number; records: number }
  | { t: "done"; id: number; value: number | boolean }
  | { t: "failed"; id: number; message: string }
  | { t: "error"; message: string };

/** Largest number of records applied in one SQLite transaction. */
const MAX_APPLY = 4096;

type Task = { kind: "apply"; items: LoggedInsert[] } | { kind: "sync"; done: (v: number) => void; fail: (e: unknown) => void } | { kind: "exec"; op: ExecOp; done: (v: boolean) => void; fail: (e: unknown) => void } | { kind: "close"; done: (v: number) => void; fail: (e: unknown) => void };

/**
 * The task loop shared by both hosts: consecutive apply tasks are merged into one SQLite transaction; an apply that
 * fails (disk full, I/O error) is retried after a second, keeping everything behind it waiting.
 */
class TaskLoop {
  readonly #applier: SqliteApplier;
  readonly #tasks: Task[] = [];
  readonly #onApplied: (lsn: number) => void;
  readonly #onError: (e: unknown) => void;
  readonly #delayMs: number;
  #scheduled = false;
  #busy = false;

  constructor(applier: SqliteApplier, onApplied: (lsn: number) => void, onError: (e: unknown) => void, delayMs = 0) {
    this.#applier = applier;
    this.#onApplied = onApplied;
    this.#onError = onError;
    this.#delayMs = Math.max(0, delayMs);
  }

  get applier(): SqliteApplier {
    return this.#applier;
  }

  push(t: Task): void {
    this.#tasks.push(t);
    if (!this.#scheduled && !this.#busy) {
      this.#scheduled = true;
      // a delay gathers more records into one SQLite transaction; anything but an apply goes at once
      if (this.#delayMs > 0 && t.kind === "apply") setTimeout(() => void this.#run(), this.#delayMs);
      else setImmediate(() => void this.#run());
    }
  }

  async #run(): Promise<void> {
    this.#scheduled = false;
    if (this.#busy) return;
    this.#busy = true;
    try {
      while (this.#tasks.length > 0) {
        const t = this.#tasks[0]!;
        if (t.kind === "apply") {
          const items: LoggedInsert[] = [];
          let n = 0;
          while (n < this.#tasks.length && this.#tasks[n]!.kind === "apply" && items.length < MAX_APPLY) items.push(...(this.#tasks[n++] as { items: LoggedInsert[] }).items);
          try {
            this.#applier.apply(items);
          } catch (e) {
            this.#onError(e);
            await new Promise((r) => setTimeout(r, 1000));
            continue;
          }
          this.#tasks.splice(0, n);
          this.#onApplied(this.#applier.appliedLsn);
          continue;
        }
        this.#tasks.shift();
        try {
          if (t.kind === "exec") t.done(this.#applier.exec(t.op));
          else if (t.kind === "sync") t.done(await this.#applier.sync());
          else t.done(this.#applier.syncNow());
        } catch (e) {
          t.fail(e);
        }
      }
    } finally {
      this.#busy = false;
    }
  }
}

// ---- worker side -------------------------------------------------------------------------------------------------

if (!isMainThread && (workerData as { role?: string } | null)?.role === MARKER && parentPort !== null) {
  const port = parentPort;
  const { file, opts, delayMs } = workerData as { file: string; opts: ApplierOptions; delayMs?: number };
  const send = (m: FromWorker) => port.postMessage(m);
  let loop: TaskLoop;
  let db: Database.Database;
  try {
    db = new Database(file, { fileMustExist: true });
    writerPragmas(db);
    const applier = new SqliteApplier(db, opts, readLogState(db));
    loop = new TaskLoop(
      applier,
      (lsn) => send({ t: "applied", lsn, transactions: applier.counts.transactions, records: applier.counts.records }),
      (e) => send({ t: "error", message: (e as Error).message ?? String(e) }),
      delayMs,
    );
    send({ t: "ready" });
  } catch (e) {
    send({ t: "error", message: `apply thread cannot open ${file}: ${(e as Error).message}` });
    throw e;
  }
  port.on("message", (m: ToWorker) => {
    if (m.t === "apply") {
      loop.push({ kind: "apply", items: decodeFrames(m.frames) });
      return;
    }
    const done = (value: number | boolean) => send({ t: "done", id: m.id, value });
    const fail = (e: unknown) => send({ t: "failed", id: m.id, message: (e as Error).message ?? String(e) });
    if (m.t === "sync") loop.push({ kind: "sync", done, fail });
    else if (m.t === "exec") loop.push({ kind: "exec", op: m.op, done, fail });
    else
      loop.push({
        kind: "close",
        done: (v) => {
          try {
            db.pragma("wal_checkpoint(TRUNCATE)");
          } catch {
            // a checkpoint is an optimisation
          }
          db.close();
          done(v);
          port.close();
        },
        fail,
      });
  });
}

// ---- main side ---------------------------------------------------------------------------------------------------

/** Callbacks of an {@link ApplyHost}. */
export interface ApplyEvents {
  /** Every record up to `lsn` is now in the tables (readable through any connection). */
  onApplied(lsn: number): void;
  /** An apply failed (it is retried); logged by the owner. */
  onError(message: string): void;
  /** The apply thread is gone (it crashed): the owner applies on the main thread from now on. */
  onLost(message: string): void;
}

/** The main thread's handle on the applier. */
export interface ApplyHost {
  /** True when records are applied on a worker thread. */
  readonly threaded: boolean;
  /** Applies a durable batch: `items` decoded, `frames` the same records as written to the log. */
  post(items: LoggedInsert[], frames: Uint8Array): void;
  /** Sync point; resolves with the lsn durable outside the log. */
  sync(): Promise<number>;
  exec(op: ExecOp): Promise<boolean>;
  /** Applies what is left, a final sync point, closes the applier's connection; resolves with the synced lsn. */
  close(): Promise<number>;
  /** SQLite transactions run and records applied so far (updated with each onApplied). */
  readonly counts: { transactions: number; records: number };
}

class InlineHost implements ApplyHost {
  readonly threaded = false;
  readonly #loop: TaskLoop;
  constructor(applier: SqliteApplier, events: ApplyEvents, delayMs?: number) {
    this.#loop = new TaskLoop(applier, (lsn) => events.onApplied(lsn), (e) => events.onError((e as Error).message ?? String(e)), delayMs);
  }
  get counts() {
    return this.#loop.applier.counts;
  }
  post(items: LoggedInsert[]): void {
    this.#loop.push({ kind: "apply", items });
  }
  sync(): Promise<number> {
    return new Promise((done, fail) => this.#loop.push({ kind: "sync", done, fail }));
  }
  exec(op: ExecOp): Promise<boolean> {
    return new Promise((done, fail) => this.#loop.push({ kind: "exec", op, done, fail }));
  }
  close(): Promise<number> {
    return new Promise((done, fail) => this.#loop.push({ kind: "close", done, fail }));
  }
}

class ThreadHost implements ApplyHost {
  readonly threaded = true;
  readonly counts = { transactions: 0, records: 0 };
  readonly #w: Worker;
  readonly #calls = new Map<number, { done: (v: never) => void; fail: (e: unknown) => void }>();
  #next = 1;
  #dead: Error | undefined;
  #closing = false;
  readonly #delayMs: number;
  #outgoing: Uint8Array[] = [];
  #outgoingBytes = 0;
  #flushTimer: NodeJS.Timeout | NodeJS.Immediate | undefined;

  constructor(w: Worker, events: ApplyEvents, delayMs = 0) {
    this.#w = w;
    this.#delayMs = Math.max(0, delayMs);
    w.on("message", (m: FromWorker) => {
      if (m.t === "applied") {
        this.counts.transactions = m.transactions;
        this.counts.records = m.records;
        events.onApplied(m.lsn);
      } else if (m.t === "done") {
        const c = this.#calls.get(m.id);
        this.#calls.delete(m.id);
        if (this.#calls.size === 0) w.unref();
        c?.done(m.value as never);
      } else if (m.t === "failed") {
        const c = this.#calls.get(m.id);
        this.#calls.delete(m.id);
        if (this.#calls.size === 0) w.unref();
        c?.fail(new Error(m.message));
      } else if (m.t === "error") events.onError(m.message);
    });
    const die = (e: Error) => {
      if (this.#dead) return;
      this.#dead = e;
      for (const c of this.#calls.values()) c.fail(e);
      this.#calls.clear();
      if (!this.#closing) events.onLost(e.message);
    };
    w.on("error", (e) => {
      events.onError(`apply thread failed: ${e.message}`);
      die(e);
    });
    w.on("exit", (code) => die(new Error(`apply thread exited (${code})`)));
  }

  #call<T>(m: (id: number) => ToWorker): Promise<T> {
    if (this.#dead) return Promise.reject(this.#dead);
    this.#flush(); // in order: every batch posted before this call goes first
    const id = this.#next++;
    return new Promise<T>((done, fail) => {
      this.#calls.set(id, { done: done as (v: never) => void, fail });
      // a caller waits for this answer: keep the process alive until it comes
      this.#w.ref();
      this.#w.postMessage(m(id));
    });
  }

  post(_items: LoggedInsert[], frames: Uint8Array): void {
    if (this.#dead) return;
    // batches of one event-loop turn (or of `delayMs`) go over in one message: one wake-up of the thread
    this.#outgoing.push(frames);
    this.#outgoingBytes += frames.byteLength;
    if (this.#outgoingBytes >= 1 << 20) this.#flush();
    else if (this.#flushTimer === undefined) this.#flushTimer = this.#delayMs > 0 ? setTimeout(() => this.#flush(), this.#delayMs) : setImmediate(() => this.#flush());
  }

  #flush(): void {
    if (this.#flushTimer !== undefined) {
      clearTimeout(this.#flushTimer as NodeJS.Timeout);
      clearImmediate(this.#flushTimer as NodeJS.Immediate);
      this.#flushTimer = undefined;
    }
    if (this.#outgoing.length === 0 || this.#dead) return;
    const parts = this.#outgoing;
    this.#outgoing = [];
    this.#outgoingBytes = 0;
    let f: Uint8Array;
    if (parts.length === 1 && parts[0]!.byteOffset === 0 && parts[0]!.byteLength === parts[0]!.buffer.byteLength) f = parts[0]!;
    else {
      f = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
      let off = 0;
      for (const p of parts) {
        f.set(p, off);
        off += p.byteLength;
      }
    }
    // handed over without a copy
    this.#w.postMessage({ t: "apply", frames: f } satisfies ToWorker, [f.buffer as ArrayBuffer]);
  }
  sync(): Promise<number> {
    return this.#call((id) => ({ t: "sync", id }));
  }
  exec(op: ExecOp): Promise<boolean> {
    return this.#call((id) => ({ t: "exec", id, op }));
  }
  async close(): Promise<number> {
    this.#closing = true;
    const v = await this.#call<number>((id) => ({ t: "close", id }));
    await this.#w.terminate().catch(() => undefined);
    return v;
  }
}

/**
 * Starts the applier: a worker thread on its own connection to `file` when possible (and `thread` is not false),
 * else on `mainDb` in this thread. Resolves once the worker has opened the ledger.
 */
export async function startApplier(args: { file: string; mainDb: Database.Database; opts: ApplierOptions; events: ApplyEvents; thread?: boolean; delayMs?: number }): Promise<ApplyHost> {
  const url = new URL(import.meta.url);
  const canThread = args.thread !== false && url.protocol === "file:" && !/\.[cm]?tsx?$/.test(url.pathname);
  if (canThread) {
    // the main thread gathers batches for delayMs; the thread applies what it gets at once
    const w = new Worker(url, { workerData: { role: MARKER, file: args.file, opts: args.opts } });
    const ok = await new Promise<boolean>((res) => {
      const onMsg = (m: FromWorker) => {
        if (m.t === "ready") cleanup(true);
        else if (m.t === "error") cleanup(false);
      };
      const onErr = () => cleanup(false);
      const cleanup = (v: boolean) => {
        w.off("message", onMsg);
        w.off("error", onErr);
        res(v);
      };
      w.on("message", onMsg);
      w.on("error", onErr);
    });
    if (ok) {
      // the log holds whatever the thread has not applied yet: it need not keep the process alive
      w.unref();
      return new ThreadHost(w, args.events, args.delayMs);
    }
    await w.terminate().catch(() => undefined);
  }
  return new InlineHost(new SqliteApplier(args.mainDb, args.opts, readLogState(args.mainDb)), args.events, args.delayMs);
}
