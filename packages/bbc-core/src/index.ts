/**
 * @bbc1/core: a BBc-1 v1.1.1 core node as a library. {@link BBcCoreService} owns the config,
 * the node key, the domains and their ledgers, the client TCP server, statistics and logging.
 *
 * @example
 * ```ts
 * import { BBcCoreService } from "@bbc1/core";
 * const node = await BBcCoreService.start({ workingDir: ".bbc1", corePort: 9000 });
 * // ... serve clients ...
 * await node.close();
 * ```
 * @packageDocumentation
 */
export { BBcCoreService, type BBcCoreServiceOptions } from "./service.js";
export { CoreError, isCoreError, type CoreErrorCode } from "./errors.js";
export {
  BBcConfig,
  defaultConfig,
  updateDeep,
  DEFAULT_CORE_PORT,
  DEFAULT_P2P_PORT,
  DEFAULT_WORKING_DIR,
  DEFAULT_CONFIG_FILE,
  type BBcConfigOptions,
  type JsonObject,
  type JsonValue,
} from "./config.js";
export { BBcStats } from "./stats.js";
export {
  DEFAULT_LIMITS,
  resolveLimits,
  configKey,
  type LimitOverrides,
  type PortLimits,
  type ProcessLimits,
  type ResolvedLimits,
} from "./limits.js";
export { NODE_KEY_FILE, loadOrCreateNodeKey, writeNodeKey, checkAdminMessage, type NodeKeyLoad } from "./nodekey.js";
export type { DomainLedger, LedgerEntry, LedgerFactory, AssetCondition, AssetIndexRow } from "./store.js";
export { StorageLedger, storageLedgerFactory } from "./storage-adapter.js";
export { Domain } from "./domain.js";
export { CoreRepairLedger, readRepairLimits, repairOf } from "./repair.js";
export { CoreMetrics, INSERT_ERROR_REASONS, type InsertErrorReason, type MetricsSource, type PeerView } from "./http/metrics.js";
export { HttpEndpoint, DEFAULT_HTTP_PORT, type HttpOptions, type ResolvedHttpOptions, type P2pView } from "./http/index.js";
