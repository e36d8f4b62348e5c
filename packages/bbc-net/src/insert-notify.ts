import { toHex } from "@bbc1/bbclib";
import { getBytes, type WireMessage } from "@bbc1/wire";
import type { CommandHandler } from "./dispatch.js";
import { NetError } from "./errors.js";
import type { InsertNotifier, ReceiveContext } from "./interfaces.js";
import type { StatsSink } from "./stats.js";
import { buildNotifyInserted } from "./user-messages.js";
import type { RoutingNetwork, UserRouting } from "./user-routing.js";

/** Most asset groups one NOTIFY_INSERTED may name (a transaction has one per event/relation asset). */
export const MAX_NOTIFIED_ASSET_GROUPS = 1024;

/**
 * Insert notifications across nodes (§9.4): the DATA `00 04` handler (register it in the
 * domain's DATA {@link CommandDispatch}) and the sender.
 *
 * A node whose client subscribes to an asset group broadcasts a permanent JOIN for it (the core
 * calls {@link UserRouting.join} with `permanent`); after a client insert, the core calls
 * {@link notifyNodes}, which sends NOTIFY_INSERTED to every node in the forwarding entries of
 * the transaction's asset groups (once per node, naming all the groups). A received one is
 * handed to the local subscribers ({@link InsertNotifier}) and never relayed.
 */
export class InsertNotifications implements CommandHandler {
  readonly #network: RoutingNetwork;
  readonly #routing: UserRouting;
  readonly #notifier: InsertNotifier;
  readonly #stats: StatsSink;

  constructor(deps: { network: RoutingNetwork; routing: UserRouting; notifier: InsertNotifier; stats: StatsSink }) {
    this.#network = deps.network;
    this.#routing = deps.routing;
    this.#notifier = deps.notifier;
    this.#stats = deps.stats;
  }

  /** NOTIFY_INSERTED to the nodes that joined any of `assetGroupIds`; returns how many were sent. */
  notifyNodes(transactionId: Uint8Array, assetGroupIds: readonly Uint8Array[]): number {
    const nodes = new Map<string, Uint8Array>();
    for (const ag of assetGroupIds) for (const n of this.#routing.forwardingNodes(ag)) nodes.set(toHex(n), n);
    if (nodes.size === 0) return 0;
    const msg = buildNotifyInserted(this.#network.domainId, transactionId, assetGroupIds);
    let sent = 0;
    for (const n of nodes.values()) {
      msg.destination_node_id = n;
      if (this.#network.sendToNode(n, msg, "any") !== "none") sent++;
    }
    this.#stats.increment("data_handler", "send_notify_inserted", sent);
    return sent;
  }

  handle(msg: WireMessage, ctx: ReceiveContext): void {
    this.#stats.increment("data_handler", "NOTIFY_INSERTED");
    let txid: Uint8Array | undefined;
    try {
      txid = getBytes(msg, "transaction_id");
    } catch {
      throw new NetError("BAD_MESSAGE", "NOTIFY_INSERTED whose transaction_id is not bytes");
    }
    const groups = msg.asset_group_ids;
    // v1.1.1 ignores it when either key is missing
    if (txid === undefined || groups === undefined) return;
    if (txid.length === 0 || txid.length > 255) throw new NetError("BAD_MESSAGE", `NOTIFY_INSERTED with a ${txid.length}-byte transaction_id`);
    if (!Array.isArray(groups)) throw new NetError("BAD_MESSAGE", "NOTIFY_INSERTED whose asset_group_ids is not a list");
    if (groups.length > MAX_NOTIFIED_ASSET_GROUPS) throw new NetError("BAD_MESSAGE", `NOTIFY_INSERTED naming ${groups.length} asset groups`);
    const ids: Uint8Array[] = [];
    for (const g of groups) if (g instanceof Uint8Array && g.length > 0 && g.length <= 255) ids.push(g);
    if (ids.length === 0) return;
    this.#notifier.notifyInserted(ctx.domainId, txid, ids);
  }
}
