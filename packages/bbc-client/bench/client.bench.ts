/**
 * End to end over loopback: @bbc1/client against an in-process @bbc1/core node (SQLite ledger in
 * a temporary working directory). Transactions are built and signed before the timed loop, so
 * the figures are client encode + TCP + node (validate, store, answer) + client decode.
 *
 * - insert, 1 client, one request in flight
 * - insert, 16 clients, one request in flight each
 * - search by id (p50/p99), 1 client
 * - traverse 3 hops backwards along a chain, 1 client
 * - for scale, the client alone: count round trip against a stub server that answers at once
 * - the client's CPU per insert / search by id (this process's user+system time per request)
 *   against a stub node in another process that answers each request with a canned frame
 *
 * BBC1_CLIENT_BENCH_ONLY=cpu runs only the client-CPU rows (a few seconds, no node).
 * BBC1_CLIENT_BENCH_NODE=host:port runs the same against an already running node instead (e.g.
 * the original Python bbc_core.py started with --no_nodekey, or `npm start -- --no_nodekey`).
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { measureAsync, type BenchRow } from "../../../bench/harness.js";
import { BBcCoreService } from "@bbc1/core";
import { KeyPair, addEventAsset, addRelationAsset, addRelationPointer, makeTransaction, sha256, toHex, type BBcTransaction } from "@bbc1/bbclib";
import { MsgType, encodeMessage, type WireMessage } from "@bbc1/wire";
import { BBcAppClient } from "../src/index.js";
import { FakeCore, reply } from "../test/fake-core.js";

const te = new TextEncoder();
const domainId = sha256(te.encode(`bench domain ${Date.now()}`));
const assetGroup = sha256(te.encode("bench asset group"));
const key = KeyPair.generate();
let seq = 0;

function makeTx(user: Uint8Array): BBcTransaction {
  const tx = makeTransaction({ eventNum: 1, witness: true });
  addEventAsset(tx, 0, assetGroup, user, { assetBody: `bench ${seq++} ${Date.now()}` });
  tx.witness!.addWitness(user);
  tx.addSignature(user, tx.sign(key));
  tx.serialize();
  return tx;
}

/** A pool of pre-signed transactions, refilled (outside no timing guarantees) when drained. */
function pool(user: Uint8Array, n: number): () => BBcTransaction {
  const txs = Array.from({ length: n }, () => makeTx(user));
  return () => txs.pop() ?? makeTx(user);
}

