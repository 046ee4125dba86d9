import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseProtobuf } from "../../../../src/http/schema_registry/protobuf.ts";
import { PROTOBUF_COMPATIBLE, protobufDifferences } from "../../../../src/http/schema_registry/protobuf_compat.ts";

function parsed(text: string, refs: Record<string, string> = {}) {
  const r = parseProtobuf(text, { references: Object.keys(refs), lookup: (n) => refs[n] });
  assert.ok(r.ok, r.ok ? "" : r.message);
  return r.value;
}

function error(text: string): string {
  const r = parseProtobuf(text);
  assert.ok(!r.ok, "should not parse");
  return r.message;
}

const SOURCE = `// an order
syntax = "proto3";
package acme.shop;

import "google/protobuf/timestamp.proto";
option java_package = "com.acme.shop";
option optimize_for = SPEED;

enum Status { NEW = 0; PAID = 2; CANCELLED = 1 [deprecated = true]; }

message Order {
  reserved 9, 12 to 15, 100 to max;
  reserved "legacy";
  int64 id = 2 [json_name = "orderId", deprecated = true];
  google.protobuf.Timestamp at = 1;
  map<string, Line> lines = 3;
  Status status = 4;
  oneof payment { string card = 6; string iban = 5; }
  message Line { string sku = 1; uint32 qty = 2 [default = 1]; }
}
`;

describe("parseProtobuf() canonical text", () => {
  test("parseProtobuf() prints Confluent's layout: messages before enums, special options last, comments dropped", () => {
    assert.equal(
      parsed(SOURCE).canonical,
      `syntax = "proto3";
package acme.shop;

import "google/protobuf/timestamp.proto";

option java_package = "com.acme.shop";
option optimize_for = SPEED;

message Order {
  reserved 9, 12 to 15, 100 to max;
  reserved "legacy";

  int64 id = 2 [
    deprecated = true,
    json_name = "orderId"
  ];
  google.protobuf.Timestamp at = 1;
  map<string, Line> lines = 3;
  Status status = 4;

  oneof payment {
    string card = 6;
    string iban = 5;
  }

  message Line {
    string sku = 1;
    uint32 qty = 2 [default = 1];
  }
}
enum Status {
  NEW = 0;
  PAID = 2;
  CANCELLED = 1 [deprecated = true];
}
`,
    );
  });

  test("parseProtobuf() names the schema after its first message, package included", () => {
    assert.equal(parsed(SOURCE).name, "acme.shop.Order");
  });
});

describe("parseProtobuf() normalized text", () => {
  test("normalization sorts by number, qualifies type names and splits reserved ranges", () => {
    assert.equal(
      parsed(SOURCE).normalized,
      `syntax = "proto3";
package acme.shop;

import "google/protobuf/timestamp.proto";

option java_package = "com.acme.shop";
option optimize_for = SPEED;

message Order {
  reserved 9;
  reserved 12 to 15;
  reserved 100 to max;
  reserved "legacy";

  .google.protobuf.Timestamp at = 1;
  int64 id = 2 [
    deprecated = true,
    json_name = "orderId"
  ];
  map<string, .acme.shop.Order.Line> lines = 3;
  .acme.shop.Status status = 4;

  oneof payment {
    string iban = 5;
    string card = 6;
  }

  message Line {
    string sku = 1;
    uint32 qty = 2 [default = 1];
  }
}
enum Status {
  NEW = 0;
  CANCELLED = 1 [deprecated = true];
  PAID = 2;
}
`,
    );
  });

  test("normalization drops a proto2 syntax line, sorts imports and re-spells numbers", () => {
    const s = parsed(
      'syntax = "proto2";\nimport "b.proto";\nimport "a.proto";\nmessage M { optional int32 x = 1 [default = 0x10]; }\n',
      { "a.proto": 'syntax = "proto2";', "b.proto": 'syntax = "proto2";' },
    );
    assert.equal(
      s.normalized,
      '\nimport "a.proto";\nimport "b.proto";\n\nmessage M {\n  optional int32 x = 1 [default = 16];\n}\n',
    );
    assert.match(s.canonical, /^syntax = "proto2";\n\nimport "b.proto";\nimport "a.proto";/);
  });

  test("two layouts of one schema share the normalized text", () => {
    const a = parsed('syntax = "proto3"; message M { string b = 2; int32 a = 1; }');
    const b = parsed('syntax = "proto3";\n// same\nmessage M {\n  int32 a = 1;\n  string b = 2;\n}\n');
    assert.notEqual(a.canonical, b.canonical);
    assert.equal(a.normalized, b.normalized);
  });
});

/** protobufjs's FileDescriptorProto of DESCRIPTOR_SOURCE (relative type names, map entry "Lines"). */
const DESCRIPTOR_BASE64 =
  "Cg9hY21lX3Nob3AucHJvdG8SCWFjbWUuc2hvcCKWAgoFT3JkZXISFwoCaWQYAiABKANCAhgBUgdvcmRlcklkEhIKAmF0GAEgASgOMgZTdGF0dXMSFAoFbGluZXMYAyADKAsyBUxpbmVzEhYKBnN0YXR1cxgEIAEoDjIGU3RhdHVzEhMKBG5vdGUYByABKAlCAEgAiAEBEg4KBGNhcmQYBiABKAlIARIOCgRpYmFuGAUgASgJSAEaMwoFTGluZXMSCwoDa2V5GAEgASgJEhkKBXZhbHVlGAIgASgLMgpPcmRlci5MaW5lOgI4ARogCgRMaW5lEgsKA3NrdRgBIAEoCRILCgNxdHkYAiABKA1CBwoFX25vdGVCCQoHcGF5bWVudEoECAkQCkoECAwQEFIGbGVnYWN5Ki4KBlN0YXR1cxIHCgNORVcQABIICgRQQUlEEAISEQoJQ0FOQ0VMTEVEEAEaAggBMjAKAVMSKwoDR2V0EhAuYWNtZS5zaG9wLk9yZGVyGhAuYWNtZS5zaG9wLk9yZGVyMAFCEQoNY29tLmFjbWUuc2hvcEgBYgZwcm90bzM=";
