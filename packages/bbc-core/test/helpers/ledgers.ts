/** Test ledgers built on a real one: every call passed to it, some replaced. */
import type { DomainLedger } from "../../src/index.js";

/** A ledger that passes every call of the required interface (and `settle`) to `l`, with `over` in place of some. */
export function delegatingLedger(l: DomainLedger, over: Partial<DomainLedger> = {}): DomainLedger {
  return {
    insert: (e) => l.insert(e),
    getTransaction: (id) => l.getTransaction(id),
    search: (c, d, n) => l.search(c, d, n),
    count: (c) => l.count(c),
    topology: (id, past) => l.topology(id, past),
    crossRefTransactionIds: () => l.crossRefTransactionIds(),
    readAssetFile: (g, a) => l.readAssetFile(g, a),
    settle: () => l.settle?.() ?? Promise.resolve(),
    close: () => l.close(),
    ...over,
  };
}
