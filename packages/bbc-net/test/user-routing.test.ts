/**
 * User routing (§8) between in-memory nodes on a test clock: resolution and its timeout,
 * forwarding entries and their lifetime, NO_SUCH_USER, multicast, anycast, insert
 * notifications, bounds, and the v1.1.1 crashes that must not be copied (§14 H11, Q25, Q26, Q28, Q35).
 */
import { describe, expect, it } from "vitest";
import { getNewId, toHex } from "@bbc1/bbclib";
import { u16Bytes, type WireMessage } from "@bbc1/wire";
import { CANNOT_FIND_USER, ManualScheduler } from "../src/index.js";
import { RoutingNode, mesh } from "./routing-harness.js";

const D = getNewId("routing domain");
const text = (s: string) => new TextEncoder().encode(s);
const U1 = getNewId("U1");
const U2 = getNewId("U2");
const UM = getNewId("UM");

function nodes(n: number, extra: ConstructorParameters<typeof RoutingNode>[3] = {}): { clock: ManualScheduler; ns: RoutingNode[] } {
  const clock = new ManualScheduler();
  const ns = Array.from({ length: n }, (_, i) => new RoutingNode(D, getNewId(`node ${i}`), clock, extra));
  mesh(ns);
  return { clock, ns };
}

const message = (src: Uint8Array, dst: Uint8Array, body = "hi", extra: WireMessage = {}): WireMessage => ({
  domain_id: D,
  command: 66,
  source_user_id: src,
  destination_user_id: dst,
  message: text(body),
  ...extra,
});
const cmds = (n: RoutingNode) => n.net.sent.map((s) => (s.msg.infra_command instanceof Uint8Array ? s.msg.infra_command[1] : "payload"));

