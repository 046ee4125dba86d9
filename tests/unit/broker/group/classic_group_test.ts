import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  ClassicGroup,
  type JoinRequest,
  type JoinResult,
  type SyncResult,
} from "../../../../src/broker/group/classic_group.ts";
import { ErrorCode } from "../../../../src/protocol/generated/errors.ts";

const enc = new TextEncoder();

function makeGroup(options: { delayMs?: number; maxSize?: number; now?: () => number } = {}) {
  let ids = 0;
  const saved: unknown[] = [];
  const group = new ClassicGroup("g", {
    now: options.now ?? (() => Date.now()),
    settings: {
      initialRebalanceDelayMs: options.delayMs ?? 0,
      maxSize: options.maxSize ?? 100,
      newMemberJoinTimeoutMs: 300_000,
    },
    persist: (g) => saved.push(g.toJSON()),
    newMemberId: (clientId) => `${clientId}-${++ids}`,
  });
  return { group, saved };
}

function req(memberId: string, extra: Partial<JoinRequest> = {}): JoinRequest {
  return {
    memberId,
    groupInstanceId: null,
    clientId: "c",
    clientHost: "/127.0.0.1",
    sessionTimeoutMs: 10_000,
    rebalanceTimeoutMs: 10_000,
    protocolType: "consumer",
    protocols: [{ name: "range", metadata: enc.encode("m") }],
    requireKnownMemberId: true,
    supportsSkipAssignment: false,
    ...extra,
  };
}

const join = (g: ClassicGroup, r: JoinRequest) => new Promise<JoinResult>((resolve) => g.join(r, resolve));
const sync = (
  g: ClassicGroup,
  memberId: string,
  generationId: number,
  assignments: { memberId: string; assignment: Uint8Array }[] = [],
  groupInstanceId: string | null = null,
) =>
  new Promise<SyncResult>((resolve) =>
    g.sync(
      { memberId, groupInstanceId, generationId, protocolType: "consumer", protocolName: "range", assignments },
      resolve,
    )
  );

/**
 * A member joins with the v4+ handshake; resolves once it has its id, with the pending second
 * join (wrapped, so awaiting this does not wait for the rebalance).
 */
