import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeyPair, getNewId } from "@bbc1/bbclib";
import { MsgType, encodeMessage } from "@bbc1/wire";
import { client, setupDomain, signedTx, startNode, type TestNode } from "./helpers/node.js";
import { RawClient, text } from "./helpers/raw-client.js";

const domainId = getNewId("robustness domain");

function frame(payloadType: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + body.length);
  new DataView(out.buffer).setUint16(0, payloadType);
  new DataView(out.buffer).setUint32(4, body.length);
  out.set(body, 8);
  return out;
}

describe("bad input never takes the node down", () => {
  let t: TestNode;
  let good: RawClient;
  const key = KeyPair.generate();
  const user = getNewId("good user");

  beforeAll(async () => {
    t = await startNode({ maxMessageSize: 1 << 20, maxQueuedRequests: 8 });
    await setupDomain(t.port, domainId);
    good = await client(t.port, domainId, user);
    good.register();
  });
  afterAll(async () => {
    await good.close();
    await t.stop();
  });

  async function stillServing(): Promise<void> {
    const r = good.request(MsgType.REQUEST_SEARCH_TRANSACTION, { transaction_id: new Uint8Array(32) });
    expect((await good.answer(r)).status).toBe(-14);
  }

  it("drops undecodable payloads and keeps the connection", async () => {
    const c = await client(t.port, domainId, getNewId("sender of garbage"));
    c.sendRaw(frame(2, new Uint8Array([0xc1, 0xc1, 0xc1])));
    c.sendRaw(frame(2, new Uint8Array([0x93, 1, 2, 3])));
    c.sendRaw(frame(2, new Uint8Array(0)));
    c.sendRaw(frame(3, new Uint8Array([1, 2, 3, 4, 5, 6])));
    const r = c.request(MsgType.REQUEST_SEARCH_TRANSACTION, { transaction_id: new Uint8Array(32) });
    expect((await c.answer(r)).status).toBe(-14);
    expect(c.closed).toBe(false);
    await c.close();
    await stillServing();
  });

  it("closes a connection with an unknown payload type or an oversized frame, others unaffected", async () => {
    const c = await client(t.port, domainId, user);
    c.sendRaw(frame(7, new Uint8Array([0x80])));
    await new Promise((r) => setTimeout(r, 100));
    expect(c.closed).toBe(true);
    const d = await client(t.port, domainId, user);
    const big = new Uint8Array(8);
    new DataView(big.buffer).setUint16(0, 2);
    new DataView(big.buffer).setUint32(4, (1 << 20) + 1);
    d.sendRaw(big);
    await new Promise((r) => setTimeout(r, 100));
    expect(d.closed).toBe(true);
    await stillServing();
  });

  it("ignores unknown commands and messages without command/source_user_id", async () => {
    const c = await client(t.port, domainId, user);
    c.request(200);
    c.send({ domain_id: domainId, status: 0 });
    c.send({ command: MsgType.REQUEST_SEARCH_TRANSACTION, domain_id: domainId, query_id: new Uint8Array([9, 9]) });
    expect(await c.nothing(200)).toBe(true);
    await c.close();
  });

  it("answers missing mandatory parameters with -1 'lack of mandatory params'", async () => {
    const r = good.request(MsgType.REQUEST_INSERT, { transaction_data: new Uint8Array(4) });
    const res = await good.answer(r);
    expect(res.status).toBe(-1);
    expect(text(res.reason)).toBe("lack of mandatory params");
  });

  it("answers an unregistered sender on its own connection (the reference drops it)", async () => {
    const c = await client(t.port, domainId, getNewId("stranger"));
    const r = c.request(MsgType.REQUEST_SEARCH_TRANSACTION, { transaction_id: new Uint8Array(32) });
    const res = await c.answer(r);
    expect(res.status).toBe(-14);
    const cnt = await c.answer(c.request(MsgType.REQUEST_COUNT_TRANSACTIONS, {}));
    expect(cnt.status).toBe(-1);
    const other = await client(t.port, getNewId("not served"), getNewId("x"));
    const s = await other.answer(other.request(MsgType.REQUEST_SEARCH_WITH_CONDITIONS, { asset_group_id: new Uint8Array(32), direction: 0, count: 1 }));
    expect(s.status).toBe(-14);
    await other.close();
    await c.close();
  });

  it("processes a pipelined burst in order with a small request queue (backpressure)", async () => {
    const reqs = [];
    const txs = [];
    for (let i = 0; i < 200; i++) {
      const s = signedTx(key, user, getNewId("burst"));
      txs.push(s);
      reqs.push(good.base(MsgType.REQUEST_INSERT));
      Object.assign(reqs[i]!, { transaction_data: s.data, all_asset_files: new Map() });
    }
    const parts = reqs.map((r) => encodeMessage(2, r));
    good.sendRaw(Buffer.concat(parts));
    for (let i = 0; i < 200; i++) {
      const res = await good.answer(reqs[i]!);
      expect(res.status).toBe(0);
      expect(res.transaction_id).toEqual(txs[i]!.id);
    }
  });

  it("survives a client that disconnects with requests in flight", async () => {
    const c = await client(t.port, domainId, getNewId("quitter"));
    c.register();
    for (let i = 0; i < 20; i++) {
      const s = signedTx(key, user, getNewId("q"));
      c.request(MsgType.REQUEST_INSERT, { transaction_data: s.data, all_asset_files: new Map() });
    }
    c.socket.destroy();
    await new Promise((r) => setTimeout(r, 100));
    await stillServing();
    expect(t.node.connectionCount).toBe(1);
  });
});

describe("shutdown", () => {
  it("finishes in-flight inserts before closing", async () => {
    const t = await startNode();
    await setupDomain(t.port, domainId);
    const key = KeyPair.generate();
    const user = getNewId("late");
    const c = await client(t.port, domainId, user);
    c.register();
    await new Promise((r) => setTimeout(r, 30));
    const reqs = [];
    for (let i = 0; i < 30; i++) {
      const s = signedTx(key, user, getNewId("late"));
      reqs.push(c.request(MsgType.REQUEST_INSERT, { transaction_data: s.data, all_asset_files: new Map() }));
    }
    await c.next((r) => r.message.command === MsgType.RESPONSE_INSERT);
    const closing = t.node.close();
    await closing;
    const got = c.inbox.filter((r) => r.message.command === MsgType.RESPONSE_INSERT).length + 1;
    expect(got).toBeGreaterThan(1);
    const again = await startNode({}, t.dir);
    const c2 = await client(again.port, domainId, user);
    const n = await c2.answer(c2.request(MsgType.REQUEST_COUNT_TRANSACTIONS, { user_id: user }));
    expect(n.count).toBe(got);
    await c2.close();
    await again.stop();
    await t.stop();
  });
});
