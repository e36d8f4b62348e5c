/** SHA-256 in pure JS (@noble/hashes), for browsers and other non-Node runtimes. */
import { sha256 as nobleSha256 } from "@noble/hashes/sha2.js";

/** SHA-256 of `data`. */
export function sha256(data: Uint8Array): Uint8Array {
  return nobleSha256(data);
}

export const sha256Implementation = "noble";
