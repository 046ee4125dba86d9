/**
 * Native codecs on Deno: gzip and zstd from `node:zlib` (zlib and libzstd in Deno's binary).
 * Snappy and lz4 stay pure TypeScript: Deno has no native snappy or lz4.
 *
 * @module
 */

import { Codec, type CodecImpl } from "../../protocol/compression/mod.ts";
import { zlibGzip, zlibZstd } from "../shared/zlib_codecs.ts";

/** Deno's native codecs, for `createCodecs(nativeCodecs)`. */
export const nativeCodecs: Partial<Record<number, CodecImpl>> = {
  [Codec.GZIP]: zlibGzip,
  [Codec.ZSTD]: zlibZstd,
};
