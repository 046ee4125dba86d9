/**
 * Server-side assignors (KIP-848): Kafka 4.0's UniformAssignor (homogeneous and heterogeneous
 * builders) and RangeAssignor, checked for validity, balance, stickiness and co-partitioning.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  type AssignorMember,
  type AssignorTopic,
  type GroupAssignment,
  rangeAssignor,
  SERVER_ASSIGNORS,
  type ServerAssignor,
  uniformAssignor,
} from "../../../../src/broker/group/assignors.ts";

function topicsOf(spec: Record<string, number>): Map<string, AssignorTopic> {
  return new Map(Object.entries(spec).map(([id, partitions]) => [id, { topicId: id, name: `name-${id}`, partitions }]));
}

function member(
  memberId: string,
  subscribedTopicIds: string[],
  current: Record<string, number[]> = {},
  instanceId: string | null = null,
): AssignorMember {
  return {
    memberId,
    instanceId,
    rackId: null,
    subscribedTopicIds,
    currentAssignment: new Map(Object.entries(current)),
  };
}

/** Members again, each with its result as the current assignment (the next round's input). */
function carryOver(members: AssignorMember[], result: GroupAssignment): AssignorMember[] {
  return members.map((m) => ({ ...m, currentAssignment: result.get(m.memberId) ?? new Map() }));
}

function count(result: GroupAssignment, memberId: string): number {
  let n = 0;
  for (const partitions of result.get(memberId)?.values() ?? []) n += partitions.length;
  return n;
}

/** Every partition of a subscribed topic goes to exactly one subscriber; nothing else is assigned. */
function assertValid(members: AssignorMember[], topics: Map<string, AssignorTopic>, result: GroupAssignment): void {
  const owner = new Map<string, string>();
  for (const m of members) {
    const byTopic = result.get(m.memberId);
    assert.ok(byTopic, `member ${m.memberId} has an entry`);
    for (const [topicId, partitions] of byTopic) {
      assert.ok(m.subscribedTopicIds.includes(topicId), `${m.memberId} got unsubscribed ${topicId}`);
      assert.deepEqual(partitions, [...partitions].sort((a, b) => a - b), "partitions are sorted");
      for (const p of partitions) {
        const key = `${topicId}-${p}`;
        assert.ok(p >= 0 && p < topics.get(topicId)!.partitions, `${key} exists`);
        assert.equal(owner.get(key), undefined, `${key} assigned twice`);
        owner.set(key, m.memberId);
      }
    }
  }
  const subscribed = new Set(members.flatMap((m) => m.subscribedTopicIds).filter((id) => topics.has(id)));
  for (const topicId of subscribed) {
    for (let p = 0; p < topics.get(topicId)!.partitions; p++) {
      assert.ok(owner.has(`${topicId}-${p}`), `${topicId}-${p} is assigned`);
    }
  }
}

function spread(result: GroupAssignment, memberIds: string[]): number {
  const counts = memberIds.map((id) => count(result, id));
  return Math.max(...counts) - Math.min(...counts);
}

/** Partitions that changed owner between two results. */
function moves(before: GroupAssignment, after: GroupAssignment): number {
  const owners = (r: GroupAssignment) => {
    const m = new Map<string, string>();
    for (const [memberId, byTopic] of r) {
      for (const [t, ps] of byTopic) for (const p of ps) m.set(`${t}-${p}`, memberId);
    }
    return m;
  };
  const a = owners(before);
  let n = 0;
  for (const [key, memberId] of owners(after)) if (a.has(key) && a.get(key) !== memberId) n++;
  return n;
}

