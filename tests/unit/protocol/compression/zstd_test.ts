import assert from "node:assert/strict";
import { test } from "node:test";
import { CompressionError } from "../../../../src/protocol/compression/mod.ts";
import { zstdCompressStored, zstdDecompress, zstdLayout } from "../../../../src/protocol/compression/zstd.ts";
import { fixture, nativeCodecs, randomBytes, sameBytes, sampleData, SIZES } from "./helpers.ts";

const native = nativeCodecs[4]!;

test("zstdCompressStored() writes single-segment frames of raw blocks that native zstd reads", () => {
  for (const size of [...SIZES, 255, 256, 65791, 65792]) {
    const data = sampleData(size, size);
    const frame = zstdCompressStored(data);
    assert.equal(zstdLayout(frame).contentSize, size);
    assert.ok(sameBytes(native.decompress(frame), data), `native reads ${size}`);
    assert.ok(sameBytes(zstdDecompress(frame), data), `pure reads ${size}`);
  }
});

test("the pure zstd decoder reads native zstd at every boundary size and level", () => {
  for (const size of SIZES) {
    for (const data of [sampleData(size, size), randomBytes(size, size)]) {
      for (const level of [-3, 3, 19]) {
        assert.ok(sameBytes(zstdDecompress(native.compress(data, level)), data), `${size} ${level}`);
      }
    }
  }
});

test("zstdLayout() reports content size, bound and frame spans", () => {
  const a = zstdCompressStored(sampleData(1000, 1));
  const b = zstdCompressStored(sampleData(300_000, 2));
  const both = new Uint8Array(a.length + b.length);
  both.set(a);
  both.set(b, a.length);
  const layout = zstdLayout(both);
  assert.equal(layout.contentSize, 301_000);
  assert.equal(layout.boundBytes, 301_000);
  assert.deepEqual(layout.spans, [0, a.length, a.length, both.length]);
  const streamed = zstdLayout(fixture("records.zstd-stream.zst"));
  assert.equal(streamed.contentSize, null);
  assert.ok(streamed.boundBytes >= 70_039);
});

test("zstdLayout() rejects reserved bits, dictionaries, huge windows, reserved blocks, truncation and trailing bytes", () => {
  const good = () => zstdCompressStored(sampleData(2000));
  const cases: [string, (f: Uint8Array) => Uint8Array, RegExp][] = [
    ["reserved bit", (f) => (f[4]! |= 0x08, f), /reserved frame header bit/],
    ["reserved block type", (f) => (f[7]! |= 0x06, f), /reserved block type/],
    ["dictionary", () => new Uint8Array([0x28, 0xb5, 0x2f, 0xfd, 0x21, 7, 0, 1, 0, 0]), /needs dictionary 7/],
    ["window", () => new Uint8Array([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x90, 1, 0, 0]), /window of \d+ bytes exceeds/],
    ["truncated", (f) => f.subarray(0, f.length - 1), /truncated block/],
    ["trailing", (f) => new Uint8Array([...f, 0]), /unexpected bytes after frame/],
    ["magic", (f) => (f[0] = 0x27, f), /not a zstd frame/],
    ["only skippable", () => new Uint8Array([0x50, 0x2a, 0x4d, 0x18, 0, 0, 0, 0]), /no zstd frame/],
  ];
  for (const [name, edit, pattern] of cases) assert.throws(() => zstdLayout(edit(good())), pattern, name);
});

test("zstdDecompress() rejects a frame whose blocks disagree with its content size", () => {
  const frame = zstdCompressStored(sampleData(300));
  frame[5] = (frame[5]! + 1) & 0xff; // content size 301 (2-byte field holds size - 256)
  assert.throws(() => zstdDecompress(frame), CompressionError);
  assert.throws(() => native.decompress(frame), CompressionError);
});

/** A frame without content size: a window descriptor byte, then `blocks` blocks of `type`. */
function windowFrame(descriptor: number, blocks: number, type: 0 | 1 | 2): Uint8Array {
  const out = new Uint8Array(6 + blocks * 4);
  out.set([0x28, 0xb5, 0x2f, 0xfd, 0x00, descriptor]);
  for (let b = 0; b < blocks; b++) {
    const header = (1 << 3) | (type << 1) | (b === blocks - 1 ? 1 : 0);
    out.set([header & 0xff, (header >>> 8) & 0xff, header >>> 16, 0x61], 6 + b * 4);
  }
  return out;
}

test("zstdDecompress() decodes tiny frames declaring a 128 MiB window without allocating or shifting it", () => {
  // Found by tests/hostile/decoder_fuzz_test.ts: fzstd keeps a window-sized history buffer and
  // shifts all of it after every block, so 10 bytes cost 128 MiB and 800 bytes several seconds.
  for (const type of [0, 1] as const) {
    const frame = windowFrame(17 << 3, 200, type);
    const start = performance.now();
    const out = zstdDecompress(frame);
    assert.ok(performance.now() - start < 500, `took ${performance.now() - start} ms`);
    assert.equal(out.length, 200);
    assert.ok(out.every((b) => b === 0x61));
    assert.ok(sameBytes(native.decompress(frame), out));
  }
});

test("zstdDecompress() refuses a payload whose window history would move more than 2 GiB", () => {
  // 1000 compressed blocks may each decode to 128 KiB, so the window stays 128 MiB.
  const frame = windowFrame(17 << 3, 1000, 2);
  const start = performance.now();
  assert.throws(
    () => zstdDecompress(frame),
    (e: unknown) => e instanceof CompressionError && /window history/.test(e.message),
  );
  assert.ok(performance.now() - start < 500, `took ${performance.now() - start} ms`);
});
