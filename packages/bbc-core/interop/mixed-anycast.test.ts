/**
 * MANUAL mixed check of v1.1.1's `test_bbc_app_multi_core_anycast` (not in CI): the same user is
 * registered with `on_multiple_nodes` on an ORIGINAL v1.1.1 node and on a `bbc1-core` process
 * (JOIN_MULTICAST_RECEIVER both ways), original clients (`pyadmin listen-multi`) on both; MESSAGEs
 * with `is_anycast` (the core puts `anycast_ttl` 5) are sent from a client on either node. Each
 * message reaches exactly one of the two connections, some cross the node boundary, and every one
 * arrives with `anycast_ttl` 4 (one hop taken at the sending node). Both ways.
 *
 *   npm run build
 *   BBC1_REF=/work/pyref npx vitest run -c packages/bbc-core/interop/vitest.config.ts mixed-anycast
 *
 * Skipped when neither BBC1_REF nor BBC1_PYREF is set (mixed.ts says what the setup provides).
 */
import { afterAll, describe, expect, it } from "vitest";
import { REF, establishedKeys, fullMesh, ours, ref, stopAll, until, type MixedNode } from "./mixed.js";
import { JOIN, USER, pair, pyProc, quiet, traced } from "./scenario.js";

afterAll(stopAll, 60_000);

const N = 24;

interface Got {
  at: string;
  anycast: string;
  ttl: string;
  text: string;
}

function parse(at: string, lines: string[]): Got[] {
  return lines.map((l) => {
    const m = /^message ([0-9a-f]*) anycast=(\d) ttl=(\S+) (.*)$/.exec(l);
    if (m === null) throw new Error(`unexpected line ${l}`);
    return { at, anycast: m[2]!, ttl: m[3]!, text: m[4]! };
  });
}

/** Sends N anycasts from a client on `from` and collects what the listeners on `nodes` got. */
async function round(domain: string, from: MixedNode, nodes: MixedNode[], listeners: ReturnType<typeof pyProc>[], tag: string): Promise<Got[]> {
  const before = listeners.map((l) => l.all("message").length);
  const out = await new Promise<string>((res, rej) => {
    const p = pyProc(from.corePort, domain, ["send-anycast", "--user", `sender-${from.name}`, "--to", "any", "--count", String(N), "--msg", tag]);
    void p.exited().then((code) => (code === 0 ? res(p.lines.join("\n")) : rej(new Error(`send-anycast exited ${code}: ${p.lines.join(" | ")}`))));
  });
  expect(out).toContain(`sent ${N}`);
  await until(`${N} anycasts "${tag}" delivered`, () => {
    const n = listeners.reduce((s, l, i) => s + l.all("message").length - before[i]!, 0);
    return n >= N ? true : undefined;
  }, 20_000, 200).catch(() => undefined);
  await quiet(1500); // duplicates would arrive now
  return listeners.flatMap((l, i) => parse(nodes[i]!.name, l.all("message").slice(before[i])).filter((g) => g.text.startsWith(`${tag} `)));
}

function check(got: Got[], from: MixedNode, other: MixedNode, tag: string): void {
  const texts = got.map((g) => g.text).sort();
  expect(texts).toEqual(Array.from({ length: N }, (_, i) => `${tag} ${i}`).sort()); // each exactly once
  expect(got.every((g) => g.ttl === "4")).toBe(true);
  const crossed = got.filter((g) => g.at === other.name);
  // each message picks the local slot or the other node at random (p = 1/2): all on one side is 2^-24
  expect(crossed.length).toBeGreaterThan(0);
  expect(crossed.length).toBeLessThan(N);
  // the receiving node delivers without is_anycast; the sending node's local slot keeps it (v1.1.1 and ours)
  expect(crossed.every((g) => g.anycast === "0")).toBe(true);
  expect(got.filter((g) => g.at === from.name).every((g) => g.anycast === "1")).toBe(true);
}

