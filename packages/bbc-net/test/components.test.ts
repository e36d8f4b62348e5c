/** Unit tests of the clock, domain key, neighbour table and topology on the test clock. */
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { KeyPair, sha256 } from "@bbc1/bbclib";
import {
  DEFAULT_NET_TIMINGS,
  DomainKeys,
  ManualScheduler,
  NeighborTable,
  NetStats,
  NodeInfo,
  ProtocolTimer,
  Topology,
  bytesToIPv6,
  decodeNeighborList,
  domainKeyFileName,
  ipv6ToBytes,
  isLessThan,
  DEFAULT_NET_LIMITS,
  NetError,
  readP2pLimits,
  resolveLimits,
} from "../src/index.js";
import { domainKeyDir } from "./nodes.js";

const logger = pino({ level: "silent" });
const id = (): Uint8Array => new Uint8Array(randomBytes(32));

describe("ProtocolTimer / ManualScheduler", () => {
  it("fires in time order; advance only moves a timer earlier; errors do not stop the clock", () => {
    const clock = new ManualScheduler(0);
    const fired: string[] = [];
    const errors: unknown[] = [];
    const t1 = new ProtocolTimer(clock, () => fired.push("t1"), (e) => errors.push(e));
    const t2 = new ProtocolTimer(clock, () => {
      fired.push("t2");
      throw new Error("boom");
    }, (e) => errors.push(e));
    t1.start(1000);
    t2.start(500);
    t1.advance(2000); // later: ignored
    expect(t1.fireAt).toBe(1000);
    t1.advance(700);
    expect(t1.fireAt).toBe(700);
    clock.advance(10_000);
    expect(fired).toEqual(["t2", "t1"]);
    expect(errors.length).toBe(1);
    expect(t1.active).toBe(false);
  });
});

describe("DomainKeys", () => {
  const domainId = id();
  it("loads the PEM named by the domain id, signs r||s over SHA-256(admin_info), verifies", () => {
    const { directory, key } = domainKeyDir(domainId);
    const dk = new DomainKeys({ domainId, config: { use: true, directory }, scheduler: new ManualScheduler(), logger });
    expect(dk.load()).toBe(true);
    const info = new Uint8Array([1, 2, 3]);
    const sig = dk.sign(info);
    expect(sig.length).toBe(64);
    expect(dk.verify(info, sig)).toBe(true);
    expect(new KeyPair({ publicKey: key.publicKey }).verify(sha256(info), sig)).toBe(true);
    expect(dk.verify(new Uint8Array([1, 2, 4]), sig)).toBe(false);
  });

  it("use off, missing directory or file: keyless", () => {
    const s = new ManualScheduler();
    expect(new DomainKeys({ domainId, config: { use: false, directory: "/nonexistent" }, scheduler: s, logger }).load()).toBe(false);
    const dk = new DomainKeys({ domainId, config: { use: true, directory: "/nonexistent" }, scheduler: s, logger });
    expect(dk.load()).toBe(false);
    expect(dk.enabled).toBe(false);
  });

  it("a reload keeps accepting the previous key for obsolete_timeout, signs with the new one; a failed reload keeps the keys", () => {
    const clock = new ManualScheduler(0);
    const { directory } = domainKeyDir(domainId);
    const dk = new DomainKeys({ domainId, config: { use: true, directory, obsolete_timeout: 300 }, scheduler: clock, logger });
    dk.load();
    const info = new Uint8Array([9]);
    const oldSig = dk.sign(info);
    clock.advance(100_000);
    const next = KeyPair.generate();
    writeFileSync(join(directory, domainKeyFileName(domainId)), next.getPrivateKeyPem());
    expect(dk.load()).toBe(true);
    expect(dk.verify(info, oldSig)).toBe(true);
    const newSig = dk.sign(info);
    expect(next.verify(sha256(info), newSig)).toBe(true);
    // the obsolete timer was armed at the first load (t=0 + 300 s) and only advanced since (Q15)
    clock.advance(200_001);
    expect(dk.verify(info, oldSig)).toBe(false);
    expect(dk.verify(info, newSig)).toBe(true);
    writeFileSync(join(directory, domainKeyFileName(domainId)), "garbage");
    expect(dk.load()).toBe(false);
    expect(dk.enabled).toBe(true);
    expect(dk.verify(info, newSig)).toBe(true);
  });
});

