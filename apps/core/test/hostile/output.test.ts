/**
 * Hostile clients, output side (issue 8, classes 9 and 10) against a real bbc1-core process:
 * receivers that never read.
 */
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { getNewId } from "@bbc1/bbclib";
import { MsgType, generateEcdhKeyPair } from "@bbc1/wire";
import { randomBytes } from "node:crypto";
import { Legit, Raw, SUITE_LIMITS, passed, peakGrowth, blob, during, ensureEntry, request, sleep, startCore, stat, until, type Core } from "./harness.js";

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

async function setup(): Promise<{ core: Core; legit: Legit }> {
  core = await startCore({ config: { limits: SUITE_LIMITS } });
  legit = await Legit.connect(core, getNewId("hostile output " + Math.random()));
  await legit.roundTrip();
  return { core, legit };
}

describe("hostile clients: output", () => {
  it("class 9: one 32 MiB message to a user with 20 ECDH sessions is not encrypted and buffered per session", async () => {
    const { core, legit } = await setup();
    const victim = getNewId("many sessions");
    const receivers = await Promise.all(Array.from({ length: 20 }, () => Raw.open(core.port)));
    for (const r of receivers) {
      r.send(request(MsgType.REGISTER, legit.domainId, victim));
      r.send(request(MsgType.REQUEST_ECDH_KEY_EXCHANGE, legit.domainId, victim, { ecdh: generateEcdhKeyPair().publicKey, nonce: randomBytes(16), hint: randomBytes(4), random: randomBytes(8) }, r.queryId()));
    }
    await until(() => receivers.every((r) => r.received.some((m) => m.command === MsgType.RESPONSE_ECDH_KEY_EXCHANGE)), 10_000, "key exchanges answered");
    for (const r of receivers) r.socket.pause();
    await legit.roundTrip();
    core.resetPeak();
    const base = core.rss();
    const sender = await Raw.open(core.port);
    const payload = blob(32 * MiB, 4);
    const attack = (async () => {
      for (let i = 0; i < 2; i++) {
        sender.send(request(MsgType.MESSAGE, legit.domainId, getNewId("sender"), { destination_user_id: victim, message: payload }));
        await sender.drained();
      }
      await sleep(1500);
    })();
    const run = await during(attack, () => legit.roundTrip());
    const growth = peakGrowth(core, base, "class 9");
    passed(run);
    expect(growth, `peak RSS growth ${growth.toFixed(0)} MiB`).toBeLessThan(250);
    // receivers that stay over their output cap are closed; their backlog goes with them
    sender.destroy();
    await until(async () => stat(await legit.stats(), "client", "total_num") === 1, 15_000, "stalled receivers closed");
    const s = await legit.stats();
    expect(stat(s, "limits", "output_stall") + stat(s, "limits", "connection_output") + stat(s, "limits", "output_total")).toBeGreaterThanOrEqual(20);
    expect(stat(s, "resources", "output_bytes")).toBeLessThan(MiB);
    for (const r of receivers) r.destroy();
    await legit.verifyStored();
  });

  it("class 10: a client that never reads stops having its requests executed and is closed", async () => {
    const { core, legit } = await setup();
    const stored = [];
    for (let i = 0; i < 4; i++) stored.push(await legit.insert(blob(MiB, 20 + i)));
    core.resetPeak();
    const base = core.rss();
    const before = stat(await legit.stats(), "transaction", "search_count");
    const readers = await Promise.all(Array.from({ length: 4 }, () => Raw.open(core.port, { read: false })));
    const user = getNewId("slow reader");
    const attack = (async () => {
      for (const r of readers) {
        for (let i = 0; i < 500; i++) r.send(request(MsgType.REQUEST_SEARCH_TRANSACTION, legit.domainId, user, { transaction_id: stored[i % 4]!.id }, r.queryId()));
      }
      await sleep(2000);
    })();
    const run = await during(attack, () => legit.roundTrip());
    const growth = peakGrowth(core, base, "class 10");
    passed(run);
    const executed = stat(await legit.stats(), "transaction", "search_count") - before;
    // only a few answers fit under the per-connection output cap
    expect(executed, `${executed} searches executed for clients that never read`).toBeLessThan(400);
    expect(growth, `peak RSS growth ${growth.toFixed(0)} MiB`).toBeLessThan(250);
    // closed once they stayed over the cap (a paused socket does not see the close; the node's count does)
    await until(async () => stat(await legit.stats(), "client", "total_num") === 1, 15_000, "slow readers closed");
    expect(stat(await legit.stats(), "resources", "output_bytes")).toBeLessThan(MiB);
    for (const r of readers) r.destroy();
    await legit.verifyStored();
  });
});
