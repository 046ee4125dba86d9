/**
 * CRC-32 (IEEE 802.3 / zlib, reflected polynomial 0xEDB88320): the per-message checksum of the
 * legacy magic 0 and 1 formats, over the bytes from the magic byte to the end of the value.
 *
 * @module
 */

import { crcTables, crcWithTables } from "./crc32c.ts";

const IEEE = crcTables(0xedb88320);

/**
 * CRC-32 of `data[start, end)`.
 * @param data the bytes
 * @param start first byte (default 0)
 * @param end one past the last byte (default `data.length`)
 * @returns the CRC as an unsigned 32-bit number
 * @example crc32(new TextEncoder().encode("123456789")) // 0xcbf43926
 */
export function crc32(data: Uint8Array, start = 0, end: number = data.length): number {
  return crcWithTables(IEEE, data, start, end);
}
