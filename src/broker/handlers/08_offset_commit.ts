/**
 * OffsetCommit (key 8), v2–v9.
 *
 * Checks as Kafka's coordinator: a generation of -1 with an empty member id is a simple commit
 * (allowed while the group has no members); otherwise UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION,
 * FENCED_INSTANCE_ID (v7+) and REBALANCE_IN_PROGRESS (while assignments are being handed out)
 * apply to every partition. Per partition: UNKNOWN_TOPIC_OR_PARTITION,
 * OFFSET_METADATA_TOO_LARGE. Commits are durable before the answer. The v2–v4 retention time
 * is ignored, as in Kafka since 2.1 (offsets.retention.minutes applies).
 *
 * Left out: v0–v1 (removed in Kafka 4.0).
 *
 * @module
 */

import { OFFSET_COMMIT_API } from "../../protocol/generated/08_offset_commit.ts";
import { defineHandler } from "../registry.ts";

export default defineHandler(OFFSET_COMMIT_API, {
  minVersion: 2,
  maxVersion: 9,
  handle(request, ctx) {
    const flat = request.topics.flatMap((t) =>
      t.partitions.map((p) => ({
        topic: t.name,
        partition: p.partitionIndex,
        offset: Number(p.committedOffset),
        leaderEpoch: p.committedLeaderEpoch,
        metadata: p.committedMetadata,
      }))
    );
    const codes = ctx.broker.groups.commitOffsets(request.groupId, {
      memberId: request.memberId,
      groupInstanceId: request.groupInstanceId,
      generationId: request.generationIdOrMemberEpoch,
      apiVersion: ctx.version,
    }, flat);
    let i = 0;
    return {
      throttleTimeMs: 0,
      topics: request.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: codes[i++]! })),
      })),
    };
  },
});
