/**
 * What the metrics cost an insert, measured in isolation (end-to-end insert rows vary by far more
 * than this with the disk's fsync): the work a stored insert adds (two clock reads per timed
 * span, one counter, two histogram observations), against the same updates through prom-client's
 * own label children; and the cost of one scrape of a node with a domain.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { Counter, Histogram, Registry } from "prom-client";
import { getNewId } from "@bbc1/bbclib";
import type { BenchRow } from "../../../bench/harness.js";
import { measure, measureAsync } from "../../../bench/harness.js";
import { BBcCoreService } from "../src/index.js";

const MS = Number(process.env.BBC1_BENCH_MS ?? 1000);

export async function run(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const dir = mkdtempSync(join(tmpdir(), "bbc1-metrics-bench-"));
  const node = await BBcCoreService.start({ workingDir: dir, corePort: 0, useNodeKey: false, logger: pino({ level: "silent" }), http: { port: 0 } });
  try {
    await node.createDomain(getNewId("metrics bench domain"));
    const m = node.metrics;
    let sink = 0;
    rows.push(
      measure(
        "metric updates of one stored insert (cells)",
        () => {
          const t0 = performance.now();
          const t1 = performance.now();
          m.verifySeconds.observe((performance.now() - t1) / 1000);
          m.inserts.inc();
          m.insertSeconds.observe((performance.now() - t0) / 1000);
        },
        { ms: MS, batch: 1000, note: "2 clock pairs, 1 counter, 2 histograms" },
      ),
    );
    rows.push(
      measure(
        "an error counter (cells)",
        () => {
          m.insertErrors.duplicate.inc();
        },
        { ms: MS, batch: 1000 },
      ),
    );
    // the same through prom-client's label children, for comparison
    const reg = new Registry();
    const hist = new Histogram({ name: "h_seconds", help: "h", buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers: [reg] });
    const verify = new Histogram({ name: "v_seconds", help: "v", buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1], registers: [reg] });
    const count = new Counter({ name: "c_total", help: "c", registers: [reg] });
    const errors = new Counter({ name: "e_total", help: "e", labelNames: ["reason"], registers: [reg] }).labels("duplicate");
    rows.push(
      measure(
        "metric updates of one stored insert (prom-client)",
        () => {
          const t0 = performance.now();
          const t1 = performance.now();
          verify.observe((performance.now() - t1) / 1000);
          count.inc();
          hist.observe((performance.now() - t0) / 1000);
        },
        { ms: MS, batch: 1000, note: "same updates, prom-client objects" },
      ),
    );
    rows.push(measure("an error counter (prom-client label child)", () => errors.inc(), { ms: MS, batch: 1000, note: "hashes the label set per call" }));
    rows.push(
      await measureAsync(
        "scrape /metrics (1 domain)",
        async () => {
          const r = await fetch(`${node.http!.url}/metrics`);
          sink += (await r.text()).length;
        },
        { ms: MS, note: "HTTP round trip, node registry + process metrics" },
      ),
    );
    if (sink < 0) throw new Error("unreachable");
  } finally {
    await node.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}
