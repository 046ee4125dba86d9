import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  ASSIGNORS,
  cooperativeStickyAssignor,
  decodeAssignmentPartitions,
  decodeSubscription,
  encodeAssignment,
  encodeSubscription,
  type GroupSubscriber,
  rangeAssignor,
  rebalanceProtocol,
  roundRobinAssignor,
  type Subscription,
  subscriptionGeneration,
  type TopicPartition,
} from "../../../src/client/assignors.ts";
import { decodeAssignment } from "../../../src/client/groups.ts";
import { encodeConsumerProtocolAssignment } from "../../../src/protocol/generated/data_consumer_protocol_assignment.ts";
import { Writer } from "../../../src/protocol/writer.ts";

/** "t1-0" style names, for readable expectations. */
function names(list: readonly TopicPartition[]): string[] {
  return list.map((tp) => `${tp.topic}-${tp.partition}`);
}

function tps(...specs: string[]): TopicPartition[] {
  return specs.map((s) => {
    const i = s.lastIndexOf("-");
    return { topic: s.slice(0, i), partition: Number(s.slice(i + 1)) };
  });
}

function member(
  memberId: string,
  topics: string[],
  options: { instance?: string; owned?: TopicPartition[]; generation?: number; userData?: Uint8Array } = {},
): GroupSubscriber {
  return {
    memberId,
    groupInstanceId: options.instance ?? null,
    subscription: {
      topics,
      userData: options.userData ?? null,
      ownedPartitions: options.owned ?? [],
      generationId: options.generation ?? -1,
      rackId: null,
    },
  };
}

function assignNames(
  assignor: typeof rangeAssignor,
  topics: Record<string, number>,
  members: GroupSubscriber[],
): Record<string, string[]> {
  const result = assignor.assign(new Map(Object.entries(topics)), members);
  return Object.fromEntries([...result].map(([id, list]) => [id, names(list)]));
}

/** Asserts every partition of `topics` is assigned exactly once. */
function assertComplete(result: Record<string, string[]>, topics: Record<string, number>): void {
  const all = Object.values(result).flat().sort();
  const want = Object.entries(topics).flatMap(([t, n]) => [...Array(n).keys()].map((p) => `${t}-${p}`)).sort();
  assert.deepEqual(all, want);
}

describe("rangeAssignor", () => {
  test("rangeAssignor.assign() gives the first members one extra partition, as Kafka's RangeAssignor", () => {
    assert.deepEqual(
      assignNames(rangeAssignor, { t1: 3 }, [member("consumer2", ["t1"]), member("consumer1", ["t1"])]),
      {
        consumer2: ["t1-2"],
        consumer1: ["t1-0", "t1-1"],
      },
    );
  });

  test("rangeAssignor.assign() ranges each topic separately (two topics, six partitions)", () => {
    assert.deepEqual(
      assignNames(rangeAssignor, { t1: 3, t2: 3 }, [member("c1", ["t1", "t2"]), member("c2", ["t1", "t2"])]),
      { c1: ["t1-0", "t1-1", "t2-0", "t2-1"], c2: ["t1-2", "t2-2"] },
    );
  });

  test("rangeAssignor.assign() ranges a topic only over its subscribers (mixed topics)", () => {
    assert.deepEqual(
      assignNames(rangeAssignor, { t1: 3, t2: 2 }, [
        member("c1", ["t1"]),
        member("c2", ["t1", "t2"]),
        member("c3", ["t1"]),
      ]),
      { c1: ["t1-0"], c2: ["t1-1", "t2-0", "t2-1"], c3: ["t1-2"] },
    );
  });

  test("rangeAssignor.assign() orders static members first, by instance id", () => {
    assert.deepEqual(
      assignNames(rangeAssignor, { t: 5 }, [
        member("a-dynamic", ["t"]),
        member("z-member", ["t"], { instance: "i1" }),
        member("b-member", ["t"], { instance: "i2" }),
      ]),
      { "z-member": ["t-0", "t-1"], "b-member": ["t-2", "t-3"], "a-dynamic": ["t-4"] },
    );
  });

  test("rangeAssignor.assign() leaves extra members empty and skips topics missing from the metadata", () => {
    assert.deepEqual(
      assignNames(rangeAssignor, { t: 2 }, [member("a", ["t", "gone"]), member("b", ["t"]), member("c", ["t"])]),
      { a: ["t-0"], b: ["t-1"], c: [] },
    );
  });
});

