import { afterEach, describe, expect, it } from "vitest";
import {
  BBcFormat,
  KeyPair,
  addEventAsset,
  bsonDecode,
  encodeCrossRefBinary,
  encodeSignatureBinary,
  BBcCrossRef,
  makeTransaction,
  serializeTransaction,
  sha256,
  toHex,
} from "@bbc1/bbclib";
import { MsgType, decodeTlv, deriveSharedKey, encodeMessage, generateEcdhKeyPair, type WireMessage } from "@bbc1/wire";
import { BBcAppClient, BbcClientError, isBbcClientError } from "../src/index.js";
import { FakeCore, hex, reply, unhex, type Received } from "./fake-core.js";

const domainId = sha256(new TextEncoder().encode("client test domain"));
const userA = sha256(new TextEncoder().encode("user A"));
const userB = sha256(new TextEncoder().encode("user B"));
const userC = sha256(new TextEncoder().encode("user C"));

let core: FakeCore | undefined;
const clients: BBcAppClient[] = [];

async function setup(): Promise<{ core: FakeCore; client: BBcAppClient }> {
  core = await FakeCore.start();
  const client = await BBcAppClient.connect({ port: core.port, domainId, userId: userA, requestTimeoutMs: 3000 });
  clients.push(client);
  return { core, client };
}

async function another(userId: Uint8Array): Promise<BBcAppClient> {
  const c = await BBcAppClient.connect({ port: core!.port, domainId, userId, requestTimeoutMs: 3000 });
  clients.push(c);
  return c;
}

afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  await core?.close();
  core = undefined;
});

function signedTx(keys: KeyPair, user: Uint8Array, body = "hello", file?: Uint8Array) {
  const tx = makeTransaction({ eventNum: 1, witness: true });
  addEventAsset(tx, 0, sha256(new TextEncoder().encode("asset group")), user, { assetBody: body, assetFile: file });
  tx.witness!.addWitness(user);
  tx.addSignature(user, tx.sign(keys));
  return tx;
}

// msgpack-python 0.5 (use_bin_type=False) byte strings: fixraw up to 31 bytes, raw16 `da` above
const k = (code: number) => `a4${code.toString(16).padStart(8, "0")}`;
const raw32 = (b: Uint8Array) => `da0020${hex(b)}`;

