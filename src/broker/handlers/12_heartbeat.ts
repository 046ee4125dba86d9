/**
 * Heartbeat (key 12), v0–v4: keeps a classic member's session alive. REBALANCE_IN_PROGRESS
 * tells the member to rejoin; UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION and FENCED_INSTANCE_ID as
 * Kafka answers them.
 *
 * @module
 */

import { ErrorCode } from "../../protocol/generated/errors.ts";
import { HEARTBEAT_API } from "../../protocol/generated/12_heartbeat.ts";
import { AclOperation } from "../acl/model.ts";
import { groupGate } from "../acl/requests.ts";
import { defineHandler } from "../registry.ts";

export default defineHandler(HEARTBEAT_API, {
  minVersion: 0,
  maxVersion: 4,
  handle(request, ctx) {
    const notCoordinator = groupGate(ctx, AclOperation.READ, request.groupId);
    if (notCoordinator !== ErrorCode.NONE) return { throttleTimeMs: 0, errorCode: notCoordinator };
    const errorCode = ctx.broker.groups.heartbeat(request.groupId, {
      memberId: request.memberId,
      groupInstanceId: request.groupInstanceId,
      generationId: request.generationId,
    });
    return { throttleTimeMs: 0, errorCode };
  },
});
