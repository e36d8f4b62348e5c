/**
 * User routing between two `bbc1-core` processes on loopback (A and B, one domain): MESSAGE round
 * trip U1 (on A) → U2 (on B) → U1 with one message in flight (p50/p99) and with 8 in flight
 * (round trips per second), and gathering one signature from a signer on B (p50/p99). The first
 * message resolves U2 (RESOLVE_USER_LOCATION); the measured ones go along the forwarding entries.
 *
 * Reference figures for two v1.1.1 nodes on this machine (measured earlier): round trip p50
 * 0.38–0.42 ms, about 2.5–2.8k round trips/s with 8 in flight, gather p50 0.8 ms.
 *
 * Environment: BBC1_BENCH_MS (time per row, default 3000); BBC1_BENCH_ROWS=...,routing selects.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { KeyPair, addEventAsset, getNewId, makeTransaction, toHex } from "@bbc1/bbclib";
import { BBcAppClient } from "@bbc1/client";
import { nodeEntry, quantile as at, repoRoot, startDomainNode, stopNode, type BenchRow, type NodeProc } from "./node-harness.js";

const MS = Number(process.env.BBC1_BENCH_MS ?? 3000);

/** Node `name` of the bench, in `<root>/<name>`: SQLite; gathers not rate-limited (the bench gathers as fast as it can). */
function routingNode(entry: string, domainId: Uint8Array, root: string, name: string): Promise<{ node: NodeProc }> {
  const section = { storage: { type: "internal" }, db: { db_type: "sqlite", db_name: "bbc_ledger.sqlite" } };
  return startDomainNode(entry, root, name, { domainId, section, config: { limits: { client: { gathers_per_second: 1_000_000 } } } });
}
const text = (v: unknown) => new TextDecoder().decode(v as Uint8Array);

