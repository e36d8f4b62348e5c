/**
 * Where the network counts things. `@bbc1/core`'s `BBcStats` has this shape; counter names are
 * v1.1.1's (`network.domain_ping_send`, `network.send_msg_by_udp4`, `topology_manager.NOTIFY_NEIGHBOR_LIST`, ...)
 * where the reference has them, and `network.drop.<reason>` / `network.refused.<limit>` for the
 * drops and refusals it did not count.
 */
export interface StatsSink {
  increment(category: string, name: string, value?: number): void;
  decrement(category: string, name: string, value?: number): void;
  set(category: string, name: string, value: number): void;
}

/** A self-contained {@link StatsSink} (category -> name -> value) for embedding and tests. */
export class NetStats implements StatsSink {
  readonly #m = new Map<string, Map<string, number>>();

  increment(category: string, name: string, value = 1): void {
    let c = this.#m.get(category);
    if (c === undefined) this.#m.set(category, (c = new Map()));
    c.set(name, (c.get(name) ?? 0) + value);
  }

  decrement(category: string, name: string, value = 1): void {
    this.increment(category, name, -value);
  }

  set(category: string, name: string, value: number): void {
    let c = this.#m.get(category);
    if (c === undefined) this.#m.set(category, (c = new Map()));
    c.set(name, value);
  }

  /** A counter's value (0 when never touched). */
  get(category: string, name: string): number {
    return this.#m.get(category)?.get(name) ?? 0;
  }

  /** Every counter as plain objects. */
  snapshot(): Record<string, Record<string, number>> {
    const out: Record<string, Record<string, number>> = {};
    for (const [k, m] of this.#m) out[k] = Object.fromEntries(m);
    return out;
  }
}
