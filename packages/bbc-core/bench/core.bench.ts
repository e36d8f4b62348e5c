/**
 * End-to-end benchmarks of a node over loopback with the raw-frame client (what the Python
 * client sends): sequential inserts (one request in flight), 16 concurrent clients, search by
 * id, traverse of 3 hops. Every insert is durable (SQLite WAL, synchronous=FULL, group commit)
 * before its response.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { Worker, isMainThread, parentPort, workerData } from "node:worker_threads";
import { join } from "node:path";
import pino from "pino";
import { KeyPair, getNewId } from "@bbc1/bbclib";
import { MsgType } from "@bbc1/wire";
import type { BenchRow } from "../../../bench/harness.js";
import { measureAsync } from "../../../bench/harness.js";
import { BBcCoreService } from "../src/index.js";
import { RawClient } from "../test/helpers/raw-client.js";
import { signedTx, type SignedTx } from "../test/helpers/node.js";

const MS = Number(process.env.BBC1_BENCH_MS ?? 3000);
const NODE_ROLE = "bbc1-core-bench-node";

// The node runs on a worker thread of its own (as it would in its own process), so that the
// benchmark's clients do not share its event loop. This bundle is that worker's entry.
if (!isMainThread && (workerData as { role?: string } | null)?.role === NODE_ROLE && parentPort !== null) {
  const port = parentPort;
  const { dir } = workerData as { dir: string };
  const inline = process.env.BBC1_BENCH_INLINE_MAX_SIGS;
  const node = await BBcCoreService.start({
    workingDir: dir,
    corePort: 0,
    p2pPort: 0,
    p2pHost: "127.0.0.1",
    useNodeKey: false,
    logger: pino({ level: "silent" }),
    verifyInlineMaxSignatures: inline !== undefined ? Number(inline) : undefined,
  });
  port.on("message", (m: string) => {
    if (m === "close") void node.close().then(() => port.postMessage({ closed: true }));
  });
  port.postMessage({ port: node.port, validatorWorkers: node.validatorThreads });
}

interface NodeHandle {
  port: number;
  close(): Promise<void>;
  where: string;
}

async function startNode(dir: string): Promise<NodeHandle> {
  const url = new URL(import.meta.url);
  if (!/\.[cm]?tsx?$/.test(url.pathname)) {
    const w = new Worker(url, { workerData: { role: NODE_ROLE, dir } });
    const first = await new Promise<{ port: number; validatorWorkers: number }>((res, rej) => {
      w.once("message", res);
      w.once("error", rej);
    });
    return {
      port: first.port,
      where: `node on its own thread, ${first.validatorWorkers} verify workers`,
      close: async () => {
        const closed = new Promise((r) => w.once("message", r));
        w.postMessage("close");
        await closed;
        await w.terminate();
      },
    };
  }
  const node = await BBcCoreService.start({ workingDir: dir, corePort: 0, p2pPort: 0, p2pHost: "127.0.0.1", useNodeKey: false, logger: pino({ level: "silent" }) });
  return { port: node.port, where: "node in the client's thread", close: () => node.close() };
}

export async function run(): Promise<BenchRow[]> {
  const dir = mkdtempSync(join(tmpdir(), "bbc1-core-bench-"));
  const node = await startNode(dir);
  const rows: BenchRow[] = [];
  try {
    const domainId = getNewId("bench domain");
    const admin = await RawClient.connect(node.port);
    await admin.answer(admin.admin(MsgType.REQUEST_SETUP_DOMAIN, { domain_id: domainId, random: new Uint8Array(32) }));
    await admin.close();

    const key = KeyPair.generate();
    const user = getNewId("bench user");
    const ag = getNewId("bench group");
    // signing is the client's cost, not the node's: prepare enough transactions up front for both
    // insert rows at up to 8,000 tx/s, so that no signing happens in the benchmark's timed loops
    const pool: SignedTx[] = [];
    const take = (): SignedTx => {
      if (pool.length === 0) for (let i = 0; i < 2000; i++) pool.push(signedTx(key, user, ag));
      return pool.pop()!;
    };
    const prepared = Math.min(60_000, Math.ceil((2 * MS * 8000) / 1000));
    for (let i = 0; i < prepared; i++) pool.push(signedTx(key, user, ag));

    const clients: RawClient[] = [];
    for (let i = 0; i < 16; i++) {
      const c = await RawClient.connect(node.port);
      c.domainId = domainId;
      c.userId = getNewId("bench client " + i);
      c.register();
      clients.push(c);
    }
    await new Promise((r) => setTimeout(r, 100));
    const one = clients[0]!;
    const inserted: Uint8Array[] = [];
    const insertWith = async (c: RawClient): Promise<void> => {
      const s = take();
      const res = await c.answer(c.request(MsgType.REQUEST_INSERT, { transaction_data: s.data, all_asset_files: new Map() }), 30_000);
      if (res.status !== 0) throw new Error(`insert failed: ${String(res.status)}`);
      inserted.push(s.id);
    };

    rows.push(await measureAsync("insert, 1 client sequential (durable)", () => insertWith(one), { ms: MS, note: `ref v1.1.1: 316 tx/s; ${node.where}` }));

    const idle = [...clients];
    rows.push(
      await measureAsync(
        "insert, 16 clients concurrent (durable)",
        async () => {
          const c = idle.pop()!;
          try {
            await insertWith(c);
          } finally {
            idle.push(c);
          }
        },
        { ms: MS, concurrency: 16 },
      ),
    );

    let i = 0;
    rows.push(
      await measureAsync(
        "search by transaction_id",
        async () => {
          const id = inserted[i++ % inserted.length]!;
          const res = await one.answer(one.request(MsgType.REQUEST_SEARCH_TRANSACTION, { transaction_id: id }));
          if (res.status !== 0) throw new Error("search failed");
        },
        { ms: MS, note: "ref v1.1.1: 0.41 ms" },
      ),
    );

    // a chain of 40 transactions; traverse 3 hops backward from its head
    let prev: Uint8Array | undefined;
    const chainAg = getNewId("chain group");
    for (let k = 0; k < 40; k++) {
      const s = signedTx(key, user, chainAg, prev ? { pointTo: [prev] } : {});
      await one.answer(one.request(MsgType.REQUEST_INSERT, { transaction_data: s.data, all_asset_files: new Map() }));
      prev = s.id;
    }
    const head = prev!;
    rows.push(
      await measureAsync(
        "traverse 3 hops",
        async () => {
          const res = await one.answer(one.request(MsgType.REQUEST_TRAVERSE_TRANSACTIONS, { transaction_id: head, direction: 1, hop_count: 3 }));
          if ((res.transaction_tree as unknown[]).length !== 3) throw new Error("traverse failed");
        },
        { ms: MS },
      ),
    );
    for (const c of clients) await c.close();
  } finally {
    await node.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}
