/**
 * The SQLite store behind its commit log: what an acknowledged insert looks like before the apply step has put it
 * in the tables (read-your-writes through the overlay) must be exactly what it looks like afterwards; a second
 * opener commits directly; records left in the log are replayed at the next open (with their asset files); the
 * config switch; backup of a ledger whose log holds records the tables do not have yet.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { sha256, toHex, type BBcTransaction } from "@bbc1/bbclib";
import { backupSqliteLedger, openLedgerStore, toLedgerRecord, type LedgerStore, type SearchConditions } from "@bbc1/storage";
import { CommitLog, FRAME, scanLog } from "../src/commit-log.js";
import { decodeInsert, encodeInsert, insertSize } from "../src/log-codec.js";
import { makeSignedTx, makeTx, newId, signaturesOf, signaturesOnPool } from "./txs.js";

const cleanup: string[] = [];
afterEach(() => {
  for (const d of cleanup.splice(0)) rmSync(d, { recursive: true, force: true });
});

function place(): { workingDir: string; domainId: Uint8Array; file: string } {
  const workingDir = mkdtempSync(join(tmpdir(), "bbc1-logstore-"));
  cleanup.push(workingDir);
  const domainId = newId();
  return { workingDir, domainId, file: join(workingDir, toHex(domainId), "bbc_ledger.sqlite") };
}

const idOf = (tx: BBcTransaction) => tx.transactionId as Uint8Array;

/** Everything the store answers about a set of transactions and conditions, as plain comparable values. */
async function view(store: LedgerStore, txs: BBcTransaction[], conds: SearchConditions[]): Promise<unknown> {
  const out: Record<string, unknown> = {};
  for (const [i, c] of conds.entries()) {
    for (const direction of [0, 1]) {
      for (const count of [0, 1, 2, 5]) {
        const r = await store.searchTransactions({ ...c, direction, count });
        out[`s${i}/${direction}/${count}`] = r.transactions.map((t) => toHex(t.transactionId));
      }
    }
    out[`c${i}`] = await store.countTransactions(c);
  }
  for (const tx of txs) {
    const id = idOf(tx);
    const got = await store.getTransaction(id);
    out[`g${toHex(id)}`] = got ? toHex(got.data) : null;
    out[`tp${toHex(id)}`] = (await store.getTopology(id, true)).map((e) => toHex(e.pointTo));
    out[`tf${toHex(id)}`] = (await store.getTopology(id, false)).map((e) => toHex(e.base));
    const a = tx.events[0]!.asset!;
    const f = await store.assetFiles.read(tx.events[0]!.assetGroupId!, a.assetId!);
    out[`f${toHex(id)}`] = f ? toHex(f) : null;
    out[`w${toHex(id)}`] = (await store.traverse(id, { direction: 1, hopCount: 3 })).tree.map((l) => l.map((t) => toHex(t.transactionId)));
  }
  return out;
}