describe("roundRobinAssignor", () => {
  test("roundRobinAssignor.assign() deals sorted partitions in turn (two topics, six partitions)", () => {
    assert.deepEqual(
      assignNames(roundRobinAssignor, { t1: 3, t2: 3 }, [member("c1", ["t1", "t2"]), member("c2", ["t1", "t2"])]),
      { c1: ["t1-0", "t1-2", "t2-1"], c2: ["t1-1", "t2-0", "t2-2"] },
    );
  });

  test("roundRobinAssignor.assign() skips members that do not subscribe to a partition's topic", () => {
    assert.deepEqual(
      assignNames(roundRobinAssignor, { t1: 3, t2: 2 }, [
        member("c1", ["t1"]),
        member("c2", ["t1", "t2"]),
        member("c3", ["t1"]),
      ]),
      { c1: ["t1-0"], c2: ["t1-1", "t2-0", "t2-1"], c3: ["t1-2"] },
    );
  });

  test("roundRobinAssignor.assign() puts a static member before dynamic ones whatever their ids", () => {
    assert.deepEqual(
      assignNames(roundRobinAssignor, { t1: 3, t2: 3 }, [
        member("consumer-a", ["t1", "t2"]),
        member("consumer-b", ["t1", "t2"], { instance: "instance1" }),
      ]),
      { "consumer-b": ["t1-0", "t1-2", "t2-1"], "consumer-a": ["t1-1", "t2-0", "t2-2"] },
    );
  });
});

