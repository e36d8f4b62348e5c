import { u16Bytes, InfraMessageCategory, type RefusalCounter, type WireMessage } from "@bbc1/wire";
import type { Logger } from "pino";
import { toHex } from "@bbc1/bbclib";
import type { CommandDispatch, InsertNotifications, NetworkDomain, Replication, RouteOwner, UserRouting } from "@bbc1/net";
import type { ClientConnection, PendingBounce } from "./connection.js";
import type { JsonObject } from "./config.js";
import type { DomainLedger } from "./store.js";
import type { BBcStats } from "./stats.js";
import { EncodedPayload, type OutputPool } from "./outbox.js";
import type { BounceBudget } from "./bounces.js";

/** A user registered on this node in a domain: every connection it registered on. */
export interface RegisteredUser {
  userId: Uint8Array;
  conns: Set<ClientConnection>;
}

/** A subscriber of an asset group and the connections that asked for it. */
export interface Subscription {
  userId: Uint8Array;
  conns: Set<ClientConnection>;
}

/** `infra_msg_type` of routed messages (`00 02`). */
export const CATEGORY_USER = u16Bytes(InfraMessageCategory.CATEGORY_USER);

/** Options of {@link Domain.sendToUser}. */
export interface SendOptions {
  /** Only local delivery; never fall back nor resolve (NOTIFY_INSERTED). */
  directOnly?: boolean;
  /**
   * The connection a request came in on: a response whose addressee is not registered here is
   * written to it in plaintext (the reference crashes instead, client-protocol.md §2.4).
   */
  fallback?: ClientConnection;
  /** The connection the message came from: its bounce is held on its account. */
  origin?: ClientConnection;
  /** Bytes the message holds (for the bounce budget); default its request frame's size. */
  size?: number;
  /** The peer whose message caused this one (no client origin): resolutions count on its account. */
  peer?: Uint8Array;
}

/** What a domain shares with the rest of the node. */
export interface DomainDeps {
  stats: BBcStats;
  logger: Logger;
  resolveTimeoutMs: number;
  output: OutputPool;
  bounces: BounceBudget;
  refusals: RefusalCounter;
  /** NOTIFY_INSERTED sent per event-loop turn. */
  notificationsPerTurn: number;
  /** Subscriptions one connection may hold. */
  maxSubscriptionsPerConnection: number;
  /** Resolutions (RESOLVE_USER_LOCATION waits) one client connection may have pending, per domain. */
  maxPendingResolvesPerConnection: number;
  /** Bytes of one connection's messages waiting behind resolutions, per domain. */
  resolveQueueBytesPerConnection: number;
}

/**
 * One domain served by the node: identity, ledger, user routing (users registered on this node;
 * no forwarding entries without a P2P layer) and the insert-notification subscriptions.
 */
export class Domain {
  readonly id: Uint8Array;
  readonly hex: string;
  readonly nodeId: Uint8Array;
  readonly section: JsonObject;
  /** null for domain_global_0 (no storage in v1.1.1). */
  readonly ledger: DomainLedger | null;
  /** The domain's network components (neighbours, key exchange, topology); null when embedded without a network. */
  readonly net: NetworkDomain | null;
  /**
   * Handlers of the domain's DATA messages by `infra_command` (NOTIFY_INSERTED: insert
   * notifications; REQUEST_REPLICATION_INSERT, REPAIR_TRANSACTION_DATA, REPLICATION_CROSS_REF:
   * replication and repair register theirs here).
   */
  readonly data: CommandDispatch | null;
  /** Replication and catch-up of the domain (null: domain_global_0, or no network). */
  replication: Replication | null = null;
  readonly createdAt: number;
  /** Users registered on this node, first-registration order. */
  readonly users = new Map<string, RegisteredUser>();
  /** asset_group_id hex → subscribed users (insertion order). */
  readonly notifications = new Map<string, { assetGroupId: Uint8Array; users: Map<string, Subscription> }>();
  /** user hex → the asset groups it is subscribed to (so that removing a user costs its own groups only). */
  readonly #userGroups = new Map<string, Set<string>>();
  /** Forwarding entries (user or asset group → node ids). Always empty on a node without peers. */
  readonly forwardingEntries = new Map<string, { id: Uint8Array; nodes: Uint8Array[] }>();
  /** User routing across nodes (routing.ts); null without a network: then undeliverable maps bounce after the resolve timeout. */
  routing: UserRouting | null = null;
  /** NOTIFY_INSERTED to the nodes that joined an asset group (routing.ts). */
  insertNotifications: InsertNotifications | null = null;
  readonly #bounces = new Set<PendingBounce>();
  readonly #d: DomainDeps;
  readonly #log: Logger;
  #stopped = false;

