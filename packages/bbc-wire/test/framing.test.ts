import { describe, expect, it } from "vitest";
import {
  FrameParser,
  HEADER_LENGTH,
  MessageParser,
  decodeFrame,
  decodeHeader,
  encodeHeader,
  encodeMessage,
  encodePayload,
  splitFrame,
  type WireMessage,
} from "../src/index.js";
import { bytesToHex, concatBytes, hexToBytes, wireErrorCode as code } from "./helpers.js";


const msgA: WireMessage = { command: 71, query_id: new Uint8Array([1, 2]), domain_id: new Uint8Array(32).fill(7) };
const msgB: WireMessage = { command: 72, status: -14, reason: new TextEncoder().encode("Cannot find transaction") };

describe("header", () => {
  it("encodes and decodes payload_type u16, version u16, length u32 (big endian)", () => {
    const h = encodeHeader({ payloadType: 2, formatVersion: 0x0102, length: 0x01020304 });
    expect(bytesToHex(h)).toBe("0002010201020304");
    expect(decodeHeader(h)).toEqual({ payloadType: 2, formatVersion: 0x0102, length: 0x01020304 });
    expect(decodeHeader(hexToBytes("00000000ffffffff"))).toEqual({ payloadType: 0, formatVersion: 0, length: 0xffffffff });
    expect(decodeHeader(concatBytes(new Uint8Array(3), h), 3).length).toBe(0x01020304);
  });
  it("rejects a truncated header and out-of-range fields", () => {
    expect(code(() => decodeHeader(new Uint8Array(7)))).toBe("TRUNCATED_HEADER");
    expect(code(() => decodeHeader(new Uint8Array(8), 1))).toBe("TRUNCATED_HEADER");
    expect(code(() => encodeHeader({ payloadType: 0x10000, formatVersion: 0, length: 0 }))).toBe("INVALID_ARGUMENT");
    expect(code(() => encodeHeader({ payloadType: 0, formatVersion: 0, length: 2 ** 32 }))).toBe("INVALID_ARGUMENT");
  });
});

describe("encodeMessage / decodeFrame", () => {
  it("frames = header + payload; payloadVersion goes into the header", () => {
    const f = encodeMessage(2, msgA, { payloadVersion: 7 });
    expect(bytesToHex(f.subarray(0, 8))).toBe("00020007" + (f.length - 8).toString(16).padStart(8, "0"));
    expect(f.subarray(8)).toEqual(encodePayload(2, msgA));
    const d = decodeFrame(f);
    expect(d).toMatchObject({ payloadType: 2, formatVersion: 7, message: msgA });
  });

  it("refuses payload types other than 0, 2, 3", () => {
    for (const t of [1, 4, 0xffff]) {
      expect(code(() => encodeMessage(t as 2, msgA))).toBe("UNKNOWN_PAYLOAD_TYPE");
      const f = encodeMessage(2, msgA);
      f[0] = t >> 8;
      f[1] = t & 0xff;
      expect(code(() => decodeFrame(f))).toBe("UNKNOWN_PAYLOAD_TYPE");
    }
  });

  it("checks the frame length against the data and the maximum", () => {
    const f = encodeMessage(2, msgA);
    expect(code(() => decodeFrame(f.subarray(0, 5)))).toBe("TRUNCATED_HEADER");
    expect(code(() => decodeFrame(f.subarray(0, f.length - 1)))).toBe("TRUNCATED");
    expect(code(() => decodeFrame(concatBytes(f, new Uint8Array(1))))).toBe("TRAILING_DATA");
    expect(code(() => decodeFrame(f, { maxMessageSize: f.length - 9 }))).toBe("TOO_LARGE");
    expect(code(() => splitFrame(hexToBytes("00020000ffffffff")))).toBe("TOO_LARGE");
    expect(code(() => encodeMessage(2, msgA, { maxMessageSize: 10 }))).toBe("TOO_LARGE");
    expect(splitFrame(f).body).toEqual(f.subarray(8));
  });

  it("type 3 without a registry or key fails cleanly", () => {
    expect(code(() => encodeMessage(3, msgA))).toBe("INVALID_ARGUMENT");
    expect(code(() => decodeFrame(hexToBytes("0003000000000006" + "0102030405ff")))).toBe("UNKNOWN_KEY_NAME");
    expect(code(() => decodeFrame(hexToBytes("0003000000000003" + "010203")))).toBe("TRUNCATED");
  });
});

