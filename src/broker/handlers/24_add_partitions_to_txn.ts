/**
 * AddPartitionsToTxn (key 24), v0–v5. v0–v3 name one transaction (the producer's own); v4+ carry
 * a batch of transactions, each with `verify_only` (KIP-890: a check that the partitions already
 * belong to the ongoing transaction, TRANSACTION_ABORTABLE otherwise). Per transaction: NOT_COORDINATOR
 * off its shard's coordinator; the coordinator's answer (`txn/transaction.ts`) for every partition,
 * PRODUCER_FENCED as INVALID_PRODUCER_EPOCH before v2 (KIP-588).
 *
 * @module
 */

import { ErrorCode } from "../../protocol/generated/errors.ts";
import {
  ADD_PARTITIONS_TO_TXN_API,
  type AddPartitionsToTxnTopic,
  type AddPartitionsToTxnTopicResult,
} from "../../protocol/generated/24_add_partitions_to_txn.ts";
import type { Input } from "../../protocol/types.ts";
import type { BrokerContext } from "../context.ts";
import { defineHandler } from "../registry.ts";

async function addOne(
  broker: BrokerContext,
  version: number,
  t: {
    transactionalId: string;
    producerId: bigint;
    producerEpoch: number;
    verifyOnly: boolean;
    topics: AddPartitionsToTxnTopic[];
  },
): Promise<Input<AddPartitionsToTxnTopicResult>[]> {
  const txn = broker.transactions;
  let error = txn.coordinatorError(t.transactionalId);
  if (error === ErrorCode.NONE) {
    const partitions = t.topics.flatMap((topic) =>
      topic.partitions.map((partition) => ({ topic: topic.name, partition }))
    );
    error = await txn.addPartitions(t.transactionalId, t.producerId, t.producerEpoch, partitions, t.verifyOnly);
  }
  if (error === ErrorCode.PRODUCER_FENCED && version < 2) error = ErrorCode.INVALID_PRODUCER_EPOCH;
  return t.topics.map((topic) => ({
    name: topic.name,
    resultsByPartition: topic.partitions.map((partitionIndex) => ({ partitionIndex, partitionErrorCode: error })),
  }));
}

export default defineHandler(ADD_PARTITIONS_TO_TXN_API, {
  minVersion: 0,
  maxVersion: 5,
  async handle(request, ctx) {
    const { broker, version } = ctx;
    if (version <= 3) {
      const results = await addOne(broker, version, {
        transactionalId: request.v3AndBelowTransactionalId,
        producerId: request.v3AndBelowProducerId,
        producerEpoch: request.v3AndBelowProducerEpoch,
        verifyOnly: false,
        topics: request.v3AndBelowTopics,
      });
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.NONE,
        resultsByTopicV3AndBelow: results,
        resultsByTransaction: [],
      };
    }
    const resultsByTransaction = [];
    for (const t of request.transactions) {
      resultsByTransaction.push({ transactionalId: t.transactionalId, topicResults: await addOne(broker, version, t) });
    }
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, resultsByTransaction, resultsByTopicV3AndBelow: [] };
  },
});
