/**
 * Domain0Manager on the test clock: advertisement timing (first one soon, §15.8; then
 * randint(5/6, 7/6) of the interval), membership lifetime, the acceptance window, bounded tables,
 * and a hostile domain0 peer (malformed and forged messages) that leaves the manager serving.
 */
import { createSocket, type Socket } from "node:dgram";
import { randomBytes } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import fc from "fast-check";
import { BBcCrossRef, KeyPair, addEventAsset, encodeCrossRefBinary, encodeSignatureBinary, makeTransaction, toHex, type BBcTransaction } from "@bbc1/bbclib";
import { decodePayload, encodeMessage, splitFrame, u16Bytes, type WireMessage, type WireValue } from "@bbc1/wire";
import {
  BBcNetwork,
  DOMAIN_GLOBAL_0,
  Domain0Manager,
  Domain0Tables,
  ManualScheduler,
  NetStats,
  buildAdvDomainList,
  buildDistributeCrossRef,
  buildRequestVerifyOuter,
  isNetError,
  parseCrossRef,
  parseDomainList,
  parseVerificationInfo,
  type CrossRefRow,
  type CrossRefStore,
} from "../src/index.js";

const id = () => new Uint8Array(randomBytes(32));
const open: Array<{ close(): unknown }> = [];
afterEach(async () => {
  for (const o of open.splice(0)) await o.close();
});

class MemCrossRefs implements CrossRefStore {
  readonly rows: Array<CrossRefRow & { domain: string }> = [];
  async insertCrossRef(domainId: Uint8Array, row: CrossRefRow): Promise<boolean> {
    this.rows.push({ ...row, domain: toHex(domainId) });
    return true;
  }
  async getCrossRefs(domainId: Uint8Array, transactionId: Uint8Array): Promise<CrossRefRow[]> {
    return this.rows.filter((r) => r.domain === toHex(domainId) && toHex(r.transactionId) === toHex(transactionId));
  }
}

async function sink(): Promise<{ port: number; got: WireMessage[] }> {
  const s: Socket = createSocket("udp4");
  const got: WireMessage[] = [];
  s.on("message", (b) => {
    const f = splitFrame(new Uint8Array(b));
    const m = decodePayload(f.payloadType, f.body);
    if ((m.infra_msg_type as Uint8Array)[1]! >= 2) got.push(m);
  });
  await new Promise<void>((r) => s.bind(0, "127.0.0.1", () => r()));
  open.push({ close: () => new Promise<void>((r) => s.close(() => r())) });
  return { port: s.address().port, got };
}