describe("NeighborTable and entries", () => {
  it("is_less_than compares little-endian; NodeInfo orders alive first", () => {
    expect(isLessThan(new Uint8Array([2, 0]), new Uint8Array([1, 1]))).toBe(true);
    expect(isLessThan(new Uint8Array([1, 1]), new Uint8Array([2, 0]))).toBe(false);
    expect(isLessThan(new Uint8Array([1]), new Uint8Array([1]))).toBe(false);
    expect(isLessThan(new Uint8Array([1]), new Uint8Array([1, 2]))).toBe(false);
    const a = new NodeInfo({ nodeId: new Uint8Array(32).fill(9), port: 1, now: 0 });
    const b = new NodeInfo({ nodeId: new Uint8Array(32).fill(1), port: 1, now: 0 });
    b.isAlive = false;
    expect(a.lessThan(b)).toBe(true);
    expect(b.lessThan(a)).toBe(false);
  });

  it("add: new / changed / unchanged by v1.1.1's rules; static flag only at creation; purge by lifetime", () => {
    let now = 0;
    const me = id();
    const t = new NeighborTable({ myNodeId: me, myInfo: new NodeInfo({ nodeId: me, ipv4: "10.0.0.1", port: 6641, now: 0 }), maxNeighbors: 2, now: () => now });
    const n = id();
    expect(t.add({ nodeId: me, port: 1 })).toBe("refused");
    expect(t.add({ nodeId: n, ipv4: "10.0.0.2", port: 6641, isStatic: true })).toBe("new");
    expect(t.add({ nodeId: n, ipv4: "10.0.0.2", port: 6641 })).toBe("unchanged");
    expect(t.add({ nodeId: n, ipv4: "127.0.0.1", port: 6641 })).toBe("unchanged"); // 127.0.0.1 is not a change (but replaces)
    expect(t.get(n)!.ipv4).toBe("127.0.0.1");
    expect(t.add({ nodeId: n, port: 7000 })).toBe("changed");
    expect(t.add({ nodeId: n, port: 7000, domain0: true })).toBe("changed");
    expect(t.get(n)!.isStatic).toBe(true);
    expect(t.add({ nodeId: id(), port: 1 })).toBe("new");
    expect(t.add({ nodeId: id(), port: 1 })).toBe("refused"); // full
    now = 900_001;
    t.add({ nodeId: n, port: 7000 });
    expect(t.purge(900_000)).toBe(1);
    expect(t.size).toBe(1);
    const list = decodeNeighborList(t.encodeList());
    expect(list.map((e) => e.port)).toEqual([6641, 7000]);
    expect(list[1]!.domain0).toBe(true);
  });

  it("IPv6 text <-> bytes as inet_pton / inet_ntop", () => {
    for (const s of ["::", "::1", "fe80::1", "2001:db8::8:800:200c:417a", "1:2:3:4:5:6:7:8", "::ffff:1.2.3.4", "1::"]) expect(bytesToIPv6(ipv6ToBytes(s))).toBe(s);
    expect(bytesToIPv6(ipv6ToBytes("2001:0db8:0000:0000:0000:0000:0000:0001"))).toBe("2001:db8::1");
  });
});

describe("Topology", () => {
  function setup(n = 1) {
    const clock = new ManualScheduler(0);
    const me = id();
    const neighbors = new NeighborTable({ myNodeId: me, myInfo: new NodeInfo({ nodeId: me, ipv4: "10.0.0.1", port: 6641, now: 0 }), maxNeighbors: 100, now: () => clock.now() });
    for (let i = 0; i < n; i++) neighbors.add({ nodeId: id(), ipv4: "10.0.0.9", port: 6641 });
    const sent: number[] = [];
    const topo = new Topology({ neighbors, scheduler: clock, random: Math.random, timings: DEFAULT_NET_TIMINGS, stats: new NetStats(), logger, advertise: () => sent.push(clock.now()) });
    return { clock, neighbors, topo, sent, me };
  }

  it("advertises uniform(0.5, 1) × 5 s / (N + 1) after a change, and every 200–400 s", () => {
    const { clock, topo, sent } = setup(1);
    topo.start();
    topo.notifyNeighborUpdate();
    clock.advance(2501);
    expect(sent.length).toBe(1);
    expect(sent[0]).toBeGreaterThanOrEqual(1250);
    clock.advance(400_000);
    expect(sent.length).toBe(2);
    expect(sent[1]).toBeGreaterThanOrEqual(200_000);
  });

  it("a list that changes nothing cancels a pending advertisement; one that adds nodes schedules one", () => {
    const { clock, topo, sent, neighbors, me } = setup(1);
    const known = neighbors.nodes()[0]!;
    const entry = (nodeId: Uint8Array) => ({ nodeId, ipv4: "10.0.0.9", ipv6: "::", port: 6641, domain0: false, updatedAt: 0n });
    topo.notifyNeighborUpdate();
    known.isDomain0Node = false;
    topo.onNeighborList([entry(me), entry(known.nodeId)]);
    clock.advance(10_000);
    expect(sent.length).toBe(0);
    topo.onNeighborList([entry(id())]);
    expect(topo.advertisementPending).toBe(true);
    clock.advance(10_000);
    expect(sent.length).toBe(1);
    expect(neighbors.size).toBe(2);
  });
});

describe("limits", () => {
  it("limits.p2p is read with the client port's key style; bad values are refused, unknown keys ignored", () => {
    expect(readP2pLimits({ max_frame_bytes: 1024, idle_timeout_ms: 5, ecdh_per_second: 3, future_key: "x" })).toEqual({ maxFrameBytes: 1024, idleTimeoutMs: 5, ecdhPerSecond: 3 });
    expect(() => readP2pLimits({ max_connections: "10" })).toThrow(/limits.p2p.max_connections/);
    expect(() => readP2pLimits({ read_timeout_ms: -1 })).toThrow(NetError);
    expect(resolveLimits(readP2pLimits({}))).toEqual(DEFAULT_NET_LIMITS);
    expect(() => resolveLimits({ nope: 1 } as never)).toThrow(/unknown P2P limit/);
  });
});
