import assert from "node:assert/strict";
import { test } from "node:test";
import { FramePool, MAX_POOLED_BYTES, MIN_POOLED_BYTES } from "../../../src/server/frame_pool.ts";

test("FramePool lends power-of-two blocks for sizes in its range and nothing outside it", () => {
  const pool = new FramePool();
  assert.equal(pool.take(MIN_POOLED_BYTES - 1), undefined);
  assert.equal(pool.take(MAX_POOLED_BYTES + 1), undefined);
  const a = pool.take(1_000_000)!;
  assert.equal(a.length, 1_000_000);
  assert.equal(a.buffer.byteLength, 1 << 20);
  assert.equal(pool.take(MIN_POOLED_BYTES)!.buffer.byteLength, MIN_POOLED_BYTES);
  assert.equal(pool.take(MAX_POOLED_BYTES)!.buffer.byteLength, MAX_POOLED_BYTES);
});

test("FramePool reuses a returned block for the next frame of its size class, never one still lent", () => {
  const pool = new FramePool();
  const a = pool.take(600_000)!;
  const b = pool.take(700_000)!;
  assert.notEqual(a.buffer, b.buffer, "two lent frames never share a block");
  pool.give(a);
  assert.equal(pool.idleBytes, 1 << 20);
  const c = pool.take(900_000)!;
  assert.equal(c.buffer, a.buffer);
  assert.equal(c.length, 900_000);
  assert.equal(pool.idleBytes, 0);
  const d = pool.take(900_000)!;
  assert.notEqual(d.buffer, b.buffer);
  assert.notEqual(d.buffer, c.buffer);
});

test("FramePool ignores foreign buffers and second returns, and keeps at most maxIdleBytes", () => {
  const pool = new FramePool({ maxIdleBytes: 2 << 20 });
  pool.give(new Uint8Array(1 << 20));
  assert.equal(pool.idleBytes, 0);
  const lent = [pool.take(1 << 20)!, pool.take(1 << 20)!, pool.take(1 << 20)!];
  pool.give(lent[0]!);
  pool.give(lent[0]!);
  assert.equal(pool.idleBytes, 1 << 20, "a second return is ignored");
  pool.give(lent[1]!);
  pool.give(lent[2]!);
  assert.equal(pool.idleBytes, 2 << 20, "the third block is left to the garbage collector");
  const again = [pool.take(1 << 20)!, pool.take(1 << 20)!, pool.take(1 << 20)!];
  assert.deepEqual(again.map((f) => lent.some((l) => l.buffer === f.buffer)), [true, true, false]);
});
