import type { Logger } from "pino";
import { toHex } from "@bbc1/bbclib";
import { UserRoutingCommand, encodeMessage, type WireMessage } from "@bbc1/wire";
import type { RandomFn, Scheduler } from "./clock.js";
import { NetError } from "./errors.js";
import { ForwardingTable, type ForwardingAdd, type ForwardingEntry } from "./forwarding.js";
import type { CategoryHandler, LocalUsers, ReceiveContext } from "./interfaces.js";
import type { NetLimits } from "./limits.js";
import { PendingResolves, type PendingResolve, type Queued } from "./pending-resolves.js";
import { peerOwner, type ResolveAccount, type RouteOwner } from "./resolve-accounts.js";
import { u16Of } from "./messages.js";
import type { StatsSink } from "./stats.js";
import type { NetTimings } from "./timings.js";
import type { SendResult } from "./transport.js";
import { boolOf, buildJoin, buildLeave, buildNoSuchUser, buildResolve, buildResolveResponse, categoryUser, idOf, isTruthy, optionalId } from "./user-messages.js";

/** What user routing needs from its domain's network part ({@link NetworkDomain} has this shape). */
export interface RoutingNetwork {
  readonly domainId: Uint8Array;
  /** Sends to one neighbour ("none" when unknown/unreachable); sets `source_node_id`. */
  sendToNode(nodeId: Uint8Array, msg: WireMessage, mode?: "any" | "plain"): SendResult;
  /** One copy per neighbour; returns how many were sent. */
  broadcast(msg: WireMessage, mode?: "any" | "plain"): number;
}

/** Dependencies of {@link UserRouting}. */
export interface UserRoutingDeps {
  network: RoutingNetwork;
  users: LocalUsers;
  scheduler: Scheduler;
  timings: Pick<NetTimings, "resolveTimeoutMs" | "forwardingLifetimeMs">;
  limits: Pick<NetLimits, "maxForwardingEntries" | "maxNodesPerForwardingEntry" | "maxPendingResolves" | "maxMessagesPerResolve" | "resolveQueueBytes"> & Partial<Pick<NetLimits, "maxPendingResolvesPerPeer" | "resolveQueueBytesPerPeer">>;
  stats: StatsSink;
  logger: Logger;
  /** Counts a refusal of a limit (the network's refusal counter); also counted as `user_message.refused.<limit>`. */
  refuse?: (limit: string) => void;
  random?: RandomFn;
  /**
   * CROSS_REF_ASSIGNMENT (§8.7) from a domain0 node: handed over as received (the stock and the
   * hand-out to clients belong to the domain0 component). Without it the message is counted and ignored.
   */
  onCrossRefAssignment?: (message: WireMessage, context: ReceiveContext) => void;
}

/** Options of {@link UserRouting.sendToUser}. */
export interface RouteOptions {
  /** Only local delivery (insert notifications): false when the user is not here. */
  directOnly?: boolean;
  /** Encoded size of the message, if known (for the resolve queue budget). */
  size?: number;
  /**
   * Who the message is sent for: a client connection, or the peer whose message caused it. The
   * resolutions it starts and the bytes it queues behind resolutions are held on its account, so
   * that one client (or peer) cannot take the domain's `max_pending_resolves` slots from the others.
   * Without it the message counts against the domain's totals only.
   */
  owner?: RouteOwner;
}

/** The reason put into a message bounced after an unanswered resolution. */
export const CANNOT_FIND_USER = "Cannot find such user";

/** The reason put into a message returned at once because its sender's resolution quota is used up. */
export const TOO_MANY_RESOLUTIONS = "Too many messages waiting for a user location";

/**
 * User message routing of one domain (v1.1.1 `UserMessageRouting`, p2p-protocol.md §8): the
 * {@link CategoryHandler} of the domain's USER category and the send path of every client-bound
 * message the core produces.
 *
 * Sending (§8.3): a user registered here ({@link LocalUsers}) gets it directly; else every node
 * of the user's forwarding entry; else a RESOLVE_USER_LOCATION broadcast with the message queued
 * until an answer (then forwarded) or the resolve timeout (then bounced to its sender with
 * `result` false and `reason` "Cannot find such user").
 *
 * Differences from v1.1.1, none visible to a well-behaved peer: malformed or unexpected input is
 * a counted drop, never a crash (§14 H11); messages for the same (destination, source) pair
 * share one pending resolution; a bounce that cannot be delivered is dropped instead of being
 * resolved every 5 s forever (Q28); anycast places its "local" slot only when the user is
 * local (Q25) and reaches a local user without a forwarding entry; an unreachable node is
 * removed from an entry and, when no node took the message, it is resolved again. Every table
 * is bounded (`limits.p2p`: forwarding entries, nodes per entry, pending resolutions, queued
 * messages and bytes); refusals are counted.
 */
