/**
 * DescribeGroups (key 15), v0–v6: state, protocol, members with their metadata and
 * assignment (both only in the Stable state, as Kafka reports them). An unknown group, or a
 * KIP-848 consumer group (which ConsumerGroupDescribe describes), is answered as Dead: with no
 * error before v6, and with GROUP_ID_NOT_FOUND and a message from v6 (KIP-1043).
 *
 * @module
 */

import { DESCRIBE_GROUPS_API, type DescribedGroup } from "../../protocol/generated/15_describe_groups.ts";
import type { Input } from "../../protocol/types.ts";
import { ErrorCode } from "../../protocol/generated/errors.ts";
import { AclOperation, allowedOperations, AUTHORIZED_OPERATIONS_OMITTED, ResourceType } from "../acl/model.ts";
import { groupGate } from "../acl/requests.ts";
import { guardPartSync } from "../part_errors.ts";
import { defineHandler } from "../registry.ts";

export default defineHandler(DESCRIBE_GROUPS_API, {
  minVersion: 0,
  maxVersion: 6,
  handle(request, ctx) {
    return {
      throttleTimeMs: 0,
      groups: request.groups.map((groupId) =>
        guardPartSync(() => describeOne(groupId), {
          logger: ctx.broker.logger,
          context: { api: "DescribeGroups", version: ctx.version, group: groupId },
          onError: (f) => ({ errorCode: f.code, errorMessage: f.message, groupId, groupState: "", members: [] }),
        })
      ),
    };
    function describeOne(groupId: string): Input<DescribedGroup> {
      const notCoordinator = groupGate(ctx, AclOperation.DESCRIBE, groupId);
      if (notCoordinator !== ErrorCode.NONE) return { errorCode: notCoordinator, groupId, groupState: "", members: [] };
      const d = ctx.broker.groups.describe(groupId);
      const notFound = ctx.version >= 6 && d.notFound !== undefined;
      return {
        errorCode: groupId === ""
          ? ErrorCode.INVALID_GROUP_ID
          : notFound
          ? ErrorCode.GROUP_ID_NOT_FOUND
          : ErrorCode.NONE,
        errorMessage: notFound ? d.notFound! : null,
        groupId,
        groupState: d.state,
        protocolType: d.protocolType,
        protocolData: d.protocolData,
        members: d.members,
        authorizedOperations: request.includeAuthorizedOperations
          ? allowedOperations(ctx.allowed, ResourceType.GROUP, groupId)
          : AUTHORIZED_OPERATIONS_OMITTED,
      };
    }
  },
});
