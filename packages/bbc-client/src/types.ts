/**
 * Options, answers and events of {@link BBcAppClient}.
 */
import type { BBcCrossRef, BBcSignature, BBcTransaction, KeyPair } from "@bbc1/bbclib";
import type { WireMessage, WireValue } from "@bbc1/wire";
import type { AssetFileMap } from "./decode.js";
import type { BBcAppClient } from "./client.js";

/** Default client port of a core node (v1.1.1 `DEFAULT_CORE_PORT`). */
export const DEFAULT_CORE_PORT = 9000;
/** Default P2P port (v1.1.1 `DEFAULT_P2P_PORT`), the default of {@link BBcAppClient.sendDomainPing}. */
export const DEFAULT_P2P_PORT = 6641;
/** Default time a request waits for its answer. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
/** Default timeout of admin commands sent without a node key (ms). */
export const DEFAULT_UNSIGNED_ADMIN_TIMEOUT_MS = 5_000;

/** The logging calls the client makes; a pino logger fits. */
export interface ClientLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}


/** Options of {@link BBcAppClient.connect}. */
export interface ClientOptions {
  /** Core host (default "127.0.0.1"; IPv6 literals work). */
  host?: string;
  /** Core client port (default 9000). */
  port?: number;
  /** Default timeout of requests in ms (default 30 s). `0` or `Infinity`: wait forever. */
  requestTimeoutMs?: number;
  /**
   * Timeout in ms of admin commands sent without a node key (default 5 s, never above
   * `requestTimeoutMs`): a node checking admin commands drops them without an answer, so the
   * call fails early with a `TIMEOUT` that says so.
   */
  unsignedAdminTimeoutMs?: number;
  /** Timeout of the TCP connect in ms (default 10 s). */
  connectTimeoutMs?: number;
  /** Largest frame accepted from the core (default 64 MiB). */
  maxMessageSize?: number;
  /** Injected logger (pino-compatible). Default: silent. */
  logger?: ClientLogger;
  /** Initial user id ({@link BBcAppClient.setUserId}). */
  userId?: Uint8Array | null;
  /** Initial domain id ({@link BBcAppClient.setDomainId}). */
  domainId?: Uint8Array | null;
  /** Node key for admin commands ({@link BBcAppClient.setNodeKey}). */
  nodeKey?: KeyPair | string | null;
}

/** Per-call options of requests that wait for an answer. */
export interface CallOptions {
  /** Overrides the client's request timeout (ms); `0` or `Infinity`: wait forever. */
  timeoutMs?: number;
}

/** Asset files given to a call: asset_id (bytes or hex) -> content. */
export type AssetFilesInput = ReadonlyMap<Uint8Array | string, Uint8Array> | Iterable<readonly [Uint8Array | string, Uint8Array]>;

/** Search conditions (AND-combined); at least one must be given. */
export interface Conditions {
  assetGroupId?: Uint8Array | null;
  assetId?: Uint8Array | null;
  userId?: Uint8Array | null;
}

/** Answer to {@link BBcAppClient.insertTransaction}. */
export interface InsertResult {
  transactionId: Uint8Array;
  raw: WireMessage;
}

/** Answer to {@link BBcAppClient.searchTransaction}. */
export interface SearchTransactionResult {
  transactionId: Uint8Array;
  /** The decoded transaction; `null` only when `compromised` and the stored bytes were bad. */
  transaction: BBcTransaction | null;
  /** Stored bytes (`transaction_data`, or `compromised_transaction_data` when compromised). */
  transactionData: Uint8Array | null;
  /** Good asset files. */
  assetFiles: AssetFileMap;
  /** True when the node reported compromised data (status −15; only with `acceptCompromised`). */
  compromised: boolean;
  compromisedTransactionIds: Uint8Array[];
  compromisedAssetFiles: AssetFileMap;
  raw: WireMessage;
}

/** Answer to {@link BBcAppClient.searchTransactionWithCondition}. */
export interface SearchResult {
  transactions: BBcTransaction[];
  transactionData: Uint8Array[];
  assetFiles: AssetFileMap;
  compromisedTransactionData: Uint8Array[];
  compromisedTransactionIds: Uint8Array[];
  compromisedAssetFiles: AssetFileMap;
  raw: WireMessage;
}

