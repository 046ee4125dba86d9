/**
 * The serializers against real implementations: Avro bytes checked with avsc (Avro's JSON encoding
 * through `Type#fromString`/`toString`, which is the encoding Confluent's REST Proxy speaks), and
 * protobuf bytes checked with protobufjs, in both directions. avsc and protobufjs are used here
 * only (they come with @kafkajs/confluent-schema-registry, a devDependency).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import avro from "avsc";
import protobuf from "protobufjs";
import { parseAvro } from "../../../../../src/http/schema_registry/avro.ts";
import { parseProtobuf } from "../../../../../src/http/schema_registry/protobuf.ts";
import { decodeAvro, encodeAvro } from "../../../../../src/http/schema_registry/serde/avro.ts";
import { decodeProtobuf, encodeProtobuf } from "../../../../../src/http/schema_registry/serde/protobuf.ts";

const AVRO_SCHEMA = {
  type: "record",
  name: "Order",
  namespace: "shop",
  fields: [
    { name: "id", type: "long" },
    { name: "qty", type: "int" },
    { name: "price", type: "double" },
    { name: "ratio", type: "float" },
    { name: "paid", type: "boolean" },
    { name: "nothing", type: "null" },
    { name: "note", type: "string" },
    { name: "blob", type: "bytes" },
    { name: "digest", type: { type: "fixed", name: "Digest", size: 4 } },
    { name: "status", type: { type: "enum", name: "Status", symbols: ["NEW", "PAID", "SHIPPED"] } },
    { name: "tags", type: { type: "array", items: "string" } },
    { name: "attrs", type: { type: "map", values: ["null", "long", "string"] } },
    {
      name: "lines",
      type: {
        type: "array",
        items: {
          type: "record",
          name: "Line",
          fields: [
            { name: "sku", type: "string" },
            { name: "discount", type: ["null", "Digest", "shop.Status", { type: "array", items: "int" }] },
          ],
        },
      },
    },
    { name: "parent", type: ["null", "Order"] },
    { name: "day", type: { type: "int", logicalType: "date" } },
    { name: "at", type: { type: "long", logicalType: "timestamp-millis" } },
    { name: "amount", type: { type: "bytes", logicalType: "decimal", precision: 10, scale: 2 } },
  ],
};

const AVRO_VALUES: unknown[] = [
  {
    id: -1234567890123,
    qty: 3,
    price: 19.99,
    ratio: 0.25,
    paid: true,
    nothing: null,
    note: "naïve ☃ 😀",
    blob: "\u0000\u0001\u00fe\u00ff",
    digest: "abcd",
    status: "PAID",
    tags: ["a", "", "c"],
    attrs: { n: null, l: { long: 42 }, s: { string: "x" } },
    lines: [
      { sku: "A1", discount: null },
      { sku: "B2", discount: { "shop.Digest": "\u0000\u0000\u0000\u0001" } },
      { sku: "C3", discount: { "shop.Status": "NEW" } },
      { sku: "D4", discount: { array: [1, -2, 2147483647] } },
    ],
    parent: {
      "shop.Order": {
        id: 0,
        qty: -2147483648,
        price: -0.5,
        ratio: -3.5,
        paid: false,
        nothing: null,
        note: "",
        blob: "",
        digest: "\u00ff\u00ff\u00ff\u00ff",
        status: "SHIPPED",
        tags: [],
        attrs: {},
        lines: [],
        parent: null,
        day: 0,
        at: 0,
        amount: "\u0000",
      },
    },
    day: 19750,
    at: 1706400000123,
    amount: "\u0004\u00d2",
  },
];

describe("Avro interop with avsc", () => {
  const parsed = parseAvro(JSON.stringify(AVRO_SCHEMA));
  if (!parsed.ok) throw new Error(parsed.message);
  const ours = parsed.value.root;
  const theirs = avro.Type.forSchema(AVRO_SCHEMA as avro.Schema, { wrapUnions: true });

  test("encodeAvro() writes the bytes avsc writes for the same Avro JSON, and avsc reads them back", () => {
    for (const value of AVRO_VALUES) {
      const json = JSON.stringify(value);
      const mine = encodeAvro(ours, value);
      assert.ok(mine.ok, mine.ok ? "" : mine.message);
      const reference = theirs.toBuffer(theirs.fromString(json));
      assert.deepEqual([...mine.value], [...reference]);
      const read = theirs.fromBuffer(Buffer.from(mine.value));
      assert.deepEqual(JSON.parse(theirs.toString(read)), value);
    }
  });

  test("decodeAvro() reads avsc's bytes to the Avro JSON avsc prints", () => {
    for (const value of AVRO_VALUES) {
      const bytes = theirs.toBuffer(theirs.fromString(JSON.stringify(value)));
      const mine = decodeAvro(ours, new Uint8Array(bytes));
      assert.ok(mine.ok, mine.ok ? "" : mine.message);
      assert.deepEqual(mine.value, JSON.parse(theirs.toString(theirs.fromBuffer(bytes))));
      assert.deepEqual(mine.value, value);
    }
  });

  test("longs beyond 2^53 agree with avsc's bigint long type", () => {
    const bigLong = avro.types.LongType.__with({
      fromBuffer: (b: Buffer) => b.readBigInt64LE(),
      toBuffer: (n: bigint) => {
        const b = Buffer.alloc(8);
        b.writeBigInt64LE(n);
        return b;
      },
      fromJSON: (n: number | bigint) => BigInt(n),
      toJSON: (n: bigint) => Number(n),
      isValid: (n: unknown) => typeof n === "bigint",
      compare: (a: bigint, b: bigint) => (a === b ? 0 : a < b ? -1 : 1),
    });
    const schema = { type: "array", items: "long" } as const;
    const type = avro.Type.forSchema(schema, { registry: { long: bigLong } });
    const p = parseAvro(JSON.stringify(schema));
    assert.ok(p.ok);
    const values = [2n ** 63n - 1n, -(2n ** 63n), 9007199254740993n, -9007199254740993n, 1n];
    const mine = encodeAvro(p.value.root, values);
    assert.ok(mine.ok);
    assert.deepEqual([...mine.value], [...type.toBuffer(values)]);
    assert.deepEqual(type.fromBuffer(Buffer.from(mine.value)), values);
    const back = decodeAvro(p.value.root, new Uint8Array(type.toBuffer(values)));
    assert.deepEqual(back, {
      ok: true,
      value: [2n ** 63n - 1n, -(2n ** 63n), 9007199254740993n, -9007199254740993n, 1],
    });
  });
});

const PROTO = `syntax = "proto3";
package shop;

message Order {
  int64 id = 1;
  int32 qty = 2;
  uint32 count = 3;
  uint64 big = 4;
  sint32 delta = 5;
  sint64 bigDelta = 6;
  fixed32 f32 = 7;
  fixed64 f64 = 8;
  sfixed32 sf32 = 9;
  sfixed64 sf64 = 10;
  double price = 11;
  float ratio = 12;
  bool paid = 13;
  string note = 14;
  bytes blob = 15;
  Status status = 16;
  repeated string tags = 17;
  repeated sint64 deltas = 18;
  map<string, Line> lines = 19;
  map<int32, Status> codes = 20;
  Line main = 21;
  repeated Line others = 22;
  oneof payment {
    string card = 23;
    Wire wire = 24;
  }
  message Wire { string iban = 1; }
}

message Line {
  string sku = 1;
  int32 qty = 2;
}

enum Status {
  NEW = 0;
  PAID = 1;
  SHIPPED = 2;
}
`;

/** Confluent's JSON (field order = field numbers, no default values, so both encoders write the same bytes). */
const PROTO_VALUE = {
  id: "-9007199254740993",
  qty: -7,
  count: 4294967295,
  big: "18446744073709551615",
  delta: -3,
  bigDelta: "-9223372036854775808",
  f32: 123456,
  f64: "9007199254740993",
  sf32: -5,
  sf64: "-6",
  price: 19.99,
  ratio: 0.25,
  paid: true,
  note: "naïve ☃ 😀",
  blob: "AAEC/w==",
  status: "SHIPPED",
  tags: ["a", "b"],
  deltas: ["-1", "2", "9007199254740993"],
  lines: { x: { sku: "A", qty: 1 }, y: { sku: "B", qty: 2 } },
  codes: { "-1": "PAID", "7": "SHIPPED" },
  main: { sku: "M", qty: 3 },
  others: [{ sku: "O", qty: 4 }],
  wire: { iban: "DE00" },
};

