/**
 * WireConnection and the key-exchange helpers over a real TCP socket on 127.0.0.1: a "core"
 * and a "client" each with their own registry, the client's ECDH request answered directly in
 * plaintext, routed answers encrypted afterwards, requests in payload types 0, 2 and 3.
 */
import { createServer, connect, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import {
  KeyRegistry,
  MsgType,
  WireConnection,
  WireError,
  acceptKeyExchange,
  answerClientKeyExchange,
  clientRequest,
  completeKeyExchange,
  createKeyExchangeOffer,
  decodeFrame,
  encodeMessage,
  getBytes,
  getInt,
  keyExchangeValues,
  responseTo,
  type ParsedMessage,
  type WireMessage,
} from "../src/index.js";

const domainId = new Uint8Array(32).fill(0xd0);
const userId = new Uint8Array(32).fill(0x11);

let server: Server | undefined;
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = undefined;
});

/** A tiny core: answers ECDH directly, everything else routed (encrypted once a key exists). */
function startCore(coreRegistry: KeyRegistry): Promise<number> {
  server = createServer((sock) => {
    sockets.push(sock);
    const conn = new WireConnection({ registry: coreRegistry, maxMessageSize: 1024 * 1024 });
    sock.on("data", (chunk) => {
      try {
        for (const m of conn.feed(chunk)) {
          if (!m.ok) {
            sock.write(conn.encodeDirect({ status: -1, reason: m.error.code }));
            continue;
          }
          const req = m.message;
          if (getInt(req, "command") === MsgType.REQUEST_ECDH_KEY_EXCHANGE) {
            const { response, keyName } = answerClientKeyExchange(coreRegistry, req);
            sock.write(conn.encodeDirect(response));
            conn.useKey(keyName);
          } else {
            const res = responseTo(req, MsgType.RESPONSE_COUNT_TRANSACTIONS);
            res.count = m.payloadType; // echo which payload type the request came in
            sock.write(conn.encodeRouted(res));
          }
        }
      } catch (e) {
        expect(e).toBeInstanceOf(WireError);
        expect(conn.closed).toBe(true);
        conn.dispose();
        sock.destroy();
      }
    });
    sock.on("close", () => conn.dispose());
  });
  return new Promise((resolve) => server!.listen(0, "127.0.0.1", () => resolve((server!.address() as { port: number }).port)));
}

/** Client side: a socket plus a queue of parsed messages. */
async function startClient(port: number, registry: KeyRegistry) {
  const sock = connect(port, "127.0.0.1");
  sockets.push(sock);
  await new Promise<void>((r) => sock.once("connect", () => r()));
  const conn = new WireConnection({ registry });
  const queue: ParsedMessage[] = [];
  const waiters: (() => void)[] = [];
  let closed = false;
  sock.on("data", (chunk) => {
    for (const m of conn.feed(chunk)) queue.push(m);
    waiters.splice(0).forEach((w) => w());
  });
  sock.on("close", () => {
    closed = true;
    waiters.splice(0).forEach((w) => w());
  });
  const next = async (): Promise<ParsedMessage> => {
    while (queue.length === 0) {
      if (closed) throw new Error("connection closed");
      await new Promise<void>((r) => waiters.push(r));
    }
    return queue.shift()!;
  };
  return { sock, conn, next, isClosed: () => closed };
}

