/**
 * Crash test of the commit log and the apply step behind it: a writer process (fixtures/log-writer.ts, tiny log
 * segments, sync points every 15 ms) is killed with SIGKILL at a random moment; a quarter of the trials also start
 * it again and kill it again while it opens the ledger (recovery). Then the ledger is opened (the restart) and:
 * - every acknowledged transaction is there, found by id, by asset id (index row), with its asset file and its
 *   topology rows (to the past and to the future);
 * - every stored transaction, acknowledged or not, is whole: all its asset rows and topology rows, its asset file;
 *   no asset or topology row without its transaction (nothing half-visible);
 * - PRAGMA integrity_check is ok.
 * BBC1_LOG_CRASH_TRIALS sets the number of trials (default 100; the storage README reports a run of 1,000).
 */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import Database from "better-sqlite3";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fromHex, getRandomId, sha256, toHex } from "@bbc1/bbclib";
import { AssetFileStore, assetInfoOf, decodeStoredTransaction, openLedgerStore, pointToOf } from "@bbc1/storage";

const TRIALS = Number(process.env.BBC1_LOG_CRASH_TRIALS ?? 100);
const root = resolve(import.meta.dirname, "../../..");
let childFile = "";
let workingDir = "";

beforeAll(async () => {
  const outDir = join(root, "node_modules", ".cache", "bbc1-storage-test");
  mkdirSync(outDir, { recursive: true });
  childFile = join(outDir, `log-writer-${process.pid}.mjs`);
  await build({
    entryPoints: [join(import.meta.dirname, "fixtures", "log-writer.ts")],
    outfile: childFile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    conditions: ["@bbc1/source", "node"],
    external: ["better-sqlite3", "pg", "pg-native", "mysql2"],
    banner: { js: "import { createRequire as __cr } from 'module'; const require = __cr(import.meta.url);" },
    logLevel: "error",
  });
  workingDir = mkdtempSync(join(tmpdir(), "bbc1-logcrash-"));
});

afterAll(() => {
  if (childFile) rmSync(childFile, { force: true });
  if (workingDir) rmSync(workingDir, { recursive: true, force: true });
});

interface Ack {
  txid: string;
  group: string;
  assetId: string;
  pointTo: string;
}

/**
 * Runs the writer; kills it `killAfterMs` after it is ready, or with `afterFirstAck` that long after its first
 * acknowledgement (on a loaded machine a writer can be ready for 60 ms without acknowledging anything), or with
 * `duringOpen` that long after the spawn.
 */
function runAndKill(domainHex: string, killAfterMs: number, duringOpen = false, afterFirstAck = false): Promise<{ acks: Ack[]; refused: string[]; ready: boolean }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [childFile, workingDir, domainHex], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    let ready = false;
    let armed = false;
    if (duringOpen) setTimeout(() => child.kill("SIGKILL"), killAfterMs);
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (d: string) => {
      out += d;
      if (!ready && out.includes("ready\n")) ready = true;
      if (ready && !duringOpen && !armed && (!afterFirstAck || out.includes("\nack "))) {
        armed = true;
        setTimeout(() => child.kill("SIGKILL"), killAfterMs);
      }
    });
    child.stderr.on("data", (d) => (err += d));
    const guard = setTimeout(() => child.kill("SIGKILL"), 20_000);
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      clearTimeout(guard);
      if (signal !== "SIGKILL") return reject(new Error(`writer exited (code ${code}, signal ${signal}): ${err}`));
      const lines = out.split("\n");
      lines.pop(); // an incomplete last line was never acknowledged to us
      const acks = lines
        .filter((l) => l.startsWith("ack "))
        .map((l) => {
          const [, txid, group, assetId, pointTo] = l.split(" ") as [string, string, string, string, string];
          return { txid, group, assetId, pointTo };
        });
      const refused = lines.filter((l) => l.startsWith("refused ")).map((l) => l.slice(8));
      resolvePromise({ acks, refused, ready });
    });
  });
}

describe("the worker-thread applier (apply_thread: true), in a process of its own", () => {
  it("applies behind the log, serves pending reads, runs writes in order, closes and reopens cleanly", async () => {
    const wd = mkdtempSync(join(tmpdir(), "bbc1-logthread-"));
    try {
      const out = await new Promise<string>((res, rej) => {
        const c = spawn(process.execPath, [childFile, wd, toHex(getRandomId()), "thread-roundtrip"], { stdio: ["ignore", "pipe", "pipe"] });
        let o = "";
        let e = "";
        c.stdout.on("data", (d) => (o += d));
        c.stderr.on("data", (d) => (e += d));
        c.on("exit", (code) => (code === 0 ? res(o) : rej(new Error(`exit ${code}: ${e}`))));
      });
      const report = JSON.parse(out.slice(out.indexOf("ok ") + 3));
      expect(report).toMatchObject({ applyThread: true, countPending: 50, count: 50, removedGone: true, present: true, crossRefs: 1, filesOk: true, recovered: 0, applied: 50 });
      expect(report.pendingSeen).toBeGreaterThan(0);
    } finally {
      rmSync(wd, { recursive: true, force: true });
    }
  }, 60_000);
});

