import { NetError } from "./errors.js";

/**
 * Protocol times (milliseconds), v1.1.1's values by default (§12.2). The jitter rules are the
 * reference's: e.g. the first key exchange after uniform(min, max), retries after
 * `keyExchangeRetryMs × uniform(0.5, 1.5)`. Tests shorten them or run them on a test clock.
 */
export interface NetTimings {
  /** Domain ping entry lifetime (`expire_after=10`). */
  pingExpireMs: number;
  /** Resend of an unanswered ping (once, `fire_after=1`). */
  pingRetryMs: number;
  /** Neighbour purge period (`PURGE_INTERVAL_SEC`). */
  purgeIntervalMs: number;
  /** Neighbour lifetime without refresh (`NODEINFO_LIFETIME`). */
  nodeLifetimeMs: number;
  /** First key exchange after uniform(min, max) (1 s .. `KEY_EXCHANGE_INVOKE_MAX_BACKOFF`). */
  keyExchangeInvokeMinMs: number;
  keyExchangeInvokeMaxMs: number;
  /** `KEY_EXCHANGE_RETRY_INTERVAL`: retry after this × uniform(0.5, 1.5). */
  keyExchangeRetryMs: number;
  /** `KEY_REFRESH_INTERVAL`: re-key after this × uniform(0.9, 1.1). */
  keyRefreshMs: number;
  /** `KEY_OBSOLETE_TIMER`: the previous key is kept this long after switching. */
  keyObsoleteMs: number;
  /** `NEIGHBOR_LIST_REFRESH_INTERVAL`: periodic advertisement every randint(2/3, 4/3 of it). */
  neighborListRefreshMs: number;
  /** Advertisement after a change: uniform(0.5, 1) × this / (N + 1). */
  advertiseDelayMs: number;
  /** Catch-up (ours, not in v1.1.1): first pass this long after a domain starts. */
  catchupFirstDelayMs: number;
  /** Catch-up: a pass (probe new neighbours, walk capable peers) every this long. */
  catchupIntervalMs: number;
  /** Catch-up: an ids request or a fetch unanswered this long is given up (retried next pass). */
  catchupTimeoutMs: number;
  /**
   * Catch-up: the key walk over every transaction id of a peer (it finds what the position walk
   * over the asset index cannot: transactions without an asset) runs in the first pass with each
   * peer after start, then again when this long has passed since the last complete one.
   */
  catchupKeyWalkIntervalMs: number;
  /** `RESOLVE_TIMEOUT`: a RESOLVE_USER_LOCATION unanswered this long bounces its messages (§8.4). */
  resolveTimeoutMs: number;
  /** `REFRESH_FORWARDING_LIST_INTERVAL`: a non-permanent forwarding entry lives this long after its creation (§8.2, Q15). */
  forwardingLifetimeMs: number;
  /** `DOMAIN_INFO_ADVERTISE_INTERVAL`: ADV_DOMAIN_LIST every randint(5/6, 7/6 of it) (§11.2). */
  domain0AdvertiseMs: number;
  /** First ADV_DOMAIN_LIST after joining domain_global_0 (or a membership change): this × uniform(0.5, 1.5); v1.1.1 waits a full interval (§15.8). */
  domain0FirstAdvertiseMs: number;
  /** `DOMAIN_INFO_LIFETIME`: a foreign membership not re-advertised for this long is forgotten. */
  domain0InfoLifetimeMs: number;
  /** `DOMAIN_ACCEPTANCE_RECOVER_INTERVAL`: cross_ref acceptance window and age of purged requests (purge every randint(5/6, 7/6 of it)). */
  domain0AcceptanceRecoverMs: number;
}

/** v1.1.1's protocol times. */
export const DEFAULT_NET_TIMINGS: Readonly<NetTimings> = Object.freeze({
  pingExpireMs: 10_000,
  pingRetryMs: 1_000,
  purgeIntervalMs: 300_000,
  nodeLifetimeMs: 900_000,
  keyExchangeInvokeMinMs: 1_000,
  keyExchangeInvokeMaxMs: 6_000,
  keyExchangeRetryMs: 5_000,
  keyRefreshMs: 604_800_000,
  keyObsoleteMs: 10_000,
  neighborListRefreshMs: 300_000,
  advertiseDelayMs: 5_000,
  catchupFirstDelayMs: 1_000,
  catchupIntervalMs: 30_000,
  catchupTimeoutMs: 5_000,
  catchupKeyWalkIntervalMs: 3_600_000,
  resolveTimeoutMs: 5_000,
  forwardingLifetimeMs: 300_000,
  domain0AdvertiseMs: 1_800_000,
  domain0FirstAdvertiseMs: 3_000,
  domain0InfoLifetimeMs: 3_600_000,
  domain0AcceptanceRecoverMs: 600_000,
});

/** Merges `partial` over the defaults and checks every value. */
export function resolveTimings(partial: Partial<NetTimings> | undefined): NetTimings {
  const out = { ...DEFAULT_NET_TIMINGS, ...(partial ?? {}) };
  for (const [k, v] of Object.entries(out)) {
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
      throw new NetError("INVALID_ARGUMENT", `timing ${k} must be a finite number >= 0, got ${String(v)}`);
    }
  }
  return out;
}
