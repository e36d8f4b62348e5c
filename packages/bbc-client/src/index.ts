/**
 * @bbc1/client: the application client of a BBc-1 v1.1.1 core node (TCP, default port 9000),
 * Promise-based, speaking exactly what v1.1.1's `bbc_app.BBcAppClient` sends.
 *
 * @example
 * ```ts
 * import { BBcAppClient } from "@bbc1/client";
 * const client = await BBcAppClient.connect({ port: 9000, domainId, userId });
 * await client.register();
 * const { transactionId } = await client.insertTransaction(tx);
 * const found = await client.searchTransaction(transactionId);
 * await client.close();
 * ```
 * @packageDocumentation
 */
export { BbcClientError, isBbcClientError, type BbcClientErrorCode, type BbcClientErrorDetails } from "./errors.js";
export { BBcAppClient } from "./client.js";
export {
  DEFAULT_CORE_PORT,
  DEFAULT_P2P_PORT,
  DEFAULT_REQUEST_TIMEOUT_MS,
  DEFAULT_UNSIGNED_ADMIN_TIMEOUT_MS,
  type AdminResult,
  type AssetFilesInput,
  type CallOptions,
  type ClientEvents,
  type ClientLogger,
  type ClientOptions,
  type Conditions,
  type CrossRefNotification,
  type CrossRefVerification,
  type InsertResult,
  type InsertedNotification,
  type SearchResult,
  type SearchTransactionResult,
  type SignRequest,
  type SignatureResponse,
  type TraverseResult,
  type UndeliverableMessage,
  type UserMessage,
} from "./types.js";
export {
  formatIpv4,
  formatIpv6,
  parseNeighborList,
  parseOneLevelList,
  parseTwoLevelList,
  signatureFromWire,
  signatureToWire,
  type AssetFileMap,
  type IdListEntry,
  type NeighborInfo,
} from "./decode.js";
