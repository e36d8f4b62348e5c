/**
 * MANUAL mixed-domain checks of issue 9 (not in CI): real `bbc1-core` processes and ORIGINAL
 * v1.1.1 nodes in one domain, each step both ways. Needs `npm run build` and a local v1.1.1 setup:
 *
 *   BBC1_REF=/work/pyref npx vitest run -c packages/bbc-core/interop/vitest.config.ts mixed-net
 *
 * Skipped when neither BBC1_REF nor BBC1_PYREF is set. See mixed.ts for what the setup provides.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { KeyPair } from "@bbc1/bbclib";
import { domainKeyFileName } from "@bbc1/net";
import { REF, entryOf, establishedKeys, fullMesh, hex, ours, pyadmin, ref, sha, sleep, stopAll, until, type OursNode, type RefNode } from "./mixed.js";

afterAll(stopAll, 60_000);

/** v1.1.1's network commands (bbc_network.py) and infra categories. */
const NET = 0;
const TOPOLOGY = 1;
const REQUEST_KEY_EXCHANGE = 1;
/** The trace's payload_type of a frame that travelled encrypted (wire type 3, Type_encrypted_msgpack); plain frames are 0. */
const ENCRYPTED = 2;

/** The reference's first REQUEST_KEY_EXCHANGE with `peer`: "in" when the peer started the exchange. */
function firstKeyRequest(r: RefNode, peer: OursNode): "in" | "out" | undefined {
  const l = r.trace().find((t) => t.category === NET && t.command === REQUEST_KEY_EXCHANGE && (t.src === hex(peer.nodeId) || t.dst === hex(peer.nodeId)));
  return l?.dir;
}

/**
 * Both directions carried encrypted frames between `r` and `o`, decoded by the reference (its trace) and by ours (key established, nothing dropped).
 * v1.1.1 encrypts only what it sends "Type_any" (replication, user, domain0 and repair messages; its pings,
 * key exchanges and neighbour lists always go plain), so an insert on each side makes the traffic that must travel encrypted.
 */
async function encryptedBothWays(r: RefNode, o: OursNode, domain: string): Promise<void> {
  await until(`${o.name} to hold an established key`, async () => ((await establishedKeys(o)) >= 1 ? true : undefined));
  await until(`v1.1.1 to hold a key with ${o.name} (an insert on v1.1.1 replicates to it encrypted)`, async () => {
    await r.admin("insert", "--user", "enc-r", "--body", `encrypted from v1.1.1 ${Date.now()}`);
    return r.trace().some((l) => l.dir === "out" && l.payload_type === ENCRYPTED && l.dst === hex(o.nodeId)) ? true : undefined;
  }, 30_000, 1000);
  await pyadmin(o.corePort, domain, "insert", "--user", "enc-o", "--body", `encrypted from ${o.name} ${Date.now()}`);
  await until(`v1.1.1 to decode an encrypted frame from ${o.name}`, () => (r.trace().some((l) => l.dir === "in" && l.payload_type === ENCRYPTED && l.src === hex(o.nodeId)) ? true : undefined), 30_000);
  const net = (await o.stats()).network ?? {};
  expect(Object.entries(net).filter(([k, v]) => /decrypt/.test(k) && v > 0)).toEqual([]);
}

async function entriesRight(a: OursNode | RefNode, b: OursNode | RefNode, domain0 = false): Promise<void> {
  await until(`${a.name} to list ${b.name} with 127.0.0.1:${b.p2pPort}, domain0 ${domain0}`, async () => {
    const e = await entryOf(a, b);
    return e !== undefined && e.ipv4 === "127.0.0.1" && e.port === b.p2pPort && e.domain0 === domain0 ? true : undefined;
  }, 30_000);
}

function noTraceback(r: RefNode): void {
  expect(r.log()).not.toContain("Traceback");
}

