import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseAvro } from "../../../../src/http/schema_registry/avro.ts";
import { avroReaderWriterIncompatibilities } from "../../../../src/http/schema_registry/avro_compat.ts";

function parsed(text: string, lookup?: Record<string, string>) {
  const r = parseAvro(text, lookup ? { references: Object.keys(lookup), lookup: (n) => lookup[n] } : {});
  assert.ok(r.ok, r.ok ? "" : r.message);
  return r.value;
}

function error(text: string): string {
  const r = parseAvro(text);
  assert.ok(!r.ok, "should not parse");
  return r.message;
}

describe("parseAvro() canonical text", () => {
  test("parseAvro() prints Avro's Schema.toString: compact, fixed attribute order, custom properties kept", () => {
    const s = parsed(
      `{"fields":[{"doc":"id","type":"long","name":"id","default":0,"x-prop":1}], "namespace":"com.acme",
        "name":"User","type":"record","doc":"a user","owner":"team-a"}`,
    );
    assert.equal(
      s.canonical,
      '{"type":"record","name":"User","namespace":"com.acme","doc":"a user","fields":[{"name":"id","type":"long",' +
        '"doc":"id","default":0,"x-prop":1}],"owner":"team-a"}',
    );
    assert.equal(s.name, "com.acme.User");
  });

  test("parseAvro() writes a nested type's namespace only when it differs, and later uses as names", () => {
    const s = parsed(JSON.stringify({
      type: "record",
      name: "com.acme.Order",
      fields: [
        { name: "a", type: { type: "record", name: "Line", fields: [] } },
        { name: "b", type: { type: "record", name: "org.other.Tag", fields: [] } },
        { name: "c", type: "Line" },
        { name: "d", type: "org.other.Tag" },
        { name: "e", type: { type: "enum", name: "E", namespace: "", symbols: ["X"] } },
      ],
    }));
    assert.equal(
      s.canonical,
      '{"type":"record","name":"Order","namespace":"com.acme","fields":[' +
        '{"name":"a","type":{"type":"record","name":"Line","fields":[]}},' +
        '{"name":"b","type":{"type":"record","name":"Tag","namespace":"org.other","fields":[]}},' +
        '{"name":"c","type":"Line"},{"name":"d","type":"org.other.Tag"},' +
        '{"name":"e","type":{"type":"enum","name":"E","namespace":"","symbols":["X"]}}]}',
    );
  });

  test("parseAvro() keeps numbers as Jackson prints them (1.0 stays 1.0, textual float defaults become doubles)", () => {
    const s = parsed(
      '{"type":"record","name":"R","fields":[{"name":"a","type":"double","default":1.0},' +
        '{"name":"b","type":"float","default":"2"},{"name":"c","type":"long","default":9007199254740993}]}',
    );
    assert.equal(
      s.canonical,
      '{"type":"record","name":"R","fields":[{"name":"a","type":"double","default":1.0},' +
        '{"name":"b","type":"float","default":2.0},{"name":"c","type":"long","default":9007199254740993}]}',
    );
  });

  test("parseAvro() writes referenced types as names and resolves them", () => {
    const address = '{"type":"record","name":"Address","namespace":"com.acme","fields":[{"name":"s","type":"string"}]}';
    const s = parsed(
      '{"type":"record","name":"User","namespace":"com.acme","fields":[{"name":"home","type":"Address"}]}',
      { "com.acme.Address": address },
    );
    assert.equal(
      s.canonical,
      '{"type":"record","name":"User","namespace":"com.acme","fields":[{"name":"home","type":"Address"}]}',
    );
    assert.equal(s.root.type === "record" && s.root.fields[0]!.type.type, "record");
  });

  test("parseAvro() reads primitive names and objects alike", () => {
    assert.equal(parsed('"string"').canonical, '"string"');
    assert.equal(parsed('{"type":"string"}').canonical, '"string"');
    assert.equal(parsed('{"type":"string","logicalType":"uuid"}').canonical, '{"type":"string","logicalType":"uuid"}');
    assert.equal(
      parsed('["null",{"type":"array","items":"int"}]').canonical,
      '["null",{"type":"array","items":"int"}]',
    );
  });
});

