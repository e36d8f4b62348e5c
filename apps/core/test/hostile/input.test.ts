/**
 * Hostile clients, input side (issue 8, classes 1, 5 and 11) against a real bbc1-core process:
 * each test checks that a legitimate client is answered during and after the attack, that the
 * node's peak RSS stays bounded, that stored data is unchanged and that the attacker's state is
 * gone once it leaves.
 */
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { getNewId } from "@bbc1/bbclib";
import { MsgType } from "@bbc1/wire";
import { Legit, Raw, SUITE_LIMITS, passed, peakGrowth, blob, during, ensureEntry, header, request, sleep, startCore, stat, until, type Core } from "./harness.js";

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

async function setup(config: object = { limits: SUITE_LIMITS }): Promise<{ core: Core; legit: Legit; base: number }> {
  core = await startCore({ config });
  const domainId = getNewId("hostile input " + Math.random());
  legit = await Legit.connect(core, domainId);
  await legit.insert(blob(100_000, 7));
  await legit.roundTrip();
  core.resetPeak();
  return { core, legit, base: core.rss() };
}

describe("hostile clients: input", () => {
  it("class 1: 20 connections each holding 30 MiB of a declared 64 MiB frame are cut off; RSS stays bounded", async () => {
    const { core, legit, base } = await setup();
    const attackers = await Promise.all(Array.from({ length: 20 }, () => Raw.open(core.port)));
    const chunk = new Uint8Array(MiB);
    const attack = Promise.all(
      attackers.map(async (a) => {
        a.write(header(2, 64 * MiB));
        for (let i = 0; i < 30 && !a.closed; i++) {
          a.write(chunk);
          await a.drained();
        }
      }),
    );
    const run = await during(attack, () => legit.roundTrip());
    const growth = peakGrowth(core, base, "class 1");
    passed(run);
    // the process-wide partial-frame budget or the read timeout closes every one of them
    await until(() => attackers.every((a) => a.closed), 15_000, "every attacker connection closed");
    expect(growth, `peak RSS growth ${growth.toFixed(0)} MiB`).toBeLessThan(200);
    await legit.roundTrip();
    const s = await legit.stats();
    expect(stat(s, "limits", "partial_frames_total") + stat(s, "limits", "read_timeout")).toBeGreaterThan(0);
    expect(stat(s, "client", "total_num")).toBe(1);
    await legit.verifyStored();
  });

  it("class 5: ids of 32 MiB in REGISTER, MESSAGE, notifications and searches are refused before any work", async () => {
    const { core, legit, base } = await setup();
    const a = await Raw.open(core.port);
    const huge = blob(32 * MiB, 3);
    const user = getNewId("attacker");
    const d = legit.domainId;
    const searches: Uint8Array[] = [];
    const attack = (async () => {
      for (let i = 0; i < 4; i++) {
        huge[0] = i;
        a.send(request(MsgType.REGISTER, d, huge));
        await a.drained();
        a.send(request(MsgType.MESSAGE, d, user, { destination_user_id: huge, message: "hi" }));
        await a.drained();
        a.send(request(MsgType.REQUEST_INSERT_NOTIFICATION, d, user, { asset_group_id: huge }));
        await a.drained();
        const q = a.queryId();
        searches.push(q);
        a.send(request(MsgType.REQUEST_SEARCH_TRANSACTION, d, user, { transaction_id: huge }, q));
        await a.drained();
      }
    })();
    const run = await during(attack, () => legit.roundTrip());
    const growth = peakGrowth(core, base, "class 5");
    passed(run);
    // every search with an oversized id is answered with an error status
    await until(() => a.received.filter((m) => m.command === MsgType.RESPONSE_SEARCH_TRANSACTION).length === 4, 10_000, "answers to the searches");
    for (const m of a.received.filter((x) => x.command === MsgType.RESPONSE_SEARCH_TRANSACTION)) expect(m.status).toBe(-1);
    expect(growth, `peak RSS growth ${growth.toFixed(0)} MiB`).toBeLessThan(250);
    const users = await legit.client.getUserList();
    expect(users.length).toBe(1);
    expect((await legit.client.getNotificationList()).length).toBe(0);
    const s = await legit.stats();
    expect(stat(s, "limits", "id_length") + stat(s, "limits", "request_size")).toBeGreaterThanOrEqual(16);
    a.destroy();
    await legit.verifyStored();
  });

  it("class 11: 2,000 idle and 200 slow-loris connections do not lock out a legitimate client", async () => {
    const { core, base } = await setup();
    const idle: Raw[] = [];
    for (let i = 0; i < 20; i++) idle.push(...(await Promise.all(Array.from({ length: 100 }, () => Raw.open(core.port).catch(() => undefined)))).filter((x): x is Raw => x !== undefined));
    const loris = (await Promise.all(Array.from({ length: 200 }, () => Raw.open(core.port).catch(() => undefined)))).filter((x): x is Raw => x !== undefined);
    const frame = new Uint8Array([...header(2, 64), ...new Uint8Array(64)]);
    let stop = false;
    const drip = (async () => {
      for (let i = 0; i < frame.length && !stop; i++) {
        for (const l of loris) l.write(frame.subarray(i, i + 1));
        await sleep(1000);
      }
    })();
    // a fresh legitimate client while the idle ones are still there and more keep coming
    const more = (async () => {
      for (let i = 0; i < 10 && !stop; i++) {
        idle.push(...(await Promise.all(Array.from({ length: 20 }, () => Raw.open(core.port).catch(() => undefined)))).filter((x): x is Raw => x !== undefined));
        await sleep(100);
      }
    })();
    let measured = false;
    const fresh = await Legit.connect(core, getNewId("hostile input 11 " + Math.random())).catch((e: unknown) => {
      peakGrowth(core, base, "class 11");
      throw e;
    });
    try {
      await fresh.roundTrip();
      await fresh.roundTrip();
      // slow-loris connections are closed by the read timeout for unregistered connections
      await until(() => loris.every((l) => l.closed), 15_000, "every slow-loris connection closed");
      stop = true;
      await Promise.all([drip, more]);
      for (const c of idle) c.destroy();
      await until(async () => stat(await fresh.stats(), "client", "total_num") === 2, 10_000, "only the two legitimate connections left");
      const growth = peakGrowth(core, base, "class 11");
      measured = true;
      expect(growth, `peak RSS growth ${growth.toFixed(0)} MiB`).toBeLessThan(200);
      await fresh.roundTrip();
      await legit!.verifyStored();
    } finally {
      if (!measured) peakGrowth(core, base, "class 11");
      stop = true;
      for (const c of [...idle, ...loris]) c.destroy();
      await fresh.close();
    }
  });
});
