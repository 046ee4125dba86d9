/**
 * OffsetCommit (key 8), v0–v10.
 *
 * Checks as Kafka's coordinator: a generation of -1 with an empty member id is a simple commit
 * (allowed while the group has no members); otherwise UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION,
 * FENCED_INSTANCE_ID (v7+) and REBALANCE_IN_PROGRESS (while assignments are being handed out)
 * apply to every partition. Per partition: UNKNOWN_TOPIC_OR_PARTITION (UNKNOWN_TOPIC_ID for an
 * unknown id at v10), OFFSET_METADATA_TOO_LARGE. Commits are durable before the answer. The
 * v2–v4 retention time is ignored, as in Kafka since 2.1 (offsets.retention.minutes applies).
 *
 * Versions: v0 (no generation or member: always a simple commit) and v1 (a commit timestamp per
 * partition, used as the commit time when it is not -1) were removed by Kafka 4.0 and are served
 * as Kafka 3.9 did, with one difference: Kafka 3.9 kept v0 commits in ZooKeeper, apart from the
 * offsets later versions commit, while kbin keeps every commit in one place, so a v0 commit is
 * seen by every OffsetFetch version. v10 names topics by id (KIP-848).
 *
 * @module
 */

import { OFFSET_COMMIT_API } from "../../protocol/generated/08_offset_commit.ts";
import { ErrorCode } from "../../protocol/generated/errors.ts";
import { AclOperation, ResourceType } from "../acl/model.ts";
import { groupGate } from "../acl/requests.ts";
import type { OffsetToCommit } from "../group/coordinator.ts";
import { guardPart } from "../part_errors.ts";
import { defineHandler } from "../registry.ts";

export default defineHandler(OFFSET_COMMIT_API, {
  minVersion: 0,
  maxVersion: 10,
  async handle(request, ctx) {
    const { broker, version } = ctx;
    const byId = version >= 10;
    // Topics named by an unknown id are answered UNKNOWN_TOPIC_ID and not committed.
    const names = request.topics.map((t) => {
      if (!byId) return t.name;
      const found = broker.storage.topics.byId(t.topicId);
      return found.ok ? found.value.name : null;
    });
    // ACLs: READ on each topic (its partitions are TOPIC_AUTHORIZATION_FAILED and not committed).
    const denied = names.map((n) =>
      n !== null && n !== undefined && !ctx.allowed(AclOperation.READ, ResourceType.TOPIC, n)
    );
    const flat: OffsetToCommit[] = [];
    request.topics.forEach((t, i) => {
      const name = names[i];
      if (name === null || name === undefined || denied[i]) return;
      for (const p of t.partitions) {
        flat.push({
          topic: name,
          partition: p.partitionIndex,
          offset: Number(p.committedOffset),
          leaderEpoch: p.committedLeaderEpoch,
          metadata: p.committedMetadata,
          ...(version === 1 && p.commitTimestamp >= 0n ? { commitMs: Number(p.commitTimestamp) } : {}),
        });
      }
    });
    const notCoordinator = groupGate(ctx, AclOperation.READ, request.groupId);
    const codes = notCoordinator !== ErrorCode.NONE
      ? flat.map(() => notCoordinator)
      : await guardPart(() =>
        broker.groups.commitOffsets(request.groupId, {
          memberId: request.memberId,
          groupInstanceId: request.groupInstanceId,
          generationId: request.generationIdOrMemberEpoch,
          apiVersion: version,
        }, flat), {
        logger: broker.logger,
        context: { api: "OffsetCommit", version, group: request.groupId },
        onError: (f) => flat.map(() => f.code),
      });
    let i = 0;
    return {
      throttleTimeMs: 0,
      topics: request.topics.map((t, ti) => ({
        name: t.name,
        topicId: t.topicId,
        partitions: t.partitions.map((p) => ({
          partitionIndex: p.partitionIndex,
          errorCode: names[ti] === null
            ? ErrorCode.UNKNOWN_TOPIC_ID
            : notCoordinator === ErrorCode.GROUP_AUTHORIZATION_FAILED
            ? notCoordinator
            : denied[ti]
            ? ErrorCode.TOPIC_AUTHORIZATION_FAILED
            : codes[i++]!,
        })),
      })),
    };
  },
});
