/**
 * What a connection sends: a queue of frames handed to the socket only as fast as it drains
 * (writes honour `drain`), with encrypted frames encrypted chunk by chunk at that moment. One
 * encoding fanned out to many connections is held once ({@link SharedBytes}) and counted once
 * against the process-wide output budget, whatever the number of connections or ECDH sessions.
 */
import type { Socket } from "node:net";
import { ByteBudget, encodeHeader, encodePayload, type CipherEntry, type WireMessage } from "@bbc1/wire";

/** Encrypted payloads are produced in pieces of this size, as the socket drains. */
const ENCRYPT_CHUNK = 64 * 1024;

/**
 * The process-wide pool of bytes queued for sending. When a reservation does not fit, the
 * connection with the largest backlog is closed (repeatedly, while that frees anything).
 */
export class OutputPool {
  readonly budget: ByteBudget;
  readonly outboxes = new Set<Outbox>();

  constructor(limit: number) {
    this.budget = new ByteBudget(limit);
  }

  /** Reserves `n` bytes for `forBox`, closing the largest other backlogs if needed. */
  reserve(n: number, forBox: Outbox): boolean {
    for (;;) {
      if (this.budget.tryReserve(n)) return true;
      let worst: Outbox | undefined;
      for (const o of this.outboxes) if (o !== forBox && o.pending > 0 && (worst === undefined || o.pending > worst.pending)) worst = o;
      if (worst === undefined) return false;
      worst.overflow("output_total");
    }
  }
}

/** Encoded bytes shared by the frames of many connections; reserved once, released by the last user. */
export class SharedBytes {
  readonly bytes: Uint8Array;
  #refs = 0;
  readonly #pool: OutputPool;

  constructor(bytes: Uint8Array, pool: OutputPool) {
    this.bytes = bytes;
    this.#pool = pool;
  }

