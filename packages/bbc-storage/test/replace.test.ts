/**
 * `replaceTransaction` (repair) on every back end, and SQLite with and without its commit log: a forged row is
 * replaced by the verified copy in one commit, edges are those of the copy, asset rows are kept or added as asked,
 * a missing row is inserted, and the result survives closing and reopening the store.
 */
import { describe, expect, it } from "vitest";
import { openLedgerStore, type DomainStorageConfig } from "@bbc1/storage";
import { makeTx, newId } from "./txs.js";
import { allTargets } from "./targets.js";

const targets = (await allTargets()).filter((t) => t.unavailable === undefined);

for (const target of targets) {
  for (const log of target.name === "sqlite" ? (["log", "none", "thread"] as const) : (["log"] as const)) {
    describe(`replaceTransaction on ${target.name}${target.name === "sqlite" ? ` (commit log: ${log})` : ""}`, () => {
      it("replaces a forged row atomically, keeps or adds asset rows, inserts a missing one, survives a reopen", async () => {
        const f = await target.fresh();
        const commitLog = log === "none" ? false : log === "thread" ? { apply_thread: true } : undefined;
        const config: DomainStorageConfig = commitLog === undefined ? f.config : { ...f.config, db: { ...f.config.db, commit_log: commitLog } as DomainStorageConfig["db"] };
        const open = () => openLedgerStore({ domainId: f.domainId, workingDir: f.workingDir, config, searchMaxCount: 30 });
        let store = await open();
        try {
          const group = newId();
          const user = newId();
          const prev = makeTx({ assetGroupId: group, userId: user });
          const tx = makeTx({ assetGroupId: group, userId: user, pointTo: [prev.transactionId!] });
          await store.insertTransaction(prev);
          await store.insertTransaction(tx);
          await store.settle();
          const forged = tx.transactionData!.slice();
          forged[forged.length - 5]! ^= 0xff;
          await f.raw(0, "UPDATE transaction_table SET transaction_data = ? WHERE transaction_id = ?", [Buffer.from(forged), Buffer.from(tx.transactionId!)]);
          await f.raw(0, "INSERT INTO topology_table (base, point_to) VALUES (?, ?)", [Buffer.from(tx.transactionId!), Buffer.from(newId())]);
          expect(Buffer.from((await store.getTransaction(tx.transactionId!))!.data).equals(Buffer.from(forged))).toBe(true);
          expect(await store.replaceTransaction(tx, { assetRows: false })).toBe(true);
          expect(Buffer.from((await store.getTransaction(tx.transactionId!))!.data).equals(Buffer.from(tx.transactionData!))).toBe(true);
          expect((await store.getTopology(tx.transactionId!, true)).map((e) => Buffer.from(e.pointTo).toString("hex"))).toEqual([Buffer.from(prev.transactionId!).toString("hex")]);
          expect(await store.countTransactions({ assetGroupId: group })).toBe(2);
          const rows = await store.searchTransactions({ assetGroupId: group, direction: 1, count: 0 });
          expect(rows.transactions.length).toBe(2);
          // missing: inserted with its asset rows
          await store.removeTransaction(prev.transactionId!);
          expect(await store.getTransaction(prev.transactionId!)).toBeNull();
          expect(await store.replaceTransaction(prev)).toBe(false);
          expect(await store.getTransaction(prev.transactionId!)).not.toBeNull();
          await store.close();
          store = await open();
          expect(Buffer.from((await store.getTransaction(tx.transactionId!))!.data).equals(Buffer.from(tx.transactionData!))).toBe(true);
          expect(await store.getTransaction(prev.transactionId!)).not.toBeNull();
          expect((await store.getTopology(prev.transactionId!, false)).length).toBe(1);
        } finally {
          await store.close().catch(() => undefined);
          await f.cleanup();
        }
      });
    });
  }
}
