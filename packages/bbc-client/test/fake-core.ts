/**
 * A tiny stand-in for bbc_core.py on a real TCP socket: decodes client frames with @bbc1/wire,
 * records them (raw bytes too) and lets each test answer like the reference core would.
 */
import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { FrameParser, KeyRegistry, PayloadType, decodePayload, encodeMessage, type WireMessage } from "@bbc1/wire";

export interface Received {
  conn: FakeConn;
  /** The whole frame as received (header + body). */
  frame: Uint8Array;
  payloadType: number;
  message: WireMessage;
}

export class FakeConn {
  readonly registry = new KeyRegistry();
  /** Set after an ECDH exchange: our key name (the client prefixes nothing; we encrypt with it). */
  keyName: Uint8Array | null = null;
  constructor(readonly socket: Socket) {}

  send(msg: WireMessage, encrypted = false): void {
    const frame = encrypted
      ? encodeMessage(PayloadType.Type_encrypted_msgpack, msg, { registry: this.registry, keyName: this.keyName! })
      : encodeMessage(PayloadType.Type_msgpack, msg);
    this.socket.write(frame);
  }

  sendRaw(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }
}

export type Handler = (r: Received) => void;

export class FakeCore {
  readonly received: Received[] = [];
  readonly conns: FakeConn[] = [];
  handler: Handler = () => {};
  #taken = new Set<Received>();
  #waiters: { pred: (r: Received) => boolean; resolve: (r: Received) => void }[] = [];

  private constructor(readonly server: Server, readonly port: number) {}

  static async start(handler?: Handler): Promise<FakeCore> {
    let core!: FakeCore;
    const server = createServer((socket) => core.#accept(socket));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    core = new FakeCore(server, (server.address() as AddressInfo).port);
    if (handler) core.handler = handler;
    return core;
  }

  #accept(socket: Socket): void {
    const conn = new FakeConn(socket);
    this.conns.push(conn);
    const frames = new FrameParser();
    socket.on("error", () => undefined);
    socket.on("data", (chunk: Buffer) => {
      for (const f of frames.frames(chunk)) {
        const frame = new Uint8Array(8 + f.body.length);
        new DataView(frame.buffer).setUint16(0, f.payloadType);
        new DataView(frame.buffer).setUint32(4, f.body.length);
        frame.set(f.body, 8);
        const message = decodePayload(f.payloadType, f.body, { registry: conn.registry });
        const r: Received = { conn, frame, payloadType: f.payloadType, message };
        this.received.push(r);
        this.handler(r);
        for (const w of [...this.#waiters]) {
          if (!this.#taken.has(r) && w.pred(r)) {
            this.#waiters.splice(this.#waiters.indexOf(w), 1);
            w.resolve(r);
          }
        }
      }
    });
  }

  /** The next (or an already received, not yet taken) message matching `pred`. */
  next(pred: (r: Received) => boolean = () => true, timeoutMs = 5000): Promise<Received> {
    const ready = this.received.find((r) => !this.#taken.has(r) && pred(r));
    if (ready) {
      this.#taken.add(ready);
      return Promise.resolve(ready);
    }
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error("fake core: no matching message")), timeoutMs);
      this.#waiters.push({
        pred,
        resolve: (r) => {
          clearTimeout(t);
          this.#taken.add(r);
          resolve(r);
        },
      });
    });
  }

  async close(): Promise<void> {
    for (const c of this.conns) c.socket.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

export function hex(b: Uint8Array): string {
  return Buffer.from(b).toString("hex");
}

export function unhex(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s.replace(/\s+/g, ""), "hex"));
}

/** The response envelope bbc_core builds (`_make_message_structure`) plus routing's infra_msg_type. */
export function reply(req: WireMessage, command: number, extra: WireMessage = {}, routed = true): WireMessage {
  const m: WireMessage = {
    domain_id: req.domain_id ?? null,
    command,
    destination_user_id: req.source_user_id ?? null,
    query_id: req.query_id ?? null,
    status: 0,
    ...extra,
  };
  if (routed) m.infra_msg_type = new Uint8Array([0, 2]);
  return m;
}
