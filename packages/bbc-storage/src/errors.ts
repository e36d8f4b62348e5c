/**
 * The one error class of `@bbc1/storage`.
 * @module
 */

/** Error codes of {@link StorageError}. */
export type StorageErrorCode =
  /** A caller passed something unusable (no search condition, bad id, bad config value). */
  | "BAD_ARGUMENT"
  /** The domain's config cannot be used (unknown db_type, bad connection string). */
  | "BAD_CONFIG"
  /** A database server could not be reached or refused the connection. */
  | "CONNECT_FAILED"
  /** A statement failed in the database. */
  | "DB_ERROR"
  /** A stored row holds something that is not what the schema promises (wrong type, null, wrong length). */
  | "CORRUPT_ROW"
  /** Stored transaction bytes do not decode, or decode to another transaction id. */
  | "CORRUPT_DATA"
  /** An asset file is missing. */
  | "ASSET_MISSING"
  /** An asset file's SHA-256 differs from the digest in the transaction. */
  | "ASSET_DIGEST_MISMATCH"
  /** An asset file slot already holds different content than the insert brings. */
  | "ASSET_CONFLICT"
  /** A file system operation failed. */
  | "IO_ERROR"
  /** An insert's `verifySignatures` said no (see {@link InsertOptions.verifySignatures}): nothing of it is stored. */
  | "SIGNATURE_INVALID"
  /** The store was closed. */
  | "CLOSED";

/** Error raised by the ledger store; `code` says what kind, `details` carries the input involved. */
export class StorageError extends Error {
  override readonly name = "StorageError";
  readonly code: StorageErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: StorageErrorCode, message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details;
  }
}

/** True when `e` is a {@link StorageError} (optionally with the given code). */
export function isStorageError(e: unknown, code?: StorageErrorCode): e is StorageError {
  return e instanceof StorageError && (code === undefined || e.code === code);
}
