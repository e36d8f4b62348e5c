import { deserialize, toHex, type BBcTransaction, type DeserializeOptions } from "@bbc1/bbclib";
import { ErrorCode, MsgType, type WireMessage, type WireValue } from "@bbc1/wire";
import type { AssetCondition, DomainLedger } from "../store.js";
import { VerifiedCache, validateStored } from "../validator.js";
import { insertVerified } from "../insert.js";
import { assetRowsOf } from "../ledger-rows.js";
import type { CounterCell } from "../http/cells.js";
import { CANNOT_FIND, LACK_OF_PARAMS, bytes, fail, has, int, reply, response, type RequestContext } from "./context.js";

export { assetRowsOf, edgesOf } from "../ledger-rows.js";

function isDomainGlobal0(id: Uint8Array): boolean {
  return id.length === 32 && id.every((b) => b === 0);
}

/** REQUEST_INSERT (v1.1.1 `insert_transaction`). The answer is sent once the store reports the insert durable. */
export async function handleInsert(ctx: RequestContext): Promise<void> {
  const { msg, core } = ctx;
  const started = performance.now();
  const errors = core.metrics.insertErrors;
  const ret = response(ctx, MsgType.RESPONSE_INSERT);
  if (!has(msg, ["domain_id", "transaction_data", "all_asset_files"])) {
    errors.missing_params.inc();
    return fail(ctx, ret, ErrorCode.EINVALID_COMMAND, LACK_OF_PARAMS);
  }
  core.stats.increment("transaction", "insert_count");
  const failWith = (reason: string, counted: CounterCell): void => {
    counted.inc();
    core.stats.increment("transaction", "insert_fail_count");
    fail(ctx, ret, ErrorCode.EINVALID_COMMAND, reason);
  };
  if (ctx.domainId === null) return failWith("Set up the domain, first!", errors.no_domain);
  if (isDomainGlobal0(ctx.domainId)) return failWith("Insert is not allowed in domain_global_0", errors.domain_global_0);
  const data = bytes(msg.transaction_data);
  const files = msg.all_asset_files;
  if (data === undefined || (files !== null && !(files instanceof Map))) return failWith("Bad transaction format", errors.bad_request);
  const done = await insertVerified(core, ctx.domain, data, files as ReadonlyMap<unknown, unknown> | null, ctx.log);
  if (!done.ok) {
    const why = done.why === "bad_transaction" ? (done.assetFile === true ? "invalid_asset_file" : "invalid_transaction") : done.why;
    return failWith(done.text, errors[why]);
  }
  // durable here: REQUEST_REPLICATION_INSERT to the neighbours (v1.1.1 sends it before answering too)
  ctx.domain?.replication?.replicate(data, files as ReadonlyMap<WireValue, WireValue> | null);
  const txid = done.transactionId;
  // NOTIFY_INSERTED to the nodes that joined one of its asset groups (§9.4; client inserts only)
  ctx.domain?.insertNotifications?.notifyNodes(txid, done.assetGroupIds);
  ret.transaction_id = txid;
  reply(ctx, ret);
  core.metrics.inserts.inc();
  core.metrics.insertSeconds.observe((performance.now() - started) / 1000);
}

/** Stored transactions classified as v1.1.1 `_create_search_result` does. */
interface SearchResult {
  transactions?: Uint8Array[];
  compromised_transactions?: Uint8Array[];
  compromised_transaction_ids?: Uint8Array[];
  all_asset_files?: Map<Uint8Array, Uint8Array | null>;
  compromised_asset_files?: Map<Uint8Array, Uint8Array | null>;
}

interface Loaded {
  txid: Uint8Array;
  data: Uint8Array;
  tx: BBcTransaction | null;
}

/**
 * Stored transactions and their files. With `maxBytes`, transactions stop being added once the
 * answer would hold more (at least one is always loaded); `truncated` then says so.
 */
