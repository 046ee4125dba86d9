import assert from "node:assert/strict";
import { test } from "node:test";
import { crc32, gzipCompress, gzipDecompress } from "../../../../src/protocol/compression/gzip.ts";
import { CompressionError } from "../../../../src/protocol/compression/mod.ts";
import { sameBytes, sampleData } from "./helpers.ts";

const enc = new TextEncoder();

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

test('crc32() is gzip\'s CRC-32 (check value of "123456789" is 0xcbf43926)', () => {
  assert.equal(crc32(0, enc.encode("123456789")), 0xcbf43926);
  assert.equal(crc32(0, new Uint8Array(0)), 0);
  const data = sampleData(1000);
  assert.equal(crc32(crc32(0, data.subarray(0, 333)), data.subarray(333)), crc32(0, data));
});

test("gzipCompress() writes one member with mtime 0, as GZIPOutputStream does", () => {
  const member = gzipCompress(enc.encode("hello"));
  assert.deepEqual([...member.subarray(0, 8)], [0x1f, 0x8b, 8, 0, 0, 0, 0, 0]);
  assert.equal(new DataView(member.buffer).getUint32(member.length - 4, true), 5);
});

test("gzipDecompress() reads concatenated members and refuses bytes after the last", () => {
  const a = sampleData(70_000, 1);
  const b = sampleData(1000, 2);
  const both = concat(gzipCompress(a), gzipCompress(b));
  assert.ok(sameBytes(gzipDecompress(both), concat(a, b)));
  assert.throws(() => gzipDecompress(concat(both, new Uint8Array(7))), CompressionError);
});

test("gzipDecompress() rejects a bad CRC-32, a bad length and a cut trailer", () => {
  const member = gzipCompress(sampleData(5000));
  for (const at of [member.length - 8, member.length - 4]) {
    const bad = member.slice();
    bad[at]! ^= 1;
    assert.throws(() => gzipDecompress(bad), /bad CRC-32 or length/);
  }
  assert.throws(() => gzipDecompress(member.subarray(0, member.length - 1)), CompressionError);
  assert.throws(() => gzipDecompress(concat(member, enc.encode("junk"))), CompressionError);
  assert.throws(
    () => gzipDecompress(concat(gzipCompress(sampleData(10)), member.subarray(0, 40))),
    /member|CRC|truncated|EOF/,
  );
});

test("gzipDecompress() rejects a wrong magic or method", () => {
  const member = gzipCompress(sampleData(100));
  assert.throws(() => gzipDecompress(concat(new Uint8Array([0x1f, 0x8c]), member.subarray(2))), /not gzip/);
  const method = member.slice();
  method[2] = 7;
  assert.throws(() => gzipDecompress(method), /unsupported compression method 7/);
});
