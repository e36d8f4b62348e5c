/** Rows a transaction adds to the ledger's asset index and topology, as v1.1.1's data_handler derives them. */
import type { BBcTransaction } from "@bbc1/bbclib";
import type { AssetIndexRow } from "./store.js";

/** Asset-index rows of a transaction: events with an asset, then relations with an asset. */
export function assetRowsOf(tx: BBcTransaction): (AssetIndexRow & { fileDigest: Uint8Array | null })[] {
  const rows: (AssetIndexRow & { fileDigest: Uint8Array | null })[] = [];
  for (const holder of [...tx.events, ...tx.relations]) {
    const a = holder.asset;
    if (a === null) continue;
    rows.push({
      assetGroupId: holder.assetGroupId ?? new Uint8Array(0),
      assetId: a.assetId ?? new Uint8Array(0),
      userId: a.userId,
      hasFile: a.assetFileSize > 0,
      fileDigest: a.assetFileDigest,
    });
  }
  return rows;
}

/** Topology edges: references, then the pointers of each relation (duplicates kept). */
export function edgesOf(tx: BBcTransaction): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const r of tx.references) if (r.transactionId) out.push(r.transactionId);
  for (const rel of tx.relations) for (const p of rel.pointers) if (p.transactionId) out.push(p.transactionId);
  return out;
}