describe("parseAvro() normalized text", () => {
  test("normalization sorts properties and aliases, with the logical type's properties first", () => {
    const s = parsed(JSON.stringify({
      type: "record",
      name: "R",
      namespace: "a",
      z: 1,
      b: 2,
      aliases: ["Z", "B"],
      fields: [{
        name: "amount",
        type: { type: "bytes", scale: 2, zz: true, precision: 9, logicalType: "decimal", aa: "x" },
        aliases: ["y", "x"],
        p2: 1,
        p1: 2,
      }],
    }));
    assert.equal(
      s.normalized,
      '{"type":"record","name":"R","namespace":"a","fields":[{"name":"amount","type":{"type":"bytes",' +
        '"logicalType":"decimal","precision":9,"scale":2,"aa":"x","zz":true},"aliases":["x","y"],"p1":2,"p2":1}],' +
        '"b":2,"z":1,"aliases":["B","Z"]}',
    );
  });

  test("normalization writes error types as records and drops an empty record doc", () => {
    const s = parsed('{"type":"error","name":"Oops","doc":"","fields":[]}');
    assert.equal(s.canonical, '{"type":"error","name":"Oops","doc":"","fields":[]}');
    assert.equal(s.normalized, '{"type":"record","name":"Oops","fields":[]}');
  });

  test("two spellings of one schema share the normalized text", () => {
    const a = parsed('{"type":"record","name":"R","fields":[{"name":"a","type":"int","b":1,"a":2}]}');
    const b = parsed('{"name":"R","fields":[{"a":2,"type":"int","name":"a","b":1}],"type":"record"}');
    assert.notEqual(a.canonical, b.canonical);
    assert.equal(a.normalized, b.normalized);
  });
});

describe("parseAvro() errors", () => {
  test("parseAvro() rejects invalid JSON, names and types with Avro's messages", () => {
    assert.match(error('{"type":'), /^Invalid JSON/);
    assert.equal(error('{"type":"record","name":"1R","fields":[]}'), "Illegal initial character: 1R");
    assert.equal(error('{"type":"record","name":"R-x","fields":[]}'), "Illegal character in: R-x");
    assert.match(error('{"type":"recordz","name":"R"}'), /^A schema "type" MUST be/);
    assert.match(error('{"type":"record","name":"R"}'), /^Record has no fields/);
    assert.match(error('{"type":"enum","name":"E"}'), /^Enum has no symbols/);
    assert.equal(error('{"type":"enum","name":"E","symbols":["A","A"]}'), "Duplicate enum symbol: A");
    assert.match(error('{"type":"enum","name":"E","symbols":["A"],"default":"B"}'), /^The Enum Default: B/);
    assert.match(error('{"type":"fixed","name":"F"}'), /^Invalid or no size/);
    assert.equal(error('["int","int"]'), "Duplicate in union:int");
    assert.match(error('["int",["null"]]'), /^Nested union/);
    assert.match(
      error('{"type":"record","name":"R","fields":[{"name":"a","type":"int"},{"name":"a","type":"int"}]}'),
      /^Duplicate field a/,
    );
  });

  test("parseAvro() rejects an undefined name unless the lookup supplies it", () => {
    const text = '{"type":"record","name":"R","fields":[{"name":"a","type":"com.acme.Missing"}]}';
    assert.match(error(text), /"com\.acme\.Missing" is not a defined name/);
    const r = parseAvro(text, {
      lookup: (
        n,
      ) => (n === "com.acme.Missing" ? '{"type":"enum","name":"com.acme.Missing","symbols":["A"]}' : undefined),
    });
    assert.ok(r.ok);
  });

  test("parseAvro() validates defaults: wrong type rejected, a union default may match any branch (Avro ≥ 1.10)", () => {
    assert.equal(
      error('{"type":"record","name":"R","fields":[{"name":"a","type":"int","default":"x"}]}'),
      'Invalid default for field a: "x" not a "int"',
    );
    assert.match(
      error('{"type":"record","name":"R","fields":[{"name":"a","type":"int","default":2147483648}]}'),
      /Invalid default/,
    );
    assert.match(
      error('{"type":"record","name":"R","fields":[{"name":"a","type":"int","default":1.5}]}'),
      /Invalid default/,
    );
    parsed('{"type":"record","name":"R","fields":[{"name":"a","type":["null","string"],"default":"x"}]}');
    parsed('{"type":"record","name":"R","fields":[{"name":"a","type":"double","default":"NaN"}]}');
  });

  test("parseAvro() accepts recursive types and forward references within the document", () => {
    parsed('{"type":"record","name":"Node","fields":[{"name":"next","type":["null","Node"]}]}');
    parsed(
      '{"type":"record","name":"A","fields":[{"name":"b","type":["null","B"]},' +
        '{"name":"bb","type":{"type":"record","name":"B","fields":[]}}]}',
    );
  });
});

describe("avroReaderWriterIncompatibilities()", () => {
  test("avroReaderWriterIncompatibilities() reports Avro's types and JSON-pointer locations", () => {
    const reader = parsed(
      '{"type":"record","name":"R","fields":[{"name":"a","type":"int"},{"name":"b","type":"string"}]}',
    ).root;
    const writer = parsed('{"type":"record","name":"R","fields":[{"name":"a","type":"long"}]}').root;
    assert.deepEqual(avroReaderWriterIncompatibilities(reader, writer), [
      {
        type: "TYPE_MISMATCH",
        location: "/fields/0/type",
        message: "reader type: INT not compatible with writer type: LONG",
      },
      { type: "READER_FIELD_MISSING_DEFAULT_VALUE", location: "/fields/1", message: "b" },
    ]);
  });
});
