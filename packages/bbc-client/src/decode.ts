/**
 * Decoders for the values the core sends (packed lists, neighbour entries, stats, file maps,
 * signatures), as bbc1 v1.1.1's `bbc_app.Callback` reads them.
 */
import {
  BBcFormat,
  BBcSignature,
  bsonDecode,
  bsonEncode,
  decodeSignatureBinary,
  deserialize,
  encodeSignatureBinary,
  toHex,
  type BBcTransaction,
  type BsonDocument,
} from "@bbc1/bbclib";
import type { WireMessage, WireValue } from "@bbc1/wire";
import { BbcClientError } from "./errors.js";

/** Asset files keyed by asset_id as lowercase hex; `null` for a file the node reported missing. */
export type AssetFileMap = Map<string, Uint8Array | null>;

/** One entry of a neighbour list (RESPONSE_GET_NEIGHBORLIST); the first entry is the node itself. */
export interface NeighborInfo {
  nodeId: Uint8Array;
  /** Dotted IPv4 text ("0.0.0.0" when unknown). */
  ipv4: string;
  /** IPv6 text as `inet_ntop` writes it ("::" when unknown). */
  ipv6: string;
  /** P2P port (decoded as the Python client does: the field is little-endian on the wire). */
  port: number;
  /** Whether the node is a domain0 node. */
  domain0: boolean;
  /** Unix time (seconds) of the entry's last update. */
  updatedAt: number;
}

/** An id with the list of ids under it (forwarding list, notification list). */
export interface IdListEntry {
  id: Uint8Array;
  ids: Uint8Array[];
}

function bad(what: string, response?: WireMessage): BbcClientError {
  return new BbcClientError("BAD_RESPONSE", what, { response });
}

/** `_parse_one_level_list`: 2-byte big-endian count, then 32-byte ids. */
export function parseOneLevelList(dat: Uint8Array): Uint8Array[] {
  if (dat.length < 2) throw bad(`packed id list of ${dat.length} bytes has no count`);
  const count = (dat[0]! << 8) | dat[1]!;
  if (dat.length < 2 + 32 * count) throw bad(`packed id list announces ${count} ids but has ${dat.length} bytes`);
  const out: Uint8Array[] = [];
  for (let i = 0; i < count; i++) out.push(dat.slice(2 + 32 * i, 2 + 32 * (i + 1)));
  return out;
}

/** `_parse_two_level_dict`: 2-byte count; per entry 32-byte id, 2-byte count, 32-byte ids. */
export function parseTwoLevelList(dat: Uint8Array): IdListEntry[] {
  const need = (n: number, p: number): void => {
    if (dat.length < p + n) throw bad(`packed two-level list cut off at offset ${p}`);
  };
  need(2, 0);
  const count = (dat[0]! << 8) | dat[1]!;
  let p = 2;
  const out: IdListEntry[] = [];
  for (let i = 0; i < count; i++) {
    need(34, p);
    const id = dat.slice(p, p + 32);
    const n = (dat[p + 32]! << 8) | dat[p + 33]!;
    p += 34;
    need(32 * n, p);
    const ids: Uint8Array[] = [];
    for (let j = 0; j < n; j++, p += 32) ids.push(dat.slice(p, p + 32));
    out.push({ id, ids });
  }
  return out;
}

/** Neighbour list: 4-byte big-endian count, then 63-byte entries (client-protocol.md §6.8.3). */
export function parseNeighborList(dat: Uint8Array): NeighborInfo[] {
  if (dat.length < 4) throw bad(`neighbour list of ${dat.length} bytes has no count`);
  const count = ((dat[0]! << 24) | (dat[1]! << 16) | (dat[2]! << 8) | dat[3]!) >>> 0;
  if (dat.length < 4 + 63 * count) throw bad(`neighbour list announces ${count} entries but has ${dat.length} bytes`);
  const out: NeighborInfo[] = [];
  for (let i = 0; i < count; i++) {
    const b = 4 + 63 * i;
    let updatedAt = 0;
    for (let k = 0; k < 8; k++) updatedAt = updatedAt * 256 + dat[b + 55 + k]!;
    out.push({
      nodeId: dat.slice(b, b + 32),
      ipv4: formatIpv4(dat.subarray(b + 32, b + 36)),
      ipv6: formatIpv6(dat.subarray(b + 36, b + 52)),
      port: dat[b + 52]! | (dat[b + 53]! << 8),
      domain0: dat[b + 54] === 1,
      updatedAt,
    });
  }
  return out;
}

/** Dotted quad. */
export function formatIpv4(b: Uint8Array): string {
  return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
}

/** IPv6 text like glibc's `inet_ntop`: lowercase hex groups, the longest run (>= 2) of zero groups as "::". */
export function formatIpv6(b: Uint8Array): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push((b[2 * i]! << 8) | b[2 * i + 1]!);
  // IPv4-mapped / compatible forms as glibc prints them
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && (g[5] === 0xffff || (g[5] === 0 && g[6] !== 0))) {
    const v4 = formatIpv4(b.subarray(12, 16));
    if (g[5] === 0xffff) return `::ffff:${v4}`;
    if (!(g[6] === 0 && g[7]! <= 1)) return `::${v4}`;
  }
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestLen < 2) return g.map((x) => x.toString(16)).join(":");
  const head = g.slice(0, bestStart).map((x) => x.toString(16)).join(":");
  const tail = g.slice(bestStart + bestLen).map((x) => x.toString(16)).join(":");
  return `${head}::${tail}`;
}

