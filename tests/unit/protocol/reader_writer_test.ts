import { test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";

import { DecodeError, Reader, uuidFromString, uuidToString, ZERO_UUID } from "../../../src/protocol/reader.ts";
import { utf8Length, Writer } from "../../../src/protocol/writer.ts";

function hex(text: string): Uint8Array {
  const parts = text.trim().split(/\s+/).filter((p) => p.length > 0);
  return new Uint8Array(parts.map((h) => parseInt(h, 16)));
}

function bytesOf(fill: (w: Writer) => void, initialBytes?: number): Uint8Array {
  const w = new Writer(initialBytes);
  fill(w);
  return w.toBytes();
}

const UVARINTS: [number, string][] = [
  [0, "00"],
  [1, "01"],
  [127, "7f"],
  [128, "80 01"],
  [300, "ac 02"],
  [16383, "ff 7f"],
  [16384, "80 80 01"],
  [2 ** 31 - 1, "ff ff ff ff 07"],
  [2 ** 32 - 1, "ff ff ff ff 0f"],
];

test("Writer.uvarint() and Reader.uvarint() match Kafka's UNSIGNED_VARINT examples", () => {
  for (const [value, encoded] of UVARINTS) {
    assert.deepStrictEqual(bytesOf((w) => w.uvarint(value)), hex(encoded), `write ${value}`);
    const r = new Reader(hex(encoded));
    assert.equal(r.uvarint(), value, `read ${encoded}`);
    assert.equal(r.remaining, 0);
  }
});

test("Reader.uvarint() rejects a 5th byte with the continuation bit, values over 32 bits and a cut varint", () => {
  assert.throws(() => new Reader(hex("ff ff ff ff ff 01")).uvarint(), DecodeError);
  assert.throws(() => new Reader(hex("ff ff ff ff 1f")).uvarint(), DecodeError);
  assert.throws(() => new Reader(hex("80 80")).uvarint(), DecodeError);
  assert.throws(() => new Reader(new Uint8Array(0)).uvarint(), DecodeError);
});

test("Writer.varint() and Reader.varint() zig-zag signed 32-bit values", () => {
  const cases: [number, string][] = [
    [0, "00"],
    [-1, "01"],
    [1, "02"],
    [-2, "03"],
    [63, "7e"],
    [-64, "7f"],
    [64, "80 01"],
    [2147483647, "fe ff ff ff 0f"],
    [-2147483648, "ff ff ff ff 0f"],
  ];
  for (const [value, encoded] of cases) {
    assert.deepStrictEqual(bytesOf((w) => w.varint(value)), hex(encoded), `write ${value}`);
    assert.equal(new Reader(hex(encoded)).varint(), value, `read ${encoded}`);
  }
});

test("Writer.varlong() and Reader.varlong() zig-zag signed 64-bit values", () => {
  const cases: [bigint, string][] = [
    [0n, "00"],
    [-1n, "01"],
    [1n, "02"],
    [-2n, "03"],
    [300n, "d8 04"],
    [2n ** 63n - 1n, "fe ff ff ff ff ff ff ff ff 01"],
    [-(2n ** 63n), "ff ff ff ff ff ff ff ff ff 01"],
  ];
  for (const [value, encoded] of cases) {
    assert.deepStrictEqual(bytesOf((w) => w.varlong(value)), hex(encoded), `write ${value}`);
    assert.equal(new Reader(hex(encoded)).varlong(), value, `read ${encoded}`);
  }
  assert.throws(() => new Reader(hex("ff ff ff ff ff ff ff ff ff ff 01")).varlong(), DecodeError);
});

test("Writer and Reader fixed-width integers are big-endian two's complement", () => {
  const bytes = bytesOf((w) =>
    w.int8(-2).int16(-3).uint16(65535).int32(-4).uint32(4294967295).int64(-(2n ** 63n)).float64(1.5).bool(true)
  );
  assert.deepStrictEqual(
    bytes,
    hex("fe ff fd ff ff ff ff ff fc ff ff ff ff 80 00 00 00 00 00 00 00 3f f8 00 00 00 00 00 00 01"),
  );
  const r = new Reader(bytes);
  assert.equal(r.int8(), -2);
  assert.equal(r.int16(), -3);
  assert.equal(r.uint16(), 65535);
  assert.equal(r.int32(), -4);
  assert.equal(r.uint32(), 4294967295);
  assert.equal(r.int64(), -(2n ** 63n));
  assert.equal(r.float64(), 1.5);
  assert.equal(r.bool(), true);
  assert.equal(r.remaining, 0);
  assert.equal(new Reader(hex("02")).bool(), true, "any non-zero byte is true");
});

test("Writer keeps every byte when its buffer grows mid-message", () => {
  const expected: number[] = [];
  const bytes = bytesOf((w) => {
    for (let i = 0; i < 200; i++) {
      w.int8(i & 0x7f).int32(i).uvarint(300).bool(i % 2 === 0).uuid(ZERO_UUID).raw(new Uint8Array([i & 0xff, 1]));
      expected.push(i & 0x7f, 0, 0, (i >> 8) & 0xff, i & 0xff, 0xac, 0x02, i % 2 === 0 ? 1 : 0);
      for (let k = 0; k < 16; k++) expected.push(0);
      expected.push(i & 0xff, 1);
    }
  }, 1);
  assert.deepStrictEqual(Array.from(bytes), expected);
  assert.deepStrictEqual(bytesOf((w) => w.int64(5n), 0), hex("00 00 00 00 00 00 00 05"));
});

test("Writer.raw() passes large byte arrays through as their own chunk", () => {
  const big = new Uint8Array(5000).fill(9);
  const w = new Writer();
  w.int32(5000).raw(big).int8(1);
  assert.equal(w.length, 5005);
  const chunks = w.chunks();
  assert.equal(chunks.length, 3);
  assert.equal(chunks[1], big, "the large array is not copied");
  const w2 = new Writer();
  w2.int32(5000).raw(big).int8(1);
  const all = w2.toBytes();
  assert.equal(all.length, 5005);
  assert.equal(all[4], 9);
  assert.equal(all[5004], 1);
});

test("Writer.append() copies another writer's output", () => {
  const inner = new Writer();
  inner.compactString("abc");
  const w = new Writer();
  w.uvarint(inner.length).append(inner);
  assert.deepStrictEqual(w.toBytes(), hex("04 04 61 62 63"));
});

test("Writer and Reader strings use INT16 or UNSIGNED_VARINT N+1 lengths with UTF-8 bytes", () => {
  assert.deepStrictEqual(bytesOf((w) => w.string("abc")), hex("00 03 61 62 63"));
  assert.deepStrictEqual(bytesOf((w) => w.nullableString(null)), hex("ff ff"));
  assert.deepStrictEqual(bytesOf((w) => w.compactString("abc")), hex("04 61 62 63"));
  assert.deepStrictEqual(bytesOf((w) => w.compactNullableString(null)), hex("00"));
  assert.deepStrictEqual(bytesOf((w) => w.compactString("")), hex("01"));
  assert.deepStrictEqual(bytesOf((w) => w.string("é€")), hex("00 05 c3 a9 e2 82 ac"));

  for (const s of ["", "abc", "é€", "日本語", "🎉 emoji", "x".repeat(300)]) {
    const r = new Reader(bytesOf((w) => w.string(s).nullableString(s).compactString(s).compactNullableString(s)));
    assert.equal(r.string(), s);
    assert.equal(r.nullableString(), s);
    assert.equal(r.compactString(), s);
    assert.equal(r.compactNullableString(), s);
    assert.equal(r.remaining, 0);
  }
  assert.equal(new Reader(hex("ff ff")).nullableString(), null);
  assert.equal(new Reader(hex("00")).compactNullableString(), null);
  assert.throws(() => new Reader(hex("ff ff")).string(), DecodeError);
  assert.throws(() => new Reader(hex("00")).compactString(), DecodeError);
  assert.throws(() => new Reader(hex("00 05 61 62")).string(), DecodeError);
  assert.throws(() => new Writer().string("x".repeat(32768)), RangeError);
  assert.equal(utf8Length("a€🎉"), 1 + 3 + 4);
});

test("Writer and Reader bytes use INT32 or UNSIGNED_VARINT N+1 lengths and read as views", () => {
  const data = new Uint8Array([1, 2, 3]);
  assert.deepStrictEqual(bytesOf((w) => w.bytes(data)), hex("00 00 00 03 01 02 03"));
  assert.deepStrictEqual(bytesOf((w) => w.nullableBytes(null)), hex("ff ff ff ff"));
  assert.deepStrictEqual(bytesOf((w) => w.compactBytes(data)), hex("04 01 02 03"));
  assert.deepStrictEqual(bytesOf((w) => w.compactNullableBytes(null)), hex("00"));
  const buf = hex("00 00 00 03 01 02 03");
  const view = new Reader(buf).bytes();
  assert.deepStrictEqual(view, data);
  assert.equal(view.buffer, buf.buffer);
  assert.equal(new Reader(hex("ff ff ff ff")).nullableBytes(), null);
  assert.throws(() => new Reader(hex("ff ff ff ff")).bytes(), DecodeError);
  assert.throws(() => new Reader(hex("00 00 00 09 01")).bytes(), DecodeError);
});

test("Reader array counts are refused when larger than the bytes left", () => {
  assert.equal(new Reader(hex("ff ff ff ff")).arrayLength(), -1);
  assert.equal(new Reader(hex("00")).compactArrayLength(), -1);
  assert.equal(new Reader(hex("00 00 00 02 01 02")).arrayLength(), 2);
  assert.equal(new Reader(hex("03 01 02")).compactArrayLength(), 2);
  assert.throws(() => new Reader(hex("00 00 00 03 01 02")).arrayLength(), DecodeError);
  assert.throws(() => new Reader(hex("7f ff ff ff")).arrayLength(), DecodeError);
  assert.throws(() => new Reader(hex("ff ff ff fe")).arrayLength(), DecodeError);
  assert.throws(() => new Reader(hex("ff ff ff ff 0f")).compactArrayLength(), DecodeError);
  assert.deepStrictEqual(
    bytesOf((w) => w.arrayLength(-1).compactArrayLength(-1).compactArrayLength(2)),
    hex("ff ff ff ff 00 03"),
  );
});

test("Reader.skipTaggedFields() skips every tag by its size", () => {
  const r = new Reader(hex("02 00 02 aa bb 05 00 7f"));
  r.skipTaggedFields();
  assert.equal(r.int8(), 0x7f);
  assert.throws(() => new Reader(hex("01 00 05 aa")).skipTaggedFields(), DecodeError);
});

test("Reader respects the offset and end of a subarray", () => {
  const outer = hex("ee ee 00 00 00 07 ee");
  const r = new Reader(outer.subarray(2, 6));
  assert.equal(r.int32(), 7);
  assert.throws(() => r.int8(), DecodeError);
  const bounded = new Reader(outer, 2, 4);
  assert.equal(bounded.int16(), 0);
  assert.throws(() => bounded.int8(), DecodeError);
});

test("uuidToString() and uuidFromString() use Kafka's 22-character URL-safe base64 form", () => {
  assert.equal(uuidToString(new Uint8Array(16)), ZERO_UUID);
  assert.equal(ZERO_UUID, "AAAAAAAAAAAAAAAAAAAAAA");
  const one = new Uint8Array(16);
  one[15] = 1;
  assert.equal(uuidToString(one), "AAAAAAAAAAAAAAAAAAAAAQ");
  let seed = 7;
  for (let n = 0; n < 200; n++) {
    const b = new Uint8Array(16);
    for (let i = 0; i < 16; i++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      b[i] = seed >>> 24;
    }
    const text = uuidToString(b);
    assert.equal(text, Buffer.from(b).toString("base64url"));
    assert.deepStrictEqual(uuidFromString(text), b);
    const r = new Reader(bytesOf((w) => w.uuid(text)));
    assert.equal(r.uuid(), text);
  }
  assert.throws(() => uuidFromString("short"), DecodeError);
  assert.throws(() => uuidFromString("AAAAAAAAAAAAAAAAAAAAA*"), DecodeError);
});
