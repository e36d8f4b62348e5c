/**
 * User routing across nodes (p2p-protocol.md §8, §9.4) wired into a domain: the core's side of
 * `@bbc1/net`'s {@link UserRouting} and {@link InsertNotifications}.
 *
 * - {@link DomainUsers} implements `LocalUsers` over the domain's registered connections (routed
 *   maps are encoded once and written encrypted where the client did ECDH).
 * - {@link attachRouting} builds the domain's routing, installs it as the USER handler of the
 *   domain's network part and NOTIFY_INSERTED (`00 04`) in its DATA dispatch, and hands both to
 *   the {@link Domain}, whose send path falls back to them for users that are not here.
 * @module
 */
import type { Logger } from "pino";
import { DataHandlerCommand, type RefusalCounter, type WireMessage } from "@bbc1/wire";
import { InsertNotifications, UserRouting, type BBcNetwork, type LocalUsers, type NetworkDomain, type ReceiveContext } from "@bbc1/net";
import type { Domain } from "./domain.js";
import { EncodedPayload, type OutputPool } from "./outbox.js";
import type { BBcStats } from "./stats.js";

/** The users registered on this node in one domain, as user routing sees them. */
export class DomainUsers implements LocalUsers {
  readonly #domain: Domain;
  readonly #output: OutputPool;

  constructor(domain: Domain, output: OutputPool) {
    this.#domain = domain;
    this.#output = output;
  }

  isRegistered(_domainId: Uint8Array, userId: Uint8Array): boolean {
    const u = this.#domain.localUser(userId);
    return u !== undefined && u.conns.size > 0;
  }

  deliver(_domainId: Uint8Array, userId: Uint8Array, message: WireMessage): boolean {
    const u = this.#domain.localUser(userId);
    if (u === undefined || u.conns.size === 0) return false;
    return this.#domain.deliverLocal(u, EncodedPayload.of(message, this.#output));
  }

  deliverAnycast(_domainId: Uint8Array, userId: Uint8Array, message: WireMessage): boolean {
    const u = this.#domain.localUser(userId);
    if (u === undefined || u.conns.size === 0) return false;
    const conns = [...u.conns];
    const c = conns[Math.floor(Math.random() * conns.length)]!;
    return c.sendRouted(this.#domain.hex, EncodedPayload.of(message, this.#output));
  }

  registeredUsers(): Uint8Array[] {
    return [...this.#domain.users.values()].filter((u) => u.conns.size > 0).map((u) => u.userId);
  }
}

/** What {@link attachRouting} needs of the node. */
export interface RoutingWiring {
  network: BBcNetwork;
  output: OutputPool;
  stats: BBcStats;
  refusals: RefusalCounter;
  logger: Logger;
  /** CROSS_REF_ASSIGNMENT (§8.7) of this domain, for the domain0 component. */
  onCrossRefAssignment?: (domain: Domain, message: WireMessage, context: ReceiveContext) => void;
}

/**
 * Gives `domain` its user routing on `net`: USER handler, NOTIFY_INSERTED in the DATA dispatch,
 * `domain.routing` / `domain.insertNotifications` set. Protocol times come from the network's
 * `timings` (`network.timings.resolve_timeout_ms`, `forwarding_lifetime_ms`), bounds from its
 * `limits` (`limits.p2p`).
 */
export function attachRouting(domain: Domain, net: NetworkDomain, w: RoutingWiring): UserRouting {
  const routing = new UserRouting({
    network: net,
    users: new DomainUsers(domain, w.output),
    scheduler: w.network.scheduler,
    timings: w.network.timings,
    limits: w.network.limits,
    stats: w.stats,
    logger: w.logger.child({ component: "user_routing" }),
    refuse: (limit) => w.refusals.count(limit),
    onCrossRefAssignment: w.onCrossRefAssignment ? (m, ctx) => w.onCrossRefAssignment!(domain, m, ctx) : undefined,
  });
  net.setHandler("user", routing);
  const notifications = new InsertNotifications({
    network: net,
    routing,
    stats: w.stats,
    notifier: { notifyInserted: (_d, txid, groups) => domain.notifyInserted(txid, [...groups]) },
  });
  domain.data?.set(DataHandlerCommand.NOTIFY_INSERTED, notifications);
  domain.routing = routing;
  domain.insertNotifications = notifications;
  return routing;
}
