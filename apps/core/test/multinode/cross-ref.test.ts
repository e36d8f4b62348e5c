/**
 * Cross references between two domains of two real bbc1-core processes each (p2p-protocol.md §11,
 * §13.5): A0 and B0 also serve domain_global_0 (`--domain0`), A1 and B1 do not. A transaction of
 * domain A is distributed to B's domain0 node, assigned to B1, handed to a client there, included
 * in a transaction of B, registered back in A (cross_ref row on A0, replicated to A1), and
 * verified through B. Settings as in v1.1.1's tests (`network.domain0`: probability 1, stock 0;
 * `network.timings`: advertisement within a second).
 */
import { createSocket } from "node:dgram";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DOMAIN_GLOBAL_0, KeyPair, addEventAsset, getNewId, makeTransaction, toHex, verifyUsingCrossRef, type BBcCrossRef } from "@bbc1/bbclib";
import { BBcAppClient } from "@bbc1/client";
import { encodeMessage, u16Bytes, type WireMessage } from "@bbc1/wire";
import { ensureBuilt, startNode, type NodeProc } from "../helpers.js";
import { FAST_TIMINGS, until } from "./cluster.js";

beforeAll(() => ensureBuilt(), 120_000);

const DA = getNewId("cross-ref domain A");
const DB = getNewId("cross-ref domain B");
const CONFIG = {
  network: {
    timings: { ...FAST_TIMINGS, domain0_first_advertise_ms: 300, domain0_advertise_ms: 2_000 },
    domain0: { cross_ref_probability: 1, max_cross_ref_stock: 0 },
  },
};

interface Node {
  name: string;
  proc: NodeProc;
  admin: BBcAppClient;
}

