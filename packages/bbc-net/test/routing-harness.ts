/**
 * In-memory harness for user routing: a fake domain network that records what it sends, and
 * fake local users. Several harness nodes can be linked so that what one sends reaches the
 * other's handler (synchronously).
 */
import pino from "pino";
import { toHex } from "@bbc1/bbclib";
import { encodeMsgpack, decodePayload, type WireMessage } from "@bbc1/wire";
import { InsertNotifications, ManualScheduler, NetStats, UserRouting, type LocalUsers, type ReceiveContext, type RoutingNetwork, type SendResult, type UserRoutingDeps } from "../src/index.js";

export interface Sent {
  to: Uint8Array;
  /** The map as it was when sent (decoded again from its bytes). */
  msg: WireMessage;
  bytes: Uint8Array;
}

/** A recording {@link RoutingNetwork}. */
export class FakeNetwork implements RoutingNetwork {
  readonly sent: Sent[] = [];
  readonly neighbours = new Map<string, Uint8Array>();
  /** Links: what is sent to a node id goes to that harness node's handlers. */
  readonly links = new Map<string, RoutingNode>();
  constructor(
    readonly domainId: Uint8Array,
    readonly nodeId: Uint8Array,
  ) {}

  sendToNode(nodeId: Uint8Array, msg: WireMessage): SendResult {
    const k = toHex(nodeId);
    if (!this.neighbours.has(k)) return "none";
    if (msg.destination_node_id === undefined) msg.destination_node_id = nodeId;
    msg.source_node_id = this.nodeId;
    const bytes = encodeMsgpack(msg);
    this.sent.push({ to: nodeId, msg: decodePayload(2, bytes), bytes });
    const peer = this.links.get(k);
    if (peer !== undefined) peer.receive(decodePayload(2, bytes), this.nodeId);
    return "udp4";
  }

  broadcast(msg: WireMessage): number {
    let n = 0;
    for (const id of this.neighbours.values()) {
      msg.destination_node_id = id;
      if (this.sendToNode(id, msg) !== "none") n++;
    }
    return n;
  }

  take(): Sent[] {
    return this.sent.splice(0);
  }
}

/** Registered users of one node; deliveries recorded. */
export class FakeUsers implements LocalUsers {
  readonly users = new Map<string, Uint8Array>();
  readonly delivered: Array<{ userId: Uint8Array; msg: WireMessage; anycast: boolean }> = [];
  add(id: Uint8Array): void {
    this.users.set(toHex(id), id);
  }
  remove(id: Uint8Array): void {
    this.users.delete(toHex(id));
  }
  isRegistered(_d: Uint8Array, userId: Uint8Array): boolean {
    return this.users.has(toHex(userId));
  }
  deliver(_d: Uint8Array, userId: Uint8Array, msg: WireMessage): boolean {
    if (!this.isRegistered(_d, userId)) return false;
    this.delivered.push({ userId, msg: decodePayload(2, encodeMsgpack(msg)), anycast: false });
    return true;
  }
  deliverAnycast(_d: Uint8Array, userId: Uint8Array, msg: WireMessage): boolean {
    if (!this.isRegistered(_d, userId)) return false;
    this.delivered.push({ userId, msg: decodePayload(2, encodeMsgpack(msg)), anycast: true });
    return true;
  }
  registeredUsers(): Uint8Array[] {
    return [...this.users.values()];
  }
}

/** One node: routing + insert notifications over the fakes. */
export class RoutingNode {
  readonly net: FakeNetwork;
  readonly users = new FakeUsers();
  readonly stats = new NetStats();
  readonly routing: UserRouting;
  readonly notify: InsertNotifications;
  readonly notified: Array<{ txid: Uint8Array; groups: Uint8Array[] }> = [];
  readonly errors: unknown[] = [];
  readonly refused: string[] = [];

  constructor(
    domainId: Uint8Array,
    nodeId: Uint8Array,
    readonly scheduler: ManualScheduler,
    extra: Partial<UserRoutingDeps> = {},
  ) {
    this.net = new FakeNetwork(domainId, nodeId);
    this.routing = new UserRouting({
      network: this.net,
      users: this.users,
      scheduler,
      timings: { resolveTimeoutMs: 5_000, forwardingLifetimeMs: 300_000 },
      limits: { maxForwardingEntries: 1000, maxNodesPerForwardingEntry: 16, maxPendingResolves: 100, maxMessagesPerResolve: 16, resolveQueueBytes: 1 << 20 },
      stats: this.stats,
      logger: pino({ level: "silent" }),
      refuse: (l) => this.refused.push(l),
      ...extra,
    });
    this.notify = new InsertNotifications({
      network: this.net,
      routing: this.routing,
      stats: this.stats,
      notifier: { notifyInserted: (_d, txid, groups) => void this.notified.push({ txid, groups: [...groups] }) },
    });
  }

  get nodeId(): Uint8Array {
    return this.net.nodeId;
  }

  /** A message from `from` arriving here (USER to routing, DATA 00 04 to notifications). Errors are recorded, as the network counts them. */
  receive(msg: WireMessage, from: Uint8Array): void {
    const ctx: ReceiveContext = { domainId: this.net.domainId, sourceNodeId: from, from: { transport: "udp", family: 4, address: "127.0.0.1", port: 1 }, encrypted: false };
    try {
      const cat = msg.infra_msg_type;
      if (cat instanceof Uint8Array && cat[1] === 3) this.notify.handle(msg, ctx);
      else this.routing.handle(msg, ctx);
    } catch (e) {
      this.errors.push(e);
    }
  }
}

/** Makes every node a neighbour of every other, linked. */
export function mesh(nodes: RoutingNode[]): void {
  for (const a of nodes)
    for (const b of nodes) {
      if (a === b) continue;
      a.net.neighbours.set(toHex(b.nodeId), b.nodeId);
      a.net.links.set(toHex(b.nodeId), b);
    }
}
