import { setImmediate as turn } from "node:timers/promises";
import { ErrorCode, MsgType, type WireMessage } from "@bbc1/wire";
import { CATEGORY_USER } from "../domain.js";
import { MapTemplate } from "../outbox.js";
import { LACK_OF_PARAMS, bytes, fail, has, response, type RequestContext } from "./context.js";

/** TTL the core puts on anycast messages (v1.1.1 `DEFAULT_ANYCAST_TTL`). */
export const DEFAULT_ANYCAST_TTL = 5;

/** MESSAGE: the request map itself is routed to the destination user (unicast / anycast). */
export function handleMessage(ctx: RequestContext): void {
  const { msg } = ctx;
  if (!has(msg, ["domain_id", "source_user_id", "destination_user_id"])) {
    ctx.log.debug("MESSAGE: bad format");
    return;
  }
  if (ctx.domain === undefined) {
    ctx.log.debug("MESSAGE: domain not served; dropped");
    return;
  }
  const out: WireMessage = { ...msg };
  if (msg.is_anycast !== undefined) out.anycast_ttl = DEFAULT_ANYCAST_TTL;
  ctx.domain.sendToUser(out, { origin: ctx.conn, size: ctx.size });
}

/** Destinations handed to routing per event-loop turn by one gather. */
const GATHER_CHUNK = 64;

/**
 * REQUEST_GATHER_SIGNATURE: one REQUEST_SIGNATURE per destination other than the requester,
 * carrying the requester's query_id (v1.1.1 `_distribute_transaction_to_gather_signatures`).
 * Destinations are de-duplicated and capped (`max_gather_destinations`), gathers are rated per
 * connection, the shared part of the REQUEST_SIGNATURE is encoded once for every destination, and
 * the fan-out proceeds a chunk per event-loop turn.
 */
export async function handleGatherSignature(ctx: RequestContext): Promise<void> {
  const { msg, core, conn } = ctx;
  const errRet = (): WireMessage => response(ctx, MsgType.RESPONSE_GATHER_SIGNATURE);
  if (!has(msg, ["domain_id", "transaction_data"])) return fail(ctx, errRet(), ErrorCode.EINVALID_COMMAND, LACK_OF_PARAMS);
  const dsts = msg.destination_user_ids;
  const domain = ctx.domain;
  if (domain === undefined || !Array.isArray(dsts)) {
    return fail(ctx, errRet(), ErrorCode.EINVALID_COMMAND, "Fail to forward transaction");
  }
  if (!conn.gatherBucket.tryTake()) {
    core.refusals.count("gather_rate");
    return fail(ctx, errRet(), ErrorCode.EINVALID_COMMAND, "Too many requests");
  }
  const src = bytes(msg.source_user_id);
  const max = core.limits.client.maxGatherDestinations;
  const seen = new Set<string>();
  const targets: Uint8Array[] = [];
  const srcKey = src !== undefined ? Buffer.from(src).toString("latin1") : undefined;
  for (const dst of dsts as unknown[]) {
    if (!(dst instanceof Uint8Array)) continue;
    const k = Buffer.from(dst.buffer, dst.byteOffset, dst.byteLength).toString("latin1");
    if (k === srcKey || seen.has(k)) continue;
    seen.add(k);
    if (targets.length === max) {
      core.refusals.count("gather_destinations");
      ctx.log.warn({ conn: conn.id, max }, "REQUEST_GATHER_SIGNATURE refused: too many destinations");
      return fail(ctx, errRet(), ErrorCode.EINVALID_COMMAND, "Too many destinations");
    }
    targets.push(dst);
  }
  // key order of the reference's REQUEST_SIGNATURE, infra_msg_type added by its routing
  const tail: WireMessage = { query_id: bytes(msg.query_id) ?? null, status: ErrorCode.ESUCCESS, source_user_id: msg.source_user_id ?? null };
  if (msg.hint !== undefined) tail.hint = msg.hint;
  tail.transaction_data = msg.transaction_data;
  if (msg.transactions !== undefined) tail.transactions = msg.transactions;
  if (msg.all_asset_files !== undefined) tail.all_asset_files = msg.all_asset_files;
  tail.infra_msg_type = CATEGORY_USER;
  const template = new MapTemplate(tail, core.output);
  for (let i = 0; i < targets.length; i++) {
    if (i > 0 && i % GATHER_CHUNK === 0) {
      await turn();
      if (ctx.domain !== core.domains.get(domain.hex)) return;
    }
    const dst = targets[i]!;
    const head: WireMessage = { domain_id: ctx.domainId, command: MsgType.REQUEST_SIGNATURE, destination_user_id: dst };
    const user = domain.localUser(dst);
    if (user !== undefined && user.conns.size > 0) domain.deliverLocal(user, template.payload(head));
    else domain.sendToUser({ ...head, ...tail }, { origin: conn, size: ctx.size });
  }
}

/** RESPONSE_SIGNATURE from a signer → RESPONSE_GATHER_SIGNATURE to the requester. */
export function handleResponseSignature(ctx: RequestContext): void {
  const { msg } = ctx;
  if (!has(msg, ["domain_id", "destination_user_id", "source_user_id"])) {
    ctx.log.debug("RESPONSE_SIGNATURE: bad format");
    return;
  }
  if (ctx.domain === undefined) {
    ctx.log.debug("RESPONSE_SIGNATURE: domain not served; dropped");
    return;
  }
  const ret: WireMessage = {
    domain_id: ctx.domainId,
    command: MsgType.RESPONSE_GATHER_SIGNATURE,
    destination_user_id: msg.destination_user_id,
    query_id: bytes(msg.query_id) ?? null,
    status: ErrorCode.ESUCCESS,
  };
  if (msg.signature !== undefined) {
    if (msg.transaction_data_format === undefined || msg.ref_index === undefined) {
      ctx.log.debug("RESPONSE_SIGNATURE: signature without transaction_data_format/ref_index; dropped");
      return;
    }
    ret.transaction_data_format = msg.transaction_data_format;
    ret.signature = msg.signature;
    ret.ref_index = msg.ref_index;
  } else if (msg.status === undefined) {
    ret.status = ErrorCode.EOTHER;
    ret.reason = msg.reason ?? null;
  } else if (typeof msg.status === "number" && msg.status < ErrorCode.ESUCCESS) {
    ret.status = msg.status;
    ret.reason = msg.reason ?? null;
  }
  ret.source_user_id = msg.source_user_id;
  ctx.domain.sendToUser(ret, { origin: ctx.conn, size: ctx.size });
}
