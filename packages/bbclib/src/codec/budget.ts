/**
 * Decode budgets: how many values one decode may produce and how much heap they may take.
 *
 * A decoder of an untrusted input must not turn a small input into a large heap, nor spend long
 * on the event loop: one byte of msgpack (`0xa0`, an empty string) becomes a `Uint8Array` of
 * about 100 heap bytes, one byte `0x80` an empty object or `Map` of 64-190 bytes. Every decoder of
 * this package (msgpack, BSON, the binary transaction codec, and the TLV decoder of
 * `@bbc1/wire`) charges each value it produces against a budget and stops with
 * `BbcLibError("DECODE_BUDGET")` as soon as one is exceeded, before allocating that value.
 *
 * - **Elements**: every value produced counts one (scalars, byte strings, texts, lists, maps,
 *   map keys, transaction parts). Capped at {@link DecodeBudget.maxElements}. Decode time is
 *   roughly proportional to this count, so it bounds how long one decode holds the thread.
 * - **Allocation**: an estimate of the heap the decoded values take (V8 object sizes, measured on
 *   Node 20 x64, plus the bytes copied out of the input), capped at
 *   `min(maxAllocationBytes, allocationBase + allocationRatio × input length)`.
 */
import { BbcLibError } from "../errors.js";

/** Budgets of one decode. Every field is optional; missing ones take {@link DEFAULT_DECODE_BUDGET}. */
export interface DecodeBudget {
  /** Most values one decode may produce (every scalar, byte string, list, map, map key and part counts one). */
  maxElements?: number;
  /** Estimated heap bytes allowed per input byte, on top of {@link allocationBase}. */
  allocationRatio?: number;
  /** Estimated heap bytes allowed whatever the input length (room for small inputs). */
  allocationBase?: number;
  /** Absolute cap on the estimated heap bytes of one decode. */
  maxAllocationBytes?: number;
}

/**
 * Default budgets of every decoder, chosen so that a node that passes no options is protected:
 *
 * - `maxElements` 32,768: the largest legitimate messages a node receives (an insert with its
 *   asset files, a replication, a gather with its destinations) have hundreds of values; one
 *   decode at the cap takes a few milliseconds (a `Uint8Array` alone costs ~100 ns to create;
 *   see the package README for measured figures).
 * - `allocationRatio` 8 and `allocationBase` 1 MiB: a list of 32-byte ids costs about 3.2 heap
 *   bytes per input byte, a list of small integers 8; hostile inputs made of the smallest values
 *   cost 40-190 and are cut off after 1 MiB + 8 × their length.
 * - `maxAllocationBytes` 160 MiB: room for a 64 MiB message (the default largest frame) whose
 *   byte strings are copied out, with its ordinary overhead.
 */
export const DEFAULT_DECODE_BUDGET: Readonly<Required<DecodeBudget>> = Object.freeze({
  maxElements: 32_768,
  allocationRatio: 8,
  allocationBase: 1024 * 1024,
  maxAllocationBytes: 160 * 1024 * 1024,
});

/** What one decode of a given input may use: see {@link decodeAllowance}. */
export interface DecodeAllowance {
  /** Values the decode may produce. */
  readonly elements: number;
  /** Estimated heap bytes the decode may allocate. */
  readonly bytes: number;
}

function checkNumber(name: string, v: number): number {
  if (typeof v !== "number" || Number.isNaN(v) || v < 0) {
    throw new BbcLibError("BAD_ARGUMENT", `decode budget ${name} must be a number >= 0, got ${String(v)}`);
  }
  return v;
}

/**
 * The elements and estimated heap bytes that one decode of an `inputLength`-byte input may use
 * under `budget` (defaults filled in from {@link DEFAULT_DECODE_BUDGET}). Throws `BAD_ARGUMENT`
 * for a negative or non-numeric budget field.
 */
export function decodeAllowance(budget: DecodeBudget | undefined, inputLength: number): DecodeAllowance {
  const d = DEFAULT_DECODE_BUDGET;
  if (budget === undefined) {
    return { elements: d.maxElements, bytes: Math.min(d.maxAllocationBytes, d.allocationBase + d.allocationRatio * inputLength) };
  }
  const maxElements = checkNumber("maxElements", budget.maxElements ?? d.maxElements);
  const ratio = checkNumber("allocationRatio", budget.allocationRatio ?? d.allocationRatio);
  const base = checkNumber("allocationBase", budget.allocationBase ?? d.allocationBase);
  const max = checkNumber("maxAllocationBytes", budget.maxAllocationBytes ?? d.maxAllocationBytes);
  return { elements: maxElements, bytes: Math.min(max, base + ratio * inputLength) };
}

/**
 * Estimated heap bytes of decoded values (Node 20, x64), used by every decoder's meter. A value
 * also costs {@link HEAP.slot} in the list, map or object that holds it.
 * @internal
 */
export const HEAP = Object.freeze({
  slot: 8,
  /** A Uint8Array view (its bytes are charged separately, as copied). */
  bytes: 96,
  /** A string (its characters are charged separately). */
  string: 24,
  /** A heap number or bigint. */
  number: 24,
  array: 32,
  object: 64,
  /** Per entry of a plain object. */
  objectEntry: 48,
  map: 184,
  /** Per entry of a Map. */
  mapEntry: 32,
  /** A transaction part object (event, asset, reference, signature, ...). */
  part: 160,
});

/**
 * Counts what one decode produced against its allowance. Decoders call {@link take} before they
 * allocate; the first call beyond either limit throws `DECODE_BUDGET`.
 * @internal
 */
export class DecodeMeter {
  /** Values still allowed. */
  elements: number;
  /** Estimated heap bytes still allowed. */
  bytes: number;
  readonly #allowance: DecodeAllowance;

  constructor(
    budget: DecodeBudget | undefined,
    readonly inputLength: number,
    readonly what: string,
  ) {
    this.#allowance = decodeAllowance(budget, inputLength);
    this.elements = this.#allowance.elements;
    this.bytes = this.#allowance.bytes;
  }

  /** Charge `n` values and `heap` estimated bytes. */
  take(n: number, heap: number): void {
    this.elements -= n;
    this.bytes -= heap;
    if (this.elements < 0 || this.bytes < 0) this.fail();
  }

  /** Throws the `DECODE_BUDGET` error for the limit that was exceeded. */
  fail(): never {
    const a = this.#allowance;
    if (this.elements < 0) {
      throw new BbcLibError(
        "DECODE_BUDGET",
        `${this.what}: more than ${a.elements} values in a ${this.inputLength}-byte input (decode budget maxElements)`,
      );
    }
    throw new BbcLibError(
      "DECODE_BUDGET",
      `${this.what}: decoded values would take more than ${a.bytes} heap bytes for a ${this.inputLength}-byte input (decode budget allocation)`,
    );
  }
}
