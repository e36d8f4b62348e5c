/**
 * The client port's connection lifecycle under the resource limits: who is accepted (total and
 * per-address caps, eviction of idle unregistered connections), how bytes become queued requests
 * (partial-frame budget, per-command frame size, input backpressure), how requests are served
 * (strictly in order per connection, a bounded number per event-loop turn, waiting while the
 * connection's unsent output is over its cap) and when a connection is closed (read, idle and
 * output-stall timeouts, checked by one periodic sweep).
 */
import type { Socket } from "node:net";
import { setImmediate as turn } from "node:timers/promises";
import type { Logger } from "pino";
import { KeyedSlots, MsgType, peekEnvelope, type ByteBudget, type KeyRegistry, type RefusalCounter } from "@bbc1/wire";
import { ClientConnection, type QueuedRequest } from "./connection.js";
import { LARGE_COMMANDS, RESPONSE_OF } from "./boundary.js";
import type { DecodeBudget } from "@bbc1/bbclib";
import type { PortLimits } from "./limits.js";
import type { OutputPool } from "./outbox.js";
import type { BBcStats } from "./stats.js";

/** What the port needs from the service. */
export interface ClientPortDeps {
  limits: PortLimits;
  registry: KeyRegistry;
  partialFrames: ByteBudget;
  output: OutputPool;
  /** Element and allocation budgets of request payload decoding. */
  decodeBudget: DecodeBudget;
  refusals: RefusalCounter;
  stats: BBcStats;
  logger: Logger;
  /** Handles one request; resolves when done. */
  dispatch(conn: ClientConnection, req: QueuedRequest): void | Promise<void>;
  /** Removes what the connection registered (users, subscriptions, bounces, cipher). */
  cleanup(conn: ClientConnection): void;
  /** True once the service is shutting down. */
  closing(): boolean;
}

/** Requests after which a connection always yields the event loop (CPU-heavy). */
const EXPENSIVE = new Set<number>([MsgType.REQUEST_ECDH_KEY_EXCHANGE, MsgType.REQUEST_GATHER_SIGNATURE]);

/** The connections of the client port. */
export class ClientPort {
  readonly conns = new Set<ClientConnection>();
  readonly #perAddress: KeyedSlots;
  readonly #d: ClientPortDeps;
  readonly #l: PortLimits;
  readonly #sweep: NodeJS.Timeout;
  #nextId = 1;

  constructor(deps: ClientPortDeps) {
    this.#d = deps;
    this.#l = deps.limits;
    this.#perAddress = new KeyedSlots(this.#l.maxConnectionsPerAddress);
    const l = this.#l;
    const shortest = Math.min(...[l.readTimeoutMs, l.readTimeoutUnregisteredMs, l.idleTimeoutMs, l.idleTimeoutUnregisteredMs, l.outputStallMs].filter((t) => t > 0), 4000);
    this.#sweep = setInterval(() => this.sweep(), Math.max(50, Math.floor(shortest / 4)));
    this.#sweep.unref();
  }

