/** SHA-256 through OpenSSL (node:crypto): faster than pure JS for the sizes bbclib hashes. */
import { createHash } from "node:crypto";

/** SHA-256 of `data`. */
export function sha256(data: Uint8Array): Uint8Array {
  const h = createHash("sha256").update(data).digest();
  return new Uint8Array(h.buffer, h.byteOffset, h.byteLength);
}

export const sha256Implementation = "node";
