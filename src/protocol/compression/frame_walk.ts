/**
 * What the LZ4 and zstd frame formats share: little-endian words, and skippable frames (magic
 * 0x184D2A50–0x184D2A5F, a 4-byte length, content to ignore) allowed between data frames.
 *
 * @module
 */

const SKIPPABLE_MAGIC = 0x184d2a50; // low 4 bits are free

/** The unsigned little-endian 32-bit word at `b[i]`. */
export function u32le(b: Uint8Array, i: number): number {
  return (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0;
}

/**
 * Steps from `pos` over skippable frames to the next data frame and checks its magic number.
 * @param format the format with its article, for errors ("an LZ4", "a zstd")
 * @param fail throws the codec's error
 * @returns where the data frame starts, or `data.length` when only skippable frames were left
 */
export function nextDataFrame(
  data: Uint8Array,
  pos: number,
  frameMagic: number,
  format: string,
  fail: (message: string) => never,
): number {
  const n = data.length;
  while (pos < n) {
    if (n - pos < 4) fail(pos === 0 ? "truncated frame magic" : `unexpected bytes after frame at ${pos}`);
    const magic = u32le(data, pos);
    if (((magic & 0xfffffff0) >>> 0) === SKIPPABLE_MAGIC) {
      if (n - pos < 8) fail("truncated skippable frame");
      pos += 8 + u32le(data, pos + 4);
      if (pos > n) fail("truncated skippable frame");
      continue;
    }
    if (magic !== frameMagic) {
      fail(
        pos === 0 ? `not ${format} frame (magic 0x${magic.toString(16)})` : `unexpected bytes after frame at ${pos}`,
      );
    }
    return pos;
  }
  return n;
}
