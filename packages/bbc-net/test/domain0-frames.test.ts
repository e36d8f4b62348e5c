/**
 * The domain0 scenario of fixtures/p2p-frames.json replayed through our Domain0Manager: real
 * networks on loopback stand in for A0 / B0 / A1 / B1 (node ids from the capture's setup), the
 * captured frames they received are fed in, and what they send is compared byte for byte with
 * what the reference sent. Cases are selected by their fields (scenario, message, sender);
 * the run's test settings (CROSS_REF_PROBABILITY 1.0, MAX_CROSS_REF_STOCK 0) are read from its
 * `patches`.
 */
import { createSocket, type Socket } from "node:dgram";
import { afterEach, describe, expect, it } from "vitest";
import { fromHex, toHex, verifyUsingCrossRef } from "@bbc1/bbclib";
import { decodePayload, encodeMessage, splitFrame, type WireMessage } from "@bbc1/wire";
import {
  BBcNetwork,
  CrossRefStock,
  DOMAIN_GLOBAL_0,
  Domain0Manager,
  ManualScheduler,
  buildDistributeCrossRef,
  buildResponseVerifyOuter,
  parseVerificationInfo,
  sendRequestVerify,
  type CrossRefRow,
  type CrossRefStore,
} from "../src/index.js";
import { loadFrames, tagMessage, untagMessage, type FrameCase } from "./helpers.js";

const file = loadFrames();
const cases = file.cases.filter((c) => c.scenario === "domain0");
const run = file.setup.runs[cases[0]!.run]! as (typeof file.setup.runs)[string] & {
  patches: Record<string, Record<string, number>>;
  users: Record<string, { user_id: string; node: string; domain_id: string }>;
};
const patch = (name: string): number => {
  for (const m of Object.values(run.patches)) for (const [k, v] of Object.entries(m)) if (k.endsWith(`.${name}`)) return v;
  throw new Error(`no patch ${name}`);
};
const D0 = toHex(DOMAIN_GLOBAL_0);
const find = (message: string, sender?: string): FrameCase => {
  const c = cases.find((x) => x.message === message && (sender === undefined || x.sender === sender));
  if (c === undefined) throw new Error(`no ${message} case`);
  return c;
};
/** Role names from the setup: the domain0 node / plain node of each regular domain. */
const domainsOf = (node: string) => Object.keys(run.nodes[node]!.node_ids).filter((d) => d !== D0);
const roles = Object.keys(run.nodes);
const d0Nodes = roles.filter((n) => run.nodes[n]!.domain0);
const nodeId = (node: string, domain: string) => fromHex(run.nodes[node]!.node_ids[domain]!);
/** The msgpack body the reference sent (plaintext of encrypted frames). */
const bodyOf = (c: FrameCase): string => (c.payload_type === 3 ? c.encryption!.plaintext : toHex(splitFrame(fromHex(c.frame)).body));
/** The captured frame as a plaintext datagram (our receivers hold none of the capture's keys). */
const plainFrame = (c: FrameCase): Uint8Array => encodeMessage(2, untagMessage(c.decoded));

class MemCrossRefs implements CrossRefStore {
  readonly rows = new Map<string, CrossRefRow[]>();
  async insertCrossRef(domainId: Uint8Array, row: CrossRefRow): Promise<boolean> {
    const k = toHex(domainId);
    const list = this.rows.get(k) ?? [];
    list.push(row);
    this.rows.set(k, list);
    return true;
  }
  async getCrossRefs(domainId: Uint8Array, transactionId: Uint8Array): Promise<CrossRefRow[]> {
    return (this.rows.get(toHex(domainId)) ?? []).filter((r) => toHex(r.transactionId) === toHex(transactionId));
  }
}

const open: Array<{ close(): unknown }> = [];
afterEach(async () => {
  for (const o of open.splice(0)) await o.close();
});

/** A UDP socket standing in for every peer: records DOMAIN0 / USER / DATA messages. */
async function sink(): Promise<{ port: number; got: WireMessage[]; bodies: string[] }> {
  const s: Socket = createSocket("udp4");
  const got: WireMessage[] = [];
  const bodies: string[] = [];
  s.on("message", (b) => {
    const f = splitFrame(new Uint8Array(b));
    const m = decodePayload(f.payloadType, f.body);
    const cat = m.infra_msg_type as Uint8Array;
    if (cat[1] === 0 || cat[1] === 1) return; // ping / key exchange / neighbour lists
    got.push(m);
    bodies.push(toHex(f.body));
  });
  await new Promise<void>((r) => s.bind(0, "127.0.0.1", () => r()));
  sinkPort = s.address().port;
  open.push({ close: () => new Promise<void>((r) => s.close(() => r())) });
  return { port: s.address().port, got, bodies };
}

