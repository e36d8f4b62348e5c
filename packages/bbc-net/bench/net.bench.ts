/**
 * @bbc1/net benchmarks:
 * - messages/s between two nodes in two processes (this one sends, a forked child receives),
 *   over UDP (small USER messages) and over TCP (2 kB messages, one connection each), plaintext
 *   and encrypted (AES-256-CTR after a real key exchange);
 * - full-mesh convergence of 10 nodes seeded in a chain, with v1.1.1's timers on the real clock
 *   and on the test clock;
 * - memory per neighbour.
 */
import { fork, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import type { BenchRow } from "../../../bench/harness.js";
import { InfraMessageCategory, u16Bytes, type WireMessage } from "@bbc1/wire";
import { BBcNetwork, DEFAULT_NET_TIMINGS, KeyExchangeState, ManualScheduler, type NetLimits, type NetworkDomain } from "../src/index.js";

const DOMAIN = new Uint8Array(32).fill(0x42);
// The transport is measured, not the per-peer limiter (its default caps one peer at 20k msg/s).
const BENCH_LIMITS: Partial<NetLimits> = { messageRatePerAddress: 1e9, messageBurstPerAddress: 1e9, maxConnectionsPerAddress: 1000, maxConnections: 1000 };
const ROLE = process.env.BBC1_NET_BENCH_ROLE;

function userMessage(size: number): WireMessage {
  return { infra_msg_type: u16Bytes(InfraMessageCategory.CATEGORY_USER), domain_id: DOMAIN, command: 66, message: new Uint8Array(size) };
}

async function receiver(): Promise<void> {
  const encryption = process.env.BBC1_NET_BENCH_ENC === "1" ? "all" : "off";
  const net = new BBcNetwork({ host4: "127.0.0.1", port: 0, limits: BENCH_LIMITS, encryption });
  await net.start();
  const domain = net.createDomain(DOMAIN);
  let count = 0;
  let encrypted = 0;
  domain.setHandler("user", {
    handle: (_m, ctx) => {
      count++;
      if (ctx.encrypted) encrypted++;
    },
  });
  const report = setInterval(() => process.send!({ count, encrypted }), 5);
  process.on("message", async (m: { cmd: string }) => {
    if (m.cmd === "stop") {
      clearInterval(report);
      await net.close();
      process.exit(0);
    }
  });
  process.send!({ ready: true, port: net.port, nodeId: Buffer.from(domain.nodeId).toString("hex") });
}

if (ROLE === "receiver") void receiver();

async function twoNodes(encrypted: boolean): Promise<{ child: ChildProcess; sender: BBcNetwork; domain: NetworkDomain; peer: Uint8Array; counts: { count: number; encrypted: number } }> {
  const child = fork(fileURLToPath(import.meta.url), [], { env: { ...process.env, BBC1_NET_BENCH_ROLE: "receiver", BBC1_NET_BENCH_ENC: encrypted ? "1" : "0" }, stdio: ["ignore", "ignore", "inherit", "ipc"] });
  const counts = { count: 0, encrypted: 0 };
  const ready = await new Promise<{ port: number; nodeId: string }>((resolve) => {
    child.on("message", (m: { ready?: boolean; port: number; nodeId: string; count?: number; encrypted?: number }) => {
      if (m.ready) resolve(m);
      else if (m.count !== undefined) {
        counts.count = m.count;
        counts.encrypted = m.encrypted ?? 0;
      }
    });
  });
  const sender = new BBcNetwork({ host4: "127.0.0.1", port: 0, limits: BENCH_LIMITS, encryption: encrypted ? "all" : "off" });
  await sender.start();
  const domain = sender.createDomain(DOMAIN);
  const peer = new Uint8Array(Buffer.from(ready.nodeId, "hex"));
  domain.addStaticNode(peer, "127.0.0.1", null, ready.port);
  const t0 = Date.now();
  while (!(domain.keyExchangeOf(peer)?.state === KeyExchangeState.ESTABLISHED)) {
    if (Date.now() - t0 > 30_000) throw new Error("no key exchange");
    await new Promise((r) => setTimeout(r, 20));
  }
  await new Promise((r) => setTimeout(r, 200)); // the responder's CONFIRM has arrived
  return { child, sender, domain, peer, counts };
}

async function throughput(name: string, encrypted: boolean, size: number, window: number, ms: number): Promise<BenchRow> {
  const { child, sender, domain, peer, counts } = await twoNodes(encrypted);
  const msg = userMessage(size);
  let sent = 0;
  const base = counts.count;
  let lost = 0;
  // Window flow control on what the receiver reports; datagrams that never arrive (kernel
  // buffer overflow) are written off after 200 ms without progress.
  const run = async (durationMs: number): Promise<{ received: number; seconds: number }> => {
    const start = performance.now();
    const from = counts.count;
    let seen = counts.count;
    let lastProgress = performance.now();
    while (performance.now() - start < durationMs) {
      while (sent - lost - (counts.count - base) < window) {
        domain.sendToNode(peer, msg);
        sent++;
      }
      await new Promise((r) => setTimeout(r, 1));
      if (counts.count !== seen) {
        seen = counts.count;
        lastProgress = performance.now();
      } else if (performance.now() - lastProgress > 200) {
        lost = sent - (counts.count - base);
        lastProgress = performance.now();
      }
    }
    const settleEnd = performance.now() + 500;
    while (counts.count - base < sent - lost && performance.now() < settleEnd) await new Promise((r) => setTimeout(r, 10));
    return { received: counts.count - from, seconds: (performance.now() - start) / 1000 };
  };
  await run(Math.min(300, ms / 4)); // warm-up
  const r = await run(ms);
  lost = sent - (counts.count - base);
  const enc = counts.encrypted;
  child.send({ cmd: "stop" });
  await sender.close();
  await new Promise((res) => child.once("exit", res));
  return {
    name,
    opsPerSec: r.received / r.seconds,
    note: `two processes, ${size}-byte message body, window ${window}${lost > 0 ? `, ${lost} lost` : ""}${encrypted ? `, ${enc > 0 ? "encrypted" : "NOT encrypted"}` : ""}`,
  };
}

async function convergence(realClock: boolean, n: number): Promise<BenchRow> {
  const clock = realClock ? undefined : new ManualScheduler();
  const nodes: Array<{ net: BBcNetwork; domain: NetworkDomain }> = [];
  for (let i = 0; i < n; i++) {
    const net = new BBcNetwork({ host4: "127.0.0.1", port: 0, timings: DEFAULT_NET_TIMINGS, scheduler: clock });
    await net.start();
    nodes.push({ net, domain: net.createDomain(DOMAIN) });
  }
  const wall0 = performance.now();
  const proto0 = clock?.now() ?? Date.now();
  for (let i = 1; i < n; i++) nodes[i]!.domain.addStaticNode(nodes[i - 1]!.domain.nodeId, "127.0.0.1", null, nodes[i - 1]!.net.port);
  while (!nodes.every((x) => x.domain.neighbors.size === n - 1)) {
    if (clock) clock.advance(20);
    await new Promise((r) => setTimeout(r, clock ? 1 : 10));
    if (performance.now() - wall0 > 120_000) throw new Error("no convergence");
  }
  const wall = performance.now() - wall0;
  const proto = (clock?.now() ?? Date.now()) - proto0;
  await Promise.all(nodes.map((x) => x.net.close()));
  return {
    name: `full-mesh convergence, ${n} nodes, ${realClock ? "real clock" : "test clock"}`,
    opsPerSec: 1000 / wall,
    p50us: wall * 1000,
    note: `${(wall / 1000).toFixed(2)} s wall, ${(proto / 1000).toFixed(2)} s protocol time (v1.1.1 timers; chain of static nodes; p50 column = wall time)`,
  };
}

function gc(): void {
  setFlagsFromString("--expose-gc");
  (runInNewContext("gc") as () => void)();
}

async function memoryPerNeighbor(count: number, withCipher: boolean): Promise<BenchRow> {
  const net = new BBcNetwork({ host4: "127.0.0.1", port: 0, scheduler: new ManualScheduler(), limits: { maxNeighborsPerDomain: count + 1 } });
  await net.start();
  const domain = net.createDomain(DOMAIN);
  gc();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < count; i++) {
    const id = new Uint8Array(randomBytes(32));
    domain.addNeighbor(id, `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, null, 6641);
    if (withCipher) {
      const name = net.registry.reserveKeyName();
      net.registry.setCipher(name, new Uint8Array(randomBytes(32)), new Uint8Array(randomBytes(16)), new Uint8Array(randomBytes(4)));
    }
  }
  gc();
  const after = process.memoryUsage().heapUsed;
  const per = (after - before) / count;
  await net.close({ notifyLeave: false });
  return {
    name: `memory per neighbour${withCipher ? " with an established cipher" : ""}`,
    opsPerSec: per,
    note: `${Math.round(per)} bytes of JS heap each (${count} neighbours; ops/s column = bytes; AES contexts live outside the JS heap)`,
  };
}

export async function run(): Promise<BenchRow[]> {
  const ms = Number(process.env.BBC1_NET_BENCH_MS ?? 3000);
  const rows: BenchRow[] = [];
  rows.push(await throughput("UDP messages/s, plaintext", false, 200, 2048, ms));
  rows.push(await throughput("UDP messages/s, encrypted", true, 200, 2048, ms));
  rows.push(await throughput("TCP messages/s, plaintext", false, 2000, 64, ms));
  rows.push(await throughput("TCP messages/s, encrypted", true, 2000, 64, ms));
  rows.push(await convergence(true, 10));
  rows.push(await convergence(false, 10));
  rows.push(await memoryPerNeighbor(2000, false));
  rows.push(await memoryPerNeighbor(2000, true));
  return rows;
}
