/**
 * DescribeTopicPartitions (key 75), v0 (KIP-966).
 *
 * Describes the named topics, or every topic when none is named, in name order, starting at
 * the cursor and returning at most `response_partition_limit` partitions; when the limit cuts
 * a topic short, `next_cursor` says where to continue. Unknown names get
 * UNKNOWN_TOPIC_OR_PARTITION. Eligible-leader-replica fields are empty: a single node has none.
 *
 * @module
 */

import { ErrorCode } from "../../protocol/generated/errors.ts";
import {
  DESCRIBE_TOPIC_PARTITIONS_API,
  type DescribeTopicPartitionsResponseTopic,
} from "../../protocol/generated/75_describe_topic_partitions.ts";
import { ZERO_UUID } from "../../protocol/reader.ts";
import type { Input } from "../../protocol/types.ts";
import type { Topic } from "../../storage/metadata_store.ts";
import { TOPIC_OPERATIONS } from "../acl_ops.ts";
import { guardPartSync } from "../part_errors.ts";
import { defineHandler } from "../registry.ts";
import { INTERNAL_TOPICS } from "../topic_rules.ts";

export default defineHandler(DESCRIBE_TOPIC_PARTITIONS_API, {
  minVersion: 0,
  maxVersion: 0,
  handle(request, ctx) {
    const { broker } = ctx;
    const limit = Math.max(1, Math.min(request.responsePartitionLimit, 2000));
    const cursor = request.cursor;
    const names = request.topics.length > 0
      ? [...new Set(request.topics.map((t) => t.name))].sort()
      : broker.store.listTopics().map((t) => t.name);
    const topics: Input<DescribeTopicPartitionsResponseTopic>[] = [];
    let budget = limit;
    let nextCursor: { topicName: string; partitionIndex: number } | null = null;
    for (const name of names) {
      if (cursor && name < cursor.topicName) continue;
      const found = guardPartSync(() => broker.store.getTopic(name), {
        logger: broker.logger,
        context: { api: "DescribeTopicPartitions", version: ctx.version, topic: name },
        onError: (f) => ({ ok: false as const, code: f.code }),
      });
      if (!found.ok) {
        topics.push({ errorCode: found.code, name, topicId: ZERO_UUID, partitions: [] });
        continue;
      }
      if (budget === 0) {
        nextCursor = { topicName: name, partitionIndex: 0 };
        break;
      }
      const t: Topic = found.value;
      const start = cursor && name === cursor.topicName ? Math.max(0, cursor.partitionIndex) : 0;
      const end = Math.min(t.partitions, start + budget);
      const partitions = [];
      for (let i = start; i < end; i++) {
        partitions.push({
          errorCode: ErrorCode.NONE,
          partitionIndex: i,
          leaderId: broker.nodeId,
          leaderEpoch: 0,
          replicaNodes: [broker.nodeId],
          isrNodes: [broker.nodeId],
          eligibleLeaderReplicas: [],
          lastKnownElr: [],
          offlineReplicas: [],
        });
      }
      budget -= end - start;
      topics.push({
        errorCode: ErrorCode.NONE,
        name: t.name,
        topicId: t.id,
        isInternal: t.internal || INTERNAL_TOPICS.has(t.name),
        partitions,
        topicAuthorizedOperations: TOPIC_OPERATIONS,
      });
      if (end < t.partitions) {
        nextCursor = { topicName: t.name, partitionIndex: end };
        break;
      }
    }
    return { throttleTimeMs: 0, topics, nextCursor };
  },
});
