import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseJsonSchema } from "../../../../src/http/schema_registry/json_schema.ts";
import { jsonSchemaDifferences } from "../../../../src/http/schema_registry/json_schema_compat.ts";

function parsed(text: string, refs?: Record<string, string>) {
  const r = parseJsonSchema(text, refs ? { references: Object.keys(refs), lookup: (n) => refs[n] } : {});
  assert.ok(r.ok, r.ok ? "" : r.message);
  return r.value;
}

function error(text: string, refs?: Record<string, string>): string {
  const r = parseJsonSchema(text, refs ? { lookup: (n) => refs[n] } : {});
  assert.ok(!r.ok, "should not parse");
  return r.message;
}

describe("parseJsonSchema() canonical and normalized texts", () => {
  test("parseJsonSchema() keeps key order (integer-like keys too) and prints compactly", () => {
    const s = parsed('{ "type": "object", "properties": { "b": {"type": "string"}, "10": {}, "a": {} } }');
    assert.equal(s.canonical, '{"type":"object","properties":{"b":{"type":"string"},"10":{},"a":{}}}');
  });

  test("parseJsonSchema() prints numbers as exact decimals, as Jackson's BigDecimal does", () => {
    const s = parsed('{"type":"number","maximum":1.0,"minimum":1e2,"multipleOf":0.010,"default":-0}');
    assert.equal(s.canonical, '{"type":"number","maximum":1.0,"minimum":1E+2,"multipleOf":0.010,"default":0}');
  });

  test("normalization sorts the keys of every object, arrays keep their order", () => {
    const s = parsed('{"type":"object","required":["b","a"],"properties":{"b":{"type":"string","title":"B"},"a":{}}}');
    assert.equal(
      s.normalized,
      '{"properties":{"a":{},"b":{"title":"B","type":"string"}},"required":["b","a"],"type":"object"}',
    );
  });

  test("parseJsonSchema() accepts boolean schemas and takes the root title as the name", () => {
    assert.equal(parsed("true").canonical, "true");
    assert.equal(parsed('{"title":"Order","type":"object"}').name, "Order");
  });
});

describe("parseJsonSchema() errors", () => {
  test("parseJsonSchema() rejects what everit rejects, naming the location", () => {
    assert.match(error("{"), /^Invalid JSON/);
    assert.equal(error("5"), "#: expected type: JSONObject or Boolean, found: Integer");
    assert.equal(error('{"type":"text"}'), "#: unknown type: [text]");
    assert.equal(
      error('{"properties":{"a":5}}'),
      "#/properties/a: expected type: JSONObject or Boolean, found: Integer",
    );
    assert.equal(error('{"type":"string","maxLength":"5"}'), "#/maxLength: expected type: Integer, found: String");
    assert.match(error('{"type":"string","pattern":"("}'), /invalid regular expression/);
    assert.match(error('{"type":"number","multipleOf":0}'), /multipleOf should not be 0/);
  });

  test("parseJsonSchema() rejects a $ref it cannot resolve", () => {
    assert.equal(
      error('{"$ref":"#/definitions/missing"}'),
      "Could not resolve $ref '#/definitions/missing': no such location",
    );
    assert.equal(error('{"$ref":"other.json"}'), "Could not resolve $ref 'other.json'");
  });
});

describe("parseJsonSchema() references", () => {
  test("parseJsonSchema() resolves $ref to a reference by name, with a JSON pointer fragment", () => {
    const refs = { "defs.json": '{"definitions":{"Zip":{"type":"string","maxLength":5}}}' };
    const v1 = parsed('{"type":"object","properties":{"zip":{"$ref":"defs.json#/definitions/Zip"}}}', refs);
    const v2 = parsed('{"type":"object","properties":{"zip":{"type":"string","maxLength":9}}}');
    assert.deepEqual(jsonSchemaDifferences(v1.root, v2.root), [
      { type: "MAX_LENGTH_INCREASED", path: "#/properties/zip/maxLength" },
    ]);
  });

  test("parseJsonSchema() resolves a relative $ref against the root $id", () => {
    parsed('{"$id":"https://acme.example/schemas/order.json","properties":{"a":{"$ref":"address.json"}}}', {
      "https://acme.example/schemas/address.json": '{"type":"object"}',
    });
  });

  test("parseJsonSchema() compares recursive schemas without looping", () => {
    const a = parsed('{"type":"object","properties":{"v":{"type":"string"},"next":{"$ref":"#"}}}');
    const b = parsed('{"type":"object","properties":{"v":{"type":"integer"},"next":{"$ref":"#"}}}');
    // The cycle is first assumed compatible, then re-run with the pair known incompatible (Confluent's fixpoint).
    assert.deepEqual(jsonSchemaDifferences(a.root, b.root), [
      { type: "TYPE_CHANGED", path: "#/properties/v" },
      { type: "TYPE_CHANGED", path: "#/properties/next/properties/v" },
    ]);
  });
});