describe("SQLite store behind the commit log", () => {
  it("answers every read the same before and after the apply step (read-your-writes)", async () => {
    const p = place();
    // applyDelayMs holds the apply step back, so that the reads below meet records that are only in the overlay
    // (the ~700 reads of view() take several seconds on a loaded 2-core machine: the delay must outlast them). No
    // sync points meanwhile: records logged while one waits for its asset files' fsyncs are applied right after it,
    // without the delay (a fresh-clone CI run saw `pending` 0 below once, 2026-12-04)
    const store = await openLedgerStore({ domainId: p.domainId, workingDir: p.workingDir, searchMaxCount: 100, commitLog: { applyDelayMs: 6000, syncIntervalMs: 600_000 } });
    try {
      const groups = [newId(), newId()];
      const users = [newId(), newId(), newId()];
      const txs: BBcTransaction[] = [];
      const conds: SearchConditions[] = [...groups.map((g) => ({ assetGroupId: g })), ...users.map((u) => ({ userId: u })), { assetGroupId: groups[0], userId: users[1] }];
      for (let round = 0; round < 4; round++) {
        // some applied, some pending: settle after the first rounds only
        const batch: Promise<unknown>[] = [];
        for (let i = 0; i < 12; i++) {
          const file = i % 3 === 0 ? new TextEncoder().encode(`file ${round} ${i} ${Math.random()}`) : undefined;
          const prev = txs.length > 0 ? [idOf(txs[Math.floor(Math.random() * txs.length)]!)] : undefined;
          const tx = makeTx({ assetGroupId: groups[i % 2]!, userId: users[i % 3]!, file, pointTo: prev });
          txs.push(tx);
          conds.push({ assetId: tx.events[0]!.asset!.assetId! });
          batch.push(store.insertTransaction(tx, file ? { assetFiles: new Map([[toHex(tx.events[0]!.asset!.assetId!), file]]) } : undefined));
        }
        const results = (await Promise.all(batch)) as Array<{ inserted: boolean }>;
        expect(results.every((r) => r.inserted)).toBe(true);
        // a duplicate of a pending transaction is refused like one in the tables
        expect((await store.insertTransaction(txs[txs.length - 1]!)).inserted).toBe(false);
        if (round < 2) await store.settle();
      }
      expect(store.stats.commitLog!.pending).toBeGreaterThan(0);
      const pending = await view(store, txs, conds);
      // (the apply step may run during the ~700 reads on a busy machine: the answers must not change either way)
      await store.settle();
      expect(store.stats.commitLog!.pending).toBe(0);
      expect(await view(store, txs, conds)).toEqual(pending);

      // removed, then inserted again while pending: its old asset rows stay (v1.1.1), counted once
      const t = txs[5]!;
      const g = { assetGroupId: t.events[0]!.assetGroupId! };
      const before = await store.countTransactions(g);
      expect(await store.removeTransaction(idOf(t))).toBe(true);
      await store.restoreTransaction(0, idOf(t), t);
      expect(store.stats.commitLog!.pending).toBeGreaterThan(0);
      const restored = await view(store, [t], [g]);
      expect(await store.countTransactions(g)).toBe(before);
      await store.settle();
      expect(await view(store, [t], [g])).toEqual(restored);
      expect(store.stats.commitLog!.applyThread).toBe(false); // the default: applied on the main thread
    } finally {
      await store.close();
    }
    // a clean close leaves every record in the tables and no segment behind
    expect(readdirSync(`${p.file}.commit-log`).filter((f) => f.endsWith(".log"))).toEqual([]);
  }, 90_000);

  it("assetConflict 'refuse' sees files that are still pending, and earlier ones in the same batch", async () => {
    const p = place();
    const store = await openLedgerStore({ domainId: p.domainId, workingDir: p.workingDir, commitLog: { applyDelayMs: 300 } });
    try {
      const g = newId();
      const file = new TextEncoder().encode("first " + Math.random());
      const tx = makeTx({ assetGroupId: g, userId: newId(), file });
      const aid = tx.events[0]!.asset!.assetId!;
      await store.insertTransaction(tx, { assetFiles: new Map([[toHex(aid), file]]), assetConflict: "refuse" });
      expect(store.stats.commitLog!.pending).toBe(1);
      // another record claiming the same slot with other content, while the first is only in the log
      const claim = (content: Uint8Array) => {
        const r = toLedgerRecord(makeTx({ assetGroupId: g, userId: newId() }));
        r.assets = [{ ...r.assets[0]!, assetGroupId: g, assetId: aid }];
        return store.insertTransaction(r, { assetFiles: new Map([[toHex(aid), content]]), assetConflict: "refuse" });
      };
      await expect(claim(new TextEncoder().encode("squatter"))).rejects.toMatchObject({ code: "ASSET_CONFLICT" });
      expect((await claim(file)).inserted).toBe(true); // the same content is no conflict
      // two new claims in one batch: the second, different one is refused
      const g2 = newId();
      const t2 = makeTx({ assetGroupId: g2, userId: newId(), file: new Uint8Array([1]) });
      const a2 = t2.events[0]!.asset!.assetId!;
      const r3 = toLedgerRecord(makeTx({ assetGroupId: g2, userId: newId() }));
      r3.assets = [{ ...r3.assets[0]!, assetGroupId: g2, assetId: a2 }];
      const [first, second] = await Promise.allSettled([
        store.insertTransaction(t2, { assetFiles: new Map([[toHex(a2), new Uint8Array([1])]]), assetConflict: "refuse" }),
        store.insertTransaction(r3, { assetFiles: new Map([[toHex(a2), new Uint8Array([2])]]), assetConflict: "refuse" }),
      ]);
      expect(first.status).toBe("fulfilled");
      expect(second.status === "rejected" && (second.reason as { code: string }).code).toBe("ASSET_CONFLICT");
      await store.settle();
      expect(Buffer.from((await store.assetFiles.read(g, aid))!).equals(Buffer.from(file))).toBe(true);
      expect(Array.from((await store.assetFiles.read(g2, a2))!)).toEqual([1]);
    } finally {
      await store.close();
    }
  });

  it("a second opener of the same ledger commits directly; each sees the other's inserts", async () => {
    const p = place();
    const a = await openLedgerStore({ domainId: p.domainId, workingDir: p.workingDir });
    const b = await openLedgerStore({ domainId: p.domainId, workingDir: p.workingDir });
    try {
      expect(a.stats.commitLog).toBeDefined();
      expect(b.stats.commitLog).toBeUndefined();
      const g = newId();
      const t1 = makeTx({ assetGroupId: g, userId: newId() });
      const t2 = makeTx({ assetGroupId: g, userId: newId() });
      await a.insertTransaction(t1);
      await b.insertTransaction(t2);
      await a.settle();
      expect(await b.getTransaction(idOf(t1))).not.toBeNull();
      expect(await a.getTransaction(idOf(t2))).not.toBeNull();
      expect((await b.insertTransaction(t1)).inserted).toBe(false);
      expect(await a.countTransactions({ assetGroupId: g })).toBe(2);
    } finally {
      await b.close();
      await a.close();
    }
  });

  it("replays records left in the log at the next open, asset files first", async () => {
    const p = place();
    const g = newId();
    const txs = Array.from({ length: 5 }, (_, i) => makeTx({ assetGroupId: g, userId: newId(), file: i % 2 === 0 ? new TextEncoder().encode(`replayed ${i}`) : undefined }));
    const first = await openLedgerStore({ domainId: p.domainId, workingDir: p.workingDir });
    await first.insertTransaction(txs[0]!, { assetFiles: new Map([[toHex(txs[0]!.events[0]!.asset!.assetId!), new TextEncoder().encode("replayed 0")]]) });
    await first.close();
    // what a process killed right after its fdatasync leaves: records in the log, not in the tables
    const db = new Database(p.file);
    const { ledger_id, applied_lsn } = db.prepare("SELECT ledger_id, applied_lsn FROM commit_log_state").get() as { ledger_id: Buffer; applied_lsn: number };
    db.close();
    const log = CommitLog.open(`${p.file}.commit-log`, new Uint8Array(ledger_id), applied_lsn + 1);
    const items = txs.slice(1).map((tx) => {
      const a = tx.events[0]!.asset!;
      return { record: toLedgerRecord(tx), files: a.assetFileSize > 0 ? [{ assetGroupId: g, assetId: a.assetId!, content: new TextEncoder().encode(`replayed ${txs.indexOf(tx)}`) }] : [] };
    });
    const sizes = items.map((it) => insertSize(it.record, it.files));
    const buf = new Uint8Array(sizes.reduce((n, s) => n + FRAME + s, 0));
    let off = 0;
    for (const it of items) off = encodeInsert(buf, new DataView(buf.buffer), off + FRAME, it.record, it.files);
    log.append(buf, sizes);
    await log.close();

    const store = await openLedgerStore({ domainId: p.domainId, workingDir: p.workingDir });
    try {
      expect(store.stats.commitLog!.recovered).toBe(4);
      expect((await store.searchTransactions({ assetGroupId: g, count: 0, direction: 1 })).transactions.map((t) => toHex(t.transactionId))).toEqual(txs.map((t) => toHex(idOf(t))));
      for (const tx of txs) {
        const a = tx.events[0]!.asset!;
        if (a.assetFileSize === 0) continue;
        expect(existsSync(store.assetFiles.pathOf(g, a.assetId!))).toBe(true);
        expect((await store.assetFiles.verify(g, a.assetId!, a.assetFileDigest!)).status).toBe("ok");
      }
      expect(await store.checkIntegrity()).toEqual({ ok: true, messages: ["ok"] });
    } finally {
      await store.close();
    }
    // replayed once: a further open finds nothing to do
    const again = await openLedgerStore({ domainId: p.domainId, workingDir: p.workingDir });
    expect(again.stats.commitLog!.recovered).toBe(0);
    expect(await again.countTransactions({ assetGroupId: g })).toBe(5);
    await again.close();
  });

  it("backs up a ledger whose log still holds records (replayed first when no process owns it)", async () => {
    const p = place();
    const g = newId();
    const store = await openLedgerStore({ domainId: p.domainId, workingDir: p.workingDir });
    const txs = Array.from({ length: 6 }, () => makeTx({ assetGroupId: g, userId: newId() }));
    await Promise.all(txs.map((t) => store.insertTransaction(t)));
    // the node runs: the backup is the tables as of one moment; settled, it holds every acknowledged insert
    await store.settle();
    const live = join(p.workingDir, "live.sqlite");
    await backupSqliteLedger(p.file, live);
    await store.close();
    const counted = (f: string) => {
      const d = new Database(f, { readonly: true });
      try {
        return (d.prepare("SELECT count(*) AS n FROM transaction_table").get() as { n: number }).n;
      } finally {
        d.close();
      }
    };
    expect(counted(live)).toBe(6);

    // records in the log only (a node killed before applying them): the backup replays them first
    const db = new Database(p.file);
    const { ledger_id, applied_lsn } = db.prepare("SELECT ledger_id, applied_lsn FROM commit_log_state").get() as { ledger_id: Buffer; applied_lsn: number };
    db.close();
    const log = CommitLog.open(`${p.file}.commit-log`, new Uint8Array(ledger_id), applied_lsn + 1);
    const extra = makeTx({ assetGroupId: g, userId: newId() });
    const rec = toLedgerRecord(extra);
    const buf = new Uint8Array(FRAME + insertSize(rec, []));
    encodeInsert(buf, new DataView(buf.buffer), FRAME, rec, []);
    log.append(buf, [insertSize(rec, [])]);
    await log.close();
    const stopped = join(p.workingDir, "stopped.sqlite");
    await backupSqliteLedger(p.file, stopped);
    expect(counted(stopped)).toBe(7);
  });

  it("db.commit_log false: no log, every batch commits to SQLite; bad settings are BAD_CONFIG", async () => {
    const p = place();
    const store = await openLedgerStore({ domainId: p.domainId, workingDir: p.workingDir, config: { db: { db_type: "sqlite", commit_log: false } } });
    const tx = makeTx({ assetGroupId: newId(), userId: newId(), file: new Uint8Array([1, 2, 3]) });
    const a = tx.events[0]!.asset!;
    await store.insertTransaction(tx, { assetFiles: new Map([[toHex(a.assetId!), new Uint8Array([1, 2, 3])]]) });
    expect(store.stats.commitLog).toBeUndefined();
    expect(existsSync(`${p.file}.commit-log`)).toBe(false);
    expect(toHex(sha256((await store.assetFiles.read(tx.events[0]!.assetGroupId!, a.assetId!))!))).toBe(toHex(a.assetFileDigest!));
    await store.close();
    await expect(openLedgerStore({ domainId: p.domainId, workingDir: p.workingDir, config: { db: { commit_log: { sync_interval_ms: -1 } } } })).rejects.toMatchObject({ code: "BAD_CONFIG" });
    await expect(openLedgerStore({ domainId: p.domainId, workingDir: p.workingDir, config: { db: { commit_log: "yes" as never } } })).rejects.toMatchObject({ code: "BAD_CONFIG" });
  });

  it("syncs a lone insert on the calling thread by default, a group of inserts in one fdatasync, and refuses a bad placement", async () => {
    const p = place();
    const store = await openLedgerStore({ domainId: p.domainId, workingDir: p.workingDir });
    const g = newId();
    const lone = makeTx({ assetGroupId: g, userId: newId() });
    expect((await store.insertTransaction(lone)).inserted).toBe(true);
    expect(store.stats.commitLog).toMatchObject({ logSyncs: 1, inlineSyncs: 1 });
    // queued together: one batch of several, one fdatasync (inline while the disk syncs fast: commit-log.test.ts)
    const group = Array.from({ length: 4 }, () => makeTx({ assetGroupId: g, userId: newId() }));
    expect((await Promise.all(group.map((t) => store.insertTransaction(t)))).every((r) => r.inserted)).toBe(true);
    expect(store.stats.commitLog).toMatchObject({ logSyncs: 2 });
    // the duplicate check sees the stored and the pending
    expect((await store.insertTransaction(lone)).inserted).toBe(false);
    await store.settle();
    expect((await store.insertTransaction(group[0]!)).inserted).toBe(false);
    expect(await store.countTransactions({ assetGroupId: g })).toBe(5);
    await store.close();
    await expect(openLedgerStore({ domainId: p.domainId, workingDir: p.workingDir, config: { db: { commit_log: { fdatasync: "sometimes" as never } } } })).rejects.toMatchObject({ code: "BAD_CONFIG" });
  });

  it.each(["on this thread", "on the pool (a promise)"] as const)("checks a lone insert's signatures during its fdatasync (%s): stored only if they hold, logged as unverified", async (where) => {
    const p = place();
    const store = await openLedgerStore({ domainId: p.domainId, workingDir: p.workingDir });
    const g = newId();
    const good = makeSignedTx({ assetGroupId: g, userId: newId() });
    const forged = makeSignedTx({ assetGroupId: g, userId: newId() }, true);
    const forgedWithFile = makeSignedTx({ assetGroupId: g, userId: newId(), file: new TextEncoder().encode("forged file") }, true);
    let calls = 0;
    const counted = (tx: BBcTransaction) => (where === "on this thread" ? () => (calls++, signaturesOf(tx)()) : () => (calls++, signaturesOnPool(tx)()));
    const syncs = () => store.stats.commitLog!.logSyncs;
    expect((await store.insertTransaction(good, { verifySignatures: counted(good) })).inserted).toBe(true);
    expect(calls).toBe(1);
    // refused after its record was made durable (the check ran during the fdatasync)
    await expect(store.insertTransaction(forged, { verifySignatures: counted(forged) })).rejects.toMatchObject({ code: "SIGNATURE_INVALID" });
    expect([calls, syncs()]).toEqual([2, 2]);
    // with a file: checked before anything is written (a forged insert is refused as forged, file slot taken or not)
    const forgedFiles = new Map([[toHex(forgedWithFile.events[0]!.asset!.assetId!), new TextEncoder().encode("forged file")]]);
    await expect(store.insertTransaction(forgedWithFile, { verifySignatures: counted(forgedWithFile), assetFiles: forgedFiles })).rejects.toMatchObject({ code: "SIGNATURE_INVALID" });
    expect([calls, syncs()]).toEqual([3, 2]);
    // a forged copy of a stored transaction is refused as forged, not as a duplicate
    await expect(store.insertTransaction(good, { verifySignatures: () => false })).rejects.toMatchObject({ code: "SIGNATURE_INVALID" });
    // a check that rejects or throws is a refusal too
    const forged2 = makeSignedTx({ assetGroupId: g, userId: newId() }, true);
    await expect(store.insertTransaction(forged2, { verifySignatures: () => Promise.reject(new Error("backend gone")) })).rejects.toMatchObject({ code: "SIGNATURE_INVALID" });
    await expect(store.insertTransaction(forged2, { verifySignatures: () => { throw new Error("backend gone"); } })).rejects.toMatchObject({ code: "SIGNATURE_INVALID" });
    expect(await store.getTransaction(idOf(forged2))).toBeNull();
    const visible = async (s: LedgerStore) => ({
      good: (await s.getTransaction(idOf(good))) !== null,
      forged: (await s.getTransaction(idOf(forged))) !== null,
      count: await s.countTransactions({ assetGroupId: g }),
      file: await s.assetFiles.read(g, forgedWithFile.events[0]!.asset!.assetId!),
    });
    expect(await visible(store)).toEqual({ good: true, forged: false, count: 1, file: null });
    await store.settle();
    expect(await visible(store)).toEqual({ good: true, forged: false, count: 1, file: null });
    await store.close();
    const again = await openLedgerStore({ domainId: p.domainId, workingDir: p.workingDir });
    expect(await visible(again)).toEqual({ good: true, forged: false, count: 1, file: null });
    await again.close();
  });

  it("a flood of forged lone inserts logs one unverified record, not one per insert", async () => {
    const p = place();
    const store = await openLedgerStore({ domainId: p.domainId, workingDir: p.workingDir });
    try {
      const g = newId();
      const syncs = () => store.stats.commitLog!.logSyncs;
      for (let i = 0; i < 20; i++) {
        const forged = makeSignedTx({ assetGroupId: g, userId: newId() }, true);
        await expect(store.insertTransaction(forged, { verifySignatures: signaturesOf(forged) })).rejects.toMatchObject({ code: "SIGNATURE_INVALID" });
      }
      // the first was logged (its check overlapped its fdatasync); the rest were checked first, nothing written
      expect(syncs()).toBe(1);
      // a stored insert passes the refused record (its segment can go), and overlapping resumes
      const good = makeSignedTx({ assetGroupId: g, userId: newId() });
      expect((await store.insertTransaction(good, { verifySignatures: signaturesOf(good) })).inserted).toBe(true);
      const forged = makeSignedTx({ assetGroupId: g, userId: newId() }, true);
      await expect(store.insertTransaction(forged, { verifySignatures: signaturesOf(forged) })).rejects.toMatchObject({ code: "SIGNATURE_INVALID" });
      expect(syncs()).toBe(3);
      expect(await store.countTransactions({ assetGroupId: g })).toBe(1);
    } finally {
      await store.close();
    }
  });

  it("recovery applies an unverified record only when its signatures hold, and never writes a refused one's files", async () => {
    const p = place();
    const first = await openLedgerStore({ domainId: p.domainId, workingDir: p.workingDir });
    const g = newId();
    const seed = makeTx({ assetGroupId: g, userId: newId() });
    await first.insertTransaction(seed);
    await first.close();
    // what a process killed during the check leaves: unverified records in the log, good and forged
    const db = new Database(p.file);
    const { ledger_id, applied_lsn } = db.prepare("SELECT ledger_id, applied_lsn FROM commit_log_state").get() as { ledger_id: Buffer; applied_lsn: number };
    db.close();
    const txs = [false, true, false, true].map((bad, i) => ({ bad, tx: makeSignedTx({ assetGroupId: g, userId: newId(), file: new TextEncoder().encode(`unverified ${i}`) }, bad), i }));
    const dir = `${p.file}.commit-log`;
    const log = CommitLog.open(dir, new Uint8Array(ledger_id), applied_lsn + 1);
    for (const { tx, i } of txs) {
      const a = tx.events[0]!.asset!;
      const files = [{ assetGroupId: g, assetId: a.assetId!, content: new TextEncoder().encode(`unverified ${i}`) }];
      const rec = toLedgerRecord(tx);
      const size = insertSize(rec, files);
      const buf = new Uint8Array(FRAME + size);
      encodeInsert(buf, new DataView(buf.buffer), FRAME, rec, files, true);
      log.append(buf, [size]);
    }
    await log.sync();
    const logged = scanLog(dir, new Uint8Array(ledger_id), applied_lsn).records.map((r) => decodeInsert(r.buf, r.view, r.start, r.end, r.lsn));
    expect(logged.map((it) => it.unverified)).toEqual([true, true, true, true]);
    await log.close();

    const store = await openLedgerStore({ domainId: p.domainId, workingDir: p.workingDir });
    try {
      for (const { bad, tx, i } of txs) {
        expect((await store.getTransaction(idOf(tx))) !== null, `tx ${i}`).toBe(!bad);
        const f = await store.assetFiles.read(g, tx.events[0]!.asset!.assetId!);
        expect(f === null ? null : new TextDecoder().decode(f), `file ${i}`).toBe(bad ? null : `unverified ${i}`);
      }
      expect(await store.countTransactions({ assetGroupId: g })).toBe(3);
      expect(await store.checkIntegrity()).toEqual({ ok: true, messages: ["ok"] });
      // the lsns of the refused records stay used: the next insert goes after them
      const next = makeSignedTx({ assetGroupId: g, userId: newId() });
      expect((await store.insertTransaction(next, { verifySignatures: signaturesOf(next) })).inserted).toBe(true);
    } finally {
      await store.close();
    }
    const last = await openLedgerStore({ domainId: p.domainId, workingDir: p.workingDir });
    expect(await last.countTransactions({ assetGroupId: g })).toBe(4);
    await last.close();
  });

  it("checks the signatures of inserts committed together before logging any of them", async () => {
    const p = place();
    const store = await openLedgerStore({ domainId: p.domainId, workingDir: p.workingDir });
    const g = newId();
    const txs = Array.from({ length: 6 }, (_, i) => makeSignedTx({ assetGroupId: g, userId: newId() }, i % 3 === 1));
    const out = await Promise.allSettled(txs.map((tx) => store.insertTransaction(tx, { verifySignatures: signaturesOf(tx) })));
    expect(out.map((r) => (r.status === "fulfilled" ? r.value.inserted : (r.reason as { code: string }).code))).toEqual([true, "SIGNATURE_INVALID", true, true, "SIGNATURE_INVALID", true]);
    expect(await store.countTransactions({ assetGroupId: g })).toBe(4);
    await store.close();
    // nothing refused reached the log: none of it comes back
    const again = await openLedgerStore({ domainId: p.domainId, workingDir: p.workingDir });
    expect(await again.countTransactions({ assetGroupId: g })).toBe(4);
    await again.close();
  });
});
