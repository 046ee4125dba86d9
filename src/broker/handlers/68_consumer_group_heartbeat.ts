/**
 * ConsumerGroupHeartbeat (key 68), v0–v1: the KIP-848 consumer group protocol, where the broker
 * assigns partitions (server-side `uniform` and `range` assignors). Joining (epoch 0), steady
 * heartbeats, leaving (-1) and static leaving (-2), member epochs with revocation before
 * reassignment, subscriptions by topic names or (v1) a regular expression, session and
 * rebalance timeouts. See `src/broker/group/consumer_group.ts` for the algorithm.
 *
 * Both versions are stable since Kafka 4.0. From v1 the client generates its own member id
 * (KIP-1082): an empty member id is INVALID_REQUEST even when joining; a v0 client that joins
 * without one gets an id from the broker.
 *
 * @module
 */

import { ErrorCode } from "../../protocol/generated/errors.ts";
import { CONSUMER_GROUP_HEARTBEAT_API } from "../../protocol/generated/68_consumer_group_heartbeat.ts";
import { AclOperation, ResourceType } from "../acl/model.ts";
import { groupGate } from "../acl/requests.ts";
import { defineHandler } from "../registry.ts";

export default defineHandler(CONSUMER_GROUP_HEARTBEAT_API, {
  minVersion: 0,
  maxVersion: 1,
  handle(request, ctx) {
    const notCoordinator = groupGate(ctx, AclOperation.READ, request.groupId);
    if (notCoordinator !== ErrorCode.NONE) {
      return {
        throttleTimeMs: 0,
        errorCode: notCoordinator,
        errorMessage: null,
        memberId: null,
        memberEpoch: -1,
        heartbeatIntervalMs: 0,
        assignment: null,
      };
    }
    // As KafkaApis: a subscription by names needs DESCRIBE on each topic, or the whole heartbeat is
    // TOPIC_AUTHORIZATION_FAILED (clients may not learn of topics they cannot describe).
    const refused = (request.subscribedTopicNames ?? []).filter((topic) =>
      !ctx.allowed(AclOperation.DESCRIBE, ResourceType.TOPIC, topic)
    );
    if (refused.length > 0) {
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
        errorMessage: `Not authorized to describe the subscribed topics ${[...new Set(refused)].join(", ")}`,
        memberId: null,
        memberEpoch: -1,
        heartbeatIntervalMs: 0,
        assignment: null,
      };
    }
    const out = ctx.broker.groups.consumerHeartbeat({
      groupId: request.groupId,
      memberId: request.memberId,
      memberEpoch: request.memberEpoch,
      instanceId: request.instanceId,
      rackId: request.rackId,
      rebalanceTimeoutMs: request.rebalanceTimeoutMs,
      subscribedTopicNames: request.subscribedTopicNames,
      subscribedTopicRegex: ctx.version >= 1 ? request.subscribedTopicRegex : null,
      serverAssignor: request.serverAssignor,
      topicPartitions: request.topicPartitions,
      clientId: ctx.header.clientId ?? "",
      clientHost: `/${ctx.conn.remote.replace(/:\d+$/, "")}`,
      apiVersion: ctx.version,
    });
    return { throttleTimeMs: 0, ...out };
  },
});
