import { randomBytes } from "node:crypto";
import type { Logger } from "pino";
import { deriveSharedKey, generateEcdhKeyPair, type KeyRegistry } from "@bbc1/wire";
import { ProtocolTimer, uniform, type RandomFn, type Scheduler } from "./clock.js";
import type { NetTimings } from "./timings.js";

/** States of a key exchange (v1.1.1 `KeyExchangeManager.STATE_*`). */
export const KeyExchangeState = Object.freeze({ NONE: 0, REQUESTING: 1, CONFIRMING: 2, ESTABLISHED: 3 } as const);
export type KeyExchangeStateValue = (typeof KeyExchangeState)[keyof typeof KeyExchangeState];

/** The four values carried by REQUEST/RESPONSE/CONFIRM_KEY_EXCHANGE. */
export interface KeyExchangeFields {
  ecdh: Uint8Array;
  nonce: Uint8Array;
  random: Uint8Array;
  hint: Uint8Array;
}

/** Dependencies of one {@link KeyExchange}. */
export interface KeyExchangeDeps {
  /** Process-wide key registry (shared with the client port's ECDH: names are unique across both). */
  registry: KeyRegistry;
  scheduler: Scheduler;
  random: RandomFn;
  timings: NetTimings;
  logger: Logger;
  /** Sends one of the three messages to the peer (plaintext admin message); false when it could not be sent. */
  send: (command: "request" | "response" | "confirm", fields: KeyExchangeFields) => boolean;
  /** Told when a cipher is installed under one of our key names or removed (the network maps names to peers). */
  onKeyName?: (keyName: Uint8Array, installed: boolean) => void;
}

/**
 * ECDH key exchange with one neighbour in one domain (§6.3, v1.1.1 `KeyExchangeManager`):
 * P-384, HKDF-SHA256 (info = initiator's random), AES-256-CTR with the initiator's nonce, one
 * key name per side (unique in the shared registry). One timer: the first exchange after
 * uniform(1, 6) s, retries every 2.5–7.5 s, refresh after ~7 days; the previous key is kept 10 s
 * after a switch.
 *
 * Differences from v1.1.1, none visible on the wire to a well-behaved peer:
 * - a RESPONSE must echo the nonce and random of our current request (stale ones are ignored, Q18);
 * - a REQUEST received while a previous pending name holds a cipher deletes that cipher (leak, Q18);
 * - as responder the retry timer is re-armed (not only advanced), so a brand-new responder's
 *   1–6 s invoke timer cannot delete the key just agreed before the CONFIRM arrives (Q17);
 * - invalid peer key material is ignored instead of raising.
 */
export class KeyExchange {
  readonly #d: KeyExchangeDeps;
  readonly #timer: ProtocolTimer;
  #retry = false;
  #state: KeyExchangeStateValue = KeyExchangeState.NONE;
  #keyName: Uint8Array | null = null;
  #pendingKeyName: Uint8Array | null = null;
  #privateKey: Uint8Array | null = null;
  #publicKey: Uint8Array | null = null;
  #nonce: Uint8Array | null = null;
  #random: Uint8Array | null = null;
  readonly #obsolete = new Set<{ timer: ProtocolTimer; name: Uint8Array }>();
  #closed = false;

  constructor(deps: KeyExchangeDeps) {
    this.#d = deps;
    this.#timer = new ProtocolTimer(deps.scheduler, () => this.#perform(), (err) => deps.logger.error({ err }, "key exchange timer failed"));
  }

  /** Current state. */
  get state(): KeyExchangeStateValue {
    return this.#state;
  }

  /** Our key name in use for sending (set once established), or null. */
  get keyName(): Uint8Array | null {
    return this.#keyName;
  }

  /** True when an established key can encrypt what we send. */
  get canEncrypt(): boolean {
    return this.#state === KeyExchangeState.ESTABLISHED && this.#keyName !== null && this.#d.registry.hasCipher(this.#keyName);
  }

  /** Arms the "invoke" timer: the first exchange after uniform(min, max) (`set_invoke_timer`). */
  startInitial(): void {
    const t = this.#d.timings;
    this.#arm(uniform(this.#d.random, t.keyExchangeInvokeMinMs, t.keyExchangeInvokeMaxMs), false);
  }

