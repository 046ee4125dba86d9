// Cross-checks kbin's codecs against independent implementations, both ways, at sizes around
// every block boundary: liblz4 (python3-lz4 and the lz4 tool), libsnappy (python3-snappy) with
// kafka-python's snappy-java framing, libzstd (python3-zstandard and the zstd tool), and zlib
// (the gzip tool and Python's gzip module). A missing tool skips its tests with the reason.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { lz4CompressFrame } from "../../../../src/protocol/compression/lz4.ts";
import { Codec } from "../../../../src/protocol/compression/mod.ts";
import { snappyCompressBlock } from "../../../../src/protocol/compression/snappy.ts";
import { IMPLEMENTATIONS, missing, pipe, pythonEach, sameBytes, sampleData, SIZES } from "./helpers.ts";

const inputs = SIZES.map((size, i) => sampleData(size, i + 1));

function implsOf(codec: number) {
  return IMPLEMENTATIONS.filter((i) => i.codec === codec);
}

function assertSame(actual: Uint8Array, expected: Uint8Array): void {
  assert.ok(
    sameBytes(actual, expected),
    `got ${actual.length} bytes, expected ${expected.length} (or different bytes)`,
  );
}

function atSize<T>(data: Uint8Array, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw new Error(`at ${data.length} bytes: ${(e as Error).message}`, { cause: e });
  }
}

/** A command decodes what `encode` made of each input; each result must be that input. */
function toolReads(command: string, args: string[], encode: (data: Uint8Array) => Uint8Array): void {
  for (const data of inputs) atSize(data, () => assertSame(pipe(command, args, encode(data)), data));
}

/** `decode` reads what a command made of each input. */
function readsTool(command: string, args: string[], decode: (packed: Uint8Array) => Uint8Array): void {
  for (const data of inputs) atSize(data, () => assertSame(decode(pipe(command, args, data)), data));
}

/** Python decodes what `encode` made of each input (`data` in, `out` out). */
function pythonReads(body: string, encode: (data: Uint8Array) => Uint8Array): void {
  const outs = pythonEach(body, inputs.map(encode));
  outs.forEach((out, i) => atSize(inputs[i]!, () => assertSame(out, inputs[i]!)));
}

/** `decode` reads what Python made of each input (`data` in, `out` out). */
function readsPython(body: string, decode: (packed: Uint8Array) => Uint8Array): void {
  const packed = pythonEach(body, inputs);
  packed.forEach((p, i) => atSize(inputs[i]!, () => assertSame(decode(p), inputs[i]!)));
}

describe("gzip interop", () => {
  for (const { label, impl } of implsOf(Codec.GZIP)) {
    test(`${label} output is read by the gzip tool`, { skip: missing.gzip }, () => {
      toolReads("gzip", ["-dc"], (d) => impl.compress(d));
    });
    test(`${label} output at levels 1 and 9 is read by Python's gzip module`, { skip: missing.python }, () => {
      for (const level of [1, 9]) {
        pythonReads("import gzip\nout = gzip.decompress(data)", (d) => impl.compress(d, level));
      }
    });
    test(`${label} reads the gzip tool's output`, { skip: missing.gzip }, () => {
      readsTool("gzip", ["-c", "-1"], (p) => impl.decompress(p));
    });
  }
});

describe("snappy interop", () => {
  for (const { label, impl } of implsOf(Codec.SNAPPY)) {
    test(`${label} output (snappy-java framing) is read by kafka-python's snappy_decode`, {
      skip: missing.kafkaPython,
    }, () => {
      pythonReads("import kafka.codec\nout = kafka.codec.snappy_decode(data)", (d) => impl.compress(d));
    });
    test(`${label} reads kafka-python's snappy-java framing at 32 KiB and 4 KiB chunks`, {
      skip: missing.kafkaPython,
    }, () => {
      for (const chunk of [32768, 4096]) {
        const body = `import kafka.codec\nout = kafka.codec.snappy_encode(data, True, ${chunk})`;
        readsPython(body, (p) => impl.decompress(p));
      }
    });
    test(`${label} reads libsnappy's raw blocks (librdkafka's framing)`, { skip: missing.pythonSnappy }, () => {
      readsPython("import snappy\nout = snappy.compress(data)", (p) => impl.decompress(p));
    });
  }
  test("snappyCompressBlock() output is read by libsnappy", { skip: missing.pythonSnappy }, () => {
    pythonReads("import snappy\nout = snappy.uncompress(data)", snappyCompressBlock);
  });
});