describe("cooperativeStickyAssignor", () => {
  test("cooperativeStickyAssignor.assign() deals a fresh group round-robin by member id", () => {
    assert.deepEqual(
      assignNames(cooperativeStickyAssignor, { t: 6 }, [member("c3", ["t"]), member("c1", ["t"]), member("c2", ["t"])]),
      { c1: ["t-0", "t-3"], c2: ["t-1", "t-4"], c3: ["t-2", "t-5"] },
    );
  });

  test("cooperativeStickyAssignor.assign() withholds moving partitions until their owner revokes them (two phases)", () => {
    const all = tps("t-0", "t-1", "t-2", "t-3", "t-4", "t-5");
    // Phase 1: c1 owns everything; c2 joins. c1 keeps half, c2 gets nothing yet.
    const first = assignNames(cooperativeStickyAssignor, { t: 6 }, [
      member("c1", ["t"], { owned: all, generation: 1 }),
      member("c2", ["t"]),
    ]);
    assert.deepEqual(first, { c1: ["t-0", "t-1", "t-2"], c2: [] });
    // Phase 2: c1 revoked t-3..t-5 and rejoined; now c2 gets them.
    const second = assignNames(cooperativeStickyAssignor, { t: 6 }, [
      member("c1", ["t"], { owned: tps("t-0", "t-1", "t-2"), generation: 2 }),
      member("c2", ["t"], { generation: 2 }),
    ]);
    assert.deepEqual(second, { c1: ["t-0", "t-1", "t-2"], c2: ["t-3", "t-4", "t-5"] });
  });

  test("cooperativeStickyAssignor.assign() keeps every owned partition when a third member joins", () => {
    const owned1 = tps("t-0", "t-2", "t-4", "t-6");
    const owned2 = tps("t-1", "t-3", "t-5", "t-7");
    const result = assignNames(cooperativeStickyAssignor, { t: 9 }, [
      member("c1", ["t"], { owned: owned1, generation: 4 }),
      member("c2", ["t"], { owned: owned2, generation: 4 }),
      member("c3", ["t"]),
    ]);
    // 9 / 3: each ends with 3. c1 and c2 give one each, which c3 gets only next time; t-8 is free.
    assert.deepEqual(result, { c1: ["t-0", "t-2", "t-4"], c2: ["t-1", "t-3", "t-5"], c3: ["t-8"] });
    const next = assignNames(cooperativeStickyAssignor, { t: 9 }, [
      member("c1", ["t"], { owned: tps(...result.c1!), generation: 5 }),
      member("c2", ["t"], { owned: tps(...result.c2!), generation: 5 }),
      member("c3", ["t"], { owned: tps(...result.c3!), generation: 5 }),
    ]);
    assert.deepEqual(next, { c1: ["t-0", "t-2", "t-4"], c2: ["t-1", "t-3", "t-5"], c3: ["t-6", "t-7", "t-8"] });
  });

  test("cooperativeStickyAssignor.assign() hands a departed member's partitions over at once", () => {
    const result = assignNames(cooperativeStickyAssignor, { t: 4 }, [
      member("c1", ["t"], { owned: tps("t-0", "t-2"), generation: 3 }),
    ]);
    assert.deepEqual(result, { c1: ["t-0", "t-1", "t-2", "t-3"] });
  });

  test("cooperativeStickyAssignor.assign() is stable: the same input gives the same output, nothing moves", () => {
    const members = [
      member("a", ["t", "u"], { owned: tps("t-0", "u-1"), generation: 7 }),
      member("b", ["t", "u"], { owned: tps("t-1", "u-0"), generation: 7 }),
    ];
    const result = assignNames(cooperativeStickyAssignor, { t: 2, u: 2 }, members);
    assert.deepEqual(result, { a: ["t-0", "u-1"], b: ["t-1", "u-0"] });
  });

  test("cooperativeStickyAssignor.assign() trusts the newest generation's claim and drops same-generation duplicates", () => {
    const result = assignNames(cooperativeStickyAssignor, { t: 4 }, [
      member("old", ["t"], { owned: tps("t-0", "t-1"), generation: 2 }),
      member("new", ["t"], { owned: tps("t-0"), generation: 3 }),
    ]);
    // "new" keeps t-0; "old" keeps t-1; the rest is free.
    assert.deepEqual(result.new!.includes("t-0"), true);
    assert.deepEqual(result.old!.includes("t-1"), true);
    assertComplete(result, { t: 4 });

    const twice = assignNames(cooperativeStickyAssignor, { t: 2 }, [
      member("x", ["t"], { owned: tps("t-0"), generation: 5 }),
      member("y", ["t"], { owned: tps("t-0", "t-1"), generation: 5 }),
    ]);
    // t-0 is claimed by both in one generation: neither keeps it by right, and whoever gets it
    // keeps it only because it claims it (the other must revoke it).
    assert.deepEqual(Object.values(twice).flat().sort(), ["t-0", "t-1"]);
  });

  test("cooperativeStickyAssignor.assign() balances mixed subscriptions and keeps owned partitions", () => {
    const topics = { a: 2, b: 4 };
    const fresh = assignNames(cooperativeStickyAssignor, topics, [
      member("m1", ["a", "b"]),
      member("m2", ["b"]),
      member("m3", ["b"]),
    ]);
    assertComplete(fresh, topics);
    assert.deepEqual(fresh.m1!.length, 2);
    assert.deepEqual(fresh.m2!.length, 2);
    assert.deepEqual(fresh.m3!.length, 2);
    assert.ok(fresh.m1!.includes("a-0") && fresh.m1!.includes("a-1"), JSON.stringify(fresh));
    // m3 leaves: its two partitions are shared out (3 and 3), nobody else's move.
    const after = assignNames(cooperativeStickyAssignor, topics, [
      member("m1", ["a", "b"], { owned: tps(...fresh.m1!), generation: 1 }),
      member("m2", ["b"], { owned: tps(...fresh.m2!), generation: 1 }),
    ]);
    assertComplete(after, topics);
    assert.ok(fresh.m1!.every((p) => after.m1!.includes(p)), JSON.stringify(after));
    assert.ok(fresh.m2!.every((p) => after.m2!.includes(p)), JSON.stringify(after));
    assert.deepEqual([after.m1!.length, after.m2!.length], [3, 3]);
  });

  test("cooperativeStickyAssignor.assign() never gives a partition to a new owner while another member claims it", () => {
    // Random memberships over a few rounds: whatever moves is absent from both sides for one round.
    let seed = 42;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const topics = new Map([["t", 7], ["u", 5]]);
    let owned = new Map<string, TopicPartition[]>();
    let generation = 0;
    for (let round = 0; round < 30; round++) {
      const ids = ["m1", "m2", "m3", "m4", "m5"].filter(() => random() < 0.7);
      if (ids.length === 0) continue;
      const members = ids.map((id) =>
        member(id, random() < 0.8 ? ["t", "u"] : ["t"], { owned: owned.get(id) ?? [], generation })
      );
      const result = cooperativeStickyAssignor.assign(topics, members);
      const claimed = new Map<string, string>();
      for (const m of members) {
        for (const tp of m.subscription.ownedPartitions) claimed.set(names([tp])[0]!, m.memberId);
      }
      const seen = new Set<string>();
      for (const [id, list] of result) {
        for (const p of names(list)) {
          assert.ok(!seen.has(p), `${p} assigned twice in round ${round}`);
          seen.add(p);
          const owner = claimed.get(p);
          assert.ok(owner === undefined || owner === id, `round ${round}: ${p} moved from ${owner} to ${id} at once`);
        }
      }
      generation++;
      owned = new Map(result);
    }
  });

  test("subscriptionGeneration() reads the v2 field, Java's int32 userData, or librdkafka's sticky userData", () => {
    const base: Subscription = { topics: ["t"], userData: null, ownedPartitions: [], generationId: -1, rackId: null };
    assert.equal(subscriptionGeneration({ ...base, generationId: 9 }), 9);
    assert.equal(
      subscriptionGeneration({ ...base, userData: cooperativeStickyAssignor.userData({ generationId: 4 }) }),
      4,
    );
    const w = new Writer();
    w.arrayLength(1);
    w.string("t");
    w.arrayLength(2);
    w.int32(0);
    w.int32(3);
    w.int32(12);
    assert.equal(subscriptionGeneration({ ...base, userData: w.toBytes() }), 12);
    assert.equal(subscriptionGeneration({ ...base, userData: new Uint8Array([1, 2, 3]) }), -1);
    assert.equal(subscriptionGeneration(base), -1);
  });
});

