import { WireError, plainBytes } from "./errors.js";
import { HEADER_LENGTH } from "./header.js";
import { DEFAULT_MAX_MESSAGE_SIZE, decodePayload, type DecodeOptions, type Frame } from "./codec.js";
import type { WireMessage } from "./message.js";
import type { ByteBudget } from "./limits.js";

/** Default of {@link FrameParserOptions.budgetAllowance}: 64 KiB. */
export const DEFAULT_BUDGET_ALLOWANCE = 64 * 1024;

/** Options of {@link FrameParser}. */
export interface FrameParserOptions {
  /** Largest payload accepted, in bytes (default 64 MiB). A larger header closes the parser with `TOO_LARGE`. */
  maxMessageSize?: number;
  /**
   * A byte pool shared by many parsers (the process-wide budget for partial frames). Bytes the
   * parser holds beyond {@link budgetAllowance} are reserved from it as they arrive and given
   * back as frames are taken out; when the pool refuses, the parser closes with `OVER_BUDGET`
   * (close the connection). {@link FrameParser.reset} gives everything back.
   */
  budget?: ByteBudget;
  /**
   * Bytes a parser may hold without touching {@link budget} (default 64 KiB), so that small
   * requests are never refused because large partial frames of others fill the pool.
   */
  budgetAllowance?: number;
}

const EMPTY = new Uint8Array(0);

/**
 * Streaming frame splitter for a byte stream of consecutive frames (TCP). Feed it arbitrary
 * chunks with {@link push}; take complete frames with {@link next} or iterate {@link frames}.
 *
 * - Chunks are kept in a list; a frame body is a zero-copy `subarray` of a chunk when it lies in
 *   one chunk, and is concatenated (once) only when it spans several. Do not reuse a chunk's
 *   memory after pushing it.
 * - Nothing is allocated for the length a header announces until all those bytes have arrived.
 * - A header with an unknown payload type or a length beyond `maxMessageSize` cannot be
 *   skipped safely: the parser closes (throws that `WireError`, then `PARSER_CLOSED` on later use).
 * - Zero-length frames are returned like others (the reference yields no message for them;
 *   {@link MessageParser} skips them).
 */
export class FrameParser {
  /** Largest payload accepted, in bytes. */
  readonly maxMessageSize: number;
  #chunks: Uint8Array[] = [];
  #head = 0; // index of the first chunk with unread bytes
  #offset = 0; // read offset inside #chunks[#head]
  #buffered = 0;
  #payloadType = -1; // header of the frame being received, -1 when waiting for a header
  #formatVersion = 0;
  #length = 0;
  #closed: WireError | undefined;
  readonly #budget: ByteBudget | undefined;
  readonly #allowance: number;
  #reserved = 0; // bytes currently reserved from #budget

  constructor(options?: FrameParserOptions) {
    const max = options?.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
    if (!Number.isSafeInteger(max) || max < 0) {
      throw new WireError("INVALID_ARGUMENT", `maxMessageSize ${String(max)} is not a non-negative integer`);
    }
    this.maxMessageSize = max;
    this.#budget = options?.budget;
    const allowance = options?.budgetAllowance ?? DEFAULT_BUDGET_ALLOWANCE;
    if (!Number.isSafeInteger(allowance) || allowance < 0) {
      throw new WireError("INVALID_ARGUMENT", `budgetAllowance ${String(allowance)} is not a non-negative integer`);
    }
    this.#allowance = allowance;
  }

  /** Bytes this parser holds reserved from its shared budget. */
  get reservedBytes(): number {
    return this.#reserved;
  }

  /** Length announced by the header of the frame being received, or -1 while waiting for a header. */
  get pendingFrameLength(): number {
    return this.#payloadType >= 0 ? this.#length : -1;
  }

  /** Bytes received and not yet returned as part of a frame (a parsed header counts as consumed). */
  get bufferedBytes(): number {
    return this.#buffered;
  }

  /** True after a framing error; the error is {@link closeReason}. */
  get closed(): boolean {
    return this.#closed !== undefined;
  }

  /** The framing error that closed the parser, if any. */
  get closeReason(): WireError | undefined {
    return this.#closed;
  }

  /** True while a frame is partially received (or bytes of a header are buffered). */
  get hasPartialFrame(): boolean {
    return this.#payloadType >= 0 || this.#buffered > 0;
  }

