/**
 * Size-amplifying payloads for the payload decoders of @bbc1/wire (TLV, msgpack, encrypted
 * msgpack): each is refused with `DECODE_BUDGET` before it allocates what it asks for, through
 * decodePayload and through a MessageParser (which goes on with the next frame). And real
 * traffic is never refused: every payload of the captured P2P frames, the admin_info TLVs and
 * the transactions they carry decode with the default budgets.
 */
import fc from "fast-check";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { deserialize } from "@bbc1/bbclib";
import {
  AesCtrStream,
  KeyRegistry,
  MessageParser,
  WireError,
  decodeMsgpack,
  decodePayload,
  decodeTlv,
  encodeMessage,
  encodeTlv,
  keyTypeBytes,
  splitFrame,
  type DecodeBudget,
  type WireMessage,
  type WireValue,
} from "../src/index.js";
import { FIXTURES, hexToBytes } from "./helpers.js";

const RUNS = Number(process.env.BBC1_PROPERTY_RUNS ?? 3000);
const MiB = 1024 * 1024;
const DEADLINE_MS = 500;

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof WireError)) throw new Error(`untyped error: ${String(e)}`);
    return e.code;
  }
  return "ok";
}

function timed(fn: () => unknown): { code: string; ms: number } {
  const t0 = performance.now();
  const code = codeOf(fn);
  return { code, ms: performance.now() - t0 };
}

const KEY = keyTypeBytes("transaction_data")!;

/** One TLV entry: key, type 3 (list), and `n` copies of `item`, built by doubling. */
function tlvListOf(n: number, item: number[]): Uint8Array {
  const out = new Uint8Array(12 + n * item.length);
  out.set(KEY, 0);
  const dv = new DataView(out.buffer);
  dv.setUint32(4, 3);
  dv.setUint32(8, n * item.length);
  out.set(item, 12);
  let done = item.length;
  const total = n * item.length;
  while (done < total) {
    const k = Math.min(done, total - done);
    out.copyWithin(12 + done, 12, 12 + k);
    done += k;
  }
  return out;
}

/** A msgpack map { transaction_data: [n × fill] } (map header, 4-byte key, array32). */
function msgpackPayloadOf(n: number, fill: number[]): Uint8Array {
  const out = new Uint8Array(1 + 5 + 5 + n * fill.length);
  out[0] = 0x81;
  out[1] = 0xa4;
  out.set(KEY, 2);
  out[6] = 0xdd;
  new DataView(out.buffer).setUint32(7, n);
  for (let i = 0, o = 11; i < n; i++, o += fill.length) out.set(fill, o);
  return out;
}

describe("TLV: size-amplifying payloads (16 MiB) are refused within the budget", () => {
  for (const [what, item] of [
    ["empty byte items", [0, 0, 0, 0, 0, 0, 0, 0]],
    ["empty list items", [0, 0, 0, 3, 0, 0, 0, 0]],
    ["boolean items", [0, 0, 0, 2, 0, 0, 0, 1, 1]],
    ["integer items", [0, 0, 0, 1, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 5]],
  ] as [string, number[]][]) {
    it(`a list of ${what}`, () => {
      const body = tlvListOf(Math.floor((16 * MiB) / item.length), item);
      const r = timed(() => decodeTlv(body));
      expect(r.code).toBe("DECODE_BUDGET");
      expect(r.ms).toBeLessThan(DEADLINE_MS);
    });
  }

  it(`TLV decodes iff its items fit maxElements, ${RUNS} runs`, () => {
    const value: fc.Arbitrary<WireValue> = fc.letrec<{ v: WireValue }>((tie) => ({
      v: fc.oneof(
        { depthSize: "small" },
        fc.uint8Array({ maxLength: 6 }),
        fc.nat({ max: 1000 }),
        fc.boolean(),
        fc.array(tie("v"), { maxLength: 40 }),
      ),
    })).v;
    const count = (v: WireValue): number => (Array.isArray(v) ? 1 + (v as WireValue[]).reduce((n: number, x) => n + count(x), 0) : 1);
    fc.assert(
      fc.property(fc.array(value, { minLength: 1, maxLength: 3 }), fc.integer({ min: 1, max: 1500 }), (values, maxElements) => {
        const names = ["transaction_data", "user_list", "destination_user_ids"] as const;
        const msg: WireMessage = {};
        values.forEach((v, i) => ((msg as Record<string, WireValue>)[names[i]!] = v));
        const body = encodeTlv(msg);
        const budget: DecodeBudget = { maxElements, maxAllocationBytes: Infinity, allocationBase: Infinity };
        const total = values.reduce((n: number, v) => n + count(v), 0);
        expect(codeOf(() => decodeTlv(body, { decodeBudget: budget }))).toBe(total <= maxElements ? "ok" : "DECODE_BUDGET");
      }),
      { numRuns: RUNS },
    );
  });
});

