/**
 * Reads of a logged SQLite ledger that see the overlay too: records durable in the commit log but not yet in the
 * tables. Each reads the tables and the overlay at one applied lsn (the SQLite snapshot), so a record being applied
 * meanwhile is seen exactly once. Errors are the caller's to wrap.
 * @internal
 * @module
 */
import type { RawSearchRow } from "./backend.js";
import { idKey, type Overlay } from "./overlay.js";
import type { SqliteBackend } from "./sqlite.js";
import type { SearchConditions } from "./types.js";

/** Ids given to the edges of pending records: above every id the tables can hold. */
const PROVISIONAL = 2 ** 52;

/** Asset rows matching `c`, the tables' and the pending records' (newer than every row in the tables). */
export function searchMerged(sqlite: SqliteBackend, overlay: Overlay, c: SearchConditions, ascending: boolean, limit: number): RawSearchRow[] {
  if (overlay.size === 0) return sqlite.searchAssetRowsSync(c, ascending, limit);
  return sqlite.snapshot((applied) => {
    const rows = sqlite.searchAssetRowsSync(c, ascending, limit);
    for (const r of rows) {
      // an old asset row of a transaction removed and now inserted again joins the pending transaction
      if ((r.tx_id !== null && r.tx_id !== undefined) || !(r.transaction_id instanceof Uint8Array)) continue;
      const p = overlay.get(r.transaction_id);
      if (p !== undefined && p.lsn > applied) {
        r.tx_id = p.record.transactionId;
        r.transaction_data = p.record.data;
      }
    }
    const pend = overlay.assetRows(c, applied).map(([p]): RawSearchRow => ({ id: `pending ${p.lsn}`, transaction_id: p.record.transactionId, tx_id: p.record.transactionId, transaction_data: p.record.data }));
    const merged = ascending ? rows.concat(pend) : pend.reverse().concat(rows);
    return limit > 0 ? merged.slice(0, limit) : merged;
  });
}

/** Transactions with an asset row matching `c`, in the tables or pending. */
export function countMerged(sqlite: SqliteBackend, overlay: Overlay, c: SearchConditions): number {
  if (overlay.size === 0) return sqlite.countSync(c);
  return sqlite.snapshot((applied) => {
    const seen = new Set<string>();
    let extra = 0;
    for (const [p, i] of overlay.assetRows(c, applied)) {
      const k = idKey(p.record.transactionId);
      if (seen.has(k)) continue;
      seen.add(k);
      // a transaction removed and inserted again still has its old asset rows in the tables: counted there
      const aid = p.record.assets[i]!.assetId;
      if (aid === null || !sqlite.hasAssetRowSync(c, aid, p.record.transactionId)) extra++;
    }
    return sqlite.countSync(c) + extra;
  });
}

/** Topology edges from (`toPast`) or to `transactionId`, the tables' then the pending records' in insertion order. */
export function topologyMerged(sqlite: SqliteBackend, overlay: Overlay, transactionId: Uint8Array, toPast: boolean): Array<{ id: unknown; base: unknown; point_to: unknown }> {
  if (overlay.size === 0) return sqlite.topologySync(transactionId, toPast);
  return sqlite.snapshot((applied) => {
    const rows = sqlite.topologySync(transactionId, toPast);
    const pend = overlay.edges(transactionId, toPast, applied).map((e, i) => ({ id: PROVISIONAL + i, base: e.base, point_to: e.pointTo }));
    return rows.concat(pend);
  });
}
