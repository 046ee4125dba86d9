/**
 * LeaveGroup (key 13), v0–v5: one member (v0–v2) or a batch of members, by member id or by
 * group instance id (v3+, KIP-345). The rest of the group rebalances.
 *
 * @module
 */

import { ErrorCode } from "../../protocol/generated/errors.ts";
import { LEAVE_GROUP_API } from "../../protocol/generated/13_leave_group.ts";
import { AclOperation } from "../acl/model.ts";
import { groupGate } from "../acl/requests.ts";
import { defineHandler } from "../registry.ts";

export default defineHandler(LEAVE_GROUP_API, {
  minVersion: 0,
  maxVersion: 5,
  handle(request, ctx) {
    const members = ctx.version >= 3
      ? request.members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId }))
      : [{ memberId: request.memberId, groupInstanceId: null }];
    const notCoordinator = groupGate(ctx, AclOperation.READ, request.groupId);
    if (notCoordinator !== ErrorCode.NONE) return { throttleTimeMs: 0, errorCode: notCoordinator, members: [] };
    const result = ctx.broker.groups.leave(request.groupId, members);
    if (ctx.version < 3) return { throttleTimeMs: 0, errorCode: result.members[0]?.errorCode ?? result.errorCode };
    return { throttleTimeMs: 0, errorCode: result.errorCode, members: result.members };
  },
});
