import { createSocket, type RemoteInfo, type Socket as UdpSocket } from "node:dgram";
import { createServer, connect, type Server, type Socket } from "node:net";
import type { Logger } from "pino";
import { FrameParser, HEADER_LENGTH, splitFrame, type Frame, isWireError } from "@bbc1/wire";
import { NetError } from "./errors.js";
import type { NetBudgets } from "./limits.js";
import type { StatsSink } from "./stats.js";
import { usableIPv4, usableIPv6 } from "./addresses.js";

/** Framed size above which a message goes over TCP (v1.1.1 `TCP_THRESHOLD_SIZE`, §2.3). */
export const TCP_THRESHOLD_SIZE = 1300;

/** Where a received frame came from. */
export interface PeerAddress {
  /** How it arrived. */
  readonly transport: "udp" | "tcp";
  /** Source IP address (text). */
  readonly address: string;
  /** 4 or 6. */
  readonly family: 4 | 6;
  /** UDP source port (= the sender's p2p port); null over TCP (ephemeral, meaningless). */
  readonly port: number | null;
}

/** Where to send: a neighbour's addresses and p2p port. */
export interface Destination {
  readonly ipv4: string | null;
  readonly ipv6: string | null;
  readonly port: number;
}

/** What a send did: which path it took, or `"none"` when no usable address/socket/budget existed. */
export type SendResult = "udp4" | "udp6" | "tcp" | "none";

/** Options of {@link Transport}. */
export interface TransportOptions {
  /** P2P port; 0 picks an ephemeral port shared by UDP and TCP. */
  port: number;
  /** IPv4 address to bind (default `0.0.0.0`). */
  host4?: string;
  /** IPv6 address to bind, or null for no IPv6 sockets (default null, §2.6). */
  host6?: string | null;
  budgets: NetBudgets;
  logger: Logger;
  stats: StatsSink;
  /** Called for every received frame that passed framing and the rate budget. */
  onFrame: (frame: Frame, from: PeerAddress) => void;
}

const CAT = "network";

/**
 * UDP and TCP on the one P2P port (§2): one whole frame per datagram, TCP above
 * {@link TCP_THRESHOLD_SIZE} with one short connection per message, closed with a FIN. UDP is
 * always sent from the bound p2p socket, so peers learn our port from the datagram (§2.1).
 *
 * Receiving is hostile-input safe: every datagram and connection is handled in isolation, with
 * the budgets of {@link NetBudgets}; a bad one is a counted drop, never a dead loop.
 */
export class Transport {
  readonly #o: TransportOptions;
  readonly #b: NetBudgets;
  #udp4: UdpSocket | undefined;
  #udp6: UdpSocket | undefined;
  #tcp4: Server | undefined;
  #tcp6: Server | undefined;
  #port = 0;
  #closed = false;
  #pendingUdp = 0;
  #flushWaiters: Array<() => void> = [];
  readonly #inbound = new Set<Socket>();
  readonly #outbound = new Set<Socket>();
  readonly #tcpQueues = new Map<string, Uint8Array[]>();

  constructor(options: TransportOptions) {
    this.#o = options;
    this.#b = options.budgets;
  }

  /** The bound p2p port (after {@link start}). */
  get port(): number {
    return this.#port;
  }

  /** True when an IPv6 UDP socket is open. */
  get hasIPv6(): boolean {
    return this.#udp6 !== undefined;
  }

