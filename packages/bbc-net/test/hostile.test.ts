/**
 * A hostile peer against real nodes: the §14 inputs that disable a v1.1.1 node, malformed and
 * random datagrams and TCP bytes, floods, slow and greedy TCP peers. After each batch the nodes
 * must still serve each other (ping/pong, key exchange, user messages), and every bad input must
 * be a counted drop or refusal.
 */
import { randomBytes } from "node:crypto";
import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { connect, type Socket } from "node:net";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InfraMessageCategory, encodeHeader, encodeMessage, encodeMsgpack, encodeTlv, u16Bytes, type WireMessage } from "@bbc1/wire";
import { KeyExchangeState, NetStats, encodeNeighborList, type BBcNetwork, type NetworkDomain } from "../src/index.js";
import { waitFor } from "./helpers.js";
import { DOMAIN, FAST, Recorder, knows, startNode } from "./nodes.js";

let a: { net: BBcNetwork; domain: NetworkDomain };
let b: { net: BBcNetwork; domain: NetworkDomain };
let statsA: NetStats;
let udp: UdpSocket;
let evilPort: number;
const evilId = new Uint8Array(randomBytes(32));
const recB = new Recorder();

beforeAll(async () => {
  statsA = new NetStats();
  const limits = { messageRatePerAddress: 1000, messageBurstPerAddress: 1000, maxConnectionsPerAddress: 4, idleTimeoutMs: 300, readTimeoutMs: 1500, maxNeighborsPerDomain: 50 };
  a = await startNode({ stats: statsA, limits, encryption: "all", host6: "::1" });
  b = await startNode({ limits, encryption: "all" });
  b.domain.setHandler("user", recB);
  udp = createSocket("udp4");
  await new Promise<void>((r) => udp.bind(0, "127.0.0.1", () => r()));
  evilPort = udp.address().port;
  a.domain.sendDomainPing("127.0.0.1", null, b.net.port);
  await waitFor(() => knows(a.domain, b.domain) && knows(b.domain, a.domain), 5000, "A and B meet");
});

afterAll(async () => {
  udp.close();
  await Promise.all([a.net.close(), b.net.close()]);
});

function sendUdp(bytes: Uint8Array, port = a.net.port): Promise<void> {
  return new Promise((r) => udp.send(bytes, port, "127.0.0.1", () => r()));
}

function sendTcp(bytes: Uint8Array, opts: { reset?: boolean } = {}): Promise<void> {
  return new Promise((resolve) => {
    const s: Socket = connect({ host: "127.0.0.1", port: a.net.port }, () => {
      s.write(bytes, () => {
        if (opts.reset) s.resetAndDestroy();
        else s.end();
      });
    });
    s.on("error", () => resolve());
    s.on("close", () => resolve());
    s.resume();
  });
}

const settle = (ms = 100): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A and B still do everything: ping/pong, a user message over UDP and over TCP, encrypted once keyed. */
async function stillServing(): Promise<void> {
  const before = statsA.get("network", "domain_ping_received");
  a.domain.sendDomainPing("127.0.0.1", null, b.net.port);
  await waitFor(() => statsA.get("network", "domain_ping_received") > before, 5000, "pong");
  await waitFor(() => a.domain.keyExchangeOf(b.domain.nodeId)?.state === KeyExchangeState.ESTABLISHED, 10_000, "key A-B");
  const n = recB.got.length;
  a.domain.sendToNode(b.domain.nodeId, user({ message: new Uint8Array(8) }));
  a.domain.sendToNode(b.domain.nodeId, user({ message: new Uint8Array(4000) }));
  await waitFor(() => recB.got.length >= n + 2, 5000, "user messages");
}

const NET = u16Bytes(InfraMessageCategory.CATEGORY_NETWORK);
function user(extra: WireMessage): WireMessage {
  return { infra_msg_type: u16Bytes(InfraMessageCategory.CATEGORY_USER), domain_id: DOMAIN, ...extra };
}
const frame = (m: WireMessage): Uint8Array => encodeMessage(2, m);
const kx = { ecdh: new Uint8Array(97).fill(4), nonce: new Uint8Array(16), random: new Uint8Array(8), hint: new Uint8Array(4) };

