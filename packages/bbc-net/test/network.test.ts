/**
 * Several real network instances on loopback ephemeral ports (UDP and TCP sharing each port).
 */
import { randomBytes } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { InfraMessageCategory, u16Bytes, type WireMessage } from "@bbc1/wire";
import { BBcNetwork, KeyExchangeState, NetStats, type NetworkDomain } from "../src/index.js";
import { waitFor } from "./helpers.js";
import { DOMAIN, FAST, Recorder, domainKeyDir, knows, startNode } from "./nodes.js";

const open: BBcNetwork[] = [];
async function node(opts: Parameters<typeof startNode>[0] = {}): Promise<{ net: BBcNetwork; domain: NetworkDomain }> {
  const n = await startNode(opts);
  open.push(n.net);
  return n;
}
afterEach(async () => {
  await Promise.all(open.splice(0).map((n) => n.close()));
});

function userMessage(domainId: Uint8Array, body: Uint8Array): WireMessage {
  return { infra_msg_type: u16Bytes(InfraMessageCategory.CATEGORY_USER), domain_id: domainId, command: 66, message: body };
}

describe("two nodes", () => {
  it("share one port for UDP and TCP", async () => {
    const a = await node();
    expect(a.net.port).toBeGreaterThan(0);
    // A second network on the same port cannot bind.
    const clash = new BBcNetwork({ host4: "127.0.0.1", port: a.net.port });
    await expect(clash.start()).rejects.toMatchObject({ code: "BIND_FAILED" });
  });

  it("meet by domain ping: both list each other with the p2p port, one ping only when answered", async () => {
    const stats = new NetStats();
    const a = await node({ stats });
    const b = await node();
    expect(a.domain.sendDomainPing("127.0.0.1", null, b.net.port)).toBe(true);
    await waitFor(() => knows(a.domain, b.domain) && knows(b.domain, a.domain), 5000, "ping/pong");
    const nb = a.domain.neighbors.get(b.domain.nodeId)!;
    expect([nb.ipv4, nb.port, nb.isStatic]).toEqual(["127.0.0.1", b.net.port, false]);
    expect(b.domain.neighbors.get(a.domain.nodeId)!.port).toBe(a.net.port);
    await new Promise((r) => setTimeout(r, (FAST.pingRetryMs ?? 200) + 150));
    expect(stats.get("network", "domain_ping_send")).toBe(1);
    expect(stats.get("network", "domain_ping_received")).toBe(1);
  });

  it("a ping nobody answers is sent twice", async () => {
    const stats = new NetStats();
    const a = await node({ stats });
    const silent = await node(); // another domain: it drops the ping
    silent.net.getDomain(DOMAIN);
    await silent.net.removeDomain(DOMAIN);
    a.domain.sendDomainPing("127.0.0.1", null, silent.net.port);
    await waitFor(() => stats.get("network", "domain_ping_send") === 2, 3000, "retry");
    await new Promise((r) => setTimeout(r, 400));
    expect(stats.get("network", "domain_ping_send")).toBe(2);
  });

  it("meet by static node and list the static entry for persistence", async () => {
    const a = await node();
    const b = await node();
    const seen: number[] = [];
    b.domain.onStaticNodesChanged((n) => seen.push(n.length));
    b.domain.addStaticNode(a.domain.nodeId, "127.0.0.1", null, a.net.port);
    await waitFor(() => knows(a.domain, b.domain), 5000, "A learns B from B's list or key exchange");
    expect(b.domain.staticNodes()).toEqual([{ nodeId: a.domain.nodeId, ipv4: "127.0.0.1", ipv6: null, port: a.net.port }]);
    expect(seen).toEqual([1]);
    expect(a.domain.neighbors.get(b.domain.nodeId)!.isStatic).toBe(false);
  });

  for (const initiator of ["A", "B"] as const) {
    it(`exchange keys (${initiator} initiates) and carry encrypted messages both ways`, async () => {
      const slow = { ...FAST, keyExchangeInvokeMinMs: 60_000, keyExchangeInvokeMaxMs: 60_000 };
      const a = await node({ encryption: "all", timings: initiator === "A" ? FAST : slow });
      const b = await node({ encryption: "all", timings: initiator === "B" ? FAST : slow });
      const ra = new Recorder();
      const rb = new Recorder();
      a.domain.setHandler("user", ra);
      b.domain.setHandler("user", rb);
      a.domain.sendDomainPing("127.0.0.1", null, b.net.port);
      await waitFor(
        () => a.domain.keyExchangeOf(b.domain.nodeId)?.state === KeyExchangeState.ESTABLISHED && b.domain.keyExchangeOf(a.domain.nodeId)?.state === KeyExchangeState.ESTABLISHED,
        10_000,
        "keys",
      );
      for (let i = 0; i < 5; i++) {
        a.domain.sendToNode(b.domain.nodeId, userMessage(DOMAIN, new Uint8Array([i])));
        b.domain.sendToNode(a.domain.nodeId, userMessage(DOMAIN, new Uint8Array([100 + i])));
      }
      // large ones go over TCP, encrypted too
      a.domain.sendToNode(b.domain.nodeId, userMessage(DOMAIN, new Uint8Array(5000).fill(7)));
      await waitFor(() => ra.got.length === 5 && rb.got.length === 6, 5000, "messages");
      expect(ra.got.every((g) => g.ctx.encrypted)).toBe(true);
      expect(rb.got.every((g) => g.ctx.encrypted)).toBe(true);
      expect(rb.got.map((g) => (g.msg.message as Uint8Array)[0]).sort((x, y) => x! - y!)).toEqual([0, 1, 2, 3, 4, 7]);
      expect(ra.got.map((g) => (g.msg.message as Uint8Array)[0])).toEqual([100, 101, 102, 103, 104]);
    });
  }

  it("policy `udp` encrypts small messages and sends large ones in plaintext over TCP", async () => {
    const a = await node({ encryption: "udp" });
    const b = await node({ encryption: "udp" });
    const rb = new Recorder();
    b.domain.setHandler("user", rb);
    a.domain.sendDomainPing("127.0.0.1", null, b.net.port);
    await waitFor(() => a.domain.keyExchangeOf(b.domain.nodeId)?.canEncrypt === true && b.domain.keyExchangeOf(a.domain.nodeId)?.state === KeyExchangeState.ESTABLISHED, 10_000, "keys");
    a.domain.sendToNode(b.domain.nodeId, userMessage(DOMAIN, new Uint8Array(10)));
    a.domain.sendToNode(b.domain.nodeId, userMessage(DOMAIN, new Uint8Array(3000)));
    await waitFor(() => rb.got.length === 2, 5000, "messages");
    const byLen = new Map(rb.got.map((g) => [(g.msg.message as Uint8Array).length, g.ctx]));
    expect(byLen.get(10)).toMatchObject({ encrypted: true, from: { transport: "udp" } });
    expect(byLen.get(3000)).toMatchObject({ encrypted: false, from: { transport: "tcp" } });
  });

  it("large messages to one peer queued in the same turn share one TCP connection, in order", async () => {
    const stats = new NetStats();
    const a = await node({ stats, encryption: "all" });
    const b = await node({ encryption: "all" });
    const rb = new Recorder();
    b.domain.setHandler("user", rb);
    a.domain.sendDomainPing("127.0.0.1", null, b.net.port);
    await waitFor(() => a.domain.keyExchangeOf(b.domain.nodeId)?.canEncrypt === true && b.domain.keyExchangeOf(a.domain.nodeId)?.state === KeyExchangeState.ESTABLISHED, 10_000, "keys");
    const before = stats.get("network", "tcp_connections_opened");
    for (let i = 0; i < 10; i++) a.domain.sendToNode(b.domain.nodeId, userMessage(DOMAIN, new Uint8Array(2000).fill(i)));
    await waitFor(() => rb.got.length === 10, 5000, "10 messages");
    expect(stats.get("network", "tcp_connections_opened") - before).toBe(1);
    expect(rb.got.map((g) => (g.msg.message as Uint8Array)[0])).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(rb.got.every((g) => g.ctx.encrypted && g.ctx.from.transport === "tcp")).toBe(true);
  });

  it("default policy sends plaintext even with a key", async () => {
    const a = await node();
    const b = await node();
    const rb = new Recorder();
    b.domain.setHandler("user", rb);
    a.domain.sendDomainPing("127.0.0.1", null, b.net.port);
    await waitFor(() => a.domain.keyExchangeOf(b.domain.nodeId)?.canEncrypt === true, 10_000, "keys");
    a.domain.sendToNode(b.domain.nodeId, userMessage(DOMAIN, new Uint8Array(10)));
    await waitFor(() => rb.got.length === 1, 5000, "message");
    expect(rb.got[0]!.ctx.encrypted).toBe(false);
  });

  it("with a domain key: signed admin messages are accepted between nodes that hold it, refused by one that holds another", async () => {
    const d = new Uint8Array(randomBytes(32));
    const { directory } = domainKeyDir(d);
    const other = domainKeyDir(d);
    const a = await node({ domain: d, domainKey: { use: true, directory } });
    const b = await node({ domain: d, domainKey: { use: true, directory } });
    const statsC = new NetStats();
    const c = await node({ domain: d, domainKey: { use: true, directory: other.directory }, stats: statsC });
    expect(a.domain.keys.enabled).toBe(true);
    a.domain.sendDomainPing("127.0.0.1", null, b.net.port);
    await waitFor(() => knows(a.domain, b.domain) && knows(b.domain, a.domain), 5000, "signed ping");
    await waitFor(() => a.domain.keyExchangeOf(b.domain.nodeId)?.state === KeyExchangeState.ESTABLISHED, 10_000, "signed key exchange");
    a.domain.sendDomainPing("127.0.0.1", null, c.net.port);
    await waitFor(() => statsC.get("network", "drop.bad_signature") >= 1, 5000, "refusal");
    expect(knows(c.domain, a.domain)).toBe(false);
    // an unsigned neighbour list plants no entry in a keyed domain (v1.1.1 added its sender first)
    const { encodeMessage, u16Bytes: u16 } = await import("@bbc1/wire");
    const fake = new Uint8Array(randomBytes(32));
    const before = statsC.get("network", "drop.bad_signature");
    c.net.handleFrame(
      encodeMessage(2, { infra_msg_type: u16(1), domain_id: d, command: u16(0), neighbor_list: new Uint8Array(4), message_seq: 1, destination_node_id: c.domain.nodeId, source_node_id: fake }),
      { transport: "udp", address: "127.0.0.1", family: 4, port: 9 },
    );
    expect(statsC.get("network", "drop.bad_signature")).toBe(before + 1);
    expect(c.domain.neighbors.get(fake)).toBeUndefined();
  });
});

