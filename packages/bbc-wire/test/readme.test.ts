/** The hand-framed example of README.md, byte for byte. */
import { describe, expect, it } from "vitest";
import { MessageParser, MsgType, clientRequest, decodeFrame, encodeMessage } from "../src/index.js";

// 8-byte header: payload_type 2 (msgpack), payload_version 0, length 0x21 = 33
const header = [0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x21];
// msgpack fixmap of 5 entries; keys are 4-byte raw strings (0xa4 + the KeyType code)
const body = [
  0x85,
  0xa4, 0x00, 0x00, 0x00, 0x09, 0x1b, // command = 27 (REQUEST_GET_NODEID)
  0xa4, 0x00, 0x00, 0x00, 0x50, 0xc0, // domain_id = nil
  0xa4, 0x00, 0x00, 0x00, 0x51, 0xc0, // source_user_id = nil
  0xa4, 0x00, 0x00, 0x00, 0x00, 0x00, // status = 0
  0xa4, 0x00, 0x00, 0x00, 0x0b, 0xa2, 0x01, 0x00, // query_id = 01 00 (raw, not bin)
];

describe("README example", () => {
  it("the hand-built frame equals encodeMessage and decodes back", () => {
    const frame = new Uint8Array([...header, ...body]);
    expect(body.length).toBe(0x21);
    const msg = clientRequest({ command: MsgType.REQUEST_GET_NODEID, domainId: null, sourceUserId: null, queryId: new Uint8Array([1, 0]) });
    expect(encodeMessage(2, msg)).toEqual(frame);
    expect(decodeFrame(frame).message).toEqual(msg);
    const p = new MessageParser();
    const got = [...p.feed(frame.subarray(0, 5)), ...p.feed(frame.subarray(5))];
    expect(got.length).toBe(1);
    expect(got[0]!.ok && got[0]!.message).toEqual(msg);
  });
});

describe("README budget example", () => {
  it("refuses a large frame of a small command before decoding, keeps a large insert", async () => {
    const { ByteBudget, KeyRegistry, WireError, peekCommand } = await import("../src/index.js");
    const partialFrames = new ByteBudget(256 << 20); // one pool per process
    const LARGE = new Set<number>([MsgType.REQUEST_INSERT, MsgType.MESSAGE]);
    const parser = new MessageParser({
      registry: new KeyRegistry(),
      maxMessageSize: 64 << 20,
      budget: partialFrames,
      admit: (f) =>
        f.body.length > 1 << 20 && !LARGE.has(peekCommand(f.payloadType, f.body) ?? -1)
          ? new WireError("REFUSED", "frame too large for its command")
          : undefined,
    });
    const big = new Uint8Array((1 << 20) + 10);
    const out = [
      ...parser.feed(encodeMessage(2, { command: MsgType.REGISTER, message: big })),
      ...parser.feed(encodeMessage(2, { command: MsgType.REQUEST_INSERT, transaction_data: big })),
    ];
    expect(out.map((m) => (m.ok ? m.message.command : m.error.code))).toEqual(["REFUSED", MsgType.REQUEST_INSERT]);
    expect(partialFrames.used).toBe(0);
  });
});

describe("README decode budget example", () => {
  it("raises or lowers the element budget", async () => {
    const { decodePayload, MessageParser: Parser, isWireError } = await import("../src/index.js");
    const parser = new Parser({ decodeBudget: { maxElements: 1_000_000 } });
    expect(parser.closed).toBe(false);
    const msg = decodePayload(2, Uint8Array.of(0x81, 0xa4, 0, 0, 0, 9, 0x1b), { decodeBudget: { maxElements: 16 } });
    expect(msg).toEqual({ command: 27 });
    let code = "";
    try {
      decodePayload(2, Uint8Array.of(0x81, 0xa4, 0, 0, 0, 9, 0x1b), { decodeBudget: { maxElements: 2 } });
    } catch (e) {
      if (isWireError(e)) code = e.code;
    }
    expect(code).toBe("DECODE_BUDGET");
  });
});
