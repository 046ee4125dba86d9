// Hostile input for every codec and implementation: truncation at every byte, bit flips, random
// bytes behind each format's magic, and decompression bombs. The only acceptable failure is a
// CompressionError, raised promptly; nothing may allocate past the output cap.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { gzipCompress } from "../../../../src/protocol/compression/gzip.ts";
import { lz4CompressFrame } from "../../../../src/protocol/compression/lz4.ts";
import { xxhash32 } from "../../../../src/protocol/compression/xxhash32.ts";
import { Codec, codecName, CompressionError, createCodecs } from "../../../../src/protocol/compression/mod.ts";
import { IMPLEMENTATIONS, nativeCodecs, randomBytes, sampleData } from "./helpers.ts";

const MAGICS: Record<number, number[][]> = {
  [Codec.GZIP]: [[0x1f, 0x8b, 0x08, 0x00]],
  [Codec.SNAPPY]: [[0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00, 0, 0, 0, 1, 0, 0, 0, 1], []],
  // Kafka's header (checksum correct), and one with content size and every checksum flag.
  [Codec.LZ4]: [[0x04, 0x22, 0x4d, 0x18, 0x60, 0x40, 0x82], [0x04, 0x22, 0x4d, 0x18, 0x7c, 0x70]],
  [Codec.ZSTD]: [[0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x58], [0x28, 0xb5, 0x2f, 0xfd, 0x20], [0x28, 0xb5, 0x2f, 0xfd, 0xa4]],
};

function isPrefix(out: Uint8Array, data: Uint8Array): boolean {
  return out.length <= data.length && out.every((b, i) => b === data[i]);
}

/** Runs `fn`; it may return, or throw a CompressionError, nothing else. */
function survives(fn: () => Uint8Array, what: string): Uint8Array | CompressionError {
  try {
    return fn();
  } catch (e) {
    if (e instanceof CompressionError) return e;
    throw new Error(`${what}: threw ${(e as Error)?.constructor?.name} ${(e as Error)?.message}`, { cause: e });
  }
}

describe("decompress() on hostile input", () => {
  for (const { label, codec, impl } of IMPLEMENTATIONS) {
    const name = `${label} ${codecName(codec)}`;
    // Native output where there is one: the pure zstd encoder only stores, and the pure
    // decoders must face real compressed streams.
    const packer = nativeCodecs[codec] ?? impl;
    const small = sampleData(3000, 5);
    const big = sampleData(100_000, 6);

    test(`${name} rejects every truncation with CompressionError`, () => {
      for (const data of [small, big]) {
        const packed = packer.compress(data);
        const step = packed.length > 5000 ? 37 : 1;
        for (let cut = 0; cut < packed.length; cut += cut < 64 || packed.length - cut < 64 ? 1 : step) {
          const r = survives(() => impl.decompress(packed.subarray(0, cut)), `cut at ${cut}`);
          if (r instanceof CompressionError) continue;
          // snappy-java framing has no end marker: a cut at a chunk boundary is a shorter stream.
          assert.ok(codec === Codec.SNAPPY && isPrefix(r, data), `cut at ${cut} of ${packed.length} decoded`);
        }
      }
    });

    test(`${name} survives bit flips with CompressionError or output`, () => {
      const packed = packer.compress(small);
      for (let i = 0; i < packed.length; i++) {
        for (const bit of [0x01, 0x80]) {
          const bad = packed.slice();
          bad[i]! ^= bit;
          survives(() => impl.decompress(bad), `flip ${bit} at ${i}`);
        }
      }
    });

    test(`${name} survives random bytes, bare and behind the format's magic`, () => {
      for (let i = 0; i < 400; i++) {
        const body = randomBytes(i % 97 === 0 ? 5000 : i % 64, i + 1);
        for (const magic of MAGICS[codec]!) {
          const input = new Uint8Array(magic.length + body.length);
          input.set(magic);
          input.set(body, magic.length);
          survives(() => impl.decompress(input), `random input ${i}`);
        }
      }
      survives(() => impl.decompress(new Uint8Array(0)), "empty input");
      assert.throws(() => impl.decompress(new Uint8Array(0)), CompressionError);
    });

    test(`${name} rejects trailing garbage or returns the data`, () => {
      const packed = packer.compress(small);
      const trailing = new Uint8Array(packed.length + 5);
      trailing.set(packed);
      trailing.set([1, 2, 3, 4, 5], packed.length);
      const r = survives(() => impl.decompress(trailing), "trailing bytes");
      // Java's GZIPInputStream (and Bun's gzip) ignore garbage after the last member.
      if (!(r instanceof CompressionError)) assert.ok(codec === Codec.GZIP && isPrefix(r, small) && r.length === 3000);
    });
  }
});

