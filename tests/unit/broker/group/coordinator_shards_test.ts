/**
 * Tests for the group coordinator's coordinator shards (src/broker/group/coordinator.ts): a group
 * is served only while this node leads its shard and has read it; losing a shard drops its groups
 * (members waiting in a rebalance are told COORDINATOR_NOT_AVAILABLE), gaining it reads them back
 * from storage.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { BrokerConfig } from "../../../../src/broker/config.ts";
import { GroupCache } from "../../../../src/broker/group/group_cache.ts";
import { GroupCoordinator } from "../../../../src/broker/group/coordinator.ts";
import { silentLogger } from "../../../../src/broker/logger.ts";
import { ErrorCode } from "../../../../src/protocol/generated/errors.ts";
import { kvGroupStorage, MemoryKv } from "../../../../src/storage/kv_state.ts";
import { coordinatorShard } from "../../../../src/storage/placement.ts";

const SHARDS = 4;
const clock = { now: () => Date.now() };

function setUp() {
  const storage = kvGroupStorage(new MemoryKv());
  const led = new Set<number>();
  const coordinator = new GroupCoordinator({
    store: GroupCache.empty(storage, { clock, logger: silentLogger }),
    shards: { count: SHARDS, of: (g) => coordinatorShard(g, SHARDS), leads: (s) => led.has(s) },
    config: new BrokerConfig([["group.initial.rebalance.delay.ms", "0"]]),
    clock,
    logger: silentLogger,
    partitionsOf: (topic) => (topic === "t" ? 4 : null),
    topics: () => [{ topicId: "id-t", name: "t", partitions: 4 }],
  });
  return { coordinator, led, storage };
}

const join = (memberId = "") => ({
  memberId,
  groupInstanceId: null,
  clientId: "c",
  clientHost: "/127.0.0.1",
  sessionTimeoutMs: 10_000,
  rebalanceTimeoutMs: 10_000,
  protocolType: "consumer",
  protocols: [{ name: "range", metadata: new Uint8Array(0) }],
  requireKnownMemberId: false,
  supportsSkipAssignment: false,
});

describe("group coordinator shards", () => {
  test("serves a group only while it leads the group's shard and has read it", async () => {
    const { coordinator, led } = setUp();
    try {
      const shard = coordinatorShard("g", SHARDS);
      assert.equal(coordinator.coordinatorError("g"), ErrorCode.NOT_COORDINATOR);
      led.add(shard);
      assert.equal(coordinator.coordinatorError("g"), ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
      await coordinator.syncShards();
      assert.equal(coordinator.coordinatorError("g"), ErrorCode.NONE);
      led.delete(shard);
      assert.equal(coordinator.coordinatorError("g"), ErrorCode.NOT_COORDINATOR);
    } finally {
      coordinator.close();
    }
  });

  test("losing a shard drops its groups and answers waiting members; taking it back restores offsets and state", async () => {
    const { coordinator, led } = setUp();
    try {
      for (let s = 0; s < SHARDS; s++) led.add(s);
      await coordinator.syncShards();
      const codes = await coordinator.commitOffsets("g", { memberId: "", groupInstanceId: null, generationId: -1 }, [
        { topic: "t", partition: 1, offset: 42, leaderEpoch: 3, metadata: "m" },
      ]);
      assert.deepEqual(codes, [ErrorCode.NONE]);
      // A member that completes a rebalance (its group state is saved), and a second group left waiting in one.
      const first = await coordinator.join("g", join());
      assert.equal(first.errorCode, ErrorCode.NONE);
      const synced = await coordinator.sync("g", {
        memberId: first.memberId,
        groupInstanceId: null,
        generationId: first.generationId,
        protocolType: "consumer",
        protocolName: "range",
        assignments: [{ memberId: first.memberId, assignment: new Uint8Array([1, 2]) }],
      });
      assert.equal(synced.errorCode, ErrorCode.NONE);
      let other = "h";
      for (let i = 0; coordinatorShard(other, SHARDS) !== coordinatorShard("g", SHARDS); i++) other = `h${i}`;
      const waiting = coordinator.join(other, join());
      const joinedOther = await waiting;
      // The member rejoining as it is gets its generation at once; a second member's join opens a
      // rebalance that waits for the first member to join again, until the shard is lost.
      const pending = coordinator.join(other, join(joinedOther.memberId));
      const second = coordinator.join(other, join());

      led.delete(coordinatorShard("g", SHARDS));
      await coordinator.syncShards();
      assert.ok(!coordinator.list().some((x) => x.groupId === "g" || x.groupId === other));
      const answered = await Promise.race([second, new Promise((r) => setTimeout(() => r("still waiting"), 2000))]);
      assert.equal((answered as { errorCode: number }).errorCode, ErrorCode.COORDINATOR_NOT_AVAILABLE);
      assert.equal((await pending).errorCode, ErrorCode.NONE);

      led.add(coordinatorShard("g", SHARDS));
      await coordinator.syncShards();
      const fetched = coordinator.fetchOffsets("g", [{ name: "t", partitionIndexes: [1] }]);
      assert.equal(fetched.topics[0]!.partitions[0]!.committedOffset, 42);
      assert.equal(fetched.topics[0]!.partitions[0]!.committedLeaderEpoch, 3);
      const described = coordinator.describe("g");
      assert.equal(described.state, "Stable");
      assert.equal(described.members[0]?.memberId, first.memberId);
    } finally {
      coordinator.close();
    }
  });
});
