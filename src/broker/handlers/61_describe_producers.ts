/**
 * DescribeProducers (key 61), v0 (KIP-664).
 *
 * Per partition asked for, the producers its log's producer state knows
 * (`PartitionStorage.activeProducers()`, Kafka's `UnifiedLog.activeProducers`): producer id and
 * epoch, last sequence (-1 after a marker that changed the epoch), last timestamp, the epoch of
 * the coordinator that wrote its last marker (-1 when none is known), and the first offset of its
 * open transaction (-1 when none) — what `kafka-transactions.sh describe-producers` and
 * `abort --start-offset` read. Errors stay with their partition: UNKNOWN_TOPIC_OR_PARTITION for a
 * topic or partition that does not exist, NOT_LEADER_OR_FOLLOWER off the partition's leader,
 * KAFKA_STORAGE_ERROR for a failed log. Left out: ACLs (kbin has none yet; Kafka answers
 * TOPIC_AUTHORIZATION_FAILED without READ on the topic).
 *
 * @module
 */

import { ErrorCode } from "../../protocol/generated/errors.ts";
import {
  DESCRIBE_PRODUCERS_API,
  type PartitionResponse,
  type TopicResponse,
} from "../../protocol/generated/61_describe_producers.ts";
import type { Input } from "../../protocol/types.ts";
import type { Topic } from "../../storage/engine.ts";
import { type BrokerContext, notLeaderError, partitionOf } from "../context.ts";
import { guardPart } from "../part_errors.ts";
import { AclOperation, ResourceType } from "../acl/model.ts";
import { defineHandler } from "../registry.ts";

type PartitionResult = Input<PartitionResponse>;

function failed(partitionIndex: number, errorCode: number, errorMessage: string | null = null): PartitionResult {
  return { partitionIndex, errorCode, errorMessage, activeProducers: [] };
}

async function describePartition(
  broker: BrokerContext,
  topic: Topic,
  partitionIndex: number,
): Promise<PartitionResult> {
  const notLeader = notLeaderError(broker, topic, partitionIndex);
  if (notLeader !== ErrorCode.NONE) return failed(partitionIndex, notLeader);
  const log = await partitionOf(broker, topic, partitionIndex);
  if (log.failure) return failed(partitionIndex, ErrorCode.KAFKA_STORAGE_ERROR, log.failure.message);
  const producers = await log.activeProducers();
  return {
    partitionIndex,
    errorCode: ErrorCode.NONE,
    errorMessage: null,
    activeProducers: producers.map((p) => ({
      producerId: p.producerId,
      producerEpoch: p.producerEpoch,
      lastSequence: p.lastSequence,
      lastTimestamp: p.lastTimestamp,
      coordinatorEpoch: p.coordinatorEpoch,
      currentTxnStartOffset: p.currentTxnFirstOffset ?? -1n,
    })),
  };
}

export default defineHandler(DESCRIBE_PRODUCERS_API, {
  minVersion: 0,
  maxVersion: 0,
  async handle(request, ctx) {
    const { broker, version } = ctx;
    const topics: Input<TopicResponse>[] = [];
    for (const t of request.topics) {
      const found = broker.storage.topics.get(t.name);
      const partitions: PartitionResult[] = [];
      const readable = ctx.allowed(AclOperation.READ, ResourceType.TOPIC, t.name);
      for (const p of t.partitionIndexes) {
        if (!readable) {
          partitions.push(failed(p, ErrorCode.TOPIC_AUTHORIZATION_FAILED));
          continue;
        }
        if (!found.ok || p < 0 || p >= found.value.partitions) {
          partitions.push(failed(p, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION));
          continue;
        }
        partitions.push(
          await guardPart(() => describePartition(broker, found.value, p), {
            logger: broker.logger,
            context: { api: "DescribeProducers", version, topic: t.name, partition: p },
            onError: (f) => failed(p, f.code, f.message),
          }),
        );
      }
      topics.push({ name: t.name, partitions });
    }
    return { throttleTimeMs: 0, topics };
  },
});
