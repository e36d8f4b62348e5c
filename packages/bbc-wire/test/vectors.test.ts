/**
 * Data-driven tests over every wire-*.json / *transcript*.json vector file in test/fixtures.
 * Cases are recognised by their structure, never by name, so files that gain cases (or new
 * files) are tested without code changes.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  KeyRegistry,
  KeyType,
  KEY_TYPE_NAMES,
  MessageParser,
  decodeFrame,
  encodeMessage,
  keyTypeBytes,
  keyTypeName,
  splitFrame,
  type WireMessage,
  type WirePayloadType,
} from "../src/index.js";
import { FIXTURES, bytesToHex, hexToBytes, loadWireVectorFiles, messageFromTagged } from "./helpers.js";

type Case = Record<string, unknown>;

const files = loadWireVectorFiles();

// The shared vectors live beside the repository (../shared/vectors from its root).
const SHARED_VECTORS = join(FIXTURES, "..", "..", "..", "..", "..", "shared", "vectors");

// Only in a checkout that sits beside shared/ (a development tree): a CI clone elsewhere has
// just the committed copies, which the tests below check.
if (existsSync(SHARED_VECTORS)) describe("fixtures are current copies of shared/vectors", () => {
  const shared = existsSync(SHARED_VECTORS)
    ? readdirSync(SHARED_VECTORS).filter((f) => /^wire-.*\.json$/.test(f) || /transcript.*\.json$/i.test(f))
    : [];
  it("wire-messages.json is among them", () => expect(shared).toContain("wire-messages.json"));
  it.each(shared)("%s is copied unchanged into test/fixtures", (f) => {
    expect(existsSync(join(FIXTURES, f))).toBe(true);
    expect(readFileSync(join(FIXTURES, f), "utf8")).toBe(readFileSync(join(SHARED_VECTORS, f), "utf8"));
  });
});

function isFrameCase(c: Case): boolean {
  return typeof c.frame === "string" && (typeof c.message === "object" || typeof c.decoded === "object");
}
function isEncryptedStream(c: Case): boolean {
  return typeof c.key === "string" && typeof c.nonce === "string" && Array.isArray(c.frames);
}
function isParserSplit(c: Case): boolean {
  return typeof c.stream === "string" && Array.isArray(c.cuts);
}

/** Frame-shaped objects anywhere inside `v` (for transcript-like files). */
function collectFrames(v: unknown, out: Case[] = []): Case[] {
  if (Array.isArray(v)) for (const x of v) collectFrames(x, out);
  else if (v !== null && typeof v === "object") {
    const c = v as Case;
    if (isFrameCase(c)) out.push(c);
    else for (const x of Object.values(c)) collectFrames(x, out);
  }
  return out;
}

function checkPlainFrame(c: Case): void {
  const frame = hexToBytes(c.frame as string);
  const split = splitFrame(frame);
  const payloadType = (typeof c.payload_type === "number" ? c.payload_type : split.payloadType) as WirePayloadType;
  expect(split.payloadType).toBe(payloadType);
  const expected = messageFromTagged((c.decoded ?? c.message) as Record<string, unknown>);
  const decoded = decodeFrame(frame);
  expect(decoded.message).toEqual(expected);
  // key order is part of the encoding
  expect(Object.keys(decoded.message)).toEqual(Object.keys(expected));
  if (c.message !== undefined) {
    const out = encodeMessage(payloadType, messageFromTagged(c.message as Record<string, unknown>), {
      payloadVersion: split.formatVersion,
    });
    expect(bytesToHex(out)).toBe(c.frame);
  }
  // and the decoded form re-encodes to the same bytes as well
  expect(bytesToHex(encodeMessage(payloadType, decoded.message, { payloadVersion: split.formatVersion }))).toBe(c.frame);
}

