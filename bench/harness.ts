/**
 * Tiny benchmark harness shared by the packages' bench files: runs a function repeatedly for a
 * time budget and reports throughput and per-call latency percentiles.
 */
export interface BenchRow {
  name: string;
  opsPerSec: number;
  p50us?: number;
  p99us?: number;
  note?: string;
}

/** Measure `fn` (synchronous) for about `ms` milliseconds after a warm-up; batches calls so timer cost stays small. */
export function measure(name: string, fn: () => unknown, options: { ms?: number; batch?: number; note?: string } = {}): BenchRow {
  const ms = options.ms ?? 1000;
  const batch = options.batch ?? 1;
  const warmEnd = performance.now() + Math.min(200, ms / 4);
  while (performance.now() < warmEnd) for (let i = 0; i < batch; i++) fn();
  const samples: number[] = [];
  let calls = 0;
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(ms) * 1_000_000n;
  let now = start;
  while (now < deadline) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) fn();
    now = process.hrtime.bigint();
    samples.push(Number(now - t0) / 1000 / batch);
    calls += batch;
  }
  const total = Number(now - start) / 1e9;
  return { name, opsPerSec: calls / total, ...percentiles(samples), note: options.note };
}

/** Measure an async `fn` run `concurrency` at a time for about `ms` milliseconds. */
export async function measureAsync(name: string, fn: () => Promise<unknown>, options: { ms?: number; concurrency?: number; note?: string } = {}): Promise<BenchRow> {
  const ms = options.ms ?? 1000;
  const concurrency = options.concurrency ?? 1;
  for (let i = 0; i < 10; i++) await fn();
  const samples: number[] = [];
  const start = performance.now();
  const deadline = start + ms;
  const worker = async () => {
    while (performance.now() < deadline) {
      const t0 = performance.now();
      await fn();
      samples.push((performance.now() - t0) * 1000);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const total = (performance.now() - start) / 1000;
  return { name, opsPerSec: samples.length / total, ...percentiles(samples), note: options.note };
}

function percentiles(samples: number[]): { p50us: number; p99us: number } {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0;
  return { p50us: at(0.5), p99us: at(0.99) };
}
