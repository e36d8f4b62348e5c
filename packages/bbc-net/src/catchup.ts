/**
 * Catch-up between bbc1-ts nodes (our addition; v1.1.1 has nothing beyond repair): a node that was
 * down, or lost a replication on the way, fetches from each peer what that peer stored and it lacks.
 *
 * Safety towards v1.1.1 peers (p2p-protocol.md §14): every message here is a CATEGORY_DATA message
 * with a full envelope and an `infra_command` v1.1.1 does not define (`01 00`..`01 04`). v1.1.1's
 * `DataHandler.process_message` compares the command with its seven constants and does nothing for
 * any other value, so a probe costs a v1.1.1 node one `add_neighbor` refresh and nothing else. Only
 * the small, plaintext CATCHUP_HELLO (UDP) is ever sent to a node not known to be ours; the rest goes
 * only to nodes that answered it (or sent one themselves).
 *
 * Flow (requester R, peer P): R → P CATCHUP_HELLO; P → R CATCHUP_HELLO_ACK (R marks P capable).
 * R → P CATCHUP_REQUEST {ref_index: cursor, count}; P → R CATCHUP_IDS {transaction_id_list, ref_index:
 * next, all_included}; R keeps the ids it lacks and sends CATCHUP_FETCH {transaction_id_list} in
 * chunks; P answers each id with an ordinary REQUEST_REPLICATION_INSERT (stored bytes and files),
 * which R verifies and stores exactly like a replication. R saves the cursor per peer after each page.
 *
 * The cursor walks positions of the asset index (asset_info_table row ids), which a transaction
 * without any asset (only relations without assets, pointers, witnesses) never gets. So after the
 * position walk, R also walks P's transaction ids in id order: R → P CATCHUP_KEYS_REQUEST {transaction_id:
 * last id seen (empty at the start), count}; P → R CATCHUP_KEYS {transaction_id_list, transaction_id (the last id),
 * all_included}; the missing ones are fetched as above. New transactions land anywhere in id order,
 * so this walk always starts from the beginning: it runs in the first round with each peer after R
 * starts (a restarted node) and then every `catchupKeyWalkIntervalMs` (default 1 h); it costs one
 * id (32 bytes) and one lookup on R per stored transaction.
 * @module
 */
import type { Logger } from "pino";
import { toHex } from "@bbc1/bbclib";
import { InfraMessageCategory, getBool, getBytes, getInt, getList, u16Bytes, type WireMessage } from "@bbc1/wire";
import type { Scheduler, TimerHandle } from "./clock.js";
import type { CommandDispatch } from "./dispatch.js";
import type { NetworkDomain } from "./domain.js";
import { NetError } from "./errors.js";
import type { ReceiveContext } from "./interfaces.js";
import type { StatsSink } from "./stats.js";
import type { NetTimings } from "./timings.js";
import { buildReplicationInsert, type ReplicationInsert, type ReplicationLedger, type ReplicationLimits } from "./replication.js";

/** DATA `infra_command` values of catch-up (undefined in v1.1.1, which ignores them). */
export const CatchUpCommand = Object.freeze({ HELLO: 0x0100, HELLO_ACK: 0x0101, REQUEST: 0x0102, IDS: 0x0103, FETCH: 0x0104, KEYS_REQUEST: 0x0105, KEYS: 0x0106 });

/** Probes sent to a neighbour that never answers (a v1.1.1 node) before it is left alone. */
const MAX_PROBES = 3;
/** Saved cursors are rewound by this many positions (commits of a server database may land out of id order). */
const REWIND = 256;

/** A checked catch-up message. */
export interface CatchUpMessage {
  command: number;
  nonce: number;
  cursor?: number;
  count?: number;
  ids?: Uint8Array[];
  end?: boolean;
  /** KEYS_REQUEST / KEYS: the id the key walk continues after (empty: from the start). */
  key?: Uint8Array;
}

/**
 * Decodes a catch-up message: `nonce` an integer; REQUEST: `ref_index` and `count` integers >= 0;
 * IDS: `transaction_id_list` of 32-byte ids (at most `maxIds`), `ref_index`, `all_included`; FETCH:
 * `transaction_id_list`; KEYS_REQUEST: `transaction_id` (0 or 32 bytes) and `count`; KEYS:
 * `transaction_id_list`, `transaction_id`, `all_included`. Throws `NetError` `BAD_MESSAGE` otherwise.
 */
