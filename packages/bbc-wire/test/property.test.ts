/**
 * Property tests (fast-check): random and mutated frames give either a decoded message that
 * re-encodes identically (or, for msgpack input that is not in the reference's canonical
 * encoding, re-encodes to a stable canonical frame of the same message) or a WireError. Never
 * another exception, never a hang. RUNS (default 10,000) runs per decoder.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { msgpackDecode, msgpackEncode } from "@bbc1/bbclib";
import {
  AesCtrStream,
  KEY_TYPE_NAMES,
  KeyRegistry,
  MessageParser,
  WireError,
  decodeFrame,
  decodePayload,
  encodeMessage,
  splitFrame,
  type WireMessage,
  type WirePayloadType,
  type WireValue,
} from "../src/index.js";
import { concatBytes, hexToBytes, loadWireVectorFiles } from "./helpers.js";

const RUNS = Number(process.env.WIRE_PROPERTY_RUNS ?? 10_000);
const TIMEOUT = 120_000;

// ---- seeds from the vectors ------------------------------------------------------------
type Case = Record<string, unknown>;
const plainFrames: Uint8Array[] = [];
let encrypted: { key: Uint8Array; nonce: Uint8Array; keyName: Uint8Array; hint: Uint8Array; frames: Uint8Array[] } | undefined;
for (const f of loadWireVectorFiles()) {
  for (const c of f.data.cases as Case[]) {
    if (typeof c.frame === "string" && c.payload_type !== 3) plainFrames.push(hexToBytes(c.frame));
    if (typeof c.key === "string" && Array.isArray(c.frames) && encrypted === undefined) {
      encrypted = {
        key: hexToBytes(c.key),
        nonce: hexToBytes(c.nonce as string),
        keyName: hexToBytes(c.key_name as string),
        hint: hexToBytes(c.hint as string),
        frames: (c.frames as Case[]).map((x) => hexToBytes(x.frame as string)),
      };
    }
  }
}
const tlvFrames = plainFrames.filter((f) => f[1] === 0);
const msgpackFrames = plainFrames.filter((f) => f[1] === 2);

// ---- arbitraries -----------------------------------------------------------------------
type Mutation =
  | { kind: "set"; at: number; byte: number }
  | { kind: "insert"; at: number; bytes: Uint8Array }
  | { kind: "delete"; at: number; n: number }
  | { kind: "truncate"; at: number }
  | { kind: "length"; delta: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant("set" as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("delete" as const), at: fc.nat(), n: fc.integer({ min: 1, max: 8 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("length" as const), delta: fc.integer({ min: -16, max: 16 }) }) },
);

function mutate(frame: Uint8Array, ms: Mutation[], headerSafe = false): Uint8Array {
  let b: Uint8Array = frame.slice();
  const lo = headerSafe ? 8 : 0;
  for (const m of ms) {
    const span = Math.max(1, b.length - lo);
    const at = lo + (("at" in m ? m.at : 0) % span);
    switch (m.kind) {
      case "set":
        if (at < b.length) b[at] = m.byte;
        break;
      case "insert":
        b = concatBytes(b.subarray(0, at), m.bytes, b.subarray(at));
        break;
      case "delete":
        b = concatBytes(b.subarray(0, at), b.subarray(at + m.n));
        break;
      case "truncate":
        b = b.slice(0, at);
        break;
      case "length":
        if (b.length >= 8 && !headerSafe) {
          const dv = new DataView(b.buffer, b.byteOffset);
          dv.setUint32(4, (dv.getUint32(4) + m.delta) >>> 0);
        }
        break;
    }
  }
  return b;
}

const bytesArb = fc.uint8Array({ maxLength: 40 });
const tlvValue: fc.Arbitrary<WireValue> = fc.letrec<{ v: WireValue }>((tie) => ({
  v: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    bytesArb,
    fc.boolean(),
    fc.nat(),
    fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map((x) => (x <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(x) : x)),
    fc.array(tie("v"), { maxLength: 4 }),
  ),
})).v;
const mpValue: fc.Arbitrary<WireValue> = fc.letrec<{ v: WireValue }>((tie) => ({
  v: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    bytesArb,
    fc.boolean(),
    fc.constant(null),
    fc.integer(),
    fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n - 1n }).map((x) =>
      x <= BigInt(Number.MAX_SAFE_INTEGER) && x >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(x) : x,
    ),
    fc.array(tie("v"), { maxLength: 4 }),
    fc.array(fc.tuple(bytesArb, tie("v")), { maxLength: 3 }).map((es) => new Map<WireValue, WireValue>(es)),
  ),
})).v;
const keyName = fc.constantFrom(...KEY_TYPE_NAMES);
const messageOf = (v: fc.Arbitrary<WireValue>) =>
  fc.uniqueArray(fc.tuple(keyName, v), { maxLength: 8, selector: (e) => e[0] }).map((es) => Object.fromEntries(es) as WireMessage);

const randomFrame = fc
  .record({
    type: fc.oneof(fc.constantFrom(0, 2, 3), fc.integer({ min: 0, max: 0xffff })),
    version: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff })),
    body: fc.uint8Array({ maxLength: 64 }),
    lengthDelta: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: -4, max: 4 }) }),
  })
  .map(({ type, version, body, lengthDelta }) => {
    const out = new Uint8Array(8 + body.length);
    const dv = new DataView(out.buffer);
    dv.setUint16(0, type);
    dv.setUint16(2, version);
    dv.setUint32(4, Math.max(0, body.length + lengthDelta));
    out.set(body, 8);
    return out;
  });

// ---- checks ----------------------------------------------------------------------------
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Values compared after the msgpack round trip: -0 comes back as 0 (no float type for it). */
function norm(v: unknown): unknown {
  if (typeof v === "number" && Object.is(v, -0)) return 0;
  if (Array.isArray(v)) return v.map(norm);
  if (v instanceof Map) return new Map([...v].map(([k, x]) => [norm(k), norm(x)]));
  if (v !== null && typeof v === "object" && !(v instanceof Uint8Array)) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, norm(x)]));
  }
  return v;
}

