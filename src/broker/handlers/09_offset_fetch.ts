/**
 * OffsetFetch (key 9), v1–v9.
 *
 * Committed offsets of the named partitions (-1 and empty metadata when none), or every
 * committed partition when the topic list is null (v2+). v8+ fetch several groups at once.
 * `require_stable` (v7+) has nothing to wait for until transactions exist.
 *
 * Left out: v0 (offsets kept in ZooKeeper, removed in Kafka 4.0).
 *
 * @module
 */

import { OFFSET_FETCH_API } from "../../protocol/generated/09_offset_fetch.ts";
import { defineHandler } from "../registry.ts";

export default defineHandler(OFFSET_FETCH_API, {
  minVersion: 1,
  maxVersion: 9,
  handle(request, ctx) {
    const groups = ctx.broker.groups;
    const toWire = (r: ReturnType<typeof groups.fetchOffsets>) =>
      r.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => ({ ...p, committedOffset: BigInt(p.committedOffset) })),
      }));
    if (ctx.version >= 8) {
      return {
        throttleTimeMs: 0,
        groups: request.groups.map((g) => {
          const member = ctx.version >= 9 ? { memberId: g.memberId, memberEpoch: g.memberEpoch } : undefined;
          const r = groups.fetchOffsets(g.groupId, g.topics, member);
          return { groupId: g.groupId, errorCode: r.errorCode, topics: toWire(r) };
        }),
      };
    }
    const r = groups.fetchOffsets(request.groupId, request.topics);
    return { throttleTimeMs: 0, errorCode: r.errorCode, topics: toWire(r) };
  },
});
