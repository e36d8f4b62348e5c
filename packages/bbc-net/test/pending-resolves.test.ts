/**
 * The resolution table of user routing on its own: the order of its refusals, what a settled or
 * timed-out resolution gives back, and that an answered nonce is forgotten (a late duplicate
 * RESPONSE_USER_LOCATION must find nothing to complete).
 */
import { describe, expect, it } from "vitest";
import { ManualScheduler } from "../src/clock.js";
import { PendingResolves, type PendingResolve, type Queued } from "../src/pending-resolves.js";
import type { RouteOwner } from "../src/resolve-accounts.js";

const limits = { maxPendingResolves: 2, maxMessagesPerResolve: 2, resolveQueueBytes: 1000 };
const owner = (key: string, maxPendingResolves = 1, maxQueuedBytes = 1 << 20): RouteOwner => ({ key, maxPendingResolves, maxQueuedBytes, refusals: { pendingResolves: "pending_per_owner", queuedBytes: "bytes_per_owner" } });
const q = (size: number, o?: RouteOwner): Queued => ({ msg: {}, size, bounced: false, owner: o });
const dst = (n: number) => new Uint8Array(32).fill(n);

function table(random: () => number = Math.random) {
  const clock = new ManualScheduler();
  const timedOut: PendingResolve[] = [];
  const t = new PendingResolves({ scheduler: clock, timings: { resolveTimeoutMs: 5_000 }, limits, random });
  const enqueue = (key: string, m: Queued) => t.enqueue(key, dst(key.length), m, (p) => timedOut.push(p));
  return { clock, t, timedOut, enqueue };
}

describe("PendingResolves", () => {
  it("starts one resolution per pair and queues the next messages behind it, up to the per-resolution limit", () => {
    const { t, enqueue } = table();
    const first = enqueue("u:a", q(10));
    expect(first.kind).toBe("started");
    expect(enqueue("u:a", q(20))).toEqual({ kind: "joined" });
    expect(enqueue("u:a", q(30))).toEqual({ kind: "refused", limit: "messages_per_resolve", quota: false });
    expect(t.size).toBe(1);
    expect(t.queuedBytes).toBe(30);
    const p = (first as { pending: PendingResolve }).pending;
    expect(t.byNonce(p.nonce)).toBe(p);
    expect(p.messages.map((m) => m.size)).toEqual([10, 20]);
  });

  it("refuses by the owner's quota before the domain's limits, then by queued bytes, then by pending resolutions", () => {
    const { enqueue } = table();
    const o = owner("c1");
    expect(enqueue("u:a", q(10, o)).kind).toBe("started");
    // a second resolution for c1 is over its quota even though the domain has room
    expect(enqueue("u:b", q(10, o))).toEqual({ kind: "refused", limit: "pending_per_owner", quota: true });
    // the owner's quota comes first even when the domain's bytes are also exceeded
    expect(enqueue("u:b", q(5000, o))).toEqual({ kind: "refused", limit: "pending_per_owner", quota: true });
    expect(enqueue("u:b", q(991))).toEqual({ kind: "refused", limit: "resolve_queue_bytes", quota: false });
    expect(enqueue("u:b", q(10)).kind).toBe("started");
    expect(enqueue("u:c", q(10))).toEqual({ kind: "refused", limit: "pending_resolves", quota: false });
  });

  it("a settled resolution gives back its slot, its bytes and its owner's account, and its nonce answers nothing", () => {
    const { t, clock, timedOut, enqueue } = table();
    const o = owner("c1");
    const r = enqueue("u:a", q(10, o));
    enqueue("u:a", q(15, o));
    const p = (r as { pending: PendingResolve }).pending;
    expect(t.accountOf("c1")).toEqual({ pending: 1, bytes: 25 });
    t.settle(p);
    expect(t.size).toBe(0);
    expect(t.queuedBytes).toBe(0);
    expect(t.accountOf("c1")).toEqual({ pending: 0, bytes: 0 });
    expect(t.byNonce(p.nonce)).toBeUndefined();
    expect(t.isPending(p)).toBe(false);
    // its timer was cancelled
    clock.advance(10_000);
    expect(timedOut).toHaveLength(0);
    // the owner may start a resolution again
    expect(enqueue("u:b", q(10, o)).kind).toBe("started");
  });

  it("the timeout reports the resolution still pending; clear() cancels every timer and forgets everything", () => {
    const { t, clock, timedOut, enqueue } = table();
    const p = (enqueue("u:a", q(10, owner("c1"))) as { pending: PendingResolve }).pending;
    clock.advance(4_999);
    expect(timedOut).toHaveLength(0);
    clock.advance(1);
    expect(timedOut).toEqual([p]);
    expect(t.isPending(p)).toBe(true); // the caller settles it (and bounces its messages)
    t.settle(p);
    enqueue("u:b", q(10, owner("c2")));
    t.clear();
    expect([t.size, t.queuedBytes, t.accountOf("c2").pending]).toEqual([0, 0, 0]);
    clock.advance(10_000);
    expect(timedOut).toHaveLength(1);
  });

  it("draws a nonce that no pending resolution holds", () => {
    // a takes the first draw; for b the next two collide with it, the fourth is new
    const draws = [0.25, 0.25, 0.25, 0.5];
    const { enqueue } = table(() => draws.shift()!);
    const a = (enqueue("u:a", q(1)) as { pending: PendingResolve }).pending;
    const b = (enqueue("u:b", q(1)) as { pending: PendingResolve }).pending;
    expect(a.nonce).toBe(0x40000000);
    expect(b.nonce).toBe(0x80000000);
    expect(draws).toHaveLength(0);
  });
});
