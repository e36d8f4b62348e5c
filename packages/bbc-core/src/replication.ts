/**
 * The core's side of replication and catch-up (p2p-protocol.md §9.1–§9.3): the ledger interface
 * `@bbc1/net`'s {@link Replication} needs, over the shared verified insert ({@link insertVerified}),
 * and the wiring of one domain's replication.
 * @module
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { bytesEqual, deserialize, toHex } from "@bbc1/bbclib";
import { Replication, replicationStrategyOf, type CommandDispatch, type NetTimings, type NetworkDomain, type Scheduler, type ReplicatedInsertResult, type ReplicationLedger, type ReplicationLimits } from "@bbc1/net";
import { isJsonObject, type JsonObject } from "./config.js";
import { CoreError } from "./errors.js";
import type { CoreInternals } from "./handlers/context.js";
import type { Domain } from "./domain.js";
import { insertVerified } from "./insert.js";
import { assetRowsOf } from "./ledger-rows.js";
import { StorageLedger } from "./storage-adapter.js";
import { VerifiedCache } from "./validator.js";

function isGlobal0(id: Uint8Array): boolean {
  return id.length === 32 && id.every((b) => b === 0);
}

/**
 * {@link ReplicationLedger} over the core's domains. A replicated transaction goes through the
 * same {@link insertVerified} as a client insert: the same decode limits, signature, asset_id and
 * asset-file checks, the same durable insert and the same local NOTIFY_INSERTED; v1.1.1's counters
 * (`transaction.invalid`, `asset_file.invalid`, `data_handler.insert_transaction`) count it alike.
 */
export class CoreReplicationLedger implements ReplicationLedger {
  readonly #core: CoreInternals;
  readonly #workingDir: string;

  constructor(core: CoreInternals, workingDir: string) {
    this.#core = core;
    this.#workingDir = workingDir;
  }

