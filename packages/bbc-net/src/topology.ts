import type { Logger } from "pino";
import { bytesEqual } from "@bbc1/bbclib";
import { ProtocolTimer, randint, uniform, type RandomFn, type Scheduler } from "./clock.js";
import type { NeighborEntry, NeighborTable } from "./neighbors.js";
import type { StatsSink } from "./stats.js";
import type { NetTimings } from "./timings.js";

/** Dependencies of {@link Topology}. */
export interface TopologyDeps {
  neighbors: NeighborTable;
  scheduler: Scheduler;
  random: RandomFn;
  timings: NetTimings;
  stats: StatsSink;
  logger: Logger;
  /** Broadcasts NOTIFY_NEIGHBOR_LIST with these `neighbor_list` bytes to every neighbour. */
  advertise: (neighborList: Uint8Array) => void;
  /**
   * True for a node that announced NOTIFY_LEAVE and has not contacted us since: neighbour lists
   * of peers that have not yet processed its leave must not bring it back as a ghost.
   */
  departed?: (nodeId: Uint8Array) => boolean;
}

/**
 * Full-mesh topology of one domain (§7, v1.1.1 `TopologyManagerBase`): every node tells every
 * neighbour about every node it knows, soon after a change (uniform(0.5, 1) × 5 s / (N + 1)) and
 * periodically (randint(200, 400) s). Timers follow the reference's advance-only rule (Q15).
 */
export class Topology {
  readonly #d: TopologyDeps;
  readonly #advertiseTimer: ProtocolTimer;
  readonly #refreshTimer: ProtocolTimer;

  constructor(deps: TopologyDeps) {
    this.#d = deps;
    const onError = (err: unknown): void => deps.logger.error({ err }, "topology timer failed");
    this.#advertiseTimer = new ProtocolTimer(deps.scheduler, () => this.#advertiseNow(), onError);
    this.#refreshTimer = new ProtocolTimer(
      deps.scheduler,
      () => {
        this.#advertiseNow();
        this.#refreshTimer.start(this.#refreshDelay());
      },
      onError,
    );
  }

  /** Arms the periodic refresh (call once the domain is set up). */
  start(): void {
    this.#refreshTimer.start(this.#refreshDelay());
  }

  /** True while a change-triggered advertisement is pending. */
  get advertisementPending(): boolean {
    return this.#advertiseTimer.active;
  }

  /** `notify_neighbor_update`: advertise after uniform(0.5, 1) × 5 s / (N + 1), advance-only. */
  notifyNeighborUpdate(): void {
    const n = this.#d.neighbors.size;
    this.#advertiseTimer.advance((uniform(this.#d.random, 0.5, 1) * this.#d.timings.advertiseDelayMs) / (n + 1));
  }

  /**
   * A received NOTIFY_NEIGHBOR_LIST (already decoded and checked): adds or refreshes every listed
   * node except ourselves, and advertises (or cancels a pending advertisement) by the
   * reference's difference test.
   */
  onNeighborList(entries: readonly NeighborEntry[]): void {
    const d = this.#d;
    d.stats.increment("topology_manager", "NOTIFY_NEIGHBOR_LIST");
    // "Postpone" the refresh: like v1.1.1 this can only bring it forward (Q15).
    this.#refreshTimer.advance(this.#refreshDelay());
    const before = d.neighbors.nodes().filter((n) => n.isAlive).length;
    let unchanged = 0;
    for (const e of entries) {
      if (bytesEqual(e.nodeId, d.neighbors.myNodeId)) continue;
      if (d.departed?.(e.nodeId) === true) {
        unchanged++;
        continue;
      }
      // What a node told us itself beats hearsay: a peer's list may still carry the old port of a
      // node that restarted elsewhere, and must not flip our entry back (v1.1.1 takes any list).
      const known = d.neighbors.get(e.nodeId);
      const firstHand = known !== undefined && known.directAt > 0 && d.scheduler.now() - known.directAt < d.timings.neighborListRefreshMs;
      const r = d.neighbors.add({
        nodeId: e.nodeId,
        // 0.0.0.0 / :: mean "no address of that family" (§2.6, Q5)
        ipv4: firstHand ? null : e.ipv4 === "0.0.0.0" ? null : e.ipv4,
        ipv6: firstHand ? null : e.ipv6 === "::" ? null : e.ipv6,
        port: firstHand ? known.port : e.port,
        domain0: e.domain0,
      });
      if (r === "unchanged" || r === "refused") unchanged++;
    }
    if (before === unchanged) this.#advertiseTimer.cancel();
    else if (!this.#advertiseTimer.active) this.notifyNeighborUpdate();
  }

  /** Advertises now (also used when our own entry changed, e.g. the domain0 flag). */
  advertiseNow(): void {
    this.#advertiseTimer.cancel();
    this.#advertiseNow();
  }

  /** Stops both timers. */
  close(): void {
    this.#advertiseTimer.cancel();
    this.#refreshTimer.cancel();
  }

  #advertiseNow(): void {
    this.#d.advertise(this.#d.neighbors.encodeList());
  }

  #refreshDelay(): number {
    const base = this.#d.timings.neighborListRefreshMs;
    return randint(this.#d.random, Math.floor((base * 2) / 3 / 1000), Math.floor((base * 4) / 3 / 1000)) * 1000;
  }
}
