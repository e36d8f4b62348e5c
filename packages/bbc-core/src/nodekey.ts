import { existsSync, readFileSync, writeFileSync, renameSync } from "node:fs";
import { join } from "node:path";
import { KeyPair, sha256 } from "@bbc1/bbclib";
import { decodeTlv, type WireMessage } from "@bbc1/wire";
import { CoreError } from "./errors.js";

/** File name of the node key inside the working directory. */
export const NODE_KEY_FILE = "node_key.pem";

/**
 * Loads `<workingDir>/node_key.pem` or, when it is absent or unreadable, generates a new P-256
 * key and writes it (v1.1.1 `_get_node_key`). Returns the key pair.
 */
export function loadOrCreateNodeKey(workingDir: string): { key: KeyPair; created: boolean; path: string } {
  const path = join(workingDir, NODE_KEY_FILE);
  if (existsSync(path)) {
    try {
      const key = new KeyPair().fromPrivateKeyPem(readFileSync(path, "utf8"));
      return { key, created: false, path };
    } catch {
      // as the reference: an unreadable key file is replaced (Quirk C30)
    }
  }
  const key = KeyPair.generate(2);
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, key.getPrivateKeyPem(), { mode: 0o600 });
    renameSync(tmp, path);
  } catch (cause) {
    throw new CoreError("NODE_KEY", `cannot write node key ${path}`, { cause });
  }
  return { key, created: true, path };
}

/**
 * The admin check of v1.1.1 `_process` / `_check_signature_by_nodekey`. Returns the message with
 * `admin_info` decoded and merged over the top level, or `undefined` when the request must be
 * dropped ("Illegal access to core node").
 *
 * - no node key: `admin_info` (if any) is decoded and merged without a signature check;
 * - node key: `admin_info` and a `nodekey_signature` verifying over SHA-256(admin_info) with the
 *   node key are required.
 */
export function checkAdminMessage(msg: WireMessage, nodeKey: KeyPair | null): WireMessage | undefined {
  const info = msg.admin_info;
  if (nodeKey === null) {
    if (!(info instanceof Uint8Array)) return msg;
    return merge(msg, info);
  }
  if (!(info instanceof Uint8Array)) return undefined;
  const sig = msg.nodekey_signature;
  if (!(sig instanceof Uint8Array)) return undefined;
  let ok = false;
  try {
    ok = nodeKey.verify(sha256(info), sig);
  } catch {
    ok = false;
  }
  if (!ok) return undefined;
  return merge(msg, info);
}

function merge(msg: WireMessage, info: Uint8Array): WireMessage | undefined {
  let decoded: WireMessage;
  try {
    decoded = decodeTlv(info, { unknownKeys: "drop" });
  } catch {
    return undefined;
  }
  return { ...msg, ...decoded };
}
