import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  base64Decode,
  base64Encode,
  ByteReader,
  ByteWriter,
  int64FromHalves,
  shortestFloat32,
  toInt64Halves,
  uint64FromHalves,
} from "../../../../../src/http/schema_registry/serde/bytes.ts";

describe("serde byte primitives", () => {
  test("toInt64Halves() and int64FromHalves() round-trip the signed 64-bit range", () => {
    for (const v of [0, 1, -1, 2 ** 32, -(2 ** 32) - 5, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER]) {
      const [lo, hi] = toInt64Halves(v)!;
      assert.equal(int64FromHalves(lo, hi), v);
    }
    for (const v of [2n ** 63n - 1n, -(2n ** 63n), 9007199254740992n]) {
      const [lo, hi] = toInt64Halves(v)!;
      assert.equal(int64FromHalves(lo, hi), v);
    }
    assert.equal(uint64FromHalves(0xffffffff, 0xffffffff), 2n ** 64n - 1n);
    assert.equal(toInt64Halves(1.5), undefined);
    assert.equal(toInt64Halves(2n ** 64n), undefined);
  });

  test("ByteWriter.zigzag64() and ByteReader.zigzag64() agree on 64-bit values", () => {
    const values = [0, -1, 1, 63, -64, 64, 2 ** 52, -(2 ** 52), 2n ** 63n - 1n, -(2n ** 63n)];
    const w = new ByteWriter(1);
    for (const v of values) {
      if (typeof v === "number" && Math.abs(v) < 2 ** 52) w.zigzagNumber(v);
      else {
        const [lo, hi] = toInt64Halves(v)!;
        w.zigzag64(lo, hi);
      }
    }
    const r = new ByteReader(w.finish());
    for (const v of values) assert.equal(r.zigzag64(), v);
    assert.equal(r.remaining, 0);
  });

  test("ByteReader refuses a varint longer than ten bytes and reads past the end as an error", () => {
    assert.throws(() => new ByteReader(new Uint8Array(11).fill(0xff)).varint64(), /Malformed varint/);
    assert.throws(() => new ByteReader(new Uint8Array([0x80])).varint64(), /Unexpected end of data/);
  });

  test("base64Encode() pads; base64Decode() takes both alphabets, with or without padding", () => {
    const b = new Uint8Array([0xfb, 0xff, 0xbf, 1]);
    assert.equal(base64Encode(b), "+/+/AQ==");
    assert.deepEqual(base64Decode("+/+/AQ=="), b);
    assert.deepEqual(base64Decode("-_-_AQ"), b);
    assert.deepEqual(base64Decode(""), new Uint8Array());
    assert.equal(base64Decode("A"), undefined);
    assert.equal(base64Decode("A$=="), undefined);
  });

  test("shortestFloat32() gives the shortest decimal that is the same float32", () => {
    assert.equal(shortestFloat32(Math.fround(0.1)), 0.1);
    assert.equal(shortestFloat32(Math.fround(1 / 3)), 0.33333334);
    assert.ok(Number.isNaN(shortestFloat32(Number.NaN)));
  });
});
