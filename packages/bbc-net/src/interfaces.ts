import type { WireMessage } from "@bbc1/wire";
import type { PeerAddress } from "./transport.js";

/**
 * The seams between the network and the rest of the node.
 *
 * 1. {@link CategoryHandler}: how the next components (user routing §8, replication §9,
 *    repair §10, domain0 §11) plug into the dispatch of received messages.
 * 2. The interfaces the **core** implements for what those components need from it
 *    ({@link LocalUsers}, {@link LedgerAccess}, {@link InsertNotifier}, {@link CrossRefStore}).
 *    `@bbc1/net` never imports `@bbc1/core` or `@bbc1/storage`: the core passes objects of these
 *    shapes to the components' constructors.
 */

/** Where and how a message arrived. */
export interface ReceiveContext {
  /** The domain it names (for DOMAIN0: the domain it arrived in, normally domain_global_0). */
  readonly domainId: Uint8Array;
  /** `source_node_id` of the message (checked: 32 bytes). */
  readonly sourceNodeId: Uint8Array;
  /** Transport source. */
  readonly from: PeerAddress;
  /** True when it arrived as payload type 3. */
  readonly encrypted: boolean;
}

/**
 * A receiver of one message category. The network calls `handle` for each message of its
 * category, after the envelope checks and after refreshing the sender's neighbour entry
 * (as v1.1.1 does for USER/DATA/DOMAIN0). A thrown error or rejected promise is a logged,
 * counted drop (`network.drop.handler_error`), never a dead loop.
 *
 * A new handler states which budget bounds it (ARCHITECTURE.md "Limits"): the network's
 * per-address message rate bounds every category; expensive work (signature verification,
 * storage writes) needs its own bound inside the handler.
 */
export interface CategoryHandler {
  handle(message: WireMessage, context: ReceiveContext): void | Promise<void>;
  /** Called when the domain (or, for DOMAIN0, the network) closes. */
  close?(): void | Promise<void>;
}

/** The infra categories a domain hands to pluggable handlers. */
export type PluggableCategory = "user" | "data";

/** Result of storing a replicated transaction (§9.3). */
export type ReplicatedInsertResult =
  /** Verified and stored durably. */
  | { readonly outcome: "stored"; readonly transactionId: Uint8Array }
  /** Already stored (duplicate or replay): harmless, nothing changed. */
  | { readonly outcome: "duplicate"; readonly transactionId: Uint8Array }
  /** Failed verification (signature, asset digest, format, budget): never stored; the reason is logged and counted. */
  | { readonly outcome: "rejected"; readonly reason: string };

/**
 * What replication (§9) and repair (§10) need from the ledger. Implemented by the core over its
 * store; every method verifies like a client insert and is durable before it resolves.
 */
export interface LedgerAccess {
  /**
   * Verifies (signatures, asset_id digests, asset-file digests, the core's insert budgets) and
   * stores a transaction received by REQUEST_REPLICATION_INSERT, with its asset files; triggers
   * the same local notifications as a local insert. Never throws for bad data: it answers
   * `rejected`.
   */
  insertReplicatedTransaction(domainId: Uint8Array, transactionData: Uint8Array, assetFiles: ReadonlyMap<string, Uint8Array> | null): Promise<ReplicatedInsertResult>;
  /** The stored bytes of a transaction (for REPAIR responses and domain0 verification), or null. */
  getTransactionData(domainId: Uint8Array, transactionId: Uint8Array): Promise<Uint8Array | null>;
  /** An asset file (hex-free raw bytes), or null when absent or storage is external. */
  getAssetFile(domainId: Uint8Array, assetGroupId: Uint8Array, assetId: Uint8Array): Promise<Uint8Array | null>;
  /**
   * Replaces a stored transaction by a verified copy received in a repair (the core verifies it
   * and checks it has the requested id). Resolves false when the copy was rejected.
   */
  repairTransaction(domainId: Uint8Array, transactionId: Uint8Array, transactionData: Uint8Array): Promise<boolean>;
  /** Replaces an asset file by a copy whose digest the core verified against the newest transaction holding it. */
  repairAssetFile(domainId: Uint8Array, assetGroupId: Uint8Array, assetId: Uint8Array, file: Uint8Array): Promise<boolean>;
}

/** A cross_ref table row (§9.5, §11.3). */
export interface CrossRefRow {
  readonly transactionId: Uint8Array;
  readonly outerDomainId: Uint8Array;
  readonly txidHavingCrossRef: Uint8Array;
}

/** The cross_ref table of a domain (§9.5 REPLICATION_CROSS_REF, §11 domain0). */
export interface CrossRefStore {
  /** Stores a row; resolves false when the same row was already stored (v1.1.1 stores it again, Q34). */
  insertCrossRef(domainId: Uint8Array, row: CrossRefRow): Promise<boolean>;
  /** Rows whose `transactionId` is the given one. */
  getCrossRefs(domainId: Uint8Array, transactionId: Uint8Array): Promise<CrossRefRow[]>;
}

/** The users registered on this node (client connections), for user routing (§8). */
export interface LocalUsers {
  /** True when `userId` has at least one connection here in the domain. */
  isRegistered(domainId: Uint8Array, userId: Uint8Array): boolean;
  /** Writes `message` to every connection of `userId` (encrypted with the client's key if it has one). False when the user is not here. */
  deliver(domainId: Uint8Array, userId: Uint8Array, message: WireMessage): boolean;
  /** Writes `message` to one connection of `userId` chosen at random (anycast, §8.6); default {@link deliver}. */
  deliverAnycast?(domainId: Uint8Array, userId: Uint8Array, message: WireMessage): boolean;
  /** Every registered user id of the domain (CROSS_REF_ASSIGNMENT hands cross_refs to random ones). */
  registeredUsers(domainId: Uint8Array): Uint8Array[];
}

/** Local insert notifications (NOTIFY_INSERTED from another node, §9.4). */
export interface InsertNotifier {
  /** Notifies the local subscribers of these asset groups that `transactionId` was inserted. */
  notifyInserted(domainId: Uint8Array, transactionId: Uint8Array, assetGroupIds: readonly Uint8Array[]): void;
}
