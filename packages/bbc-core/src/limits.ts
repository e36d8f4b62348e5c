/**
 * The node's resource limits: the `limits` section of config.json, its defaults and its
 * validation. One layout for every port of the process:
 *
 * ```json
 * "limits": {
 *   "partial_frames_total_bytes": 268435456,   // process-wide values at the top
 *   "client": { "max_frame_bytes": 67108864, ... },   // the client port (this package)
 *   "p2p": { ... },                              // the P2P port (@bbc1/net), same key names where they apply
 *   "decode": { "max_elements": 32768, ... }     // payload decoding (requests and transactions)
 * }
 * ```
 *
 * Every key is optional; a missing key takes the default of {@link DEFAULT_LIMITS}. A value of
 * the wrong type is a config error (`CONFIG_INVALID`); unknown keys are kept and ignored, so a
 * newer config works with an older node. The README's limits table lists every key.
 */
import { DEFAULT_DECODE_BUDGET, DEFAULT_DESERIALIZE_OPTIONS, type DecodeBudget, type DeserializeOptions } from "@bbc1/bbclib";
import { CoreError } from "./errors.js";
import { isJsonObject, type JsonObject, type JsonValue } from "./config.js";

const MiB = 1024 * 1024;

/** Process-wide limits, shared by every port of the node. */
export interface ProcessLimits {
  /** Bytes held in partially received frames, all connections of all ports together. */
  partialFramesTotalBytes: number;
  /** Bytes queued for sending, all connections together; beyond it the largest backlog is closed. */
  outputTotalBytes: number;
  /** Undeliverable messages held for their bounce, all domains. */
  bouncesTotal: number;
  /** Bytes of undeliverable messages held for their bounce, all domains. */
  bounceBytesTotal: number;
  /** ECDH key exchanges per second, all connections together (burst: one second's worth). */
  ecdhTotalPerSecond: number;
  /** Signed admin_info digests remembered to refuse replays (persisted in the working directory). */
  adminReplayCache: number;
}

/** Limits of one listening port (the client port; the P2P port uses the keys that apply). */
export interface PortLimits {
  /** Largest frame payload; a header announcing more closes the connection. */
  maxFrameBytes: number;
  /** Largest payload of a command that carries no asset files nor user payload (see README). */
  maxRequestBytes: number;
  /** Open connections. */
  maxConnections: number;
  /** Open connections from one remote address. */
  maxConnectionsPerAddress: number;
  /** Decoded requests queued per connection; reading pauses at this depth. */
  maxQueuedRequests: number;
  /** Bytes of queued requests per connection; reading pauses above it. */
  inputBytesPerConnection: number;
  /** Unsent bytes per connection above which its requests wait (and reading pauses). */
  outputBytesPerConnection: number;
  /** Unsent bytes per connection at which it is closed. */
  outputMaxBytesPerConnection: number;
  /** A connection staying above `outputBytesPerConnection` this long is closed. */
  outputStallMs: number;
  /** A frame must be complete this long after its first byte (registered connection). */
  readTimeoutMs: number;
  /** The same before the connection registered a user. */
  readTimeoutUnregisteredMs: number;
  /** A registered connection without a complete request this long is closed (0 = never). */
  idleTimeoutMs: number;
  /** An unregistered connection without a complete request this long is closed (0 = never). */
  idleTimeoutUnregisteredMs: number;
  /** Requests of one connection served before it yields the event loop to others. */
  requestsPerTurn: number;
  /** Longest id (user, domain, asset group, asset, transaction, node) accepted in a request. */
  maxIdBytes: number;
  /** Users registered per connection. */
  maxUsersPerConnection: number;
  /** Insert-notification subscriptions per connection. */
  maxSubscriptionsPerConnection: number;
  /** Distinct destinations of one REQUEST_GATHER_SIGNATURE. */
  maxGatherDestinations: number;
  /** REQUEST_GATHER_SIGNATURE per second per connection (burst: twice that). */
  gathersPerSecond: number;
  /** ECDH key exchanges per second per connection. */
  ecdhPerSecond: number;
  /** ECDH key exchanges a connection may do at once before the rate applies. */
  ecdhBurst: number;
  /** Undeliverable messages of one connection held for their bounce. */
  bouncesPerConnection: number;
  /**
   * Resolutions (RESOLVE_USER_LOCATION waiting for an answer) one connection may have pending in
   * a domain: without it one client could take all of the domain's `limits.p2p.max_pending_resolves`.
   */
  maxPendingResolvesPerConnection: number;
  /** Bytes of one connection's messages waiting behind resolutions in a domain. */
  resolveQueueBytesPerConnection: number;
  /** Search and traverse answers stop adding transactions beyond this many bytes (at least one is sent). */
  maxResponseBytes: number;
  /** NOTIFY_INSERTED messages sent per event-loop turn; the rest of a fan-out follows in later turns. */
  notificationsPerTurn: number;
}

