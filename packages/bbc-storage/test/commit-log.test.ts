/**
 * The commit log on its own: records round-trip through segments, recovery stops at a torn or out-of-sequence record
 * and drops what follows, foreign or gapped logs move aside, segments roll and are released, and one process owns
 * the log at a time. Property: any record survives encode → log → scan → decode unchanged.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { CommitLog, FRAME, acquireLogLock, releaseLogLock, scanLog } from "../src/commit-log.js";
import { decodeInsert, encodeInsert, insertSize, type LoggedFile } from "../src/log-codec.js";
import type { LedgerRecord } from "../src/types.js";

const dirs: string[] = [];
function freshDir(): string {
  const d = mkdtempSync(join(tmpdir(), "bbc1-clog-"));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const LEDGER = new Uint8Array(16).fill(7);
const rnd = (n: number) => new Uint8Array(Array.from({ length: n }, () => Math.floor(Math.random() * 256)));

function rec(n: number, dataBytes = 100): { record: LedgerRecord; files: LoggedFile[] } {
  const id = rnd(32);
  id[0] = n & 0xff;
  const g = rnd(32);
  const a = rnd(32);
  return {
    record: { transactionId: id, data: rnd(dataBytes), assets: [{ assetGroupId: g, assetId: a, userId: rnd(32), assetFileSize: n % 3, assetFileDigest: n % 2 ? rnd(32) : null }], pointTo: n % 2 ? [rnd(32)] : [] },
    files: n % 4 === 0 ? [{ assetGroupId: g, assetId: a, content: rnd(50 + n) }] : [],
  };
}

/** Lays out records as frames and appends them (what the ledger does per batch). */
function appendBatch(log: CommitLog, items: Array<{ record: LedgerRecord; files: LoggedFile[] }>): number {
  const sizes = items.map((it) => insertSize(it.record, it.files));
  const buf = new Uint8Array(sizes.reduce((n, s) => n + FRAME + s, 0));
  const view = new DataView(buf.buffer);
  let off = 0;
  items.forEach((it, i) => {
    off = encodeInsert(buf, view, off + FRAME, it.record, it.files);
    expect(off).toBeGreaterThan(0);
    void sizes[i];
  });
  return log.append(buf, sizes);
}

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString("hex");
}

