import { readFileSync } from "node:fs";
import { fromHex, toHex } from "@bbc1/bbclib";
import type { WireMessage, WireValue } from "@bbc1/wire";

/** A value as tagged in p2p-frames.json. */
export type Tagged =
  | { bytes: string }
  | { int: number }
  | { bool: boolean }
  | { nil: null }
  | { list: Array<string | Tagged> }
  | { map: Array<[string | Tagged, string | Tagged]> };

/** The fixture file, parsed. */
export interface FramesFile {
  keytype: Record<string, string>;
  setup: { runs: Record<string, RunSetup> };
  key_exchanges: KeyExchangeCase[];
  cases: FrameCase[];
}

export interface RunSetup {
  nodes: Record<string, { ipv4: string; p2p_port: number; node_ids: Record<string, string>; domain0: boolean; extra_args: string[] }>;
  domains: Record<string, string>;
  domain_keys: Record<string, { domain_id: string; pem: string; public_key: string; curve: string }>;
}

export interface KeyExchangeCase {
  id: string;
  run: string;
  nonce: string;
  random: string;
  initiator_key_name: string;
  responder_key_name: string;
  initiator_public_key: string;
  initiator_private_key: string;
  responder_public_key: string;
  responder_private_key: string;
  ecdh_shared_secret: string;
  shared_key: string;
}

export interface FrameCase {
  name: string;
  scenario: string;
  run: string;
  message: string;
  category: string;
  domain_id: string;
  sender: string;
  receiver: string | null;
  sender_node_id: string;
  receiver_node_id: string | null;
  transport: "udp" | "tcp";
  payload_type: number;
  frame_length: number;
  frame: string;
  decoded: Record<string, Tagged>;
  admin_info_decoded?: Record<string, Tagged>;
  signature_valid?: boolean;
  neighbor_list_decoded?: Array<{ node_id: string; ipv4: string; ipv6: string; port_bytes: string; port: number; domain0: boolean; updated_at: number }>;
  encryption?: { key_name: string; sender_key_name: string; key: string; initial_counter: string; keystream_offset: number; plaintext: string; session: string };
  key_exchange?: string;
  random_fields: string[];
  t_ms?: number;
  phase?: string;
}

export function loadFrames(): FramesFile {
  return JSON.parse(readFileSync(new URL("./fixtures/p2p-frames.json", import.meta.url), "utf8")) as FramesFile;
}

function untagInner(v: string | Tagged): WireValue {
  return typeof v === "string" ? fromHex(v) : untag(v);
}

/** Tagged JSON -> wire value. */
export function untag(t: Tagged): WireValue {
  if ("bytes" in t) return fromHex(t.bytes);
  if ("int" in t) return Number.isSafeInteger(t.int) ? t.int : BigInt(t.int);
  if ("bool" in t) return t.bool;
  if ("nil" in t) return null;
  if ("list" in t) return t.list.map(untagInner);
  return new Map(t.map.map(([k, v]) => [untagInner(k), untagInner(v)]));
}

/** Tagged JSON map -> message (key order kept). */
export function untagMessage(m: Record<string, Tagged>): WireMessage {
  const out: Record<string, WireValue> = {};
  for (const [k, v] of Object.entries(m)) out[k] = untag(v);
  return out as WireMessage;
}

/** Wire value -> tagged JSON (for comparisons that include types). */
export function tag(v: WireValue): Tagged {
  if (v instanceof Uint8Array) return { bytes: toHex(v) };
  if (typeof v === "number" || typeof v === "bigint") return { int: Number(v) };
  if (typeof v === "boolean") return { bool: v };
  if (v === null) return { nil: null };
  const inner = (x: WireValue): string | Tagged => (x instanceof Uint8Array ? toHex(x) : tag(x));
  if (Array.isArray(v)) return { list: (v as WireValue[]).map(inner) };
  if (v instanceof Map) return { map: [...v.entries()].map(([k, x]) => [inner(k), inner(x)] as [string | Tagged, string | Tagged]) };
  throw new Error(`cannot tag ${typeof v}`);
}

/** Message -> tagged entries in key order. */
export function tagMessage(m: WireMessage): Array<[string, Tagged]> {
  return Object.entries(m)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => [k, tag(v as WireValue)]);
}

/** The `--ip6addr` of a node's extra args, or null. */
export function ip6addrOf(args: string[]): string | null {
  const i = args.indexOf("--ip6addr");
  return i >= 0 ? args[i + 1]! : null;
}

/** Polls `cond` until true (or throws after `timeoutMs`). */
export async function waitFor(cond: () => boolean, timeoutMs = 10_000, what = "condition"): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
