import { availableParallelism } from "node:os";
import { Worker, isMainThread, parentPort, workerData } from "node:worker_threads";
import { deserialize, validateTransaction, type DeserializeOptions } from "@bbc1/bbclib";
import { SignatureBatches, verifyPackedSignatures, type SignatureBatchStats } from "./signature-batch.js";
import { validateSubmitted, validateSubmittedAsync, validateSubmittedWith, type SubmittedVerdict, type WireAssetFiles } from "./validator.js";

type WorkerVerdict = { id: number; ok: boolean; why?: "decode" | "signature" };
/** A batch of signatures (see signature-batch.ts) and its answer. */
type SignatureBatchJob = { kind: "sigs"; id: number; packed: Uint8Array };
type SignatureBatchAnswer = { kind: "sigs"; id: number; verdicts: Uint8Array; packed: Uint8Array };
/** A worker's first message, once its handler listens: work goes only to workers that sent it. */
type WorkerReady = { kind: "ready" };

// Worker side: this module is also the worker's entry (loaded through its own URL, or through
// the bundle that contains it), recognised by its workerData marker.
const MARKER = "bbc1-core-validator";
if (!isMainThread && (workerData as { role?: string } | null)?.role === MARKER && parentPort !== null) {
  const port = parentPort;
  // the same decode limits as the main thread (config limits.decode)
  const options = (workerData as { deserialize?: DeserializeOptions }).deserialize;
  port.on("message", (job: { id: number; data: Uint8Array } | SignatureBatchJob) => {
    if ("kind" in job) {
      // the verdicts (at most 64 bytes: on V8's heap) are copied; the batch's buffer goes back for reuse
      const verdicts = verifyPackedSignatures(job.packed);
      port.postMessage({ kind: "sigs", id: job.id, verdicts, packed: job.packed } satisfies SignatureBatchAnswer, [job.packed.buffer as ArrayBuffer]);
      return;
    }
    let out: WorkerVerdict;
    try {
      const tx = deserialize(job.data, options);
      tx.digest();
      out = { id: job.id, ok: validateTransaction(tx).valid, why: "signature" };
    } catch {
      out = { id: job.id, ok: false, why: "decode" };
    }
    port.postMessage(out);
  });
  // a worker whose entry is not this module (a bundle whose other code never lets this run) never says so, and
  // gets no work: the pool then verifies as if it had no workers
  port.postMessage({ kind: "ready" } satisfies WorkerReady);
}

interface Pending {
  data: Uint8Array;
  files: WireAssetFiles;
  worker: number;
  resolve: (v: SubmittedVerdict) => void;
}

/**
 * Signature verification on worker threads, so that many inserts at once (or transactions with
 * many signatures) do not hold the event loop; decoding and asset-file checks stay on the main
 * thread. The worker runs this very module (its compiled file, or the bundle it is part of);
 * when that cannot be loaded as JavaScript (running from TypeScript sources) the pool is
 * inactive and everything is validated inline.
 */
export class ValidatorPool {
  readonly #workers: Worker[] = [];
  readonly #load: number[] = [];
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #active = false;
  #batches: SignatureBatches | undefined;
  /** Workers that said they listen. */
  readonly #ready: number[] = [];
  #whenReady: (() => void)[] = [];

  /** Default pool size: 0 on one CPU, else min(4, CPUs − 1). */
  static defaultSize(): number {
    const n = availableParallelism();
    return n <= 1 ? 0 : Math.min(4, n - 1);
  }

  /** Transactions with more signatures than this are verified on a worker; fewer inline. */
  readonly threshold: number;

  /** Decode limits of every transaction validated here (main thread and workers). */
  readonly deserializeOptions: DeserializeOptions | undefined;

