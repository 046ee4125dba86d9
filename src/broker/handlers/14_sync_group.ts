/**
 * SyncGroup (key 14), v0–v5: the leader hands out assignments; followers wait for them.
 *
 * Errors as Kafka: UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION, FENCED_INSTANCE_ID (v3+ static
 * members), REBALANCE_IN_PROGRESS while the group is preparing a rebalance, and
 * INCONSISTENT_GROUP_PROTOCOL when v5's protocol type or name does not match the group's.
 *
 * @module
 */

import { ErrorCode } from "../../protocol/generated/errors.ts";
import { SYNC_GROUP_API } from "../../protocol/generated/14_sync_group.ts";
import { AclOperation } from "../acl/model.ts";
import { groupGate } from "../acl/requests.ts";
import { defineHandler } from "../registry.ts";

export default defineHandler(SYNC_GROUP_API, {
  minVersion: 0,
  maxVersion: 5,
  async handle(request, ctx) {
    const notCoordinator = groupGate(ctx, AclOperation.READ, request.groupId);
    if (notCoordinator !== ErrorCode.NONE) {
      return {
        throttleTimeMs: 0,
        errorCode: notCoordinator,
        protocolType: null,
        protocolName: null,
        assignment: new Uint8Array(0),
      };
    }
    const result = await ctx.broker.groups.sync(request.groupId, {
      memberId: request.memberId,
      groupInstanceId: request.groupInstanceId,
      generationId: request.generationId,
      protocolType: request.protocolType,
      protocolName: request.protocolName,
      assignments: request.assignments.map((a) => ({ memberId: a.memberId, assignment: a.assignment.slice() })),
    });
    return { throttleTimeMs: 0, ...result };
  },
});
