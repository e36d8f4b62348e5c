/**
 * Real sockets, v1.1.1's protocol times, one shared test clock: minutes of protocol time run in
 * a fraction of a second (§12).
 */
import { afterEach, describe, expect, it } from "vitest";
import { BBcNetwork, DEFAULT_NET_TIMINGS, KeyExchangeState, ManualScheduler, NetStats, type NetworkDomain } from "../src/index.js";
import { DOMAIN } from "./nodes.js";

const open: BBcNetwork[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((n) => n.close()));
});

async function node(clock: ManualScheduler, stats = new NetStats()): Promise<{ net: BBcNetwork; domain: NetworkDomain; stats: NetStats }> {
  const net = new BBcNetwork({ host4: "127.0.0.1", port: 0, scheduler: clock, timings: DEFAULT_NET_TIMINGS, stats });
  open.push(net);
  await net.start();
  return { net, domain: net.createDomain(DOMAIN), stats };
}

/** Moves the test clock in steps, letting real I/O happen between steps, until `cond`. */
async function runUntil(clock: ManualScheduler, cond: () => boolean, stepMs: number, maxMs: number): Promise<number> {
  const start = clock.now();
  while (!cond()) {
    if (clock.now() - start > maxMs) throw new Error(`not reached within ${maxMs} ms of protocol time`);
    clock.advance(stepMs);
    await new Promise((r) => setTimeout(r, 2));
  }
  return clock.now() - start;
}

describe("reference timings on the test clock", () => {
  it("ping -> key exchange within 1–6 s -> periodic neighbour lists every 200–400 s -> purge after 900 s of silence", async () => {
    const clock = new ManualScheduler();
    const a = await node(clock);
    const b = await node(clock);
    a.domain.sendDomainPing("127.0.0.1", null, b.net.port);
    await runUntil(clock, () => a.domain.neighbors.size === 1 && b.domain.neighbors.size === 1, 10, 1000);
    const t = await runUntil(
      clock,
      () => a.domain.keyExchangeOf(b.domain.nodeId)?.state === KeyExchangeState.ESTABLISHED && b.domain.keyExchangeOf(a.domain.nodeId)?.state === KeyExchangeState.ESTABLISHED,
      50,
      60_000,
    );
    expect(t).toBeLessThanOrEqual(6_100 + 7_600); // first attempt within 6 s, a collision costs one retry
    const lists0 = a.stats.get("topology_manager", "NOTIFY_NEIGHBOR_LIST");
    await runUntil(clock, () => a.stats.get("topology_manager", "NOTIFY_NEIGHBOR_LIST") > lists0 + 2, 5_000, 1_300_000);
    // B goes silent (crash, no leave): A purges it 900 s after its last refresh, at a 300 s purge tick
    await b.net.close({ notifyLeave: false });
    const gone = await runUntil(clock, () => a.domain.neighbors.size === 0, 10_000, 1_300_000);
    expect(gone).toBeGreaterThanOrEqual(900_000 - 400_000);
    expect(gone).toBeLessThanOrEqual(900_000 + 300_000 + 10_000);
  });
});