describe("user routing between nodes", () => {
  it("resolves a user on another node, forwards the queued message, then goes direct", () => {
    const { ns } = nodes(3);
    const [a, b, c] = ns as [RoutingNode, RoutingNode, RoutingNode];
    a.users.add(U1);
    b.users.add(U2);
    expect(a.routing.sendToUser(message(U1, U2, "one"))).toBe(true);
    // RESOLVE to b and c, RESPONSE from b, then the payload to b
    expect([...cmds(a)].map(String).sort()).toEqual(["0", "0", "payload"]);
    expect(cmds(b)).toEqual([1]);
    expect(cmds(c)).toEqual([]);
    expect(b.users.delivered.map((d) => new TextDecoder().decode(d.msg.message as Uint8Array))).toEqual(["one"]);
    // the delivered map carries the infra keys as in v1.1.1
    expect(b.users.delivered[0]!.msg.infra_msg_type).toEqual(u16Bytes(2));
    expect(toHex(b.users.delivered[0]!.msg.source_node_id as Uint8Array)).toBe(toHex(a.nodeId));
    a.net.take();
    a.routing.sendToUser(message(U1, U2, "two"));
    expect(cmds(a)).toEqual(["payload"]);
    // the answer goes straight back through the reverse entry made by the RESOLVE
    b.net.take();
    b.routing.sendToUser(message(U2, U1, "back"));
    expect(cmds(b)).toEqual(["payload"]);
    expect(a.users.delivered.map((d) => new TextDecoder().decode(d.msg.message as Uint8Array))).toEqual(["back"]);
  });

  it("an unanswered resolution bounces the message to its sender after the resolve timeout, once", () => {
    const { clock, ns } = nodes(2);
    const [a, b] = ns as [RoutingNode, RoutingNode];
    a.users.add(U1);
    a.routing.sendToUser(message(U1, U2));
    expect(a.routing.pendingResolves).toBe(1);
    clock.advance(4_999);
    expect(a.users.delivered).toEqual([]);
    clock.advance(1);
    expect(a.users.delivered).toHaveLength(1);
    const back = a.users.delivered[0]!.msg;
    expect(back.result).toBe(false);
    expect(new TextDecoder().decode(back.reason as Uint8Array)).toBe(CANNOT_FIND_USER);
    expect(toHex(back.destination_user_id as Uint8Array)).toBe(toHex(U1));
    expect(a.routing.pendingResolves).toBe(0);
    expect(a.routing.queuedBytes).toBe(0);
    expect(b.errors).toEqual([]);
  });

  it("a bounce nobody can take is dropped, not resolved every 5 s forever (Q28)", () => {
    const { clock, ns } = nodes(2);
    const [a] = ns as [RoutingNode];
    // sender not registered anywhere (it unregistered, or sends to itself)
    a.routing.sendToUser(message(U1, U1));
    clock.advance(5_000);
    expect(a.routing.pendingResolves).toBe(1); // the bounce is resolved once
    clock.advance(5_000);
    expect(a.routing.pendingResolves).toBe(0);
    clock.advance(60_000);
    expect(cmds(a).filter((x) => x === 0)).toHaveLength(2); // one RESOLVE to the single peer, twice in all
    expect(a.stats.get("user_message", "drop.bounce_undeliverable")).toBe(1);
  });

  it("messages for the same pair share one resolution; the queue is bounded", () => {
    const { ns } = nodes(2, { limits: { maxForwardingEntries: 10, maxNodesPerForwardingEntry: 4, maxPendingResolves: 2, maxMessagesPerResolve: 3, resolveQueueBytes: 1 << 20 } });
    const [a] = ns as [RoutingNode];
    a.users.add(U1);
    for (let i = 0; i < 3; i++) expect(a.routing.sendToUser(message(U1, U2, `m${i}`))).toBe(true);
    expect(a.routing.sendToUser(message(U1, U2, "m3"))).toBe(false);
    expect(cmds(a)).toEqual([0]);
    expect(a.routing.sendToUser(message(U1, getNewId("x")))).toBe(true);
    expect(a.routing.sendToUser(message(U1, getNewId("y")))).toBe(false);
    expect(a.refused).toEqual(["messages_per_resolve", "pending_resolves"]);
    expect(a.stats.get("user_message", "refused.pending_resolves")).toBe(1);
  });

  it("queued bytes are bounded", () => {
    const { ns } = nodes(2, { limits: { maxForwardingEntries: 10, maxNodesPerForwardingEntry: 4, maxPendingResolves: 100, maxMessagesPerResolve: 100, resolveQueueBytes: 1000 } });
    const [a] = ns as [RoutingNode];
    expect(a.routing.sendToUser(message(U1, U2, "x".repeat(600)))).toBe(true);
    expect(a.routing.sendToUser(message(U1, U2, "x".repeat(600)))).toBe(false);
    expect(a.refused).toEqual(["resolve_queue_bytes"]);
    expect(a.routing.queuedBytes).toBeLessThanOrEqual(1000);
  });

  it("one owner's resolutions are bounded by its own quota; another owner still resolves; the refused map comes back at once", () => {
    const { clock, ns } = nodes(2, { limits: { maxForwardingEntries: 10, maxNodesPerForwardingEntry: 4, maxPendingResolves: 8, maxMessagesPerResolve: 100, resolveQueueBytes: 1 << 20 } });
    const [a] = ns as [RoutingNode];
    const X = getNewId("attacker");
    a.users.add(X);
    a.users.add(U1);
    const owner = (key: string) => ({ key, maxPendingResolves: 3, maxQueuedBytes: 1 << 20, refusals: { pendingResolves: "pending_resolves_per_connection", queuedBytes: "resolve_queue_bytes_per_connection" } });
    const nobody = Array.from({ length: 5 }, (_, i) => getNewId(`nobody ${i}`));
    for (let i = 0; i < 3; i++) expect(a.routing.sendToUser(message(X, nobody[i]!), { owner: owner("c1") })).toBe(true);
    // the fourth unknown destination of the same connection: refused, returned at once, no RESOLVE
    const resolvesBefore = cmds(a).filter((x) => x === 0).length;
    expect(a.routing.sendToUser(message(X, nobody[3]!), { owner: owner("c1") })).toBe(false);
    expect(cmds(a).filter((x) => x === 0).length).toBe(resolvesBefore);
    expect(a.refused).toEqual(["pending_resolves_per_connection"]);
    expect(a.stats.get("user_message", "refused.pending_resolves_per_connection")).toBe(1);
    const back = a.users.delivered.at(-1)!.msg;
    expect(toHex(back.destination_user_id as Uint8Array)).toBe(toHex(X));
    expect(back.result).toBe(false);
    expect(new TextDecoder().decode(back.reason as Uint8Array)).toBe("Too many messages waiting for a user location");
    // a message behind one of its own pending resolutions needs no new slot
    expect(a.routing.sendToUser(message(X, nobody[0]!), { owner: owner("c1") })).toBe(true);
    // another connection is not affected
    expect(a.routing.sendToUser(message(U1, U2), { owner: owner("c2") })).toBe(true);
    expect(a.routing.accountOf("c1")).toMatchObject({ pending: 3 });
    expect(a.routing.accountOf("c2")).toMatchObject({ pending: 1 });
    // the accounts empty when the resolutions end
    clock.advance(5_000);
    expect(a.routing.accountOf("c1")).toEqual({ pending: 0, bytes: 0 });
    expect(a.routing.accountOf("c2")).toEqual({ pending: 0, bytes: 0 });
    expect(a.routing.sendToUser(message(X, nobody[4]!), { owner: owner("c1") })).toBe(true);
  });

  it("an owner's queued bytes are bounded (one map is admitted whatever its size)", () => {
    const { ns } = nodes(2, { limits: { maxForwardingEntries: 10, maxNodesPerForwardingEntry: 4, maxPendingResolves: 100, maxMessagesPerResolve: 100, resolveQueueBytes: 1 << 20 } });
    const [a] = ns as [RoutingNode];
    const owner = { key: "p1", maxPendingResolves: 100, maxQueuedBytes: 500, refusals: { pendingResolves: "pending_resolves_per_peer", queuedBytes: "resolve_queue_bytes_per_peer" } };
    expect(a.routing.sendToUser(message(U1, U2, "x".repeat(600)), { owner })).toBe(true);
    expect(a.routing.sendToUser(message(U1, getNewId("z"), "x".repeat(10)), { owner })).toBe(false);
    expect(a.refused).toEqual(["resolve_queue_bytes_per_peer"]);
    // without an owner only the domain's totals apply
    expect(a.routing.sendToUser(message(U1, getNewId("z"), "x".repeat(10)))).toBe(true);
  });

  it("forwarding entries die 300 s after creation whatever the traffic (Q15), then routing resolves again", () => {
    const { clock, ns } = nodes(2);
    const [a, b] = ns as [RoutingNode, RoutingNode];
    a.users.add(U1);
    b.users.add(U2);
    a.routing.sendToUser(message(U1, U2));
    a.net.take();
    clock.advance(299_000);
    a.routing.sendToUser(message(U1, U2));
    b.routing.sendToUser(message(U2, U1));
    expect(cmds(a)).toEqual(["payload"]);
    a.net.take();
    clock.advance(1_000);
    expect(a.routing.forwardingEntry(U2)).toBeUndefined();
    a.routing.sendToUser(message(U1, U2));
    expect(cmds(a)).toEqual([0, "payload"]);
  });

  it("a stale entry: the node answers NO_SUCH_USER, the message is lost, the node leaves the entry", () => {
    const { ns } = nodes(2);
    const [a, b] = ns as [RoutingNode, RoutingNode];
    a.users.add(U1);
    b.users.add(U2);
    a.routing.sendToUser(message(U1, U2));
    b.users.remove(U2);
    b.users.delivered.length = 0;
    a.routing.sendToUser(message(U1, U2));
    expect(cmds(b)).toEqual([1, 2]);
    expect(b.users.delivered).toEqual([]);
    expect(a.routing.forwardingEntry(U2)).toBeUndefined();
    expect(b.stats.get("user_message", "fail_to_find_user")).toBe(1);
  });

  it("a node that is not a neighbour any more leaves the entry and the message is resolved again", () => {
    const { ns } = nodes(3);
    const [a, b, c] = ns as [RoutingNode, RoutingNode, RoutingNode];
    a.users.add(U1);
    b.users.add(U2);
    a.routing.sendToUser(message(U1, U2));
    a.net.neighbours.delete(toHex(b.nodeId));
    a.net.take();
    c.users.add(U2);
    a.routing.sendToUser(message(U1, U2, "moved"));
    expect(cmds(a)).toEqual([0, "payload"]);
    expect(c.users.delivered.map((d) => new TextDecoder().decode(d.msg.message as Uint8Array))).toEqual(["moved"]);
  });
});

