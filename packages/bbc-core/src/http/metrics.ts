/**
 * The node's Prometheus metrics (README, "Metrics"). Hot-path values are plain cells bound once
 * ({@link CoreMetrics.inserts}, {@link CoreMetrics.insertErrors}, the duration histograms);
 * everything else is read from the node when `/metrics` is scraped, so the insert path pays a
 * few additions and two clock reads.
 * @module
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from "prom-client";
import type { RefusalCounter } from "@bbc1/wire";
import type { Domain } from "../domain.js";
import type { BBcStats } from "../stats.js";
import { CellCounter, CellHistogram, type CounterCell, type HistogramCell } from "./cells.js";
import { LedgerView } from "./ledger-view.js";
import type { P2pView } from "./p2p-view.js";

/** Why a client insert was not stored (label `reason` of `bbc1_insert_errors_total`). */
export const INSERT_ERROR_REASONS = [
  "missing_params",
  "no_domain",
  "domain_global_0",
  "bad_request",
  "invalid_transaction",
  "invalid_asset_file",
  "asset_conflict",
  "duplicate",
  "ledger_failure",
] as const;
/** One of {@link INSERT_ERROR_REASONS}. */
export type InsertErrorReason = (typeof INSERT_ERROR_REASONS)[number];

/** A neighbour as the metrics see it. */
export interface PeerView {
  /** Domain id, hex. */
  domain: string;
  /** Key-exchange state (`none`, `requesting`, `established`, ...) or `unkeyed`. */
  state: string;
}

/** What the metrics read from the node at scrape time. */
export interface MetricsSource {
  readonly stats: BBcStats;
  readonly refusals: RefusalCounter;
  readonly domains: ReadonlyMap<string, Domain>;
  /** Sockets of the open client connections. */
  clientSockets(): Iterable<{ readonly bytesRead: number; readonly bytesWritten: number }>;
  /** GET_STATS `resources` gauges. */
  resources(): Record<string, number>;
  /** The P2P layer's view, when the node has one. */
  p2pView?(): P2pView | undefined;
}

const SECONDS_FAST = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];
const SECONDS_INSERT = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const BATCH_SIZES = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];