describe("msgpack payloads beyond the budget", () => {
  const hostile = msgpackPayloadOf(4 * MiB, [0xa0]);

  it("decodePayload and decodeMsgpack refuse a 4 MiB list of empty byte strings with DECODE_BUDGET", () => {
    for (const f of [() => decodePayload(2, hostile), () => decodeMsgpack(hostile)]) {
      const r = timed(f);
      expect(r.code).toBe("DECODE_BUDGET");
      expect(r.ms).toBeLessThan(DEADLINE_MS);
    }
  });

  it("a MessageParser yields the refusal and decodes the next frame", () => {
    const frame = new Uint8Array(8 + hostile.length);
    const dv = new DataView(frame.buffer);
    dv.setUint16(0, 2);
    dv.setUint32(4, hostile.length);
    frame.set(hostile, 8);
    const next = encodeMessage(2, { command: 7, domain_id: new Uint8Array(32) });
    const parser = new MessageParser();
    const got = [...parser.feed(frame), ...parser.feed(next)];
    expect(got.map((m) => (m.ok ? "ok" : m.error.code))).toEqual(["DECODE_BUDGET", "ok"]);
  });

  it("an encrypted payload over the budget is refused as such and keeps the stream in step", () => {
    const key = new Uint8Array(32).fill(3);
    const nonce = new Uint8Array(16).fill(4);
    const name = Uint8Array.of(1, 2, 3, 4);
    const registry = new KeyRegistry();
    registry.setCipher(name, key, nonce, name);
    const sender = new AesCtrStream(key, nonce);
    const cipher = sender.update(hostile);
    const body = new Uint8Array(4 + cipher.length);
    body.set(name);
    body.set(cipher, 4);
    expect(codeOf(() => decodePayload(3, body, { registry }))).toBe("DECODE_BUDGET");
    // the next message of the same stream still decrypts
    const plain = encodeMessage(2, { command: 1 }).subarray(8);
    const c2 = sender.update(plain);
    const body2 = new Uint8Array(4 + c2.length);
    body2.set(name);
    body2.set(c2, 4);
    expect(decodePayload(3, body2, { registry })).toEqual({ command: 1 });
  });

  it("a larger budget lets the same payload through", () => {
    const small = msgpackPayloadOf(40_000, [0xa0]);
    expect(codeOf(() => decodePayload(2, small))).toBe("DECODE_BUDGET");
    const m = decodePayload(2, small, { decodeBudget: { maxElements: 100_000, allocationRatio: 200 } });
    expect((m.transaction_data as Uint8Array[]).length).toBe(40_000);
  });
});

describe("real traffic is not refused by the default budgets (p2p-frames.json)", () => {
  const doc = JSON.parse(readFileSync(join(FIXTURES, "p2p-frames.json"), "utf8")) as { cases: Record<string, unknown>[] };

  it("has frames of both payload types", () => {
    expect(doc.cases.some((c) => c.payload_type === 2)).toBe(true);
    expect(doc.cases.some((c) => c.payload_type === 3)).toBe(true);
  });

  it.each(doc.cases.map((c) => [String(c.name), c] as const))("%s", (_n, c) => {
    const f = splitFrame(hexToBytes(c.frame as string));
    let message: WireMessage;
    if (f.payloadType === 3) {
      const enc = c.encryption as Record<string, string | number>;
      const s = new AesCtrStream(hexToBytes(enc.key as string), hexToBytes(enc.initial_counter as string));
      s.seek(enc.keystream_offset as number);
      const plain = s.update(f.body.subarray(4));
      message = decodeMsgpack(plain);
    } else {
      message = decodePayload(f.payloadType, f.body);
    }
    expect(Object.keys(message)).toEqual(Object.keys(c.decoded as object));
    if (message.admin_info instanceof Uint8Array) decodeTlv(message.admin_info);
    const txs: Uint8Array[] = [];
    if (message.transaction_data instanceof Uint8Array) txs.push(message.transaction_data);
    if (Array.isArray(message.transactions)) for (const t of message.transactions) if (t instanceof Uint8Array) txs.push(t);
    for (const t of txs) expect(deserialize(t).transactionId).toBeInstanceOf(Uint8Array);
  });
});