export function decodeCatchUp(command: number, msg: WireMessage, maxIds: number): CatchUpMessage {
  const int = (k: "nonce" | "ref_index" | "count"): number => {
    let v: number | bigint | undefined;
    try {
      v = getInt(msg, k);
    } catch {
      v = undefined;
    }
    if (v === undefined || (typeof v === "bigint" ? v < 0n || v > BigInt(Number.MAX_SAFE_INTEGER) : !Number.isSafeInteger(v) || v < 0)) throw new NetError("BAD_MESSAGE", `catch-up ${command}: ${k} is not an integer >= 0`);
    return Number(v);
  };
  const ids = (): Uint8Array[] => {
    let list;
    try {
      list = getList(msg, "transaction_id_list");
    } catch {
      list = undefined;
    }
    if (list === undefined) throw new NetError("BAD_MESSAGE", `catch-up ${command}: no transaction_id_list`);
    if (list.length > maxIds) throw new NetError("BAD_MESSAGE", `catch-up ${command}: ${list.length} ids, more than ${maxIds}`);
    return list.map((v) => {
      if (!(v instanceof Uint8Array) || v.length !== 32) throw new NetError("BAD_MESSAGE", `catch-up ${command}: an id is not 32 bytes`);
      return v;
    });
  };
  const key = (): Uint8Array => {
    let v: Uint8Array | undefined;
    try {
      v = getBytes(msg, "transaction_id");
    } catch {
      v = undefined;
    }
    if (v === undefined || (v.length !== 0 && v.length !== 32)) throw new NetError("BAD_MESSAGE", `catch-up ${command}: transaction_id (the key walk position) is not 0 or 32 bytes`);
    return v;
  };
  const allIncluded = (): boolean => {
    let end: boolean | undefined;
    try {
      end = getBool(msg, "all_included");
    } catch {
      end = undefined;
    }
    if (end === undefined) throw new NetError("BAD_MESSAGE", "catch-up ids: all_included is not a boolean");
    return end;
  };
  const nonce = int("nonce");
  switch (command) {
    case CatchUpCommand.HELLO:
    case CatchUpCommand.HELLO_ACK:
      return { command, nonce };
    case CatchUpCommand.REQUEST:
      return { command, nonce, cursor: int("ref_index"), count: int("count") };
    case CatchUpCommand.IDS:
      return { command, nonce, cursor: int("ref_index"), ids: ids(), end: allIncluded() };
    case CatchUpCommand.KEYS_REQUEST:
      return { command, nonce, key: key(), count: int("count") };
    case CatchUpCommand.KEYS:
      return { command, nonce, key: key(), ids: ids(), end: allIncluded() };
    case CatchUpCommand.FETCH:
      return { command, nonce, ids: ids() };
    default:
      throw new NetError("BAD_MESSAGE", `unknown catch-up command ${command}`);
  }
}

/** Builds a catch-up message (envelope keys first, as every DATA message). */
export function buildCatchUp(domainId: Uint8Array, m: CatchUpMessage): WireMessage {
  const msg: WireMessage = {
    domain_id: domainId,
    infra_msg_type: u16Bytes(InfraMessageCategory.CATEGORY_DATA),
    infra_command: u16Bytes(m.command),
    nonce: m.nonce,
  };
  if (m.cursor !== undefined) msg.ref_index = m.cursor;
  if (m.count !== undefined) msg.count = m.count;
  if (m.ids !== undefined) msg.transaction_id_list = m.ids;
  if (m.end !== undefined) msg.all_included = m.end;
  if (m.key !== undefined) msg.transaction_id = m.key;
  return msg;
}

/** What {@link CatchUp} is built from (shared with its {@link Replication}). */
export interface CatchUpDeps {
  net: NetworkDomain;
  dispatch: CommandDispatch;
  ledger: ReplicationLedger;
  limits: ReplicationLimits;
  stats: StatsSink;
  logger: Logger;
  scheduler: Scheduler;
  timings: NetTimings;
  /** Where fetched transactions go (the replication's budgeted, verifying path). */
  receive: (ins: ReplicationInsert, ctx: ReceiveContext) => Promise<void> | void;
}

