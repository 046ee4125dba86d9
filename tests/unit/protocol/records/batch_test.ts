import assert from "node:assert/strict";
import * as fs from "node:fs";
import { test } from "node:test";
import { gunzipSync, gzipSync } from "fflate";
import {
  Attributes,
  BATCH_HEADER_BYTES,
  BATCH_OVERHEAD_BYTES,
  batchRecords,
  buildBatch,
  Compression,
  magicAt,
  readBatchHeader,
  scanBatches,
  setBaseOffset,
  setLogAppendTime,
  setMaxTimestamp,
  setPartitionLeaderEpoch,
  updateBatchCrc,
  validateBatch,
  verifyBatchCrc,
} from "../../../../src/protocol/records/mod.ts";
import { DecodeError } from "../../../../src/protocol/reader.ts";
import { ErrorCode } from "../../../../src/protocol/generated/errors.ts";

const FIXTURES: Record<string, { hex: string }> = JSON.parse(
  fs.readFileSync(new URL("../../../fixtures/records/records.json", import.meta.url), "utf8"),
);
function fixtureBytes(name: string): Uint8Array {
  const h = FIXTURES[name]!.hex;
  const out = new Uint8Array(h.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(h.slice(i * 2, i * 2 + 2), 16);
  return out;
}
const CODECS = {
  compress: (codec: number, d: Uint8Array) => (assert.equal(codec, Compression.GZIP), gzipSync(d)),
  decompress: (codec: number, d: Uint8Array) => (assert.equal(codec, Compression.GZIP), gunzipSync(d)),
};
const bytes = (s: string) => new TextEncoder().encode(s);
const viewOf = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
function small(n = 3, options = {}) {
  return buildBatch(
    Array.from({ length: n }, (_, i) => ({
      key: bytes(`k${i}`),
      value: bytes(`value ${i}`),
      headers: i === 1 ? [{ key: "h", value: bytes("x") }] : [],
      timestamp: 1000n + BigInt(i),
    })),
    options,
  );
}

test("readBatchHeader() reads every field at its record-format.md offset", () => {
  const b = new Uint8Array(61);
  const v = viewOf(b);
  v.setBigInt64(0, 1234567890123n);
  v.setInt32(8, 49);
  v.setInt32(12, 7);
  v.setInt8(16, 2);
  v.setUint32(17, 0xdeadbeef);
  v.setInt16(21, 0x31);
  v.setInt32(23, 4);
  v.setBigInt64(27, 1700000000000n);
  v.setBigInt64(35, 1700000000009n);
  v.setBigInt64(43, 42n);
  v.setInt16(51, 3);
  v.setInt32(53, 17);
  v.setInt32(57, 5);
  assert.deepEqual(readBatchHeader(b, 0), {
    baseOffset: 1234567890123n,
    batchLength: 49,
    partitionLeaderEpoch: 7,
    magic: 2,
    crc: 0xdeadbeef,
    attributes: 0x31,
    lastOffsetDelta: 4,
    baseTimestamp: 1700000000000n,
    maxTimestamp: 1700000000009n,
    producerId: 42n,
    producerEpoch: 3,
    baseSequence: 17,
    recordCount: 5,
  });
  assert.throws(() => readBatchHeader(b.subarray(0, 60), 0), DecodeError);
  assert.throws(() => readBatchHeader(b, 1), DecodeError);
});

test("magicAt() reads byte 16 of v2 batches and legacy messages", () => {
  assert.equal(magicAt(fixtureBytes("v2_uncompressed"), 0), 2);
  assert.equal(magicAt(fixtureBytes("v1_uncompressed"), 0), 1);
  assert.equal(magicAt(fixtureBytes("v0_gzip"), 0), 0);
  assert.throws(() => magicAt(new Uint8Array(16), 0), DecodeError);
});

test("scanBatches() finds every batch and stops at a torn tail wherever it is cut", () => {
  const a = small(1, { baseOffset: 0n });
  const b = small(3, { baseOffset: 1n });
  const c = small(2, { baseOffset: 4n });
  const all = concat(a, b, c);
  const whole = scanBatches(all);
  assert.deepEqual(whole, {
    batches: [{ at: 0, size: a.length }, { at: a.length, size: b.length }, {
      at: a.length + b.length,
      size: c.length,
    }],
    validEnd: all.length,
    incomplete: false,
    corrupt: false,
  });
  for (let cut = 0; cut < all.length; cut++) {
    const r = scanBatches(all, 0, cut);
    const complete = [a.length, a.length + b.length].filter((end) => end <= cut);
    assert.equal(r.batches.length, complete.length, `cut at ${cut}`);
    assert.equal(r.validEnd, complete.at(-1) ?? 0);
    assert.equal(r.incomplete, r.validEnd < cut);
    assert.equal(r.corrupt, false);
  }
  assert.deepEqual(scanBatches(all, a.length).batches.map((x) => x.at), [a.length, a.length + b.length]);
});

test("scanBatches() flags a length field too small for any batch as corrupt", () => {
  const a = small(1);
  const bad = concat(a, small(1));
  viewOf(bad).setInt32(a.length + 8, 13);
  assert.deepEqual(scanBatches(bad), {
    batches: [{ at: 0, size: a.length }],
    validEnd: a.length,
    incomplete: true,
    corrupt: true,
  });
  viewOf(bad).setInt32(a.length + 8, 40); // ≥ 14 but below a v2 header
  assert.equal(scanBatches(bad).corrupt, true);
});

test("scanBatches() walks legacy message sets too", () => {
  const v0 = fixtureBytes("v0_uncompressed");
  const r = scanBatches(v0);
  assert.equal(r.batches.length, 4);
  assert.equal(r.validEnd, v0.length);
});

test("verifyBatchCrc() accepts an intact batch and rejects any flipped CRC-covered byte", () => {
  const b = small(2);
  assert.ok(verifyBatchCrc(b, 0));
  for (let i = 21; i < b.length; i++) {
    b[i]! ^= 0x10;
    assert.equal(verifyBatchCrc(b, 0), false, `byte ${i}`);
    b[i]! ^= 0x10;
  }
  b[12]! ^= 1; // partitionLeaderEpoch is outside the CRC
  assert.ok(verifyBatchCrc(b, 0));
  assert.throws(() => verifyBatchCrc(b.subarray(0, b.length - 1), 0), DecodeError);
});

test("setBaseOffset() and setPartitionLeaderEpoch() leave the CRC valid", () => {
  const b = small(2);
  setBaseOffset(b, 0, 987654321n);
  setPartitionLeaderEpoch(b, 0, 12);
  const h = readBatchHeader(b, 0);
  assert.equal(h.baseOffset, 987654321n);
  assert.equal(h.partitionLeaderEpoch, 12);
  assert.ok(verifyBatchCrc(b, 0));
  assert.deepEqual(batchRecords(b, 0, CODECS).records.map((r) => r.offset), [987654321n, 987654322n]);
});

test("setLogAppendTime() sets bit 3 and maxTimestamp and keeps the CRC valid", () => {
  const f = fixtureBytes("v2_gzip");
  const b = concat(small(1), f);
  setLogAppendTime(b, b.length - f.length, 1800000000000n);
  const h = readBatchHeader(b, b.length - f.length);
  assert.equal(h.attributes, Compression.GZIP | Attributes.TIMESTAMP_TYPE_LOG_APPEND);
  assert.equal(h.maxTimestamp, 1800000000000n);
  assert.ok(verifyBatchCrc(b, b.length - f.length));
  assert.equal(validateBatch(b, b.length - f.length, f.length, CODECS), null);
  for (const r of batchRecords(b, b.length - f.length, CODECS).records) assert.equal(r.timestamp, 1800000000000n);
  assert.throws(() => setLogAppendTime(b.subarray(0, b.length - 1), b.length - f.length, 1n), DecodeError);
});

test("setMaxTimestamp() recomputes the CRC only when a byte changes", () => {
  const b = small(3);
  const crc = readBatchHeader(b, 0).crc;
  setMaxTimestamp(b, 0, 1002n, "create");
  assert.equal(readBatchHeader(b, 0).crc, crc);
  setMaxTimestamp(b, 0, 5000n, "create");
  assert.notEqual(readBatchHeader(b, 0).crc, crc);
  assert.ok(verifyBatchCrc(b, 0));
});

/** Patches a header field, then fixes the CRC so that only the intended check can fail. */
function patched(b: Uint8Array, patch: (v: DataView) => void): Uint8Array {
  const copy = b.slice();
  patch(viewOf(copy));
  updateBatchCrc(copy, 0);
  return copy;
}

test("validateBatch() accepts batches from kafka-python and buildBatch()", () => {
  for (const name of ["v2_uncompressed", "v2_idempotent", "v2_transactional", "v2_gzip"]) {
    const b = fixtureBytes(name);
    assert.equal(validateBatch(b, 0, b.length, CODECS), null, name);
  }
  const b = small(5);
  assert.equal(validateBatch(b, 0, b.length, {}), null);
});

test("validateBatch() answers Kafka's error codes for each header violation", () => {
  const b = small(3);
  const cases: [string, Uint8Array, number, number][] = [
    [
      "bad CRC",
      (() => {
        const c = b.slice();
        c[40]! ^= 1;
        return c;
      })(),
      b.length,
      ErrorCode.CORRUPT_MESSAGE,
    ],
    ["magic 1", patched(b, (v) => v.setInt8(16, 1)), b.length, ErrorCode.INVALID_RECORD],
    [
      "length below 14",
      (() => {
        const c = b.slice();
        viewOf(c).setInt32(8, 13);
        return c;
      })(),
      b.length,
      ErrorCode.CORRUPT_MESSAGE,
    ],
    ["length longer than sent", b, b.length - 1, ErrorCode.INVALID_RECORD],
    ["bytes after the batch", concat(b, new Uint8Array(3)), b.length + 3, ErrorCode.INVALID_RECORD],
    ["recordCount 0", patched(b, (v) => v.setInt32(57, 0)), b.length, ErrorCode.INVALID_RECORD],
    ["lastOffsetDelta ≠ count − 1", patched(b, (v) => v.setInt32(23, 1)), b.length, ErrorCode.INVALID_RECORD],
    ["lastOffsetDelta −1", patched(b, (v) => v.setInt32(23, -1)), b.length, ErrorCode.INVALID_RECORD],
    ["recordCount larger than the records", patched(b, (v) => (v.setInt32(57, 4), v.setInt32(23, 3))), b.length, 87],
    ["recordCount smaller than the records", patched(b, (v) => (v.setInt32(57, 2), v.setInt32(23, 1))), b.length, 87],
    ["control batch", patched(b, (v) => v.setInt16(21, Attributes.CONTROL)), b.length, ErrorCode.INVALID_RECORD],
    ["producer id without sequence", patched(b, (v) => v.setBigInt64(43, 5n)), b.length, ErrorCode.INVALID_RECORD],
    ["baseOffset ≠ 0", patched(b, (v) => v.setBigInt64(0, 5n)), b.length, ErrorCode.INVALID_RECORD],
    ["unknown codec", patched(b, (v) => v.setInt16(21, 5)), b.length, ErrorCode.CORRUPT_MESSAGE],
  ];
  for (const [name, buf, size, code] of cases) {
    const err = validateBatch(buf, 0, size, CODECS);
    assert.equal(err?.code, code, `${name}: ${JSON.stringify(err)}`);
    assert.ok(err.message.length > 0);
  }
});

test("validateBatch() refuses a batch smaller than its header with CORRUPT_MESSAGE", () => {
  const b = new Uint8Array(40);
  const v = viewOf(b);
  v.setInt32(8, 28);
  v.setInt8(16, 2);
  assert.equal(validateBatch(b, 0, 40, {})?.code, ErrorCode.CORRUPT_MESSAGE);
});

test("validateBatch() refuses records whose offset deltas are not 0..n-1", () => {
  const b = small(3);
  // Record 0 starts at 61: length varint, attributes, timestampDelta (1 byte), offsetDelta.
  const bad = b.slice();
  bad[64] = 2; // offsetDelta 0 → 1
  updateBatchCrc(bad, 0);
  const err = validateBatch(bad, 0, bad.length, {});
  assert.equal(err?.code, ErrorCode.INVALID_RECORD);
  assert.match(err.message, /offset delta 1/);
});

test('validateBatch() with origin "log" accepts compacted batches: any baseOffset, gaps, no records', () => {
  const b = small(3, { baseOffset: 100n });
  assert.equal(validateBatch(b, 0, b.length, {})?.code, ErrorCode.INVALID_RECORD);
  assert.equal(validateBatch(b, 0, b.length, { origin: "log" }), null);
  const gap = b.slice();
  gap[64] = 2; // record 0 now at offset delta 1, record 1 at 1: not increasing
  updateBatchCrc(gap, 0);
  assert.equal(validateBatch(gap, 0, gap.length, { origin: "log" })?.code, ErrorCode.INVALID_RECORD);
  const empty = patched(b.subarray(0, BATCH_HEADER_BYTES), (v) => (v.setInt32(8, 49), v.setInt32(57, 0)));
  assert.equal(validateBatch(empty, 0, empty.length, { origin: "log" }), null);
  assert.equal(validateBatch(empty, 0, empty.length, {})?.code, ErrorCode.INVALID_RECORD);
});

test("validateBatch() refuses a compressed payload the codec cannot read with CORRUPT_MESSAGE", () => {
  const b = buildBatch([{ value: bytes("x") }], {
    compression: Compression.GZIP,
    compress: () => bytes("not gzip at all"),
  });
  assert.equal(validateBatch(b, 0, b.length, CODECS)?.code, ErrorCode.CORRUPT_MESSAGE);
  // Without a decompressor only the header and CRC are checked.
  assert.equal(validateBatch(b, 0, b.length, {}), null);
});

test("validateBatch() never throws and never passes an undecodable batch, whatever byte is flipped", () => {
  for (const name of ["v2_uncompressed", "v2_gzip"]) {
    const original = fixtureBytes(name);
    let detected = 0;
    let valid = 0;
    for (let i = 0; i < original.length; i++) {
      for (const mask of [0x01, 0x80, 0xff]) {
        for (const fixCrc of [false, true]) {
          const b = original.slice();
          b[i]! ^= mask;
          if (fixCrc && i >= 21) updateBatchCrc(b, 0);
          else if (fixCrc) continue;
          let err;
          try {
            err = validateBatch(b, 0, b.length, CODECS);
          } catch (e) {
            assert.fail(`${name}: flipping byte ${i} with ${mask} threw ${e}`);
          }
          if (err === null) {
            valid++;
            // Valid must mean readable.
            batchRecords(b, 0, CODECS);
          } else {
            detected++;
            assert.ok(err.code === ErrorCode.CORRUPT_MESSAGE || err.code === ErrorCode.INVALID_RECORD);
          }
        }
      }
    }
    // Without a CRC fix every flip past byte 16 is caught; bytes 0–16 hold fields kafka checks too.
    assert.ok(detected > original.length * 3, `${name}: ${detected} detected, ${valid} valid`);
  }
});

test("validateBatch() never throws on random bytes or odd sizes", () => {
  let x = 12345;
  const rand = () => ((x = (x * 1103515245 + 12345) & 0x7fffffff), x);
  for (let n = 0; n < 2000; n++) {
    const len = rand() % 200;
    const b = new Uint8Array(len);
    for (let i = 0; i < len; i++) b[i] = rand() & 0xff;
    if (len > 17) {
      b[16] = 2;
      viewOf(b).setInt32(8, len - BATCH_OVERHEAD_BYTES);
      if (len >= 61 && n % 2 === 0) updateBatchCrc(b, 0);
    }
    const err = validateBatch(b, 0, len, CODECS);
    if (err === null) batchRecords(b, 0, CODECS);
  }
  assert.equal(validateBatch(new Uint8Array(10), 0, 20, {})?.code, ErrorCode.CORRUPT_MESSAGE);
  assert.equal(validateBatch(new Uint8Array(10), 0, 5, {})?.code, ErrorCode.INVALID_RECORD);
});
