/**
 * Kafka's default partitioner: murmur2 against the Java client's own test vectors, and the
 * sticky choice for records without a key.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { murmur2, partitionForKey, StickyPartitioner, toPositive } from "../../../src/client/partitioner.ts";

const enc = new TextEncoder();

describe("murmur2()", () => {
  test("murmur2() matches Kafka's UtilsTest.testMurmur2 vectors", () => {
    const cases: [string, number][] = [
      ["21", -973932308],
      ["foobar", -790332482],
      ["a-little-bit-long-string", -985981536],
      ["a-little-bit-longer-string", -1486304829],
      ["lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971],
      ["abc", 479470107],
    ];
    for (const [key, hash] of cases) assert.equal(murmur2(enc.encode(key)), hash, key);
  });

  test("murmur2() matches Java for every tail length (1 to 5 bytes)", () => {
    // Values of Utils.murmur2 on the UTF-8 bytes, as quoted by Akka's Kafka-compatible sharding.
    const cases: [string, number][] = [["1", -1993445489], ["12", 126087238], ["123", -267702483], [
      "1234",
      -1614185708,
    ], ["12345", -1188365604]];
    for (const [key, hash] of cases) assert.equal(murmur2(enc.encode(key)), hash, key);
  });

  test("murmur2() matches the 24- to 27-byte and librdkafka vectors", () => {
    const cases: [string, number][] = [
      ["string-f-24-chars-length", 124730809],
      ["string-fo-25-chars-length", 1269511650],
      ["string-foo-26-chars-length", 119165628],
      ["string-last-27-chars-length", 1089971754],
      ["kafka", 0xd067cf64 | 0],
    ];
    for (const [key, hash] of cases) assert.equal(murmur2(enc.encode(key)), hash, key);
  });

  test("murmur2() treats bytes above 0x7f as unsigned, as Java's (b & 0xff) and librdkafka do", () => {
    // Partitions of a 1000-partition topic agree with kcat -X partitioner=murmur2 for these keys.
    const cases: [string, number, number][] = [
      ["ключ", 2122343024, 24],
      ["日本語キー", 1445825182, 182],
      ["é", 186971271, 271],
    ];
    for (const [key, hash, partition] of cases) {
      assert.equal(murmur2(enc.encode(key)), hash, key);
      assert.equal(partitionForKey(enc.encode(key), 1000), partition, key);
    }
  });

  test("murmur2() of an empty key is defined", () => {
    assert.equal(typeof murmur2(new Uint8Array(0)), "number");
    assert.equal(murmur2(new Uint8Array(0)), murmur2(new Uint8Array(0)));
  });
});

describe("partitionForKey()", () => {
  test("toPositive() clears the sign bit as Utils.toPositive does", () => {
    assert.equal(toPositive(-1), 0x7fffffff);
    assert.equal(toPositive(-2147483648), 0);
    assert.equal(toPositive(42), 42);
  });

  test("partitionForKey() is toPositive(murmur2(key)) % partitions", () => {
    // -790332482 & 0x7fffffff = 1357151166; % 3 = 0, % 7 = 3, % 100 = 66.
    assert.equal(partitionForKey(enc.encode("foobar"), 3), 1357151166 % 3);
    assert.equal(partitionForKey(enc.encode("foobar"), 7), 1357151166 % 7);
    assert.equal(partitionForKey(enc.encode("foobar"), 100), 66);
  });

  test("partitionForKey() spreads keys over every partition", () => {
    const seen = new Set<number>();
    for (let i = 0; i < 1000; i++) seen.add(partitionForKey(enc.encode(`key-${i}`), 8));
    assert.equal(seen.size, 8);
  });
});

describe("StickyPartitioner", () => {
  test("StickyPartitioner.next() stays on one partition for a batch's worth of bytes, then moves on", () => {
    const sticky = new StickyPartitioner({ batchSizeBytes: 100, random: () => 0.5 });
    const picks = Array.from({ length: 12 }, () => sticky.next(30, 4));
    assert.deepEqual(picks, [2, 2, 2, 2, 3, 3, 3, 3, 0, 0, 0, 0]);
  });

  test("StickyPartitioner.next() starts over when the partition count shrinks below its choice", () => {
    const sticky = new StickyPartitioner({ batchSizeBytes: 1000, random: () => 0.9 });
    assert.equal(sticky.next(10, 10), 9);
    assert.equal(sticky.next(10, 2), 1);
  });
});
