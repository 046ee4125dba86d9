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

import { Codec, type CodecImpl, DEFAULT_MAX_OUTPUT_BYTES } from "../../protocol/compression/mod.ts";
import { GZIP_DEFAULT_LEVEL } from "../../protocol/compression/gzip.ts";
import { ZSTD_DEFAULT_LEVEL, zstdDecodeFrames, zstdLayout } from "../../protocol/compression/zstd.ts";
import { plain, rethrow, zlibGzip, zlibZstdCompress, zlibZstdDecompressFrames } from "../shared/zlib_codecs.ts";

type LibdeflateLevel = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 | 10 | 11 | 12;

const gzip: CodecImpl = {
  compress: (data, level = GZIP_DEFAULT_LEVEL) =>
    Bun.gzipSync(data as Uint8Array<ArrayBuffer>, { level: level as LibdeflateLevel, library: "libdeflate" }),
  // Not Bun.gunzipSync: it returns only the first member of multi-member gzip.
  decompress: zlibGzip.decompress,
};

const zstd: CodecImpl = {
  // Bun.zstdCompressSync takes levels 1..22 only; Kafka also allows zstd's negative (fast) levels.
  compress: (data, level = ZSTD_DEFAULT_LEVEL) =>
    level >= 1 ? plain(Bun.zstdCompressSync(data, { level })) : zlibZstdCompress(data, level),
  decompress(data, maxOutputBytes = DEFAULT_MAX_OUTPUT_BYTES) {
    const layout = zstdLayout(data, maxOutputBytes);
    try {
      if (layout.boundBytes <= maxOutputBytes) {
        // The output provably fits the cap: decode every frame in one native call.
        return zstdDecodeFrames(
          data,
          { ...layout, spans: [0, data.length] },
          maxOutputBytes,
          (all) => plain(Bun.zstdDecompressSync(all)),
        );
      }
      return zlibZstdDecompressFrames(data, layout, maxOutputBytes);
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