interface Peer {
  nodeId: Uint8Array;
  /** true: answered a probe or probed us; false: gave up probing. */
  capable: boolean | undefined;
  probes: number;
  busy: boolean;
  /** A walk is scheduled by {@link CatchUp.soon}. */
  again: boolean;
  /** Serving a fetch of this peer now. */
  serving: boolean;
  tokens: number;
  tokensAt: number;
  /** When the last complete key walk of this peer ended (scheduler time); undefined: none since start. */
  keysWalkedAt: number | undefined;
}

interface Waiter {
  nonce: number;
  resolve: (m: CatchUpMessage | undefined) => void;
}

/** Catch-up of one domain (see the module comment). Timers: `catchupFirstDelayMs`, then every `catchupIntervalMs`. */
export class CatchUp {
  readonly #d: CatchUpDeps;
  readonly #peers = new Map<string, Peer>();
  readonly #waiters = new Map<string, Waiter>();
  /**
   * Fetched ids not arrived yet (hex → the waiting fetches' callbacks). Rounds with two peers run at the same time
   * and may want the same id: the second joins the first's request instead of asking again, and both are told.
   */
  readonly #expected = new Map<string, Set<() => void>>();
  #cursors: Record<string, number>;
  #timer: TimerHandle | undefined;
  #closed = false;

