import { randomBytes as nodeRandomBytes } from "node:crypto";
import type { Logger } from "pino";
import { bytesEqual, toHex } from "@bbc1/bbclib";
import { DataHandlerCommand, InfraMessageCategory, RepairCommand, getBytes, getInt, u16Bytes, type WireMessage } from "@bbc1/wire";
import { ProtocolTimer, type Scheduler } from "./clock.js";
import { NetError } from "./errors.js";
import type { ReceiveContext } from "./interfaces.js";
import { AddressBuckets } from "./limits.js";
import type { StatsSink } from "./stats.js";
import type { SendMode } from "./domain.js";
import type { SendResult } from "./transport.js";

/**
 * Repair of forged or missing transactions and asset files between nodes (p2p-protocol.md §10):
 * DATA messages with `infra_command` REPAIR_TRANSACTION_DATA (`00 05`) and an integer `command`
 * 2..5. A node asks every neighbour (2 / 4), a neighbour holding a valid copy answers the asker
 * (3 / 5), the asker verifies the answer through the core ({@link RepairLedger}) and replaces its
 * copy. Validity is cryptographic only (v1.1.1 has no voting): signatures and the requested id for a
 * transaction; for an asset file its digest against the newest local transaction holding it.
 *
 * Differences from v1.1.1 (all invisible to a reference peer): an answer must carry the requested
 * transaction id / asset (Q31), a forged answer is counted per peer, pending requests expire,
 * requests for data a node does not hold are a counted no-op (the reference's worker died, H16),
 * and every expensive step is bounded ({@link RepairLimits}).
 */

/** `infra_command` of every repair message. */
export const REPAIR_INFRA_COMMAND = DataHandlerCommand.REPAIR_TRANSACTION_DATA;

/** What repair needs from the node's ledger (implemented by the core). */
export interface RepairLedger {
  /**
   * The stored bytes of a transaction when the local copy is valid (decodes, computes to
   * `transactionId`, every signature verifies); null when absent or forged. Never throws for
   * missing data.
   */
  validTransactionData(domainId: Uint8Array, transactionId: Uint8Array): Promise<Uint8Array | null>;
  /**
   * The local asset file when the newest local transaction holding the asset is valid and the
   * file matches its `asset_file_digest`; null otherwise (absent, forged, external storage).
   */
  validAssetFile(domainId: Uint8Array, assetGroupId: Uint8Array, assetId: Uint8Array): Promise<Uint8Array | null>;
  /**
   * Verifies a transaction received in a repair (it must compute to `transactionId` and its
   * signatures must verify) and replaces the local copy durably.
   */
  replaceTransaction(domainId: Uint8Array, transactionId: Uint8Array, transactionData: Uint8Array): Promise<RepairVerdict>;
  /** Verifies an asset file against the newest local transaction holding it and replaces the local file durably. */
  replaceAssetFile(domainId: Uint8Array, assetGroupId: Uint8Array, assetId: Uint8Array, file: Uint8Array): Promise<RepairVerdict>;
}

/**
 * `repaired`: the copy verified and now replaces the local one; `already_valid`: the local copy
 * verified meanwhile (nothing written); `rejected`: the copy did not verify (nothing written).
 */
export type RepairVerdict = "repaired" | "already_valid" | "rejected";

/** Bounds of one domain's repair component. */
export interface RepairLimits {
  /** Requests of ours waiting for an answer (v1.1.1: unbounded, never forgotten). Default 256. */
  maxPending: number;
  /** Answers examined per request of ours; further answers are dropped. Default 4. */
  maxAnswersPerRequest: number;
  /** A request of ours is forgotten after this long without a valid answer (ms). Default 60 000. */
  requestTimeoutMs: number;
  /** A request for the same data is broadcast again only after this long (ms). Default 5 000. */
  resendAfterMs: number;
  /** Repair messages (requests to answer, answers to verify) handled per second from one peer. Default 50. */
  ratePerPeer: number;
  /** Burst of that rate. Default 100. */
  burstPerPeer: number;
  /** Ledger look-ups and verifications running at once. Default 32. */
  maxInFlight: number;
  /** Peers whose rate and forged-answer counts are kept (the oldest is forgotten beyond it). Default 1024. */
  maxTrackedPeers: number;
}

