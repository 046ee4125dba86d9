/**
 * OffsetForLeaderEpoch (key 23), v0–v4.
 *
 * Clients call it after reconnecting to check that their position was not truncated away
 * (KIP-320). This node has led every partition since it was created, at epoch 0, so epoch 0
 * ends at the log end offset; a later epoch is unknown (epoch and offset -1, as Kafka answers
 * for an epoch it has not seen), and a current leader epoch above 0 is UNKNOWN_LEADER_EPOCH.
 *
 * v0 (no leader epoch in the answer) and v1 were removed by Kafka 4.0 and are served as Kafka
 * 3.9 did. A failure for one partition answers it with KAFKA_STORAGE_ERROR (I/O) or
 * UNKNOWN_SERVER_ERROR and is logged.
 *
 * @module
 */

import { ErrorCode } from "../../protocol/generated/errors.ts";
import {
  type EpochEndOffset,
  OFFSET_FOR_LEADER_EPOCH_API,
  type OffsetForLeaderTopicResult,
} from "../../protocol/generated/23_offset_for_leader_epoch.ts";
import type { Input } from "../../protocol/types.ts";
import { guardPart, type PartFailure } from "../part_errors.ts";
import { defineHandler } from "../registry.ts";

export default defineHandler(OFFSET_FOR_LEADER_EPOCH_API, {
  minVersion: 0,
  maxVersion: 4,
  async handle(request, ctx) {
    const { broker } = ctx;
    const topics: Input<OffsetForLeaderTopicResult>[] = [];
    for (const t of request.topics) {
      const found = broker.store.getTopic(t.topic);
      const partitions: Input<EpochEndOffset>[] = [];
      for (const p of t.partitions) {
        const answer = (errorCode: number, leaderEpoch = -1, endOffset = -1n) =>
          partitions.push({ errorCode, partition: p.partition, leaderEpoch, endOffset });
        if (!found.ok || p.partition < 0 || p.partition >= found.value.partitions) {
          answer(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
        } else if (p.currentLeaderEpoch > 0) {
          answer(ErrorCode.UNKNOWN_LEADER_EPOCH);
        } else if (p.leaderEpoch !== 0) {
          answer(ErrorCode.NONE);
        } else {
          const end = await guardPart<bigint | PartFailure>(
            async () => BigInt((await broker.partitionLog(found.value, p.partition)).logEndOffset),
            {
              logger: broker.logger,
              context: { api: "OffsetForLeaderEpoch", version: ctx.version, topic: t.topic, partition: p.partition },
              onError: (f) => f,
            },
          );
          if (typeof end === "bigint") answer(ErrorCode.NONE, 0, end);
          else answer(end.code);
        }
      }
      topics.push({ topic: t.topic, partitions });
    }
    return { throttleTimeMs: 0, topics };
  },
});
