/**
 * The ECDH state machine (§6.3) on the test clock, two KeyExchange objects wired in memory,
 * each with its own key registry (as two processes).
 */
import { describe, expect, it } from "vitest";
import pino from "pino";
import { KeyRegistry, decodePayload, encodeMessage } from "@bbc1/wire";
import { DEFAULT_NET_TIMINGS, KeyExchange, KeyExchangeState, ManualScheduler, type KeyExchangeFields } from "../src/index.js";

const logger = pino({ level: "silent" });

interface Side {
  kx: KeyExchange;
  registry: KeyRegistry;
  sent: Array<{ command: string; f: KeyExchangeFields }>;
}

/** Two peers; `deliver` decides whether a message reaches the other side. */
function pair(opts: { deliver?: (from: "a" | "b", command: string) => boolean; sendOk?: boolean; random?: () => number } = {}) {
  const clock = new ManualScheduler();
  const sides: Record<"a" | "b", Side> = {} as never;
  for (const name of ["a", "b"] as const) {
    const registry = new KeyRegistry();
    const sent: Side["sent"] = [];
    const kx = new KeyExchange({
      registry,
      scheduler: clock,
      random: opts.random ?? Math.random,
      timings: DEFAULT_NET_TIMINGS,
      logger,
      send: (command, f) => {
        sent.push({ command, f });
        const other = sides[name === "a" ? "b" : "a"];
        if (opts.deliver?.(name, command) ?? true) {
          // delivered "later": after this call returns, like a datagram
          clock.schedule(1, () => {
            if (command === "request") other.kx.onRequest(f);
            else if (command === "response") other.kx.onResponse(f);
            else other.kx.onConfirm();
          });
        }
        return opts.sendOk ?? true;
      },
    });
    sides[name] = { kx, registry, sent };
  }
  return { clock, ...sides };
}

function canTalk(from: Side, to: Side): boolean {
  const frame = encodeMessage(3, { message: new Uint8Array([1, 2, 3]) }, { registry: from.registry, keyName: from.kx.keyName! });
  const m = decodePayload(3, frame.subarray(8), { registry: to.registry });
  return (m.message as Uint8Array)[2] === 3;
}

