import type { Logger } from "pino";
import { bytesEqual, deserialize, encodeCrossRefBinary, encodeSignatureBinary, toHex, validateTransaction, verifyUsingCrossRef, type DeserializeOptions, type FormatType } from "@bbc1/bbclib";
import { Domain0Command, TokenBucket, type WireMessage } from "@bbc1/wire";
import { ProtocolTimer, randint, uniform, type RandomFn } from "./clock.js";
import {
  buildAdvDomainList,
  buildCrossRefAssignment,
  buildCrossRefRegistered,
  buildDistributeCrossRef,
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
import type { NetworkDomain } from "./domain.js";
import { NetError } from "./errors.js";
import type { CategoryHandler, CrossRefStore, LedgerAccess, ReceiveContext } from "./interfaces.js";
import { DOMAIN_GLOBAL_0, type BBcNetwork } from "./network.js";
import { Domain0Tables } from "./domain0-tables.js";

/** v1.1.1's domain0 constants (§11.3) and our bounds. */
export interface Domain0Options {
  /** `CROSS_REF_PROBABILITY` (0.1): chance that an inserted transaction is distributed. */
  crossRefProbability?: number;
  /** `NUM_OF_COPIES` (3): target domains per distribution, assignments per accepted cross_ref. */
  numOfCopies?: number;
  /** Foreign domain0 nodes remembered (oldest-heard forgotten first). Default 1024. */
  maxNodes?: number;
  /** Domains taken from one ADV_DOMAIN_LIST. Default 256. */
  maxDomainsPerNode?: number;
  /** Accepted cross_refs waiting for registration. Default 10000. */
  maxRequested?: number;
  /** Verifications awaiting an outer domain's answer. Default 1024. */
  maxPendingVerifies?: number;
  /** How long an answer is awaited (ms). Default 30 s. */
  verifyTimeoutMs?: number;
  /** REQUEST_VERIFY_FROM_OUTER_DOMAIN served per second, all peers together (each costs a read and signature checks). Default 50. */
  outerVerifiesPerSecond?: number;
}

/** What the manager needs from the node. */
export interface Domain0Deps {
  network: BBcNetwork;
  crossRefs: CrossRefStore;
  ledger: Pick<LedgerAccess, "getTransactionData">;
  /**
   * Routes a client message (RESPONSE_CROSS_REF_VERIFY) to its `destination_user_id` in `domainId`
   * (§8.3); `fromNode` is the peer whose message caused it (its resolutions count on that peer's account).
   */
  sendToUser(domainId: Uint8Array, msg: WireMessage, fromNode?: Uint8Array): void;
  /** Queues a repair of a transaction that failed validation (§10); optional. */
  requestRepair?(domainId: Uint8Array, transactionId: Uint8Array): void;
  /** True when the domain replicates cross_ref rows to its neighbours (`replication_strategy` "all"); default true. */
  replicates?(domainId: Uint8Array): boolean;
  random?: RandomFn;
  logger: Logger;
  deserializeOptions?: DeserializeOptions;
}

interface Pending {
  node: string;
  outstanding: number;
  timer: ProtocolTimer;
}

/**
 * v1.1.1 `Domain0Manager` (p2p-protocol.md §11): one per process that joined domain_global_0.
 * Advertises the process's regular domains (ADV_DOMAIN_LIST), learns foreign ones, distributes
 * cross references of inserted transactions to foreign domain0 nodes, assigns received ones to
 * neighbours of its own domains, reports registrations back, and serves the verification round
 * trip of §11.5. Install it with `network.setDomain0Handler(manager)`; the core calls
 * {@link transactionInserted} after every insert and {@link requestVerify} for its own clients.
 *
 * Differences from v1.1.1, all invisible to reference peers: the first advertisement goes out
 * seconds after joining (§15.8) and again soon after a membership change; the request purge is
 * re-armed (Q23); every table is bounded; malformed input is a counted drop (H13); answers are
 * accepted only from the node asked, and only when their proof verifies.
 */
export class Domain0Manager implements CategoryHandler {
  readonly tables: Domain0Tables;
  readonly #d: Domain0Deps;
  readonly #net: BBcNetwork;
  readonly #random: RandomFn;
  readonly #o: Required<Domain0Options>;
  readonly #advertise: ProtocolTimer;
  readonly #purge: ProtocolTimer;
  readonly #pending = new Map<string, Pending>();
  readonly #outerBudget: TokenBucket;
  /** Registrations of cross_refs whose origin domain had no known domain0 node yet (bounded). */
  #unreported: Array<{ domainId: Uint8Array; transactionId: Uint8Array; cr: CrossRefPair }> = [];
  #closed = false;

  constructor(deps: Domain0Deps, options: Domain0Options = {}) {
    this.#d = deps;
    this.#net = deps.network;
    this.#random = deps.random ?? Math.random;
    this.#o = {
      crossRefProbability: options.crossRefProbability ?? 0.1,
      numOfCopies: options.numOfCopies ?? 3,
      maxNodes: options.maxNodes ?? 1024,
      maxDomainsPerNode: options.maxDomainsPerNode ?? 256,
      maxRequested: options.maxRequested ?? 10_000,
      maxPendingVerifies: options.maxPendingVerifies ?? 1024,
      verifyTimeoutMs: options.verifyTimeoutMs ?? 30_000,
      outerVerifiesPerSecond: options.outerVerifiesPerSecond ?? 50,
    };
    const sch = this.#net.scheduler;
    this.tables = new Domain0Tables({ now: () => sch.now(), maxNodes: this.#o.maxNodes, maxRequested: this.#o.maxRequested, random: this.#random });
    this.#outerBudget = new TokenBucket(this.#o.outerVerifiesPerSecond, this.#o.outerVerifiesPerSecond, () => sch.now());
    const onError = (err: unknown): void => deps.logger.error({ err }, "domain0 timer failed");
    this.#advertise = new ProtocolTimer(sch, () => this.#advertiseNow(), onError);
    this.#purge = new ProtocolTimer(sch, () => this.#purgeNow(), onError);
  }

  /** Arms the timers: first advertisement soon, then every randint(5/6, 7/6) × interval. */
  start(): void {
    this.domainsChanged();
    this.#armPurge();
    // a new domain0 neighbour hears our domains soon, not 25-35 min later
    this.#domain0()?.onNewNeighbor(() => this.domainsChanged());
  }

  /** The process joined or left a regular domain: advertise soon (never postpones a due one). */
  domainsChanged(): void {
    if (this.#closed) return;
    this.#advertise.advance(uniform(this.#random, 0.5, 1.5) * this.#net.timings.domain0FirstAdvertiseMs);
  }

  /** Stops the timers and forgets pending verifications. */
  close(): void {
    this.#closed = true;
    this.#advertise.cancel();
    this.#purge.cancel();
    for (const p of this.#pending.values()) p.timer.cancel();
    this.#pending.clear();
  }

  /** Verifications waiting for an answer. */
  get pendingVerifies(): number {
    return this.#pending.size;
  }

  #count(name: string): void {
    this.#net.stats.increment("domain0", name);
  }

  #drop(reason: string): void {
    this.#count(`drop.${reason}`);
  }

  #domain0(): NetworkDomain | undefined {
    return this.#net.getDomain(DOMAIN_GLOBAL_0);
  }

  /** Regular domains of this process. */
  #regular(): NetworkDomain[] {
    return this.#net.domains().filter((d) => !bytesEqual(d.domainId, DOMAIN_GLOBAL_0));
  }

  #serves(domainId: Uint8Array): boolean {
    return !bytesEqual(domainId, DOMAIN_GLOBAL_0) && this.#net.getDomain(domainId) !== undefined;
  }

  #pick<T>(list: readonly T[]): T {
    return list[Math.floor(this.#random() * list.length)]!;
  }

  #advertiseNow(): void {
    if (this.#closed) return;
    const t = this.#net.timings;
    this.tables.expire(t.domain0InfoLifetimeMs);
    const mine = this.#regular().map((d) => d.domainId);
    const d0 = this.#domain0();
    if (mine.length > 0 && d0 !== undefined) {
      d0.broadcast(buildAdvDomainList(mine), "plain");
      this.#count("send_advertisement");
    }
    this.#advertise.start(randint(this.#random, Math.floor((t.domain0AdvertiseMs * 5) / 6), Math.floor((t.domain0AdvertiseMs * 7) / 6)));
  }

  #armPurge(): void {
    const r = this.#net.timings.domain0AcceptanceRecoverMs;
    this.#purge.start(randint(this.#random, Math.floor((r * 5) / 6), Math.floor((r * 7) / 6)));
  }

  #purgeNow(): void {
    if (this.#closed) return;
    this.tables.purgeRequested(this.#net.timings.domain0AcceptanceRecoverMs);
    this.#armPurge();
  }

  /**
   * The insert hook of v1.1.1 `DataHandler.insert_transaction` (client inserts and replicated
   * ones): with probability `crossRefProbability` distribute (domainId, txid) to foreign domains;
   * if the transaction carries a cross_ref we accepted, report its registration.
   */
  transactionInserted(domainId: Uint8Array, transactionId: Uint8Array, crossRef: CrossRefPair | null): void {
    if (this.#closed || !this.#serves(domainId)) return;
    this.#distribute(domainId, transactionId);
    if (crossRef !== null) this.#registered(domainId, transactionId, crossRef);
  }

  #distribute(domainId: Uint8Array, transactionId: Uint8Array): void {
    if (this.#random() > this.#o.crossRefProbability) return;
    this.#count("distribute_cross_ref_in_domain0");
    const d0 = this.#domain0();
    if (d0 === undefined) return;
    const targets = this.tables.sampleDomains(this.#o.numOfCopies);
    for (const nodes of targets) {
      if (nodes.length === 0) continue;
      const dst = this.#pick(nodes);
      d0.sendToNode(dst, buildDistributeCrossRef(domainId, transactionId), "any");
    }
  }

  #registered(domainId: Uint8Array, transactionId: Uint8Array, cr: CrossRefPair): void {
    if (!this.tables.takeRequested(cr.domainId, cr.transactionId)) return;
    this.#count("cross_ref_registered");
    const nodes = this.tables.nodesOf(cr.domainId);
    const d0 = this.#domain0();
    // v1.1.1 raises here when the origin is no longer known (Q33)
    if (nodes.length === 0 || d0 === undefined) {
      // the origin's advertisement has not arrived yet: report once it does (v1.1.1 raised, Q33)
      if (this.#unreported.length >= this.#o.maxPendingVerifies) this.#unreported.shift();
      this.#unreported.push({ domainId, transactionId, cr });
      return this.#count("registration_deferred");
    }
    const dst = this.#pick(nodes);
    d0.sendToNode(dst, buildCrossRefRegistered(dst, domainId, transactionId, cr), "any");
  }

  /** Deferred registration reports whose origin domain is now known go out. */
  #reportDeferred(): void {
    if (this.#unreported.length === 0) return;
    const d0 = this.#domain0();
    if (d0 === undefined) return;
    this.#unreported = this.#unreported.filter((u) => {
      const nodes = this.tables.nodesOf(u.cr.domainId);
      if (nodes.length === 0) return true;
      const dst = this.#pick(nodes);
      d0.sendToNode(dst, buildCrossRefRegistered(dst, u.domainId, u.transactionId, u.cr), "any");
      return false;
    });
  }

  /** A DOMAIN0 message (from the network's dispatch). Throws `NetError` for a message to drop. */
  handle(msg: WireMessage, ctx: ReceiveContext): void | Promise<void> {
    if (this.#closed) return;
    const command = domain0CommandOf(msg);
    const inDomain0 = bytesEqual(ctx.domainId, DOMAIN_GLOBAL_0);
    switch (command) {
      case Domain0Command.REQUEST_VERIFY:
        // arrives in a regular domain (§11.5 step 2)
        if (inDomain0) throw new NetError("BAD_MESSAGE", "REQUEST_VERIFY in domain_global_0");
        this.#count("REQUEST_VERIFY");
        return this.requestVerify(ctx.domainId, msg);
      case undefined:
        throw new NetError("BAD_MESSAGE", "DOMAIN0 message without a 2-byte command");
      default:
        if (!inDomain0) throw new NetError("BAD_MESSAGE", `domain0 command ${command} outside domain_global_0`);
    }
    switch (command) {
      case Domain0Command.ADV_DOMAIN_LIST: {
        const list = parseDomainList(msg.domain_list, this.#o.maxDomainsPerNode);
        this.#count("ADV_DOMAIN_LIST");
        const own = new Set(this.#net.domains().map((d) => toHex(d.domainId)));
        this.tables.advertised(ctx.sourceNodeId, list.filter((d) => !own.has(toHex(d))));
        this.#reportDeferred();
        return;
      }
      case Domain0Command.DISTRIBUTE_CROSS_REF:
        this.#count("GET_CROSS_REF_DISTRIBUTION");
        return this.#assign(parseCrossRef(msg.cross_ref));
      case Domain0Command.NOTIFY_CROSS_REF_REGISTERED:
        return this.#recordRegistration(msg, ctx);
      case Domain0Command.REQUEST_VERIFY_FROM_OUTER_DOMAIN:
        return this.#answerOuter(msg, ctx);
      case Domain0Command.RESPONSE_VERIFY_FROM_OUTER_DOMAIN:
        return this.#deliverProof(msg, ctx);
      default:
        throw new NetError("BAD_MESSAGE", `unknown domain0 command ${command}`);
    }
  }

  /** `_assign_cross_ref`: rate limit per origin domain, then up to 3 (domain, neighbour) pairs. */
  #assign(cr: CrossRefPair): void {
    if (this.#net.getDomain(cr.domainId) !== undefined) return this.#drop("own_domain_cross_ref");
    if (!this.tables.accept(cr.domainId, this.#net.timings.domain0AcceptanceRecoverMs)) return this.#count("drop_cross_ref_because_exceed_margin");
    this.tables.request(cr.domainId, cr.transactionId);
    const domains = this.#regular();
    let i = Math.min(domains.length, this.#o.numOfCopies);
    const sent = new Set<string>();
    // bounded retries: v1.1.1 loops until it finds an unused pair
    for (let attempts = 0; i > 0 && attempts < 10 * this.#o.numOfCopies; attempts++) {
      const dom = this.#pick(domains);
      const nodes = dom.neighbors.nodes();
      if (nodes.length === 0) {
        i--;
        continue;
      }
      const node = this.#pick(nodes);
      const key = `${toHex(dom.domainId)}:${node.key}`;
      if (sent.has(key)) continue;
      sent.add(key);
      dom.sendToNode(node.nodeId, buildCrossRefAssignment(dom.domainId, node.nodeId, cr), "any");
      this.#count("assign_cross_ref_to_nodes");
      i--;
    }
  }

  async #recordRegistration(msg: WireMessage, ctx: ReceiveContext): Promise<void> {
    const outer = msg.outer_domain_id;
    const txid2 = msg.txid_having_cross_ref;
    if (!(outer instanceof Uint8Array) || outer.length !== 32 || !(txid2 instanceof Uint8Array) || txid2.length !== 32) {
      throw new NetError("BAD_MESSAGE", "NOTIFY_CROSS_REF_REGISTERED without 32-byte outer_domain_id / txid_having_cross_ref");
    }
    const cr = parseCrossRef(msg.cross_ref);
    if (!this.#serves(cr.domainId)) return this.#drop("registered_unserved_domain");
    // only a domain0 node that advertised the outer domain can report a cross_ref held there
    if (!this.tables.nodesOf(outer).some((n) => bytesEqual(n, ctx.sourceNodeId))) return this.#drop("registered_by_stranger");
    const inserted = await this.#d.crossRefs.insertCrossRef(cr.domainId, { transactionId: cr.transactionId, outerDomainId: outer, txidHavingCrossRef: txid2 });
    this.#count("insert_cross_ref");
    if (inserted === false) return;
    if (this.#d.replicates?.(cr.domainId) === false) return;
    this.#net.getDomain(cr.domainId)?.broadcast(buildReplicationCrossRef(cr.domainId, cr.transactionId, outer, txid2), "any");
  }

  /**
   * REQUEST_VERIFY (§11.5 step 3), from a neighbour of `domainId` or from this node's own client:
   * a cross_ref row of the transaction, then REQUEST_VERIFY_FROM_OUTER_DOMAIN to a domain0 node of
   * its outer domain. Silently nothing when there is no row or no known node (as v1.1.1).
   */
  async requestVerify(domainId: Uint8Array, msg: WireMessage): Promise<void> {
    const txid = msg.transaction_id;
    const user = msg.source_user_id;
    if (!(txid instanceof Uint8Array) || !(user instanceof Uint8Array)) throw new NetError("BAD_MESSAGE", "REQUEST_VERIFY without byte-string transaction_id / source_user_id");
    if (!this.#serves(domainId)) return this.#drop("verify_unserved_domain");
    const rows = await this.#d.crossRefs.getCrossRefs(domainId, txid);
    if (rows.length === 0) return this.#drop("verify_no_cross_ref");
    const row = this.#pick(rows);
    const nodes = this.tables.nodesOf(row.outerDomainId);
    const d0 = this.#domain0();
    if (nodes.length === 0 || d0 === undefined) return this.#drop("verify_outer_unknown");
    const dst = this.#pick(nodes);
    const key = `${toHex(domainId)}:${toHex(txid)}:${toHex(user)}`;
    let p = this.#pending.get(key);
    if (p === undefined) {
      if (this.#pending.size >= this.#o.maxPendingVerifies) return this.#drop("verify_pending_full");
      const timer = new ProtocolTimer(this.#net.scheduler, () => this.#pending.delete(key), () => undefined);
      p = { node: toHex(dst), outstanding: 0, timer };
      this.#pending.set(key, p);
    }
    p.node = toHex(dst);
    p.outstanding = Math.min(p.outstanding + 1, 8);
    p.timer.start(this.#o.verifyTimeoutMs);
    const out = buildRequestVerifyOuter({ destination: dst, sourceUserId: user, transactionId: txid, sourceDomainId: domainId, outerDomainId: row.outerDomainId, txidHavingCrossRef: row.txidHavingCrossRef });
    d0.sendToNode(dst, out, "any");
  }

  /** REQUEST_VERIFY_FROM_OUTER_DOMAIN (§11.5 step 4): load, validate, prove. */
  async #answerOuter(msg: WireMessage, ctx: ReceiveContext): Promise<void> {
    const outer = msg.outer_domain_id;
    const txid2 = msg.txid_having_cross_ref;
    if (!(outer instanceof Uint8Array) || !(txid2 instanceof Uint8Array)) throw new NetError("BAD_MESSAGE", "REQUEST_VERIFY_FROM_OUTER_DOMAIN without outer_domain_id / txid_having_cross_ref");
    if (!this.#serves(outer)) return this.#drop("outer_unserved_domain");
    if (!this.#outerBudget.tryTake()) return this.#drop("outer_verify_rate");
    const info = await this.#proofOf(outer, txid2);
    if (info === null) return;
    this.#domain0()?.sendToNode(ctx.sourceNodeId, buildResponseVerifyOuter(msg, ctx.sourceNodeId, info), "any");
  }

  async #proofOf(domainId: Uint8Array, txid: Uint8Array): Promise<VerificationInfo | null> {
    const data = await this.#d.ledger.getTransactionData(domainId, txid);
    // v1.1.1 crashes its receive loop on an unknown id (H13)
    if (data === null) return (this.#drop("outer_no_transaction"), null);
    let tx;
    try {
      tx = deserialize(data, this.#d.deserializeOptions);
    } catch {
      this.#d.requestRepair?.(domainId, txid);
      return (this.#drop("outer_undecodable"), null);
    }
    const sig = tx.signatures[0];
    if (!bytesEqual(tx.transactionId, txid) || !validateTransaction(tx).valid) {
      this.#d.requestRepair?.(domainId, txid);
      return (this.#drop("outer_invalid"), null);
    }
    if (tx.crossRef === null || sig === undefined || sig.notInitialized) return (this.#drop("outer_no_proof"), null);
    tx.forIdBytes(); // sets transactionBaseDigest
    return {
      transactionBaseDigest: tx.transactionBaseDigest!,
      crossRef: encodeCrossRefBinary(tx.crossRef),
      signature: encodeSignatureBinary(sig),
      formatType: tx.formatType,
    };
  }

  /** RESPONSE_VERIFY_FROM_OUTER_DOMAIN (§11.5 step 5): checked here, then routed to the user. */
  #deliverProof(msg: WireMessage, ctx: ReceiveContext): void {
    const src = msg.source_domain_id;
    const txid = msg.transaction_id;
    const user = msg.source_user_id;
    if (!(src instanceof Uint8Array) || !(txid instanceof Uint8Array) || !(user instanceof Uint8Array)) {
      throw new NetError("BAD_MESSAGE", "RESPONSE_VERIFY_FROM_OUTER_DOMAIN without source_domain_id / transaction_id / source_user_id");
    }
    const info = parseVerificationInfo(msg.cross_ref_verification_info);
    const key = `${toHex(src)}:${toHex(txid)}:${toHex(user)}`;
    const p = this.#pending.get(key);
    if (p === undefined || p.node !== toHex(ctx.sourceNodeId)) return this.#drop("unsolicited_proof");
    if (!verifyUsingCrossRef(src, txid, info.transactionBaseDigest, info.crossRef, info.signature, info.formatType as FormatType)) return this.#drop("proof_invalid");
    if (--p.outstanding <= 0) {
      p.timer.cancel();
      this.#pending.delete(key);
    }
    this.#count("proof_delivered");
    this.#d.sendToUser(src, buildResponseCrossRefVerify(src, user, txid, info), ctx.sourceNodeId);
  }
}

/**
 * The non-domain0 side of REQUEST_CROSS_REF_VERIFY (§11.5 step 2): the client's map as
 * REQUEST_VERIFY, plaintext, to a random neighbour of `domain` currently flagged domain0 (never
 * to another: a reference node outside domain0 dies on DOMAIN0 messages, H10). False when no such
 * neighbour is known (nothing is sent, Q32).
 */
export function sendRequestVerify(domain: NetworkDomain, clientMsg: WireMessage, random: RandomFn = Math.random): boolean {
  const managers = domain.neighbors.nodes().filter((n) => n.isDomain0Node === true);
  if (managers.length === 0) return false;
  const dst = managers[Math.floor(random() * managers.length)]!;
  return domain.sendToNode(dst.nodeId, buildRequestVerify(clientMsg, dst.nodeId), "plain") !== "none";
}
