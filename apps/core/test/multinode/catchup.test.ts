/**
 * Catch-up (ours) of a restarted node between three real bbc1-core processes: node c is killed
 * with SIGKILL, transactions with assets and transactions without any (a relation holding only
 * pointers; a witness only) are inserted on a and b while it is down, and after its restart every
 * one of them is found on c. The position walk over the asset index finds the first kind; the key
 * walk over every transaction id (run in the first round after a start) the second, which the
 * asset index never lists.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeyPair, addEventAsset, addRelationPointer, getNewId, makeTransaction, toHex, type BBcTransaction } from "@bbc1/bbclib";
import { BBcAppClient } from "@bbc1/client";
import { ensureBuilt } from "../helpers.js";
import { FAST_TIMINGS, cluster, holdsExactly, missingOn, until, type Cluster, type ClusterNode } from "./cluster.js";

beforeAll(() => ensureBuilt(), 120_000);

const CONFIG = { network: { timings: { ...FAST_TIMINGS, catchup_first_delay_ms: 200, catchup_interval_ms: 1_000, catchup_timeout_ms: 2_000 } } };

function sign(t: BBcTransaction, key: KeyPair, user: Uint8Array): BBcTransaction {
  t.witness!.addWitness(user);
  t.addSignature(user, t.sign(key));
  t.digest();
  return t;
}

/** A transaction with one event asset in `ag`. */
function withAsset(key: KeyPair, user: Uint8Array, ag: Uint8Array): BBcTransaction {
  const t = makeTransaction({ eventNum: 1, witness: true });
  addEventAsset(t, 0, ag, user, { assetBody: "catch-up asset " + Math.random() });
  return sign(t, key, user);
}

/** A transaction without any asset: one relation holding a pointer to `prev` only, or (no `prev`) a witness only. */
function withoutAsset(key: KeyPair, user: Uint8Array, ag: Uint8Array, prev?: Uint8Array): BBcTransaction {
  // a witness-only transaction has nothing but its timestamp (ms) and signer to tell it apart: a fresh
  // signer id keeps two made in the same millisecond from being the same transaction
  if (prev === undefined) return sign(makeTransaction({ witness: true }), key, getNewId(`witness-only ${Math.random()}`));
  const t = makeTransaction({ relationNum: 1, witness: true });
  t.relations[0]!.assetGroupId = ag;
  addRelationPointer(t, 0, prev, null);
  return sign(t, key, user);
}

describe("catch-up of a node restarted after SIGKILL", () => {
  let c: Cluster;
  let a: ClusterNode, b: ClusterNode, cc: ClusterNode;
  const domainId = getNewId("multinode catch-up domain");

  beforeAll(async () => {
    c = await cluster(domainId, { config: CONFIG });
    [a, b, cc] = await Promise.all([c.add("a"), c.add("b"), c.add("c")]);
    expect(await b.admin.setDomainStaticNode(domainId, a.nodeId, "127.0.0.1", null, a.p2pPort)).toBe(true);
    expect(await cc.admin.setDomainStaticNode(domainId, a.nodeId, "127.0.0.1", null, a.p2pPort)).toBe(true);
    for (const n of c.nodes) await until(`${n.name} to list all three`, async () => (holdsExactly(await n.neighbors(), c.nodes.map((m) => m.nodeId)) ? true : undefined));
  }, 120_000);
  afterAll(() => c?.close());

  it("every transaction inserted on the others while it was down is on it after the restart, with or without an asset", async () => {
    const key = new KeyPair();
    key.generate();
    const ag = getNewId("catch-up group");
    const withA = new Set<string>();
    const withoutA = new Set<string>();
    // one of each before the kill: replicated live, so the cursors of c are past them
    const before = await BBcAppClient.connect({ port: a.port, domainId, userId: getNewId("before"), requestTimeoutMs: 10_000 });
    const first = withAsset(key, before.userId!, ag);
    withA.add(toHex((await before.insertTransaction(first)).transactionId));
    withoutA.add(toHex((await before.insertTransaction(withoutAsset(key, before.userId!, ag, first.transactionId!))).transactionId));
    await before.close();
    await until("the first two on c", async () => ((await missingOn(cc, [...withA, ...withoutA], domainId)).length === 0 ? true : undefined), 20_000, 200);

    await c.stop(cc, "SIGKILL");
    for (const n of [a, b]) {
      const cl = await BBcAppClient.connect({ port: n.port, domainId, userId: getNewId(`while down ${n.name}`), requestTimeoutMs: 10_000 });
      for (let i = 0; i < 30; i++) {
        const t = withAsset(key, cl.userId!, ag);
        withA.add(toHex((await cl.insertTransaction(t)).transactionId));
        withoutA.add(toHex((await cl.insertTransaction(withoutAsset(key, cl.userId!, ag, t.transactionId!))).transactionId));
        if (i % 10 === 0) withoutA.add(toHex((await cl.insertTransaction(withoutAsset(key, cl.userId!, ag))).transactionId));
      }
      await cl.close();
    }
    // the others hold everything (replication between them)
    for (const n of [a, b]) await until(`all on ${n.name}`, async () => ((await missingOn(n, [...withA, ...withoutA], domainId)).length === 0 ? true : undefined), 30_000, 300);

    cc = await c.restart(cc);
    let left: string[] = [];
    await until(
      "every transaction on the restarted node",
      async () => {
        left = await missingOn(cc, [...withA, ...withoutA], domainId);
        return left.length === 0 ? true : undefined;
      },
      60_000,
      500,
    ).catch((e: Error) => {
      const noAsset = left.filter((id) => withoutA.has(id)).length;
      throw new Error(`${e.message}; missing ${left.length - noAsset} with an asset, ${noAsset} without`);
    });
    const st = await cc.stats();
    expect(st.catchup?.fetched ?? 0).toBeGreaterThanOrEqual(withA.size + withoutA.size - 2);
    expect(st.catchup?.key_walks_completed ?? 0).toBeGreaterThanOrEqual(1);
  }, 180_000);
});
