/**
 * Process-lifetime counters, category -> counter -> integer (bbc1 v1.1.1 `BBcStats`).
 * Counters exist only after their first update, as in the reference.
 */
export class BBcStats {
  readonly #stats = new Map<string, Map<string, number>>();

  /** Adds `value` (default 1) to a counter. */
  increment(category: string, name: string, value = 1): void {
    let c = this.#stats.get(category);
    if (c === undefined) this.#stats.set(category, (c = new Map()));
    c.set(name, (c.get(name) ?? 0) + value);
  }

  /** Subtracts `value` (default 1) from a counter. */
  decrement(category: string, name: string, value = 1): void {
    this.increment(category, name, -value);
  }

  /** Sets a gauge. */
  set(category: string, name: string, value: number): void {
    let c = this.#stats.get(category);
    if (c === undefined) this.#stats.set(category, (c = new Map()));
    c.set(name, value);
  }

  /** Current value of a counter (0 when it never changed). */
  get(category: string, name: string): number {
    return this.#stats.get(category)?.get(name) ?? 0;
  }

  /** A deep copy as plain objects. */
  snapshot(): Record<string, Record<string, number>> {
    const out: Record<string, Record<string, number>> = {};
    for (const [cat, m] of this.#stats) out[cat] = Object.fromEntries(m);
    return out;
  }

  /** A deep copy as nested Maps (what RESPONSE_GET_STATS carries). */
  toMaps(): Map<string, Map<string, number>> {
    const out = new Map<string, Map<string, number>>();
    for (const [cat, m] of this.#stats) out.set(cat, new Map(m));
    return out;
  }
}
