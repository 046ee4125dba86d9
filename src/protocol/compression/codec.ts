/**
 * The shape every codec implementation has, pure or native.
 *
 * @module
 */

/** Decompressed output is capped at this many bytes unless `createCodecs()` is told otherwise. */
export const DEFAULT_MAX_OUTPUT_BYTES = 1 << 30;

/** One codec: Kafka's framing for it in, Kafka's framing for it out. */
export interface CodecImpl {
  /**
   * @param data uncompressed bytes
   * @param level codec-specific level; `undefined` means the codec's default
   * @returns the compressed payload, framed as Kafka's Java client frames it
   */
  compress(data: Uint8Array, level?: number): Uint8Array;
  /**
   * @param data compressed payload
   * @param maxOutputBytes stop with an error past this many output bytes (decompression bombs)
   * @returns the uncompressed bytes
   */
  decompress(data: Uint8Array, maxOutputBytes?: number): Uint8Array;
}
