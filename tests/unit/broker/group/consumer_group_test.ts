/**
 * KIP-848 consumer groups: the ConsumerGroupHeartbeat algorithm of Kafka 4.0's group coordinator
 * (GroupMetadataManager, CurrentAssignmentBuilder, TargetAssignmentBuilder), driven heartbeat by
 * heartbeat with a fake clock and an in-memory topic table.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { SERVER_ASSIGNORS } from "../../../../src/broker/group/assignors.ts";
import {
  ConsumerGroup,
  type ConsumerGroupOptions,
  type HeartbeatInput,
  type HeartbeatOutput,
  MemberState,
  type TopicInfo,
  validateHeartbeatRequest,
} from "../../../../src/broker/group/consumer_group.ts";
import { ErrorCode } from "../../../../src/protocol/generated/errors.ts";

const SESSION_MS = 45_000;
const REBALANCE_MS = 30_000;

class Topics {
  readonly #byName = new Map<string, TopicInfo>();
  create(name: string, partitions: number): string {
    const topicId = `id-${name}`;
    this.#byName.set(name, { topicId, name, partitions });
    return topicId;
  }
  grow(name: string, partitions: number): void {
    this.#byName.get(name)!.partitions = partitions;
  }
  delete(name: string): void {
    this.#byName.delete(name);
  }
  byName(name: string): TopicInfo | null {
    return this.#byName.get(name) ?? null;
  }
  byId(topicId: string): TopicInfo | null {
    return [...this.#byName.values()].find((t) => t.topicId === topicId) ?? null;
  }
  all(): TopicInfo[] {
    return [...this.#byName.values()];
  }
}

function setup(overrides: Partial<ConsumerGroupOptions> = {}) {
  const clock = {
    nowMs: 1_000_000,
    now(): number {
      return this.nowMs;
    },
  };
  const topics = new Topics();
  let next = 0;
  const options: ConsumerGroupOptions = {
    clock,
    sessionTimeoutMs: SESSION_MS,
    heartbeatIntervalMs: 5000,
    maxSize: 100,
    assignors: SERVER_ASSIGNORS,
    defaultAssignor: "uniform",
    topics,
    newMemberId: () => `generated-${next++}`,
    ...overrides,
  };
  const group = new ConsumerGroup("g", options);
  return { group, clock, topics, options };
}

type Owned = Record<string, number[]>;

function join(group: ConsumerGroup, memberId: string, topicNames: string[], extra: Partial<HeartbeatInput> = {}) {
  return group.heartbeat({
    groupId: "g",
    memberId,
    memberEpoch: 0,
    instanceId: null,
    rackId: null,
    rebalanceTimeoutMs: REBALANCE_MS,
    subscribedTopicNames: topicNames,
    subscribedTopicRegex: null,
    serverAssignor: null,
    topicPartitions: [],
    clientId: "client",
    clientHost: "/127.0.0.1",
    ...extra,
  });
}

function beat(
  group: ConsumerGroup,
  memberId: string,
  memberEpoch: number,
  owned: Owned | null,
  extra: Partial<HeartbeatInput> = {},
) {
  return group.heartbeat({
    groupId: "g",
    memberId,
    memberEpoch,
    instanceId: null,
    rackId: null,
    rebalanceTimeoutMs: -1,
    subscribedTopicNames: null,
    subscribedTopicRegex: null,
    serverAssignor: null,
    topicPartitions: owned === null
      ? null
      : Object.entries(owned).map(([topicId, partitions]) => ({ topicId, partitions })),
    ...extra,
  });
}

/** The assignment in a response as topic id → partitions, or null when absent. */
function assigned(res: HeartbeatOutput): Owned | null {
  if (res.assignment === null) return null;
  return Object.fromEntries(res.assignment.topicPartitions.map((tp) => [tp.topicId, tp.partitions]));
}

function ok(res: HeartbeatOutput): HeartbeatOutput {
  assert.equal(res.errorCode, ErrorCode.NONE, res.errorMessage ?? "");
  return res;
}

/**
 * A simulated member: remembers its epoch and what it owns, and, like the Java consumer, stops
 * reporting revoked partitions on its next heartbeat.
 */
