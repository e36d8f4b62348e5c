/** SHA-256 through OpenSSL (node:crypto): faster than pure JS for the sizes bbclib hashes. */
import * as nodeCrypto from "node:crypto";
import { allocBytes } from "../bytes.js";

// crypto.hash (Node >= 20.12) is a one-shot without a Hash object; fall back to createHash.
const oneShot = (nodeCrypto as { hash?: (alg: string, data: Uint8Array, enc: "binary") => string }).hash;

/**
 * SHA-256 of `data`. The digest comes back as a "binary" (latin1) string, copied into a slab view: a
 * Buffer result would cost an ArrayBuffer allocation per digest (about 1 µs more here).
 */
export function sha256(data: Uint8Array): Uint8Array {
  const h = oneShot ? oneShot("sha256", data, "binary") : nodeCrypto.createHash("sha256").update(data).digest("binary");
  const out = allocBytes(32);
  for (let i = 0; i < 32; i++) out[i] = h.charCodeAt(i);
  return out;
}

export const sha256Implementation = "node";
