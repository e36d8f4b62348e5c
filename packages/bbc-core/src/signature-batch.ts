/**
 * Signatures of concurrent inserts verified in batches on a worker thread. Handing each signature to libuv's pool
 * costs two thread wake-ups per signature (and, on a machine whose cores are busy, the woken thread preempts the
 * event loop for the whole verification); one batch per worker round trip pays that once for every signature that
 * arrived meanwhile. One batch is in flight per worker: while it runs, the next one gathers.
 * @internal
 * @module
 */
import { cryptoBackend, type CurveType } from "@bbc1/bbclib";
import type { SignatureJob } from "./validator.js";

/** Item header: curve u8, reserved u8, public key length u16, signature length u16, reserved u16, message length u32. */
const ITEM = 12;

/**
 * Lays `jobs` out in one buffer (transferred to the worker without a copy): in `spare`'s memory when it is large
 * enough (the buffer of an earlier batch, handed back by the worker), else in a new one.
 */
export function packSignatureJobs(jobs: readonly SignatureJob[], spare?: ArrayBuffer): Uint8Array {
  let total = 4;
  for (const j of jobs) total += ITEM + j.publicKey.length + j.signature.length + j.message.length;
  const buf = spare !== undefined && spare.byteLength >= total ? new Uint8Array(spare, 0, total) : new Uint8Array(new ArrayBuffer(Math.max(total, 4096)), 0, total);
  const view = new DataView(buf.buffer, 0, total);
  view.setUint32(0, jobs.length, true);
  let off = 4;
  for (const j of jobs) {
    view.setUint8(off, j.curve);
    view.setUint16(off + 2, j.publicKey.length, true);
    view.setUint16(off + 4, j.signature.length, true);
    view.setUint32(off + 8, j.message.length, true);
    off += ITEM;
    buf.set(j.publicKey, off);
    off += j.publicKey.length;
    buf.set(j.signature, off);
    off += j.signature.length;
    buf.set(j.message, off);
    off += j.message.length;
  }
  return buf;
}

/** The worker's side: one verdict byte (1 valid, 0 not) per packed job, by the same backend call as inline. */
export function verifyPackedSignatures(buf: Uint8Array): Uint8Array {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (buf.length < 4) return new Uint8Array(0);
  const n = view.getUint32(0, true);
  // at most one verdict per item header the buffer can hold: a bad count cannot make a large allocation
  const out = new Uint8Array(Math.min(n, Math.floor((buf.length - 4) / ITEM)));
  let off = 4;
  for (let i = 0; i < out.length; i++) {
    if (off + ITEM > buf.length) break;
    const curve = view.getUint8(off);
    const pkLen = view.getUint16(off + 2, true);
    const sigLen = view.getUint16(off + 4, true);
    const msgLen = view.getUint32(off + 8, true);
    off += ITEM;
    if (off + pkLen + sigLen + msgLen > buf.length) break; // a torn item and all after it: not valid
    const pk = buf.subarray(off, (off += pkLen));
    const sig = buf.subarray(off, (off += sigLen));
    const msg = buf.subarray(off, (off += msgLen));
    let ok = false;
    try {
      ok = (curve === 1 || curve === 2) && cryptoBackend.verifyMessage(curve as CurveType, pk, msg, sig);
    } catch {
      ok = false;
    }
    out[i] = ok ? 1 : 0;
  }
  return out;
}

/** Verdicts of `jobs` on this thread (no worker left). */
export function verifyInline(jobs: readonly SignatureJob[]): boolean[] {
  return Array.from(verifyPackedSignatures(packSignatureJobs(jobs)), (b) => b === 1);
}

interface Entry {
  jobs: SignatureJob[];
  resolve: (verdicts: boolean[]) => void;
}

/** Counters of the batches (GET_STATS / tests). */
export interface SignatureBatchStats {
  batches: number;
  signatures: number;
  maxBatch: number;
}

