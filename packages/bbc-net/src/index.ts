/**
 * @bbc1/net: BBc-1 v1.1.1 node-to-node networking.
 *
 * Layers, each knowing only the one below: {@link Transport} (UDP + TCP on the P2P port,
 * framing, per-peer budgets) -> envelope ({@link sealAdmin}/{@link openAdmin}, dispatch by
 * category in {@link BBcNetwork}) -> per-domain components ({@link NetworkDomain}:
 * {@link NeighborTable}, {@link KeyExchange}, {@link Topology}, {@link DomainKeys}).
 *
 * @packageDocumentation
 */
export { NetError, isNetError, type NetErrorCode } from "./errors.js";
export { ManualScheduler, ProtocolTimer, RealScheduler, randint, uniform, type RandomFn, type Scheduler, type TimerHandle } from "./clock.js";
export { DEFAULT_NET_TIMINGS, resolveTimings, type NetTimings } from "./timings.js";
export { AddressBuckets, DEFAULT_NET_LIMITS, DEFAULT_PARTIAL_FRAMES_TOTAL_BYTES, NetBudgets, p2pLimitKey, readP2pLimits, resolveLimits, type NetLimits } from "./limits.js";
export { NetStats, type StatsSink } from "./stats.js";
export { TCP_THRESHOLD_SIZE, Transport, type Destination, type PeerAddress, type SendResult, type TransportOptions } from "./transport.js";
export {
  NEIGHBOR_ENTRY_LENGTH,
  NeighborTable,
  NodeInfo,
  decodeNeighborEntry,
  decodeNeighborList,
  encodeNeighborEntry,
  encodeNeighborList,
  isLessThan,
  type AddResult,
  type NeighborEntry,
} from "./neighbors.js";
export { DomainKeys, domainKeyFileName, type DomainKeyConfig } from "./domain-key.js";
export { KeyExchange, KeyExchangeState, type KeyExchangeDeps, type KeyExchangeFields, type KeyExchangeStateValue } from "./key-exchange.js";
export { Topology, type TopologyDeps } from "./topology.js";
export { StreamDecryptor, type Decrypted } from "./decrypt.js";
export {
  buildDomainPing,
  buildKeyExchange,
  buildNeighborListMessage,
  buildNotifyLeave,
  openAdmin,
  sealAdmin,
  u16Of,
  type AdminMessage,
  type AdminSigner,
  type PingFields,
} from "./messages.js";
export { CommandDispatch, type CommandHandler } from "./dispatch.js";
export {
  DEFAULT_REPAIR_LIMITS,
  REPAIR_INFRA_COMMAND,
  Repair,
  buildRepairRequest,
  buildRepairResponse,
  type RepairDeps,
  type RepairLedger,
  type RepairLimits,
  type RepairLogEntry,
  type RepairRequestResult,
  type RepairVerdict,
} from "./repair.js";
export {
  DEFAULT_REPLICATION_LIMITS,
  REQUEST_REPLICATION_INSERT,
  Replication,
  buildReplicationInsert,
  decodeReplicationInsert,
  replicationStrategyOf,
  type ReplicationDeps,
  type ReplicationInsert,
  type ReplicationLedger,
  type ReplicationLimits,
  type ReplicationStrategy,
} from "./replication.js";
export { CatchUp, CatchUpCommand, buildCatchUp, decodeCatchUp, type CatchUpMessage } from "./catchup.js";
export { ResolveAccounts, peerOwner, type ResolveAccount, type RouteOwner } from "./resolve-accounts.js";
export { CANNOT_FIND_USER, TOO_MANY_RESOLUTIONS, UserRouting, type RouteOptions, type RoutingNetwork, type UserRoutingDeps } from "./user-routing.js";
export { ForwardingTable, type ForwardingAdd, type ForwardingEntry } from "./forwarding.js";
export { InsertNotifications, MAX_NOTIFIED_ASSET_GROUPS } from "./insert-notify.js";
export { buildJoin, buildLeave, buildNoSuchUser, buildNotifyInserted, buildResolve, buildResolveResponse } from "./user-messages.js";
export { NetworkDomain, type EncryptionPolicy, type NetworkDomainDeps, type SendMode, type StaticNode } from "./domain.js";
export { BBcNetwork, DEFAULT_P2P_PORT, DOMAIN_GLOBAL_0, type BBcNetworkOptions, type CreateDomainOptions } from "./network.js";
export type {
  CategoryHandler,
  CrossRefRow,
  CrossRefStore,
  InsertNotifier,
  LedgerAccess,
  LocalUsers,
  PluggableCategory,
  ReceiveContext,
  ReplicatedInsertResult,
} from "./interfaces.js";
export { bytesToIPv4, bytesToIPv6, ipv4ToBytes, ipv6ToBytes, isIPv4, isIPv6, usableIPv4, usableIPv6 } from "./addresses.js";
export { Domain0Manager, sendRequestVerify, type Domain0Deps, type Domain0Options } from "./domain0.js";
export { Domain0Tables } from "./domain0-tables.js";
export { CrossRefStock, MAX_CROSS_REF_STOCK, type CrossRefStockOptions } from "./cross-ref-stock.js";
export {
  buildAdvDomainList,
  buildCrossRefAssignment,
  buildCrossRefRegistered,
  buildDistributeCrossRef,
  buildNotifyCrossRef,
  buildReplicationCrossRef,
  buildRequestVerify,
  buildRequestVerifyOuter,
  buildResponseCrossRefVerify,
  buildResponseVerifyOuter,
  domain0CommandOf,
  parseCrossRef,
  parseDomainList,
  parseVerificationInfo,
  type CrossRefPair,
  type VerificationInfo,
} from "./domain0-messages.js";
