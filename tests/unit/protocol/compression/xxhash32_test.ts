import assert from "node:assert/strict";
import { test } from "node:test";
import { xxhash32 } from "../../../../src/protocol/compression/xxhash32.ts";

const enc = new TextEncoder();

test("xxhash32() matches the reference vectors (python3-xxhash / libxxhash)", () => {
  assert.equal(xxhash32(new Uint8Array(0)), 0x02cc5d05);
  assert.equal(xxhash32(enc.encode("abc")), 0x32d153ff);
  assert.equal(xxhash32(enc.encode("Nobody inspects the spammish repetition")), 0xe2293b2f);
  const bytes = new Uint8Array(768).map((_, i) => i & 0xff);
  assert.equal(xxhash32(bytes, 0, bytes.length, 0x9e3779b1), 0xaed9c9a4);
});

test("xxhash32() hashes a range the same as a copy of it", () => {
  const bytes = enc.encode("0123456789abcdefghijklmnopqrstuvwxyz0123456789");
  for (const [start, end] of [[0, 0], [3, 4], [5, 21], [1, 37], [0, bytes.length]] as const) {
    assert.equal(xxhash32(bytes, start, end), xxhash32(bytes.slice(start, end)));
  }
});
