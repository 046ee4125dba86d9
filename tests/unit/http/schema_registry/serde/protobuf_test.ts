import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseProtobuf, type ProtobufParsed } from "../../../../../src/http/schema_registry/protobuf.ts";
import {
  decodeProtobuf,
  encodeProtobuf,
  protoJsonName,
} from "../../../../../src/http/schema_registry/serde/protobuf.ts";

function schemaOf(text: string, references: Record<string, string> = {}): ProtobufParsed {
  const r = parseProtobuf(text, { references: Object.keys(references), lookup: (n) => references[n] });
  if (!r.ok) throw new Error(r.message);
  return r.value;
}

function encode(schema: ProtobufParsed, value: unknown, messageName?: string): number[] {
  const r = encodeProtobuf(schema, value, messageName === undefined ? {} : { messageName });
  assert.ok(r.ok, r.ok ? "" : r.message);
  return [...r.value];
}

function decode(schema: ProtobufParsed, bytes: number[], messageName?: string): unknown {
  const r = decodeProtobuf(schema, new Uint8Array(bytes), messageName === undefined ? {} : { messageName });
  assert.ok(r.ok, r.ok ? "" : r.message);
  return r.value;
}

function encodeError(schema: ProtobufParsed, value: unknown, messageName?: string): string {
  const r = encodeProtobuf(schema, value, messageName === undefined ? {} : { messageName });
  assert.ok(!r.ok, "expected an encoding error");
  return r.message;
}

const SCALARS = schemaOf(`syntax = "proto3";
message S {
  double d = 1; float f = 2; int32 i32 = 3; int64 i64 = 4; uint32 u32 = 5; uint64 u64 = 6;
  sint32 s32 = 7; sint64 s64 = 8; fixed32 f32 = 9; fixed64 f64 = 10; sfixed32 sf32 = 11; sfixed64 sf64 = 12;
  bool b = 13; string s = 14; bytes by = 15;
}`);

const DEFAULTS = {
  d: 0,
  f: 0,
  i32: 0,
  i64: "0",
  u32: 0,
  u64: "0",
  s32: 0,
  s64: "0",
  f32: 0,
  f64: "0",
  sf32: 0,
  sf64: "0",
  b: false,
  s: "",
  by: "",
};

