import type { Socket } from "node:net";
import {
  MessageParser,
  TokenBucket,
  WireError,
  peekCommand,
  type ByteBudget,
  type CipherEntry,
  type KeyRegistry,
  type WireMessage,
} from "@bbc1/wire";
import type { DecodeBudget } from "@bbc1/bbclib";
import type { PortLimits } from "./limits.js";
import { EncodedPayload, Outbox, type OutputPool, type OverflowReason } from "./outbox.js";
import { LARGE_COMMANDS } from "./boundary.js";

/** A decoded request waiting for its turn on a connection. */
export interface QueuedRequest {
  message: WireMessage;
  payloadType: number;
  /** Payload bytes of its frame (input accounting, bounce accounting). */
  size: number;
}

/** A held bounce of a message sent from a connection (see Domain). */
export interface PendingBounce {
  timer: NodeJS.Timeout;
  size: number;
  cancel(): void;
}

/** What a connection needs from the port that owns it. */
export interface ConnectionDeps {
  registry: KeyRegistry;
  limits: PortLimits;
  partialFrames: ByteBudget;
  output: OutputPool;
  /** Element and allocation budgets of request payload decoding. */
  decodeBudget: DecodeBudget;
  /** Called when the outbox must close the connection (hard cap, process pool). */
  onOverflow(conn: ClientConnection, reason: OverflowReason): void;
  now(): number;
}

/**
 * One client TCP connection: its frame parser (sharing the process-wide partial-frame budget),
 * request queue (handled strictly in order), outbox, the users registered on it, the
 * subscriptions and bounces it holds, its rate buckets and its ECDH cipher (bound to one domain,
 * as in the reference).
 */
export class ClientConnection {
  readonly id: number;
  readonly socket: Socket;
  /** Remote address (IPv4-mapped IPv6 addresses as plain IPv4). */
  readonly address: string;
  readonly parser: MessageParser;
  readonly queue: QueuedRequest[] = [];
  readonly limits: PortLimits;
  readonly registry: KeyRegistry;
  readonly outbox: Outbox;
  /** domainHex + ":" + userHex → user id, for every REGISTER on this connection. */
  readonly registrations = new Map<string, { domainHex: string; userId: Uint8Array }>();
  /** `domainHex:groupHex:userHex` of every insert-notification subscription asked for here. */
  readonly subscriptions = new Set<string>();
  /** Bounces held for messages sent from this connection. */
  readonly bounces = new Set<PendingBounce>();
  readonly ecdhBucket: TokenBucket;
  readonly gatherBucket: TokenBucket;
  /** Bytes of the queued requests' frames. */
  queuedBytes = 0;
  /** The core's key name for this connection's client cipher, once ECDH completed. */
  cipherKeyName: Uint8Array | undefined;
  /** The domain whose routed traffic is encrypted on this connection. */
  cipherDomainHex: string | undefined;
  busy = false;
  /** Reading paused by us (queue, input or output backpressure). */
  paused = false;
  /** Requests wait because the outbox is over the per-connection output cap. */
  waitingOutput = false;
  closed = false;
  readonly connectedAt: number;
  /** When the last complete request arrived (connect time before the first). */
  lastRequestAt: number;
  /** When the frame now being received started (0: none). */
  frameStartedAt = 0;
  /** When reading was paused (0: reading). */
  pausedAt = 0;
  /** Since when the outbox is over the per-connection output cap (0: not over). */
  overOutputSince = 0;
  /** Resolves when the processing loop has drained (used at shutdown). */
  idle: Promise<void> = Promise.resolve();

  constructor(id: number, socket: Socket, deps: ConnectionDeps) {
    this.id = id;
    this.socket = socket;
    const a = socket.remoteAddress ?? "";
    this.address = a.startsWith("::ffff:") ? a.slice(7) : a;
    this.registry = deps.registry;
    this.limits = deps.limits;
    const l = deps.limits;
    this.connectedAt = this.lastRequestAt = deps.now();
    this.ecdhBucket = new TokenBucket(l.ecdhPerSecond, l.ecdhBurst);
    this.gatherBucket = new TokenBucket(l.gathersPerSecond, l.gathersPerSecond * 2);
    this.outbox = new Outbox(socket, deps.output, l.outputMaxBytesPerConnection, (reason) => deps.onOverflow(this, reason));
    this.parser = new MessageParser({
      registry: deps.registry,
      maxMessageSize: l.maxFrameBytes,
      budget: deps.partialFrames,
      decodeBudget: deps.decodeBudget,
      unknownKeys: "drop",
      // the header does not name the command: read it from the payload before decoding anything
      admit: (f) => {
        if (f.body.length <= l.maxRequestBytes || f.payloadType === 3) return undefined;
        const cmd = peekCommand(f.payloadType, f.body);
        if (cmd !== undefined && LARGE_COMMANDS.has(cmd)) return undefined;
        return new WireError("REFUSED", `frame of ${f.body.length} bytes for command ${cmd ?? "unknown"} exceeds max_request_bytes ${l.maxRequestBytes}`);
      },
    });
  }

  /** True when a user is registered on this connection. */
  get registered(): boolean {
    return this.registrations.size > 0;
  }

  /** Queues a payload (plaintext, or encrypted with `cipher`). False when the connection is gone or was closed for it. */
  send(payload: EncodedPayload, cipher?: CipherEntry): boolean {
    if (this.closed || this.socket.destroyed) return false;
    return this.outbox.send(payload, cipher);
  }

  /** Sends a plaintext msgpack frame (direct delivery). */
  sendPlain(msg: WireMessage, pool: OutputPool): boolean {
    return this.send(EncodedPayload.of(msg, pool));
  }

  /** The client cipher for routed traffic of `domainHex`, if this connection completed ECDH for it. */
  cipherFor(domainHex: string): CipherEntry | undefined {
    if (this.cipherKeyName === undefined || this.cipherDomainHex !== domainHex) return undefined;
    return this.registry.get(this.cipherKeyName);
  }

  /**
   * Sends a routed message of `domainHex`: encrypted (payload 3, client's key-name prefix) when
   * this connection completed ECDH for that domain, else plaintext. `payload` is the message
   * encoded once for every connection it goes to.
   */
  sendRouted(domainHex: string, payload: EncodedPayload): boolean {
    return this.send(payload, this.cipherFor(domainHex));
  }

  /** Forgets the client cipher. */
  dropCipher(): void {
    if (this.cipherKeyName !== undefined) this.registry.unsetCipher(this.cipherKeyName);
    this.cipherKeyName = undefined;
    this.cipherDomainHex = undefined;
  }
}