/** The defaults of {@link RepairLimits}. */
export const DEFAULT_REPAIR_LIMITS: Readonly<RepairLimits> = Object.freeze({
  maxPending: 256,
  maxAnswersPerRequest: 4,
  requestTimeoutMs: 60_000,
  resendAfterMs: 5_000,
  ratePerPeer: 50,
  burstPerPeer: 100,
  maxInFlight: 32,
  maxTrackedPeers: 1024,
});

/** One line of `repair_log.json` (v1.1.1 `_output_log`): what was repaired, when, by whom. */
export interface RepairLogEntry {
  readonly transactionId?: Uint8Array;
  readonly assetGroupId?: Uint8Array;
  readonly assetId?: Uint8Array;
  /** Seconds since the epoch. */
  readonly requestAt: number;
  readonly repairedBy: Uint8Array;
  readonly repairedAt: number;
}

/** What {@link Repair.requestTransaction} / {@link Repair.requestAssetFile} did. */
export type RepairRequestResult =
  | { readonly outcome: "sent"; readonly copies: number; readonly nonce: Uint8Array }
  /** The same data is already being asked for (sent less than `resendAfterMs` ago). */
  | { readonly outcome: "pending"; readonly nonce: Uint8Array }
  /** `maxPending` requests are waiting; nothing sent. */
  | { readonly outcome: "full" };

/** What a {@link Repair} is built from. */
export interface RepairDeps {
  domainId: Uint8Array;
  ledger: RepairLedger;
  /** The domain's sending side (a `NetworkDomain`). */
  net: { broadcast(msg: WireMessage, mode?: SendMode): number; sendToNode(nodeId: Uint8Array, msg: WireMessage, mode?: SendMode): SendResult };
  scheduler: Scheduler;
  stats: StatsSink;
  logger: Logger;
  limits?: Partial<RepairLimits>;
  /** Nonce source (default `crypto.randomBytes`). */
  randomBytes?: (n: number) => Uint8Array;
  /** Told after each successful repair (the core appends it to `repair_log.json`). */
  onRepaired?: (entry: RepairLogEntry) => void;
}

interface Pending {
  readonly kind: "tx" | "asset";
  readonly key: string;
  readonly nonce: Uint8Array;
  readonly transactionId?: Uint8Array;
  readonly assetGroupId?: Uint8Array;
  readonly assetId?: Uint8Array;
  readonly requestAt: number;
  sentAt: number;
  answers: number;
  done: boolean;
  chain: Promise<void>;
  readonly timer: ProtocolTimer;
}

/** Keys a response copies from its request, in the request's order (v1.1.1 rewrites the received map, §18.3). */
const ECHOED = new Set(["domain_id", "infra_msg_type", "infra_command", "command", "transaction_id", "asset_group_id", "asset_id", "nonce", "destination_node_id", "source_node_id"]);

/** A repair request (command 2 or 4) with v1.1.1's key order; `destination_node_id` / `source_node_id` are added by the sender. */
export function buildRepairRequest(domainId: Uint8Array, what: { transactionId: Uint8Array } | { assetGroupId: Uint8Array; assetId: Uint8Array }, nonce: Uint8Array): WireMessage {
  const msg: WireMessage = {
    domain_id: domainId,
    infra_msg_type: u16Bytes(InfraMessageCategory.CATEGORY_DATA),
    infra_command: u16Bytes(REPAIR_INFRA_COMMAND),
  };
  if ("transactionId" in what) {
    msg.command = RepairCommand.REQUEST_TO_SEND_TRANSACTION_DATA;
    msg.transaction_id = what.transactionId;
  } else {
    msg.command = RepairCommand.REQUEST_TO_SEND_ASSET_FILE;
    msg.asset_group_id = what.assetGroupId;
    msg.asset_id = what.assetId;
  }
  msg.nonce = nonce;
  return msg;
}

/**
 * The answer to a repair request as v1.1.1 builds it: the request's map with `command` changed,
 * the payload appended and `destination_node_id` set to the requester (`source_node_id` is set by
 * the sender in its place). Only the protocol's keys of the request are copied.
 */