export async function run(): Promise<BenchRow[]> {
  const rowsWanted = process.env.BBC1_BENCH_ROWS;
  if (rowsWanted !== undefined && !rowsWanted.split(",").includes("routing")) return [];
  const root = repoRoot();
  const entry = await nodeEntry(root, { build: false });
  const domainId = getNewId("routing bench domain");
  const dir = mkdtempSync(join(tmpdir(), "bbc1-routing-bench-"));
  const rows: BenchRow[] = [];
  const started: NodeProc[] = [];
  const clients: BBcAppClient[] = [];
  try {
    const a = await routingNode(entry, domainId, dir, "a");
    const b = await routingNode(entry, domainId, dir, "b");
    started.push(a.node, b.node);
    const u1 = await BBcAppClient.connect({ port: a.node.port, domainId, userId: getNewId("bench U1"), requestTimeoutMs: 30_000 });
    const u2 = await BBcAppClient.connect({ port: b.node.port, domainId, userId: getNewId("bench U2"), requestTimeoutMs: 30_000 });
    clients.push(u1, u2);
    await u1.sendDomainPing(domainId, "127.0.0.1", null, b.node.p2pPort);
    const deadline = Date.now() + 60_000;
    while ((await u1.getDomainNeighborlist(domainId)).length < 2 || (await u2.getDomainNeighborlist(domainId)).length < 2) {
      if (Date.now() > deadline) throw new Error("the bench nodes did not meet");
      await new Promise((r) => setTimeout(r, 100));
    }
    await u1.register();
    await u2.register();
    // U2 echoes every message; U1 matches the echo by its body
    u2.on("message", (m) => void u2.sendMessage(m.message ?? null, u1.userId!));
    const waiting = new Map<string, () => void>();
    u1.on("message", (m) => waiting.get(text(m.message))?.());
    let seq = 0;
    let lost = 0;
    const roundTrip = async (): Promise<number> => {
      const body = `m${seq++}`;
      let timer: NodeJS.Timeout | undefined;
      const back = new Promise<boolean>((res) => {
        waiting.set(body, () => res(true));
        timer = setTimeout(() => res(false), 2_000);
      });
      const t0 = performance.now();
      await u1.sendMessage(body, u2.userId!);
      const ok = await back;
      clearTimeout(timer);
      waiting.delete(body);
      if (!ok) lost++;
      return (performance.now() - t0) * 1000;
    };
    // warm-up: the first message resolves U2, the answer path is the reverse entry
    for (let i = 0; i < 200; i++) await roundTrip();
    process.stderr.write(`routing bench: warmed up (${lost} lost)\n`);
    lost = 0;

    const one: number[] = [];
    let end = performance.now() + MS;
    while (performance.now() < end) one.push(await roundTrip());
    one.sort((x, y) => x - y);
    const la1 = loadavg()[0]!.toFixed(1);
    rows.push({ name: "2 nodes: MESSAGE round trip U1(A)→U2(B)→U1, 1 in flight", opsPerSec: one.length / (MS / 1000), p50us: at(one, 0.5), p99us: at(one, 0.99), note: `${one.length} round trips (${lost} lost); v1.1.1: p50 380–420 µs; load average ${la1}` });

    process.stderr.write("routing bench: 1 in flight done\n");
    lost = 0;
    const eight: number[] = [];
    const t8 = performance.now();
    end = t8 + MS;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (performance.now() < end) eight.push(await roundTrip());
      }),
    );
    const secs8 = (performance.now() - t8) / 1000;
    eight.sort((x, y) => x - y);
    const la8 = loadavg()[0]!.toFixed(1);
    rows.push({ name: "2 nodes: MESSAGE round trips, 8 in flight", opsPerSec: eight.length / secs8, p50us: at(eight, 0.5), p99us: at(eight, 0.99), note: `round trips/s (${lost} lost); v1.1.1: 2.5–2.8k/s; load average ${la8}` });

    // gather: one signer on B signs every request
    const signer = await BBcAppClient.connect({ port: b.node.port, domainId, userId: getNewId("bench signer"), requestTimeoutMs: 30_000 });
    clients.push(signer);
    await signer.register();
    while (!(await signer.getUserList()).some((u) => toHex(u) === toHex(signer.userId!))) await new Promise((r) => setTimeout(r, 20));
    const ks = KeyPair.generate();
    const tx = makeTransaction({ eventNum: 1, witness: true });
    addEventAsset(tx, 0, getNewId("bench gather group"), u1.userId!, { assetBody: "sign me" });
    tx.witness!.addWitness(signer.userId!);
    tx.digest();
    const sig = tx.sign(ks);
    signer.on("signRequest", (req) => void signer.sendbackSignature({ destUserId: req.sourceUserId, transactionId: null, signature: sig, queryId: req.queryId }));
    const gather = async (): Promise<number> => {
      const t0 = performance.now();
      const r = await u1.gatherSignatures(tx, { destinations: [signer.userId!], timeoutMs: 5_000 });
      if (r.length !== 1 || r[0]!.status !== 0) throw new Error(`gather failed in the bench: ${r.map((x) => `${x.status} ${x.reason ?? ""}`).join(", ")}`);
      return (performance.now() - t0) * 1000;
    };
    for (let i = 0; i < 100; i++) await gather();
    const g: number[] = [];
    end = performance.now() + MS;
    while (performance.now() < end) g.push(await gather());
    g.sort((x, y) => x - y);
    const lag = loadavg()[0]!.toFixed(1);
    rows.push({ name: "2 nodes: gather signatures U1(A) from a signer on B", opsPerSec: g.length / (MS / 1000), p50us: at(g, 0.5), p99us: at(g, 0.99), note: `${g.length} gathers (signature made once, sent back each time; limits.client.gathers_per_second raised from 20); v1.1.1: p50 800 µs; load average ${lag}` });
  } finally {
    for (const c of clients) await c.close().catch(() => undefined);
    for (const n of started) await stopNode(n);
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}