  constructor(deps: CatchUpDeps) {
    this.#d = deps;
    this.#cursors = { ...(deps.ledger.loadCatchupCursors?.(deps.net.domainId) ?? {}) };
    for (const c of Object.values(CatchUpCommand)) deps.dispatch.set(c, (m, ctx) => this.#receive(c, m, ctx));
  }

  /** Peers known to run catch-up (hex node ids). */
  capablePeers(): string[] {
    return [...this.#peers.entries()].filter(([, p]) => p.capable === true).map(([k]) => k);
  }

  /** Arms the timer: the first pass soon after start, then periodically. */
  start(): void {
    if (this.#closed) return;
    this.#arm(this.#d.timings.catchupFirstDelayMs);
  }

  /** Runs a pass now: probes unknown neighbours and starts a round with every idle capable one. */
  tick(): void {
    if (this.#closed) return;
    for (const n of this.#d.net.neighbors.nodes()) {
      const p = this.#peer(n.nodeId);
      if (p.capable === undefined) this.#probe(p);
      else if (p.capable && !p.busy) void this.#round(p);
    }
  }

  /**
   * Walks `nodeId` again after `catchupFirstDelayMs` (once, however often it is called meanwhile):
   * replication dropped something from it. Nothing for a peer not known to run catch-up.
   */
  soon(nodeId: Uint8Array): void {
    const p = this.#peers.get(toHex(nodeId));
    if (this.#closed || p === undefined || p.capable !== true || p.again) return;
    p.again = true;
    this.#d.scheduler.schedule(this.#d.timings.catchupFirstDelayMs, () => {
      p.again = false;
      if (!this.#closed && !p.busy) void this.#round(p);
    });
  }

  /** A replicated transaction was stored (or was already there). */
  arrived(transactionId: Uint8Array): void {
    if (this.#expected.size === 0) return;
    const k = toHex(transactionId);
    const waiting = this.#expected.get(k);
    if (waiting !== undefined) {
      this.#expected.delete(k);
      // counted here, once per id, however many fetches (rounds with several peers) waited for it
      this.#d.stats.increment("catchup", "fetched");
      for (const f of waiting) f();
    }
  }

  close(): void {
    this.#closed = true;
    this.#timer?.cancel();
    for (const w of this.#waiters.values()) w.resolve(undefined);
    this.#waiters.clear();
    for (const waiting of this.#expected.values()) for (const f of waiting) f();
    this.#expected.clear();
  }

  #arm(ms: number): void {
    this.#timer?.cancel();
    this.#timer = this.#d.scheduler.schedule(ms, () => {
      try {
        this.tick();
      } catch (err) {
        this.#d.logger.warn({ err }, "catch-up pass failed");
      }
      if (!this.#closed) this.#arm(this.#d.timings.catchupIntervalMs);
    });
  }

  #peer(nodeId: Uint8Array): Peer {
    const k = toHex(nodeId);
    let p = this.#peers.get(k);
    if (p === undefined) {
      // bounded like the neighbour table: forget peers that are no longer neighbours first
      if (this.#peers.size >= 4 * Math.max(16, this.#d.net.neighbors.size)) {
        for (const [hex, q] of this.#peers) if (this.#d.net.neighbors.get(q.nodeId) === undefined && !q.busy) this.#peers.delete(hex);
      }
      p = { nodeId: nodeId.slice(), capable: undefined, probes: 0, busy: false, again: false, serving: false, tokens: this.#d.limits.catchupServePerSecond, tokensAt: this.#d.scheduler.now(), keysWalkedAt: undefined };
      this.#peers.set(k, p);
    }
    return p;
  }

  #send(p: Peer, m: CatchUpMessage): boolean {
    return this.#d.net.sendToNode(p.nodeId, buildCatchUp(this.#d.net.domainId, m), "plain") !== "none";
  }

  #probe(p: Peer): void {
    if (p.probes >= MAX_PROBES) {
      p.capable = false;
      return;
    }
    p.probes++;
    this.#d.stats.increment("catchup", "hello_sent");
    this.#send(p, { command: CatchUpCommand.HELLO, nonce: nonce() });
  }

  #receive(command: number, msg: WireMessage, ctx: ReceiveContext): void {
    if (this.#closed) return;
    const m = decodeCatchUp(command, msg, this.#d.limits.catchupIdsPerMessage);
    const p = this.#peer(ctx.sourceNodeId);
    switch (command) {
      case CatchUpCommand.HELLO:
        // only bbc1-ts nodes send this: answer, and catch up from it too
        this.#markCapable(p);
        this.#send(p, { command: CatchUpCommand.HELLO_ACK, nonce: m.nonce });
        return;
      case CatchUpCommand.HELLO_ACK:
        this.#markCapable(p);
        return;
      case CatchUpCommand.REQUEST:
        void this.#serveIds(p, m);
        return;
      case CatchUpCommand.FETCH:
        void this.#serveFetch(p, m.ids!, ctx);
        return;
      case CatchUpCommand.KEYS_REQUEST:
        void this.#serveKeys(p, m);
        return;
      case CatchUpCommand.KEYS:
      case CatchUpCommand.IDS: {
        const w = this.#waiters.get(toHex(p.nodeId));
        if (w === undefined || w.nonce !== m.nonce) {
          this.#d.stats.increment("catchup", "unexpected_ids");
          return;
        }
        this.#waiters.delete(toHex(p.nodeId));
        w.resolve(m);
        return;
      }
    }
  }

  #markCapable(p: Peer): void {
    const was = p.capable;
    p.capable = true;
    if (was !== true) {
      this.#d.stats.increment("catchup", "peers_capable");
      if (!p.busy) void this.#round(p);
    }
  }

  /** Refills and takes `n` serve tokens of `p`; false when the rate is exhausted. */
  #take(p: Peer, n: number): boolean {
    const now = this.#d.scheduler.now();
    const rate = this.#d.limits.catchupServePerSecond;
    p.tokens = Math.min(rate, p.tokens + ((now - p.tokensAt) * rate) / 1000);
    p.tokensAt = now;
    if (p.tokens < n) return false;
    p.tokens -= n;
    return true;
  }

  async #serveIds(p: Peer, m: CatchUpMessage): Promise<void> {
    const limit = Math.min(m.count!, this.#d.limits.catchupIdsPerMessage);
    if (limit === 0 || !this.#take(p, 1)) {
      this.#d.stats.increment("catchup", "serve_throttled");
      return;
    }
    const page = await this.#d.ledger.transactionIdsAfter(this.#d.net.domainId, m.cursor!, limit);
    this.#d.stats.increment("catchup", "ids_served", page.ids.length);
    this.#send(p, { command: CatchUpCommand.IDS, nonce: m.nonce, cursor: page.next, ids: page.ids, end: page.end });
  }

  async #serveKeys(p: Peer, m: CatchUpMessage): Promise<void> {
    const limit = Math.min(m.count!, this.#d.limits.catchupIdsPerMessage);
    const walk = this.#d.ledger.transactionIdsAfterKey;
    if (limit === 0 || !this.#take(p, 1)) {
      this.#d.stats.increment("catchup", "serve_throttled");
      return;
    }
    // a ledger without the key walk answers "nothing more" at once: the asker's round must not wait for its timeout
    const page = walk === undefined ? { ids: [], end: true } : await walk.call(this.#d.ledger, this.#d.net.domainId, m.key!, limit);
    this.#d.stats.increment("catchup", "keys_served", page.ids.length);
    const last = page.ids.at(-1) ?? m.key!;
    this.#send(p, { command: CatchUpCommand.KEYS, nonce: m.nonce, key: last, ids: page.ids, end: page.end });
  }

  async #serveFetch(p: Peer, ids: Uint8Array[], ctx: ReceiveContext): Promise<void> {
    // one fetch per requester at a time; the requester waits for it before the next one
    if (p.serving) {
      this.#d.stats.increment("catchup", "serve_busy");
      return;
    }
    p.serving = true;
    try {
      for (const id of ids) {
        if (this.#closed) return;
        if (!this.#take(p, 1)) {
          this.#d.stats.increment("catchup", "serve_throttled");
          return;
        }
        const tx = await this.#d.ledger.replicationPayload(this.#d.net.domainId, id);
        if (tx === null) continue;
        const sent = this.#d.net.sendToNode(p.nodeId, buildReplicationInsert(this.#d.net.domainId, tx.transactionData, tx.assetFiles), "plain");
        if (sent !== "none") this.#d.stats.increment("catchup", "transactions_served");
      }
    } catch (err) {
      this.#d.logger.warn({ err, to: toHex(ctx.sourceNodeId).slice(0, 8) }, "catch-up fetch could not be served");
    } finally {
      p.serving = false;
    }
  }

  #ask(p: Peer, m: CatchUpMessage): Promise<CatchUpMessage | undefined> {
    return new Promise((resolve) => {
      const key = toHex(p.nodeId);
      this.#waiters.get(key)?.resolve(undefined);
      const t = this.#d.scheduler.schedule(this.#d.timings.catchupTimeoutMs, () => {
        if (this.#waiters.get(key)?.nonce === m.nonce) this.#waiters.delete(key);
        resolve(undefined);
      });
      this.#waiters.set(key, {
        nonce: m.nonce,
        resolve: (r) => {
          t.cancel();
          resolve(r);
        },
      });
      if (!this.#send(p, m)) {
        this.#waiters.delete(key);
        t.cancel();
        resolve(undefined);
      }
    });
  }

