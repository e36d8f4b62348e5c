/** A progress bar on standard error when it is a terminal; nothing but the final totals otherwise. */

export class Progress {
  readonly #label: string;
  readonly #unit: string;
  readonly #tty = process.stderr.isTTY === true;
  readonly #started = Date.now();
  #total: number;
  #done = 0;
  #bytes = 0;
  #last = 0;

  constructor(label: string, total: number, unit: string) {
    this.#label = label;
    this.#total = total;
    this.#unit = unit;
  }

  /** Sets how far it is (and, optionally, bytes so far) and redraws at most ten times a second. */
  update(done: number, bytes?: number, total?: number): void {
    this.#done = done;
    if (bytes !== undefined) this.#bytes = bytes;
    if (total !== undefined) this.#total = total;
    const now = Date.now();
    if (!this.#tty || now - this.#last < 100) return;
    this.#last = now;
    const frac = this.#total > 0 ? Math.min(1, this.#done / this.#total) : 0;
    const width = 30;
    const fill = Math.round(frac * width);
    const bar = `${"#".repeat(fill)}${"-".repeat(width - fill)}`;
    process.stderr.write(`\r${this.#label} [${bar}] ${(frac * 100).toFixed(0).padStart(3)}% ${this.#done}/${this.#total} ${this.#unit}${this.#bytes > 0 ? `  ${mb(this.#bytes)}` : ""}  ${seconds(now - this.#started)}   `);
  }

  /** Clears the bar. */
  end(): void {
    if (this.#tty) process.stderr.write("\r\x1b[K");
  }

  get elapsedMs(): number {
    return Date.now() - this.#started;
  }
}

export function mb(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MB` : `${(bytes / 1024).toFixed(1)} kB`;
}

export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
