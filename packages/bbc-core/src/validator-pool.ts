import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { deserialize } from "@bbc1/bbclib";
import { normaliseFiles, validateSubmitted, type SubmittedVerdict, type WireAssetFiles } from "./validator.js";

interface Pending {
  resolve: (v: { ok: boolean; why?: "decode" | "signature" | "asset_file" }) => void;
}

/**
 * Signature verification on worker threads, so that transactions with many signatures (or
 * many inserts at once) do not hold the event loop. The worker script is the compiled
 * `validator-worker.js` next to this module; when it is absent (running from TypeScript
 * sources, or bundled) the pool is inactive and validation runs inline.
 */
export class ValidatorPool {
  readonly #workers: Worker[] = [];
  readonly #pending = new Map<number, Pending>();
  readonly #load: number[] = [];
  /** Minimum number of signatures for a transaction to go to a worker. */
  readonly threshold: number;
  #nextId = 1;
  #closed = false;

  /** Default pool size: 0 on one CPU, else min(4, CPUs − 1). */
  static defaultSize(): number {
    const n = availableParallelism();
    return n <= 1 ? 0 : Math.min(4, n - 1);
  }

  constructor(size: number, options: { threshold?: number } = {}) {
    this.threshold = options.threshold ?? 1;
    const url = new URL("./validator-worker.js", import.meta.url);
    let path: string | undefined;
    try {
      path = url.protocol === "file:" ? fileURLToPath(url) : undefined;
    } catch {
      path = undefined;
    }
    if (path === undefined || !existsSync(path)) return;
    for (let i = 0; i < size; i++) {
      const w = new Worker(url);
      w.unref();
      w.on("message", (m: { id: number; ok: boolean; why?: "decode" | "signature" | "asset_file" }) => {
        const p = this.#pending.get(m.id);
        if (p === undefined) return;
        this.#pending.delete(m.id);
        this.#load[i]!--;
        p.resolve(m);
      });
      w.on("error", () => undefined);
      this.#workers.push(w);
      this.#load.push(0);
    }
  }

  /** True when worker threads are running. */
  get active(): boolean {
    return this.#workers.length > 0 && !this.#closed;
  }

  /** Validates like {@link validateSubmitted}; signature checks on a worker when worthwhile. */
  async validate(data: Uint8Array, files: WireAssetFiles): Promise<SubmittedVerdict> {
    if (!this.active) return validateSubmitted(data, files);
    let sigs = 0;
    try {
      sigs = deserialize(data).signatures.length;
    } catch {
      return { ok: false, why: "decode" };
    }
    if (sigs < this.threshold) return validateSubmitted(data, files);
    const fileMap = normaliseFiles(files);
    let idx = 0;
    for (let i = 1; i < this.#workers.length; i++) if (this.#load[i]! < this.#load[idx]!) idx = i;
    const id = this.#nextId++;
    const r = await new Promise<{ ok: boolean; why?: "decode" | "signature" | "asset_file" }>((resolve) => {
      this.#pending.set(id, { resolve });
      this.#load[idx]!++;
      this.#workers[idx]!.postMessage({ id, data, files: [...fileMap] });
    });
    if (!r.ok) return { ok: false, why: r.why ?? "signature" };
    const tx = deserialize(data);
    tx.digest();
    return { ok: true, tx, files: fileMap };
  }

  /** Terminates the workers (pending validations fall back to inline results). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all(this.#workers.map((w) => w.terminate()));
    for (const [, p] of this.#pending) p.resolve({ ok: false, why: "signature" });
    this.#pending.clear();
  }
}
