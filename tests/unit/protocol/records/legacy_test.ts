import assert from "node:assert/strict";
import * as fs from "node:fs";
import { test } from "node:test";
import { gunzipSync, gzipSync } from "fflate";
import {
  Attributes,
  batchRecords,
  buildBatch,
  Compression,
  downConvertBatches,
  readBatchHeader,
  scanBatches,
  setLogAppendTime,
  upConvertMessageSet,
  validateBatch,
} from "../../../../src/protocol/records/mod.ts";
import { crc32 } from "../../../../src/protocol/crc32.ts";
import { ErrorCode } from "../../../../src/protocol/generated/errors.ts";

interface FixtureRecord {
  offset: string;
  timestamp: string;
  key: string | null;
  value: string | null;
  headers: [string, string | null][];
}
const FIXTURES: Record<string, { hex: string; records: FixtureRecord[] }> = JSON.parse(
  fs.readFileSync(new URL("../../../fixtures/records/records.json", import.meta.url), "utf8"),
);
function fromHex(h: string): Uint8Array {
  const out = new Uint8Array(h.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(h.slice(i * 2, i * 2 + 2), 16);
  return out;
}
function toHex(b: Uint8Array | null): string | null {
  return b === null ? null : Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}
const CODECS = {
  compress: (codec: number, d: Uint8Array) => (assert.equal(codec, 1), gzipSync(d)),
  decompress: (codec: number, d: Uint8Array) => (assert.equal(codec, 1), gunzipSync(d)),
  now: () => 1_999_999_999_999n,
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
function simplified(
  records: { offset: bigint; timestamp: bigint; key: Uint8Array | null; value: Uint8Array | null }[],
) {
  return records.map((r) => ({
    offset: String(r.offset),
    timestamp: String(r.timestamp),
    key: toHex(r.key),
    value: toHex(r.value),
    headers: [],
  }));
}
function inputsOf(records: FixtureRecord[]) {
  return records.map((r) => ({
    key: r.key === null ? null : fromHex(r.key),
    value: r.value === null ? null : fromHex(r.value),
    timestamp: BigInt(r.timestamp),
  }));
}

/** Reads a legacy message set back (test-side decoder, independent of legacy.ts). */
function parseLegacy(buf: Uint8Array) {
  const v = viewOf(buf);
  const out: {
    offset: bigint;
    magic: number;
    attributes: number;
    timestamp: bigint;
    key: Uint8Array | null;
    value: Uint8Array | null;
  }[] = [];
  let at = 0;
  while (at + 12 <= buf.length) {
    const size = v.getInt32(at + 8);
    const end = at + 12 + size;
    assert.equal(v.getUint32(at + 12), crc32(buf, at + 16, end), `CRC of the message at ${at}`);
    const magic = buf[at + 16]!;
    let p = at + 18;
    const timestamp = magic === 1 ? v.getBigInt64(p) : -1n;
    if (magic === 1) p += 8;
    const kl = v.getInt32(p);
    p += 4;
    const key = kl < 0 ? null : buf.subarray(p, p + kl);
    p += Math.max(kl, 0);
    const vl = v.getInt32(p);
    p += 4;
    const value = vl < 0 ? null : buf.subarray(p, p + vl);
    p += Math.max(vl, 0);
    assert.equal(p, end);
    out.push({ offset: v.getBigInt64(at), magic, attributes: buf[at + 17]!, timestamp, key, value });
    at = end;
  }
  assert.equal(at, buf.length);
  return out;
}

for (const name of ["v0_uncompressed", "v1_uncompressed", "v0_gzip", "v1_gzip"]) {
  test(`upConvertMessageSet() turns kafka-python's ${name} into one valid v2 batch`, () => {
    const f = FIXTURES[name]!;
    const r = upConvertMessageSet(fromHex(f.hex), CODECS);
    assert.ok(r.ok, JSON.stringify(r));
    assert.equal(r.recordCount, f.records.length);
    assert.equal(scanBatches(r.batch).batches.length, 1);
    assert.equal(validateBatch(r.batch, 0, r.batch.length, CODECS), null);
    const { header, records } = batchRecords(r.batch, 0, CODECS);
    assert.equal(header.attributes & Attributes.COMPRESSION_MASK, name.endsWith("gzip") ? 1 : 0);
    assert.equal(header.producerId, -1n);
    // Magic 0 has no timestamps: records carry -1 (NO_TIMESTAMP), as Kafka's up-conversion.
    assert.deepEqual(simplified(records), f.records);
  });
}

test("downConvertBatches() writes the same uncompressed message sets as kafka-python", () => {
  for (const magic of [0, 1] as const) {
    const f = FIXTURES[`v${magic}_uncompressed`]!;
    const batch = buildBatch(inputsOf(FIXTURES.v1_uncompressed!.records), {});
    assert.equal(toHex(downConvertBatches(batch, magic, CODECS)), f.hex);
  }
});

test("downConvertBatches() turns a gzip batch into one gzip wrapper per batch, magic 1 with relative offsets", () => {
  const f = FIXTURES.v1_gzip!;
  const batch = buildBatch(inputsOf(f.records), { compression: Compression.GZIP, compress: CODECS.compress });
  const base = 1000n;
  viewOf(batch).setBigInt64(0, base);
  const out = downConvertBatches(batch, 1, CODECS);
  const [wrapper, ...rest] = parseLegacy(out);
  assert.equal(rest.length, 0);
  assert.ok(wrapper);
  assert.equal(wrapper.attributes, Compression.GZIP);
  assert.equal(wrapper.key, null);
  assert.equal(wrapper.offset, base + BigInt(f.records.length - 1)); // last absolute offset
  const maxTs = f.records.map((r) => BigInt(r.timestamp)).reduce((a, b) => (a > b ? a : b));
  assert.equal(wrapper.timestamp, maxTs);
  const inner = parseLegacy(gunzipSync(wrapper.value!));
  assert.deepEqual(inner.map((m) => m.offset), f.records.map((_, i) => BigInt(i)));
  assert.deepEqual(simplified(inner), f.records);
  // And back: the wrapper up-converts to the same records.
  const up = upConvertMessageSet(out, CODECS);
  assert.ok(up.ok);
  assert.deepEqual(simplified(batchRecords(up.batch, 0, CODECS).records), f.records);
});

test("downConvertBatches() to magic 0 keeps absolute inner offsets in the wrapper", () => {
  const f = FIXTURES.v0_gzip!;
  const batch = buildBatch(inputsOf(f.records), {
    compression: Compression.GZIP,
    compress: CODECS.compress,
    baseOffset: 50n,
  });
  const [wrapper] = parseLegacy(downConvertBatches(batch, 0, CODECS));
  assert.ok(wrapper);
  assert.equal(wrapper.magic, 0);
  assert.equal(wrapper.offset, 50n + BigInt(f.records.length - 1));
  const inner = parseLegacy(gunzipSync(wrapper.value!));
  assert.deepEqual(inner.map((m) => m.offset), f.records.map((_, i) => 50n + BigInt(i)));
  assert.deepEqual(inner.map((m) => toHex(m.value)), f.records.map((r) => r.value));
});

test("downConvertBatches() skips control batches, drops a torn tail and filters below firstOffset", () => {
  const a = buildBatch([{ value: bytes("a0"), timestamp: 1n }, { value: bytes("a1"), timestamp: 2n }], {
    baseOffset: 10n,
  });
  const marker = buildBatch([{ key: new Uint8Array([0, 0, 0, 0]), value: new Uint8Array(6), timestamp: 3n }], {
    baseOffset: 12n,
    control: true,
    transactional: true,
    producerId: 5n,
    producerEpoch: 0,
  });
  const b = buildBatch([{ value: bytes("b0"), timestamp: 4n }], { baseOffset: 13n });
  const all = concat(a, marker, b, b.subarray(0, 30));
  const msgs = parseLegacy(downConvertBatches(all, 1, { ...CODECS, firstOffset: 11n }));
  assert.deepEqual(msgs.map((m) => [m.offset, new TextDecoder().decode(m.value!), m.timestamp]), [
    [11n, "a1", 2n],
    [13n, "b0", 4n],
  ]);
  assert.deepEqual(downConvertBatches(new Uint8Array(0), 0, CODECS), new Uint8Array(0));
});

test("downConvertBatches() gives magic 1 messages the LogAppendTime and bit 3", () => {
  const plain = buildBatch([{ value: bytes("x"), timestamp: 1n }, { value: bytes("y"), timestamp: 2n }], {});
  setLogAppendTime(plain, 0, 777n);
  const gz = buildBatch([{ value: bytes("z"), timestamp: 1n }], {
    baseOffset: 2n,
    compression: Compression.GZIP,
    compress: CODECS.compress,
  });
  setLogAppendTime(gz, 0, 888n);
  const msgs = parseLegacy(downConvertBatches(concat(plain, gz), 1, CODECS));
  assert.deepEqual(msgs.map((m) => [m.offset, m.attributes, m.timestamp]), [
    [0n, 0x08, 777n],
    [1n, 0x08, 777n],
    [2n, 0x08 | Compression.GZIP, 888n],
  ]);
  const inner = parseLegacy(gunzipSync(msgs[2]!.value!));
  assert.deepEqual(inner.map((m) => [m.offset, m.attributes, m.timestamp]), [[0n, 0x08, 888n]]);
  // Up-converting a LogAppendTime wrapper gives inner messages the wrapper's time.
  const up = upConvertMessageSet(downConvertBatches(gz, 1, CODECS), CODECS);
  assert.ok(up.ok);
  assert.deepEqual(batchRecords(up.batch, 0, CODECS).records.map((r) => r.timestamp), [888n]);
});

test("downConvertBatches() sends zstd batches as uncompressed messages", () => {
  const zstd = buildBatch([{ value: bytes("p") }, { value: bytes("q") }], {
    compression: Compression.ZSTD,
    compress: (_c, d) => d.slice(), // a stand-in "codec": identity
  });
  const msgs = parseLegacy(
    downConvertBatches(zstd, 1, { compress: () => assert.fail("no recompression"), decompress: (_c, d) => d }),
  );
  assert.deepEqual(msgs.map((m) => [m.attributes, new TextDecoder().decode(m.value!)]), [[0, "p"], [0, "q"]]);
});

test("upConvertMessageSet() refuses a message with a bad CRC with CORRUPT_MESSAGE", () => {
  for (const name of ["v0_uncompressed", "v1_gzip"]) {
    const buf = fromHex(FIXTURES[name]!.hex);
    buf[buf.length - 3]! ^= 0x40;
    const r = upConvertMessageSet(buf, CODECS);
    assert.ok(!r.ok);
    assert.equal(r.code, ErrorCode.CORRUPT_MESSAGE, r.message);
  }
});

test("upConvertMessageSet() refuses an inner message with a bad CRC with CORRUPT_MESSAGE", () => {
  const gz = buildBatch([{ value: bytes("inner") }], { compression: 1, compress: CODECS.compress });
  const wrapperSet = downConvertBatches(gz, 1, CODECS);
  const [wrapper] = parseLegacy(wrapperSet);
  const inner = gunzipSync(wrapper!.value!).slice();
  inner[inner.length - 1]! ^= 1;
  const rebuilt = legacyMessage(1, 0n, 1, 0n, null, gzipSync(inner));
  const r = upConvertMessageSet(rebuilt, CODECS);
  assert.ok(!r.ok);
  assert.equal(r.code, ErrorCode.CORRUPT_MESSAGE);
});

/** One legacy message with a correct CRC. */
function legacyMessage(
  magic: number,
  offset: bigint,
  attributes: number,
  timestamp: bigint,
  key: Uint8Array | null,
  value: Uint8Array | null,
): Uint8Array {
  const size = (magic === 0 ? 14 : 22) + (key?.length ?? 0) + (value?.length ?? 0);
  const out = new Uint8Array(12 + size);
  const v = viewOf(out);
  v.setBigInt64(0, offset);
  v.setInt32(8, size);
  out[16] = magic;
  out[17] = attributes;
  let p = 18;
  if (magic === 1) {
    v.setBigInt64(p, timestamp);
    p += 8;
  }
  for (const f of [key, value]) {
    v.setInt32(p, f === null ? -1 : f.length);
    p += 4;
    if (f !== null) {
      out.set(f, p);
      p += f.length;
    }
  }
  v.setUint32(12, crc32(out, 16, out.length));
  return out;
}

test("upConvertMessageSet() answers Kafka's codes for structural violations", () => {
  const m0 = legacyMessage(0, 0n, 0, -1n, null, bytes("a"));
  const m1 = legacyMessage(1, 1n, 0, 5n, null, bytes("b"));
  const inner = legacyMessage(1, 0n, 0, 5n, null, bytes("c"));
  const wrapper = legacyMessage(1, 0n, 1, 5n, null, gzipSync(inner));
  const nested = legacyMessage(1, 0n, 1, 5n, null, gzipSync(wrapper));
  const nullWrapper = legacyMessage(1, 0n, 1, 5n, null, null);
  const emptyWrapper = legacyMessage(1, 0n, 1, 5n, null, gzipSync(new Uint8Array(0)));
  const zstdWrapper = legacyMessage(1, 0n, 4, 5n, null, inner);
  const badWrapperOffset = legacyMessage(
    1,
    1n,
    1,
    5n,
    null,
    gzipSync(concat(
      inner,
      (() => {
        const m = legacyMessage(1, 3n, 0, 5n, null, bytes("d"));
        return m;
      })(),
    )),
  );
  const tooSmall = m0.slice();
  viewOf(tooSmall).setInt32(8, 13);
  const cases: [string, Uint8Array, number][] = [
    ["mixed magics", concat(m0, m1), ErrorCode.INVALID_RECORD],
    ["wrapper next to a message", concat(m1, wrapper), ErrorCode.INVALID_RECORD],
    ["nested compression", nested, ErrorCode.INVALID_RECORD],
    ["null wrapper value", nullWrapper, ErrorCode.INVALID_RECORD],
    ["empty wrapper", emptyWrapper, ErrorCode.INVALID_RECORD],
    ["zstd wrapper", zstdWrapper, ErrorCode.INVALID_RECORD],
    ["wrapper offset below the last inner offset", badWrapperOffset, ErrorCode.INVALID_RECORD],
    ["size below 14", tooSmall, ErrorCode.CORRUPT_MESSAGE],
    ["not gzip", legacyMessage(1, 0n, 1, 5n, null, bytes("nope")), ErrorCode.CORRUPT_MESSAGE],
    ["unknown codec", legacyMessage(1, 0n, 6, 5n, null, inner), ErrorCode.CORRUPT_MESSAGE],
    ["inner magic differs", legacyMessage(1, 0n, 1, 5n, null, gzipSync(m0)), ErrorCode.INVALID_RECORD],
  ];
  for (const [name, buf, code] of cases) {
    const r = upConvertMessageSet(buf, CODECS);
    assert.ok(!r.ok, name);
    assert.equal(r.code, code, `${name}: ${r.message}`);
  }
});

test("upConvertMessageSet() drops a trailing partial message and accepts an empty set", () => {
  const m0 = legacyMessage(0, 0n, 0, -1n, bytes("k"), bytes("a"));
  const m1 = legacyMessage(0, 1n, 0, -1n, null, null);
  const r = upConvertMessageSet(concat(m0, m1, m0.subarray(0, 20)), CODECS);
  assert.ok(r.ok);
  assert.equal(r.recordCount, 2);
  const rs = batchRecords(r.batch, 0, CODECS).records;
  assert.deepEqual(rs.map((x) => [x.key, x.value, x.timestamp]), [[bytes("k"), bytes("a"), -1n], [null, null, -1n]]);
  assert.equal(readBatchHeader(r.batch, 0).maxTimestamp, -1n);
  const empty = upConvertMessageSet(new Uint8Array(5), CODECS);
  assert.deepEqual(empty, { ok: true, batch: new Uint8Array(0), recordCount: 0 });
});

test("up- then down-conversion round-trips uncompressed magic 1 message sets byte for byte", () => {
  const f = fromHex(FIXTURES.v1_uncompressed!.hex);
  const up = upConvertMessageSet(f, CODECS);
  assert.ok(up.ok);
  assert.deepEqual(downConvertBatches(up.batch, 1, CODECS), f);
});
