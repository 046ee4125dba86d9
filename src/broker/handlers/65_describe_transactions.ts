/**
 * DescribeTransactions (key 65), v0 (KIP-664).
 *
 * Per transactional id, the coordinator's stored state (Kafka's `handleDescribeTransactions`):
 * the state by Kafka's name (`Empty`, `Ongoing`, `PrepareCommit`, `PrepareAbort`,
 * `CompleteCommit`, `CompleteAbort`, `PrepareEpochFence`), the transaction timeout, when the
 * ongoing transaction started (-1 when none), the producer id and epoch, and the partitions of the
 * ongoing (or completing) transaction by topic. Errors stay with their id: INVALID_REQUEST for an
 * empty id, NOT_COORDINATOR when this broker does not lead the id's coordinator shard,
 * TRANSACTIONAL_ID_NOT_FOUND for an id never initialised (or Dead). Left out: ACLs (Kafka answers
 * TRANSACTIONAL_ID_AUTHORIZATION_FAILED without DESCRIBE on the id).
 *
 * @module
 */

import { ErrorCode } from "../../protocol/generated/errors.ts";
import { DESCRIBE_TRANSACTIONS_API, type TransactionState } from "../../protocol/generated/65_describe_transactions.ts";
import type { Input } from "../../protocol/types.ts";
import type { TxnMetadata } from "../txn/transaction.ts";
import { guardPart } from "../part_errors.ts";
import { AclOperation, ResourceType } from "../acl/model.ts";
import { defineHandler } from "../registry.ts";

type StateResult = Input<TransactionState>;

function failed(transactionalId: string, errorCode: number): StateResult {
  // Kafka leaves the other fields at their defaults on an error.
  return {
    errorCode,
    transactionalId,
    transactionState: "",
    transactionTimeoutMs: 0,
    transactionStartTimeMs: 0n,
    producerId: 0n,
    producerEpoch: 0,
    topics: [],
  };
}

/** The partitions of a transaction grouped by topic, in the stored (sorted) order. */
function byTopic(meta: TxnMetadata): { topic: string; partitions: number[] }[] {
  const out: { topic: string; partitions: number[] }[] = [];
  for (const p of meta.partitions) {
    const last = out.at(-1);
    if (last !== undefined && last.topic === p.topic) last.partitions.push(p.partition);
    else out.push({ topic: p.topic, partitions: [p.partition] });
  }
  return out;
}

export default defineHandler(DESCRIBE_TRANSACTIONS_API, {
  minVersion: 0,
  maxVersion: 0,
  async handle(request, ctx) {
    const { broker, version } = ctx;
    const transactionStates: StateResult[] = [];
    for (const id of request.transactionalIds) {
      if (id === "") {
        transactionStates.push(failed(id, ErrorCode.INVALID_REQUEST));
        continue;
      }
      if (!ctx.allowed(AclOperation.DESCRIBE, ResourceType.TRANSACTIONAL_ID, id)) {
        transactionStates.push(failed(id, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED));
        continue;
      }
      transactionStates.push(
        await guardPart(async () => {
          const r = await broker.transactions.describe(id);
          if (!r.ok) return failed(id, r.code);
          const meta = r.value;
          return {
            errorCode: ErrorCode.NONE,
            transactionalId: id,
            transactionState: meta.state,
            transactionTimeoutMs: meta.timeoutMs,
            transactionStartTimeMs: BigInt(meta.startMs),
            producerId: meta.producerId,
            producerEpoch: meta.producerEpoch,
            topics: byTopic(meta),
          };
        }, {
          logger: broker.logger,
          context: { api: "DescribeTransactions", version, transactionalId: id },
          onError: (f) => failed(id, f.code),
        }),
      );
    }
    return { throttleTimeMs: 0, transactionStates };
  },
});
