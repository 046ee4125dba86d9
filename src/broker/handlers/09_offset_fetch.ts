/**
 * OffsetFetch (key 9), v0–v10.
 *
 * Committed offsets of the named partitions (-1 and empty metadata when none), or every
 * committed partition when the topic list is null (v2+). v8+ fetch several groups at once; v9
 * checks the KIP-848 member and epoch; v10 names topics by id (an unknown id is answered
 * UNKNOWN_TOPIC_ID per partition). A commit made without metadata reads back as "", as Kafka
 * stores it. With `require_stable` (v7+; librdkafka's read_committed consumers set it) a partition
 * whose offset an open transaction has staged (TxnOffsetCommit) answers UNSTABLE_OFFSET_COMMIT and
 * offset -1, so that the consumer retries once the transaction ended.
 *
 * v0 was removed by Kafka 4.0; Kafka 3.9 read v0 fetches from ZooKeeper, kbin from the one
 * offset store every version uses (see OffsetCommit). A failure for one group answers that group
 * with UNKNOWN_SERVER_ERROR (or KAFKA_STORAGE_ERROR) and is logged.
 *
 * @module
 */

import { ErrorCode } from "../../protocol/generated/errors.ts";
import {
  OFFSET_FETCH_API,
  type OffsetFetchRequest,
  type OffsetFetchResponse,
  type OffsetFetchResponseTopics,
} from "../../protocol/generated/09_offset_fetch.ts";
import type { Input } from "../../protocol/types.ts";
import type { BrokerContext } from "../context.ts";
import { AclOperation, ResourceType } from "../acl/model.ts";
import { groupGate } from "../acl/requests.ts";
import { guardPartSync } from "../part_errors.ts";
import { defineHandler, type RequestContext } from "../registry.ts";

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

type WireTopic = { partitions: { partitionIndex: number; committedOffset: bigint; errorCode: number }[] };

/** The name of a topic id, or undefined when it is unknown. */
function nameOfId(broker: BrokerContext, topicId: string): string | undefined {
  const found = broker.storage.topics.byId(topicId);
  return found.ok ? found.value.name : undefined;
}

/** Marks partitions with offsets staged by an open transaction UNSTABLE_OFFSET_COMMIT. */
async function markUnstable(
  broker: BrokerContext,
  groupId: string,
  topics: (WireTopic & { name?: string; topicId?: string })[],
): Promise<void> {
  const unstable = await broker.pendingTxnOffsets.unstable(groupId);
  if (unstable.size === 0) return;
  for (const t of topics) {
    const name = t.name ?? (t.topicId === undefined ? undefined : broker.storage.topics.byId(t.topicId));
    const topicName = typeof name === "string" ? name : name?.ok ? name.value.name : undefined;
    if (topicName === undefined) continue;
    for (const p of t.partitions) {
      if (p.errorCode === ErrorCode.NONE && unstable.has(`${topicName}:${p.partitionIndex}`)) {
        p.errorCode = ErrorCode.UNSTABLE_OFFSET_COMMIT;
        p.committedOffset = -1n;
      }
    }
  }
}

export default defineHandler(OFFSET_FETCH_API, {
  minVersion: 0,
  maxVersion: 10,
  async handle(request, ctx) {
    const answer = answerOf(request, ctx);
    // ACLs: DESCRIBE on each topic. Named topics the principal may not describe answer
    // TOPIC_AUTHORIZATION_FAILED per partition; an all-topics fetch leaves them out.
    const hide = (topics: (WireTopic & { name?: string; topicId?: string })[], all: boolean) =>
      topics.filter((t) => {
        const name = t.name ?? (t.topicId === undefined ? undefined : nameOfId(ctx.broker, t.topicId));
        if (name === undefined || ctx.allowed(AclOperation.DESCRIBE, ResourceType.TOPIC, name)) return true;
        for (const p of t.partitions) {
          p.errorCode = ErrorCode.TOPIC_AUTHORIZATION_FAILED;
          p.committedOffset = -1n;
        }
        return !all;
      });
    if (ctx.version >= 8) {
      for (const g of answer.groups ?? []) {
        const asked = request.groups.find((r) => r.groupId === g.groupId);
        g.topics = hide((g.topics ?? []) as WireTopic[], asked?.topics === null) as NonNullable<typeof g.topics>;
      }
    } else {
      answer.topics = hide((answer.topics ?? []) as WireTopic[], request.topics === null) as NonNullable<
        typeof answer.topics
      >;
    }
    if (ctx.version >= 7 && request.requireStable) {
      const { broker } = ctx;
      if (ctx.version >= 8) {
        for (const g of answer.groups ?? []) {
          if (g.errorCode === ErrorCode.NONE) await markUnstable(broker, g.groupId ?? "", g.topics as WireTopic[]);
        }
      } else if (answer.errorCode === ErrorCode.NONE) {
        await markUnstable(broker, request.groupId, (answer.topics ?? []) as WireTopic[]);
      }
    }
    return answer;
  },
});

function answerOf(request: OffsetFetchRequest, ctx: RequestContext): Input<OffsetFetchResponse> {
  const { broker, version } = ctx;
  const groups = broker.groups;
  if (version >= 8) {
    return {
      throttleTimeMs: 0,
      groups: request.groups.map((g) =>
        guardPartSync(() => {
          const notCoordinator = groupGate(ctx, AclOperation.DESCRIBE, g.groupId);
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
  const notCoordinator = groupGate(ctx, AclOperation.DESCRIBE, request.groupId);
  if (notCoordinator !== ErrorCode.NONE) return failed(notCoordinator);
  return guardPartSync(() => {
    const r = groups.fetchOffsets(request.groupId, request.topics);
    return { throttleTimeMs: 0, errorCode: r.errorCode, topics: toWire(r) };
  }, {
    logger: broker.logger,
    context: { api: "OffsetFetch", version, group: request.groupId },
    onError: (f) => failed(f.code),
  });
}
