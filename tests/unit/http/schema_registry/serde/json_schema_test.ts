import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type JsonSchemaNode, parseJsonSchema } from "../../../../../src/http/schema_registry/json_schema.ts";
import {
  decodeJsonSchema,
  encodeJsonSchema,
  validateJsonSchema,
} from "../../../../../src/http/schema_registry/serde/json_schema.ts";
import { stringifyJsonValue } from "../../../../../src/http/schema_registry/serde/json_value.ts";

function schemaOf(json: unknown, references: Record<string, unknown> = {}): JsonSchemaNode {
  const r = parseJsonSchema(typeof json === "string" ? json : JSON.stringify(json), {
    references: Object.keys(references),
    lookup: (name) => (name in references ? JSON.stringify(references[name]) : undefined),
  });
  if (!r.ok) throw new Error(r.message);
  return r.value.root;
}

function valid(schema: JsonSchemaNode, value: unknown): void {
  const r = validateJsonSchema(schema, value);
  assert.ok(r.ok, r.ok ? "" : `${stringifyJsonValue(value)}: ${r.message}`);
}

function invalid(schema: JsonSchemaNode, value: unknown): string {
  const r = validateJsonSchema(schema, value);
  assert.ok(!r.ok, `${stringifyJsonValue(value)} should not validate`);
  return r.message;
}