/**
 * The main thread's side: queues the signatures of each transaction, sends what has gathered to an idle worker (at
 * the end of the event-loop turn, so that every request read in it joins), and resolves each transaction's verdicts.
 */
export class SignatureBatches {
  readonly #post: (worker: number, id: number, packed: Uint8Array) => void;
  /**
   * Per worker, the buffer of its last batch, handed back with the verdicts: a busy worker that received a fresh
   * buffer per batch and allocated little else collected them rarely, and at a million inserts those dead buffers
   * held ~30 MB of the node's RSS.
   */
  readonly #spare = new Map<number, ArrayBuffer>();
  readonly #maxPerBatch: number;
  readonly #idle: number[] = [];
  #queue: Entry[] = [];
  readonly #inFlight = new Map<number, { worker: number; entries: Entry[] }>();
  #nextId = 1;
  #scheduled = false;
  #dead = false;
  readonly stats: SignatureBatchStats = { batches: 0, signatures: 0, maxBatch: 0 };

  /** `post` sends a packed batch to a worker, which answers through {@link done}. Workers join with {@link addWorker}. */
  constructor(post: (worker: number, id: number, packed: Uint8Array) => void, maxPerBatch = 64) {
    this.#post = post;
    this.#maxPerBatch = Math.max(1, maxPerBatch);
  }

  /** Worker `i` listens: it takes batches from now on. */
  addWorker(i: number): void {
    this.#idle.push(i);
    if (this.#queue.length > 0) this.#flush();
  }

  /** Verdicts of one transaction's signatures, in order. */
  verify(jobs: SignatureJob[]): Promise<boolean[]> {
    if (this.#dead) return Promise.resolve(verifyInline(jobs));
    return new Promise<boolean[]>((resolve) => {
      this.#queue.push({ jobs, resolve });
      if (this.#idle.length > 0 && !this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => {
          this.#scheduled = false;
          this.#flush();
        });
      }
    });
  }

  #flush(): void {
    while (this.#idle.length > 0 && this.#queue.length > 0) {
      const entries: Entry[] = [];
      let n = 0;
      while (this.#queue.length > 0 && (entries.length === 0 || n + this.#queue[0]!.jobs.length <= this.#maxPerBatch)) {
        const e = this.#queue.shift()!;
        entries.push(e);
        n += e.jobs.length;
      }
      const worker = this.#idle.shift()!;
      const id = this.#nextId++;
      this.#inFlight.set(id, { worker, entries });
      this.stats.batches++;
      this.stats.signatures += n;
      if (n > this.stats.maxBatch) this.stats.maxBatch = n;
      const spare = this.#spare.get(worker);
      this.#spare.delete(worker);
      this.#post(worker, id, packSignatureJobs(entries.flatMap((e) => e.jobs), spare));
    }
  }

  /** A worker's answer to batch `id`: one verdict byte per signature, and the batch's buffer back for the next one. */
  done(id: number, verdicts: Uint8Array, buffer?: ArrayBuffer): void {
    const b = this.#inFlight.get(id);
    if (b === undefined) return;
    this.#inFlight.delete(id);
    if (buffer !== undefined) this.#spare.set(b.worker, buffer);
    let at = 0;
    for (const e of b.entries) {
      const mine = Array.from(verdicts.subarray(at, at + e.jobs.length), (v) => v === 1);
      at += e.jobs.length;
      // a short answer never passes a signature it did not cover
      while (mine.length < e.jobs.length) mine.push(false);
      e.resolve(mine);
    }
    this.#idle.push(b.worker);
    // what gathered while this batch ran goes at once: waiting for another turn would only add latency
    this.#flush();
  }

  /** The workers are gone: everything in flight or queued is verified here, and from now on every call. */
  fail(): void {
    this.#dead = true;
    const entries = [...[...this.#inFlight.values()].flatMap((b) => b.entries), ...this.#queue];
    this.#inFlight.clear();
    this.#queue = [];
    for (const e of entries) e.resolve(verifyInline(e.jobs));
  }
}
