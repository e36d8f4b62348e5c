/**
 * The receiving side of replication, in one process: CPU per received REQUEST_REPLICATION_INSERT
 * from its decoded frame body to the durable store (decode, the checks of a client insert,
 * group commit with the SQLite commit log, local notifications). The frames arrive in bursts of 16
 * per event-loop turn, as the datagrams of one sender's group commit do. The network's receive
 * (UDP, framing, rate budget) is not included. Wall time here is noisy on a shared machine: the
 * figure to compare is CPU µs per transaction (process.cpuUsage: every thread of the process),
 * next to the signature verification alone (the part no implementation avoids).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { KeyPair, deserialize, getNewId, validateTransaction } from "@bbc1/bbclib";
import { HEADER_LENGTH, decodePayload, encodeMessage, type WireMessage } from "@bbc1/wire";
import { buildReplicationInsert, type ReceiveContext } from "@bbc1/net";
import type { BenchRow } from "../../../bench/harness.js";
import { BBcCoreService } from "../src/index.js";
import { signedTx } from "../test/helpers/node.js";

const N = Number(process.env.BBC1_BENCH_REPLICA_TXS ?? 4000);
const BURST = 16;

export async function run(): Promise<BenchRow[]> {
  const dir = mkdtempSync(join(tmpdir(), "bbc1-replica-bench-"));
  const node = await BBcCoreService.start({ workingDir: dir, corePort: 0, p2pPort: 0, p2pHost: "127.0.0.1", useNodeKey: false, logger: pino({ level: "silent" }) });
  const rows: BenchRow[] = [];
  try {
    const domainId = getNewId("replica bench domain");
    await node.createDomain(domainId);
    const domain = node.domains.get(Buffer.from(domainId).toString("hex"))!;
    const key = KeyPair.generate();
    const user = getNewId("replica bench user");
    const group = getNewId("replica bench group");
    const sender = getNewId("replica bench sender");
    // what arrives: the msgpack body of each frame (decoded in the timed part, as the network does)
    const bodies: Uint8Array[] = [];
    for (let i = 0; i < N; i++) {
      const { data } = signedTx(key, user, group, { body: `replica bench ${i} ${Math.random()}` });
      const m = buildReplicationInsert(domainId, data, new Map());
      m.destination_node_id = new Uint8Array(32);
      m.source_node_id = sender;
      bodies.push(encodeMessage(2, m).subarray(HEADER_LENGTH));
    }
    const ctx: ReceiveContext = { domainId, sourceNodeId: sender, from: { transport: "udp", address: "127.0.0.1", port: 6641, family: 4 }, encrypted: false };
    const stats = () => node.stats.snapshot() as Record<string, Record<string, number> | undefined>;
    // verification alone, same transactions (the floor)
    const txs = bodies.slice(0, 500).map((b) => deserialize((decodePayload(2, b) as WireMessage).transaction_data as Uint8Array));
    const v0 = process.cpuUsage();
    for (const tx of txs) {
      tx.digest();
      validateTransaction(tx);
    }
    const v = process.cpuUsage(v0);
    const verifyUs = (v.user + v.system) / txs.length;
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const running: Array<Promise<void> | void> = [];
    for (let i = 0; i < N; i += BURST) {
      for (let k = i; k < Math.min(N, i + BURST); k++) running.push(domain.data!.handle(decodePayload(2, bodies[k]!) as WireMessage, ctx));
      await new Promise((r) => setImmediate(r));
      // stay inside the per-peer in-flight budget (what exceeds it is dropped, and is not measured here)
      while ((domain.replication?.inflight ?? 0) > 128) await new Promise((r) => setTimeout(r, 1));
    }
    await Promise.all(running);
    await domain.ledger!.settle?.();
    const c = process.cpuUsage(c0);
    const secs = (performance.now() - t0) / 1000;
    const stored = stats().replication?.stored ?? 0;
    const us = (c.user + c.system) / N;
    rows.push({ name: `replica: REQUEST_REPLICATION_INSERT received → durable, bursts of ${BURST}`, opsPerSec: N / secs, note: `CPU ${us.toFixed(0)} µs/tx (all threads), of which signature verification ${verifyUs.toFixed(0)} µs; ${stored}/${N} stored` });
  } finally {
    await node.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}
