/**
 * Kafka's record compression codecs: gzip, snappy, lz4 and zstd, each with the framing Kafka's
 * Java client writes and every framing Kafka clients are known to send.
 *
 * The core is pure TypeScript and runs anywhere; each runtime adapter passes faster native
 * implementations to {@link createCodecs} (`nativeCodecs` in `src/runtime/{bun,deno}/codecs.ts`).
 * Every failure, whatever the codec or implementation, is a {@link CompressionError}: corrupt,
 * truncated or trailing input, output over the cap (decompression bombs), or a codec that is
 * unknown or missing.
 *
 * @example
 * ```ts
 * import { Codec, createCodecs } from "./src/protocol/compression/mod.ts";
 * import { nativeCodecs } from "./src/runtime/bun/codecs.ts";
 *
 * const codecs = createCodecs(nativeCodecs, { maxOutputBytes: 64 << 20 });
 * const packed = codecs.compress(Codec.LZ4, records);
 * const same = codecs.decompress(Codec.LZ4, packed);
 * ```
 *
 * @module
 */

import { type CodecImpl, DEFAULT_MAX_OUTPUT_BYTES } from "./codec.ts";
import { CompressionError } from "./errors.ts";
import { gzip, GZIP_DEFAULT_LEVEL } from "./gzip.ts";
import { lz4 } from "./lz4.ts";
import { snappy } from "./snappy.ts";
import { zstd, ZSTD_DEFAULT_LEVEL } from "./zstd.ts";

export { type CodecImpl, CompressionError, DEFAULT_MAX_OUTPUT_BYTES };

/** Codec ids as in bits 0-2 of a record batch's attributes. */
export const Codec = { NONE: 0, GZIP: 1, SNAPPY: 2, LZ4: 3, ZSTD: 4 } as const;
/** One of {@link Codec}'s values. */
export type CodecId = (typeof Codec)[keyof typeof Codec];

/** Compression for the broker: picks the codec by id, enforces levels and the output cap. */
export interface Codecs {
  /**
   * @param codec a {@link Codec} id other than NONE
   * @param data uncompressed bytes
   * @param level Kafka's `compression.<codec>.level`; `undefined` or -1 means the default
   * @returns the compressed payload
   * @throws CompressionError for NONE, an unknown or unavailable codec, or a level out of range
   */
  compress(codec: number, data: Uint8Array, level?: number): Uint8Array;
  /**
   * @param codec a {@link Codec} id other than NONE
   * @param data compressed payload
   * @returns the uncompressed bytes
   * @throws CompressionError on corrupt input, output over the cap, or a bad codec
   */
  decompress(codec: number, data: Uint8Array): Uint8Array;
  /** @returns whether `codec` can be compressed and decompressed here (false for NONE) */
  available(codec: number): boolean;
}

/** The pure-TypeScript codecs (zstd's encoder stores blocks uncompressed; see zstd.ts). */
export const pureCodecs: Readonly<Record<number, CodecImpl>> = Object.freeze({
  [Codec.GZIP]: gzip,
  [Codec.SNAPPY]: snappy,
  [Codec.LZ4]: lz4,
  [Codec.ZSTD]: zstd,
});

const NAMES = ["none", "gzip", "snappy", "lz4", "zstd"] as const;

/** Level ranges and defaults as in Kafka (KIP-390). Snappy has none. */
const LEVELS: Record<number, { min: number; max: number; default: number }> = {
  [Codec.GZIP]: { min: 1, max: 9, default: GZIP_DEFAULT_LEVEL },
  [Codec.LZ4]: { min: 1, max: 17, default: 9 },
  [Codec.ZSTD]: { min: -131072, max: 22, default: ZSTD_DEFAULT_LEVEL },
};

/**
 * The codec's name as Kafka's `compression.type` spells it.
 * @param codec a codec id
 * @returns "none", "gzip", "snappy", "lz4", "zstd", or "unknown"
 */
export function codecName(codec: number): "none" | "gzip" | "snappy" | "lz4" | "zstd" | "unknown" {
  return NAMES[codec] ?? "unknown";
}

/**
 * Parses a `compression.type` value.
 * @param name "gzip", "snappy", "lz4", "zstd", "none" or "uncompressed" (any case)
 * @returns the codec id, or null for "producer" and anything unknown
 */
export function codecFromName(name: string): number | null {
  const lower = name.trim().toLowerCase();
  if (lower === "uncompressed") return Codec.NONE;
  const id = NAMES.indexOf(lower as (typeof NAMES)[number]);
  return id < 0 ? null : id;
}

function wrap(e: unknown, action: string): CompressionError {
  if (e instanceof CompressionError) return e;
  const detail = e instanceof Error ? e.message : String(e);
  return new CompressionError(`${action}: ${detail}`, { cause: e });
}

/**
 * Builds the codec table: pure TypeScript for every codec, replaced by `native` where given.
 * @param native faster implementations by codec id, from the runtime adapter
 * @param options `maxOutputBytes`: cap on one decompressed payload (default 1 GiB)
 * @returns the codecs
 * @example
 * ```ts
 * const codecs = createCodecs(nativeCodecs);
 * codecs.decompress(Codec.SNAPPY, payload); // Uint8Array, or throws CompressionError
 * ```
 */
export function createCodecs(
  native: Partial<Record<number, CodecImpl>> = {},
  options: { maxOutputBytes?: number } = {},
): Codecs {
  const maxOutputBytes = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
  if (!Number.isSafeInteger(maxOutputBytes) || maxOutputBytes < 0) {
    throw new RangeError(`Cannot create codecs: maxOutputBytes must be a non-negative integer, got ${maxOutputBytes}`);
  }
  const impls: Record<number, CodecImpl> = { ...pureCodecs };
  for (const [id, impl] of Object.entries(native)) if (impl) impls[Number(id)] = impl;

  function pick(codec: number, action: string): CodecImpl {
    const impl = codec === Codec.NONE ? undefined : impls[codec];
    if (impl) return impl;
    const why = codec === Codec.NONE
      ? "codec is none"
      : NAMES[codec] === undefined
      ? `unknown codec ${codec}`
      : "codec is not available in this runtime";
    throw new CompressionError(`Cannot ${action} ${codecName(codec)}: ${why}`);
  }

  return {
    compress(codec, data, level) {
      const impl = pick(codec, "compress with");
      const range = LEVELS[codec];
      let resolved: number | undefined;
      if (range) {
        resolved = level === undefined || level === -1 ? range.default : level;
        if (!Number.isInteger(resolved) || resolved < range.min || resolved > range.max) {
          throw new CompressionError(
            `Cannot compress with ${codecName(codec)}: level must be ${range.min}..${range.max}, got ${level}`,
          );
        }
      }
      try {
        return impl.compress(data, resolved);
      } catch (e) {
        throw wrap(e, `Cannot compress with ${codecName(codec)}`);
      }
    },
    decompress(codec, data) {
      const impl = pick(codec, "decompress");
      let out: Uint8Array;
      try {
        out = impl.decompress(data, maxOutputBytes);
      } catch (e) {
        throw wrap(e, `Cannot decompress ${codecName(codec)} data`);
      }
      if (out.length > maxOutputBytes) {
        throw new CompressionError(
          `Cannot decompress ${codecName(codec)} data: output exceeds the limit of ${maxOutputBytes} bytes`,
        );
      }
      return out;
    },
    available(codec) {
      return codec !== Codec.NONE && impls[codec] !== undefined;
    },
  };
}