describe("decompression bombs", () => {
  const CAP = 1 << 20;
  const zeros = new Uint8Array(16 << 20);
  const pure = createCodecs({}, { maxOutputBytes: CAP });
  const native = createCodecs(nativeCodecs, { maxOutputBytes: CAP });

  function refuses(codec: number, payload: Uint8Array, pattern = /exceeds the limit of 1048576 bytes/): void {
    for (const codecs of [pure, native]) {
      const start = performance.now();
      assert.throws(() => codecs.decompress(codec, payload), (e: unknown) => {
        assert.ok(e instanceof CompressionError, `${e}`);
        assert.match(e.message, pattern);
        return true;
      });
      assert.ok(performance.now() - start < 5000, "refused promptly");
    }
  }

  test("gzip: 16 MiB of zeros stops at the cap", () => {
    refuses(Codec.GZIP, native.compress(Codec.GZIP, zeros, 1));
    refuses(Codec.GZIP, gzipCompress(zeros.subarray(0, 4 << 20), 1));
  });

  test("snappy: a raw block claiming 4 GiB, and 4 MiB of framed zeros", () => {
    refuses(Codec.SNAPPY, new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f, 0x00, 0x61]));
    refuses(Codec.SNAPPY, pure.compress(Codec.SNAPPY, zeros.subarray(0, 4 << 20)));
  });

  test("lz4: 16 MiB of zeros in 4 MiB blocks, and a header claiming 1 TiB", () => {
    refuses(Codec.LZ4, lz4CompressFrame(zeros, { blockSizeBytes: 4 << 20 }));
    const claim = new Uint8Array([
      0x04,
      0x22,
      0x4d,
      0x18,
      0x68,
      0x40,
      0,
      0,
      0,
      0,
      0,
      1,
      0,
      0,
      0,
      1,
      0,
      0,
      0x80,
      0x61,
      0,
      0,
      0,
      0,
    ]);
    claim[14] = (xxhash32(claim, 4, 14) >>> 8) & 0xff;
    refuses(Codec.LZ4, claim, /content size 1099511627776 exceeds the limit of 1048576 bytes/);
  });

  test("zstd: 16 MiB of zeros, RLE blocks with no content size, and a header claiming 1 TiB", () => {
    refuses(Codec.ZSTD, native.compress(Codec.ZSTD, zeros));
    // Frame without content size, 8 MiB window, 512 RLE blocks of 128 KiB: 64 MiB from 2 KiB.
    const blocks = 512;
    const rle = new Uint8Array(6 + blocks * 4);
    rle.set([0x28, 0xb5, 0x2f, 0xfd, 0x00, (13 << 3) | 0]);
    for (let b = 0; b < blocks; b++) {
      const header = ((128 * 1024) << 3) | (1 << 1) | (b === blocks - 1 ? 1 : 0);
      rle.set([header & 0xff, (header >>> 8) & 0xff, header >>> 16, 0x61], 6 + b * 4);
    }
    refuses(Codec.ZSTD, rle);
    // Single-segment frame declaring 2^40 bytes (8-byte content size).
    const claim = new Uint8Array([0x28, 0xb5, 0x2f, 0xfd, 0xe0, 0, 0, 0, 0, 0, 1, 0, 0, 0x01, 0, 0]);
    refuses(Codec.ZSTD, claim, /declared content of 1099511627776 bytes exceeds the limit/);
  });
});
