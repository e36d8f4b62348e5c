/**
 * The end-to-end suite of @bbc1/client against a running node: a real @bbc1/core in
 * integration.test.ts, or the original Python bbc_core.py in interop/pynode.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  KeyPair,
  addEventAsset,
  addReferenceToTransaction,
  addRelationAsset,
  addRelationPointer,
  bytesEqual,
  makeTransaction,
  sha256,
  toHex,
  type BBcTransaction,
} from "@bbc1/bbclib";
import { BBcAppClient, type SignRequest } from "../src/index.js";

/** Where the node is and how it behaves. */
export interface SuiteTarget {
  host?: string;
  port: number;
  /** PEM of the node key, or null when the node runs without one. */
  nodeKeyPem: string | null;
  /** Time after which an undeliverable message bounces (v1.1.1: 5 s). */
  bounceMs: number;
}

export function clientSuite(name: string, target: () => SuiteTarget): void {
const te = new TextEncoder();
const run = toHex(sha256(te.encode(`${name} ${Date.now()} ${Math.random()}`))).slice(0, 12);
const id = (s: string) => sha256(te.encode(`${run} ${s}`));
const domainId = id("integration domain");
const assetGroup = id("integration asset group");
const userA = id("alice");
const userB = id("bob");
const userC = id("carol");
const keyA = KeyPair.generate();
const keyB = KeyPair.generate();
const clients: BBcAppClient[] = [];

async function connect(userId: Uint8Array | null, nodeKey = true): Promise<BBcAppClient> {
  const t = target();
  const c = await BBcAppClient.connect({ host: t.host, port: t.port, domainId, userId, requestTimeoutMs: 10_000 });
  if (nodeKey && t.nodeKeyPem !== null) c.setNodeKey(t.nodeKeyPem);
  clients.push(c);
  return c;
}

function witnessed(user: Uint8Array, key: KeyPair, body: string, file?: Uint8Array): BBcTransaction {
  const tx = makeTransaction({ eventNum: 1, witness: true });
  addEventAsset(tx, 0, assetGroup, user, { assetBody: body, assetFile: file });
  tx.witness!.addWitness(user);
  tx.addSignature(user, tx.sign(key));
  return tx;
}

afterAll(async () => {
  for (const c of clients.splice(0)) await c.close();
});

describe(`${name}: domain`, () => {
  it("domain setup", async () => {
    const admin = await connect(null);
    expect((await admin.domainSetup(domainId)).result).toBe(true);
  });
});

describe(`${name}: admin calls with the node key`, () => {
  it("domain setup, lists, config, stats, node id, neighbours, static node, ping, key update", async () => {
    const admin = await connect(null);
    expect(await admin.domainSetup(domainId)).toMatchObject({ result: false, reason: "Already exists" });
    const other = id("other domain");
    expect((await admin.domainSetup(other, { storage: { type: "internal" } })).result).toBe(true);
    const domains = (await admin.getDomainList()).map(toHex);
    expect(domains).toEqual(expect.arrayContaining([toHex(domainId), toHex(other)]));
    const { config } = await admin.getBbcConfig();
    expect((config as { domains: Record<string, unknown> }).domains).toHaveProperty(toHex(domainId));
    const stats = await admin.getStats();
    expect(stats.client?.num_message_receive).toBeGreaterThan(0);
    admin.setDomainId(domainId);
    const nodeId = await admin.getNodeId();
    expect(nodeId).toHaveLength(32);
    const neighbours = await admin.getDomainNeighborlist(domainId);
    expect(bytesEqual(neighbours[0]!.nodeId, nodeId)).toBe(true);
    expect(await admin.setDomainStaticNode(domainId, id("peer"), "127.0.0.1", "::", 16641)).toBe(true);
    await admin.sendDomainPing(domainId, "127.0.0.1", null, 16641);
    await admin.notifyDomainKeyUpdate();
    expect(await admin.domainClose(other)).toMatchObject({ result: true });
    expect(await admin.domainClose(other)).toMatchObject({ result: false, reason: "No such domain" });
    expect((await admin.getDomainList()).map(toHex)).not.toContain(toHex(other));
  });

  it("drops admin commands without a valid node-key signature (TIMEOUT), and serves them again with it", async () => {
    const anon = await connect(null, false);
    if (target().nodeKeyPem === null) {
      // a node without node key takes unsigned admin fields at top level
      expect((await anon.getDomainList()).map(toHex)).toContain(toHex(domainId));
      return;
    }
    await expect(anon.getStats({ timeoutMs: 400 })).rejects.toMatchObject({ code: "TIMEOUT" });
    anon.setNodeKey(KeyPair.generate());
    await expect(anon.getDomainList({ timeoutMs: 400 })).rejects.toMatchObject({ code: "TIMEOUT" });
    anon.setNodeKey(target().nodeKeyPem);
    expect((await anon.getDomainList()).length).toBeGreaterThan(0);
  });
});

describe(`${name}: ledger, notifications and messages between two clients`, () => {
  let a: BBcAppClient;
  let b: BBcAppClient;
  const chain: BBcTransaction[] = [];

  beforeAll(async () => {
    a = await connect(userA);
    b = await connect(userB);
    await a.register();
    await b.register();
    await b.requestInsertCompletionNotification(assetGroup);
    // REGISTERs travel on two connections: poll until the node has processed both (and B's subscription)
    for (let i = 0; ; i++) {
      const users = (await b.getUserList()).map(toHex);
      if (users.includes(toHex(userA)) && users.includes(toHex(userB))) break;
      if (i > 50) throw new Error(`users not registered: ${users.join(",")}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  });

  it("insert resolves with the id; the subscriber gets NOTIFY_INSERTED; the notification list shows it", async () => {
    const notified = b.waitFor("inserted");
    const file = te.encode("the asset file");
    const tx = witnessed(userA, keyA, "first", file);
    const res = await a.insertTransaction(tx);
    expect(toHex(res.transactionId)).toBe(toHex(tx.transactionId!));
    const n = await notified;
    expect(toHex(n.transactionId)).toBe(toHex(tx.transactionId!));
    expect(n.assetGroupIds.map(toHex)).toContain(toHex(assetGroup));
    const list = await b.getNotificationList();
    expect(list.find((e) => bytesEqual(e.id, assetGroup))!.ids.map(toHex)).toContain(toHex(userB));
    chain.push(tx);

    const found = await b.searchTransaction(tx.transactionId!);
    expect(toHex(found.transaction!.transactionId!)).toBe(toHex(tx.transactionId!));
    expect(new TextDecoder().decode(found.assetFiles.get(toHex(tx.events[0]!.asset!.assetId!))!)).toBe("the asset file");
  });

  it("a duplicate insert and an unknown id reject with ERROR_STATUS", async () => {
    await expect(a.insertTransaction(chain[0]!)).rejects.toMatchObject({ code: "ERROR_STATUS", status: -1 });
    await expect(a.searchTransaction(id("nothing"))).rejects.toMatchObject({ code: "ERROR_STATUS", status: -14, reason: "Cannot find transaction" });
  });

  it("search with conditions, count and a 3-hop traverse over a chain", async () => {
    for (let i = 1; i < 5; i++) {
      const tx = makeTransaction({ relationNum: 1, witness: true });
      addRelationAsset(tx, 0, assetGroup, userA, { assetBody: `link ${i}` });
      addRelationPointer(tx, 0, chain[i - 1]!.transactionId, null);
      tx.witness!.addWitness(userA);
      tx.addSignature(userA, tx.sign(keyA));
      await a.insertTransaction(tx);
      chain.push(tx);
    }
    const newest = await a.searchTransactionWithCondition({ assetGroupId: assetGroup, userId: userA, count: 2 });
    expect(newest.transactions.map((t) => toHex(t.transactionId!))).toEqual([toHex(chain[4]!.transactionId!), toHex(chain[3]!.transactionId!)]);
    const oldest = await a.searchTransactionWithCondition({ assetGroupId: assetGroup, direction: 1, count: 1 });
    expect(toHex(oldest.transactions[0]!.transactionId!)).toBe(toHex(chain[0]!.transactionId!));
    expect(await a.countTransactions({ assetGroupId: assetGroup })).toBeGreaterThanOrEqual(5);
    expect(await a.countTransactions({ userId: id("nobody") })).toBe(0);
    await expect(a.searchTransactionWithCondition({ userId: id("nobody") })).rejects.toMatchObject({ status: -14 });

    const back = await a.traverseTransactions(chain[4]!.transactionId!, { direction: 1, hopCount: 3 });
    expect(back.tree.map((lv) => lv.map((t) => toHex(t.transactionId!)))).toEqual([
      [toHex(chain[4]!.transactionId!)],
      [toHex(chain[3]!.transactionId!)],
      [toHex(chain[2]!.transactionId!)],
    ]);
    expect(back.allIncluded).toBe(true);
    const fwd = await a.traverseTransactions(chain[1]!.transactionId!, { direction: 0, hopCount: 3 });
    expect(fwd.tree).toHaveLength(3);
    await expect(a.traverseTransactions(chain[1]!.transactionId!, { assetGroupId: id("other group") })).rejects.toMatchObject({ status: -14 });
  });

  it("messages: unicast arrives as an event, an unknown user bounces", async () => {
    const got = b.waitFor("message");
    await a.sendMessage(te.encode("hello bob"), userB);
    const m = await got;
    expect(new TextDecoder().decode(m.message as Uint8Array)).toBe("hello bob");
    expect(toHex(m.sourceUserId!)).toBe(toHex(userA));
    const bounce = a.waitFor("undeliverable", { timeoutMs: target().bounceMs + 3000 });
    await a.sendMessage("anyone?", id("nobody"));
    expect((await bounce).reason).toBe("Cannot find such user");
  });

  it("gathers a signature through a reference, then inserts the fully signed transaction", async () => {
    const base = makeTransaction({ eventNum: 1, witness: true });
    addEventAsset(base, 0, assetGroup, userA, { assetBody: "needs bob" });
    base.events[0]!.add({ mandatoryApprover: userA });
    base.events[0]!.add({ mandatoryApprover: userB });
    base.witness!.addWitness(userA);
    base.addSignature(userA, base.sign(keyA));
    await a.insertTransaction(base);

    const tx = makeTransaction({ eventNum: 1 });
    addEventAsset(tx, 0, assetGroup, userB, { assetBody: "approved transfer" });
    const ref = addReferenceToTransaction(tx, assetGroup, base, 0);
    ref.addSignature(userA, tx.sign(keyA));

    const onSign = (req: SignRequest): void => {
      const t = req.transaction!;
      const refIndex = t.references.findIndex((r) => req.referredTransactions.has(toHex(r.transactionId!)));
      void b.sendbackSignature({ destUserId: req.sourceUserId, transactionId: t.transactionId, refIndex, signature: t.sign(keyB), queryId: req.queryId });
    };
    b.on("signRequest", onSign);
    try {
      const answers = await a.gatherSignatures(tx, { reference: ref });
      expect(answers).toHaveLength(1);
      expect(answers[0]).toMatchObject({ status: 0, refIndex: 0 });
      expect(toHex(answers[0]!.signerId!)).toBe(toHex(userB));
      tx.references[answers[0]!.refIndex!]!.addSignature(userB, answers[0]!.signature!);
      const res = await a.insertTransaction(tx);
      expect(toHex(res.transactionId)).toBe(toHex(tx.transactionId!));
    } finally {
      b.off("signRequest", onSign);
    }
  });

  it("a denial comes back with status -255 and the reason", async () => {
    const deny = (req: SignRequest): void => void b.sendbackDenialOfSign({ destUserId: req.sourceUserId, transactionId: null, reason: "not today", queryId: req.queryId });
    b.on("signRequest", deny);
    try {
      const answers = await a.gatherSignatures(witnessed(userA, keyA, "deny me"), { destinations: [userB] });
      expect(answers[0]).toMatchObject({ status: -255, reason: "not today" });
    } finally {
      b.off("signRequest", deny);
    }
  });

  it("cancel stops notifications; cross-ref list, subsystem, repair answer as the reference does", async () => {
    await b.cancelInsertCompletionNotification(assetGroup);
    await b.getUserList(); // requests of one connection are handled in order: the cancel is done
    let notified = false;
    b.on("inserted", () => (notified = true));
    await a.insertTransaction(witnessed(userA, keyA, "after cancel"));
    await b.getUserList(); // round trip
    expect(notified).toBe(false);
    expect(await a.requestCrossRefHoldersList()).toEqual([]);
    await expect(a.registerInLedgerSubsystem(assetGroup, chain[0]!.transactionId!)).rejects.toMatchObject({ status: -4 });
    await expect(a.verifyInLedgerSubsystem(assetGroup, chain[0]!.transactionId!)).rejects.toMatchObject({ status: -4 });
    await a.requestToRepairTransaction(chain[0]!.transactionId!);
    await a.requestToRepairAsset(assetGroup, chain[0]!.events[0]!.asset!.assetId!);
    expect((await a.searchTransaction(chain[0]!.transactionId!)).transaction).not.toBeNull();
    // no domain0 node is known: the verification never comes
    await expect(a.requestVerifyByCrossRef(chain[0]!.transactionId!, { timeoutMs: 300 })).rejects.toMatchObject({ code: "TIMEOUT" });
  });
});

describe(`${name}: encrypted session (ECDH)`, () => {
  it("after exchangeKey routed answers and messages arrive encrypted and decode", async () => {
    const c = await connect(userC);
    await c.register();
    await c.exchangeKey();
    expect(c.isEncrypted).toBe(true);
    const sender = await connect(id("sender"));
    await sender.register();
    const got = c.waitFor("message");
    await sender.sendMessage("for carol only", userC);
    expect(new TextDecoder().decode((await got).message as Uint8Array)).toBe("for carol only");
    const res = await c.insertTransaction(witnessed(userC, KeyPair.generate(), "encrypted session"));
    expect((await c.searchTransaction(res.transactionId)).transaction).not.toBeNull();
    expect(await c.countTransactions({ userId: userC })).toBe(1);
    // routed answers and the message came as payload type 3 (direct ones, e.g. the ECDH answer, stay plain)
    expect(c.receivedFrames.encrypted).toBeGreaterThanOrEqual(4);
    await c.unregister();
    expect(c.isEncrypted).toBe(false);
  });
});
}