  retain(forBox: Outbox): boolean {
    if (this.#refs === 0 && !this.#pool.reserve(this.bytes.length, forBox)) return false;
    this.#refs++;
    return true;
  }

  release(): void {
    if (this.#refs <= 0) return;
    if (--this.#refs === 0) this.#pool.budget.release(this.bytes.length);
  }
}

/** A msgpack payload encoded once, as parts (usually one), ready to be queued on many connections. */
export class EncodedPayload {
  readonly parts: SharedBytes[];
  readonly length: number;

  constructor(parts: SharedBytes[]) {
    this.parts = parts;
    this.length = parts.reduce((n, p) => n + p.bytes.length, 0);
  }

  /** Encodes `msg` (payload type 2 body). */
  static of(msg: WireMessage, pool: OutputPool): EncodedPayload {
    return new EncodedPayload([new SharedBytes(encodePayload(2, msg), pool)]);
  }
}

interface Item {
  payload: EncodedPayload;
  /** Encrypt with this entry (payload type 3) instead of sending plaintext (type 2). */
  cipher: CipherEntry | undefined;
  /** Bytes on the wire (header included). */
  length: number;
  /** Next part to hand over, and offset inside it (encrypted items). */
  part: number;
  offset: number;
  started: boolean;
  released: boolean;
}

/** Reasons an outbox asks its owner to close the connection. */
export type OverflowReason = "connection_output" | "output_total";

/**
 * The send queue of one connection. `pending` (queued + in the socket's buffer) is what the
 * per-connection output caps are checked against.
 */
export class Outbox {
  readonly #socket: Socket;
  readonly #pool: OutputPool;
  readonly #maxBytes: number;
  readonly #onOverflow: (reason: OverflowReason) => void;
  readonly #items: Item[] = [];
  readonly #inflight = new Set<Item>();
  readonly #drainWaiters: Array<() => void> = [];
  #queued = 0;
  #disposed = false;

  constructor(socket: Socket, pool: OutputPool, maxBytes: number, onOverflow: (reason: OverflowReason) => void) {
    this.#socket = socket;
    this.#pool = pool;
    this.#maxBytes = maxBytes;
    this.#onOverflow = onOverflow;
    pool.outboxes.add(this);
    socket.on("drain", () => this.#flush());
  }

  /** Bytes queued here plus those in the socket's buffer. */
  get pending(): number {
    return this.#queued + this.#socket.writableLength;
  }

  /** Closes the connection for `reason` (through the owner). */
  overflow(reason: OverflowReason): void {
    if (this.#disposed) return;
    this.#onOverflow(reason);
    this.dispose();
  }

  /**
   * Queues a payload, plaintext or encrypted with `cipher`. False (and the connection closed)
   * when it would take the connection past its hard cap or the process past its pool; a single
   * payload on an empty queue is always accepted (an answer larger than the cap must still go).
   */
  send(payload: EncodedPayload, cipher?: CipherEntry): boolean {
    if (this.#disposed || this.#socket.destroyed) return false;
    const length = 8 + (cipher !== undefined ? 4 : 0) + payload.length;
    const pending = this.pending;
    if (pending > 0 && pending + length > this.#maxBytes) {
      this.overflow("connection_output");
      return false;
    }
    let retained = 0;
    for (const p of payload.parts) {
      if (!p.retain(this)) {
        for (let i = 0; i < retained; i++) payload.parts[i]!.release();
        this.overflow("output_total");
        return false;
      }
      retained++;
    }
    this.#items.push({ payload, cipher, length, part: 0, offset: 0, started: false, released: false });
    this.#queued += length;
    this.#flush();
    return true;
  }

  /** Resolves once `pending` is at most `bytes` (or the outbox is disposed). */
  whenBelow(bytes: number): Promise<void> {
    if (this.#disposed || this.pending <= bytes) return Promise.resolve();
    return new Promise((resolve) => {
      const check = (): void => {
        if (this.#disposed || this.pending <= bytes) resolve();
        else this.#drainWaiters.push(check);
      };
      this.#drainWaiters.push(check);
    });
  }

  #release(item: Item): void {
    if (item.released) return;
    item.released = true;
    for (const p of item.payload.parts) p.release();
  }

  #flush(): void {
    const s = this.#socket;
    if (this.#disposed || s.destroyed) return;
    if (this.#items.length > 0) {
      s.cork();
      try {
        while (this.#items.length > 0 && !s.writableNeedDrain && !s.destroyed) this.#writeSome(this.#items[0]!);
      } finally {
        s.uncork();
      }
    }
    const waiters = this.#drainWaiters.splice(0);
    for (const w of waiters) w();
  }

  /** Hands the next piece of `item` to the socket. */
  #writeSome(item: Item): void {
    const s = this.#socket;
    const parts = item.payload.parts;
    if (!item.started) {
      item.started = true;
      const enc = item.cipher;
      const head = encodeHeader({ payloadType: enc !== undefined ? 3 : 2, formatVersion: 0, length: item.length - 8 });
      s.write(enc !== undefined ? concat2(head, enc.hint) : head);
      this.#queued -= head.length + (enc !== undefined ? 4 : 0);
      if (parts.length === 0) return this.#finish(item);
    }
    const part = parts[item.part]!.bytes;
    if (item.cipher === undefined) {
      // plaintext parts go to the socket as they are (no copy); released once written out
      const last = item.part === parts.length - 1;
      this.#queued -= part.length;
      item.part++;
      if (last) {
        this.#items.shift();
        this.#inflight.add(item);
        s.write(part, () => {
          this.#inflight.delete(item);
          this.#release(item);
        });
      } else s.write(part);
      return;
    }
    const end = Math.min(part.length, item.offset + ENCRYPT_CHUNK);
    const piece = item.cipher.encryptor.update(part.subarray(item.offset, end));
    this.#queued -= end - item.offset;
    item.offset = end;
    s.write(piece);
    if (end === part.length) {
      item.part++;
      item.offset = 0;
      if (item.part === parts.length) this.#finish(item);
    }
  }

  #finish(item: Item): void {
    this.#items.shift();
    this.#release(item);
  }

  /** Drops everything queued and gives the shared bytes back (on close). */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#pool.outboxes.delete(this);
    for (const it of this.#items.splice(0)) this.#release(it);
    for (const it of this.#inflight) this.#release(it);
    this.#inflight.clear();
    this.#queued = 0;
    const waiters = this.#drainWaiters.splice(0);
    for (const w of waiters) w();
  }
}

function concat2(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

function mapHeader(n: number): Uint8Array {
  if (n <= 15) return new Uint8Array([0x80 | n]);
  if (n <= 0xffff) return new Uint8Array([0xde, n >>> 8, n & 0xff]);
  return new Uint8Array([0xdf, n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]);
}

/** Entries of a msgpack map payload without its header, and their count. */
function entriesOf(body: Uint8Array): { count: number; entries: Uint8Array } {
  const t = body[0]!;
  if (t >= 0x80 && t <= 0x8f) return { count: t & 0x0f, entries: body.subarray(1) };
  if (t === 0xde) return { count: (body[1]! << 8) | body[2]!, entries: body.subarray(3) };
  return { count: ((body[1]! << 24) | (body[2]! << 16) | (body[3]! << 8) | body[4]!) >>> 0, entries: body.subarray(5) };
}

/**
 * Maps that differ only in their first keys (e.g. REQUEST_SIGNATURE to many signers: only
 * `destination_user_id` changes): the shared tail is encoded once and held once; each map adds a
 * few bytes of its own. The bytes equal `encodePayload(2, { ...head, ...tail })`.
 */
export class MapTemplate {
  readonly #tail: SharedBytes;
  readonly #tailCount: number;
  readonly #pool: OutputPool;

  constructor(tail: WireMessage, pool: OutputPool) {
    const { count, entries } = entriesOf(encodePayload(2, tail));
    this.#tail = new SharedBytes(entries, pool);
    this.#tailCount = count;
    this.#pool = pool;
  }

  /** The payload of `{ ...head, ...tail }` (head keys must not appear in the tail). */
  payload(head: WireMessage): EncodedPayload {
    const { count, entries } = entriesOf(encodePayload(2, head));
    const h = mapHeader(count + this.#tailCount);
    const own = new Uint8Array(h.length + entries.length);
    own.set(h, 0);
    own.set(entries, h.length);
    return new EncodedPayload([new SharedBytes(own, this.#pool), this.#tail]);
  }
}
