import type { WireMessage } from "@bbc1/wire";

/**
 * Error codes of {@link BbcClientError}. Stable strings: callers may switch on them.
 *
 * - `ERROR_STATUS`: the node answered with a negative `status` (see `status` and `reason`; the
 *   whole answer is in `response`).
 * - `TIMEOUT`: no answer within the request's timeout (the node may have dropped the request,
 *   e.g. an admin command without a valid node-key signature).
 * - `DISCONNECTED`: the connection closed (or failed) before the answer arrived, or a send was
 *   attempted on a closed client.
 * - `CONNECT_FAILED`: the TCP connection could not be opened.
 * - `INVALID_ARGUMENT`: a call was made with unusable arguments, or without the state it needs
 *   (no domain set for `exchangeKey`, no destinations for `gatherSignatures`, ...).
 * - `BAD_RESPONSE`: an answer arrived but could not be understood (missing key, wrong type,
 *   undecodable transaction).
 * - `TOO_MANY_PENDING`: all 65536 query ids are waiting for answers.
 */
export type BbcClientErrorCode =
  | "ERROR_STATUS"
  | "TIMEOUT"
  | "DISCONNECTED"
  | "CONNECT_FAILED"
  | "INVALID_ARGUMENT"
  | "BAD_RESPONSE"
  | "TOO_MANY_PENDING";

/** Extra details of a {@link BbcClientError}. */
export interface BbcClientErrorDetails {
  /** `status` of the answer (`ERROR_STATUS`). */
  status?: number;
  /** `reason` text of the answer, if any. */
  reason?: string;
  /** The raw answer (`ERROR_STATUS`, `BAD_RESPONSE`). */
  response?: WireMessage;
  /** MsgType of the request that failed. */
  command?: number;
  /** Answers collected before a timeout (`gatherSignatures`). */
  partial?: readonly unknown[];
  cause?: unknown;
}

/** The one error class of `@bbc1/client`. */
export class BbcClientError extends Error {
  override readonly name = "BbcClientError";
  readonly code: BbcClientErrorCode;
  readonly status: number | undefined;
  readonly reason: string | undefined;
  readonly response: WireMessage | undefined;
  readonly command: number | undefined;
  readonly partial: readonly unknown[] | undefined;

  constructor(code: BbcClientErrorCode, message: string, details: BbcClientErrorDetails = {}) {
    super(message, details.cause !== undefined ? { cause: details.cause } : undefined);
    this.code = code;
    this.status = details.status;
    this.reason = details.reason;
    this.response = details.response;
    this.command = details.command;
    this.partial = details.partial;
  }
}

/** True when `e` is a {@link BbcClientError} (optionally with the given code). */
export function isBbcClientError(e: unknown, code?: BbcClientErrorCode): e is BbcClientError {
  return e instanceof BbcClientError && (code === undefined || e.code === code);
}