describe("lz4 interop", () => {
  const FRAMES: [string, string][] = [
    ["Kafka's (independent, 64 KiB, no checksums)", "block_linked=False, store_size=False"],
    ["linked blocks with content size", "block_linked=True, store_size=True"],
    ["linked blocks with block and content checksums", "block_checksum=True, content_checksum=True"],
    ["4 MiB blocks", "block_size=lz4.frame.BLOCKSIZE_MAX4MB"],
    ["high compression", "compression_level=lz4.frame.COMPRESSIONLEVEL_MINHC, block_linked=False"],
  ];
  for (const { label, impl } of implsOf(Codec.LZ4)) {
    test(`${label} output is read by liblz4`, { skip: missing.pythonLz4 }, () => {
      pythonReads("import lz4.frame\nout = lz4.frame.decompress(data)", (d) => impl.compress(d));
    });
    test(`${label} output is read by the lz4 tool`, { skip: missing.lz4 }, () => {
      toolReads("lz4", ["-dc"], (d) => impl.compress(d));
    });
    for (const [name, args] of FRAMES) {
      test(`${label} reads liblz4 frames: ${name}`, { skip: missing.pythonLz4 }, () => {
        readsPython(`import lz4.frame\nout = lz4.frame.compress(data, ${args})`, (p) => impl.decompress(p));
      });
    }
    test(`${label} reads the lz4 tool's frames, linked with block checksums too`, { skip: missing.lz4 }, () => {
      readsTool("lz4", ["-c", "-q"], (p) => impl.decompress(p));
      // Not -B4 here: lz4 1.9.4 fails on some stdin sizes with it (ERROR_dstMaxSize_tooSmall).
      readsTool("lz4", ["-c", "-q", "-BD", "-BX"], (p) => impl.decompress(p));
    });
    test(`${label} reads kafka-python's frames for 0.8/0.9 brokers (wrong header checksum)`, {
      skip: missing.kafkaPythonOldLz4,
    }, () => {
      readsPython("import kafka.codec\nout = kafka.codec.lz4_encode_old_kafka(data)", (p) => impl.decompress(p));
    });
  }
  test("lz4CompressFrame() options produce frames liblz4 reads", { skip: missing.pythonLz4 }, () => {
    for (const blockSizeBytes of [65536, 262144, 1048576, 4194304]) {
      const options = { blockSizeBytes, blockChecksum: true, contentChecksum: true, contentSize: true };
      pythonReads("import lz4.frame\nout = lz4.frame.decompress(data)", (d) => lz4CompressFrame(d, options));
    }
  });
  test("lz4CompressFrame({ brokenHeaderChecksum }) is what kafka-python writes for old brokers", {
    skip: missing.kafkaPythonOldLz4,
  }, () => {
    const theirs = pythonEach("import kafka.codec\nout = kafka.codec.lz4_encode_old_kafka(data)", inputs);
    inputs.forEach((data, i) => {
      // Same header bytes (magic, FLG, BD, the wrong HC) as kafka-python's independent code.
      const ours = lz4CompressFrame(data, { brokenHeaderChecksum: true });
      assert.deepEqual([...ours.subarray(0, 7)], [...theirs[i]!.subarray(0, 7)], `at ${data.length} bytes`);
    });
    pythonReads(
      "import kafka.codec\nout = kafka.codec.lz4_decode_old_kafka(data)",
      (d) => lz4CompressFrame(d, { brokenHeaderChecksum: true }),
    );
  });
});

describe("zstd interop", () => {
  for (const { label, impl } of implsOf(Codec.ZSTD)) {
    test(`${label} output is read by libzstd`, { skip: missing.pythonZstd }, () => {
      const body = "import zstandard\nout = zstandard.ZstdDecompressor().decompressobj().decompress(data)";
      pythonReads(body, (d) => impl.compress(d));
    });
    test(`${label} output is read by the zstd tool`, { skip: missing.zstd }, () => {
      toolReads("zstd", ["-dc"], (d) => impl.compress(d));
    });
    test(`${label} reads libzstd frames with and without content size and checksum`, {
      skip: missing.pythonZstd,
    }, () => {
      for (const args of ["level=3", "level=19, write_checksum=True", "level=1, write_content_size=False"]) {
        readsPython(
          `import zstandard\nout = zstandard.ZstdCompressor(${args}).compress(data)`,
          (p) => impl.decompress(p),
        );
      }
      const streamed = "import zstandard\nc = zstandard.ZstdCompressor(level=3).compressobj()\n" +
        "out = c.compress(data) + c.flush()";
      readsPython(streamed, (p) => impl.decompress(p));
    });
    test(`${label} reads the zstd tool's output, long-distance matching included`, { skip: missing.zstd }, () => {
      readsTool("zstd", ["-c", "-q"], (p) => impl.decompress(p));
      readsTool("zstd", ["-c", "-q", "--long=24", "-12"], (p) => impl.decompress(p));
    });
  }
});
