import type { Socket } from "node:net";
import { MessageParser, encodeMessage, type ByteBudget, type KeyRegistry, type WireMessage } from "@bbc1/wire";

/** A decoded request waiting for its turn on a connection. */
export interface QueuedRequest {
  message: WireMessage;
  payloadType: number;
}

/** Limits applied to every client connection. */
export interface ConnectionLimits {
  /** Largest frame payload accepted from a client (bytes). Larger → connection closed. */
  maxMessageSize: number;
  /** Requests decoded but not yet handled; reading pauses at this depth (backpressure). */
  maxQueuedRequests: number;
  /** Bytes queued for sending to a client that does not read; beyond it the connection is closed. */
  maxWriteBuffer: number;
  /** Process-wide budget of bytes held in partial frames. */
  budget?: ByteBudget;
}

/**
 * One client TCP connection: its frame parser, request queue (handled strictly in order), the
 * users registered on it and its ECDH cipher (bound to one domain, as in the reference).
 */
export class ClientConnection {
  readonly id: number;
  readonly socket: Socket;
  readonly parser: MessageParser;
  readonly queue: QueuedRequest[] = [];
  readonly limits: ConnectionLimits;
  readonly registry: KeyRegistry;
  /** domainHex + ":" + userHex → user id, for every REGISTER on this connection. */
  readonly registrations = new Map<string, { domainHex: string; userId: Uint8Array }>();
  /** The core's key name for this connection's client cipher, once ECDH completed. */
  cipherKeyName: Uint8Array | undefined;
  /** The domain whose routed traffic is encrypted on this connection. */
  cipherDomainHex: string | undefined;
  busy = false;
  paused = false;
  closed = false;
  /** Resolves when the processing loop has drained (used at shutdown). */
  idle: Promise<void> = Promise.resolve();

  constructor(id: number, socket: Socket, registry: KeyRegistry, limits: ConnectionLimits) {
    this.id = id;
    this.socket = socket;
    this.registry = registry;
    this.limits = limits;
    this.parser = new MessageParser({ registry, maxMessageSize: limits.maxMessageSize, budget: limits.budget, unknownKeys: "drop" });
  }

  /** Writes a frame; closes the connection when the peer does not read. Returns false if closed. */
  write(frame: Uint8Array): boolean {
    if (this.closed || this.socket.destroyed) return false;
    this.socket.write(frame);
    if (this.socket.writableLength > this.limits.maxWriteBuffer) {
      this.socket.destroy();
      return false;
    }
    return true;
  }

  /** Sends a plaintext msgpack frame (direct delivery). */
  sendPlain(msg: WireMessage): boolean {
    return this.write(encodeMessage(2, msg));
  }

  /**
   * Sends a routed message of `domainHex`: encrypted (payload 3, client's key-name prefix) when
   * this connection completed ECDH for that domain, else plaintext.
   */
  sendRouted(domainHex: string, msg: WireMessage, plainFrame?: Uint8Array): boolean {
    if (this.cipherKeyName !== undefined && this.cipherDomainHex === domainHex && this.registry.get(this.cipherKeyName) !== undefined) {
      return this.write(encodeMessage(3, msg, { registry: this.registry, keyName: this.cipherKeyName }));
    }
    return this.write(plainFrame ?? encodeMessage(2, msg));
  }

  /** Forgets the client cipher. */
  dropCipher(): void {
    if (this.cipherKeyName !== undefined) this.registry.unsetCipher(this.cipherKeyName);
    this.cipherKeyName = undefined;
    this.cipherDomainHex = undefined;
  }
}
