/**
 * The HTTP endpoint of nodes in a domain of two bbc1-core processes: once they met and keyed,
 * /metrics counts the neighbour by key-exchange state and the P2P bytes, /readyz says the P2P
 * port listens, and the explorer's node API lists the neighbour.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getNewId, toHex } from "@bbc1/bbclib";
import { ensureBuilt } from "../helpers.js";
import { cluster, until, type Cluster, type ClusterNode } from "./cluster.js";

beforeAll(() => ensureBuilt(), 120_000);

function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split("\n")) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (m === null || m[1] !== name) continue;
    const got = Object.fromEntries([...(m[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((p) => [p[1], p[2]]));
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[3]);
  }
  return undefined;
}

describe("metrics, readiness and neighbours of a two-node domain", () => {
  let c: Cluster;
  const domainId = getNewId("observe multinode domain");
  const d = toHex(domainId);
  beforeAll(async () => {
    c = await cluster(domainId);
    await Promise.all(["a", "b"].map((n) => c.add(n)));
  }, 120_000);
  afterAll(() => c?.close());

  it("counts the neighbour by key state, the P2P bytes, and lists it in the explorer", async () => {
    const [a, b] = c.nodes as [ClusterNode, ClusterNode];
    const scrape = async (n: ClusterNode) => (await fetch(`${n.proc.http}/metrics`)).text();
    const before = await scrape(a);
    expect(sample(before, "bbc1_p2p_listening")).toBe(1);
    expect(sample(before, "bbc1_peers", { domain: d })).toBeUndefined();
    await a.admin.sendDomainPing(domainId, "127.0.0.1", null, b.p2pPort);
    const text = await until("a to count b as an established peer", async () => {
      const t = await scrape(a);
      return sample(t, "bbc1_peers", { domain: d, state: "established" }) === 1 ? t : undefined;
    });
    expect(sample(text, "bbc1_p2p_sent_bytes_total")).toBeGreaterThan(sample(before, "bbc1_p2p_sent_bytes_total")!);
    expect(sample(text, "bbc1_p2p_received_bytes_total")).toBeGreaterThan(sample(before, "bbc1_p2p_received_bytes_total")!);
    expect(sample(await scrape(b), "bbc1_peers", { domain: d, state: "established" })).toBe(1);

    const ready = await fetch(`${a.proc.http}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.text()).toBe("ready: 1 domain(s), P2P listening\n");

    const info = (await (await fetch(`${a.proc.http}/api/node`)).json()) as { p2p: boolean; p2p_port: number; domains: { domain_id: string; neighbours: { node_id: string; port: number; state: string }[] }[] };
    expect(info.p2p).toBe(true);
    expect(info.p2p_port).toBe(a.p2pPort);
    const mine = info.domains.find((x) => x.domain_id === d)!;
    expect(mine.neighbours).toEqual([expect.objectContaining({ node_id: toHex(b.nodeId), port: b.p2pPort, state: "established" })]);
  }, 60_000);
});
