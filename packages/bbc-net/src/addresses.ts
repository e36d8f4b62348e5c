import { isIP } from "node:net";
import { NetError } from "./errors.js";

/**
 * Address helpers. The reference stores addresses as text and writes them with `inet_pton`
 * into neighbour entries; `"0.0.0.0"` and `"::"` mean "none of that family" here (§2.6).
 */

/** True for a literal IPv4 address in dotted-quad form. */
export function isIPv4(s: string): boolean {
  return isIP(s) === 4;
}

/** True for a literal IPv6 address. */
export function isIPv6(s: string): boolean {
  return isIP(s) === 6;
}

/** The address if it is a usable IPv4 literal (not null, not `0.0.0.0`), else null. */
export function usableIPv4(s: string | null | undefined): string | null {
  return typeof s === "string" && s !== "0.0.0.0" && isIPv4(s) ? s : null;
}

/** The address if it is a usable IPv6 literal (not null, not `::`), else null. */
export function usableIPv6(s: string | null | undefined): string | null {
  return typeof s === "string" && s !== "::" && isIPv6(s) ? normalizeIPv6(s) : null;
}

/** Checks a port number (1..65535). */
export function checkPort(port: unknown, what = "port"): number {
  if (typeof port !== "number" || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new NetError("BAD_ADDRESS", `${what} must be an integer in 1..65535, got ${String(port)}`);
  }
  return port;
}

/** `inet_pton(AF_INET)`: 4 bytes (`0.0.0.0` for null or a non-literal). */
export function ipv4ToBytes(s: string | null): Uint8Array {
  const out = new Uint8Array(4);
  if (s === null || !isIPv4(s)) return out;
  const p = s.split(".");
  for (let i = 0; i < 4; i++) out[i] = Number(p[i]);
  return out;
}

/** `inet_ntop(AF_INET)`. */
export function bytesToIPv4(b: Uint8Array): string {
  return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
}

/** `inet_pton(AF_INET6)`: 16 bytes (`::` for null or a non-literal). */
export function ipv6ToBytes(s: string | null): Uint8Array {
  const out = new Uint8Array(16);
  if (s === null || !isIPv6(s)) return out;
  let text = s;
  const pct = text.indexOf("%");
  if (pct >= 0) text = text.slice(0, pct);
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two groups.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const b = ipv4ToBytes(v4[1]!);
    text = text.slice(0, v4.index) + `${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`;
  }
  const [head, tail] = text.includes("::") ? text.split("::") : [text, undefined];
  const h = head ? head.split(":") : [];
  const t = tail !== undefined && tail !== "" ? tail.split(":") : [];
  const groups = tail === undefined ? h : [...h, ...new Array<string>(8 - h.length - t.length).fill("0"), ...t];
  for (let i = 0; i < 8; i++) {
    const g = parseInt(groups[i] ?? "0", 16);
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  }
  return out;
}

/** `inet_ntop(AF_INET6)` (RFC 5952 form: longest zero run compressed, lowercase). */
export function bytesToIPv6(b: Uint8Array): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push((b[2 * i]! << 8) | b[2 * i + 1]!);
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  // Python's inet_ntop writes IPv4-mapped addresses with a dotted tail.
  if (bestStart === 0 && bestLen === 5 && g[5] === 0xffff) {
    return `::ffff:${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  }
  const hex = g.map((x) => x.toString(16));
  if (bestStart < 0) return hex.join(":");
  const left = hex.slice(0, bestStart).join(":");
  const right = hex.slice(bestStart + bestLen).join(":");
  return `${left}::${right}`;
}

/** IPv6 text in canonical form (so equal addresses compare equal as strings). */
export function normalizeIPv6(s: string): string {
  return bytesToIPv6(ipv6ToBytes(s));
}