describe("validateJsonSchema()", () => {
  test("validateJsonSchema() checks type, and an integral number is an integer", () => {
    const s = schemaOf({
      type: "object",
      properties: {
        n: { type: "integer" },
        x: { type: "number" },
        s: { type: "string" },
        b: { type: "boolean" },
        z: { type: "null" },
        a: { type: "array" },
        o: { type: "object" },
        either: { type: ["string", "null"] },
      },
    });
    valid(s, { n: 1, x: 1.5, s: "", b: false, z: null, a: [], o: {}, either: null });
    valid(s, { n: 2.0, x: 3, either: "x" });
    valid(s, { n: 9007199254740993n });
    assert.equal(invalid(s, { n: 1.5 }), "#/n: expected type: Integer, found: BigDecimal");
    assert.equal(invalid(s, { s: 5 }), "#/s: expected type: String, found: Integer");
    assert.equal(invalid(s, { o: [] }), "#/o: expected type: JSONObject, found: JSONArray");
    assert.equal(invalid(s, []), "#: expected type: JSONObject, found: JSONArray");
    assert.match(invalid(s, { either: 1 }), /^#\/either: no subschema matched out of the total 2 subschemas/);
  });

  test("keywords without a type constrain only values of their kind", () => {
    const s = schemaOf({ minLength: 2, minimum: 5, properties: { a: { type: "string" } } });
    valid(s, "ab");
    valid(s, 7);
    valid(s, true);
    valid(s, { a: "x" });
    assert.equal(invalid(s, "a"), "#: expected minLength: 2, actual: 1");
    assert.equal(invalid(s, 4), "#: 4 is not greater or equal to 5");
    assert.equal(invalid(s, { a: 1 }), "#/a: expected type: String, found: Integer");
  });

  test("validateJsonSchema() checks required, additionalProperties and patternProperties", () => {
    const s = schemaOf({
      type: "object",
      properties: { id: { type: "integer" } },
      patternProperties: { "^x-": { type: "string" } },
      required: ["id"],
      additionalProperties: false,
    });
    valid(s, { id: 1, "x-a": "y" });
    assert.equal(invalid(s, {}), "#: required key [id] not found");
    assert.equal(invalid(s, { id: 1, other: 2 }), "#: extraneous key [other] is not permitted");
    assert.equal(invalid(s, { id: 1, "x-a": 2 }), "#/x-a: expected type: String, found: Integer");
    const typed = schemaOf({ type: "object", additionalProperties: { type: "number" } });
    valid(typed, { a: 1 });
    assert.equal(invalid(typed, { a: "1" }), "#/a: expected type: Number, found: String");
  });

  test("validateJsonSchema() checks strings: lengths in code points, pattern and format", () => {
    const s = schemaOf({ type: "string", minLength: 2, maxLength: 3, pattern: "^[a-z😀]+$" });
    valid(s, "ab");
    valid(s, "😀😀"); // two code points, four UTF-16 units
    assert.equal(invalid(s, "abcd"), "#: expected maxLength: 3, actual: 4");
    assert.equal(invalid(s, "AB"), "#: string [AB] does not match pattern ^[a-z😀]+$");
    const formats = schemaOf({
      type: "object",
      properties: {
        when: { type: "string", format: "date-time" },
        day: { type: "string", format: "date" },
        mail: { type: "string", format: "email" },
        ip: { type: "string", format: "ipv4" },
        ip6: { type: "string", format: "ipv6" },
        id: { type: "string", format: "uuid" },
        other: { type: "string", format: "unknown-format" },
      },
    });
    valid(formats, {
      when: "2024-01-02T03:04:05.123Z",
      day: "2024-02-29",
      mail: "a@b.example",
      ip: "10.0.0.1",
      ip6: "::1",
      id: "123e4567-e89b-12d3-a456-426614174000",
      other: "anything",
    });
    assert.equal(invalid(formats, { when: "yesterday" }), "#/when: [yesterday] is not a valid date-time");
    assert.equal(invalid(formats, { ip: "300.0.0.1" }), "#/ip: [300.0.0.1] is not a valid ipv4");
    assert.equal(invalid(formats, { day: "2023-02-30" }), "#/day: [2023-02-30] is not a valid date");
  });

  test("validateJsonSchema() checks numbers: bounds, exclusive bounds in both drafts, multipleOf", () => {
    const s = schemaOf({ type: "number", minimum: 0, exclusiveMaximum: 10, multipleOf: 0.5 });
    valid(s, 0);
    valid(s, 9.5);
    assert.equal(invalid(s, -1), "#: -1 is not greater or equal to 0");
    assert.equal(invalid(s, 10), "#: 10 is not less than 10");
    assert.equal(invalid(s, 0.3), "#: 0.3 is not a multiple of 0.5");
    const draft4 = schemaOf({
      $schema: "http://json-schema.org/draft-04/schema#",
      type: "integer",
      minimum: 1,
      exclusiveMinimum: true,
    });
    assert.equal(invalid(draft4, 1), "#: 1 is not greater than 1");
    valid(draft4, 2);
    const big = schemaOf('{"type": "integer", "maximum": 9007199254740993}');
    valid(big, 9007199254740993n);
    assert.equal(invalid(big, 9007199254740994n), "#: 9007199254740994 is not less or equal to 9007199254740993");
    valid(schemaOf({ multipleOf: 0.1 }), 0.3);
  });

  test("validateJsonSchema() checks arrays: items, tuples, additionalItems, counts, uniqueness, contains", () => {
    const list = schemaOf({ type: "array", items: { type: "integer" }, minItems: 1, maxItems: 3, uniqueItems: true });
    valid(list, [1, 2]);
    assert.equal(invalid(list, []), "#: expected minimum item count: 1, found: 0");
    assert.equal(invalid(list, [1, 2, 3, 4]), "#: expected maximum item count: 3, found: 4");
    assert.equal(invalid(list, [1, "2"]), "#/1: expected type: Integer, found: String");
    assert.equal(invalid(list, [1, 1]), "#: array items are not unique");
    const tuple = schemaOf({ type: "array", items: [{ type: "string" }, { type: "integer" }], additionalItems: false });
    valid(tuple, ["a", 1]);
    valid(tuple, ["a"]);
    assert.equal(invalid(tuple, ["a", 1, 2]), "#: expected: [2] array items, found: [3]");
    const prefix = schemaOf({
      $schema: "https://json-schema.org/draft/2020-12/schema",
      prefixItems: [{ type: "string" }],
      items: { type: "boolean" },
    });
    valid(prefix, ["a", true, false]);
    assert.equal(invalid(prefix, ["a", 1]), "#/1: expected type: Boolean, found: Integer");
    const contains = schemaOf({ type: "array", contains: { const: "x" }, maxContains: 1 });
    valid(contains, ["a", "x"]);
    assert.match(invalid(contains, ["a"]), /at least 1 array item/);
    assert.match(invalid(contains, ["x", "x"]), /at most 1 array item/);
  });

  test("validateJsonSchema() checks enum and const by JSON value", () => {
    const s = schemaOf({ enum: ["a", 1, null, { k: [1] }] });
    valid(s, "a");
    valid(s, 1.0);
    valid(s, null);
    valid(s, { k: [1] });
    assert.equal(invalid(s, "b"), '#: "b" is not a valid enum value');
    assert.equal(invalid(s, { k: [2] }), '#: {"k":[2]} is not a valid enum value');
    const c = schemaOf({ const: { a: 1 } });
    valid(c, { a: 1 });
    assert.equal(invalid(c, { a: 2 }), '#: {"a":2} does not match the const {"a":1}');
  });

  test("validateJsonSchema() checks allOf, anyOf, oneOf and not", () => {
    const all = schemaOf({ allOf: [{ type: "integer" }, { minimum: 3 }] });
    valid(all, 3);
    assert.equal(invalid(all, 2), "#: 2 is not greater or equal to 3");
    const one = schemaOf({ oneOf: [{ type: "integer" }, { type: "number", minimum: 10 }] });
    valid(one, 5);
    valid(one, 10.5);
    assert.equal(invalid(one, 11), "#: 2 subschemas matched instead of one");
    assert.match(
      invalid(one, "x"),
      /^#: no subschema matched out of the total 2 subschemas \(#: expected type: Integer/,
    );
    const not = schemaOf({ not: { type: "string" } });
    valid(not, 1);
    assert.equal(invalid(not, "s"), '#: subject must not be valid against the "not" schema');
  });

  test("validateJsonSchema() applies if/then/else", () => {
    const s = schemaOf({
      type: "object",
      if: { properties: { kind: { const: "card" } } },
      then: { required: ["number"] },
      else: { required: ["iban"] },
    });
    valid(s, { kind: "card", number: "4111" });
    valid(s, { kind: "wire", iban: "DE00" });
    assert.equal(invalid(s, { kind: "card" }), "#: required key [number] not found");
    assert.equal(invalid(s, { kind: "wire" }), "#: required key [iban] not found");
  });

  test("validateJsonSchema() checks dependencies and property names", () => {
    const s = schemaOf({
      type: "object",
      dependencies: { card: ["billing"], vip: { required: ["level"] } },
      propertyNames: { pattern: "^[a-z]+$" },
    });
    valid(s, { card: 1, billing: 2 });
    assert.equal(invalid(s, { card: 1 }), "#: property [billing] is required");
    assert.equal(invalid(s, { vip: true }), "#: required key [level] not found");
    assert.equal(invalid(s, { Bad: 1 }), "#: property name [Bad] is not valid");
  });

  test("validateJsonSchema() follows $ref inside the document, recursively, and to references", () => {
    const tree = schemaOf({
      $defs: {
        node: {
          type: "object",
          properties: { v: { type: "integer" }, kids: { type: "array", items: { $ref: "#/$defs/node" } } },
        },
      },
      $ref: "#/$defs/node",
    });
    valid(tree, { v: 1, kids: [{ v: 2, kids: [] }] });
    assert.equal(invalid(tree, { v: 1, kids: [{ v: "x" }] }), "#/kids/0/v: expected type: Integer, found: String");
    const withRef = schemaOf(
      { type: "object", properties: { address: { $ref: "address.json" } } },
      { "address.json": { type: "object", properties: { city: { type: "string" } }, required: ["city"] } },
    );
    valid(withRef, { address: { city: "Oslo" } });
    assert.equal(invalid(withRef, { address: {} }), "#/address: required key [city] not found");
  });

  test("validateJsonSchema() reports several violations with their count", () => {
    const s = schemaOf({ type: "object", properties: { a: { type: "string" }, b: { type: "string" } } });
    assert.equal(
      invalid(s, { a: 1, b: 2 }),
      "#: 2 schema violations found: #/a: expected type: String, found: Integer; #/b: expected type: String, found: Integer",
    );
  });

  test("validateJsonSchema() gives true and false schemas their meaning", () => {
    valid(schemaOf(true), { anything: 1 });
    assert.match(invalid(schemaOf({ type: "object", properties: { no: false } }), { no: 1 }), /^#\/no: false schema/);
  });

  test("a schema that refers to itself without consuming the value fails instead of looping", () => {
    const s = schemaOf({ $ref: "#" });
    assert.match(invalid(s, 1), /nests deeper than/);
  });
});

describe("encodeJsonSchema() and decodeJsonSchema()", () => {
  test("encodeJsonSchema() validates then writes compact UTF-8 JSON; decodeJsonSchema() reads it back", () => {
    const s = schemaOf({ type: "object", properties: { id: { type: "integer" }, name: { type: "string" } } });
    const enc = encodeJsonSchema(s, { id: 9007199254740993n, name: "é" });
    assert.ok(enc.ok);
    assert.equal(new TextDecoder().decode(enc.value), '{"id":9007199254740993,"name":"é"}');
    assert.deepEqual(decodeJsonSchema(enc.value), { ok: true, value: { id: 9007199254740993n, name: "é" } });
    assert.deepEqual(encodeJsonSchema(s, { id: "x" }), {
      ok: false,
      message: "#/id: expected type: Integer, found: String",
    });
  });

  test("decodeJsonSchema() refuses bytes that are not UTF-8 JSON", () => {
    assert.deepEqual(decodeJsonSchema(new Uint8Array([0xff])), { ok: false, message: "The payload is not UTF-8" });
    const r = decodeJsonSchema(new TextEncoder().encode("{"));
    assert.ok(!r.ok);
    assert.match(r.message, /^The payload is not JSON/);
  });
});
