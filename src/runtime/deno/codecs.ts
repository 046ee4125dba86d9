/**
 * Native codecs on Deno: gzip and zstd from `node:zlib` (zlib and libzstd in Deno's binary).
 * Snappy and lz4 stay pure TypeScript: Deno has no native snappy or lz4.
 *
 * `node:zlib`'s zstd decoder returns short output for a truncated frame instead of failing, and
 * stops after the first frame (or at a skippable frame), so zstd input goes through the core's
 * frame walker first and is decoded frame by frame.
 *
 * @module
 */

import { kMaxLength } from "node:buffer";
import { constants, gunzipSync, gzipSync, zstdCompressSync, zstdDecompressSync } from "node:zlib";
import { Codec, type CodecImpl, CompressionError, DEFAULT_MAX_OUTPUT_BYTES } from "../../protocol/compression/mod.ts";
import { GZIP_DEFAULT_LEVEL } from "../../protocol/compression/gzip.ts";
import { ZSTD_DEFAULT_LEVEL, zstdDecodeFrames, zstdLayout } from "../../protocol/compression/zstd.ts";

/** A plain Uint8Array over a Buffer's bytes, so `slice()` copies as callers expect. */
function plain(b: Uint8Array): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** Turns zlib's errors into CompressionError; ERR_BUFFER_TOO_LARGE means the cap was hit. */
function rethrow(e: unknown, codec: string, maxOutputBytes: number): never {
  if (e instanceof CompressionError) throw e;
  const err = e as { code?: string; message?: string };
  const detail = err.code === "ERR_BUFFER_TOO_LARGE"
    ? `output exceeds the limit of ${maxOutputBytes} bytes`
    : (err.message ?? String(e));
  throw new CompressionError(`Cannot decompress ${codec} data: ${detail}`, { cause: e });
}

/** zlib wants 1..kMaxLength; a cap of 0 still has to fail on any output. */
function zlibCap(maxOutputBytes: number): number {
  return Math.max(1, Math.min(maxOutputBytes, kMaxLength));
}

const gzip: CodecImpl = {
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

const zstd: CodecImpl = {
  compress: (data, level = ZSTD_DEFAULT_LEVEL) =>
    plain(zstdCompressSync(data, { params: { [constants.ZSTD_c_compressionLevel]: level } })),
  decompress(data, maxOutputBytes = DEFAULT_MAX_OUTPUT_BYTES) {
    const layout = zstdLayout(data, maxOutputBytes);
    try {
      return zstdDecodeFrames(data, layout, maxOutputBytes, (frame, maxBytes) => {
        if (maxBytes <= 0) rethrow({ code: "ERR_BUFFER_TOO_LARGE" }, "zstd", maxOutputBytes);
        return plain(zstdDecompressSync(frame, { maxOutputLength: zlibCap(maxBytes) }));
      });
    } catch (e) {
      rethrow(e, "zstd", maxOutputBytes);
    }
  },
};

/** Deno's native codecs, for `createCodecs(nativeCodecs)`. */
export const nativeCodecs: Partial<Record<number, CodecImpl>> = {
  [Codec.GZIP]: gzip,
  [Codec.ZSTD]: zstd,
};
