import assert from "node:assert/strict";
import { test } from "node:test";
import {
  isXerialFramed,
  snappyCompress,
  snappyCompressBlock,
  snappyDecompress,
  snappyDecompressBlock,
} from "../../../../src/protocol/compression/snappy.ts";
import { CompressionError } from "../../../../src/protocol/compression/mod.ts";
import { randomBytes, sameBytes, sampleData, SIZES } from "./helpers.ts";

const HEADER = [0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00, 0, 0, 0, 1, 0, 0, 0, 1];

function chunkLengths(framed: Uint8Array): number[] {
  const view = new DataView(framed.buffer, framed.byteOffset, framed.byteLength);
  const out: number[] = [];
  for (let p = 16; p < framed.length;) {
    const n = view.getInt32(p);
    out.push(snappyDecompressBlock(framed.subarray(p + 4, p + 4 + n)).length);
    p += 4 + n;
  }
  return out;
}

test("snappyCompress() writes snappy-java's header and 32 KiB chunks, as Kafka's Java client does", () => {
  const framed = snappyCompress(sampleData(100_000));
  assert.deepEqual([...framed.subarray(0, 16)], HEADER);
  assert.ok(isXerialFramed(framed));
  assert.deepEqual(chunkLengths(framed), [32768, 32768, 32768, 1696]);
});

test("snappyCompress() writes the raw block 00 for empty input", () => {
  assert.deepEqual([...snappyCompress(new Uint8Array(0))], [0]);
  assert.equal(snappyDecompress(new Uint8Array([0])).length, 0);
  assert.equal(snappyDecompress(new Uint8Array(HEADER)).length, 0);
});

test("snappy round-trips framed and raw at every boundary size, compressible or not", () => {
  for (const size of SIZES) {
    for (const data of [sampleData(size, size), randomBytes(size, size + 1), new Uint8Array(size)]) {
      assert.ok(sameBytes(snappyDecompress(snappyCompress(data)), data), `framed ${size}`);
      assert.ok(sameBytes(snappyDecompress(snappyCompressBlock(data)), data), `raw ${size}`);
    }
  }
});

test("snappyDecompress() reads concatenated snappy-java streams", () => {
  const a = sampleData(40_000, 1);
  const b = sampleData(500, 2);
  const fa = snappyCompress(a);
  const fb = snappyCompress(b);
  const both = new Uint8Array(fa.length + fb.length);
  both.set(fa);
  both.set(fb, fa.length);
  const out = snappyDecompress(both);
  assert.ok(sameBytes(out.subarray(0, a.length), a) && sameBytes(out.subarray(a.length), b));
});

test("snappyDecompress() rejects version 0, a negative chunk length and a chunk past the end", () => {
  const framed = snappyCompress(sampleData(1000));
  const v0 = framed.slice();
  v0[11] = 0;
  assert.throws(() => snappyDecompress(v0), /unsupported snappy-java stream version 0/);
  const negative = framed.slice();
  negative[16] = 0xff;
  assert.throws(() => snappyDecompress(negative), /chunk of -\d+ bytes/);
  assert.throws(() => snappyDecompress(framed.subarray(0, framed.length - 1)), CompressionError);
});

test("snappyDecompressBlock() rejects a wrong length, a zero or too-far offset, and a 6-byte length", () => {
  // "aaaa": literal "a" then copy-1 of length 4... declared 5 bytes but holds 5 → valid.
  assert.deepEqual([...snappyDecompressBlock(new Uint8Array([5, 0, 0x61, 1, 1]))], [0x61, 0x61, 0x61, 0x61, 0x61]);
  assert.throws(
    () => snappyDecompressBlock(new Uint8Array([6, 0, 0x61, 1, 1])),
    /decodes to 5 bytes, its header says 6/,
  );
  assert.throws(() => snappyDecompressBlock(new Uint8Array([5, 0, 0x61, 1, 0])), /copy offset 0/);
  assert.throws(() => snappyDecompressBlock(new Uint8Array([5, 0, 0x61, 1, 2])), /copy offset 2/);
  assert.throws(() => snappyDecompressBlock(new Uint8Array([4, 0, 0x61, 1, 1])), /more bytes than its header says/);
  assert.throws(() => snappyDecompressBlock(new Uint8Array([0x80, 0x80, 0x80, 0x80, 0x80, 0])), /longer than 5 bytes/);
});