describe("uniformAssignor", () => {
  test("uniformAssignor.assign() spreads one topic evenly over identical subscribers", () => {
    const topics = topicsOf({ t: 7 });
    const members = ["a", "b", "c"].map((id) => member(id, ["t"]));
    const result = uniformAssignor.assign(members, topics);
    assertValid(members, topics, result);
    assert.deepEqual(members.map((m) => count(result, m.memberId)).sort(), [2, 2, 3]);
  });

  test("uniformAssignor.assign() keeps every partition where it is when the group is unchanged", () => {
    const topics = topicsOf({ t1: 5, t2: 8 });
    const members = ["a", "b", "c"].map((id) => member(id, ["t1", "t2"]));
    const first = uniformAssignor.assign(members, topics);
    const second = uniformAssignor.assign(carryOver(members, first), topics);
    assert.deepEqual(second, first);
  });

  test("uniformAssignor.assign() moves only what a newcomer needs and lets old members keep the rest", () => {
    const topics = topicsOf({ t: 12 });
    const members = ["a", "b", "c"].map((id) => member(id, ["t"]));
    const before = uniformAssignor.assign(members, topics);
    const grown = [...carryOver(members, before), member("d", ["t"])];
    const after = uniformAssignor.assign(grown, topics);
    assertValid(grown, topics, after);
    assert.equal(spread(after, ["a", "b", "c", "d"]), 0);
    // Each old member gives exactly one partition to d; nothing else moves.
    assert.equal(moves(before, after), 3);
    for (const id of ["a", "b", "c"]) {
      const kept = after.get(id)!.get("t")!.filter((p) => before.get(id)!.get("t")!.includes(p));
      assert.equal(kept.length, 3);
    }
  });

  test("uniformAssignor.assign() lets survivors keep all their partitions when a member leaves", () => {
    const topics = topicsOf({ t: 9 });
    const members = ["a", "b", "c"].map((id) => member(id, ["t"]));
    const before = uniformAssignor.assign(members, topics);
    const survivors = carryOver(members, before).filter((m) => m.memberId !== "b");
    const after = uniformAssignor.assign(survivors, topics);
    assertValid(survivors, topics, after);
    for (const id of ["a", "c"]) {
      for (const p of before.get(id)!.get("t")!) assert.ok(after.get(id)!.get("t")!.includes(p));
    }
    assert.ok(spread(after, ["a", "c"]) <= 1);
  });

  test("uniformAssignor.assign() does not move partitions between members that are already balanced", () => {
    // 3 members, 4 partitions: whoever holds two keeps them, even if it sorts last.
    const topics = topicsOf({ t: 4 });
    const members = [member("a", ["t"], { t: [0] }), member("b", ["t"], { t: [1] }), member("c", ["t"], { t: [2, 3] })];
    const result = uniformAssignor.assign(members, topics);
    assert.deepEqual(result.get("a")!.get("t"), [0]);
    assert.deepEqual(result.get("b")!.get("t"), [1]);
    assert.deepEqual(result.get("c")!.get("t"), [2, 3]);
  });

  test("uniformAssignor.assign() drops a removed topic and spreads an added one", () => {
    const topics = topicsOf({ old: 4, kept: 4 });
    const members = ["a", "b"].map((id) => member(id, ["old", "kept"]));
    const before = uniformAssignor.assign(members, topics);

    const newTopics = topicsOf({ kept: 4, added: 6 });
    const next = carryOver(members, before).map((m) => ({ ...m, subscribedTopicIds: ["kept", "added"] }));
    const after = uniformAssignor.assign(next, newTopics);
    assertValid(next, newTopics, after);
    for (const id of ["a", "b"]) {
      assert.equal(after.get(id)!.has("old"), false);
      assert.deepEqual(after.get(id)!.get("kept"), before.get(id)!.get("kept"));
    }
    assert.equal(spread(after, ["a", "b"]), 0);
  });

  test("uniformAssignor.assign() gives members with different subscriptions only their topics, balanced", () => {
    const topics = topicsOf({ t1: 6, t2: 6, t3: 2 });
    const members = [member("a", ["t1"]), member("b", ["t1", "t2"]), member("c", ["t2", "t3"]), member("d", ["t3"])];
    const result = uniformAssignor.assign(members, topics);
    assertValid(members, topics, result);
    assert.ok(spread(result, ["a", "b", "c"]) <= 1, "members sharing topics are balanced");
    // Stable under re-assignment.
    assert.deepEqual(uniformAssignor.assign(carryOver(members, result), topics), result);
  });

  test("uniformAssignor.assign() keeps a heterogeneous member's partitions when another member joins", () => {
    const topics = topicsOf({ t1: 8, t2: 4 });
    const members = [member("a", ["t1"]), member("b", ["t1", "t2"])];
    const before = uniformAssignor.assign(members, topics);
    assertValid(members, topics, before);
    const grown = [...carryOver(members, before), member("c", ["t1", "t2"])];
    const after = uniformAssignor.assign(grown, topics);
    assertValid(grown, topics, after);
    assert.equal(spread(after, ["a", "b", "c"]), 0);
    assert.ok(moves(before, after) <= 4, `moved ${moves(before, after)} partitions, 4 suffice`);
  });

  test("uniformAssignor.assign() ignores subscriptions to topics missing from the metadata", () => {
    const topics = topicsOf({ t: 2 });
    const members = [member("a", ["t", "missing"]), member("b", ["t"])];
    const result = uniformAssignor.assign(members, topics);
    assert.equal(count(result, "a") + count(result, "b"), 2);
    assert.equal(result.get("a")!.has("missing"), false);
  });

  test("uniformAssignor.assign() leaves some members empty when there are fewer partitions than members", () => {
    const topics = topicsOf({ t: 2 });
    const members = ["a", "b", "c", "d"].map((id) => member(id, ["t"]));
    const result = uniformAssignor.assign(members, topics);
    assertValid(members, topics, result);
    assert.deepEqual(members.map((m) => count(result, m.memberId)).sort(), [0, 0, 1, 1]);
  });

  test("uniformAssignor.assign() handles 100 members and 1000 partitions quickly", () => {
    const topics = topicsOf(Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`t${i}`, 100])));
    const ids = [...topics.keys()];
    const homogeneous = Array.from({ length: 100 }, (_, i) => member(`m${String(i).padStart(3, "0")}`, ids));
    const heterogeneous = homogeneous.map((m, i) => ({
      ...m,
      subscribedTopicIds: ids.filter((_, t) => (t + i) % 3 !== 0),
    }));
    const start = performance.now();
    const a = uniformAssignor.assign(homogeneous, topics);
    const b = uniformAssignor.assign(carryOver(homogeneous, a).slice(1), topics);
    const c = uniformAssignor.assign(heterogeneous, topics);
    const d = uniformAssignor.assign(carryOver(heterogeneous, c).slice(2), topics);
    const elapsedMs = performance.now() - start;
    assertValid(homogeneous, topics, a);
    assertValid(homogeneous.slice(1), topics, b);
    assertValid(heterogeneous, topics, c);
    assertValid(heterogeneous.slice(2), topics, d);
    assert.equal(spread(a, homogeneous.map((m) => m.memberId)), 0);
    assert.ok(spread(b, homogeneous.slice(1).map((m) => m.memberId)) <= 1);
    assert.ok(elapsedMs < 2000, `took ${elapsedMs.toFixed(0)} ms`);
  });
});