describe("Protobuf interop with protobufjs", () => {
  const parsed = parseProtobuf(PROTO);
  if (!parsed.ok) throw new Error(parsed.message);
  const ours = parsed.value;
  const Order = protobuf.parse(PROTO).root.lookupType("shop.Order");
  const toObject = (m: protobuf.Message) =>
    Order.toObject(m, { longs: String, enums: String, bytes: String, oneofs: false });

  test("encodeProtobuf() writes the bytes protobufjs writes for the same JSON, and protobufjs reads them back", () => {
    const mine = encodeProtobuf(ours, PROTO_VALUE);
    assert.ok(mine.ok, mine.ok ? "" : mine.message);
    const reference = Order.encode(Order.fromObject(PROTO_VALUE)).finish();
    assert.deepEqual([...mine.value], [...reference]);
    assert.deepEqual(toObject(Order.decode(mine.value)), PROTO_VALUE);
  });

  test("decodeProtobuf() reads protobufjs's bytes to Confluent's JSON, defaults printed", () => {
    const bytes = Order.encode(Order.fromObject(PROTO_VALUE)).finish();
    const mine = decodeProtobuf(ours, bytes);
    assert.ok(mine.ok, mine.ok ? "" : mine.message);
    assert.deepEqual(mine.value, PROTO_VALUE);
    const sparse = Order.encode(Order.fromObject({ card: "4111", main: {} })).finish();
    assert.deepEqual(decodeProtobuf(ours, sparse), {
      ok: true,
      value: {
        id: "0",
        qty: 0,
        count: 0,
        big: "0",
        delta: 0,
        bigDelta: "0",
        f32: 0,
        f64: "0",
        sf32: 0,
        sf64: "0",
        price: 0,
        ratio: 0,
        paid: false,
        note: "",
        blob: "",
        status: "NEW",
        tags: [],
        deltas: [],
        lines: {},
        codes: {},
        main: { sku: "", qty: 0 },
        others: [],
        card: "4111",
      },
    });
  });

  test("well-known types agree with protobufjs's definitions of them", () => {
    const text = `syntax = "proto3";
      import "google/protobuf/timestamp.proto"; import "google/protobuf/struct.proto";
      import "google/protobuf/wrappers.proto"; import "google/protobuf/duration.proto";
      message W { google.protobuf.Timestamp ts = 1; google.protobuf.Struct st = 2; google.protobuf.Int64Value n = 3;
        google.protobuf.Duration d = 4; }`;
    const p = parseProtobuf(text);
    assert.ok(p.ok);
    const root = new protobuf.Root();
    for (const f of ["timestamp", "struct", "wrappers", "duration"]) {
      root.addJSON(protobuf.common.get(`google/protobuf/${f}.proto`)!.nested!);
    }
    protobuf.parse(text, root);
    const W = root.lookupType("W");
    const value = { ts: "2024-01-28T00:00:00.123Z", st: { a: [1, "x", null, { b: true }] }, n: "-5", d: "-1.5s" };
    const mine = encodeProtobuf(p.value, value);
    assert.ok(mine.ok);
    const read = W.toObject(W.decode(mine.value), { longs: String, enums: String });
    assert.deepEqual(read["ts"], { seconds: "1706400000", nanos: 123000000 });
    assert.deepEqual(read["n"], { value: "-5" });
    assert.deepEqual(read["d"], { seconds: "-1", nanos: -500000000 });
    assert.deepEqual(read["st"], {
      fields: {
        a: {
          listValue: {
            values: [
              { numberValue: 1 },
              { stringValue: "x" },
              { nullValue: "NULL_VALUE" },
              { structValue: { fields: { b: { boolValue: true } } } },
            ],
          },
        },
      },
    });
    // Durations print with 0, 3, 6 or 9 fraction digits, as Java's JsonFormat prints them.
    assert.deepEqual(decodeProtobuf(p.value, W.encode(W.decode(mine.value)).finish()), {
      ok: true,
      value: { ...value, d: "-1.500s" },
    });
  });
});
