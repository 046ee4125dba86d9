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
import { defineHandler, type RequestContext } from "../registry.ts";
import { AclOperation, CLUSTER_NAME, ResourceType } from "../acl/model.ts";

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
  allowed?: RequestContext["allowed"],
): Promise<Input<AddPartitionsToTxnTopicResult>[]> {
  const all = (code: (topic: string) => number) =>
    t.topics.map((topic) => ({
      name: topic.name,
      resultsByPartition: topic.partitions.map((partitionIndex) => ({
        partitionIndex,
        partitionErrorCode: code(topic.name),
      })),
    }));
  if (allowed) {
    // A client's request (v0–v3): WRITE on the transactional id and on every topic; with one topic
    // refused the others are not attempted, as Kafka.
    if (!allowed(AclOperation.WRITE, ResourceType.TRANSACTIONAL_ID, t.transactionalId)) {
      return all(() => ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
    }
    const refused = new Set(
      t.topics.filter((topic) => !allowed(AclOperation.WRITE, ResourceType.TOPIC, topic.name)).map((x) => x.name),
    );
    if (refused.size > 0) {
      return all((name) =>
        refused.has(name) ? ErrorCode.TOPIC_AUTHORIZATION_FAILED : ErrorCode.OPERATION_NOT_ATTEMPTED
      );
    }
  }
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
      }, ctx.allowed);
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.NONE,
        resultsByTopicV3AndBelow: results,
        resultsByTransaction: [],
      };
    }
    // v4+ comes from brokers (KIP-890 verification): CLUSTER_ACTION on the cluster.
    if (!ctx.allowed(AclOperation.CLUSTER_ACTION, ResourceType.CLUSTER, CLUSTER_NAME)) {
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
        resultsByTransaction: [],
        resultsByTopicV3AndBelow: [],
      };
    }
    const resultsByTransaction = [];
    for (const t of request.transactions) {
      resultsByTransaction.push({ transactionalId: t.transactionalId, topicResults: await addOne(broker, version, t) });
    }
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, resultsByTransaction, resultsByTopicV3AndBelow: [] };
  },
});