  #domain(domainId: Uint8Array): Domain | undefined {
    return this.#core.domains.get(toHex(domainId));
  }

  async insertReplicatedTransaction(domainId: Uint8Array, transactionData: Uint8Array, assetFiles: ReadonlyMap<Uint8Array, Uint8Array> | null): Promise<ReplicatedInsertResult> {
    const domain = this.#domain(domainId);
    if (domain === undefined || domain.ledger === null || isGlobal0(domainId)) return { outcome: "rejected", reason: "domain not served or without a ledger" };
    // A replay of bytes this node stored costs a hash, a decode and a read, not a signature verification: the
    // verified-bytes cache holds the bytes of every transaction stored here (bounded, newest kept). A new
    // transaction (the common case) goes straight to the verified insert, decoded once there, without a read of the
    // ledger; a replay of bytes the cache has forgotten is verified, then refused by the insert as a duplicate.
    if (this.#core.verified.has(VerifiedCache.keyOf(transactionData))) {
      let txid: Uint8Array | null = null;
      try {
        const tx = deserialize(transactionData, this.#core.deserializeOptions);
        tx.digest();
        txid = tx.transactionId;
      } catch {
        txid = null;
      }
      if (txid !== null && txid.length > 0) {
        // only the same bytes: another signature over the same id is verified (and counted) like any insert
        const stored = await domain.ledger.getTransaction(txid);
        if (stored !== undefined && bytesEqual(stored, transactionData)) return { outcome: "duplicate", transactionId: txid };
      }
    }
    const log = this.#core.logger;
    // called in the turn the message arrived (Replication.accept): the lag a replica adds, queueing included
    const received = performance.now();
    const r = await insertVerified(this.#core, domain, transactionData, assetFiles, log);
    if (r.ok) {
      this.#core.metrics.replicatedSeconds.observe((performance.now() - received) / 1000);
      return { outcome: "stored", transactionId: r.transactionId };
    }
    if (r.why === "duplicate") return { outcome: "duplicate", transactionId: r.transactionId! };
    if (r.why === "bad_transaction") return { outcome: "rejected", reason: r.assetFile === true ? "asset file does not match its digest" : "transaction does not verify" };
    if (r.why === "ledger_failure") throw new CoreError("STORE_FAILED", `replicated transaction ${toHex(r.transactionId ?? new Uint8Array(0))}: ${r.text}`);
    return { outcome: "rejected", reason: r.text };
  }

  async hasTransaction(domainId: Uint8Array, transactionId: Uint8Array): Promise<boolean> {
    const l = this.#domain(domainId)?.ledger;
    return l !== undefined && l !== null && (await l.getTransaction(transactionId)) !== undefined;
  }

  /** Positions are asset_info_table row ids (insertion order; transactions without any asset have none: the key walk finds those). */
  async transactionIdsAfter(domainId: Uint8Array, after: number, limit: number): Promise<{ ids: Uint8Array[]; next: number; end: boolean }> {
    const l = this.#domain(domainId)?.ledger;
    if (!(l instanceof StorageLedger)) return { ids: [], next: after, end: true };
    const rows = await l.store.tables().scan("asset_info_table", after, limit);
    const seen = new Set<string>();
    const ids: Uint8Array[] = [];
    let next = after;
    for (const r of rows) {
      if (typeof r.id === "number") next = Math.max(next, r.id);
      const id = r.transaction_id;
      if (!(id instanceof Uint8Array)) continue;
      const k = toHex(id);
      if (seen.has(k)) continue;
      seen.add(k);
      ids.push(id);
    }
    return { ids, next, end: rows.length < limit };
  }

  /** The key walk: transaction_table ids in id order (every transaction, asset rows or not). */
  async transactionIdsAfterKey(domainId: Uint8Array, after: Uint8Array, limit: number): Promise<{ ids: Uint8Array[]; end: boolean }> {
    const l = this.#domain(domainId)?.ledger;
    if (!(l instanceof StorageLedger)) return { ids: [], end: true };
    const ids = await l.store.tables().transactionIdsAfterKey(after.length === 0 ? null : after, limit);
    return { ids, end: ids.length < limit };
  }

  async replicationPayload(domainId: Uint8Array, transactionId: Uint8Array): Promise<{ transactionData: Uint8Array; assetFiles: Map<Uint8Array, Uint8Array> | null } | null> {
    const d = this.#domain(domainId);
    const l = d?.ledger;
    if (d === undefined || l === undefined || l === null) return null;
    const data = await l.getTransaction(transactionId);
    if (data === undefined) return null;
    const external = (d.section.storage as { type?: unknown } | undefined)?.type === "external";
    if (external) return { transactionData: data, assetFiles: null };
    const files = new Map<Uint8Array, Uint8Array>();
    try {
      const tx = deserialize(data, this.#core.deserializeOptions);
      for (const row of assetRowsOf(tx)) {
        if (!row.hasFile) continue;
        const f = await l.readAssetFile(row.assetGroupId, row.assetId);
        if (f !== null) files.set(row.assetId, f);
      }
    } catch {
      // a stored transaction that no longer decodes is sent as it is: the receiver rejects it
    }
    return { transactionData: data, assetFiles: files };
  }

  #cursorFile(domainId: Uint8Array): string {
    return join(this.#workingDir, toHex(domainId), "catchup.json");
  }

  loadCatchupCursors(domainId: Uint8Array): Record<string, number> {
    try {
      const j = JSON.parse(readFileSync(this.#cursorFile(domainId), "utf8")) as unknown;
      const out: Record<string, number> = {};
      if (j !== null && typeof j === "object") for (const [k, v] of Object.entries(j)) if (/^[0-9a-f]{64}$/.test(k) && typeof v === "number" && Number.isSafeInteger(v) && v >= 0) out[k] = v;
      return out;
    } catch {
      return {};
    }
  }

  saveCatchupCursors(domainId: Uint8Array, cursors: Record<string, number>): void {
    const f = this.#cursorFile(domainId);
    try {
      mkdirSync(join(this.#workingDir, toHex(domainId)), { recursive: true });
      writeFileSync(`${f}.tmp`, JSON.stringify(cursors));
      renameSync(`${f}.tmp`, f);
    } catch (err) {
      this.#core.logger.warn({ err, file: f }, "catch-up positions could not be saved (the next catch-up repeats some work)");
    }
  }
}

const LIMIT_KEYS: Record<keyof ReplicationLimits, string> = {
  maxInflightPerPeer: "max_inflight_per_peer",
  maxInflightBytesPerPeer: "max_inflight_bytes_per_peer",
  maxInflightTotal: "max_inflight_total",
  maxInflightBytesTotal: "max_inflight_bytes_total",
  catchupIdsPerMessage: "catchup_ids_per_message",
  catchupServePerSecond: "catchup_serve_per_second",
};

/**
 * `network.replication` of config.json (ours): the budgets of received replication work in
 * snake_case (`max_inflight_per_peer`, ...) and `catchup` (default true). A bad value stops the
 * start (`CONFIG_INVALID`).
 */
export function readReplicationConfig(network: JsonObject | undefined): { limits: Partial<ReplicationLimits>; catchUp: boolean } {
  const s = network?.replication;
  if (s === undefined || s === null) return { limits: {}, catchUp: true };
  if (!isJsonObject(s)) throw new CoreError("CONFIG_INVALID", "config: network.replication must be an object");
  const limits: Partial<ReplicationLimits> = {};
  for (const [field, key] of Object.entries(LIMIT_KEYS) as Array<[keyof ReplicationLimits, string]>) {
    const v = s[key];
    if (v === undefined || v === null) continue;
    if (typeof v !== "number" || !Number.isInteger(v) || v < 1) throw new CoreError("CONFIG_INVALID", `config: network.replication.${key} must be an integer >= 1`);
    limits[field] = v;
  }
  const c = s.catchup;
  if (c !== undefined && c !== null && typeof c !== "boolean") throw new CoreError("CONFIG_INVALID", "config: network.replication.catchup must be true or false");
  return { limits, catchUp: c !== false };
}

/** Wires replication (and catch-up) for one domain; domain_global_0 has none (`DataHandlerDomain0`). */
export function attachReplication(args: {
  core: CoreInternals;
  domain: Domain;
  net: NetworkDomain;
  dispatch: CommandDispatch;
  ledger: CoreReplicationLedger;
  scheduler: Scheduler;
  timings: NetTimings;
}): Replication | null {
  const { core, domain } = args;
  if (isGlobal0(domain.id) || domain.ledger === null) return null;
  const db = isJsonObject(domain.section.db) ? domain.section.db : undefined;
  const conf = readReplicationConfig(isJsonObject(core.config.config.network) ? core.config.config.network : undefined);
  const r = new Replication({
    net: args.net,
    dispatch: args.dispatch,
    ledger: args.ledger,
    strategy: replicationStrategyOf(db?.replication_strategy),
    limits: conf.limits,
    catchUp: conf.catchUp,
    stats: core.stats,
    logger: core.logger.child({ domain: domain.hex.slice(0, 8), component: "replication" }),
    scheduler: args.scheduler,
    timings: args.timings,
  });
  r.start();
  return r;
}
