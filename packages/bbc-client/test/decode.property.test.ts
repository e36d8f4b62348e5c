import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { BBcFormat, BBcSignature, KeyPair, sha256 } from "@bbc1/bbclib";
import { MsgType, encodeMessage, type WireMessage, type WireValue } from "@bbc1/wire";
import {
  BBcAppClient,
  BbcClientError,
  formatIpv6,
  parseNeighborList,
  parseOneLevelList,
  parseTwoLevelList,
  signatureFromWire,
  signatureToWire,
} from "../src/index.js";
import { FakeCore, hex, reply } from "./fake-core.js";

function onlyClientErrors(f: () => unknown): void {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(BbcClientError);
    expect((e as BbcClientError).code).toBe("BAD_RESPONSE");
  }
}

const id32 = fc.uint8Array({ minLength: 32, maxLength: 32 });

describe("packed-list decoders", () => {
  it("never throw anything but BAD_RESPONSE on arbitrary bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
        onlyClientErrors(() => parseOneLevelList(b));
        onlyClientErrors(() => parseTwoLevelList(b));
        onlyClientErrors(() => parseNeighborList(b));
      }),
      { numRuns: 2000 },
    );
  });

  it("read back what bbc_core packs", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(id32, fc.array(id32, { maxLength: 4 })), { maxLength: 6 }), (entries) => {
        const one = new Uint8Array([0, entries.length, ...entries.flatMap(([a]) => [...a])]);
        expect(parseOneLevelList(one).map(hex)).toEqual(entries.map(([a]) => hex(a)));
        const two = new Uint8Array([0, entries.length, ...entries.flatMap(([a, l]) => [...a, 0, l.length, ...l.flatMap((x) => [...x])])]);
        expect(parseTwoLevelList(two).map((e) => [hex(e.id), e.ids.map(hex)])).toEqual(entries.map(([a, l]) => [hex(a), l.map(hex)]));
      }),
    );
  });
});

describe("formatIpv6", () => {
  it("matches the WHATWG/RFC 5952 form for addresses without an embedded IPv4", () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff })), { minLength: 8, maxLength: 8 }), (g) => {
        if (g.slice(0, 5).every((x) => x === 0) && (g[5] === 0xffff || (g[5] === 0 && (g[6] !== 0 || g[7]! > 1)))) return;
        const b = new Uint8Array(16);
        g.forEach((x, i) => new DataView(b.buffer).setUint16(2 * i, x));
        const url = new URL(`http://[${g.map((x) => x.toString(16)).join(":")}]/`).hostname.slice(1, -1);
        expect(formatIpv6(b)).toBe(url);
      }),
      { numRuns: 3000 },
    );
  });

  it("prints IPv4-mapped addresses like inet_ntop", () => {
    expect(formatIpv6(new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 1]))).toBe("::ffff:10.0.0.1");
    expect(formatIpv6(new Uint8Array(16))).toBe("::");
  });
});

describe("signature encoding for RESPONSE_SIGNATURE", () => {
  it("round-trips binary and BSON signatures", () => {
    const kp = KeyPair.generate();
    for (const f of [BBcFormat.FORMAT_BINARY, BBcFormat.FORMAT_BSON, BBcFormat.FORMAT_BSON_COMPRESS_BZ2, BBcFormat.FORMAT_MSGPACK]) {
      const s = new BBcSignature({ formatType: f, keyType: 2 });
      s.add({ signature: kp.sign(sha256(new Uint8Array([f]))), pubkey: kp.publicKey! });
      const w = signatureToWire(s);
      const back = signatureFromWire(w.signature, w.format);
      expect(back.verify(sha256(new Uint8Array([f])))).toBe(true);
    }
  });

  it("rejects garbage with BAD_RESPONSE", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.integer({ min: 0, max: 6 }), (b, f) => {
        onlyClientErrors(() => signatureFromWire(b, f));
      }),
      { numRuns: 1000 },
    );
  });
});

describe("the client survives arbitrary messages from the node", () => {
  let core: FakeCore;
  let client: BBcAppClient;
  beforeAll(async () => {
    core = await FakeCore.start((r) => {
      if (r.message.command === MsgType.REQUEST_COUNT_TRANSACTIONS) r.conn.send(reply(r.message, 95, { count: 5 }));
    });
    client = await BBcAppClient.connect({ port: core.port, domainId: new Uint8Array(32).fill(1), userId: new Uint8Array(32).fill(2) });
    client.on("signRequest", () => undefined);
    await client.register();
  });
  afterAll(async () => {
    await client.close();
    await core.close();
  });

  const value: fc.Arbitrary<WireValue> = fc.oneof(
    fc.constant(null),
    fc.boolean(),
    fc.integer({ min: -1000, max: 1000 }),
    fc.uint8Array({ maxLength: 40 }),
    fc.array(fc.uint8Array({ maxLength: 33 }), { maxLength: 4 }),
  );
  const keys = ["status", "reason", "result", "query_id", "transaction_id", "transaction_data", "transactions", "signature", "source_user_id", "cross_ref", "message", "asset_group_ids", "all_asset_files", "transaction_tree", "cross_ref_verification_info"] as const;

  it("keeps answering after random maps with every known command", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...Object.values(MsgType)),
        fc.dictionary(fc.constantFrom(...keys), value),
        async (command, fields) => {
          const m: WireMessage = { command, ...(fields as WireMessage) };
          core.conns[0]!.sendRaw(encodeMessage(2, m));
          expect(await client.countTransactions({ userId: new Uint8Array(32) })).toBe(5);
        },
      ),
      { numRuns: 150 },
    );
    expect(client.closed).toBe(false);
  });
});
