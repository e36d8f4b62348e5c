/**
 * Checks made on a decoded request before any handler touches it: which commands may come in
 * large frames, and ids no longer than the configured maximum (so that no work, not even a hex
 * conversion, is spent on a 32 MiB "user id").
 */
import { MsgType, type WireMessage, type WireValue, type KeyTypeName } from "@bbc1/wire";

/** Commands that may carry asset files or a user payload, and so may use frames up to `max_frame_bytes`. */
export const LARGE_COMMANDS: ReadonlySet<number> = new Set([MsgType.REQUEST_INSERT, MsgType.REQUEST_GATHER_SIGNATURE, MsgType.MESSAGE]);

/** Response command of each non-admin request that the client waits for (an error status can be sent). */
export const RESPONSE_OF: ReadonlyMap<number, number> = new Map([
  [MsgType.REQUEST_INSERT, MsgType.RESPONSE_INSERT],
  [MsgType.REQUEST_SEARCH_TRANSACTION, MsgType.RESPONSE_SEARCH_TRANSACTION],
  [MsgType.REQUEST_SEARCH_WITH_CONDITIONS, MsgType.RESPONSE_SEARCH_WITH_CONDITIONS],
  [MsgType.REQUEST_COUNT_TRANSACTIONS, MsgType.RESPONSE_COUNT_TRANSACTIONS],
  [MsgType.REQUEST_TRAVERSE_TRANSACTIONS, MsgType.RESPONSE_TRAVERSE_TRANSACTIONS],
  [MsgType.REQUEST_GATHER_SIGNATURE, MsgType.RESPONSE_GATHER_SIGNATURE],
  [MsgType.REQUEST_CROSS_REF_LIST, MsgType.RESPONSE_CROSS_REF_LIST],
  [MsgType.REQUEST_REGISTER_HASH_IN_SUBSYS, MsgType.RESPONSE_REGISTER_HASH_IN_SUBSYS],
  [MsgType.REQUEST_VERIFY_HASH_IN_SUBSYS, MsgType.RESPONSE_VERIFY_HASH_IN_SUBSYS],
]);

const ID_KEYS: readonly KeyTypeName[] = [
  "domain_id",
  "source_user_id",
  "destination_user_id",
  "user_id",
  "asset_group_id",
  "asset_id",
  "transaction_id",
  "node_id",
  "source_node_id",
  "destination_node_id",
  "outer_domain_id",
  "source_domain_id",
  "txid_having_cross_ref",
];
const ID_LIST_KEYS: readonly KeyTypeName[] = ["destination_user_ids", "asset_group_ids", "transaction_id_list"];
/** Maps keyed by ids: asset id → file, transaction id → transaction. */
const ID_MAP_KEYS: readonly KeyTypeName[] = ["all_asset_files", "transactions", "compromised_asset_files"];

function tooLong(v: WireValue | undefined, max: number): boolean {
  return v instanceof Uint8Array && v.length > max;
}

/** The first key holding an id longer than `max` bytes (also inside id lists and as map keys), or undefined. */
export function oversizedId(msg: WireMessage, max: number): KeyTypeName | undefined {
  for (const k of ID_KEYS) if (tooLong(msg[k], max)) return k;
  for (const k of ID_LIST_KEYS) {
    const v = msg[k];
    if (Array.isArray(v)) for (const x of v) if (tooLong(x, max)) return k;
  }
  for (const k of ID_MAP_KEYS) {
    const v = msg[k];
    if (v instanceof Map) for (const key of v.keys()) if (tooLong(key, max)) return k;
  }
  return undefined;
}

/**
 * The error answer to a request refused at the boundary (sent directly on its connection):
 * the usual envelope, with the ids that are themselves too long replaced by nil.
 */
export function boundaryError(msg: WireMessage, command: number, max: number, reason: string): WireMessage {
  const id = (v: WireValue | undefined): WireValue => (v instanceof Uint8Array && v.length <= max ? v : null);
  const q = msg.query_id;
  return {
    domain_id: id(msg.domain_id),
    command,
    destination_user_id: id(msg.source_user_id),
    query_id: q instanceof Uint8Array && q.length <= 8 ? q : null,
    status: -1,
    reason,
  };
}
