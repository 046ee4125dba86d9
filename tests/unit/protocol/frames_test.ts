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
