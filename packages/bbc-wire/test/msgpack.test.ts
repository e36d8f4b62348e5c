import { describe, expect, it } from "vitest";
import { decodeMsgpack, decodePayload, encodeMessage, encodeMsgpack, isWireError, type WireMessage } from "../src/index.js";
import { bytesToHex, concatBytes, hexToBytes, wireErrorCode as code } from "./helpers.js";

const KEY = (c: number) => new Uint8Array([0xa4, 0, 0, 0, c]);

describe("msgpack payload encoding (msgpack-python 0.5, use_bin_type=False)", () => {
  it("keys are 4-byte raw strings in insertion order", () => {
    expect(bytesToHex(encodeMsgpack({ command: 66, status: 0 }))).toBe("82" + "a400000009" + "42" + "a400000000" + "00");
    expect(bytesToHex(encodeMsgpack({ status: 0, command: 66 }))).toBe("82" + "a400000000" + "00" + "a400000009" + "42");
  });

  it("byte strings go out as fixstr / raw16 / raw32, never str8 or bin", () => {
    const enc = (n: number) => encodeMsgpack({ transaction_data: new Uint8Array(n) }).subarray(6);
    expect(enc(0)[0]).toBe(0xa0);
    expect(enc(31)[0]).toBe(0xbf);
    expect(bytesToHex(enc(32).subarray(0, 3))).toBe("da0020");
    expect(bytesToHex(enc(255).subarray(0, 3))).toBe("da00ff");
    expect(bytesToHex(enc(65535).subarray(0, 3))).toBe("daffff");
    expect(bytesToHex(enc(65536).subarray(0, 5))).toBe("db00010000");
  });

  it("text goes out in the same raw family (UTF-8)", () => {
    expect(bytesToHex(encodeMsgpack({ reason: "é" }))).toBe("81a400000001a2c3a9");
    expect(bytesToHex(encodeMsgpack({ reason: "x".repeat(40) }).subarray(6, 9))).toBe("da0028");
  });

  it("integers in their smallest encoding, booleans, nil, lists, nested maps", () => {
    const m: WireMessage = {
      status: -1,
      count: 948,
      nonce: 2 ** 40,
      message_seq: -200,
      result: true,
      domain_id: null,
      destination_user_ids: [new Uint8Array([1]), new Uint8Array([2])],
      all_asset_files: new Map([[new Uint8Array([7, 7]), new Uint8Array([1])], [new Uint8Array([8]), null]]),
    };
    const body = encodeMsgpack(m);
    expect(bytesToHex(body)).toBe(
      "88" +
        "a400000000ff" +
        "a40000000ecd03b4" +
        "a40000000dcf0000010000000000" +
        "a400000014d1ff38" +
        "a400000002c3" +
        "a400000050c0" +
        "a40000005392a101a102" +
        "a40000007582a20707a101a108c0",
    );
    expect(decodeMsgpack(body)).toEqual(m);
  });

  it("rejects names that are not KeyType names", () => {
    expect(code(() => encodeMsgpack({ nope: 1 } as unknown as WireMessage))).toBe("UNKNOWN_KEY");
    expect(code(() => encodeMessage(2, { nope: 1 } as unknown as WireMessage))).toBe("UNKNOWN_KEY");
  });
});

describe("msgpack payload decoding", () => {
  it("accepts bin and str8 for byte strings (both decode to bytes)", () => {
    const bin = hexToBytes("81" + "c40400000050" + "c403010203");
    expect(decodeMsgpack(bin)).toEqual({ domain_id: new Uint8Array([1, 2, 3]) });
    const str8 = hexToBytes("81" + "a400000001" + "d903616263");
    expect(decodeMsgpack(str8)).toEqual({ reason: new Uint8Array([0x61, 0x62, 0x63]) });
  });

  it("returns bigint beyond 2^53", () => {
    expect(decodeMsgpack(hexToBytes("81a40000000ecfffffffffffffffff"))).toEqual({ count: 2n ** 64n - 1n });
  });

  const bad: [string, string, string][] = [
    ["an array", "91a400000009", "NOT_A_MAP"],
    ["an integer", "05", "NOT_A_MAP"],
    ["nil", "c0", "NOT_A_MAP"],
    ["a byte string", "a3616263", "NOT_A_MAP"],
    ["a 3-byte key", "81a300000901", "BAD_KEY_WIDTH"],
    ["a 5-byte key", "81a5000000000901", "BAD_KEY_WIDTH"],
    ["an integer key", "810901", "BAD_KEY_WIDTH"],
    ["an unknown 4-byte key", "81a40000000301", "UNKNOWN_KEY"],
    ["a duplicate key", "82a40000000901a40000000902", "DUPLICATE_KEY"],
    ["a truncated map", "82a40000000901", "MALFORMED_MSGPACK"],
    ["a truncated string", "81a400000050da0020aa", "MALFORMED_MSGPACK"],
    ["trailing bytes", "81a4000000090100", "MALFORMED_MSGPACK"],
    ["a reserved type byte", "81a400000009c1", "MALFORMED_MSGPACK"],
    ["an empty payload", "", "MALFORMED_MSGPACK"],
    ["a huge declared map", "dfffffffff", "MALFORMED_MSGPACK"],
  ];
  it.each(bad)("rejects %s", (_n, hex, c) => {
    expect(code(() => decodeMsgpack(hexToBytes(hex)))).toBe(c);
    expect(code(() => decodePayload(2, hexToBytes(hex)))).toBe(c);
  });

  it("keeps the codec error as cause", () => {
    try {
      decodePayload(2, hexToBytes("82"));
      expect.unreachable();
    } catch (e) {
      expect(isWireError(e, "MALFORMED_MSGPACK")).toBe(true);
      expect((e as Error).cause).toBeInstanceOf(Error);
    }
  });

  it("can drop unknown keys", () => {
    expect(decodeMsgpack(hexToBytes("82a40000000301a40000000902"), { unknownKeys: "drop" })).toEqual({ command: 2 });
  });

  it("limits nesting depth", () => {
    const deep = concatBytes(hexToBytes("81"), KEY(0x0c), new Uint8Array(100).fill(0x91), new Uint8Array([0]));
    expect(code(() => decodeMsgpack(deep))).toBe("TOO_DEEP");
    expect(code(() => decodeMsgpack(deep, { maxDepth: 200 }))).toBeUndefined();
    const huge = concatBytes(hexToBytes("81"), KEY(0x0c), new Uint8Array(1_000_000).fill(0x91), new Uint8Array([0]));
    expect(code(() => decodeMsgpack(huge))).toBe("TOO_DEEP");
  });
});