describe("what goes on the wire (bbc_app.py byte for byte)", () => {
  it("REGISTER: base keys in bbc_app order, ids as raw16, no query_id", async () => {
    const { core, client } = await setup();
    await client.register();
    const r = await core.next();
    const body = `84${k(9)}40${k(0x50)}${raw32(domainId)}${k(0x51)}${raw32(userA)}${k(0)}00`;
    expect(hex(r.frame)).toBe(`00020000${(body.length / 2).toString(16).padStart(8, "0")}${body}`);
  });

  it("REGISTER on multiple nodes adds on_multinodes true; UNREGISTER has no query_id", async () => {
    const { core, client } = await setup();
    await client.register(true);
    await client.unregister();
    const [a, b] = [await core.next((r) => r.message.command === 64), await core.next((r) => r.message.command === 65)];
    expect(hex(a.frame).endsWith(`${k(0x18)}c3`)).toBe(true);
    expect(Object.keys(b.message)).toEqual(["command", "domain_id", "source_user_id", "status"]);
  });

  it("query_id is a 2-byte little-endian counter that also advances on messages without one", async () => {
    const { core, client } = await setup();
    client.requestTimeoutMs = 200;
    const p1 = client.searchTransaction(userB).catch((e: unknown) => e);
    await client.register();
    const p2 = client.countTransactions({ userId: userB }).catch((e: unknown) => e);
    const search = await core.next((r) => r.message.command === MsgType.REQUEST_SEARCH_TRANSACTION);
    const count = await core.next((r) => r.message.command === MsgType.REQUEST_COUNT_TRANSACTIONS);
    expect(hex(search.message.query_id as Uint8Array)).toBe("0100");
    expect(hex(count.message.query_id as Uint8Array)).toBe("0300");
    // search: base keys + query_id, then transaction_id
    const body = `86${k(9)}52${k(0x50)}${raw32(domainId)}${k(0x51)}${raw32(userA)}${k(0)}00${k(0xb)}a20100${k(0x61)}${raw32(userB)}`;
    expect(hex(search.frame).slice(16)).toBe(body);
    expect(Object.keys(count.message)).toEqual(["command", "domain_id", "source_user_id", "status", "query_id", "user_id"]);
    await Promise.all([p1, p2]);
  });

  it("nil domain and user go out as msgpack nil", async () => {
    core = await FakeCore.start();
    const client = await BBcAppClient.connect({ port: core.port });
    clients.push(client);
    await client.send(MsgType.REGISTER);
    const r = await core.next();
    expect(hex(r.frame).slice(16)).toBe(`84${k(9)}40${k(0x50)}c0${k(0x51)}c0${k(0)}00`);
  });

  it("INSERT carries transaction_data and all_asset_files (event then relation files)", async () => {
    const { core, client } = await setup();
    const keys = KeyPair.generate();
    const file = new TextEncoder().encode("file content");
    const tx = signedTx(keys, userA, "with file", file);
    core.handler = (r) => {
      if (r.message.command === MsgType.REQUEST_INSERT) r.conn.send(reply(r.message, MsgType.RESPONSE_INSERT, { transaction_id: tx.transactionId }));
    };
    const res = await client.insertTransaction(tx);
    expect(hex(res.transactionId)).toBe(hex(tx.transactionId!));
    const r = core.received[0]!;
    expect(Object.keys(r.message)).toEqual(["command", "domain_id", "source_user_id", "status", "query_id", "transaction_data", "all_asset_files"]);
    expect(hex(r.message.transaction_data as Uint8Array)).toBe(hex(serializeTransaction(tx)));
    const files = r.message.all_asset_files as Map<Uint8Array, Uint8Array>;
    expect([...files].map(([a, f]) => [hex(a), hex(f)])).toEqual([[hex(tx.events[0]!.asset!.assetId!), hex(file)]]);
  });

  it("search with conditions sends only the given conditions, then direction and count", async () => {
    const { core, client } = await setup();
    client.requestTimeoutMs = 100;
    await client.searchTransactionWithCondition({ assetGroupId: userB, userId: userC, count: 5 }).catch(() => undefined);
    const r = await core.next();
    expect(Object.keys(r.message)).toEqual(["command", "domain_id", "source_user_id", "status", "query_id", "asset_group_id", "user_id", "direction", "count"]);
    expect([r.message.direction, r.message.count]).toEqual([0, 5]);
    await expect(client.countTransactions({})).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
  });

  it("traverse sends transaction_id, filters, direction 1 and hop_count 3 by default", async () => {
    const { core, client } = await setup();
    client.requestTimeoutMs = 100;
    await client.traverseTransactions(userB, { userId: userC }).catch(() => undefined);
    const r = await core.next();
    expect(Object.keys(r.message).slice(4)).toEqual(["query_id", "transaction_id", "user_id", "direction", "hop_count"]);
    expect([r.message.direction, r.message.hop_count]).toEqual([1, 3]);
  });

  it("MESSAGE, notifications, repair: keys and no query_id", async () => {
    const { core, client } = await setup();
    await client.sendMessage("hi there", userB, { anycast: true });
    await client.requestInsertCompletionNotification(userC);
    await client.cancelInsertCompletionNotification(userC);
    await client.requestToRepairTransaction(userB);
    await client.requestToRepairAsset(userB, userC);
    while (core.received.length < 5) await new Promise((r) => setTimeout(r, 5));
    const keys = core.received.map((r) => Object.keys(r.message).slice(4));
    expect(keys).toEqual([["destination_user_id", "message", "is_anycast"], ["asset_group_id"], ["asset_group_id"], ["transaction_id"], ["asset_group_id", "asset_id"]]);
    const msg = core.received[0]!;
    // text is packed as msgpack raw (fixstr), as msgpack-python 0.5 did
    expect(hex(msg.frame)).toContain(`${k(0xc)}a8${hex(new TextEncoder().encode("hi there"))}${k(0x19)}c3`);
  });

  it("sendback_signature: ref_index, binary signature, format 0, echoed query_id in place", async () => {
    const { core, client } = await setup();
    const keys = KeyPair.generate();
    const tx = signedTx(keys, userA);
    const sig = tx.signatures[0]!;
    await client.sendbackSignature({ destUserId: userB, transactionId: tx.transactionId, signature: sig, queryId: unhex("abcd") });
    await client.sendbackDenialOfSign({ destUserId: userB, transactionId: tx.transactionId, reason: "no way" });
    const [ok, deny] = [await core.next(), await core.next((r) => r.message.status !== 0)];
    expect(Object.keys(ok.message)).toEqual([
      "command",
      "domain_id",
      "source_user_id",
      "status",
      "query_id",
      "destination_user_id",
      "transaction_id",
      "ref_index",
      "signature",
      "transaction_data_format",
    ]);
    expect(hex(ok.message.query_id as Uint8Array)).toBe("abcd");
    expect(hex(ok.frame)).toContain(`${k(0x73)}ff`); // ref_index -1 as negative fixint
    expect(hex(ok.message.signature as Uint8Array)).toBe(hex(encodeSignatureBinary(sig)));
    expect(ok.message.transaction_data_format).toBe(0);
    expect(deny.message.status).toBe(-255);
    expect(Buffer.from(deny.message.reason as Uint8Array).toString()).toBe("no way");
    expect(Object.keys(deny.message).slice(4)).toEqual(["query_id", "destination_user_id", "transaction_id", "reason"]);
  });

  it("BSON-format signatures go out as a BSON document with format 1", async () => {
    const { core, client } = await setup();
    const keys = KeyPair.generate();
    const tx = makeTransaction({ eventNum: 1, witness: true, formatType: BBcFormat.FORMAT_BSON });
    addEventAsset(tx, 0, userC, userA, { assetBody: "b" });
    tx.witness!.addWitness(userA);
    const sig = tx.sign(keys);
    await client.sendbackSignature({ destUserId: userB, transactionId: tx.transactionId, refIndex: 0, signature: sig });
    const r = await core.next();
    expect(r.message.transaction_data_format).toBe(1);
    const doc = bsonDecode(r.message.signature as Uint8Array) as Record<string, unknown>;
    expect(Object.keys(doc)).toEqual(["key_type", "pubkey_len", "pubkey", "signature_len", "signature"]);
    expect(doc.pubkey_len).toBe(520);
  });
});

