/**
 * The transaction coordinator: applies `transaction.ts`'s decisions. Each transactional id's
 * state is a document of the storage's state (namespace `txn`), written before any answer that
 * depends on it; a transaction's staged group offsets are another (`txn-offsets`). Requests for
 * one id run one after another. Ending a transaction stores its Prepare state, writes a COMMIT or
 * ABORT marker (a control batch) to every partition it touched, makes its staged offsets visible
 * (commit) or drops them (abort), then stores the Complete state: a crash in between leaves the
 * Prepare state, which `recover()` completes when the coordinator starts (or takes a shard over).
 * Transactions past their `transaction.timeout.ms` are aborted with the epoch bumped.
 *
 * Markers go to partitions this broker leads; a partition led by another broker (several brokers
 * on PostgreSQL) is not yet reached (WriteTxnMarkers is not sent), and its transaction stays in
 * its Prepare state until it can be.
 *
 * @module
 */

import { ErrorCode } from "../../protocol/generated/errors.ts";
import { buildBatch } from "../../protocol/records/records.ts";
import type { Clock, Logger } from "../../ports.ts";
import type { CommittedOffset, Storage } from "../../storage/engine.ts";
import { coordinatorShard } from "../../storage/placement.ts";
import { fail, ok, type Result } from "../../storage/result.ts";
import type { GroupCoordinator } from "../group/coordinator.ts";
import {
  addOffsets,
  addPartitions,
  completeTransaction,
  endTransaction,
  expireTransaction,
  freshMetadata,
  initProducerId,
  MAX_EPOCH,
  parseTxn,
  serializeTxn,
  type TxnMetadata,
  type TxnPartition,
} from "./transaction.ts";

const NS = "txn";
const OFFSETS_NS = "txn-offsets";

/** What {@link TxnCoordinator} needs. */
export interface TxnCoordinatorOptions {
  storage: Storage;
  groups: GroupCoordinator;
  nodeId: number;
  nextProducerId: () => Promise<bigint>;
  logger: Logger;
  clock: Clock;
  maxTimeoutMs: number;
  /** How often timed-out transactions are looked for (Kafka's 10 s default). */
  abortIntervalMs: number;
}

/** A marker batch: COMMIT (type 1) or ABORT (type 0) of a producer at an epoch. */
export function markerBatch(producerId: bigint, producerEpoch: number, commit: boolean, nowMs: number): Uint8Array {
  // Control record key: version 0, type; value: version 0, coordinator epoch 0.
  return buildBatch(
    [{ key: new Uint8Array([0, 0, 0, commit ? 1 : 0]), value: new Uint8Array(6), timestamp: BigInt(nowMs) }],
    { producerId, producerEpoch, baseSequence: -1, control: true, transactional: true },
  );
}

/** Serialises work per key. */
class KeyedQueue {
  readonly #tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#tails.get(key) ?? Promise.resolve();
    const next = prev.catch(() => {}).then(fn);
    this.#tails.set(key, next);
    next.finally(() => {
      if (this.#tails.get(key) === next) this.#tails.delete(key);
    }).catch(() => {});
    return next;
  }
}

/** The transaction coordinator of the shards this broker leads. */
export class TxnCoordinator {
  readonly #o: TxnCoordinatorOptions;
  readonly #queue = new KeyedQueue();
  #timer: ReturnType<typeof setInterval> | null = null;

  constructor(o: TxnCoordinatorOptions) {
    this.#o = o;
  }

  /** NOT_COORDINATOR unless this broker leads the transactional id's shard. */
  coordinatorError(transactionalId: string): number {
    const { cluster } = this.#o.storage;
    const shard = coordinatorShard(transactionalId, cluster.shardCount);
    return cluster.shardLeader(shard).leader === this.#o.nodeId ? ErrorCode.NONE : ErrorCode.NOT_COORDINATOR;
  }

