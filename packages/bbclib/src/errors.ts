/**
 * Error codes of {@link BbcLibError}. Stable strings: callers may switch on them.
 */
export type BbcLibErrorCode =
  | "TRUNCATED" // input ended before a field was complete
  | "MALFORMED" // a field has an impossible value (length, count, type tag)
  | "TOO_LARGE" // a declared size exceeds a limit
  | "UNKNOWN_FORMAT" // unknown BBcFormat prefix or unsupported encoding
  | "DECOMPRESS" // bz2/zlib payload is corrupt or incomplete
  | "DECOMPRESSED_TOO_LARGE" // bz2/zlib payload inflates beyond the size or ratio allowed
  | "DECODE_BUDGET" // decoding would produce more values or heap than the decode budget allows
  | "ENCODE" // a value cannot be encoded in the chosen format
  | "BAD_KEY" // a private or public key is invalid for its curve
  | "BAD_CURVE" // unknown key/curve type
  | "BAD_SIGNATURE" // a signature has an impossible shape
  | "BAD_CERTIFICATE" // X.509 certificate cannot be parsed or does not verify
  | "BAD_ARGUMENT"; // an API was called with unusable arguments

/**
 * The one error class of @bbc1/bbclib. `code` says what kind of failure it is;
 * the message says what was wrong and with which input; `cause` chains the original error.
 */
export class BbcLibError extends Error {
  override readonly name = "BbcLibError";
  readonly code: BbcLibErrorCode;

  constructor(code: BbcLibErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
