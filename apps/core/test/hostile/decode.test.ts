/**
 * Hostile clients, decoding (issue 8, classes 2 and 3) against a real bbc1-core process: payloads
 * that grow a hundredfold on the heap when decoded, and a compression bomb.
 */
import { deflateSync } from "node:zlib";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { getNewId } from "@bbc1/bbclib";
import { KeyType, MsgType, encodeMessage } from "@bbc1/wire";
import { Legit, Raw, SUITE_LIMITS, passed, peakGrowth, blob, during, ensureEntry, request, startCore, stat, until, type Core } from "./harness.js";

const MiB = 1024 * 1024;
let core: Core | undefined;
let legit: Legit | undefined;

beforeAll(async () => {
  await ensureEntry();
}, 120_000);

afterEach(async () => {
  await legit?.close().catch(() => undefined);
  await core?.stop();
  legit = undefined;
  core = undefined;
});

/** msgpack array32 header. */
function array32(n: number): Uint8Array {
  return new Uint8Array([0xdd, n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]);
}

/** A frame whose payload map is `entries` (already msgpack-encoded key/value pairs). */
function rawFrame(entries: Uint8Array[]): Uint8Array {
  const body = Buffer.concat([Buffer.from([0x80 | entries.length]), ...entries]);
  return Buffer.concat([Buffer.from(encodeMessage(2, {}).subarray(0, 4)), Buffer.from([body.length >>> 24, (body.length >>> 16) & 0xff, (body.length >>> 8) & 0xff, body.length & 0xff]), body]);
}

/** One msgpack key/value pair: 4-byte key (raw) and an encoded value. */
function kv(keyCode: number, value: Uint8Array): Uint8Array {
  return Buffer.concat([Buffer.from([0xa4, keyCode >>> 24, (keyCode >>> 16) & 0xff, (keyCode >>> 8) & 0xff, keyCode & 0xff]), value]);
}

async function setup(): Promise<{ core: Core; legit: Legit; base: number }> {
  core = await startCore({ config: { limits: SUITE_LIMITS } });
  legit = await Legit.connect(core, getNewId("hostile decode " + Math.random()));
  await legit.insert(blob(30_000, 11));
  await legit.roundTrip();
  core.resetPeak();
  return { core, legit, base: core.rss() };
}

describe("hostile clients: decoding", () => {
  it("class 2: payloads of small elements (a 24 MiB list, a 16 MiB map, a msgpack transaction of 8 MiB of them) are refused without blowing up the heap", async () => {
    const { core, legit, base } = await setup();
    const a = await Raw.open(core.port);
    const user = getNewId("amplifier");
    a.send(request(MsgType.REGISTER, legit.domainId, user));
    const base4 = (cmd: number, q?: Uint8Array) => [kv(KeyType.command, new Uint8Array([cmd])), kv(KeyType.domain_id, Buffer.concat([Buffer.from([0xc4, 32]), Buffer.from(legit.domainId)])), kv(KeyType.source_user_id, Buffer.concat([Buffer.from([0xc4, 32]), Buffer.from(user)])), ...(q ? [kv(KeyType.query_id, Buffer.concat([Buffer.from([0xa2]), Buffer.from(q)]))] : [])];
    const n = 24 * MiB;
    // MESSAGE { message: [ "", "", ... ] }: every byte a Uint8Array of ~100 heap bytes
    const list = Buffer.concat([array32(n), Buffer.alloc(n, 0xa0)]);
    // MESSAGE { message: { "": nil, ... } } as a map32
    const m = 8 * MiB;
    const map = Buffer.concat([Buffer.from([0xdf, m >>> 24, (m >>> 16) & 0xff, (m >>> 8) & 0xff, m & 0xff]), Buffer.alloc(2 * m, 0)]);
    for (let i = 0; i < 2 * m; i += 2) {
      map[5 + i] = 0xa0;
      map[5 + i + 1] = 0xc0;
    }
    // REQUEST_INSERT whose transaction_data is a msgpack-format transaction (04 00) of 8 MiB empty strings
    const tx = Buffer.concat([Buffer.from([0x04, 0x00]), array32(8 * MiB), Buffer.alloc(8 * MiB, 0xa0)]);
    const q = a.queryId();
    const txValue = Buffer.concat([Buffer.from([0xc6, tx.length >>> 24, (tx.length >>> 16) & 0xff, (tx.length >>> 8) & 0xff, tx.length & 0xff]), tx]);
    const attack = (async () => {
      a.write(rawFrame([...base4(MsgType.MESSAGE), kv(KeyType.destination_user_id, Buffer.concat([Buffer.from([0xc4, 32]), Buffer.from(getNewId("d"))])), kv(KeyType.message, list)]));
      await a.drained();
      a.write(rawFrame([...base4(MsgType.MESSAGE), kv(KeyType.destination_user_id, Buffer.concat([Buffer.from([0xc4, 32]), Buffer.from(getNewId("d"))])), kv(KeyType.message, map)]));
      await a.drained();
      a.write(rawFrame([...base4(MsgType.REQUEST_INSERT, q), kv(KeyType.transaction_data, txValue), kv(KeyType.all_asset_files, new Uint8Array([0x80]))]));
      await a.drained();
      await until(() => a.received.some((r) => r.command === MsgType.RESPONSE_INSERT), 30_000, "the insert answered");
    })();
    const run = await during(attack, () => legit.roundTrip());
    const growth = peakGrowth(core, base, "class 2");
    passed(run);
    expect(growth, `peak RSS growth ${growth.toFixed(0)} MiB`).toBeLessThan(250);
    expect(a.received.find((r) => r.command === MsgType.RESPONSE_INSERT)!.status).toBe(-1);
    const s = await legit.stats();
    expect(stat(s, "limits", "decode_budget")).toBeGreaterThanOrEqual(2);
    a.destroy();
    await until(async () => stat(await legit.stats(), "client", "total_num") === 1, 10_000, "attacker gone");
    await legit.verifyStored();
  });

  it("class 3: a 65 KB zlib-compressed transaction (BBcFormat 6) inflating to 60 MiB of msgpack is refused cheaply", async () => {
    const { core, legit, base } = await setup();
    const a = await Raw.open(core.port);
    const user = getNewId("bomber");
    a.send(request(MsgType.REGISTER, legit.domainId, user));
    const inner = Buffer.concat([array32(60 * MiB), Buffer.alloc(60 * MiB, 0xa0)]);
    const bomb = Buffer.concat([Buffer.from([0x06, 0x00]), deflateSync(inner, { level: 9 })]);
    expect(bomb.length).toBeLessThan(100_000);
    const answers = () => a.received.filter((r) => r.command === MsgType.RESPONSE_INSERT).length;
    const attack = (async () => {
      for (let i = 0; i < 3; i++) a.send(request(MsgType.REQUEST_INSERT, legit.domainId, user, { transaction_data: bomb, all_asset_files: new Map() }, a.queryId()));
      await until(() => answers() === 3, 30_000, "the bombs answered");
    })();
    const run = await during(attack, () => legit.roundTrip());
    const growth = peakGrowth(core, base, "class 3");
    passed(run);
    for (const r of a.received.filter((x) => x.command === MsgType.RESPONSE_INSERT)) expect(r.status).toBe(-1);
    expect(growth, `peak RSS growth ${growth.toFixed(0)} MiB`).toBeLessThan(150);
    expect(core.alive()).toBe(true);
    const s = await legit.stats();
    expect(stat(s, "transaction", "invalid")).toBeGreaterThanOrEqual(3);
    a.destroy();
    await legit.verifyStored();
  });
});
