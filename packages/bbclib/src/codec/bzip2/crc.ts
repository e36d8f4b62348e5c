/**
 * The CRC-32 used by bzip2: polynomial 0x04C11DB7 processed most-significant
 * bit first (no bit reflection), initial value 0xFFFFFFFF, final complement.
 * This is not the zlib/PNG CRC-32, which is bit-reflected.
 */

function buildTable(): Uint32Array {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n << 24;
    for (let k = 0; k < 8; k++) {
      c = c & 0x80000000 ? (c << 1) ^ 0x04c11db7 : c << 1;
    }
    table[n] = c >>> 0;
  }
  return table;
}

/** Lookup table indexed by the top byte of the running CRC xor the next input byte. */
export const CRC_TABLE: Uint32Array = buildTable();

/**
 * The same table as signed 32-bit values. A running CRC kept as an int32
 * (`(crc << 8) ^ CRC_TABLE_I32[(crc >>> 24) ^ byte]`, unsigned only when finished) stays a
 * small integer for the JIT; half of the unsigned values do not, and the per-byte update then
 * went through floating point (a tenth of a small compression).
 */
export const CRC_TABLE_I32: Int32Array = new Int32Array(CRC_TABLE.buffer);

/** Value a block CRC starts from. */
export const CRC_INIT = 0xffffffff;

/** Folds one byte into a running (non-finalised) CRC; returns an unsigned 32-bit value. */
export function crcUpdate(crc: number, byte: number): number {
  return ((crc << 8) ^ CRC_TABLE[((crc >>> 24) ^ byte) & 0xff]) >>> 0;
}

/** Folds a block CRC into the stream CRC: rotate left by one bit, then xor. */
export function combineCrc(combined: number, blockCrc: number): number {
  return (((combined << 1) | (combined >>> 31)) ^ blockCrc) >>> 0;
}
