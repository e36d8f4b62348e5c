/**
 * One injectable clock and scheduler for every protocol timer of the package (p2p-protocol.md
 * §12). Production uses {@link RealScheduler}; tests use {@link ManualScheduler} and move time
 * by hand, so a 300-second purge or a 7-day key refresh runs in microseconds.
 */

/** A scheduled callback that can be cancelled. */
export interface TimerHandle {
  /** Cancels the callback; a no-op once it ran or was cancelled. */
  cancel(): void;
}

/** Clock + one-shot timers. */
export interface Scheduler {
  /** Milliseconds since the Unix epoch (wall clock: neighbour `updated_at` is in it). */
  now(): number;
  /** Runs `fn` once after `delayMs` (clamped at 0). */
  schedule(delayMs: number, fn: () => void): TimerHandle;
}

/** The real clock: `Date.now()` and `setTimeout` (unref'd, so timers never keep a process alive). */
export class RealScheduler implements Scheduler {
  now(): number {
    return Date.now();
  }

  schedule(delayMs: number, fn: () => void): TimerHandle {
    // setTimeout caps at 2^31-1 ms (24.8 days); the longest protocol timer is ~7.7 days.
    const t = setTimeout(fn, Math.min(Math.max(0, delayMs), 0x7fffffff));
    t.unref?.();
    return { cancel: () => clearTimeout(t) };
  }
}

interface ManualEntry {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/**
 * A test clock: time moves only through {@link advance} / {@link advanceTo}; due callbacks run in
 * time order (ties in scheduling order) while time is moved. Several network instances in one
 * process may share one.
 */
export class ManualScheduler implements Scheduler {
  #now: number;
  #seq = 0;
  #queue: ManualEntry[] = [];
  /** Errors thrown by callbacks (they do not stop the clock). */
  readonly errors: unknown[] = [];

  constructor(startMs = 1_700_000_000_000) {
    this.#now = startMs;
  }

  now(): number {
    return this.#now;
  }

  /** Callbacks still waiting. */
  get pending(): number {
    return this.#queue.filter((e) => !e.cancelled).length;
  }

  schedule(delayMs: number, fn: () => void): TimerHandle {
    const e: ManualEntry = { at: this.#now + Math.max(0, delayMs), seq: this.#seq++, fn, cancelled: false };
    this.#queue.push(e);
    return { cancel: () => void (e.cancelled = true) };
  }

  /** Moves time forward by `ms`, running every callback that falls due on the way. */
  advance(ms: number): void {
    this.advanceTo(this.#now + Math.max(0, ms));
  }

  /** Moves time to `t` (never backwards), running due callbacks in order. */
  advanceTo(t: number): void {
    for (;;) {
      this.#queue = this.#queue.filter((e) => !e.cancelled);
      let next: ManualEntry | undefined;
      for (const e of this.#queue) if (e.at <= t && (next === undefined || e.at < next.at || (e.at === next.at && e.seq < next.seq))) next = e;
      if (next === undefined) break;
      next.cancelled = true;
      if (next.at > this.#now) this.#now = next.at;
      try {
        next.fn();
      } catch (err) {
        this.errors.push(err);
      }
    }
    if (t > this.#now) this.#now = t;
  }
}

/** Uniform random number in [0, 1); injectable so timer jitter is reproducible in tests. */
export type RandomFn = () => number;

/** `random.uniform(a, b)` of Python. */
export function uniform(random: RandomFn, a: number, b: number): number {
  return a + (b - a) * random();
}

/** `random.randint(a, b)` of Python (both ends included). */
export function randint(random: RandomFn, a: number, b: number): number {
  return a + Math.floor(random() * (b - a + 1));
}

/**
 * A one-shot protocol timer on a {@link Scheduler}, with the reference's `QueryEntry`
 * operations that peers can observe: `start` (re-arm), `advance` (move the expiry earlier, never
 * later: `update_expiration_time`, Quirk Q15) and `cancel`. The action's errors go to `onError`
 * instead of killing anything (the reference's timer thread died on them, Q2).
 */
export class ProtocolTimer {
  readonly #scheduler: Scheduler;
  readonly #action: () => void;
  readonly #onError: (err: unknown) => void;
  #handle: TimerHandle | undefined;
  #fireAt = 0;

  constructor(scheduler: Scheduler, action: () => void, onError: (err: unknown) => void) {
    this.#scheduler = scheduler;
    this.#action = action;
    this.#onError = onError;
  }

  /** True while armed. */
  get active(): boolean {
    return this.#handle !== undefined;
  }

  /** When it fires (ms, scheduler clock); meaningful while {@link active}. */
  get fireAt(): number {
    return this.#fireAt;
  }

  /** (Re-)arms the timer to fire after `delayMs`, replacing any earlier arming. */
  start(delayMs: number): void {
    this.cancel();
    this.#arm(this.#scheduler.now() + Math.max(0, delayMs));
  }

  /**
   * Moves the firing time to `now + delayMs` if that is earlier than the current one (or arms
   * the timer if it is not armed). Never postpones.
   */
  advance(delayMs: number): void {
    const at = this.#scheduler.now() + Math.max(0, delayMs);
    if (this.#handle !== undefined && at >= this.#fireAt) return;
    this.cancel();
    this.#arm(at);
  }

  /** Disarms the timer. */
  cancel(): void {
    this.#handle?.cancel();
    this.#handle = undefined;
  }

  #arm(at: number): void {
    this.#fireAt = at;
    const handle = this.#scheduler.schedule(at - this.#scheduler.now(), () => {
      if (this.#handle !== handle) return;
      this.#handle = undefined;
      try {
        this.#action();
      } catch (err) {
        this.#onError(err);
      }
    });
    this.#handle = handle;
  }
}
