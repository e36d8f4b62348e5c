/**
 * How the core configures its P2P network (`@bbc1/net`) from config.json and the options, and
 * how static nodes are read from and written to a domain's config section.
 */
import { fromHex, toHex } from "@bbc1/bbclib";
import { DEFAULT_NET_TIMINGS, isIPv4, isIPv6, type EncryptionPolicy, type NetTimings, type StaticNode } from "@bbc1/net";
import type { Logger } from "pino";
import { isJsonObject, type JsonObject, type JsonValue } from "./config.js";
import { CoreError } from "./errors.js";

/** `pingExpireMs` -> `ping_expire_ms` (the config spelling of a timing). */
export function timingKey(field: string): string {
  return field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/**
 * `network.timings` of config.json (ours, **for tests only**): protocol times in milliseconds
 * under the snake_case names of `NetTimings` (`ping_expire_ms`, `key_exchange_invoke_min_ms`,
 * `advertise_delay_ms`, `resolve_timeout_ms`, ...). Absent keys keep v1.1.1's values; a value
 * that is not a number >= 0 stops the start (`CONFIG_INVALID`); unknown keys are ignored.
 */
export function readNetTimings(section: JsonValue | undefined): Partial<NetTimings> {
  if (section === undefined || section === null) return {};
  if (!isJsonObject(section)) throw new CoreError("CONFIG_INVALID", "config: network.timings must be an object");
  const out: Partial<NetTimings> = {};
  for (const field of Object.keys(DEFAULT_NET_TIMINGS) as Array<keyof NetTimings>) {
    const v = section[timingKey(field)];
    if (v === undefined || v === null) continue;
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
      throw new CoreError("CONFIG_INVALID", `config: network.timings.${timingKey(field)} must be a number >= 0 (milliseconds)`);
    }
    out[field] = v;
  }
  return out;
}

/** `network.encryption` (ours): `"off"` (default, p2p-protocol.md §6.6), `"udp"` or `"all"`. */
export function readEncryption(v: JsonValue | undefined): EncryptionPolicy {
  if (v === undefined || v === null) return "off";
  if (v === "off" || v === "udp" || v === "all") return v;
  throw new CoreError("CONFIG_INVALID", `config: network.encryption must be "off", "udp" or "all", got ${JSON.stringify(v)}`);
}

/** An address from config or a client: text, or bytes holding text; "0.0.0.0" / "::" / "" mean none. */
export function addressOf(v: unknown, family: 4 | 6): string | null {
  let s: string | undefined;
  if (typeof v === "string") s = v;
  else if (v instanceof Uint8Array) s = new TextDecoder("utf-8", { fatal: false }).decode(v);
  if (s === undefined || s === "" || s === "0.0.0.0" || s === "::" || s === "None") return null;
  if (family === 4 ? !isIPv4(s) : !isIPv6(s)) throw new CoreError("INVALID_ARGUMENT", `not an IPv${family} address: ${JSON.stringify(s)}`);
  return s;
}

/**
 * The static nodes of a domain section: `static_nodes` (v1.1.1 reads this) and `static_node`
 * (v1.1.1 writes this one on shutdown, Q20), each `{node_id_hex: [ipv4|null, ipv6|null, port]}`.
 * Unusable entries are skipped with a warning.
 */
export function readStaticNodes(section: JsonObject, log: Logger): StaticNode[] {
  const out = new Map<string, StaticNode>();
  for (const key of ["static_node", "static_nodes"]) {
    const m = section[key];
    if (m === undefined || m === null) continue;
    if (!isJsonObject(m)) {
      log.warn({ key }, `config: ${key} is not an object; ignored`);
      continue;
    }
    for (const [hex, info] of Object.entries(m)) {
      try {
        if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new Error("node id is not 64 hex digits");
        if (!Array.isArray(info) || info.length < 3) throw new Error("entry is not [ipv4, ipv6, port]");
        const port = info[2];
        if (typeof port !== "number" || !Number.isInteger(port) || port < 1 || port > 65535) throw new Error("port is not 1..65535");
        const ipv4 = addressOf(info[0], 4);
        const ipv6 = addressOf(info[1], 6);
        if (ipv4 === null && ipv6 === null) throw new Error("no address");
        out.set(hex.toLowerCase(), { nodeId: fromHex(hex), ipv4, ipv6, port });
      } catch (e) {
        log.warn({ key, node_id: hex, reason: (e as Error).message }, `config: static node ignored`);
      }
    }
  }
  return [...out.values()];
}

/** `static_nodes` as config.json holds it. */
export function staticNodesJson(nodes: readonly StaticNode[]): JsonObject {
  const out: JsonObject = {};
  for (const n of nodes) out[toHex(n.nodeId)] = [n.ipv4, n.ipv6, n.port];
  return out;
}
