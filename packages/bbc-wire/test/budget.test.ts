import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  ByteBudget,
  FrameParser,
  MessageParser,
  WireError,
  encodeMessage,
  encodePayload,
  peekCommand,
  peekEnvelope,
  type WireMessage,
} from "../src/index.js";
import { concatBytes } from "./helpers.js";

function header(payloadType: number, length: number): Uint8Array {
  const h = new Uint8Array(8);
  const dv = new DataView(h.buffer);
  dv.setUint16(0, payloadType);
  dv.setUint32(4, length);
  return h;
}

describe("FrameParser with a shared budget", () => {
  it("reserves held bytes beyond the allowance and gives them back as frames complete", () => {
    const budget = new ByteBudget(1000);
    const p = new FrameParser({ budget, budgetAllowance: 100 });
    p.push(header(2, 600));
    p.push(new Uint8Array(300));
    expect(p.next()).toBeUndefined();
    // 8 header bytes were taken; 300 held, 200 over the allowance
    expect(p.reservedBytes).toBe(200);
    expect(budget.used).toBe(200);
    p.push(new Uint8Array(300));
    const f = p.next();
    expect(f?.body.length).toBe(600);
    expect(p.reservedBytes).toBe(0);
    expect(budget.used).toBe(0);
  });

  it("closes with OVER_BUDGET when the pool is exhausted by other parsers; small frames of a third still pass", () => {
    const budget = new ByteBudget(1000);
    const a = new FrameParser({ budget, budgetAllowance: 64 });
    const b = new FrameParser({ budget, budgetAllowance: 64 });
    a.push(concatBytes(header(2, 5000), new Uint8Array(900)));
    expect(budget.used).toBe(908 - 64);
    expect(() => b.push(concatBytes(header(2, 5000), new Uint8Array(900)))).toThrow(expect.objectContaining({ code: "OVER_BUDGET" }));
    expect(b.closed).toBe(true);
    expect(budget.used).toBe(844);
    // within its allowance a parser never touches the pool
    const c = new FrameParser({ budget, budgetAllowance: 64 });
    c.push(concatBytes(header(2, 40), new Uint8Array(40)));
    expect(c.next()?.body.length).toBe(40);
    a.reset();
    expect(budget.used).toBe(0);
  });

  it("never leaks or overdraws the budget, whatever the chunking", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 3000 }), { minLength: 1, maxLength: 8 }),
        fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 0, max: 5000 }),
        (lengths, cuts, limit) => {
          const stream = concatBytes(...lengths.flatMap((n) => [header(2, n), new Uint8Array(n).fill(1)]));
          const budget = new ByteBudget(limit);
          const p = new FrameParser({ budget, budgetAllowance: 128 });
          let off = 0;
          let i = 0;
          try {
            while (off < stream.length) {
              const n = cuts[i++ % cuts.length]!;
              p.push(stream.subarray(off, off + n));
              off += n;
              while (p.next() !== undefined);
              if (budget.used > limit || budget.used !== p.reservedBytes) return false;
              if (p.reservedBytes > Math.max(0, p.bufferedBytes - 128)) return false;
            }
          } catch (e) {
            if (!(e instanceof WireError) || e.code !== "OVER_BUDGET") throw e;
            return budget.used === 0 && p.closed;
          }
          return budget.used === 0;
        },
      ),
    );
  });
});

describe("MessageParser admission hook", () => {
  it("refuses a frame before decoding it and keeps the stream in sync", () => {
    const small: WireMessage = { command: 27, query_id: new Uint8Array([1, 0]) };
    const big: WireMessage = { command: 23, message: new Uint8Array(5000) };
    let decoded = 0;
    const p = new MessageParser({
      admit: (f) => {
        const cmd = peekCommand(f.payloadType, f.body);
        if (f.body.length > 1000 && cmd !== 66) return new WireError("REFUSED", `command ${cmd} frame of ${f.body.length} bytes`);
        decoded++;
        return undefined;
      },
    });
    const out = [...p.feed(concatBytes(encodeMessage(2, small), encodeMessage(2, big), encodeMessage(2, { ...big, command: 66 }), encodeMessage(2, small)))];
    expect(out.map((m) => (m.ok ? m.message.command : m.error.code))).toEqual([27, "REFUSED", 66, 27]);
    expect(decoded).toBe(3);
  });
});