describe("FrameParser", () => {
  const f1 = encodeMessage(2, msgA);
  const f2 = encodeMessage(0, { command: 72, reason: "x" });
  const f3 = encodeMessage(2, msgB);
  const stream = concatBytes(f1, f2, f3);

  it("returns whole frames from one chunk holding many", () => {
    const p = new FrameParser();
    const frames = [...p.frames(stream)];
    expect(frames.map((f) => f.payloadType)).toEqual([2, 0, 2]);
    expect(frames[0]!.body).toEqual(f1.subarray(8));
    expect(frames[2]!.body).toEqual(f3.subarray(8));
    expect(p.bufferedBytes).toBe(0);
    expect(p.hasPartialFrame).toBe(false);
  });

  it("returns the same frames fed one byte at a time", () => {
    const p = new FrameParser();
    const out: Uint8Array[] = [];
    for (let i = 0; i < stream.length; i++) for (const f of p.frames(stream.subarray(i, i + 1))) out.push(f.body);
    expect(out).toEqual([f1.subarray(8), f2.subarray(8), f3.subarray(8)]);
    p.end();
  });

  it("bodies inside one chunk are views of it (no copy); spanning bodies are concatenated", () => {
    const p = new FrameParser();
    const [a] = [...p.frames(f1)];
    expect(a!.body.buffer).toBe(f1.buffer);
    const half = Math.floor(f3.length / 2);
    p.push(f3.subarray(0, half));
    expect(p.next()).toBeUndefined();
    const b = p.next() ?? [...p.frames(f3.subarray(half))][0]!;
    expect(b.body).toEqual(f3.subarray(8));
    expect(b.body.buffer).not.toBe(f3.buffer);
  });

  it("closes on a length beyond the maximum before the body arrives, without allocating it", () => {
    const p = new FrameParser({ maxMessageSize: 1000 });
    expect(code(() => [...p.frames(hexToBytes("0002000000000401"))])).toBe("TOO_LARGE");
    expect(p.closed).toBe(true);
    expect(p.closeReason?.code).toBe("TOO_LARGE");
    expect(code(() => p.push(new Uint8Array(1)))).toBe("PARSER_CLOSED");
    expect(code(() => p.next())).toBe("PARSER_CLOSED");
    p.reset();
    expect(p.closed).toBe(false);
    expect([...p.frames(f1)].length).toBe(1);
  });

  it("a header announcing 4 GiB buffers only what arrived", () => {
    const p = new FrameParser({ maxMessageSize: 0xffffffff });
    const before = process.memoryUsage().arrayBuffers;
    p.push(hexToBytes("00020000ffffffff"));
    for (let i = 0; i < 16; i++) p.push(new Uint8Array(1024));
    expect(p.next()).toBeUndefined();
    expect(p.bufferedBytes).toBe(16 * 1024);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 * 1024 * 1024);
    expect(code(() => p.end())).toBe("TRUNCATED");
  });

  it("closes on an unknown payload type (including Type_any)", () => {
    for (const t of ["0001", "0004", "ff00"]) {
      const p = new FrameParser();
      expect(code(() => p.next() ?? [...p.frames(hexToBytes(t + "000000000000"))])).toBe("UNKNOWN_PAYLOAD_TYPE");
      expect(p.closed).toBe(true);
    }
  });

  it("returns zero-length frames and reports cut-off streams at end()", () => {
    const p = new FrameParser();
    const frames = [...p.frames(concatBytes(hexToBytes("0002000000000000"), f1))];
    expect(frames.map((f) => f.body.length)).toEqual([0, f1.length - 8]);
    p.push(f1.subarray(0, 3));
    expect(code(() => p.end())).toBe("TRUNCATED_HEADER");
    p.push(f1.subarray(0, 10));
    expect(p.next()).toBeUndefined();
    expect(code(() => p.end())).toBe("TRUNCATED");
    p.end();
  });

  it("rejects bad arguments", () => {
    expect(code(() => new FrameParser({ maxMessageSize: -1 }))).toBe("INVALID_ARGUMENT");
    expect(code(() => new FrameParser().push("x" as unknown as Uint8Array))).toBe("INVALID_ARGUMENT");
  });

  it("handles many tiny chunks in one frame (chunk list compaction)", () => {
    const big = encodeMessage(2, { transaction_data: new Uint8Array(5000).fill(3) });
    const p = new FrameParser();
    const out = [];
    for (let i = 0; i < big.length; i++) {
      p.push(big.subarray(i, i + 1));
      if (i % 3000 === 0) out.push(...p.frames());
    }
    out.push(...p.frames());
    expect(out.length).toBe(1);
    expect(out[0]!.body).toEqual(big.subarray(8));
  });
});

describe("MessageParser", () => {
  it("yields decoded messages in order, skipping zero-length frames", () => {
    const p = new MessageParser();
    const s = concatBytes(encodeMessage(2, msgA), hexToBytes("0002000000000000"), encodeMessage(2, msgB));
    const got = [...p.feed(s)];
    expect(got.map((m) => m.ok && m.message)).toEqual([msgA, msgB]);
  });

  it("recovers from a payload that does not decode: reports it and continues", () => {
    const p = new MessageParser();
    const bad = hexToBytes("0002000000000002" + "9100"); // an array, not a map
    const unknownKey = hexToBytes("0002000000000007" + "81a40000000301");
    const s = concatBytes(encodeMessage(2, msgA), bad, unknownKey, encodeMessage(0, { command: 1 }));
    const got = [...p.feed(s)];
    expect(got.map((m) => (m.ok ? "ok" : m.error.code))).toEqual(["ok", "NOT_A_MAP", "UNKNOWN_KEY", "ok"]);
    expect(got[3]!.ok && got[3]!.message).toEqual({ command: 1 });
  });

  it("closes on a framing error after yielding the earlier messages", () => {
    const p = new MessageParser({ maxMessageSize: 100 });
    const s = concatBytes(encodeMessage(2, msgB), hexToBytes("0002000000001000"), encodeMessage(2, msgB));
    const got: unknown[] = [];
    expect(
      code(() => {
        for (const m of p.feed(s)) got.push(m);
      }),
    ).toBe("TOO_LARGE");
    expect(got.length).toBe(1);
    expect(p.closed).toBe(true);
    expect(code(() => p.push(new Uint8Array(1)))).toBe("PARSER_CLOSED");
  });

  it("next()/messages() pull from buffered data; end() reports partial frames", () => {
    const p = new MessageParser();
    const f = encodeMessage(2, msgA);
    p.push(f.subarray(0, 20));
    expect(p.next()).toBeUndefined();
    expect(p.bufferedBytes).toBe(12);
    p.push(f.subarray(20));
    expect([...p.messages()].length).toBe(1);
    p.end();
    p.push(f.subarray(0, 4));
    expect(code(() => p.end())).toBe("TRUNCATED_HEADER");
    expect(HEADER_LENGTH).toBe(8);
  });
});
