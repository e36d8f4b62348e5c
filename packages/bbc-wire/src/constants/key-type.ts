/**
 * `KeyType`: the 4-byte keys of every BBc-1 message map (bbc1 v1.1.1
 * `message_key_types.KeyType`). On the wire a key is the 4-byte big-endian encoding of the
 * code below; in TypeScript a message is keyed by the name. Translation happens only inside
 * this package ({@link keyTypeBytes}, {@link keyTypeName}).
 */
export const KeyType = Object.freeze({
  status: 0x00000000,
  reason: 0x00000001,
  result: 0x00000002,
  infra_msg_type: 0x00000008,
  command: 0x00000009,
  infra_command: 0x0000000a,
  query_id: 0x0000000b,
  message: 0x0000000c,
  nonce: 0x0000000d,
  count: 0x0000000e,
  stats: 0x0000000f,
  hint: 0x00000010,
  ecdh: 0x00000011,
  random: 0x00000012,
  retry_timer: 0x00000013,
  message_seq: 0x00000014,
  domain_ping: 0x00000015,
  nodekey_signature: 0x00000016,
  admin_info: 0x00000017,
  on_multinodes: 0x00000018,
  is_anycast: 0x00000019,
  anycast_ttl: 0x0000001a,
  is_replication: 0x0000001b,
  static_entry: 0x00000030,
  ipv4_address: 0x00000031,
  ipv6_address: 0x00000032,
  port_number: 0x00000033,
  external_ip4addr: 0x00000034,
  external_ip6addr: 0x00000035,
  node_info: 0x00000036,
  domain_list: 0x00000037,
  forwarding_list: 0x00000038,
  user_list: 0x00000039,
  neighbor_list: 0x0000003a,
  notification_list: 0x0000003b,
  bbc_configuration: 0x0000003c,
  domain_id: 0x00000050,
  source_user_id: 0x00000051,
  destination_user_id: 0x00000052,
  destination_user_ids: 0x00000053,
  node_id: 0x00000054,
  source_node_id: 0x00000055,
  destination_node_id: 0x00000056,
  user_id: 0x00000060,
  transaction_id: 0x00000061,
  transaction_id_list: 0x00000062,
  asset_group_id: 0x00000063,
  asset_group_ids: 0x00000064,
  asset_id: 0x00000065,
  direction: 0x00000066,
  hop_count: 0x00000067,
  all_included: 0x00000068,
  transaction_data: 0x00000070,
  transactions: 0x00000071,
  transaction_tree: 0x00000072,
  ref_index: 0x00000073,
  asset_file: 0x00000074,
  all_asset_files: 0x00000075,
  signature: 0x00000076,
  cross_ref: 0x00000077,
  outer_domain_id: 0x00000078,
  source_domain_id: 0x00000079,
  txid_having_cross_ref: 0x0000007a,
  cross_ref_verification_info: 0x0000007b,
  transaction_data_format: 0x0000007c,
  compromised_transaction_data: 0x00000090,
  compromised_transactions: 0x00000091,
  compromised_asset_files: 0x00000092,
  compromised_transaction_ids: 0x00000093,
  ledger_subsys_manip: 0x000000a0,
  ledger_subsys_register: 0x000000a1,
  ledger_subsys_verify: 0x000000a2,
  merkle_tree: 0x000000a3,} as const);

/** A KeyType name, e.g. `"domain_id"`. */
export type KeyTypeName = keyof typeof KeyType;

/** All KeyType names, in code order. */
export const KEY_TYPE_NAMES: readonly KeyTypeName[] = Object.freeze(
  (Object.keys(KeyType) as KeyTypeName[]).sort((a, b) => KeyType[a] - KeyType[b]),
);

const codeToName = new Map<number, KeyTypeName>();
const nameToBytes = new Map<string, Uint8Array>();
for (const name of KEY_TYPE_NAMES) {
  const code = KeyType[name];
  codeToName.set(code, name);
  nameToBytes.set(name, u32be(code));
}

function u32be(v: number): Uint8Array {
  return new Uint8Array([(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff]);
}

/** True when `name` is a KeyType name. */
export function isKeyTypeName(name: string): name is KeyTypeName {
  return nameToBytes.has(name);
}

/** The 4-byte wire key of a KeyType name (a fresh copy), or `undefined` for an unknown name. */
export function keyTypeBytes(name: string): Uint8Array | undefined {
  const b = nameToBytes.get(name);
  return b === undefined ? undefined : b.slice();
}

/**
 * The KeyType name of a 4-byte key (given as bytes or as its 32-bit code), or `undefined`
 * when the key is not 4 bytes long or not a KeyType.
 */
export function keyTypeName(key: Uint8Array | number): KeyTypeName | undefined {
  if (typeof key === "number") return codeToName.get(key);
  if (key.length !== 4) return undefined;
  return codeToName.get(((key[0]! << 24) | (key[1]! << 16) | (key[2]! << 8) | key[3]!) >>> 0);
}

/** @internal Shared, never-mutated 4-byte key; used by the encoders only. */
export function keyBytesShared(name: string): Uint8Array | undefined {
  return nameToBytes.get(name);
}
