/**
 * Inserts that are durable in the commit log but not yet applied to the SQLite tables. Reads consult it so that an
 * acknowledged transaction is found at once (read-your-writes); entries leave when the apply step reports them in
 * the tables. Only durable records ever enter it, so nothing read from it can be lost by a crash.
 * @internal
 * @module
 */
import type { LoggedFile } from "./log-codec.js";
import type { LedgerRecord, SearchConditions } from "./types.js";

/** A record in the overlay. */
export interface PendingTx {
  lsn: number;
  record: LedgerRecord;
  files: LoggedFile[];
}

/** Binary-string key of an id (one string per distinct byte sequence; cheap to build). */
export function idKey(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("latin1");
}

function same(a: Uint8Array | null, b: Uint8Array): boolean {
  return a !== null && a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}

/** Pending records in lsn order, with an index by transaction id and the asset files they carry. */
export class Overlay {
  #list: PendingTx[] = [];
  #head = 0;
  readonly #byId = new Map<string, PendingTx>();
  /** "<group key>/<asset key>" → the first pending file for that slot (an existing file is kept, as v1.1.1). */
  readonly #files = new Map<string, { lsn: number; content: Uint8Array }>();

  get size(): number {
    return this.#list.length - this.#head;
  }

  /** Highest lsn held, or 0. */
  get lastLsn(): number {
    return this.size === 0 ? 0 : this.#list[this.#list.length - 1]!.lsn;
  }

  add(items: readonly PendingTx[]): void {
    for (const p of items) {
      this.#list.push(p);
      this.#byId.set(idKey(p.record.transactionId), p);
      for (const f of p.files) {
        const k = `${idKey(f.assetGroupId)}/${idKey(f.assetId)}`;
        if (!this.#files.has(k)) this.#files.set(k, { lsn: p.lsn, content: f.content });
      }
    }
  }

  /** Forgets every record up to `lsn` (it is in the tables now, its files on disk). */
  dropUpTo(lsn: number): void {
    while (this.#head < this.#list.length && this.#list[this.#head]!.lsn <= lsn) {
      const p = this.#list[this.#head++]!;
      const k = idKey(p.record.transactionId);
      if (this.#byId.get(k) === p) this.#byId.delete(k);
      for (const f of p.files) {
        const fk = `${idKey(f.assetGroupId)}/${idKey(f.assetId)}`;
        if (this.#files.get(fk)?.lsn === p.lsn) this.#files.delete(fk);
      }
    }
    if (this.#head > 1024 && this.#head * 2 > this.#list.length) {
      this.#list = this.#list.slice(this.#head);
      this.#head = 0;
    }
  }

  get(transactionId: Uint8Array): PendingTx | undefined {
    return this.#byId.get(idKey(transactionId));
  }

  hasKey(key: string): boolean {
    return this.#byId.has(key);
  }

  file(assetGroupId: Uint8Array, assetId: Uint8Array): Uint8Array | undefined {
    return this.#files.get(`${idKey(assetGroupId)}/${idKey(assetId)}`)?.content;
  }

  /** Records above `afterLsn` (not in the tables as of a snapshot that had applied up to it), oldest first. */
  *above(afterLsn: number): Generator<PendingTx> {
    for (let i = this.#head; i < this.#list.length; i++) {
      const p = this.#list[i]!;
      if (p.lsn > afterLsn) yield p;
    }
  }

  /** Every record, oldest first (to re-post them to a new applier). */
  all(): PendingTx[] {
    return this.#list.slice(this.#head);
  }

  /**
   * Asset rows above `afterLsn` matching the conditions, in insertion order: `[record, index of the asset row]`.
   */
  assetRows(c: SearchConditions, afterLsn: number): Array<[PendingTx, number]> {
    const out: Array<[PendingTx, number]> = [];
    for (const p of this.above(afterLsn)) {
      p.record.assets.forEach((a, i) => {
        if (c.assetGroupId && !same(a.assetGroupId, c.assetGroupId)) return;
        if (c.assetId && !same(a.assetId, c.assetId)) return;
        if (c.userId && !same(a.userId, c.userId)) return;
        out.push([p, i]);
      });
    }
    return out;
  }

  /** Topology edges above `afterLsn`: base = id (toPast) or point_to = id, in insertion order. */
  edges(transactionId: Uint8Array, toPast: boolean, afterLsn: number): Array<{ base: Uint8Array; pointTo: Uint8Array }> {
    const out: Array<{ base: Uint8Array; pointTo: Uint8Array }> = [];
    for (const p of this.above(afterLsn)) {
      const base = p.record.transactionId;
      if (toPast) {
        if (!same(base, transactionId)) continue;
        for (const pt of p.record.pointTo) out.push({ base, pointTo: pt });
      } else {
        for (const pt of p.record.pointTo) if (same(pt, transactionId)) out.push({ base, pointTo: pt });
      }
    }
    return out;
  }
}
