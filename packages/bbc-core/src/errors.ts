/** Error codes of @bbc1/core. */
export type CoreErrorCode =
  | "CONFIG_INVALID"
  | "CONFIG_IO"
  | "NODE_KEY"
  | "LISTEN_FAILED"
  | "P2P_FAILED"
  | "NO_SUCH_DOMAIN"
  | "STORE_FAILED"
  | "CLOSED"
  | "INVALID_ARGUMENT"
  | "ASSET_CONFLICT"
  /** The ledger ran the entry's {@link LedgerEntry.verifySignatures} and a signature did not verify: nothing stored. */
  | "SIGNATURE_INVALID";

/** The one error class of @bbc1/core. */
export class CoreError extends Error {
  readonly code: CoreErrorCode;
  constructor(code: CoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "CoreError";
    this.code = code;
  }
}

/** True when `e` is a {@link CoreError}. */
export function isCoreError(e: unknown): e is CoreError {
  return e instanceof CoreError;
}
