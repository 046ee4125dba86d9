/**
 * TxnOffsetCommit (key 28), v0–v5: offsets a transaction commits for a consumer group, checked as
 * an OffsetCommit (generation and member from v3), staged by the transaction coordinator and made
 * visible only when the transaction commits (dropped when it aborts). NOT_COORDINATOR unless this
 * broker coordinates both the group and the transactional id; PRODUCER_FENCED as
 * INVALID_PRODUCER_EPOCH before v3 (KIP-588).
 *
 * @module
 */

import { ErrorCode } from "../../protocol/generated/errors.ts";
import { TXN_OFFSET_COMMIT_API } from "../../protocol/generated/28_txn_offset_commit.ts";
import { defineHandler } from "../registry.ts";

export default defineHandler(TXN_OFFSET_COMMIT_API, {
  minVersion: 0,
  maxVersion: 5,
  async handle(request, ctx) {
    const { broker, version } = ctx;
    const answer = (codeOf: (i: number) => number) => {
      let i = 0;
      return {
        throttleTimeMs: 0,
        topics: request.topics.map((t) => ({
          name: t.name,
          partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: codeOf(i++) })),
        })),
      };
    };
    const groupError = broker.groups.coordinatorError(request.groupId);
    if (groupError !== ErrorCode.NONE) return answer(() => groupError);
    const offsets = request.topics.flatMap((t) =>
      t.partitions.map((p) => ({
        topic: t.name,
        partition: p.partitionIndex,
        offset: Number(p.committedOffset),
        leaderEpoch: p.committedLeaderEpoch,
        metadata: p.committedMetadata,
      }))
    );
    const { codes, accepted } = broker.groups.checkCommit(request.groupId, {
      memberId: version >= 3 ? request.memberId : "",
      groupInstanceId: version >= 3 ? request.groupInstanceId : null,
      generationId: version >= 3 ? request.generationId : -1,
    }, offsets);
    if (accepted.length > 0) {
      let error = broker.transactions.coordinatorError(request.transactionalId);
      if (error === ErrorCode.NONE) {
        error = await broker.transactions.stageOffsets(
          request.transactionalId,
          request.producerId,
          request.producerEpoch,
          request.groupId,
          accepted,
        );
      }
      if (error === ErrorCode.PRODUCER_FENCED && version < 3) error = ErrorCode.INVALID_PRODUCER_EPOCH;
      if (error !== ErrorCode.NONE) return answer(() => error);
    }
    return answer((i) => codes[i]!);
  },
});