export function buildRepairResponse(request: WireMessage, requester: Uint8Array, payload: { transactionData: Uint8Array } | { assetFile: Uint8Array }): WireMessage {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(request)) if (ECHOED.has(k) && v !== undefined) out[k] = v;
  const msg = out as WireMessage;
  if ("transactionData" in payload) {
    msg.command = RepairCommand.RESPONSE_TRANSACTION_DATA;
    msg.transaction_data = payload.transactionData;
  } else {
    msg.command = RepairCommand.RESPONSE_ASSET_FILE;
    msg.asset_file = payload.assetFile;
  }
  msg.destination_node_id = requester;
  return msg;
}

/**
 * One domain's repair component: registered in the domain's DATA `CommandDispatch` under
 * {@link REPAIR_INFRA_COMMAND}. Counters (category `repair`): `request_transaction`,
 * `request_asset_file`, `answered_transaction`, `answered_asset_file`, `not_held` (a request for
 * data we do not hold or hold forged: harmless, H16), `repaired_transaction`,
 * `repaired_asset_file`, `forged_answer`, `unsolicited_answer`, `late_answer`, `expired`,
 * `refused.pending`, `refused.answers`, `refused.rate`, `refused.in_flight`.
 */
export class Repair {
  readonly limits: RepairLimits;
  readonly #d: RepairDeps;
  readonly #byNonce = new Map<string, Pending>();
  readonly #byKey = new Map<string, Pending>();
  readonly #rate: AddressBuckets;
  readonly #forged = new Map<string, number>();
  readonly #random: (n: number) => Uint8Array;
  #inFlight = 0;
  #closed = false;

  constructor(deps: RepairDeps) {
    this.#d = deps;
    this.limits = { ...DEFAULT_REPAIR_LIMITS, ...(deps.limits ?? {}) };
    for (const [k, v] of Object.entries(this.limits)) {
      if (typeof v !== "number" || !Number.isFinite(v) || v < 0) throw new NetError("INVALID_ARGUMENT", `repair limit ${k} must be a finite number >= 0, got ${String(v)}`);
    }
    this.#rate = new AddressBuckets(this.limits.ratePerPeer, this.limits.burstPerPeer, this.limits.maxTrackedPeers, () => deps.scheduler.now());
    this.#random = deps.randomBytes ?? ((n) => new Uint8Array(nodeRandomBytes(n)));
  }

  /** Requests of ours waiting for an answer. */
  get pending(): number {
    return this.#byNonce.size;
  }

  /** Forged answers received from `nodeId` (0 when none, or when forgotten beyond `maxTrackedPeers`). */
  forgedAnswersFrom(nodeId: Uint8Array): number {
    return this.#forged.get(toHex(nodeId)) ?? 0;
  }

  /** Asks every neighbour for a valid copy of a transaction (command 2). */
  requestTransaction(transactionId: Uint8Array): RepairRequestResult {
    if (transactionId.length !== 32) throw new NetError("INVALID_ARGUMENT", `transaction_id must be 32 bytes, got ${transactionId.length}`);
    return this.#request("tx", `t${toHex(transactionId)}`, { transactionId });
  }

  /** Asks every neighbour for a valid copy of an asset file (command 4). */
  requestAssetFile(assetGroupId: Uint8Array, assetId: Uint8Array): RepairRequestResult {
    if (assetGroupId.length !== 32 || assetId.length !== 32) throw new NetError("INVALID_ARGUMENT", "asset_group_id and asset_id must be 32 bytes");
    return this.#request("asset", `a${toHex(assetGroupId)}${toHex(assetId)}`, { assetGroupId, assetId });
  }

