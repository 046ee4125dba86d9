import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  Codec,
  codecFromName,
  codecName,
  CompressionError,
  createCodecs,
  pureCodecs,
} from "../../../../src/protocol/compression/mod.ts";
import { nativeCodecs, runtimeName, sameBytes, sampleData } from "./helpers.ts";

const CODECS = [Codec.GZIP, Codec.SNAPPY, Codec.LZ4, Codec.ZSTD];

function throwsCompressionError(fn: () => unknown, pattern?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof CompressionError, `expected CompressionError, got ${e}`);
    assert.ok(e instanceof RangeError);
    assert.equal(e.code, "KBIN_COMPRESSION");
    assert.equal(e.name, "CompressionError");
    if (pattern) assert.match(e.message, pattern);
    return true;
  });
}

describe("codecName() and codecFromName()", () => {
  test("codecName() names Kafka's codec ids and calls the rest unknown", () => {
    assert.deepEqual([0, 1, 2, 3, 4].map(codecName), ["none", "gzip", "snappy", "lz4", "zstd"]);
    assert.equal(codecName(5), "unknown");
    assert.equal(codecName(-1), "unknown");
  });

  test("codecFromName() reads compression.type values, and producer is not a codec", () => {
    assert.equal(codecFromName("gzip"), Codec.GZIP);
    assert.equal(codecFromName("SNAPPY"), Codec.SNAPPY);
    assert.equal(codecFromName("lz4"), Codec.LZ4);
    assert.equal(codecFromName("zstd"), Codec.ZSTD);
    assert.equal(codecFromName("none"), Codec.NONE);
    assert.equal(codecFromName("uncompressed"), Codec.NONE);
    assert.equal(codecFromName("producer"), null);
    assert.equal(codecFromName("brotli"), null);
    assert.equal(codecFromName(""), null);
  });
});