  /** Stops the sweep (at shutdown). */
  stop(): void {
    clearInterval(this.#sweep);
  }

  /** Accepts a new socket under the connection caps, evicting an idle unregistered connection if that makes room. */
  accept(socket: Socket): void {
    const d = this.#d;
    if (d.closing()) {
      socket.destroy();
      return;
    }
    const raw = socket.remoteAddress ?? "";
    const address = raw.startsWith("::ffff:") ? raw.slice(7) : raw;
    if (this.conns.size >= this.#l.maxConnections && !this.#evict(undefined)) return this.#refuse(socket, "connections_total");
    if (this.#perAddress.count(address) >= this.#l.maxConnectionsPerAddress && !this.#evict(address)) return this.#refuse(socket, "connections_per_address");
    this.#perAddress.tryAcquire(address);
    const conn = new ClientConnection(this.#nextId++, socket, {
      registry: d.registry,
      limits: this.#l,
      partialFrames: d.partialFrames,
      output: d.output,
      decodeBudget: d.decodeBudget,
      now: Date.now,
      onOverflow: (c, reason) => this.close(c, reason, "unsent output over its limit"),
    });
    this.conns.add(conn);
    d.stats.increment("client", "total_num");
    socket.on("data", (chunk: Buffer) => this.#onData(conn, chunk));
    socket.on("error", (e) => d.logger.debug({ conn: conn.id, err: e.message }, "client socket error"));
    socket.on("close", () => this.#onClose(conn));
  }

  #refuse(socket: Socket, limit: "connections_total" | "connections_per_address"): void {
    this.#d.refusals.count(limit);
    this.#d.logger.debug({ address: socket.remoteAddress, limit }, "client connection refused");
    socket.destroy();
  }

  /** Closes the longest-idle unregistered connection (of `address` when given) that has nothing in progress. */
  #evict(address: string | undefined): boolean {
    let victim: ClientConnection | undefined;
    for (const c of this.conns) {
      if (c.closed || c.registered || c.busy || c.queue.length > 0 || c.outbox.pending > 0) continue;
      if (address !== undefined && c.address !== address) continue;
      if (victim === undefined || c.lastRequestAt < victim.lastRequestAt) victim = c;
    }
    if (victim === undefined) return false;
    this.close(victim, "evicted_idle", "idle unregistered connection evicted for a new one");
    return true;
  }

  /** Closes a connection, counting `limit`. */
  close(conn: ClientConnection, limit: string, why: string): void {
    if (conn.closed) return;
    this.#d.refusals.count(limit);
    this.#d.logger.info({ conn: conn.id, address: conn.address, limit }, `closing client connection: ${why}`);
    conn.socket.destroy();
    this.#onClose(conn);
  }

  #onData(conn: ClientConnection, chunk: Buffer): void {
    if (conn.closed) return;
    const d = this.#d;
    const { parser } = conn;
    const now = Date.now();
    try {
      parser.push(chunk);
      for (;;) {
        const m = parser.next();
        if (m === undefined) break;
        conn.lastRequestAt = now;
        if (!m.ok) {
          if (m.error.code === "REFUSED") {
            d.refusals.count("request_size");
            d.logger.debug({ conn: conn.id, err: m.error.message }, "oversized request dropped");
            this.#answerRefused(conn, m.payloadType, m.body, `request of ${m.body.length} bytes exceeds max_request_bytes (${this.#l.maxRequestBytes})`);
          } else if (m.error.code === "DECODE_BUDGET") {
            d.refusals.count("decode_budget");
            d.logger.debug({ conn: conn.id, err: m.error.message }, "request over the decode budget dropped");
            this.#answerRefused(conn, m.payloadType, m.body, "request exceeds the decode budget");
          } else {
            d.stats.increment("client", "num_bad_message");
            d.logger.debug({ conn: conn.id, code: m.error.code, err: m.error.message }, "undecodable client message dropped");
          }
          continue;
        }
        const cmd = m.message.command;
        // encrypted frames can only be sized after decryption
        if (m.body.length > this.#l.maxRequestBytes && !(typeof cmd === "number" && LARGE_COMMANDS.has(cmd))) {
          d.refusals.count("request_size");
          continue;
        }
        conn.queue.push({ message: m.message, payloadType: m.payloadType, size: m.body.length });
        conn.queuedBytes += m.body.length;
      }
    } catch (e) {
      const code = (e as { code?: string }).code;
      const limit = code === "OVER_BUDGET" ? "partial_frames_total" : code === "TOO_LARGE" ? "frame_size" : "framing";
      this.close(conn, limit, `framing: ${(e as Error).message}`);
      return;
    }
    conn.frameStartedAt = parser.hasPartialFrame ? conn.frameStartedAt || now : 0;
    this.#updateReading(conn);
    if (!conn.busy && conn.queue.length > 0) void this.#drain(conn);
  }

  /** An error answer to a request refused before decoding, when its command has one (read from the frame). */
  #answerRefused(conn: ClientConnection, payloadType: number, body: Uint8Array, reason: string): void {
    const e = peekEnvelope(payloadType, body);
    const answer = e.command !== undefined ? RESPONSE_OF.get(e.command) : undefined;
    if (answer === undefined) return;
    conn.sendPlain(
      {
        domain_id: e.domain_id ?? null,
        command: answer,
        destination_user_id: e.source_user_id ?? null,
        query_id: e.query_id ?? null,
        status: -1,
        reason,
      },
      this.#d.output,
    );
  }

