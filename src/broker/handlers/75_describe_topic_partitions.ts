/**
 * DescribeTopicPartitions (key 75), v0 (KIP-966).
 *
 * Describes the named topics, or every topic when none is named, in name order from the
 * cursor's topic on, returning at most `response_partition_limit` partitions (1 to 2000); as in
 * Kafka (`DescribeTopicPartitionsRequestHandler`, `KRaftMetadataCache`):
 * - when the limit cuts a topic short, `next_cursor` names that topic and the next partition;
 *   when it is used up exactly, the cursor names the next topic to describe at partition 0,
 *   whether or not that topic exists;
 * - a named topic that does not exist gets UNKNOWN_TOPIC_OR_PARTITION, or INVALID_TOPIC_EXCEPTION
 *   when its name is illegal; when none is named, only existing topics are listed;
 * - a cursor whose topic is not among the named ones, or with a negative partition, fails the
 *   request: every named topic gets INVALID_REQUEST.
 * Eligible-leader-replica fields are empty: a single node has none.
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
import type { Topic } from "../../storage/engine.ts";
import { guardPartSync } from "../part_errors.ts";
import { partitionMetadata } from "../context.ts";
import { AclOperation, allowedOperations, ResourceType } from "../acl/model.ts";
import { defineHandler } from "../registry.ts";
import { INTERNAL_TOPICS, topicNameError } from "../topic_rules.ts";

export default defineHandler(DESCRIBE_TOPIC_PARTITIONS_API, {
  minVersion: 0,
  maxVersion: 0,
  handle(request, ctx) {
    const { broker } = ctx;
    const limit = Math.max(1, Math.min(request.responsePartitionLimit, 2000));
    const cursor = request.cursor;
    const cursorTopic = cursor?.topicName ?? "";
    const fetchAll = request.topics.length === 0;
    const canDescribe = (n: string) => ctx.allowed(AclOperation.DESCRIBE, ResourceType.TOPIC, n);
    const names = (fetchAll
      ? broker.storage.topics.list().map((t) =>
        t.name
      ).filter(canDescribe)
      : request.topics.map((t) => t.name))
      .filter((n) => n >= cursorTopic);
    if (cursor && ((!fetchAll && !names.includes(cursor.topicName)) || cursor.partitionIndex < 0)) {
      return {
        throttleTimeMs: 0,
        topics: request.topics.map((t) => ({
          errorCode: ErrorCode.INVALID_REQUEST,
          name: t.name,
          topicId: ZERO_UUID,
          isInternal: false,
          partitions: [],
        })),
        nextCursor: null,
      };
    }
    const topics: Input<DescribeTopicPartitionsResponseTopic>[] = [];
    let remaining = limit;
    let nextCursor: { topicName: string; partitionIndex: number } | null = null;
    for (const name of [...new Set(names)].sort()) {
      if (remaining === 0) {
        nextCursor = { topicName: name, partitionIndex: 0 };
        break;
      }
      if (!canDescribe(name)) {
        topics.push({
          errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
          name,
          topicId: ZERO_UUID,
          isInternal: false,
          partitions: [],
        });
        continue;
      }
      const found = guardPartSync(() => broker.storage.topics.get(name), {
        logger: broker.logger,
        context: { api: "DescribeTopicPartitions", version: ctx.version, topic: name },
        onError: (f) => ({ ok: false as const, code: f.code }),
      });
      if (!found.ok) {
        if (fetchAll) continue;
        const code = found.code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION && topicNameError(name) !== null
          ? ErrorCode.INVALID_TOPIC_EXCEPTION
          : found.code;
        topics.push({
          errorCode: code,
          name,
          topicId: ZERO_UUID,
          isInternal: INTERNAL_TOPICS.has(name),
          partitions: [],
          topicAuthorizedOperations: allowedOperations(ctx.allowed, ResourceType.TOPIC, name),
        });
        continue;
      }
      const t: Topic = found.value;
      const start = name === cursorTopic ? cursor!.partitionIndex : 0;
      const end = Math.min(t.partitions, start + remaining);
      const partitions = [];
      for (let i = start; i < end; i++) {
        partitions.push({
          partitionIndex: i,
          ...partitionMetadata(broker, t, i),
          eligibleLeaderReplicas: [],
          lastKnownElr: [],
          offlineReplicas: [],
        });
      }
      topics.push({
        errorCode: ErrorCode.NONE,
        name: t.name,
        topicId: t.id,
        isInternal: t.internal || INTERNAL_TOPICS.has(t.name),
        partitions,
        topicAuthorizedOperations: allowedOperations(ctx.allowed, ResourceType.TOPIC, name),
      });
      if (end < t.partitions) {
        nextCursor = { topicName: t.name, partitionIndex: end };
        break;
      }
      remaining -= partitions.length;
    }
    return { throttleTimeMs: 0, topics, nextCursor };
  },
});