const wait = async (cond: () => boolean) => {
  for (let i = 0; i < 400 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(cond()).toBe(true);
};
const settle = () => new Promise((r) => setTimeout(r, 30));

/** A domain0 node serving one regular domain, with a peer domain0 node (at the sink) in both. */
async function node(opts: { ledger?: Map<string, Uint8Array>; regular?: boolean } = {}) {
  const s = await sink();
  const scheduler = new ManualScheduler();
  const stats = new NetStats();
  const net = new BBcNetwork({ host4: "127.0.0.1", port: 0, scheduler, stats, timings: { domain0FirstAdvertiseMs: 2_000 } });
  await net.start();
  open.push(net);
  const d0 = net.createDomain(DOMAIN_GLOBAL_0);
  const domain = id();
  const dom = opts.regular === false ? undefined : net.createDomain(domain);
  const peer = id();
  const peerInDomain = id();
  d0.neighbors.add({ nodeId: peer, ipv4: "127.0.0.1", port: s.port });
  dom?.neighbors.add({ nodeId: peerInDomain, ipv4: "127.0.0.1", port: s.port });
  const crossRefs = new MemCrossRefs();
  const sent: WireMessage[] = [];
  const repairs: string[] = [];
  const m = new Domain0Manager(
    {
      network: net,
      crossRefs,
      ledger: { getTransactionData: async (_d, t) => opts.ledger?.get(toHex(t)) ?? null },
      sendToUser: (_d, msg) => sent.push(msg),
      requestRepair: (_d, t) => repairs.push(toHex(t)),
      logger: net.logger,
    },
    { crossRefProbability: 1, maxNodes: 64, maxRequested: 100 },
  );
  net.setDomain0Handler(m);
  m.start();
  const from = { address: "127.0.0.1", port: s.port, family: 4 as const, transport: "udp" as const };
  const feed = (msg: WireMessage, src = peer) => {
    msg.source_node_id ??= src;
    msg.destination_node_id ??= d0.nodeId;
    net.handleFrame(encodeMessage(2, msg), from);
  };
  const drops = (r: string) => stats.get("domain0", `drop.${r}`) + stats.get("network", `drop.${r}`);
  return { net, m, scheduler, stats, s, d0, dom, domain, peer, peerInDomain, crossRefs, sent, repairs, feed, from, drops };
}

describe("ADV_DOMAIN_LIST timing and tables", () => {
  it("first advertisement 1-3 s after joining (0.5-1.5 x domain0_first_advertise_ms), then every 1500-2100 s", async () => {
    const n = await node();
    n.scheduler.advance(999);
    await settle();
    expect(n.s.got.filter((m) => (m.command as Uint8Array)?.[1] === 0 && (m.infra_msg_type as Uint8Array)[1] === 4)).toHaveLength(0);
    n.scheduler.advance(2_001);
    await wait(() => n.s.got.length === 1);
    expect(n.s.got[0]!.domain_list).toEqual([n.domain]);
    // (the silent peer is purged from the neighbour table meanwhile: count what was built)
    n.scheduler.advance(1_499_000);
    expect(n.stats.get("domain0", "send_advertisement")).toBe(1);
    n.scheduler.advance(601_000);
    expect(n.stats.get("domain0", "send_advertisement")).toBe(2);
  });

  it("a new domain0 neighbour brings the next advertisement forward to within 1-3 s", async () => {
    const n = await node();
    n.scheduler.advance(3_000);
    expect(n.stats.get("domain0", "send_advertisement")).toBe(1);
    n.scheduler.advance(60_000);
    expect(n.stats.get("domain0", "send_advertisement")).toBe(1);
    n.d0.neighbors.add({ nodeId: id(), ipv4: "127.0.0.1", port: n.s.port });
    n.scheduler.advance(3_000);
    expect(n.stats.get("domain0", "send_advertisement")).toBe(2);
  });

  it("nothing is advertised without a regular domain", async () => {
    const n = await node({ regular: false });
    n.scheduler.advance(10_000);
    await settle();
    expect(n.s.got).toHaveLength(0);
  });

  it("learns the sender's domains minus its own, replaces them on the next list, forgets them after 3600 s", async () => {
    const n = await node();
    const [x, y] = [id(), id()];
    n.feed(buildAdvDomainList([x, n.domain, DOMAIN_GLOBAL_0]));
    expect(n.m.tables.domains()).toEqual([toHex(x)]);
    n.feed(buildAdvDomainList([y]));
    expect(n.m.tables.domains()).toEqual([toHex(y)]);
    n.scheduler.advance(6_000_000); // an advertisement after 3600 s of silence forgets it
    expect(n.m.tables.domains()).toEqual([]);
  });

  it("the acceptance window: 2 cross_refs per origin domain per 600 s", () => {
    let now = 0;
    const t = new Domain0Tables({ now: () => now, maxNodes: 10, maxRequested: 10, random: Math.random });
    const origin = id();
    expect([t.accept(origin, 600_000), t.accept(origin, 600_000), t.accept(origin, 600_000)]).toEqual([true, true, false]);
    now = 600_001;
    expect(t.accept(origin, 600_000)).toBe(true);
  });

  it("tables stay bounded under a flood of advertisements and cross_refs", async () => {
    const n = await node();
    for (let i = 0; i < 300; i++) n.feed(buildAdvDomainList([id(), id()]), id());
    for (let i = 0; i < 300; i++) n.feed(buildDistributeCrossRef(id(), id()));
    const s = n.m.tables.sizes;
    expect(s.nodes).toBeLessThanOrEqual(64);
    expect(s.requested).toBeLessThanOrEqual(100);
    expect(s.margins).toBeLessThanOrEqual(100);
  });
});

function signedTx(crossRef?: { domainId: Uint8Array; transactionId: Uint8Array }): { tx: BBcTransaction; data: Uint8Array } {
  const kp = KeyPair.generate();
  const user = id();
  const tx = makeTransaction({ eventNum: 1, witness: true });
  addEventAsset(tx, 0, id(), user, { assetBody: "cross ref holder" });
  if (crossRef) tx.add({ crossRef: new BBcCrossRef(crossRef) });
  tx.witness!.addWitness(user);
  tx.addSignature(user, tx.sign(kp));
  const data = tx.serialize();
  tx.digest();
  return { tx, data };
}

describe("a hostile domain0 peer", () => {
  it("malformed messages are counted drops and the manager keeps serving", async () => {
    const n = await node();
    const cmd = (c: number) => u16Bytes(c);
    const bad: WireMessage[] = [
      { infra_msg_type: u16Bytes(4), domain_id: DOMAIN_GLOBAL_0, command: cmd(0), domain_list: 5 },
      { infra_msg_type: u16Bytes(4), domain_id: DOMAIN_GLOBAL_0, command: cmd(0), domain_list: new Map() as unknown as WireValue },
      { infra_msg_type: u16Bytes(4), domain_id: DOMAIN_GLOBAL_0, command: cmd(1), cross_ref: [id()] },
      { infra_msg_type: u16Bytes(4), domain_id: DOMAIN_GLOBAL_0, command: cmd(1), cross_ref: [id(), 7] },
      { infra_msg_type: u16Bytes(4), domain_id: DOMAIN_GLOBAL_0, command: cmd(2), cross_ref: [n.domain, id()] },
      { infra_msg_type: u16Bytes(4), domain_id: DOMAIN_GLOBAL_0, command: cmd(2), outer_domain_id: id(), txid_having_cross_ref: id(), cross_ref: [id(), id()] },
      { infra_msg_type: u16Bytes(4), domain_id: DOMAIN_GLOBAL_0, command: cmd(4), transaction_id: id() },
      { infra_msg_type: u16Bytes(4), domain_id: DOMAIN_GLOBAL_0, command: cmd(5), source_user_id: id() },
      { infra_msg_type: u16Bytes(4), domain_id: DOMAIN_GLOBAL_0, command: cmd(6), source_domain_id: id(), transaction_id: id(), source_user_id: id(), cross_ref_verification_info: [1, 2] },
      { infra_msg_type: u16Bytes(4), domain_id: DOMAIN_GLOBAL_0, command: 3 },
      { infra_msg_type: u16Bytes(4), domain_id: DOMAIN_GLOBAL_0, command: cmd(9) },
    ];
    for (const b of bad) n.feed(b);
    // REQUEST_VERIFY_FROM_OUTER_DOMAIN for a transaction we do not hold (killed v1.1.1, H13)
    n.feed(buildRequestVerifyOuter({ destination: n.d0.nodeId, sourceUserId: id(), transactionId: id(), sourceDomainId: id(), outerDomainId: n.domain, txidHavingCrossRef: id() }));
    await settle();
    expect(n.stats.get("network", "drop.bad_message")).toBeGreaterThanOrEqual(9);
    expect(n.drops("registered_unserved_domain") + n.drops("outer_no_transaction")).toBe(2);
    expect(n.crossRefs.rows).toHaveLength(0);
    // still serving: a valid advertisement is learned
    const x = id();
    n.feed(buildAdvDomainList([x]));
    expect(n.m.tables.domains()).toEqual([toHex(x)]);
  });

  it("a registration report from a node that never advertised the outer domain is not recorded", async () => {
    const n = await node();
    const outer = id();
    n.feed(buildAdvDomainList([outer]));
    const report = (src: Uint8Array) => ({
      infra_msg_type: u16Bytes(4),
      command: u16Bytes(2),
      domain_id: DOMAIN_GLOBAL_0,
      outer_domain_id: outer,
      txid_having_cross_ref: id(),
      cross_ref: [n.domain, id()],
      source_node_id: src,
    });
    n.feed(report(id()));
    await settle();
    expect(n.crossRefs.rows).toHaveLength(0);
    expect(n.drops("registered_by_stranger")).toBe(1);
    n.feed(report(n.peer));
    await wait(() => n.crossRefs.rows.length === 1);
    // and the row is replicated in the origin domain (REPLICATION_CROSS_REF, DATA 00 06)
    await wait(() => n.s.got.some((m) => (m.infra_command as Uint8Array | undefined)?.[1] === 6));
  });

  it("forged RESPONSE_VERIFY_FROM_OUTER_DOMAIN: unsolicited, from another node, or with a bad proof, never reach the user", async () => {
    const outer = id();
    const origin = { domainId: new Uint8Array(32), transactionId: id() };
    const n0 = await node();
    origin.domainId = n0.domain;
    const { tx, data } = signedTx(origin);
    void data;
    n0.feed(buildAdvDomainList([outer]));
    await n0.crossRefs.insertCrossRef(n0.domain, { transactionId: origin.transactionId, outerDomainId: outer, txidHavingCrossRef: tx.transactionId! });
    const user = id();
    tx.forIdBytes();
    const goodInfo = [tx.transactionBaseDigest!, encodeCrossRefBinary(tx.crossRef!), encodeSignatureBinary(tx.signatures[0]!), 0];
    const response = (info: WireValue[], src = n0.peer): WireMessage => ({
      infra_msg_type: u16Bytes(4),
      command: u16Bytes(6),
      domain_id: DOMAIN_GLOBAL_0,
      source_user_id: user,
      transaction_id: origin.transactionId,
      source_domain_id: n0.domain,
      source_node_id: src,
      cross_ref_verification_info: info,
    });
    n0.feed(response(goodInfo)); // unsolicited
    await n0.m.requestVerify(n0.domain, { transaction_id: origin.transactionId, source_user_id: user, domain_id: n0.domain });
    await wait(() => n0.s.got.some((m) => (m.command as Uint8Array)?.[1] === 5));
    n0.feed(response(goodInfo, id())); // from a node we did not ask
    const forged = [...goodInfo];
    forged[0] = id();
    n0.feed(response(forged)); // proof does not verify
    expect(n0.sent).toHaveLength(0);
    expect(n0.drops("unsolicited_proof")).toBe(2);
    expect(n0.drops("proof_invalid")).toBe(1);
    n0.feed(response(goodInfo));
    expect(n0.sent).toHaveLength(1);
    expect(n0.sent[0]).toMatchObject({ command: 91, destination_user_id: user, transaction_id: origin.transactionId });
  });

  it("a registration whose origin domain is not yet advertised is reported once the origin's advertisement arrives", async () => {
    const n = await node();
    const origin = id();
    const cr = { domainId: origin, transactionId: id() };
    n.feed(buildDistributeCrossRef(origin, cr.transactionId)); // accepted before the origin advertised
    const holder = id();
    n.m.transactionInserted(n.domain, holder, cr);
    await settle();
    const reported = () => n.s.got.filter((m) => (m.infra_msg_type as Uint8Array)[1] === 4 && (m.command as Uint8Array)[1] === 2);
    expect(reported()).toHaveLength(0);
    expect(n.stats.get("domain0", "registration_deferred")).toBe(1);
    n.feed(buildAdvDomainList([origin]));
    await wait(() => reported().length === 1);
    expect(reported()[0]).toMatchObject({ outer_domain_id: n.domain, txid_having_cross_ref: holder, cross_ref: [origin, cr.transactionId] });
  });

  it("the outer side proves a valid transaction and asks for repair of an invalid one", async () => {
    const origin = { domainId: id(), transactionId: id() };
    const good = signedTx(origin);
    const bad = signedTx(origin);
    const tampered = bad.data.slice();
    tampered[tampered.length - 1]! ^= 1;
    const ledger = new Map([
      [toHex(good.tx.transactionId!), good.data],
      [toHex(bad.tx.transactionId!), tampered],
    ]);
    const n = await node({ ledger });
    const ask = (txid: Uint8Array) =>
      n.feed(buildRequestVerifyOuter({ destination: n.d0.nodeId, sourceUserId: id(), transactionId: origin.transactionId, sourceDomainId: origin.domainId, outerDomainId: n.domain, txidHavingCrossRef: txid }));
    ask(bad.tx.transactionId!);
    await wait(() => n.repairs.length === 1);
    ask(good.tx.transactionId!);
    await wait(() => n.s.got.some((m) => (m.command as Uint8Array)?.[1] === 6));
    const resp = n.s.got.find((m) => (m.command as Uint8Array)?.[1] === 6)!;
    expect(resp.outer_domain_id).toBeUndefined();
    expect(parseVerificationInfo(resp.cross_ref_verification_info).formatType).toBe(0);
  });
});

const wireValue: fc.Arbitrary<WireValue> = fc.letrec((tie) => ({
  v: fc.oneof(
    { depthSize: "small" },
    fc.uint8Array({ maxLength: 40 }),
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie("v"), { maxLength: 5 }),
  ),
})).v as fc.Arbitrary<WireValue>;

