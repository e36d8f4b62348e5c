/**
 * Storage benchmarks, per back end: durable inserts with 1 writer and with 16 concurrent writers (group commit),
 * search by id at 10k (and 1M with BBC1_BENCH_1M=1) stored transactions, count by asset_group_id.
 * PostgreSQL / MariaDB rows need the servers (BBC1_TEST_PG_URL, BBC1_TEST_MYSQL_URL); unreachable ones are reported.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { measure, measureAsync, type BenchRow } from "../../../bench/harness.js";
import { openLedgerStore, type DomainStorageConfig, type LedgerRecord, type LedgerStore } from "../src/index.js";

const PG_URL = process.env.BBC1_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const MYSQL_URL = process.env.BBC1_TEST_MYSQL_URL ?? "mysql://root@127.0.0.1:3306/test";
const BIG = process.env.BBC1_BENCH_1M === "1";
const BIG_N = Number(process.env.BBC1_BENCH_BIG_N ?? 1_000_000);
const MS = Number(process.env.BBC1_BENCH_MS ?? 1500);

// random bytes come from a pre-filled pool so that generating records costs the benchmark next to nothing
const POOL = randomBytes(8 << 20);
let poolAt = 0;
function rnd(n: number): Buffer {
  if (poolAt + n > POOL.length) poolAt = (poolAt * 7919 + 13) % 4096; // wrap with a shifting offset
  const b = POOL.subarray(poolAt, poolAt + n);
  poolAt += n;
  return b;
}
let counter = 0n;
/** A unique 32-byte id: random pool bytes with a counter in the last 8 bytes. */
function uid(): Buffer {
  const b = Buffer.from(rnd(32));
  b.writeBigUInt64BE(counter++, 24);
  return b;
}
const groups = Array.from({ length: 10 }, () => randomBytes(32));
const users = Array.from({ length: 100 }, () => randomBytes(32));
let seq = 0;
let lastId: Buffer = randomBytes(32);

/** A record shaped like a typical transaction: ~300 bytes, one asset, one pointer to an earlier transaction. */
function record(): LedgerRecord {
  const id = uid();
  const n = seq++;
  const rec: LedgerRecord = {
    transactionId: id,
    data: rnd(300),
    assets: [{ assetGroupId: groups[n % groups.length], assetId: uid(), userId: users[n % users.length], assetFileSize: 0, assetFileDigest: null }],
    pointTo: [lastId],
  };
  lastId = id;
  return rec;
}

async function fill(store: LedgerStore, ids: Buffer[], target: number): Promise<void> {
  while (ids.length < target) {
    const chunk = Array.from({ length: Math.min(2048, target - ids.length) }, record);
    await Promise.all(chunk.map((r) => store.insertTransaction(r)));
    for (const r of chunk) ids.push(r.transactionId as Buffer);
  }
}

async function benchBackend(label: string, open: () => Promise<{ store: LedgerStore; cleanup: () => Promise<void> }>): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  let ctx: { store: LedgerStore; cleanup: () => Promise<void> };
  try {
    ctx = await open();
  } catch (e) {
    return [{ name: `${label}: (not run)`, opsPerSec: 0, note: `server not reachable: ${(e as Error).message}` }];
  }
  const { store } = ctx;
  try {
    const ids: Buffer[] = [];
    const ins = async () => {
      const r = record();
      await store.insertTransaction(r);
      ids.push(r.transactionId as Buffer);
    };
    rows.push(await measureAsync(`${label}: insert, 1 writer, durable commit`, ins, { ms: MS, concurrency: 1 }));
    const before = { ...store.stats };
    rows.push(await measureAsync(`${label}: insert, 16 writers (group commit)`, ins, { ms: MS, concurrency: 16 }));
    const batches = store.stats.batches - before.batches;
    rows[rows.length - 1].note = `avg ${((store.stats.inserts - before.inserts) / Math.max(1, batches)).toFixed(1)} tx per commit`;

    await fill(store, ids, 10_000);
    const pick = () => ids[Math.floor(Math.random() * ids.length)];
    const n10k = ids.length;
    const s10k = await measureAsync(`${label}: search by id @${Math.round(n10k / 1000)}k`, () => store.getTransaction(pick()), { ms: MS });
    rows.push(s10k);
    rows.push(
      await measureAsync(`${label}: count by asset_group_id @${Math.round(n10k / 1000)}k`, () => store.countTransactions({ assetGroupId: groups[0] }), {
        ms: MS,
        note: `${Math.round(n10k / groups.length)} matching`,
      }),
    );
    rows.push(
      await measureAsync(`${label}: search by asset_group_id, count 30 @${Math.round(n10k / 1000)}k`, () => store.searchTransactions({ assetGroupId: groups[1], count: 30 }), { ms: MS }),
    );
    if (BIG) {
      const t0 = performance.now();
      await fill(store, ids, BIG_N);
      const fillSecs = (performance.now() - t0) / 1000;
      const big = await measureAsync(`${label}: search by id @${Math.round(ids.length / 1000)}k`, () => store.getTransaction(pick()), { ms: MS });
      big.note = `p50 ${(big.p50us! / s10k.p50us!).toFixed(2)}x of 10k; filled at ${Math.round((BIG_N - n10k) / fillSecs)} tx/s`;
      rows.push(big);
      rows.push(
        await measureAsync(`${label}: count by asset_group_id @${Math.round(ids.length / 1000)}k`, () => store.countTransactions({ assetGroupId: groups[0] }), {
          ms: MS,
          note: `${Math.round(ids.length / groups.length)} matching`,
        }),
      );
    } else {
      rows.push({ name: `${label}: search by id @1M`, opsPerSec: 0, note: "skipped (set BBC1_BENCH_1M=1)" });
    }
  } finally {
    await store.close();
    await ctx.cleanup();
  }
  return rows;
}

