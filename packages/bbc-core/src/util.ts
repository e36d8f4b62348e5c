/** Small byte helpers for admin answers (counts and addresses as v1.1.1 packs them). */

/** 2-byte big-endian count. */
export function u16be(n: number): Uint8Array {
  return new Uint8Array([(n >>> 8) & 0xff, n & 0xff]);
}

/** IPv4 text to 4 bytes (0.0.0.0 when not parseable). */
export function ipv4Bytes(addr: string | null | undefined): Uint8Array {
  const out = new Uint8Array(4);
  if (!addr) return out;
  const parts = addr.split(".");
  if (parts.length !== 4) return out;
  for (let i = 0; i < 4; i++) {
    const n = Number(parts[i]);
    if (!Number.isInteger(n) || n < 0 || n > 255) return new Uint8Array(4);
    out[i] = n;
  }
  return out;
}

/** IPv6 text to 16 bytes (:: when not parseable). */
export function ipv6Bytes(addr: string | null | undefined): Uint8Array {
  const out = new Uint8Array(16);
  if (!addr) return out;
  let a = addr;
  const zone = a.indexOf("%");
  if (zone >= 0) a = a.slice(0, zone);
  const halves = a.split("::");
  if (halves.length > 2) return out;
  const parse = (s: string): number[] | undefined => {
    if (s === "") return [];
    const groups: number[] = [];
    for (const g of s.split(":")) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      groups.push(parseInt(g, 16));
    }
    return groups;
  };
  const head = parse(halves[0]!);
  const tail = halves.length === 2 ? parse(halves[1]!) : [];
  if (head === undefined || tail === undefined) return out;
  if (halves.length === 1 && head.length !== 8) return out;
  if (head.length + tail.length > 8) return out;
  const groups = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  for (let i = 0; i < 8; i++) {
    out[i * 2] = groups[i]! >>> 8;
    out[i * 2 + 1] = groups[i]! & 0xff;
  }
  return out;
}
