/**
 * PEM and base64 in pure TypeScript (browser-safe), written and read the way OpenSSL does:
 * `-----BEGIN <label>-----`, base64 in 64-character lines, `-----END <label>-----`, each line
 * ending in "\n".
 */
import { BbcLibError } from "../errors.js";

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const DECODE = (() => {
  const t = new Int16Array(128).fill(-1);
  for (let i = 0; i < ALPHABET.length; i++) t[ALPHABET.charCodeAt(i)] = i;
  return t;
})();

/** Standard base64 with padding. */
export function base64Encode(bytes: Uint8Array): string {
  let out = "";
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out += ALPHABET[n >> 18] + ALPHABET[(n >> 12) & 63] + ALPHABET[(n >> 6) & 63] + ALPHABET[n & 63];
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i] << 16;
    out += ALPHABET[n >> 18] + ALPHABET[(n >> 12) & 63] + "==";
  } else if (rest === 2) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8);
    out += ALPHABET[n >> 18] + ALPHABET[(n >> 12) & 63] + ALPHABET[(n >> 6) & 63] + "=";
  }
  return out;
}

/**
 * Standard base64 with padding; whitespace is ignored. Anything else that is not base64
 * (bad characters, bad padding, a length that is not a multiple of 4) is a `MALFORMED` error.
 */
export function base64Decode(text: string): Uint8Array {
  const s = text.replace(/[\s]+/g, "");
  if (s.length % 4 !== 0) throw new BbcLibError("MALFORMED", `base64: length ${s.length} is not a multiple of 4`);
  let pad = 0;
  if (s.endsWith("==")) pad = 2;
  else if (s.endsWith("=")) pad = 1;
  const out = new Uint8Array((s.length / 4) * 3 - pad);
  let o = 0;
  for (let i = 0; i < s.length; i += 4) {
    const last = i + 4 === s.length;
    let n = 0;
    for (let j = 0; j < 4; j++) {
      const c = s.charCodeAt(i + j);
      let v: number;
      if (c === 61 /* = */ && last && j >= 4 - pad) v = 0;
      else {
        v = c < 128 ? DECODE[c] : -1;
        if (v < 0) throw new BbcLibError("MALFORMED", `base64: bad character at position ${i + j}`);
      }
      n = (n << 6) | v;
    }
    out[o++] = n >> 16;
    if (o < out.length) out[o++] = (n >> 8) & 0xff;
    if (o < out.length) out[o++] = n & 0xff;
  }
  return out;
}

/** PEM with OpenSSL's layout: 64-character lines, "\n" line ends, trailing "\n". */
export function pemEncode(label: string, der: Uint8Array): string {
  const b64 = base64Encode(der);
  let body = "";
  for (let i = 0; i < b64.length; i += 64) body += b64.slice(i, i + 64) + "\n";
  return `-----BEGIN ${label}-----\n${body}-----END ${label}-----\n`;
}

/** One PEM block found in a text. */
export interface PemBlock {
  label: string;
  der: Uint8Array;
}

/**
 * Finds the first PEM block whose label is one of `labels` (blocks with other labels, and
 * any text around them, are skipped as OpenSSL's PEM reader does). Encrypted blocks
 * (a `Proc-Type: 4,ENCRYPTED` header) are refused. Throws `MALFORMED` when there is no such block.
 */
export function pemDecode(text: string, labels: readonly string[]): PemBlock {
  if (typeof text !== "string") throw new BbcLibError("BAD_ARGUMENT", "PEM: expected a string");
  const begin = /-----BEGIN ([^\r\n-]+)-----/g;
  let m: RegExpExecArray | null;
  while ((m = begin.exec(text)) !== null) {
    const label = m[1];
    if (!labels.includes(label)) continue;
    const endMarker = `-----END ${label}-----`;
    const bodyStart = m.index + m[0].length;
    const endAt = text.indexOf(endMarker, bodyStart);
    if (endAt < 0) throw new BbcLibError("TRUNCATED", `PEM: no "${endMarker}" line`);
    const lines = text.slice(bodyStart, endAt).split(/\r?\n/);
    const data: string[] = [];
    for (const line of lines) {
      if (line.includes(":")) {
        if (/^Proc-Type:.*ENCRYPTED/i.test(line.trim())) {
          throw new BbcLibError("UNKNOWN_FORMAT", `PEM: encrypted ${label} is not supported`);
        }
        continue; // other RFC 1421 headers carry nothing we need
      }
      data.push(line);
    }
    return { label, der: base64Decode(data.join("")) };
  }
  throw new BbcLibError("MALFORMED", `PEM: no block labelled ${labels.map((l) => `"${l}"`).join(" or ")}`);
}
