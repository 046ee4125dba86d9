/**
 * OffsetDelete (key 47), v0 (KIP-496): removes committed offsets of partitions the group no
 * longer consumes. GROUP_ID_NOT_FOUND for an unknown group; GROUP_SUBSCRIBED_TO_TOPIC for
 * partitions of a topic the group's active members subscribe to.
 *
 * @module
 */

import { ErrorCode } from "../../protocol/generated/errors.ts";
import { OFFSET_DELETE_API } from "../../protocol/generated/47_offset_delete.ts";
import { notCoordinatorError } from "../context.ts";
import { defineHandler } from "../registry.ts";

export default defineHandler(OFFSET_DELETE_API, {
  minVersion: 0,
  maxVersion: 0,
  async handle(request, ctx) {
    const topics = request.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => p.partitionIndex) }));
    const notCoordinator = notCoordinatorError(ctx.broker, request.groupId);
    if (notCoordinator !== ErrorCode.NONE) return { throttleTimeMs: 0, errorCode: notCoordinator, topics: [] };
    const r = await ctx.broker.groups.deleteOffsets(request.groupId, topics);
    return {
      throttleTimeMs: 0,
      errorCode: r.errorCode,
      topics: topics.map((t, i) => ({
        name: t.name,
        partitions: t.partitions.map((p, j) => ({ partitionIndex: p, errorCode: r.codes[i]![j]! })),
      })),
    };
  },
});
