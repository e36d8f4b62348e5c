import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { isWireError, type WireMessage, type WireValue } from "../src/index.js";

export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), "fixtures");

export function hexToBytes(hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) throw new Error(`bad hex ${hex.slice(0, 20)}`);
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function bytesToHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex");
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * Converts a vector value tagged as in wire-messages.json ({"bytes": hex}, {"int": n},
 * {"bool": b}, {"str": s}, {"list": [...]}, plus {"nil": ...}, {"float": x}, {"map": {hexkey: tagged}})
 * into a WireValue. Untagged strings inside lists are hex bytes.
 */
export function fromTagged(v: unknown): WireValue {
  if (typeof v === "string") return hexToBytes(v);
  if (v === null) return null;
  if (typeof v === "number" || typeof v === "boolean") return v;
  if (typeof v !== "object" || Array.isArray(v)) throw new Error(`unsupported tagged value ${JSON.stringify(v)}`);
  const entries = Object.entries(v as Record<string, unknown>);
  if (entries.length !== 1) throw new Error(`tagged value needs exactly one tag: ${JSON.stringify(v)}`);
  const [tag, x] = entries[0]!;
  switch (tag) {
    case "bytes":
      return hexToBytes(x as string);
    case "int": {
      const n = typeof x === "string" ? BigInt(x) : x;
      if (typeof n === "bigint") return n <= BigInt(Number.MAX_SAFE_INTEGER) && n >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(n) : n;
      return n as number;
    }
    case "bool":
      return x as boolean;
    case "str":
      return x as string;
    case "float":
      return x as number;
    case "nil":
    case "none":
    case "null":
      return null;
    case "list":
    case "tuple":
      return (x as unknown[]).map(fromTagged);
    case "map":
    case "dict": {
      const m = new Map<WireValue, WireValue>();
      for (const [k, val] of Object.entries(x as Record<string, unknown>)) m.set(hexToBytes(k), fromTagged(val));
      return m;
    }
    default:
      throw new Error(`unknown tag ${tag}`);
  }
}

export function messageFromTagged(m: Record<string, unknown>): WireMessage {
  const out: Record<string, WireValue> = {};
  for (const [k, v] of Object.entries(m)) out[k] = fromTagged(v);
  return out as WireMessage;
}

export interface VectorFile {
  file: string;
  data: { generator?: string; description?: string; keytype?: Record<string, string>; cases: Record<string, unknown>[] };
}

/** Every wire-*.json and *transcript*.json file in the fixtures directory. */
export function loadWireVectorFiles(): VectorFile[] {
  return readdirSync(FIXTURES)
    .filter((f) => f.endsWith(".json") && (/^wire-.*\.json$/.test(f) || /transcript/i.test(f)))
    .sort()
    .map((file) => ({ file, data: JSON.parse(readFileSync(join(FIXTURES, file), "utf8")) }));
}

export function loadJson<T>(file: string): T {
  return JSON.parse(readFileSync(join(FIXTURES, file), "utf8")) as T;
}

/** The WireError code `fn` throws, or undefined when it returns; any other error is rethrown. */
export function wireErrorCode(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (isWireError(e)) return e.code;
    throw e;
  }
  return undefined;
}