describe("answers, errors, timeouts, disconnects", () => {
  it("resolves answers by query_id even out of order and split into single bytes", async () => {
    const { core, client } = await setup();
    const held: Received[] = [];
    core.handler = (r) => {
      held.push(r);
      if (held.length < 2) return;
      for (const h of held.reverse()) {
        const frame = encodeMessage(2, reply(h.message, MsgType.RESPONSE_COUNT_TRANSACTIONS, { count: hex(h.message.user_id as Uint8Array) === hex(userB) ? 7 : 300 }));
        for (const b of frame) h.conn.sendRaw(new Uint8Array([b]));
      }
    };
    const [a, b] = await Promise.all([client.countTransactions({ userId: userB }), client.countTransactions({ userId: userC })]);
    expect([a, b]).toEqual([7, 300]);
  });

  it("keeps frames that continue past a read intact while later reads reuse the read buffer (large ones too)", async () => {
    const { core, client } = await setup();
    const body = (n: number, seed: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);
    const sizes = [100, 300_000, 50, 70_000, 10];
    const frames = sizes.map((n, i) =>
      encodeMessage(2, { command: MsgType.MESSAGE, domain_id: domainId, source_user_id: userB, destination_user_id: userA, message: body(n, i) }),
    );
    const got: Uint8Array[] = [];
    const all = new Promise<void>((resolve) =>
      client.on("message", (m) => {
        got.push(m.message as Uint8Array);
        if (got.length === sizes.length) resolve();
      }),
    );
    // one byte stream cut at odd places: inside headers, inside bodies, several frames per write
    const stream = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
    let o = 0;
    for (const f of frames) {
      stream.set(f, o);
      o += f.length;
    }
    const conn = (await core.next(() => true, 50).catch(() => undefined))?.conn ?? core.conns[0]!;
    const cuts = [150, 155, 40_000, 40_003, 300_200, 300_210, 371_000, stream.length];
    let from = 0;
    for (const to of cuts) {
      conn.sendRaw(stream.slice(from, to));
      from = to;
      await new Promise((r) => setTimeout(r, 5));
    }
    await all;
    expect(got.map((g) => g.length)).toEqual(sizes);
    got.forEach((g, i) => expect(hex(g)).toBe(hex(body(sizes[i]!, i))));
  });

  it("insertTransaction and searchTransaction reject (never throw) on what fails before sending", async () => {
    const { client } = await setup();
    const tx = signedTx(KeyPair.generate(), userA);
    (tx as { formatType: number }).formatType = 9; // cannot serialize
    let p: Promise<unknown> | undefined;
    expect(() => (p = client.insertTransaction(tx))).not.toThrow();
    await expect(p).rejects.toMatchObject({ code: "UNKNOWN_FORMAT" });
    let q: Promise<unknown> | undefined;
    expect(() => (q = client.searchTransaction(userB, null as unknown as object))).not.toThrow();
    await expect(q).rejects.toBeInstanceOf(TypeError);
    expect(client.pendingCount).toBe(0);
  });

  it("negative status rejects with ERROR_STATUS, status and reason text", async () => {
    const { core, client } = await setup();
    core.handler = (r) => r.conn.send(reply(r.message, MsgType.RESPONSE_SEARCH_TRANSACTION, { status: -14, reason: "Cannot find transaction", transaction_id: r.message.transaction_id }));
    const err = await client.searchTransaction(userB).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BbcClientError);
    expect(err).toMatchObject({ code: "ERROR_STATUS", status: -14, reason: "Cannot find transaction" });
    expect(client.pendingCount).toBe(0);
  });

  it("compromised search results resolve with acceptCompromised", async () => {
    const { core, client } = await setup();
    const tx = signedTx(KeyPair.generate(), userA);
    const bad = new Uint8Array([9, 9, 9]);
    core.handler = (r) =>
      r.conn.send(
        reply(r.message, MsgType.RESPONSE_SEARCH_TRANSACTION, {
          status: -15,
          transaction_id: r.message.transaction_id,
          transaction_data: tx.serialize(),
          compromised_asset_files: new Map([[userC, bad]]),
        }),
      );
    await expect(client.searchTransaction(tx.transactionId!)).rejects.toMatchObject({ code: "ERROR_STATUS", status: -15 });
    const res = await client.searchTransaction(tx.transactionId!, { acceptCompromised: true });
    expect(res.compromised).toBe(true);
    expect(hex(res.transaction!.transactionId!)).toBe(hex(tx.transactionId!));
    expect(hex(res.compromisedAssetFiles.get(toHex(userC))!)).toBe("090909");
  });

  it("decodes search, conditional search and traverse answers into transactions", async () => {
    const { core, client } = await setup();
    const keys = KeyPair.generate();
    const t1 = signedTx(keys, userA, "one", new TextEncoder().encode("f1"));
    const t2 = signedTx(keys, userA, "two");
    core.handler = (r) => {
      const m = r.message;
      if (m.command === MsgType.REQUEST_SEARCH_TRANSACTION)
        r.conn.send(reply(m, 83, { transaction_id: m.transaction_id, transaction_data: t1.serialize(), all_asset_files: new Map([[t1.events[0]!.asset!.assetId!, new TextEncoder().encode("f1")]]) }));
      if (m.command === MsgType.REQUEST_SEARCH_WITH_CONDITIONS) r.conn.send(reply(m, 87, { transactions: [t2.serialize(), t1.serialize()] }));
      if (m.command === MsgType.REQUEST_TRAVERSE_TRANSACTIONS)
        r.conn.send(reply(m, 89, { transaction_id: m.transaction_id, transaction_tree: [[t2.serialize()], [t1.serialize()]], all_included: false, all_asset_files: new Map([[userC, null]]) }));
    };
    const s = await client.searchTransaction(t1.transactionId!);
    expect(hex(s.transaction!.transactionId!)).toBe(hex(t1.transactionId!));
    expect(new TextDecoder().decode(s.assetFiles.get(toHex(t1.events[0]!.asset!.assetId!))!)).toBe("f1");
    const c = await client.searchTransactionWithCondition({ userId: userA, count: 2 });
    expect(c.transactions.map((t) => hex(t.transactionId!))).toEqual([hex(t2.transactionId!), hex(t1.transactionId!)]);
    const tr = await client.traverseTransactions(t2.transactionId!, { hopCount: 2 });
    expect(tr.tree.map((lv) => lv.map((t) => hex(t.transactionId!)))).toEqual([[hex(t2.transactionId!)], [hex(t1.transactionId!)]]);
    expect(tr.allIncluded).toBe(false);
    expect(tr.assetFiles.get(toHex(userC))).toBeNull();
  });

  it("an undecodable transaction in an answer rejects with BAD_RESPONSE", async () => {
    const { core, client } = await setup();
    core.handler = (r) => r.conn.send(reply(r.message, 87, { transactions: [new Uint8Array([0x33, 0, 1, 2])] }));
    await expect(client.searchTransactionWithCondition({ userId: userA })).rejects.toMatchObject({ code: "BAD_RESPONSE" });
  });

  it("times out with TIMEOUT when the node drops the request, and forgets it", async () => {
    const { client } = await setup();
    const t0 = Date.now();
    const err = await client.getStats({ timeoutMs: 150 }).catch((e: unknown) => e);
    expect(isBbcClientError(err, "TIMEOUT")).toBe(true);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
    expect(client.pendingCount).toBe(0);
  });

  it("times out concurrent requests each at its own deadline (one shared timer), and answered ones never", async () => {
    const { core, client } = await setup();
    const t0 = Date.now();
    const at = (p: Promise<unknown>): Promise<{ code: string | undefined; ms: number }> =>
      p.then(
        () => ({ code: "ok", ms: Date.now() - t0 }),
        (e: unknown) => ({ code: (e as BbcClientError).code, ms: Date.now() - t0 }),
      );
    const slow = at(client.getStats({ timeoutMs: 600 }));
    const fast = at(client.getStats({ timeoutMs: 150 })); // earlier than the armed deadline
    const forever = at(client.getStats({ timeoutMs: 0 }));
    const answered = at(client.getStats({ timeoutMs: 100 }));
    const reqs = [await core.next(), await core.next(), await core.next(), await core.next()];
    reqs[3]!.conn.send(reply(reqs[3]!.message, MsgType.RESPONSE_GET_STATS, { stats: new Map() }, false));
    expect(await answered).toMatchObject({ code: "ok" });
    const f = await fast;
    expect(f.code).toBe("TIMEOUT");
    expect(f.ms).toBeGreaterThanOrEqual(140);
    expect(f.ms).toBeLessThan(550);
    const s = await slow;
    expect(s.code).toBe("TIMEOUT");
    expect(s.ms).toBeGreaterThanOrEqual(590);
    expect(client.pendingCount).toBe(1); // the one without a timeout still waits
    reqs[2]!.conn.send(reply(reqs[2]!.message, MsgType.RESPONSE_GET_STATS, { stats: new Map() }, false));
    expect(await forever).toMatchObject({ code: "ok" });
    expect(client.pendingCount).toBe(0);
  });

  it("a late answer after a timeout is handed out as unsolicited", async () => {
    const { core, client } = await setup();
    const late = client.waitFor("unsolicited");
    await client.getStats({ timeoutMs: 50 }).catch(() => undefined);
    const req = await core.next();
    req.conn.send(reply(req.message, MsgType.RESPONSE_GET_STATS, { stats: new Map() }, false));
    expect((await late).command).toBe(MsgType.RESPONSE_GET_STATS);
  });

  it("rejects every pending request with DISCONNECTED when the node closes the connection", async () => {
    const { core, client } = await setup();
    const closed = new Promise<Error | undefined>((r) => client.once("close", r));
    const p = Promise.all([
      client.searchTransaction(userB).catch((e: unknown) => e),
      client.getDomainList().catch((e: unknown) => e),
      client.gatherSignatures(signedTx(KeyPair.generate(), userA), { destinations: [userB] }).catch((e: unknown) => e),
    ]);
    await core.next((r) => r.message.command === MsgType.REQUEST_GATHER_SIGNATURE);
    core.conns[0]!.socket.destroy();
    const errs = await p;
    for (const e of errs) expect(e).toMatchObject({ code: "DISCONNECTED" });
    await closed;
    expect(client.closed).toBe(true);
    await expect(client.register()).rejects.toMatchObject({ code: "DISCONNECTED" });
    await expect(client.getStats()).rejects.toMatchObject({ code: "DISCONNECTED" });
  });

  it("low-level request/send: raw answers, and no waiting on commands without a query_id", async () => {
    const { core, client } = await setup();
    core.handler = (r) => {
      if (r.message.command === MsgType.REQUEST_GET_STATS) r.conn.send(reply(r.message, MsgType.RESPONSE_GET_STATS, { stats: new Map() }, false));
    };
    const raw = await client.request(MsgType.REQUEST_GET_STATS, { random: new Uint8Array(32) }, [MsgType.RESPONSE_GET_STATS]);
    expect(raw.stats).toBeInstanceOf(Map);
    await expect(client.request(MsgType.MESSAGE, {}, [MsgType.MESSAGE])).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await client.send(200, { message: "unknown command" });
    expect((await core.next((r) => r.message.command === 200)).message.query_id).toBeInstanceOf(Uint8Array);
  });

  it("a broken frame header (unknown payload type) closes the connection with the framing error", async () => {
    const { core, client } = await setup();
    core.handler = (r) => r.conn.sendRaw(unhex("0009000000000001ff"));
    const closed = new Promise<Error | undefined>((r) => client.once("close", r));
    await expect(client.getStats()).rejects.toMatchObject({ code: "DISCONNECTED" });
    expect(await closed).toMatchObject({ name: "WireError", code: "UNKNOWN_PAYLOAD_TYPE" });
  });

  it("connect to a closed port fails with CONNECT_FAILED", async () => {
    const c = await FakeCore.start();
    const port = c.port;
    await c.close();
    await expect(BBcAppClient.connect({ port })).rejects.toMatchObject({ code: "CONNECT_FAILED" });
  });

  it("a frame that does not decode is reported and the connection goes on", async () => {
    const { core, client } = await setup();
    const bad = client.waitFor("decodeError");
    core.handler = (r) => {
      r.conn.sendRaw(unhex("0002000000000003c1c1c1"));
      r.conn.send(reply(r.message, 95, { count: 1 }));
    };
    expect(await client.countTransactions({ userId: userB })).toBe(1);
    expect((await bad).message).toMatch(/msgpack/);
  });
});

