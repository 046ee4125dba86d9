/**
 * The one error type of the compression codecs.
 *
 * @module
 */

/**
 * Thrown when data cannot be compressed or decompressed: corrupt or truncated input, output
 * over the size cap, an unknown codec or one this runtime lacks. Like a `DecodeError`, it
 * means "bad input": the caller rejects that batch, never the process.
 */
export class CompressionError extends RangeError {
  readonly code = "KBIN_COMPRESSION";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "CompressionError";
  }
}
