/**
 * Error codes of {@link NetError}:
 * - `BIND_FAILED`: the P2P port could not be bound (UDP and TCP must share it).
 * - `NOT_STARTED` / `CLOSED`: the network was used before `start()` or after `close()`.
 * - `UNKNOWN_DOMAIN`: a call named a domain this process does not serve.
 * - `DOMAIN_EXISTS`: `createDomain` for a domain already served.
 * - `BAD_ADDRESS`: an address is not a literal IPv4/IPv6 address or a port is out of range.
 * - `BAD_MESSAGE`: a received message lacks a mandatory key or has a value of the wrong type.
 * - `BAD_SIGNATURE`: an admin message's `nodekey_signature` does not verify with the domain key.
 * - `STALE_SEQUENCE`: an admin message's `message_seq` is not above the last one seen from that node.
 * - `DOMAIN_KEY`: the domain key file could not be read or is not a P-256 private key.
 * - `LIMIT`: a resource budget refused (the limit's name is in the message).
 * - `NO_HANDLER`: a USER / DATA message arrived in a domain without a handler for its category.
 * - `INVALID_ARGUMENT`: an API was called with unusable arguments.
 */
export type NetErrorCode =
  | "BIND_FAILED"
  | "NOT_STARTED"
  | "CLOSED"
  | "UNKNOWN_DOMAIN"
  | "DOMAIN_EXISTS"
  | "BAD_ADDRESS"
  | "BAD_MESSAGE"
  | "BAD_SIGNATURE"
  | "STALE_SEQUENCE"
  | "DOMAIN_KEY"
  | "LIMIT"
  | "NO_HANDLER"
  | "INVALID_ARGUMENT";

/** The one error class of `@bbc1/net`. */
export class NetError extends Error {
  override readonly name = "NetError";
  readonly code: NetErrorCode;

  constructor(code: NetErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** True when `e` is a {@link NetError} (optionally with the given code). */
export function isNetError(e: unknown, code?: NetErrorCode): e is NetError {
  return e instanceof NetError && (code === undefined || e.code === code);
}
