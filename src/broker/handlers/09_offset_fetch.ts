/**
 * OffsetFetch (key 9), v0–v10.
 *
 * Committed offsets of the named partitions (-1 and empty metadata when none), or every
 * committed partition when the topic list is null (v2+). v8+ fetch several groups at once; v9
 * checks the KIP-848 member and epoch; v10 names topics by id (an unknown id is answered
 * UNKNOWN_TOPIC_ID per partition). A commit made without metadata reads back as "", as Kafka
 * stores it. `require_stable` (v7+) has nothing to wait for until transactions exist.
 *
 * v0 was removed by Kafka 4.0; Kafka 3.9 read v0 fetches from ZooKeeper, kbin from the one
 * offset store every version uses (see OffsetCommit). A failure for one group answers that group
 * with UNKNOWN_SERVER_ERROR (or KAFKA_STORAGE_ERROR) and is logged.
 *
 * @module
 */

import { ErrorCode } from "../../protocol/generated/errors.ts";
import { OFFSET_FETCH_API, type OffsetFetchResponseTopics } from "../../protocol/generated/09_offset_fetch.ts";
import type { Input } from "../../protocol/types.ts";
import { type BrokerContext, notCoordinatorError } from "../context.ts";
import { guardPartSync } from "../part_errors.ts";
import { defineHandler } from "../registry.ts";

type Fetched = ReturnType<BrokerContext["groups"]["fetchOffsets"]>;

function toWire(r: Fetched) {
  return r.topics.map((t) => ({
    name: t.name,
    partitions: t.partitions.map((p) => ({ ...p, committedOffset: BigInt(p.committedOffset) })),
  }));
}

/** A v10 group: topics named by id in and out. */
function fetchById(
  broker: BrokerContext,
  groupId: string,
  topics: { topicId: string; partitionIndexes: number[] }[] | null,
  member: { memberId: string | null; memberEpoch: number },
): { errorCode: number; topics: Input<OffsetFetchResponseTopics>[] } {
  const unknown = (topicId: string, partitions: number[]): Input<OffsetFetchResponseTopics> => ({
    topicId,
    partitions: partitions.map((partitionIndex) => ({
      partitionIndex,
      committedOffset: -1n,
      committedLeaderEpoch: -1,
      metadata: "",
      errorCode: ErrorCode.UNKNOWN_TOPIC_ID,
    })),
  });
  const named = topics?.map((t) => {
    const found = broker.storage.topics.byId(t.topicId);
    return { ...t, name: found.ok ? found.value.name : null };
  });
  const known = named?.filter((t) => t.name !== null).map((t) => ({
    name: t.name!,
    partitionIndexes: t.partitionIndexes,
  }));
  const r = broker.groups.fetchOffsets(groupId, known ?? null, member);
  if (r.errorCode !== ErrorCode.NONE) return { errorCode: r.errorCode, topics: [] };
  const byName = new Map(toWire(r).map((t) => [t.name, t]));
  if (!named) {
    // Every committed topic, each named by its id (a topic deleted meanwhile is left out).
    const out: Input<OffsetFetchResponseTopics>[] = [];
    for (const t of byName.values()) {
      const found = broker.storage.topics.get(t.name);
      if (found.ok) out.push({ topicId: found.value.id, partitions: t.partitions });
    }
    return { errorCode: ErrorCode.NONE, topics: out };
  }
  return {
    errorCode: ErrorCode.NONE,
    topics: named.map((t) =>
      t.name === null
        ? unknown(t.topicId, t.partitionIndexes)
        : { topicId: t.topicId, partitions: byName.get(t.name)?.partitions ?? [] }
    ),
  };
}

export default defineHandler(OFFSET_FETCH_API, {
  minVersion: 0,
  maxVersion: 10,
  handle(request, ctx) {
    const { broker, version } = ctx;
    const groups = broker.groups;
    if (version >= 8) {
      return {
        throttleTimeMs: 0,
        groups: request.groups.map((g) =>
          guardPartSync(() => {
            const notCoordinator = notCoordinatorError(broker, g.groupId);
            if (notCoordinator !== ErrorCode.NONE) return { groupId: g.groupId, errorCode: notCoordinator, topics: [] };
            const member = { memberId: g.memberId, memberEpoch: g.memberEpoch };
            if (version >= 10) return { groupId: g.groupId, ...fetchById(broker, g.groupId, g.topics, member) };
            const r = groups.fetchOffsets(g.groupId, g.topics, version >= 9 ? member : undefined);
            return { groupId: g.groupId, errorCode: r.errorCode, topics: toWire(r) };
          }, {
            logger: broker.logger,
            context: { api: "OffsetFetch", version, group: g.groupId },
            onError: (f) => ({ groupId: g.groupId, errorCode: f.code, topics: [] }),
          })
        ),
      };
    }
    // Before v2 there is no top-level error: every named partition carries it.
    const failed = (errorCode: number) => ({
      throttleTimeMs: 0,
      errorCode,
      topics: (request.topics ?? []).map((t) => ({
        name: t.name,
        partitions: t.partitionIndexes.map((partitionIndex) => ({
          partitionIndex,
          committedOffset: -1n,
          committedLeaderEpoch: -1,
          metadata: "",
          errorCode,
        })),
      })),
    });
    const notCoordinator = notCoordinatorError(broker, request.groupId);
    if (notCoordinator !== ErrorCode.NONE) return failed(notCoordinator);
    return guardPartSync(() => {
      const r = groups.fetchOffsets(request.groupId, request.topics);
      return { throttleTimeMs: 0, errorCode: r.errorCode, topics: toWire(r) };
    }, {
      logger: broker.logger,
      context: { api: "OffsetFetch", version, group: request.groupId },
      onError: (f) => failed(f.code),
    });
  },
});
