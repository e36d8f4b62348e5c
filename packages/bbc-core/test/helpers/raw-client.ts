/**
 * A raw-frame BBc-1 client for tests and benchmarks: builds every message exactly as the
 * Python client `bbc_app.py` v1.1.1 does (payload type 2, base keys command / domain_id /
 * source_user_id / status, a 2-byte little-endian query_id incremented before every message
 * and included except for MESSAGE_WITH_NO_RESPONSE) and collects what the core sends.
 */
import { connect, type Socket } from "node:net";
import { KeyPair, sha256 } from "@bbc1/bbclib";
import {
  KeyRegistry,
  MessageParser,
  MsgType,
  deriveSharedKey,
  encodeMessage,
  encodeTlv,
  generateEcdhKeyPair,
  msgTypeHasQueryId,
  type WireMessage,
} from "@bbc1/wire";
import { randomBytes } from "node:crypto";

/** A message received from the core. */
export interface Received {
  payloadType: number;
  message: WireMessage;
}

export class RawClient {
  readonly socket: Socket;
  readonly registry = new KeyRegistry();
  readonly parser: MessageParser;
  domainId: Uint8Array | null = null;
  userId: Uint8Array | null = null;
  nodeKey: KeyPair | null = null;
  queryId = new Uint8Array([0, 0]);
  readonly inbox: Received[] = [];
  #waiters: { pred: (r: Received) => boolean; resolve: (r: Received) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }[] = [];
  closed = false;
  /** Our key name after {@link exchangeKey}. */
  keyName: Uint8Array | undefined;

  private constructor(socket: Socket) {
    this.socket = socket;
    this.parser = new MessageParser({ registry: this.registry, unknownKeys: "drop" });
    socket.on("data", (chunk: Buffer) => {
      for (const m of this.parser.feed(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength))) {
        if (!m.ok) throw m.error;
        this.#deliver({ payloadType: m.payloadType, message: m.message });
      }
    });
    socket.on("close", () => {
      this.closed = true;
    });
    socket.on("error", () => undefined);
  }

  static connect(port: number, host = "127.0.0.1"): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = connect({ port, host, noDelay: true }, () => resolve(new RawClient(s)));
      s.once("error", reject);
    });
  }

  #deliver(r: Received): void {
    const i = this.#waiters.findIndex((w) => w.pred(r));
    if (i >= 0) {
      const [w] = this.#waiters.splice(i, 1);
      clearTimeout(w!.timer);
      w!.resolve(r);
    } else this.inbox.push(r);
  }

  /** bbc_app `_make_message_structure`. */
  base(command: number): WireMessage {
    const n = ((this.queryId[0]! | (this.queryId[1]! << 8)) + 1) & 0xffff;
    this.queryId = new Uint8Array([n & 0xff, n >>> 8]);
    const msg: WireMessage = { command, domain_id: this.domainId, source_user_id: this.userId, status: 0 };
    if (msgTypeHasQueryId(command)) msg.query_id = this.queryId;
    return msg;
  }

  /** Sends a map as one frame (payload type 2 unless told). */
  send(msg: WireMessage, payloadType: 0 | 2 = 2): void {
    this.socket.write(encodeMessage(payloadType, msg));
  }

  /** Sends raw bytes. */
  sendRaw(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  /** Builds, sends and returns a request (`fields` appended after the base keys). */
  request(command: number, fields: WireMessage = {}): WireMessage {
    const msg = { ...this.base(command), ...fields };
    this.send(msg);
    return msg;
  }

  /** bbc_app `include_admin_info`. */
  admin(command: number, adminFields: WireMessage, topLevel: WireMessage = {}): WireMessage {
    const msg: WireMessage = { ...this.base(command), ...topLevel };
    if (this.nodeKey !== null) {
      msg.admin_info = encodeTlv(adminFields);
      msg.nodekey_signature = this.nodeKey.sign(sha256(msg.admin_info));
    } else Object.assign(msg, adminFields);
    this.send(msg);
    return msg;
  }

  /** Waits for the next received message matching `pred` (default: any). */
  next(pred: (r: Received) => boolean = () => true, timeoutMs = 5000): Promise<Received> {
    const i = this.inbox.findIndex(pred);
    if (i >= 0) return Promise.resolve(this.inbox.splice(i, 1)[0]!);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w.timer !== timer);
        reject(new Error("timeout waiting for a message from the core"));
      }, timeoutMs);
      this.#waiters.push({ pred, resolve, reject, timer });
    });
  }

  /** Waits for the answer to `req` (same query_id). */
  async answer(req: WireMessage, timeoutMs = 5000): Promise<WireMessage> {
    const q = req.query_id as Uint8Array;
    const r = await this.next((x) => x.message.query_id instanceof Uint8Array && Buffer.compare(x.message.query_id, q) === 0, timeoutMs);
    return r.message;
  }

  /** Waits for a message with that command. */
  async command(command: number, timeoutMs = 5000): Promise<WireMessage> {
    return (await this.next((x) => x.message.command === command, timeoutMs)).message;
  }

  /** Asserts nothing arrives for `ms`. */
  async nothing(ms = 200, pred: (r: Received) => boolean = () => true): Promise<boolean> {
    try {
      await this.next(pred, ms);
      return false;
    } catch {
      return true;
    }
  }

  register(onMultinodes = false): void {
    this.request(MsgType.REGISTER, onMultinodes ? { on_multinodes: true } : {});
  }

  /** bbc_app `exchange_key` + `proc_resp_ecdh_key_exchange` (multiq=False style). */
  async exchangeKey(): Promise<WireMessage> {
    const kp = generateEcdhKeyPair();
    const myName = this.registry.reserveKeyName();
    const nonce = new Uint8Array(randomBytes(16));
    const rand = new Uint8Array(randomBytes(8));
    const req = this.request(MsgType.REQUEST_ECDH_KEY_EXCHANGE, { ecdh: kp.publicKey, nonce, hint: myName, random: rand });
    const res = await this.answer(req);
    const key = deriveSharedKey(kp.privateKey, res.ecdh as Uint8Array, rand);
    this.registry.setCipher(myName, key, nonce, res.hint as Uint8Array);
    this.keyName = myName;
    return res;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.closed) return resolve();
      this.socket.once("close", () => resolve());
      this.socket.end();
    });
  }
}

/** Text of a byte value (the core sends text as msgpack raw → bytes). */
export function text(v: unknown): string {
  return v instanceof Uint8Array ? new TextDecoder().decode(v) : String(v);
}
