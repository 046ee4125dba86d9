/**
 * TxnOffsetCommit (key 28), v0–v5, answered by the group's coordinator: offsets a transaction
 * commits for a consumer group, checked as an OffsetCommit (generation and member from v3), staged
 * with the group (`txn/group_offsets.ts`) and made visible only when the transaction's COMMIT
 * marker reaches the group (dropped on ABORT). When this broker also coordinates the transactional
 * id, the producer and epoch are checked against it and the group joins the transaction if it had
 * not (as transactions v2 does); otherwise a newer epoch's staged offsets fence older ones.
 * From v5 (transactions v2 clients send no AddOffsetsToTxn) the group joins the transaction at
 * its coordinator on whichever broker (AddOffsetsToTxn between brokers; COORDINATOR_LOAD_IN_PROGRESS,
 * which the client retries, while it cannot be reached). NOT_COORDINATOR unless this broker
 * coordinates the group; PRODUCER_FENCED as INVALID_PRODUCER_EPOCH before v3 (KIP-588).
 *
 * @module
 */

import { ErrorCode } from "../../protocol/generated/errors.ts";
import { TXN_OFFSET_COMMIT_API } from "../../protocol/generated/28_txn_offset_commit.ts";
import { defineHandler } from "../registry.ts";
import { AclOperation, ResourceType } from "../acl/model.ts";

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
    // ACLs: WRITE on the transactional id, READ on the group, READ on each topic.
    if (!ctx.allowed(AclOperation.WRITE, ResourceType.TRANSACTIONAL_ID, request.transactionalId)) {
      return answer(() => ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
    }
    if (!ctx.allowed(AclOperation.READ, ResourceType.GROUP, request.groupId)) {
      return answer(() => ErrorCode.GROUP_AUTHORIZATION_FAILED);
    }
    const unreadable = request.topics.find((t) => !ctx.allowed(AclOperation.READ, ResourceType.TOPIC, t.name));
    if (unreadable) return answer(() => ErrorCode.TOPIC_AUTHORIZATION_FAILED);
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
      const { transactions, pendingTxnOffsets } = broker;
      const { transactionalId, producerId, producerEpoch, groupId } = request;
      let error: number = ErrorCode.NONE;
      if (version >= 5) {
        // Transactions v2: the group joins the transaction at its coordinator, wherever it is.
        error = await broker.txnVerifier.addGroup(transactionalId, producerId, producerEpoch, groupId);
      } else if (transactions.coordinatorError(transactionalId) === ErrorCode.NONE) {
        error = await transactions.checkOffsetCommit(transactionalId, producerId, producerEpoch, groupId);
      }
      if (error === ErrorCode.NONE) error = await pendingTxnOffsets.stage(groupId, producerId, producerEpoch, accepted);
      if (error === ErrorCode.PRODUCER_FENCED && version < 3) error = ErrorCode.INVALID_PRODUCER_EPOCH;
      if (error !== ErrorCode.NONE) return answer(() => error);
    }
    return answer((i) => codes[i]!);
  },
});