/**
 * Budgets of the payload decoders (`limits.decode`): request payloads (msgpack, TLV, encrypted
 * msgpack, through `@bbc1/wire`) and transactions (every BBcFormat, through `@bbc1/bbclib`, on
 * the main thread and in the validator workers).
 */
export interface DecodeLimits {
  /** Values one payload or transaction may decode to. */
  maxElements: number;
  /** Estimated heap bytes per input byte a decode may allocate, on top of `allocationBase`. */
  allocationRatio: number;
  /** Estimated heap bytes any decode may allocate. */
  allocationBase: number;
  /** Absolute cap of a decode's estimated heap. */
  maxAllocationBytes: number;
  /** Largest decompressed body of a transaction in BBcFormat 2, 3, 5 or 6. */
  maxInflatedBytes: number;
  /** Largest decompressed / compressed ratio of such a body (the first 256 KiB always allowed). */
  maxInflateRatio: number;
}

/** Every limit, resolved. */
export interface ResolvedLimits {
  process: ProcessLimits;
  client: PortLimits;
  /** The `limits.p2p` section as written (interpreted by the P2P port). */
  p2p: JsonObject;
  decode: DecodeLimits;
}

/** Defaults of every limit (the decoders' are those of `@bbc1/bbclib`). */
export const DEFAULT_LIMITS: Readonly<{ process: Readonly<ProcessLimits>; client: Readonly<PortLimits>; decode: Readonly<DecodeLimits> }> = Object.freeze({
  process: Object.freeze({
    partialFramesTotalBytes: 256 * MiB,
    outputTotalBytes: 512 * MiB,
    bouncesTotal: 4096,
    bounceBytesTotal: 64 * MiB,
    ecdhTotalPerSecond: 100,
    adminReplayCache: 65536,
  }),
  client: Object.freeze({
    maxFrameBytes: 64 * MiB,
    maxRequestBytes: 1 * MiB,
    maxConnections: 1000,
    maxConnectionsPerAddress: 250,
    maxQueuedRequests: 256,
    inputBytesPerConnection: 16 * MiB,
    outputBytesPerConnection: 16 * MiB,
    outputMaxBytesPerConnection: 128 * MiB,
    outputStallMs: 60_000,
    readTimeoutMs: 120_000,
    readTimeoutUnregisteredMs: 20_000,
    idleTimeoutMs: 0,
    idleTimeoutUnregisteredMs: 300_000,
    requestsPerTurn: 16,
    maxIdBytes: 32,
    maxUsersPerConnection: 64,
    maxSubscriptionsPerConnection: 1024,
    maxGatherDestinations: 256,
    gathersPerSecond: 20,
    ecdhPerSecond: 2,
    ecdhBurst: 8,
    bouncesPerConnection: 256,
    maxPendingResolvesPerConnection: 64,
    resolveQueueBytesPerConnection: 8 * MiB,
    maxResponseBytes: 64 * MiB,
    notificationsPerTurn: 256,
  }),
  decode: Object.freeze({
    ...DEFAULT_DECODE_BUDGET,
    maxInflatedBytes: DEFAULT_DESERIALIZE_OPTIONS.maxInflatedBytes,
    maxInflateRatio: DEFAULT_DESERIALIZE_OPTIONS.maxInflateRatio,
  }),
});

