/**
 * Metric cells for the hot path, exposed through prom-client at scrape time.
 *
 * prom-client hashes the label set on every `inc` / `observe`, even through a child made with
 * `labels(...)`: a string built per call. The insert path must not pay that, so it updates plain
 * numbers in cells created once (one per label set, bound when the node or a domain starts), and
 * prom-client reads them only when `/metrics` is scraped.
 * @module
 */
import { Counter, Histogram, type Registry } from "prom-client";

/** A monotonic counter value; `inc` is one addition. */
export class CounterCell {
  value = 0;
  inc(n = 1): void {
    this.value += n;
  }
}

/** A histogram of one label set: per-bucket counts (not cumulative), sum and count. */
export class HistogramCell {
  readonly bounds: readonly number[];
  /** counts[i] = observations in (bounds[i-1], bounds[i]]; the last slot is (last bound, +Inf). */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(bounds: readonly number[]) {
    this.bounds = bounds;
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(v: number): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && v > b[i]!) i++;
    this.counts[i]!++;
    this.sum += v;
    this.count++;
  }
}

type Labels = Record<string, string>;

/** A counter family whose children are {@link CounterCell}s (plus optional values read at scrape time). */
export class CellCounter {
  readonly #cells: { labels: Labels; cell: CounterCell }[] = [];

  constructor(registry: Registry, name: string, help: string, labelNames: readonly string[] = [], extra?: () => Iterable<[Labels, number]>) {
    const cells = this.#cells;
    new Counter({
      name,
      help,
      labelNames: [...labelNames],
      registers: [registry],
      collect() {
        this.reset();
        for (const { labels, cell } of cells) this.inc(labels, cell.value);
        if (extra !== undefined) for (const [labels, v] of extra()) this.inc(labels, v);
      },
    });
  }

  /** A new cell for `labels` (call once per label set, outside the hot path). */
  cell(labels: Labels = {}): CounterCell {
    const cell = new CounterCell();
    this.#cells.push({ labels, cell });
    return cell;
  }

  /** Forgets the cells of `labels` (a domain that was removed). */
  drop(match: (labels: Labels) => boolean): void {
    for (let i = this.#cells.length - 1; i >= 0; i--) if (match(this.#cells[i]!.labels)) this.#cells.splice(i, 1);
  }
}

type HistogramSnapshot = Awaited<ReturnType<Histogram<string>["get"]>>;

interface ExportedValue {
  labels: Record<string, string | number>;
  value: number;
  metricName: string;
}

/**
 * A histogram family whose children are {@link HistogramCell}s. It is a prom-client `Histogram`
 * (so the registry formats it) whose exported values come from the cells.
 */
export class CellHistogram extends Histogram<string> {
  readonly #cells: { labels: Labels; cell: HistogramCell }[] = [];
  readonly #bounds: readonly number[];
  readonly #name: string;
  readonly #help: string;

  constructor(registry: Registry, name: string, help: string, buckets: readonly number[], labelNames: readonly string[] = []) {
    super({ name, help, buckets: [...buckets], labelNames: [...labelNames], registers: [registry] });
    this.#bounds = buckets;
    this.#name = name;
    this.#help = help;
  }

  /** A new cell for `labels` (once per label set, outside the hot path). */
  cell(labels: Labels = {}): HistogramCell {
    const cell = new HistogramCell(this.#bounds);
    this.#cells.push({ labels, cell });
    return cell;
  }

  /** Forgets the cells whose labels match. */
  drop(match: (labels: Labels) => boolean): void {
    for (let i = this.#cells.length - 1; i >= 0; i--) if (match(this.#cells[i]!.labels)) this.#cells.splice(i, 1);
  }

  #values(): ExportedValue[] {
    const out: ExportedValue[] = [];
    const bucket = `${this.#name}_bucket`;
    for (const { labels, cell } of this.#cells) {
      let acc = 0;
      for (let i = 0; i < cell.bounds.length; i++) {
        acc += cell.counts[i]!;
        out.push({ labels: { ...labels, le: cell.bounds[i]! }, value: acc, metricName: bucket });
      }
      out.push({ labels: { ...labels, le: "+Inf" }, value: cell.count, metricName: bucket });
      out.push({ labels, value: cell.sum, metricName: `${this.#name}_sum` });
      out.push({ labels, value: cell.count, metricName: `${this.#name}_count` });
    }
    return out;
  }

  override async get(): Promise<HistogramSnapshot> {
    // the registry prints `type` as it is: the string, not the d.ts enum
    const snapshot = { name: this.#name, help: this.#help, type: "histogram", values: this.#values(), aggregator: "sum" };
    return snapshot as unknown as HistogramSnapshot;
  }

  /** What prom-client's registry formats (it prefers this method to `get`). */
  async getForPromString(): Promise<unknown> {
    return this.get();
  }
}