/** A network playing `node` of the capture, with `peers` as its neighbours (all at the sink). */
async function play(node: string, port: number, peers: string[], sent: Array<{ domain: string; msg: WireMessage }>) {
  const scheduler = new ManualScheduler();
  const net = new BBcNetwork({ host4: "127.0.0.1", port: 0, scheduler, timings: { domain0FirstAdvertiseMs: 100 } });
  await net.start();
  open.push(net);
  for (const d of Object.keys(run.nodes[node]!.node_ids).sort((a, b) => (a === D0 ? -1 : b === D0 ? 1 : 0))) {
    const dom = net.createDomain(fromHex(d), { nodeId: nodeId(node, d) });
    for (const p of peers) {
      const id = run.nodes[p]!.node_ids[d];
      if (id !== undefined) dom.neighbors.add({ nodeId: fromHex(id), ipv4: "127.0.0.1", port, domain0: run.nodes[p]!.domain0 && d !== D0 });
    }
  }
  const crossRefs = new MemCrossRefs();
  const m = new Domain0Manager(
    { network: net, crossRefs, ledger: { getTransactionData: async () => null }, sendToUser: (domain, msg) => sent.push({ domain: toHex(domain), msg }), logger: net.logger },
    { crossRefProbability: patch("CROSS_REF_PROBABILITY") },
  );
  net.setDomain0Handler(m);
  m.start();
  return { net, m, scheduler, crossRefs };
}

