/**
 * Hostile clients, per-connection state and CPU (issue 8, classes 6, 7, 8, 12 and 13) against a
 * real bbc1-core process.
 */
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { getNewId } from "@bbc1/bbclib";
import { MsgType, encodeMessage, generateEcdhKeyPair } from "@bbc1/wire";
import { randomBytes } from "node:crypto";
import { Legit, Raw, SUITE_LIMITS, passed, peakGrowth, blob, during, ensureEntry, randomIds, request, sleep, startCore, stat, until, type Core } from "./harness.js";

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

async function setup(): Promise<{ core: Core; legit: Legit; base: number }> {
  core = await startCore({ config: { limits: SUITE_LIMITS } });
  legit = await Legit.connect(core, getNewId("hostile state " + Math.random()));
  await legit.insert(blob(50_000, 5));
  await legit.roundTrip();
  core.resetPeak();
  return { core, legit, base: core.rss() };
}

describe("hostile clients: state and CPU", () => {
  it("class 6: 40,000 subscriptions of unregistered users do not stall inserts into their group", async () => {
    const { core, legit, base } = await setup();
    const attackers = await Promise.all(Array.from({ length: 4 }, () => Raw.open(core.port)));
    await Promise.all(
      attackers.map(async (a) => {
        for (let i = 0; i < 10_000; i++) {
          const u = getNewId(`trap ${i} ${Math.random()}`);
          // every trap user joins the victim's group and one group of its own
          a.send(request(MsgType.REQUEST_INSERT_NOTIFICATION, legit.domainId, u, { asset_group_id: legit.assetGroupId }));
          a.send(request(MsgType.REQUEST_INSERT_NOTIFICATION, legit.domainId, u, { asset_group_id: u }));
          if (i % 500 === 0) await a.drained();
        }
        await a.drained();
      }),
    );
    await sleep(500);
    const run = await during(sleep(1000), () => legit.roundTrip(), 3);
    const growth = peakGrowth(core, base, "class 6");
    console.log(`class 6: slowest round trip ${run.worstMs.toFixed(0)} ms`);
    passed(run);
    for (const a of attackers) a.destroy();
    // the attackers' subscriptions go with their connections
    await until(async () => (await legit.client.getNotificationList()).length === 0, 10_000, "subscriptions removed");
    expect(growth, `peak RSS growth ${growth.toFixed(0)} MiB`).toBeLessThan(150);
    const s = await legit.stats();
    expect(stat(s, "limits", "subscriptions_per_connection")).toBeGreaterThan(0);
    await legit.verifyStored();
  });

  it("class 7: subscriptions do not outlive the connection of their user", async () => {
    const { core, legit, base } = await setup();
    for (let round = 0; round < 5; round++) {
      const conns = await Promise.all(Array.from({ length: 20 }, () => Raw.open(core.port)));
      for (const c of conns) {
        const u = getNewId("leaky " + Math.random());
        c.send(request(MsgType.REGISTER, legit.domainId, u));
        for (const g of randomIds(10)) c.send(request(MsgType.REQUEST_INSERT_NOTIFICATION, legit.domainId, u, { asset_group_id: g }));
      }
      await sleep(200);
      for (const c of conns) c.socket.end();
      await Promise.all(conns.map((c) => c.closedAt));
    }
    await legit.roundTrip();
    await until(async () => (await legit.client.getNotificationList()).length === 0, 10_000, "no subscription left");
    expect((await legit.client.getUserList()).length).toBe(1);
    const growth = peakGrowth(core, base, "class 7");
    expect(growth).toBeLessThan(100);
    await legit.verifyStored();
  });

  it("class 8: undeliverable messages are not held without bound for their bounce", async () => {
    const { core, legit, base } = await setup();
    const a = await Raw.open(core.port);
    const user = getNewId("bouncer");
    a.send(request(MsgType.REGISTER, legit.domainId, user));
    const payload = blob(MiB, 9);
    const attack = (async () => {
      for (let i = 0; i < 600; i++) {
        a.send(request(MsgType.MESSAGE, legit.domainId, user, { destination_user_id: getNewId("nobody " + i), message: payload }));
        await a.drained();
      }
    })();
    const run = await during(attack, () => legit.roundTrip());
    const growth = peakGrowth(core, base, "class 8");
    passed(run);
    await sleep(500);
    expect(growth, `peak RSS growth ${growth.toFixed(0)} MiB`).toBeLessThan(250);
    const s = await legit.stats();
    expect(stat(s, "limits", "bounce_bytes_total") + stat(s, "limits", "bounces_per_connection") + stat(s, "limits", "bounces_total")).toBeGreaterThan(0);
    a.destroy();
    // the pending bounces of the connection go with it
    await until(async () => stat(await legit.stats(), "resources", "pending_bounces") === 0, 10_000, "no pending bounce left");
    await legit.verifyStored();
  });

  it("class 12: a gather with 2.3 MB of destination ids neither blocks the loop nor fans out", async () => {
    const { core, legit, base } = await setup();
    const a = await Raw.open(core.port);
    const user = getNewId("gatherer");
    a.send(request(MsgType.REGISTER, legit.domainId, user));
    const tx = legit.makeTx().serialize();
    const q = a.queryId();
    a.send(request(MsgType.REQUEST_GATHER_SIGNATURE, legit.domainId, user, { transaction_data: tx, destination_user_ids: randomIds(72_000) }, q));
    // the same id 20,000 times plus a few others: de-duplicated, then fanned out
    const q2 = a.queryId();
    const dup = getNewId("dup");
    a.send(request(MsgType.REQUEST_GATHER_SIGNATURE, legit.domainId, user, { transaction_data: tx, destination_user_ids: [...Array<Uint8Array>(20_000).fill(dup), ...randomIds(10)] }, q2));
    // 300 distinct destinations: within the decode budget, over max_gather_destinations
    const q3 = a.queryId();
    a.send(request(MsgType.REQUEST_GATHER_SIGNATURE, legit.domainId, user, { transaction_data: tx, destination_user_ids: randomIds(300) }, q3));
    const run = await during(sleep(1500), () => legit.roundTrip(), 3);
    const growth = peakGrowth(core, base, "class 12");
    passed(run);
    const refused = () => a.received.filter((m) => m.command === MsgType.RESPONSE_GATHER_SIGNATURE && m.status === -1);
    await until(() => refused().length === 2, 10_000, "the oversized gathers refused");
    expect(growth, `peak RSS growth ${growth.toFixed(0)} MiB`).toBeLessThan(150);
    const s = await legit.stats();
    // the 72,000 ids are already over the decode budget; the 300 over max_gather_destinations
    expect(stat(s, "limits", "gather_destinations")).toBe(1);
    expect(stat(s, "limits", "gather_destinations") + stat(s, "limits", "decode_budget")).toBe(2);
    expect(refused().map((m) => Buffer.from(m.query_id as Uint8Array).toString("hex")).sort()).toEqual([q, q3].map((x) => Buffer.from(x).toString("hex")).sort());
    // the de-duplicated gather held one bounce per distinct destination, not 20,000
    expect(stat(s, "resources", "pending_bounces")).toBeLessThanOrEqual(11);
    a.destroy();
    await legit.verifyStored();
  });

  it("class 13: a burst of 6,000 ECDH key exchanges does not hold up a legitimate insert", async () => {
    const { core, legit, base } = await setup();
    const attackers = await Promise.all(Array.from({ length: 10 }, () => Raw.open(core.port)));
    const pub = generateEcdhKeyPair().publicKey;
    for (const a of attackers) {
      const parts: Buffer[] = [];
      for (let i = 0; i < 600; i++) {
        const m = request(MsgType.REQUEST_ECDH_KEY_EXCHANGE, legit.domainId, getNewId("e"), { ecdh: pub, nonce: randomBytes(16), hint: randomBytes(4), random: randomBytes(8) }, a.queryId());
        parts.push(Buffer.from(encodeMessage(2, m)));
      }
      a.write(Buffer.concat(parts));
    }
    const run = await during(sleep(2000), () => legit.roundTrip(), 3);
    const growth = peakGrowth(core, base, "class 13");
    console.log(`class 13: slowest round trip ${run.worstMs.toFixed(0)} ms`);
    passed(run);
    const s = await legit.stats();
    expect(stat(s, "limits", "ecdh_rate") + stat(s, "limits", "ecdh_total_rate")).toBeGreaterThan(0);
    for (const a of attackers) a.destroy();
    await until(async () => stat(await legit.stats(), "client", "total_num") === 1, 10_000, "attackers gone");
    expect(growth).toBeLessThan(150);
    await legit.verifyStored();
  });
});
