/**
 * Direct reads of the RecordBatch v2 header fields the log needs on every append and fetch,
 * without allocating a header object or bigints (see record-format.md for the layout).
 *
 * @module
 */

/** Byte positions inside a v2 batch. */
export const F = {
  BASE_OFFSET: 0,
  BATCH_LENGTH: 8,
  LEADER_EPOCH: 12,
  MAGIC: 16,
  CRC: 17,
  ATTRIBUTES: 21,
  LAST_OFFSET_DELTA: 23,
  BASE_TIMESTAMP: 27,
  MAX_TIMESTAMP: 35,
  PRODUCER_ID: 43,
  PRODUCER_EPOCH: 51,
  BASE_SEQUENCE: 53,
  RECORD_COUNT: 57,
  HEADER_END: 61,
} as const;

/** A DataView over `buf` (cached per Uint8Array would not pay off: views are cheap). */
export function view(buf: Uint8Array): DataView {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** Reads a signed 64-bit big-endian value as a JS number (exact below 2^53). */
export function int64(v: DataView, at: number): number {
  return v.getInt32(at) * 4294967296 + v.getUint32(at + 4);
}

/** Writes a JS number as a signed 64-bit big-endian value. */
export function setInt64(v: DataView, at: number, n: number): void {
  const hi = Math.floor(n / 4294967296);
  v.setInt32(at, hi);
  v.setUint32(at + 4, n - hi * 4294967296);
}

/** Total size of the batch at `at` (12 + batchLength). */
export function batchSizeAt(v: DataView, at: number): number {
  return 12 + v.getInt32(at + F.BATCH_LENGTH);
}
