/**
 * The core's cross-reference wiring in-process: `network.domain0` settings, REPLICATION_CROSS_REF
 * (DATA 00 06) from a neighbour on raw UDP stored once and listed by REQUEST_CROSS_REF_LIST,
 * malformed ones dropped, and CROSS_REF_ASSIGNMENT handed to a registered client as
 * NOTIFY_CROSS_REF.
 */
import { createSocket, type Socket } from "node:dgram";
import { afterEach, describe, expect, it } from "vitest";
import { getNewId, toHex } from "@bbc1/bbclib";
import { MsgType, encodeMessage, u16Bytes, type WireMessage } from "@bbc1/wire";
import { buildCrossRefAssignment, buildReplicationCrossRef } from "@bbc1/net";
import { readDomain0Settings } from "../src/cross-refs.js";
import { isCoreError } from "../src/index.js";
import { client, setupDomain, startNode, type TestNode } from "./helpers/node.js";

const started: TestNode[] = [];
const socks: Socket[] = [];
afterEach(async () => {
  for (const s of socks.splice(0)) s.close();
  for (const n of started.splice(0)) await n.stop();
});

async function until(what: string, check: () => Promise<boolean> | boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 30));
  }
}

describe("network.domain0 settings", () => {
  it("defaults are v1.1.1's; the test values of its own tests are accepted; bad values stop the start", () => {
    expect(readDomain0Settings(undefined)).toEqual({ crossRefProbability: 0.1, maxCrossRefStock: 10 });
    expect(readDomain0Settings({ cross_ref_probability: 1, max_cross_ref_stock: 0 })).toEqual({ crossRefProbability: 1, maxCrossRefStock: 0 });
    for (const bad of [{ cross_ref_probability: 2 }, { cross_ref_probability: "x" }, { max_cross_ref_stock: -1 }, { max_cross_ref_stock: 1.5 }, 5]) {
      expect(() => readDomain0Settings(bad as never)).toThrow(expect.objectContaining({ code: "CONFIG_INVALID" }));
      try {
        readDomain0Settings(bad as never);
      } catch (e) {
        expect(isCoreError(e)).toBe(true);
      }
    }
  });
});

describe("cross references from neighbours (raw UDP)", () => {
  const domainId = getNewId("cross-ref wiring domain");
  const peer = getNewId("a neighbour");

  async function setup(): Promise<{ t: TestNode; send: (m: WireMessage) => Promise<void> }> {
    const t = await startNode({ ip4addr: "127.0.0.1" });
    started.push(t);
    await setupDomain(t.port, domainId);
    const s = createSocket("udp4");
    socks.push(s);
    await new Promise<void>((r) => s.bind(0, "127.0.0.1", () => r()));
    const me = t.node.domains.get(toHex(domainId))!.nodeId;
    const send = (m: WireMessage) =>
      new Promise<void>((r) => s.send(encodeMessage(2, { ...m, destination_node_id: me, source_node_id: peer }), t.node.p2pPort, "127.0.0.1", () => r()));
    return { t, send };
  }

  it("REPLICATION_CROSS_REF is stored once and listed; malformed ones are dropped and the node keeps serving", async () => {
    const { t, send } = await setup();
    const [tx1, outer, tx2] = [getNewId("tx1"), getNewId("outer domain"), getNewId("tx2")];
    await send(buildReplicationCrossRef(domainId, tx1, outer, tx2));
    await send(buildReplicationCrossRef(domainId, tx1, outer, tx2)); // v1.1.1 stores it twice (Q34)
    const bad = buildReplicationCrossRef(domainId, getNewId("x"), outer, tx2);
    delete bad.outer_domain_id; // H12: killed v1.1.1's receive loop
    await send(bad);
    await send({ ...buildReplicationCrossRef(domainId, getNewId("y"), outer, tx2), txid_having_cross_ref: new Uint8Array(3) });
    const c = await client(t.port, domainId);
    const list = async () => ((await c.answer(c.request(MsgType.REQUEST_CROSS_REF_LIST))).transaction_id_list as Uint8Array[]).map(toHex);
    await until("the row to be listed", async () => (await list()).length > 0);
    await until("the malformed ones to be dropped", () => (t.node.stats.get("data_handler", "drop.bad_replication_cross_ref")) >= 2);
    expect(await list()).toEqual([toHex(tx1)]);
    await c.close();
  });

  it("CROSS_REF_ASSIGNMENT from a domain0 neighbour reaches a registered client as NOTIFY_CROSS_REF", async () => {
    const { t, send } = await setup();
    const c = await client(t.port, domainId);
    c.request(MsgType.REGISTER);
    await until("the user to be registered", () => t.node.domains.get(toHex(domainId))!.users.size > 0);
    const cr = { domainId: getNewId("origin"), transactionId: getNewId("origin tx") };
    // v1.1.1 hands cross_refs out only once more than MAX_CROSS_REF_STOCK (10) are stocked
    for (let i = 0; i < 11; i++) {
      const m = buildCrossRefAssignment(domainId, new Uint8Array(32), i === 0 ? cr : { domainId: getNewId(`o${i}`), transactionId: getNewId(`t${i}`) });
      delete m.destination_node_id;
      await send(m);
    }
    const got = await c.next((r) => r.message.command === MsgType.NOTIFY_CROSS_REF);
    expect(got.message.cross_ref).toEqual([cr.domainId, cr.transactionId]);
    expect(got.message.infra_msg_type).toEqual(u16Bytes(2));
    await c.close();
  });
});
