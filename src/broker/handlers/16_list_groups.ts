/**
 * ListGroups (key 16), v0–v5: every group with its protocol type, state (v4+) and type (v5+),
 * filtered by state (case-insensitive, as Kafka) and by type.
 *
 * @module
 */

import { ErrorCode } from "../../protocol/generated/errors.ts";
import { LIST_GROUPS_API } from "../../protocol/generated/16_list_groups.ts";
import { defineHandler } from "../registry.ts";
import { AclOperation, CLUSTER_NAME, ResourceType } from "../acl/model.ts";

export default defineHandler(LIST_GROUPS_API, {
  minVersion: 0,
  maxVersion: 5,
  handle(request, ctx) {
    const states = new Set(request.statesFilter.map((s) => s.toLowerCase()));
    const types = new Set(request.typesFilter.map((s) => s.toLowerCase()));
    // ACLs: DESCRIBE on the cluster lists every group, else only those the principal may describe.
    const everything = ctx.allowed(AclOperation.DESCRIBE, ResourceType.CLUSTER, CLUSTER_NAME);
    const groups = ctx.broker.groups.list().filter((g) =>
      (states.size === 0 || states.has(g.groupState.toLowerCase())) &&
      (types.size === 0 || types.has(g.groupType.toLowerCase())) &&
      (everything || ctx.allowed(AclOperation.DESCRIBE, ResourceType.GROUP, g.groupId))
    );
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, groups };
  },
});