async function loadTransactions(
  ledger: DomainLedger,
  items: { transactionId: Uint8Array; data?: Uint8Array }[],
  deserializeOptions: DeserializeOptions,
  maxBytes = Infinity,
): Promise<{ loaded: Loaded[]; files: Map<string, { id: Uint8Array; content: Uint8Array | null }>; truncated: boolean }> {
  const loaded: Loaded[] = [];
  const files = new Map<string, { id: Uint8Array; content: Uint8Array | null }>();
  let total = 0;
  for (const item of items) {
    if (loaded.length > 0 && total >= maxBytes) return { loaded, files, truncated: true };
    const txid = item.transactionId;
    const data = item.data ?? (await ledger.getTransaction(txid));
    if (data === undefined) continue;
    total += data.length;
    let tx: BBcTransaction | null = null;
    try {
      tx = deserialize(data, deserializeOptions);
      tx.digest();
    } catch {
      tx = null;
    }
    loaded.push({ txid, data, tx });
    if (tx !== null) {
      for (const r of assetRowsOf(tx)) {
        if (!r.hasFile) continue;
        const content = await ledger.readAssetFile(r.assetGroupId, r.assetId);
        files.set(toHex(r.assetId), { id: r.assetId, content });
        total += content?.length ?? 0;
      }
    }
  }
  return { loaded, files, truncated: false };
}

function classify(loaded: Loaded[], files: Map<string, { id: Uint8Array; content: Uint8Array | null }>, cache?: VerifiedCache): SearchResult {
  const out: SearchResult = {};
  const fileContents = new Map<string, Uint8Array | null>();
  for (const [k, v] of files) fileContents.set(k, v.content);
  for (const { txid, data, tx } of loaded) {
    const same = tx !== null && tx.transactionId !== null && toHex(tx.transactionId) === toHex(txid);
    if (!same) {
      (out.compromised_transactions ??= []).push(data);
      (out.compromised_transaction_ids ??= []).push(txid);
      continue;
    }
    const r = validateStored(tx, data, fileContents, cache);
    if (r.valid) (out.transactions ??= []).push(data);
    else {
      (out.compromised_transactions ??= []).push(data);
      (out.compromised_transaction_ids ??= []).push(txid);
    }
    for (const [, aid] of r.validAssets) {
      const f = files.get(toHex(aid));
      if (f) (out.all_asset_files ??= new Map()).set(f.id, f.content);
    }
    for (const [, aid] of r.invalidAssets) {
      const f = files.get(toHex(aid));
      if (f) (out.compromised_asset_files ??= new Map()).set(f.id, f.content);
    }
  }
  return out;
}

/** REQUEST_SEARCH_TRANSACTION (v1.1.1 `_search_transaction_by_txid`). */
export async function handleSearchTransaction(ctx: RequestContext): Promise<void> {
  const { msg, core } = ctx;
  const ret = response(ctx, MsgType.RESPONSE_SEARCH_TRANSACTION);
  if (!has(msg, ["domain_id", "transaction_id"])) return fail(ctx, ret, ErrorCode.EINVALID_COMMAND, LACK_OF_PARAMS);
  core.stats.increment("transaction", "search_count");
  const txid = bytes(msg.transaction_id);
  const ledger = ctx.domain?.ledger;
  if (txid === undefined || ledger == null) return fail(ctx, ret, ErrorCode.ENOTRANSACTION, CANNOT_FIND);
  const { loaded, files } = await loadTransactions(ledger, [{ transactionId: txid }], core.deserializeOptions);
  if (loaded.length === 0) return fail(ctx, ret, ErrorCode.ENOTRANSACTION, CANNOT_FIND);
  const r = classify(loaded, files, core.verified);
  if (r.compromised_transactions !== undefined || r.compromised_asset_files !== undefined) ret.status = ErrorCode.EBADTRANSACTION;
  // key order of the reference's response_info after its renames
  if (r.compromised_transaction_ids !== undefined) ret.compromised_transaction_ids = r.compromised_transaction_ids;
  if (r.all_asset_files !== undefined) ret.all_asset_files = r.all_asset_files;
  if (r.compromised_asset_files !== undefined) ret.compromised_asset_files = r.compromised_asset_files;
  ret.transaction_id = txid;
  if (r.transactions !== undefined) ret.transaction_data = r.transactions[0]!;
  else if (r.compromised_transactions !== undefined) ret.compromised_transaction_data = r.compromised_transactions[0]!;
  reply(ctx, ret);
}

function conditionOf(msg: WireMessage): AssetCondition | undefined {
  const cond: AssetCondition = {};
  const ag = bytes(msg.asset_group_id);
  const as = bytes(msg.asset_id);
  const us = bytes(msg.user_id);
  if (ag !== undefined) cond.assetGroupId = ag;
  if (as !== undefined) cond.assetId = as;
  if (us !== undefined) cond.userId = us;
  return ag === undefined && as === undefined && us === undefined ? undefined : cond;
}

