/**
 * Request shapes of the BBcAppClient calls whose wire form client.test.ts does not pin down,
 * each against the keys v1.1.1 `bbc_app.py` puts into the map (in its insertion order).
 */
import { afterEach, describe, expect, it } from "vitest";
import { KeyPair, addEventAsset, addReferenceToTransaction, makeTransaction, sha256 } from "@bbc1/bbclib";
import { MsgType, decodeTlv, type WireMessage } from "@bbc1/wire";
import { BBcAppClient } from "../src/index.js";
import { FakeCore, hex } from "./fake-core.js";

const te = new TextEncoder();
const domainId = sha256(te.encode("wire coverage domain"));
const userA = sha256(te.encode("wire user A"));
const userB = sha256(te.encode("wire user B"));
const group = sha256(te.encode("wire group"));
const BASE = ["command", "domain_id", "source_user_id", "status"];

let core: FakeCore | undefined;
let client: BBcAppClient | undefined;

afterEach(async () => {
  await client?.close();
  await core?.close();
  client = undefined;
  core = undefined;
});

async function setup(): Promise<{ core: FakeCore; client: BBcAppClient }> {
  core = await FakeCore.start();
  client = await BBcAppClient.connect({ port: core.port, domainId, userId: userA, requestTimeoutMs: 50 });
  return { core, client };
}

/** Sends with the call, ignores its (absent) answer, returns the map the fake core received. */
async function sent(core: FakeCore, call: () => Promise<unknown>): Promise<WireMessage> {
  const before = core.received.length;
  await call().catch(() => undefined);
  while (core.received.length === before) await new Promise((r) => setTimeout(r, 5));
  return core.received[before]!.message;
}

describe("admin calls without a node key: admin fields at the top level, with a query_id", () => {
  it("domain_setup, domain_close, get_* lists, get_bbc_config, get_stats, notify_domain_key_update", async () => {
    const { core, client } = await setup();
    const setup1 = await sent(core, () => client.domainSetup(group));
    expect(Object.keys(setup1)).toEqual([...BASE, "query_id", "random"]);
    // domain_id is a base key: dat.update(admin_info) overwrites it in place with the target domain
    expect(hex(setup1.domain_id as Uint8Array)).toBe(hex(group));
    expect((setup1.random as Uint8Array).length).toBe(32);
    const setup2 = await sent(core, () => client.domainSetup(group, '{"storage": {"type": "internal"}}'));
    expect(Object.keys(setup2).slice(5)).toEqual(["random", "bbc_configuration"]);
    expect(setup2.bbc_configuration).toEqual(te.encode('{"storage": {"type": "internal"}}'));

    const close = await sent(core, () => client.domainClose());
    expect(close.command).toBe(MsgType.REQUEST_CLOSE_DOMAIN);
    expect(hex(close.domain_id as Uint8Array)).toBe(hex(domainId));
    expect(Object.keys(close).slice(5)).toEqual(["random"]);

    for (const [call, command] of [
      [() => client.getDomainList(), MsgType.REQUEST_GET_DOMAINLIST],
      [() => client.getUserList(), MsgType.REQUEST_GET_USERS],
      [() => client.getForwardingList(), MsgType.REQUEST_GET_FORWARDING_LIST],
      [() => client.getNotificationList(), MsgType.REQUEST_GET_NOTIFICATION_LIST],
      [() => client.getBbcConfig(), MsgType.REQUEST_GET_CONFIG],
      [() => client.getStats(), MsgType.REQUEST_GET_STATS],
      [() => client.notifyDomainKeyUpdate(), MsgType.NOTIFY_DOMAIN_KEY_UPDATE],
    ] as const) {
      const m = await sent(core, call);
      expect(m.command).toBe(command);
      expect(Object.keys(m)).toEqual([...BASE, "query_id", "random"]);
      expect(hex(m.domain_id as Uint8Array)).toBe(hex(domainId));
    }
  });

  it("get_node_id carries no admin fields without a node key; signed admin_info with one (TS extension)", async () => {
    const { core, client } = await setup();
    const plain = await sent(core, () => client.getNodeId());
    expect(Object.keys(plain)).toEqual([...BASE, "query_id"]);
    const key = KeyPair.generate();
    client.setNodeKey(key);
    const signed = await sent(core, () => client.getNodeId());
    expect(Object.keys(signed)).toEqual([...BASE, "query_id", "admin_info", "nodekey_signature"]);
    expect(key.verify(sha256(signed.admin_info as Uint8Array), signed.nodekey_signature as Uint8Array)).toBe(true);
    expect(Object.keys(decodeTlv(signed.admin_info as Uint8Array))).toEqual(["random"]);
  });

  it("domain_close without any domain sends nothing", async () => {
    core = await FakeCore.start();
    client = await BBcAppClient.connect({ port: core.port, requestTimeoutMs: 50 });
    await expect(client.domainClose()).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await new Promise((r) => setTimeout(r, 30));
    expect(core.received).toHaveLength(0);
  });
});

