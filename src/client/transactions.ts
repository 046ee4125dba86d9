/**
 * Transaction admin over the Kafka protocol (KIP-664), as Kafka's Admin client does it:
 * ListTransactions on every broker, FindCoordinator (key type 1) then DescribeTransactions,
 * DescribeProducers on a partition's leader, and WriteTxnMarkers to abort a hanging transaction.
 * Works against any cluster.
 *
 * @module
 */

import { FIND_COORDINATOR_API } from "../protocol/generated/10_find_coordinator.ts";
import { WRITE_TXN_MARKERS_API } from "../protocol/generated/27_write_txn_markers.ts";
import { DESCRIBE_PRODUCERS_API } from "../protocol/generated/61_describe_producers.ts";
import { DESCRIBE_TRANSACTIONS_API } from "../protocol/generated/65_describe_transactions.ts";
import { LIST_TRANSACTIONS_API } from "../protocol/generated/66_list_transactions.ts";
import { ErrorCode } from "../protocol/generated/errors.ts";
import type { KafkaClient } from "./client.ts";
import { KafkaClientError } from "./errors.ts";

/** One transactional id as ListTransactions reports it, with the broker that answered. */
export interface TransactionListing {
  transactionalId: string;
  producerId: bigint;
  state: string;
  coordinatorId: number;
}

/** ListTransactions filters (empty / -1 / null: no filter). */
export interface TransactionFilters {
  states?: readonly string[];
  producerIds?: readonly bigint[];
  /** Only transactions running longer than this (needs ListTransactions v1). */
  durationMs?: bigint;
  /** Only ids wholly matching this regular expression (needs ListTransactions v2). */
  pattern?: string;
}

/**
 * Lists the transactions of every broker (each answers for the ids it coordinates), sorted by id.
 * @returns the listings, per broker that failed its error code, and the state names some broker did not know
 */
export async function listTransactions(
  client: KafkaClient,
  filters: TransactionFilters = {},
): Promise<{
  transactions: TransactionListing[];
  errors: { nodeId: number; errorCode: number }[];
  unknownStates: string[];
}> {
  const md = await client.metadata([]);
  const minVersion = filters.pattern !== undefined ? 2 : filters.durationMs !== undefined ? 1 : 0;
  const answers = await Promise.all(md.brokers.map(async (b) => {
    const { response } = await client.send(LIST_TRANSACTIONS_API, () => ({
      stateFilters: [...(filters.states ?? [])],
      producerIdFilters: [...(filters.producerIds ?? [])],
      durationFilter: filters.durationMs ?? -1n,
      transactionalIdPattern: filters.pattern ?? null,
    }), { to: await client.node(b.nodeId), minVersion });
    return { nodeId: b.nodeId, response };
  }));
  const transactions: TransactionListing[] = [];
  const errors: { nodeId: number; errorCode: number }[] = [];
  const unknownStates = new Set<string>();
  for (const { nodeId, response } of answers) {
    if (response.errorCode !== ErrorCode.NONE) errors.push({ nodeId, errorCode: response.errorCode });
    for (const s of response.unknownStateFilters) unknownStates.add(s);
    for (const t of response.transactionStates) {
      transactions.push({
        transactionalId: t.transactionalId,
        producerId: t.producerId,
        state: t.transactionState,
        coordinatorId: nodeId,
      });
    }
  }
  transactions.sort((
    a,
    b,
  ) => (a.transactionalId < b.transactionalId ? -1 : a.transactionalId > b.transactionalId ? 1 : 0));
  return { transactions, errors, unknownStates: [...unknownStates] };
}

const RETRIABLE_COORDINATOR: ReadonlySet<number> = new Set([
  ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
  ErrorCode.COORDINATOR_NOT_AVAILABLE,
  ErrorCode.NOT_COORDINATOR,
]);

/** Key type 1 of FindCoordinator: a transactional id. */
const TXN_KEY = 1;

/**
 * The coordinator of a transactional id (FindCoordinator, key type 1), retrying while the broker
 * says it is not available yet.
 * @throws KafkaClientError with the Kafka error code when the broker keeps refusing
 */
export async function findTransactionCoordinator(client: KafkaClient, transactionalId: string): Promise<number> {
  let backoffMs = 50;
  for (let attempt = 0;; attempt++) {
    const { response, version } = await client.send(
      FIND_COORDINATOR_API,
      (v) =>
        v >= 4 ? { keyType: TXN_KEY, coordinatorKeys: [transactionalId] } : { key: transactionalId, keyType: TXN_KEY },
      { minVersion: 1 },
    );
    const c = version >= 4 ? response.coordinators.find((x) => x.key === transactionalId) : response;
    const errorCode = c?.errorCode ?? ErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (errorCode === ErrorCode.NONE) return c!.nodeId;
    if (!RETRIABLE_COORDINATOR.has(errorCode) || attempt >= 8) {
      throw new KafkaClientError(`Cannot find the coordinator of transactional id "${transactionalId}"`, {
        code: errorCode,
      });
    }
    await new Promise((resolve) => setTimeout(resolve, backoffMs));
    backoffMs = Math.min(backoffMs * 2, 1000);
  }
}

/** A transaction as DescribeTransactions reports it. */
export interface TransactionDescription {
  errorCode: number;
  transactionalId: string;
  coordinatorId: number;
  state: string;
  timeoutMs: number;
  /** When the ongoing transaction started, -1 when none. */
  startTimeMs: bigint;
  producerId: bigint;
  producerEpoch: number;
  partitions: { topic: string; partition: number }[];
}

