/**
 * Status / error codes of the core (bbc1 v1.1.1 `bbc_error.py`), carried as msgpack integers in
 * `status`. Which of them the core actually sends is listed in client-protocol.md §3.4.
 */
export const ErrorCode = Object.freeze({
  ESUCCESS: 0,
  EINVALID_COMMAND: -1,
  ENODESTINATION: -2,
  EUNAUTHORIZED_COMMAND: -3,
  ENOSUBSYSTEM: -4,

  ENOASSET: -11,
  EBADASSETDIGEST: -12,
  EASSET_INSERT: -13,
  ENOTRANSACTION: -14,
  EBADTRANSACTION: -15,
  EBADTXDIGEST: -16,
  EBADTXSIGNATURE: -17,
  ELEDGER_INSERT: -18,
  ESTORAGE_PUT: -19,
  ENOTINSTORAGE: -20,

  EBADKEYPAIR: -30,
  EBADSIGNNUMBER: -31,

  EOTHER: -255,
} as const);

/** An ErrorCode name. */
export type ErrorCodeName = keyof typeof ErrorCode;

const byValue = new Map<number, ErrorCodeName>(
  (Object.entries(ErrorCode) as [ErrorCodeName, number][]).map(([k, v]) => [v, k]),
);

/** The name of a status value, or `undefined` when it is not in `bbc_error.py`. */
export function errorCodeName(value: number): ErrorCodeName | undefined {
  return byValue.get(value);
}