describe("unsolicited messages as events", () => {
  it("MESSAGE, bounce, NOTIFY_INSERTED, NOTIFY_CROSS_REF, REQUEST_SIGNATURE, RESPONSE_CROSS_REF_VERIFY", async () => {
    const { core, client } = await setup();
    await client.register();
    const conn = (await core.next()).conn;
    const tx = signedTx(KeyPair.generate(), userB);
    const base = { domain_id: domainId, destination_user_id: userA, infra_msg_type: new Uint8Array([0, 2]) };

    const gotMsg = client.waitFor("message");
    conn.send({ command: 66, domain_id: domainId, source_user_id: userB, status: 0, destination_user_id: userA, message: "hello A", infra_msg_type: new Uint8Array([0, 2]) });
    const m = await gotMsg;
    expect(new TextDecoder().decode(m.message as Uint8Array)).toBe("hello A");
    expect(hex(m.sourceUserId!)).toBe(hex(userB));

    const bounce = client.waitFor("undeliverable");
    conn.send({ command: 66, domain_id: domainId, source_user_id: userA, status: 0, destination_user_id: userA, message: "x", result: false, reason: "Cannot find such user" });
    expect(await bounce).toMatchObject({ command: 66, reason: "Cannot find such user" });

    const ins = client.waitFor("inserted");
    conn.send({ ...base, command: 73, infra_command: new Uint8Array([0, 4]), transaction_id: tx.transactionId, asset_group_ids: [userC] });
    const n = await ins;
    expect(hex(n.transactionId)).toBe(hex(tx.transactionId!));
    expect(n.assetGroupIds.map(hex)).toEqual([hex(userC)]);

    const cr = client.waitFor("crossRef");
    conn.send({ ...base, command: 74, cross_ref: [userB, userC] });
    expect(hex((await cr).crossRef.transactionId!)).toBe(hex(userC));
    expect(client.crossRefList).toHaveLength(1);
    const t = makeTransaction({ eventNum: 0, formatType: BBcFormat.FORMAT_BINARY });
    expect(client.includeCrossRef(t)).toBe(true);
    expect(hex(t.crossRef!.domainId!)).toBe(hex(userB));
    expect(client.includeCrossRef(t)).toBe(false);

    const sr = client.waitFor("signRequest");
    conn.send({
      domain_id: domainId,
      command: 69,
      status: 0,
      destination_user_id: userA,
      query_id: unhex("0900"),
      source_user_id: userB,
      transaction_data: tx.serialize(),
      transactions: new Map([[userC, tx.serialize()]]),
      infra_msg_type: new Uint8Array([0, 2]),
    });
    const req = await sr;
    expect(hex(req.queryId!)).toBe("0900");
    expect(hex(req.transaction!.transactionId!)).toBe(hex(tx.transactionId!));
    expect([...req.referredTransactions.keys()]).toEqual([toHex(userC)]);

    const verify = client.requestVerifyByCrossRef(tx.transactionId!);
    const vreq = await core.next((r) => r.message.command === MsgType.REQUEST_CROSS_REF_VERIFY);
    expect(vreq.message.query_id).toBeInstanceOf(Uint8Array);
    const cref = encodeCrossRefBinary(new BBcCrossRef({ domainId: userB, transactionId: tx.transactionId }));
    conn.send({ infra_msg_type: new Uint8Array([0, 2]), command: 91, domain_id: domainId, destination_user_id: userA, source_user_id: userA, transaction_id: tx.transactionId, cross_ref_verification_info: [userC, cref, encodeSignatureBinary(tx.signatures[0]!), 0] });
    const v = await verify;
    expect(hex(v.crossRef.domainId!)).toBe(hex(userB));
    expect(hex(v.transactionBaseDigest)).toBe(hex(userC));
    expect(v.signature.verify(sha256(tx.forIdBytes()))).toBe(true);
  });

  it("a sign request carrying one of our pending query ids is not swallowed (v1.1.1 was)", async () => {
    const { core, client } = await setup();
    const tx = signedTx(KeyPair.generate(), userB);
    const pending = client.searchTransaction(tx.transactionId!);
    const req = await core.next((r) => r.message.command === MsgType.REQUEST_SEARCH_TRANSACTION);
    const sr = client.waitFor("signRequest");
    req.conn.send({ domain_id: domainId, command: 69, status: 0, destination_user_id: userA, query_id: req.message.query_id, source_user_id: userB, transaction_data: tx.serialize() });
    expect(hex((await sr).queryId!)).toBe(hex(req.message.query_id as Uint8Array));
    expect(client.pendingCount).toBe(1);
    req.conn.send(reply(req.message, 83, { transaction_id: tx.transactionId, transaction_data: tx.serialize() }));
    expect(hex((await pending).transaction!.transactionId!)).toBe(hex(tx.transactionId!));
  });

  it("a listener that throws does not break the connection", async () => {
    const { core, client } = await setup();
    client.on("message", () => {
      throw new Error("app bug");
    });
    await client.register();
    const conn = (await core.next()).conn;
    conn.send({ command: 66, domain_id: domainId, source_user_id: userB, status: 0, destination_user_id: userA, message: "x" });
    core.handler = (r) => r.conn.send(reply(r.message, 95, { count: 2 }));
    expect(await client.countTransactions({ userId: userA })).toBe(2);
  });
});