describe("NOTIFY_LEAVE", () => {
  it("goes only to neighbours that talked to us (a v1.1.1 node that does not know us crashes on it, H7)", async () => {
    const { createSocket } = await import("node:dgram");
    const { decodeFrame } = await import("@bbc1/wire");
    const silent = createSocket("udp4");
    await new Promise<void>((r) => silent.bind(0, "127.0.0.1", () => r()));
    const got: WireMessage[] = [];
    silent.on("message", (m) => got.push(decodeFrame(new Uint8Array(m)).message));
    const a = await node();
    const b = await node();
    a.domain.sendDomainPing("127.0.0.1", null, b.net.port);
    await waitFor(() => knows(a.domain, b.domain) && knows(b.domain, a.domain), 5000, "meet");
    const silentId = new Uint8Array(randomBytes(32));
    a.domain.addStaticNode(silentId, "127.0.0.1", null, silent.address().port);
    await waitFor(() => got.length > 0, 5000, "A talks to the silent node");
    await a.net.removeDomain(DOMAIN);
    await waitFor(() => !knows(b.domain, a.domain), 5000, "B got the leave");
    await new Promise((r) => setTimeout(r, 200));
    expect(got.some((m) => m.command instanceof Uint8Array && m.command[1] === 0 && m.infra_msg_type instanceof Uint8Array && m.infra_msg_type[1] === 0)).toBe(false);
    silent.close();
  });
});