  /**
   * `batches`: verify the signatures of concurrent inserts on the workers in batches (default false: on libuv's
   * pool, one hand-off per signature). `entry` (tests): the workers' module instead of this one.
   */
  constructor(size: number, options: { threshold?: number; deserialize?: DeserializeOptions; entry?: URL; batches?: boolean } = {}) {
    this.threshold = options.threshold ?? 8;
    this.deserializeOptions = options.deserialize;
    const url = options.entry ?? new URL(import.meta.url);
    if (url.protocol !== "file:" || /\.[cm]?tsx?$/.test(url.pathname) || size <= 0) return;
    this.#active = true;
    if (options.batches === true) this.#batches = new SignatureBatches((worker, id, packed) => this.#workers[worker]!.postMessage({ kind: "sigs", id, packed } satisfies SignatureBatchJob, [packed.buffer as ArrayBuffer]));
    for (let i = 0; i < size; i++) {
      const w = new Worker(url, { workerData: { role: MARKER, deserialize: options.deserialize } });
      w.unref();
      w.on("message", (m: WorkerVerdict | SignatureBatchAnswer | WorkerReady) => {
        if ("kind" in m) {
          if (m.kind === "ready") this.#workerReady(i);
          else this.#batches?.done(m.id, m.verdicts, m.packed.buffer as ArrayBuffer);
          return;
        }
        const p = this.#pending.get(m.id);
        if (p === undefined) return;
        this.#pending.delete(m.id);
        this.#load[i]!--;
        p.resolve(m.ok ? validateSubmitted(p.data, p.files, true, undefined, this.deserializeOptions) : { ok: false, why: m.why ?? "signature" });
      });
      w.on("error", () => this.#fallback());
      this.#workers.push(w);
      this.#load.push(0);
    }
  }

  #workerReady(i: number): void {
    if (!this.#active || this.#ready.includes(i)) return;
    this.#ready.push(i);
    this.#batches?.addWorker(i);
    for (const r of this.#whenReady.splice(0)) r();
  }

  /** Resolves once a worker listens (or the pool has none or gave them up): tests and benches wait for it. */
  whenReady(): Promise<void> {
    if (!this.#active || this.#ready.length > 0) return Promise.resolve();
    return new Promise((r) => this.#whenReady.push(r));
  }

  /** True while worker threads are in use. */
  get active(): boolean {
    return this.#active;
  }

  /** Counters of the signature batches sent to the workers (undefined while the pool is inactive). */
  get batchStats(): SignatureBatchStats | undefined {
    return this.#batches === undefined ? undefined : { ...this.#batches.stats };
  }

  #fallback(): void {
    this.#active = false;
    this.#batches?.fail();
    for (const r of this.#whenReady.splice(0)) r();
    for (const [id, p] of this.#pending) {
      this.#pending.delete(id);
      p.resolve(validateSubmitted(p.data, p.files, false, undefined, this.deserializeOptions));
    }
  }

  /**
   * Validates like {@link validateSubmitted}. `offThread` (other inserts are in progress): the signatures are
   * verified off this thread, on libuv's pool, or with `batches` on a worker in one batch with those of every other
   * transaction that arrived meanwhile; otherwise inline, the shortest path for an insert that is alone.
   */
  validate(data: Uint8Array, files: WireAssetFiles, offThread = false): Promise<SubmittedVerdict> {
    if (!this.#active) {
      return offThread ? validateSubmittedAsync(data, files, undefined, this.deserializeOptions) : Promise.resolve(validateSubmitted(data, files, false, undefined, this.deserializeOptions));
    }
    // Inline for the common case: a few signatures cost well under a millisecond, and keeping
    // them synchronous lets every insert read in one event-loop turn join one group commit.
    let tx;
    try {
      tx = deserialize(data, this.deserializeOptions);
    } catch {
      return Promise.resolve({ ok: false, why: "decode" });
    }
    if (tx.signatures.length <= this.threshold) {
      if (!offThread) return Promise.resolve(validateSubmitted(data, files, false, tx, this.deserializeOptions));
      const batches = this.#batches;
      return batches !== undefined && this.#ready.length > 0 ? validateSubmittedWith(data, files, tx, this.deserializeOptions, (jobs) => batches.verify(jobs)) : validateSubmittedAsync(data, files, tx, this.deserializeOptions);
    }
    if (this.#ready.length === 0) return Promise.resolve(validateSubmitted(data, files, false, tx, this.deserializeOptions));
    let idx = this.#ready[0]!;
    for (const i of this.#ready) if (this.#load[i]! < this.#load[idx]!) idx = i;
    const id = this.#nextId++;
    return new Promise<SubmittedVerdict>((resolve) => {
      this.#pending.set(id, { data, files, worker: idx, resolve });
      this.#load[idx]!++;
      this.#workers[idx]!.postMessage({ id, data });
    });
  }

  /** Terminates the workers; pending validations complete inline. */
  async close(): Promise<void> {
    const ws = this.#workers.splice(0);
    this.#fallback();
    await Promise.all(ws.map((w) => w.terminate()));
  }
}