/** Describes one transactional id at its coordinator; `errorCode` carries the Kafka outcome. */
export async function describeTransaction(
  client: KafkaClient,
  transactionalId: string,
): Promise<TransactionDescription> {
  let backoffMs = 50;
  for (let attempt = 0;; attempt++) {
    const coordinatorId = await findTransactionCoordinator(client, transactionalId);
    const { response } = await client.send(DESCRIBE_TRANSACTIONS_API, () => ({ transactionalIds: [transactionalId] }), {
      to: await client.node(coordinatorId),
    });
    const s = response.transactionStates.find((x) => x.transactionalId === transactionalId) ??
      response.transactionStates[0];
    const errorCode = s?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR;
    if (RETRIABLE_COORDINATOR.has(errorCode) && attempt < 8) {
      await new Promise((resolve) => setTimeout(resolve, backoffMs));
      backoffMs = Math.min(backoffMs * 2, 1000);
      continue;
    }
    return {
      errorCode,
      transactionalId,
      coordinatorId,
      state: s?.transactionState ?? "",
      timeoutMs: s?.transactionTimeoutMs ?? 0,
      startTimeMs: s?.transactionStartTimeMs ?? -1n,
      producerId: s?.producerId ?? -1n,
      producerEpoch: s?.producerEpoch ?? -1,
      partitions: (s?.topics ?? []).flatMap((t) => t.partitions.map((partition) => ({ topic: t.topic, partition }))),
    };
  }
}

/** One producer of a partition as DescribeProducers reports it. */
export interface ProducerDescription {
  producerId: bigint;
  producerEpoch: number;
  lastSequence: number;
  lastTimestamp: bigint;
  /** -1 when unknown. */
  coordinatorEpoch: number;
  /** -1 when the producer has no open transaction. */
  currentTxnStartOffset: bigint;
}

/** The leader of a partition from the metadata, or a KafkaClientError naming what is wrong. */
export async function partitionLeader(client: KafkaClient, topic: string, partition: number): Promise<number> {
  const md = await client.metadata([topic]);
  const t = md.topics.find((x) => x.name === topic);
  if (!t || t.errorCode !== ErrorCode.NONE) {
    throw new KafkaClientError(`Cannot find topic "${topic}"`, {
      code: t?.errorCode ?? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    });
  }
  const p = t.partitions.find((x) => x.partitionIndex === partition);
  if (!p) {
    throw new KafkaClientError(
      `Cannot find partition ${partition} of topic "${topic}" (it has ${t.partitions.length} partitions)`,
      { code: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION },
    );
  }
  if (p.leaderId < 0) {
    throw new KafkaClientError(`Partition ${topic}-${partition} has no leader`, {
      code: ErrorCode.LEADER_NOT_AVAILABLE,
    });
  }
  return p.leaderId;
}

/**
 * The active producers of some partitions, asked of one broker (by default each partition's leader).
 * @returns per partition, its error code and producers
 */
export async function describeProducers(
  client: KafkaClient,
  partitions: readonly { topic: string; partition: number }[],
  options: { brokerId?: number } = {},
): Promise<{ topic: string; partition: number; errorCode: number; producers: ProducerDescription[] }[]> {
  const byBroker = new Map<number, { topic: string; partition: number }[]>();
  for (const tp of partitions) {
    const broker = options.brokerId ?? await partitionLeader(client, tp.topic, tp.partition);
    byBroker.set(broker, [...(byBroker.get(broker) ?? []), tp]);
  }
  const out: { topic: string; partition: number; errorCode: number; producers: ProducerDescription[] }[] = [];
  for (const [broker, tps] of byBroker) {
    const topics = [...new Set(tps.map((tp) => tp.topic))].map((name) => ({
      name,
      partitionIndexes: tps.filter((tp) => tp.topic === name).map((tp) => tp.partition),
    }));
    const { response } = await client.send(DESCRIBE_PRODUCERS_API, () => ({ topics }), {
      to: await client.node(broker),
    });
    for (const t of response.topics) {
      for (const p of t.partitions) {
        out.push({ topic: t.name, partition: p.partitionIndex, errorCode: p.errorCode, producers: p.activeProducers });
      }
    }
  }
  return out;
}

/**
 * Writes an ABORT marker for a producer to one partition, at its leader (WriteTxnMarkers, as
 * Kafka's `Admin.abortTransaction`).
 * @returns the partition's error code
 */
export async function abortTransaction(
  client: KafkaClient,
  spec: { topic: string; partition: number; producerId: bigint; producerEpoch: number; coordinatorEpoch: number },
): Promise<number> {
  const leader = await partitionLeader(client, spec.topic, spec.partition);
  const { response } = await client.send(WRITE_TXN_MARKERS_API, () => ({
    markers: [{
      producerId: spec.producerId,
      producerEpoch: spec.producerEpoch,
      transactionResult: false,
      topics: [{ name: spec.topic, partitionIndexes: [spec.partition] }],
      coordinatorEpoch: spec.coordinatorEpoch,
      transactionVersion: 0,
    }],
  }), { to: await client.node(leader) });
  const p = response.markers.find((m) => m.producerId === spec.producerId)?.topics.find((t) => t.name === spec.topic)
    ?.partitions.find((x) => x.partitionIndex === spec.partition);
  return p?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR;
}
