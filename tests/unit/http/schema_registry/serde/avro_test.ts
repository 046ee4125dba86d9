import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type AvroSchema, parseAvro } from "../../../../../src/http/schema_registry/avro.ts";
import { avroAcceptsNull, decodeAvro, encodeAvro } from "../../../../../src/http/schema_registry/serde/avro.ts";

function schemaOf(json: unknown): AvroSchema {
  const r = parseAvro(JSON.stringify(json));
  if (!r.ok) throw new Error(r.message);
  return r.value.root;
}

function roundTrip(schema: AvroSchema, value: unknown): { bytes: number[]; back: unknown } {
  const enc = encodeAvro(schema, value);
  assert.ok(enc.ok, enc.ok ? "" : enc.message);
  const dec = decodeAvro(schema, enc.value);
  assert.ok(dec.ok, dec.ok ? "" : dec.message);
  return { bytes: [...enc.value], back: dec.value };
}

function encodeError(schema: AvroSchema, value: unknown): string {
  const r = encodeAvro(schema, value);
  assert.ok(!r.ok, "expected an encoding error");
  return r.message;
}

describe("encodeAvro() and decodeAvro()", () => {
  test("encodeAvro() writes each primitive in Avro's binary encoding and decodeAvro() reads it back", () => {
    const cases: [unknown, unknown, number[]][] = [
      ["null", null, []],
      ["boolean", true, [1]],
      ["boolean", false, [0]],
      ["int", 0, [0]],
      ["int", -1, [1]],
      ["int", 64, [0x80, 0x01]],
      ["int", 2147483647, [0xfe, 0xff, 0xff, 0xff, 0x0f]],
      ["int", -2147483648, [0xff, 0xff, 0xff, 0xff, 0x0f]],
      ["long", 1, [2]],
      ["long", -64, [0x7f]],
      ["long", 4503599627370496, [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10]],
      ["float", 1.5, [0, 0, 0xc0, 0x3f]],
      ["double", -2, [0, 0, 0, 0, 0, 0, 0, 0xc0]],
      ["string", "hé", [6, 0x68, 0xc3, 0xa9]],
      ["bytes", "\u0000\u00ff", [4, 0, 0xff]],
    ];
    for (const [type, value, bytes] of cases) {
      const r = roundTrip(schemaOf(type), value);
      assert.deepEqual(r.bytes, bytes, `${type} ${String(value)}`);
      assert.deepEqual(r.back, value, `${type} ${String(value)}`);
    }
  });

  test("a long beyond 2^53 goes in as a bigint and comes back as one", () => {
    const s = schemaOf("long");
    for (const v of [2n ** 63n - 1n, -(2n ** 63n), 9007199254740993n, -9007199254740993n]) {
      assert.equal(roundTrip(s, v).back, v);
    }
    assert.deepEqual(roundTrip(s, 2n ** 63n - 1n).bytes, [0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
    // A safe value given as a bigint comes back as a number.
    assert.equal(roundTrip(s, 5n).back, 5);
    assert.match(encodeError(s, 2n ** 63n), /expected long/);
  });

  test("int and long accept integral floats, as Avro's JsonDecoder does, and refuse fractions and overflow", () => {
    assert.deepEqual(roundTrip(schemaOf("int"), 3.0).bytes, [6]);
    assert.match(encodeError(schemaOf("int"), 1.5), /^\$: expected int \(a 32-bit integer\), got number 1\.5$/);
    assert.match(encodeError(schemaOf("int"), 2 ** 31), /expected int/);
    assert.match(encodeError(schemaOf("long"), "5"), /expected long \(a 64-bit integer\), got string "5"/);
  });

  test("float and double take NaN and the infinities as strings, and decode them as strings", () => {
    for (const type of ["float", "double"]) {
      for (const v of ["NaN", "Infinity", "-Infinity"]) assert.equal(roundTrip(schemaOf(type), v).back, v);
      assert.equal(roundTrip(schemaOf(type), "INF").back, "Infinity");
      assert.match(encodeError(schemaOf(type), "1.5"), new RegExp(`expected ${type}`));
    }
  });

  test("decodeAvro() writes a float as the shortest decimal of its float32", () => {
    assert.equal(roundTrip(schemaOf("float"), 0.1).back, 0.1);
    assert.equal(roundTrip(schemaOf("float"), 3.4028234663852886e38).back, 3.4028235e38);
  });

  test("bytes and fixed are strings of code points up to U+00FF", () => {
    const fixed = schemaOf({ type: "fixed", name: "F", size: 3 });
    assert.deepEqual(roundTrip(fixed, "a\u0000\u00e9"), { bytes: [0x61, 0, 0xe9], back: "a\u0000\u00e9" });
    assert.match(encodeError(fixed, "ab"), /expected fixed F of 3 bytes, got 2/);
    assert.match(encodeError(schemaOf("bytes"), "€"), /code points \\u0000-\\u00ff/);
  });

  test("a record is an object of its fields, in schema order, recursively", () => {
    const s = schemaOf({
      type: "record",
      name: "Node",
      namespace: "t",
      fields: [
        { name: "value", type: "int" },
        { name: "next", type: ["null", "Node"] },
      ],
    });
    const v = { value: 1, next: { "t.Node": { value: 2, next: null } } };
    const r = roundTrip(s, v);
    assert.deepEqual(r.bytes, [2, 2, 4, 0]);
    assert.deepEqual(r.back, v);
    // Fields may come in any order.
    assert.deepEqual(roundTrip(s, { next: null, value: 7 }).back, { value: 7, next: null });
  });

  test("an enum is its symbol", () => {
    const s = schemaOf({ type: "enum", name: "Suit", symbols: ["SPADES", "HEARTS"] });
    assert.deepEqual(roundTrip(s, "HEARTS"), { bytes: [2], back: "HEARTS" });
    assert.equal(encodeError(s, "CLUBS"), '$: unknown symbol "CLUBS" in enum Suit, expected one of [SPADES, HEARTS]');
  });

  test("arrays and maps are written as one block then the end marker", () => {
    const arr = schemaOf({ type: "array", items: "string" });
    assert.deepEqual(roundTrip(arr, ["a", "b"]), { bytes: [4, 2, 0x61, 2, 0x62, 0], back: ["a", "b"] });
    assert.deepEqual(roundTrip(arr, []), { bytes: [0], back: [] });
    const map = schemaOf({ type: "map", values: "long" });
    assert.deepEqual(roundTrip(map, { k: 1 }), { bytes: [2, 2, 0x6b, 2, 0], back: { k: 1 } });
    assert.deepEqual(roundTrip(map, {}).back, {});
    // A map key may be any string, __proto__ included.
    const odd = JSON.parse('{"__proto__": 5, "toString": 6}');
    assert.deepEqual(Object.keys(roundTrip(map, odd).back as object), ["__proto__", "toString"]);
  });

  test("decodeAvro() reads blocks with a negative count (followed by their size in bytes)", () => {
    const arr = schemaOf({ type: "array", items: "int" });
    const r = decodeAvro(arr, new Uint8Array([3, 4, 2, 4, 2, 6, 0]));
    assert.deepEqual(r, { ok: true, value: [1, 2, 3] });
  });

  test("a union is null or wrapped in its branch's full name", () => {
    const s = schemaOf([
      "null",
      "string",
      { type: "record", name: "R", namespace: "n", fields: [{ name: "a", type: "int" }] },
      { type: "array", items: "int" },
      { type: "map", values: "int" },
      { type: "enum", name: "E", symbols: ["X"] },
    ]);
    for (const v of [null, { string: "s" }, { "n.R": { a: 1 } }, { array: [1] }, { map: { a: 1 } }, { E: "X" }]) {
      assert.deepEqual(roundTrip(s, v).back, v);
    }
    assert.deepEqual(roundTrip(s, { string: "s" }).bytes, [2, 2, 0x73]);
    assert.match(encodeError(s, { R: { a: 1 } }), /unknown union branch "R", expected one of \[null, string, n\.R/);
    assert.match(encodeError(s, "s"), /expected a union value: null or \{"<type>": value\}/);
    assert.match(encodeError(schemaOf(["int", "string"]), null), /expected one of \[int, string\], got null/);
  });

  test("decodeAvro() with unwrapRootUnion drops the wrapper of the root union only", () => {
    const s = schemaOf([
      "null",
      { type: "record", name: "R", fields: [{ name: "u", type: ["null", "long"] }] },
    ]);
    const enc = encodeAvro(s, { R: { u: { long: 5 } } });
    assert.ok(enc.ok);
    assert.deepEqual(decodeAvro(s, enc.value, { unwrapRootUnion: true }), { ok: true, value: { u: { long: 5 } } });
    assert.deepEqual(decodeAvro(s, enc.value), { ok: true, value: { R: { u: { long: 5 } } } });
  });

  test("logical types are their underlying type", () => {
    const s = schemaOf({
      type: "record",
      name: "L",
      fields: [
        { name: "date", type: { type: "int", logicalType: "date" } },
        { name: "ts", type: { type: "long", logicalType: "timestamp-millis" } },
        { name: "tsu", type: { type: "long", logicalType: "timestamp-micros" } },
        { name: "time", type: { type: "int", logicalType: "time-millis" } },
        { name: "dec", type: { type: "bytes", logicalType: "decimal", precision: 9, scale: 2 } },
        { name: "fdec", type: { type: "fixed", name: "D", size: 4, logicalType: "decimal", precision: 8 } },
        { name: "id", type: { type: "string", logicalType: "uuid" } },
        { name: "dur", type: { type: "fixed", name: "Dur", size: 12, logicalType: "duration" } },
      ],
    });
    const v = {
      date: 19000,
      ts: 1700000000000,
      tsu: 1700000000000000,
      time: 3600000,
      dec: "\u0004\u00d2", // 1234 → 12.34
      fdec: "\u0000\u0000\u0004\u00d2",
      id: "123e4567-e89b-12d3-a456-426614174000",
      dur: "\u0001\u0000\u0000\u0000\u0002\u0000\u0000\u0000\u0003\u0000\u0000\u0000",
    };
    assert.deepEqual(roundTrip(s, v).back, v);
  });

  test("record fields are matched as Avro's JsonDecoder matches them", () => {
    const s = schemaOf({
      type: "record",
      name: "R",
      fields: [
        { name: "a", type: "int" },
        { name: "b", type: "int", aliases: ["bee"] },
        { name: "c", type: ["null", "int"], default: null },
      ],
    });
    // An alias names a field.
    assert.deepEqual(roundTrip(s, { a: 1, bee: 2, c: null }).back, { a: 1, b: 2, c: null });
    // A missing field is an error even with a default.
    assert.equal(encodeError(s, { a: 1, b: 2 }), '$: missing field "c" of record R');
    // Unknown keys after the last field are skipped; before it, refused.
    assert.deepEqual(roundTrip(s, { a: 1, b: 2, c: null, zzz: 9 }).back, { a: 1, b: 2, c: null });
    assert.equal(encodeError(s, { zzz: 9, a: 1, b: 2, c: null }), '$: unknown field "zzz" in record R');
  });

  test("errors name the path of the value that does not match", () => {
    const s = schemaOf({
      type: "record",
      name: "Order",
      fields: [
        { name: "lines", type: { type: "array", items: { type: "map", values: "int" } } },
      ],
    });
    assert.equal(
      encodeError(s, { lines: [{ ok: 1 }, { "odd key": "x" }] }),
      '$.lines[1]["odd key"]: expected int (a 32-bit integer), got string "x"',
    );
    assert.equal(encodeError(s, []), "$: expected record Order (an object), got an array");
  });

  test("decodeAvro() reports truncated or invalid data without throwing", () => {
    const s = schemaOf({ type: "record", name: "R", fields: [{ name: "s", type: "string" }] });
    const short = decodeAvro(s, new Uint8Array([10, 0x61]));
    assert.ok(!short.ok);
    assert.match(short.message, /Unexpected end of data/);
    const e = decodeAvro(schemaOf({ type: "enum", name: "E", symbols: ["A"] }), new Uint8Array([4]));
    assert.deepEqual(e, { ok: false, message: "Enum E has no symbol 2" });
    const u = decodeAvro(schemaOf(["null", "int"]), new Uint8Array([6]));
    assert.deepEqual(u, { ok: false, message: "Union has no branch 3" });
    const huge = decodeAvro(schemaOf({ type: "array", items: "int" }), new Uint8Array([0xfe, 0xff, 0xff, 0xff, 0x0f]));
    assert.ok(!huge.ok);
    assert.match(huge.message, /exceeds the data/);
  });

  test("decodeAvro() bounds the items of a datum whose items take no bytes", () => {
    const s = schemaOf({ type: "array", items: "null" });
    const r = decodeAvro(s, new Uint8Array([0xfe, 0xff, 0xff, 0xff, 0x0f, 0]));
    assert.ok(!r.ok);
    assert.deepEqual(decodeAvro(s, new Uint8Array([6, 0])), { ok: true, value: [null, null, null] });
  });

  test("avroAcceptsNull() is true for null and unions with a null branch", () => {
    assert.equal(avroAcceptsNull(schemaOf("null")), true);
    assert.equal(avroAcceptsNull(schemaOf(["string", "null"])), true);
    assert.equal(avroAcceptsNull(schemaOf("string")), false);
  });
});
