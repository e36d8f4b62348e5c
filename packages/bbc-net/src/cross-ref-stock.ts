import { u16Bytes, InfraMessageCategory, type WireMessage } from "@bbc1/wire";
import type { RandomFn } from "./clock.js";
import { buildNotifyCrossRef, parseCrossRef, type CrossRefPair } from "./domain0-messages.js";
import type { LocalUsers, ReceiveContext } from "./interfaces.js";
import type { StatsSink } from "./stats.js";

/** v1.1.1 `MAX_CROSS_REF_STOCK`: cross_refs are handed to clients once the stock holds more than this. */
export const MAX_CROSS_REF_STOCK = 10;

/** Options of {@link CrossRefStock}. */
export interface CrossRefStockOptions {
  domainId: Uint8Array;
  users: LocalUsers;
  random?: RandomFn;
  stats?: StatsSink;
  /** Threshold of v1.1.1 (default {@link MAX_CROSS_REF_STOCK}; its tests use 0). */
  maxStock?: number;
  /** Most cross_refs held while nobody is registered (oldest dropped first; v1.1.1 grows without bound). Default 1000. */
  capacity?: number;
}

/**
 * The cross_ref stock of one regular domain (v1.1.1 `UserMessageRouting.cross_ref_list`, §8.7):
 * CROSS_REF_ASSIGNMENT from a domain0 node appends to it; once it holds more than `maxStock`
 * items and a user is registered, every item goes to a randomly chosen local user as
 * NOTIFY_CROSS_REF. The domain's user routing hands it the `infra_command` `00 05` messages
 * ({@link handle}); bounded by `capacity`.
 */
export class CrossRefStock {
  readonly domainId: Uint8Array;
  readonly #users: LocalUsers;
  readonly #random: RandomFn;
  readonly #stats: StatsSink | undefined;
  readonly #maxStock: number;
  readonly #capacity: number;
  readonly #items: CrossRefPair[] = [];

  constructor(o: CrossRefStockOptions) {
    this.domainId = o.domainId;
    this.#users = o.users;
    this.#random = o.random ?? Math.random;
    this.#stats = o.stats;
    this.#maxStock = o.maxStock ?? MAX_CROSS_REF_STOCK;
    this.#capacity = Math.max(1, o.capacity ?? 1000);
  }

  /** Items waiting. */
  get size(): number {
    return this.#items.length;
  }

  /** A received CROSS_REF_ASSIGNMENT. Throws `BAD_MESSAGE` when `cross_ref` is not two 32-byte ids. */
  handle(msg: WireMessage, _ctx?: ReceiveContext): void {
    this.add(parseCrossRef(msg.cross_ref));
  }

  /** Appends one cross_ref and distributes the stock when it exceeds the threshold. */
  add(cr: CrossRefPair): void {
    if (this.#items.length >= this.#capacity) {
      this.#items.shift();
      this.#stats?.increment("user_message", "cross_ref_stock_overflow");
    }
    this.#items.push(cr);
    if (this.#items.length > this.#maxStock) this.distribute();
  }

  /** Hands every stocked item to a random registered user (nothing when nobody is registered). Returns how many went out. */
  distribute(): number {
    let n = 0;
    while (this.#items.length > 0) {
      const users = this.#users.registeredUsers(this.domainId);
      if (users.length === 0) break;
      const user = users[Math.floor(this.#random() * users.length)]!;
      const cr = this.#items.shift()!;
      const msg = buildNotifyCrossRef(this.domainId, user, cr);
      msg.infra_msg_type = u16Bytes(InfraMessageCategory.CATEGORY_USER);
      if (this.#users.deliver(this.domainId, user, msg)) {
        n++;
        this.#stats?.increment("user_message", "notify_cross_ref");
      }
    }
    return n;
  }
}