/** True when bbclib's msgpack codec re-encodes `body` to itself (the reference's canonical form). */
function canonicalMsgpack(body: Uint8Array): boolean {
  try {
    return sameBytes(msgpackEncode(msgpackDecode(body, { maps: "map" })), body);
  } catch {
    return false;
  }
}

function expectWireError(e: unknown): void {
  if (!(e instanceof WireError)) throw new Error(`untyped error: ${String(e)}`, { cause: e });
  expect(typeof e.code).toBe("string");
}

/** decodeFrame(x) is a WireError, or re-encodes as promised. */
function checkFrame(x: Uint8Array): void {
  let d;
  try {
    d = decodeFrame(x);
  } catch (e) {
    expectWireError(e);
    return;
  }
  const pt = d.payloadType as WirePayloadType;
  const re = encodeMessage(pt, d.message, { payloadVersion: d.formatVersion });
  if (pt === 0 || canonicalMsgpack(d.body)) {
    expect(sameBytes(re, x)).toBe(true);
  } else {
    const d2 = decodeFrame(re);
    expect(norm(d2.message)).toEqual(norm(d.message));
    expect(sameBytes(encodeMessage(pt, d2.message, { payloadVersion: d.formatVersion }), re)).toBe(true);
  }
}

const opts = { numRuns: RUNS };

