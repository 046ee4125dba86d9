/**
 * DeleteRecords (key 21), v0–v2: moves each partition's log start offset up to the offset asked
 * (-1: the high watermark), as Kafka's `Partition.deleteRecordsOnLeader`. Records below it are no
 * longer served (a fetch below answers OFFSET_OUT_OF_RANGE and consumers reset by their policy);
 * whole segments below it are removed at once. The answer's low watermark is the new log start.
 *
 * Per partition: UNKNOWN_TOPIC_OR_PARTITION for a partition that does not exist;
 * NOT_LEADER_OR_FOLLOWER where another broker leads it; POLICY_VIOLATION when the topic's
 * `cleanup.policy` lacks `delete` (a compacted topic), as Kafka; OFFSET_OUT_OF_RANGE below -1 or
 * above the high watermark. An offset at or below the current log start changes nothing and
 * answers the current start. There are no followers to wait for, so the request's timeout is
 * never reached. The low watermark of a failed partition is -1.
 *
 * @module
 */

import { ErrorCode } from "../../protocol/generated/errors.ts";
import {
  DELETE_RECORDS_API,
  type DeleteRecordsPartitionResult,
  type DeleteRecordsTopicResult,
} from "../../protocol/generated/21_delete_records.ts";
import type { Input } from "../../protocol/types.ts";
import type { Topic } from "../../storage/engine.ts";
import { type BrokerContext, notLeaderError, partitionOf } from "../context.ts";
import { guardPart } from "../part_errors.ts";
import { defineHandler } from "../registry.ts";
import { AclOperation, ResourceType } from "../acl/model.ts";

type PartitionResult = Input<DeleteRecordsPartitionResult>;

function failed(partitionIndex: number, errorCode: number): PartitionResult {
  return { partitionIndex, errorCode, lowWatermark: -1n };
}

async function deletePartition(
  broker: BrokerContext,
  topic: Topic,
  partitionIndex: number,
  offset: bigint,
): Promise<PartitionResult> {
  const notLeader = notLeaderError(broker, topic, partitionIndex);
  if (notLeader !== ErrorCode.NONE) return failed(partitionIndex, notLeader);
  if (!broker.policies.for(topic).cleanupPolicy.has("delete")) {
    return failed(partitionIndex, ErrorCode.POLICY_VIOLATION);
  }
  if (offset < -1n || offset > BigInt(Number.MAX_SAFE_INTEGER)) {
    return failed(partitionIndex, ErrorCode.OFFSET_OUT_OF_RANGE);
  }
  const log = await partitionOf(broker, topic, partitionIndex);
  if (log.failure) return failed(partitionIndex, ErrorCode.KAFKA_STORAGE_ERROR);
  const before = log.logStartOffset;
  const moved = await log.deleteRecords(Number(offset));
  if (!moved.ok) return failed(partitionIndex, moved.code);
  if (moved.value > before) {
    broker.logger.info("Deleted records below a new log start offset", {
      topic: topic.name,
      partition: partitionIndex,
      logStartOffset: moved.value,
    });
  }
  return { partitionIndex, errorCode: ErrorCode.NONE, lowWatermark: BigInt(moved.value) };
}

export default defineHandler(DELETE_RECORDS_API, {
  minVersion: 0,
  maxVersion: 2,
  async handle(request, ctx) {
    const { broker, version } = ctx;
    const topics: Input<DeleteRecordsTopicResult>[] = [];
    for (const t of request.topics) {
      const found = broker.storage.topics.get(t.name);
      const partitions: PartitionResult[] = [];
      const authorized = ctx.allowed(AclOperation.DELETE, ResourceType.TOPIC, t.name);
      for (const p of t.partitions) {
        if (!authorized) {
          partitions.push(failed(p.partitionIndex, ErrorCode.TOPIC_AUTHORIZATION_FAILED));
          continue;
        }
        if (!found.ok || p.partitionIndex < 0 || p.partitionIndex >= found.value.partitions) {
          partitions.push(failed(p.partitionIndex, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION));
          continue;
        }
        partitions.push(
          await guardPart(() => deletePartition(broker, found.value, p.partitionIndex, p.offset), {
            logger: broker.logger,
            context: { api: "DeleteRecords", version, topic: t.name, partition: p.partitionIndex },
            onError: (f) => failed(p.partitionIndex, f.code),
          }),
        );
      }
      topics.push({ name: t.name, partitions });
    }
    return { throttleTimeMs: 0, topics };
  },
});