describe("encodeProtobuf() and decodeProtobuf()", () => {
  test("every scalar type is written with its wire type and read back in protobuf's JSON mapping", () => {
    const cases: [string, unknown, number[], unknown][] = [
      ["d", 1.5, [9, 0, 0, 0, 0, 0, 0, 0xf8, 0x3f], 1.5],
      ["f", 0.1, [0x15, 0xcd, 0xcc, 0xcc, 0x3d], 0.1],
      ["i32", -1, [0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], -1],
      ["i64", "9007199254740993", [0x20, 0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10], "9007199254740993"],
      ["u32", 4294967295, [0x28, 0xff, 0xff, 0xff, 0xff, 0x0f], 4294967295],
      [
        "u64",
        "18446744073709551615",
        [0x30, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
        "18446744073709551615",
      ],
      ["s32", -2, [0x38, 3], -2],
      [
        "s64",
        "-9223372036854775808",
        [0x40, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
        "-9223372036854775808",
      ],
      ["f32", 7, [0x4d, 7, 0, 0, 0], 7],
      ["f64", "7", [0x51, 7, 0, 0, 0, 0, 0, 0, 0], "7"],
      ["sf32", -7, [0x5d, 0xf9, 0xff, 0xff, 0xff], -7],
      ["sf64", "-7", [0x61, 0xf9, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], "-7"],
      ["b", true, [0x68, 1], true],
      ["s", "hé", [0x72, 3, 0x68, 0xc3, 0xa9], "hé"],
      ["by", "AAH/", [0x7a, 3, 0, 1, 0xff], "AAH/"],
    ];
    for (const [field, input, bytes, output] of cases) {
      assert.deepEqual(encode(SCALARS, { [field]: input }), bytes, field);
      assert.deepEqual(decode(SCALARS, bytes), { ...DEFAULTS, [field]: output }, field);
    }
  });

  test("proto3 fields holding their default are not written, and are printed with it", () => {
    assert.deepEqual(encode(SCALARS, { ...DEFAULTS, d: -0 }), [9, 0, 0, 0, 0, 0, 0, 0, 0x80]);
    assert.deepEqual(encode(SCALARS, DEFAULTS), []);
    assert.deepEqual(decode(SCALARS, []), DEFAULTS);
  });

  test("64-bit integers are taken as strings, numbers or bigints; 32-bit ones as numbers or numeric strings", () => {
    assert.deepEqual(encode(SCALARS, { i64: 5 }), [0x20, 5]);
    assert.deepEqual(encode(SCALARS, { i64: 5n }), [0x20, 5]);
    assert.deepEqual(encode(SCALARS, { i64: "5" }), [0x20, 5]);
    assert.deepEqual(encode(SCALARS, { i32: "5" }), [0x18, 5]);
    assert.deepEqual(encode(SCALARS, { i32: "1e1" }), [0x18, 10]);
    assert.equal(encodeError(SCALARS, { i32: 1.5 }), "$.i32: expected int32, got number 1.5");
    assert.equal(encodeError(SCALARS, { u32: -1 }), "$.u32: expected uint32, got number -1");
    assert.match(encodeError(SCALARS, { i64: "9223372036854775808" }), /expected int64/);
    assert.match(encodeError(SCALARS, { i32: 2 ** 31 }), /expected int32/);
  });

  test("floats take NaN and infinities as strings; bools take true/false strings; strings take scalars", () => {
    assert.deepEqual(decode(SCALARS, encode(SCALARS, { d: "NaN", f: "-Infinity" })), {
      ...DEFAULTS,
      d: "NaN",
      f: "-Infinity",
    });
    assert.deepEqual(encode(SCALARS, { b: "true" }), [0x68, 1]);
    assert.deepEqual(encode(SCALARS, { s: 12 }), [0x72, 2, 0x31, 0x32]);
    assert.match(encodeError(SCALARS, { f: 1e39 }), /expected float/);
    assert.match(encodeError(SCALARS, { b: 1 }), /expected bool/);
  });

  test("bytes take standard or URL-safe base64, padded or not", () => {
    for (const b64 of ["+/8=", "-_8", "+/8"]) assert.deepEqual(encode(SCALARS, { by: b64 }), [0x7a, 2, 0xfb, 0xff]);
    assert.match(encodeError(SCALARS, { by: "***" }), /expected bytes as base64/);
  });

  test("fields are found by JSON name or by .proto name; unknown and repeated fields are errors", () => {
    const s = schemaOf(`syntax = "proto3"; message M { string user_name = 1; int32 x = 2 [json_name = "ex"]; }`);
    assert.deepEqual(encode(s, { userName: "a" }), [10, 1, 0x61]);
    assert.deepEqual(encode(s, { user_name: "a", ex: 1 }), [10, 1, 0x61, 16, 1]);
    assert.deepEqual(decode(s, [10, 1, 0x61, 16, 1]), { userName: "a", ex: 1 });
    assert.equal(encodeError(s, { nope: 1 }), '$: cannot find field "nope" in message M');
    assert.equal(
      encodeError(s, { user_name: "a", userName: "b" }),
      "$.userName: field M.user_name has already been set",
    );
    assert.equal(protoJsonName("foo_bar_baz"), "fooBarBaz");
    assert.equal(protoJsonName("_x__y"), "XY");
  });

  test("null leaves a field unset", () => {
    const s = schemaOf(`syntax = "proto3"; message M { string a = 1; M child = 2; repeated int32 r = 3; }`);
    assert.deepEqual(encode(s, { a: null, child: null, r: null }), []);
    assert.deepEqual(decode(s, []), { a: "", r: [] });
  });

  test("enums are taken by name or number and printed by name (an unknown number as the number)", () => {
    const s = schemaOf(`syntax = "proto3"; package p;
      enum Color { RED = 0; GREEN = 1; BLUE = 2; }
      message M { Color c = 1; repeated Color cs = 2; }`);
    assert.deepEqual(encode(s, { c: "BLUE" }), [8, 2]);
    assert.deepEqual(encode(s, { c: 1 }), [8, 1]);
    assert.deepEqual(encode(s, { c: "1" }), [8, 1]);
    assert.deepEqual(encode(s, { cs: ["GREEN", 2] }), [0x12, 2, 1, 2]);
    assert.deepEqual(decode(s, [8, 2, 0x12, 2, 1, 2]), { c: "BLUE", cs: ["GREEN", "BLUE"] });
    assert.deepEqual(decode(s, [8, 9]), { c: 9, cs: [] });
    assert.deepEqual(encode(s, { c: 9 }), [8, 9]); // proto3 enums are open
    assert.equal(encodeError(s, { c: "PINK" }), '$.c: invalid enum value string "PINK" for enum type p.Color');
  });

  test("proto2 enums are closed and proto2 fields keep their presence and defaults", () => {
    const s = schemaOf(`syntax = "proto2";
      enum E { A = 1; B = 2; }
      message M {
        optional int32 n = 1 [default = 7];
        optional E e = 2;
        optional string s = 3 [default = "hi"];
        required int32 r = 4;
        repeated int32 list = 5;
        repeated int32 packed = 6 [packed = true];
      }`);
    // Set to the type's default, a proto2 optional field is still written.
    assert.deepEqual(encode(s, { n: 0, r: 1 }), [8, 0, 0x20, 1]);
    assert.deepEqual(decode(s, [0x20, 1]), { n: 7, e: "A", s: "hi", r: 1, list: [], packed: [] });
    assert.match(encodeError(s, { e: 5, r: 1 }), /invalid enum value number 5 for enum type E/);
    assert.equal(encodeError(s, {}), "$: message M is missing required field r");
    // proto2 repeated scalars are not packed unless asked.
    assert.deepEqual(encode(s, { r: 0, list: [1, 2], packed: [3, 4] }), [0x20, 0, 0x28, 1, 0x28, 2, 0x32, 2, 3, 4]);
    // An unknown number of a closed enum is dropped.
    assert.deepEqual((decode(s, [0x10, 9, 0x20, 1]) as { e: string }).e, "A");
  });

  test("nested messages are objects; repeated ones arrays; recursion works", () => {
    const s = schemaOf(`syntax = "proto3"; package t;
      message Tree { string name = 1; repeated Tree kids = 2; Leaf leaf = 3;
        message Leaf { int32 v = 1; } }`);
    const v = { name: "root", kids: [{ name: "a", kids: [], leaf: { v: 1 } }, { name: "b", kids: [] }] };
    const bytes = encode(s, v);
    assert.deepEqual(decode(s, bytes), v);
    assert.deepEqual(encode(s, { leaf: {} }), [0x1a, 0]);
    assert.deepEqual(decode(s, [0x1a, 0]), { name: "", kids: [], leaf: { v: 0 } });
  });

  test("repeated scalars are packed in proto3 and read whether packed or not", () => {
    const s = schemaOf(
      `syntax = "proto3"; message M { repeated int32 a = 1; repeated int32 b = 2 [packed = false]; repeated string c = 3; }`,
    );
    assert.deepEqual(encode(s, { a: [1, 300], b: [1, 2], c: ["x"] }), [10, 3, 1, 0xac, 2, 16, 1, 16, 2, 26, 1, 0x78]);
    assert.deepEqual(decode(s, [8, 1, 8, 2, 10, 1, 3]), { a: [1, 2, 3], b: [], c: [] });
    assert.equal(encodeError(s, { a: [1, null] }), "$.a[1]: repeated field elements cannot be null");
    assert.equal(encodeError(s, { a: 1 }), "$.a: expected an array, got number 1");
  });

  test("maps are objects, with keys of every key type", () => {
    const s = schemaOf(`syntax = "proto3";
      message M { map<string, int32> si = 1; map<int64, string> ls = 2; map<bool, M> bm = 3; map<sint32, bytes> sb = 4; }`);
    const v = {
      si: { a: 1, b: 0 },
      ls: { "-5": "x", "9007199254740993": "y" },
      bm: { true: { si: { z: 2 } } },
      sb: { "-1": "AQ==" },
    };
    const bytes = encode(s, v);
    const back = decode(s, bytes) as Record<string, unknown>;
    assert.deepEqual(back["si"], { a: 1, b: 0 });
    assert.deepEqual(back["ls"], { "-5": "x", "9007199254740993": "y" });
    assert.deepEqual(back["bm"], { true: { si: { z: 2 }, ls: {}, bm: {}, sb: {} } });
    assert.deepEqual(back["sb"], { "-1": "AQ==" });
    // Entries carry both key and value, defaults included.
    assert.deepEqual(encode(s, { si: { "": 0 } }), [10, 4, 10, 0, 16, 0]);
    assert.equal(encodeError(s, { ls: { x: "1" } }), '$.ls.x: invalid map key "x" for a int64 key');
    assert.equal(encodeError(s, { si: { a: null } }), "$.si.a: a map value cannot be null");
  });

  test("oneof members have presence; two members of one oneof are an error; the last on the wire wins", () => {
    const s = schemaOf(
      `syntax = "proto3"; message M { oneof pick { string s = 1; int32 n = 2; Sub sub = 3; } int32 other = 4; message Sub {} }`,
    );
    assert.deepEqual(encode(s, { n: 0 }), [16, 0]);
    assert.deepEqual(decode(s, [16, 0]), { n: 0, other: 0 });
    assert.deepEqual(decode(s, []), { other: 0 });
    assert.deepEqual(decode(s, [10, 1, 0x61, 16, 5]), { n: 5, other: 0 });
    assert.deepEqual(decode(s, [0x1a, 0]), { sub: {}, other: 0 });
    assert.equal(
      encodeError(s, { s: "a", n: 1 }),
      "$.n: cannot set field M.n because another field M.s of oneof pick has already been set",
    );
    assert.deepEqual(encode(s, { s: null, n: 1 }), [16, 1]);
  });

  test("proto3 optional fields have presence and are printed only when set", () => {
    const s = schemaOf(`syntax = "proto3"; message M { optional int32 n = 1; int32 m = 2; }`);
    assert.deepEqual(encode(s, { n: 0 }), [8, 0]);
    assert.deepEqual(decode(s, []), { m: 0 });
    assert.deepEqual(decode(s, [8, 0]), { n: 0, m: 0 });
  });

  test("occurrences of a message field merge; unknown fields, groups included, are skipped", () => {
    const s = schemaOf(`syntax = "proto3"; message M { Sub sub = 1; message Sub { int32 a = 1; int32 b = 2; } }`);
    assert.deepEqual(decode(s, [10, 2, 8, 1, 10, 2, 16, 2]), { sub: { a: 1, b: 2 } });
    const unknown = [0x10, 5, 0x19, 1, 2, 3, 4, 5, 6, 7, 8, 0x22, 1, 0, 0x2d, 1, 2, 3, 4, 0x33, 8, 1, 0x34];
    assert.deepEqual(decode(s, unknown), {});
  });

  test("a nested or named message is chosen by messageName", () => {
    const s = schemaOf(`syntax = "proto3"; package acme;
      message A { int32 a = 1; }
      message B { string b = 1; message Inner { bool i = 1; } }`);
    assert.deepEqual(encode(s, { a: 1 }), [8, 1]);
    assert.deepEqual(encode(s, { b: "x" }, "acme.B"), [10, 1, 0x78]);
    assert.deepEqual(encode(s, { b: "x" }, "B"), [10, 1, 0x78]);
    assert.deepEqual(decode(s, [8, 1], "acme.B.Inner"), { i: true });
    assert.equal(encodeError(s, {}, "acme.C"), "Message acme.C is not defined in the schema");
  });

  test("well-known types take their JSON forms", () => {
    const s = schemaOf(`syntax = "proto3";
      import "google/protobuf/timestamp.proto"; import "google/protobuf/duration.proto";
      import "google/protobuf/wrappers.proto"; import "google/protobuf/struct.proto";
      import "google/protobuf/field_mask.proto"; import "google/protobuf/empty.proto";
      message W {
        google.protobuf.Timestamp ts = 1; google.protobuf.Duration dur = 2;
        google.protobuf.Int64Value i64 = 3; google.protobuf.StringValue str = 4; google.protobuf.BoolValue flag = 5;
        google.protobuf.Struct st = 6; google.protobuf.Value val = 7; google.protobuf.ListValue list = 8;
        google.protobuf.FieldMask mask = 9; google.protobuf.Empty empty = 10; google.protobuf.BytesValue raw = 11;
        repeated google.protobuf.Timestamp times = 12;
      }`);
    const v = {
      ts: "2024-02-29T23:59:59.123Z",
      dur: "-1.500s",
      i64: "9007199254740993",
      str: "",
      flag: false,
      st: { a: 1, b: [true, null, "x"], c: { d: {} } },
      val: null,
      list: [1, "two"],
      mask: "user.displayName,id",
      empty: {},
      raw: "AQI=",
      times: ["1970-01-01T00:00:00Z", "0001-01-01T00:00:00.000000001Z", "9999-12-31T23:59:59.999999Z"],
    };
    assert.deepEqual(decode(s, encode(s, v)), v);
    // A timestamp's offset is applied; output is always UTC with 0, 3, 6 or 9 fraction digits.
    const back = decode(s, encode(s, { ts: "2024-01-01T01:00:00.5+01:00" })) as { ts: string };
    assert.equal(back.ts, "2024-01-01T00:00:00.500Z");
    // Wrapped scalars: the field is set even when the value is the default.
    assert.deepEqual(encode(s, { flag: false }), [0x2a, 0]);
    assert.match(encodeError(s, { ts: "2024-13-01T00:00:00Z" }), /expected a timestamp/);
    assert.match(encodeError(s, { dur: "5m" }), /expected a duration/);
    assert.equal(
      (decode(s, encode(s, { mask: "a.fooBar" })) as { mask: string }).mask,
      "a.fooBar",
    );
  });

  test("Any carries a message the schema knows, with its @type", () => {
    const s = schemaOf(`syntax = "proto3"; package acme;
      import "google/protobuf/any.proto"; import "google/protobuf/duration.proto";
      message Envelope { google.protobuf.Any payload = 1; }
      message Ping { int32 n = 1; }`);
    const v = { payload: { "@type": "type.googleapis.com/acme.Ping", n: 3 } };
    assert.deepEqual(decode(s, encode(s, v)), v);
    const d = { payload: { "@type": "type.googleapis.com/google.protobuf.Duration", value: "2s" } };
    assert.deepEqual(decode(s, encode(s, d)), d);
    assert.match(encodeError(s, { payload: { "@type": "x/acme.Nope" } }), /cannot find type for url: x\/acme\.Nope/);
  });

  test("google/type messages and enums are known", () => {
    const s = schemaOf(`syntax = "proto3"; import "google/type/money.proto"; import "google/type/dayofweek.proto";
      import "google/type/date.proto";
      message M { google.type.Money price = 1; google.type.DayOfWeek day = 2; google.type.Date on = 3; }`);
    const v = {
      price: { currencyCode: "EUR", units: "12", nanos: 500000000 },
      day: "FRIDAY",
      on: { year: 2024, month: 2, day: 29 },
    };
    assert.deepEqual(decode(s, encode(s, v)), v);
  });

  test("types of references (imports) resolve, with the referenced file's syntax", () => {
    const s = schemaOf(
      `syntax = "proto3"; package app; import "common/money.proto"; message Order { common.Amount total = 1; }`,
      {
        "common/money.proto":
          `syntax = "proto2"; package common; message Amount { optional int64 cents = 1 [default = 5]; }`,
      },
    );
    assert.deepEqual(encode(s, { total: { cents: 0 } }), [10, 2, 8, 0]);
    assert.deepEqual(decode(s, [10, 0]), { total: { cents: "5" } });
  });

  test("decodeProtobuf() reports truncated data and bad lengths without throwing", () => {
    const s = schemaOf(`syntax = "proto3"; message M { string s = 1; M m = 2; }`);
    for (const bytes of [[10, 5, 0x61], [0x12, 4, 10, 9, 0x61, 0x62], [0], [0x0f]]) {
      const r = decodeProtobuf(s, new Uint8Array(bytes));
      assert.ok(!r.ok, JSON.stringify(bytes));
    }
  });

  test("encodeProtobuf() names the path of the value that does not match", () => {
    const s = schemaOf(
      `syntax = "proto3"; message M { repeated Sub subs = 1; message Sub { map<string, int32> m = 1; } }`,
    );
    assert.equal(
      encodeError(s, { subs: [{ m: {} }, { m: { k: "x" } }] }),
      '$.subs[1].m.k: expected int32, got string "x"',
    );
    assert.equal(encodeError(s, []), "$: expected message M (an object), got an array");
  });
});