describe("encodeMsgpack fast path", () => {
  it("writes the same bytes as bbclib's codec for every kind of top-level value (fast-check)", async () => {
    const fc = (await import("fast-check")).default;
    const { msgpackEncode } = await import("@bbc1/bbclib");
    const { KEY_TYPE_NAMES, keyTypeBytes } = await import("../src/index.js");
    const edgeInts = [0, 127, 128, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER, -1, -32, -33, -128, -129, -32768, -32769, -(2 ** 31), -(2 ** 31) - 1, Number.MIN_SAFE_INTEGER, -0];
    const value = fc.oneof(
      fc.uint8Array({ maxLength: 40 }),
      fc.constantFrom(31, 32, 65535, 65536).map((n) => new Uint8Array(n).fill(n & 0xff)),
      fc.string(),
      fc.constant(null),
      fc.boolean(),
      fc.integer(),
      fc.constantFrom(...edgeInts),
      fc.maxSafeInteger(),
      fc.double(),
      fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n - 1n }),
      fc.array(fc.oneof(fc.uint8Array({ maxLength: 4 }), fc.integer()), { maxLength: 3 }),
      // maps of byte strings (asset files, referred transactions) take their own fast path;
      // other maps (text or int keys, nested values) go through the codec
      fc.array(fc.tuple(fc.uint8Array({ maxLength: 40 }), fc.oneof(fc.uint8Array({ maxLength: 40 }), fc.constant(null))), { maxLength: 20 }).map((e) => new Map(e)),
      fc.constantFrom(0, 15, 16, 70_000).map((n) => new Map(Array.from({ length: n }, (_, i) => [Uint8Array.of(i & 0xff, i >> 8, i >> 16), i % 3 === 0 ? null : new Uint8Array(i % 70)]))),
      fc.constant(new Map([[Uint8Array.of(1), new Uint8Array(70_000).fill(9)]])),
      fc.array(fc.tuple(fc.oneof(fc.uint8Array({ maxLength: 4 }), fc.string(), fc.integer()), fc.oneof(fc.uint8Array({ maxLength: 4 }), fc.constant(null), fc.integer(), fc.array(fc.integer(), { maxLength: 2 }))), { maxLength: 4 }).map((e) => new Map(e)),
    );
    const arb = fc.uniqueArray(fc.tuple(fc.constantFrom(...KEY_TYPE_NAMES), value), { maxLength: 12, selector: (e) => e[0] });
    fc.assert(
      fc.property(arb, (entries) => {
        const msg = Object.fromEntries(entries) as WireMessage;
        const map = new Map(entries.map(([k, v]) => [keyTypeBytes(k)!, v] as [Uint8Array, never]));
        let expected: Uint8Array | undefined;
        try {
          expected = msgpackEncode(map, { binary: "raw" });
        } catch {
          expected = undefined; // e.g. an integral double beyond int64: both refuse it
        }
        if (expected === undefined) expect(() => encodeMsgpack(msg)).toThrowError(expect.objectContaining({ code: "ENCODE" }));
        else {
          expect(Buffer.compare(encodeMsgpack(msg), expected)).toBe(0);
          // the whole frame: header then the same body (written in place after the header)
          const frame = encodeMessage(2, msg, { payloadVersion: 7 });
          const header = Uint8Array.of(0, 2, 0, 7, expected.length >>> 24, (expected.length >>> 16) & 0xff, (expected.length >>> 8) & 0xff, expected.length & 0xff);
          expect(Buffer.compare(frame.subarray(0, 8), header)).toBe(0);
          expect(Buffer.compare(frame.subarray(8), expected)).toBe(0);
          if (expected.length > 1) expect(() => encodeMessage(2, msg, { maxMessageSize: expected!.length - 1 })).toThrowError(expect.objectContaining({ code: "TOO_LARGE" }));
        }
      }),
      { numRuns: 2000 },
    );
  });
});