/** REQUEST_SEARCH_WITH_CONDITIONS (v1.1.1 `search_transaction_with_condition`). */
export async function handleSearchWithConditions(ctx: RequestContext): Promise<void> {
  const { msg, core } = ctx;
  const ret = response(ctx, MsgType.RESPONSE_SEARCH_WITH_CONDITIONS);
  if (!has(msg, ["domain_id"])) return fail(ctx, ret, ErrorCode.EINVALID_COMMAND, LACK_OF_PARAMS);
  const ledger = ctx.domain?.ledger;
  const cond = conditionOf(msg);
  if (ledger == null || cond === undefined) return fail(ctx, ret, ErrorCode.ENOTRANSACTION, CANNOT_FIND);
  const direction = int(msg.direction, 0);
  let count = int(msg.count, 1);
  // v1.1.1 sends every matching transaction for count <= 0; here max_count is the bound for all
  if (core.searchMaxCount < count || count <= 0) count = core.searchMaxCount;
  const found = await ledger.search(cond, direction, count);
  const seen = new Set<string>();
  const unique = found.filter((t) => {
    const k = toHex(t.transactionId);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  const { loaded, files, truncated } = await loadTransactions(ledger, unique, core.deserializeOptions, core.limits.client.maxResponseBytes);
  if (truncated) core.refusals.count("response_size");
  const r = classify(loaded, files, core.verified);
  if (r.transactions === undefined) return fail(ctx, ret, ErrorCode.ENOTRANSACTION, CANNOT_FIND);
  Object.assign(ret, r);
  reply(ctx, ret);
}

/** REQUEST_COUNT_TRANSACTIONS. */
export async function handleCount(ctx: RequestContext): Promise<void> {
  const { msg } = ctx;
  const ret = response(ctx, MsgType.RESPONSE_COUNT_TRANSACTIONS);
  if (!has(msg, ["domain_id"])) return fail(ctx, ret, ErrorCode.EINVALID_COMMAND, LACK_OF_PARAMS);
  const ledger = ctx.domain?.ledger;
  const cond = conditionOf(msg);
  if (ledger == null) return fail(ctx, ret, ErrorCode.EINVALID_COMMAND, "No such domain");
  if (cond === undefined) return fail(ctx, ret, ErrorCode.EINVALID_COMMAND, LACK_OF_PARAMS);
  ret.count = await ledger.count(cond);
  reply(ctx, ret);
}

/** REQUEST_TRAVERSE_TRANSACTIONS (v1.1.1 `_traverse_transactions`). */
export async function handleTraverse(ctx: RequestContext): Promise<void> {
  const { msg, core } = ctx;
  const ret = response(ctx, MsgType.RESPONSE_TRAVERSE_TRANSACTIONS);
  if (!has(msg, ["domain_id", "transaction_id", "direction", "hop_count"])) return fail(ctx, ret, ErrorCode.EINVALID_COMMAND, LACK_OF_PARAMS);
  const origin = bytes(msg.transaction_id);
  ret.transaction_id = msg.transaction_id as WireValue;
  core.stats.increment("transaction", "search_count");
  const ledger = ctx.domain?.ledger;
  if (ledger == null || origin === undefined) return fail(ctx, ret, ErrorCode.ENOTRANSACTION, CANNOT_FIND);
  const agFilter = bytes(msg.asset_group_id);
  const userFilter = bytes(msg.user_id);
  const max = core.traverseMaxCount;
  let hopCount = int(msg.hop_count, 0);
  if (hopCount > max * 2) hopCount = max * 2;
  const towardPast = int(msg.direction, 0) === 1;
  const tree: Uint8Array[][] = [];
  const files = new Map<Uint8Array, Uint8Array | null>();
  const fileKeys = new Set<string>();
  const visited = new Set<string>();
  let counted = 0;
  let allIncluded = true;
  let current: Uint8Array[] = [origin];
  const maxBytes = core.limits.client.maxResponseBytes;
  let respBytes = 0;
  for (let i = 0; i < hopCount; i++) {
    if (counted + current.length > max) {
      allIncluded = false;
      break;
    }
    const level: Uint8Array[] = [];
    const next: Uint8Array[] = [];
    let full = false;
    for (const txid of current) {
      if (respBytes >= maxBytes && (level.length > 0 || tree.length > 0)) {
        full = true;
        break;
      }
      const key = toHex(txid);
      if (visited.has(key)) continue;
      counted++;
      visited.add(key);
      const data = await ledger.getTransaction(txid);
      if (data === undefined) continue;
      let tx: BBcTransaction | null = null;
      try {
        tx = deserialize(data, core.deserializeOptions);
      } catch {
        tx = null;
      }
      const rows = tx !== null ? assetRowsOf(tx) : [];
      if (agFilter !== undefined || userFilter !== undefined) {
        const match = rows.some(
          (r) =>
            (agFilter === undefined || toHex(r.assetGroupId) === toHex(agFilter)) &&
            (userFilter === undefined || (r.userId !== null && toHex(r.userId) === toHex(userFilter))),
        );
        if (!match) continue;
      }
      level.push(data);
      respBytes += data.length;
      for (const r of rows) {
        if (!r.hasFile) continue;
        const k = toHex(r.assetId);
        if (fileKeys.has(k)) continue;
        fileKeys.add(k);
        const content = await ledger.readAssetFile(r.assetGroupId, r.assetId);
        respBytes += content?.length ?? 0;
        files.set(r.assetId, content);
      }
      for (const n of await ledger.topology(txid, towardPast)) if (!visited.has(toHex(n))) next.push(n);
    }
    if (level.length > 0) tree.push(level);
    if (full) {
      core.refusals.count("response_size");
      allIncluded = false;
      break;
    }
    current = next;
  }
  if (tree.length === 0) return fail(ctx, ret, ErrorCode.ENOTRANSACTION, CANNOT_FIND);
  ret.transaction_tree = tree;
  ret.all_included = allIncluded;
  if (files.size > 0) ret.all_asset_files = files;
  reply(ctx, ret);
}

// REQUEST_REPAIR: see ../repair.ts

/** REQUEST_CROSS_REF_LIST: the transaction_id column of the domain's cross_ref table. */
export async function handleCrossRefList(ctx: RequestContext): Promise<void> {
  const ret = response(ctx, MsgType.RESPONSE_CROSS_REF_LIST);
  if (!has(ctx.msg, ["domain_id", "source_user_id"])) return fail(ctx, ret, ErrorCode.EINVALID_COMMAND, LACK_OF_PARAMS);
  const ledger = ctx.domain?.ledger;
  ret.transaction_id_list = ledger == null ? [] : await ledger.crossRefTransactionIds();
  reply(ctx, ret);
}

/**
 * REQUEST_CROSS_REF_VERIFY (§11.5): to a domain0-flagged neighbour as REQUEST_VERIFY, or to this
 * node's own domain0 manager. No immediate answer; RESPONSE_CROSS_REF_VERIFY comes later (or never,
 * when no domain0 node or no cross_ref is known, as in v1.1.1).
 */
export async function handleCrossRefVerify(ctx: RequestContext): Promise<void> {
  if (!has(ctx.msg, ["domain_id", "source_user_id", "transaction_id"]) || bytes(ctx.msg.transaction_id) === undefined || bytes(ctx.msg.source_user_id) === undefined) {
    ctx.log.debug("REQUEST_CROSS_REF_VERIFY: bad format");
    return;
  }
  if (ctx.domain === undefined) return;
  ctx.core.stats.increment("domain0", "request_cross_ref_verify");
  if (!(await ctx.core.crossRefs.requestVerify(ctx.domain, ctx.msg))) ctx.log.debug("REQUEST_CROSS_REF_VERIFY: no domain0 node known; not answered");
}

/** REQUEST_REGISTER_HASH_IN_SUBSYS / REQUEST_VERIFY_HASH_IN_SUBSYS without a ledger subsystem. */
export function handleSubsystem(ctx: RequestContext): void {
  const cmd = ctx.msg.command === MsgType.REQUEST_REGISTER_HASH_IN_SUBSYS ? MsgType.RESPONSE_REGISTER_HASH_IN_SUBSYS : MsgType.RESPONSE_VERIFY_HASH_IN_SUBSYS;
  const ret = response(ctx, cmd);
  if (!has(ctx.msg, ["transaction_id"])) return fail(ctx, ret, ErrorCode.EINVALID_COMMAND, LACK_OF_PARAMS);
  fail(ctx, ret, ErrorCode.ENOSUBSYSTEM, "Ledger_subsystem is not activated");
}