describe("ledger-subsystem and cross-reference calls", () => {
  it("register/verify_in_ledger_subsystem: transaction_id then asset_group_id; cross-ref list: only the query_id", async () => {
    const { core, client } = await setup();
    const txid = sha256(te.encode("some tx"));
    const reg = await sent(core, () => client.registerInLedgerSubsystem(group, txid));
    expect(reg.command).toBe(MsgType.REQUEST_REGISTER_HASH_IN_SUBSYS);
    expect(Object.keys(reg)).toEqual([...BASE, "query_id", "transaction_id", "asset_group_id"]);
    expect(hex(reg.asset_group_id as Uint8Array)).toBe(hex(group));
    const ver = await sent(core, () => client.verifyInLedgerSubsystem(null, txid));
    expect(ver.command).toBe(MsgType.REQUEST_VERIFY_HASH_IN_SUBSYS);
    expect(Object.keys(ver)).toEqual([...BASE, "query_id", "transaction_id", "asset_group_id"]);
    expect(ver.asset_group_id).toBeNull();
    const list = await sent(core, () => client.requestCrossRefHoldersList());
    expect(list.command).toBe(MsgType.REQUEST_CROSS_REF_LIST);
    expect(Object.keys(list)).toEqual([...BASE, "query_id"]);
    const verify = await sent(core, () => client.requestVerifyByCrossRef(txid, { timeoutMs: 50 }));
    expect(Object.keys(verify)).toEqual([...BASE, "query_id", "transaction_id"]);
  });
});

describe("gather_signatures with a reference", () => {
  it("destination_user_ids are the referred event's approvers; transactions maps the referred id to its bytes", async () => {
    const { core, client } = await setup();
    const key = KeyPair.generate();
    const base = makeTransaction({ eventNum: 1, witness: true });
    addEventAsset(base, 0, group, userA, { assetBody: "base" });
    base.events[0]!.add({ mandatoryApprover: userA });
    base.events[0]!.add({ mandatoryApprover: userB });
    base.witness!.addWitness(userA);
    base.addSignature(userA, base.sign(key));
    base.digest();
    const tx = makeTransaction({ eventNum: 1 });
    addEventAsset(tx, 0, group, userB, { assetBody: "next" });
    const ref = addReferenceToTransaction(tx, group, base, 0);
    const m = await sent(core, () => client.gatherSignatures(tx, { reference: ref, anycast: true, timeoutMs: 50 }));
    expect(m.command).toBe(MsgType.REQUEST_GATHER_SIGNATURE);
    expect(Object.keys(m)).toEqual([...BASE, "query_id", "transaction_data", "transaction_id", "is_anycast", "destination_user_ids", "transactions"]);
    expect((m.destination_user_ids as Uint8Array[]).map(hex)).toEqual([hex(userA), hex(userB)]);
    const referred = m.transactions as Map<Uint8Array, Uint8Array>;
    expect([...referred.keys()].map(hex)).toEqual([hex(base.transactionId!)]);
    expect([...referred.values()].map(hex)).toEqual([hex(base.serialize())]);
  });
});

describe("client state", () => {
  it("set_keypair only stores the key; set_user_id / set_domain_id change the base keys of the next message", async () => {
    const { core, client } = await setup();
    const kp = KeyPair.generate();
    client.setKeypair(kp);
    expect(client.keypair).toBe(kp);
    client.setUserId(userB);
    client.setDomainId(group);
    const m = await sent(core, () => client.register());
    expect(hex(m.source_user_id as Uint8Array)).toBe(hex(userB));
    expect(hex(m.domain_id as Uint8Array)).toBe(hex(group));
    expect(Object.keys(m)).toEqual(BASE);
  });
});
