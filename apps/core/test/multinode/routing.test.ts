/**
 * User routing between three real bbc1-core processes (p2p-protocol.md §8, §9.4, §13.4), driven
 * with @bbc1/client: MESSAGE between users on different nodes, a user nobody hosts, multicast to
 * a user on two nodes, anycast, gathering signatures across nodes (signature and denial), and
 * insert notifications crossing nodes with cancellation and disconnection.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeyPair, addEventAsset, getNewId, makeTransaction, sha256, toHex } from "@bbc1/bbclib";
import { BBcAppClient, type UserMessage } from "@bbc1/client";
import { ensureBuilt } from "../helpers.js";
import { cluster, holdsExactly, until, type Cluster, type ClusterNode } from "./cluster.js";

beforeAll(() => ensureBuilt(), 120_000);

const text = (v: unknown) => new TextDecoder().decode(v as Uint8Array);

describe("users on three nodes talk to each other", () => {
  let c: Cluster;
  let a: ClusterNode, b: ClusterNode, cc: ClusterNode;
  const domainId = getNewId("multinode routing domain");
  const clients: BBcAppClient[] = [];

  async function user(node: ClusterNode, name: string, onMultinodes = false): Promise<BBcAppClient> {
    const userId = getNewId(name);
    const cl = await BBcAppClient.connect({ port: node.port, domainId, userId, requestTimeoutMs: 15_000 });
    clients.push(cl);
    await cl.register(onMultinodes);
    await until(`${name} registered on ${node.name}`, async () => ((await node.admin.getUserList()).some((u) => toHex(u) === toHex(userId)) ? true : undefined));
    return cl;
  }

  /** Waits until `node`'s forwarding entry for `id` lists exactly `hosts`. */
  async function entry(node: ClusterNode, id: Uint8Array, hosts: ClusterNode[]): Promise<void> {
    await until(`${node.name}'s forwarding entry to list ${hosts.map((h) => h.name).join(",") || "nothing"}`, async () => {
      const e = (await node.admin.getForwardingList()).find((x) => toHex(x.id) === toHex(id));
      const have = new Set((e?.ids ?? []).map(toHex));
      return have.size === hosts.length && hosts.every((h) => have.has(toHex(h.nodeId))) ? true : undefined;
    });
  }

  beforeAll(async () => {
    c = await cluster(domainId);
    [a, b, cc] = await Promise.all([c.add("a"), c.add("b"), c.add("c")]);
    expect(await b.admin.setDomainStaticNode(domainId, a.nodeId, "127.0.0.1", null, a.p2pPort)).toBe(true);
    expect(await cc.admin.setDomainStaticNode(domainId, a.nodeId, "127.0.0.1", null, a.p2pPort)).toBe(true);
    for (const n of c.nodes) await until(`${n.name} to list all three`, async () => (holdsExactly(await n.neighbors(), c.nodes.map((m) => m.nodeId)) ? true : undefined));
  }, 120_000);
  afterAll(async () => {
    for (const cl of clients) await cl.close().catch(() => undefined);
    await c?.close();
  });

  it("MESSAGE from a user on a to a user on b, and the answer back (resolution, then direct)", async () => {
    const u1 = await user(a, "route U1");
    const u2 = await user(b, "route U2");
    const got = u2.waitFor("message");
    await u1.sendMessage("hello from a", u2.userId!);
    const m = await got;
    expect(text(m.message)).toBe("hello from a");
    expect(toHex(m.sourceUserId!)).toBe(toHex(u1.userId!));
    const back = u1.waitFor("message");
    await u2.sendMessage("hello from b", u1.userId!);
    expect(text((await back).message)).toBe("hello from b");
    // b learned where U1 is from the RESOLVE; a learned U2 from the answer
    await entry(b, u1.userId!, [a]);
    await entry(a, u2.userId!, [b]);
    const st = await b.stats();
    expect(st.user_message?.RESOLVE_USER_LOCATION).toBeGreaterThanOrEqual(1);
    // a second message goes straight along the entry
    const again = u2.waitFor("message");
    await u1.sendMessage("again", u2.userId!);
    expect(text((await again).message)).toBe("again");
  });

  it("a user nobody hosts: the message comes back to its sender after the resolve timeout", async () => {
    const u1 = await user(a, "route U1 nobody");
    const back = u1.waitFor("undeliverable", { timeoutMs: 10_000 });
    const t0 = Date.now();
    await u1.sendMessage("anyone?", getNewId("route nobody"));
    const u = await back;
    expect(u.reason).toBe("Cannot find such user");
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900); // resolve_timeout_ms of the test config
  });

  it("a user registered on two nodes with on_multinodes gets a message on each (multicast); LEAVE on unregister", async () => {
    const umId = getNewId("route UM");
    const onB = await BBcAppClient.connect({ port: b.port, domainId, userId: umId });
    const onC = await BBcAppClient.connect({ port: cc.port, domainId, userId: umId });
    clients.push(onB, onC);
    await onB.register(true);
    await onC.register(true);
    await entry(a, umId, [b, cc]);
    const u1 = await user(a, "route U1 multicast");
    const gotB = onB.waitFor("message");
    const gotC = onC.waitFor("message");
    await u1.sendMessage("to every node", umId);
    expect(text((await gotB).message)).toBe("to every node");
    expect(text((await gotC).message)).toBe("to every node");
    await onC.unregister();
    await entry(a, umId, [b]);
  });

  it("anycast: each message reaches one of the user's nodes, at random", async () => {
    const uaId = getNewId("route UANY");
    const onB = await BBcAppClient.connect({ port: b.port, domainId, userId: uaId });
    const onC = await BBcAppClient.connect({ port: cc.port, domainId, userId: uaId });
    clients.push(onB, onC);
    await onB.register(true);
    await onC.register(true);
    await entry(a, uaId, [b, cc]);
    const got: Array<[string, UserMessage]> = [];
    onB.on("message", (m) => got.push(["b", m]));
    onC.on("message", (m) => got.push(["c", m]));
    const s = await BBcAppClient.connect({ port: a.port, domainId, userId: getNewId("route S") });
    clients.push(s);
    for (let i = 0; i < 20; i++) await s.sendMessage(`any ${i}`, uaId, { anycast: true });
    await until("20 anycast messages", async () => (got.length >= 20 ? true : undefined));
    await new Promise((r) => setTimeout(r, 200));
    expect(got).toHaveLength(20);
    expect(got.some(([n]) => n === "b")).toBe(true);
    expect(got.some(([n]) => n === "c")).toBe(true);
    for (const [, m] of got) expect(m.raw.is_anycast).toBeUndefined();
  });

  it("gather signatures across nodes: a signer on b signs, one on c denies", async () => {
    const u1 = await user(a, "route gatherer");
    const signer = await user(b, "route signer");
    const denier = await user(cc, "route denier");
    const ks = KeyPair.generate();
    signer.on("signRequest", (req) => {
      void signer.sendbackSignature({ destUserId: req.sourceUserId, transactionId: req.transaction!.transactionId, signature: req.transaction!.sign(ks), queryId: req.queryId });
    });
    denier.on("signRequest", (req) => void denier.sendbackDenialOfSign({ destUserId: req.sourceUserId, transactionId: null, reason: "not mine", queryId: req.queryId }));
    const tx = makeTransaction({ eventNum: 1, witness: true });
    addEventAsset(tx, 0, getNewId("route group"), u1.userId!, { assetBody: "gather me" });
    // one empty signature slot (v1.1.1 reads an empty slot only as the last one); the denier need not decode it
    tx.witness!.addWitness(signer.userId!);
    const res = await u1.gatherSignatures(tx, { destinations: [signer.userId!, denier.userId!], timeoutMs: 15_000 });
    expect(res).toHaveLength(2);
    const ok = res.find((r) => r.status === 0)!;
    const no = res.find((r) => r.status !== 0)!;
    expect(toHex(ok.signerId!)).toBe(toHex(signer.userId!));
    expect(ok.signature!.verify(sha256(tx.forIdBytes()))).toBe(true);
    expect(no.status).toBe(-255);
    expect(no.reason).toBe("not mine");
    expect(toHex(no.signerId!)).toBe(toHex(denier.userId!));
  });

  it("insert notifications cross nodes; cancellation and disconnection end them", async () => {
    const group = getNewId("route notified group");
    const watcher = await user(cc, "route watcher");
    const other = await user(b, "route watcher 2");
    await watcher.requestInsertCompletionNotification(group);
    await other.requestInsertCompletionNotification(group);
    await entry(a, group, [b, cc]);
    const inserter = await user(a, "route inserter");
    const kp = KeyPair.generate();
    const insert = async (body: string) => {
      const tx = makeTransaction({ eventNum: 1, witness: true });
      addEventAsset(tx, 0, group, inserter.userId!, { assetBody: body });
      tx.witness!.addWitness(inserter.userId!);
      tx.addSignature(inserter.userId!, tx.sign(kp));
      return (await inserter.insertTransaction(tx)).transactionId;
    };
    const seenC = watcher.waitFor("inserted");
    const seenB = other.waitFor("inserted");
    const txid = await insert("first");
    expect(toHex((await seenC).transactionId)).toBe(toHex(txid));
    expect(toHex((await seenB).transactionId)).toBe(toHex(txid));
    expect((await seenC).assetGroupIds.map(toHex)).toEqual([toHex(group)]);
    // c cancels (LEAVE), b's subscriber disconnects (LEAVE from its node too)
    await watcher.cancelInsertCompletionNotification(group);
    await other.close();
    await entry(a, group, []);
    let late = 0;
    watcher.on("inserted", () => late++);
    await insert("second");
    await new Promise((r) => setTimeout(r, 500));
    expect(late).toBe(0);
    expect((await a.stats()).data_handler?.send_notify_inserted).toBe(2);
  });
});
