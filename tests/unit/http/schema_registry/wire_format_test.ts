import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { decodeWireFormat, encodeWireFormat } from "../../../../src/http/schema_registry/wire_format.ts";

const bytes = (...b: number[]) => new Uint8Array(b);

describe("encodeWireFormat()", () => {
  test("encodeWireFormat() writes the magic byte, the big-endian id and the payload", () => {
    assert.deepEqual(encodeWireFormat(258, bytes(7, 8)), bytes(0, 0, 0, 1, 2, 7, 8));
  });

  test("encodeWireFormat() puts Protobuf message indexes before the payload", () => {
    assert.deepEqual(encodeWireFormat(1, bytes(9), { messageIndexes: [0] }), bytes(0, 0, 0, 0, 1, 0, 9));
    assert.deepEqual(encodeWireFormat(1, bytes(9), { messageIndexes: [1] }), bytes(0, 0, 0, 0, 1, 2, 2, 9));
  });
});

describe("decodeWireFormat()", () => {
  test("decodeWireFormat() reads the id and returns the payload as a view", () => {
    const input = bytes(0, 0x7f, 0xff, 0xff, 0xff, 1, 2);
    const r = decodeWireFormat(input);
    assert.ok(r.ok);
    assert.equal(r.value.schemaId, 0x7fffffff);
    assert.deepEqual(r.value.payload, bytes(1, 2));
    assert.equal(r.value.payload.buffer, input.buffer);
  });

  test("decodeWireFormat() decodes Protobuf message indexes when asked", () => {
    const r = decodeWireFormat(encodeWireFormat(5, bytes(1), { messageIndexes: [0, 2] }), { protobuf: true });
    assert.ok(r.ok);
    assert.deepEqual(r.value.messageIndexes, [0, 2]);
    assert.deepEqual(r.value.payload, bytes(1));
  });

  test("decodeWireFormat() refuses a short frame or another magic byte", () => {
    const short = decodeWireFormat(bytes(0, 0, 0));
    assert.ok(!short.ok);
    assert.match(short.message, /3 bytes, need at least 5/);
    const magic = decodeWireFormat(bytes(1, 0, 0, 0, 1));
    assert.ok(!magic.ok);
    assert.match(magic.message, /unknown magic byte 1/);
  });
});
