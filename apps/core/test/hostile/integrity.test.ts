/**
 * Hostile clients that try to fool the node (issue 8, classes 4 and 14) against a real bbc1-core
 * process: asset-file squatting and replayed admin commands.
 */
import { readFileSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { KeyPair, addEventAsset, bytesEqual, getNewId, makeTransaction, sha256, toHex } from "@bbc1/bbclib";
import { MsgType, encodeTlv } from "@bbc1/wire";
import { Legit, Raw, SUITE_LIMITS, blob, ensureEntry, peakGrowth, request, sleep, startCore, until, type Core } from "./harness.js";

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

describe("hostile clients: integrity", () => {
  it("class 4: an attacker cannot squat the file slot of a victim's coming asset; an occupied slot refuses the insert", async () => {
    core = await startCore({ config: { limits: SUITE_LIMITS } });
    legit = await Legit.connect(core, getNewId("hostile integrity " + Math.random()));
    core.resetPeak();
    const base = core.rss();
    const victimFile = blob(20_000, 41);
    const victimTx = legit.makeTx(victimFile);
    const aid = victimTx.events[0]!.asset!.assetId!;

    // the attacker claims the victim's asset_id for an asset of its own, with its own file
    const attacker = await Raw.open(core.port);
    const atkKey = KeyPair.generate();
    const atkUser = getNewId("squatter");
    attacker.send(request(MsgType.REGISTER, legit.domainId, atkUser));
    const atk = makeTransaction({ eventNum: 1, witness: true });
    const atkFile = blob(20_000, 42);
    addEventAsset(atk, 0, legit.assetGroupId, atkUser, { assetBody: "mine", assetFile: atkFile });
    atk.events[0]!.asset!.assetId = aid;
    atk.witness!.addWitness(atkUser);
    atk.addSignature(atkUser, atk.sign(atkKey));
    const q = attacker.queryId();
    attacker.send(request(MsgType.REQUEST_INSERT, legit.domainId, atkUser, { transaction_data: atk.serialize(), all_asset_files: new Map([[aid, atkFile]]) }, q));
    await until(() => attacker.received.some((m) => m.command === MsgType.RESPONSE_INSERT), 10_000, "the squatting insert answered");
    const atkAnswer = attacker.received.find((m) => m.command === MsgType.RESPONSE_INSERT)!;
    peakGrowth(core, base, "class 4");
    expect(atkAnswer.status).toBe(-1);

    // the victim's insert is acknowledged and its own file is served, not compromised
    const r = await legit.client.insertTransaction(victimTx);
    legit.stored.push({ id: r.transactionId, data: victimTx.serialize(), assetId: aid, file: victimFile });
    const found = await legit.client.searchTransaction(r.transactionId);
    expect(found.compromised).toBe(false);
    expect(bytesEqual(found.assetFiles.get(toHex(aid))!, victimFile)).toBe(true);

    // a slot already holding another file (written before this node checked, or by hand):
    // the insert is refused, never acknowledged while the other file is served
    const tx2File = blob(10_000, 43);
    const tx2 = legit.makeTx(tx2File);
    const aid2 = tx2.events[0]!.asset!.assetId!;
    const slotDir = join(core.dir, toHex(legit.domainId), toHex(legit.assetGroupId));
    mkdirSync(slotDir, { recursive: true });
    writeFileSync(join(slotDir, toHex(aid2)), blob(10_000, 44));
    await expect(legit.client.insertTransaction(tx2)).rejects.toMatchObject({ code: "ERROR_STATUS" });
    await expect(legit.client.searchTransaction(tx2.transactionId!)).rejects.toMatchObject({ code: "ERROR_STATUS" });

    // the same file for the same asset in another transaction is consistent and accepted
    const tx3 = makeTransaction({ eventNum: 2, witness: true });
    tx3.events[0]!.assetGroupId = legit.assetGroupId;
    tx3.events[0]!.asset = victimTx.events[0]!.asset;
    addEventAsset(tx3, 1, legit.assetGroupId, legit.user, { assetBody: "a second event" });
    tx3.witness!.addWitness(legit.user);
    tx3.addSignature(legit.user, tx3.sign(legit.key));
    await legit.client.insertTransaction(tx3);
    expect(sha256(victimFile)).toEqual(victimTx.events[0]!.asset!.assetFileDigest);
    await legit.verifyStored();
    attacker.destroy();
  });

  it("class 14: a captured signed admin_info is accepted once, also after a restart; splicing it into CLOSE_DOMAIN fails", async () => {
    core = await startCore({ config: { limits: SUITE_LIMITS } });
    legit = await Legit.connect(core, getNewId("hostile admin " + Math.random()));
    core.resetPeak();
    const base = core.rss();
    const nodeKey = new KeyPair().fromPrivateKeyPem(readFileSync(core.nodeKeyPath, "utf8"));
    const target = getNewId("domain to keep " + Math.random());
    const info = encodeTlv({ domain_id: target, random: new Uint8Array(randomBytes(32)) });
    const sig = nodeKey.sign(sha256(info));
    const admin = await Raw.open(core.port);
    const setup = (command: number) => request(command, null, null, { admin_info: info, nodekey_signature: sig }, admin.queryId());
    admin.send(setup(MsgType.REQUEST_SETUP_DOMAIN));
    await until(() => admin.received.some((m) => m.command === MsgType.RESPONSE_SETUP_DOMAIN), 10_000, "domain set up");
    expect(admin.received.find((m) => m.command === MsgType.RESPONSE_SETUP_DOMAIN)!.result).toBe(true);

    const listed = async () => (await legit!.client.getDomainList()).some((d) => bytesEqual(d, target));
    const inConfig = () => Object.keys((JSON.parse(readFileSync(join(core!.dir, "config.json"), "utf8")) as { domains: object }).domains).includes(toHex(target));
    // the captured admin_info and signature, replayed as is and spliced into CLOSE_DOMAIN
    admin.send(setup(MsgType.REQUEST_CLOSE_DOMAIN));
    admin.send(setup(MsgType.REQUEST_SETUP_DOMAIN));
    await sleep(800);
    peakGrowth(core, base, "class 14");
    expect(admin.received.filter((m) => m.command === MsgType.RESPONSE_CLOSE_DOMAIN)).toEqual([]);
    expect(admin.received.filter((m) => m.command === MsgType.RESPONSE_SETUP_DOMAIN).length).toBe(1);
    expect(await listed()).toBe(true);
    expect(inConfig()).toBe(true);
    expect(core.stderr()).toMatch(/replay/i);
    admin.destroy();

    // the replay cache survives a restart
    const dir = core.dir;
    await legit.close();
    await core.stop({ keepDir: true });
    core = await startCore({ dir });
    legit = await Legit.connect(core, getNewId("hostile admin 2 " + Math.random()));
    const again = await Raw.open(core.port);
    again.send(request(MsgType.REQUEST_CLOSE_DOMAIN, null, null, { admin_info: info, nodekey_signature: sig }, again.queryId()));
    await sleep(800);
    expect(again.received.filter((m) => m.command === MsgType.RESPONSE_CLOSE_DOMAIN)).toEqual([]);
    expect(await listed()).toBe(true);
    expect(inConfig()).toBe(true);
    // a fresh admin_info still works
    const res = await legit.client.domainClose(target);
    expect(res.result).toBe(true);
    again.destroy();
    await legit.close();
    await core.stop();
    core = undefined;
    rmSync(dir, { recursive: true, force: true });
  });
});
