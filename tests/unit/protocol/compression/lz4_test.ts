import assert from "node:assert/strict";
import { test } from "node:test";
import { lz4CompressFrame, lz4DecompressFrame } from "../../../../src/protocol/compression/lz4.ts";
import { CompressionError } from "../../../../src/protocol/compression/mod.ts";
import { xxhash32 } from "../../../../src/protocol/compression/xxhash32.ts";
import { randomBytes, sameBytes, sampleData, SIZES } from "./helpers.ts";

function u32(b: Uint8Array, i: number): number {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(i, true);
}

/** Fixes the header checksum after a test edits the descriptor. */
function rehash(frame: Uint8Array, descriptorEnd = 6): Uint8Array {
  frame[descriptorEnd] = (xxhash32(frame, 4, descriptorEnd) >>> 8) & 0xff;
  return frame;
}

test("lz4CompressFrame() writes Kafka's header: independent 64 KiB blocks, no checksums, correct HC", () => {
  const frame = lz4CompressFrame(sampleData(200_000));
  assert.deepEqual([...frame.subarray(0, 7)], [0x04, 0x22, 0x4d, 0x18, 0x60, 0x40, 0x82]);
  assert.equal(u32(frame, frame.length - 4), 0); // end mark, no content checksum
  const blocks: number[] = [];
  for (let p = 7; u32(frame, p) !== 0;) {
    blocks.push(u32(frame, p));
    p += 4 + (u32(frame, p) & 0x7fffffff);
  }
  assert.equal(blocks.length, 4);
});

test("lz4CompressFrame({ brokenHeaderChecksum }) hashes the magic too, as Kafka 0.8/0.9 did", () => {
  const frame = lz4CompressFrame(new Uint8Array(10), { brokenHeaderChecksum: true });
  assert.equal(frame[6], (xxhash32(frame, 0, 6) >>> 8) & 0xff);
  assert.notEqual(frame[6], 0x82);
  assert.equal(lz4DecompressFrame(frame).length, 10);
});

test("lz4CompressFrame() stores incompressible blocks with the uncompressed bit", () => {
  const frame = lz4CompressFrame(randomBytes(70_000));
  assert.equal(u32(frame, 7), (0x80000000 | 65536) >>> 0);
  assert.ok(sameBytes(lz4DecompressFrame(frame), randomBytes(70_000)));
});

test("lz4 round-trips at every boundary size with every frame option", () => {
  for (const size of SIZES) {
    for (const data of [sampleData(size, size), randomBytes(size, size + 1), new Uint8Array(size)]) {
      for (
        const options of [{}, { blockChecksum: true, contentChecksum: true, contentSize: true }, {
          blockSizeBytes: 4 << 20,
        }]
      ) {
        assert.ok(
          sameBytes(lz4DecompressFrame(lz4CompressFrame(data, options)), data),
          `${size} ${JSON.stringify(options)}`,
        );
      }
    }
  }
});

test("lz4CompressFrame() refuses a block size LZ4 does not define", () => {
  assert.throws(() => lz4CompressFrame(new Uint8Array(1), { blockSizeBytes: 1000 }), CompressionError);
});

test("lz4DecompressFrame() reads concatenated and skippable frames", () => {
  const a = lz4CompressFrame(sampleData(1000, 1));
  const skip = new Uint8Array([0x5f, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 1, 2, 3]);
  const b = lz4CompressFrame(sampleData(2000, 2), { contentChecksum: true });
  const all = new Uint8Array(a.length + skip.length + b.length);
  all.set(a);
  all.set(skip, a.length);
  all.set(b, a.length + skip.length);
  const out = lz4DecompressFrame(all);
  assert.equal(out.length, 3000);
  assert.ok(sameBytes(out.subarray(1000), sampleData(2000, 2)));
});

