/** SHA-256 through OpenSSL (node:crypto): faster than pure JS for the sizes bbclib hashes. */
import * as nodeCrypto from "node:crypto";

// crypto.hash (Node >= 20.12) is a one-shot without a Hash object; fall back to createHash.
const oneShot = (nodeCrypto as { hash?: (alg: string, data: Uint8Array, enc: "buffer") => Buffer }).hash;

/** SHA-256 of `data`. */
export function sha256(data: Uint8Array): Uint8Array {
  const h = oneShot ? oneShot("sha256", data, "buffer") : nodeCrypto.createHash("sha256").update(data).digest();
  return new Uint8Array(h.buffer, h.byteOffset, h.byteLength);
}

export const sha256Implementation = "node";
