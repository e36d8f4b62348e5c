/**
 * MANUAL mixed-domain checks of issues 10 and 11 (not in CI): replication, user routing, insert
 * notifications between a real `bbc1-core` process and an ORIGINAL v1.1.1 node, each
 * way, with the original Python client (`pyadmin`) on one side and @bbc1/client on the other.
 *
 *   npm run build
 *   BBC1_REF=/work/pyref npx vitest run -c packages/bbc-core/interop/vitest.config.ts mixed-domain
 *
 * Skipped when neither BBC1_REF nor BBC1_PYREF is set (mixed.ts says what the setup provides).
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { BBcFormat, KeyPair, addEventAsset, makeTransaction, sha256, type BBcTransaction, type FormatType } from "@bbc1/bbclib";
import { BBcAppClient } from "@bbc1/client";
import { REF, establishedKeys, fullMesh, hex, ours, pyClient, pyadmin, ref, sha, stopAll, until, type MixedNode, type OursNode, type RefNode } from "./mixed.js";

afterAll(stopAll, 60_000);
const te = new TextEncoder();

/** One v1.1.1 node and one of ours in `domain`, met by ping, keys established. */
async function pair(domain: string): Promise<{ r: RefNode; o: OursNode }> {
  const r = await ref("r", domain);
  const o = await ours("o", domain, { config: { network: { encryption: "all" } } });
  await o.ping(r.p2pPort);
  await fullMesh([o, r]);
  await until("ours to hold a key with v1.1.1", async () => ((await establishedKeys(o)) >= 1 ? true : undefined), 30_000);
  return { r, o };
}

async function tsClient(n: MixedNode, domain: string, user: string): Promise<BBcAppClient> {
  const c = await BBcAppClient.connect({ port: n.corePort, domainId: sha(domain), userId: sha(user), requestTimeoutMs: 15_000 });
  await c.register();
  return c;
}

function signedTx(user: string, key: KeyPair, group: string, body: string, witnesses: string[] = [user], formatType: FormatType = BBcFormat.FORMAT_BINARY): BBcTransaction {
  const t = makeTransaction({ eventNum: 1, witness: true, formatType });
  addEventAsset(t, 0, sha(group), sha(user), { assetBody: body });
  for (const w of witnesses) t.witness!.addWitness(sha(w));
  t.addSignature(sha(user), t.sign(key));
  t.digest();
  return t;
}

/** Searches `txid` with the original client on any node until it is found: [stored hex, format]. */
async function pySearch(n: MixedNode, domain: string, txid: string, timeoutMs = 20_000): Promise<[string, string]> {
  return until(`${n.name} (${n.kind}) to find ${txid.slice(0, 8)} (original client)`, async () => {
    const out = await pyadmin(n.corePort, domain, "search", "--user", "searcher", "--txid", txid);
    const m = /^found ([0-9a-f]+) format=(\d+) verified$/m.exec(out);
    return m ? ([m[1]!, m[2]!] as [string, string]) : undefined;
  }, timeoutMs, 500);
}

