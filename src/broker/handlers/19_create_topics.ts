/**
 * CreateTopics (key 19), v0–v7.
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
 * v0–v1 (v0 has no `validate_only` and no error messages) were removed by Kafka 4.0 (KIP-896)
 * and are served as Kafka 3.9 did. Topic configs that Kafka 4.0 removed or tightened, which
 * 3.x-era clients still send, are accepted with Kafka 3.9's meaning and a warning (see
 * topic_rules.ts). A failure while creating one topic answers that topic with
 * UNKNOWN_SERVER_ERROR (KAFKA_STORAGE_ERROR for I/O) and is logged.
 *
 * Left out: create-topic policies.
 *
 * @module
 */

import { ErrorCode } from "../../protocol/generated/errors.ts";
import { type CreatableTopicResult, CREATE_TOPICS_API } from "../../protocol/generated/19_create_topics.ts";
import { ZERO_UUID } from "../../protocol/reader.ts";
import type { Input } from "../../protocol/types.ts";
import { guardPart } from "../part_errors.ts";
import { defineHandler } from "../registry.ts";
import { AclOperation, CLUSTER_NAME, ResourceType } from "../acl/model.ts";
import { effectiveTopicConfigs } from "../topic_rules.ts";
import { createPlannedTopic, planTopic } from "../topics.ts";

export default defineHandler(CREATE_TOPICS_API, {
  minVersion: 0,
  maxVersion: 7,
  async handle(request, ctx) {
    const { broker } = ctx;
    const counts = new Map<string, number>();
    for (const t of request.topics) counts.set(t.name, (counts.get(t.name) ?? 0) + 1);
    const results: Input<CreatableTopicResult>[] = [];
    // ACLs: CREATE on the cluster, or on each topic.
    const clusterCreate = ctx.allowed(AclOperation.CREATE, ResourceType.CLUSTER, CLUSTER_NAME);
    for (const t of request.topics) {
      if (!clusterCreate && !ctx.allowed(AclOperation.CREATE, ResourceType.TOPIC, t.name)) {
        results.push({
          name: t.name,
          errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
          errorMessage: `Authorization failed: ${ctx.conn.principal} may not create topic ${t.name}`,
        });
        continue;
      }
      if (counts.get(t.name)! > 1) {
        results.push({
          name: t.name,
          errorCode: ErrorCode.INVALID_REQUEST,
          errorMessage:
            `Create topics request from client \`${ctx.header.clientId}\` contains multiple entries for the following topics: ${t.name}`,
        });
        continue;
      }
      results.push(
        await guardPart(async (): Promise<Input<CreatableTopicResult>> => {
          const plan = planTopic(broker, t);
          if (!plan.ok) return { name: t.name, errorCode: plan.code, errorMessage: plan.message ?? null };
          let topicId = ZERO_UUID;
          if (!request.validateOnly) {
            const created = await createPlannedTopic(broker, plan.value);
            if (!created.ok) return { name: t.name, errorCode: created.code, errorMessage: created.message ?? null };
            topicId = created.value.id;
          }
          return {
            name: t.name,
            topicId,
            errorCode: ErrorCode.NONE,
            errorMessage: null,
            numPartitions: plan.value.partitions,
            replicationFactor: plan.value.replicationFactor,
            configs: effectiveTopicConfigs(plan.value.configs, broker.config),
          };
        }, {
          logger: broker.logger,
          context: { api: "CreateTopics", version: ctx.version, topic: t.name },
          onError: (f) => ({ name: t.name, errorCode: f.code, errorMessage: f.message }),
        }),
      );
    }
    return { throttleTimeMs: 0, topics: results };
  },
});
