/**
 * Property tests (fast-check) for every decoder of the package, and for the whole receive path
 * of a network fed random and mutated frames.
 */
import { randomBytes } from "node:crypto";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fromHex } from "@bbc1/bbclib";
import { KEY_TYPE_NAMES, KeyRegistry, WireError, encodeMessage, encodeTlv, u16Bytes, type WireMessage, type WireValue } from "@bbc1/wire";
import {
  NetError,
  StreamDecryptor,
  bytesToIPv4,
  bytesToIPv6,
  decodeNeighborEntry,
  decodeNeighborList,
  encodeNeighborEntry,
  encodeNeighborList,
  ipv4ToBytes,
  ipv6ToBytes,
  openAdmin,
  type BBcNetwork,
  type NeighborEntry,
  type NetworkDomain,
  type PeerAddress,
} from "../src/index.js";
import { loadFrames } from "./helpers.js";
import { DOMAIN, startNode } from "./nodes.js";

const RUNS = Number(process.env.NET_PROPERTY_RUNS ?? 2000);

const entryArb: fc.Arbitrary<NeighborEntry> = fc.record({
  nodeId: fc.uint8Array({ minLength: 32, maxLength: 32 }),
  ipv4: fc.ipV4(),
  ipv6: fc.uint8Array({ minLength: 16, maxLength: 16 }).map(bytesToIPv6),
  port: fc.integer({ min: 0, max: 65535 }),
  domain0: fc.boolean(),
  updatedAt: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
});

describe("neighbour entries and lists", () => {
  it("encode -> decode is the identity; decode -> encode gives the bytes back", () => {
    fc.assert(
      fc.property(fc.array(entryArb, { maxLength: 30 }), (entries) => {
        const bytes = encodeNeighborList(entries);
        const back = decodeNeighborList(bytes);
        expect(back).toEqual(entries);
        expect(encodeNeighborList(back)).toEqual(bytes);
      }),
      { numRuns: RUNS / 4 },
    );
  });

  it("any bytes: a list or a NetError, never anything else", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.option(fc.integer({ min: 0, max: 6 })), (bytes, count) => {
        const b = bytes.slice();
        if (count !== null && b.length >= 4) new DataView(b.buffer).setUint32(0, count, false);
        try {
          const l = decodeNeighborList(b);
          expect(b.length).toBe(4 + 63 * l.length);
        } catch (e) {
          expect(e).toBeInstanceOf(NetError);
        }
        try {
          const e = decodeNeighborEntry(b, 0);
          expect(encodeNeighborEntry(e)).toEqual(b.subarray(0, 63));
        } catch (e) {
          expect(e).toBeInstanceOf(NetError);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it("addresses: inet_pton(inet_ntop(x)) = x for every 4 and 16 bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (b) => {
        expect(ipv6ToBytes(bytesToIPv6(b))).toEqual(b);
        expect(ipv4ToBytes(bytesToIPv4(b.subarray(0, 4)))).toEqual(b.subarray(0, 4));
      }),
      { numRuns: RUNS },
    );
  });
});

describe("admin_info", () => {
  const signer = { enabled: true, sign: () => new Uint8Array(64), verify: () => true };
  it("random or mutated admin_info: merged message or NetError", () => {
    const good = encodeTlv({ command: u16Bytes(1), message_seq: 5, static_entry: true, external_ip4addr: "1.2.3.4" });
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 200 }), fc.tuple(fc.nat(good.length - 1), fc.nat(255)).map(([i, v]) => {
        const m = good.slice();
        m[i] = v;
        return m;
      })), (info) => {
        let m: WireMessage | undefined;
        try {
          m = openAdmin({ admin_info: info, nodekey_signature: new Uint8Array(64) }, signer);
        } catch (e) {
          expect(e).toBeInstanceOf(NetError);
        }
        // merged: every decoded key is there (a signed part may even carry admin_info itself, as in v1.1.1)
        if (m !== undefined) expect(typeof m).toBe("object");
      }),
      { numRuns: RUNS },
    );
  });
});