  constructor(args: { id: Uint8Array; nodeId: Uint8Array; section: JsonObject; ledger: DomainLedger | null; net?: NetworkDomain | null; data?: CommandDispatch | null; deps: DomainDeps }) {
    this.id = args.id;
    this.net = args.net ?? null;
    this.data = args.data ?? null;
    this.hex = toHex(args.id);
    this.nodeId = args.nodeId;
    this.section = args.section;
    this.ledger = args.ledger;
    this.createdAt = Math.floor(Date.now() / 1000);
    this.#d = args.deps;
    this.#log = args.deps.logger;
  }

  /** Adds `conn` to the user's connection set. */
  registerUser(userId: Uint8Array, conn: ClientConnection): void {
    const key = toHex(userId);
    let u = this.users.get(key);
    if (u === undefined) this.users.set(key, (u = { userId, conns: new Set() }));
    u.conns.add(conn);
    conn.registrations.set(`${this.hex}:${key}`, { domainHex: this.hex, userId });
  }

  /**
   * Removes `conn` from the user's set (v1.1.1 `unregister_user`), deleting the connection's
   * client cipher when it was bound to this domain. Broadcasts LEAVE (counted; no peers here).
   */
  unregisterUser(userId: Uint8Array, conn: ClientConnection): void {
    const key = toHex(userId);
    const u = this.users.get(key);
    conn.registrations.delete(`${this.hex}:${key}`);
    if (u === undefined || !u.conns.has(conn)) return;
    u.conns.delete(conn);
    if (u.conns.size === 0) this.users.delete(key);
    if (conn.cipherDomainHex === this.hex) conn.dropCipher();
    // v1.1.1 broadcasts LEAVE on every unregister, multicast user or not (Q26)
    if (this.routing !== null) this.routing.leave(userId);
    else this.#d.stats.increment("multicast", "leave");
  }

