/**
 * The encrypted frames of p2p-frames.json, per key and direction, fed to one StreamDecryptor in
 * orders a reference peer can produce (TCP overtaken by UDP, §18.1; lost datagrams): reversed,
 * and with every other frame missing. Each frame must decrypt to its `decoded` map.
 */
import { describe, expect, it } from "vitest";
import { fromHex } from "@bbc1/bbclib";
import { KeyRegistry, splitFrame } from "@bbc1/wire";
import { StreamDecryptor } from "../src/index.js";
import { loadFrames, tagMessage, type FrameCase } from "./helpers.js";

const streams = new Map<string, FrameCase[]>();
for (const c of loadFrames().cases) {
  if (c.payload_type !== 3) continue;
  const e = c.encryption!;
  const k = `${e.key}/${e.key_name}`;
  streams.set(k, [...(streams.get(k) ?? []), c]);
}
const multi = [...streams.entries()].filter(([, cs]) => cs.length > 1).map(([k, cs]) => [k.slice(0, 12), cs.sort((a, b) => a.encryption!.keystream_offset - b.encryption!.keystream_offset)] as const);

function decryptAll(order: FrameCase[]): void {
  const e = order[0]!.encryption!;
  const reg = new KeyRegistry();
  reg.setCipher(fromHex(e.key_name), fromHex(e.key), fromHex(e.initial_counter), fromHex(e.sender_key_name));
  const max = Math.max(...order.map((c) => c.encryption!.keystream_offset)) + 4096;
  let t = 0;
  const dec = new StreamDecryptor(reg, max, () => (t += 1000)); // a second passes between frames: scans refill
  for (const c of order) {
    const d = dec.decrypt(splitFrame(fromHex(c.frame)).body, 1 << 26);
    expect(d.offset).toBe(c.encryption!.keystream_offset);
    expect(tagMessage(d.message)).toEqual(Object.entries(c.decoded));
  }
}

describe("re-synchronisation on captured streams", () => {
  it("has streams with several frames", () => {
    expect(multi.length).toBeGreaterThan(0);
  });
  it.each(multi)("stream %s: in order", (_k, cs) => decryptAll([...cs]));
  it.each(multi)("stream %s: reversed (later frames overtake earlier ones)", (_k, cs) => decryptAll([...cs].reverse()));
  it.each(multi)("stream %s: every other frame lost", (_k, cs) => decryptAll(cs.filter((_c, i) => i % 2 === 1)));
});