describe("addresses and flags", () => {
  it("two nodes meet over IPv6 only when configured (host6), and advertise no IPv6 unless ip6addr is set", async () => {
    const a = await node({ host6: "::1", ip6addr: "::1" });
    const b = await node({ host6: "::1" });
    a.domain.sendDomainPing(null, "::1", b.net.port);
    await waitFor(() => knows(a.domain, b.domain) && knows(b.domain, a.domain), 5000, "IPv6 ping");
    expect(b.domain.neighbors.get(a.domain.nodeId)!.ipv6).toBe("::1");
    const entries = (await import("../src/index.js")).decodeNeighborList(b.domain.neighborListBytes());
    expect(entries[0]!.ipv6).toBe("::"); // b has no ip6addr: `::` in its own entry
  });

  it("joining domain_global_0 sets the domain0 flag in the other domains' lists (not in domain0's own)", async () => {
    const { DOMAIN_GLOBAL_0, decodeNeighborList } = await import("../src/index.js");
    const a = await node();
    const b = await node();
    a.domain.sendDomainPing("127.0.0.1", null, b.net.port);
    await waitFor(() => knows(b.domain, a.domain), 5000, "meet");
    const d0 = a.net.createDomain(DOMAIN_GLOBAL_0);
    expect(decodeNeighborList(a.domain.neighborListBytes())[0]!.domain0).toBe(true);
    expect(decodeNeighborList(d0.neighborListBytes())[0]!.domain0).toBe(false);
    // B learns the flag from A's next list (sent soon after the change)
    await waitFor(() => b.domain.neighbors.get(a.domain.nodeId)!.isDomain0Node === true, 5000, "flag at B");
    await a.net.removeDomain(DOMAIN_GLOBAL_0);
    expect(decodeNeighborList(a.domain.neighborListBytes())[0]!.domain0).toBe(false);
    await waitFor(() => b.domain.neighbors.get(a.domain.nodeId)!.isDomain0Node === false, 5000, "flag cleared at B");
  });
});