describe.runIf(REF !== undefined)("mixed domain (issue 10): anycast with TTL (v1.1.1's multi_core_anycast)", () => {
  it("one user on both nodes (on_multiple_nodes): anycasts from a client on v1.1.1 and on ours each reach one connection, across the boundary, ttl 4", async () => {
    const domain = `mixed-anycast-${Date.now()}`;
    const { r, o } = await pair(domain);
    const joinsIn = traced(r, "in", USER, JOIN);
    const lr = pyProc(r.corePort, domain, ["listen-multi", "--user", "any", "--for", "90"]);
    const lo = pyProc(o.corePort, domain, ["listen-multi", "--user", "any", "--for", "90"]);
    try {
      await lr.count("ready", 1);
      await lo.count("ready", 1);
      // JOIN_MULTICAST_RECEIVER for the user, from ours to v1.1.1 and from v1.1.1 to ours
      await until("v1.1.1 to receive ours' JOIN", () => (traced(r, "in", USER, JOIN) > joinsIn ? true : undefined), 10_000);
      await until("v1.1.1 to send its JOIN", () => (traced(r, "out", USER, JOIN) > 0 ? true : undefined), 10_000);
      await quiet(1000);
      const fails: string[] = [];
      for (const [from, other] of [[r, o], [o, r]] as const) {
        const tag = `from-${from.kind}`;
        const got = await round(domain, from, [r, o], [lr, lo], tag);
        try {
          check(got, from, other, tag);
        } catch (e) {
          fails.push(`${tag}: ${(e as Error).message}; got ${JSON.stringify(got.map((g) => `${g.at}:${g.anycast}:${g.ttl}`))}`);
        }
      }
      expect(fails).toEqual([]);
    } finally {
      lr.kill();
      lo.kill();
    }
    expect(r.log()).not.toContain("Traceback");
  });

  it("three nodes (v1.1.1 and ours hosting the user, a plain node of ours sending): anycasts from the node that does not host the user reach both implementations", async () => {
    const domain = `mixed-anycast3-${Date.now()}`;
    const r = await ref("r", domain);
    const a = await ours("a", domain, { config: { network: { encryption: "all" } } });
    const b = await ours("b", domain, { config: { network: { encryption: "all" } } });
    await a.ping(r.p2pPort);
    await b.ping(r.p2pPort);
    await fullMesh([a, b, r], 40_000);
    await until("a and b to hold keys with both others", async () => ((await establishedKeys(a)) === 2 && (await establishedKeys(b)) === 2 ? true : undefined), 30_000);
    const lr = pyProc(r.corePort, domain, ["listen-multi", "--user", "any", "--for", "60"]);
    const la = pyProc(a.corePort, domain, ["listen-multi", "--user", "any", "--for", "60"]);
    try {
      await lr.count("ready", 1);
      await la.count("ready", 1);
      await quiet(2000);
      // b hosts no "any" (only the sender): no local slot, every message goes to r or a (v1.1.1 would
      // take a "local" slot here and crash, Q25; the sender on b avoids testing that on the reference)
      const got = await round(domain, b, [r, a], [lr, la], "from-b");
      expect(got.map((g) => g.text).sort()).toEqual(Array.from({ length: N }, (_, i) => `from-b ${i}`).sort());
      expect(got.every((g) => g.ttl === "4" && g.anycast === "0")).toBe(true);
      expect(got.some((g) => g.at === "r")).toBe(true);
      expect(got.some((g) => g.at === "a")).toBe(true);
    } finally {
      lr.kill();
      la.kill();
    }
    expect(r.log()).not.toContain("Traceback");
  });
  it("the anycast users are the senders (v1.1.1's test_30_messaging): each connection of the user sends anycasts to its own user id; each reaches one connection, some cross", async () => {
    const domain = `mixed-anycast-self-${Date.now()}`;
    const { r, o } = await pair(domain);
    const M = 16;
    const lr = pyProc(r.corePort, domain, ["listen-multi", "--user", "any", "--for", "90", "--count", String(M), "--msg", "self-from-v1.1.1"]);
    const lo = pyProc(o.corePort, domain, ["listen-multi", "--user", "any", "--for", "90", "--count", String(M), "--msg", "self-from-ours"]);
    try {
      await lr.count("ready", 1);
      await lo.count("ready", 1);
      await quiet(2000);
      const fails: string[] = [];
      for (const [sender, at, tag] of [[lr, r, "self-from-v1.1.1"], [lo, o, "self-from-ours"]] as const) {
        sender.signal("SIGUSR1");
        await sender.count("sent", 1);
        await until(`${M} of "${tag}"`, () => (lr.all(`message`).length + lo.all("message").length >= (tag === "self-from-ours" ? 2 * M : M) ? true : undefined), 20_000, 200).catch(() => undefined);
        await quiet(1500);
        const got = [...parse("r", lr.all("message")), ...parse("o", lo.all("message"))].filter((g) => g.text.startsWith(`${tag} `));
        try {
          expect(got.map((g) => g.text).sort()).toEqual(Array.from({ length: M }, (_, i) => `${tag} ${i}`).sort());
          expect(got.every((g) => g.ttl === "4")).toBe(true);
          const crossed = got.filter((g) => g.at !== at.name);
          expect(crossed.length).toBeGreaterThan(0);
          expect(crossed.length).toBeLessThan(M);
          expect(crossed.every((g) => g.anycast === "0")).toBe(true);
        } catch (e) {
          fails.push(`${tag}: ${(e as Error).message}; got ${JSON.stringify(got.map((g) => `${g.at}:${g.anycast}:${g.ttl}`))}`);
        }
      }
      expect(fails).toEqual([]);
    } finally {
      lr.kill();
      lo.kill();
    }
    expect(r.log()).not.toContain("Traceback");
  });

  it("the user on one node only: from a plain client of ours to the user on v1.1.1 every anycast arrives; from v1.1.1 to the user on ours, v1.1.1 takes its \"local\" slot and fails (Q25)", async () => {
    const domain = `mixed-anycast-one-${Date.now()}`;
    const { r, o } = await pair(domain);
    // ours -> the user on v1.1.1 only
    const lr = pyProc(r.corePort, domain, ["listen-multi", "--user", "on-ref", "--for", "60"]);
    const lo = pyProc(o.corePort, domain, ["listen-multi", "--user", "on-ours", "--for", "60"]);
    try {
      await lr.count("ready", 1);
      await lo.count("ready", 1);
      await quiet(2000);
      const send = (n: typeof r | typeof o, to: string, tag: string) =>
        new Promise<string>((res) => {
          const p = pyProc(n.corePort, domain, ["send-anycast", "--user", `sender-${n.name}`, "--to", to, "--count", "8", "--msg", tag]);
          void p.exited().then((code) => res(`exit ${code}: ${p.lines.join(" | ")}`));
        });
      expect(await send(o, "on-ref", "to-ref")).toContain("sent 8");
      const atRef = await lr.count("message", 8);
      expect(parse("r", atRef).every((g) => g.ttl === "4" && g.anycast === "0")).toBe(true);
      // v1.1.1 -> the user on ours only
      const out = await send(r, "on-ours", "to-ours");
      await quiet(3000);
      const atOurs = parse("o", lo.all("message"));
      console.log(`anycast from v1.1.1 to a user only on ours: sender ${out}; delivered ${atOurs.length} of 8; TypeError in v1.1.1's log: ${r.log().includes("TypeError")}`);
      expect({ delivered: atOurs.length, typeError: r.log().includes("TypeError") }).toEqual({ delivered: 0, typeError: true });
    } finally {
      lr.kill();
      lo.kill();
    }
  });
  it("the user's connection on one node closes (LEAVE for the user): later anycasts stay on the other node (ours: all delivered, ttl 4; v1.1.1: none, Q25); both ways", async () => {
    const fails: string[] = [];
    for (const leaving of ["ours", "v1.1.1"] as const) {
      const domain = `mixed-anycast-leave-${leaving === "ours" ? "o" : "r"}-${Date.now()}`;
      const { r, o } = await pair(domain);
      const lr = pyProc(r.corePort, domain, ["listen-multi", "--user", "any", "--for", "60"]);
      const lo = pyProc(o.corePort, domain, ["listen-multi", "--user", "any", "--for", "60"]);
      try {
        await lr.count("ready", 1);
        await lo.count("ready", 1);
        await quiet(2000);
        const [stay, gone, stayL, goneL] = leaving === "ours" ? [r, o, lr, lo] : [o, r, lo, lr];
        goneL.kill(); // the connection closes without UNREGISTER
        await goneL.exited();
        await quiet(2000); // LEAVE_MULTICAST_RECEIVER for "any" travels
        // a stale entry would send about half of them to the node without the user, which (ours) would
        // pass them back with ttl 3 or (v1.1.1) take its "local" slot and fail (Q25)
        const userOut = () => r.trace().filter((l) => l.dir === "out" && l.category === USER && l.infra_command === null).length;
        const sentBefore = userOut();
        const got = await round(domain, stay, [stay], [stayL], `after-leave-${leaving}`);
        console.log(`user left ${gone.kind}: ${got.length} of ${N} delivered on ${stay.kind}; user payloads sent by v1.1.1 meanwhile: ${userOut() - sentBefore}; LEAVE in/out at v1.1.1: ${traced(r, "in", USER, 4)}/${traced(r, "out", USER, 4)}`);
        try {
          if (stay === r) {
            // v1.1.1 drops an anycast whose user has no forwarding entry even when the user is local
            // (p2p-protocol.md §8.6 step 1, Q25): once ours' LEAVE removed the entry, nothing arrives
            // and nothing is sent; ours delivers to the local user in that case
            expect({ delivered: got.length, sent: userOut() - sentBefore }).toEqual({ delivered: 0, sent: 0 });
          } else {
            expect(got.map((g) => g.text).sort()).toEqual(Array.from({ length: N }, (_, i) => `after-leave-${leaving} ${i}`).sort());
            expect(got.every((g) => g.ttl === "4" && g.anycast === "1")).toBe(true);
          }
        } catch (e) {
          fails.push(`user left ${gone.kind}: ${(e as Error).message}; got ${JSON.stringify(got.map((g) => `${g.at}:${g.anycast}:${g.ttl}`))}`);
        }
      } finally {
        lr.kill();
        lo.kill();
      }
      expect(r.log()).not.toContain("Traceback");
    }
    expect(fails).toEqual([]);
  });
});
