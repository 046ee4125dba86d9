import assert from "node:assert/strict";
import { test } from "node:test";
import { FrameSplitter } from "../../../src/protocol/frames.ts";

function framed(...bodies: number[][]): Uint8Array {
  const out: number[] = [];
  for (const b of bodies) out.push(0, 0, (b.length >> 8) & 0xff, b.length & 0xff, ...b);
  return new Uint8Array(out);
}

test("FrameSplitter.push() returns whole frames split across chunks byte by byte", () => {
  const s = new FrameSplitter(1000);
  const bytes = framed([1, 2, 3], [], [4]);
  const frames: number[][] = [];
  for (const b of bytes) {
    for (const ev of s.push(new Uint8Array([b]))) {
      assert.ok("frame" in ev);
      frames.push([...ev.frame]);
    }
  }
  assert.deepEqual(frames, [[1, 2, 3], [], [4]]);
  assert.equal(s.buffered, 0);
});

test("FrameSplitter.push() returns several frames from one chunk without copying", () => {
  const s = new FrameSplitter(1000);
  const bytes = framed([9, 9], [8]);
  const events = s.push(bytes);
  assert.equal(events.length, 2);
  const first = events[0]!;
  assert.ok("frame" in first && first.frame.buffer === bytes.buffer);
});

test("FrameSplitter.push() refuses a size above the limit before buffering it", () => {
  const s = new FrameSplitter(10);
  const events = s.push(new Uint8Array([0, 0, 0, 11]));
  assert.equal(events.length, 1);
  assert.ok("error" in events[0]!);
});

test("FrameSplitter.push() refuses a negative size", () => {
  const s = new FrameSplitter(10);
  const events = s.push(new Uint8Array([0xff, 0xff, 0xff, 0xff]));
  assert.ok("error" in events[0]!);
});

test("FrameSplitter assembles a frame spanning chunks into the allocator's buffer, with its API key", () => {
  const calls: [number, number][] = [];
  const supplied = new Uint8Array(6);
  const s = new FrameSplitter(1000, {
    allocate(size, apiKey) {
      calls.push([size, apiKey]);
      return supplied;
    },
  });
  // API key 0x8001 (negative as an int16), split after its first byte.
  const bytes = framed([0x80, 0x01, 3, 4, 5, 6]);
  assert.deepEqual(s.push(bytes.subarray(0, 5)), []);
  const events = s.push(bytes.subarray(5));
  assert.equal(events.length, 1);
  const ev = events[0]!;
  assert.ok("frame" in ev);
  assert.equal(ev.frame, supplied);
  assert.deepEqual([...ev.frame], [0x80, 0x01, 3, 4, 5, 6]);
  assert.deepEqual(calls, [[6, -32767]]);
});

test("FrameSplitter does not ask the allocator for a frame inside one chunk, and refuses a wrong-sized buffer", () => {
  let calls = 0;
  const s = new FrameSplitter(1000, {
    allocate() {
      calls++;
      return new Uint8Array(2);
    },
  });
  const events = s.push(framed([0, 0, 7]));
  assert.equal(events.length, 1);
  assert.equal(calls, 0);
  const bytes = framed([0, 0, 1, 2]);
  s.push(bytes.subarray(0, 6));
  assert.throws(() => s.push(bytes.subarray(6)), /allocator returned 2 bytes for a 4-byte frame/);
});

test("FrameSplitter uses a new buffer when the allocator declines", () => {
  const s = new FrameSplitter(1000, { allocate: () => undefined });
  const bytes = framed([0, 0, 1, 2, 3]);
  s.push(bytes.subarray(0, 6));
  const [ev] = s.push(bytes.subarray(6));
  assert.ok(ev && "frame" in ev);
  assert.deepEqual([...ev.frame], [0, 0, 1, 2, 3]);
});
