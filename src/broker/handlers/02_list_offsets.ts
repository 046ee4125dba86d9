/**
 * ListOffsets (key 2), v1–v10.
 *
 * Special timestamps: -2 earliest (log start), -1 latest (high watermark, or the last stable
 * offset for read_committed), -3 the record with the largest timestamp (KIP-734, v7+), -4
 * earliest local (KIP-405, v8+: the log start, nothing is tiered), -5 latest tiered (v9+: -1,
 * nothing is tiered). Any other timestamp finds the first record at or after it through the
 * time index; none → offset -1. The leader epoch is always 0 (v4+).
 *
 * Left out: v0 (several offsets per partition, removed in Kafka 4.0).
 *
 * @module
 */

import { ErrorCode } from "../../protocol/generated/errors.ts";
import {
  LIST_OFFSETS_API,
  type ListOffsetsPartitionResponse,
  type ListOffsetsTopicResponse,
} from "../../protocol/generated/02_list_offsets.ts";
import type { Input } from "../../protocol/types.ts";
import { defineHandler } from "../registry.ts";

const EARLIEST = -2n;
const LATEST = -1n;
const MAX_TIMESTAMP = -3n;
const EARLIEST_LOCAL = -4n;
const LATEST_TIERED = -5n;

export default defineHandler(LIST_OFFSETS_API, {
  minVersion: 1,
  maxVersion: 10,
  async handle(request, ctx) {
    const { broker } = ctx;
    const topics: Input<ListOffsetsTopicResponse>[] = [];
    for (const t of request.topics) {
      const found = broker.store.getTopic(t.name);
      const partitions: Input<ListOffsetsPartitionResponse>[] = [];
      for (const p of t.partitions) {
        const fail = (errorCode: number) =>
          partitions.push({
            partitionIndex: p.partitionIndex,
            errorCode,
            timestamp: -1n,
            offset: -1n,
            leaderEpoch: -1,
          });
        if (!found.ok || p.partitionIndex < 0 || p.partitionIndex >= found.value.partitions) {
          fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
          continue;
        }
        if (p.currentLeaderEpoch > 0) {
          fail(ErrorCode.UNKNOWN_LEADER_EPOCH);
          continue;
        }
        const log = await broker.partitionLog(found.value, p.partitionIndex);
        if (log.failure) {
          fail(ErrorCode.KAFKA_STORAGE_ERROR);
          continue;
        }
        let offset = -1;
        let timestamp = -1;
        if (p.timestamp === EARLIEST || p.timestamp === EARLIEST_LOCAL) offset = log.logStartOffset;
        else if (p.timestamp === LATEST) offset = log.highWatermark;
        else if (p.timestamp === LATEST_TIERED) offset = -1;
        else if (p.timestamp === MAX_TIMESTAMP) {
          const m = await log.maxTimestampOffset();
          if (m) ({ offset, timestamp } = m);
        } else if (p.timestamp >= 0n) {
          const m = await log.offsetForTimestamp(Number(p.timestamp));
          if (m) ({ offset, timestamp } = m);
        } else {
          fail(ErrorCode.INVALID_REQUEST);
          continue;
        }
        partitions.push({
          partitionIndex: p.partitionIndex,
          errorCode: ErrorCode.NONE,
          timestamp: BigInt(timestamp),
          offset: BigInt(offset),
          leaderEpoch: offset >= 0 ? 0 : -1,
        });
      }
      topics.push({ name: t.name, partitions });
    }
    return { throttleTimeMs: 0, topics };
  },
});
