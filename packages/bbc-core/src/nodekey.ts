import { existsSync, readFileSync, writeFileSync, renameSync } from "node:fs";
import { join } from "node:path";
import { KeyPair, sha256 } from "@bbc1/bbclib";
import { decodeTlv, type WireMessage } from "@bbc1/wire";
import { CoreError } from "./errors.js";

/** File name of the node key inside the working directory. */
export const NODE_KEY_FILE = "node_key.pem";

/** What {@link loadOrCreateNodeKey} found and did. */
export interface NodeKeyLoad {
  key: KeyPair;
  /** True when a new key was generated and written. */
  created: boolean;
  path: string;
  /** When `path` held an unreadable key: where that file was moved (it is never deleted). */
  corruptKeptAs?: string;
  /** Why the old file could not be read. */
  corruptReason?: string;
}

/**
 * Loads `<workingDir>/node_key.pem` or, when it is absent, generates a new P-256 key and writes
 * it (v1.1.1 `_get_node_key`). An unreadable file is moved aside to
 * `node_key.pem.corrupt-<time>` before a new key is written (v1.1.1 silently overwrote it,
 * Quirk C30); the caller reports `corruptKeptAs` as a warning.
 */
export function loadOrCreateNodeKey(workingDir: string): NodeKeyLoad {
  const path = join(workingDir, NODE_KEY_FILE);
  let corruptKeptAs: string | undefined;
  let corruptReason: string | undefined;
  if (existsSync(path)) {
    try {
      const key = new KeyPair().fromPrivateKeyPem(readFileSync(path, "utf8"));
      return { key, created: false, path };
    } catch (e) {
      corruptReason = (e as Error).message;
      corruptKeptAs = `${path}.corrupt-${new Date().toISOString().replace(/[:.]/g, "-")}`;
      try {
        renameSync(path, corruptKeptAs);
      } catch (cause) {
        throw new CoreError("NODE_KEY", `node key ${path} is unreadable (${corruptReason}) and cannot be moved aside`, { cause });
      }
    }
  }
  const key = KeyPair.generate(2);
  writeNodeKey(path, key);
  return corruptKeptAs !== undefined ? { key, created: true, path, corruptKeptAs, corruptReason } : { key, created: true, path };
}

/** Writes `key` as `path` atomically (temp file, mode 0600, rename). */
export function writeNodeKey(path: string, key: KeyPair): void {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, key.getPrivateKeyPem(), { mode: 0o600 });
    renameSync(tmp, path);
  } catch (cause) {
    throw new CoreError("NODE_KEY", `cannot write node key ${path}`, { cause });
  }
}

/** Outcome of {@link checkAdmin}: the merged message, or why the request is dropped. */
export type AdminCheck =
  | { ok: true; msg: WireMessage; /** The verified admin_info, when a node key checked its signature. */ signed: Uint8Array | undefined }
  | { ok: false; reason: "no admin_info" | "no nodekey_signature" | "bad signature" | "undecodable admin_info" };

/**
 * The admin check of v1.1.1 `_process` / `_check_signature_by_nodekey`, with the reason of a drop.
 *
 * - no node key: `admin_info` (if any) is decoded and merged without a signature check;
 * - node key: `admin_info` and a `nodekey_signature` verifying over SHA-256(admin_info) with the
 *   node key are required.
 */
export function checkAdmin(msg: WireMessage, nodeKey: KeyPair | null): AdminCheck {
  const info = msg.admin_info;
  if (nodeKey === null) {
    if (!(info instanceof Uint8Array)) return { ok: true, msg, signed: undefined };
    const merged = merge(msg, info);
    return merged === undefined ? { ok: false, reason: "undecodable admin_info" } : { ok: true, msg: merged, signed: undefined };
  }
  if (!(info instanceof Uint8Array)) return { ok: false, reason: "no admin_info" };
  const sig = msg.nodekey_signature;
  if (!(sig instanceof Uint8Array)) return { ok: false, reason: "no nodekey_signature" };
  let ok = false;
  try {
    ok = nodeKey.verify(sha256(info), sig);
  } catch {
    ok = false;
  }
  if (!ok) return { ok: false, reason: "bad signature" };
  const merged = merge(msg, info);
  return merged === undefined ? { ok: false, reason: "undecodable admin_info" } : { ok: true, msg: merged, signed: info };
}

/**
 * The admin check of v1.1.1 `_process` / `_check_signature_by_nodekey`. Returns the message with
 * `admin_info` decoded and merged over the top level, or `undefined` when the request must be
 * dropped ("Illegal access to core node"). See {@link checkAdmin} for the reason of a drop.
 */
export function checkAdminMessage(msg: WireMessage, nodeKey: KeyPair | null): WireMessage | undefined {
  const r = checkAdmin(msg, nodeKey);
  return r.ok ? r.msg : undefined;
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
