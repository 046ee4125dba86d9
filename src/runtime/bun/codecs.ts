/**
 * Native codecs on Bun: gzip compression through libdeflate (`Bun.gzipSync`, faster and
 * smaller than zlib), gzip decompression through `node:zlib`, and zstd through Bun's libzstd.
 * Snappy and lz4 stay pure TypeScript: Bun has no native snappy or lz4.
 *
 * Not `Bun.gunzipSync`: in Bun 1.4.5 it returns only the first member of a multi-member gzip
 * stream, which Java's `GZIPInputStream` reads whole. `Bun.zstdDecompressSync` takes no output
 * cap, so it runs only when the core's frame walker proves the output fits `maxOutputBytes`;
 * otherwise `node:zlib` decodes with `maxOutputLength`, frame by frame, because it returns
 * short output for a truncated frame and stops after the first frame or at a skippable frame.
 *
 * @module
 */

import { kMaxLength } from "node:buffer";
import { constants, gunzipSync, zstdCompressSync, zstdDecompressSync } from "node:zlib";
import { Codec, type CodecImpl, CompressionError, DEFAULT_MAX_OUTPUT_BYTES } from "../../protocol/compression/mod.ts";
import { GZIP_DEFAULT_LEVEL } from "../../protocol/compression/gzip.ts";
import { ZSTD_DEFAULT_LEVEL, zstdDecodeFrames, zstdLayout } from "../../protocol/compression/zstd.ts";

/** A plain Uint8Array over a Buffer's bytes, so `slice()` copies as callers expect. */
function plain(b: Uint8Array): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** Turns native errors into CompressionError; ERR_BUFFER_TOO_LARGE means the cap was hit. */
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

type LibdeflateLevel = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 | 10 | 11 | 12;

const gzip: CodecImpl = {
  compress: (data, level = GZIP_DEFAULT_LEVEL) =>
    Bun.gzipSync(data as Uint8Array<ArrayBuffer>, { level: level as LibdeflateLevel, library: "libdeflate" }),
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
  // Bun.zstdCompressSync takes levels 1..22 only; Kafka also allows zstd's negative (fast) levels.
  compress: (data, level = ZSTD_DEFAULT_LEVEL) =>
    plain(
      level >= 1
        ? Bun.zstdCompressSync(data, { level })
        : zstdCompressSync(data, { params: { [constants.ZSTD_c_compressionLevel]: level } }),
    ),
  decompress(data, maxOutputBytes = DEFAULT_MAX_OUTPUT_BYTES) {
    const layout = zstdLayout(data, maxOutputBytes);
    try {
      if (layout.boundBytes <= maxOutputBytes) {
        return zstdDecodeFrames(
          data,
          { ...layout, spans: [0, data.length] },
          maxOutputBytes,
          (all) => plain(Bun.zstdDecompressSync(all)),
        );
      }
      return zstdDecodeFrames(data, layout, maxOutputBytes, (frame, maxBytes) => {
        if (maxBytes <= 0) rethrow({ code: "ERR_BUFFER_TOO_LARGE" }, "zstd", maxOutputBytes);
        return plain(zstdDecompressSync(frame, { maxOutputLength: zlibCap(maxBytes) }));
      });
    } catch (e) {
      rethrow(e, "zstd", maxOutputBytes);
    }
  },
};

/** Bun's native codecs, for `createCodecs(nativeCodecs)`. */
export const nativeCodecs: Partial<Record<number, CodecImpl>> = {
  [Codec.GZIP]: gzip,
  [Codec.ZSTD]: zstd,
};
