import type { SignatureBatchStats } from "../signature-batch.js";
import type { DeserializeOptions, KeyPair } from "@bbc1/bbclib";
import type { KeyRegistry, RefusalCounter, TokenBucket, WireMessage, WireValue, KeyTypeName } from "@bbc1/wire";
import type { Logger } from "pino";
import type { BBcConfig, JsonObject } from "../config.js";
import type { ClientConnection } from "../connection.js";
import type { Domain } from "../domain.js";
import type { BBcStats } from "../stats.js";
import type { DeferredVerdict, SubmittedVerdict, VerifiedCache, WireAssetFiles } from "../validator.js";
import type { ResolvedLimits } from "../limits.js";
import type { OutputPool } from "../outbox.js";
import type { CoreMetrics } from "../http/metrics.js";
import type { CrossRefs } from "../cross-refs.js";

/** What handlers may use of the service. */
export interface CoreInternals {
  readonly config: BBcConfig;
  readonly stats: BBcStats;
  readonly logger: Logger;
  readonly domains: Map<string, Domain>;
  readonly registry: KeyRegistry;
  readonly nodeKey: KeyPair | null;
  readonly p2pPort: number;
  readonly ip4addr: string | undefined;
  readonly ip6addr: string | undefined;
  readonly searchMaxCount: number;
  readonly traverseMaxCount: number;
  /** Signature verdicts of transaction bytes already verified. */
  readonly verified: VerifiedCache;
  /** Every resource limit in force. */
  readonly limits: ResolvedLimits;
  /** Refusals by limit name. */
  readonly refusals: RefusalCounter;
  /** Bytes queued for sending, process-wide. */
  readonly output: OutputPool;
  /** ECDH key exchanges of all connections together. */
  readonly ecdhTotal: TokenBucket;
  /** Decode limits of transactions (config `limits.decode`). */
  readonly deserializeOptions: DeserializeOptions;
  /** Gauges of what the node holds now (GET_STATS category `resources`). */
  resources(): Record<string, number>;
  /** Prometheus metrics: the insert path updates their cells. */
  readonly metrics: CoreMetrics;
  /** Cross references: the domain0 manager and its insert hook (cross-refs.ts). */
  readonly crossRefs: CrossRefs;
  createDomain(domainId: Uint8Array, conf?: JsonObject): Promise<boolean>;
  removeDomain(domainId: Uint8Array): Promise<boolean>;
  /** Validates a submitted transaction; `offThread`: verify its signatures off the event loop (libuv's pool, or worker batches). */
  validate(data: Uint8Array, files: WireAssetFiles, offThread?: boolean): Promise<SubmittedVerdict>;
  /** {@link validate} of a lone insert, the signature check handed back for the ledger to run. */
  validateDeferred(data: Uint8Array, files: WireAssetFiles): Promise<DeferredVerdict>;
  /** Counters of the signature batches verified on worker threads (undefined without workers). */
  verifyBatchStats(): SignatureBatchStats | undefined;
  /** Inserts between validation and their outcome ({@link insertVerified}): more than one means verify off-thread. */
  insertsInProgress: number;
}

/** One request being handled. */
export interface RequestContext {
  readonly core: CoreInternals;
  readonly conn: ClientConnection;
  readonly msg: WireMessage;
  /** The request's `domain_id` when it is bytes, else null. */
  readonly domainId: Uint8Array | null;
  /** The served domain named by `domain_id`, if any. */
  readonly domain: Domain | undefined;
  readonly log: Logger;
  /** Payload bytes of the request's frame. */
  readonly size: number;
}

/** A handler of one command. */
export type Handler = (ctx: RequestContext) => void | Promise<void>;

/** The value as bytes, or undefined. */
export function bytes(v: WireValue | undefined): Uint8Array | undefined {
  return v instanceof Uint8Array ? v : undefined;
}

/** An integer value (number) or the default. */
export function int(v: WireValue | undefined, dflt: number): number {
  if (typeof v === "number" && Number.isInteger(v)) return v;
  if (typeof v === "bigint") return Number(v);
  if (typeof v === "boolean") return v ? 1 : 0;
  return dflt;
}

/** True when every key is present in the map (nil counts as present, as in the reference). */
export function has(msg: WireMessage, keys: readonly KeyTypeName[]): boolean {
  for (const k of keys) if (msg[k] === undefined) return false;
  return true;
}

/** The v1.1.1 response envelope: domain_id, command, destination_user_id, query_id, status. */
export function response(ctx: RequestContext, command: number, domainId: Uint8Array | null = ctx.domainId): WireMessage {
  return {
    domain_id: domainId,
    command,
    destination_user_id: bytes(ctx.msg.source_user_id) ?? null,
    query_id: bytes(ctx.msg.query_id) ?? null,
    status: 0,
  };
}

/**
 * Routed answer to the requester: through the domain's user routing when the domain is served
 * (falling back to the request's connection when the requester is not registered), else direct.
 */
export function reply(ctx: RequestContext, ret: WireMessage): void {
  if (ctx.domain !== undefined) ctx.domain.sendToUser(ret, { fallback: ctx.conn });
  else ctx.conn.sendPlain(ret, ctx.core.output);
}

/** Direct answer on the request's connection (admin commands, ECDH). */
export function direct(ctx: RequestContext, ret: WireMessage): void {
  ctx.conn.sendPlain(ret, ctx.core.output);
}

/** Error answer: `status` and `reason` set, then routed like {@link reply}. */
export function fail(ctx: RequestContext, ret: WireMessage, status: number, reason: string): void {
  ret.status = status;
  ret.reason = reason;
  reply(ctx, ret);
}

/** Reason text of the reference for a missing mandatory parameter. */
export const LACK_OF_PARAMS = "lack of mandatory params";
/** Reason text for searches that found nothing. */
export const CANNOT_FIND = "Cannot find transaction";