describe("rangeAssignor", () => {
  test("rangeAssignor.assign() co-partitions topics with equal partition counts", () => {
    const topics = topicsOf({ t1: 3, t2: 3 });
    const members = [member("m1", ["t1", "t2"]), member("m0", ["t1", "t2"])];
    const result = rangeAssignor.assign(members, topics);
    assertValid(members, topics, result);
    assert.deepEqual(result.get("m0"), new Map([["t1", [0, 1]], ["t2", [0, 1]]]));
    assert.deepEqual(result.get("m1"), new Map([["t1", [2]], ["t2", [2]]]));
  });

  test("rangeAssignor.assign() orders static members by instance id ahead of dynamic members", () => {
    const topics = topicsOf({ t: 6 });
    const members = [member("a", ["t"]), member("z", ["t"], {}, "i2"), member("y", ["t"], {}, "i1")];
    const result = rangeAssignor.assign(members, topics);
    assert.deepEqual(result.get("y")!.get("t"), [0, 1]);
    assert.deepEqual(result.get("z")!.get("t"), [2, 3]);
    assert.deepEqual(result.get("a")!.get("t"), [4, 5]);
  });

  test("rangeAssignor.assign() gives the same ranges while membership and subscriptions do not change", () => {
    const topics = topicsOf({ t1: 7, t2: 4 });
    const members = ["c", "a", "b"].map((id) => member(id, ["t1", "t2"]));
    const first = rangeAssignor.assign(members, topics);
    const again = rangeAssignor.assign(carryOver([...members].reverse(), first), topics);
    assert.deepEqual(again, first);
    assert.deepEqual(first.get("a")!.get("t1"), [0, 1, 2]);
  });

  test("rangeAssignor.assign() assigns each topic over its own subscribers", () => {
    const topics = topicsOf({ t1: 4, t2: 3 });
    const members = [member("a", ["t1"]), member("b", ["t1", "t2"]), member("c", ["t2"])];
    const result = rangeAssignor.assign(members, topics);
    assertValid(members, topics, result);
    assert.deepEqual(result.get("a")!.get("t1"), [0, 1]);
    assert.deepEqual(result.get("b")!.get("t1"), [2, 3]);
    assert.deepEqual(result.get("b")!.get("t2"), [0, 1]);
    assert.deepEqual(result.get("c")!.get("t2"), [2]);
  });

  test("rangeAssignor.assign() drops removed topics and covers added ones", () => {
    const members = ["a", "b"].map((id) => member(id, ["t1", "t2"]));
    const topics = topicsOf({ t2: 4, t3: 2 });
    const next = members.map((m) => ({ ...m, subscribedTopicIds: ["t2", "t3"] }));
    const result = rangeAssignor.assign(next, topics);
    assertValid(next, topics, result);
    assert.deepEqual(result.get("a"), new Map([["t2", [0, 1]], ["t3", [0]]]));
  });

  test("rangeAssignor.assign() handles 100 members and 1000 partitions quickly", () => {
    const topics = topicsOf(Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`t${i}`, 100])));
    const ids = [...topics.keys()];
    const members = Array.from({ length: 100 }, (_, i) => member(`m${i}`, ids));
    const start = performance.now();
    const result = rangeAssignor.assign(members, topics);
    const elapsedMs = performance.now() - start;
    assertValid(members, topics, result);
    assert.equal(spread(result, members.map((m) => m.memberId)), 0);
    assert.ok(elapsedMs < 1000, `took ${elapsedMs.toFixed(0)} ms`);
  });
});

describe("SERVER_ASSIGNORS", () => {
  test("SERVER_ASSIGNORS lists uniform first, as Kafka's default, then range", () => {
    assert.deepEqual([...SERVER_ASSIGNORS.keys()], ["uniform", "range"]);
    const all: ServerAssignor[] = [...SERVER_ASSIGNORS.values()];
    for (const a of all) assert.deepEqual(a.assign([], new Map()), new Map());
  });
});
