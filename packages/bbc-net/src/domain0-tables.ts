import { fromHex, toHex } from "@bbc1/bbclib";
import type { RandomFn } from "./clock.js";

/**
 * The bounded state of a {@link Domain0Manager} (v1.1.1 `domain_list`, `node_domain_list`,
 * `domain_accept_margin`, `requested_cross_refs`), keyed by hex ids. Every table has a maximum;
 * the oldest entry goes first when it is full, so a flood of advertisements or cross_refs costs
 * bounded memory.
 */
export class Domain0Tables {
  /** node hex -> (domain hex -> last advertised, ms); Map order = least recently heard first. */
  readonly #nodeDomains = new Map<string, Map<string, number>>();
  /** domain hex -> node hex set (v1.1.1 `domain_list`; never the receiver's own domains). */
  readonly #domainNodes = new Map<string, Set<string>>();
  /** origin domain hex -> [window start, margin]. */
  readonly #margins = new Map<string, { at: number; margin: number }>();
  /** origin domain hex -> (txid hex -> accepted at). */
  readonly #requested = new Map<string, Map<string, number>>();
  #requestedCount = 0;
  readonly #now: () => number;
  readonly #maxNodes: number;
  readonly #maxRequested: number;
  readonly #random: RandomFn;

  constructor(o: { now: () => number; maxNodes: number; maxRequested: number; random: RandomFn }) {
    this.#now = o.now;
    this.#maxNodes = Math.max(1, o.maxNodes);
    this.#maxRequested = Math.max(1, o.maxRequested);
    this.#random = o.random;
  }

  /**
   * `_update_domain_list`: the sender's memberships become `domains` (already without the
   * receiver's own), each stamped now; memberships it no longer lists are removed.
   */
  advertised(nodeId: Uint8Array, domains: readonly Uint8Array[]): void {
    const node = toHex(nodeId);
    const now = this.#now();
    const prev = this.#nodeDomains.get(node);
    const next = new Map<string, number>();
    for (const d of domains) next.set(toHex(d), now);
    if (prev !== undefined) for (const d of prev.keys()) if (!next.has(d)) this.#unlink(d, node);
    this.#nodeDomains.delete(node);
    if (next.size === 0) return;
    if (this.#nodeDomains.size >= this.#maxNodes) this.#forgetNode(this.#nodeDomains.keys().next().value!);
    this.#nodeDomains.set(node, next);
    for (const d of next.keys()) {
      let s = this.#domainNodes.get(d);
      if (s === undefined) this.#domainNodes.set(d, (s = new Set()));
      s.add(node);
    }
  }

  #unlink(domain: string, node: string): void {
    const s = this.#domainNodes.get(domain);
    if (s === undefined) return;
    s.delete(node);
    if (s.size === 0) this.#domainNodes.delete(domain);
  }

  #forgetNode(node: string): void {
    const m = this.#nodeDomains.get(node);
    if (m === undefined) return;
    for (const d of m.keys()) this.#unlink(d, node);
    this.#nodeDomains.delete(node);
  }

  /** `_eliminate_obsoleted_entries`: memberships older than `lifetimeMs` are forgotten. */
  expire(lifetimeMs: number): void {
    const now = this.#now();
    for (const [node, m] of [...this.#nodeDomains]) {
      for (const [d, at] of [...m]) {
        if (now - at > lifetimeMs) {
          m.delete(d);
          this.#unlink(d, node);
        }
      }
      if (m.size === 0) this.#nodeDomains.delete(node);
    }
  }

  /** Known foreign domains (hex). */
  domains(): string[] {
    return [...this.#domainNodes.keys()];
  }

  /** Domain0 node ids known for `domainId`. */
  nodesOf(domainId: Uint8Array): Uint8Array[] {
    return [...(this.#domainNodes.get(toHex(domainId)) ?? [])].map(fromHex);
  }

  /** `random.sample(domain_list, min(k, n))`: the node lists of up to k distinct random domains. */
  sampleDomains(k: number): Uint8Array[][] {
    const keys = this.domains();
    for (let i = keys.length - 1; i > 0; i--) {
      const j = Math.floor(this.#random() * (i + 1));
      [keys[i], keys[j]] = [keys[j]!, keys[i]!];
    }
    return keys.slice(0, Math.min(k, keys.length)).map((d) => [...this.#domainNodes.get(d)!].map(fromHex));
  }

  /**
   * The acceptance rule of `_assign_cross_ref` (§11.3 step 2): the first cross_ref of an origin
   * opens a window with margin 1, the next uses the margin, later ones are refused until
   * `windowMs` after the window opened.
   */
  accept(origin: Uint8Array, windowMs: number): boolean {
    const k = toHex(origin);
    const now = this.#now();
    const m = this.#margins.get(k);
    if (m === undefined || (m.margin <= 0 && now - m.at > windowMs)) {
      if (m === undefined && this.#margins.size >= this.#maxRequested) this.#margins.delete(this.#margins.keys().next().value!);
      this.#margins.set(k, { at: now, margin: 1 });
      return true;
    }
    if (m.margin > 0) {
      m.margin--;
      return true;
    }
    return false;
  }

  /** Records an accepted cross_ref (kept until registered or purged). */
  request(origin: Uint8Array, txid: Uint8Array): void {
    const o = toHex(origin);
    let m = this.#requested.get(o);
    if (m?.has(toHex(txid))) return;
    if (this.#requestedCount >= this.#maxRequested) this.#dropOldestRequest();
    if (m === undefined) this.#requested.set(o, (m = new Map()));
    m.set(toHex(txid), this.#now());
    this.#requestedCount++;
  }

  #dropOldestRequest(): void {
    const [o, m] = this.#requested.entries().next().value!;
    m.delete(m.keys().next().value!);
    this.#requestedCount--;
    if (m.size === 0) this.#requested.delete(o);
  }

  /** Removes and reports a recorded cross_ref (it was registered). */
  takeRequested(origin: Uint8Array, txid: Uint8Array): boolean {
    const o = toHex(origin);
    const m = this.#requested.get(o);
    if (m === undefined || !m.delete(toHex(txid))) return false;
    this.#requestedCount--;
    if (m.size === 0) this.#requested.delete(o);
    return true;
  }

  /** `_purge_left_cross_ref`: records older than `ageMs` go. */
  purgeRequested(ageMs: number): void {
    const now = this.#now();
    for (const [o, m] of [...this.#requested]) {
      for (const [t, at] of [...m]) {
        if (now - at > ageMs) {
          m.delete(t);
          this.#requestedCount--;
        }
      }
      if (m.size === 0) this.#requested.delete(o);
    }
  }

  /** Sizes, for stats and tests. */
  get sizes(): { nodes: number; domains: number; requested: number; margins: number } {
    return { nodes: this.#nodeDomains.size, domains: this.#domainNodes.size, requested: this.#requestedCount, margins: this.#margins.size };
  }
}