  /**
   * Binds TCP then UDP on the same port (IPv4, then IPv6 if configured). With port 0 an
   * ephemeral TCP port is taken and UDP bound to it; on a clash both are retried.
   */
  async start(): Promise<void> {
    const host4 = this.#o.host4 ?? "0.0.0.0";
    const host6 = this.#o.host6 ?? null;
    const attempts = this.#o.port === 0 ? 20 : 1;
    let lastErr: unknown;
    for (let i = 0; i < attempts; i++) {
      try {
        this.#tcp4 = await this.#listen(host4, this.#o.port, false);
        const port = (this.#tcp4.address() as { port: number }).port;
        this.#udp4 = await this.#bindUdp("udp4", host4, port);
        if (host6 !== null) {
          this.#tcp6 = await this.#listen(host6, port, true);
          this.#udp6 = await this.#bindUdp("udp6", host6, port);
        }
        this.#port = port;
        return;
      } catch (err) {
        lastErr = err;
        await this.#closeSockets();
      }
    }
    throw new NetError("BIND_FAILED", `cannot bind UDP and TCP on port ${this.#o.port}: ${String((lastErr as Error)?.message ?? lastErr)}`, { cause: lastErr });
  }

  /**
   * Sends one framed message to `dest` by the rule of §2.3, with the IPv6 policy of §2.6:
   * above 1300 bytes over TCP (IPv4 preferred, IPv6 otherwise), else over UDP from the p2p
   * socket to the IPv4 address if one is known, else to the IPv6 address if our IPv6 socket
   * exists. `0.0.0.0` / `::` count as no address.
   */
  send(frame: Uint8Array, dest: Destination): SendResult {
    if (this.#closed || this.#udp4 === undefined) return "none";
    const v4 = usableIPv4(dest.ipv4);
    const v6 = usableIPv6(dest.ipv6);
    if (!Number.isInteger(dest.port) || dest.port < 1 || dest.port > 65535) return "none";
    if (frame.length > TCP_THRESHOLD_SIZE) {
      const host = v4 ?? v6;
      if (host === null) return "none";
      if (!this.#sendTcp(frame, host, dest.port)) return "none";
      this.#o.stats.increment(CAT, "send_msg_by_tcp");
      this.#o.stats.increment(CAT, "sent_data_size", frame.length);
      return "tcp";
    }
    if (v4 !== null) {
      this.#pendingUdp++;
      this.#udp4.send(frame, dest.port, v4, (err) => this.#udpSent("udp4", err));
      this.#o.stats.increment(CAT, "send_msg_by_udp4");
      this.#o.stats.increment(CAT, "sent_data_size", frame.length);
      return "udp4";
    }
    if (v6 !== null && this.#udp6 !== undefined) {
      this.#pendingUdp++;
      this.#udp6.send(frame, dest.port, v6, (err) => this.#udpSent("udp6", err));
      this.#o.stats.increment(CAT, "send_msg_by_udp6");
      this.#o.stats.increment(CAT, "sent_data_size", frame.length);
      return "udp6";
    }
    return "none";
  }

  /** Resolves when every UDP datagram handed to {@link send} has left (or after `maxWaitMs`). */
  async flush(maxWaitMs = 500): Promise<void> {
    if (this.#tcpQueues.size > 0) await new Promise((r) => setImmediate(r)); // queued TCP sends get their connection
    if (this.#pendingUdp === 0) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, maxWaitMs);
      this.#flushWaiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  #udpSent(path: string, err: Error | null): void {
    if (err) this.#sendFailed(path, err);
    if (--this.#pendingUdp === 0) {
      const w = this.#flushWaiters;
      this.#flushWaiters = [];
      for (const f of w) f();
    }
  }

  /**
   * Closes every socket. Inbound connections are dropped; outgoing sends in flight get up to
   * `graceMs` to finish with a FIN (a reset while a v1.1.1 peer reads kills its TCP loop, H5).
   */
  async close(graceMs = 1000): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const s of this.#inbound) s.destroy();
    const end = Date.now() + graceMs;
    while (this.#outbound.size > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    for (const s of this.#outbound) s.destroy();
    await this.#closeSockets();
  }

  async #closeSockets(): Promise<void> {
    const jobs: Promise<void>[] = [];
    for (const u of [this.#udp4, this.#udp6]) if (u) jobs.push(new Promise((r) => u.close(() => r())));
    for (const t of [this.#tcp4, this.#tcp6]) if (t) jobs.push(new Promise((r) => t.close(() => r())));
    this.#udp4 = this.#udp6 = undefined;
    this.#tcp4 = this.#tcp6 = undefined;
    await Promise.all(jobs.map((p) => p.catch(() => undefined)));
  }

  #listen(host: string, port: number, ipv6Only: boolean): Promise<Server> {
    return new Promise((resolve, reject) => {
      const srv = createServer({ pauseOnConnect: false }, (sock) => this.#accept(sock));
      srv.maxConnections = Math.max(1, this.#b.limits.maxConnections * 2);
      srv.once("error", reject);
      srv.listen({ host, port, ipv6Only, backlog: Math.max(1, this.#b.limits.maxConnections), exclusive: true }, () => {
        srv.off("error", reject);
        srv.on("error", (err) => this.#o.logger.warn({ err }, "p2p TCP server error"));
        resolve(srv);
      });
    });
  }

  #bindUdp(type: "udp4" | "udp6", host: string, port: number): Promise<UdpSocket> {
    return new Promise((resolve, reject) => {
      // Room for bursts (the kernel caps it at net.core.rmem_max): a full receive buffer drops datagrams,
      // and on an encrypted link every lost datagram shifts the peer's keystream (§6.4).
      const sock = createSocket({ type, ipv6Only: type === "udp6", reuseAddr: false, recvBufferSize: 4 * 1024 * 1024, sendBufferSize: 1024 * 1024 });
      sock.once("error", reject);
      sock.bind({ address: host, port, exclusive: true }, () => {
        sock.off("error", reject);
        sock.on("error", (err) => this.#o.logger.warn({ err }, "p2p UDP socket error"));
        sock.on("message", (msg, rinfo) => this.#datagram(msg, rinfo));
        resolve(sock);
      });
    });
  }

  #drop(reason: string, detail?: Record<string, unknown>): void {
    this.#o.stats.increment(CAT, `drop.${reason}`);
    this.#o.logger.debug({ reason, ...detail }, "p2p frame dropped");
  }

  #refuse(limit: string, detail?: Record<string, unknown>): void {
    this.#b.refuse(limit);
    this.#o.stats.increment(CAT, `refused.${limit}`);
    this.#o.logger.debug({ limit, ...detail }, "p2p limit refused");
  }

  #datagram(msg: Buffer, rinfo: RemoteInfo): void {
    try {
      this.#o.stats.increment(CAT, "packets_received_by_udp");
      this.#o.stats.increment(CAT, "received_data_size_by_udp", msg.length);
      // UDP peers are told apart by address and port (their p2p port): nodes sharing a host
      // (loopback, NAT) get a bucket each.
      if (!this.#b.messageRate.tryTake(`${rinfo.address}:${rinfo.port}`)) return this.#refuse("message_rate", { from: rinfo.address });
      if (msg.length > this.#b.limits.maxFrameBytes + HEADER_LENGTH) return this.#refuse("frame_size", { from: rinfo.address });
      let frame: Frame;
      try {
        frame = splitFrame(new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength), { maxMessageSize: this.#b.limits.maxFrameBytes });
      } catch (err) {
        return this.#drop("malformed_frame", { from: rinfo.address, code: isWireError(err) ? err.code : String(err) });
      }
      if (frame.body.length === 0) return this.#drop("malformed_frame", { from: rinfo.address, code: "EMPTY" });
      const family = rinfo.family === "IPv6" ? 6 : 4;
      this.#o.onFrame(frame, { transport: "udp", address: rinfo.address, family, port: rinfo.port });
    } catch (err) {
      this.#drop("handler_error", { err });
    }
  }

  #accept(sock: Socket): void {
    const limits = this.#b.limits;
    const address = sock.remoteAddress ?? "?";
    if (this.#closed) return void sock.destroy();
    if (this.#b.inboundConnections >= limits.maxConnections) {
      this.#refuse("connections_total", { from: address });
      return void sock.destroy();
    }
    if (!this.#b.connectionsPerAddress.tryAcquire(address)) {
      this.#refuse("connections_per_address", { from: address });
      return void sock.destroy();
    }
    this.#b.inboundConnections++;
    this.#inbound.add(sock);
    const family = sock.remoteFamily === "IPv6" ? 6 : 4;
    // Partial frames count against the process-wide pool (64 KiB per connection outside it).
    const parser = new FrameParser({ maxMessageSize: limits.maxFrameBytes, budget: this.#b.partialFrames });
    let frames = 0;
    let done = false;
    const finish = (destroy: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(readTimer);
      parser.reset();
      this.#b.connectionsPerAddress.release(address);
      this.#b.inboundConnections--;
      this.#inbound.delete(sock);
      if (destroy) sock.destroy();
    };
    const readTimer = setTimeout(() => {
      this.#refuse("read_timeout", { from: address });
      finish(true);
    }, limits.readTimeoutMs);
    readTimer.unref?.();
    sock.setTimeout(limits.idleTimeoutMs, () => {
      this.#refuse("idle_timeout", { from: address });
      finish(true);
    });
    sock.on("data", (chunk: Buffer) => {
      if (done) return;
      this.#o.stats.increment(CAT, "message_size_received_by_tcy", chunk.length);
      try {
        parser.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
        for (let f = parser.next(); f !== undefined; f = parser.next()) {
          if (++frames > limits.maxMessagesPerConnection) {
            this.#refuse("messages_per_connection", { from: address });
            return finish(true);
          }
          if (f.body.length === 0) continue;
          if (!this.#b.messageRate.tryTake(address)) {
            this.#refuse("message_rate", { from: address });
            continue;
          }
          try {
            this.#o.onFrame(f, { transport: "tcp", address, family, port: null });
          } catch (err) {
            this.#drop("handler_error", { err });
          }
        }
      } catch (err) {
        // A bad header or the pool is full: the rest of the stream cannot be taken.
        if (isWireError(err, "OVER_BUDGET")) this.#refuse("partial_frames_total", { from: address });
        else if (isWireError(err, "TOO_LARGE")) this.#refuse("frame_size", { from: address });
        this.#drop("malformed_frame", { from: address, code: isWireError(err) ? err.code : String(err) });
        return finish(true);
      }
    });
    sock.on("end", () => {
      if (!done && parser.hasPartialFrame) this.#drop("malformed_frame", { from: address, code: "TRUNCATED" });
      finish(false);
      sock.end();
    });
    sock.on("error", (err) => {
      this.#o.logger.debug({ err, from: address }, "p2p inbound TCP error");
      finish(true);
    });
    sock.on("close", () => finish(false));
  }

  #sendTcp(frame: Uint8Array, host: string, port: number): boolean {
    if (!this.#b.outgoing.tryReserve(frame.length)) {
      this.#refuse("output_total", { to: host });
      return false;
    }
    // Messages to one peer queued in the same event-loop turn share one connection (§15.2: "one
    // short-lived connection per message or per burst"); v1.1.1 receivers parse every frame of a
    // connection. Order is kept, so encrypted frames stay in keystream order.
    const key = `${host}|${port}`;
    let q = this.#tcpQueues.get(key);
    if (q === undefined) {
      q = [];
      this.#tcpQueues.set(key, q);
      setImmediate(() => this.#flushTcp(key, host, port));
    }
    q.push(frame);
    return true;
  }

  #flushTcp(key: string, host: string, port: number): void {
    const q = this.#tcpQueues.get(key);
    this.#tcpQueues.delete(key);
    if (q === undefined || q.length === 0) return;
    const limits = this.#b.limits;
    // at most max_messages_per_connection frames and 4 MiB per connection
    let i = 0;
    while (i < q.length) {
      let bytes = 0;
      let j = i;
      while (j < q.length && j - i < Math.max(1, limits.maxMessagesPerConnection) && (j === i || bytes + q[j]!.length <= 4 * 1024 * 1024)) bytes += q[j++]!.length;
      const batch = q.slice(i, j);
      i = j;
      if (this.#closed || this.#b.outgoingConnections >= limits.maxOutgoingConnections) {
        this.#refuse("outgoing_connections", { to: host });
        this.#b.outgoing.release(bytes);
        continue;
      }
      this.#openTcp(batch, bytes, host, port);
    }
  }

  #openTcp(batch: Uint8Array[], bytes: number, host: string, port: number): void {
    this.#b.outgoingConnections++;
    this.#o.stats.increment(CAT, "tcp_connections_opened");
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      clearTimeout(timer);
      this.#b.outgoingConnections--;
      this.#b.outgoing.release(bytes);
      this.#outbound.delete(sock);
    };
    const sock = connect({ host, port });
    this.#outbound.add(sock);
    const timer = setTimeout(() => {
      this.#sendFailed("tcp", new Error("send timeout"));
      sock.destroy();
      release();
    }, this.#b.limits.sendTimeoutMs);
    timer.unref?.();
    sock.on("error", (err) => {
      this.#sendFailed("tcp", err);
      release();
    });
    sock.on("close", release);
    sock.resume(); // nothing is ever sent back on a P2P connection; discard if it is
    for (let k = 0; k < batch.length - 1; k++) sock.write(batch[k]!);
    // then FIN: the peer reads to EOF and closes (never an RST, H5)
    sock.end(batch[batch.length - 1]!);
  }

  #sendFailed(path: string, err: unknown): void {
    this.#o.stats.increment(CAT, `send_failed.${path}`);
    this.#o.logger.debug({ err, path }, "p2p send failed");
  }
}