describe("a domain of several nodes", () => {
  it("five nodes seeded in a chain converge to a full mesh; a leaving node is removed by all", async () => {
    const nodes: Array<{ net: BBcNetwork; domain: NetworkDomain }> = [];
    for (let i = 0; i < 5; i++) nodes.push(await node());
    for (let i = 1; i < 5; i++) nodes[i]!.domain.addStaticNode(nodes[i - 1]!.domain.nodeId, "127.0.0.1", null, nodes[i - 1]!.net.port);
    await waitFor(() => nodes.every((n) => n.domain.neighbors.size === 4), 20_000, "full mesh");
    // every pair has talked (key exchanges done): the leave reaches all
    await waitFor(() => nodes.every((n) => n.domain.neighbors.nodes().every((x) => x.heardFrom)), 20_000, "all heard from");
    const leaving = nodes[2]!;
    await leaving.net.removeDomain(DOMAIN);
    await waitFor(() => nodes.filter((n) => n !== leaving).every((n) => n.domain.neighbors.size === 3 && !knows(n.domain, leaving.domain)), 5000, "leave");
  });

  it("a node restarted after a crash is found again and keys are re-established (message_seq seeded from the clock)", async () => {
    const a = await node({ encryption: "all" });
    const b = await node({ encryption: "all" });
    const nodeId = new Uint8Array(randomBytes(32));
    let c = await node({ nodeId, encryption: "all" });
    for (const x of [b, c]) x.domain.addStaticNode(a.domain.nodeId, "127.0.0.1", null, a.net.port);
    await waitFor(() => [a, b, c].every((n) => n.domain.neighbors.size === 2), 20_000, "mesh");
    await waitFor(() => a.domain.keyExchangeOf(nodeId)?.canEncrypt === true, 10_000, "key A-C");
    const port = c.net.port;
    await c.net.close({ notifyLeave: false }); // crash: nobody is told
    await new Promise((r) => setTimeout(r, 20));
    c = await node({ nodeId, encryption: "all", port });
    const rc = new Recorder();
    c.domain.setHandler("user", rc);
    c.domain.addStaticNode(a.domain.nodeId, "127.0.0.1", null, a.net.port);
    await waitFor(() => c.domain.neighbors.size === 2, 20_000, "restarted node finds the mesh");
    // A must re-key with the new C (its old key is gone on C's side) and traffic must flow.
    await waitFor(() => {
      a.domain.sendToNode(nodeId, userMessage(DOMAIN, new Uint8Array([1])));
      return rc.got.length > 0;
    }, 20_000, "traffic to the restarted node");
  });

  it("Q16: in a keyed domain a peer whose message_seq went back is ignored; without a key it is accepted", async () => {
    for (const keyed of [true, false]) {
      const d = new Uint8Array(randomBytes(32));
      const dk = keyed ? { use: true, directory: domainKeyDir(d).directory } : undefined;
      const stats = new NetStats();
      const a = await node({ domain: d, domainKey: dk, stats });
      const nodeId = new Uint8Array(randomBytes(32));
      let c = await node({ domain: d, domainKey: dk, nodeId });
      c.domain.sendDomainPing("127.0.0.1", null, a.net.port);
      await waitFor(() => knows(a.domain, c.domain) && knows(c.domain, a.domain), 5000, "meet");
      // A remembers a message_seq of C once C's key exchange messages came in
      await waitFor(() => a.domain.neighbors.get(nodeId)!.adminSequenceNumber > 1, 5000, "seq remembered");
      const port = c.net.port;
      await c.net.close({ notifyLeave: false });
      // a reference-like restart: the counter starts again at 1
      c = await node({ domain: d, domainKey: dk, nodeId, port, initialMessageSeq: 0 });
      c.domain.sendDomainPing("127.0.0.1", null, a.net.port);
      if (keyed) {
        await waitFor(() => stats.get("network", "drop.stale_sequence") >= 1, 5000, "stale seq dropped");
        // C's key exchange requests are NETWORK messages too: all dropped, C never gets a key
        await new Promise((r) => setTimeout(r, 1000));
        expect(c.domain.keyExchangeOf(a.domain.nodeId)?.state).not.toBe(KeyExchangeState.ESTABLISHED);
        expect(stats.get("network", "drop.stale_sequence")).toBeGreaterThan(1);
      } else {
        await waitFor(() => knows(c.domain, a.domain), 5000, "pong after restart");
        expect(stats.get("network", "message_seq_regressed")).toBeGreaterThan(0);
      }
      await Promise.all(open.splice(0).map((n) => n.close()));
    }
  });
});
