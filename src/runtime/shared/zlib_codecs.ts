/**
 * gzip and zstd through `node:zlib`, which both Bun and Deno ship (zlib and libzstd). Each
 * runtime's `codecs.ts` starts from these and swaps in faster native paths where it has them.
 *
 * `node:zlib`'s zstd decoder returns short output for a truncated frame instead of failing, and
 * stops after the first frame (or at a skippable frame), so zstd input goes through the core's
 * frame walker first and is decoded frame by frame.
 *
 * @module
 */

import { kMaxLength } from "node:buffer";
import { constants, gunzipSync, gzipSync, zstdCompressSync, zstdDecompressSync } from "node:zlib";
import { type CodecImpl, CompressionError, DEFAULT_MAX_OUTPUT_BYTES } from "../../protocol/compression/mod.ts";
import { GZIP_DEFAULT_LEVEL } from "../../protocol/compression/gzip.ts";
import { ZSTD_DEFAULT_LEVEL, zstdDecodeFrames, zstdLayout } from "../../protocol/compression/zstd.ts";

/** A plain Uint8Array over a Buffer's bytes, so `slice()` copies as callers expect. */
export function plain(b: Uint8Array): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** Turns native errors into CompressionError; ERR_BUFFER_TOO_LARGE means the cap was hit. */
export function rethrow(e: unknown, codec: string, maxOutputBytes: number): never {
  if (e instanceof CompressionError) throw e;
  const err = e as { code?: string; message?: string };
  const detail = err.code === "ERR_BUFFER_TOO_LARGE"
    ? `output exceeds the limit of ${maxOutputBytes} bytes`
    : (err.message ?? String(e));
  throw new CompressionError(`Cannot decompress ${codec} data: ${detail}`, { cause: e });
}

/** zlib wants 1..kMaxLength; a cap of 0 still has to fail on any output. */
export function zlibCap(maxOutputBytes: number): number {
  return Math.max(1, Math.min(maxOutputBytes, kMaxLength));
}

/** gzip with zlib. */
export const zlibGzip: CodecImpl = {
  compress: (data, level = GZIP_DEFAULT_LEVEL) => plain(gzipSync(data, { level })),
  decompress(data, maxOutputBytes = DEFAULT_MAX_OUTPUT_BYTES) {
    let out: Uint8Array;
    try {
      out = gunzipSync(data, { maxOutputLength: zlibCap(maxOutputBytes) });
    } catch (e) {
      rethrow(e, "gzip", maxOutputBytes);
    }
    if (out.length > maxOutputBytes) rethrow({ code: "ERR_BUFFER_TOO_LARGE" }, "gzip", maxOutputBytes);
    return plain(out);
  },
};

/** zstd compression at any of Kafka's levels, negative (fast) ones included. */
export function zlibZstdCompress(data: Uint8Array, level = ZSTD_DEFAULT_LEVEL): Uint8Array {
  return plain(zstdCompressSync(data, { params: { [constants.ZSTD_c_compressionLevel]: level } }));
}

/** zstd decompression frame by frame, each frame capped by what is left of the limit. */
export function zlibZstdDecompressFrames(
  data: Uint8Array,
  layout: ReturnType<typeof zstdLayout>,
  maxOutputBytes: number,
): Uint8Array {
  return zstdDecodeFrames(data, layout, maxOutputBytes, (frame, maxBytes) => {
    if (maxBytes <= 0) rethrow({ code: "ERR_BUFFER_TOO_LARGE" }, "zstd", maxOutputBytes);
    return plain(zstdDecompressSync(frame, { maxOutputLength: zlibCap(maxBytes) }));
  });
}

/** zstd with libzstd through zlib. */
export const zlibZstd: CodecImpl = {
  compress: zlibZstdCompress,
  decompress(data, maxOutputBytes = DEFAULT_MAX_OUTPUT_BYTES) {
    try {
      return zlibZstdDecompressFrames(data, zstdLayout(data, maxOutputBytes), maxOutputBytes);
    } catch (e) {
      rethrow(e, "zstd", maxOutputBytes);
    }
  },
};
