/**
 * Replication (p2p-protocol.md §9.3) and catch-up (ours) between real bbc1-core processes on
 * loopback: concurrent inserts from 16 clients on two nodes end up searchable on both; a node killed
 * with SIGKILL in the middle and restarted misses nothing once catch-up has run; forged replication
 * frames (bad signature, wrong asset-file digest) sent over raw UDP and TCP are never stored, are
 * counted, and the node keeps serving.
 */
import { createSocket } from "node:dgram";
import { connect as tcpConnect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeyPair, addEventAsset, getNewId, makeTransaction, toHex, type BBcTransaction } from "@bbc1/bbclib";
import { BBcAppClient } from "@bbc1/client";
import { encodeMessage, u16Bytes, type WireMessage } from "@bbc1/wire";
import { ensureBuilt } from "../helpers.js";
import { FAST_TIMINGS, cluster, holdsExactly, missingOn, until, type Cluster, type ClusterNode } from "./cluster.js";

beforeAll(() => ensureBuilt(), 120_000);

const CONFIG = { network: { timings: { ...FAST_TIMINGS, catchup_first_delay_ms: 200, catchup_interval_ms: 1_000, catchup_timeout_ms: 2_000 } } };

function signed(key: KeyPair, user: Uint8Array, ag: Uint8Array, file?: Uint8Array): BBcTransaction {
  const t = makeTransaction({ eventNum: 1, witness: true });
  addEventAsset(t, 0, ag, user, { assetBody: "replication test " + Math.random(), assetFile: file });
  t.witness!.addWitness(user);
  t.addSignature(user, t.sign(key));
  t.digest();
  return t;
}

async function linked(a: ClusterNode, b: ClusterNode, domainId: Uint8Array): Promise<void> {
  await a.admin.sendDomainPing(domainId, "127.0.0.1", null, b.p2pPort);
  for (const n of [a, b]) await until(`${n.name} to list both`, async () => (holdsExactly(await n.neighbors(), [a.nodeId, b.nodeId]) ? true : undefined));
}

async function clients(n: ClusterNode, count: number, domainId: Uint8Array): Promise<BBcAppClient[]> {
  const out: BBcAppClient[] = [];
  for (let i = 0; i < count; i++) out.push(await BBcAppClient.connect({ port: n.port, domainId, userId: getNewId(`${n.name} user ${i} ${Math.random()}`), requestTimeoutMs: 10_000 }));
  return out;
}

/** Distinct transactions of asset group `ag` on `n`. */
async function countOn(n: ClusterNode, ag: Uint8Array, domainId: Uint8Array): Promise<number> {
  const c = await BBcAppClient.connect({ port: n.port, domainId, userId: getNewId("counter " + Math.random()), requestTimeoutMs: 10_000 });
  try {
    return await c.countTransactions({ assetGroupId: ag });
  } finally {
    await c.close();
  }
}

/**
 * Waits until every id of `ids` is searchable on every node. With `ag`, first (cheaply) until each
 * node counts at least as many transactions in that group, then the ids one by one.
 */
async function allOn(nodes: ClusterNode[], ids: Set<string>, domainId: Uint8Array, timeoutMs = 30_000, ag?: Uint8Array): Promise<void> {
  if (ag !== undefined) {
    for (const n of nodes) await until(`${n.name} to count ${ids.size}`, async () => ((await countOn(n, ag, domainId)) >= ids.size ? true : undefined), timeoutMs, 200);
  }
  const left = new Map(nodes.map((n) => [n, new Set(ids)]));
  await until(
    `${ids.size} transactions on ${nodes.map((n) => n.name).join(",")}`,
    async () => {
      for (const [n, s] of left) {
        const m = await missingOn(n, s, domainId);
        left.set(n, new Set(m));
      }
      return [...left.values()].every((s) => s.size === 0) ? true : undefined;
    },
    timeoutMs,
    300,
  ).catch((e: Error) => {
    throw new Error(`${e.message}; missing: ${[...left].map(([n, s]) => `${n.name}=${s.size}`).join(" ")}`);
  });
}

