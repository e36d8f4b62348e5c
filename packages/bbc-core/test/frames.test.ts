/**
 * Byte-level interop: the frames the Python client builds and the frames bbc_core.py answers
 * with, assembled by hand from msgpack-python 0.5 rules (raw family for bytes and text, 4-byte
 * keys, smallest integers) and compared with what goes over the socket.
 */
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getNewId } from "@bbc1/bbclib";
import { MsgType, encodeMessage } from "@bbc1/wire";
import { client, setupDomain, startNode, type TestNode } from "./helpers/node.js";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const key = (n: number) => "a4" + n.toString(16).padStart(8, "0");
const raw32 = (b: Uint8Array) => "da0020" + hex(b);
const frame = (body: string) => "0002" + "0000" + (body.length / 2).toString(16).padStart(8, "0") + body;

describe("exact frames", () => {
  let t: TestNode;
  const domainId = getNewId("frames domain");
  const user = getNewId("frames user");
  beforeAll(async () => {
    t = await startNode();
    await setupDomain(t.port, domainId);
  });
  afterAll(async () => t.stop());

  it("the raw client builds REGISTER and REQUEST_SEARCH_TRANSACTION as bbc_app.py does", async () => {
    const c = await client(t.port, domainId, user);
    const reg = c.base(MsgType.REGISTER);
    expect(hex(encodeMessage(2, reg))).toBe(frame("84" + key(9) + "40" + key(0x50) + raw32(domainId) + key(0x51) + raw32(user) + key(0) + "00"));
    const txid = new Uint8Array(32).fill(7);
    const s = { ...c.base(MsgType.REQUEST_SEARCH_TRANSACTION), transaction_id: txid };
    expect(hex(encodeMessage(2, s))).toBe(
      frame("86" + key(9) + "52" + key(0x50) + raw32(domainId) + key(0x51) + raw32(user) + key(0) + "00" + key(0xb) + "a2" + "0200" + key(0x61) + raw32(txid)),
    );
    await c.close();
  });

  it("the not-found answer is byte-identical to the reference's", async () => {
    const sock = connect({ port: t.port, host: "127.0.0.1" });
    await new Promise((r) => sock.once("connect", r));
    const chunks: Buffer[] = [];
    sock.on("data", (d: Buffer) => chunks.push(d));
    const reg = "84" + key(9) + "40" + key(0x50) + raw32(domainId) + key(0x51) + raw32(user) + key(0) + "00";
    const txid = new Uint8Array(32).fill(9);
    const search = "86" + key(9) + "52" + key(0x50) + raw32(domainId) + key(0x51) + raw32(user) + key(0) + "00" + key(0xb) + "a2" + "0200" + key(0x61) + raw32(txid);
    sock.write(Buffer.from(frame(reg) + frame(search), "hex"));
    const reason = Buffer.from("Cannot find transaction").toString("hex");
    const expected = frame(
      "87" + key(0x50) + raw32(domainId) + key(9) + "53" + key(0x52) + raw32(user) + key(0xb) + "a2" + "0200" + key(0) + "f2" + key(1) + "b7" + reason + key(8) + "a2" + "0002",
    );
    const deadline = Date.now() + 3000;
    while (Buffer.concat(chunks).length < expected.length / 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(Buffer.concat(chunks).toString("hex")).toBe(expected);
    sock.destroy();
  });
});