describe("StreamDecryptor", () => {
  it("random bodies under a known key name: a message or a WireError, and the stream position unchanged on failure", () => {
    const reg = new KeyRegistry();
    const name = new Uint8Array([1, 2, 3, 4]);
    const entry = reg.setCipher(name, new Uint8Array(32).fill(3), new Uint8Array(16), new Uint8Array(4));
    const dec = new StreamDecryptor(reg, 4096, () => 0);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.boolean(), (body, named) => {
        const b = named ? new Uint8Array([...name, ...body]) : body;
        const before = entry.decryptor.position;
        try {
          dec.decrypt(b, 1 << 20);
        } catch (e) {
          expect(e).toBeInstanceOf(WireError);
          expect(entry.decryptor.position).toBe(before);
        }
      }),
      { numRuns: RUNS },
    );
  });
});

describe("the receive path of a running network", () => {
  let n: { net: BBcNetwork; domain: NetworkDomain };
  const peer: PeerAddress = { transport: "udp", address: "127.0.0.1", family: 4, port: 9 };
  beforeAll(async () => {
    n = await startNode();
  });
  afterAll(async () => {
    await n.net.close();
  });

  const names = KEY_TYPE_NAMES.filter((k) => k !== "domain_id");
  const value: fc.Arbitrary<WireValue> = fc.oneof(
    fc.uint8Array({ maxLength: 40 }),
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.constantFrom(u16Bytes(0), u16Bytes(1), u16Bytes(2), u16Bytes(3), u16Bytes(4), u16Bytes(5)),
    fc.constantFrom(DOMAIN, new Uint8Array(32)),
    fc.array(fc.uint8Array({ maxLength: 8 }), { maxLength: 3 }),
  );
  const message: fc.Arbitrary<WireMessage> = fc
    .tuple(
      fc.constantFrom(0, 1, 2, 3, 4, 9),
      fc.dictionary(fc.constantFrom(...names), value, { maxKeys: 10 }),
      fc.boolean(),
    )
    .map(([cat, rest, withSource]) => ({
      infra_msg_type: u16Bytes(cat),
      domain_id: DOMAIN,
      ...(withSource ? { source_node_id: new Uint8Array(randomBytes(32)) } : {}),
      ...rest,
    }) as WireMessage);

  it("random envelopes of every category never throw and never stop the node", () => {
    fc.assert(
      fc.property(message, fc.constantFrom<"udp" | "tcp">("udp", "tcp"), (m, transport) => {
        let bytes: Uint8Array;
        try {
          bytes = encodeMessage(2, m);
        } catch {
          return;
        }
        expect(() => n.net.handleFrame(bytes, { ...peer, transport, port: transport === "udp" ? 9 : null })).not.toThrow();
      }),
      { numRuns: RUNS },
    );
  });

  it("every captured frame, mutated, never throws", () => {
    const frames = loadFrames().cases.map((c) => fromHex(c.frame));
    fc.assert(
      fc.property(fc.constantFrom(...frames), fc.array(fc.tuple(fc.nat(), fc.nat(255)), { maxLength: 4 }), (f, muts) => {
        const b = f.slice();
        for (const [i, v] of muts) b[i % b.length] = v;
        expect(() => n.net.handleFrame(b, peer)).not.toThrow();
      }),
      { numRuns: RUNS },
    );
  });

  it("after all that the node still answers a ping", async () => {
    const other = await startNode();
    try {
      other.domain.sendDomainPing("127.0.0.1", null, n.net.port);
      const start = Date.now();
      while (n.domain.neighbors.get(other.domain.nodeId) === undefined || other.domain.neighbors.get(n.domain.nodeId) === undefined) {
        if (Date.now() - start > 5000) throw new Error("no pong");
        await new Promise((r) => setTimeout(r, 5));
      }
    } finally {
      await other.net.close();
    }
  });
});