describe("gathering signatures between two clients (core routing simulated)", () => {
  /** Routes like bbc_core: REGISTER maps user -> conn; 67 -> 69 per destination; 70 -> 68. */
  function router(core: FakeCore): void {
    const users = new Map<string, Received["conn"]>();
    core.handler = (r) => {
      const m = r.message;
      const cmd = m.command as number;
      if (cmd === MsgType.REGISTER) users.set(hex(m.source_user_id as Uint8Array), r.conn);
      if (cmd === MsgType.REQUEST_GATHER_SIGNATURE) {
        for (const dst of m.destination_user_ids as Uint8Array[]) {
          if (hex(dst) === hex(m.source_user_id as Uint8Array)) continue;
          const to = users.get(hex(dst));
          const req: WireMessage = { domain_id: m.domain_id, command: 69, status: 0, destination_user_id: dst, query_id: m.query_id, source_user_id: m.source_user_id, transaction_data: m.transaction_data };
          if (m.transactions) req.transactions = m.transactions;
          if (m.all_asset_files) req.all_asset_files = m.all_asset_files;
          if (to) to.send({ ...req, infra_msg_type: new Uint8Array([0, 2]) });
          else setTimeout(() => r.conn.send({ ...req, destination_user_id: m.source_user_id, result: false, reason: "Cannot find such user" }), 20);
        }
      }
      if (cmd === MsgType.RESPONSE_SIGNATURE) {
        const resp: WireMessage = { domain_id: m.domain_id, command: 68, destination_user_id: m.destination_user_id, query_id: m.query_id, status: 0 };
        if (m.signature) Object.assign(resp, { transaction_data_format: m.transaction_data_format, signature: m.signature, ref_index: m.ref_index });
        else Object.assign(resp, { status: m.status, reason: m.reason });
        resp.source_user_id = m.source_user_id;
        users.get(hex(m.destination_user_id as Uint8Array))?.send({ ...resp, infra_msg_type: new Uint8Array([0, 2]) });
      }
    };
  }

  it("collects a signature, a denial and a bounce; signers answering without the query_id are matched by signer", async () => {
    const { core, client: a } = await setup();
    router(core);
    const b = await another(userB);
    const c = await another(userC);
    const kb = KeyPair.generate();
    await Promise.all([a.register(), b.register(), c.register()]);
    await core.next((r) => r.message.command === 64 && hex(r.message.source_user_id as Uint8Array) === hex(userC));
    b.on("signRequest", (req) => {
      const sig = req.transaction!.sign(kb);
      void b.sendbackSignature({ destUserId: req.sourceUserId, transactionId: req.transaction!.transactionId, signature: sig, refIndex: -1, queryId: req.queryId });
    });
    // like file_proof.py's signer: no query_id echoed
    c.on("signRequest", (req) => void c.sendbackDenialOfSign({ destUserId: req.sourceUserId, transactionId: null, reason: "refused" }));
    const tx = makeTransaction({ eventNum: 1, witness: true });
    addEventAsset(tx, 0, userC, userA, { assetBody: "x" });
    tx.witness!.addWitness(userA);
    tx.witness!.addWitness(userB);
    // v1.1.1's binary decoder reads an empty signature slot only as the last one: sign ours first
    tx.addSignature(userA, tx.sign(KeyPair.generate()));
    const unknown = sha256(new TextEncoder().encode("nobody"));
    const answers = await a.gatherSignatures(tx, { destinations: [userA, userB, userC, unknown], assetFiles: new Map([[toHex(userC), new Uint8Array([1])]]) });
    expect(answers).toHaveLength(3);
    const byStatus = Object.fromEntries(answers.map((x) => [x.status, x]));
    expect(hex(byStatus[0]!.signerId!)).toBe(hex(userB));
    expect(byStatus[0]!.refIndex).toBe(-1);
    tx.addSignature(userB, byStatus[0]!.signature!);
    expect(byStatus[0]!.signature!.verify(sha256(tx.forIdBytes()))).toBe(true);
    expect(byStatus[-255]).toMatchObject({ reason: "refused" });
    expect(hex(byStatus[-255]!.signerId!)).toBe(hex(userC));
    expect(byStatus[-2]).toMatchObject({ signerId: null, reason: "Cannot find such user" });
    const g = core.received.find((r) => r.message.command === MsgType.REQUEST_GATHER_SIGNATURE)!;
    expect(Object.keys(g.message).slice(4)).toEqual(["query_id", "transaction_data", "transaction_id", "destination_user_ids", "all_asset_files"]);
  });

  it("gather rejects with TIMEOUT and the partial answers; without destinations with INVALID_ARGUMENT", async () => {
    const { core, client: a } = await setup();
    router(core);
    const b = await another(userB);
    await Promise.all([a.register(), b.register()]);
    await core.next((r) => r.message.command === 64 && hex(r.message.source_user_id as Uint8Array) === hex(userB));
    const kb = KeyPair.generate();
    b.on("signRequest", (req) => void b.sendbackSignature({ destUserId: req.sourceUserId, transactionId: null, signature: req.transaction!.sign(kb), queryId: req.queryId }));
    const tx = signedTx(KeyPair.generate(), userA);
    const d = await another(userC); // registered, never answers
    await d.register();
    await core.next((r) => r.message.command === 64 && hex(r.message.source_user_id as Uint8Array) === hex(userC));
    const err = (await a.gatherSignatures(tx, { destinations: [userB, userC], timeoutMs: 1500 }).catch((e: unknown) => e)) as BbcClientError;
    expect(err).toMatchObject({ code: "TIMEOUT" });
    expect(err.partial).toHaveLength(1);
    expect(a.pendingCount).toBe(0);
    await expect(a.gatherSignatures(tx, {})).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
  });
});