  /**
   * Starts a fresh exchange soon (within 0.5–1.5 s) unless one is running: used when a frame
   * from this peer did not decrypt (§6.6). The timer is only advanced, so repeated calls do not
   * postpone it.
   */
  rekeySoon(): void {
    if (this.#closed || this.#state === KeyExchangeState.REQUESTING) return;
    const delay = uniform(this.#d.random, 500, 1500);
    if (this.#timer.active && this.#timer.fireAt <= this.#d.scheduler.now() + delay) return;
    this.#timer.advance(delay);
  }

  /** REQUEST_KEY_EXCHANGE received. */
  onRequest(f: KeyExchangeFields): void {
    if (this.#closed) return;
    if (this.#state !== KeyExchangeState.REQUESTING) {
      if (this.#pendingKeyName !== null && !sameName(this.#pendingKeyName, this.#keyName)) this.#unset(this.#pendingKeyName);
      this.#pendingKeyName = null;
      const pair = generateEcdhKeyPair();
      let sharedKey: Uint8Array;
      try {
        sharedKey = deriveSharedKey(pair.privateKey, f.ecdh, f.random);
      } catch (err) {
        this.#d.logger.debug({ err }, "key exchange request with unusable key material ignored");
        return;
      }
      this.#privateKey = pair.privateKey;
      this.#publicKey = pair.publicKey;
      this.#nonce = f.nonce.slice();
      this.#random = f.random.slice();
      const pending = this.#d.registry.reserveKeyName();
      this.#pendingKeyName = pending;
      this.#state = KeyExchangeState.CONFIRMING;
      this.#d.send("response", { ecdh: pair.publicKey, nonce: this.#nonce, random: this.#random, hint: pending });
      this.#d.registry.setCipher(pending, sharedKey, this.#nonce, f.hint);
      this.#d.onKeyName?.(pending, true);
    } else {
      // Both sides requested at once: both abandon and retry later.
      if (this.#pendingKeyName !== null) this.#unset(this.#pendingKeyName);
      this.#pendingKeyName = null;
      this.#state = this.#keyName !== null ? KeyExchangeState.ESTABLISHED : KeyExchangeState.NONE;
    }
    this.#arm(this.#retryDelay(), true);
  }

  /** RESPONSE_KEY_EXCHANGE received. */
  onResponse(f: KeyExchangeFields): void {
    if (this.#closed || this.#state !== KeyExchangeState.REQUESTING) return;
    if (this.#privateKey === null || this.#pendingKeyName === null || this.#nonce === null || this.#random === null) return;
    if (!bytesEq(f.nonce, this.#nonce) || !bytesEq(f.random, this.#random)) {
      this.#d.logger.debug("key exchange response for another request ignored");
      return;
    }
    let sharedKey: Uint8Array;
    try {
      sharedKey = deriveSharedKey(this.#privateKey, f.ecdh, this.#random);
    } catch (err) {
      this.#d.logger.debug({ err }, "key exchange response with unusable key material ignored");
      return;
    }
    this.#arm(this.#refreshDelay(), false);
    this.#obsoleteLater(this.#keyName);
    this.#d.send("confirm", { ecdh: this.#publicKey!, nonce: this.#nonce, random: this.#random, hint: this.#pendingKeyName });
    this.#keyName = this.#pendingKeyName;
    this.#d.registry.setCipher(this.#keyName, sharedKey, this.#nonce, f.hint);
    this.#d.onKeyName?.(this.#keyName, true);
    this.#state = KeyExchangeState.ESTABLISHED;
    this.#privateKey = null;
  }

  /** CONFIRM_KEY_EXCHANGE received. */
  onConfirm(): void {
    if (this.#closed || this.#state !== KeyExchangeState.CONFIRMING || this.#pendingKeyName === null) return;
    this.#arm(this.#refreshDelay(), false);
    this.#obsoleteLater(this.#keyName);
    this.#keyName = this.#pendingKeyName;
    this.#state = KeyExchangeState.ESTABLISHED;
    this.#privateKey = null;
  }

  /** Stops every timer and deletes every cipher of this peer (neighbour removed, domain closed). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#timer.cancel();
    for (const o of this.#obsolete) {
      o.timer.cancel();
      this.#unset(o.name);
    }
    this.#obsolete.clear();
    if (this.#keyName !== null) this.#unset(this.#keyName);
    if (this.#pendingKeyName !== null) this.#unset(this.#pendingKeyName);
    this.#keyName = this.#pendingKeyName = null;
    this.#state = KeyExchangeState.NONE;
  }

  #perform(): void {
    if (this.#closed) return;
    if (this.#retry && this.#pendingKeyName !== null && !sameName(this.#pendingKeyName, this.#keyName)) {
      this.#unset(this.#pendingKeyName);
    }
    if (this.#retry) this.#pendingKeyName = null;
    this.#state = KeyExchangeState.REQUESTING;
    const pair = generateEcdhKeyPair();
    this.#privateKey = pair.privateKey;
    this.#publicKey = pair.publicKey;
    this.#pendingKeyName = this.#d.registry.reserveKeyName();
    this.#nonce = new Uint8Array(randomBytes(16));
    this.#random = new Uint8Array(randomBytes(8));
    const ok = this.#d.send("request", { ecdh: pair.publicKey, nonce: this.#nonce, random: this.#random, hint: this.#pendingKeyName });
    if (!ok) {
      // No way to reach the peer: give up until something new happens (as v1.1.1).
      this.#state = KeyExchangeState.NONE;
      this.#unset(this.#pendingKeyName);
      if (this.#keyName !== null) this.#unset(this.#keyName);
      this.#keyName = this.#pendingKeyName = null;
      this.#privateKey = this.#publicKey = this.#nonce = this.#random = null;
      return;
    }
    this.#arm(this.#retryDelay(), true);
  }

  #arm(delayMs: number, retry: boolean): void {
    this.#retry = retry;
    this.#timer.start(delayMs);
  }

  #retryDelay(): number {
    return this.#d.timings.keyExchangeRetryMs * uniform(this.#d.random, 0.5, 1.5);
  }

  #refreshDelay(): number {
    return Math.floor(this.#d.timings.keyRefreshMs * uniform(this.#d.random, 0.9, 1.1));
  }

  #obsoleteLater(name: Uint8Array | null): void {
    if (name === null) return;
    const entry = { name, timer: undefined as unknown as ProtocolTimer };
    entry.timer = new ProtocolTimer(
      this.#d.scheduler,
      () => {
        this.#obsolete.delete(entry);
        this.#unset(name);
      },
      (err) => this.#d.logger.error({ err }, "key deletion timer failed"),
    );
    this.#obsolete.add(entry);
    entry.timer.start(this.#d.timings.keyObsoleteMs);
  }

  #unset(name: Uint8Array): void {
    if (this.#d.registry.unsetCipher(name)) this.#d.onKeyName?.(name, false);
  }
}

function bytesEq(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function sameName(a: Uint8Array | null, b: Uint8Array | null): boolean {
  return a !== null && b !== null && bytesEq(a, b);
}
