import { describe, expect, it } from "vitest";
import { decodePayload, decodeTlv, encodeMessage, encodeTlv, type WireMessage } from "../src/index.js";
import { bytesToHex, concatBytes, hexToBytes, wireErrorCode as code } from "./helpers.js";

const K = (code: number) => new Uint8Array([0, 0, (code >>> 8) & 0xff, code & 0xff]);
function item(type: number, value: Uint8Array, length = value.length): Uint8Array {
  const h = new Uint8Array(8);
  new DataView(h.buffer).setUint32(0, type);
  new DataView(h.buffer).setUint32(4, length);
  return concatBytes(h, value);
}

describe("TLV encoding (make_TLV_formatted_message)", () => {
  it("encodes each value type as the reference does", () => {
    const body = encodeTlv({ command: 5, result: true, reason: "ok", domain_id: new Uint8Array([1, 2]), domain_list: [new Uint8Array([9]), 7, false, [1]] });
    const expected = concatBytes(
      K(9), item(1, hexToBytes("0000000000000005")),
      K(2), item(2, new Uint8Array([1])),
      K(1), item(0, new Uint8Array([0x6f, 0x6b])),
      K(0x50), item(0, new Uint8Array([1, 2])),
      K(0x37), item(3, concatBytes(item(0, new Uint8Array([9])), item(1, hexToBytes("0000000000000007")), item(2, new Uint8Array([0])), item(3, item(1, hexToBytes("0000000000000001"))))),
    );
    expect(bytesToHex(body)).toBe(bytesToHex(expected));
  });

  it("writes the UTF-8 byte length of text (the reference writes the character count)", () => {
    const body = encodeTlv({ reason: "é" });
    expect(bytesToHex(body)).toBe("00000001" + "00000000" + "00000002" + "c3a9");
  });

  it("handles 64-bit unsigned integers (number and bigint)", () => {
    const m = decodeTlv(encodeTlv({ count: 2n ** 64n - 1n, nonce: 2 ** 53 - 1, message_seq: 2n ** 53n }));
    expect(m).toEqual({ count: 2n ** 64n - 1n, nonce: 2 ** 53 - 1, message_seq: 2n ** 53n });
  });

  it("rejects what TLV cannot carry (nil, negative, float, maps, too-big ints)", () => {
    expect(code(() => encodeTlv({ status: -1 }))).toBe("ENCODE");
    expect(code(() => encodeTlv({ status: 1.5 }))).toBe("ENCODE");
    expect(code(() => encodeTlv({ domain_id: null }))).toBe("ENCODE");
    expect(code(() => encodeTlv({ stats: new Map() }))).toBe("ENCODE");
    expect(code(() => encodeTlv({ count: 2n ** 64n }))).toBe("ENCODE");
    expect(code(() => encodeTlv({ bogus: 1 } as unknown as WireMessage))).toBe("UNKNOWN_KEY");
    expect(code(() => encodeMessage(0, { status: -1 }))).toBe("ENCODE");
  });

  it("skips undefined values", () => {
    expect(encodeTlv({ status: undefined, command: 1 })).toEqual(encodeTlv({ command: 1 }));
  });
});