const DESCRIPTOR_SOURCE = `syntax = "proto3";
package acme.shop;
option java_package = "com.acme.shop";
option optimize_for = SPEED;
enum Status { NEW = 0; PAID = 2; CANCELLED = 1 [deprecated = true]; }
message Order {
  reserved 9, 12 to 15;
  reserved "legacy";
  int64 id = 2 [json_name = "orderId", deprecated = true];
  Status at = 1;
  map<string, Line> lines = 3;
  Status status = 4;
  optional string note = 7;
  oneof payment { string card = 6; string iban = 5; }
  message Line { string sku = 1; uint32 qty = 2; }
}
service S { rpc Get (Order) returns (stream Order); }
`;

describe("parseProtobuf() with a base64 FileDescriptorProto", () => {
  test("parseProtobuf() falls back to a base64 descriptor, keeping its map entry and proto3 optional", () => {
    const s = parsed(DESCRIPTOR_BASE64);
    assert.match(s.canonical, /^syntax = "proto3";\npackage acme\.shop;\n/);
    assert.match(s.canonical, / {2}repeated Lines lines = 3;\n/);
    assert.match(s.canonical, / {2}message Lines {\n {4}option map_entry = true;\n {2}\n {4}string key = 1;\n/);
    assert.match(s.canonical, / {2}optional string note = 7;\n/);
    assert.match(s.canonical, / {2}rpc Get \(\.acme\.shop\.Order\) returns \(stream \.acme\.shop\.Order\);\n/);
  });

  test("a descriptor and its .proto text share the normalized text (map entries become map<K, V>)", () => {
    assert.equal(parsed(DESCRIPTOR_BASE64).normalized, parsed(DESCRIPTOR_SOURCE).normalized);
  });

  test("a descriptor and its .proto text are compatible both ways", () => {
    const a = parsed(DESCRIPTOR_BASE64);
    const b = parsed(DESCRIPTOR_SOURCE);
    for (const [x, y] of [[a, b], [b, a]] as const) {
      assert.deepEqual(protobufDifferences(x, y).filter((d) => !PROTOBUF_COMPATIBLE.has(d.type)), []);
    }
  });

  test("parseProtobuf() reports the text syntax error when the input is no descriptor either", () => {
    assert.match(error("bWVzc2FnZQ=="), /^Syntax error at line 1/);
  });
});

describe("parseProtobuf() errors and references", () => {
  test("parseProtobuf() reports syntax errors with their position", () => {
    assert.equal(
      error('syntax = "proto3";\nmessage M {\n  int32 a = 1\n}'),
      "Syntax error at line 4, column 1: expected ';'",
    );
    assert.equal(error('syntax = "proto4";'), "Syntax error at line 1, column 18: unexpected syntax: proto4");
    assert.match(error("message M { int32 a = 0; }"), /field number out of range: 0/);
    assert.match(
      error('syntax = "proto3"; message M { required int32 a = 1; }'),
      /required fields are not allowed in proto3/,
    );
  });

  test("parseProtobuf() rejects unresolvable types and reused field numbers", () => {
    assert.equal(error('syntax = "proto3"; message M { Missing m = 1; }'), "Could not resolve type: Missing");
    assert.equal(
      error('syntax = "proto3"; message M { int32 a = 1; oneof o { string b = 1; } }'),
      'Field number 1 has already been used in "M" by field "a"',
    );
  });

  test("parseProtobuf() resolves well-known imports without references and others by import path", () => {
    parsed('syntax = "proto3"; import "google/type/money.proto"; message M { google.type.Money m = 1; }');
    parsed(
      'syntax = "proto3"; import "confluent/meta.proto"; message M { int32 a = 1 [(confluent.field_meta).doc = "x"]; }',
    );
    const withRef = parsed('syntax = "proto3"; import "geo/a.proto"; message M { geo.Address a = 1; }', {
      "geo/a.proto": 'syntax = "proto3"; package geo; message Address { string s = 1; }',
    });
    assert.equal(withRef.types.types.get("geo.Address")?.file, "geo/a.proto");
    assert.equal(
      error('syntax = "proto3"; import "geo/a.proto"; message M { geo.Address a = 1; }'),
      "Could not resolve type: geo.Address",
    );
  });

  test("protobufDifferences() matches fields by number across oneofs", () => {
    const a = parsed('syntax = "proto3"; message M { int32 a = 1; string b = 2; }');
    const b = parsed('syntax = "proto3"; message M { oneof o { int64 a = 1; } bytes b = 2; }');
    assert.deepEqual(protobufDifferences(a, b), [
      { type: "ONEOF_ADDED", path: "#/M/o" },
    ]);
  });
});