describe(`property: every decoder, ${RUNS} runs each`, () => {
  it("decodeFrame on random frames", () => {
    fc.assert(fc.property(randomFrame, checkFrame), opts);
  }, TIMEOUT);

  it("TLV (type 0): mutated vector frames and encoded random messages, mutated", () => {
    const arb = fc.oneof(
      fc.tuple(fc.constantFrom(...tlvFrames), fc.array(mutation, { minLength: 0, maxLength: 4 })).map(([f, ms]) => mutate(f, ms)),
      fc.tuple(messageOf(tlvValue), fc.array(mutation, { maxLength: 3 })).map(([m, ms]) => mutate(encodeMessage(0, m), ms, true)),
    );
    fc.assert(fc.property(arb, checkFrame), opts);
  }, TIMEOUT);

  it("msgpack (type 2): mutated vector frames and encoded random messages, mutated", () => {
    const arb = fc.oneof(
      fc.tuple(fc.constantFrom(...msgpackFrames), fc.array(mutation, { minLength: 0, maxLength: 4 })).map(([f, ms]) => mutate(f, ms)),
      fc.tuple(messageOf(mpValue), fc.array(mutation, { maxLength: 3 })).map(([m, ms]) => mutate(encodeMessage(2, m), ms, true)),
    );
    fc.assert(fc.property(arb, checkFrame), opts);
  }, TIMEOUT);

  it("decodePayload on random bodies of each payload type", () => {
    fc.assert(
      fc.property(fc.constantFrom(0, 2, 3), fc.uint8Array({ maxLength: 48 }), (pt, body) => {
        try {
          const m = decodePayload(pt, body, { registry: new KeyRegistry() });
          expect(pt).not.toBe(3); // no key in the registry
          if (pt === 0) expect(sameBytes(encodeMessage(0, m).subarray(8), body)).toBe(true);
        } catch (e) {
          expectWireError(e);
        }
      }),
      opts,
    );
  }, TIMEOUT);

  it("encrypted msgpack (type 3): mutated first frame and random ciphertexts", () => {
    const enc = encrypted!;
    const first = enc.frames[0]!;
    const arb = fc.oneof(
      fc.tuple(fc.constant(first), fc.array(mutation, { minLength: 1, maxLength: 3 })).map(([f, ms]) => mutate(f, ms)),
      fc.uint8Array({ maxLength: 48 }).map((ct) => frameOf(3, concatBytes(enc.hint, ct))),
    );
    fc.assert(
      fc.property(arb, (x) => {
        const receiver = new KeyRegistry();
        receiver.setCipher(enc.hint, enc.key, enc.nonce, enc.keyName);
        const stream = receiver.get(enc.hint)!.decryptor;
        let d;
        try {
          d = decodeFrame(x, { registry: receiver });
        } catch (e) {
          expectWireError(e);
          if ((e as WireError).code === "DECRYPTION_FAILED") expect(stream.position).toBe(0);
          return;
        }
        expect(d.payloadType).toBe(3);
        const sender = new KeyRegistry();
        sender.setCipher(enc.keyName, enc.key, enc.nonce, enc.hint);
        const re = encodeMessage(3, d.message, { registry: sender, keyName: enc.keyName, payloadVersion: d.formatVersion });
        const plain = new AesCtrStream(enc.key, enc.nonce).update(d.body.subarray(4));
        if (canonicalMsgpack(plain)) expect(sameBytes(re, x)).toBe(true);
        else expect(norm(decodeFrame(re, { registry: fresh(enc) }).message)).toEqual(norm(d.message));
      }),
      opts,
    );
  }, TIMEOUT);

  it("MessageParser: mutated streams in random chunks behave like one-shot splitting", () => {
    const arb = fc.record({
      frames: fc.array(fc.constantFrom(...plainFrames), { minLength: 1, maxLength: 4 }),
      mutations: fc.array(mutation, { maxLength: 3 }),
      cuts: fc.array(fc.nat(), { maxLength: 6 }),
      max: fc.constantFrom(64 * 1024 * 1024, 200, 600),
    });
    fc.assert(
      fc.property(arb, ({ frames, mutations, cuts, max }) => {
        const stream = mutate(concatBytes(...frames), mutations);
        const expected = oneShot(stream, max);
        const bounds = [0, ...[...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b), stream.length];
        const p = new MessageParser({ maxMessageSize: max });
        const got: string[] = [];
        let fatal: string | undefined;
        try {
          for (let i = 1; i < bounds.length; i++) {
            for (const m of p.feed(stream.subarray(bounds[i - 1]!, bounds[i]!))) {
              got.push(m.ok ? JSON.stringify(norm(m.message), replacer) : `error:${m.error.code}`);
              if (m.ok) checkReencode(m.payloadType as WirePayloadType, m.message, m.formatVersion);
            }
          }
          p.end();
        } catch (e) {
          expectWireError(e);
          fatal = (e as WireError).code;
        }
        expect(got).toEqual(expected.items);
        expect(fatal).toBe(expected.fatal);
      }),
      opts,
    );
  }, TIMEOUT);
});

/** A frame with the given payload type, version 0 and `body`. */
function frameOf(payloadType: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + body.length);
  const dv = new DataView(out.buffer);
  dv.setUint16(0, payloadType);
  dv.setUint32(4, body.length);
  out.set(body, 8);
  return out;
}

/** A receiver registry holding the vector's key, its decryptor at position 0. */
function fresh(enc: NonNullable<typeof encrypted>): KeyRegistry {
  const r = new KeyRegistry();
  r.setCipher(enc.hint, enc.key, enc.nonce, enc.keyName);
  return r;
}

function replacer(_k: string, v: unknown): unknown {
  if (typeof v === "bigint") return `${v}n`;
  if (v instanceof Uint8Array) return `0x${Buffer.from(v).toString("hex")}`;
  if (v instanceof Map) return [...v];
  return v;
}

function checkReencode(pt: WirePayloadType, m: WireMessage, version: number): void {
  const re = encodeMessage(pt, m, { payloadVersion: version });
  expect(norm(decodeFrame(re).message)).toEqual(norm(m));
}

/** Reference splitting of a whole stream with splitFrame/decodePayload, no parser involved. */
function oneShot(stream: Uint8Array, max: number): { items: string[]; fatal: string | undefined } {
  const items: string[] = [];
  let p = 0;
  while (p < stream.length) {
    if (stream.length - p < 8) return { items, fatal: "TRUNCATED_HEADER" };
    const dv = new DataView(stream.buffer, stream.byteOffset + p);
    const type = dv.getUint16(0);
    const len = dv.getUint32(4);
    if (type !== 0 && type !== 2 && type !== 3) return { items, fatal: "UNKNOWN_PAYLOAD_TYPE" };
    if (len > max) return { items, fatal: "TOO_LARGE" };
    if (stream.length - p - 8 < len) return { items, fatal: "TRUNCATED" };
    const f = splitFrame(stream.subarray(p, p + 8 + len), { maxMessageSize: max });
    if (len > 0) {
      try {
        items.push(JSON.stringify(norm(decodePayload(f.payloadType, f.body, { maxMessageSize: max })), replacer));
      } catch (e) {
        expectWireError(e);
        items.push(`error:${(e as WireError).code}`);
      }
    }
    p += 8 + len;
  }
  return { items, fatal: undefined };
}