/** Process metrics (CPU, memory, event loop, GC, handles) are per process: one registry for every node in it. */
let processRegistry: Registry | undefined;
function processMetrics(): Registry {
  if (processRegistry === undefined) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/** Metrics of one node. */
export class CoreMetrics {
  readonly registry = new Registry();
  /** Client inserts stored (acknowledged). */
  readonly inserts: CounterCell;
  /** Client inserts not stored, by reason. */
  readonly insertErrors: Readonly<Record<InsertErrorReason, CounterCell>>;
  /** Stored inserts: from the request leaving the connection's queue to its answer. */
  readonly insertSeconds: HistogramCell;
  /** Verification of submitted transactions (ids, signatures, asset digests; waiting for a worker included). */
  readonly verifySeconds: HistogramCell;
  /** Replicated transactions stored: from the REQUEST_REPLICATION_INSERT taken off the network to durable. */
  readonly replicatedSeconds: HistogramCell;
  readonly #commitSizes: CellHistogram;
  readonly #commitSeconds: CellHistogram;
  readonly #commitSecondsCells = new Map<string, HistogramCell>();
  readonly #commitCells = new Map<string, HistogramCell>();
  readonly #source: MetricsSource;
  #closedIn = 0;
  #closedOut = 0;

  constructor(source: MetricsSource) {
    this.#source = source;
    const r = this.registry;
    const src = source;
    this.inserts = new CellCounter(r, "bbc1_inserts_total", "Transactions stored through client inserts (acknowledged once durable).").cell();
    const errors = new CellCounter(r, "bbc1_insert_errors_total", "Client inserts answered with an error, by reason.", ["reason"]);
    this.insertErrors = Object.fromEntries(INSERT_ERROR_REASONS.map((reason) => [reason, errors.cell({ reason })])) as Record<InsertErrorReason, CounterCell>;
    this.insertSeconds = new CellHistogram(r, "bbc1_insert_duration_seconds", "Time from taking a stored insert off its connection's queue to queueing its answer (verification and durable commit included).", SECONDS_INSERT).cell();
    this.verifySeconds = new CellHistogram(r, "bbc1_verify_duration_seconds", "Verification of a submitted transaction (id, signatures, asset file digests), waiting for a worker thread included.", SECONDS_FAST).cell();
    this.replicatedSeconds = new CellHistogram(r, "bbc1_replicated_insert_duration_seconds", "Replicated transactions stored on this node: from the REQUEST_REPLICATION_INSERT taken off the network to durable (verification and the group commit included).", SECONDS_INSERT).cell();
    this.#commitSizes = new CellHistogram(r, "bbc1_ledger_commit_batch_size", "Inserts per durable ledger commit (group commit), by domain.", BATCH_SIZES, ["domain"]);
    this.#commitSeconds = new CellHistogram(r, "bbc1_ledger_commit_duration_seconds", "Time of each durable ledger commit (group commit) from its start: SQLite's commit-log append and fdatasync, or the database server's commit; by domain.", SECONDS_FAST, ["domain"]);

    new Counter({
      name: "bbc1_refusals_total",
      help: "Requests, frames and connections refused by a resource limit, by limit (README of @bbc1/core, \"Resource limits\").",
      labelNames: ["limit"],
      registers: [r],
      collect() {
        this.reset();
        for (const [limit, n] of Object.entries(src.refusals.snapshot())) this.inc({ limit }, n);
      },
    });
    const self = this;
    new Gauge({
      name: "bbc1_client_connections",
      help: "Open client connections.",
      registers: [r],
      collect() {
        this.set(src.resources().connections ?? 0);
      },
    });
    const bytes = (name: string, help: string, pick: (s: { bytesRead: number; bytesWritten: number }) => number, closed: () => number) =>
      new Counter({
        name,
        help,
        registers: [r],
        collect() {
          let n = closed();
          for (const s of src.clientSockets()) n += pick(s);
          this.reset();
          this.inc(n);
        },
      });
    bytes("bbc1_client_received_bytes_total", "Bytes received on the client port.", (s) => s.bytesRead, () => self.#closedIn);
    bytes("bbc1_client_sent_bytes_total", "Bytes sent on the client port.", (s) => s.bytesWritten, () => self.#closedOut);
    const resource = (name: string, key: string, help: string) =>
      new Gauge({
        name,
        help,
        registers: [r],
        collect() {
          this.set(src.resources()[key] ?? 0);
        },
      });
    resource("bbc1_client_partial_frame_bytes", "partial_frame_bytes", "Bytes held in partially received frames (all connections).");
    resource("bbc1_client_output_queued_bytes", "output_bytes", "Bytes queued for sending to clients (all connections).");
    resource("bbc1_pending_bounces", "pending_bounces", "Undeliverable messages held until they bounce back to their sender.");
    resource("bbc1_subscriptions", "subscriptions", "Insert-notification subscriptions (asset group x user).");

    new Gauge({
      name: "bbc1_domains",
      help: "Domains the node serves.",
      registers: [r],
      collect() {
        this.set(src.domains.size);
      },
    });
    new Gauge({
      name: "bbc1_registered_users",
      help: "Users registered on this node, by domain.",
      labelNames: ["domain"],
      registers: [r],
      collect() {
        this.reset();
        for (const [domain, d] of src.domains) this.set({ domain }, d.users.size);
      },
    });
    const perLedger = (name: string, help: string, read: (v: LedgerView) => number | undefined | Promise<number | undefined>, type: "gauge" | "counter") => {
      const collect = async function (this: Gauge<string> | Counter<string>): Promise<void> {
        this.reset();
        for (const [domain, d] of src.domains) {
          if (d.ledger === null) continue;
          const v = await read(LedgerView.of(d.ledger));
          if (v === undefined) continue;
          if (this instanceof Gauge) this.set({ domain }, v);
          else this.inc({ domain }, v);
        }
      };
      if (type === "gauge") new Gauge({ name, help, labelNames: ["domain"], registers: [r], collect });
      else new Counter({ name, help, labelNames: ["domain"], registers: [r], collect });
    };
    perLedger("bbc1_ledger_transactions", "Transactions in the domain's ledger (a cached count: refreshed after 1 s, or 200 times as long as counting took).", (v) => v.transactionCount(), "gauge");
    perLedger("bbc1_ledger_size_bytes", "Bytes of the domain's SQLite database files (asset files not included; absent for server databases).", (v) => v.sizeBytes(), "gauge");
    perLedger("bbc1_ledger_commits_total", "Durable ledger commits (each carries one or more inserts).", (v) => v.commitStats()?.batches, "counter");
    perLedger("bbc1_ledger_committed_inserts_total", "Inserts carried by the durable commits (duplicates included).", (v) => v.commitStats()?.inserts, "counter");

    new Gauge({
      name: "bbc1_p2p_listening",
      help: "1 while the P2P port is listening (UDP and TCP).",
      registers: [r],
      collect() {
        this.set(src.p2pView?.()?.listening === true ? 1 : 0);
      },
    });
    new Gauge({
      name: "bbc1_peers",
      help: "Neighbours of this node, by domain and key-exchange state.",
      labelNames: ["domain", "state"],
      registers: [r],
      collect() {
        this.reset();
        const counts = new Map<string, { domain: string; state: string; n: number }>();
        for (const p of src.p2pView?.()?.peers() ?? []) {
          const k = `${p.domain}/${p.state}`;
          const c = counts.get(k);
          if (c === undefined) counts.set(k, { domain: p.domain, state: p.state, n: 1 });
          else c.n++;
        }
        for (const c of counts.values()) this.set({ domain: c.domain, state: c.state }, c.n);
      },
    });
    const p2pBytes = (name: string, help: string, pick: (p: { bytesIn: number; bytesOut: number }) => number) =>
      new Counter({
        name,
        help,
        registers: [r],
        collect() {
          this.reset();
          const p = src.p2pView?.();
          this.inc(p === undefined ? 0 : pick(p));
        },
      });
    p2pBytes("bbc1_p2p_received_bytes_total", "Bytes received on the P2P port (UDP and TCP).", (p) => p.bytesIn);
    p2pBytes("bbc1_p2p_sent_bytes_total", "Bytes sent on the P2P port (UDP and TCP).", (p) => p.bytesOut);

    new Gauge({
      name: "bbc1_core_stats",
      help: "Every GET_STATS counter (v1.1.1 names, bbc1 stat), by category and name.",
      labelNames: ["category", "name"],
      registers: [r],
      collect() {
        this.reset();
        for (const [category, m] of Object.entries(src.stats.snapshot())) for (const [name, v] of Object.entries(m)) this.set({ category, name }, v);
      },
    });
    processMetrics();
  }

  /** The commit-size cell of a domain (bound when its ledger opens). */
  commitCell(domainHex: string): HistogramCell {
    let c = this.#commitCells.get(domainHex);
    if (c === undefined) this.#commitCells.set(domainHex, (c = this.#commitSizes.cell({ domain: domainHex })));
    return c;
  }

  /** The commit-latency cell of a domain (bound when its ledger opens). */
  commitSecondsCell(domainHex: string): HistogramCell {
    let c = this.#commitSecondsCells.get(domainHex);
    if (c === undefined) this.#commitSecondsCells.set(domainHex, (c = this.#commitSeconds.cell({ domain: domainHex })));
    return c;
  }

  /** A domain left: its per-domain cells go. */
  domainRemoved(domainHex: string): void {
    this.#commitCells.delete(domainHex);
    this.#commitSizes.drop((l) => l.domain === domainHex);
    this.#commitSecondsCells.delete(domainHex);
    this.#commitSeconds.drop((l) => l.domain === domainHex);
  }

  /** A client connection closed: its byte counts move to the totals. */
  connectionClosed(socket: { readonly bytesRead: number; readonly bytesWritten: number }): void {
    this.#closedIn += socket.bytesRead;
    this.#closedOut += socket.bytesWritten;
  }

  /** The exposition text: the node's metrics, then the process's. */
  async text(): Promise<string> {
    const [node, proc] = await Promise.all([this.registry.metrics(), processMetrics().metrics()]);
    return `${node}\n${proc}`;
  }

  /** Content type of {@link text}. */
  get contentType(): string {
    return this.registry.contentType;
  }
}