  /**
   * Routed delivery (v1.1.1 `send_message_to_user`): adds `infra_msg_type` = 00 02 and writes
   * the map to every connection of the destination user (encrypted where ECDH is active), encoded
   * once for all of them. Returns true when written at least once, or handed to a fallback / a
   * bounce.
   */
  sendToUser(msg: WireMessage, options: SendOptions = {}): boolean {
    const dst = msg.destination_user_id;
    if (dst === undefined) return true;
    msg.infra_msg_type = CATEGORY_USER;
    const user = dst instanceof Uint8Array ? this.users.get(toHex(dst)) : undefined;
    if (msg.is_anycast !== undefined && msg.is_anycast !== null && msg.is_anycast !== false) {
      return this.routing !== null ? this.routing.sendToUser(msg) : this.#sendAnycast(msg, user);
    }
    if (user !== undefined && user.conns.size > 0) return this.deliverLocal(user, EncodedPayload.of(msg, this.#d.output));
    if (options.directOnly) return false;
    if (options.fallback !== undefined) {
      options.fallback.sendPlain(msg, this.#d.output);
      return true;
    }
    // with peers: forwarding entry or resolution (§8.3); alone: the bounce after the resolve timeout
    if (this.routing !== null && this.net !== null && this.net.neighbors.size > 0) return this.routing.sendToUser(msg, { size: options.size, owner: this.#ownerOf(options) });
    this.scheduleBounce(msg, options.origin, options.size ?? 0);
    return true;
  }

  /** The resolution account of a message: its client connection, else the peer that caused it. */
  #ownerOf(options: SendOptions): RouteOwner | undefined {
    if (options.origin !== undefined) {
      return {
        key: `c${options.origin.id}`,
        maxPendingResolves: this.#d.maxPendingResolvesPerConnection,
        maxQueuedBytes: this.#d.resolveQueueBytesPerConnection,
        refusals: { pendingResolves: "pending_resolves_per_connection", queuedBytes: "resolve_queue_bytes_per_connection" },
      };
    }
    return options.peer !== undefined && this.routing !== null ? this.routing.peerOwner(options.peer) : undefined;
  }

  /** The locally registered user `userId`, if any. */
  localUser(userId: Uint8Array): RegisteredUser | undefined {
    return this.users.get(toHex(userId));
  }

  /** Writes an encoded routed message to every connection of `user`; true when written at least once. */
  deliverLocal(user: RegisteredUser, payload: EncodedPayload): boolean {
    let count = 0;
    for (const c of user.conns) {
      if (c.sendRouted(this.hex, payload)) {
        count++;
        this.#d.stats.increment("user_message", "sent_msg_to_user");
      }
    }
    return count > 0;
  }

  /** Anycast: one random local connection of the user, `anycast_ttl` decremented. */
  #sendAnycast(msg: WireMessage, user: RegisteredUser | undefined): boolean {
    const ttl = typeof msg.anycast_ttl === "number" ? msg.anycast_ttl : 0;
    // v1.1.1 drops an anycast it cannot place (no forwarding entry); no bounce
    if (ttl <= 0 || user === undefined || user.conns.size === 0) return false;
    msg.anycast_ttl = ttl - 1;
    const conns = [...user.conns];
    const c = conns[Math.floor(Math.random() * conns.length)]!;
    const ok = c.sendRouted(this.hex, EncodedPayload.of(msg, this.#d.output));
    if (ok) this.#d.stats.increment("user_message", "sent_msg_to_user");
    return ok;
  }

  /**
   * A destination that is not here: without peers resolution cannot succeed, so after the
   * resolve timeout (5 s in v1.1.1) the map goes back to its sender with `result` false and
   * `reason` "Cannot find such user" (`_resolve_failure`). Maps without a sender are dropped, and
   * so are those the bounce budget has no room for.
   */
  scheduleBounce(msg: WireMessage, origin: ClientConnection | undefined, size: number): void {
    const src = msg.source_user_id;
    if (!(src instanceof Uint8Array)) {
      this.#log.debug({ domain: this.hex.slice(0, 8) }, "undeliverable message without sender dropped");
      return;
    }
    if (this.#stopped) return;
    const b = this.#d.bounces.hold(
      origin,
      size,
      this.#d.resolveTimeoutMs,
      () => {
        const back: WireMessage = { ...msg, destination_user_id: src, result: false, reason: "Cannot find such user" };
      delete back.is_anycast;
      try {
        this.sendToUser(back, { directOnly: true });
      } catch (e) {
          this.#log.debug({ err: (e as Error).message }, "bounce not sent");
        }
      },
      () => this.#bounces.delete(b!),
    );
    if (b === undefined) {
      this.#log.debug({ domain: this.hex.slice(0, 8), conn: origin?.id }, "undeliverable message dropped: no room to hold its bounce");
      return;
    }
    this.#bounces.add(b);
  }

  /**
   * Subscribes a user to NOTIFY_INSERTED for an asset group, on behalf of `conn` (the subscription
   * lives as long as a connection that asked for it). False when `conn` holds its maximum.
   */
  subscribe(assetGroupId: Uint8Array, userId: Uint8Array, conn: ClientConnection): boolean {
    const gk = toHex(assetGroupId);
    const uk = toHex(userId);
    const ck = `${this.hex}:${gk}:${uk}`;
    if (!conn.subscriptions.has(ck)) {
      if (conn.subscriptions.size >= this.#d.maxSubscriptionsPerConnection) return false;
      conn.subscriptions.add(ck);
    }
    let g = this.notifications.get(gk);
    if (g === undefined) this.notifications.set(gk, (g = { assetGroupId, users: new Map() }));
    let s = g.users.get(uk);
    if (s === undefined) g.users.set(uk, (s = { userId, conns: new Set() }));
    s.conns.add(conn);
    let ug = this.#userGroups.get(uk);
    if (ug === undefined) this.#userGroups.set(uk, (ug = new Set()));
    ug.add(gk);
    // v1.1.1 broadcasts the permanent JOIN on every REQUEST_INSERT_NOTIFICATION
    if (this.routing !== null) this.routing.join(assetGroupId, true);
    else this.#d.stats.increment("multicast", "join");
    return true;
  }

  #removeSubscription(gk: string, uk: string): boolean {
    const g = this.notifications.get(gk);
    const s = g?.users.get(uk);
    if (g === undefined || s === undefined) return false;
    for (const c of s.conns) c.subscriptions.delete(`${this.hex}:${gk}:${uk}`);
    g.users.delete(uk);
    const ug = this.#userGroups.get(uk);
    ug?.delete(gk);
    if (ug?.size === 0) this.#userGroups.delete(uk);
    if (g.users.size === 0) {
      this.notifications.delete(gk);
      if (this.routing !== null) this.routing.leave(g.assetGroupId);
      else this.#d.stats.increment("multicast", "leave");
    }
    return true;
  }

  /**
   * Removes a subscription (`remove_from_notification_list`); a null asset group means every
   * group. Users not subscribed are ignored (the reference crashes, Quirk C8).
   */
  unsubscribe(assetGroupId: Uint8Array | null, userId: Uint8Array): void {
    const uk = toHex(userId);
    const groups = assetGroupId === null ? [...(this.#userGroups.get(uk) ?? [])] : [toHex(assetGroupId)];
    for (const gk of groups) this.#removeSubscription(gk, uk);
  }

  /** Forgets what `conn` held in this domain: its registrations and its share of the subscriptions. */
  dropConnection(conn: ClientConnection): void {
    for (const { domainHex, userId } of [...conn.registrations.values()]) if (domainHex === this.hex) this.unregisterUser(userId, conn);
    const prefix = `${this.hex}:`;
    for (const key of [...conn.subscriptions]) {
      if (!key.startsWith(prefix)) continue;
      conn.subscriptions.delete(key);
      const [, gk, uk] = key.split(":") as [string, string, string];
      const s = this.notifications.get(gk)?.users.get(uk);
      if (s === undefined) continue;
      s.conns.delete(conn);
      if (s.conns.size === 0) this.#removeSubscription(gk, uk);
    }
  }

  /** Number of subscriptions (group × user). */
  get subscriptionCount(): number {
    let n = 0;
    for (const g of this.notifications.values()) n += g.users.size;
    return n;
  }

  /**
   * NOTIFY_INSERTED to local subscribers of any of `assetGroupIds` (one per user); a subscriber
   * that cannot be reached is removed from all its subscriptions in the domain. The first
   * `notificationsPerTurn` are sent at once (before the inserter's answer, as in the reference),
   * the rest in later event-loop turns.
   */
  notifyInserted(transactionId: Uint8Array, assetGroupIds: Uint8Array[]): void {
    if (this.notifications.size === 0) return;
    // a transaction reaches a node once by replication and again by NOTIFY_INSERTED from its origin: notify once
    if (!this.#notifiedOnce(transactionId)) return;
    const users = new Map<string, Uint8Array>();
    for (const ag of assetGroupIds) {
      const g = this.notifications.get(toHex(ag));
      if (g !== undefined) for (const [k, s] of g.users) users.set(k, s.userId);
    }
    if (users.size === 0) return;
    const list = [...users.values()];
    const per = Math.max(1, this.#d.notificationsPerTurn);
    const sendFrom = (start: number): void => {
      if (this.#stopped) return;
      const end = Math.min(list.length, start + per);
      for (let i = start; i < end; i++) {
        const userId = list[i]!;
        const msg: WireMessage = {
          domain_id: this.id,
          infra_command: u16Bytes(4),
          command: 73,
          transaction_id: transactionId,
          asset_group_ids: assetGroupIds,
          destination_user_id: userId,
        };
        if (!this.sendToUser(msg, { directOnly: true })) this.unsubscribe(null, userId);
      }
      if (end < list.length) setImmediate(() => sendFrom(end));
    };
    sendFrom(0);
  }

  readonly #notified = new Set<string>();

  /** False when `transactionId` was notified recently (the last 4096 are remembered). */
  #notifiedOnce(transactionId: Uint8Array): boolean {
    const k = toHex(transactionId);
    if (this.#notified.has(k)) return false;
    if (this.#notified.size >= 4096) this.#notified.delete(this.#notified.values().next().value!);
    this.#notified.add(k);
    return true;
  }

  /** Bounces held by this domain. */
  get pendingBounces(): number {
    return this.#bounces.size;
  }

  /** Stops timers (pending bounces are dropped). */
  stop(): void {
    this.#stopped = true;
    for (const b of this.#bounces) b.cancel();
    this.#bounces.clear();
  }
}
