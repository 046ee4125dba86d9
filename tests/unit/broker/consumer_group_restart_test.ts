/**
 * A KIP-848 group survives a broker restart: members keep their ids, epochs and assignments,
 * and committed offsets are where they were. Protocol-level, because no client here restarts
 * a broker under a live KIP-848 member as a unit (tests/compat/kip848 covers real clients).
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { startBroker } from "../../../mod.ts";
import { KafkaConnection } from "../../../src/client/connection.ts";
import { OFFSET_COMMIT_API } from "../../../src/protocol/generated/08_offset_commit.ts";
import { OFFSET_FETCH_API } from "../../../src/protocol/generated/09_offset_fetch.ts";
import { CREATE_TOPICS_API } from "../../../src/protocol/generated/19_create_topics.ts";
import { CONSUMER_GROUP_HEARTBEAT_API } from "../../../src/protocol/generated/68_consumer_group_heartbeat.ts";
import { ErrorCode } from "../../../src/protocol/generated/errors.ts";
import { connect } from "../../support/runtime.ts";

test("a KIP-848 member keeps its epoch, assignment and commits across a broker restart", async () => {
  const dataDir = await mkdtemp(join(tmpdir(), "kbin-cg-restart-"));
  const memberId = "m-" + crypto.randomUUID();
  try {
    let epoch = 0;
    let assigned: number[] = [];
    {
      await using broker = await startBroker({ dataDir, logLevel: "silent" });
      const conn = await KafkaConnection.open("127.0.0.1", broker.port, { connect });
      try {
        await conn.request(CREATE_TOPICS_API, 5, {
          topics: [{ name: "r", numPartitions: 3, replicationFactor: 1, assignments: [], configs: [] }],
          timeoutMs: 1000,
        });
        const joined = await conn.request(CONSUMER_GROUP_HEARTBEAT_API, 1, {
          groupId: "cg",
          memberId,
          memberEpoch: 0,
          rebalanceTimeoutMs: 30_000,
          subscribedTopicNames: ["r"],
          topicPartitions: [],
        });
        assert.equal(joined.errorCode, ErrorCode.NONE, joined.errorMessage ?? "");
        epoch = joined.memberEpoch;
        assigned = joined.assignment!.topicPartitions.flatMap((t) => t.partitions).sort();
        assert.deepEqual(assigned, [0, 1, 2]);
        const committed = await conn.request(OFFSET_COMMIT_API, 9, {
          groupId: "cg",
          generationIdOrMemberEpoch: epoch,
          memberId,
          topics: [{ name: "r", partitions: [{ partitionIndex: 1, committedOffset: 42n, committedMetadata: "m" }] }],
        });
        assert.equal(committed.topics[0]!.partitions[0]!.errorCode, ErrorCode.NONE);
      } finally {
        conn.close();
      }
    }
    await using broker = await startBroker({ dataDir, logLevel: "silent" });
    const conn = await KafkaConnection.open("127.0.0.1", broker.port, { connect });
    try {
      const again = await conn.request(CONSUMER_GROUP_HEARTBEAT_API, 1, {
        groupId: "cg",
        memberId,
        memberEpoch: epoch,
        topicPartitions: null,
      });
      assert.equal(again.errorCode, ErrorCode.NONE, again.errorMessage ?? "");
      assert.equal(again.memberEpoch, epoch, "same epoch: no rebalance after the restart");
      const fetched = await conn.request(OFFSET_FETCH_API, 9, {
        groups: [{ groupId: "cg", memberId, memberEpoch: epoch, topics: [{ name: "r", partitionIndexes: [1] }] }],
      });
      const p = fetched.groups[0]!.topics[0]!.partitions[0]!;
      assert.deepEqual([p.errorCode, p.committedOffset, p.metadata], [ErrorCode.NONE, 42n, "m"]);
    } finally {
      conn.close();
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});
