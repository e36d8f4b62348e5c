import { TokenBucket, WireError, decodePayload, type CipherEntry, type KeyRegistry, type NowFn, type WireMessage } from "@bbc1/wire";

/**
 * Decryption of payload type 3 from peers whose CTR streams continue across messages (§6.4),
 * made robust as §6.6 asks: the reference sends large messages over TCP asynchronously and the
 * following UDP ones may arrive first (§18.1), which desynchronises a plain in-order decryptor.
 *
 * Here a frame that does not decrypt at the expected stream position is looked for in the
 * keystream: first in the gaps left by earlier frames that arrived early, then in a window ahead
 * of the position. A candidate offset must turn the first bytes into a msgpack map whose first
 * key is a 4-byte KeyType (`8x a4 00 00 ..`), then decode completely. Scans are rate-limited per
 * key, so garbage under a valid key name costs little.
 */

const MAX_GAPS = 16;

interface StreamState {
  /** Keystream ranges [start, end) skipped by frames that arrived early. */
  gaps: Array<[number, number]>;
  scans: TokenBucket;
}

/** Outcome of {@link StreamDecryptor.decrypt}. */
export interface Decrypted {
  message: WireMessage;
  /** Our key name the frame was addressed to. */
  keyName: Uint8Array;
  /** Keystream offset the frame was found at. */
  offset: number;
  /** True when it was not at the expected position (found by re-synchronisation). */
  resynced: boolean;
}

/** Per-key re-synchronising decryptor over a {@link KeyRegistry}. */
export class StreamDecryptor {
  readonly #registry: KeyRegistry;
  readonly #window: number;
  readonly #now: NowFn;
  readonly #states = new WeakMap<CipherEntry, StreamState>();

  constructor(registry: KeyRegistry, windowBytes: number, now: NowFn) {
    this.#registry = registry;
    this.#window = windowBytes;
    this.#now = now;
  }

  /**
   * Decrypts and decodes an encrypted payload (`key name ‖ ciphertext`). Throws `WireError`
   * `UNKNOWN_KEY_NAME`, `TRUNCATED` or `DECRYPTION_FAILED` (the stream position is then unchanged).
   */
  decrypt(body: Uint8Array, maxFrameBytes: number): Decrypted {
    if (body.length < 4) throw new WireError("TRUNCATED", `encrypted payload of ${body.length} bytes has no key name`);
    const keyName = body.slice(0, 4);
    const entry = this.#registry.get(keyName);
    if (entry === undefined) throw new WireError("UNKNOWN_KEY_NAME", "no cipher for this key name");
    const ct = body.subarray(4);
    const dec = entry.decryptor;
    const pos = dec.position;
    const atPos = this.#tryAt(entry, pos, ct, maxFrameBytes);
    if (atPos !== undefined) return { message: atPos, keyName, offset: pos, resynced: false };
    const st = this.#state(entry);
    if (ct.length >= 4 && st.scans.tryTake()) {
      for (const [s, e] of [...st.gaps]) {
        const found = this.#scan(entry, s, e - s, ct, maxFrameBytes);
        if (found !== undefined) {
          this.#fillGap(st, found.offset, found.offset + ct.length);
          dec.seek(pos);
          return { message: found.message, keyName, offset: found.offset, resynced: true };
        }
      }
      const found = this.#scan(entry, pos + 1, this.#window, ct, maxFrameBytes);
      if (found !== undefined) {
        st.gaps.push([pos, found.offset]);
        if (st.gaps.length > MAX_GAPS) st.gaps.shift();
        dec.seek(found.offset + ct.length);
        return { message: found.message, keyName, offset: found.offset, resynced: true };
      }
    }
    dec.seek(pos);
    throw new WireError("DECRYPTION_FAILED", "payload does not decrypt to a message at any expected keystream position");
  }

  #state(entry: CipherEntry): StreamState {
    let st = this.#states.get(entry);
    if (st === undefined) {
      st = { gaps: [], scans: new TokenBucket(5, 10, this.#now) };
      this.#states.set(entry, st);
    }
    return st;
  }

  #tryAt(entry: CipherEntry, offset: number, ct: Uint8Array, max: number): WireMessage | undefined {
    const dec = entry.decryptor;
    dec.seek(offset);
    const plain = dec.update(ct);
    try {
      return decodePayload(2, plain, { maxMessageSize: max, unknownKeys: "drop" });
    } catch {
      dec.seek(offset);
      return undefined;
    }
  }

  /** Looks for `ct` at offsets [start, start + length] of the keystream. */
  #scan(entry: CipherEntry, start: number, length: number, ct: Uint8Array, max: number): { offset: number; message: WireMessage } | undefined {
    if (length < 0) return undefined;
    const dec = entry.decryptor;
    dec.seek(start);
    const ks = dec.update(new Uint8Array(length + ct.length));
    const c0 = ct[0]!;
    const c1 = ct[1]! ^ 0xa4;
    const c2 = ct[2]!;
    const c3 = ct[3]!;
    for (let i = 0; i <= length; i++) {
      if (ks[i + 1] !== c1 || ks[i + 2] !== c2 || ks[i + 3] !== c3) continue;
      const head = (c0 ^ ks[i]!) & 0xff;
      if ((head & 0xf0) !== 0x80 && head !== 0xde && head !== 0xdf) continue;
      const plain = new Uint8Array(ct.length);
      for (let j = 0; j < ct.length; j++) plain[j] = ct[j]! ^ ks[i + j]!;
      try {
        return { offset: start + i, message: decodePayload(2, plain, { maxMessageSize: max, unknownKeys: "drop" }) };
      } catch {
        // not this offset
      }
    }
    return undefined;
  }

  #fillGap(st: StreamState, s: number, e: number): void {
    const next: Array<[number, number]> = [];
    for (const [gs, ge] of st.gaps) {
      if (e <= gs || s >= ge) {
        next.push([gs, ge]);
        continue;
      }
      if (s > gs) next.push([gs, s]);
      if (e < ge) next.push([e, ge]);
    }
    st.gaps = next;
  }
}
