/**
 * Undeliverable messages wait for their bounce (v1.1.1: 5 s, then back to the sender). Each one
 * held costs its bytes: the process holds at most `bouncesTotal` of them and `bounceBytesTotal`
 * bytes, a connection at most `bouncesPerConnection`. A message that does not fit is dropped
 * (logged and counted); the held ones of a connection go when it closes.
 */
import { ByteBudget, type RefusalCounter } from "@bbc1/wire";
import type { ClientConnection, PendingBounce } from "./connection.js";

/** The process-wide part of the bounce budget. */
export class BounceBudget {
  readonly bytes: ByteBudget;
  readonly maxCount: number;
  readonly perConnection: number;
  readonly #refusals: RefusalCounter;
  count = 0;

  constructor(args: { maxCount: number; maxBytes: number; perConnection: number; refusals: RefusalCounter }) {
    this.bytes = new ByteBudget(args.maxBytes);
    this.maxCount = args.maxCount;
    this.perConnection = args.perConnection;
    this.#refusals = args.refusals;
  }

  /**
   * Holds a bounce of `size` bytes for `origin`; `fire` runs after `delayMs` unless the bounce is
   * cancelled (origin closed, domain stopped); `forget` runs either way when it ends. Returns
   * undefined (counted) when it does not fit.
   */
  hold(origin: ClientConnection | undefined, size: number, delayMs: number, fire: () => void, forget?: () => void): PendingBounce | undefined {
    if (origin !== undefined && origin.bounces.size >= this.perConnection) return this.#refuse("bounces_per_connection");
    if (this.count >= this.maxCount) return this.#refuse("bounces_total");
    if (!this.bytes.tryReserve(size)) return this.#refuse("bounce_bytes_total");
    this.count++;
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      clearTimeout(b.timer);
      this.count--;
      this.bytes.release(size);
      origin?.bounces.delete(b);
      forget?.();
    };
    const b: PendingBounce = {
      size,
      timer: setTimeout(() => {
        finish();
        fire();
      }, delayMs),
      cancel: finish,
    };
    b.timer.unref();
    origin?.bounces.add(b);
    return b;
  }

  #refuse(limit: string): undefined {
    this.#refusals.count(limit);
    return undefined;
  }
}
