/**
 * OffsetForLeaderEpoch (key 23), v0–v4.
 *
 * Clients call it after reconnecting to check that their position was not truncated away
 * (KIP-320). The answer comes from the partition's epoch history (storage keeps it, as Kafka's
 * leader-epoch-checkpoint does): the current epoch ends at the log end offset, an older one where
 * the next started, an unknown later one is answered with epoch and offset -1. A current leader
 * epoch older than this node's is FENCED_LEADER_EPOCH, a newer one UNKNOWN_LEADER_EPOCH.
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
import { AclOperation, ResourceType } from "../acl/model.ts";
import { leaderEpochError, notLeaderError, partitionOf } from "../context.ts";

export default defineHandler(OFFSET_FOR_LEADER_EPOCH_API, {
  minVersion: 0,
  maxVersion: 4,
  async handle(request, ctx) {
    const { broker } = ctx;
    const topics: Input<OffsetForLeaderTopicResult>[] = [];
    for (const t of request.topics) {
      const found = broker.storage.topics.get(t.topic);
      const partitions: Input<EpochEndOffset>[] = [];
      for (const p of t.partitions) {
        const answer = (errorCode: number, leaderEpoch = -1, endOffset = -1n) =>
          partitions.push({ errorCode, partition: p.partition, leaderEpoch, endOffset });
        if (!ctx.allowed(AclOperation.DESCRIBE, ResourceType.TOPIC, t.topic)) {
          answer(ErrorCode.TOPIC_AUTHORIZATION_FAILED);
        } else if (!found.ok || p.partition < 0 || p.partition >= found.value.partitions) {
          answer(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
        } else {
          const end = await guardPart<{ leaderEpoch: number; endOffset: number } | PartFailure>(
            async () => {
              const notLeader = notLeaderError(broker, found.value, p.partition);
              if (notLeader !== ErrorCode.NONE) return { code: notLeader, message: "" };
              const log = await partitionOf(broker, found.value, p.partition);
              const epochError = leaderEpochError(p.currentLeaderEpoch, log.leaderEpoch);
              if (epochError !== ErrorCode.NONE) return { code: epochError, message: "" };
              return log.endOffsetForEpoch(p.leaderEpoch);
            },
            {
              logger: broker.logger,
              context: { api: "OffsetForLeaderEpoch", version: ctx.version, topic: t.topic, partition: p.partition },
              onError: (f) => f,
            },
          );
          if ("code" in end) answer(end.code);
          else answer(ErrorCode.NONE, end.leaderEpoch, BigInt(end.endOffset));
        }
      }
      topics.push({ topic: t.topic, partitions });
    }
    return { throttleTimeMs: 0, topics };
  },
});