describe.runIf(REF !== undefined)("mixed domain (issue 9): bbc1-core processes and v1.1.1 nodes", () => {
  it("ours pings v1.1.1: they meet, list each other, ours starts the key exchange, encrypted both ways; ours closes the domain: v1.1.1 drops it (NOTIFY_LEAVE)", async () => {
    const domain = `mixed-ping-ours-${Date.now()}`;
    const r = await ref("r", domain);
    const o = await ours("o", domain, { config: { network: { encryption: "all" } } });
    await o.ping(r.p2pPort);
    await fullMesh([o, r]);
    await entriesRight(o, r);
    await entriesRight(r, o);
    await encryptedBothWays(r, o, domain);
    expect(firstKeyRequest(r, o)).toBe("in");
    await o.closeDomain();
    await until("v1.1.1 to drop ours", async () => ((await entryOf(r, o)) === undefined ? true : undefined), 10_000);
    noTraceback(r);
  });

  it("v1.1.1 pings ours: they meet, list each other, v1.1.1 starts the key exchange, encrypted both ways; v1.1.1 closes the domain: ours drops it (NOTIFY_LEAVE)", async () => {
    const domain = `mixed-ping-ref-${Date.now()}`;
    const r = await ref("r", domain);
    // ours never starts an exchange: the reference's (1..6 s after it meets us) is the one
    const o = await ours("o", domain, { config: { network: { encryption: "all", timings: { key_exchange_invoke_min_ms: 600_000, key_exchange_invoke_max_ms: 600_000, advertise_delay_ms: 400, neighbor_list_refresh_ms: 3_000, ping_retry_ms: 500, ping_expire_ms: 5_000 } } } });
    await r.ping(o.p2pPort);
    await fullMesh([o, r]);
    await entriesRight(o, r);
    await entriesRight(r, o);
    await encryptedBothWays(r, o, domain);
    expect(firstKeyRequest(r, o)).toBe("out");
    await r.closeDomain();
    await until("ours to drop v1.1.1", async () => ((await entryOf(o, r)) === undefined ? true : undefined), 10_000);
    noTraceback(r);
  });

  it("static node both ways (REQUEST_SET_STATIC_NODE on either side); ours shutting down (SIGTERM) is dropped by v1.1.1", async () => {
    const domain = `mixed-static-${Date.now()}`;
    const r = await ref("r", domain);
    const o1 = await ours("o1", domain);
    await o1.staticNode(r.nodeId, r.p2pPort);
    await fullMesh([o1, r]);
    await entriesRight(o1, r);
    await entriesRight(r, o1);
    await until("o1 to hold a key with v1.1.1", async () => ((await establishedKeys(o1)) === 1 ? true : undefined));
    await o1.stop();
    await until("v1.1.1 to drop o1 after its shutdown", async () => ((await entryOf(r, o1)) === undefined ? true : undefined), 10_000);
    const o2 = await ours("o2", domain);
    await r.staticNode(o2.nodeId, o2.p2pPort);
    await fullMesh([o2, r]);
    await entriesRight(o2, r);
    await entriesRight(r, o2);
    await until("o2 to hold a key with v1.1.1", async () => ((await establishedKeys(o2)) === 1 ? true : undefined));
    noTraceback(r);
  });

  it("flags: a --domain0 node is listed with the domain0 flag on the other side, both ways", async () => {
    const domain = `mixed-flags-${Date.now()}`;
    const r = await ref("r", domain, { args: ["--domain0"] });
    const o = await ours("o", domain, { args: ["--domain0"] });
    const plain = await ours("p", domain);
    await o.ping(r.p2pPort);
    await plain.ping(r.p2pPort);
    await fullMesh([o, r, plain]);
    await entriesRight(o, r, true);
    await entriesRight(r, o, true);
    await entriesRight(plain, o, true);
    await entriesRight(r, plain, false);
    noTraceback(r);
  });

  it("domain key: signed ping, key exchange, lists and NOTIFY_LEAVE accepted both ways; a node with another key is refused both ways", async () => {
    const domain = `mixed-dk-${Date.now()}`;
    const key = KeyPair.generate();
    const keyDir = mkdtempSync(join(tmpdir(), "mixed-dk-"));
    writeFileSync(join(keyDir, domainKeyFileName(sha(domain))), key.getPrivateKeyPem());
    const otherDir = mkdtempSync(join(tmpdir(), "mixed-dk-other-"));
    writeFileSync(join(otherDir, domainKeyFileName(sha(domain))), KeyPair.generate().getPrivateKeyPem());
    const dk = (directory: string) => ({ domain_key: { use: true, directory, obsolete_timeout: 300 }, network: { encryption: "udp" } });
    const r = await ref("r", domain, { domainKeyPem: key.getPrivateKeyPem() });
    const a = await ours("a", domain, { config: dk(keyDir) });
    const b = await ours("b", domain, { config: dk(keyDir) });
    await a.ping(r.p2pPort); // ours -> v1.1.1
    await r.ping(b.p2pPort); // v1.1.1 -> ours
    await fullMesh([a, b, r]);
    await encryptedBothWays(r, a, domain);
    await encryptedBothWays(r, b, domain);
    const z = await ours("z", domain, { config: dk(otherDir) });
    await z.ping(r.p2pPort);
    await r.ping(z.p2pPort);
    await sleep(4000);
    expect(await entryOf(r, z)).toBeUndefined();
    expect(await entryOf(z, r)).toBeUndefined();
    expect(r.log()).toContain("Illegal access");
    await b.closeDomain(); // signed NOTIFY_LEAVE ours -> v1.1.1
    await until("v1.1.1 and a to drop b", async () => ((await entryOf(r, b)) === undefined && (await entryOf(a, b)) === undefined ? true : undefined), 10_000);
    await r.closeDomain(); // signed NOTIFY_LEAVE v1.1.1 -> ours
    await until("a to drop v1.1.1", async () => ((await entryOf(a, r)) === undefined ? true : undefined), 10_000);
    noTraceback(r);
  });

  it("three nodes, v1.1.1 in the middle: two of ours ping only v1.1.1 and learn each other from its neighbour list", async () => {
    const domain = `mixed-three-ref-${Date.now()}`;
    const r = await ref("r", domain);
    const a = await ours("a", domain);
    const b = await ours("b", domain);
    await a.ping(r.p2pPort);
    await b.ping(r.p2pPort);
    await fullMesh([a, b, r], 40_000);
    await entriesRight(a, b);
    await entriesRight(b, a);
    await until("a and b to hold keys with both others", async () => ((await establishedKeys(a)) === 2 && (await establishedKeys(b)) === 2 ? true : undefined), 30_000);
    noTraceback(r);
  });

  it("three nodes, ours in the middle: v1.1.1 and another of ours ping only ours and learn each other from its neighbour list", async () => {
    const domain = `mixed-three-ours-${Date.now()}`;
    const r = await ref("r", domain);
    const a = await ours("a", domain);
    const b = await ours("b", domain);
    await r.ping(a.p2pPort);
    await b.ping(a.p2pPort);
    await fullMesh([a, b, r], 40_000);
    await entriesRight(r, b);
    await entriesRight(b, r);
    await until("b to hold keys with both others", async () => ((await establishedKeys(b)) === 2 ? true : undefined), 30_000);
    noTraceback(r);
  });
});