describe("createCodecs()", () => {
  const pure = createCodecs();
  const native = createCodecs(nativeCodecs);

  test("round-trips every codec, pure and with the native overrides", () => {
    const data = sampleData(100_000);
    for (const codecs of [pure, native]) {
      for (const codec of CODECS) {
        const packed = codecs.compress(codec, data);
        // The pure zstd encoder stores blocks; every other one compresses.
        if (codecs === native || codec !== Codec.ZSTD) assert.ok(packed.length < data.length, `${codecName(codec)}`);
        assert.ok(sameBytes(codecs.decompress(codec, packed), data), `${codecName(codec)} round trip`);
      }
    }
  });

  test("available() is true for the four codecs and false for none and unknown ids", () => {
    for (const codec of CODECS) assert.equal(pure.available(codec), true);
    assert.equal(pure.available(Codec.NONE), false);
    assert.equal(pure.available(5), false);
    assert.equal(pure.available(7), false);
  });

  test("compress() and decompress() refuse none, unknown and missing codecs with CompressionError", () => {
    const data = new Uint8Array([1, 2, 3]);
    throwsCompressionError(() => pure.compress(Codec.NONE, data), /Cannot compress with none: codec is none/);
    throwsCompressionError(() => pure.decompress(Codec.NONE, data), /codec is none/);
    throwsCompressionError(() => pure.compress(6, data), /unknown codec 6/);
    throwsCompressionError(() => pure.decompress(5, data), /unknown codec 5/);
  });

  test("a native table replaces only the codecs it names", () => {
    const calls: string[] = [];
    const codecs = createCodecs({
      [Codec.LZ4]: {
        compress: (d) => (calls.push("compress"), d),
        decompress: (d) => (calls.push("decompress"), d),
      },
    });
    const data = new Uint8Array([9, 8, 7]);
    assert.deepEqual(codecs.compress(Codec.LZ4, data), data);
    assert.deepEqual(codecs.decompress(Codec.LZ4, data), data);
    assert.deepEqual(calls, ["compress", "decompress"]);
    assert.ok(sameBytes(codecs.decompress(Codec.GZIP, pureCodecs[Codec.GZIP]!.compress(data)), data));
  });

  test("compress() checks levels against Kafka's ranges; -1 and undefined mean the default", () => {
    const data = sampleData(20_000);
    for (const codecs of [pure, native]) {
      for (const level of [undefined, -1, 1, 9]) {
        assert.ok(sameBytes(codecs.decompress(Codec.GZIP, codecs.compress(Codec.GZIP, data, level)), data));
      }
      throwsCompressionError(() => codecs.compress(Codec.GZIP, data, 10), /level must be 1\.\.9, got 10/);
      throwsCompressionError(() => codecs.compress(Codec.GZIP, data, 0), /level must be 1\.\.9/);
      throwsCompressionError(() => codecs.compress(Codec.LZ4, data, 18), /level must be 1\.\.17/);
      throwsCompressionError(() => codecs.compress(Codec.ZSTD, data, 23), /level must be -131072\.\.22/);
      throwsCompressionError(() => codecs.compress(Codec.ZSTD, data, 1.5), /level must be/);
      for (const level of [-5, 1, 3, 19, 22]) {
        assert.ok(sameBytes(codecs.decompress(Codec.ZSTD, codecs.compress(Codec.ZSTD, data, level)), data));
      }
      assert.ok(sameBytes(codecs.decompress(Codec.LZ4, codecs.compress(Codec.LZ4, data, 17)), data));
      assert.ok(sameBytes(codecs.decompress(Codec.SNAPPY, codecs.compress(Codec.SNAPPY, data, 99)), data));
    }
  });

  test(`native zstd on ${runtimeName} compresses better at higher levels`, () => {
    const data = sampleData(200_000, 3);
    const fast = native.compress(Codec.ZSTD, data, 1).length;
    const small = native.compress(Codec.ZSTD, data, 19).length;
    assert.ok(small < fast, `level 19 (${small}) < level 1 (${fast})`);
  });

  test("decompress() caps output at maxOutputBytes for every codec and implementation", () => {
    const data = sampleData(50_000);
    for (const table of [{}, nativeCodecs]) {
      const roomy = createCodecs(table, { maxOutputBytes: 50_000 });
      const tight = createCodecs(table, { maxOutputBytes: 49_999 });
      for (const codec of CODECS) {
        const packed = roomy.compress(codec, data);
        assert.ok(sameBytes(roomy.decompress(codec, packed), data), `${codecName(codec)} at the cap`);
        throwsCompressionError(() => tight.decompress(codec, packed), /exceeds the limit of 49999 bytes/);
      }
    }
  });

  test("rejects a negative or fractional maxOutputBytes", () => {
    assert.throws(() => createCodecs({}, { maxOutputBytes: -1 }), RangeError);
    assert.throws(() => createCodecs({}, { maxOutputBytes: 1.5 }), RangeError);
  });

  test("wraps an implementation's own exceptions as CompressionError with the cause", () => {
    const boom = new TypeError("boom");
    const codecs = createCodecs({
      [Codec.GZIP]: {
        compress: () => {
          throw boom;
        },
        decompress: () => {
          throw boom;
        },
      },
    });
    for (
      const fn of [() => codecs.compress(Codec.GZIP, new Uint8Array(1)), () => codecs.decompress(1, new Uint8Array(1))]
    ) {
      assert.throws(
        fn,
        (e: unknown) => e instanceof CompressionError && e.cause === boom && /gzip.*boom/.test(e.message),
      );
    }
  });

  test("decompress() refuses an implementation's output over the cap even if it ignored the cap", () => {
    const codecs = createCodecs({ [Codec.ZSTD]: { compress: (d) => d, decompress: () => new Uint8Array(11) } }, {
      maxOutputBytes: 10,
    });
    throwsCompressionError(() => codecs.decompress(Codec.ZSTD, new Uint8Array(1)), /exceeds the limit of 10 bytes/);
  });
});