let sinkPort = 0;
const from = (_c: FrameCase) => ({ address: "127.0.0.1", port: sinkPort, family: 4 as const, transport: "udp" as const });
const until = async (cond: () => boolean) => {
  for (let i = 0; i < 400 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(cond()).toBe(true);
};

describe("domain0 scenario of p2p-frames.json", () => {
  const a0 = d0Nodes.find((n) => domainsOf(n)[0] === cases.find((c) => c.message === "REQUEST_VERIFY")!.domain_id)!;
  const b0 = d0Nodes.find((n) => n !== a0)!;
  const a1 = roles.find((n) => !run.nodes[n]!.domain0 && domainsOf(n)[0] === domainsOf(a0)[0])!;
  const b1 = roles.find((n) => !run.nodes[n]!.domain0 && domainsOf(n)[0] === domainsOf(b0)[0])!;

  it("the origin-side domain0 node: ADV_DOMAIN_LIST, REPLICATION_CROSS_REF, REQUEST_VERIFY_FROM_OUTER_DOMAIN, RESPONSE_CROSS_REF_VERIFY as captured", async () => {
    const s = await sink();
    const sent: Array<{ domain: string; msg: WireMessage }> = [];
    const { net, scheduler, crossRefs } = await play(a0, s.port, [a1, b0], sent);
    scheduler.advance(200);
    await until(() => s.got.length >= 1);
    expect(s.bodies[0]).toBe(bodyOf(find("ADV_DOMAIN_LIST", a0)));
    // what it heard from the outer domain's domain0 node
    net.handleFrame(plainFrame(find("ADV_DOMAIN_LIST", b0)), from(find("ADV_DOMAIN_LIST", b0)));
    const reg = find("NOTIFY_CROSS_REF_REGISTERED");
    net.handleFrame(plainFrame(reg), from(reg));
    const rep = find("REPLICATION_CROSS_REF");
    await until(() => s.bodies.includes(bodyOf(rep)));
    expect(crossRefs.rows.get(rep.domain_id)!.map((r) => toHex(r.txidHavingCrossRef))).toEqual([toHex(untagMessage(reg.decoded).txid_having_cross_ref as Uint8Array)]);
    // a client of the plain node asks; the request goes to the outer domain
    const rv = find("REQUEST_VERIFY");
    net.handleFrame(plainFrame(rv), from(rv));
    await until(() => s.bodies.includes(bodyOf(find("REQUEST_VERIFY_FROM_OUTER_DOMAIN"))));
    // the proof comes back and goes to the user, checked on the way
    net.handleFrame(plainFrame(find("RESPONSE_VERIFY_FROM_OUTER_DOMAIN")), from(rv));
    expect(sent).toHaveLength(1);
    const routed = find("USER_PAYLOAD(RESPONSE_CROSS_REF_VERIFY)");
    const want = tagMessage(untagMessage(routed.decoded)).filter(([k]) => k !== "destination_node_id" && k !== "source_node_id");
    expect(tagMessage(sent[0]!.msg)).toEqual(want);
    expect(sent[0]!.domain).toBe(routed.domain_id);
  });

  it("the outer-side domain0 node: CROSS_REF_ASSIGNMENT, DISTRIBUTE_CROSS_REF, NOTIFY_CROSS_REF_REGISTERED as captured", async () => {
    const s = await sink();
    const { net, m, scheduler } = await play(b0, s.port, [b1, a0], []);
    scheduler.advance(200);
    await until(() => s.bodies.includes(bodyOf(find("ADV_DOMAIN_LIST", b0))));
    net.handleFrame(plainFrame(find("ADV_DOMAIN_LIST", a0)), from(find("ADV_DOMAIN_LIST", a0)));
    const asg = find("CROSS_REF_ASSIGNMENT");
    const cr = untagMessage(asg.decoded).cross_ref as Uint8Array[];
    // the origin's DISTRIBUTE_CROSS_REF (not in the capture): built by us from the origin's ids
    const dist = buildDistributeCrossRef(cr[0]!, cr[1]!);
    dist.destination_node_id = nodeId(b0, D0);
    dist.source_node_id = nodeId(a0, D0);
    net.handleFrame(encodeMessage(2, dist), from(asg));
    await until(() => s.bodies.includes(bodyOf(asg)));
    // the outer transaction holding the cross_ref is inserted on the outer-side node
    const out = find("DISTRIBUTE_CROSS_REF", b0);
    const reg = find("NOTIFY_CROSS_REF_REGISTERED", b0);
    const outerTx = (untagMessage(out.decoded).cross_ref as Uint8Array[])[1]!;
    m.transactionInserted(fromHex(domainsOf(b0)[0]!), outerTx, { domainId: cr[0]!, transactionId: cr[1]! });
    await until(() => s.bodies.includes(bodyOf(out)) && s.bodies.includes(bodyOf(reg)));
  });

  it("the plain nodes: REQUEST_VERIFY from the client's map, NOTIFY_CROSS_REF from CROSS_REF_ASSIGNMENT", async () => {
    const s = await sink();
    const net = new BBcNetwork({ host4: "127.0.0.1", port: 0, scheduler: new ManualScheduler() });
    await net.start();
    open.push(net);
    const rv = find("REQUEST_VERIFY");
    const dom = net.createDomain(fromHex(rv.domain_id), { nodeId: nodeId(a1, rv.domain_id) });
    dom.neighbors.add({ nodeId: nodeId(a0, rv.domain_id), ipv4: "127.0.0.1", port: s.port, domain0: false });
    const client = Object.fromEntries(Object.entries(untagMessage(rv.decoded)).filter(([k]) => !["destination_node_id", "infra_msg_type", "source_node_id"].includes(k))) as WireMessage;
    client.command = 90;
    // H10: never to a neighbour not flagged domain0
    expect(sendRequestVerify(dom, client)).toBe(false);
    dom.neighbors.get(nodeId(a0, rv.domain_id))!.isDomain0Node = true;
    expect(sendRequestVerify(dom, client)).toBe(true);
    await until(() => s.bodies.includes(bodyOf(rv)));

    const asg = find("CROSS_REF_ASSIGNMENT");
    const user = Object.values(run.users).find((u) => u.node === b1)!;
    const delivered: WireMessage[] = [];
    const stock = new CrossRefStock({
      domainId: fromHex(asg.domain_id),
      maxStock: patch("MAX_CROSS_REF_STOCK"),
      users: { isRegistered: () => true, registeredUsers: () => [fromHex(user.user_id)], deliver: (_d, _u, msg) => (delivered.push(msg), true) },
    });
    stock.handle(untagMessage(asg.decoded));
    expect(delivered).toHaveLength(1);
    expect(delivered[0]).toMatchObject({ command: 74, destination_user_id: fromHex(user.user_id), cross_ref: untagMessage(asg.decoded).cross_ref });
  });

  it("the captured proof verifies with verifyUsingCrossRef, and our response builder rewrites the request as the reference did", () => {
    const req = untagMessage(find("REQUEST_VERIFY_FROM_OUTER_DOMAIN").decoded);
    const resp = find("RESPONSE_VERIFY_FROM_OUTER_DOMAIN");
    const r = untagMessage(resp.decoded);
    const info = parseVerificationInfo(r.cross_ref_verification_info);
    expect(verifyUsingCrossRef(r.source_domain_id as Uint8Array, r.transaction_id as Uint8Array, info.transactionBaseDigest, info.crossRef, info.signature, info.formatType as 0)).toBe(true);
    const built = buildResponseVerifyOuter(req, req.source_node_id as Uint8Array, info);
    built.source_node_id = r.source_node_id as Uint8Array; // the sender's id, set in place by the send
    expect(toHex(encodeMessage(2, built).subarray(8))).toBe(bodyOf(resp));
  });
});