  /** Pauses reading while the queue, the queued bytes or the unsent output are over their limits; resumes below half. */
  #updateReading(conn: ClientConnection): void {
    if (conn.closed) return;
    const l = this.#l;
    const over = conn.queue.length >= l.maxQueuedRequests || conn.queuedBytes >= l.inputBytesPerConnection || conn.waitingOutput;
    const under = conn.queue.length <= l.maxQueuedRequests >>> 1 && conn.queuedBytes <= l.inputBytesPerConnection / 2 && !conn.waitingOutput;
    if (!conn.paused && over) {
      conn.paused = true;
      conn.pausedAt = Date.now();
      conn.socket.pause();
    } else if (conn.paused && under && !this.#d.closing()) {
      conn.paused = false;
      // a frame in progress does not age while we were not reading it
      if (conn.frameStartedAt > 0) conn.frameStartedAt += Date.now() - conn.pausedAt;
      conn.pausedAt = 0;
      conn.socket.resume();
    }
  }

  async #drain(conn: ClientConnection): Promise<void> {
    conn.busy = true;
    let done!: () => void;
    conn.idle = new Promise<void>((r) => (done = r));
    const l = this.#l;
    let served = 0;
    try {
      while (conn.queue.length > 0 && !conn.closed) {
        if (conn.outbox.pending > l.outputBytesPerConnection) {
          // a client that does not read its answers gets no more executed until it does
          conn.waitingOutput = true;
          this.#updateReading(conn);
          await conn.outbox.whenBelow(l.outputBytesPerConnection);
          conn.waitingOutput = false;
          if (conn.closed) break;
        }
        const req = conn.queue.shift()!;
        conn.queuedBytes -= req.size;
        try {
          const r = this.#d.dispatch(conn, req);
          if (r !== undefined) await r;
        } catch (e) {
          this.#d.logger.error({ conn: conn.id, err: e }, "request handling failed");
        }
        served++;
        this.#updateReading(conn);
        if (served >= l.requestsPerTurn || EXPENSIVE.has(req.message.command as number)) {
          served = 0;
          await turn();
        }
      }
    } finally {
      conn.busy = false;
      conn.waitingOutput = false;
      this.#updateReading(conn);
      done();
    }
  }

  /** Applies the read, idle and output-stall timeouts. */
  sweep(now = Date.now()): void {
    const l = this.#l;
    for (const c of this.conns) {
      if (c.closed) continue;
      const registered = c.registered;
      const readTimeout = registered ? l.readTimeoutMs : l.readTimeoutUnregisteredMs;
      if (c.frameStartedAt > 0 && !c.paused && readTimeout > 0 && now - c.frameStartedAt > readTimeout) {
        this.close(c, "read_timeout", "frame not complete within the read timeout");
        continue;
      }
      const idleTimeout = registered ? l.idleTimeoutMs : l.idleTimeoutUnregisteredMs;
      if (idleTimeout > 0 && c.frameStartedAt === 0 && !c.busy && c.queue.length === 0 && now - c.lastRequestAt > idleTimeout) {
        this.close(c, "idle_timeout", "no request within the idle timeout");
        continue;
      }
      if (c.outbox.pending > l.outputBytesPerConnection) {
        if (c.overOutputSince === 0) c.overOutputSince = now;
        else if (l.outputStallMs > 0 && now - c.overOutputSince > l.outputStallMs) this.close(c, "output_stall", "unsent output stayed over its limit");
      } else c.overOutputSince = 0;
    }
  }

  #onClose(conn: ClientConnection): void {
    if (conn.closed) return;
    conn.closed = true;
    this.conns.delete(conn);
    this.#perAddress.release(conn.address);
    this.#d.cleanup(conn);
    conn.outbox.dispose();
    conn.parser.reset();
    conn.queue.length = 0;
    conn.queuedBytes = 0;
    this.#d.stats.decrement("client", "total_num");
  }

  /** Shutdown: stop reading everywhere (requests already read still run). */
  pauseAll(): void {
    for (const c of this.conns) {
      c.paused = true;
      c.socket.pause();
    }
  }
}