function asBytes(v: WireValue | undefined): Uint8Array | undefined {
  return v instanceof Uint8Array ? v : undefined;
}

const utf8 = new TextDecoder("utf-8");

/** Text of a value the core sends as bytes (lenient UTF-8). */
export function textOf(v: WireValue | undefined): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === "string") return v;
  if (v instanceof Uint8Array) return utf8.decode(v);
  return String(v);
}

/** A wire map asset_id -> file (or nil) as {@link AssetFileMap}. */
export function assetFilesFromWire(v: WireValue | undefined): AssetFileMap {
  const out: AssetFileMap = new Map();
  if (!(v instanceof Map)) return out;
  for (const [k, f] of v) {
    const key = asBytes(k);
    if (key === undefined) continue;
    out.set(toHex(key), f instanceof Uint8Array ? f : typeof f === "string" ? new TextEncoder().encode(f) : null);
  }
  return out;
}

/** Stats map (category -> counter -> int) with text keys. */
export function statsFromWire(v: WireValue | undefined): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  if (!(v instanceof Map)) return out;
  for (const [cat, counters] of v) {
    const c = textOf(cat) ?? "";
    const inner: Record<string, number> = {};
    if (counters instanceof Map) {
      for (const [name, n] of counters) {
        inner[textOf(name) ?? ""] = typeof n === "bigint" ? Number(n) : typeof n === "number" ? n : Number.NaN;
      }
    }
    out[c] = inner;
  }
  return out;
}

/** Deserialize transaction bytes from an answer; `BAD_RESPONSE` when they do not decode. */
export function decodeTransaction(data: Uint8Array, response?: WireMessage): BBcTransaction {
  try {
    return deserialize(data);
  } catch (cause) {
    throw new BbcClientError("BAD_RESPONSE", `transaction in the answer does not decode: ${(cause as Error).message}`, { response, cause });
  }
}

/** A list of byte strings from a list value (non-bytes entries are rejected). */
export function bytesList(v: WireValue | undefined, key: string, response?: WireMessage): Uint8Array[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw bad(`${key} is not a list`, response);
  return (v as WireValue[]).map((x, i) => {
    if (!(x instanceof Uint8Array)) throw bad(`${key}[${i}] is not a byte string`, response);
    return x;
  });
}

function signatureDict(s: BBcSignature): BsonDocument {
  if (s.notInitialized) return { key_type: 0 };
  const pub = s.pubkey ?? new Uint8Array(0);
  const sig = s.signature ?? new Uint8Array(0);
  return { key_type: s.keyType, pubkey_len: pub.length * 8, pubkey: pub, signature_len: sig.length * 8, signature: sig };
}

/**
 * What `sendback_signature` puts into `signature` / `transaction_data_format`: for BSON and
 * BSON+bz2 signatures the BSON document of the signature's dictionary with format 1, otherwise
 * the binary serialization with format 0. (v1.1.1 sent the msgpack formats' dictionary with
 * format 0, which no requester could read; the binary form is what it meant, Quirk C17.)
 */
export function signatureToWire(sig: BBcSignature): { signature: Uint8Array; format: number } {
  if (sig.formatType === BBcFormat.FORMAT_BSON || sig.formatType === BBcFormat.FORMAT_BSON_COMPRESS_BZ2) {
    return { signature: bsonEncode(signatureDict(sig)), format: BBcFormat.FORMAT_BSON };
  }
  return { signature: encodeSignatureBinary(sig), format: BBcFormat.FORMAT_BINARY };
}

function get(doc: BsonDocument | Map<WireValue, WireValue>, key: string): unknown {
  if (doc instanceof Map) {
    for (const [k, v] of doc as Map<unknown, unknown>) {
      if (k === key || (k instanceof Uint8Array && textOf(k) === key)) return v;
    }
    return undefined;
  }
  return (doc as Record<string, unknown>)[key];
}

function signatureFromDict(doc: BsonDocument | Map<WireValue, WireValue>, formatType: number): BBcSignature {
  const keyType = Number(get(doc, "key_type") ?? 0);
  const sig = new BBcSignature({ keyType, formatType: formatType as 0 });
  if (keyType === 0) return sig;
  const pubkey = get(doc, "pubkey");
  const signature = get(doc, "signature");
  if (!(pubkey instanceof Uint8Array) || !(signature instanceof Uint8Array)) throw new Error("signature dictionary lacks pubkey or signature");
  sig.add({ pubkey, signature });
  return sig;
}

/**
 * Rebuilds the signature of a RESPONSE_GATHER_SIGNATURE (`proc_resp_gather_signature`): BSON
 * documents for formats 1 and 2, the binary form otherwise; a msgpack map (sent by a v1.1.1
 * signer for msgpack-format transactions) is read as a dictionary too.
 */
export function signatureFromWire(value: WireValue | undefined, format: number, response?: WireMessage): BBcSignature {
  try {
    if (value instanceof Map) return signatureFromDict(value as Map<WireValue, WireValue>, BBcFormat.FORMAT_BINARY);
    if (!(value instanceof Uint8Array)) throw new Error("signature is not a byte string");
    if (format === BBcFormat.FORMAT_BSON || format === BBcFormat.FORMAT_BSON_COMPRESS_BZ2) {
      return signatureFromDict(bsonDecode(value), format);
    }
    return decodeSignatureBinary(value);
  } catch (cause) {
    throw new BbcClientError("BAD_RESPONSE", `signature in RESPONSE_GATHER_SIGNATURE does not decode: ${(cause as Error).message}`, { response, cause });
  }
}