describe("hostile peer", () => {
  it("the §14 inputs (H1–H16) are counted drops and leave the node serving", async () => {
    const dropsBefore = Object.values(statsA.snapshot().network ?? {}).length;
    const evilPing = (extra: WireMessage): Uint8Array =>
      frame({ infra_msg_type: NET, domain_id: DOMAIN, node_id: evilId, domain_ping: 0, nonce: 1, static_entry: false, external_ip4addr: "127.0.0.1", external_ip6addr: null, message_seq: 1, source_node_id: evilId, ...extra });
    const inputs: Array<[string, Uint8Array, "udp" | "tcp"]> = [
      ["H2 truncated datagram", frame(user({ source_node_id: evilId })).subarray(0, 20), "udp"],
      ["H2 header only, length 0", encodeHeader({ payloadType: 2, formatVersion: 0, length: 0 }), "udp"],
      ["H2 two frames in one datagram", new Uint8Array([...frame(user({ source_node_id: evilId })), ...frame(user({ source_node_id: evilId }))]), "udp"],
      ["H3 payload type 1", new Uint8Array([0, 1, 0, 0, 0, 0, 0, 1, 0x80]), "udp"],
      ["H3 payload type 9", new Uint8Array([0, 9, 0, 0, 0, 0, 0, 1, 0x80]), "udp"],
      ["H3 payload not a map", new Uint8Array([0, 2, 0, 0, 0, 0, 0, 1, 0x05]), "udp"],
      ["H3 payload not a map (TCP)", new Uint8Array([0, 2, 0, 0, 0, 0, 0, 1, 0x05]), "tcp"],
      ["H4 unknown key name", new Uint8Array([0, 3, 0, 0, 0, 0, 0, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9]), "udp"],
      ["H5 TCP message for a domain not served", frame({ infra_msg_type: NET, domain_id: new Uint8Array(32).fill(9), destination_node_id: evilId, source_node_id: evilId }), "tcp"],
      ["H6 USER without source_node_id", frame(user({ destination_node_id: a.domain.nodeId })), "udp"],
      ["H6 NETWORK without source_node_id", frame({ infra_msg_type: NET, domain_id: DOMAIN, command: u16Bytes(1) }), "udp"],
      ["H6 NETWORK from a known node without message_seq", frame({ infra_msg_type: NET, domain_id: DOMAIN, command: u16Bytes(3), source_node_id: b.domain.nodeId }), "udp"],
      ["H6 NETWORK without domain_ping and command", frame({ infra_msg_type: NET, domain_id: DOMAIN, source_node_id: evilId, message_seq: 5 }), "udp"],
      ["H6 infra_msg_type not a byte string", frame({ infra_msg_type: 0, domain_id: DOMAIN, source_node_id: evilId }), "udp"],
      ["H7 RESPONSE from an unknown node", frame({ infra_msg_type: NET, domain_id: DOMAIN, destination_node_id: a.domain.nodeId, command: u16Bytes(2), ...kx, message_seq: 1, source_node_id: evilId }), "udp"],
      ["H7 CONFIRM from an unknown node", frame({ infra_msg_type: NET, domain_id: DOMAIN, destination_node_id: a.domain.nodeId, command: u16Bytes(3), ...kx, message_seq: 1, source_node_id: evilId }), "udp"],
      ["H7 NOTIFY_LEAVE from an unknown node", frame({ infra_msg_type: NET, domain_id: DOMAIN, command: u16Bytes(0), source_node_id: evilId, nonce: new Uint8Array(32), message_seq: 1, destination_node_id: a.domain.nodeId }), "udp"],
      ["H8 pong with an unknown nonce", evilPing({ domain_ping: 1, nonce: 424242 }), "udp"],
      ["H8 pong with a bytes nonce", evilPing({ domain_ping: 1, nonce: new Uint8Array(3) }), "udp"],
      ["H9 signed admin message to a keyless node", frame({ infra_msg_type: NET, domain_id: DOMAIN, admin_info: encodeTlv({ command: u16Bytes(1) }), nodekey_signature: new Uint8Array(64), source_node_id: evilId }), "udp"],
      ["H10 DOMAIN0 message to a node not in domain0", frame({ infra_msg_type: u16Bytes(4), domain_id: DOMAIN, command: u16Bytes(0), domain_list: 5, source_node_id: evilId }), "udp"],
      ["H10 DOMAIN0 message over TCP", frame({ infra_msg_type: u16Bytes(4), domain_id: DOMAIN, destination_node_id: evilId, command: u16Bytes(1), source_node_id: evilId }), "tcp"],
      ["H11 USER payload without source_user_id", frame(user({ source_node_id: evilId, destination_user_id: new Uint8Array(32) })), "udp"],
      ["H12 REQUEST_REPLICATION_INSERT without transaction_data", frame({ infra_msg_type: u16Bytes(3), domain_id: DOMAIN, infra_command: u16Bytes(0), destination_node_id: a.domain.nodeId, source_node_id: evilId }), "tcp"],
      ["H14 neighbour list whose count exceeds its bytes", frame({ infra_msg_type: u16Bytes(1), domain_id: DOMAIN, command: u16Bytes(0), neighbor_list: new Uint8Array([0, 0, 0, 9, 1, 2]), message_seq: 1, destination_node_id: a.domain.nodeId, source_node_id: evilId }), "udp"],
      ["H15 ping with a hostname as address", evilPing({ external_ip4addr: "evil.example", external_ip6addr: "1.2.3.4" }), "udp"],
      ["H16 repair request for an unknown transaction", frame({ infra_msg_type: u16Bytes(3), domain_id: DOMAIN, infra_command: u16Bytes(5), command: 2, transaction_id: new Uint8Array(32), nonce: new Uint8Array(4), destination_node_id: a.domain.nodeId, source_node_id: evilId }), "udp"],
      ["H5 TCP connection reset while reading", frame(user({ source_node_id: evilId, message: new Uint8Array(50_000) })).subarray(0, 30_000), "tcp-reset" as "tcp"],
    ];
    const counted = (): number =>
      Object.entries(statsA.snapshot().network ?? {})
        .filter(([k]) => k.startsWith("drop.") || k.startsWith("refused."))
        .reduce((s, [, v]) => s + v, 0);
    const uncounted: string[] = [];
    for (const [name, bytes, path] of inputs) {
      const before = counted();
      if (path === "udp") await sendUdp(bytes);
      else await sendTcp(bytes, { reset: (path as string) === "tcp-reset" });
      await settle(40);
      if (counted() === before) uncounted.push(name);
    }
    // Only the hostname ping is handled (with its bad addresses ignored), as a well-formed ping.
    expect(uncounted).toEqual(["H15 ping with a hostname as address"]);
    // H1: an IPv6 datagram (A has an IPv6 socket on ::1): handled, not fatal.
    const u6 = createSocket({ type: "udp6" });
    await new Promise<void>((r) => u6.bind(0, "::1", () => r()));
    await new Promise<void>((r) => u6.send(evilPing({ nonce: 7 }), a.net.port, "::1", () => r()));
    u6.close();
    await settle(300);
    expect(Object.keys(statsA.snapshot().network!).length).toBeGreaterThan(dropsBefore);
    // The hostname ping added the evil node without a usable address: our own list still builds.
    expect(a.domain.neighbors.get(evilId)?.ipv4).not.toBe("evil.example");
    expect(a.domain.neighbors.get(evilId)?.ipv6).not.toBe("1.2.3.4");
    a.domain.topology.advertiseNow();
    await stillServing();
  });

  it("random datagrams and random TCP bytes", async () => {
    const samples = fc.sample(fc.uint8Array({ minLength: 0, maxLength: 1400 }), { numRuns: 400, seed: 42 });
    // Valid headers with random bodies reach the payload decoders, not just the header check.
    const framed = fc.sample(fc.tuple(fc.constantFrom(0, 2, 3), fc.uint8Array({ maxLength: 600 })), { numRuns: 400, seed: 7 }).map(([t, body]) => new Uint8Array([...encodeHeader({ payloadType: t, formatVersion: 0, length: body.length }), ...body]));
    for (const s of [...samples, ...framed]) await sendUdp(s);
    for (const s of samples.slice(0, 30)) await sendTcp(s);
    for (const s of framed.slice(0, 30)) await sendTcp(s);
    await settle(200);
    await stillServing();
  });

  it("a flood from one address is rate-limited and others keep being served", async () => {
    const refusedBefore = statsA.get("network", "refused.message_rate");
    const m = frame(user({ source_node_id: evilId }));
    // paced so that the kernel's receive buffer does not drop them first (sender and receiver share this process)
    for (let i = 0; i < 5000; i++) {
      await sendUdp(m);
      if (i % 50 === 49) await new Promise((r) => setImmediate(r));
    }
    await settle(500);
    expect(statsA.get("network", "refused.message_rate")).toBeGreaterThan(refusedBefore);
    await stillServing(); // B has its own bucket
  });

  it("slow, greedy and oversized TCP peers are cut off by their limits", async () => {
    const refused = (k: string): number => statsA.get("network", `refused.${k}`);
    const idle0 = refused("idle_timeout");
    const per0 = refused("connections_per_address");
    const size0 = statsA.get("network", "drop.malformed_frame");
    const socks: Socket[] = [];
    for (let i = 0; i < 8; i++) {
      const s = connect({ host: "127.0.0.1", port: a.net.port });
      s.on("error", () => undefined);
      s.write(new Uint8Array([0, 2, 0, 0])); // half a header, then silence
      socks.push(s);
    }
    await waitFor(() => refused("connections_per_address") > per0, 3000, "per-address refusal");
    await waitFor(() => refused("idle_timeout") > idle0, 3000, "idle timeout");
    // a header announcing more than maxFrameBytes
    await sendTcp(encodeHeader({ payloadType: 2, formatVersion: 0, length: 0xffffffff }));
    await waitFor(() => statsA.get("network", "drop.malformed_frame") > size0, 3000, "oversize header");
    for (const s of socks) s.destroy();
    await stillServing();
  });

  it("partial frames beyond the shared pool close the connection (partial_frames_total)", async () => {
    const { ByteBudget } = await import("@bbc1/wire");
    const pool = new ByteBudget(100_000);
    const stats = new NetStats();
    const n = await startNode({ partialFrames: pool, stats });
    try {
      const socks: Socket[] = [];
      // each connection holds 64 KiB outside the pool, the rest counts against it
      for (let i = 0; i < 3; i++) {
        const s = connect({ host: "127.0.0.1", port: n.net.port });
        s.on("error", () => undefined);
        s.write(new Uint8Array([...encodeHeader({ payloadType: 2, formatVersion: 0, length: 1_000_000 }), ...new Uint8Array(120_000)]));
        socks.push(s);
      }
      await waitFor(() => stats.get("network", "refused.partial_frames_total") > 0, 5000, "pool refusal");
      for (const s of socks) s.destroy();
      await waitFor(() => pool.used === 0, 5000, "pool released");
    } finally {
      await n.net.close();
    }
  });

  it("a neighbour list with thousands of fake nodes fills the table only up to its limit", async () => {
    const entries = Array.from({ length: 300 }, () => ({ nodeId: new Uint8Array(randomBytes(32)), ipv4: "127.0.0.1", ipv6: "::", port: 9, domain0: false, updatedAt: 0n }));
    const list = encodeNeighborList(entries);
    const m = frame({ infra_msg_type: u16Bytes(1), domain_id: DOMAIN, command: u16Bytes(0), neighbor_list: list, message_seq: 1, destination_node_id: a.domain.nodeId, source_node_id: evilId });
    await sendTcp(m);
    await settle(300);
    expect(a.domain.neighbors.size).toBeLessThanOrEqual(50);
    // the list is refused as a whole (more entries than the table may hold)
    expect(statsA.get("network", "drop.limit")).toBeGreaterThan(0);
    // a list within the limit still fills up to the limit and no further
    const m2 = frame({ infra_msg_type: u16Bytes(1), domain_id: DOMAIN, command: u16Bytes(0), neighbor_list: encodeNeighborList(entries.slice(0, 51)), message_seq: 1, destination_node_id: a.domain.nodeId, source_node_id: evilId });
    await sendTcp(m2);
    await settle(300);
    expect(a.domain.neighbors.size).toBe(50);
    // room was made by evicting entries without an established key; B (keyed) stayed
    expect(statsA.get("network", "neighbors_evicted")).toBeGreaterThan(0);
    expect(knows(a.domain, b.domain)).toBe(true);
    // a real node arriving now still gets in (an unkeyed fake makes room)
    const c = await startNode();
    try {
      c.domain.sendDomainPing("127.0.0.1", null, a.net.port);
      await waitFor(() => knows(a.domain, c.domain) && knows(c.domain, a.domain), 5000, "newcomer admitted");
    } finally {
      await c.net.close();
    }
    for (const n of a.domain.neighbors.nodes()) if (n.port === 9) a.domain.neighbors.remove(n.nodeId);
    await stillServing();
  });

  it("garbage under a valid key name is dropped and triggers a re-key; the link recovers", async () => {
    await waitFor(() => b.domain.keyExchangeOf(a.domain.nodeId)?.canEncrypt === true, 10_000, "B keyed");
    const kxB = b.domain.keyExchangeOf(a.domain.nodeId)!;
    // B's key name for A is the hint A puts in front of what it encrypts: forge frames to B with it
    const entry = b.net.registry.get(kxB.keyName!)!;
    const before = b.net.stats as NetStats;
    void before;
    const name = entry.keyName;
    const garbage = new Uint8Array([...encodeHeader({ payloadType: 3, formatVersion: 0, length: 4 + 40 }), ...name, ...randomBytes(40)]);
    for (let i = 0; i < 20; i++) await sendUdp(garbage, b.net.port);
    await settle(200);
    await stillServing();
    void encodeMsgpack;
    void FAST;
  });
});