describe("decoders (fast-check)", () => {
  it("parseCrossRef / parseDomainList / parseVerificationInfo accept or throw NetError only", () => {
    fc.assert(
      fc.property(wireValue, (v) => {
        for (const f of [() => parseCrossRef(v), () => parseDomainList(v, 8), () => parseVerificationInfo(v)]) {
          try {
            f();
          } catch (e) {
            if (!isNetError(e)) throw e;
          }
        }
      }),
      { numRuns: 2000 },
    );
  });

  it("parseDomainList keeps only distinct 32-byte entries, at most max", () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ maxLength: 33 }), fc.integer()), { maxLength: 20 }), fc.integer({ min: 0, max: 10 }), (list, max) => {
        const out = parseDomainList(list, max);
        expect(out.length).toBeLessThanOrEqual(max);
        expect(new Set(out.map(toHex)).size).toBe(out.length);
        for (const d of out) expect(d.length).toBe(32);
      }),
    );
  });

  it("any DOMAIN0 map fed to a node is handled or dropped; the node keeps serving", async () => {
    const n = await node();
    await fc.assert(
      fc.asyncProperty(
        fc.record({ command: fc.oneof(fc.constantFrom(0, 1, 2, 4, 5, 6).map((c) => u16Bytes(c)), wireValue), a: wireValue, b: wireValue, c: wireValue }),
        async ({ command, a, b, c }) => {
          n.feed({ infra_msg_type: u16Bytes(4), domain_id: DOMAIN_GLOBAL_0, command, domain_list: a, cross_ref: b, cross_ref_verification_info: c, outer_domain_id: a, txid_having_cross_ref: b, transaction_id: c, source_user_id: a });
        },
      ),
      { numRuns: 300 },
    );
    await settle();
    const x = id();
    n.feed(buildAdvDomainList([x]));
    expect(n.m.tables.domains()).toContain(toHex(x));
  });
});