describe("consumer protocol blobs", () => {
  test("encodeSubscription() and decodeSubscription() round-trip at every version", () => {
    const s: Subscription = {
      topics: ["orders", "payments"],
      userData: new Uint8Array([0, 0, 0, 7]),
      ownedPartitions: tps("orders-2", "orders-0", "payments-1"),
      generationId: 7,
      rackId: "rack-a",
    };
    const full = decodeSubscription(encodeSubscription(s));
    assert.deepEqual(full, { ...s, ownedPartitions: tps("orders-0", "orders-2", "payments-1") });
    assert.deepEqual(decodeSubscription(encodeSubscription(s, { version: 0 })), {
      ...s,
      ownedPartitions: [],
      generationId: -1,
      rackId: null,
    });
    assert.deepEqual(decodeSubscription(encodeSubscription(s, { version: 1 })).generationId, -1);
    const bytes = encodeSubscription(s);
    assert.deepEqual([bytes[0], bytes[1]], [0, 3]);
  });

  test("decodeSubscription() reads a newer version's known fields and ignores the rest", () => {
    const bytes = encodeSubscription({
      topics: ["t"],
      userData: null,
      ownedPartitions: tps("t-1"),
      generationId: 3,
      rackId: null,
    });
    const newer = new Uint8Array([...bytes, 0xde, 0xad]);
    newer[1] = 9;
    assert.deepEqual(decodeSubscription(newer).ownedPartitions, tps("t-1"));
  });

  test("encodeAssignment() writes a blob that groups.ts decodeAssignment() and decodeAssignmentPartitions() read", () => {
    const blob = encodeAssignment(tps("b-1", "a-0", "b-0"));
    assert.deepEqual(decodeAssignment(blob), [{ topic: "a", partitions: [0] }, { topic: "b", partitions: [0, 1] }]);
    assert.deepEqual(names(decodeAssignmentPartitions(blob)), ["a-0", "b-0", "b-1"]);
    assert.deepEqual(decodeAssignmentPartitions(new Uint8Array()), []);
    // A v0 blob as an old Java client writes it.
    const w = new Writer();
    w.int16(0);
    encodeConsumerProtocolAssignment(w, 0, { assignedPartitions: [{ topic: "x", partitions: [4] }], userData: null });
    assert.deepEqual(names(decodeAssignmentPartitions(w.toBytes())), ["x-4"]);
    assert.throws(() => decodeAssignmentPartitions(new Uint8Array([0, 3, 0])), RangeError);
  });

  test("rebalanceProtocol() is cooperative only when every assignor supports it, and ASSIGNORS names all three", () => {
    assert.equal(rebalanceProtocol([rangeAssignor, cooperativeStickyAssignor]), "eager");
    assert.equal(rebalanceProtocol([cooperativeStickyAssignor]), "cooperative");
    assert.deepEqual([...ASSIGNORS.keys()], ["range", "roundrobin", "cooperative-sticky"]);
  });
});
