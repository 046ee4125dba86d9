import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  decodeMessageIndexes,
  encodeMessageIndexes,
  messageIndexesOf,
  messageNameAt,
} from "../../../../src/http/schema_registry/message_indexes.ts";
import { parseProtobuf } from "../../../../src/http/schema_registry/protobuf.ts";

const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join(" ");

describe("encodeMessageIndexes()", () => {
  test("encodeMessageIndexes() writes [0] as one byte and other paths as zig-zag varints", () => {
    assert.equal(hex(encodeMessageIndexes([0])), "00");
    assert.equal(hex(encodeMessageIndexes([1])), "02 02");
    assert.equal(hex(encodeMessageIndexes([0, 2])), "04 00 04");
    assert.equal(hex(encodeMessageIndexes([64])), "02 80 01");
  });
});

describe("decodeMessageIndexes()", () => {
  test("decodeMessageIndexes() reads what encodeMessageIndexes() writes, at an offset", () => {
    for (const path of [[0], [1], [0, 2], [3, 1, 4, 1, 5], [1000]]) {
      const bytes = new Uint8Array([9, 9, ...encodeMessageIndexes(path), 7]);
      const r = decodeMessageIndexes(bytes, { offset: 2 });
      assert.ok(r.ok);
      assert.deepEqual(r.value.indexes, path);
      assert.equal(r.value.bytesRead, bytes.length - 3);
    }
  });

  test("decodeMessageIndexes() reads confluent-kafka-python 1.7's unsigned paths when asked", () => {
    const r = decodeMessageIndexes(new Uint8Array([0x02, 0x00, 0x02]), { signed: false });
    assert.ok(r.ok);
    assert.deepEqual(r.value.indexes, [0, 2]);
  });

  test("decodeMessageIndexes() refuses truncated or impossible paths", () => {
    assert.equal(decodeMessageIndexes(new Uint8Array([])).ok, false);
    assert.equal(decodeMessageIndexes(new Uint8Array([0x80])).ok, false);
    assert.equal(decodeMessageIndexes(new Uint8Array([0x04, 0x00])).ok, false);
    assert.equal(decodeMessageIndexes(new Uint8Array([0x01])).ok, false);
  });
});

describe("messageNameAt() and messageIndexesOf()", () => {
  const r = parseProtobuf(`syntax = "proto3";
package acme;
message A { message X { int32 x = 1; } enum E { Z = 0; } message Y { int32 y = 1; } }
enum Top { T = 0; }
message B { int32 b = 1; }
`);
  assert.ok(r.ok);
  const schema = r.value;

  test("messageNameAt() counts messages only, in declaration order", () => {
    assert.equal(messageNameAt(schema, [0]), "acme.A");
    assert.equal(messageNameAt(schema, []), "acme.A");
    assert.equal(messageNameAt(schema, [1]), "acme.B");
    assert.equal(messageNameAt(schema, [0, 1]), "acme.A.Y");
    assert.equal(messageNameAt(schema, [2]), undefined);
  });

  test("messageIndexesOf() finds the path of a name, with or without the package", () => {
    assert.deepEqual(messageIndexesOf(schema, "acme.A.Y"), [0, 1]);
    assert.deepEqual(messageIndexesOf(schema, "B"), [1]);
    assert.equal(messageIndexesOf(schema, "acme.Top"), undefined);
  });
});