describe("peekCommand", () => {
  it("finds the command of msgpack and TLV payloads wherever the client put it among scalar keys", () => {
    const domain = new Uint8Array(32).fill(3);
    for (const cmd of [0, 27, 66, 71, 127, 128, 255, 256, 70000, -1, -200]) {
      const msgs: WireMessage[] = [
        { command: cmd, domain_id: domain, transaction_data: new Uint8Array(100) },
        { domain_id: domain, status: 0, command: cmd },
        { query_id: new Uint8Array(2), nonce: 5, all_asset_files: new Map([[new Uint8Array(32), new Uint8Array(9)]]), command: cmd },
      ];
      for (const m of msgs) expect(peekCommand(2, encodePayload(2, m))).toBe(cmd);
      if (cmd >= 0) expect(peekCommand(0, encodePayload(0, { domain_id: domain, command: cmd }))).toBe(cmd);
    }
  });

  it("gives up (undefined) on encrypted payloads, missing or non-integer commands, and long scans", () => {
    expect(peekCommand(3, new Uint8Array([1, 2, 3, 4, 0x81]))).toBeUndefined();
    expect(peekCommand(2, encodePayload(2, { domain_id: null }))).toBeUndefined();
    expect(peekCommand(2, encodePayload(2, { command: new Uint8Array([1]) }))).toBeUndefined();
    const list = Array.from({ length: 100 }, (_, i) => i);
    expect(peekCommand(2, encodePayload(2, { message: list, command: 66 }))).toBeUndefined();
    expect(peekCommand(2, encodePayload(2, { message: list.slice(0, 10), command: 66 }))).toBe(66);
  });

  it("never throws on arbitrary or truncated bytes, and agrees with the decoder when it answers", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.integer({ min: 0, max: 3 }), (bytes, pt) => {
        const r = peekCommand(pt, bytes);
        return r === undefined || Number.isSafeInteger(r);
      }),
      { numRuns: 5000 },
    );
    fc.assert(
      fc.property(fc.integer({ min: -(2 ** 31), max: 2 ** 32 - 1 }), fc.uint8Array({ maxLength: 40 }), fc.nat(60), (cmd, blob, cut) => {
        const body = encodePayload(2, { domain_id: blob, command: cmd, message: blob });
        if (peekCommand(2, body) !== cmd) return false;
        const r = peekCommand(2, body.subarray(0, cut));
        return r === undefined || r === cmd;
      }),
    );
  });
});

describe("peekEnvelope", () => {
  it("reads command, query_id, domain_id and source_user_id of msgpack and TLV requests as bbc_app builds them", () => {
    fc.assert(
      fc.property(
        fc.nat(200),
        fc.uint8Array({ minLength: 2, maxLength: 2 }),
        fc.option(fc.uint8Array({ minLength: 32, maxLength: 32 }), { nil: null }),
        fc.option(fc.uint8Array({ minLength: 0, maxLength: 40 }), { nil: null }),
        fc.uint8Array({ maxLength: 300 }),
        (command, q, domain, user, big) => {
          const m: WireMessage = { command, domain_id: domain, source_user_id: user, status: 0, query_id: q, transaction_data: big };
          const e = peekEnvelope(2, encodePayload(2, m));
          if (e.command !== command || !same(e.query_id, q) || !same(e.domain_id, domain) || !same(e.source_user_id, user)) return false;
          if (domain === null || user === null) return true;
          const t = peekEnvelope(0, encodePayload(0, { command, domain_id: domain, source_user_id: user, query_id: q, transaction_data: big }));
          return t.command === command && same(t.query_id, q) && same(t.domain_id, domain) && same(t.source_user_id, user);
        },
      ),
    );
  });
  it("leaves out byte values longer than 64 bytes", () => {
    const e = peekEnvelope(2, encodePayload(2, { command: 64, domain_id: new Uint8Array(32), source_user_id: new Uint8Array(1000), query_id: new Uint8Array(2) }));
    expect(e.command).toBe(64);
    expect(e.source_user_id).toBeUndefined();
    expect(e.domain_id?.length).toBe(32);
  });
});

function same(a: Uint8Array | null | undefined, b: Uint8Array | null): boolean {
  if (a === undefined) return false;
  if (a === null || b === null) return a === b;
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