describe("admin commands and the node key", () => {
  it("signs admin_info (TLV) with the node key over SHA-256, as bbc_core verifies it", async () => {
    const { core, client } = await setup();
    const nodeKey = KeyPair.generate();
    client.setNodeKey(nodeKey.getPrivateKeyPem());
    core.handler = (r) => {
      const m = r.message;
      if (m.command === MsgType.REQUEST_SETUP_DOMAIN) r.conn.send(reply(m, 1, { domain_id: decodeTlv(m.admin_info as Uint8Array).domain_id, result: true }, false));
    };
    const res = await client.domainSetup(userC, { storage: { type: "internal" } });
    expect(res.result).toBe(true);
    const m = core.received[0]!.message;
    expect(Object.keys(m)).toEqual(["command", "domain_id", "source_user_id", "status", "query_id", "admin_info", "nodekey_signature"]);
    const info = m.admin_info as Uint8Array;
    expect(nodeKey.verify(sha256(info), m.nodekey_signature as Uint8Array)).toBe(true);
    const fields = decodeTlv(info);
    expect(Object.keys(fields)).toEqual(["domain_id", "random", "bbc_configuration"]);
    expect(hex(fields.domain_id as Uint8Array)).toBe(hex(userC));
    expect((fields.random as Uint8Array).length).toBe(32);
    expect(JSON.parse(Buffer.from(fields.bbc_configuration as Uint8Array).toString())).toEqual({ storage: { type: "internal" } });
    // exact TLV of the first item: key 00000050, type 0 (bytes), length 32
    expect(hex(info.subarray(0, 12))).toBe("000000500000000000000020");
  });

  it("without a node key the admin fields go to the top level (dat.update)", async () => {
    const { core, client } = await setup();
    client.requestTimeoutMs = 100;
    await client.getDomainNeighborlist(userB).catch(() => undefined);
    await client.setDomainStaticNode(userB, userC, "127.0.0.1", null, 6641).catch(() => undefined);
    await client.sendDomainPing(userB, "0.0.0.0", "::1", 7000);
    await client.manipulateLedgerSubsystem(true, userB).catch(() => undefined);
    const [nl, sn, ping, ls] = [await core.next(), await core.next(), await core.next(), await core.next()].map((r) => r.message);
    expect(Object.keys(nl!)).toEqual(["command", "domain_id", "source_user_id", "status", "query_id", "random"]);
    expect(hex(nl!.domain_id as Uint8Array)).toBe(hex(userB));
    expect(Object.keys(sn!).slice(5)).toEqual(["node_info"]);
    expect((sn!.node_info as unknown[])[2]).toBeNull();
    expect(Object.keys(ping!)).toEqual(["command", "domain_id", "source_user_id", "status", "ipv6_address", "port_number", "static_entry"]);
    expect(Object.keys(ls!).slice(5)).toEqual(["ledger_subsys_manip", "random"]);
    expect(ls!.ledger_subsys_manip).toBe(true);
    await expect(client.sendDomainPing(userB)).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
  });

  it("nil in signed admin fields is refused (TLV has no nil), like v1.1.1", async () => {
    const { client } = await setup();
    client.setNodeKey(KeyPair.generate());
    await expect(client.setDomainStaticNode(userB, userC, "127.0.0.1", null, 6641)).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    expect(() => client.setNodeKey("not a pem")).toThrow(BbcClientError);
  });

  it("decodes the list, stats, config, node id and neighbour answers", async () => {
    const { core, client } = await setup();
    const d1 = unhex("11".repeat(32));
    const d2 = unhex("22".repeat(32));
    const nb = new Uint8Array(4 + 63 * 2);
    new DataView(nb.buffer).setUint32(0, 2);
    nb.set(d1, 4);
    nb.set([127, 0, 0, 1], 36);
    nb.set(unhex("20010db8000000000000000000000001"), 40);
    nb.set([0x27, 0x1b], 56); // 6951 written with htons: little-endian on the wire
    nb[58] = 1;
    new DataView(nb.buffer).setBigUint64(59, 1700000000n);
    nb.set(d2, 67);
    const two = new Uint8Array([0, 1, ...d1, 0, 2, ...d2, ...d1]);
    core.handler = (r) => {
      const m = r.message;
      const send = (cmd: number, extra: WireMessage) => r.conn.send(reply(m, cmd, extra, false));
      switch (m.command) {
        case MsgType.REQUEST_GET_DOMAINLIST:
          return send(14, { domain_list: new Uint8Array([0, 2, ...d1, ...d2]) });
        case MsgType.REQUEST_GET_USERS:
          return send(24, { user_list: new Uint8Array([0, 0]) });
        case MsgType.REQUEST_GET_FORWARDING_LIST:
          return send(26, { forwarding_list: two });
        case MsgType.REQUEST_GET_NOTIFICATION_LIST:
          return send(30, { notification_list: two });
        case MsgType.REQUEST_GET_STATS:
          return send(18, { stats: new Map([["client", new Map([["total_num", 2]])]]) });
        case MsgType.REQUEST_GET_CONFIG:
          return send(9, { bbc_configuration: '{\n  "client": {"port": 9000}\n}' });
        case MsgType.REQUEST_GET_NODEID:
          return send(28, { node_id: d2 });
        case MsgType.REQUEST_GET_NEIGHBORLIST:
          return send(22, { neighbor_list: nb });
        case MsgType.REQUEST_CLOSE_DOMAIN:
          return send(32, { domain_id: null, result: false, reason: "No such domain" });
      }
    };
    expect((await client.getDomainList()).map(hex)).toEqual([hex(d1), hex(d2)]);
    expect(await client.getUserList()).toEqual([]);
    const fw = await client.getForwardingList();
    expect(fw.map((e) => [hex(e.id), e.ids.map(hex)])).toEqual([[hex(d1), [hex(d2), hex(d1)]]]);
    expect((await client.getNotificationList())[0]!.ids).toHaveLength(2);
    expect(await client.getStats()).toEqual({ client: { total_num: 2 } });
    expect((await client.getBbcConfig()).config).toEqual({ client: { port: 9000 } });
    expect(hex(await client.getNodeId())).toBe(hex(d2));
    const nbs = await client.getDomainNeighborlist(d1);
    expect(nbs[0]).toMatchObject({ ipv4: "127.0.0.1", ipv6: "2001:db8::1", port: 6951, domain0: true, updatedAt: 1700000000 });
    expect(nbs[1]).toMatchObject({ ipv4: "0.0.0.0", ipv6: "::", port: 0, domain0: false });
    expect(await client.domainClose(d1)).toMatchObject({ result: false, reason: "No such domain" });
  });

  it("GET_NEIGHBORLIST for an unknown domain (status false) rejects with ERROR_STATUS", async () => {
    const { core, client } = await setup();
    core.handler = (r) => r.conn.send({ ...reply(r.message, 22, {}, false), status: false, reason: "No such domain" });
    await expect(client.getDomainNeighborlist(userB)).rejects.toMatchObject({ code: "ERROR_STATUS", reason: "No such domain" });
  });
});

