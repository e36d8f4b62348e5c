import { WireError } from "./errors.js";
import type { KeyTypeName } from "./constants/key-type.js";

/**
 * A value inside a message, as the codecs produce and accept it.
 *
 * - byte strings are `Uint8Array` (msgpack str/raw and bin both decode to bytes, TLV type 0);
 * - `string` is accepted when encoding (sent as UTF-8 in the same byte-string encodings as the
 *   reference sends text) but never produced by a decoder;
 * - integers are `number`, or `bigint` beyond 2^53;
 * - nested maps (e.g. `all_asset_files`, `stats`) are `Map`s keyed as decoded (byte keys are `Uint8Array`).
 */
export type WireValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | readonly WireValue[]
  | ReadonlyMap<WireValue, WireValue>;

/**
 * A BBc-1 message: a map keyed by KeyType name. Key order is kept (it decides the byte order of
 * the encoded map). `undefined` values are skipped by the encoders.
 */
export type WireMessage = { [K in KeyTypeName]?: WireValue };

function present(msg: WireMessage, key: KeyTypeName): WireValue | undefined {
  const v = msg[key];
  return v === null ? undefined : v;
}

function badType(key: KeyTypeName, want: string, v: unknown): WireError {
  const got = v instanceof Uint8Array ? `${v.length} bytes` : Array.isArray(v) ? "list" : v instanceof Map ? "map" : typeof v;
  return new WireError("BAD_VALUE_TYPE", `${key}: expected ${want}, got ${got}`);
}

/**
 * The byte-string value of `key`; `undefined` when absent or nil. Throws a `WireError`
 * (`BAD_VALUE_TYPE`) when the value is of another type, or not `length` bytes long if given.
 */
export function getBytes(msg: WireMessage, key: KeyTypeName, length?: number): Uint8Array | undefined {
  const v = present(msg, key);
  if (v === undefined) return undefined;
  if (!(v instanceof Uint8Array)) throw badType(key, "bytes", v);
  if (length !== undefined && v.length !== length) throw badType(key, `${length} bytes`, v);
  return v;
}

/**
 * The integer value of `key` (a `bigint` only beyond 2^53); `undefined` when absent or nil.
 * Booleans are not integers here. Throws `BAD_VALUE_TYPE` otherwise.
 */
export function getInt(msg: WireMessage, key: KeyTypeName): number | bigint | undefined {
  const v = present(msg, key);
  if (v === undefined) return undefined;
  if (typeof v === "bigint") return v;
  if (typeof v === "number" && Number.isInteger(v)) return v;
  throw badType(key, "int", v);
}

/** The boolean value of `key`; `undefined` when absent or nil; `BAD_VALUE_TYPE` otherwise. */
export function getBool(msg: WireMessage, key: KeyTypeName): boolean | undefined {
  const v = present(msg, key);
  if (v === undefined) return undefined;
  if (typeof v !== "boolean") throw badType(key, "bool", v);
  return v;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * A text value (`reason`, addresses, `bbc_configuration`): byte strings are UTF-8 decoded, as
 * the reference sends text as bytes. `undefined` when absent or nil; `BAD_VALUE_TYPE` when not
 * text or not valid UTF-8.
 */
export function getText(msg: WireMessage, key: KeyTypeName): string | undefined {
  const v = present(msg, key);
  if (v === undefined) return undefined;
  if (typeof v === "string") return v;
  if (v instanceof Uint8Array) {
    try {
      return utf8.decode(v);
    } catch (cause) {
      throw new WireError("BAD_VALUE_TYPE", `${key}: bytes are not valid UTF-8`, { cause });
    }
  }
  throw badType(key, "text", v);
}

/** The list value of `key`; `undefined` when absent or nil; `BAD_VALUE_TYPE` otherwise. */
export function getList(msg: WireMessage, key: KeyTypeName): readonly WireValue[] | undefined {
  const v = present(msg, key);
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) throw badType(key, "list", v);
  return v as readonly WireValue[];
}

/** The map value of `key`; `undefined` when absent or nil; `BAD_VALUE_TYPE` otherwise. */
export function getMap(msg: WireMessage, key: KeyTypeName): ReadonlyMap<WireValue, WireValue> | undefined {
  const v = present(msg, key);
  if (v === undefined) return undefined;
  if (!(v instanceof Map)) throw badType(key, "map", v);
  return v;
}