describe("commit log", () => {
  it("preallocates every segment, the first one of a freshly opened log too: appends never grow a file", async () => {
    const dir = freshDir();
    const log = CommitLog.open(dir, LEDGER, 1, { segmentBytes: 64 * 1024 });
    const sizes = () => readdirSync(dir).filter((f) => f.endsWith(".log")).sort().map((f) => statSync(join(dir, f)).size);
    // zero-filled to its capacity before the first record (a growing file journals its size at every fdatasync)
    expect(sizes()).toEqual([64 * 1024]);
    for (let i = 1; i <= 40; i++) {
      appendBatch(log, [rec(i, 2000)]);
      await log.sync(false);
      // the next segment is being zero-filled in the background from the first append on: wait until it is ready
      for (let t = 0; i === 1 && !readdirSync(dir).some((f) => /^spare-\d+$/.test(f)) && t < 500; t++) await new Promise((r) => setTimeout(r, 10));
    }
    await new Promise((r) => setTimeout(r, 50));
    // rolled over into preallocated segments only: each file is exactly its capacity
    const after = sizes();
    expect(after.length).toBeGreaterThan(1);
    for (const n of after) expect(n).toBe(64 * 1024);
    await log.close();
    expect(scanLog(dir, LEDGER, 0).records.map((r) => r.lsn)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
  });

  it("with fdatasync \"auto\", syncs a lone batch on the calling thread, and a small one there while the disk syncs fast, else on the pool", async () => {
    // while recent fdatasyncs averaged under the threshold, every small batch is synced inline, a large one (many
    // clients waiting) on the pool
    const fast = CommitLog.open(freshDir(), LEDGER, 1, { autoInlineBelowMs: Infinity, autoInlineMaxRecords: 8 });
    for (let i = 1; i <= 3; i++) {
      appendBatch(fast, [rec(2 * i), rec(2 * i + 1)]);
      await fast.sync(false, 2);
    }
    expect([fast.syncs, fast.inlineSyncs]).toEqual([3, 3]);
    appendBatch(fast, Array.from({ length: 9 }, (_, k) => rec(10 + k)));
    await fast.sync(false, 9);
    expect([fast.syncs, fast.inlineSyncs]).toEqual([4, 3]);
    await fast.close();
    // a disk slower than the threshold: the first sync (no average yet) inline, the next ones on the pool, and a
    // lone batch still inline
    const slow = CommitLog.open(freshDir(), LEDGER, 1, { autoInlineBelowMs: 1e-9 });
    for (let i = 1; i <= 3; i++) {
      appendBatch(slow, [rec(2 * i), rec(2 * i + 1)]);
      await slow.sync(false, 2);
    }
    expect([slow.syncs, slow.inlineSyncs]).toEqual([3, 1]);
    appendBatch(slow, [rec(9)]);
    await slow.sync(true);
    expect([slow.syncs, slow.inlineSyncs]).toEqual([4, 2]);
    // one small batch in 32 still goes inline, to see whether the disk sped up
    for (let i = 0; i < 32; i++) {
      appendBatch(slow, [rec(20 + i)]);
      await slow.sync(false, 1);
    }
    expect([slow.syncs, slow.inlineSyncs]).toEqual([36, 3]);
    await slow.close();
    // threshold 0: only a lone batch inline
    const dir = freshDir();
    const log = CommitLog.open(dir, LEDGER, 1, { autoInlineBelowMs: 0 });
    appendBatch(log, [rec(1)]);
    const lone = log.sync(true);
    // inline: done before sync() returns its promise (nothing was handed to another thread)
    expect(log.inlineSyncs).toBe(1);
    await lone;
    appendBatch(log, [rec(2), rec(3)]);
    await log.sync(false);
    expect(log.syncs).toBe(2);
    expect(log.inlineSyncs).toBe(1);
    await log.close();
    expect(scanLog(dir, LEDGER, 0).records.map((r) => r.lsn)).toEqual([1, 2, 3]);
    // "pool" never syncs inline, "inline" always does
    for (const [fdatasync, inline] of [["pool", 0], ["inline", 2]] as const) {
      const d = freshDir();
      const l = CommitLog.open(d, LEDGER, 1, { fdatasync });
      appendBatch(l, [rec(1)]);
      await l.sync(true);
      appendBatch(l, [rec(2)]);
      await l.sync(false);
      expect(l.inlineSyncs).toBe(inline);
      await l.close();
    }
  });

  it.each(["pool", "inline", "auto"] as const)("round-trips records through several segments, in lsn order (fdatasync %s)", async (fdatasync) => {
    const dir = freshDir();
    const log = CommitLog.open(dir, LEDGER, 1, { segmentBytes: 8192, fdatasync });
    const written: Array<{ record: LedgerRecord; files: LoggedFile[] }> = [];
    for (let b = 0; b < 40; b++) {
      const items = Array.from({ length: 1 + (b % 5) }, (_, i) => rec(b * 10 + i, 200));
      expect(appendBatch(log, items)).toBe(written.length + 1);
      written.push(...items);
      await Promise.all([log.sync(b % 2 === 0), log.sync()]); // concurrent calls share, then settle
    }
    expect(log.segments).toBeGreaterThan(3);
    await log.close();
    const scan = scanLog(dir, LEDGER, 0);
    expect(scan.stoppedBecause).toBeUndefined();
    expect(scan.records.map((r) => r.lsn)).toEqual(written.map((_, i) => i + 1));
    expect(scan.nextLsn).toBe(written.length + 1);
    scan.records.forEach((r, i) => {
      const d = decodeInsert(r.buf, r.view, r.start, r.end, r.lsn);
      expect(hex(d.record.transactionId)).toBe(hex(written[i]!.record.transactionId));
      expect(hex(d.record.data)).toBe(hex(written[i]!.record.data));
      expect(d.files.map((f) => hex(f.content))).toEqual(written[i]!.files.map((f) => hex(f.content)));
    });
    // only what is above the applied point comes back
    expect(scanLog(dir, LEDGER, 50).records[0]!.lsn).toBe(51);
  });

  it("stops at a torn last record, keeps what came before, and continues after it in a new segment", async () => {
    const dir = freshDir();
    let log = CommitLog.open(dir, LEDGER, 1);
    appendBatch(log, [rec(1), rec(2)]);
    appendBatch(log, [rec(3)]);
    await log.sync();
    await log.close();
    const seg = join(dir, readdirSync(dir).find((f) => f.endsWith(".log"))!);
    // a write cut short: the last record loses its tail (zeros, as in the preallocated rest of the segment)
    const last = scanLog(dir, LEDGER, 0).records.at(-1)!;
    const bytes = readFileSync(seg);
    bytes.fill(0, last.end - 20, last.end);
    writeFileSync(seg, bytes);
    let scan = scanLog(dir, LEDGER, 0);
    expect(scan.records.map((r) => r.lsn)).toEqual([1, 2]);
    expect(scan.stoppedBecause).toMatch(/torn/);
    expect(scan.nextLsn).toBe(3);
    log = CommitLog.open(dir, LEDGER, scan.nextLsn);
    appendBatch(log, [rec(4)]);
    await log.sync();
    await log.close();
    scan = scanLog(dir, LEDGER, 0);
    expect(scan.records.map((r) => r.lsn)).toEqual([1, 2, 3]);
    expect(scan.stoppedBecause).toMatch(/torn/); // the old tail stays torn; the new segment continues at 3
  });

  it("stops at a corrupted record and deletes the segments after it (nothing there was acknowledged)", async () => {
    const dir = freshDir();
    const log = CommitLog.open(dir, LEDGER, 1, { segmentBytes: 4096 });
    for (let i = 0; i < 30; i++) {
      appendBatch(log, [rec(i, 300)]);
      await log.sync();
    }
    await log.close();
    const segs = readdirSync(dir).filter((f) => f.endsWith(".log")).sort();
    expect(segs.length).toBeGreaterThan(3);
    const victim = join(dir, segs[1]!);
    const b = readFileSync(victim);
    b[64 + 16 + 5] ^= 0xff; // a payload byte of the segment's first record
    writeFileSync(victim, b);
    const scan = scanLog(dir, LEDGER, 0);
    expect(scan.stoppedBecause).toMatch(/torn/);
    const firstOfVictim = scan.records.length + 1;
    expect(scan.nextLsn).toBe(firstOfVictim);
    expect(readdirSync(dir).filter((f) => f.endsWith(".log")).sort()).toEqual(segs.slice(0, 2));
  });

  it("moves a log of another ledger, or one with a gap before it, aside", async () => {
    const dir = freshDir();
    const log = CommitLog.open(dir, LEDGER, 1);
    appendBatch(log, [rec(1)]);
    await log.close();
    const other = scanLog(dir, new Uint8Array(16).fill(9), 0);
    expect(other.records).toEqual([]);
    expect(other.stoppedBecause).toMatch(/another ledger/);
    expect(existsSync(other.movedAside!)).toBe(true);
    dirs.push(other.movedAside!);

    const log2 = CommitLog.open(dir, LEDGER, 100);
    appendBatch(log2, [rec(2)]);
    await log2.close();
    const gap = scanLog(dir, LEDGER, 10); // the tables hold up to 10, the log starts at 100
    expect(gap.stoppedBecause).toMatch(/starts at 100/);
    expect(gap.nextLsn).toBe(11);
    dirs.push(gap.movedAside!);
  });

  it("releases segments once their records are durable elsewhere; a clean close leaves none", async () => {
    const dir = freshDir();
    const log = CommitLog.open(dir, LEDGER, 1, { segmentBytes: 4096 });
    for (let i = 0; i < 20; i++) appendBatch(log, [rec(i, 400)]);
    await log.sync();
    const before = log.segments;
    expect(before).toBeGreaterThan(2);
    expect(log.release(0)).toBe(0);
    expect(log.release(20)).toBe(before - 1); // all closed segments; the current one stays
    await log.close(20);
    expect(readdirSync(dir).filter((f) => f.endsWith(".log"))).toEqual([]);
  });

  it("is owned by one opener at a time (an exclusive lock the kernel drops with the process)", () => {
    const dir = freshDir();
    const a = acquireLogLock(dir);
    expect(a).toBeDefined();
    expect(acquireLogLock(dir)).toBeUndefined();
    releaseLogLock(a!);
    const b = acquireLogLock(dir);
    expect(b).toBeDefined();
    releaseLogLock(b!);
  });

  it("property: any record survives encode → log → scan → decode", async () => {
    const id = fc.uint8Array({ minLength: 0, maxLength: 64 });
    const optId = fc.option(id, { nil: null });
    const record = fc.record({
      transactionId: id,
      data: fc.uint8Array({ maxLength: 2000 }),
      assets: fc.array(fc.record({ assetGroupId: optId, assetId: optId, userId: optId, assetFileSize: fc.nat(), assetFileDigest: optId }), { maxLength: 4 }),
      pointTo: fc.array(id, { maxLength: 4 }),
    });
    const files = fc.array(fc.record({ assetGroupId: id, assetId: id, content: fc.uint8Array({ maxLength: 3000 }) }), { maxLength: 3 });
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(record, files), { minLength: 1, maxLength: 6 }), async (batch) => {
        const dir = freshDir();
        const log = CommitLog.open(dir, LEDGER, 1, { segmentBytes: 8192 });
        appendBatch(log, batch.map(([record, f]) => ({ record, files: f })));
        await log.close();
        const scan = scanLog(dir, LEDGER, 0);
        expect(scan.records.length).toBe(batch.length);
        scan.records.forEach((r, i) => {
          const d = decodeInsert(r.buf, r.view, r.start, r.end, r.lsn);
          const [want, wantFiles] = batch[i]!;
          expect(hex(d.record.transactionId)).toBe(hex(want.transactionId));
          expect(hex(d.record.data)).toBe(hex(want.data));
          expect(d.record.assets.map((a) => [a.assetGroupId && hex(a.assetGroupId), a.assetId && hex(a.assetId), a.userId && hex(a.userId), a.assetFileSize, a.assetFileDigest && hex(a.assetFileDigest)])).toEqual(
            want.assets.map((a) => [a.assetGroupId && hex(a.assetGroupId), a.assetId && hex(a.assetId), a.userId && hex(a.userId), a.assetFileSize, a.assetFileDigest && hex(a.assetFileDigest)]),
          );
          expect(d.record.pointTo.map(hex)).toEqual(want.pointTo.map(hex));
          expect(d.files.map((f) => [hex(f.assetGroupId), hex(f.assetId), hex(f.content)])).toEqual(wantFiles.map((f) => [hex(f.assetGroupId), hex(f.assetId), hex(f.content)]));
        });
        rmSync(dir, { recursive: true, force: true });
      }),
      { numRuns: 60 },
    );
  });
});
