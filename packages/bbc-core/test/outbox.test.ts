import { createServer, connect, type Socket } from "node:net";
import { randomBytes } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import fc from "fast-check";
import { KEY_TYPE_NAMES, KeyRegistry, encodeMessage, encodePayload, type KeyTypeName, type WireMessage } from "@bbc1/wire";
import { EncodedPayload, MapTemplate, Outbox, OutputPool, type OverflowReason } from "../src/outbox.js";

/** A connected socket pair on loopback: [server side, client side]. */
async function pair(): Promise<[Socket, Socket, () => void]> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const port = (server.address() as { port: number }).port;
  const accepted = new Promise<Socket>((r) => server.once("connection", r));
  const client = connect({ port, host: "127.0.0.1" });
  await new Promise<void>((r) => client.once("connect", () => r()));
  const s = await accepted;
  return [s, client, () => { s.destroy(); client.destroy(); server.close(); }];
}

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function collect(sock: Socket): { bytes: () => Buffer; length: () => number } {
  const parts: Buffer[] = [];
  let n = 0;
  sock.on("data", (d: Buffer) => {
    parts.push(d);
    n += d.length;
  });
  return { bytes: () => Buffer.concat(parts), length: () => n };
}

async function until(pred: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error("timeout");
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("MapTemplate", () => {
  it("head + shared tail are byte-identical to encoding the whole map", () => {
    const names = KEY_TYPE_NAMES as readonly KeyTypeName[];
    fc.assert(
      fc.property(fc.shuffledSubarray([...names], { minLength: 2, maxLength: 30 }), fc.nat(), fc.uint8Array({ maxLength: 70 }), (keys, cut, blob) => {
        const k = 1 + (cut % (keys.length - 1));
        const head: WireMessage = {};
        const tail: WireMessage = {};
        keys.forEach((name, i) => ((i < k ? head : tail) as Record<string, unknown>)[name] = i % 3 === 0 ? blob : i % 3 === 1 ? i * 1000 : null);
        const pool = new OutputPool(1 << 20);
        const got = new MapTemplate(tail, pool).payload(head);
        const flat = Buffer.concat(got.parts.map((p) => p.bytes));
        return flat.equals(Buffer.from(encodePayload(2, { ...head, ...tail })));
      }),
    );
  });
});

describe("Outbox", () => {
  it("sends plaintext and lazily encrypted frames exactly as encodeMessage would, in order", async () => {
    const [s, c, done] = await pair();
    cleanups.push(done);
    const got = collect(c);
    const key = new Uint8Array(randomBytes(32));
    const nonce = new Uint8Array(randomBytes(16));
    const name = new Uint8Array([1, 2, 3, 4]);
    const hint = new Uint8Array([9, 8, 7, 6]);
    const mine = new KeyRegistry();
    const twin = new KeyRegistry();
    mine.setCipher(name, key, nonce, hint);
    twin.setCipher(name, key, nonce, hint);
    const pool = new OutputPool(1 << 30);
    const box = new Outbox(s, pool, 1 << 30, () => undefined);
    const msgs: WireMessage[] = Array.from({ length: 12 }, (_, i) => ({ command: 66, message: new Uint8Array(randomBytes(i * 40_000)), query_id: new Uint8Array([i, 0]) }));
    const expected: Uint8Array[] = [];
    msgs.forEach((m, i) => {
      const enc = i % 3 !== 0;
      box.send(EncodedPayload.of(m, pool), enc ? mine.get(name) : undefined);
      expected.push(enc ? encodeMessage(3, m, { registry: twin, keyName: name }) : encodeMessage(2, m));
    });
    const want = Buffer.concat(expected);
    await until(() => got.length() >= want.length);
    expect(got.bytes().equals(want)).toBe(true);
    await until(() => pool.budget.used === 0);
  });

  it("a payload fanned out to several connections is held and counted once", async () => {
    const pool = new OutputPool(1 << 30);
    const pairs = await Promise.all([pair(), pair(), pair()]);
    for (const p of pairs) cleanups.push(p[2]);
    const boxes = pairs.map(([s, c]) => {
      c.pause();
      return new Outbox(s, pool, 1 << 30, () => undefined);
    });
    const payload = EncodedPayload.of({ command: 66, message: new Uint8Array(8 << 20) }, pool);
    for (const b of boxes) expect(b.send(payload)).toBe(true);
    expect(pool.budget.used).toBe(payload.length);
    for (const b of boxes) b.dispose();
    expect(pool.budget.used).toBe(0);
  });

  it("closes a connection that does not read once its backlog would pass its cap; a single large answer still goes", async () => {
    const [s, c, done] = await pair();
    cleanups.push(done);
    c.pause();
    const pool = new OutputPool(1 << 30);
    const reasons: OverflowReason[] = [];
    const box = new Outbox(s, pool, 4 << 20, (r) => reasons.push(r));
    expect(box.send(EncodedPayload.of({ command: 83, message: new Uint8Array(6 << 20) }, pool))).toBe(true);
    let sent = 0;
    while (reasons.length === 0 && sent < 100) {
      box.send(EncodedPayload.of({ command: 83, message: new Uint8Array(1 << 20) }, pool));
      sent++;
    }
    expect(reasons).toEqual(["connection_output"]);
    expect(box.send(EncodedPayload.of({ command: 83 }, pool))).toBe(false);
    expect(pool.budget.used).toBe(0);
  });

  it("when the process pool is full, the connection with the largest backlog is closed", async () => {
    const pool = new OutputPool(10 << 20);
    const pairs = await Promise.all([pair(), pair()]);
    for (const p of pairs) cleanups.push(p[2]);
    const closed: number[] = [];
    const boxes = pairs.map(([s, c], i) => {
      c.pause();
      return new Outbox(s, pool, 1 << 30, () => closed.push(i));
    });
    expect(boxes[0]!.send(EncodedPayload.of({ message: new Uint8Array(8 << 20) }, pool))).toBe(true);
    expect(boxes[1]!.send(EncodedPayload.of({ message: new Uint8Array(4 << 20) }, pool))).toBe(true);
    expect(closed).toEqual([0]);
    expect(pool.budget.used).toBeLessThanOrEqual(10 << 20);
  });
});
