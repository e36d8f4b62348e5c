/**
 * The core's side of domain_global_0 and cross references (p2p-protocol.md §11, §8.7, §9.5):
 * the {@link Domain0Manager} of a `--domain0` node wired to the ledgers and user routing, the
 * cross_ref stock of each domain, REPLICATION_CROSS_REF (DATA `00 06`) and REQUEST_CROSS_REF_VERIFY.
 * @module
 */
import { bytesEqual, toHex, type BBcTransaction } from "@bbc1/bbclib";
import { CrossRefStock, Domain0Manager, sendRequestVerify, type CrossRefRow, type CrossRefStore, type LocalUsers, type ReceiveContext } from "@bbc1/net";
import { TokenBucket, type WireMessage } from "@bbc1/wire";
import type { Logger } from "pino";
import { isJsonObject, type JsonObject, type JsonValue } from "./config.js";
import type { Domain } from "./domain.js";
import { CoreError } from "./errors.js";
import { EncodedPayload, type OutputPool } from "./outbox.js";
import { repairOf } from "./repair.js";
import type { BBcCoreService } from "./service.js";

/** `network.domain0` of config.json (ours, for tests): v1.1.1's probabilities as knobs. */
export interface Domain0Settings {
  /** `CROSS_REF_PROBABILITY` (default 0.1; v1.1.1's tests use 1.0). */
  crossRefProbability: number;
  /** `MAX_CROSS_REF_STOCK` (default 10; v1.1.1's tests use 0). */
  maxCrossRefStock: number;
}

/** Reads `network.domain0` (`cross_ref_probability`, `max_cross_ref_stock`); bad values stop the start. */
export function readDomain0Settings(section: JsonValue | undefined): Domain0Settings {
  const out: Domain0Settings = { crossRefProbability: 0.1, maxCrossRefStock: 10 };
  if (section === undefined || section === null) return out;
  if (!isJsonObject(section)) throw new CoreError("CONFIG_INVALID", "config: network.domain0 must be an object");
  const p = section.cross_ref_probability;
  if (p !== undefined) {
    if (typeof p !== "number" || !(p >= 0 && p <= 1)) throw new CoreError("CONFIG_INVALID", `config: network.domain0.cross_ref_probability must be in [0, 1], got ${JSON.stringify(p)}`);
    out.crossRefProbability = p;
  }
  const s = section.max_cross_ref_stock;
  if (s !== undefined) {
    if (typeof s !== "number" || !Number.isInteger(s) || s < 0) throw new CoreError("CONFIG_INVALID", `config: network.domain0.max_cross_ref_stock must be an integer >= 0, got ${JSON.stringify(s)}`);
    out.maxCrossRefStock = s;
  }
  return out;
}

const stocks = new WeakMap<Domain, CrossRefStock>();

/** The users registered on this node in a domain, as the network's {@link LocalUsers}. */
export function localUsersOf(domain: Domain, output: OutputPool): LocalUsers {
  return {
    isRegistered: (_d, userId) => (domain.localUser(userId)?.conns.size ?? 0) > 0,
    registeredUsers: () => [...domain.users.values()].filter((u) => u.conns.size > 0).map((u) => u.userId),
    deliver: (_d, userId, msg) => {
      const u = domain.localUser(userId);
      return u !== undefined && domain.deliverLocal(u, EncodedPayload.of(msg, output));
    },
  };
}

/**
 * The cross_ref stock of a regular domain (§8.7). The domain's user routing hands it every
 * CROSS_REF_ASSIGNMENT (`infra_command` `00 05`): `crossRefStockOf(domain).handle(msg, ctx)`.
 */
export function crossRefStockOf(domain: Domain): CrossRefStock | undefined {
  return stocks.get(domain);
}

/** The cross_ref tables of the served domains, as the network's {@link CrossRefStore}. */
export function crossRefStoreOf(domains: Map<string, Domain>): CrossRefStore {
  return {
    async insertCrossRef(domainId, row) {
      const ledger = domains.get(toHex(domainId))?.ledger;
      if (ledger == null || ledger.insertCrossRef === undefined) return false;
      return ledger.insertCrossRef(row);
    },
    async getCrossRefs(domainId, transactionId) {
      const ledger = domains.get(toHex(domainId))?.ledger;
      if (ledger == null || ledger.crossRefsOf === undefined) return [];
      return ledger.crossRefsOf(transactionId);
    },
  };
}

/** The replication strategy of a domain section is "all" (the default). */
function replicatesAll(section: JsonObject): boolean {
  const db = section.db;
  return !isJsonObject(db) || db.replication_strategy === undefined || db.replication_strategy === "all";
}

/**
 * Per-node cross-reference wiring, owned by the service: the domain0 manager while the node is
 * in domain_global_0, one stock per domain, and the REPLICATION_CROSS_REF handler.
 */