describe("WireConnection over TCP", () => {
  it("ECDH answered in plaintext, then routed answers encrypted; requests in payload types 0, 2 and 3", async () => {
    const coreRegistry = new KeyRegistry();
    const port = await startCore(coreRegistry);
    const clientRegistry = new KeyRegistry();
    const c = await startClient(port, clientRegistry);

    // plaintext before any exchange
    const q1 = new Uint8Array([1, 0]);
    c.sock.write(encodeMessage(2, clientRequest({ command: MsgType.REQUEST_COUNT_TRANSACTIONS, domainId, sourceUserId: userId, queryId: q1 })));
    const r1 = await c.next();
    expect(r1.ok && r1.payloadType).toBe(2);
    expect(r1.ok && getInt(r1.message, "count")).toBe(2);
    expect(r1.ok && getBytes(r1.message, "query_id")).toEqual(q1);

    // key exchange, as bbc_app.exchange_key
    const offer = createKeyExchangeOffer(clientRegistry);
    const ex = clientRequest({ command: MsgType.REQUEST_ECDH_KEY_EXCHANGE, domainId, sourceUserId: userId, queryId: new Uint8Array([2, 0]) });
    Object.assign(ex, { ecdh: offer.publicKey, nonce: offer.nonce, hint: offer.keyName, random: offer.random });
    c.sock.write(encodeMessage(2, ex));
    const r2 = await c.next();
    expect(r2.ok).toBe(true);
    if (!r2.ok) return;
    expect(r2.payloadType).toBe(2); // direct response: plaintext
    expect(Object.keys(r2.message)).toEqual(["domain_id", "command", "destination_user_id", "query_id", "status", "ecdh", "nonce", "random", "hint"]);
    expect(r2.message.domain_id).toBeNull();
    expect(getInt(r2.message, "command")).toBe(MsgType.RESPONSE_ECDH_KEY_EXCHANGE);
    expect(getBytes(r2.message, "ecdh")!.length).toBe(97);
    expect(getBytes(r2.message, "nonce")).toEqual(offer.nonce);
    expect(getBytes(r2.message, "random")).toEqual(offer.random);
    const v = keyExchangeValues(r2.message);
    completeKeyExchange(clientRegistry, offer, v);
    c.conn.useKey(offer.keyName);

    // routed answers now arrive encrypted, starting with the client's key name; several in a row
    for (const [pt, i] of [[2, 3], [0, 4], [2, 5]] as const) {
      const q = new Uint8Array([i, 0]);
      c.sock.write(encodeMessage(pt, clientRequest({ command: MsgType.REQUEST_COUNT_TRANSACTIONS, domainId, sourceUserId: userId, queryId: q })));
      const r = await c.next();
      expect(r.ok).toBe(true);
      if (!r.ok) return;
      expect(r.payloadType).toBe(3);
      expect(r.body.subarray(0, 4)).toEqual(offer.keyName);
      expect(getInt(r.message, "count")).toBe(pt);
      expect(getBytes(r.message, "query_id")).toEqual(q);
    }

    // the client may encrypt too (the reference core decrypts payload 3 prefixed with its key name)
    const q6 = new Uint8Array([6, 0]);
    c.sock.write(c.conn.encodeRouted(clientRequest({ command: MsgType.REQUEST_COUNT_TRANSACTIONS, domainId, sourceUserId: userId, queryId: q6 })));
    const r6 = await c.next();
    expect(r6.ok && getInt(r6.message, "count")).toBe(3);
    expect(r6.ok && r6.payloadType).toBe(3);

    // an undecodable payload is reported and the connection goes on
    c.sock.write(new Uint8Array([0, 2, 0, 0, 0, 0, 0, 1, 0xc1]));
    const r7 = await c.next();
    expect(r7.ok).toBe(true);
    expect(r7.ok && r7.message.reason).toEqual(new TextEncoder().encode("MALFORMED_MSGPACK"));

    // a frame with payload type 1 (Type_any) closes the connection
    c.sock.write(new Uint8Array([0, 1, 0, 0, 0, 0, 0, 1, 0x80]));
    await expect(c.next()).rejects.toThrow("connection closed");
    expect(coreRegistry.size).toBe(0); // dispose() removed the core's cipher
  });
});

describe("WireConnection without sockets", () => {
  it("encodeDirect is always plaintext; encodeRouted encrypts only with a live key", () => {
    const reg = new KeyRegistry();
    const conn = new WireConnection({ registry: reg });
    const msg: WireMessage = { command: MsgType.RESPONSE_INSERT, status: 0 };
    expect(conn.encodeRouted(msg)[1]).toBe(2);
    expect(() => conn.useKey(new Uint8Array([1, 2, 3, 4]))).toThrowError(expect.objectContaining({ code: "UNKNOWN_KEY_NAME" }));
    const name = reg.reserveKeyName();
    expect(() => conn.useKey(name)).toThrowError(expect.objectContaining({ code: "UNKNOWN_KEY_NAME" })); // reserved only
    reg.setCipher(name, new Uint8Array(32).fill(1), new Uint8Array(16), new Uint8Array([9, 9, 9, 9]));
    conn.useKey(name);
    expect(conn.keyName).toEqual(name);
    const f = conn.encodeRouted(msg);
    expect(f[1]).toBe(3);
    expect(f.subarray(8, 12)).toEqual(new Uint8Array([9, 9, 9, 9]));
    expect(conn.encodeDirect(msg)[1]).toBe(2);
    conn.dispose();
    expect(reg.hasCipher(name)).toBe(false);
    expect(conn.keyName).toBeUndefined();
    expect(conn.encodeRouted(msg)[1]).toBe(2);
  });

  it("decodes TLV, msgpack and encrypted frames split across chunks", () => {
    const a = new KeyRegistry();
    const b = new KeyRegistry();
    const offer = createKeyExchangeOffer(a);
    const acc = acceptKeyExchange(b, { ecdh: offer.publicKey, nonce: offer.nonce, random: offer.random, hint: offer.keyName });
    completeKeyExchange(a, offer, { ecdh: acc.publicKey, hint: acc.keyName });
    const sender = new WireConnection({ registry: a });
    sender.useKey(offer.keyName);
    const msgs: WireMessage[] = [
      { command: 1, domain_id: domainId },
      { command: 2, reason: new Uint8Array([0x61]) },
      { command: 3, result: true },
    ];
    const stream = [encodeMessage(0, msgs[0]!), encodeMessage(2, msgs[1]!), sender.encodeRouted(msgs[2]!), sender.encodeRouted(msgs[1]!)];
    const all = new Uint8Array(stream.reduce((n, s) => n + s.length, 0));
    let o = 0;
    for (const s of stream) all.set(s, (o += s.length) - s.length);
    const receiver = new WireConnection({ registry: b });
    const got: [number, WireMessage][] = [];
    for (let i = 0; i < all.length; i += 3) for (const m of receiver.feed(all.subarray(i, i + 3))) if (m.ok) got.push([m.payloadType, m.message]);
    receiver.end();
    expect(got).toEqual([[0, msgs[0]], [2, msgs[1]], [3, msgs[2]], [3, msgs[1]]]);
  });
});

