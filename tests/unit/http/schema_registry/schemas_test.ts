import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  checkCompatibility,
  compatibilityLevelOf,
  parseSchema,
  RegistryErrorCode,
  schemaTypeOf,
} from "../../../../src/http/schema_registry/mod.ts";
import type { ParsedSchema, SchemaType } from "../../../../src/http/schema_registry/mod.ts";

function parsed(type: SchemaType, text: string): ParsedSchema {
  const r = parseSchema(type, text);
  assert.ok(r.ok, r.ok ? "" : r.message);
  return r.value;
}

const record = (fields: string) => `{"type":"record","name":"R","fields":[${fields}]}`;

describe("parseSchema()", () => {
  test("parseSchema() dispatches on the schema type and returns the canonical text", () => {
    assert.equal(parsed("AVRO", ' { "type" : "string" } ').canonical, '"string"');
    assert.equal(parsed("JSON", '{ "type": "string" }').canonical, '{"type":"string"}');
    assert.equal(parsed("PROTOBUF", 'syntax = "proto3";message M{}').canonical, 'syntax = "proto3";\n\nmessage M {}\n');
  });

  test("parseSchema() answers Confluent's 42201 with the reason for a bad schema", () => {
    const r = parseSchema("AVRO", '{"type":"record","name":"R"}');
    assert.ok(!r.ok);
    assert.equal(r.code, RegistryErrorCode.INVALID_SCHEMA);
    assert.equal(r.code, 42201);
    assert.match(r.message, /^Record has no fields/);
  });

  test("parseSchema() reports a declared reference the lookup does not know", () => {
    const r = parseSchema("AVRO", '"string"', { references: ["com.acme.Gone"], lookup: () => undefined });
    assert.ok(!r.ok);
    assert.equal(r.message, 'Reference "com.acme.Gone" not found');
  });
});

describe("schemaTypeOf() and compatibilityLevelOf()", () => {
  test("schemaTypeOf() defaults to AVRO and is case-insensitive", () => {
    assert.equal(schemaTypeOf(undefined), "AVRO");
    assert.equal(schemaTypeOf(null), "AVRO");
    assert.equal(schemaTypeOf("protobuf"), "PROTOBUF");
    assert.equal(schemaTypeOf("XML"), undefined);
  });

  test("compatibilityLevelOf() is case-insensitive and rejects unknown levels", () => {
    assert.equal(compatibilityLevelOf("full_transitive"), "FULL_TRANSITIVE");
    assert.equal(compatibilityLevelOf("SOMETIMES"), undefined);
  });
});

describe("checkCompatibility()", () => {
  const v1 = parsed("AVRO", record('{"name":"a","type":"int"}'));
  const v2 = parsed("AVRO", record('{"name":"a","type":"int"},{"name":"b","type":"int","default":0}'));
  const bad = parsed("AVRO", record('{"name":"a","type":"string"}'));

  test("checkCompatibility() accepts anything against an empty history", () => {
    assert.deepEqual(checkCompatibility(bad, [], { level: "FULL_TRANSITIVE" }), { compatible: true, messages: [] });
  });

  test("checkCompatibility() quotes the failing version, the old schema and the level, in Confluent's order", () => {
    const r = checkCompatibility(bad, [{ schema: v1, version: 1 }, { schema: v2, version: 2 }], {
      level: "BACKWARD_TRANSITIVE",
    });
    assert.equal(r.compatible, false);
    assert.deepEqual(r.messages.slice(1), [
      "{oldSchemaVersion: 2}",
      `{oldSchema: '${v2.canonical}'}`,
      "{validateFields: 'false', compatibility: 'BACKWARD_TRANSITIVE'}",
    ]);
    assert.match(
      r.messages[0]!,
      /^\{errorType:'TYPE_MISMATCH', description:'The type \(path '\/fields\/0\/type'\) of a field in the new schema does not match with the old schema'/,
    );
  });

  test("checkCompatibility() under FULL lists the old-reader problems first, then the new-reader ones", () => {
    const r = checkCompatibility(parsed("AVRO", record('{"name":"a","type":"long"}')), [v1], { level: "FULL" });
    assert.equal(r.compatible, false);
    assert.match(r.messages[0]!, /in the old schema does not match with the new schema/);
    assert.equal(r.messages.length, 2);
  });

  test("checkCompatibility() truncates a quoted old schema beyond 10 KiB", () => {
    const fields = Array.from({ length: 400 }, (_, i) => `{"name":"field_number_${i}","type":"int"}`).join(",");
    const big = parsed("AVRO", record(fields));
    const r = checkCompatibility(bad, [big], { level: "BACKWARD" });
    const quoted = r.messages.find((m) => m.startsWith("{oldSchema:"))!;
    assert.match(quoted, /^\{oldSchema: <truncated> '/);
    assert.ok(quoted.length < 10 * 1024 + 40);
  });

  test("checkCompatibility() at NONE accepts even another schema type", () => {
    const json = parsed("JSON", '{"type":"string"}');
    assert.equal(checkCompatibility(json, [v1], { level: "NONE" }).compatible, true);
    assert.deepEqual(checkCompatibility(json, [v1], { level: "BACKWARD" }).messages, [
      "Incompatible because of different schema type",
      "{validateFields: 'false', compatibility: 'BACKWARD'}",
    ]);
  });
});
