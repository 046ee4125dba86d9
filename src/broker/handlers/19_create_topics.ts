/**
 * CreateTopics (key 19), v2–v7.
 *
 * `num_partitions` and `replication_factor` of -1 take `num.partitions` and
 * `default.replication.factor`; manual assignments may name only this node. Each topic gets
 * its own error: INVALID_TOPIC_EXCEPTION (bad name, or a '.'/'_' collision),
 * TOPIC_ALREADY_EXISTS, INVALID_PARTITIONS, INVALID_REPLICATION_FACTOR,
 * INVALID_REPLICA_ASSIGNMENT, INVALID_CONFIG (unknown name or bad value), INVALID_REQUEST (a
 * name given twice). `validate_only` runs every check and creates nothing. From v5 a success
 * carries the partition count, replication factor and every effective config; v7 adds the
 * topic id.
 *
 * Left out: v0–v1 (removed in Kafka 4.0, KIP-896); create-topic policies.
 *
 * @module
 */

import { ErrorCode } from "../../protocol/generated/errors.ts";
import { type CreatableTopicResult, CREATE_TOPICS_API } from "../../protocol/generated/19_create_topics.ts";
import { ZERO_UUID } from "../../protocol/reader.ts";
import type { Input } from "../../protocol/types.ts";
import { defineHandler } from "../registry.ts";
import { effectiveTopicConfigs } from "../topic_rules.ts";
import { createPlannedTopic, planTopic } from "../topics.ts";

export default defineHandler(CREATE_TOPICS_API, {
  minVersion: 2,
  maxVersion: 7,
  handle(request, ctx) {
    const { broker } = ctx;
    const counts = new Map<string, number>();
    for (const t of request.topics) counts.set(t.name, (counts.get(t.name) ?? 0) + 1);
    const results: Input<CreatableTopicResult>[] = [];
    for (const t of request.topics) {
      if (counts.get(t.name)! > 1) {
        results.push({
          name: t.name,
          errorCode: ErrorCode.INVALID_REQUEST,
          errorMessage:
            `Create topics request from client \`${ctx.header.clientId}\` contains multiple entries for the following topics: ${t.name}`,
        });
        continue;
      }
      const plan = planTopic(broker, t);
      if (!plan.ok) {
        results.push({ name: t.name, errorCode: plan.code, errorMessage: plan.message ?? null });
        continue;
      }
      let topicId = ZERO_UUID;
      if (!request.validateOnly) {
        const created = createPlannedTopic(broker, plan.value);
        if (!created.ok) {
          results.push({ name: t.name, errorCode: created.code, errorMessage: created.message ?? null });
          continue;
        }
        topicId = created.value.id;
      }
      results.push({
        name: t.name,
        topicId,
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        numPartitions: plan.value.partitions,
        replicationFactor: plan.value.replicationFactor,
        configs: effectiveTopicConfigs(plan.value.configs, broker.config),
      });
    }
    return { throttleTimeMs: 0, topics: results };
  },
});