describe("multicast and insert notifications", () => {
  it("a user on several nodes gets a message on each (JOIN), LEAVE removes a node", () => {
    const { ns } = nodes(3);
    const [a, b, c] = ns as [RoutingNode, RoutingNode, RoutingNode];
    a.users.add(U1);
    b.users.add(UM);
    c.users.add(UM);
    b.routing.join(UM);
    c.routing.join(UM);
    expect(a.routing.forwardingNodes(UM)).toHaveLength(2);
    expect(a.routing.forwardingEntry(UM)!.expiresAt).not.toBeNull();
    a.routing.sendToUser(message(U1, UM, "to all"));
    expect(b.users.delivered).toHaveLength(1);
    expect(c.users.delivered).toHaveLength(1);
    c.routing.leave(UM);
    expect(a.routing.forwardingNodes(UM).map(toHex)).toEqual([toHex(b.nodeId)]);
    // a LEAVE from a node not in the entry, or for no entry: harmless (Q26)
    c.routing.leave(UM);
    c.routing.leave(U2);
    expect(a.errors).toEqual([]);
    expect(a.stats.get("multicast", "join")).toBe(0);
    expect(b.stats.get("multicast", "join")).toBe(1);
  });

  it("asset-group JOINs are permanent; NOTIFY_INSERTED reaches joined nodes once, naming all groups; LEAVE stops it", () => {
    const { clock, ns } = nodes(3);
    const [a, b, c] = ns as [RoutingNode, RoutingNode, RoutingNode];
    const g1 = getNewId("g1");
    const g2 = getNewId("g2");
    b.routing.join(g1, true);
    b.routing.join(g2, true);
    clock.advance(3_600_000);
    expect(a.routing.forwardingEntry(g1)!.expiresAt).toBeNull();
    const txid = getNewId("tx");
    expect(a.notify.notifyNodes(txid, [g1, g2])).toBe(1);
    expect(b.notified.map((n) => [toHex(n.txid), n.groups.length])).toEqual([[toHex(txid), 2]]);
    expect(c.notified).toEqual([]);
    // a user payload whose source_user_id has a permanent entry crashed v1.1.1 (Q35): delivered here
    c.users.add(U2);
    c.receive({ ...message(g1, U2), infra_msg_type: u16Bytes(2) }, b.nodeId);
    expect(c.errors).toEqual([]);
    b.routing.leave(g1);
    b.routing.leave(g2);
    expect(a.notify.notifyNodes(txid, [g1, g2])).toBe(0);
  });
});