describe("key exchange helpers", () => {
  it("both ends derive the same key: each decrypts what the other encrypts, in both directions", () => {
    const a = new KeyRegistry();
    const b = new KeyRegistry();
    const offer = createKeyExchangeOffer(a);
    expect(a.hasCipher(offer.keyName)).toBe(false);
    expect([offer.publicKey.length, offer.nonce.length, offer.random.length, offer.keyName.length]).toEqual([97, 16, 8, 4]);
    const acc = acceptKeyExchange(b, { ecdh: offer.publicKey, nonce: offer.nonce, random: offer.random, hint: offer.keyName });
    completeKeyExchange(a, offer, { ecdh: acc.publicKey, hint: acc.keyName });
    const m: WireMessage = { command: 66, message: new Uint8Array([1, 2, 3]) };
    const ab = encodeMessage(3, m, { registry: a, keyName: offer.keyName });
    expect(decodeFrame(ab, { registry: b }).message).toEqual(m);
    const ba = encodeMessage(3, m, { registry: b, keyName: acc.keyName });
    expect(decodeFrame(ba, { registry: a }).message).toEqual(m);
  });

  it("rejects missing or mis-sized values with BAD_KEY_MATERIAL and leaves the registry untouched", () => {
    const reg = new KeyRegistry();
    const good = { ecdh: createKeyExchangeOffer(new KeyRegistry()).publicKey, nonce: new Uint8Array(16), random: new Uint8Array(8), hint: new Uint8Array(4) };
    for (const bad of [
      { ...good, ecdh: new Uint8Array(96) },
      { ...good, ecdh: new Uint8Array(97).fill(4) }, // not on the curve
      { ...good, nonce: new Uint8Array(15) },
      { ...good, hint: new Uint8Array(5) },
    ]) {
      expect(() => acceptKeyExchange(reg, bad)).toThrowError(expect.objectContaining({ code: "BAD_KEY_MATERIAL" }));
    }
    expect(reg.size).toBe(0);
    expect(() => keyExchangeValues({ ecdh: good.ecdh, nonce: good.nonce, random: good.random })).toThrowError(
      expect.objectContaining({ code: "BAD_KEY_MATERIAL" }),
    );
    expect(() => keyExchangeValues({ ...good, hint: 5 })).toThrowError(expect.objectContaining({ code: "BAD_KEY_MATERIAL" }));
    expect(() => answerClientKeyExchange(reg, { command: 33 })).toThrowError(expect.objectContaining({ code: "BAD_KEY_MATERIAL" }));
  });
});

describe("Buffer input", () => {
  it("values decoded from a Node Buffer are plain Uint8Array copies, not views of the input", () => {
    const id = new Uint8Array(32).fill(7);
    for (const pt of [0, 2] as const) {
      const buf = Buffer.from(encodeMessage(pt, { domain_id: id, message: [id] }));
      const viaFrame = decodeFrame(buf).message;
      const conn = new WireConnection();
      const viaParser = [...conn.feed(Buffer.from(buf))].map((m) => (m.ok ? m.message : undefined))[0]!;
      for (const m of [viaFrame, viaParser]) {
        expect(Object.getPrototypeOf(m.domain_id)).toBe(Uint8Array.prototype);
        expect(m.domain_id).toEqual(id);
      }
      buf.fill(0);
      expect(viaFrame.domain_id).toEqual(id);
    }
  });
});
