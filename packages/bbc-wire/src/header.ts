import { WireError } from "./errors.js";

/** Length of the frame header: payload_type u16 BE, format_version u16 BE, length u32 BE. */
export const HEADER_LENGTH = 8;

/** The decoded 8-byte frame header. */
export interface FrameHeader {
  /** 0 TLV, 2 msgpack, 3 encrypted msgpack (anything else is rejected by the decoders). */
  readonly payloadType: number;
  /** `payload_version` of the reference; always 0 there, carried through unchanged. */
  readonly formatVersion: number;
  /** Length of the payload (body) that follows the header. */
  readonly length: number;
}

/** Writes the 8-byte header into `out` at `offset` (no checks beyond the field widths). */
export function writeHeader(out: Uint8Array, offset: number, payloadType: number, formatVersion: number, length: number): void {
  out[offset] = (payloadType >>> 8) & 0xff;
  out[offset + 1] = payloadType & 0xff;
  out[offset + 2] = (formatVersion >>> 8) & 0xff;
  out[offset + 3] = formatVersion & 0xff;
  out[offset + 4] = (length >>> 24) & 0xff;
  out[offset + 5] = (length >>> 16) & 0xff;
  out[offset + 6] = (length >>> 8) & 0xff;
  out[offset + 7] = length & 0xff;
}

function checkField(name: string, v: number, max: number): void {
  if (!Number.isInteger(v) || v < 0 || v > max) {
    throw new WireError("INVALID_ARGUMENT", `header ${name} ${String(v)} is not an integer in 0..${max}`);
  }
}

/** Encodes an 8-byte frame header. Throws `INVALID_ARGUMENT` for out-of-range fields. */
export function encodeHeader(header: FrameHeader): Uint8Array {
  checkField("payloadType", header.payloadType, 0xffff);
  checkField("formatVersion", header.formatVersion, 0xffff);
  checkField("length", header.length, 0xffffffff);
  const out = new Uint8Array(HEADER_LENGTH);
  writeHeader(out, 0, header.payloadType, header.formatVersion, header.length);
  return out;
}

/** Reads the header at `offset`. Throws `TRUNCATED_HEADER` when fewer than 8 bytes remain. */
export function decodeHeader(bytes: Uint8Array, offset = 0): FrameHeader {
  if (!Number.isInteger(offset) || offset < 0 || bytes.length - offset < HEADER_LENGTH) {
    throw new WireError(
      "TRUNCATED_HEADER",
      `frame header needs ${HEADER_LENGTH} bytes, ${Math.max(0, bytes.length - offset)} available`,
    );
  }
  return {
    payloadType: (bytes[offset]! << 8) | bytes[offset + 1]!,
    formatVersion: (bytes[offset + 2]! << 8) | bytes[offset + 3]!,
    length: ((bytes[offset + 4]! << 24) | (bytes[offset + 5]! << 16) | (bytes[offset + 6]! << 8) | bytes[offset + 7]!) >>> 0,
  };
}
