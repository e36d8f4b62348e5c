/**
 * Worker thread body of {@link ValidatorPool}: validates submitted transactions off the main
 * thread. Messages: `{ id, data, files: [hexAssetId, content][] }` → `{ id, ok, why? }`.
 */
import { parentPort } from "node:worker_threads";
import { validateSubmitted } from "./validator.js";

interface Job {
  id: number;
  data: Uint8Array;
  files: [string, Uint8Array][];
}

parentPort?.on("message", (job: Job) => {
  const files = new Map<Uint8Array, Uint8Array>();
  for (const [k, v] of job.files) files.set(Buffer.from(k, "hex"), v);
  const r = validateSubmitted(job.data, files);
  parentPort!.postMessage(r.ok ? { id: job.id, ok: true } : { id: job.id, ok: false, why: r.why });
});