/** The decode budget of {@link DecodeLimits} as the decoders take it. */
export function decodeBudgetOf(d: DecodeLimits): DecodeBudget {
  return { maxElements: d.maxElements, allocationRatio: d.allocationRatio, allocationBase: d.allocationBase, maxAllocationBytes: d.maxAllocationBytes };
}

/** Options of `deserialize` for transactions of at most `maxBytes` under `d`. */
export function deserializeOptionsOf(d: DecodeLimits, maxBytes: number): DeserializeOptions {
  return { maxBytes, maxInflatedBytes: d.maxInflatedBytes, maxInflateRatio: d.maxInflateRatio, decodeBudget: decodeBudgetOf(d) };
}

/** camelCase field → snake_case config key. */
export function configKey(field: string): string {
  return field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

function readSection<T extends object>(where: string, section: JsonValue | undefined, defaults: Readonly<T>, overrides: Partial<T> | undefined): T {
  const out = { ...defaults } as Record<string, number>;
  if (section !== undefined && section !== null) {
    if (!isJsonObject(section)) throw new CoreError("CONFIG_INVALID", `config: ${where} must be an object`);
    for (const field of Object.keys(defaults)) {
      const v = section[configKey(field)];
      if (v === undefined || v === null) continue;
      if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
        throw new CoreError("CONFIG_INVALID", `config: ${where}.${configKey(field)} must be a number >= 0, got ${JSON.stringify(v)}`);
      }
      out[field] = v;
    }
  }
  if (overrides !== undefined) {
    for (const [k, v] of Object.entries(overrides)) {
      if (v === undefined) continue;
      if (!(k in defaults)) throw new CoreError("INVALID_ARGUMENT", `unknown limit ${k}`);
      if (typeof v !== "number" || !Number.isFinite(v) || v < 0) throw new CoreError("INVALID_ARGUMENT", `limit ${k} must be a number >= 0`);
      out[k] = v;
    }
  }
  return out as T;
}

/** Overrides given to the service in code (camelCase), applied over config.json. */
export interface LimitOverrides {
  process?: Partial<ProcessLimits>;
  client?: Partial<PortLimits>;
  decode?: Partial<DecodeLimits>;
}

/**
 * Resolves the `limits` section of a config (absent keys → defaults), then `overrides`.
 * Throws `CONFIG_INVALID` for values of the wrong type, `INVALID_ARGUMENT` for bad overrides.
 */
export function resolveLimits(section: JsonValue | undefined, overrides: LimitOverrides = {}): ResolvedLimits {
  if (section !== undefined && section !== null && !isJsonObject(section)) throw new CoreError("CONFIG_INVALID", "config: limits must be an object");
  const s = (section ?? {}) as JsonObject;
  const process = readSection("limits", s, DEFAULT_LIMITS.process, overrides.process);
  const client = readSection("limits.client", s.client, DEFAULT_LIMITS.client, overrides.client);
  const decode = readSection("limits.decode", s.decode, DEFAULT_LIMITS.decode, overrides.decode);
  if (s.p2p !== undefined && s.p2p !== null && !isJsonObject(s.p2p)) throw new CoreError("CONFIG_INVALID", "config: limits.p2p must be an object");
  if (client.maxRequestBytes > client.maxFrameBytes) client.maxRequestBytes = client.maxFrameBytes;
  return {
    process,
    client,
    p2p: isJsonObject(s.p2p) ? s.p2p : {},
    decode,
  };
}