describe("anycast", () => {
  it("goes to one random node of the entry with anycast_ttl decremented; the receiver delivers without is_anycast", () => {
    const { ns } = nodes(3);
    const [a, b, c] = ns as [RoutingNode, RoutingNode, RoutingNode];
    const UA = getNewId("UANY");
    b.users.add(UA);
    c.users.add(UA);
    b.routing.join(UA);
    c.routing.join(UA);
    for (let i = 0; i < 20; i++) a.routing.sendToUser(message(U1, UA, `a${i}`, { is_anycast: true, anycast_ttl: 5 }));
    const got = [...b.users.delivered, ...c.users.delivered];
    expect(got).toHaveLength(20);
    expect(b.users.delivered.length).toBeGreaterThan(0);
    expect(c.users.delivered.length).toBeGreaterThan(0);
    for (const d of got) {
      expect(d.msg.is_anycast).toBeUndefined();
      expect(d.msg.anycast_ttl).toBe(4);
    }
    // a node with no other user registered and not hosting the user never crashes (Q25), and places it remotely
    expect(a.errors).toEqual([]);
  });

  it("a local user is one of the choices; without any place or TTL the message is dropped", () => {
    const seq = [0.99, 0.0];
    let i = 0;
    const { ns } = nodes(2, { random: () => seq[i++ % seq.length]! });
    const [a, b] = ns as [RoutingNode, RoutingNode];
    const UA = getNewId("UANY");
    a.users.add(UA);
    b.users.add(UA);
    b.routing.join(UA);
    expect(a.routing.sendToUser(message(U1, UA, "x", { is_anycast: true, anycast_ttl: 5 }))).toBe(true);
    expect(a.users.delivered.map((d) => d.anycast)).toEqual([true]);
    expect(a.routing.sendToUser(message(U1, UA, "x", { is_anycast: true, anycast_ttl: 0 }))).toBe(false);
    expect(a.routing.sendToUser(message(U1, getNewId("nobody"), "x", { is_anycast: true, anycast_ttl: 5 }))).toBe(false);
    expect(cmds(a).filter((x) => x === 0)).toEqual([]); // anycast never resolves
  });

  it("a node that does not host the user passes it on with the received TTL; at 0 it stops", () => {
    const { ns } = nodes(3);
    const [a, b, c] = ns as [RoutingNode, RoutingNode, RoutingNode];
    const UA = getNewId("UANY");
    c.users.add(UA);
    c.routing.join(UA);
    // b learned that a hosts UA (wrongly) : a does not host it, passes it on to c
    a.receive({ ...message(U1, UA, "hop", { is_anycast: true, anycast_ttl: 2 }), infra_msg_type: u16Bytes(2) }, b.nodeId);
    expect(c.users.delivered).toHaveLength(1);
    expect(c.users.delivered[0]!.msg.anycast_ttl).toBe(1);
    a.receive({ ...message(U1, UA, "end", { is_anycast: true, anycast_ttl: 0 }), infra_msg_type: u16Bytes(2) }, b.nodeId);
    expect(c.users.delivered).toHaveLength(1);
    expect(a.stats.get("user_message", "drop.anycast_unplaced")).toBe(1);
  });
});