export class CrossRefs {
  manager: Domain0Manager | null = null;
  readonly settings: Domain0Settings;
  readonly #core: BBcCoreService;
  readonly #log: Logger;
  /** REPLICATION_CROSS_REF rows accepted per second from all neighbours (each is a durable write). */
  readonly #replicationRate = new TokenBucket(200, 400);

  constructor(core: BBcCoreService, settings: Domain0Settings) {
    this.#core = core;
    this.settings = settings;
    this.#log = core.logger.child({ component: "domain0" });
  }

  /** A domain was created: its stock, its DATA `00 06` handler; domain_global_0 starts the manager. */
  domainCreated(domain: Domain, isGlobal0: boolean): void {
    const core = this.#core;
    if (isGlobal0) {
      this.manager?.close();
      this.manager = new Domain0Manager(
        {
          network: core.network,
          crossRefs: crossRefStoreOf(core.domains),
          ledger: { getTransactionData: async (d, t) => (await core.domains.get(toHex(d))?.ledger?.getTransaction(t)) ?? null },
          sendToUser: (d, msg, fromNode) => void core.domains.get(toHex(d))?.sendToUser(msg, { peer: fromNode }),
          requestRepair: (d, t) => {
            // §11.5 step 4: a stored transaction that fails validation is repaired from the neighbours
            this.#log.warn({ domain: toHex(d).slice(0, 8), transaction_id: toHex(t) }, "cross-ref verification: the stored transaction is invalid; asking the neighbours for it");
            const domain = core.domains.get(toHex(d));
            if (domain !== undefined) repairOf(domain)?.requestTransaction(t);
          },
          replicates: (d) => {
            const s = core.domains.get(toHex(d))?.section;
            return s === undefined || replicatesAll(s);
          },
          logger: this.#log,
          deserializeOptions: core.deserializeOptions,
        },
        { crossRefProbability: this.settings.crossRefProbability },
      );
      core.network.setDomain0Handler(this.manager);
      this.manager.start();
      return;
    }
    stocks.set(domain, new CrossRefStock({ domainId: domain.id, users: localUsersOf(domain, core.output), maxStock: this.settings.maxCrossRefStock, stats: core.stats }));
    domain.data?.set(6, (msg, ctx) => this.#replicationCrossRef(domain, msg, ctx));
    this.manager?.domainsChanged();
  }

  /** A domain was removed (leaving domain_global_0 stops the manager, unlike v1.1.1, Q24). */
  domainRemoved(isGlobal0: boolean): void {
    if (isGlobal0) {
      this.manager?.close();
      this.manager = null;
      this.#core.network.setDomain0Handler(null);
    } else this.manager?.domainsChanged();
  }

  /** The insert hook (client and replicated inserts, §11.3 steps 1 and 5). */
  inserted(domain: Domain, tx: BBcTransaction): void {
    const m = this.manager;
    if (m === null) return;
    const c = tx.crossRef;
    const cr = c !== null && c.domainId instanceof Uint8Array && c.transactionId instanceof Uint8Array && c.domainId.length === 32 && c.transactionId.length === 32 ? { domainId: c.domainId, transactionId: c.transactionId } : null;
    try {
      m.transactionInserted(domain.id, tx.transactionId!, cr);
    } catch (err) {
      this.#log.warn({ err }, "domain0 insert hook failed");
    }
  }

  /**
   * REQUEST_CROSS_REF_VERIFY (§11.5 steps 1-2): on a domain0 node its own manager looks the
   * transaction up (v1.1.1 sends nothing there, Q32); elsewhere it goes as REQUEST_VERIFY to a
   * domain0-flagged neighbour. Nothing happens when none is known.
   */
  async requestVerify(domain: Domain, msg: WireMessage): Promise<boolean> {
    if (bytesEqual(domain.id, new Uint8Array(32))) return false;
    if (this.manager !== null) {
      await this.manager.requestVerify(domain.id, msg);
      return true;
    }
    return domain.net !== null && sendRequestVerify(domain.net, msg);
  }

  /** REPLICATION_CROSS_REF (§9.5): the row is stored without re-broadcasting; duplicates are not stored again. */
  async #replicationCrossRef(domain: Domain, msg: WireMessage, _ctx: ReceiveContext): Promise<void> {
    const t = msg.transaction_id;
    const o = msg.outer_domain_id;
    const x = msg.txid_having_cross_ref;
    const ok = (v: unknown): v is Uint8Array => v instanceof Uint8Array && v.length === 32;
    if (!ok(t) || !ok(o) || !ok(x)) {
      this.#core.stats.increment("data_handler", "drop.bad_replication_cross_ref");
      return;
    }
    if (!this.#replicationRate.tryTake()) {
      this.#core.stats.increment("data_handler", "drop.replication_cross_ref_rate");
      return;
    }
    const ledger = domain.ledger;
    if (ledger == null || ledger.insertCrossRef === undefined) return;
    const row: CrossRefRow = { transactionId: t, outerDomainId: o, txidHavingCrossRef: x };
    if (await ledger.insertCrossRef(row)) this.#core.stats.increment("data_handler", "insert_cross_ref");
  }
}
