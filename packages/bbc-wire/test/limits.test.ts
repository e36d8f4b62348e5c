import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { ByteBudget, KeyedSlots, RefusalCounter, TokenBucket } from "../src/index.js";
import { wireErrorCode as code } from "./helpers.js";

describe("ByteBudget", () => {
  it("reserves up to its limit and refuses beyond, without partial reservations", () => {
    const b = new ByteBudget(100);
    expect(b.tryReserve(60)).toBe(true);
    expect(b.tryReserve(41)).toBe(false);
    expect(b.used).toBe(60);
    expect(b.tryReserve(40)).toBe(true);
    expect(b.available).toBe(0);
    b.release(30);
    expect(b.used).toBe(70);
    b.release(1000);
    expect(b.used).toBe(0);
  });
  it("never lets used exceed the limit under any sequence of reserve/release", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1000 }), fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 400 })), { maxLength: 200 }), (limit, ops) => {
        const b = new ByteBudget(limit);
        for (const [reserve, n] of ops) {
          if (reserve) b.tryReserve(n);
          else b.release(n);
          if (b.used > limit || b.used < 0) return false;
        }
        return true;
      }),
    );
  });
  it("rejects a negative or non-finite limit", () => {
    expect(code(() => new ByteBudget(-1))).toBe("INVALID_ARGUMENT");
    expect(code(() => new ByteBudget(Number.NaN))).toBe("INVALID_ARGUMENT");
  });
});

describe("TokenBucket", () => {
  it("allows a burst, then refills at its rate on the injected clock", () => {
    let t = 0;
    const b = new TokenBucket(10, 3, () => t);
    expect([b.tryTake(), b.tryTake(), b.tryTake(), b.tryTake()]).toEqual([true, true, true, false]);
    t += 100; // 0.1 s at 10/s: one token
    expect(b.tryTake()).toBe(true);
    expect(b.tryTake()).toBe(false);
    t += 10_000;
    expect(b.tokens).toBe(3); // capped at burst
    expect(b.tryTake(4)).toBe(false);
    expect(b.tryTake(3)).toBe(true);
  });
});

describe("KeyedSlots", () => {
  it("caps holders per key and forgets keys without holders", () => {
    const s = new KeyedSlots(2);
    expect([s.tryAcquire("a"), s.tryAcquire("a"), s.tryAcquire("a"), s.tryAcquire("b")]).toEqual([true, true, false, true]);
    expect(s.count("a")).toBe(2);
    s.release("a");
    s.release("a");
    s.release("a");
    expect(s.count("a")).toBe(0);
    expect(s.size).toBe(1);
  });
});

describe("RefusalCounter", () => {
  it("counts refusals by limit name and tells listeners", () => {
    const r = new RefusalCounter();
    const seen: string[] = [];
    r.onRefusal((l) => seen.push(l));
    r.count("frame_size");
    r.count("frame_size");
    r.count("connections_per_address");
    expect(r.get("frame_size")).toBe(2);
    expect(r.get("idle_timeout")).toBe(0);
    expect(r.snapshot()).toEqual({ frame_size: 2, connections_per_address: 1 });
    expect(seen).toEqual(["frame_size", "frame_size", "connections_per_address"]);
  });
});
