/**
 * AddOffsetsToTxn (key 25), v0–v4: a consumer group's offsets join the transaction (its
 * TxnOffsetCommit stages offsets that become visible when the transaction commits).
 * NOT_COORDINATOR off the transactional id's coordinator; PRODUCER_FENCED as INVALID_PRODUCER_EPOCH
 * before v2 (KIP-588).
 *
 * @module
 */

import { ErrorCode } from "../../protocol/generated/errors.ts";
import { ADD_OFFSETS_TO_TXN_API } from "../../protocol/generated/25_add_offsets_to_txn.ts";
import { defineHandler } from "../registry.ts";
import { AclOperation, ResourceType } from "../acl/model.ts";

export default defineHandler(ADD_OFFSETS_TO_TXN_API, {
  minVersion: 0,
  maxVersion: 4,
  async handle(request, ctx) {
    const txn = ctx.broker.transactions;
    // ACLs: WRITE on the transactional id, READ on the group.
    if (!ctx.allowed(AclOperation.WRITE, ResourceType.TRANSACTIONAL_ID, request.transactionalId)) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED };
    }
    if (!ctx.allowed(AclOperation.READ, ResourceType.GROUP, request.groupId)) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED };
    }
    let error = txn.coordinatorError(request.transactionalId);
    if (error === ErrorCode.NONE) {
      error = await txn.addOffsets(request.transactionalId, request.producerId, request.producerEpoch, request.groupId);
    }
    if (error === ErrorCode.PRODUCER_FENCED && ctx.version < 2) error = ErrorCode.INVALID_PRODUCER_EPOCH;
    return { throttleTimeMs: 0, errorCode: error };
  },
});
