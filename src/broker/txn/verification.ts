/**
 * KIP-890's check that a transactional produce belongs to an ongoing transaction, so that a late
 * or zombie batch can never open a transaction its coordinator does not know (a hanging
 * transaction that would hold every read_committed consumer of the partition at its last stable
 * offset). Before the first transactional batch of a producer in a partition, the partition's
 * leader asks the transaction's coordinator (directly when it is this broker, else
 * AddPartitionsToTxn v4+ with `verify_only`); with transactions v2 (Produce v12+ while the
 * cluster's `transaction.version` is 2) it asks the coordinator to add the partition instead, as
 * those clients do not send AddPartitionsToTxn. A partition stays verified for that producer
 * epoch until a marker ends the transaction there.
 *
 * @module
 */

import { ADD_PARTITIONS_TO_TXN_API } from "../../protocol/generated/24_add_partitions_to_txn.ts";
import { ADD_OFFSETS_TO_TXN_API } from "../../protocol/generated/25_add_offsets_to_txn.ts";
import { ErrorCode } from "../../protocol/generated/errors.ts";
import type { Storage } from "../../storage/engine.ts";
import { coordinatorShard } from "../../storage/placement.ts";
import type { InterBroker } from "../inter_broker.ts";
import type { TxnCoordinator } from "./coordinator.ts";

/** What a produce waiting on the coordinator may answer instead of its coordinator errors. */
function produceError(code: number, produceVersion: number): number {
  switch (code) {
    case ErrorCode.NONE:
      return ErrorCode.NONE;
    case ErrorCode.PRODUCER_FENCED:
      return ErrorCode.INVALID_PRODUCER_EPOCH;
    case ErrorCode.TRANSACTION_ABORTABLE:
    case ErrorCode.INVALID_TXN_STATE:
      // Clients before Produce v12 do not know TRANSACTION_ABORTABLE.
      return produceVersion >= 12 ? ErrorCode.TRANSACTION_ABORTABLE : ErrorCode.INVALID_TXN_STATE;
    case ErrorCode.NOT_COORDINATOR:
    case ErrorCode.COORDINATOR_NOT_AVAILABLE:
    case ErrorCode.COORDINATOR_LOAD_IN_PROGRESS:
    case ErrorCode.CONCURRENT_TRANSACTIONS:
    case ErrorCode.REQUEST_TIMED_OUT:
      // A produce cannot answer coordinator errors: NOT_ENOUGH_REPLICAS makes the client retry.
      return ErrorCode.NOT_ENOUGH_REPLICAS;
    default:
      return code;
  }
}

/** What {@link TxnVerifier} needs. */
export interface TxnVerifierOptions {
  storage: Storage;
  nodeId: number;
  interBroker: InterBroker;
  transactions: () => TxnCoordinator;
  /** The cluster's finalized `transaction.version`. */
  transactionVersion: number;
}

/** Verifies transactional produces against their coordinator. */
export class TxnVerifier {
  readonly #verified = new Map<string, number>();
  readonly #o: TxnVerifierOptions;

  constructor(o: TxnVerifierOptions) {
    this.#o = o;
  }

  /** Forgets a verification once a marker ended the producer's transaction in the partition. */
  forget(topic: string, partition: number, producerId: bigint): void {
    this.#verified.delete(`${topic}\0${partition}\0${producerId}`);
  }

  /**
   * @returns NONE when the batch may be appended, else the produce error to answer
   */
  async verify(
    transactionalId: string | null,
    p: { topic: string; partition: number; producerId: bigint; producerEpoch: number },
    produceVersion: number,
  ): Promise<number> {
    if (transactionalId === null || transactionalId === "") return ErrorCode.INVALID_TXN_STATE;
    const key = `${p.topic}\0${p.partition}\0${p.producerId}`;
    if (this.#verified.get(key) === p.producerEpoch) return ErrorCode.NONE;
    const add = produceVersion >= 12 && this.#o.transactionVersion >= 2;
    const partitions = [{ topic: p.topic, partition: p.partition }];
    const txn = this.#o.transactions();
    let code: number;
    if (txn.coordinatorError(transactionalId) === ErrorCode.NONE) {
      code = await txn.addPartitions(transactionalId, p.producerId, p.producerEpoch, partitions, !add);
    } else {
      code = await this.#remote(transactionalId, p, add);
    }
    if (code === ErrorCode.NONE) this.#verified.set(key, p.producerEpoch);
    return produceError(code, produceVersion);
  }

  /**
   * TxnOffsetCommit v5+ (transactions v2 clients send no AddOffsetsToTxn): the group joins the
   * producer's transaction at its coordinator, which also checks the producer and epoch.
   * @returns NONE, the coordinator's error, or COORDINATOR_LOAD_IN_PROGRESS (retriable) when the
   *   coordinator cannot be reached
   */
  async addGroup(transactionalId: string, producerId: bigint, producerEpoch: number, groupId: string): Promise<number> {
    const txn = this.#o.transactions();
    if (txn.coordinatorError(transactionalId) === ErrorCode.NONE) {
      return await txn.checkOffsetCommit(transactionalId, producerId, producerEpoch, groupId);
    }
    const { cluster } = this.#o.storage;
    const leader = cluster.shardLeader(coordinatorShard(transactionalId, cluster.shardCount)).leader;
    if (leader < 0 || leader === this.#o.nodeId) return ErrorCode.COORDINATOR_LOAD_IN_PROGRESS;
    try {
      const res = await this.#o.interBroker.send(leader, ADD_OFFSETS_TO_TXN_API, () => ({
        transactionalId,
        producerId,
        producerEpoch,
        groupId,
      }));
      switch (res.errorCode) {
        case ErrorCode.NOT_COORDINATOR:
        case ErrorCode.COORDINATOR_NOT_AVAILABLE:
        case ErrorCode.CONCURRENT_TRANSACTIONS:
          return ErrorCode.COORDINATOR_LOAD_IN_PROGRESS;
        default:
          return res.errorCode;
      }
    } catch {
      return ErrorCode.COORDINATOR_LOAD_IN_PROGRESS;
    }
  }

  async #remote(
    transactionalId: string,
    p: { topic: string; partition: number; producerId: bigint; producerEpoch: number },
    add: boolean,
  ): Promise<number> {
    const { cluster } = this.#o.storage;
    const leader = cluster.shardLeader(coordinatorShard(transactionalId, cluster.shardCount)).leader;
    if (leader < 0 || leader === this.#o.nodeId) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    try {
      const res = await this.#o.interBroker.send(leader, ADD_PARTITIONS_TO_TXN_API, (v) => {
        if (v < 4) throw new Error("AddPartitionsToTxn v4+ is needed to verify a transaction");
        return {
          transactions: [{
            transactionalId,
            producerId: p.producerId,
            producerEpoch: p.producerEpoch,
            verifyOnly: !add,
            topics: [{ name: p.topic, partitions: [p.partition] }],
          }],
        };
      });
      if (res.errorCode !== ErrorCode.NONE) return res.errorCode;
      const r = res.resultsByTransaction[0]?.topicResults[0]?.resultsByPartition[0];
      return r?.partitionErrorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR;
    } catch {
      return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    }
  }
}