function tmpStore(config: DomainStorageConfig, dropper?: () => Promise<void>) {
  return async () => {
    const workingDir = mkdtempSync(join(tmpdir(), "bbc1-bench-storage-"));
    const store = await openLedgerStore({ domainId: randomBytes(32), workingDir, config });
    return {
      store,
      cleanup: async () => {
        await dropper?.();
        rmSync(workingDir, { recursive: true, force: true });
      },
    };
  };
}

/**
 * The disk's ceiling, measured at the same moment: better-sqlite3 alone (WAL, synchronous=FULL), one table, 16
 * single-row inserts per durable commit. Group commit with 16 writers cannot beat 16 rows per fsync.
 */
async function rawSqliteBaseline(): Promise<BenchRow> {
  const { default: Database } = await import("better-sqlite3");
  const dir = mkdtempSync(join(tmpdir(), "bbc1-bench-raw-"));
  try {
    const db = new Database(join(dir, "raw.sqlite"));
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = FULL");
    db.exec("CREATE TABLE t (id BLOB PRIMARY KEY, data BLOB)");
    const ins = db.prepare("INSERT INTO t VALUES (?, ?)");
    const commit16 = db.transaction(() => {
      for (let i = 0; i < 16; i++) ins.run(uid(), rnd(300));
    });
    const row = measure("sqlite raw baseline: 16 rows per durable commit, 1 table", commit16, { ms: MS });
    db.close();
    return { ...row, opsPerSec: row.opsPerSec * 16, note: "rows/s; better-sqlite3 alone, no indexes: the disk's ceiling right now" };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function run(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const only = process.env.BBC1_BENCH_BACKENDS?.split(",");
  const want = (b: string) => !only || only.includes(b);
  if (want("sqlite")) rows.push(await rawSqliteBaseline());
  if (want("sqlite")) rows.push(...(await benchBackend("sqlite", tmpStore({ db: { db_type: "sqlite", db_name: "bench.sqlite" } }))));
  if (want("postgres")) {
    const schema = `bbc1_bench_${randomBytes(4).toString("hex")}`;
    const cfg: DomainStorageConfig = { db: { db_type: "postgres", db_servers: [{ db_url: PG_URL, db_schema: schema }] } };
    rows.push(
      ...(await benchBackend(
        "postgres",
        tmpStore(cfg, async () => {
          const { loadPg } = await import("../src/load.js");
          const pg = loadPg();
          const c = new pg.Client({ connectionString: PG_URL });
          await c.connect();
          await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
          await c.end();
        }),
      )),
    );
  }
  if (want("mysql")) {
    const dbName = `bbc1_bench_${randomBytes(4).toString("hex")}`;
    const u = new URL(MYSQL_URL);
    u.pathname = `/${dbName}`;
    rows.push(
      ...(await benchBackend(
        "mariadb",
        tmpStore({ db: { db_type: "mysql", db_servers: [{ db_url: u.toString() }] } }, async () => {
          const { loadMysql } = await import("../src/load.js");
          const c = loadMysql().createConnection({ host: u.hostname, port: Number(u.port || 3306), user: decodeURIComponent(u.username), password: decodeURIComponent(u.password) });
          await c.promise().query(`DROP DATABASE IF EXISTS \`${dbName}\``);
          await c.promise().end();
        }),
      )),
    );
  }
  return rows;
}
