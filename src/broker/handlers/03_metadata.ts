/**
 * Metadata (key 3), v0–v13.
 *
 * Brokers are the live brokers of the storage (this node alone on `file:` and `memory:`); each
 * partition is answered with its leader and leader epoch, the leader being its only replica and
 * in-sync replica (storage keeps the copies), or LEADER_NOT_AVAILABLE with leader -1 while no
 * live broker leads it. The controller is the live broker with the lowest node id. A null topic list (v1+) or an empty one at v0 means all topics. Unknown
 * topics are created when the request allows it (always before v4) and the broker's
 * `auto.create.topics.enable` is true; since creation is synchronous, the new topic is answered
 * at once with no error. From v10 topics may be named by id (UNKNOWN_TOPIC_ID when unknown).
 * Authorized-operations fields are filled when requested (all operations until ACLs exist).
 * v13 adds a top-level error (KIP-1102: REBOOTSTRAP_REQUIRED when a client should re-bootstrap),
 * which a broker that knows its whole cluster answers with NONE. A failure for one named topic
 * (auto-creation included) answers that topic with UNKNOWN_SERVER_ERROR and is logged. A topic
 * auto-created through another broker meanwhile is answered LEADER_NOT_AVAILABLE until this one's
 * cache has it, as Kafka answers a topic whose creation it has not yet seen.
 *
 * @module
 */

import { ErrorCode } from "../../protocol/generated/errors.ts";
import {
  METADATA_API,
  type MetadataRequestTopic,
  type MetadataResponse,
  type MetadataResponseTopic,
} from "../../protocol/generated/03_metadata.ts";
import { ZERO_UUID } from "../../protocol/reader.ts";
import type { Input } from "../../protocol/types.ts";
import type { Topic } from "../../storage/engine.ts";
import { type BrokerContext, controllerOf, liveBrokers, partitionMetadata } from "../context.ts";
import { guardPart } from "../part_errors.ts";
import { defineHandler } from "../registry.ts";
import {
  AclOperation,
  allowedOperations,
  AUTHORIZED_OPERATIONS_OMITTED,
  CLUSTER_NAME,
  ResourceType,
} from "../acl/model.ts";
import { INTERNAL_TOPICS, topicNameError } from "../topic_rules.ts";
import { autoCreateTopic } from "../topics.ts";

/** Partition metadata of a topic: each partition's leader and epoch. */
function topicPartitions(broker: BrokerContext, topic: Topic) {
  return Array.from({ length: topic.partitions }, (_, i) => ({
    partitionIndex: i,
    ...partitionMetadata(broker, topic, i),
    offlineReplicas: [],
  }));
}

export default defineHandler(METADATA_API, {
  minVersion: 0,
  maxVersion: 13,
  async handle(request, ctx) {
    const { broker, version } = ctx;
    const topicOps = (t: Topic) =>
      request.includeTopicAuthorizedOperations
        ? allowedOperations(ctx.allowed, ResourceType.TOPIC, t.name)
        : AUTHORIZED_OPERATIONS_OMITTED;
    const describe = (t: Topic): Input<MetadataResponseTopic> => ({
      errorCode: ErrorCode.NONE,
      name: t.name,
      topicId: t.id,
      isInternal: t.internal || INTERNAL_TOPICS.has(t.name),
      partitions: topicPartitions(broker, t),
      topicAuthorizedOperations: topicOps(t),
    });
    const allowAuto = (version < 4 || request.allowAutoTopicCreation) &&
      broker.config.bool("auto.create.topics.enable");
    let topics: Input<MetadataResponseTopic>[];
    const all = request.topics === null || (version === 0 && request.topics.length === 0);
    const canDescribe = (name: string) => ctx.allowed(AclOperation.DESCRIBE, ResourceType.TOPIC, name);
    const denied = (name: string | null, topicId?: string): Input<MetadataResponseTopic> => ({
      errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
      name,
      ...(topicId === undefined ? {} : { topicId }),
      partitions: [],
    });
    if (all) {
      // Topics the principal may not describe are left out (Kafka's getTopicMetadata).
      topics = broker.storage.topics.list().filter((t) => canDescribe(t.name)).map(describe);
    } else {
      topics = [];
      for (const t of request.topics ?? []) {
        const answered = await guardPart(() => describeNamed(t), {
          logger: broker.logger,
          context: { api: "Metadata", version, topic: t.name ?? t.topicId },
          onError: (f): Input<MetadataResponseTopic> => ({
            errorCode: f.code,
            name: t.name,
            topicId: t.topicId,
            partitions: [],
          }),
        });
        topics.push(answered);
      }
    }
    async function describeNamed(t: MetadataRequestTopic): Promise<Input<MetadataResponseTopic>> {
      if (t.name === null || t.name === undefined) {
        if (t.topicId === ZERO_UUID) {
          return { errorCode: ErrorCode.INVALID_REQUEST, name: null, topicId: ZERO_UUID, partitions: [] };
        }
        const found = broker.storage.topics.byId(t.topicId);
        if (found.ok && !canDescribe(found.value.name)) return denied(null, t.topicId);
        return found.ok
          ? describe(found.value)
          : { errorCode: ErrorCode.UNKNOWN_TOPIC_ID, name: null, topicId: t.topicId, partitions: [] };
      }
      if (!canDescribe(t.name)) return denied(t.name);
      const found = broker.storage.topics.get(t.name);
      if (found.ok) return describe(found.value);
      if (topicNameError(t.name)) {
        return { errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION, name: t.name, partitions: [] };
      }
      // Auto-creation needs CREATE on the cluster or the topic, as Kafka.
      const mayCreate = ctx.allowed(AclOperation.CREATE, ResourceType.CLUSTER, CLUSTER_NAME) ||
        ctx.allowed(AclOperation.CREATE, ResourceType.TOPIC, t.name);
      if (allowAuto && !mayCreate) return denied(t.name);
      if (allowAuto) {
        const created = await autoCreateTopic(broker, t.name);
        if (created.ok) return describe(created.value);
        // Created through another broker since this one last looked: as Kafka answers a topic
        // whose creation it has not seen through, the client asks again shortly.
        const code = created.code === ErrorCode.TOPIC_ALREADY_EXISTS ? ErrorCode.LEADER_NOT_AVAILABLE : created.code;
        return { errorCode: code, name: t.name, partitions: [] };
      }
      return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, name: t.name, partitions: [] };
    }
    const response: Input<MetadataResponse> = {
      errorCode: ErrorCode.NONE,
      throttleTimeMs: 0,
      brokers: liveBrokers(broker, ctx.conn).map((b) => ({
        nodeId: b.nodeId,
        host: b.host,
        port: b.port,
        rack: b.rack,
      })),
      clusterId: broker.clusterId,
      controllerId: controllerOf(broker),
      topics,
      clusterAuthorizedOperations: request.includeClusterAuthorizedOperations
        ? allowedOperations(ctx.allowed, ResourceType.CLUSTER, CLUSTER_NAME)
        : AUTHORIZED_OPERATIONS_OMITTED,
    };
    return response;
  },
});