describe("hostile input is a typed drop; the tables stay bounded", () => {
  it("user payloads and commands missing their ids are BAD_MESSAGE (they crashed v1.1.1, H11)", () => {
    const { ns } = nodes(2);
    const [a, b] = ns as [RoutingNode, RoutingNode];
    const bad: WireMessage[] = [
      { infra_msg_type: u16Bytes(2), domain_id: D, destination_user_id: U1 },
      { infra_msg_type: u16Bytes(2), domain_id: D, source_user_id: U1 },
      { infra_msg_type: u16Bytes(2), domain_id: D, infra_command: u16Bytes(0) },
      { infra_msg_type: u16Bytes(2), domain_id: D, infra_command: u16Bytes(2) },
      { infra_msg_type: u16Bytes(2), domain_id: D, infra_command: u16Bytes(3), user_id: 7 },
      { infra_msg_type: u16Bytes(2), domain_id: D, infra_command: u16Bytes(1), source_user_id: new Uint8Array(0) },
      { infra_msg_type: u16Bytes(2), domain_id: D, infra_command: u16Bytes(9) },
      { infra_msg_type: u16Bytes(2), domain_id: D, infra_command: new Uint8Array(3) },
    ];
    for (const m of bad) a.receive(m, b.nodeId);
    expect(a.errors).toHaveLength(bad.length);
    for (const e of a.errors) expect((e as { code: string }).code).toBe("BAD_MESSAGE");
  });

  it("a RESOLVE without source_user_id is still answered (no reverse entry)", () => {
    const { ns } = nodes(2);
    const [a, b] = ns as [RoutingNode, RoutingNode];
    a.users.add(U1);
    a.receive({ infra_msg_type: u16Bytes(2), domain_id: D, infra_command: u16Bytes(0), destination_user_id: U1, nonce: 5 }, b.nodeId);
    expect(a.errors).toEqual([]);
    expect(cmds(a)).toEqual([1]);
  });

  it("JOIN floods fill the table up to its bound; the oldest expiring entry makes room, permanent ones are kept", () => {
    const { ns } = nodes(2, { limits: { maxForwardingEntries: 5, maxNodesPerForwardingEntry: 2, maxPendingResolves: 4, maxMessagesPerResolve: 4, resolveQueueBytes: 1 << 16 } });
    const [a, b] = ns as [RoutingNode, RoutingNode];
    const keep = getNewId("keep");
    b.routing.join(keep, true);
    for (let i = 0; i < 50; i++) b.routing.join(getNewId(`flood ${i}`));
    expect(a.routing.forwardingList()).toHaveLength(5);
    expect(a.routing.forwardingEntry(keep)).toBeDefined();
    for (let i = 0; i < 5; i++) a.receive({ infra_msg_type: u16Bytes(2), domain_id: D, infra_command: u16Bytes(3), user_id: keep, static_entry: true }, getNewId(`n${i}`));
    expect(a.routing.forwardingNodes(keep)).toHaveLength(2);
    expect(a.refused).toContain("nodes_per_forwarding_entry");
  });

  it("CROSS_REF_ASSIGNMENT goes to the hook, counted", () => {
    const got: WireMessage[] = [];
    const { ns } = nodes(2, { onCrossRefAssignment: (m) => void got.push(m) });
    const [a, b] = ns as [RoutingNode, RoutingNode];
    a.receive({ infra_msg_type: u16Bytes(2), domain_id: D, infra_command: u16Bytes(5), cross_ref: [D, U1] }, b.nodeId);
    expect(got).toHaveLength(1);
    expect(a.stats.get("user_message", "CROSS_REF_ASSIGNMENT")).toBe(1);
  });

  it("close() cancels pending resolutions and entries", () => {
    const { clock, ns } = nodes(2);
    const [a] = ns as [RoutingNode];
    a.users.add(U1);
    a.routing.sendToUser(message(U1, U2));
    a.routing.close();
    clock.advance(10_000);
    expect(a.users.delivered).toEqual([]);
    expect(a.routing.pendingResolves).toBe(0);
    expect(a.routing.sendToUser(message(U1, U2))).toBe(false);
  });
});
