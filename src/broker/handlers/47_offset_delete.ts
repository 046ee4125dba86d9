/**
 * OffsetDelete (key 47), v0 (KIP-496): removes committed offsets of partitions the group no
 * longer consumes. GROUP_ID_NOT_FOUND for an unknown group; GROUP_SUBSCRIBED_TO_TOPIC for
 * partitions of a topic the group's active members subscribe to.
 *
 * @module
 */

import { ErrorCode } from "../../protocol/generated/errors.ts";
import { OFFSET_DELETE_API } from "../../protocol/generated/47_offset_delete.ts";
import { AclOperation, ResourceType } from "../acl/model.ts";
import { groupGate } from "../acl/requests.ts";
import { defineHandler } from "../registry.ts";

export default defineHandler(OFFSET_DELETE_API, {
  minVersion: 0,
  maxVersion: 0,
  async handle(request, ctx) {
    const all = request.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => p.partitionIndex) }));
    const notCoordinator = groupGate(ctx, AclOperation.DELETE, request.groupId);
    if (notCoordinator !== ErrorCode.NONE) return { throttleTimeMs: 0, errorCode: notCoordinator, topics: [] };
    // ACLs: READ on each topic; the others answer TOPIC_AUTHORIZATION_FAILED and keep their offsets.
    const readable = all.map((t) => ctx.allowed(AclOperation.READ, ResourceType.TOPIC, t.name));
    const topics = all.filter((_, i) => readable[i]);
    const r = await ctx.broker.groups.deleteOffsets(request.groupId, topics);
    let k = 0;
    return {
      throttleTimeMs: 0,
      errorCode: r.errorCode,
      topics: all.map((t, i) => {
        const codes = readable[i] ? r.codes[k++]! : null;
        return {
          name: t.name,
          partitions: t.partitions.map((p, j) => ({
            partitionIndex: p,
            errorCode: codes === null ? ErrorCode.TOPIC_AUTHORIZATION_FAILED : codes[j]!,
          })),
        };
      }),
    };
  },
});
