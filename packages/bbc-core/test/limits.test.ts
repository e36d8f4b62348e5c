/**
 * The client port's limits, one by one, in process (the hostile-client suite in apps/core runs the
 * attacks against a real process): what is refused, with which answer, and how it is counted.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeyPair, getNewId } from "@bbc1/bbclib";
import { MsgType, encodeMessage, generateEcdhKeyPair } from "@bbc1/wire";
import { client, setupDomain, signedTx, startNode, type TestNode } from "./helpers/node.js";
import { RawClient, text } from "./helpers/raw-client.js";

const pause = (ms = 50) => new Promise((r) => setTimeout(r, ms));

async function until(pred: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error("timeout");
    await pause(20);
  }
}

describe("client-port limits", () => {
  let t: TestNode;
  const domainId = getNewId("limits domain");
  beforeAll(async () => {
    t = await startNode({
      resolveTimeoutMs: 60_000,
      limits: {
        client: {
          maxUsersPerConnection: 2,
          maxSubscriptionsPerConnection: 3,
          bouncesPerConnection: 2,
          maxGatherDestinations: 3,
          gathersPerSecond: 1,
          ecdhPerSecond: 0.01,
          ecdhBurst: 2,
          maxRequestBytes: 4096,
          readTimeoutUnregisteredMs: 300,
          idleTimeoutUnregisteredMs: 1500,
        },
      },
    });
    await setupDomain(t.port, domainId);
  });
  afterAll(async () => {
    await t.stop();
  });
  const count = (name: string) => t.node.stats.get("limits", name);

  it("users per connection: a further REGISTER is dropped and counted", async () => {
    const c = await client(t.port, domainId);
    for (let i = 0; i < 4; i++) {
      c.userId = getNewId("u" + i);
      c.register();
    }
    await pause(100);
    expect(count("users_per_connection")).toBe(2);
    expect(t.node.domains.get(Buffer.from(domainId).toString("hex"))!.users.size).toBe(2);
    await c.close();
    await until(() => t.node.domains.get(Buffer.from(domainId).toString("hex"))!.users.size === 0);
  });

  it("subscriptions per connection are capped and go with the connection, also for a user registered elsewhere", async () => {
    const d = t.node.domains.get(Buffer.from(domainId).toString("hex"))!;
    const c = await client(t.port, domainId);
    c.register();
    for (let i = 0; i < 5; i++) c.request(MsgType.REQUEST_INSERT_NOTIFICATION, { asset_group_id: getNewId("g" + i) });
    await pause(100);
    expect(d.subscriptionCount).toBe(3);
    expect(count("subscriptions_per_connection")).toBe(2);
    // the same user and group from a second connection: the subscription stays until both are gone
    const c2 = await client(t.port, domainId, c.userId);
    c2.request(MsgType.REQUEST_INSERT_NOTIFICATION, { asset_group_id: getNewId("g0") });
    await pause(100);
    await c.close();
    await until(() => d.subscriptionCount === 1);
    await c2.close();
    await until(() => d.subscriptionCount === 0 && d.notifications.size === 0);
  });

  it("bounces per connection: messages beyond the cap are dropped, held ones go with the connection", async () => {
    const d = t.node.domains.get(Buffer.from(domainId).toString("hex"))!;
    const c = await client(t.port, domainId);
    for (let i = 0; i < 5; i++) c.request(MsgType.MESSAGE, { destination_user_id: getNewId("nobody" + i), message: "x" });
    await pause(100);
    expect(d.pendingBounces).toBe(2);
    expect(count("bounces_per_connection")).toBe(3);
    expect(t.node.resources().pending_bounce_bytes).toBeGreaterThan(0);
    await c.close();
    await until(() => d.pendingBounces === 0);
    expect(t.node.resources().pending_bounce_bytes).toBe(0);
  });

  it("gather: duplicates are sent once, too many destinations or too many gathers answer -1", async () => {
    const key = KeyPair.generate();
    const requester = await client(t.port, domainId);
    requester.register();
    const signer = await client(t.port, domainId);
    signer.register();
    await pause();
    const tx = signedTx(key, requester.userId!, getNewId("gathered")).data;
    const dsts = [signer.userId!, signer.userId!, requester.userId!, signer.userId!];
    const r = requester.request(MsgType.REQUEST_GATHER_SIGNATURE, { transaction_data: tx, destination_user_ids: dsts });
    const sig = await signer.command(MsgType.REQUEST_SIGNATURE);
    expect(sig.query_id).toEqual(r.query_id);
    expect(sig.transaction_data).toEqual(tx);
    expect(Object.keys(sig)).toEqual(["domain_id", "command", "destination_user_id", "query_id", "status", "source_user_id", "transaction_data", "infra_msg_type"]);
    expect(await signer.nothing(150, (m) => m.message.command === MsgType.REQUEST_SIGNATURE)).toBe(true);
    // over the gather rate (1/s, burst 2): refused with an answer
    await pause(1100);
    const many = requester.request(MsgType.REQUEST_GATHER_SIGNATURE, { transaction_data: tx, destination_user_ids: [1, 2, 3, 4].map((i) => getNewId("d" + i)) });
    const refused = await requester.answer(many);
    expect(refused.command).toBe(MsgType.RESPONSE_GATHER_SIGNATURE);
    expect(refused.status).toBe(-1);
    expect(text(refused.reason)).toBe("Too many destinations");
    requester.request(MsgType.REQUEST_GATHER_SIGNATURE, { transaction_data: tx, destination_user_ids: [signer.userId!] });
    const fast = await requester.answer(requester.request(MsgType.REQUEST_GATHER_SIGNATURE, { transaction_data: tx, destination_user_ids: [signer.userId!] }));
    expect(text(fast.reason)).toBe("Too many requests");
    expect(count("gather_destinations")).toBe(1);
    expect(count("gather_rate")).toBe(1);
    await Promise.all([requester.close(), signer.close()]);
  });

  it("ECDH beyond the connection's rate is dropped", async () => {
    const c = await client(t.port, domainId);
    const pub = generateEcdhKeyPair().publicKey;
    for (let i = 0; i < 5; i++) c.request(MsgType.REQUEST_ECDH_KEY_EXCHANGE, { ecdh: pub, nonce: new Uint8Array(randomBytes(16)), hint: new Uint8Array(randomBytes(4)), random: new Uint8Array(randomBytes(8)) });
    await pause(300);
    expect(c.inbox.filter((m) => m.message.command === MsgType.RESPONSE_ECDH_KEY_EXCHANGE).length).toBe(2);
    expect(count("ecdh_rate")).toBe(3);
    await c.close();
  });

  it("oversized ids and oversized small requests are answered -1 where the command has an answer, dropped otherwise", async () => {
    const c = await client(t.port, domainId);
    const longId = new Uint8Array(33);
    const s = await c.answer(c.request(MsgType.REQUEST_SEARCH_TRANSACTION, { transaction_id: longId }));
    expect(s.command).toBe(MsgType.RESPONSE_SEARCH_TRANSACTION);
    expect(s.status).toBe(-1);
    expect(text(s.reason)).toMatch(/transaction_id longer than 32 bytes/);
    c.userId = new Uint8Array(40);
    const r = await c.answer(c.request(MsgType.REQUEST_COUNT_TRANSACTIONS, { asset_group_id: new Uint8Array(32) }));
    expect(r.destination_user_id).toBeNull();
    expect(r.status).toBe(-1);
    c.request(MsgType.REGISTER);
    c.userId = getNewId("ok");
    const big = await c.answer(c.request(MsgType.REQUEST_SEARCH_TRANSACTION, { transaction_id: new Uint8Array(32), hint: new Uint8Array(5000) }));
    expect(big.status).toBe(-1);
    expect(text(big.reason)).toMatch(/exceeds max_request_bytes/);
    // a large MESSAGE is fine (asset-carrying commands may use large frames)
    c.request(MsgType.MESSAGE, { destination_user_id: c.userId, message: new Uint8Array(10_000) });
    await pause(100);
    expect(count("id_length")).toBe(3);
    expect(count("request_size")).toBe(1);
    await c.close();
  });

  it("read timeout before registering: a frame dribbled in is cut off; idle unregistered connections are closed", async () => {
    const slow = await RawClient.connect(t.port);
    const frame = encodeMessage(2, { command: MsgType.REQUEST_GET_NODEID, domain_id: null, source_user_id: null, status: 0, query_id: new Uint8Array(2) });
    slow.sendRaw(frame.subarray(0, 5));
    const idle = await RawClient.connect(t.port);
    await until(() => slow.closed, 3000);
    expect(count("read_timeout")).toBe(1);
    await until(() => idle.closed, 6000);
    expect(count("idle_timeout")).toBeGreaterThanOrEqual(1);
  });
});
