/**
 * InitProducerId (key 22), v0–v6, for idempotent producers.
 *
 * A producer without a transactional id gets a fresh producer id at epoch 0, as Kafka's broker
 * does (even when v3+ sends its old id and epoch: a new id makes every old sequence moot). Ids
 * come from blocks reserved in the metadata store, so they are never reused across restarts. When
 * storage cannot reserve a block (PostgreSQL unreachable), the answer is COORDINATOR_LOAD_IN_PROGRESS,
 * which clients retry, as Kafka's broker answers when its producer id manager has no block.
 *
 * v6 (two-phase commit, KIP-939) is still marked unstable in Kafka 4.3.1, so it is advertised
 * only with `unstable.api.versions.enable=true`; two-phase commit needs a transactional id, so
 * `enable_2pc` without one is INVALID_REQUEST.
 *
 * With a transactional id, the transaction coordinator of its shard answers (`txn/coordinator.ts`):
 * a new id gets a producer id at epoch 0, a known one its epoch bumped (an ongoing transaction is
 * aborted first: CONCURRENT_TRANSACTIONS, which the client retries); NOT_COORDINATOR off the shard's
 * leader; PRODUCER_FENCED (INVALID_PRODUCER_EPOCH before v4) for a zombie (KIP-360/588).
 *
 * @module
 */

import { ErrorCode } from "../../protocol/generated/errors.ts";
import { INIT_PRODUCER_ID_API } from "../../protocol/generated/22_init_producer_id.ts";
import { StorageError } from "../../storage/engine.ts";
import { defineHandler } from "../registry.ts";
import { AclOperation, ResourceType } from "../acl/model.ts";

export default defineHandler(INIT_PRODUCER_ID_API, {
  minVersion: 0,
  maxVersion: 6,
  async handle(request, ctx) {
    if (request.enable2Pc && request.transactionalId === null) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.INVALID_REQUEST, producerId: -1n, producerEpoch: -1 };
    }
    // ACLs, as KafkaApis: WRITE on the transactional id; an idempotent producer needs IDEMPOTENT_WRITE
    // on the cluster or WRITE on some topic (CLUSTER_AUTHORIZATION_FAILED otherwise).
    if (
      request.transactionalId === null &&
      !ctx.allowedOnAny(AclOperation.IDEMPOTENT_WRITE, ResourceType.CLUSTER) &&
      !ctx.allowedOnAny(AclOperation.WRITE, ResourceType.TOPIC)
    ) {
      ctx.broker.logger.warn("Denied an operation", {
        principal: ctx.conn.principal,
        remote: ctx.conn.remote,
        api: "InitProducerId",
        operation: "IDEMPOTENT_WRITE",
        resource: "CLUSTER:kafka-cluster (or WRITE on any TOPIC)",
      });
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
        producerId: -1n,
        producerEpoch: -1,
      };
    }
    if (
      request.transactionalId !== null &&
      !ctx.allowed(AclOperation.WRITE, ResourceType.TRANSACTIONAL_ID, request.transactionalId)
    ) {
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
        producerId: -1n,
        producerEpoch: -1,
      };
    }
    if (request.transactionalId !== null) {
      const txn = ctx.broker.transactions;
      const notCoordinator = txn.coordinatorError(request.transactionalId);
      if (notCoordinator !== ErrorCode.NONE) {
        return { throttleTimeMs: 0, errorCode: notCoordinator, producerId: -1n, producerEpoch: -1 };
      }
      try {
        const r = await txn.initProducerId(
          request.transactionalId,
          request.transactionTimeoutMs,
          ctx.version >= 3 && request.producerId >= 0n
            ? { id: request.producerId, epoch: request.producerEpoch }
            : null,
        );
        // PRODUCER_FENCED came with v4 (KIP-588); older clients get INVALID_PRODUCER_EPOCH.
        const error = r.error === ErrorCode.PRODUCER_FENCED && ctx.version < 4
          ? ErrorCode.INVALID_PRODUCER_EPOCH
          : r.error;
        return { throttleTimeMs: 0, errorCode: error, producerId: r.producerId, producerEpoch: r.producerEpoch };
      } catch (err) {
        if (!(err instanceof StorageError)) throw err;
        return {
          throttleTimeMs: 0,
          errorCode: ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
          producerId: -1n,
          producerEpoch: -1,
        };
      }
    }
    let producerId: bigint;
    try {
      producerId = BigInt(await ctx.broker.producerIds.next());
    } catch (err) {
      if (!(err instanceof StorageError)) throw err;
      // As Kafka's ProducerIdManager when it has no block: retriable, the client asks again.
      ctx.broker.logger.warn("Cannot hand out a producer id: storage failed", { error: err.message });
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
        producerId: -1n,
        producerEpoch: -1,
      };
    }
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, producerId, producerEpoch: 0 };
  },
});
