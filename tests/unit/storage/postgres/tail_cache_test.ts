/** Tests for src/storage/postgres/tail_cache.ts: a byte budget across partitions, reads as PostgreSQL answers them. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { TailCache } from "../../../../src/storage/postgres/tail_cache.ts";

/** A fake batch of `size` bytes whose first byte names its base offset. */
const batch = (base: number, size = 100) => new Uint8Array(size).fill(base % 256);

describe("tail cache", () => {
  test("reads whole batches from the one holding the offset, within maxBytes and before upTo", () => {
    const cache = new TailCache(10_000);
    const log = cache.log();
    for (let base = 0; base < 50; base += 5) log.add(base, base + 4, batch(base));
    assert.equal(log.firstOffset, 0);
    const firsts = (r: Uint8Array | null) => {
      const out: number[] = [];
      for (let at = 0; r !== null && at < r.length; at += 100) out.push(r[at]!);
      return out;
    };
    assert.deepEqual(firsts(log.read(7, 50, 250, false)), [5, 10]);
    assert.deepEqual(firsts(log.read(10, 50, 50, true)), [10]); // the first batch whole
    assert.deepEqual(firsts(log.read(10, 50, 50, false)), []);
    assert.deepEqual(firsts(log.read(40, 45, 10_000, false)), [40]); // nothing at or past upTo
    assert.equal(log.read(50, 60, 1000, true), null); // past what is cached
  });

  test("the budget holds across partitions, the oldest batches going first; a read below the cache misses", () => {
    const cache = new TailCache(1000);
    const a = cache.log();
    const b = cache.log();
    for (let i = 0; i < 30; i++) {
      a.add(i, i, batch(i));
      b.add(i, i, batch(i));
      assert.ok(cache.bytes <= 1000, `${cache.bytes}`);
    }
    assert.equal(cache.bytes, 1000);
    assert.equal(a.firstOffset, 25);
    assert.equal(b.firstOffset, 25);
    assert.equal(a.read(3, 30, 1000, true), null);
    assert.equal(a.read(25, 30, 1000, true)!.length, 500);
    // A batch larger than the whole budget is not cached, and what the log held goes.
    a.add(30, 30, batch(30, 2000));
    assert.equal(a.firstOffset, null);
    assert.equal(cache.bytes, 500);
  });

  test("a batch that does not follow the newest empties the log, so cached batches stay contiguous", () => {
    const cache = new TailCache(10_000);
    const log = cache.log();
    log.add(0, 4, batch(0));
    log.add(5, 9, batch(5));
    log.add(20, 24, batch(20));
    assert.equal(log.firstOffset, 20);
    assert.equal(cache.bytes, 100);
    assert.equal(log.read(5, 25, 1000, true), null);
  });

  test("clear() gives the bytes back; cleared entries never count again, however many come and go", () => {
    const cache = new TailCache(1_000_000);
    const logs = [cache.log(), cache.log()];
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 100; i++) logs[round % 2]!.add(round * 1000 + i, round * 1000 + i, batch(i, 10));
      logs[round % 2]!.clear();
      assert.equal(cache.bytes, 0);
    }
    // The cache still evicts in order after all that.
    const small = new TailCache(100);
    const l = small.log();
    for (let i = 0; i < 5000; i++) l.add(i, i, batch(i, 10));
    assert.equal(small.bytes, 100);
    assert.equal(l.firstOffset, 4990);
    // Bytes are copied: the caller may reuse its buffer.
    const buf = batch(7);
    const c = new TailCache(1000).log();
    c.add(0, 0, buf);
    buf.fill(0);
    assert.equal(c.read(0, 1, 1000, true)![0], 7);
  });

  test("a read is a copy: batches overwritten in the ring later do not change what a fetch is sending", () => {
    const cache = new TailCache(300);
    const log = cache.log();
    log.add(0, 0, batch(1));
    const read = log.read(0, 1, 1000, true)!;
    for (let i = 1; i < 10; i++) log.add(i, i, batch(100 + i));
    assert.deepEqual([...new Set(read)], [1]);
    assert.equal(log.firstOffset, 7);
    assert.deepEqual([...log.read(9, 10, 1000, true)!.slice(0, 1)], [109]);
  });

  test("batches of mixed sizes wrap around the ring; the live ones always read back intact", () => {
    const cache = new TailCache(10_000);
    const logs = [cache.log(), cache.log(), cache.log()];
    const next = [0, 0, 0];
    let seed = 7;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    for (let i = 0; i < 3000; i++) {
      const p = Math.floor(rand() * 3);
      const size = 1 + Math.floor(rand() * 1500);
      logs[p]!.add(next[p]!, next[p]!, new Uint8Array(size).fill(next[p]! % 251));
      next[p]!++;
      assert.ok(cache.bytes <= 10_000);
      for (const [q, log] of logs.entries()) {
        const first = log.firstOffset;
        if (first === null) continue;
        for (let o = first; o < next[q]!; o++) {
          const r = log.read(o, o + 1, 1, true)!;
          assert.ok(r.length > 0 && r.every((b) => b === o % 251), `partition ${q} offset ${o}`);
        }
      }
    }
  });

  test("a budget of 0 caches nothing", () => {
    const cache = new TailCache(0);
    const log = cache.log();
    log.add(0, 0, batch(0));
    assert.equal(log.firstOffset, null);
    assert.equal(cache.bytes, 0);
  });
});