async function joinNew(g: ClassicGroup, extra: Partial<JoinRequest> = {}): Promise<{ result: Promise<JoinResult> }> {
  const first = await join(g, req("", extra));
  assert.equal(first.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
  return { result: join(g, req(first.memberId, extra)) };
}

describe("ClassicGroup", () => {
  test("join() hands out a member id first (MEMBER_ID_REQUIRED), then completes a rebalance with the member as leader", async () => {
    const { group } = makeGroup();
    const r = await (await joinNew(group)).result;
    assert.equal(r.errorCode, ErrorCode.NONE);
    assert.equal(r.generationId, 1);
    assert.equal(r.leader, r.memberId);
    assert.equal(r.protocolName, "range");
    assert.equal(r.members.length, 1);
    assert.equal(group.state, "CompletingRebalance");
    const s = await sync(group, r.memberId, 1, [{ memberId: r.memberId, assignment: enc.encode("all") }]);
    assert.equal(s.errorCode, ErrorCode.NONE);
    assert.deepEqual(s.assignment, enc.encode("all"));
    assert.equal(group.state, "Stable");
  });

  test("a second member triggers a rebalance that waits for the first to rejoin; followers get their assignment from the leader's sync", async () => {
    const { group } = makeGroup();
    const a = await (await joinNew(group)).result;
    await sync(group, a.memberId, 1, [{ memberId: a.memberId, assignment: enc.encode("0,1") }]);
    const bJoin = (await joinNew(group)).result;
    assert.equal(group.state, "PreparingRebalance");
    assert.equal(
      group.heartbeat({ memberId: a.memberId, groupInstanceId: null, generationId: 1 }),
      ErrorCode.REBALANCE_IN_PROGRESS,
    );
    const a2 = await join(group, req(a.memberId));
    const b = await bJoin;
    assert.equal(a2.generationId, 2);
    assert.equal(b.generationId, 2);
    assert.equal(a2.leader, a.memberId, "the old leader stays leader");
    assert.equal(a2.members.length, 2);
    assert.equal(b.members.length, 0, "followers get no member list");
    const bSync = sync(group, b.memberId, 2);
    const aSync = await sync(group, a.memberId, 2, [
      { memberId: a.memberId, assignment: enc.encode("0") },
      { memberId: b.memberId, assignment: enc.encode("1") },
    ]);
    assert.deepEqual([aSync.assignment, (await bSync).assignment], [enc.encode("0"), enc.encode("1")]);
  });

  test("stale generations and unknown members get ILLEGAL_GENERATION and UNKNOWN_MEMBER_ID", async () => {
    const { group } = makeGroup();
    const a = await (await joinNew(group)).result;
    await sync(group, a.memberId, 1, [{ memberId: a.memberId, assignment: enc.encode("x") }]);
    assert.equal(
      group.heartbeat({ memberId: a.memberId, groupInstanceId: null, generationId: 0 }),
      ErrorCode.ILLEGAL_GENERATION,
    );
    assert.equal(
      group.heartbeat({ memberId: "nobody", groupInstanceId: null, generationId: 1 }),
      ErrorCode.UNKNOWN_MEMBER_ID,
    );
    assert.equal((await sync(group, a.memberId, 7)).errorCode, ErrorCode.ILLEGAL_GENERATION);
    assert.equal(group.validateCommit(a.memberId, null, 0), ErrorCode.ILLEGAL_GENERATION);
    assert.equal(group.validateCommit("nobody", null, 1), ErrorCode.UNKNOWN_MEMBER_ID);
    assert.equal(group.validateCommit(a.memberId, null, 1), ErrorCode.NONE);
    assert.equal(
      group.validateCommit("", null, -1),
      ErrorCode.UNKNOWN_MEMBER_ID,
      "no simple commits while members are active",
    );
  });

  test("a leaving member makes the rest rebalance, and the last one leaves the group Empty", async () => {
    const { group, saved } = makeGroup();
    const a = await (await joinNew(group)).result;
    await sync(group, a.memberId, 1, [{ memberId: a.memberId, assignment: enc.encode("x") }]);
    assert.equal(group.leave(a.memberId, null), ErrorCode.NONE);
    assert.equal(group.state, "Empty");
    assert.equal(group.generationId, 2);
    assert.ok(saved.length >= 2, "stable and empty states are saved");
    assert.equal(group.leave(a.memberId, null), ErrorCode.UNKNOWN_MEMBER_ID);
  });

  test("a member that stops heartbeating is removed after its session timeout", async () => {
    let now = 1_000;
    const { group } = makeGroup({ now: () => now });
    const a = await (await joinNew(group, { sessionTimeoutMs: 6000 })).result;
    await sync(group, a.memberId, 1, [{ memberId: a.memberId, assignment: enc.encode("x") }]);
    now += 5999;
    assert.deepEqual(group.expire(), []);
    now += 1;
    assert.deepEqual(group.expire(), [a.memberId]);
    assert.equal(group.state, "Empty");
  });

  test("a static member restarting with the same protocols takes its old place without a rebalance; the old id is fenced", async () => {
    const { group } = makeGroup();
    const a = await join(group, req("", { groupInstanceId: "i-a" }));
    assert.equal(a.errorCode, ErrorCode.NONE, "static members skip MEMBER_ID_REQUIRED");
    await sync(group, a.memberId, 1, [{ memberId: a.memberId, assignment: enc.encode("solo") }], "i-a");
    const gen = group.generationId;
    // A second member joins; both rejoin and reach Stable.
    const bJoin = (await joinNew(group)).result;
    const ar = await join(group, req(a.memberId, { groupInstanceId: "i-a" }));
    await bJoin;
    const leader = ar.leader;
    const members = [...group.members.keys()];
    const syncs = members.filter((m) => m !== leader).map((m) =>
      sync(group, m, group.generationId, [], group.members.get(m)!.groupInstanceId)
    );
    await sync(
      group,
      leader,
      group.generationId,
      members.map((m) => ({ memberId: m, assignment: enc.encode(m) })),
      group.members.get(leader)!.groupInstanceId,
    );
    await Promise.all(syncs);
    assert.equal(group.state, "Stable");
    const stableGen = group.generationId;
    assert.ok(stableGen >= gen);
    const restarted = await join(group, req("", { groupInstanceId: "i-a" }));
    assert.equal(restarted.errorCode, ErrorCode.NONE);
    assert.notEqual(restarted.memberId, a.memberId);
    assert.equal(group.state, "Stable", "no rebalance");
    assert.equal(group.generationId, stableGen);
    const s = await sync(group, restarted.memberId, stableGen, [], "i-a");
    assert.deepEqual(s.assignment, enc.encode(a.memberId), "gets its old assignment back");
    assert.equal(
      group.heartbeat({ memberId: a.memberId, groupInstanceId: "i-a", generationId: stableGen }),
      ErrorCode.FENCED_INSTANCE_ID,
      "the replaced instance learns it was fenced (Kafka's validateMember), so it stops instead of rejoining",
    );
    assert.equal((await sync(group, a.memberId, stableGen, [], "i-a")).errorCode, ErrorCode.FENCED_INSTANCE_ID);
    assert.ok(restarted.memberId.startsWith("i-a-"), "static member ids start with the instance id");
    assert.equal(group.validateCommit(a.memberId, "i-a", stableGen), ErrorCode.FENCED_INSTANCE_ID);
  });

  test("group.max.size refuses members beyond the limit", async () => {
    const { group } = makeGroup({ maxSize: 1 });
    await (await joinNew(group)).result;
    const r = await join(group, req(""));
    assert.equal(r.errorCode, ErrorCode.GROUP_MAX_SIZE_REACHED);
  });

  test("the initial rebalance delay holds the first rebalance of an empty group", async () => {
    const { group } = makeGroup({ delayMs: 150 });
    const start = Date.now();
    const r = await join(group, req("", { requireKnownMemberId: false }));
    assert.equal(r.errorCode, ErrorCode.NONE);
    assert.ok(Date.now() - start >= 140, `answered after ${Date.now() - start} ms`);
  });

  test("an inconsistent protocol type is refused", async () => {
    const { group } = makeGroup();
    await (await joinNew(group)).result;
    const r = await join(group, req("", { protocolType: "connect" }));
    assert.equal(r.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
  });

  test("toJSON() and restore() keep members and assignments across a restart", async () => {
    const { group } = makeGroup();
    const a = await (await joinNew(group)).result;
    await sync(group, a.memberId, 1, [{ memberId: a.memberId, assignment: enc.encode("kept") }]);
    const { group: again } = makeGroup();
    again.restore(JSON.parse(JSON.stringify(group.toJSON())));
    assert.equal(again.state, "Stable");
    assert.equal(again.heartbeat({ memberId: a.memberId, groupInstanceId: null, generationId: 1 }), ErrorCode.NONE);
    assert.deepEqual((await sync(again, a.memberId, 1)).assignment, enc.encode("kept"));
  });
});
