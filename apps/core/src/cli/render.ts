/**
 * Transactions as plain JSON-able objects (ids in hex, bodies as text when they are UTF-8, else
 * base64) and a compact indented text form of such objects for humans.
 */
import { BBcFormat, toHex, type BBcAsset, type BBcTransaction } from "@bbc1/bbclib";

const FORMAT_NAMES = Object.fromEntries(Object.entries(BBcFormat).map(([k, v]) => [v, k])) as Record<number, string>;
const hex = (v: Uint8Array | null | undefined): string | null => (v ? toHex(v) : null);

function body(b: BBcAsset["assetBody"]): unknown {
  if (b === null) return null;
  if (b instanceof Uint8Array) {
    const text = new TextDecoder("utf-8", { fatal: true });
    try {
      const s = text.decode(b);
      // eslint-disable-next-line no-control-regex
      if (!/[\u0000-\u0008\u000e-\u001f]/.test(s)) return { text: s };
    } catch {
      // not UTF-8: base64 below
    }
    return { base64: Buffer.from(b).toString("base64") };
  }
  return { document: b };
}

function asset(a: BBcAsset | null): unknown {
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

/** Every field of `tx`, JSON-ready. */
export function describeTransaction(tx: BBcTransaction): Record<string, unknown> {
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
    signatures: tx.signatures.map((s) =>
      s.notInitialized || s.signature === null ? { empty: true } : { key_type: s.keyType, pubkey: hex(s.pubkey), signature: hex(s.signature) },
    ),
  };
}

function timeText(seconds: number): string | null {
  const ms = seconds * 1000;
  return Number.isFinite(ms) && Math.abs(ms) < 8.64e15 ? new Date(ms).toISOString() : null;
}

/** One line for lists: id, time, what it holds. */
export function summaryLine(tx: BBcTransaction): string {
  const groups = [...new Set([...tx.events, ...tx.relations].map((p) => hex(p.assetGroupId)?.slice(0, 16) ?? "-"))];
  const parts = [`${tx.events.length} event(s)`];
  if (tx.relations.length > 0) parts.push(`${tx.relations.length} relation(s)`);
  if (tx.references.length > 0) parts.push(`${tx.references.length} reference(s)`);
  parts.push(`${tx.signatures.length} signature(s)`);
  return `${hex(tx.transactionId)}  ${timeText(tx.timestamp) ?? tx.timestamp}  ${parts.join(", ")}  asset group ${groups.join(",") || "-"}`;
}

/** An indented text form of a JSON-able value (nulls and empty lists left out). */
export function toText(v: unknown, indent = ""): string {
  if (v === null || v === undefined) return "";
  if (Array.isArray(v)) {
    if (v.length === 0) return "";
    if (v.every((x) => typeof x !== "object" || x === null)) return v.join(", ");
    return v.map((x, i) => `\n${indent}- [${i}]${block(x, indent + "  ")}`).join("");
  }
  if (typeof v === "object") {
    return Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== null && x !== undefined && !(Array.isArray(x) && x.length === 0))
      .map(([k, x]) => `\n${indent}${k}:${block(x, indent + "  ")}`)
      .join("");
  }
  return String(v);
}

function block(x: unknown, indent: string): string {
  const t = toText(x, indent);
  return t.startsWith("\n") ? t : ` ${t}`;
}