describe("KeyExchange", () => {
  it("first exchange within 1–6 s; both sides end ESTABLISHED with matching ciphers", () => {
    const { clock, a, b } = pair();
    a.kx.startInitial();
    clock.advance(999);
    expect(a.sent).toEqual([]);
    clock.advance(5010);
    expect(a.sent.map((s) => s.command)).toEqual(["request", "confirm"]);
    expect(b.sent.map((s) => s.command)).toEqual(["response"]);
    expect(a.kx.state).toBe(KeyExchangeState.ESTABLISHED);
    expect(b.kx.state).toBe(KeyExchangeState.ESTABLISHED);
    expect(canTalk(a, b) && canTalk(b, a)).toBe(true);
    // the response echoes the request's nonce and random
    expect(b.sent[0]!.f.nonce).toEqual(a.sent[0]!.f.nonce);
    expect(b.sent[0]!.f.random).toEqual(a.sent[0]!.f.random);
  });

  it("an unanswered request is retried every 2.5–7.5 s with a fresh key; old pending names are freed", () => {
    const { clock, a } = pair({ deliver: () => false });
    a.kx.startInitial();
    while (a.sent.length === 0) clock.advance(1);
    const t0 = clock.now();
    expect(t0).toBeGreaterThanOrEqual(clock.now() - 6000);
    clock.advance(2499);
    expect(a.sent.length).toBe(1);
    while (a.sent.length === 1) clock.advance(1);
    expect(clock.now() - t0).toBeGreaterThanOrEqual(2500);
    expect(clock.now() - t0).toBeLessThanOrEqual(7500);
    clock.advance(60_000);
    const n = a.sent.length;
    expect(n).toBeGreaterThanOrEqual(2 + Math.floor(60_000 / 7500));
    expect(new Set(a.sent.map((s) => Buffer.from(s.f.ecdh).toString("hex"))).size).toBe(n);
    expect(a.registry.size).toBe(1); // only the current pending name is reserved
  });

  it("simultaneous requests: both abandon, send nothing, and one later wins", () => {
    let calls = 0;
    // the two invoke timers draw 0: both fire at 1 s exactly; later draws are random
    const { clock, a, b } = pair({ random: () => (calls++ < 2 ? 0 : Math.random()) });
    a.kx.startInitial();
    b.kx.startInitial();
    clock.advance(1001);
    expect(a.sent.map((s) => s.command)).toEqual(["request"]);
    expect(b.sent.map((s) => s.command)).toEqual(["request"]);
    clock.advance(1);
    // each got the other's request while requesting: both gave up, nobody answered
    expect(a.kx.state).toBe(KeyExchangeState.NONE);
    expect(b.kx.state).toBe(KeyExchangeState.NONE);
    expect(a.sent.length + b.sent.length).toBe(2);
    clock.advance(60_000);
    expect(a.kx.state).toBe(KeyExchangeState.ESTABLISHED);
    expect(b.kx.state).toBe(KeyExchangeState.ESTABLISHED);
    expect(canTalk(a, b) && canTalk(b, a)).toBe(true);
  });

  it("a response to another request (stale nonce) is ignored", () => {
    const { clock, a } = pair({ deliver: () => false });
    a.kx.startInitial();
    while (a.sent.length === 0) clock.advance(1);
    const req = a.sent[0]!.f;
    a.kx.onResponse({ ...req, nonce: new Uint8Array(16).fill(9), ecdh: req.ecdh, hint: new Uint8Array(4) });
    expect(a.kx.state).toBe(KeyExchangeState.REQUESTING);
    expect(a.sent.map((s) => s.command)).toEqual(["request"]);
  });

  it("refresh after ~7 days switches keys hitlessly; the old key lives 10 s more", () => {
    const { clock, a, b } = pair();
    a.kx.startInitial();
    clock.advance(6100);
    const oldA = a.kx.keyName!;
    clock.advance(604_800_000 * 1.1 + 1000);
    expect(a.kx.state).toBe(KeyExchangeState.ESTABLISHED);
    expect(b.kx.state).toBe(KeyExchangeState.ESTABLISHED);
    expect(canTalk(a, b) && canTalk(b, a)).toBe(true);
    // by now every old key was deleted 10 s after its switch
    expect(a.registry.size).toBeLessThanOrEqual(2);
    expect(a.registry.hasCipher(oldA) && a.kx.keyName !== oldA).toBe(false);
  });

  it("a responder's retry timer is re-armed, so a pending invoke timer cannot undo the key before CONFIRM (Q17)", () => {
    // random() = 0: invoke timer 1 s, retry timer 2.5 s, rekeySoon 0.5 s
    const { clock, a, b } = pair({ deliver: () => false, random: () => 0 });
    b.kx.startInitial(); // B just met A: its own invoke timer fires at 1 s
    a.kx.rekeySoon(); // A requests at 0.5 s
    clock.advance(500);
    expect(a.sent.map((s) => s.command)).toEqual(["request"]);
    b.kx.onRequest(a.sent[0]!.f); // reaches B before its own timer
    expect(b.kx.state).toBe(KeyExchangeState.CONFIRMING);
    // v1.1.1 only advances B's timer, which then still fires at 1 s and drops the key just
    // agreed; here B waits the full 2.5 s for the CONFIRM
    clock.advance(1300);
    expect(b.kx.state).toBe(KeyExchangeState.CONFIRMING);
    expect(b.sent.map((s) => s.command)).toEqual(["response"]);
    b.kx.onConfirm();
    expect(b.kx.state).toBe(KeyExchangeState.ESTABLISHED);
  });

  it("a send that cannot go out leaves the exchange idle (no timer), as v1.1.1", () => {
    const { clock, a } = pair({ sendOk: false, deliver: () => false });
    a.kx.startInitial();
    clock.advance(6000);
    expect(a.kx.state).toBe(KeyExchangeState.NONE);
    const n = a.sent.length;
    clock.advance(600_000);
    expect(a.sent.length).toBe(n);
    expect(a.registry.size).toBe(0);
  });

  it("invalid peer key material is ignored; close deletes every cipher", () => {
    const { clock, a, b } = pair();
    b.kx.onRequest({ ecdh: new Uint8Array(97).fill(4), nonce: new Uint8Array(16), random: new Uint8Array(8), hint: new Uint8Array(4) });
    expect(b.kx.state).toBe(KeyExchangeState.NONE);
    a.kx.startInitial();
    clock.advance(6100);
    expect(a.registry.size).toBeGreaterThan(0);
    a.kx.close();
    b.kx.close();
    expect(a.registry.size + b.registry.size).toBe(0);
    clock.advance(10 * 604_800_000);
    expect(a.kx.state).toBe(KeyExchangeState.NONE);
  });
});
