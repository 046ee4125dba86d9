/**
 * ConsumerGroupDescribe (key 69), v0–v1: KIP-848 groups with their epochs, assignor, and each
 * member's subscription, current and target assignment (topics by id and name; deleted topics
 * are left out, as Kafka does). A classic or unknown group is GROUP_ID_NOT_FOUND. v1 adds each
 * member's type (KIP-1099): always CONSUMER, since kbin never mixes classic members into a
 * consumer group.
 *
 * @module
 */

import {
  CONSUMER_GROUP_DESCRIBE_API,
  type DescribedGroup,
} from "../../protocol/generated/69_consumer_group_describe.ts";
import type { Input } from "../../protocol/types.ts";
import { ErrorCode } from "../../protocol/generated/errors.ts";
import { AclOperation, allowedOperations, AUTHORIZED_OPERATIONS_OMITTED, ResourceType } from "../acl/model.ts";
import { groupGate } from "../acl/requests.ts";
import { guardPartSync } from "../part_errors.ts";
import { defineHandler } from "../registry.ts";

/** ConsumerGroupMemberType CONSUMER (a member that speaks ConsumerGroupHeartbeat). */
const MEMBER_TYPE_CONSUMER = 1;

export default defineHandler(CONSUMER_GROUP_DESCRIBE_API, {
  minVersion: 0,
  maxVersion: 1,
  handle(request, ctx) {
    const { broker } = ctx;
    const assignment = (m: Map<string, number[]>) => ({
      topicPartitions: [...m.entries()].flatMap(([topicId, partitions]) => {
        const t = broker.storage.topics.byId(topicId);
        return t.ok ? [{ topicId, topicName: t.value.name, partitions }] : [];
      }),
    });
    return {
      throttleTimeMs: 0,
      groups: request.groupIds.map((groupId) =>
        guardPartSync(() => describeOne(groupId), {
          logger: broker.logger,
          context: { api: "ConsumerGroupDescribe", version: ctx.version, group: groupId },
          onError: (f) => ({ errorCode: f.code, errorMessage: f.message, groupId, groupState: "" }),
        })
      ),
    };
    function describeOne(groupId: string): Input<DescribedGroup> {
      const notCoordinator = groupGate(ctx, AclOperation.DESCRIBE, groupId);
      if (notCoordinator !== ErrorCode.NONE) {
        return { errorCode: notCoordinator, errorMessage: null, groupId, groupState: "" };
      }
      const g = broker.groups.consumer(groupId);
      if (!g) {
        const classic = broker.groups.classic(groupId);
        return {
          errorCode: ErrorCode.GROUP_ID_NOT_FOUND,
          errorMessage: classic ? `Group ${groupId} is not a consumer group.` : `Group ${groupId} not found.`,
          groupId,
          groupState: "Dead",
        };
      }
      const d = g.describe();
      return {
        errorCode: ErrorCode.NONE,
        groupId,
        groupState: d.state,
        groupEpoch: d.groupEpoch,
        assignmentEpoch: d.assignmentEpoch,
        assignorName: d.assignorName,
        members: d.members.map((m) => ({
          memberId: m.memberId,
          instanceId: m.instanceId,
          rackId: m.rackId,
          memberEpoch: m.memberEpoch,
          clientId: m.clientId,
          clientHost: m.clientHost,
          subscribedTopicNames: m.subscribedTopicNames,
          subscribedTopicRegex: m.subscribedTopicRegex,
          assignment: assignment(m.assignment),
          targetAssignment: assignment(m.targetAssignment),
          memberType: MEMBER_TYPE_CONSUMER,
        })),
        authorizedOperations: request.includeAuthorizedOperations
          ? allowedOperations(ctx.allowed, ResourceType.GROUP, groupId)
          : AUTHORIZED_OPERATIONS_OMITTED,
      };
    }
  },
});