export async function run(): Promise<BenchRow[]> {
  if (process.env.BBC1_CLIENT_BENCH_ONLY === "cpu") return clientCpuRows();
  const external = process.env.BBC1_CLIENT_BENCH_NODE;
  const dir = mkdtempSync(join(tmpdir(), "bbc1-client-bench-"));
  const node = external ? null : await BBcCoreService.start({ workingDir: dir, corePort: 0, p2pPort: 0, p2pHost: "127.0.0.1", useNodeKey: false, logLevel: "silent" });
  const host = external ? external.slice(0, external.lastIndexOf(":")) : "127.0.0.1";
  const port = external ? Number(external.slice(external.lastIndexOf(":") + 1)) : node!.port;
  const tag = external ? ` [${external}]` : "";
  const clients: BBcAppClient[] = [];
  const rows: BenchRow[] = [];
  try {
    const connect = async (i: number): Promise<BBcAppClient> => {
      const c = await BBcAppClient.connect({ host, port, domainId, userId: sha256(te.encode(`bench user ${i}`)) });
      clients.push(c);
      await c.register();
      return c;
    };
    // the domain must exist before REGISTER (a registration in a domain the node does not serve is lost)
    const setup = await BBcAppClient.connect({ host, port });
    clients.push(setup);
    await setup.domainSetup(domainId);
    const admin = await connect(0);
    const user0 = admin.userId!;

    // sequential inserts
    const next0 = pool(user0, 3000);
    const ids: Uint8Array[] = [];
    rows.push(
      await measureAsync(
        `insert, 1 client, 1 in flight${tag}`,
        async () => {
          const r = await admin.insertTransaction(next0());
          ids.push(r.transactionId);
        },
        { ms: 3000, note: "1-event tx, witness-signed, SQLite WAL" },
      ),
    );

    // 16 concurrent clients, one request in flight each
    const many = await Promise.all(Array.from({ length: 16 }, (_, i) => connect(i + 1)));
    const free = many.map((c) => ({ c, next: pool(c.userId!, 400) }));
    rows.push(
      await measureAsync(
        `insert, 16 clients, 1 in flight each${tag}`,
        async () => {
          const w = free.pop()!;
          try {
            await w.c.insertTransaction(w.next());
          } finally {
            free.push(w);
          }
        },
        { ms: 3000, concurrency: 16, note: "aggregate ops/s; latency per insert" },
      ),
    );

    // search by id
    let k = 0;
    rows.push(
      await measureAsync(
        `search by id, 1 client${tag}`,
        async () => {
          await admin.searchTransaction(ids[(k++ * 7919) % ids.length]!);
        },
        { ms: 2000, note: `${ids.length} tx in the ledger` },
      ),
    );

    // a chain for traversal: each tx points to the previous one
    const chain: Uint8Array[] = [ids[0]!];
    for (let i = 0; i < 60; i++) {
      const tx = makeTransaction({ relationNum: 1, witness: true });
      addRelationAsset(tx, 0, assetGroup, user0, { assetBody: `chain ${i}` });
      addRelationPointer(tx, 0, chain[chain.length - 1]!, null);
      tx.witness!.addWitness(user0);
      tx.addSignature(user0, tx.sign(key));
      chain.push((await admin.insertTransaction(tx)).transactionId);
    }
    let j = 0;
    rows.push(
      await measureAsync(
        `traverse 3 hops backwards, 1 client${tag}`,
        async () => {
          const r = await admin.traverseTransactions(chain[3 + (j++ % (chain.length - 3))]!, { direction: 1, hopCount: 3 });
          if (r.tree.length !== 3) throw new Error(`traverse returned ${r.tree.length} levels`);
        },
        { ms: 2000, note: "3 levels, 1 tx each" },
      ),
    );
  } finally {
    for (const c of clients) await c.close();
    await node?.close();
    rmSync(dir, { recursive: true, force: true });
  }

  // the client alone: encode, loopback TCP, a stub that decodes and answers, decode
  const stub = await FakeCore.start((r) => {
    r.conn.send(reply(r.message, 95, { count: 1 }));
    stub.received.length = 0;
  });
  const sc = await BBcAppClient.connect({ port: stub.port, domainId, userId: sha256(te.encode("stub user")) });
  try {
    rows.push(
      await measureAsync("count round trip vs stub server (client cost)", () => sc.countTransactions({ assetGroupId: assetGroup }), {
        ms: 1500,
        note: "no node: client + loopback + stub decode/encode",
      }),
    );
  } finally {
    await sc.close();
    await stub.close();
  }
  rows.push(...(await clientCpuRows()));
  return rows;
}

/**
 * A stub node as its own process (plain node:net, no decoding): for every request frame it
 * sends the canned answer for its command with the request's query_id patched in, so that this
 * process's CPU time is the client's own (encode, write, read, decode, promise) and the kernel's.
 */
