/**
 * DeleteGroups (key 42), v0–v2: deletes groups with no members, and their offsets.
 * NON_EMPTY_GROUP while members remain, GROUP_ID_NOT_FOUND for an unknown group.
 *
 * @module
 */

import { DELETE_GROUPS_API } from "../../protocol/generated/42_delete_groups.ts";
import { AclOperation } from "../acl/model.ts";
import { groupGate } from "../acl/requests.ts";
import { guardPart, mapInOrder } from "../part_errors.ts";
import { defineHandler } from "../registry.ts";

export default defineHandler(DELETE_GROUPS_API, {
  minVersion: 0,
  maxVersion: 2,
  async handle(request, ctx) {
    return {
      throttleTimeMs: 0,
      results: await mapInOrder(request.groupsNames, async (groupId) => ({
        groupId,
        errorCode: groupGate(ctx, AclOperation.DELETE, groupId) ||
          await guardPart(() => ctx.broker.groups.deleteGroup(groupId), {
            logger: ctx.broker.logger,
            context: { api: "DeleteGroups", version: ctx.version, group: groupId },
            onError: (f) => f.code,
          }),
      })),
    };
  },
});
