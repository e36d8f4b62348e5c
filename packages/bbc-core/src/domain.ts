import { encodeMessage, u16Bytes, InfraMessageCategory, type WireMessage } from "@bbc1/wire";
import type { Logger } from "pino";
import type { ClientConnection } from "./connection.js";
import type { JsonObject } from "./config.js";
import type { DomainLedger } from "./store.js";
import type { BBcStats } from "./stats.js";
import { toHex } from "@bbc1/bbclib";

/** A user registered on this node in a domain: every connection it registered on. */
export interface RegisteredUser {
  userId: Uint8Array;
  conns: Set<ClientConnection>;
}

const CATEGORY_USER = u16Bytes(InfraMessageCategory.CATEGORY_USER);

/** Options of {@link Domain.sendToUser}. */
export interface SendOptions {
  /** Only local delivery; never fall back nor resolve (NOTIFY_INSERTED). */
  directOnly?: boolean;
  /**
   * The connection a request came in on: a response whose addressee is not registered here is
   * written to it in plaintext (the reference crashes instead, client-protocol.md §2.4).
   */
  fallback?: ClientConnection;
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
  readonly createdAt: number;
  /** Users registered on this node, first-registration order. */
  readonly users = new Map<string, RegisteredUser>();
  /** asset_group_id hex → subscribed users (insertion order). */
  readonly notifications = new Map<string, { assetGroupId: Uint8Array; users: Map<string, Uint8Array> }>();
  /** Forwarding entries (user or asset group → node ids). Always empty on a node without peers. */
  readonly forwardingEntries = new Map<string, { id: Uint8Array; nodes: Uint8Array[] }>();
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #stats: BBcStats;
  readonly #log: Logger;
  readonly #resolveTimeoutMs: number;

  constructor(args: {
    id: Uint8Array;
    nodeId: Uint8Array;
    section: JsonObject;
    ledger: DomainLedger | null;
    stats: BBcStats;
    logger: Logger;
    resolveTimeoutMs: number;
  }) {
    this.id = args.id;
    this.hex = toHex(args.id);
    this.nodeId = args.nodeId;
    this.section = args.section;
    this.ledger = args.ledger;
    this.createdAt = Math.floor(Date.now() / 1000);
    this.#stats = args.stats;
    this.#log = args.logger;
    this.#resolveTimeoutMs = args.resolveTimeoutMs;
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
    this.#stats.increment("multicast", "leave");
  }

  /**
   * Routed delivery (v1.1.1 `send_message_to_user`): adds `infra_msg_type` = 00 02 and writes
   * the map to every connection of the destination user (encrypted where ECDH is active).
   * Returns true when written at least once, or handed to a fallback / a bounce.
   */
  sendToUser(msg: WireMessage, options: SendOptions = {}): boolean {
    const dst = msg.destination_user_id;
    if (dst === undefined) return true;
    msg.infra_msg_type = CATEGORY_USER;
    const user = dst instanceof Uint8Array ? this.users.get(toHex(dst)) : undefined;
    if (msg.is_anycast !== undefined && msg.is_anycast !== null && msg.is_anycast !== false) {
      return this.#sendAnycast(msg, user);
    }
    if (user !== undefined && user.conns.size > 0) {
      let count = 0;
      const plain = encodeMessage(2, msg);
      for (const c of user.conns) {
        if (c.sendRouted(this.hex, msg, plain)) {
          count++;
          this.#stats.increment("user_message", "sent_msg_to_user");
        }
      }
      return count > 0;
    }
    if (options.directOnly) return false;
    if (options.fallback !== undefined) {
      options.fallback.sendPlain(msg);
      return true;
    }
    this.#scheduleBounce(msg);
    return true;
  }

  /** Anycast: one random local connection of the user, `anycast_ttl` decremented. */
  #sendAnycast(msg: WireMessage, user: RegisteredUser | undefined): boolean {
    const ttl = typeof msg.anycast_ttl === "number" ? msg.anycast_ttl : 0;
    // v1.1.1 drops an anycast it cannot place (no forwarding entry); no bounce
    if (ttl <= 0 || user === undefined || user.conns.size === 0) return false;
    msg.anycast_ttl = ttl - 1;
    const conns = [...user.conns];
    const c = conns[Math.floor(Math.random() * conns.length)]!;
    const ok = c.sendRouted(this.hex, msg);
    if (ok) this.#stats.increment("user_message", "sent_msg_to_user");
    return ok;
  }

  /**
   * A destination that is not here: without peers resolution cannot succeed, so after the
   * resolve timeout (5 s in v1.1.1) the map goes back to its sender with `result` false and
   * `reason` "Cannot find such user" (`_resolve_failure`). Maps without a sender are dropped.
   */
  #scheduleBounce(msg: WireMessage): void {
    const src = msg.source_user_id;
    if (!(src instanceof Uint8Array)) {
      this.#log.debug({ domain: this.hex.slice(0, 8) }, "undeliverable message without sender dropped");
      return;
    }
    const t = setTimeout(() => {
      this.#timers.delete(t);
      const back: WireMessage = { ...msg, destination_user_id: src, result: false, reason: "Cannot find such user" };
      delete back.is_anycast;
      try {
        this.sendToUser(back, { directOnly: true });
      } catch (e) {
        this.#log.debug({ err: (e as Error).message }, "bounce not sent");
      }
    }, this.#resolveTimeoutMs);
    t.unref();
    this.#timers.add(t);
  }

  /** Subscribes a user to NOTIFY_INSERTED for an asset group. */
  subscribe(assetGroupId: Uint8Array, userId: Uint8Array): void {
    const key = toHex(assetGroupId);
    let g = this.notifications.get(key);
    if (g === undefined) this.notifications.set(key, (g = { assetGroupId, users: new Map() }));
    g.users.set(toHex(userId), userId);
    this.#stats.increment("multicast", "join");
  }

  /**
   * Removes a subscription (`remove_from_notification_list`); a null asset group means every
   * group. Users not subscribed are ignored (the reference crashes, Quirk C8).
   */
  unsubscribe(assetGroupId: Uint8Array | null, userId: Uint8Array): void {
    const uk = toHex(userId);
    const groups = assetGroupId === null ? [...this.notifications.keys()] : [toHex(assetGroupId)];
    for (const gk of groups) {
      const g = this.notifications.get(gk);
      if (g === undefined || !g.users.delete(uk)) continue;
      if (g.users.size === 0) {
        this.notifications.delete(gk);
        this.#stats.increment("multicast", "leave");
      }
    }
  }

  /**
   * NOTIFY_INSERTED to local subscribers of any of `assetGroupIds` (one per user); a subscriber
   * that cannot be reached is removed from all its subscriptions in the domain.
   */
  notifyInserted(transactionId: Uint8Array, assetGroupIds: Uint8Array[]): void {
    if (this.notifications.size === 0) return;
    const users = new Map<string, Uint8Array>();
    for (const ag of assetGroupIds) {
      const g = this.notifications.get(toHex(ag));
      if (g !== undefined) for (const [k, u] of g.users) users.set(k, u);
    }
    if (users.size === 0) return;
    for (const userId of users.values()) {
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
  }

  /** Stops timers (pending bounces). */
  stop(): void {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
  }
}