describe("TLV decoding (make_dictionary_from_TLV_format)", () => {
  it("decodes the value types; str comes back as bytes", () => {
    const body = encodeTlv({ command: 5, result: false, reason: "text", domain_list: [new Uint8Array([1]), [true]] });
    expect(decodeTlv(body)).toEqual({ command: 5, result: false, reason: new TextEncoder().encode("text"), domain_list: [new Uint8Array([1]), [true]] });
  });

  it("an empty payload is an empty message", () => {
    expect(decodeTlv(new Uint8Array(0))).toEqual({});
    expect(decodePayload(0, new Uint8Array(0))).toEqual({});
  });

  it("decoded byte strings do not alias the input", () => {
    const body = encodeTlv({ domain_id: new Uint8Array([1, 2, 3]) });
    const m = decodeTlv(body);
    body[body.length - 1] = 0xff;
    expect(m.domain_id).toEqual(new Uint8Array([1, 2, 3]));
  });

  const cases: [string, Uint8Array, string][] = [
    ["entry header cut off", concatBytes(K(9), hexToBytes("00000001")), "INVALID_TLV_LENGTH"],
    ["single trailing byte (the reference ignores it)", concatBytes(encodeTlv({ command: 1 }), new Uint8Array([0])), "INVALID_TLV_LENGTH"],
    ["value longer than the payload", concatBytes(K(9), item(0, new Uint8Array(3), 4)), "INVALID_TLV_LENGTH"],
    ["length near 2^32", concatBytes(K(9), item(0, new Uint8Array(3), 0xffffffff)), "INVALID_TLV_LENGTH"],
    ["unknown data type (the reference parses it as a list)", concatBytes(K(9), item(4, new Uint8Array(0))), "INVALID_TLV"],
    ["int of 4 bytes", concatBytes(K(9), item(1, new Uint8Array(4))), "INVALID_TLV"],
    ["bool of 2 bytes", concatBytes(K(2), item(2, new Uint8Array(2))), "INVALID_TLV"],
    ["bool value 2", concatBytes(K(2), item(2, new Uint8Array([2]))), "INVALID_TLV"],
    ["list item header cut off", concatBytes(K(0x37), item(3, new Uint8Array(5))), "INVALID_TLV_LENGTH"],
    ["list item longer than the list", concatBytes(K(0x37), item(3, item(0, new Uint8Array(2), 3))), "INVALID_TLV_LENGTH"],
    ["unknown key", concatBytes(new Uint8Array([0, 0, 0, 3]), item(0, new Uint8Array(0))), "UNKNOWN_KEY"],
    ["duplicate key", concatBytes(K(9), item(0, new Uint8Array(0)), K(9), item(0, new Uint8Array(0))), "DUPLICATE_KEY"],
  ];
  it.each(cases)("rejects %s", (_n, body, c) => {
    expect(code(() => decodeTlv(body))).toBe(c);
    expect(code(() => decodePayload(0, body))).toBe(c);
  });

  it("can drop unknown keys", () => {
    const body = concatBytes(new Uint8Array([0, 0, 0, 3]), item(0, new Uint8Array(1)), encodeTlv({ command: 1 }));
    expect(decodeTlv(body, { unknownKeys: "drop" })).toEqual({ command: 1 });
    // the dropped value is still validated
    const bad = concatBytes(new Uint8Array([0, 0, 0, 3]), item(7, new Uint8Array(1)));
    expect(code(() => decodeTlv(bad, { unknownKeys: "drop" }))).toBe("INVALID_TLV");
  });

  it("limits nesting depth without overflowing the stack", () => {
    const n = 100_000;
    const v = new Uint8Array(8 * n);
    const dv = new DataView(v.buffer);
    for (let i = 0; i < n; i++) {
      dv.setUint32(8 * i, 3);
      dv.setUint32(8 * i + 4, 8 * (n - i - 1));
    }
    expect(code(() => decodeTlv(concatBytes(K(0x37), v)))).toBe("TOO_DEEP");
    let nested: unknown = [];
    for (let i = 0; i < 40; i++) nested = [nested];
    expect(code(() => encodeTlv({ domain_list: nested as never }))).toBe("TOO_DEEP");
    expect(code(() => encodeTlv({ domain_list: nested as never }, { maxDepth: 64 }))).toBeUndefined();
  });

  it("re-encodes every decoded payload byte for byte", () => {
    const body = encodeTlv({ command: 1, admin_info: new Uint8Array(40), port_number: 6641, node_info: [new Uint8Array(32), "127.0.0.1", "::", 6641] });
    expect(encodeTlv(decodeTlv(body))).toEqual(body);
  });
});