export class UserRouting implements CategoryHandler {
  readonly #d: UserRoutingDeps;
  readonly #random: RandomFn;
  readonly #table: ForwardingTable;
  readonly #pending: PendingResolves;
  #closed = false;

  constructor(deps: UserRoutingDeps) {
    this.#d = deps;
    this.#random = deps.random ?? Math.random;
    this.#table = new ForwardingTable({
      scheduler: deps.scheduler,
      lifetimeMs: deps.timings.forwardingLifetimeMs,
      maxEntries: deps.limits.maxForwardingEntries,
      maxNodes: deps.limits.maxNodesPerForwardingEntry,
      onExpire: () => this.#tableSize(),
    });
    this.#pending = new PendingResolves({ scheduler: deps.scheduler, timings: deps.timings, limits: deps.limits, random: this.#random });
  }

  get #domainId(): Uint8Array {
    return this.#d.network.domainId;
  }

  /** The forwarding entries (id and nodes), oldest first (REQUEST_GET_FORWARDING_LIST). */
  forwardingList(): Array<{ id: Uint8Array; nodes: Uint8Array[] }> {
    return [...this.#table.entries()].map((e) => ({ id: e.id, nodes: [...e.nodes.values()] }));
  }

  /** The nodes of `id`'s forwarding entry (a user, or an asset group joined for insert notifications). */
  forwardingNodes(id: Uint8Array): Uint8Array[] {
    return this.#table.nodesOf(id);
  }

  /** The entry of `id`, for inspection. */
  forwardingEntry(id: Uint8Array): Readonly<ForwardingEntry> | undefined {
    return this.#table.get(id);
  }

  /** Resolutions waiting for an answer. */
  get pendingResolves(): number {
    return this.#pending.size;
  }

  /** Bytes of messages queued behind them. */
  get queuedBytes(): number {
    return this.#pending.queuedBytes;
  }

  /** JOIN_MULTICAST_RECEIVER broadcast (REGISTER with on_multinodes; first subscriber of an asset group with `permanent`). */
  join(id: Uint8Array, permanent = false): number {
    if (this.#closed) return 0;
    this.#d.stats.increment("multicast", "join");
    return this.#d.network.broadcast(buildJoin(this.#domainId, id, permanent), "any");
  }

  /** LEAVE_MULTICAST_RECEIVER broadcast (every UNREGISTER / closed registration, last cancelled subscription). */
  leave(id: Uint8Array): number {
    if (this.#closed) return 0;
    this.#d.stats.increment("multicast", "leave");
    return this.#d.network.broadcast(buildLeave(this.#domainId, id), "any");
  }

  /**
   * `send_message_to_user`: routes a client-bound map (`infra_msg_type` is set to 00 02). True
   * when delivered here, handed to at least one node, or queued behind a resolution; false when
   * nothing could be done (directOnly and not here, anycast that found no place, a full queue).
   * The map is owned by routing afterwards.
   */
  sendToUser(msg: WireMessage, options: RouteOptions = {}): boolean {
    const dst = msg.destination_user_id;
    if (dst === undefined) return true;
    if (!(dst instanceof Uint8Array)) return this.#drop("bad_destination");
    msg.infra_msg_type = categoryUser();
    if (isTruthy(msg.is_anycast)) return this.#anycast(msg, dst);
    if (this.#d.users.isRegistered(this.#domainId, dst)) return this.#d.users.deliver(this.#domainId, dst, msg);
    if (options.directOnly || this.#closed) return false;
    return this.#forward(msg, dst, { msg, size: options.size ?? -1, bounced: false, owner: options.owner });
  }

  /** The account of messages sent on behalf of peer `nodeId` (see {@link peerOwner}). */
  peerOwner(nodeId: Uint8Array): RouteOwner {
    return peerOwner(nodeId, this.#d.limits);
  }

  /** What `ownerKey` holds now (pending resolutions it started, bytes it queued); for tests and stats. */
  accountOf(ownerKey: string): Readonly<ResolveAccount> {
    return this.#pending.accountOf(ownerKey);
  }

  handle(msg: WireMessage, ctx: ReceiveContext): void {
    if (this.#closed) return;
    if (msg.infra_command === undefined) return this.#userPayload(msg, ctx);
    const command = u16Of(msg.infra_command);
    if (command === undefined) throw new NetError("BAD_MESSAGE", "USER message whose infra_command is not 2 bytes");
    switch (command) {
      case UserRoutingCommand.RESOLVE_USER_LOCATION:
        return this.#onResolve(msg, ctx);
      case UserRoutingCommand.RESPONSE_USER_LOCATION:
        return this.#onResolveResponse(msg, ctx);
      case UserRoutingCommand.RESPONSE_NO_SUCH_USER: {
        this.#d.stats.increment("user_message", "RESPONSE_NO_SUCH_USER");
        const user = idOf(msg, "user_id");
        if (this.#table.removeNode(user, ctx.sourceNodeId)) this.#tableSize();
        return;
      }
      case UserRoutingCommand.JOIN_MULTICAST_RECEIVER: {
        this.#d.stats.increment("user_message", "JOIN_MULTICAST_RECEIVER");
        const user = idOf(msg, "user_id");
        const permanent = boolOf(msg, "static_entry");
        this.#add(user, ctx.sourceNodeId, permanent);
        return;
      }
      case UserRoutingCommand.LEAVE_MULTICAST_RECEIVER: {
        this.#d.stats.increment("user_message", "LEAVE_MULTICAST_RECEIVER");
        const user = idOf(msg, "user_id");
        if (this.#table.removeNode(user, ctx.sourceNodeId)) this.#tableSize();
        return;
      }
      case UserRoutingCommand.CROSS_REF_ASSIGNMENT:
        this.#d.stats.increment("user_message", "CROSS_REF_ASSIGNMENT");
        this.#d.onCrossRefAssignment?.(msg, ctx);
        return;
      default:
        throw new NetError("BAD_MESSAGE", `unknown USER infra_command ${command}`);
    }
  }

  /** Cancels every timer; pending messages are dropped. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#pending.clear();
    this.#table.clear();
  }

  // --- receiving ---------------------------------------------------------------------------

  #userPayload(msg: WireMessage, ctx: ReceiveContext): void {
    // v1.1.1 crashes without source_user_id (H11); the answer paths need it
    idOf(msg, "source_user_id");
    const dst = idOf(msg, "destination_user_id");
    if (!this.#d.users.isRegistered(this.#domainId, dst)) {
      if (isTruthy(msg.is_anycast)) {
        if (!this.#anycast(msg, dst)) this.#d.stats.increment("user_message", "drop.anycast_unplaced");
        return;
      }
      this.#d.stats.increment("user_message", "fail_to_find_user");
      this.#d.network.sendToNode(ctx.sourceNodeId, buildNoSuchUser(this.#domainId, ctx.sourceNodeId, dst), "any");
      return;
    }
    if (msg.is_anycast !== undefined) delete msg.is_anycast;
    this.#d.stats.increment("user_message", "send_to_user");
    this.#d.users.deliver(this.#domainId, dst, msg);
  }

  #onResolve(msg: WireMessage, ctx: ReceiveContext): void {
    this.#d.stats.increment("user_message", "RESOLVE_USER_LOCATION");
    const wanted = idOf(msg, "destination_user_id");
    if (!this.#d.users.isRegistered(this.#domainId, wanted)) return;
    const asker = optionalId(msg, "source_user_id");
    // the reverse path: answers to the asker go straight back (v1.1.1 crashed without an asker, H11)
    if (asker !== undefined) this.#add(asker, ctx.sourceNodeId, false);
    this.#d.network.sendToNode(ctx.sourceNodeId, buildResolveResponse(msg, ctx.sourceNodeId, wanted), "any");
  }

  #onResolveResponse(msg: WireMessage, ctx: ReceiveContext): void {
    this.#d.stats.increment("user_message", "RESPONSE_USER_LOCATION");
    const found = idOf(msg, "source_user_id");
    this.#add(found, ctx.sourceNodeId, false);
    const nonce = msg.nonce;
    if (typeof nonce !== "number") return;
    const p = this.#pending.byNonce(nonce);
    if (p === undefined) return;
    // a nonce answered for another user completes nothing (v1.1.1 forwarded anyway)
    if (toHex(p.destination) !== toHex(found)) return void this.#d.stats.increment("user_message", "drop.resolve_mismatch");
    this.#pending.settle(p);
    for (const q of p.messages) this.#forward(q.msg, p.destination, q);
  }

  // --- sending -----------------------------------------------------------------------------

  /** `_forward_message_to_another_node`: along the forwarding entry, else resolve. */
  #forward(msg: WireMessage, dst: Uint8Array, q: Queued): boolean {
    const e = this.#table.get(dst);
    if (e !== undefined) {
      let sent = 0;
      for (const [k, node] of [...e.nodes]) {
        msg.destination_node_id = node;
        if (this.#d.network.sendToNode(node, msg, "any") !== "none") sent++;
        else {
          // not a neighbour (any more): v1.1.1 lost the message silently
          e.nodes.delete(k);
          this.#d.stats.increment("user_message", "drop.unreachable_node");
        }
      }
      if (e.nodes.size === 0 && this.#table.delete(dst)) this.#tableSize();
      if (sent > 0) return true;
      delete msg.destination_node_id;
    }
    return this.#resolve(dst, q);
  }

  /** `_resolve_accommodating_core_node` with the message queued. */
  #resolve(dst: Uint8Array, q: Queued): boolean {
    const src = q.msg.source_user_id instanceof Uint8Array ? q.msg.source_user_id : null;
    const key = `${toHex(dst)}:${src === null ? "" : toHex(src)}`;
    if (q.size < 0) q.size = encodeMessage(2, q.msg).length;
    const r = this.#pending.enqueue(key, dst, q, (p) => this.#resolveFailed(p));
    if (r.kind === "refused") return r.quota ? this.#overQuota(q, r.limit) : this.#refuse(r.limit);
    if (r.kind === "started") this.#d.network.broadcast(buildResolve(this.#domainId, dst, src, r.pending.nonce), "any");
    return true;
  }

  /**
   * A sender over its quota: refused and counted; the map goes back at once to its sender when
   * that user is here, with `result` false and reason {@link TOO_MANY_RESOLUTIONS} (the shape of
   * the §8.4 bounce, without the 5 s wait and without a resolution). A bounce is never bounced.
   */
  #overQuota(q: Queued, limit: string): false {
    this.#refuse(limit);
    const src = q.msg.source_user_id;
    if (q.bounced || !(src instanceof Uint8Array) || !this.#d.users.isRegistered(this.#domainId, src)) return false;
    const back = q.msg;
    back.destination_user_id = src;
    back.result = false;
    back.reason = TOO_MANY_RESOLUTIONS;
    delete back.destination_node_id;
    this.#d.users.deliver(this.#domainId, src, back);
    return false;
  }

  /** `_resolve_failure`: every queued message goes back to its sender. */
  #resolveFailed(p: PendingResolve): void {
    if (!this.#pending.isPending(p)) return;
    this.#pending.settle(p);
    for (const q of p.messages) {
      try {
        if (q.bounced) {
          this.#d.stats.increment("user_message", "drop.bounce_undeliverable");
          continue;
        }
        const src = q.msg.source_user_id;
        if (!(src instanceof Uint8Array)) {
          this.#d.stats.increment("user_message", "drop.no_sender");
          continue;
        }
        const back = q.msg;
        back.destination_user_id = src;
        back.result = false;
        back.reason = CANNOT_FIND_USER;
        delete back.destination_node_id;
        if (this.#d.users.isRegistered(this.#domainId, src)) this.#d.users.deliver(this.#domainId, src, back);
        else if (!this.#closed) this.#forward(back, src, { msg: back, size: q.size, bounced: true, owner: q.owner });
      } catch (err) {
        this.#d.logger.warn({ err }, "bounce failed");
      }
    }
  }

  /** `_send_anycast_message`, with the local slot only when the user is local (Q25). */
  #anycast(msg: WireMessage, dst: Uint8Array): boolean {
    const ttl0 = msg.anycast_ttl;
    let ttl = typeof ttl0 === "number" ? ttl0 : typeof ttl0 === "bigint" ? Number(ttl0) : 0;
    if (!(ttl > 0)) return false;
    const local = this.#d.users.isRegistered(this.#domainId, dst);
    const nodes = this.#table.nodesOf(dst);
    // v1.1.1 drops an anycast without a forwarding entry even for a local user (Q25); we deliver it
    const choices = nodes.length + (local ? 1 : 0);
    if (choices === 0) return false;
    ttl = Math.min(ttl, 255);
    while (ttl > 0) {
      const idx = Math.floor(this.#random() * choices);
      msg.anycast_ttl = ttl - 1;
      ttl--;
      if (local && idx === choices - 1) {
        const u = this.#d.users;
        if (u.deliverAnycast !== undefined ? u.deliverAnycast(this.#domainId, dst, msg) : u.deliver(this.#domainId, dst, msg)) return true;
        continue;
      }
      const node = nodes[Math.floor(this.#random() * nodes.length)]!;
      msg.destination_node_id = node;
      if (this.#d.network.sendToNode(node, msg, "any") !== "none") return true;
    }
    return false;
  }

  #add(id: Uint8Array, nodeId: Uint8Array, permanent: boolean): void {
    const r: ForwardingAdd = this.#table.add(id, nodeId, permanent);
    if (r === "table_full") this.#refuse("forwarding_entries");
    else if (r === "entry_full") this.#refuse("nodes_per_forwarding_entry");
    else if (r === "added") this.#tableSize();
  }

  #tableSize(): void {
    this.#d.stats.set("user_message", "registered_users_in_forwarding_list", this.#table.size);
  }

  #refuse(limit: string): false {
    this.#d.refuse?.(limit);
    this.#d.stats.increment("user_message", `refused.${limit}`);
    return false;
  }

  #drop(reason: string): false {
    this.#d.stats.increment("user_message", `drop.${reason}`);
    return false;
  }
}
