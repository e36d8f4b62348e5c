/**
 * v1.1.1's `traverse_transactions`: the transactions reachable from one over the topology edges, hop by hop,
 * optionally filtered by asset group and user.
 * @internal
 * @module
 */
import { bytesEqual, deserialize, toHex } from "@bbc1/bbclib";
import { DEFAULT_MAX_TRAVERSE } from "./config.js";
import { StorageError } from "./errors.js";
import { assetInfoOf } from "./record.js";
import type { StorageLogger, StoredTransaction, TopologyEdge, TraverseOptions, TraverseResult } from "./types.js";

/** The reads a traversal needs from its ledger. */
export interface TraversedLedger {
  get(transactionId: Uint8Array): Promise<StoredTransaction | null>;
  topology(transactionId: Uint8Array, toPast: boolean): Promise<TopologyEdge[]>;
  log: StorageLogger;
}

/**
 * Walks `ledger` from `transactionId` (already checked as an id) for `options.hopCount` hops (default 3, at most
 * twice `maxTraverse`), stopping before a level would take the count of transactions past `maxTraverse`
 * (`allIncluded` false then). Corrupt rows are skipped with a warning.
 */
export async function traverseLedger(ledger: TraversedLedger, transactionId: Uint8Array, options: TraverseOptions): Promise<TraverseResult> {
  const maxTraverse = options.maxTraverse ?? DEFAULT_MAX_TRAVERSE;
  const toPast = (options.direction ?? 1) === 1;
  let hopCount = options.hopCount ?? 3;
  if (hopCount > maxTraverse * 2) hopCount = maxTraverse * 2;
  const visited = new Set<string>();
  let counted = 0;
  let current: Uint8Array[] = [transactionId];
  const tree: StoredTransaction[][] = [];
  let allIncluded = true;
  for (let hop = 0; hop < hopCount; hop++) {
    if (counted + current.length > maxTraverse) {
      allIncluded = false;
      break;
    }
    const level: StoredTransaction[] = [];
    const next: Uint8Array[] = [];
    for (const id of current) {
      const key = toHex(id);
      if (visited.has(key)) continue;
      counted++;
      visited.add(key);
      let stored: StoredTransaction | null;
      try {
        stored = await ledger.get(id);
      } catch (e) {
        if (e instanceof StorageError && e.code === "CORRUPT_ROW") {
          ledger.log.warn({ transactionId: key }, "traverse skips a corrupt row");
          continue;
        }
        throw e;
      }
      if (!stored) continue;
      if (options.assetGroupId || options.userId) {
        let match = false;
        try {
          for (const a of assetInfoOf(deserialize(stored.data))) {
            const g = !options.assetGroupId || (a.assetGroupId !== null && bytesEqual(a.assetGroupId, options.assetGroupId));
            const u = !options.userId || (a.userId !== null && bytesEqual(a.userId, options.userId));
            if (g && u) {
              match = true;
              break;
            }
          }
        } catch {
          match = false; // undecodable data cannot match a filter
        }
        if (!match) continue;
      }
      level.push(stored);
      for (const edge of await ledger.topology(id, toPast)) {
        const n = toPast ? edge.pointTo : edge.base;
        if (!visited.has(toHex(n))) next.push(n);
      }
    }
    if (level.length > 0) tree.push(level);
    current = next;
  }
  return { allIncluded, tree };
}
