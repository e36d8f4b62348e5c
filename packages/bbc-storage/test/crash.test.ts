/**
 * Crash test: a child process inserts transactions into a SQLite ledger and reports each acknowledged id; the parent
 * kills it with SIGKILL at a random moment, reopens the ledger and checks that every acknowledged transaction (and
 * asset file) is present and readable, that every stored transaction (acknowledged or not) has its asset file, and that
 * PRAGMA integrity_check passes. Trials accumulate in one ledger.
 * BBC1_CRASH_TRIALS sets the number of trials (default 50).
 */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fromHex, getRandomId, toHex } from "@bbc1/bbclib";
import { decodeStoredTransaction, openLedgerStore } from "@bbc1/storage";

const TRIALS = Number(process.env.BBC1_CRASH_TRIALS ?? 50);
const root = resolve(import.meta.dirname, "../../..");
let childFile = "";
let workingDir = "";

beforeAll(async () => {
  // bundle the child from sources (our packages inlined, third-party packages resolved from the repo's node_modules)
  const outDir = join(root, "node_modules", ".cache", "bbc1-storage-test");
  mkdirSync(outDir, { recursive: true });
  childFile = join(outDir, `crash-child-${process.pid}.mjs`);
  await build({
    entryPoints: [join(import.meta.dirname, "fixtures", "crash-child.ts")],
    outfile: childFile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    conditions: ["@bbc1/source", "node"],
    // native and CommonJS drivers stay external (resolved from the repo's node_modules); the rest is bundled
    external: ["better-sqlite3", "pg", "pg-native", "mysql2"],
    banner: { js: "import { createRequire as __cr } from 'module'; const require = __cr(import.meta.url);" },
    logLevel: "error",
  });
  workingDir = mkdtempSync(join(tmpdir(), "bbc1-crash-"));
});

afterAll(() => {
  if (childFile) rmSync(childFile, { force: true });
  if (workingDir) rmSync(workingDir, { recursive: true, force: true });
});

interface Ack {
  txid: string;
  group: string;
  assetId: string;
}

function runAndKill(domainHex: string, killAfterMs: number): Promise<{ acks: Ack[]; signal: NodeJS.Signals | null; ready: boolean }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [childFile, workingDir, domainHex], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    let ready = false;
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (d: string) => {
      out += d;
      if (!ready && out.includes("ready\n")) {
        ready = true;
        setTimeout(() => child.kill("SIGKILL"), killAfterMs);
      }
    });
    child.stderr.on("data", (d) => (err += d));
    const guard = setTimeout(() => child.kill("SIGKILL"), 15_000);
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      clearTimeout(guard);
      if (!ready) return reject(new Error(`child exited before ready (code ${code}, signal ${signal}): ${err}`));
      const lines = out.split("\n");
      lines.pop(); // an incomplete last line was never acknowledged
      const acks = lines
        .filter((l) => l.startsWith("ack "))
        .map((l) => {
          const [, txid, group, assetId] = l.split(" ");
          return { txid, group, assetId };
        });
      resolvePromise({ acks, signal, ready });
    });
  });
}

describe("crash safety of the SQLite ledger (SIGKILL during inserts)", () => {
  it(`keeps every acknowledged transaction and asset file over ${TRIALS} random kills`, async () => {
    const domainHex = toHex(getRandomId());
    const acked: Ack[] = [];
    let killedMidWrite = 0;
    let storedWithFile = 0;
    for (let trial = 0; trial < TRIALS; trial++) {
      const delay = 1 + Math.floor(Math.random() * 60);
      const { acks, signal } = await runAndKill(domainHex, delay);
      expect(signal).toBe("SIGKILL");
      if (acks.length > 0) killedMidWrite++;
      acked.push(...acks);

      const store = await openLedgerStore({ domainId: domainHex, workingDir });
      try {
        const integrity = await store.checkIntegrity();
        expect(integrity, `integrity after trial ${trial}`).toEqual({ ok: true, messages: ["ok"] });
        for (const a of acked) {
          const row = await store.getTransaction(fromHex(a.txid));
          expect(row, `acknowledged ${a.txid} missing after trial ${trial}`).not.toBeNull();
          const tx = decodeStoredTransaction(row!);
          if (a.assetId !== "-") {
            const asset = tx.events[0].asset!;
            const v = await store.assetFiles.verify(fromHex(a.group), fromHex(a.assetId), asset.assetFileDigest!);
            expect(v.status, `asset file of ${a.txid} after trial ${trial}`).toBe("ok");
          }
        }
        if (acked.length > 0) expect(await store.countTransactions({ assetGroupId: fromHex(acked[0].group) })).toBeGreaterThan(0);
        // every stored transaction, acknowledged or not, has its asset file: files are durable before the rows
        for (const group of new Set(acked.map((a) => a.group))) {
          const { transactions } = await store.searchTransactions({ assetGroupId: fromHex(group), count: 0 });
          for (const row of transactions) {
            const asset = decodeStoredTransaction(row).events[0].asset!;
            if (asset.assetFileDigest === null) continue;
            storedWithFile++;
            const v = await store.assetFiles.verify(fromHex(group), asset.assetId!, asset.assetFileDigest);
            expect(v.status, `asset file of stored ${toHex(row.transactionId)} after trial ${trial}`).toBe("ok");
          }
        }
      } finally {
        await store.close();
      }
    }
    process.stdout.write(`crash test: ${TRIALS} SIGKILLs, ${acked.length} acknowledged transactions verified, ${killedMidWrite} kills during writes, ${storedWithFile} stored asset files checked\n`);
    expect(acked.length).toBeGreaterThan(TRIALS);
    expect(killedMidWrite).toBeGreaterThan(TRIALS / 2);
  }, 300_000);
});