const STUB = `
const net = require("node:net");
const answers = JSON.parse(process.argv[1]);
const delayMs = Number(process.argv[2] ?? 0);
const canned = new Map(Object.entries(answers).map(([cmd, a]) => [Number(cmd), { frame: Buffer.from(a.hex, "hex"), qidAt: a.qidAt }]));
const QID_KEY = Buffer.from("a40000000ba2", "hex");
const server = net.createServer((s) => {
  s.setNoDelay(true);
  let buf = Buffer.alloc(0);
  s.on("data", (d) => {
    buf = buf.length ? Buffer.concat([buf, d]) : d;
    while (buf.length >= 8) {
      const len = buf.readUInt32BE(4);
      if (buf.length < 8 + len) break;
      const body = buf.subarray(8, 8 + len);
      buf = buf.subarray(8 + len);
      const cmd = body[6]; // command comes first: 8n a4 00000009 <fixint>
      const a = canned.get(cmd);
      const q = body.indexOf(QID_KEY); // in the envelope, before any payload bytes
      if (a === undefined || q < 0) continue;
      const out = Buffer.from(a.frame);
      out[a.qidAt] = body[q + 6];
      out[a.qidAt + 1] = body[q + 7];
      if (delayMs > 0) setTimeout(() => s.write(out), delayMs);
      else s.write(out);
    }
  });
  s.on("error", () => {});
});
server.listen(0, "127.0.0.1", () => process.stdout.write(server.address().port + "\\n"));
`;

async function clientCpuRows(): Promise<BenchRow[]> {
  const rows = await clientCpuRowsWith(0);
  // the same insert when every answer takes 3 ms (as a durable insert does): the client sleeps
  // and is woken for each answer, which on a busy 2-core VM costs far more than the library's work
  rows.push(...(await clientCpuRowsWith(3)));
  return rows;
}

async function clientCpuRowsWith(delayMs: number): Promise<BenchRow[]> {
  const user = sha256(te.encode("cpu user"));
  const stored = makeTx(user);
  const frameOf = (m: WireMessage): { hex: string; qidAt: number } => {
    const frame = encodeMessage(2, { ...m, query_id: new Uint8Array([0xee, 0xff]) });
    // the query id is the 2 bytes after a4 0000000b a2
    const at = Buffer.from(frame).indexOf(Buffer.from("a40000000ba2eeff", "hex")) + 6;
    return { hex: toHex(frame), qidAt: at };
  };
  const envelope = (command: number): WireMessage => ({ domain_id: domainId, command, destination_user_id: user, query_id: null, status: 0 });
  const answers = {
    [MsgType.REQUEST_INSERT]: frameOf({ ...envelope(MsgType.RESPONSE_INSERT), transaction_id: stored.transactionId }),
    [MsgType.REQUEST_SEARCH_TRANSACTION]: frameOf({ ...envelope(MsgType.RESPONSE_SEARCH_TRANSACTION), transaction_id: stored.transactionId, transaction_data: stored.transactionData, all_asset_files: new Map() }),
  };
  const child = spawn(process.execPath, ["-e", STUB, JSON.stringify(answers), String(delayMs)], { stdio: ["ignore", "pipe", "inherit"] });
  const rows: BenchRow[] = [];
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.once("error", reject);
      child.stdout!.once("data", (d: Buffer) => resolve(Number(String(d).trim())));
    });
    const c = await BBcAppClient.connect({ port, domainId, userId: user });
    try {
      const txs = Array.from({ length: 500 }, () => makeTx(user));
      let i = 0;
      const cpuRow = async (name: string, fn: () => Promise<unknown>, note: string): Promise<BenchRow> => {
        let n = 0;
        const cpu0 = process.cpuUsage();
        const row = await measureAsync(name, () => (n++, fn()), { ms: 1500 });
        const cpu = process.cpuUsage(cpu0);
        return { ...row, note: `${((cpu.user + cpu.system) / n).toFixed(1)} µs CPU per request (user ${(cpu.user / n).toFixed(1)}); ${note}` };
      };
      if (delayMs > 0) {
        rows.push(await cpuRow(`insert vs stub answering after ${delayMs} ms: client CPU`, () => c.insertTransaction(txs[i++ % txs.length]!), "one wake-up per answer"));
        return rows;
      }
      rows.push(await cpuRow("insert vs stub process: client CPU", () => c.insertTransaction(txs[i++ % txs.length]!), "signed beforehand, serialized again per insert"));
      rows.push(await cpuRow("search by id vs stub process: client CPU", () => c.searchTransaction(stored.transactionId!), "answer decoded into a BBcTransaction"));
    } finally {
      await c.close();
    }
  } finally {
    child.kill();
  }
  return rows;
}
