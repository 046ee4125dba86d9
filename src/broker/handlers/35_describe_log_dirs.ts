/**
 * DescribeLogDirs (key 35), v0–v5 (v0 as Kafka 3.9 served it; Kafka 4.0 removed it).
 *
 * One result per place the storage keeps data (`Storage.logDirs()`: the data directory on
 * `file:`, the database on `postgres:`, `memory:`), listing the partitions this broker leads —
 * all of them, or those the request names (unknown topics and partitions are left out, as Kafka
 * does) — with the bytes each holds. The offset lag is 0: the leader's log is the only copy (it
 * is `max(high watermark - log end, 0)` in Kafka, which a leader also answers 0). From v4 the
 * file system's total and usable bytes (-1 where the engine cannot tell, and before v4); v3+
 * carry a top-level error (NONE); v5's `is_cordoned` is false (kbin does not cordon log dirs).
 * A log dir that cannot be read answers KAFKA_STORAGE_ERROR with no topics.
 *
 * @module
 */

import { ErrorCode } from "../../protocol/generated/errors.ts";
import {
  DESCRIBE_LOG_DIRS_API,
  type DescribeLogDirsResult,
  type DescribeLogDirsTopic,
} from "../../protocol/generated/35_describe_log_dirs.ts";
import type { Input } from "../../protocol/types.ts";
import type { Topic } from "../../storage/engine.ts";
import { type BrokerContext, partitionOf } from "../context.ts";
import { AclOperation, CLUSTER_NAME, ResourceType } from "../acl/model.ts";
import { defineHandler } from "../registry.ts";

/** The partitions to describe: every partition of the topics named (all topics for null). */
function wanted(
  broker: BrokerContext,
  topics: readonly { topic: string; partitions: readonly number[] }[] | null,
): [Topic, number[]][] {
  if (topics === null) {
    return broker.storage.topics.list().map((t) => [t, Array.from({ length: t.partitions }, (_, i) => i)]);
  }
  const out: [Topic, number[]][] = [];
  for (const t of topics) {
    const found = broker.storage.topics.get(t.topic);
    if (!found.ok) continue;
    out.push([found.value, [...new Set(t.partitions)].filter((p) => p >= 0 && p < found.value.partitions)]);
  }
  return out;
}

export default defineHandler(DESCRIBE_LOG_DIRS_API, {
  minVersion: 0,
  maxVersion: 5,
  async handle(request, ctx) {
    const { broker, version } = ctx;
    // ACLs: DESCRIBE on the cluster (v3+ says so; older versions get no results, as Kafka).
    if (!ctx.allowed(AclOperation.DESCRIBE, ResourceType.CLUSTER, CLUSTER_NAME)) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, results: [] };
    }
    const topics: Input<DescribeLogDirsTopic>[] = [];
    for (const [topic, partitions] of wanted(broker, request.topics)) {
      const described = [];
      for (const partitionIndex of partitions) {
        const ref = { topicName: topic.name, topicId: topic.id, partition: partitionIndex };
        if (broker.storage.cluster.partitionLeader(ref).leader !== broker.nodeId) continue;
        let size = -1n;
        try {
          const log = await partitionOf(broker, topic, partitionIndex);
          if (!log.failure) size = BigInt(log.sizeBytes);
        } catch (err) {
          broker.logger.warn("Cannot read a partition's size for DescribeLogDirs", {
            topic: topic.name,
            partition: partitionIndex,
            error: err instanceof Error ? err.message : String(err),
          });
        }
        described.push({ partitionIndex, partitionSize: size, offsetLag: 0n, isFutureKey: false });
      }
      if (described.length > 0) topics.push({ name: topic.name, partitions: described });
    }
    const results: Input<DescribeLogDirsResult>[] = (await broker.storage.logDirs()).map((d) => ({
      errorCode: d.errorCode,
      logDir: d.path,
      topics: d.errorCode === ErrorCode.NONE ? topics : [],
      totalBytes: version >= 4 ? BigInt(d.totalBytes) : -1n,
      usableBytes: version >= 4 ? BigInt(d.usableBytes) : -1n,
      isCordoned: false,
    }));
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, results };
  },
});
