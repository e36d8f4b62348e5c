import { ErrorCode, MsgType, type WireMessage } from "@bbc1/wire";
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
  ctx.domain.sendToUser(out);
}

/**
 * REQUEST_GATHER_SIGNATURE: one REQUEST_SIGNATURE per destination other than the requester,
 * carrying the requester's query_id (v1.1.1 `_distribute_transaction_to_gather_signatures`).
 */
export function handleGatherSignature(ctx: RequestContext): void {
  const { msg } = ctx;
  const errRet = (): WireMessage => response(ctx, MsgType.RESPONSE_GATHER_SIGNATURE);
  if (!has(msg, ["domain_id", "transaction_data"])) return fail(ctx, errRet(), ErrorCode.EINVALID_COMMAND, LACK_OF_PARAMS);
  const dsts = msg.destination_user_ids;
  if (ctx.domain === undefined || !Array.isArray(dsts)) {
    return fail(ctx, errRet(), ErrorCode.EINVALID_COMMAND, "Fail to forward transaction");
  }
  const src = bytes(msg.source_user_id);
  for (const dst of dsts as unknown[]) {
    if (!(dst instanceof Uint8Array)) continue;
    if (src !== undefined && Buffer.compare(dst, src) === 0) continue;
    const req: WireMessage = {
      domain_id: ctx.domainId,
      command: MsgType.REQUEST_SIGNATURE,
      destination_user_id: dst,
      query_id: bytes(msg.query_id) ?? null,
      status: ErrorCode.ESUCCESS,
      source_user_id: msg.source_user_id ?? null,
    };
    if (msg.hint !== undefined) req.hint = msg.hint;
    req.transaction_data = msg.transaction_data;
    if (msg.transactions !== undefined) req.transactions = msg.transactions;
    if (msg.all_asset_files !== undefined) req.all_asset_files = msg.all_asset_files;
    ctx.domain.sendToUser(req);
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
  ctx.domain.sendToUser(ret);
}