describe("replication between two bbc1-core processes", () => {
  let c: Cluster;
  const domainId = getNewId("multinode replication domain");
  let a: ClusterNode;
  let b: ClusterNode;
  beforeAll(async () => {
    c = await cluster(domainId, { config: CONFIG });
    a = await c.add("a");
    b = await c.add("b");
    await linked(a, b, domainId);
  }, 120_000);
  afterAll(() => c?.close());

  it("16 clients (8 per node) insert concurrently: every acknowledged transaction is searchable on both nodes", async () => {
    const key = new KeyPair();
    key.generate();
    const acked = new Set<string>();
    const cs = [...(await clients(a, 8, domainId)), ...(await clients(b, 8, domainId))];
    const ag = getNewId("load group");
    await Promise.all(
      cs.map(async (cl) => {
        for (let i = 0; i < 15; i++) {
          const t = signed(key, cl.userId!, ag, i % 5 === 0 ? new TextEncoder().encode(`file ${i} ${Math.random()}`.repeat(80)) : undefined);
          acked.add(toHex((await cl.insertTransaction(t)).transactionId));
        }
      }),
    );
    for (const cl of cs) await cl.close();
    expect(acked.size).toBe(16 * 15);
    await allOn([a, b], acked, domainId, 60_000, ag);
    for (const n of [a, b]) {
      const s = await n.stats();
      expect(s.replication?.stored ?? 0, `${n.name} stored by replication`).toBeGreaterThan(0);
      expect(s.replication?.rejected ?? 0).toBe(0);
    }
  }, 120_000);

  it("a node killed with SIGKILL in the middle and restarted misses nothing once catch-up has run (both ways)", async () => {
    const key = new KeyPair();
    key.generate();
    const acked = new Set<string>();
    const ag = getNewId("kill group");
    const onA = await clients(a, 8, domainId);
    const onB = await clients(b, 8, domainId);
    let killed = false;
    const insertLoop = (cl: BBcAppClient, n: number) =>
      (async () => {
        for (let i = 0; i < n; i++) {
          try {
            acked.add(toHex((await cl.insertTransaction(signed(key, cl.userId!, ag))).transactionId));
          } catch {
            // the connection to the killed node is gone; only acknowledged ones count
            if (killed) return;
          }
        }
      })();
    const loopsB = onB.map((cl) => insertLoop(cl, 1000));
    const loopsA = onA.map((cl) => insertLoop(cl, 40));
    await until("some inserts on both nodes", async () => (acked.size >= 120 ? true : undefined), 30_000, 20);
    killed = true;
    await c.stop(b, "SIGKILL");
    await Promise.all(loopsB);
    await Promise.all(loopsA);
    for (const cl of [...onA, ...onB]) await cl.close().catch(() => undefined);
    b = await c.restart(b);
    await b.admin.sendDomainPing(domainId, "127.0.0.1", null, a.p2pPort);
    await allOn([a, b], acked, domainId, 90_000, ag);
    const sb = await b.stats();
    expect(sb.catchup?.fetched ?? 0, "b fetched what it missed").toBeGreaterThan(0);
  }, 180_000);

  it("forged replication over raw UDP and TCP (bad signature, wrong asset-file digest) is never stored, is counted, and the node keeps serving", async () => {
    const key = new KeyPair();
    key.generate();
    const user = getNewId("forger user");
    const ag = getNewId("forged group");
    const before = await a.stats();
    const badSig = signed(key, user, ag);
    const sigBytes = badSig.serialize();
    sigBytes[sigBytes.length - 1] ^= 0x5a;
    const file = new TextEncoder().encode("the real file");
    const badFile = signed(key, user, ag, file);
    const frame = (data: Uint8Array, files: Map<Uint8Array, Uint8Array>): Uint8Array => {
      const msg: WireMessage = {
        domain_id: domainId,
        infra_msg_type: u16Bytes(3),
        infra_command: u16Bytes(0),
        transaction_data: data,
        all_asset_files: files,
        destination_node_id: a.nodeId,
        source_node_id: getNewId("forger node " + Math.random()),
      };
      return encodeMessage(2, msg);
    };
    const f1 = frame(sigBytes, new Map());
    const f2 = frame(badFile.serialize(), new Map([[badFile.events[0]!.asset!.assetId!, new TextEncoder().encode("another file")]]));
    const udp = createSocket("udp4");
    await new Promise<void>((r) => udp.send(f1, a.p2pPort, "127.0.0.1", () => r()));
    udp.close();
    await new Promise<void>((resolve, reject) => {
      const s = tcpConnect(a.p2pPort, "127.0.0.1", () => s.end(f2));
      s.on("close", () => resolve());
      s.on("error", reject);
    });
    await until("both forgeries counted", async () => {
      const s = await a.stats();
      return (s.replication?.rejected ?? 0) - (before.replication?.rejected ?? 0) >= 2 ? s : undefined;
    });
    const s = await a.stats();
    expect((s.transaction?.invalid ?? 0) - (before.transaction?.invalid ?? 0)).toBeGreaterThanOrEqual(1);
    expect((s.asset_file?.invalid ?? 0) - (before.asset_file?.invalid ?? 0)).toBeGreaterThanOrEqual(1);
    expect(await missingOn(a, [toHex(badSig.transactionId!), toHex(badFile.transactionId!)], domainId)).toHaveLength(2);
    // still serving: a valid insert on a reaches b
    const [cl] = await clients(a, 1, domainId);
    const good = signed(key, user, ag, file);
    await cl!.insertTransaction(good);
    await cl!.close();
    await allOn([a, b], new Set([toHex(good.transactionId!)]), domainId);
  }, 60_000);
});