  /**
   * Sends a FETCH for those of `ids` no other fetch is waiting for (for all of them with `again`, the retry after a
   * timeout), and waits until all of `ids` arrived or the timeout passed. Resolves with those still missing. After the
   * retry (`again`), an id that no other fetch still waits for is given up and counted `unfetched`, once.
   */
  async #fetch(p: Peer, ids: Uint8Array[], again = false): Promise<Uint8Array[]> {
    const waiting = new Map<string, Uint8Array>();
    const asked: Uint8Array[] = [];
    const callbacks = new Map<string, () => void>();
    await new Promise<void>((resolve) => {
      let left = ids.length;
      const t = this.#d.scheduler.schedule(this.#d.timings.catchupTimeoutMs, () => resolve());
      for (const id of ids) {
        const k = toHex(id);
        if (waiting.has(k)) {
          left--;
          continue;
        }
        waiting.set(k, id);
        const f = () => {
          waiting.delete(k);
          if (--left === 0) {
            t.cancel();
            resolve();
          }
        };
        callbacks.set(k, f);
        const others = this.#expected.get(k);
        if (others === undefined) this.#expected.set(k, new Set([f]));
        else others.add(f);
        if (others === undefined || again) asked.push(id);
      }
      if (left === 0 || (asked.length > 0 && !this.#send(p, { command: CatchUpCommand.FETCH, nonce: nonce(), ids: asked }))) {
        t.cancel();
        resolve();
      }
    });
    let givenUp = 0;
    for (const [k, f] of callbacks) {
      const set = this.#expected.get(k);
      if (set === undefined) continue; // arrived (counted then), or the catch-up closed
      set.delete(f);
      if (set.size > 0) continue; // another fetch still waits for it and counts it
      this.#expected.delete(k);
      if (again) givenUp++;
    }
    // a transaction the peer cannot deliver verified (forged, removed) must not stop the walk
    if (givenUp > 0 && !this.#closed) this.#d.stats.increment("catchup", "unfetched", givenUp);
    return [...waiting.values()];
  }

  /** Fetches the `ids` the ledger lacks in chunks; false when the catch-up closed meanwhile. */
  async #fetchMissing(p: Peer, ids: Uint8Array[]): Promise<boolean> {
    const domainId = this.#d.net.domainId;
    const limits = this.#d.limits;
    const chunk = Math.max(1, Math.min(limits.catchupIdsPerMessage, Math.floor(limits.maxInflightPerPeer / 2)));
    const missing: Uint8Array[] = [];
    for (const id of ids) if (!(await this.#d.ledger.hasTransaction(domainId, id))) missing.push(id);
    for (let i = 0; i < missing.length; i += chunk) {
      // what is still missing after the timeout is asked for once more; the walk goes on either way
      const left = await this.#fetch(p, missing.slice(i, i + chunk));
      if (left.length > 0 && !this.#closed) await this.#fetch(p, left, true);
      if (this.#closed) return false;
    }
    return true;
  }

  /**
   * One round with a peer: the position walk over its asset index from the saved cursor to its
   * end, then (first round since start, or `catchupKeyWalkIntervalMs` after the last one) the key
   * walk over all its transaction ids. Either stops at the first unanswered request.
   */
  async #round(p: Peer): Promise<void> {
    if (p.busy || this.#closed) return;
    p.busy = true;
    const key = toHex(p.nodeId);
    const domainId = this.#d.net.domainId;
    const limits = this.#d.limits;
    this.#d.stats.increment("catchup", "rounds");
    try {
      let cursor = Math.max(0, (this.#cursors[key] ?? 0) - REWIND);
      for (;;) {
        const page = await this.#ask(p, { command: CatchUpCommand.REQUEST, nonce: nonce(), cursor, count: limits.catchupIdsPerMessage });
        if (page === undefined || this.#closed) {
          if (!this.#closed) this.#d.stats.increment("catchup", "timeouts");
          return;
        }
        if (!(await this.#fetchMissing(p, page.ids!))) return;
        if (page.cursor! > cursor) {
          cursor = page.cursor!;
          this.#cursors[key] = cursor;
          this.#d.ledger.saveCatchupCursors?.(domainId, { ...this.#cursors });
        }
        if (page.end || page.ids!.length === 0) break;
      }
      const due = p.keysWalkedAt === undefined || this.#d.scheduler.now() - p.keysWalkedAt >= this.#d.timings.catchupKeyWalkIntervalMs;
      if (due && !(await this.#keyWalk(p))) return;
      this.#d.stats.increment("catchup", "rounds_completed");
    } catch (err) {
      this.#d.logger.warn({ err, peer: key.slice(0, 8) }, "catch-up round failed");
    } finally {
      p.busy = false;
    }
  }

  /** The key walk of {@link CatchUp.#round}: every transaction id of the peer, from the start; true when it reached the end. */
  async #keyWalk(p: Peer): Promise<boolean> {
    let after: Uint8Array = new Uint8Array(0);
    for (;;) {
      const page = await this.#ask(p, { command: CatchUpCommand.KEYS_REQUEST, nonce: nonce(), key: after, count: this.#d.limits.catchupIdsPerMessage });
      if (page === undefined || this.#closed) {
        if (!this.#closed) this.#d.stats.increment("catchup", "timeouts");
        return false;
      }
      if (page.command !== CatchUpCommand.KEYS) {
        this.#d.stats.increment("catchup", "unexpected_ids");
        return false;
      }
      if (!(await this.#fetchMissing(p, page.ids!))) return false;
      const last = page.ids!.at(-1);
      // the walk only moves forward: a peer answering the same or a smaller key again ends it
      if (page.end || last === undefined || compareBytes(last, after) <= 0) break;
      after = last;
    }
    p.keysWalkedAt = this.#d.scheduler.now();
    this.#d.stats.increment("catchup", "key_walks_completed");
    return true;
  }
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

function nonce(): number {
  return Math.floor(Math.random() * 0x7fffffff);
}