test("lz4DecompressFrame() rejects bad header fields and checksums", () => {
  const data = sampleData(5000);
  const frame = () => lz4CompressFrame(data, { blockChecksum: true, contentChecksum: true });
  const cases: [string, (f: Uint8Array) => Uint8Array, RegExp][] = [
    ["version 2", (f) => rehash((f[4] = (f[4]! & 0x3f) | 0x80, f)), /unsupported frame version 2/],
    ["reserved bit", (f) => rehash((f[4]! |= 0x02, f)), /reserved frame flag/],
    ["dictionary ID", (f) => rehash((f[4]! |= 0x01, f)), /dictionary ID/],
    ["block size code 3", (f) => rehash((f[5] = 0x30, f)), /invalid block descriptor/],
    ["header checksum", (f) => (f[6]! ^= 0xff, f), /header checksum mismatch/],
    ["block checksum", (f) => (f[12]! ^= 0x01, f), /block checksum mismatch|match offset/],
    ["content checksum", (f) => (f[f.length - 1]! ^= 0x01, f), /content checksum mismatch/],
    ["trailing bytes", (f) => new Uint8Array([...f, 1, 2, 3, 4]), /unexpected bytes after frame/],
    ["wrong magic", (f) => (f[0] = 0x05, f), /not an LZ4 frame/],
    ["legacy frame", () => new Uint8Array([0x02, 0x21, 0x4c, 0x18, 0, 0, 0, 0]), /not an LZ4 frame/],
  ];
  for (const [name, edit, pattern] of cases) {
    assert.throws(() => lz4DecompressFrame(edit(frame())), pattern, name);
  }
});

test("lz4DecompressFrame() rejects a content size that disagrees with the blocks", () => {
  const frame = lz4CompressFrame(sampleData(3000), { contentSize: true });
  frame[6] = 0xb7; // 3000 → 2999 (0x0bb8 → 0x0bb7)
  rehash(frame, 14);
  assert.throws(
    () => lz4DecompressFrame(frame),
    /declares 2999 bytes of content but holds 3000|more content than it declares/,
  );
});

test("lz4DecompressFrame() refuses a content size its blocks cannot hold before allocating it", () => {
  // Found by tests/hostile/decoder_fuzz_test.ts: the output buffer was sized from the declared
  // content size, so 24 bytes claiming 512 MiB (under the 1 GiB default cap) allocated 512 MiB.
  const frame = new Uint8Array([0x04, 0x22, 0x4d, 0x18, 0x68, 0x40, 0, 0, 0, 0x20, 0, 0, 0, 0, 0, 1, 0, 0, 0x80, 0x61]);
  rehash(frame, 14);
  const claim = new Uint8Array([...frame, 0, 0, 0, 0]);
  assert.throws(
    () => lz4DecompressFrame(claim),
    (e: unknown) =>
      e instanceof CompressionError &&
      /declares 536870912 bytes of content but its blocks hold at most 1\b/.test(e.message),
  );
  // A claim the blocks can reach is still checked against what they hold.
  const real = lz4CompressFrame(sampleData(3000), { contentSize: true });
  assert.ok(sameBytes(lz4DecompressFrame(real), sampleData(3000)));
});

test("lz4DecompressFrame() keeps independent blocks from reaching into the previous block", () => {
  // Two blocks; the second is a match with offset 1 at its very start: valid only if linked.
  const block1 = [0x10, 0x61]; // literal "a"
  const block2 = [0x04, 0x01, 0x00, 0x00]; // token: 0 literals + match 8, offset 1, then empty literals
  const body = (flg: number) => {
    const f = [0x04, 0x22, 0x4d, 0x18, flg, 0x40, 0];
    f.push(block1.length, 0, 0, 0, ...block1, 1 + 2 + 1, 0, 0, 0, 0x04, 0x01, 0x00, 0x00, 0, 0, 0, 0);
    return rehash(new Uint8Array(f));
  };
  assert.equal(block2.length, 4);
  assert.throws(() => lz4DecompressFrame(body(0x60)), /match offset 1 reaches before the start/);
  assert.deepEqual([...lz4DecompressFrame(body(0x40))], [0x61, ...new Array(8).fill(0x61)]);
});