  /** Appends a chunk (no parsing happens here). Throws `PARSER_CLOSED` after a framing error. */
  push(chunk: Uint8Array): void {
    if (this.#closed !== undefined) throw this.#closedError();
    if (!(chunk instanceof Uint8Array)) throw new WireError("INVALID_ARGUMENT", "chunk must be a Uint8Array");
    if (chunk.length === 0) return;
    const budget = this.#budget;
    if (budget !== undefined) {
      const want = Math.max(0, this.#buffered + chunk.length - this.#allowance) - this.#reserved;
      if (want > 0) {
        if (!budget.tryReserve(want)) {
          this.#close(new WireError("OVER_BUDGET", `buffering ${chunk.length} more bytes (${this.#buffered} held) would exceed the shared budget of ${budget.limit} bytes`));
        }
        this.#reserved += want;
      }
    }
    this.#chunks.push(plainBytes(chunk));
    this.#buffered += chunk.length;
  }

  /** Gives reserved bytes beyond what is now held back to the budget. */
  #settle(): void {
    if (this.#budget === undefined) return;
    const keep = Math.max(0, this.#buffered - this.#allowance);
    if (this.#reserved > keep) {
      this.#budget.release(this.#reserved - keep);
      this.#reserved = keep;
    }
  }

  /**
   * The next complete frame, or `undefined` when more bytes are needed. Throws a `WireError`
   * (`UNKNOWN_PAYLOAD_TYPE`, `TOO_LARGE`) and closes the parser on a bad header.
   */
  next(): Frame | undefined {
    if (this.#closed !== undefined) throw this.#closedError();
    if (this.#payloadType < 0) {
      if (this.#buffered < HEADER_LENGTH) return undefined;
      const h = this.#take(HEADER_LENGTH);
      const payloadType = (h[0]! << 8) | h[1]!;
      const length = ((h[4]! << 24) | (h[5]! << 16) | (h[6]! << 8) | h[7]!) >>> 0;
      if (payloadType !== 0 && payloadType !== 2 && payloadType !== 3) {
        this.#close(new WireError("UNKNOWN_PAYLOAD_TYPE", `frame header names payload type ${payloadType}`));
      }
      if (length > this.maxMessageSize) {
        this.#close(new WireError("TOO_LARGE", `frame announces ${length} bytes, maximum is ${this.maxMessageSize}`));
      }
      this.#payloadType = payloadType;
      this.#formatVersion = (h[2]! << 8) | h[3]!;
      this.#length = length;
    }
    if (this.#buffered < this.#length) return undefined;
    const body = this.#length === 0 ? EMPTY : this.#take(this.#length);
    const frame: Frame = { payloadType: this.#payloadType, formatVersion: this.#formatVersion, body };
    this.#payloadType = -1;
    return frame;
  }

  /** Pushes `chunk` (if given) and iterates over every frame now complete. */
  frames(chunk?: Uint8Array): IterableIterator<Frame> {
    if (chunk !== undefined) this.push(chunk);
    return this.#iterate();
  }

  *#iterate(): IterableIterator<Frame> {
    for (let f = this.next(); f !== undefined; f = this.next()) yield f;
  }

  /**
   * Declares the end of the stream. Throws `TRUNCATED_HEADER` / `TRUNCATED` when a frame was
   * cut off. The parser is reset either way.
   */
  end(): void {
    const partialHeader = this.#payloadType < 0 && this.#buffered > 0;
    const partialBody = this.#payloadType >= 0;
    const have = this.#buffered;
    const want = this.#length;
    this.reset();
    if (partialHeader) throw new WireError("TRUNCATED_HEADER", `stream ended inside a frame header (${have} of 8 bytes)`);
    if (partialBody) throw new WireError("TRUNCATED", `stream ended inside a frame (${have} of ${want} payload bytes)`);
  }

  /** Drops buffered data and any close state; reserved budget bytes are given back. */
  reset(): void {
    this.#releaseAll();
    this.#chunks = [];
    this.#head = 0;
    this.#offset = 0;
    this.#buffered = 0;
    this.#payloadType = -1;
    this.#length = 0;
    this.#closed = undefined;
  }

  #releaseAll(): void {
    if (this.#reserved > 0) this.#budget?.release(this.#reserved);
    this.#reserved = 0;
  }

  #close(e: WireError): never {
    this.#releaseAll();
    this.#chunks = [];
    this.#head = 0;
    this.#offset = 0;
    this.#buffered = 0;
    this.#payloadType = -1;
    this.#closed = e;
    throw e;
  }

  #closedError(): WireError {
    return new WireError("PARSER_CLOSED", `parser closed after: ${this.#closed!.message}`, { cause: this.#closed });
  }

  /** Removes `n <= #buffered` bytes from the front; a view when they lie in one chunk. */
  #take(n: number): Uint8Array {
    this.#buffered -= n;
    this.#settle();
    const first = this.#chunks[this.#head]!;
    const avail = first.length - this.#offset;
    if (avail >= n) {
      const out = first.subarray(this.#offset, this.#offset + n);
      this.#offset += n;
      if (this.#offset === first.length) this.#advance();
      return out;
    }
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const c = this.#chunks[this.#head]!;
      const k = Math.min(c.length - this.#offset, n - filled);
      out.set(c.subarray(this.#offset, this.#offset + k), filled);
      filled += k;
      this.#offset += k;
      if (this.#offset === c.length) this.#advance();
    }
    return out;
  }

  #advance(): void {
    this.#head++;
    this.#offset = 0;
    if (this.#head === this.#chunks.length) {
      this.#chunks.length = 0;
      this.#head = 0;
    } else if (this.#head >= 1024 && this.#head * 2 >= this.#chunks.length) {
      this.#chunks = this.#chunks.slice(this.#head);
      this.#head = 0;
    }
  }
}

/** One frame out of a {@link MessageParser}: its decoded message, or why it did not decode. */
export type ParsedMessage =
  | { readonly ok: true; readonly payloadType: number; readonly formatVersion: number; readonly body: Uint8Array; readonly message: WireMessage }
  | { readonly ok: false; readonly payloadType: number; readonly formatVersion: number; readonly body: Uint8Array; readonly error: WireError };

/**
 * Options of {@link MessageParser}: the framing limit and budget of {@link FrameParserOptions},
 * the decoder options, and an admission check.
 */
export interface MessageParserOptions extends DecodeOptions, Pick<FrameParserOptions, "budget" | "budgetAllowance"> {
  /**
   * Called with every complete non-empty frame before it is decoded. Returning a `WireError`
   * refuses the frame without decoding it: the parser yields `{ ok: false, error }` and goes on
   * with the next frame (e.g. a frame too large for the command {@link peekCommand} finds).
   */
  admit?: (frame: Frame) => WireError | undefined;
}

/**
 * Streaming message parser (the reference's `Message.recv`/`parse`): feed chunks, get decoded
 * messages in order.
 *
 * - A payload that does not decode (bad msgpack, not a map, unknown key, decryption failure)
 *   yields `{ ok: false, error }` and parsing continues with the next frame: framing is intact.
 * - A bad header (unknown payload type, length beyond `maxMessageSize`) cannot be recovered
 *   from on a stream: the parser throws that `WireError` and is closed (`PARSER_CLOSED` after).
 * - Zero-length frames yield nothing, as in the reference.
 * - Encrypted frames are decrypted here, in stream order, with `options.registry`.
 */
export class MessageParser {
  readonly #frames: FrameParser;
  readonly #options: DecodeOptions;
  readonly #admit: ((frame: Frame) => WireError | undefined) | undefined;

  constructor(options?: MessageParserOptions) {
    this.#frames = new FrameParser(options);
    this.#options = { ...options };
    this.#admit = options?.admit;
  }

  /** See {@link FrameParser.bufferedBytes}. */
  get bufferedBytes(): number {
    return this.#frames.bufferedBytes;
  }

  /** See {@link FrameParser.hasPartialFrame}. */
  get hasPartialFrame(): boolean {
    return this.#frames.hasPartialFrame;
  }

  /** See {@link FrameParser.reservedBytes}. */
  get reservedBytes(): number {
    return this.#frames.reservedBytes;
  }

  /** See {@link FrameParser.pendingFrameLength}. */
  get pendingFrameLength(): number {
    return this.#frames.pendingFrameLength;
  }

  /** True after a framing error. */
  get closed(): boolean {
    return this.#frames.closed;
  }

  /** Appends a chunk. */
  push(chunk: Uint8Array): void {
    this.#frames.push(chunk);
  }

  /** The next complete message (or decode failure), or `undefined` when more bytes are needed. */
  next(): ParsedMessage | undefined {
    for (;;) {
      const f = this.#frames.next();
      if (f === undefined) return undefined;
      if (f.body.length === 0) continue;
      const refused = this.#admit?.(f);
      if (refused !== undefined) return { ok: false, payloadType: f.payloadType, formatVersion: f.formatVersion, body: f.body, error: refused };
      try {
        const message = decodePayload(f.payloadType, f.body, this.#options);
        return { ok: true, payloadType: f.payloadType, formatVersion: f.formatVersion, body: f.body, message };
      } catch (e) {
        const error =
          e instanceof WireError ? e : new WireError("MALFORMED_MSGPACK", `payload failed to decode: ${String(e)}`, { cause: e });
        return { ok: false, payloadType: f.payloadType, formatVersion: f.formatVersion, body: f.body, error };
      }
    }
  }

  /** Pushes `chunk` and iterates over every message now complete (lazily, in order). */
  feed(chunk: Uint8Array): IterableIterator<ParsedMessage> {
    this.push(chunk);
    return this.#iterate();
  }

  /** Iterates over the messages already buffered. */
  messages(): IterableIterator<ParsedMessage> {
    return this.#iterate();
  }

  *#iterate(): IterableIterator<ParsedMessage> {
    for (let m = this.next(); m !== undefined; m = this.next()) yield m;
  }

  /** Declares the end of the stream; throws `TRUNCATED_HEADER` / `TRUNCATED` on a cut-off frame. */
  end(): void {
    this.#frames.end();
  }

  /** Drops buffered data and close state (cipher streams in the registry are not touched). */
  reset(): void {
    this.#frames.reset();
  }
}
