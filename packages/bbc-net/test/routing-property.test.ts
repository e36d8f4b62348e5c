/**
 * Property tests (fast-check) of the user-routing and NOTIFY_INSERTED handlers: random maps
 * built from the keys they read, and captured frames with fields mutated, dropped or retyped.
 * Every input is handled or refused with a NetError (a counted drop); nothing else is thrown,
 * and the tables stay within their bounds.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fromHex, getNewId } from "@bbc1/bbclib";
import { u16Bytes, type WireMessage, type WireValue } from "@bbc1/wire";
import { ManualScheduler, isNetError } from "../src/index.js";
import { loadFrames, untagMessage } from "./helpers.js";
import { RoutingNode, mesh } from "./routing-harness.js";

const D = getNewId("routing property domain");
const USERS = [getNewId("p1"), getNewId("p2"), getNewId("p3")];
const LIMITS = { maxForwardingEntries: 8, maxNodesPerForwardingEntry: 3, maxPendingResolves: 4, maxMessagesPerResolve: 3, resolveQueueBytes: 4096 };

const idArb = fc.oneof(fc.constantFrom(...USERS), fc.uint8Array({ minLength: 0, maxLength: 40 }));
const valueArb: fc.Arbitrary<WireValue> = fc.oneof(
  idArb,
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.string({ maxLength: 8 }),
  fc.array(idArb, { maxLength: 3 }),
  fc.bigInt({ min: -(1n << 63n), max: (1n << 64n) - 1n }),
);
const KEYS = ["infra_command", "user_id", "source_user_id", "destination_user_id", "nonce", "static_entry", "is_anycast", "anycast_ttl", "transaction_id", "asset_group_ids", "message"] as const;
const msgArb: fc.Arbitrary<WireMessage> = fc
  .record({
    category: fc.constantFrom(2, 3),
    command: fc.option(fc.integer({ min: 0, max: 7 }), { nil: undefined }),
    fields: fc.dictionary(fc.constantFrom(...KEYS), valueArb, { maxKeys: 8 }),
  })
  .map(({ category, command, fields }) => {
    const m: WireMessage = { infra_msg_type: u16Bytes(category), domain_id: D, ...(fields as WireMessage) };
    if (command !== undefined) m.infra_command = u16Bytes(command);
    return m;
  });

function fresh(): { nodes: RoutingNode[]; clock: ManualScheduler } {
  const clock = new ManualScheduler();
  const nodes = [0, 1, 2].map((i) => new RoutingNode(D, getNewId(`prop node ${i}`), clock, { limits: LIMITS }));
  mesh(nodes);
  nodes[0]!.users.add(USERS[0]!);
  nodes[1]!.users.add(USERS[1]!);
  return { nodes, clock };
}

function check(nodes: RoutingNode[]): void {
  for (const n of nodes) {
    for (const e of n.errors) if (!isNetError(e)) throw e;
    expect(n.routing.forwardingList().length).toBeLessThanOrEqual(LIMITS.maxForwardingEntries);
    for (const e of n.routing.forwardingList()) expect(e.nodes.length).toBeLessThanOrEqual(LIMITS.maxNodesPerForwardingEntry);
    expect(n.routing.pendingResolves).toBeLessThanOrEqual(LIMITS.maxPendingResolves);
    expect(n.routing.queuedBytes).toBeLessThanOrEqual(LIMITS.resolveQueueBytes);
    expect(n.routing.queuedBytes).toBeGreaterThanOrEqual(0);
  }
}

describe("user routing under random input", () => {
  it("random USER/DATA maps from random nodes: handled or a NetError; bounds hold; timers drain", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(msgArb, fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 6000 })), { minLength: 1, maxLength: 30 }), (steps) => {
        const { nodes, clock } = fresh();
        const a = nodes[0]!;
        for (const [m, from, dt] of steps) {
          const src = from === 3 ? getNewId(`stranger ${dt}`) : nodes[from]!.nodeId;
          a.receive(m, src);
          clock.advance(dt);
        }
        check(nodes);
        clock.advance(400_000);
        expect(a.routing.pendingResolves).toBe(0);
      }),
      { numRuns: 300 },
    );
  });

  it("random client-bound maps through sendToUser never throw; bounds hold", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.dictionary(fc.constantFrom(...KEYS), valueArb, { maxKeys: 6 }), fc.integer({ min: 0, max: 6000 })), { maxLength: 30 }), (steps) => {
        const { nodes, clock } = fresh();
        for (const [fields, dt] of steps) {
          const m = { domain_id: D, command: 66, ...(fields as WireMessage) };
          nodes[dt % 3]!.routing.sendToUser(m);
          clock.advance(dt);
        }
        check(nodes);
      }),
      { numRuns: 300 },
    );
  });

  it("captured routing frames with one field dropped, retyped or replaced: handled or a NetError", () => {
    const frames = loadFrames().cases.filter((c) => c.category === "USER" || (c.category === "DATA" && c.decoded.infra_command !== undefined && "bytes" in c.decoded.infra_command && c.decoded.infra_command.bytes === "0004"));
    fc.assert(
      fc.property(fc.constantFrom(...frames), fc.nat(), valueArb, fc.constantFrom("drop", "replace"), (c, k, v, how) => {
        const { nodes } = fresh();
        const m = untagMessage(c.decoded);
        const keys = Object.keys(m) as Array<keyof WireMessage>;
        const key = keys[k % keys.length]!;
        if (how === "drop") delete m[key];
        else m[key] = v;
        const receiver = nodes[0]!;
        receiver.users.add(fromHex(c.receiver_node_id ?? c.sender_node_id).subarray(0, 32));
        receiver.receive(m, nodes[1]!.nodeId);
        check(nodes);
      }),
      { numRuns: 500 },
    );
  });
});