/** `pyadmin search-many` with the ids on stdin: "found N of M" and the missing ones. */
function searchMany(n: MixedNode, domain: string, ids: string[]): Promise<string> {
  return new Promise((res, rej) => {
    const p = spawn(join(REF!, "bin", "pyadmin"), ["--port", String(n.corePort), "--domain", domain, "search-many", "--user", "counter"], { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    p.stdout.on("data", (d: Buffer) => (out += d.toString()));
    p.on("error", rej);
    p.on("exit", () => res(out));
    p.stdin.end(ids.join("\n"));
  });
}

describe.runIf(REF !== undefined)("mixed domain (issues 10, 11): replication, routing, notifications", () => {
  it("an insert on v1.1.1 is found by search on ours, and the other way round, in formats binary, BSON and msgpack", async () => {
    const domain = `mixed-repl-${Date.now()}`;
    const { r, o } = await pair(domain);
    const searcher = await tsClient(o, domain, "ts-searcher");
    const fails: string[] = [];
    for (const fmt of [0, 1, 4]) {
      // v1.1.1 -> ours: the original client inserts on v1.1.1; found on ours (TS client and original client)
      const ins = await pyadmin(r.corePort, domain, "insert", "--user", "alice", "--format", String(fmt), "--body", `from v1.1.1 f${fmt}`);
      const txid = /^txid ([0-9a-f]{64})$/m.exec(ins)![1]!;
      const txhex = /^tx ([0-9a-f]+)$/m.exec(ins)![1]!;
      try {
        const got = await until(`ours to find ${txid.slice(0, 8)} (format ${fmt})`, async () => {
          const s = await searcher.searchTransaction(Buffer.from(txid, "hex")).catch(() => undefined);
          return s?.transactionData ? s : undefined;
        }, 20_000, 300);
        expect(hex(got.transactionData!)).toBe(txhex);
        expect((await pySearch(o, domain, txid))[0]).toBe(txhex);
      } catch (e) {
        fails.push(`v1.1.1 -> ours, format ${fmt}: ${(e as Error).message}`);
      }
      // ours -> v1.1.1: the original client inserts on ours; found on v1.1.1
      const ins2 = await pyadmin(o.corePort, domain, "insert", "--user", "bob", "--format", String(fmt), "--body", `from ours f${fmt}`);
      const txid2 = /^txid ([0-9a-f]{64})$/m.exec(ins2)![1]!;
      const txhex2 = /^tx ([0-9a-f]+)$/m.exec(ins2)![1]!;
      try {
        expect(await pySearch(r, domain, txid2)).toEqual([txhex2, String(fmt)]);
      } catch (e) {
        fails.push(`ours -> v1.1.1, format ${fmt}: ${(e as Error).message}`);
      }
    }
    await searcher.close();
    expect(fails).toEqual([]);
    expect(r.log()).not.toContain("Traceback");
  });

  it("MESSAGE both ways between a Python client on v1.1.1 and a TS client on ours", async () => {
    const domain = `mixed-msg-${Date.now()}`;
    const { r, o } = await pair(domain);
    const bob = pyClient(r.corePort, domain, ["listen", "--user", "bob", "--for", "40"]);
    const alice = await tsClient(o, domain, "alice");
    try {
      await new Promise((res) => setTimeout(res, 1500)); // bob registered
      const got = alice.waitFor("message", { timeoutMs: 20_000 });
      await alice.sendMessage(te.encode("hello bob, from ours"), sha("bob"));
      expect(await bob.line("message")).toContain("hello bob, from ours");
      expect(await bob.line("message")).toContain(hex(sha("alice")));
      await pyadmin(r.corePort, domain, "send", "--user", "bob", "--to", "alice", "--msg", "hello alice, from v1.1.1");
      const m = await got;
      expect(hex(m.sourceUserId!)).toBe(hex(sha("bob")));
      expect(new TextDecoder().decode(m.message as Uint8Array)).toBe("hello alice, from v1.1.1");
    } finally {
      bob.kill();
      await alice.close();
    }
    expect(r.log()).not.toContain("Traceback");
  });

  it("signatures gathered across the node boundary both ways (TS requester on ours / Python signer on v1.1.1, and back)", async () => {
    const domain = `mixed-gather-${Date.now()}`;
    const { r, o } = await pair(domain);
    const bob = pyClient(r.corePort, domain, ["sign-for", "--user", "bob", "--for", "60"]);
    const alice = await tsClient(o, domain, "alice");
    const key = KeyPair.generate();
    try {
      await bob.line("ready");
      await new Promise((res) => setTimeout(res, 1000));
      // ours' client gathers bob's signature on v1.1.1
      const tx = signedTx("alice", key, "g", "alice asks bob", ["alice", "bob"]);
      const answers = await alice.gatherSignatures(tx, { destinations: [sha("bob")] });
      expect(answers).toHaveLength(1);
      expect(hex(answers[0]!.signerId!)).toBe(hex(sha("bob")));
      expect(answers[0]!.signature!.verify(sha256(tx.forIdBytes()))).toBe(true);
      expect(await bob.line("signed")).toContain(hex(tx.transactionId!));
      // v1.1.1's client gathers alice's signature on ours
      const req = alice.waitFor("signRequest", { timeoutMs: 30_000 });
      const gather = pyadmin(r.corePort, domain, "gather", "--user", "bob", "--to", "alice");
      const sr = await req;
      expect(hex(sr.sourceUserId)).toBe(hex(sha("bob")));
      await alice.sendbackSignature({ destUserId: sr.sourceUserId, transactionId: sr.transaction!.transactionId, signature: sr.transaction!.sign(key), queryId: sr.queryId });
      const out = await gather;
      expect(out).toMatch(new RegExp(`^gathered ${hex(sha("alice"))} valid$`, "m"));
      expect(out).toMatch(/^txid [0-9a-f]{64}$/m);
    } finally {
      bob.kill();
      await alice.close();
    }
    expect(r.log()).not.toContain("Traceback");
  });

  it("insert notifications cross the node boundary both ways", async () => {
    const domain = `mixed-notify-${Date.now()}`;
    const { r, o } = await pair(domain);
    const carol = pyClient(r.corePort, domain, ["notify", "--user", "carol", "--asset-group", "g-ours", "--for", "40"]);
    const dave = await tsClient(o, domain, "dave");
    const key = KeyPair.generate();
    try {
      await carol.line("subscribed");
      await dave.requestInsertCompletionNotification(sha("g-ref"));
      await new Promise((res) => setTimeout(res, 1500)); // JOIN_MULTICAST_RECEIVER travels
      // insert on ours -> carol on v1.1.1 is told
      const tx = signedTx("dave", key, "g-ours", "notify carol");
      await dave.insertTransaction(tx);
      expect(await carol.line("inserted", 20_000)).toBe(`inserted ${hex(tx.transactionId!)}`);
      // insert on v1.1.1 -> dave on ours is told
      const told = dave.waitFor("inserted", { timeoutMs: 20_000 });
      const ins = await pyadmin(r.corePort, domain, "insert", "--user", "erin", "--asset-group", "g-ref");
      const txid = /^txid ([0-9a-f]{64})$/m.exec(ins)![1]!;
      expect(hex((await told).transactionId)).toBe(txid);
    } finally {
      carol.kill();
      await dave.close();
    }
    expect(r.log()).not.toContain("Traceback");
  });
  it("three-node domain (two of ours, one v1.1.1): an insert on any node is found on the other two", async () => {
    const domain = `mixed-three-repl-${Date.now()}`;
    const r = await ref("r", domain);
    const a = await ours("a", domain, { config: { network: { encryption: "all" } } });
    const b = await ours("b", domain, { config: { network: { encryption: "all" } } });
    await a.ping(r.p2pPort);
    await b.ping(r.p2pPort);
    await fullMesh([a, b, r], 40_000);
    await until("a and b to hold keys with both others", async () => ((await establishedKeys(a)) === 2 && (await establishedKeys(b)) === 2 ? true : undefined), 30_000);
    const fails: string[] = [];
    for (const from of [r, a, b]) {
      const ins = await pyadmin(from.corePort, domain, "insert", "--user", `u-${from.name}`, "--body", `from ${from.name}`);
      const txid = /^txid ([0-9a-f]{64})$/m.exec(ins)![1]!;
      const txhex = /^tx ([0-9a-f]+)$/m.exec(ins)![1]!;
      for (const to of [r, a, b].filter((n) => n !== from)) {
        try {
          expect((await pySearch(to, domain, txid))[0]).toBe(txhex);
        } catch (e) {
          fails.push(`${from.name} (${from.kind}) -> ${to.name} (${to.kind}): ${(e as Error).message}`);
        }
      }
    }
    expect(fails).toEqual([]);
    expect(r.log()).not.toContain("Traceback");
  });

  it("many transactions (v1.1.1's multi_core_many_transactions, mixed): 60 inserted on each side, formats cycling 0/1/4, all found on the other", async () => {
    const domain = `mixed-many-${Date.now()}`;
    const { r, o } = await pair(domain);
    const fails: string[] = [];
    for (const [from, to] of [[r, o], [o, r]] as const) {
      const ins = await pyadmin(from.corePort, domain, "insert-many", "--user", `many-${from.name}`, "--count", "60");
      const ids = [...ins.matchAll(/^txid ([0-9a-f]{64}) \d$/gm)].map((m) => m[1]!);
      expect(ids).toHaveLength(60);
      let last = "";
      await until(`${to.kind} to hold all 60 from ${from.kind}`, async () => {
        last = await searchMany(to, domain, ids);
        return last.startsWith("found 60 of 60") ? true : undefined;
      }, 40_000, 2000).catch((e: Error) => fails.push(`${from.kind} -> ${to.kind}: ${e.message}; ${last.split("\n")[0]}`));
    }
    expect(fails).toEqual([]);
    expect(r.log()).not.toContain("Traceback");
  });

  // repair across the implementations: mixed-repair.test.ts
});
