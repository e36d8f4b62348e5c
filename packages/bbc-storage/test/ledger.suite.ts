/**
 * The storage suite, shared by the three back ends: the same assertions run against SQLite, PostgreSQL and MariaDB.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sha256, toHex, type BBcTransaction } from "@bbc1/bbclib";
import { decodeStoredTransaction, isStorageError, openLedgerStore, StorageError, type LedgerStore } from "@bbc1/storage";
import type { Fresh, Target } from "./targets.js";
import { makeTx, newId } from "./txs.js";

const hexes = (xs: Array<{ transactionId: Uint8Array } | Uint8Array>) => xs.map((x) => toHex(x instanceof Uint8Array ? x : x.transactionId));
const idOf = (tx: BBcTransaction) => tx.transactionId as Uint8Array;

async function rejectsWith(p: Promise<unknown>, code: string): Promise<StorageError> {
  try {
    await p;
  } catch (e) {
    expect(isStorageError(e)).toBe(true);
    expect((e as StorageError).code).toBe(code);
    return e as StorageError;
  }
  throw new Error(`expected a StorageError ${code}`);
}

export function describeLedgerSuite(target: Target): void {
  describe(`LedgerStore on ${target.name}`, () => {
    let fresh: Fresh;
    let store: LedgerStore;
    const MAX = 10;

    beforeAll(async () => {
      fresh = await target.fresh();
      store = await openLedgerStore({ domainId: fresh.domainId, workingDir: fresh.workingDir, config: fresh.config, searchMaxCount: MAX });
    });
    afterAll(async () => {
      await store?.close();
      await fresh?.cleanup();
    });

    it("stores the exact bytes and reads them back by transaction_id", async () => {
      const g = newId(), u = newId();
      const tx = makeTx({ assetGroupId: g, userId: u, relationGroupId: newId() });
      const r = await store.insertTransaction(tx);
      expect(r.inserted).toBe(true);
      expect(r.insertedInto).toEqual([0]);
      expect(toHex(r.transactionId)).toBe(toHex(idOf(tx)));
      expect(r.assetGroupIds.length).toBe(2);
      const got = await store.getTransaction(idOf(tx));
      expect(got).not.toBeNull();
      expect(Buffer.from(got!.data).equals(Buffer.from(tx.transactionData!))).toBe(true);
      expect(toHex(decodeStoredTransaction(got!).transactionId!)).toBe(toHex(idOf(tx)));
      expect(await store.getTransaction(newId())).toBeNull();
      expect(store.dbType).toBe(target.name);
      expect(store.dbCount).toBe(1);
      expect(store.replicationStrategy).toBe("all");
    });

    it("rejects a duplicate transaction_id without writing anything (also inside one group commit)", async () => {
      const g = newId(), u = newId();
      const tx = makeTx({ assetGroupId: g, userId: u });
      expect((await store.insertTransaction(tx)).inserted).toBe(true);
      const again = await store.insertTransaction(tx);
      expect(again.inserted).toBe(false);
      expect(again.insertedInto).toEqual([]);
      expect(await store.countTransactions({ assetGroupId: g })).toBe(1);
      expect((await store.searchTransactions({ assetGroupId: g, count: 0 })).transactions.length).toBe(1);

      const tx2 = makeTx({ assetGroupId: g, userId: u });
      const both = await Promise.all([store.insertTransaction(tx2), store.insertTransaction(tx2), store.insertTransaction(tx2)]);
      expect(both.filter((b) => b.inserted).length).toBe(1);
      expect(both[0].inserted).toBe(true);
      expect(await store.countTransactions({ assetGroupId: g })).toBe(2);
      const rows = (await store.searchTransactions({ assetGroupId: g, count: 0 })).transactions;
      expect(rows.length).toBe(2);
    });

    it("searches by asset_group_id / asset_id / user_id (AND) in index order, both directions, with count and its cap", async () => {
      const g = newId(), u1 = newId(), u2 = newId();
      const txs: BBcTransaction[] = [];
      for (let i = 0; i < 12; i++) txs.push(makeTx({ assetGroupId: g, userId: i % 3 === 0 ? u2 : u1 }));
      for (const tx of txs) await store.insertTransaction(tx);
      const ids = hexes(txs.map(idOf));

      const desc = await store.searchTransactions({ assetGroupId: g, count: 3 });
      expect(hexes(desc.transactions)).toEqual([ids[11], ids[10], ids[9]]);
      expect(hexes((await store.searchTransactions({ assetGroupId: g, count: 3, direction: 0 })).transactions)).toEqual([ids[11], ids[10], ids[9]]);
      const asc = await store.searchTransactions({ assetGroupId: g, count: 3, direction: 1 });
      expect(hexes(asc.transactions)).toEqual([ids[0], ids[1], ids[2]]);
      // default count is 1
      expect(hexes((await store.searchTransactions({ assetGroupId: g })).transactions)).toEqual([ids[11]]);
      // capped at searchMaxCount; count <= 0 means no limit and no cap
      expect((await store.searchTransactions({ assetGroupId: g, count: 100 })).transactions.length).toBe(MAX);
      expect((await store.searchTransactions({ assetGroupId: g, count: 0 })).transactions.length).toBe(12);
      expect((await store.searchTransactions({ assetGroupId: g, count: -1 })).transactions.length).toBe(12);
      // AND of conditions
      const byUser = await store.searchTransactions({ assetGroupId: g, userId: u2, count: 0, direction: 1 });
      expect(hexes(byUser.transactions)).toEqual([ids[0], ids[3], ids[6], ids[9]]);
      expect(hexes((await store.searchTransactions({ userId: u2, count: 2 })).transactions)).toEqual([ids[9], ids[6]]);
      const assetId = txs[5].events[0].asset!.assetId!;
      expect(hexes((await store.searchTransactions({ assetId, count: 5 })).transactions)).toEqual([ids[5]]);
      expect(hexes((await store.searchTransactions({ assetId, userId: u2, count: 5 })).transactions)).toEqual([]);
      expect((await store.searchTransactions({ assetGroupId: newId(), count: 5 })).transactions).toEqual([]);
      // count: distinct transactions, not capped
      expect(await store.countTransactions({ assetGroupId: g })).toBe(12);
      expect(await store.countTransactions({ assetGroupId: g, userId: u2 })).toBe(4);
      expect(await store.countTransactions({ userId: u1 })).toBe(8);
      expect(await store.countTransactions({ assetId })).toBe(1);
      expect(await store.countTransactions({ assetGroupId: newId() })).toBe(0);
    });

    it("counts asset rows, not transactions, against the limit (v1.1.1) and de-duplicates", async () => {
      const g = newId(), u = newId();
      const a = makeTx({ assetGroupId: g, userId: u });
      const b = makeTx({ assetGroupId: g, userId: u, relationGroupId: g }); // two asset rows in g
      await store.insertTransaction(a);
      await store.insertTransaction(b);
      expect(hexes((await store.searchTransactions({ assetGroupId: g, count: 2 })).transactions)).toEqual(hexes([idOf(b)]));
      expect(hexes((await store.searchTransactions({ assetGroupId: g, count: 3 })).transactions)).toEqual(hexes([idOf(b), idOf(a)]));
      expect(await store.countTransactions({ assetGroupId: g })).toBe(2);
    });

    it("rejects malformed insert input with BAD_ARGUMENT without disturbing concurrent inserts", async () => {
      const g = newId(), u = newId();
      const good = makeTx({ assetGroupId: g, userId: u });
      const bad = { transactionId: newId(), data: new Uint8Array(4), assets: [{ assetGroupId: "not bytes" }], pointTo: [] } as never;
      const [r1, r2] = await Promise.allSettled([store.insertTransaction(bad), store.insertTransaction(good)]);
      expect(r1.status).toBe("rejected");
      expect(((r1 as PromiseRejectedResult).reason as StorageError).code).toBe("BAD_ARGUMENT");
      expect(r2.status === "fulfilled" && r2.value.inserted).toBe(true);
      await rejectsWith(store.insertTransaction({ transactionId: new Uint8Array(65), data: new Uint8Array(1), assets: [], pointTo: [] }), "BAD_ARGUMENT");
      await rejectsWith(store.insertTransaction("tx" as never), "BAD_ARGUMENT");
    });

    it("requires a condition for search and count", async () => {
      await rejectsWith(store.searchTransactions({ count: 3 }), "BAD_ARGUMENT");
      await rejectsWith(store.countTransactions({}), "BAD_ARGUMENT");
      await rejectsWith(store.getTransaction("nope" as unknown as Uint8Array), "BAD_ARGUMENT");
    });

    it("records topology edges (references, then pointers, duplicates kept) and walks both directions", async () => {
      const g = newId(), u = newId();
      const t1 = makeTx({ assetGroupId: g, userId: u });
      const t2 = makeTx({ assetGroupId: g, userId: u, pointTo: [idOf(t1)] });
      const t3 = makeTx({ assetGroupId: g, userId: u, reference: t1, pointTo: [idOf(t1), idOf(t2)] });
      for (const t of [t1, t2, t3]) await store.insertTransaction(t);
      const past3 = await store.getTopology(idOf(t3), true);
      expect(past3.map((e) => toHex(e.pointTo))).toEqual(hexes([idOf(t1), idOf(t1), idOf(t2)]));
      expect(past3.every((e) => toHex(e.base) === toHex(idOf(t3)))).toBe(true);
      const future1 = await store.getTopology(idOf(t1), false);
      expect(future1.map((e) => toHex(e.base))).toEqual(hexes([idOf(t2), idOf(t3), idOf(t3)]));
      expect(future1[0].id).toBeLessThan(future1[1].id);
      expect(await store.getTopology(newId(), true)).toEqual([]);
    });

    it("traverses like v1.1.1's core (levels, hop count, max_traverse, filters)", async () => {
      const g = newId(), u = newId(), other = newId();
      const chain: BBcTransaction[] = [makeTx({ assetGroupId: g, userId: u })];
      for (let i = 1; i < 6; i++) chain.push(makeTx({ assetGroupId: i === 3 ? other : g, relationGroupId: i === 3 ? other : g, userId: u, pointTo: [idOf(chain[i - 1])] }));
      for (const t of chain) await store.insertTransaction(t);
      const back = await store.traverse(idOf(chain[5]), { direction: 1, hopCount: 3 });
      expect(back.allIncluded).toBe(true);
      expect(back.tree.map((l) => hexes(l))).toEqual([[toHex(idOf(chain[5]))], [toHex(idOf(chain[4]))], [toHex(idOf(chain[3]))]]);
      const fwd = await store.traverse(idOf(chain[0]), { direction: 0, hopCount: 10 });
      expect(fwd.tree.length).toBe(6);
      expect(toHex(fwd.tree[5][0].transactionId)).toBe(toHex(idOf(chain[5])));
      const limited = await store.traverse(idOf(chain[0]), { direction: 0, hopCount: 10, maxTraverse: 3 });
      expect(limited.allIncluded).toBe(false);
      expect(limited.tree.length).toBe(3);
      // a transaction failing the filter is skipped and not expanded
      const filtered = await store.traverse(idOf(chain[5]), { direction: 1, hopCount: 10, assetGroupId: g });
      expect(filtered.tree.map((l) => hexes(l))).toEqual([[toHex(idOf(chain[5]))], [toHex(idOf(chain[4]))]]);
      expect((await store.traverse(idOf(chain[0]), { hopCount: 0 })).tree).toEqual([]);
    });

    it("keeps cross_ref rows (no de-duplication), searches them and counts by domain", async () => {
      const txid = newId(), dom = newId(), other = newId();
      const h1 = newId(), h2 = newId();
      await store.insertCrossRef(txid, dom, h1);
      await store.insertCrossRef(txid, dom, h1);
      await store.insertCrossRef(txid, other, h2);
      const rows = await store.searchCrossRefs(txid);
      expect(rows.length).toBe(3);
      expect(rows.map((r) => toHex(r.outerDomainId))).toEqual(hexes([dom, dom, other]));
      expect(toHex(rows[2].txidHavingCrossRef)).toBe(toHex(h2));
      expect(rows[0].id).toBeLessThan(rows[1].id);
      expect((await store.searchCrossRefs()).length).toBeGreaterThanOrEqual(3);
      expect(await store.countCrossRefsByDomain(dom)).toBe(2);
      expect(await store.countCrossRefsByDomain(newId())).toBe(0);
      expect(await store.searchCrossRefs(newId())).toEqual([]);
    });

    it("removes a transaction and its edges, keeps asset rows; restore re-inserts (asset rows accumulate)", async () => {
      const g = newId(), u = newId();
      const t1 = makeTx({ assetGroupId: g, userId: u });
      const t2 = makeTx({ assetGroupId: g, userId: u, pointTo: [idOf(t1)] });
      await store.insertTransaction(t1);
      await store.insertTransaction(t2);
      expect(await store.removeTransaction(idOf(t2))).toBe(true);
      expect(await store.getTransaction(idOf(t2))).toBeNull();
      expect(await store.getTopology(idOf(t2), true)).toEqual([]);
      expect(await store.getTopology(idOf(t1), false)).toEqual([]);
      expect(await store.countTransactions({ assetGroupId: g })).toBe(2); // orphan asset row still counted
      expect(hexes((await store.searchTransactions({ assetGroupId: g, count: 5 })).transactions)).toEqual(hexes([idOf(t1)]));
      expect(await store.removeTransaction(idOf(t2))).toBe(false);
      // a mismatching transaction object is ignored
      expect(await store.removeTransaction(idOf(t1), { tx: t2 })).toBe(false);
      expect(await store.getTransaction(idOf(t1))).not.toBeNull();

      await store.restoreTransaction(0, idOf(t2), t2);
      expect(await store.getTransaction(idOf(t2))).not.toBeNull();
      expect((await store.getTopology(idOf(t1), false)).length).toBe(1);
      expect(await store.countTransactions({ assetGroupId: g })).toBe(2);
      // t2 now has two asset rows in g (the orphan and the restored one): they use two slots
      expect(hexes((await store.searchTransactions({ assetGroupId: g, count: 2 })).transactions)).toEqual(hexes([idOf(t2)]));
      await rejectsWith(store.restoreTransaction(0, idOf(t1), t2), "BAD_ARGUMENT");
    });

    it("stores asset files in the v1.1.1 layout after the rows, keeps existing files, verifies digests", async () => {
      const g = newId(), u = newId();
      const file = new TextEncoder().encode("asset file content " + Math.random());
      const tx = makeTx({ assetGroupId: g, userId: u, file });
      const asset = tx.events[0].asset!;
      expect(toHex(asset.assetFileDigest!)).toBe(toHex(sha256(file)));
      await store.insertTransaction(tx, { assetFiles: new Map([[toHex(asset.assetId!), file]]) });
      // found through the store at once; on disk at its path once the commit log is applied (SQLite)
      expect(Buffer.from((await store.assetFiles.read(g, asset.assetId!))!).equals(Buffer.from(file))).toBe(true);
      await store.settle();
      const path = join(fresh.workingDir, toHex(fresh.domainId), toHex(g), toHex(asset.assetId!));
      expect(store.assetFiles.pathOf(g, asset.assetId!)).toBe(path);
      expect(readFileSync(path).equals(Buffer.from(file))).toBe(true);
      expect((await store.assetFiles.verify(g, asset.assetId!, asset.assetFileDigest!)).status).toBe("ok");
      expect(await store.assetFiles.write(g, asset.assetId!, new Uint8Array([1, 2, 3]))).toBe(false);
      expect(readFileSync(path).equals(Buffer.from(file))).toBe(true);
      writeFileSync(path, "tampered");
      expect((await store.assetFiles.verify(g, asset.assetId!, asset.assetFileDigest!)).status).toBe("mismatch");
      await rejectsWith(store.assetFiles.readVerified(g, asset.assetId!, asset.assetFileDigest!), "ASSET_DIGEST_MISMATCH");
      expect(await store.assetFiles.write(g, asset.assetId!, file, { overwrite: true })).toBe(true);
      expect((await store.assetFiles.readVerified(g, asset.assetId!, asset.assetFileDigest!)).length).toBe(file.length);
      expect(await store.assetFiles.remove(g, asset.assetId!)).toBe(true);
      expect(existsSync(path)).toBe(false);
      expect(await store.assetFiles.read(g, asset.assetId!)).toBeNull();
      expect((await store.assetFiles.verify(g, asset.assetId!, asset.assetFileDigest!)).status).toBe("missing");
      await rejectsWith(store.assetFiles.readRequired(g, asset.assetId!), "ASSET_MISSING");
      expect(await store.assetFiles.remove(g, asset.assetId!)).toBe(false);
      // the transaction itself is unaffected by a missing file
      expect(await store.getTransaction(idOf(tx))).not.toBeNull();
    });

    it("assetConflict 'refuse': an insert whose file slot holds other content is rejected without rows; others of the batch commit", async () => {
      const g = newId(), u = newId();
      const file = new TextEncoder().encode("the real file " + Math.random());
      const tx = makeTx({ assetGroupId: g, userId: u, file });
      const aid = tx.events[0].asset!.assetId!;
      const path = join(fresh.workingDir, toHex(fresh.domainId), toHex(g), toHex(aid));
      // the slot is taken by something else (a squatter of an older node, or a hand edit)
      expect(await store.assetFiles.write(g, aid, new TextEncoder().encode("squatted"))).toBe(true);
      await rejectsWith(store.assetFiles.write(g, aid, file, { conflict: "error" }), "ASSET_CONFLICT");
      expect(await store.assetFiles.write(g, aid, new TextEncoder().encode("squatted"), { conflict: "error" })).toBe(false);
      const other = makeTx({ assetGroupId: g, userId: u, file: new TextEncoder().encode("other " + Math.random()) });
      const otherFile = new TextEncoder().encode("unused");
      const [refused, ok] = await Promise.allSettled([
        store.insertTransaction(tx, { assetFiles: new Map([[toHex(aid), file]]), assetConflict: "refuse" }),
        store.insertTransaction(other, { assetFiles: new Map([[toHex(newId()), otherFile]]), assetConflict: "refuse" }),
      ]);
      expect(refused.status === "rejected" && (refused.reason as StorageError).code).toBe("ASSET_CONFLICT");
      expect(ok.status === "fulfilled" && ok.value.inserted).toBe(true);
      expect(await store.getTransaction(idOf(tx))).toBeNull();
      expect(readFileSync(path, "utf8")).toBe("squatted");
      // the default keeps v1.1.1's behaviour: the existing file stays and the rows commit
      expect((await store.insertTransaction(tx, { assetFiles: new Map([[toHex(aid), file]]) })).inserted).toBe(true);
      expect(readFileSync(path, "utf8")).toBe("squatted");
      // an identical file is no conflict
      const same = makeTx({ assetGroupId: g, userId: u, file });
      const sameAid = same.events[0].asset!.assetId!;
      expect((await store.insertTransaction(same, { assetFiles: new Map([[toHex(sameAid), file]]), assetConflict: "refuse" })).inserted).toBe(true);
      expect((await store.insertTransaction(makeTx({ assetGroupId: g, userId: u, file }), { assetFiles: new Map([[toHex(sameAid), file]]), assetConflict: "refuse" })).inserted).toBe(true);
    });

    it("group-commits concurrent inserts: fewer database transactions than inserts, order kept", async () => {
      const g = newId(), u = newId();
      const before = { ...store.stats };
      const txs = Array.from({ length: 64 }, () => makeTx({ assetGroupId: g, userId: u }));
      const results = await Promise.all(txs.map((t) => store.insertTransaction(t)));
      expect(results.every((r) => r.inserted)).toBe(true);
      const batches = store.stats.batches - before.batches;
      expect(store.stats.inserts - before.inserts).toBe(64);
      expect(batches).toBeLessThan(8);
      expect(store.stats.maxBatch).toBeGreaterThan(8);
      const asc = await store.searchTransactions({ assetGroupId: g, count: 0, direction: 1 });
      expect(hexes(asc.transactions)).toEqual(hexes(txs.map(idOf)));
    });

    it("turns garbage in stored rows into typed errors and repair candidates, not crashes", async () => {
      const g = newId(), u = newId();
      const good = makeTx({ assetGroupId: g, userId: u });
      const nulled = makeTx({ assetGroupId: g, userId: u, pointTo: [idOf(good)] });
      const garbled = makeTx({ assetGroupId: g, userId: u });
      for (const t of [good, nulled, garbled]) await store.insertTransaction(t);
      await store.settle(); // the rows are changed behind the store's back: they must be in the tables first
      await fresh.raw(0, "UPDATE transaction_table SET transaction_data = NULL WHERE transaction_id = ?", [Buffer.from(idOf(nulled))]);
      await fresh.raw(0, "UPDATE transaction_table SET transaction_data = ? WHERE transaction_id = ?", [Buffer.from("\x00\x00garbage bytes"), Buffer.from(idOf(garbled))]);

      const e = await rejectsWith(store.getTransaction(idOf(nulled)), "CORRUPT_ROW");
      expect(e.details?.transactionId).toBe(toHex(idOf(nulled)));
      const res = await store.searchTransactions({ assetGroupId: g, count: 0 });
      expect(hexes(res.transactions)).toEqual(hexes([idOf(garbled), idOf(good)]));
      expect(res.repairCandidates.map((c) => [toHex(c.transactionId), c.error.code])).toEqual([[toHex(idOf(nulled)), "CORRUPT_ROW"]]);
      const stored = (await store.getTransaction(idOf(garbled)))!;
      expect(() => decodeStoredTransaction(stored)).toThrow(StorageError);
      try {
        decodeStoredTransaction(stored);
      } catch (err) {
        expect((err as StorageError).code).toBe("CORRUPT_DATA");
      }
      // traverse from the good one forward reaches the corrupt row and skips it
      const walk = await store.traverse(idOf(good), { direction: 0, hopCount: 3 });
      expect(hexes(walk.tree.flat())).toEqual(hexes([idOf(good)]));
      // remove works on a corrupt row (edges found by base)
      expect(await store.removeTransaction(idOf(nulled))).toBe(true);
      expect(await store.getTopology(idOf(good), false)).toEqual([]);

      // a topology row with a NULL base
      const t = makeTx({ assetGroupId: g, userId: u });
      await store.insertTransaction(t);
      await store.settle();
      await fresh.raw(0, "INSERT INTO topology_table (base, point_to) VALUES (NULL, ?)", [Buffer.from(idOf(t))]);
      await rejectsWith(store.getTopology(idOf(t), false), "CORRUPT_ROW");
      expect((await store.checkIntegrity()).ok).toBe(true);
    });

    it("survives close and reopen (migrations are idempotent) and rejects calls after close", async () => {
      const g = newId(), u = newId();
      const tx = makeTx({ assetGroupId: g, userId: u });
      const pending = store.insertTransaction(tx);
      await store.close();
      expect((await pending).inserted).toBe(true); // close waits for queued inserts
      await rejectsWith(store.getTransaction(idOf(tx)), "CLOSED");
      await rejectsWith(store.insertTransaction(tx), "CLOSED");
      store = await openLedgerStore({ domainId: fresh.domainId, workingDir: fresh.workingDir, config: fresh.config, searchMaxCount: MAX });
      expect(await store.getTransaction(idOf(tx))).not.toBeNull();
      expect(await store.countTransactions({ assetGroupId: g })).toBe(1);
      const integrity = await store.checkIntegrity();
      expect(integrity).toEqual({ ok: true, messages: ["ok"] });
    });
  });

  describe(`several databases (db_num) on ${target.name}`, () => {
    const dbs = target.name === "sqlite" ? 1 : 2;
    let fresh: Fresh;
    let store: LedgerStore;
    beforeAll(async () => {
      fresh = await target.fresh(dbs);
      store = await openLedgerStore({ domainId: fresh.domainId, workingDir: fresh.workingDir, config: fresh.config });
    });
    afterAll(async () => {
      await store?.close();
      await fresh?.cleanup();
    });

    it(`writes every database, reads db 0 unless told, falls back to db 0 beyond the list (${dbs} DB)`, async () => {
      expect(store.dbCount).toBe(dbs);
      const g = newId(), u = newId();
      const t1 = makeTx({ assetGroupId: g, userId: u });
      const t2 = makeTx({ assetGroupId: g, userId: u, pointTo: [idOf(t1)] });
      const r = await store.insertTransaction(t1);
      expect(r.insertedInto).toEqual(Array.from({ length: dbs }, (_, i) => i));
      await store.insertTransaction(t2);
      for (let n = 0; n < dbs; n++) {
        expect(await store.getTransaction(idOf(t1), { dbNum: n })).not.toBeNull();
        expect(await store.countTransactions({ assetGroupId: g }, { dbNum: n })).toBe(2);
        expect((await store.getTopology(idOf(t1), false, { dbNum: n })).length).toBe(1);
      }
      expect(await store.getTransaction(idOf(t1), { dbNum: 7 })).not.toBeNull();
      await store.insertCrossRef(idOf(t1), newId(), newId());
      for (let n = 0; n < dbs; n++) expect((await store.searchCrossRefs(idOf(t1), { dbNum: n })).length).toBe(1);

      // remove from the last DB only; reads of db 0 are unaffected; an insert succeeds if any DB accepts it
      const last = dbs - 1;
      expect(await store.removeTransaction(idOf(t2), { dbNum: last })).toBe(true);
      expect(await store.getTransaction(idOf(t2), { dbNum: last })).toBeNull();
      if (dbs > 1) {
        expect(await store.getTransaction(idOf(t2))).not.toBeNull();
        const again = await store.insertTransaction(t2);
        expect(again.inserted).toBe(true);
        expect(again.insertedInto).toEqual([last]);
        expect(await store.getTransaction(idOf(t2), { dbNum: last })).not.toBeNull();
        // repair path: remove in one DB, restore it from a good copy
        await store.removeTransaction(idOf(t2), { dbNum: last });
        await store.restoreTransaction(last, idOf(t2), t2);
        expect(await store.getTransaction(idOf(t2), { dbNum: last })).not.toBeNull();
        expect((await store.getTopology(idOf(t1), false, { dbNum: last })).length).toBe(1);
      } else {
        await store.restoreTransaction(0, idOf(t2), t2);
        expect(await store.getTransaction(idOf(t2))).not.toBeNull();
      }
      // removal everywhere
      expect(await store.removeTransaction(idOf(t1))).toBe(true);
      for (let n = 0; n < dbs; n++) expect(await store.getTransaction(idOf(t1), { dbNum: n })).toBeNull();
    });
  });
}
