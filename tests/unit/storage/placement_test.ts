/** Tests for src/storage/placement.ts: Kafka's group-to-shard mapping and rendezvous placement. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { coordinatorShard, javaStringHash, partitionKey, rendezvousLeader } from "../../../src/storage/placement.ts";

describe("placement", () => {
  test("javaStringHash is Java's String.hashCode (UTF-16 units, int32 overflow)", () => {
    assert.equal(javaStringHash(""), 0);
    assert.equal(javaStringHash("hello"), 99162322);
    assert.equal(javaStringHash("Aa"), javaStringHash("BB"));
    // "polygenelubricants".hashCode() is Integer.MIN_VALUE in Java.
    assert.equal(javaStringHash("polygenelubricants"), -0x80000000);
    assert.equal(javaStringHash("é😀"), ((233 * 31 + 0xd83d) * 31 + 0xde00) | 0);
  });

  test("coordinatorShard is Kafka's Utils.abs(hashCode) % count, MIN_VALUE mapping to 0", () => {
    assert.equal(coordinatorShard("hello", 50), 99162322 % 50);
    assert.equal(coordinatorShard("polygenelubricants", 50), 0);
    for (const id of ["g", "billing", "consumer-group-42", ""]) {
      const s = coordinatorShard(id, 50);
      assert.ok(s >= 0 && s < 50);
    }
  });

  test("rendezvous hashing spreads partitions evenly and moves only what a joining or leaving node takes", () => {
    const keys = Array.from({ length: 3000 }, (_, i) => partitionKey(`topic${i % 30}`, i));
    const three = keys.map((k) => rendezvousLeader(k, [1, 2, 3]));
    for (const n of [1, 2, 3]) {
      const share = three.filter((l) => l === n).length / keys.length;
      assert.ok(share > 0.28 && share < 0.39, `node ${n} leads ${share}`);
    }
    // Node 4 joins: every move goes to node 4, and it takes about a quarter.
    const four = keys.map((k) => rendezvousLeader(k, [1, 2, 3, 4]));
    const moved = keys.filter((_, i) => three[i] !== four[i]).length;
    assert.ok(keys.every((_, i) => three[i] === four[i] || four[i] === 4));
    assert.ok(moved / keys.length > 0.2 && moved / keys.length < 0.3, `moved ${moved}`);
    // Node 2 leaves: only what it led moves.
    const without2 = keys.map((k) => rendezvousLeader(k, [1, 3]));
    assert.ok(keys.every((_, i) => three[i] === 2 || three[i] === without2[i]));
    assert.equal(rendezvousLeader("x", []), -1);
    // Order of the node list does not matter.
    assert.deepEqual(keys.map((k) => rendezvousLeader(k, [3, 1, 2])), three);
  });
});