describe("crash safety of the commit log and the apply step (SIGKILL at random points)", () => {
  it(`keeps every acknowledged transaction whole and nothing half-visible over ${TRIALS} kills`, async () => {
    const domainHex = toHex(getRandomId());
    const files = new AssetFileStore(join(workingDir, domainHex));
    const acked: Ack[] = [];
    const refused: string[] = [];
    let killedWithAcks = 0;
    let killedDuringOpen = 0;
    let checkedRows = 0;
    let lastRowid = 0;
    let lastAssetRow = 0;
    let lastEdgeRow = 0;
    for (let trial = 0; trial < TRIALS; trial++) {
      // half the kills count from "ready", half from the first acknowledgement (so that most trials kill a writer
      // with inserts acknowledged and in flight, however loaded the machine)
      const first = await runAndKill(domainHex, Math.floor(Math.random() * 60), false, Math.random() < 0.5);
      const acks = first.acks;
      if (acks.length > 0) killedWithAcks++;
      acked.push(...acks);
      refused.push(...first.refused);
      if (Math.random() < 0.25) {
        // killed again while it recovers what the first kill left
        const again = await runAndKill(domainHex, 5 + Math.floor(Math.random() * 60), true);
        if (!again.ready) killedDuringOpen++;
        acked.push(...again.acks);
        refused.push(...again.refused);
      }

      const store = await openLedgerStore({ domainId: domainHex, workingDir });
      try {
        expect(await store.checkIntegrity(), `integrity after trial ${trial}`).toEqual({ ok: true, messages: ["ok"] });
        // this trial's acknowledgements always, every earlier one ten times over the run and at the end
        const every = Math.max(20, Math.floor(TRIALS / 10));
        const check = trial % every === every - 1 || trial === TRIALS - 1 ? acked : acks;
        // a forged insert the store refused is never stored, whatever the kill interrupted
        for (const id of refused) expect(await store.getTransaction(fromHex(id)), `refused ${id} stored after trial ${trial}`).toBeNull();
        for (const a of check) {
          const id = fromHex(a.txid);
          const row = await store.getTransaction(id);
          expect(row, `acknowledged ${a.txid} missing after trial ${trial}`).not.toBeNull();
          const tx = decodeStoredTransaction(row!);
          const asset = tx.events[0]!.asset!;
          const byAsset = await store.searchTransactions({ assetId: asset.assetId!, count: 0 });
          expect(byAsset.transactions.map((t) => toHex(t.transactionId)), `asset row of ${a.txid}`).toContain(a.txid);
          if (a.assetId !== "-") expect((await store.assetFiles.verify(fromHex(a.group), fromHex(a.assetId), asset.assetFileDigest!)).status, `file of ${a.txid}`).toBe("ok");
          if (a.pointTo !== "-") {
            expect((await store.getTopology(id, true)).map((e) => toHex(e.pointTo))).toEqual([a.pointTo]);
            expect((await store.getTopology(fromHex(a.pointTo), false)).map((e) => toHex(e.base))).toContain(a.txid);
          }
        }
      } finally {
        await store.close();
      }

      // every row added since the last trial: each stored transaction whole, no row without its transaction
      const file = join(workingDir, domainHex, "bbc_ledger.sqlite");
      const db = new Database(file, { readonly: true });
      try {
        const txs = db.prepare("SELECT rowid AS r, transaction_id AS id, transaction_data AS data FROM transaction_table WHERE rowid > ? ORDER BY rowid").all(lastRowid) as Array<{ r: number; id: Buffer; data: Buffer }>;
        const assetRows = db.prepare("SELECT count(*) AS n FROM asset_info_table WHERE asset_id = ? AND transaction_id = ?");
        const edgeRows = db.prepare("SELECT count(*) AS n FROM topology_table WHERE base = ?");
        for (const t of txs) {
          const tx = decodeStoredTransaction({ transactionId: new Uint8Array(t.id), data: new Uint8Array(t.data) });
          for (const a of assetInfoOf(tx)) {
            expect((assetRows.get(Buffer.from(a.assetId!), t.id) as { n: number }).n, `asset row of stored ${toHex(t.id)}`).toBe(1);
            if (a.assetFileDigest !== null) {
              const content = await files.read(a.assetGroupId!, a.assetId!);
              expect(content, `file of stored ${toHex(t.id)} after trial ${trial}`).not.toBeNull();
              expect(toHex(sha256(content!))).toBe(toHex(a.assetFileDigest));
            }
          }
          expect((edgeRows.get(t.id) as { n: number }).n, `edges of stored ${toHex(t.id)}`).toBe(pointToOf(tx).length);
          lastRowid = t.r;
          checkedRows++;
        }
        const orphanAssets = db.prepare("SELECT count(*) AS n FROM asset_info_table a LEFT JOIN transaction_table t ON t.transaction_id = a.transaction_id WHERE a.id > ? AND t.transaction_id IS NULL").get(lastAssetRow) as { n: number };
        expect(orphanAssets.n, `asset rows without their transaction after trial ${trial}`).toBe(0);
        const orphanEdges = db.prepare("SELECT count(*) AS n FROM topology_table e LEFT JOIN transaction_table t ON t.transaction_id = e.base WHERE e.id > ? AND t.transaction_id IS NULL").get(lastEdgeRow) as { n: number };
        expect(orphanEdges.n, `topology rows without their transaction after trial ${trial}`).toBe(0);
        lastAssetRow = (db.prepare("SELECT coalesce(max(id), 0) AS m FROM asset_info_table").get() as { m: number }).m;
        lastEdgeRow = (db.prepare("SELECT coalesce(max(id), 0) AS m FROM topology_table").get() as { m: number }).m;
      } finally {
        db.close();
      }
    }
    process.stdout.write(`commit log crash test: ${TRIALS} SIGKILLs (${killedWithAcks} with inserts acknowledged, ${killedDuringOpen} during recovery), ${acked.length} acknowledged transactions verified, ${refused.length} refused forgeries absent, ${checkedRows} stored transactions checked whole\n`);
    expect(killedWithAcks).toBeGreaterThan(TRIALS / 2);
    expect(acked.length).toBeGreaterThan(TRIALS * 5);
  }, Math.max(600_000, TRIALS * 3000));
});