/** Answer to {@link BBcAppClient.traverseTransactions}. */
export interface TraverseResult {
  transactionId: Uint8Array;
  /** Levels of decoded transactions; level 0 is the origin. */
  tree: BBcTransaction[][];
  /** The same levels as stored bytes. */
  treeData: Uint8Array[][];
  /** False when the walk stopped at the node's max_traverse limit. */
  allIncluded: boolean;
  assetFiles: AssetFileMap;
  raw: WireMessage;
}

/** One signer's answer collected by {@link BBcAppClient.gatherSignatures}. */
export interface SignatureResponse {
  /** The signer (`source_user_id`); `null` for a bounce ("Cannot find such user"). */
  signerId: Uint8Array | null;
  /** 0 on success, negative for a denial (−255) or a bounce. */
  status: number;
  reason?: string;
  /** −1 for a witness signature, else the index of the reference it signs. */
  refIndex?: number;
  signature?: BBcSignature;
  queryId: Uint8Array | null;
  raw: WireMessage;
}

/** A REQUEST_SIGNATURE delivered to this client (event `signRequest`). */
export interface SignRequest {
  domainId: Uint8Array | null;
  /** The requester; answer to it. */
  sourceUserId: Uint8Array;
  /** The requester's query_id: echo it in {@link BBcAppClient.sendbackSignature}. */
  queryId: Uint8Array | null;
  transactionData: Uint8Array;
  /** The decoded transaction, or `null` when it does not decode. */
  transaction: BBcTransaction | null;
  /** Referred transactions: transaction_id hex -> serialized transaction. */
  referredTransactions: Map<string, Uint8Array>;
  assetFiles: AssetFileMap;
  raw: WireMessage;
}

/** A MESSAGE delivered to this client (event `message`). */
export interface UserMessage {
  domainId: Uint8Array | null;
  sourceUserId: Uint8Array | null;
  /** The body, as msgpack decoded it (text arrives as bytes). */
  message: WireValue | undefined;
  /** Set by the core for anycast messages. */
  anycastTtl?: number;
  raw: WireMessage;
}

/** A message the core could not deliver and sent back (event `undeliverable`). */
export interface UndeliverableMessage {
  command: number;
  reason?: string;
  queryId: Uint8Array | null;
  raw: WireMessage;
}

/** NOTIFY_INSERTED (event `inserted`). */
export interface InsertedNotification {
  domainId: Uint8Array | null;
  transactionId: Uint8Array;
  assetGroupIds: Uint8Array[];
  raw: WireMessage;
}

/** NOTIFY_CROSS_REF (event `crossRef`). */
export interface CrossRefNotification {
  crossRef: BBcCrossRef;
  raw: WireMessage;
}

/** RESPONSE_CROSS_REF_VERIFY (event `crossRefVerify`, and {@link BBcAppClient.requestVerifyByCrossRef}). */
export interface CrossRefVerification {
  domainId: Uint8Array | null;
  transactionId: Uint8Array;
  /** transaction_base_digest of the outer transaction. */
  transactionBaseDigest: Uint8Array;
  crossRef: BBcCrossRef;
  signature: BBcSignature;
  formatType: number;
  /**
   * bbclib `verifyUsingCrossRef(domainId, transactionId, ...)` over the received bytes: true when
   * the outer domain's signed transaction holds this cross reference (§11.5 step 6).
   */
  verified: boolean;
  raw: WireMessage;
}

/** Answer of the domain setup / close calls. */
export interface AdminResult {
  result: boolean;
  reason?: string;
  raw: WireMessage;
}

/** Events of {@link BBcAppClient}. */
export interface ClientEvents {
  /** A REQUEST_SIGNATURE from another user. */
  signRequest: SignRequest;
  /** A MESSAGE from another user. */
  message: UserMessage;
  /** A MESSAGE or REQUEST_SIGNATURE bounced by the core (`result` false) that no pending call took. */
  undeliverable: UndeliverableMessage;
  /** An insert completion notification. */
  inserted: InsertedNotification;
  /** A cross reference handed to this client (also queued in {@link BBcAppClient.crossRefList}). */
  crossRef: CrossRefNotification;
  /** A cross-reference verification result. */
  crossRefVerify: CrossRefVerification;
  /** A RESPONSE_GATHER_SIGNATURE that no pending {@link BBcAppClient.gatherSignatures} took. */
  signatureResponse: SignatureResponse;
  /** Any other message no pending call took (raw). */
  unsolicited: WireMessage;
  /** A frame that did not decode (the connection goes on). */
  decodeError: Error;
  /** The connection closed; with the error that closed it, if any. */
  close: Error | undefined;
}
