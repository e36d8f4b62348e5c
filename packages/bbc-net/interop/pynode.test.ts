/**
 * MANUAL interop check (not in CI): our network layer against ORIGINAL v1.1.1 nodes started with
 * the local reference setup (see /work/pyref/HOWTO.md). Each test starts its own reference node
 * on free loopback ports with `$BBC1_REF/bin/pynode` and drives it with `$BBC1_REF/bin/pyadmin`.
 *
 *   BBC1_REF=/work/pyref npx vitest run -c packages/bbc-net/interop/vitest.config.ts
 *
 * (BBC1_PYREF, the older name, is accepted too; BBC1_REF wins.)
 */
import { execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { KeyPair, toHex } from "@bbc1/bbclib";
import { u16Bytes, type WireMessage } from "@bbc1/wire";
import { BBcNetwork, KeyExchangeState, NetStats, domainKeyFileName, type CategoryHandler, type NetworkDomain, type ReceiveContext } from "../src/index.js";

const REF = process.env.BBC1_REF ?? process.env.BBC1_PYREF;
const sha = (s: string): Uint8Array => new Uint8Array(createHash("sha256").update(s).digest());
const wait = async (cond: () => boolean, ms: number, what: string): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timeout: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
};
async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

interface RefNode {
  dir: string;
  core: number;
  p2p: number;
  nodeId: Uint8Array;
  admin: (...args: string[]) => string;
  neighbors: () => string[];
}
const started: string[] = [];

async function refNode(domain: string, opts: { domainKeyPem?: string } = {}): Promise<RefNode> {
  const dir = mkdtempSync(join(tmpdir(), "bbc1-net-pynode-"));
  const core = await freePort();
  const p2p = await freePort();
  const extra: string[] = [];
  if (opts.domainKeyPem !== undefined) {
    mkdirSync(join(dir, ".bbc1", "domain_keys"), { recursive: true });
    writeFileSync(join(dir, ".bbc1", "domain_keys", domainKeyFileName(sha(domain))), opts.domainKeyPem);
    writeFileSync(join(dir, "dk.json"), JSON.stringify({ domain_key: { use: true, directory: ".bbc1/domain_keys", obsolete_timeout: 300 } }));
    // --ip6addr :: : with a domain key and no IPv6 the reference cannot sign its pings (§18.2)
    extra.push("--ip6addr", "::", "--", "--default_config", join(dir, "dk.json"));
  }
  execFileSync(`${REF}/bin/pynode`, ["start", "-w", dir, "-c", String(core), "-p", String(p2p), "--no_nodekey", ...extra]);
  started.push(dir);
  const admin = (...args: string[]): string => execFileSync(`${REF}/bin/pyadmin`, ["--port", String(core), "--domain", domain, ...args], { encoding: "utf8" });
  await wait(() => {
    try {
      admin("domain-setup");
      return true;
    } catch {
      return false;
    }
  }, 20_000, "reference node up");
  const nodeId = new Uint8Array(Buffer.from(JSON.parse(admin("node-id").replace(/^node_id /, "")) as string, "hex"));
  return { dir, core, p2p, nodeId, admin, neighbors: () => admin("neighbors").trim().split("\n").filter((l) => l.startsWith("neighbor")) };
}

afterAll(() => {
  if (started.length > 0) execFileSync(`${REF}/bin/pynode`, ["stop", ...started]);
});

class Recorder implements CategoryHandler {
  got: Array<{ msg: WireMessage; ctx: ReceiveContext }> = [];
  handle(msg: WireMessage, ctx: ReceiveContext): void {
    this.got.push({ msg, ctx });
  }
}

async function ours(domain: string, opts: ConstructorParameters<typeof BBcNetwork>[0] = {}): Promise<{ net: BBcNetwork; d: NetworkDomain; rec: Recorder }> {
  const net = new BBcNetwork({ host4: "127.0.0.1", port: 0, ...opts });
  await net.start();
  const d = net.createDomain(sha(domain));
  const rec = new Recorder();
  d.setHandler("user", rec);
  return { net, d, rec };
}
const established = (d: NetworkDomain, id: Uint8Array): boolean => d.keyExchangeOf(id)?.state === KeyExchangeState.ESTABLISHED;

