/**
 * A client flooding MESSAGEs to users nobody hosts (each one a RESOLVE_USER_LOCATION waiting
 * `resolve_timeout_ms`) on two real bbc1-core processes: its resolutions are held to
 * `limits.client.max_pending_resolves_per_connection`, refused maps come back to it at once
 * ("Too many messages waiting for a user location"), the refusals are counted in GET_STATS
 * category `limits`, and a legitimate client on another connection of the same node still
 * reaches a user on the other node. Before the quota, the flood took all of the domain's
 * `limits.p2p.max_pending_resolves` (4096) slots and the legitimate message was dropped.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getNewId, toHex } from "@bbc1/bbclib";
import { BBcAppClient, type UserMessage } from "@bbc1/client";
import { ensureBuilt } from "../helpers.js";
import { FAST_TIMINGS, cluster, holdsExactly, until, type Cluster, type ClusterNode } from "../multinode/cluster.js";

beforeAll(() => ensureBuilt(), 120_000);

const text = (v: unknown) => new TextDecoder().decode(v as Uint8Array);
/** More than the domain's 4096 pending slots. */
const FLOOD = 4_500;

describe("one client cannot take every pending user resolution of a domain", () => {
  let c: Cluster;
  let a: ClusterNode, b: ClusterNode;
  const domainId = getNewId("resolve quota domain");
  const clients: BBcAppClient[] = [];

  beforeAll(async () => {
    // resolutions live long enough for the legitimate message to come after the whole flood
    c = await cluster(domainId, { config: { network: { timings: { ...FAST_TIMINGS, resolve_timeout_ms: 30_000 } } } });
    [a, b] = await Promise.all([c.add("a"), c.add("b")]);
    expect(await b.admin.setDomainStaticNode(domainId, a.nodeId, "127.0.0.1", null, a.p2pPort)).toBe(true);
    for (const n of c.nodes) await until(`${n.name} to list both`, async () => (holdsExactly(await n.neighbors(), c.nodes.map((m) => m.nodeId)) ? true : undefined));
  }, 120_000);
  afterAll(async () => {
    for (const cl of clients) await cl.close().catch(() => undefined);
    await c?.close();
  });

  async function user(node: ClusterNode, name: string): Promise<BBcAppClient> {
    const cl = await BBcAppClient.connect({ port: node.port, domainId, userId: getNewId(name), requestTimeoutMs: 20_000 });
    clients.push(cl);
    await cl.register();
    return cl;
  }

  it("a legitimate client on another connection gets its messages routed while an attacker floods unknown users", async () => {
    const attacker = await user(a, "quota attacker");
    const sender = await user(a, "quota sender");
    const receiver = await user(b, "quota receiver");
    await until("receiver registered on b", async () => ((await b.admin.getUserList()).some((u) => toHex(u) === toHex(receiver.userId!)) ? true : undefined));
    const refusedBack: string[] = [];
    attacker.on("undeliverable", (u) => refusedBack.push(u.reason ?? ""));

    for (let i = 0; i < FLOOD; i++) await attacker.sendMessage("flood", getNewId(`nobody ${i}`));
    // answered after every MESSAGE before it on the same connection was handled
    await attacker.getStats();

    // the flood goes on while the legitimate client talks
    let flooding = true;
    const more = (async () => {
      for (let i = 0; flooding && i < 20_000; i++) {
        await attacker.sendMessage("flood", getNewId(`nobody more ${i}`));
        if (i % 200 === 199) await new Promise((r) => setTimeout(r, 1));
      }
    })();
    const got: UserMessage[] = [];
    receiver.on("message", (m) => got.push(m));
    try {
      for (let i = 0; i < 5; i++) await sender.sendMessage(`legit ${i}`, receiver.userId!);
      await until("the legitimate messages on b", async () => (got.length >= 5 ? true : undefined), 15_000);
    } finally {
      flooding = false;
      await more;
    }
    expect(got.map((m) => text(m.message)).sort()).toEqual(["legit 0", "legit 1", "legit 2", "legit 3", "legit 4"]);

    const st = await a.stats();
    // the default quota: 64 resolutions per connection; everything past it refused and counted
    expect(st.limits?.pending_resolves_per_connection ?? 0).toBeGreaterThanOrEqual(FLOOD - 64);
    expect(st.limits?.pending_resolves ?? 0, "the domain's slots were never exhausted").toBe(0);
    expect(st.user_message?.["refused.pending_resolves_per_connection"] ?? 0).toBeGreaterThanOrEqual(FLOOD - 64);
    // the attacker is told at once, not after the resolve timeout
    await until("refused maps back at the attacker", async () => (refusedBack.length >= 100 ? true : undefined), 10_000);
    expect(new Set(refusedBack)).toEqual(new Set(["Too many messages waiting for a user location"]));
  }, 120_000);
});
