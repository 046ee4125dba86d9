/**
 * ListOffsets (key 2), v0–v11.
 *
 * Special timestamps: -2 earliest (log start), -1 latest (high watermark, or the last stable
 * offset for read_committed), -3 the record with the largest timestamp (KIP-734, v7+), -4
 * earliest local (KIP-405, v8+: the log start, nothing is tiered), -5 latest tiered (v9+) and -6
 * earliest pending upload (KIP-1023, v11+): offset -1, as Kafka answers without tiered storage.
 * Any other timestamp finds the first record at or after it through the time index; none →
 * offset -1. The leader epoch (v4+) is the one the offset was written in (the current one for
 * latest); latest under read_committed (v2+) is the last stable offset; a current leader epoch that is older or newer than the partition's is fenced or unknown.
 *
 * v0 (removed by Kafka 4.0, served as Kafka 3.9 did) answers up to `max_num_offsets` offsets per
 * partition, descending, from segment boundaries (see `PartitionLog.legacyOffsetsBefore`).
 *
 * Errors stay with their partition: an unexpected failure answers that partition with
 * KAFKA_STORAGE_ERROR (I/O) or UNKNOWN_SERVER_ERROR and is logged.
 *
 * @module
 */

import { ErrorCode } from "../../protocol/generated/errors.ts";
import {
  LIST_OFFSETS_API,
  type ListOffsetsPartition,
  type ListOffsetsPartitionResponse,
  type ListOffsetsTopicResponse,
} from "../../protocol/generated/02_list_offsets.ts";
import type { Input } from "../../protocol/types.ts";
import type { Topic } from "../../storage/engine.ts";
import { type BrokerContext, leaderEpochError, notLeaderError, partitionOf } from "../context.ts";
import { guardPart } from "../part_errors.ts";
import { defineHandler } from "../registry.ts";
import { AclOperation, ResourceType } from "../acl/model.ts";

const EARLIEST = -2n;
/** isolation_level 1 (v2+): latest is the last stable offset. */
const READ_COMMITTED = 1;
const LATEST = -1n;
const MAX_TIMESTAMP = -3n;
const EARLIEST_LOCAL = -4n;
const LATEST_TIERED = -5n;
const EARLIEST_PENDING_UPLOAD = -6n;

type PartitionResult = Input<ListOffsetsPartitionResponse>;

function failed(partitionIndex: number, errorCode: number): PartitionResult {
  return { partitionIndex, errorCode, oldStyleOffsets: [], timestamp: -1n, offset: -1n, leaderEpoch: -1 };
}

async function listPartition(
  broker: BrokerContext,
  topic: Topic,
  p: ListOffsetsPartition,
  version: number,
  isolationLevel: number,
): Promise<PartitionResult> {
  const notLeader = notLeaderError(broker, topic, p.partitionIndex);
  if (notLeader !== ErrorCode.NONE) return failed(p.partitionIndex, notLeader);
  const log = await partitionOf(broker, topic, p.partitionIndex);
  const epochError = leaderEpochError(p.currentLeaderEpoch, log.leaderEpoch);
  if (epochError !== ErrorCode.NONE) return failed(p.partitionIndex, epochError);
  if (log.failure) return failed(p.partitionIndex, ErrorCode.KAFKA_STORAGE_ERROR);
  if (version === 0) {
    if (p.timestamp < -2n) return failed(p.partitionIndex, ErrorCode.INVALID_REQUEST);
    const offsets = log.legacyOffsetsBefore(Number(p.timestamp), Math.max(0, p.maxNumOffsets), broker.clock.now());
    return { partitionIndex: p.partitionIndex, errorCode: ErrorCode.NONE, oldStyleOffsets: offsets.map(BigInt) };
  }
  let offset = -1;
  let timestamp = -1;
  if (p.timestamp === EARLIEST || p.timestamp === EARLIEST_LOCAL) offset = log.logStartOffset;
  else if (p.timestamp === LATEST) {
    offset = isolationLevel === READ_COMMITTED ? log.lastStableOffset : log.highWatermark;
  } else if (p.timestamp === LATEST_TIERED || p.timestamp === EARLIEST_PENDING_UPLOAD) offset = -1;
  else if (p.timestamp === MAX_TIMESTAMP) {
    const m = await log.maxTimestampOffset();
    if (m) ({ offset, timestamp } = m);
  } else if (p.timestamp >= 0n) {
    const m = await log.offsetForTimestamp(Number(p.timestamp));
    if (m) ({ offset, timestamp } = m);
  } else {
    return failed(p.partitionIndex, ErrorCode.INVALID_REQUEST);
  }
  return {
    partitionIndex: p.partitionIndex,
    errorCode: ErrorCode.NONE,
    timestamp: BigInt(timestamp),
    offset: BigInt(offset),
    leaderEpoch: offset < 0 ? -1 : p.timestamp === LATEST ? log.leaderEpoch : log.epochForOffset(offset),
  };
}

export default defineHandler(LIST_OFFSETS_API, {
  minVersion: 0,
  maxVersion: 11,
  async handle(request, ctx) {
    const { broker, version } = ctx;
    const topics: Input<ListOffsetsTopicResponse>[] = [];
    for (const t of request.topics) {
      const found = broker.storage.topics.get(t.name);
      const partitions: PartitionResult[] = [];
      const authorized = ctx.allowed(AclOperation.DESCRIBE, ResourceType.TOPIC, t.name);
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
          await guardPart(() => listPartition(broker, found.value, p, version, request.isolationLevel), {
            logger: broker.logger,
            context: { api: "ListOffsets", version, topic: t.name, partition: p.partitionIndex },
            onError: (f) => failed(p.partitionIndex, f.code),
          }),
        );
      }
      topics.push({ name: t.name, partitions });
    }
    return { throttleTimeMs: 0, topics };
  },
});
