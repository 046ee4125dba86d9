/**
 * Records captured from a real client: kcat 1.7.1 / librdkafka 2.0.2, recorded by
 * tests/fixtures/records/capture_kcat.ts for every message format and codec librdkafka offers.
 * Codecs other than gzip are checked up to what kbin can verify without them (CRCs, structure).
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import { test } from "node:test";
import { gunzipSync, gzipSync } from "fflate";
import {
  Attributes,
  batchRecords,
  Compression,
  downConvertBatches,
  magicAt,
  readBatchHeader,
  scanBatches,
  upConvertMessageSet,
  validateBatch,
  verifyBatchCrc,
} from "../../../../src/protocol/records/mod.ts";

const CAPTURE: { batches: Record<string, { codec: string; hex: string; input: string }> } = JSON.parse(
  fs.readFileSync(new URL("../../../fixtures/records/kcat.json", import.meta.url), "utf8"),
);
function captured(name: string): Uint8Array {
  const h = CAPTURE.batches[name]!.hex;
  const out = new Uint8Array(h.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(h.slice(i * 2, i * 2 + 2), 16);
  return out;
}
const CODECS = {
  compress: (codec: number, d: Uint8Array) => (assert.equal(codec, Compression.GZIP), gzipSync(d)),
  decompress: (codec: number, d: Uint8Array) => (assert.equal(codec, Compression.GZIP), gunzipSync(d)),
  now: () => 0n,
};
const text = (b: Uint8Array | null) => (b === null ? null : new TextDecoder().decode(b));
/** kcat -K: splits each input line "key:value"; an empty key arrives as an empty (not null) key. */
function expected(name: string): [string, string][] {
  return CAPTURE.batches[name]!.input.slice(0, -1).split("\n").map((l) => {
    const i = l.indexOf(":");
    return [l.slice(0, i), l.slice(i + 1)];
  });
}

const CODEC_IDS: Record<string, number> = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 };

for (const codec of ["none", "gzip", "snappy", "lz4", "zstd"]) {
  test(`validateBatch() accepts librdkafka's ${codec} v2 batch`, () => {
    const b = captured(`kcat_v2_${codec}`);
    assert.equal(magicAt(b, 0), 2);
    assert.ok(verifyBatchCrc(b, 0));
    const h = readBatchHeader(b, 0);
    assert.equal(h.attributes & Attributes.COMPRESSION_MASK, CODEC_IDS[codec]);
    assert.equal(h.recordCount, 3);
    assert.equal(h.lastOffsetDelta, 2);
    const gzipOrNone = codec === "none" || codec === "gzip";
    assert.equal(validateBatch(b, 0, b.length, gzipOrNone ? CODECS : {}), null);
    if (!gzipOrNone) return;
    const records = batchRecords(b, 0, CODECS).records;
    assert.deepEqual(records.map((r) => [text(r.key), text(r.value)]), expected(`kcat_v2_${codec}`));
    for (const r of records) {
      assert.deepEqual(r.headers.map((x) => [x.key, text(x.value)]), [["trace", "abc"]]);
      assert.equal(r.timestamp, h.baseTimestamp);
    }
  });
}

for (const magic of [0, 1]) {
  for (const codec of ["none", "gzip"]) {
    test(`upConvertMessageSet() converts librdkafka's magic ${magic} ${codec} message set`, () => {
      const name = `kcat_v${magic}_${codec}`;
      const set = captured(name);
      assert.equal(magicAt(set, 0), magic);
      const up = upConvertMessageSet(set, CODECS);
      assert.ok(up.ok, JSON.stringify(up));
      assert.equal(up.recordCount, 3);
      assert.equal(validateBatch(up.batch, 0, up.batch.length, CODECS), null);
      const records = batchRecords(up.batch, 0, CODECS).records;
      assert.deepEqual(records.map((r) => [text(r.key), text(r.value)]), expected(name));
      for (const r of records) assert.equal(r.timestamp > 0n, magic === 1);
      // Down again: the same messages (offsets 0..2) in the same magic.
      const down = downConvertBatches(up.batch, magic as 0 | 1, CODECS);
      const again = upConvertMessageSet(down, CODECS);
      assert.ok(again.ok);
      assert.deepEqual(
        batchRecords(again.batch, 0, CODECS).records.map((r) => [r.offset, r.timestamp, text(r.key), text(r.value)]),
        records.map((r) => [r.offset, r.timestamp, text(r.key), text(r.value)]),
      );
    });
  }
}

test("upConvertMessageSet() checks the CRC of librdkafka's snappy and lz4 wrappers before decompressing", () => {
  for (const name of ["kcat_v0_snappy", "kcat_v1_snappy", "kcat_v1_lz4"]) {
    const set = captured(name);
    assert.equal(scanBatches(set).batches.length, 1, name);
    const seen: number[] = [];
    const r = upConvertMessageSet(set, {
      ...CODECS,
      decompress: (codec) => {
        seen.push(codec);
        throw new Error("codec not available in this test");
      },
    });
    assert.ok(!r.ok);
    assert.equal(r.code, 2);
    assert.deepEqual(seen, [CODEC_IDS[CAPTURE.batches[name]!.codec]]);
    const corrupt = set.slice();
    corrupt[corrupt.length - 1]! ^= 1;
    const bad = upConvertMessageSet(corrupt, { ...CODECS, decompress: () => assert.fail("CRC first") });
    assert.ok(!bad.ok);
    assert.match(bad.message, /crc/);
  }
});