describe("ECDH key exchange (encrypted session)", () => {
  it("derives the key like bbc_core and decrypts routed answers (payload type 3)", async () => {
    const { core, client } = await setup();
    core.handler = (r) => {
      const m = r.message;
      if (m.command === MsgType.REQUEST_ECDH_KEY_EXCHANGE) {
        const kp = generateEcdhKeyPair();
        const key = deriveSharedKey(kp.privateKey, m.ecdh as Uint8Array, m.random as Uint8Array);
        const name = r.conn.registry.reserveKeyName();
        r.conn.send({ domain_id: null, command: 34, destination_user_id: m.source_user_id, query_id: m.query_id, status: 0, ecdh: kp.publicKey, nonce: m.nonce, random: m.random, hint: name });
        r.conn.registry.setCipher(name, key, m.nonce as Uint8Array, m.hint as Uint8Array);
        r.conn.keyName = name;
        // an encrypted routed message right behind the answer, in the same write burst
        r.conn.send({ command: 66, domain_id: domainId, source_user_id: userB, status: 0, destination_user_id: userA, message: "secret" }, true);
      } else if (m.command === MsgType.REQUEST_COUNT_TRANSACTIONS) {
        r.conn.send(reply(m, 95, { count: 42 }), true);
      }
    };
    const gotMsg = client.waitFor("message");
    await client.exchangeKey();
    expect(client.isEncrypted).toBe(true);
    expect(new TextDecoder().decode((await gotMsg).message as Uint8Array)).toBe("secret");
    const req = core.received[0]!;
    expect(Object.keys(req.message).slice(4)).toEqual(["query_id", "ecdh", "nonce", "hint", "random"]);
    expect([(req.message.ecdh as Uint8Array).length, (req.message.nonce as Uint8Array).length, (req.message.hint as Uint8Array).length, (req.message.random as Uint8Array).length]).toEqual([97, 16, 4, 8]);
    expect(await client.countTransactions({ userId: userA })).toBe(42);
    expect(await client.countTransactions({ userId: userA })).toBe(42);
    expect(client.receivedFrames).toEqual({ plain: 1, encrypted: 3, undecodable: 0 });
    // requests stay plaintext, as in v1.1.1
    expect(core.received.every((r) => r.payloadType === 2)).toBe(true);
    await client.unregister();
    expect(client.isEncrypted).toBe(false);
  });

  it("optionally encrypts requests with the core's key name (payload type 3)", async () => {
    const { core, client } = await setup();
    core.handler = (r) => {
      const m = r.message;
      if (m.command === MsgType.REQUEST_ECDH_KEY_EXCHANGE) {
        const kp = generateEcdhKeyPair();
        const key = deriveSharedKey(kp.privateKey, m.ecdh as Uint8Array, m.random as Uint8Array);
        const name = r.conn.registry.reserveKeyName();
        r.conn.registry.setCipher(name, key, m.nonce as Uint8Array, m.hint as Uint8Array);
        r.conn.keyName = name;
        r.conn.send({ domain_id: null, command: 34, destination_user_id: m.source_user_id, query_id: m.query_id, status: 0, ecdh: kp.publicKey, nonce: m.nonce, random: m.random, hint: name });
      } else if (m.command === MsgType.REQUEST_COUNT_TRANSACTIONS) {
        r.conn.send(reply(m, 95, { count: 7 }), true);
      }
    };
    await client.exchangeKey({ encryptRequests: true });
    expect(await client.countTransactions({ userId: userA })).toBe(7);
    expect(await client.countTransactions({ userId: userB })).toBe(7);
    const sent = core.received.filter((r) => r.message.command === MsgType.REQUEST_COUNT_TRANSACTIONS);
    expect(sent.map((r) => r.payloadType)).toEqual([3, 3]);
    expect(hex(sent[0]!.frame.subarray(8, 12))).toBe(hex(core.conns[0]!.keyName!));
    expect(hex(sent[1]!.message.user_id as Uint8Array)).toBe(hex(userB));
  });

  it("refuses without a domain", async () => {
    core = await FakeCore.start();
    const c = await BBcAppClient.connect({ port: core.port });
    clients.push(c);
    await expect(c.exchangeKey()).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
  });
});