  #request(kind: "tx" | "asset", key: string, what: { transactionId: Uint8Array } | { assetGroupId: Uint8Array; assetId: Uint8Array }): RepairRequestResult {
    if (this.#closed) return { outcome: "full" };
    const now = this.#d.scheduler.now();
    let p = this.#byKey.get(key);
    if (p !== undefined && now - p.sentAt < this.limits.resendAfterMs) return { outcome: "pending", nonce: p.nonce };
    if (p === undefined) {
      if (this.#byNonce.size >= this.limits.maxPending) {
        this.#d.stats.increment("repair", "refused.pending");
        return { outcome: "full" };
      }
      let nonce: Uint8Array;
      do nonce = this.#random(4);
      while (this.#byNonce.has(toHex(nonce)));
      const timer = new ProtocolTimer(this.#d.scheduler, () => this.#expire(entry), (err) => this.#d.logger.warn({ err }, "repair expiry failed"));
      const entry: Pending = { kind, key, nonce, ...what, requestAt: Math.floor(now / 1000), sentAt: now, answers: 0, done: false, chain: Promise.resolve(), timer };
      p = entry;
      this.#byNonce.set(toHex(nonce), p);
      this.#byKey.set(key, p);
      timer.start(this.limits.requestTimeoutMs);
    }
    // a resend keeps its nonce, so an answer to the first copy still counts
    p.sentAt = now;
    const copies = this.#d.net.broadcast(buildRepairRequest(this.#d.domainId, what, p.nonce), "any");
    this.#d.stats.increment("repair", kind === "tx" ? "request_transaction" : "request_asset_file");
    return { outcome: "sent", copies, nonce: p.nonce };
  }

  #expire(p: Pending): void {
    if (p.done) return;
    this.#forget(p);
    this.#d.stats.increment("repair", "expired");
  }

  #forget(p: Pending): void {
    p.done = true;
    p.timer.cancel();
    this.#byNonce.delete(toHex(p.nonce));
    if (this.#byKey.get(p.key) === p) this.#byKey.delete(p.key);
  }

  /** A REPAIR_TRANSACTION_DATA message (the dispatch's handler of `infra_command` 00 05). */
  handle(msg: WireMessage, ctx: ReceiveContext): void | Promise<void> {
    if (this.#closed) return;
    const command = getInt(msg, "command");
    switch (command) {
      case RepairCommand.REQUEST_TO_SEND_TRANSACTION_DATA:
      case RepairCommand.REQUEST_TO_SEND_ASSET_FILE:
        return this.#answer(msg, ctx, command);
      case RepairCommand.RESPONSE_TRANSACTION_DATA:
      case RepairCommand.RESPONSE_ASSET_FILE:
        return this.#received(msg, ctx, command);
      default:
        // 0 and 1 are the reference's local queue commands, never on the wire
        throw new NetError("BAD_MESSAGE", `repair message with command ${String(command)}`);
    }
  }

  #admit(ctx: ReceiveContext): boolean {
    if (!this.#rate.tryTake(toHex(ctx.sourceNodeId))) {
      this.#d.stats.increment("repair", "refused.rate");
      return false;
    }
    if (this.#inFlight >= this.limits.maxInFlight) {
      this.#d.stats.increment("repair", "refused.in_flight");
      return false;
    }
    return true;
  }

  async #answer(msg: WireMessage, ctx: ReceiveContext, command: number): Promise<void> {
    const nonce = nonceOf(msg);
    const isTx = command === RepairCommand.REQUEST_TO_SEND_TRANSACTION_DATA;
    const txid = isTx ? getBytes(msg, "transaction_id", 32) : undefined;
    const ag = isTx ? undefined : getBytes(msg, "asset_group_id", 32);
    const aid = isTx ? undefined : getBytes(msg, "asset_id", 32);
    if (nonce === undefined || (isTx ? txid === undefined : ag === undefined || aid === undefined)) {
      throw new NetError("BAD_MESSAGE", `repair request (command ${command}) without ${isTx ? "transaction_id" : "asset_group_id / asset_id"} or nonce`);
    }
    if (!this.#admit(ctx)) return;
    this.#inFlight++;
    let payload: Uint8Array | null;
    try {
      payload = isTx ? await this.#d.ledger.validTransactionData(this.#d.domainId, txid!) : await this.#d.ledger.validAssetFile(this.#d.domainId, ag!, aid!);
    } finally {
      this.#inFlight--;
    }
    if (this.#closed) return;
    if (payload === null) {
      // absent or forged here: no answer (a v1.1.1 responder's worker died here, H16)
      this.#d.stats.increment("repair", "not_held");
      return;
    }
    const out = buildRepairResponse(msg, ctx.sourceNodeId, isTx ? { transactionData: payload } : { assetFile: payload });
    this.#d.net.sendToNode(ctx.sourceNodeId, out, "any");
    this.#d.stats.increment("repair", isTx ? "answered_transaction" : "answered_asset_file");
  }

  #received(msg: WireMessage, ctx: ReceiveContext, command: number): Promise<void> | void {
    const nonce = nonceOf(msg);
    const p = nonce === undefined ? undefined : this.#byNonce.get(toHex(nonce));
    const isTx = command === RepairCommand.RESPONSE_TRANSACTION_DATA;
    if (p === undefined || p.kind !== (isTx ? "tx" : "asset")) {
      this.#d.stats.increment("repair", "unsolicited_answer");
      return;
    }
    if (!this.#admit(ctx)) return;
    let matches: boolean;
    let payload: Uint8Array | undefined;
    if (isTx) {
      const txid = getBytes(msg, "transaction_id");
      payload = getBytes(msg, "transaction_data");
      matches = txid !== undefined && bytesEqual(txid, p.transactionId!);
    } else {
      const ag = getBytes(msg, "asset_group_id");
      const aid = getBytes(msg, "asset_id");
      payload = getBytes(msg, "asset_file");
      matches = ag !== undefined && aid !== undefined && bytesEqual(ag, p.assetGroupId!) && bytesEqual(aid, p.assetId!);
    }
    if (payload === undefined || !matches) {
      // an answer to our nonce about other data, or without it: v1.1.1 did not check the id (Q31)
      this.#countForged(ctx.sourceNodeId, "does not carry the requested data");
      return;
    }
    if (p.answers >= this.limits.maxAnswersPerRequest) {
      this.#d.stats.increment("repair", "refused.answers");
      return;
    }
    p.answers++;
    const from = ctx.sourceNodeId.slice();
    const data = payload;
    // answers to one request are verified one after the other: the first valid one wins
    p.chain = p.chain.then(async () => {
      if (p.done || this.#closed) {
        this.#d.stats.increment("repair", "late_answer");
        return;
      }
      this.#inFlight++;
      let verdict: RepairVerdict;
      try {
        verdict = isTx
          ? await this.#d.ledger.replaceTransaction(this.#d.domainId, p.transactionId!, data)
          : await this.#d.ledger.replaceAssetFile(this.#d.domainId, p.assetGroupId!, p.assetId!, data);
      } catch (err) {
        this.#d.logger.error({ err, from: toHex(from).slice(0, 8) }, "repair: replacing the local copy failed");
        this.#d.stats.increment("repair", "replace_failed");
        return;
      } finally {
        this.#inFlight--;
      }
      if (verdict === "rejected") {
        this.#countForged(from, "did not verify");
        return;
      }
      this.#forget(p);
      if (verdict === "already_valid") {
        this.#d.stats.increment("repair", "already_valid");
        return;
      }
      this.#d.stats.increment("repair", isTx ? "repaired_transaction" : "repaired_asset_file");
      this.#d.logger.info({ what: isTx ? toHex(p.transactionId!) : toHex(p.assetId!), by: toHex(from).slice(0, 16) }, isTx ? "transaction repaired" : "asset file repaired");
      const entry: RepairLogEntry = isTx
        ? { transactionId: p.transactionId!, requestAt: p.requestAt, repairedBy: from, repairedAt: Math.floor(this.#d.scheduler.now() / 1000) }
        : { assetGroupId: p.assetGroupId!, assetId: p.assetId!, requestAt: p.requestAt, repairedBy: from, repairedAt: Math.floor(this.#d.scheduler.now() / 1000) };
      try {
        this.#d.onRepaired?.(entry);
      } catch (err) {
        this.#d.logger.warn({ err }, "repair log listener failed");
      }
    });
    return p.chain;
  }

  #countForged(from: Uint8Array, why: string): void {
    this.#d.stats.increment("repair", "forged_answer");
    const k = toHex(from);
    if (!this.#forged.has(k) && this.#forged.size >= this.limits.maxTrackedPeers) this.#forged.delete(this.#forged.keys().next().value!);
    this.#forged.set(k, (this.#forged.get(k) ?? 0) + 1);
    this.#d.logger.warn({ from: k.slice(0, 16), why }, "repair: forged answer ignored");
  }

  /** Forgets every pending request and stops its timers. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const p of [...this.#byNonce.values()]) this.#forget(p);
  }
}

/** The request's nonce: bytes of at most 64 (v1.1.1 sends 4 random bytes). */
function nonceOf(msg: WireMessage): Uint8Array | undefined {
  const n = msg.nonce;
  return n instanceof Uint8Array && n.length > 0 && n.length <= 64 ? n : undefined;
}