describe.each(files.map((f) => [f.file, f] as const))("vector file %s", (_name, f) => {
  it("has cases", () => {
    expect(Array.isArray(f.data.cases)).toBe(true);
    expect(f.data.cases.length).toBeGreaterThan(0);
  });

  if (f.data.keytype !== undefined) {
    const table = f.data.keytype;
    it("keytype table matches KeyType exactly (every name, both directions)", () => {
      expect(Object.keys(table).sort()).toEqual([...KEY_TYPE_NAMES].sort());
      for (const [name, hex] of Object.entries(table)) {
        expect(bytesToHex(keyTypeBytes(name)!)).toBe(hex);
        expect(KeyType[name as keyof typeof KeyType]).toBe(parseInt(hex, 16));
        expect(keyTypeName(hexToBytes(hex))).toBe(name);
      }
    });
  }

  const cases = f.data.cases.map((c, i) => [String(c.name ?? `#${i}`), c] as const);

  describe.each(cases)("case %s", (_caseName, c) => {
    if (isEncryptedStream(c)) {
      const key = hexToBytes(c.key as string);
      const nonce = hexToBytes(c.nonce as string);
      const keyName = hexToBytes(c.key_name as string);
      const hint = hexToBytes(c.hint as string);
      const frames = c.frames as Case[];

      it("encodes every message, in order, to the recorded frame (keystream continues)", () => {
        const sender = new KeyRegistry();
        sender.setCipher(keyName, key, nonce, hint);
        for (const fr of frames) {
          const out = encodeMessage(3, messageFromTagged(fr.message as Record<string, unknown>), { registry: sender, keyName });
          expect(bytesToHex(out)).toBe(fr.frame);
        }
      });

      it("decodes every frame, in order, to the recorded message", () => {
        const receiver = new KeyRegistry();
        // the receiver's own key name is the hint the frames start with
        receiver.setCipher(hint, key, nonce, keyName);
        for (const fr of frames) {
          const frame = hexToBytes(fr.frame as string);
          expect(bytesToHex(frame.subarray(8, 12))).toBe(c.hint);
          const d = decodeFrame(frame, { registry: receiver });
          expect(d.payloadType).toBe(3);
          expect(d.message).toEqual(messageFromTagged((fr.decoded ?? fr.message) as Record<string, unknown>));
        }
      });

      it("decodes the concatenated frames through a MessageParser fed 1..7-byte chunks", () => {
        const receiver = new KeyRegistry();
        receiver.setCipher(hint, key, nonce, keyName);
        const stream = hexToBytes(frames.map((fr) => fr.frame as string).join(""));
        const parser = new MessageParser({ registry: receiver });
        const got: WireMessage[] = [];
        for (let i = 0, step = 1; i < stream.length; i += step, step = (step % 7) + 1) {
          for (const m of parser.feed(stream.subarray(i, i + step))) {
            expect(m.ok).toBe(true);
            if (m.ok) got.push(m.message);
          }
        }
        parser.end();
        expect(got).toEqual(frames.map((fr) => messageFromTagged((fr.decoded ?? fr.message) as Record<string, unknown>)));
      });

      it("a frame decoded out of order fails with DECRYPTION_FAILED or a wrong message, never an untyped error", () => {
        if (frames.length < 2) return;
        const receiver = new KeyRegistry();
        receiver.setCipher(hint, key, nonce, keyName);
        const second = hexToBytes(frames[1]!.frame as string);
        try {
          const d = decodeFrame(second, { registry: receiver });
          expect(d.message).not.toEqual(messageFromTagged(frames[1]!.message as Record<string, unknown>));
        } catch (e) {
          expect((e as { code?: string }).code).toBe("DECRYPTION_FAILED");
          // position restored: the frames in order still decode
          for (const fr of frames) decodeFrame(hexToBytes(fr.frame as string), { registry: receiver });
        }
      });
    } else if (isParserSplit(c)) {
      const stream = hexToBytes(c.stream as string);
      const cuts = c.cuts as number[];
      const count = c.count as number;

      const expectedMessages = (): WireMessage[] => {
        // split by headers independently of the parser under test
        const out: WireMessage[] = [];
        let p = 0;
        while (p < stream.length) {
          const len = new DataView(stream.buffer, stream.byteOffset + p + 4, 4).getUint32(0);
          if (len > 0) out.push(decodeFrame(stream.subarray(p, p + 8 + len)).message);
          p += 8 + len;
        }
        return out;
      };

      const run = (chunks: Uint8Array[]): WireMessage[] => {
        const parser = new MessageParser();
        const out: WireMessage[] = [];
        for (const ch of chunks) {
          for (const m of parser.feed(ch)) {
            if (!m.ok) throw m.error;
            out.push(m.message);
          }
        }
        parser.end();
        return out;
      };

      it(`yields ${count} messages when fed in chunks cut at the recorded offsets`, () => {
        const bounds = [0, ...cuts, stream.length];
        const chunks = bounds.slice(1).map((end, i) => stream.subarray(bounds[i]!, end));
        const got = run(chunks);
        expect(got.length).toBe(count);
        expect(got).toEqual(expectedMessages());
      });

      it("yields the same messages fed one byte at a time and in one chunk", () => {
        const one = run([stream]);
        expect(one.length).toBe(count);
        const bytes = run(Array.from(stream, (_b, i) => stream.subarray(i, i + 1)));
        expect(bytes).toEqual(one);
      });
    } else if (isFrameCase(c)) {
      if (typeof c.payload_type === "number" && c.payload_type === 3) {
        it.skip("encrypted frame without key material in the case", () => {});
      } else {
        it("decodes to the recorded message and re-encodes to the recorded bytes", () => checkPlainFrame(c));
      }
    } else {
      const nested = collectFrames(c).filter((x) => splitFrame(hexToBytes(x.frame as string)).payloadType !== 3);
      it("is a recognised case structure (or contains frames)", () => {
        expect(nested.length).toBeGreaterThan(0);
      });
      it.each(nested.map((x, i) => [i, x] as const))("nested frame %i", (_i, x) => checkPlainFrame(x));
    }
  });
});