class Client {
  epoch = 0;
  owned: Owned = {};
  constructor(readonly group: ConsumerGroup, readonly memberId: string) {}
  join(topicNames: string[], extra: Partial<HeartbeatInput> = {}): HeartbeatOutput {
    const res = ok(join(this.group, this.memberId, topicNames, extra));
    this.#apply(res);
    return res;
  }
  beat(extra: Partial<HeartbeatInput> = {}): HeartbeatOutput {
    const res = ok(beat(this.group, this.memberId, this.epoch, this.owned, extra));
    this.#apply(res);
    return res;
  }
  #apply(res: HeartbeatOutput): void {
    this.epoch = res.memberEpoch;
    const a = assigned(res);
    if (a !== null) this.owned = a;
  }
  count(): number {
    return Object.values(this.owned).reduce((n, ps) => n + ps.length, 0);
  }
}

function member(group: ConsumerGroup, memberId: string) {
  const m = group.describe().members.find((x) => x.memberId === memberId);
  assert.ok(m, `member ${memberId} exists`);
  return m;
}

describe("ConsumerGroup heartbeats", () => {
  test("ConsumerGroup.heartbeat() gives the first member every partition at group epoch 1", () => {
    const { group, topics } = setup();
    const t = topics.create("orders", 4);
    const res = ok(join(group, "a", ["orders"]));
    assert.equal(res.memberId, "a");
    assert.equal(res.memberEpoch, 1);
    assert.equal(res.heartbeatIntervalMs, 5000);
    assert.deepEqual(assigned(res), { [t]: [0, 1, 2, 3] });
    assert.equal(group.groupEpoch, 1);
    assert.equal(group.assignmentEpoch, 1);
    assert.equal(group.state, "stable");
  });

  test("ConsumerGroup.heartbeat() generates a member id for a v0 client that joins without one", () => {
    const { group, topics } = setup();
    topics.create("orders", 1);
    const res = ok(join(group, "", ["orders"]));
    assert.equal(res.memberId, "generated-0");
  });

  test("ConsumerGroup.heartbeat() omits the assignment from a steady heartbeat when nothing changed", () => {
    const { group, topics } = setup();
    const t = topics.create("orders", 2);
    ok(join(group, "a", ["orders"]));
    const res = ok(beat(group, "a", 1, { [t]: [0, 1] }));
    assert.equal(res.memberEpoch, 1);
    assert.equal(res.assignment, null);
  });

  test("two members share partitions once the first one revokes half of them", () => {
    const { group, topics } = setup();
    const t = topics.create("orders", 6);
    const a = new Client(group, "a");
    const b = new Client(group, "b");
    a.join(["orders"]);
    assert.equal(a.count(), 6);

    // b joins at epoch 2 but a still owns everything: b waits with nothing.
    const bJoin = b.join(["orders"]);
    assert.equal(bJoin.memberEpoch, 2);
    assert.deepEqual(assigned(bJoin), {});
    assert.equal(member(group, "b").memberState, MemberState.UNRELEASED_PARTITIONS);
    assert.equal(group.state, "reconciling");

    // a is told to keep three; it stays at epoch 1 until it stops reporting the others.
    const aRevoke = a.beat();
    assert.equal(aRevoke.memberEpoch, 1);
    assert.deepEqual(assigned(aRevoke), { [t]: [0, 1, 2] });
    assert.equal(member(group, "a").memberState, MemberState.UNREVOKED_PARTITIONS);

    const aDone = a.beat();
    assert.equal(aDone.memberEpoch, 2);
    assert.equal(member(group, "a").memberState, MemberState.STABLE);

    const bGets = b.beat();
    assert.deepEqual(assigned(bGets), { [t]: [3, 4, 5] });
    assert.equal(group.state, "stable");
  });

  test("a third member joining triggers an incremental reassignment: the others keep most and revoke first", () => {
    const { group, topics } = setup();
    const t = topics.create("orders", 6);
    const a = new Client(group, "a");
    const b = new Client(group, "b");
    const c = new Client(group, "c");
    a.join(["orders"]);
    b.join(["orders"]);
    a.beat();
    a.beat();
    b.beat();
    assert.equal(group.state, "stable");
    const before = { a: a.owned[t]!, b: b.owned[t]! };

    const cJoin = c.join(["orders"]);
    assert.equal(cJoin.memberEpoch, 3);
    assert.deepEqual(assigned(cJoin), {}, "nothing is free yet");

    // a keeps two of its three and must revoke one before c can have it.
    const aRevoke = a.beat();
    assert.equal(aRevoke.memberEpoch, 2);
    assert.equal(a.owned[t]!.length, 2);
    assert.ok(a.owned[t]!.every((p) => before.a.includes(p)));
    assert.equal(c.beat().assignment, null, "a has not confirmed the revocation yet");

    a.beat(); // a confirms and moves to epoch 3
    assert.equal(a.epoch, 3);
    c.beat();
    assert.equal(c.count(), 1, "c gets a's released partition, b's is still unreleased");
    assert.equal(member(group, "c").memberState, MemberState.UNRELEASED_PARTITIONS);

    b.beat();
    b.beat();
    assert.equal(b.epoch, 3);
    assert.ok(b.owned[t]!.every((p) => before.b.includes(p)));
    c.beat();
    assert.equal(c.count(), 2);
    assert.deepEqual([...a.owned[t]!, ...b.owned[t]!, ...c.owned[t]!].sort(), [0, 1, 2, 3, 4, 5]);
    assert.equal(group.state, "stable");
  });

  test("a member gets back a partition it was revoking as soon as it stops reporting it (KAFKA-19449)", () => {
    const { group, topics } = setup();
    const t = topics.create("orders", 2);
    const a = new Client(group, "a");
    const b = new Client(group, "b");
    a.join(["orders"]);
    b.join(["orders"]);
    a.beat(); // a must revoke partition 1 for b
    assert.deepEqual(a.owned, { [t]: [0] });
    ok(beat(group, "b", b.epoch, {}, { memberEpoch: -1 }));

    // The new target gives partition 1 back to a, which is still revoking it itself.
    const res = a.beat();
    assert.deepEqual(assigned(res), { [t]: [0, 1] });
    assert.equal(res.memberEpoch, 3);
    assert.equal(member(group, "a").memberState, MemberState.STABLE);
  });

  test("a member leaving with epoch -1 bumps the group epoch and the others take its partitions", () => {
    const { group, topics } = setup();
    const t = topics.create("orders", 4);
    const a = new Client(group, "a");
    const b = new Client(group, "b");
    a.join(["orders"]);
    b.join(["orders"]);
    a.beat();
    a.beat();
    b.beat();

    const left = ok(beat(group, "b", b.epoch, null, { memberEpoch: -1 }));
    assert.equal(left.memberId, "b");
    assert.equal(left.memberEpoch, -1);
    assert.equal(group.groupEpoch, 3);
    assert.equal(group.state, "assigning");

    const res = a.beat();
    assert.equal(res.memberEpoch, 3);
    assert.deepEqual(a.owned, { [t]: [0, 1, 2, 3] });
    assert.equal(group.state, "stable");
    assert.equal(beat(group, "b", 2, {}).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  });

  test("ConsumerGroup.expireMembers() removes a member after the session timeout and frees its partitions", () => {
    const { group, topics, clock } = setup();
    const t = topics.create("orders", 4);
    const a = new Client(group, "a");
    const b = new Client(group, "b");
    a.join(["orders"]);
    b.join(["orders"]);
    a.beat();
    a.beat();
    b.beat();

    clock.nowMs += SESSION_MS - 1000;
    a.beat();
    assert.deepEqual(group.expireMembers(), []);
    assert.equal(group.nextDeadlineMs(), clock.nowMs + 1000);
    clock.nowMs += 1000;
    assert.deepEqual(group.expireMembers(), ["b"]);
    assert.equal(group.groupEpoch, 3);
    a.beat();
    assert.deepEqual(a.owned, { [t]: [0, 1, 2, 3] });
  });

  test("ConsumerGroup.expireMembers() fences a member that does not revoke within its rebalance timeout", () => {
    const { group, topics, clock } = setup();
    topics.create("orders", 4);
    const a = new Client(group, "a");
    const b = new Client(group, "b");
    a.join(["orders"]);
    b.join(["orders"]);
    a.beat(); // now revoking
    assert.equal(member(group, "a").memberState, MemberState.UNREVOKED_PARTITIONS);

    // a keeps heartbeating but keeps reporting the partitions it must give up.
    const stuck = { ...a.owned, ...{ [Object.keys(a.owned)[0]!]: [0, 1, 2, 3] } };
    for (let i = 0; i < 6; i++) {
      clock.nowMs += 5000;
      ok(beat(group, "a", a.epoch, stuck));
      b.beat();
    }
    assert.deepEqual(group.expireMembers(), ["a"]);
    b.beat();
    assert.equal(b.count(), 4);
  });

  test("a static member rejoining within the session timeout gets its partitions back with no epoch bump for others", () => {
    const { group, topics, clock } = setup();
    const t = topics.create("orders", 4);
    const a = new Client(group, "a1");
    const b = new Client(group, "b");
    a.join(["orders"], { instanceId: "instance-a" });
    b.join(["orders"]);
    a.beat({ instanceId: "instance-a" });
    a.beat({ instanceId: "instance-a" });
    b.beat();
    const owned = a.owned;
    const epoch = group.groupEpoch;

    const left = ok(beat(group, "a1", a.epoch, null, { memberEpoch: -2, instanceId: "instance-a" }));
    assert.equal(left.memberEpoch, -2);
    assert.equal(member(group, "a1").memberEpoch, -2);
    assert.equal(group.groupEpoch, epoch, "a temporary leave does not rebalance");

    clock.nowMs += 20_000;
    assert.equal(b.beat().assignment, null, "b is not disturbed");
    const back = ok(join(group, "a2", ["orders"], { instanceId: "instance-a" }));
    assert.equal(back.memberId, "a2");
    assert.equal(back.memberEpoch, epoch);
    assert.deepEqual(assigned(back), owned);
    assert.equal(group.groupEpoch, epoch);
    assert.equal(b.beat().memberEpoch, epoch);
    assert.deepEqual(group.describe().members.map((m) => m.memberId).sort(), ["a2", "b"]);
    assert.equal(group.state, "stable");
    assert.ok(t in owned);
  });

  test("a static member that left with epoch -2 is removed when its session expires", () => {
    const { group, topics, clock } = setup();
    topics.create("orders", 2);
    const a = new Client(group, "a1");
    const b = new Client(group, "b");
    a.join(["orders"], { instanceId: "instance-a" });
    b.join(["orders"]);
    ok(beat(group, "a1", a.epoch, null, { memberEpoch: -2, instanceId: "instance-a" }));
    clock.nowMs += SESSION_MS;
    b.beat();
    assert.deepEqual(group.expireMembers(), ["a1"]);
    b.beat();
    b.beat();
    assert.equal(b.count(), 2);
  });

  test("a static member leaving with epoch -1 leaves for good and bumps the group epoch", () => {
    const { group, topics } = setup();
    topics.create("orders", 2);
    const a = new Client(group, "a1");
    a.join(["orders"], { instanceId: "instance-a" });
    const left = ok(beat(group, "a1", a.epoch, null, { memberEpoch: -1, instanceId: "instance-a" }));
    assert.equal(left.memberEpoch, -1);
    assert.ok(group.isEmpty());
    assert.equal(group.groupEpoch, 2);
    assert.equal(group.nextDeadlineMs(), null);
    // The instance id is free again.
    ok(join(group, "a2", ["orders"], { instanceId: "instance-a" }));
  });

  test("ConsumerGroup.heartbeat() answers UNRELEASED_INSTANCE_ID while the instance id's member is still active", () => {
    const { group, topics } = setup();
    topics.create("orders", 2);
    ok(join(group, "a1", ["orders"], { instanceId: "instance-a" }));
    const res = join(group, "a2", ["orders"], { instanceId: "instance-a" });
    assert.equal(res.errorCode, ErrorCode.UNRELEASED_INSTANCE_ID);
    assert.deepEqual(group.describe().members.map((m) => m.memberId), ["a1"]);
  });

  test("ConsumerGroup.heartbeat() answers FENCED_INSTANCE_ID to a member id that does not own the instance id", () => {
    const { group, topics } = setup();
    topics.create("orders", 2);
    const a = ok(join(group, "a1", ["orders"], { instanceId: "instance-a" }));
    const res = beat(group, "intruder", a.memberEpoch, {}, { instanceId: "instance-a" });
    assert.equal(res.errorCode, ErrorCode.FENCED_INSTANCE_ID);
    assert.equal(beat(group, "x", 1, {}, { instanceId: "nobody" }).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  });

  test("a regex subscription resolves matching topics and picks up a new one at the next refresh", () => {
    const { group, topics, clock } = setup();
    const o1 = topics.create("orders-1", 1);
    const o2 = topics.create("orders-2", 1);
    topics.create("payments", 1);
    const a = new Client(group, "a");
    const res = a.join([], { subscribedTopicNames: null, subscribedTopicRegex: "orders-.*" });
    assert.deepEqual(assigned(res), { [o1]: [0], [o2]: [0] });
    assert.deepEqual(group.subscribedTopicNames(), new Set(["orders-1", "orders-2"]));
    assert.equal(member(group, "a").subscribedTopicRegex, "orders-.*");

    const o3 = topics.create("orders-3", 2);
    clock.nowMs += 1000;
    assert.equal(a.beat().assignment, null, "regexes are refreshed at most every 10 s");
    clock.nowMs += 10_000;
    const refreshed = a.beat();
    assert.deepEqual(assigned(refreshed), { [o1]: [0], [o2]: [0], [o3]: [0, 1] });
    assert.equal(refreshed.memberEpoch, 2);
  });

  test("ConsumerGroup.heartbeat() refuses an invalid regex with INVALID_REGULAR_EXPRESSION", () => {
    const { group } = setup();
    const res = join(group, "a", [], { subscribedTopicNames: null, subscribedTopicRegex: "orders-(" });
    assert.equal(res.errorCode, ErrorCode.INVALID_REGULAR_EXPRESSION);
    assert.ok(group.isEmpty());
    assert.equal(group.groupEpoch, 0);
  });

  test("partition count growth of a subscribed topic triggers a new target assignment", () => {
    const { group, topics } = setup();
    const t = topics.create("orders", 2);
    const a = new Client(group, "a");
    a.join(["orders"]);
    assert.equal(group.groupEpoch, 1);
    topics.grow("orders", 5);
    const res = a.beat();
    assert.equal(res.memberEpoch, 2);
    assert.deepEqual(assigned(res), { [t]: [0, 1, 2, 3, 4] });
  });

  test("a deleted topic's partitions are revoked from its members", () => {
    const { group, topics } = setup();
    const keep = topics.create("keep", 1);
    topics.create("gone", 2);
    const a = new Client(group, "a");
    a.join(["keep", "gone"]);
    assert.equal(a.count(), 3);
    topics.delete("gone");
    a.beat(); // asked to revoke
    const res = a.beat();
    assert.deepEqual(a.owned, { [keep]: [0] });
    assert.equal(res.memberEpoch, 2);
  });

  test("ConsumerGroup.heartbeat() fences a stale or future epoch with FENCED_MEMBER_EPOCH", () => {
    const { group, topics } = setup();
    const t = topics.create("orders", 4);
    const a = new Client(group, "a");
    const b = new Client(group, "b");
    a.join(["orders"]);
    b.join(["orders"]);
    a.beat();
    a.beat(); // a: epoch 2, previous epoch 1, owns [0, 1]
    assert.equal(a.epoch, 2);

    assert.equal(beat(group, "a", 3, a.owned).errorCode, ErrorCode.FENCED_MEMBER_EPOCH);
    // The previous epoch is accepted when the owned partitions are a subset (a lost response).
    ok(beat(group, "a", 1, { [t]: [0] }));
    assert.equal(beat(group, "a", 1, { [t]: [0, 3] }).errorCode, ErrorCode.FENCED_MEMBER_EPOCH);
    assert.equal(beat(group, "a", 1, null).errorCode, ErrorCode.FENCED_MEMBER_EPOCH);
    b.beat();
    assert.equal(beat(group, "b", 0 + 1, b.owned).errorCode, ErrorCode.FENCED_MEMBER_EPOCH);
    assert.equal(group.describe().members.length, 2, "fencing by epoch does not remove the member");
  });

  test("a fenced member rejoins with epoch 0 and its member id and gets its assignment again", () => {
    const { group, topics } = setup();
    const t = topics.create("orders", 2);
    const a = new Client(group, "a");
    a.join(["orders"]);
    topics.grow("orders", 3);
    a.beat(); // epoch 2
    assert.equal(beat(group, "a", 7, {}).errorCode, ErrorCode.FENCED_MEMBER_EPOCH);
    const res = ok(join(group, "a", ["orders"]));
    assert.equal(res.memberEpoch, 2);
    assert.deepEqual(assigned(res), { [t]: [0, 1, 2] });
  });

  test("ConsumerGroup.heartbeat() answers UNKNOWN_MEMBER_ID to a heartbeat from a member it does not know", () => {
    const { group, topics } = setup();
    topics.create("orders", 1);
    assert.equal(beat(group, "ghost", 3, {}).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
    assert.equal(beat(group, "ghost", 3, null, { memberEpoch: -1 }).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  });

  test("ConsumerGroup.heartbeat() answers GROUP_MAX_SIZE_REACHED to a newcomer when the group is full", () => {
    const { group, topics } = setup({ maxSize: 1 });
    topics.create("orders", 1);
    ok(join(group, "a", ["orders"]));
    assert.equal(join(group, "b", ["orders"]).errorCode, ErrorCode.GROUP_MAX_SIZE_REACHED);
    ok(beat(group, "a", 1, {}));
  });

  test("validateHeartbeatRequest() refuses malformed requests with INVALID_REQUEST or UNSUPPORTED_ASSIGNOR", () => {
    const base: HeartbeatInput = {
      groupId: "g",
      memberId: "m",
      memberEpoch: 0,
      instanceId: null,
      rackId: null,
      rebalanceTimeoutMs: 1000,
      subscribedTopicNames: ["t"],
      subscribedTopicRegex: null,
      serverAssignor: null,
      topicPartitions: [],
    };
    const check = (change: Partial<HeartbeatInput>) =>
      validateHeartbeatRequest({ ...base, ...change }, { assignors: SERVER_ASSIGNORS })?.errorCode ?? 0;
    assert.equal(check({}), 0);
    assert.equal(check({ memberId: "" }), 0, "a v0 client may join without a member id");
    assert.equal(check({ memberId: "", apiVersion: 1 }), ErrorCode.INVALID_REQUEST);
    assert.equal(check({ memberId: " ", memberEpoch: 3, topicPartitions: null }), ErrorCode.INVALID_REQUEST);
    assert.equal(check({ groupId: "" }), ErrorCode.INVALID_REQUEST);
    assert.equal(check({ instanceId: "  " }), ErrorCode.INVALID_REQUEST);
    assert.equal(check({ rackId: "" }), ErrorCode.INVALID_REQUEST);
    assert.equal(check({ rebalanceTimeoutMs: -1 }), ErrorCode.INVALID_REQUEST);
    assert.equal(check({ topicPartitions: null }), ErrorCode.INVALID_REQUEST);
    assert.equal(check({ topicPartitions: [{ topicId: "x", partitions: [0] }] }), ErrorCode.INVALID_REQUEST);
    assert.equal(check({ subscribedTopicNames: null }), ErrorCode.INVALID_REQUEST);
    assert.equal(check({ subscribedTopicNames: [] }), 0, "an empty subscription is allowed");
    assert.equal(check({ memberEpoch: -2 }), ErrorCode.INVALID_REQUEST, "a static leave needs an instance id");
    assert.equal(check({ memberEpoch: -3 }), ErrorCode.INVALID_REQUEST);
    assert.equal(check({ serverAssignor: "sticky" }), ErrorCode.UNSUPPORTED_ASSIGNOR);
    assert.equal(check({ serverAssignor: "range" }), 0);

    const { group } = setup();
    const res = group.heartbeat({ ...base, serverAssignor: "sticky" });
    assert.equal(res.errorCode, ErrorCode.UNSUPPORTED_ASSIGNOR);
    assert.equal(res.memberId, null);
    assert.match(res.errorMessage ?? "", /"sticky"/);
  });

  test("ConsumerGroup.heartbeat() uses the server assignor most members ask for", () => {
    const { group, topics } = setup();
    const t1 = topics.create("t1", 3);
    const t2 = topics.create("t2", 3);
    const a = new Client(group, "a");
    const b = new Client(group, "b");
    a.join(["t1", "t2"], { serverAssignor: "range" });
    b.join(["t1", "t2"], { serverAssignor: "range" });
    for (let i = 0; i < 3; i++) {
      a.beat();
      b.beat();
    }
    assert.equal(group.describe().assignorName, "range");
    assert.deepEqual(a.owned, { [t1]: [0, 1], [t2]: [0, 1] });
    assert.deepEqual(b.owned, { [t1]: [2], [t2]: [2] });
  });

  test("ConsumerGroup.validateOffsetCommit() and validateOffsetFetch() check the member epoch (KIP-848)", () => {
    const { group, topics } = setup();
    topics.create("orders", 1);
    assert.equal(group.validateOffsetCommit("", -1, false), ErrorCode.NONE, "admin commits to an empty group");
    assert.equal(group.validateOffsetFetch(null, -1), ErrorCode.NONE);
    ok(join(group, "a", ["orders"]));
    assert.equal(group.validateOffsetCommit("a", 1, false), ErrorCode.NONE);
    assert.equal(group.validateOffsetCommit("a", 0, false), ErrorCode.STALE_MEMBER_EPOCH);
    assert.equal(group.validateOffsetCommit("b", 1, false), ErrorCode.UNKNOWN_MEMBER_ID);
    assert.equal(group.validateOffsetCommit("", -1, false), ErrorCode.UNKNOWN_MEMBER_ID);
    assert.equal(group.validateOffsetCommit("a", 1, false, { apiVersion: 8 }), ErrorCode.UNSUPPORTED_VERSION);
    assert.equal(group.validateOffsetCommit("a", 1, true, { apiVersion: 8 }), ErrorCode.NONE);
    assert.equal(group.validateOffsetFetch("a", 1), ErrorCode.NONE);
    assert.equal(group.validateOffsetFetch("a", 2), ErrorCode.STALE_MEMBER_EPOCH);
    assert.equal(group.validateOffsetFetch("b", 1), ErrorCode.UNKNOWN_MEMBER_ID);
    assert.equal(group.validateOffsetFetch(null, -1), ErrorCode.NONE);
  });

  test("ConsumerGroup.describe() reports Kafka's state names, members and their target assignments", () => {
    const { group, topics } = setup();
    const t = topics.create("orders", 2);
    assert.equal(group.describe().state, "Empty");
    ok(join(group, "a", ["orders"], { rackId: "r1", clientId: "c1" }));
    ok(join(group, "b", ["orders"]));
    const d = group.describe();
    assert.equal(d.state, "Reconciling");
    assert.equal(d.groupEpoch, 2);
    assert.equal(d.assignmentEpoch, 2);
    assert.equal(d.assignorName, "uniform");
    const a = d.members.find((m) => m.memberId === "a")!;
    assert.equal(a.rackId, "r1");
    assert.equal(a.clientId, "c1");
    assert.deepEqual(a.subscribedTopicNames, ["orders"]);
    assert.deepEqual(a.assignment, new Map([[t, [0, 1]]]));
    assert.deepEqual(a.targetAssignment, new Map([[t, [0]]]));
    group.markDead();
    assert.equal(group.state, "dead");
    assert.equal(beat(group, "a", 1, {}).errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
  });

  test("ConsumerGroup.toJSON() and fromJSON() round-trip members, epochs and assignments", () => {
    const { group, topics, clock, options } = setup();
    const t = topics.create("orders", 4);
    topics.create("orders-x", 1);
    const a = new Client(group, "a");
    const b = new Client(group, "b");
    a.join(["orders"], { instanceId: "i-a" });
    b.join([], { subscribedTopicNames: null, subscribedTopicRegex: "orders.*" });
    a.beat({ instanceId: "i-a" }); // a revoking

    const json = JSON.parse(JSON.stringify(group));
    const restored = ConsumerGroup.fromJSON(json, options);
    assert.deepEqual(restored.describe(), group.describe());
    assert.equal(restored.groupEpoch, group.groupEpoch);
    assert.equal(restored.state, group.state);
    assert.deepEqual(restored.subscribedTopicNames(), group.subscribedTopicNames());

    // The restored group carries on where the old one stopped, without a new rebalance.
    const a2 = new Client(restored, "a");
    Object.assign(a2, { epoch: a.epoch, owned: a.owned });
    const b2 = new Client(restored, "b");
    Object.assign(b2, { epoch: b.epoch, owned: b.owned });
    a2.beat({ instanceId: "i-a" });
    b2.beat();
    assert.equal(restored.groupEpoch, group.groupEpoch);
    assert.equal(a2.epoch, restored.assignmentEpoch);
    assert.ok(a2.count() + b2.count() <= 5);
    assert.ok(t in a2.owned);

    // Sessions restart at restore time, as Kafka reschedules its timers on load.
    clock.nowMs += SESSION_MS - 1;
    assert.deepEqual(ConsumerGroup.fromJSON(json, options).expireMembers(), []);
    assert.throws(() => ConsumerGroup.fromJSON({ v: 99 }, options), TypeError);
    assert.throws(() => ConsumerGroup.fromJSON({ ...json, members: [{ memberId: 1 }] }, options), TypeError);
  });
});
