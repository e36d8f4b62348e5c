/**
 * Transactions in the browser: decoded with @bbc1/bbclib (portable @noble backend), every field
 * as a JSON-able tree (the same names as `bbc1 tx get --json`), and the checks the page shows:
 * the id recomputed from the bytes, each signature verified over the transaction digest, asset
 * files against their recorded digests.
 */
import { BBcFormat, bytesEqual, deserialize, sha256, toHex, type BBcAsset, type BBcTransaction } from "@bbc1/bbclib";

const FORMAT_NAMES = Object.fromEntries(Object.entries(BBcFormat).map(([k, v]) => [v, k])) as Record<number, string>;
const hex = (v: Uint8Array | null | undefined): string | null => (v ? toHex(v) : null);

/** A JSON-able value. */
export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function base64(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i += 0x8000) s += String.fromCharCode(...b.subarray(i, i + 0x8000));
  return btoa(s);
}

function body(b: BBcAsset["assetBody"]): Json {
  if (b === null) return null;
  if (b instanceof Uint8Array) {
    try {
      const s = new TextDecoder("utf-8", { fatal: true }).decode(b);
      // eslint-disable-next-line no-control-regex
      if (!/[\u0000-\u0008\u000e-\u001f]/.test(s)) return { text: s };
    } catch {
      // not UTF-8: base64 below
    }
    return { base64: base64(b) };
  }
  return { document: JSON.parse(JSON.stringify(b, (_k, v: unknown) => (v instanceof Uint8Array ? toHex(v) : typeof v === "bigint" ? v.toString() : v))) as Json };
}

function asset(a: BBcAsset | null): Json {
  if (a === null) return null;
  return {
    asset_id: hex(a.assetId),
    user_id: hex(a.userId),
    nonce: hex(a.nonce),
    file_size: a.assetFileSize,
    file_digest: hex(a.assetFileDigest),
    body_size: a.assetBodySize,
    body: body(a.assetBody),
  };
}

function timeText(seconds: number): string | null {
  const ms = seconds * 1000;
  return Number.isFinite(ms) && Math.abs(ms) < 8.64e15 ? new Date(ms).toISOString() : null;
}

/** Every field of `tx`. */
export function describe(tx: BBcTransaction): { [k: string]: Json } {
  return {
    transaction_id: hex(tx.transactionId),
    format: `${tx.formatType} (${FORMAT_NAMES[tx.formatType] ?? "?"})`,
    version: tx.version,
    timestamp: tx.timestamp,
    time: timeText(tx.timestamp),
    id_length: tx.idLength,
    events: tx.events.map((e) => ({
      asset_group_id: hex(e.assetGroupId),
      reference_indices: e.referenceIndices,
      mandatory_approvers: e.mandatoryApprovers.map(toHex),
      option_approver_num_numerator: e.optionApproverNumNumerator,
      option_approver_num_denominator: e.optionApproverNumDenominator,
      option_approvers: e.optionApprovers.map(toHex),
      asset: asset(e.asset),
    })),
    references: tx.references.map((r) => ({
      asset_group_id: hex(r.assetGroupId),
      transaction_id: hex(r.transactionId),
      event_index_in_ref: r.eventIndexInRef,
      sig_indices: r.sigIndices,
    })),
    relations: tx.relations.map((r) => ({
      asset_group_id: hex(r.assetGroupId),
      pointers: r.pointers.map((p) => ({ transaction_id: hex(p.transactionId), asset_id: hex(p.assetId) })),
      asset: asset(r.asset),
    })),
    witness: tx.witness === null ? null : { user_ids: tx.witness.userIds.map(toHex), sig_indices: tx.witness.sigIndices },
    cross_ref: tx.crossRef === null ? null : { domain_id: hex(tx.crossRef.domainId), transaction_id: hex(tx.crossRef.transactionId) },
    signatures: tx.signatures.map((sig): Json =>
      sig.notInitialized || sig.signature === null ? { empty: true } : { key_type: sig.keyType, pubkey: hex(sig.pubkey), signature: hex(sig.signature) },
    ),
  };
}

/** Leaves of a tree as `path -> value` rows (lists of scalars joined; empty lists and nulls kept, so every field shows). */
export function flatten(v: Json, path = "", out: [string, string][] = []): [string, string][] {
  if (Array.isArray(v)) {
    if (v.every((x) => x === null || typeof x !== "object")) out.push([path, v.length === 0 ? "(none)" : v.map(String).join(", ")]);
    else v.forEach((x, i) => flatten(x, path === "" ? String(i) : `${path}.${i}`, out));
  } else if (v !== null && typeof v === "object") {
    for (const [k, x] of Object.entries(v)) flatten(x, path === "" ? k : `${path}.${k}`, out);
  } else out.push([path, v === null ? "(null)" : String(v)]);
  return out;
}

