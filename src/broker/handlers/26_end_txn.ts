/**
 * EndTxn (key 26), v0–v5: commits or aborts the transaction. The coordinator stores the Prepare
 * state, writes a COMMIT or ABORT marker to every partition of the transaction, makes staged
 * group offsets visible (commit), stores the Complete state, and answers. v5 (transactions v2,
 * KIP-890) bumps the producer's epoch at every end and answers the new one. NOT_COORDINATOR off
 * the coordinator; PRODUCER_FENCED as INVALID_PRODUCER_EPOCH before v2 (KIP-588).
 *
 * @module
 */

import { ErrorCode } from "../../protocol/generated/errors.ts";
import { END_TXN_API } from "../../protocol/generated/26_end_txn.ts";
import { StorageError } from "../../storage/engine.ts";
import { defineHandler } from "../registry.ts";
import { AclOperation, ResourceType } from "../acl/model.ts";

export default defineHandler(END_TXN_API, {
  minVersion: 0,
  maxVersion: 5,
  async handle(request, ctx) {
    const txn = ctx.broker.transactions;
    if (!ctx.allowed(AclOperation.WRITE, ResourceType.TRANSACTIONAL_ID, request.transactionalId)) {
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
        producerId: -1n,
        producerEpoch: -1,
      };
    }
    const notCoordinator = txn.coordinatorError(request.transactionalId);
    if (notCoordinator !== ErrorCode.NONE) {
      return { throttleTimeMs: 0, errorCode: notCoordinator, producerId: -1n, producerEpoch: -1 };
    }
    try {
      const r = await txn.endTxn(
        request.transactionalId,
        request.producerId,
        request.producerEpoch,
        request.committed,
        ctx.version >= 5 ? 2 : 1,
      );
      const error = r.error === ErrorCode.PRODUCER_FENCED && ctx.version < 2
        ? ErrorCode.INVALID_PRODUCER_EPOCH
        : r.error;
      return { throttleTimeMs: 0, errorCode: error, producerId: r.producerId, producerEpoch: r.producerEpoch };
    } catch (err) {
      // The Prepare state is stored: the coordinator completes it later; the client retries.
      ctx.broker.logger.warn("Cannot end a transaction now; it is completed later", {
        transactionalId: request.transactionalId,
        error: err instanceof Error ? err.message : String(err),
      });
      const code = err instanceof StorageError
        ? ErrorCode.COORDINATOR_LOAD_IN_PROGRESS
        : ErrorCode.CONCURRENT_TRANSACTIONS;
      return { throttleTimeMs: 0, errorCode: code, producerId: -1n, producerEpoch: -1 };
    }
  },
});