  async #load(id: string): Promise<TxnMetadata | null> {
    const text = await this.#o.storage.state.get(NS, id);
    return text === null ? null : parseTxn(text);
  }

  async #store(meta: TxnMetadata): Promise<void> {
    await this.#o.storage.state.put(NS, [[meta.transactionalId, serializeTxn(meta)]]);
  }

  /** InitProducerId with a transactional id. */
  initProducerId(
    id: string,
    timeoutMs: number,
    expected: { id: bigint; epoch: number } | null,
  ): Promise<{ error: number; producerId: bigint; producerEpoch: number }> {
    return this.#queue.run(id, async () => {
      const now = this.#o.clock.now();
      let meta = await this.#load(id);
      meta ??= freshMetadata(id, await this.#o.nextProducerId(), timeoutMs, now);
      let spare: bigint | null = null;
      if (meta.producerEpoch >= MAX_EPOCH) spare = await this.#o.nextProducerId();
      const d = initProducerId(meta, {
        timeoutMs,
        maxTimeoutMs: this.#o.maxTimeoutMs,
        expected,
        newProducerId: () => spare ?? -1n,
        nowMs: now,
      });
      if (d.kind === "error") return { error: d.error, producerId: -1n, producerEpoch: -1 };
      if (d.kind === "abort-first") {
        // Fence the running producer: abort its transaction at the bumped epoch; the client retries.
        await this.#store(d.next);
        await this.#complete(d.next);
        return { error: ErrorCode.CONCURRENT_TRANSACTIONS, producerId: -1n, producerEpoch: -1 };
      }
      await this.#store(d.next);
      this.#o.logger.debug("Initialised a transactional producer", {
        transactionalId: id,
        producerId: String(d.next.producerId),
        epoch: d.next.producerEpoch,
      });
      return { error: ErrorCode.NONE, producerId: d.next.producerId, producerEpoch: d.next.producerEpoch };
    });
  }

  /** AddPartitionsToTxn for one transactional id; `verifyOnly` checks without adding (KIP-890). */
  addPartitions(
    id: string,
    producerId: bigint,
    epoch: number,
    partitions: TxnPartition[],
    verifyOnly = false,
  ): Promise<number> {
    return this.#queue.run(id, async () => {
      const meta = await this.#load(id);
      if (verifyOnly) {
        if (meta === null || meta.producerId !== producerId) return ErrorCode.INVALID_PRODUCER_ID_MAPPING;
        if (meta.producerEpoch !== epoch) return ErrorCode.PRODUCER_FENCED;
        const all = partitions.every((p) =>
          meta.partitions.some((q) => q.topic === p.topic && q.partition === p.partition)
        );
        return meta.state === "Ongoing" && all ? ErrorCode.NONE : ErrorCode.TRANSACTION_ABORTABLE;
      }
      for (const p of partitions) {
        const t = this.#o.storage.topics.get(p.topic);
        if (!t.ok || p.partition < 0 || p.partition >= t.value.partitions) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
      }
      const d = addPartitions(meta, { producerId, epoch, partitions, nowMs: this.#o.clock.now() });
      if (d.next) await this.#store(d.next);
      return d.error;
    });
  }

  /** AddOffsetsToTxn. */
  addOffsets(id: string, producerId: bigint, epoch: number, groupId: string): Promise<number> {
    return this.#queue.run(id, async () => {
      const d = addOffsets(await this.#load(id), { producerId, epoch, groupId, nowMs: this.#o.clock.now() });
      if (d.next) await this.#store(d.next);
      return d.error;
    });
  }

  /**
   * TxnOffsetCommit: stages offsets for the transaction (visible when it commits). The group's
   * checks were made by the caller.
   */
  stageOffsets(
    id: string,
    producerId: bigint,
    epoch: number,
    groupId: string,
    offsets: CommittedOffset[],
  ): Promise<number> {
    return this.#queue.run(id, async () => {
      const meta = await this.#load(id);
      if (meta === null || meta.producerId !== producerId) return ErrorCode.INVALID_PRODUCER_ID_MAPPING;
      if (meta.producerEpoch !== epoch) return ErrorCode.PRODUCER_FENCED;
      if (meta.state !== "Ongoing" || !meta.groups.includes(groupId)) {
        // As Kafka: offsets need AddOffsetsToTxn first (transactions v2 adds them implicitly).
        const d = addOffsets(meta, { producerId, epoch, groupId, nowMs: this.#o.clock.now() });
        if (d.error !== ErrorCode.NONE) return d.error;
        if (d.next) await this.#store(d.next);
      }
      const staged = await this.#staged(id);
      const kept = (staged[groupId] ?? []).filter((o) =>
        !offsets.some((n) => n.topic === o.topic && n.partition === o.partition)
      );
      staged[groupId] = [...kept, ...offsets];
      await this.#o.storage.state.put(OFFSETS_NS, [[id, JSON.stringify(staged)]]);
      return ErrorCode.NONE;
    });
  }

  async #staged(id: string): Promise<Record<string, CommittedOffset[]>> {
    const text = await this.#o.storage.state.get(OFFSETS_NS, id);
    return text === null ? {} : JSON.parse(text) as Record<string, CommittedOffset[]>;
  }

  /** EndTxn. */
  endTxn(
    id: string,
    producerId: bigint,
    epoch: number,
    commit: boolean,
    transactionVersion: number,
  ): Promise<{ error: number; producerId: bigint; producerEpoch: number }> {
    return this.#queue.run(id, async () => {
      const meta = await this.#load(id);
      const d = endTransaction(meta, { producerId, epoch, commit, transactionVersion, nowMs: this.#o.clock.now() });
      if (d.kind === "error") return { error: d.error, producerId: -1n, producerEpoch: -1 };
      if (d.kind === "done") {
        return { error: d.error, producerId: meta!.producerId, producerEpoch: meta!.producerEpoch };
      }
      await this.#store(d.next);
      const done = await this.#complete(d.next);
      return { error: ErrorCode.NONE, producerId: done.producerId, producerEpoch: done.producerEpoch };
    });
  }

  /** Writes the markers of a Prepare state, applies or drops its offsets, stores the Complete state. */
  async #complete(meta: TxnMetadata): Promise<TxnMetadata> {
    const commit = meta.state === "PrepareCommit";
    const now = this.#o.clock.now();
    const { storage, nodeId } = this.#o;
    this.#o.logger.debug("Writing transaction markers", {
      transactionalId: meta.transactionalId,
      result: commit ? "COMMIT" : "ABORT",
      partitions: meta.partitions.length,
    });
    for (const p of meta.partitions) {
      const t = storage.topics.get(p.topic);
      if (!t.ok || p.partition >= t.value.partitions) continue; // deleted meanwhile
      const ref = { topicName: p.topic, topicId: t.value.id, partition: p.partition };
      if (storage.cluster.partitionLeader(ref).leader !== nodeId) {
        throw new Error(`Cannot write the transaction marker to ${p.topic}-${p.partition}: another broker leads it`);
      }
      const log = await storage.partition(ref);
      const r = await log.append(markerBatch(meta.producerId, meta.producerEpoch, commit, now));
      if (r.kind === "appended") {
        await r.written;
        await log.waitDurable(r.lastOffset + 1);
      } else if (r.kind === "error") {
        this.#o.logger.warn("A transaction marker was refused", {
          transactionalId: meta.transactionalId,
          partition: `${p.topic}-${p.partition}`,
          error: r.message,
        });
      }
    }
    const staged = await this.#staged(meta.transactionalId);
    if (commit) {
      for (const [groupId, offsets] of Object.entries(staged)) {
        await this.#o.groups.applyTransactionalOffsets(groupId, offsets);
      }
    }
    if (Object.keys(staged).length > 0) await storage.state.put(OFFSETS_NS, [[meta.transactionalId, null]]);
    const done = completeTransaction(meta, this.#o.clock.now());
    await this.#store(done);
    this.#o.logger.debug(commit ? "Committed a transaction" : "Aborted a transaction", {
      transactionalId: meta.transactionalId,
      partitions: meta.partitions.length,
    });
    return done;
  }

  /** Completes every Prepare state of the shards this broker leads (after a crash or a takeover). */
  async recover(): Promise<number> {
    let done = 0;
    for (const [id, text] of await this.#o.storage.state.list(NS)) {
      const meta = parseTxn(text);
      if (meta === null || this.coordinatorError(id) !== ErrorCode.NONE) continue;
      if (meta.state !== "PrepareCommit" && meta.state !== "PrepareAbort") continue;
      await this.#queue.run(id, async () => {
        const now = await this.#load(id);
        if (now && (now.state === "PrepareCommit" || now.state === "PrepareAbort")) {
          await this.#complete(now);
          done++;
        }
      });
    }
    if (done > 0) this.#o.logger.info("Completed transactions a restart left prepared", { count: done });
    return done;
  }

  /** Aborts transactions past their timeout (and completes prepared ones); returns how many it ended. */
  async abortTimedOut(): Promise<number> {
    let ended = 0;
    for (const [id, text] of await this.#o.storage.state.list(NS)) {
      const meta = parseTxn(text);
      if (meta === null || meta.state !== "Ongoing" || this.coordinatorError(id) !== ErrorCode.NONE) continue;
      await this.#queue.run(id, async () => {
        const now = await this.#load(id);
        const expired = now && expireTransaction(now, this.#o.clock.now());
        if (!expired) return;
        this.#o.logger.info("Aborting a transaction past its timeout", { transactionalId: id });
        await this.#store(expired);
        await this.#complete(expired);
        ended++;
      });
    }
    return ended;
  }

  /** Starts recovery and the timeout checks. */
  start(): void {
    void this.recover().catch((err) => this.#o.logger.warn("Cannot recover transactions", { error: String(err) }));
    this.#timer = setInterval(() => {
      void this.recover().then(() => this.abortTimedOut()).catch((err) =>
        this.#o.logger.warn("Cannot check transaction timeouts", { error: String(err) })
      );
    }, this.#o.abortIntervalMs);
    (this.#timer as { unref?: () => void }).unref?.();
  }

  close(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  /**
   * DescribeTransactions (KIP-664): the stored state of one transactional id, as Kafka's
   * `handleDescribeTransactions` reads it. NOT_COORDINATOR off its shard's leader,
   * TRANSACTIONAL_ID_NOT_FOUND for an id never initialised or Dead.
   */
  async describe(id: string): Promise<Result<TxnMetadata>> {
    const error = this.coordinatorError(id);
    if (error !== ErrorCode.NONE) return fail(error);
    const meta = await this.#load(id);
    if (meta === null || meta.state === "Dead") return fail(ErrorCode.TRANSACTIONAL_ID_NOT_FOUND);
    return ok(meta);
  }

  /** ListTransactions (KIP-664): the stored state of every id of the shards this broker leads, by id. */
  async listCoordinated(): Promise<TxnMetadata[]> {
    const out: TxnMetadata[] = [];
    for (const [id, text] of await this.#o.storage.state.list(NS)) {
      const meta = parseTxn(text);
      if (meta !== null && this.coordinatorError(id) === ErrorCode.NONE) out.push(meta);
    }
    return out;
  }
}