describe("cross references through domain_global_0 (4 processes, 2 domains)", () => {
  const root = mkdtempSync(join(tmpdir(), "bbc1-crossref-"));
  const nodes: Record<string, Node> = {};
  const clients: BBcAppClient[] = [];

  async function start(name: string, domain: Uint8Array, domain0: boolean): Promise<Node> {
    const cwd = join(root, name);
    mkdirSync(join(cwd, ".bbc1"), { recursive: true });
    writeFileSync(join(cwd, ".bbc1", "config.json"), JSON.stringify(CONFIG));
    const proc = await startNode(cwd, ["--no_nodekey", "--ip4addr", "127.0.0.1", ...(domain0 ? ["--domain0"] : [])]);
    const admin = await BBcAppClient.connect({ port: proc.port, domainId: domain, userId: new Uint8Array(32).fill(0xad), requestTimeoutMs: 10_000, unsignedAdminTimeoutMs: 10_000 });
    const r = await admin.domainSetup(domain);
    if (!r.result && r.reason !== "Already exists") throw new Error(`domain setup on ${name}: ${r.reason}`);
    return (nodes[name] = { name, proc, admin });
  }

  async function user(node: Node, domain: Uint8Array, name: string): Promise<BBcAppClient> {
    const c = await BBcAppClient.connect({ port: node.proc.port, domainId: domain, userId: getNewId(name), requestTimeoutMs: 10_000 });
    await c.register();
    clients.push(c);
    return c;
  }

  const user2 = (n: Node) => user(n, DA, "cross-ref user A, again");
  const stat = async (n: Node, cat: string, name: string) => ((await n.admin.getStats())[cat]?.[name] ?? 0) as number;

  beforeAll(async () => {
    await Promise.all([start("A0", DA, true), start("A1", DA, false), start("B0", DB, true), start("B1", DB, false)]);
    const { A0, A1, B0, B1 } = nodes as Record<string, Node>;
    await A1!.admin.sendDomainPing(DA, "127.0.0.1", null, A0!.proc.p2pPort);
    await B1!.admin.sendDomainPing(DB, "127.0.0.1", null, B0!.proc.p2pPort);
    await A0!.admin.sendDomainPing(DOMAIN_GLOBAL_0, "127.0.0.1", null, B0!.proc.p2pPort);
  }, 120_000);

  afterAll(async () => {
    for (const c of clients) await c.close().catch(() => undefined);
    for (const n of Object.values(nodes)) {
      await n.admin.close().catch(() => undefined);
      await n.proc.stop();
    }
    rmSync(root, { recursive: true, force: true });
  });

  it("domain0 nodes advertise their domains soon after joining; plain nodes see the domain0 flag", async () => {
    const { A0, A1, B0 } = nodes as Record<string, Node>;
    await until("ADV_DOMAIN_LIST on both domain0 nodes", async () => ((await stat(A0!, "domain0", "ADV_DOMAIN_LIST")) > 0 && (await stat(B0!, "domain0", "ADV_DOMAIN_LIST")) > 0 ? true : undefined));
    await until("A1 to see A0 flagged domain0", async () => ((await A1!.admin.getDomainNeighborlist(DA)).some((n) => n.domain0) ? true : undefined));
  });

  it("a transaction of A is cross-referenced by B, recorded in A (replicated to A1) and verifies through B", async () => {
    const { A0, A1, B0, B1 } = nodes as Record<string, Node>;
    const ua = await user(A0!, DA, "cross-ref user A");
    const ub = await user(B1!, DB, "cross-ref user B");
    const keys = KeyPair.generate();
    const sign = (tx: ReturnType<typeof makeTransaction>, uid: Uint8Array) => {
      tx.witness!.addWitness(uid);
      tx.addSignature(uid, tx.sign(keys));
      return tx;
    };
    // domain A: tx1, inserted at its domain0 node (the insert hook distributes it, probability 1)
    const tx1 = makeTransaction({ eventNum: 1, witness: true });
    addEventAsset(tx1, 0, getNewId("asset group A"), ua.userId!, { assetBody: "made in A" });
    const r1 = await ua.insertTransaction(sign(tx1, ua.userId!));
    // B0 assigns it to its neighbour B1, whose client UB gets NOTIFY_CROSS_REF
    const got = await until("UB to receive the cross_ref", async () => (ub.crossRefList.length > 0 ? ub.crossRefList[0] : undefined));
    expect(toHex((got as BBcCrossRef).domainId!)).toBe(toHex(DA));
    expect(toHex((got as BBcCrossRef).transactionId!)).toBe(toHex(r1.transactionId));
    // UB puts it into tx2 of domain B on B1; replication brings it to B0 (the insert hook of a replicated insert)
    const tx2 = makeTransaction({ eventNum: 1, witness: true });
    addEventAsset(tx2, 0, getNewId("asset group B"), ub.userId!, { assetBody: "holds A's cross_ref" });
    expect(ub.includeCrossRef(tx2)).toBe(true);
    const r2 = await ub.insertTransaction(sign(tx2, ub.userId!));
    // registration goes back to A0 (cross_ref row) and is replicated to A1
    const list = await until("A0 to list tx1 as cross-referenced", async () => {
      const l = await ua.requestCrossRefHoldersList();
      return l.some((t) => toHex(t) === toHex(r1.transactionId)) ? l : undefined;
    });
    expect(list.map(toHex)).toEqual([toHex(r1.transactionId)]);
    const onA1 = await user(A1!, DA, "cross-ref user A (on A1)");
    await until("A1 to hold the replicated cross_ref row", async () => ((await onA1.requestCrossRefHoldersList()).some((t) => toHex(t) === toHex(r1.transactionId)) ? true : undefined));
    // verification: A0 asks B0, which proves it with tx2; the client checks the proof
    const v = await ua.requestVerifyByCrossRef(r1.transactionId, { timeoutMs: 10_000 });
    expect(v.verified).toBe(true);
    expect(verifyUsingCrossRef(DA, r1.transactionId, v.transactionBaseDigest, ...(v.raw.cross_ref_verification_info as [Uint8Array, Uint8Array]).slice(1, 3) as [Uint8Array, Uint8Array], v.formatType as 0)).toBe(true);
    expect(toHex(v.crossRef.transactionId!)).toBe(toHex(r1.transactionId));
    expect(await stat(B0!, "domain0", "cross_ref_registered")).toBe(1);
    // from the plain node A1: REQUEST_VERIFY (plaintext, in A) to A0, and the proof routed back to A1 (§8.3)
    const before = await stat(A0!, "domain0", "REQUEST_VERIFY");
    const v1 = await onA1.requestVerifyByCrossRef(r1.transactionId, { timeoutMs: 10_000 });
    expect(v1.verified).toBe(true);
    expect(await stat(A0!, "domain0", "REQUEST_VERIFY")).toBe(before + 1);
    void r2;
  }, 60_000);

  it("a hostile domain0 peer (raw UDP: malformed ADV_DOMAIN_LIST, bad cross_refs, forged proofs) leaves every node serving", async () => {
    const { A0, B0 } = nodes as Record<string, Node>;
    const sock = createSocket("udp4");
    await new Promise<void>((r) => sock.bind(0, "127.0.0.1", () => r()));
    const me = getNewId("hostile domain0 peer");
    const send = (n: Node, m: WireMessage) => new Promise<void>((r) => sock.send(encodeMessage(2, { ...m, source_node_id: me, destination_node_id: new Uint8Array(32) }), n.proc.p2pPort, "127.0.0.1", () => r()));
    const d0 = (command: number, rest: WireMessage): WireMessage => ({ infra_msg_type: u16Bytes(4), domain_id: DOMAIN_GLOBAL_0, command: u16Bytes(command), ...rest });
    const user = getNewId("victim");
    try {
      for (const n of [A0!, B0!]) {
        await send(n, d0(0, { domain_list: 7 })); // H13: not an array
        await send(n, d0(0, { domain_list: [new Uint8Array(3), "x" as unknown as Uint8Array] }));
        await send(n, d0(1, { cross_ref: [getNewId("x")] })); // H13: not 2 elements
        await send(n, d0(2, { outer_domain_id: DB, txid_having_cross_ref: getNewId("t"), cross_ref: [getNewId("unserved"), getNewId("t")] }));
        await send(n, d0(4, { transaction_id: getNewId("t") })); // REQUEST_VERIFY in domain0, no user
        await send(n, d0(5, { outer_domain_id: DB, txid_having_cross_ref: getNewId("absent"), source_user_id: user, transaction_id: getNewId("t"), source_domain_id: DA }));
        await send(n, d0(6, { source_domain_id: DA, transaction_id: getNewId("t"), source_user_id: user, cross_ref_verification_info: [getNewId("d"), new Uint8Array(5), new Uint8Array(5), 0] }));
        await send(n, d0(6, { source_domain_id: getNewId("unserved"), transaction_id: getNewId("t"), source_user_id: user, cross_ref_verification_info: "x" as unknown as Uint8Array }));
      }
      // a registration report from a stranger is not recorded
      await send(A0!, d0(2, { outer_domain_id: DB, txid_having_cross_ref: getNewId("t"), cross_ref: [DA, getNewId("forged")] }));
      await until("the drops to be counted", async () => ((await stat(A0!, "domain0", "drop.registered_by_stranger")) > 0 ? true : undefined));
      const ua = await user2(A0!);
      expect((await ua.requestCrossRefHoldersList()).length).toBe(1);
      // the real flow still works: verification through B again
      const [txid] = await ua.requestCrossRefHoldersList();
      const v = await ua.requestVerifyByCrossRef(txid!, { timeoutMs: 10_000 });
      expect(v.verified).toBe(true);
      expect(await stat(A0!, "domain0", "drop.unsolicited_proof")).toBeGreaterThan(0);
    } finally {
      sock.close();
    }
  }, 60_000);

  it("a client of the domain0 node itself gets no answer for an unknown transaction, and every node keeps serving", async () => {
    const { A0, A1, B0, B1 } = nodes as Record<string, Node>;
    const ua = await user(A0!, DA, "cross-ref user A, unknown");
    await expect(ua.requestVerifyByCrossRef(getNewId("never inserted"), { timeoutMs: 500 })).rejects.toMatchObject({ code: "TIMEOUT" });
    for (const n of [A0, A1, B0, B1]) expect((await n!.admin.getNodeId()).length).toBe(32);
  });
});