/** The verdicts the page shows about one stored transaction. */
export interface Checked {
  tx: BBcTransaction | null;
  decodeError: string | null;
  /** The id recomputed from the bytes equals the id it is stored under. */
  idMatches: boolean;
  computedId: string | null;
  /** Per signature slot: verified over the digest, or why not. */
  signatures: { valid: boolean; why: string }[];
  /** Id matches and every signature verifies. */
  valid: boolean;
}

/** Decodes and checks `data` stored under `storedId`. */
export function check(storedId: string, data: Uint8Array): Checked {
  let tx: BBcTransaction;
  try {
    tx = deserialize(data);
    tx.digest();
  } catch (e) {
    return { tx: null, decodeError: (e as Error).message, idMatches: false, computedId: null, signatures: [], valid: false };
  }
  const computedId = hex(tx.transactionId);
  const idMatches = computedId === storedId.toLowerCase();
  let message: Uint8Array | null = null;
  try {
    message = tx.forIdBytes();
  } catch {
    message = null;
  }
  const signatures = tx.signatures.map((sig) => {
    if (sig.notInitialized || sig.signature === null || sig.pubkey === null) return { valid: false, why: "empty slot" };
    if (message === null) return { valid: false, why: "no digest" };
    let ok = false;
    try {
      ok = sig.verifyMessage(message);
    } catch {
      ok = false;
    }
    return ok ? { valid: true, why: "verified over the transaction digest" } : { valid: false, why: "does not verify over the transaction digest" };
  });
  return { tx, decodeError: null, idMatches, computedId, signatures, valid: idMatches && signatures.every((s) => s.valid) };
}

/** Assets of a transaction that declare a file. */
export function assetsWithFiles(tx: BBcTransaction): { group: string; asset: string; size: number; digest: Uint8Array | null; where: string }[] {
  const out: { group: string; asset: string; size: number; digest: Uint8Array | null; where: string }[] = [];
  tx.events.forEach((e, i) => {
    if (e.asset?.assetId && e.asset.assetFileSize > 0) out.push({ group: hex(e.assetGroupId) ?? "", asset: toHex(e.asset.assetId), size: e.asset.assetFileSize, digest: e.asset.assetFileDigest, where: `events.${i}` });
  });
  tx.relations.forEach((r, i) => {
    if (r.asset?.assetId && r.asset.assetFileSize > 0) out.push({ group: hex(r.assetGroupId) ?? "", asset: toHex(r.asset.assetId), size: r.asset.assetFileSize, digest: r.asset.assetFileDigest, where: `relations.${i}` });
  });
  return out;
}

/** True when `content` hashes to `digest`. */
export function fileMatches(content: Uint8Array, digest: Uint8Array | null): boolean {
  return digest !== null && bytesEqual(sha256(content), digest);
}

/** One line about a transaction for lists. */
export function summary(tx: BBcTransaction): { time: string; parts: string; groups: string[] } {
  const groups = [...new Set([...tx.events, ...tx.relations].map((p) => hex(p.assetGroupId) ?? "-"))];
  const parts = [`${tx.events.length} ev`];
  if (tx.relations.length > 0) parts.push(`${tx.relations.length} rel`);
  if (tx.references.length > 0) parts.push(`${tx.references.length} ref`);
  parts.push(`${tx.signatures.length} sig`);
  return { time: timeText(tx.timestamp)?.replace("T", " ").replace(/\.\d+Z$/, "Z") ?? String(tx.timestamp), parts: parts.join(" · "), groups };
}

/** Edge kinds out of `tx`: which referenced ids are references, which are pointers. */
export function edgeKinds(tx: BBcTransaction): Map<string, "reference" | "pointer" | "both"> {
  const kinds = new Map<string, "reference" | "pointer" | "both">();
  for (const r of tx.references) if (r.transactionId) kinds.set(toHex(r.transactionId), "reference");
  for (const rel of tx.relations)
    for (const p of rel.pointers) {
      if (!p.transactionId) continue;
      const k = toHex(p.transactionId);
      kinds.set(k, kinds.get(k) === "reference" ? "both" : "pointer");
    }
  return kinds;
}