describe.runIf(REF !== undefined)("our network layer and v1.1.1 nodes", () => {
  for (const initiator of ["ours", "reference"] as const) {
    it(`meet by domain ping, exchange keys (${initiator} initiates), carry encrypted messages both ways, leave`, async () => {
      const domain = `netc-${initiator}-${Date.now()}`;
      const ref = await refNode(domain);
      const slow = initiator === "reference" ? { keyExchangeInvokeMinMs: 600_000, keyExchangeInvokeMaxMs: 600_000 } : {};
      const a = await ours(domain, { encryption: "all", timings: slow });
      const me = toHex(a.d.nodeId);
      a.d.sendDomainPing("127.0.0.1", null, ref.p2p);
      await wait(() => a.d.neighbors.get(ref.nodeId) !== undefined, 5000, "pong");
      expect(a.d.neighbors.get(ref.nodeId)).toMatchObject({ ipv4: "127.0.0.1", port: ref.p2p });
      await wait(() => established(a.d, ref.nodeId), 30_000, "key exchange");
      await wait(() => ref.neighbors().some((l) => l.includes(me) && l.includes(`"port": ${a.net.port}`) && l.includes('"ipv4": "127.0.0.1"')), 10_000, "ref lists us");
      // ref -> us, encrypted: a MESSAGE to a user nobody hosts makes the reference broadcast RESOLVE_USER_LOCATION
      const listen = spawn(`${REF}/bin/pyadmin`, ["--port", String(ref.core), "--domain", domain, "listen", "--user", "bob", "--for", "10"], { stdio: ["ignore", "pipe", "ignore"] });
      let heard = "";
      listen.stdout.on("data", (b: Buffer) => (heard += b.toString()));
      await new Promise((r) => setTimeout(r, 1500));
      ref.admin("send", "--user", "alice", "--to", "carol", "--msg", "anyone?");
      const isResolveCarol = (g: { msg: WireMessage }): boolean => (g.msg.infra_command as Uint8Array | undefined)?.[1] === 0 && toHex(g.msg.destination_user_id as Uint8Array) === toHex(sha("carol"));
      await wait(() => a.rec.got.some(isResolveCarol), 10_000, "RESOLVE from the reference");
      expect(a.rec.got.find(isResolveCarol)!.ctx.encrypted).toBe(true);
      // us -> ref, encrypted: RESOLVE for bob (registered there) is answered
      a.d.sendToNode(ref.nodeId, { infra_msg_type: u16Bytes(2), domain_id: sha(domain), infra_command: u16Bytes(0), destination_user_id: sha("bob"), source_user_id: sha("dave"), nonce: 4242 });
      await wait(() => a.rec.got.some((g) => (g.msg.infra_command as Uint8Array | undefined)?.[1] === 1), 5000, "RESPONSE_USER_LOCATION");
      expect(a.rec.got.find((g) => (g.msg.infra_command as Uint8Array | undefined)?.[1] === 1)!.ctx.encrypted).toBe(true);
      // user messages to bob over UDP and (3 kB) TCP, encrypted, reach the reference's client
      for (const text of ["small hello", "L".repeat(3000)]) {
        a.d.sendToNode(ref.nodeId, { infra_msg_type: u16Bytes(2), domain_id: sha(domain), command: 66, source_user_id: sha("dave"), destination_user_id: sha("bob"), message: text, query_id: new Uint8Array([0, 0]), status: 0 });
        await new Promise((r) => setTimeout(r, 300));
      }
      // three large ones in one turn: one TCP connection carrying three frames
      for (const c of ["X", "Y", "Z"]) a.d.sendToNode(ref.nodeId, { infra_msg_type: u16Bytes(2), domain_id: sha(domain), command: 66, source_user_id: sha("dave"), destination_user_id: sha("bob"), message: c.repeat(3000), query_id: new Uint8Array([0, 2]), status: 0 });
      await wait(() => heard.includes("small hello") && heard.includes("LLLLLLLL") && ["XXXXXXXX", "YYYYYYYY", "ZZZZZZZZ"].every((x) => heard.includes(x)), 8000, "messages at bob");
      listen.kill();
      await a.net.removeDomain(sha(domain)); // NOTIFY_LEAVE, encrypted
      await wait(() => !ref.neighbors().some((l) => l.includes(me)), 5000, "reference removed us");
      await a.net.close();
      expect(readFileSync(join(ref.dir, "core.log"), "utf8")).not.toContain("Traceback");
    });
  }

  it("meet by static node both ways", async () => {
    const domain = `netc-static-${Date.now()}`;
    const ref = await refNode(domain);
    for (const way of ["ours", "reference"] as const) {
      const a = await ours(domain);
      const me = toHex(a.d.nodeId);
      if (way === "ours") a.d.addStaticNode(ref.nodeId, "127.0.0.1", null, ref.p2p);
      else ref.admin("static-node", "--node-id", me, "--ip4", "127.0.0.1", "--p2pport", String(a.net.port));
      await wait(() => ref.neighbors().some((l) => l.includes(me)) && a.d.neighbors.get(ref.nodeId) !== undefined, 20_000, `static (${way})`);
      await wait(() => established(a.d, ref.nodeId), 20_000, "keys");
      expect(a.d.neighbors.get(ref.nodeId)!.isStatic).toBe(way === "ours");
      await a.net.close();
      await wait(() => !ref.neighbors().some((l) => l.includes(me)), 5000, "leave on shutdown");
    }
  });

  it("with a domain key: two of ours and one reference node form a full mesh with signed admin messages; another key is refused", async () => {
    const domain = `netc-keyed-${Date.now()}`;
    const key = KeyPair.generate();
    const ref = await refNode(domain, { domainKeyPem: key.getPrivateKeyPem() });
    const dir = mkdtempSync(join(tmpdir(), "bbc1-net-dk-"));
    writeFileSync(join(dir, domainKeyFileName(sha(domain))), key.getPrivateKeyPem());
    const other = mkdtempSync(join(tmpdir(), "bbc1-net-dk-"));
    writeFileSync(join(other, domainKeyFileName(sha(domain))), KeyPair.generate().getPrivateKeyPem());
    const x = await ours(domain, { encryption: "udp", domainKey: { use: true, directory: dir } });
    const y = await ours(domain, { encryption: "udp", domainKey: { use: true, directory: dir } });
    x.d.sendDomainPing("127.0.0.1", null, ref.p2p);
    y.d.addStaticNode(x.d.nodeId, "127.0.0.1", null, x.net.port);
    await wait(() => x.d.neighbors.size === 2 && y.d.neighbors.size === 2 && ref.neighbors().length === 3, 30_000, "mesh of three");
    await wait(() => established(x.d, ref.nodeId) && established(y.d, ref.nodeId) && established(x.d, y.d.nodeId), 30_000, "signed key exchanges");
    const zStats = new NetStats();
    const z = await ours(domain, { domainKey: { use: true, directory: other }, stats: zStats });
    z.d.sendDomainPing("127.0.0.1", null, ref.p2p);
    await new Promise((r) => setTimeout(r, 2500));
    expect(ref.neighbors().some((l) => l.includes(toHex(z.d.nodeId)))).toBe(false);
    expect(z.d.neighbors.get(ref.nodeId)).toBeUndefined();
    await y.net.removeDomain(sha(domain));
    await wait(() => ref.neighbors().length === 2 && x.d.neighbors.size === 1, 10_000, "signed NOTIFY_LEAVE");
    for (const n of [x, y, z]) await n.net.close();
    expect(readFileSync(join(ref.dir, "core.log"), "utf8")).not.toContain("Traceback");
  });
});
