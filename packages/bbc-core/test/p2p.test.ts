/**
 * The core's P2P wiring in-process: config (`static_nodes`, v1.1.1's `static_node`,
 * `network.timings`, `network.encryption`), static nodes persisted, the admin commands that drive
 * the network (DOMAIN_PING, REQUEST_SET_STATIC_NODE, REQUEST_GET_NEIGHBORLIST,
 * NOTIFY_DOMAIN_KEY_UPDATE), network counters under v1.1.1's names in GET_STATS.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { KeyPair, getNewId, toHex } from "@bbc1/bbclib";
import { MsgType } from "@bbc1/wire";
import { decodeNeighborList } from "@bbc1/net";
import { isCoreError } from "../src/index.js";
import { startNode, setupDomain, type TestNode } from "./helpers/node.js";
import { RawClient, text } from "./helpers/raw-client.js";

const FAST = { advertiseDelayMs: 200, keyExchangeInvokeMinMs: 50, keyExchangeInvokeMaxMs: 150, pingRetryMs: 200 };
const domainId = getNewId("p2p wiring domain");
const hexD = toHex(domainId);
const started: TestNode[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const n of started.splice(0)) await n.stop();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function node(opts: Parameters<typeof startNode>[0] = {}, dir?: string): Promise<TestNode> {
  const t = await startNode({ netTimings: FAST, ip4addr: "127.0.0.1", ...opts }, dir);
  started.push(t);
  return t;
}

async function neighborIds(t: TestNode): Promise<string[]> {
  const c = await RawClient.connect(t.port);
  try {
    const r = await c.answer(c.admin(MsgType.REQUEST_GET_NEIGHBORLIST, {}, { domain_id: domainId }));
    return decodeNeighborList(r.neighbor_list as Uint8Array).map((e) => toHex(e.nodeId));
  } finally {
    await c.close();
  }
}

async function until(what: string, check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const nodeIdOf = (t: TestNode) => t.node.domains.get(hexD)!.nodeId;

describe("P2P wiring of the core", () => {
  it("DOMAIN_PING links two nodes; GET_NEIGHBORLIST lists both with their P2P ports; GET_STATS has v1.1.1's counter names", async () => {
    const a = await node();
    const b = await node();
    await setupDomain(a.port, domainId);
    await setupDomain(b.port, domainId);
    const c = await RawClient.connect(a.port);
    c.admin(MsgType.DOMAIN_PING, { ipv4_address: "127.0.0.1", port_number: b.node.p2pPort }, { domain_id: domainId });
    await until("mesh", async () => (await neighborIds(a)).length === 2 && (await neighborIds(b)).length === 2);
    const r = await c.answer(c.admin(MsgType.REQUEST_GET_NEIGHBORLIST, {}, { domain_id: domainId }));
    const list = decodeNeighborList(r.neighbor_list as Uint8Array);
    expect(list.map((e) => toHex(e.nodeId))).toEqual([toHex(nodeIdOf(a)), toHex(nodeIdOf(b))]);
    expect(list[0]).toMatchObject({ ipv4: "127.0.0.1", port: a.node.p2pPort });
    expect(list[1]).toMatchObject({ ipv4: "127.0.0.1", port: b.node.p2pPort });
    const st = await c.answer(c.admin(MsgType.REQUEST_GET_STATS, {}));
    const flat = new Map<string, Map<string, number>>();
    for (const [k, v] of st.stats as Map<Uint8Array, Map<Uint8Array, number>>) flat.set(text(k), new Map([...v].map(([x, y]) => [text(x), y])));
    const net = flat.get("network")!;
    for (const k of ["num_domains", "domain_ping_send", "domain_ping_received", "neighbor_nodes", "send_msg_by_udp4", "sent_data_size", "packets_received_by_udp"]) expect(net.get(k), k).toBeGreaterThan(0);
    expect(net.get("num_domains")).toBe(1);
    await c.close();
  });

  it("REQUEST_SET_STATIC_NODE links, is saved as static_nodes and comes back after a restart; a bad node_info answers false", async () => {
    const b = await node();
    await setupDomain(b.port, domainId);
    const dir = mkdtempSync(join(tmpdir(), "bbc1-p2p-"));
    dirs.push(dir);
    let a = await node({}, dir);
    await setupDomain(a.port, domainId);
    const c = await RawClient.connect(a.port);
    const ok = await c.answer(c.admin(MsgType.REQUEST_SET_STATIC_NODE, { node_info: [nodeIdOf(b), "127.0.0.1", "::", b.node.p2pPort] }, { domain_id: domainId }));
    expect(ok.result).toBe(true);
    const bad = await c.answer(c.admin(MsgType.REQUEST_SET_STATIC_NODE, { node_info: [nodeIdOf(b), "not an address", null, 1] }, { domain_id: domainId }));
    expect(bad.result).toBe(false);
    const unserved = await c.answer(c.admin(MsgType.REQUEST_SET_STATIC_NODE, { node_info: [nodeIdOf(b), "127.0.0.1", null, 1] }, { domain_id: getNewId("nope") }));
    expect(unserved.result).toBe(false);
    await c.close();
    await until("b learns a", async () => (await neighborIds(b)).includes(toHex(nodeIdOf(a))));
    const conf = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
    expect(conf.domains[hexD].static_nodes).toEqual({ [toHex(nodeIdOf(b))]: ["127.0.0.1", null, b.node.p2pPort] });
    // restart: the static node is there at once
    await a.node.close();
    started.splice(started.indexOf(a), 1);
    a = await node({}, dir);
    expect(await neighborIds(a)).toContain(toHex(nodeIdOf(b)));
  });

  it("reads v1.1.1's static_node spelling from config.json, skipping unusable entries", async () => {
    const b = await node();
    await setupDomain(b.port, domainId);
    const dir = mkdtempSync(join(tmpdir(), "bbc1-p2p-"));
    dirs.push(dir);
    const bad = toHex(getNewId("bad entry"));
    writeFileSync(
      join(dir, "config.json"),
      JSON.stringify({ domains: { [hexD]: { static_node: { [toHex(nodeIdOf(b))]: ["127.0.0.1", null, b.node.p2pPort], [bad]: ["nowhere", null, 5] } } } }),
    );
    const a = await node({}, dir);
    const ids = await neighborIds(a);
    expect(ids).toContain(toHex(nodeIdOf(b)));
    expect(ids).not.toContain(bad);
    await until("b learns a", async () => (await neighborIds(b)).includes(toHex(nodeIdOf(a))));
  });

  it("NOTIFY_DOMAIN_KEY_UPDATE loads the domain key file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bbc1-p2p-"));
    dirs.push(dir);
    const keys = join(dir, "dk");
    mkdirSync(keys);
    writeFileSync(join(dir, "config.json"), JSON.stringify({ domain_key: { use: true, directory: keys, obsolete_timeout: 300 } }));
    const a = await node({}, dir);
    await setupDomain(a.port, domainId);
    const net = a.node.domains.get(hexD)!.net!;
    expect(net.keys.enabled).toBe(false);
    writeFileSync(join(keys, `${hexD}.pem`), KeyPair.generate().getPrivateKeyPem());
    const c = await RawClient.connect(a.port);
    c.admin(MsgType.NOTIFY_DOMAIN_KEY_UPDATE, {}, { domain_id: domainId });
    await until("key loaded", async () => net.keys.enabled);
    await c.close();
  });

  it("REQUEST_CLOSE_DOMAIN sends NOTIFY_LEAVE: the neighbour forgets the node", async () => {
    const a = await node();
    const b = await node();
    await setupDomain(a.port, domainId);
    await setupDomain(b.port, domainId);
    const c = await RawClient.connect(a.port);
    c.admin(MsgType.DOMAIN_PING, { ipv4_address: "127.0.0.1", port_number: b.node.p2pPort }, { domain_id: domainId });
    await until("mesh", async () => (await neighborIds(b)).length === 2 && (await neighborIds(a)).length === 2);
    // b must have heard from a directly (the pong, lists) before a leaves
    await new Promise((r) => setTimeout(r, 300));
    expect((await c.answer(c.admin(MsgType.REQUEST_CLOSE_DOMAIN, {}, { domain_id: domainId }))).result).toBe(true);
    await until("b forgets a", async () => (await neighborIds(b)).length === 1);
    expect(a.node.network.domains()).toHaveLength(0);
    await c.close();
  });

  it("network.timings and network.encryption are checked at start", async () => {
    for (const network of [{ timings: { ping_retry_ms: "fast" } }, { timings: [] }, { encryption: "sometimes" }]) {
      const dir = mkdtempSync(join(tmpdir(), "bbc1-p2p-"));
      dirs.push(dir);
      writeFileSync(join(dir, "config.json"), JSON.stringify({ network }));
      const err = await startNode({}, dir).then(
        async (t) => {
          await t.stop();
          return undefined;
        },
        (e: unknown) => e,
      );
      expect(isCoreError(err) && err.code).toBe("CONFIG_INVALID");
    }
  });
});
