import assert from "node:assert/strict";
import * as fs from "node:fs";
import { test } from "node:test";
import { gunzipSync, gzipSync } from "fflate";
import {
  Attributes,
  batchRecords,
  buildBatch,
  Compression,
  decodeRecords,
  inspectBatch,
  readBatchHeader,
  recompressBatch,
  validateBatch,
  verifyBatchCrc,
} from "../../../../src/protocol/records/mod.ts";
import { recompressBatch as recompressFromBatch } from "../../../../src/protocol/records/batch.ts";
import { DecodeError } from "../../../../src/protocol/reader.ts";

interface FixtureRecord {
  offset: string;
  timestamp: string;
  key: string | null;
  value: string | null;
  headers: [string, string | null][];
}
interface Fixture {
  magic: number;
  compression: number;
  hex: string;
  records: FixtureRecord[];
  producerId?: string;
  producerEpoch?: number;
  baseSequence?: number;
  transactional?: boolean;
}
const FIXTURES: Record<string, Fixture> = JSON.parse(
  fs.readFileSync(new URL("../../../fixtures/records/records.json", import.meta.url), "utf8"),
);

function fixture(name: string): Fixture {
  const f = FIXTURES[name];
  assert.ok(f, `fixture ${name}`);
  return f;
}
function fromHex(h: string): Uint8Array {
  const out = new Uint8Array(h.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(h.slice(i * 2, i * 2 + 2), 16);
  return out;
}
function toHex(b: Uint8Array | null): string | null {
  return b === null ? null : Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}
function gzip(codec: number, data: Uint8Array): Uint8Array {
  assert.equal(codec, Compression.GZIP);
  return gzipSync(data);
}
function gunzip(codec: number, data: Uint8Array): Uint8Array {
  assert.equal(codec, Compression.GZIP);
  return gunzipSync(data);
}
const CODECS = { compress: gzip, decompress: gunzip };
const bytes = (s: string) => new TextEncoder().encode(s);

function inputsOf(f: Fixture) {
  return f.records.map((r) => ({
    key: r.key === null ? null : fromHex(r.key),
    value: r.value === null ? null : fromHex(r.value),
    headers: r.headers.map(([key, v]) => ({ key, value: v === null ? null : fromHex(v) })),
    timestamp: BigInt(r.timestamp),
  }));
}

function assertRecordsMatch(
  actual: { offset: bigint; timestamp: bigint; key: Uint8Array | null; value: Uint8Array | null; headers: unknown[] }[],
  expected: FixtureRecord[],
) {
  assert.deepEqual(
    actual.map((r) => ({
      offset: String(r.offset),
      timestamp: String(r.timestamp),
      key: toHex(r.key),
      value: toHex(r.value),
      headers: (r.headers as { key: string; value: Uint8Array | null }[]).map((h) => [h.key, toHex(h.value)]),
    })),
    expected,
  );
}

for (const name of ["v2_uncompressed", "v2_idempotent", "v2_transactional"]) {
  test(`buildBatch() writes the same bytes as kafka-python for ${name}`, () => {
    const f = fixture(name);
    const built = buildBatch(inputsOf(f), {
      partitionLeaderEpoch: 0, // kafka-python writes 0 where the Java client writes -1
      producerId: BigInt(f.producerId!),
      producerEpoch: f.producerEpoch!,
      baseSequence: f.baseSequence!,
      transactional: f.transactional!,
    });
    assert.equal(toHex(built), f.hex);
  });

  test(`batchRecords() decodes kafka-python's ${name}`, () => {
    const f = fixture(name);
    const buf = fromHex(f.hex);
    const { header, records } = batchRecords(buf, 0, CODECS);
    assert.equal(header.recordCount, f.records.length);
    assert.equal(header.producerId, BigInt(f.producerId!));
    assert.equal((header.attributes & Attributes.TRANSACTIONAL) !== 0, f.transactional);
    assertRecordsMatch(records, f.records);
    assert.equal(validateBatch(buf, 0, buf.length, CODECS), null);
  });
}

test("batchRecords() decodes kafka-python's gzip batch through the decompress callback", () => {
  const f = fixture("v2_gzip");
  const buf = fromHex(f.hex);
  assert.equal(readBatchHeader(buf, 0).attributes & Attributes.COMPRESSION_MASK, Compression.GZIP);
  assertRecordsMatch(batchRecords(buf, 0, CODECS).records, f.records);
  assert.equal(validateBatch(buf, 0, buf.length, CODECS), null);
});

test("buildBatch() with gzip round-trips through batchRecords() and validateBatch()", () => {
  const f = fixture("v2_gzip");
  const built = buildBatch(inputsOf(f), { compression: Compression.GZIP, compress: gzip });
  assert.equal(readBatchHeader(built, 0).attributes & 7, Compression.GZIP);
  assert.ok(verifyBatchCrc(built, 0));
  assert.equal(validateBatch(built, 0, built.length, CODECS), null);
  assertRecordsMatch(batchRecords(built, 0, CODECS).records, f.records);
});

test("buildBatch() encodes a record exactly as record-format.md lays it out", () => {
  const batch = buildBatch([{
    key: bytes("k"),
    value: bytes("vv"),
    headers: [{ key: "h", value: null }],
    timestamp: 5n,
  }], {
    baseOffset: 7n,
  });
  const expected = [
    ...[0, 0, 0, 0, 0, 0, 0, 7], // baseOffset
    ...[0, 0, 0, 62], // batchLength = 74 - 12
    ...[0xff, 0xff, 0xff, 0xff], // partitionLeaderEpoch -1
    2, // magic
    0,
    0,
    0,
    0, // crc (checked below)
    0,
    0, // attributes
    0,
    0,
    0,
    0, // lastOffsetDelta
    ...[0, 0, 0, 0, 0, 0, 0, 5], // baseTimestamp
    ...[0, 0, 0, 0, 0, 0, 0, 5], // maxTimestamp
    ...[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], // producerId
    0xff,
    0xff, // producerEpoch
    0xff,
    0xff,
    0xff,
    0xff, // baseSequence
    0,
    0,
    0,
    1, // recordsCount
    // record: length 12 (zig-zag 24), attributes, timestampDelta 0, offsetDelta 0, key "k",
    // value "vv", 1 header "h" = null
    24,
    0,
    0,
    0,
    2,
    0x6b,
    4,
    0x76,
    0x76,
    2,
    2,
    0x68,
    1,
  ];
  const withoutCrc = Array.from(batch);
  withoutCrc.splice(17, 4, 0, 0, 0, 0);
  assert.deepEqual(withoutCrc, expected);
  assert.ok(verifyBatchCrc(batch, 0));
});

test("buildBatch() sets maxTimestamp to the largest timestamp and baseTimestamp to the first", () => {
  const batch = buildBatch([{ timestamp: 100n }, { timestamp: 300n }, { timestamp: 50n }], {});
  const h = readBatchHeader(batch, 0);
  assert.equal(h.baseTimestamp, 100n);
  assert.equal(h.maxTimestamp, 300n);
  assert.equal(h.lastOffsetDelta, 2);
  const rs = batchRecords(batch, 0, CODECS).records;
  assert.deepEqual(rs.map((r) => r.timestamp), [100n, 300n, 50n]);
  assert.deepEqual(rs.map((r) => r.timestampDelta), [0n, 200n, -50n]);
  assert.deepEqual(rs.map((r) => r.key), [null, null, null]);
});

test("buildBatch() stamps missing timestamps with now() and LogAppendTime with now()", () => {
  const now = () => 1234n;
  const batch = buildBatch([{ value: bytes("a") }], { now, timestampType: "log-append", control: true });
  const h = readBatchHeader(batch, 0);
  assert.equal(h.attributes, Attributes.TIMESTAMP_TYPE_LOG_APPEND | Attributes.CONTROL);
  assert.equal(h.baseTimestamp, 1234n);
  assert.equal(h.maxTimestamp, 1234n);
});

test("buildBatch() round-trips timestamp deltas beyond 2^53 exactly", () => {
  const big = 2n ** 62n;
  const batch = buildBatch([{ timestamp: -big }, { timestamp: big - 1n }, { timestamp: 0n }], {});
  assert.ok(verifyBatchCrc(batch, 0));
  const rs = batchRecords(batch, 0, CODECS).records;
  assert.deepEqual(rs.map((r) => r.timestamp), [-big, big - 1n, 0n]);
  assert.equal(validateBatch(batch, 0, batch.length, {}), null);
});

test("buildBatch() refuses no records and a compressed codec without compress()", () => {
  assert.throws(() => buildBatch([], {}), RangeError);
  assert.throws(() => buildBatch([{}], { compression: Compression.GZIP }), TypeError);
  assert.throws(() => buildBatch([{}], { compression: 9, compress: gzip }), RangeError);
});

test("decodeRecords() returns views into the payload, not copies", () => {
  const batch = buildBatch(
    [{ key: bytes("key"), value: bytes("value"), headers: [{ key: "h", value: bytes("x") }] }],
    {},
  );
  const payload = batch.subarray(61);
  const [r] = decodeRecords(payload, 1);
  assert.ok(r);
  assert.equal(r.key!.buffer, batch.buffer);
  assert.equal(r.value!.buffer, batch.buffer);
  assert.equal(r.headers[0]!.value!.buffer, batch.buffer);
  assert.equal(new TextDecoder().decode(r.value!), "value");
});

test("decodeRecords() throws DecodeError on a wrong count or trailing bytes", () => {
  const batch = buildBatch([{ value: bytes("a") }, { value: bytes("b") }], {});
  const payload = batch.subarray(61);
  assert.equal(decodeRecords(payload, 2).length, 2);
  assert.throws(() => decodeRecords(payload, 3), DecodeError);
  assert.throws(() => decodeRecords(payload, 1), DecodeError);
  assert.throws(() => decodeRecords(payload, -1), DecodeError);
  assert.throws(() => decodeRecords(payload.subarray(0, payload.length - 1), 2), DecodeError);
});

test("batchRecords() gives every record maxTimestamp when the batch has LogAppendTime", () => {
  const batch = buildBatch([{ timestamp: 1n }, { timestamp: 2n }], { now: () => 99n, timestampType: "log-append" });
  assert.deepEqual(batchRecords(batch, 0, CODECS).records.map((r) => r.timestamp), [99n, 99n]);
});

test("batchRecords() adds baseOffset to offset deltas and reads a batch at an offset in a buffer", () => {
  const a = buildBatch([{ value: bytes("a") }], { baseOffset: 10n });
  const b = buildBatch([{ value: bytes("b") }, { value: bytes("c") }], { baseOffset: 11n });
  const buf = new Uint8Array(a.length + b.length);
  buf.set(a);
  buf.set(b, a.length);
  const rs = batchRecords(buf, a.length, CODECS).records;
  assert.deepEqual(rs.map((r) => r.offset), [11n, 12n]);
  assert.throws(() => batchRecords(buf.subarray(0, buf.length - 1), a.length, CODECS), DecodeError);
});

test("recompressBatch() changes only the codec and keeps header fields and records", () => {
  const f = fixture("v2_idempotent");
  const original = fromHex(f.hex);
  const gz = recompressBatch(original, 0, Compression.GZIP, CODECS);
  const h0 = readBatchHeader(original, 0);
  const h1 = readBatchHeader(gz, 0);
  assert.equal(h1.attributes, h0.attributes | Compression.GZIP);
  assert.deepEqual({ ...h1, attributes: 0, crc: 0, batchLength: 0 }, { ...h0, attributes: 0, crc: 0, batchLength: 0 });
  assert.equal(validateBatch(gz, 0, gz.length, CODECS), null);
  assertRecordsMatch(batchRecords(gz, 0, CODECS).records, f.records);
  const back = recompressBatch(gz, 0, Compression.NONE, CODECS);
  assert.deepEqual(back, original);
  assert.equal(recompressFromBatch, recompressBatch);
});

test("inspectBatch() reports the smallest and largest record timestamps, skipping -1", () => {
  const batch = buildBatch([{ timestamp: 500n }, { timestamp: -1n }, { timestamp: 200n }, { timestamp: 900n }], {});
  const r = inspectBatch(batch, 0, batch.length, {});
  assert.deepEqual(r, { ok: true, minTimestamp: 200n, maxTimestamp: 900n, recordCount: 4 });
  const none = buildBatch([{ timestamp: -1n }], {});
  assert.deepEqual(inspectBatch(none, 0, none.length, {}), {
    ok: true,
    minTimestamp: -1n,
    maxTimestamp: -1n,
    recordCount: 1,
  });
});
