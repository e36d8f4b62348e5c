import { deriveSharedKey, generateEcdhKeyPair, MsgType, type WireMessage } from "@bbc1/wire";
import { toHex } from "@bbc1/bbclib";
import { bytes, direct, response, type RequestContext } from "./context.js";

/** REGISTER: adds the connection to the user's set in the domain. No answer. */
export function handleRegister(ctx: RequestContext): void {
  const user = bytes(ctx.msg.source_user_id);
  if (ctx.domainId === null || user === undefined) return;
  if (ctx.domain === undefined) {
    ctx.log.debug("REGISTER: domain not served; ignored");
    return;
  }
  const { conn, core } = ctx;
  if (!conn.registrations.has(`${ctx.domain.hex}:${toHex(user)}`) && conn.registrations.size >= core.limits.client.maxUsersPerConnection) {
    core.refusals.count("users_per_connection");
    ctx.log.warn({ conn: conn.id, limit: core.limits.client.maxUsersPerConnection }, "REGISTER refused: the connection holds the most users allowed");
    return;
  }
  ctx.domain.registerUser(user, conn);
  const on = ctx.msg.on_multinodes;
  if (on !== undefined && on !== null && on !== false && on !== 0) {
    if (ctx.domain.routing !== null) ctx.domain.routing.join(user);
    else ctx.core.stats.increment("multicast", "join");
  }
}

/** UNREGISTER: removes this connection's registration; the connection stays open. */
export function handleUnregister(ctx: RequestContext): void {
  const user = bytes(ctx.msg.source_user_id);
  if (ctx.domain === undefined || user === undefined) return;
  ctx.domain.unregisterUser(user, ctx.conn);
}

/**
 * REQUEST_ECDH_KEY_EXCHANGE: P-384 ECDH, HKDF-SHA256 (info = client's `random`), AES-256-CTR
 * with `nonce`. Answered directly in plaintext; afterwards routed traffic of the request's domain
 * to this connection is encrypted (payload 3, prefixed with the client's key name `hint`).
 */
export function handleEcdh(ctx: RequestContext): void {
  const { msg, core, conn } = ctx;
  const peer = bytes(msg.ecdh);
  const nonce = bytes(msg.nonce);
  const rand = bytes(msg.random);
  const hint = bytes(msg.hint);
  if (peer === undefined || nonce === undefined || nonce.length !== 16 || rand === undefined || hint === undefined || hint.length !== 4) {
    ctx.log.debug("REQUEST_ECDH_KEY_EXCHANGE: bad format; ignored");
    return;
  }
  // a P-384 key generation costs milliseconds of the event loop: rationed per connection and in total
  if (!conn.ecdhBucket.tryTake()) {
    core.refusals.count("ecdh_rate");
    ctx.log.debug({ conn: conn.id }, "REQUEST_ECDH_KEY_EXCHANGE dropped: over the connection's rate");
    return;
  }
  if (!core.ecdhTotal.tryTake()) {
    core.refusals.count("ecdh_total_rate");
    ctx.log.debug({ conn: conn.id }, "REQUEST_ECDH_KEY_EXCHANGE dropped: over the node's rate");
    return;
  }
  const kp = generateEcdhKeyPair();
  let shared: Uint8Array;
  try {
    shared = deriveSharedKey(kp.privateKey, peer, rand);
  } catch {
    ctx.log.debug("REQUEST_ECDH_KEY_EXCHANGE: invalid public key; ignored");
    return;
  }
  const keyName = core.registry.reserveKeyName();
  const ret: WireMessage = response(ctx, MsgType.RESPONSE_ECDH_KEY_EXCHANGE, null);
  ret.ecdh = kp.publicKey;
  ret.nonce = nonce;
  ret.random = rand;
  ret.hint = keyName;
  direct(ctx, ret);
  conn.dropCipher();
  core.registry.setCipher(keyName, shared, nonce, hint);
  conn.cipherKeyName = keyName;
  conn.cipherDomainHex = ctx.domain?.hex;
}

/** REQUEST_INSERT_NOTIFICATION: subscribe the sender to an asset group. */
export function handleInsertNotification(ctx: RequestContext): void {
  const ag = bytes(ctx.msg.asset_group_id);
  const user = bytes(ctx.msg.source_user_id);
  if (ctx.domain === undefined || ag === undefined || user === undefined) {
    ctx.log.debug("REQUEST_INSERT_NOTIFICATION: bad format or domain not served; ignored");
    return;
  }
  if (!ctx.domain.subscribe(ag, user, ctx.conn)) {
    ctx.core.refusals.count("subscriptions_per_connection");
    ctx.log.debug({ conn: ctx.conn.id }, "REQUEST_INSERT_NOTIFICATION refused: the connection holds the most subscriptions allowed");
  }
}

/** CANCEL_INSERT_NOTIFICATION: unsubscribe (nil asset group = every group). */
export function handleCancelInsertNotification(ctx: RequestContext): void {
  const user = bytes(ctx.msg.source_user_id);
  if (ctx.domain === undefined || user === undefined) return;
  ctx.domain.unsubscribe(bytes(ctx.msg.asset_group_id) ?? null, user);
}
