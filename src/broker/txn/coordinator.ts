/**
 * The transaction coordinator: applies `transaction.ts`'s decisions. Each transactional id's
 * state is a document of the storage's state (namespace `txn`), written before any answer that
 * depends on it. Requests for one id run one after another. Ending a transaction stores its
 * Prepare state, writes a COMMIT or ABORT marker (a control batch) to every partition it touched
 * and to every consumer group whose offsets it staged (`group_offsets.ts`), then stores the
 * Complete state: a crash in between leaves the Prepare state, which `recover()` completes when
 * the coordinator starts (or takes a shard over). Markers for partitions or groups another broker
 * leads go there as WriteTxnMarkers (several brokers on PostgreSQL), carrying the shard's epoch as
 * the coordinator epoch so that a coordinator that lost its shard is refused. Markers that cannot
 * be written yet (no leader, a broker unreachable) leave the transaction prepared and are retried.
 * Transactions past their `transaction.timeout.ms` are aborted with the epoch bumped; idle ids past
 * `transactional.id.expiration.ms` are removed.
 *
 * @module
 */

import { ErrorCode } from "../../protocol/generated/errors.ts";
import { WRITE_TXN_MARKERS_API } from "../../protocol/generated/27_write_txn_markers.ts";
import type { Clock, Logger } from "../../ports.ts";
import type { Storage } from "../../storage/engine.ts";
import { coordinatorShard } from "../../storage/placement.ts";
import { fail, ok, type Result } from "../../storage/result.ts";
import type { InterBroker } from "../inter_broker.ts";
import type { PendingTxnOffsets } from "./group_offsets.ts";
import { KeyedQueue } from "./keyed_queue.ts";
import { GROUP_OFFSETS_TOPIC, type MarkerWrite, writeMarker } from "./markers.ts";
import type { TxnVerifier } from "./verification.ts";
import {
  addOffsets,
  addPartitions,
  completeTransaction,
  endTransaction,
  expireTransaction,
  freshMetadata,
  initProducerId,
  isExpiredId,
  MAX_EPOCH,
  parseTxn,
  serializeTxn,
  type TxnMetadata,
  type TxnPartition,
} from "./transaction.ts";

const NS = "txn";

/** How long ending a transaction keeps retrying markers before it answers and leaves them to `recover()`. */
const MARKER_RETRY_MS = 5000;

/** What {@link TxnCoordinator} needs. */
export interface TxnCoordinatorOptions {
  storage: Storage;
  /** The consumer groups' staged transactional offsets. */
  pending: PendingTxnOffsets;
  /** Markers for partitions and groups other brokers lead. */
  interBroker: InterBroker;
  /** Told when a marker ends a transaction in a partition. */
  verifier: TxnVerifier;
  nodeId: number;
  nextProducerId: () => Promise<bigint>;
  logger: Logger;
  clock: Clock;
  maxTimeoutMs: number;
  /** How often timed-out transactions are looked for (Kafka's 10 s default). */
  abortIntervalMs: number;
  /** Idle transactional ids older than this are removed (Kafka's 7 days default). */
  idExpirationMs: number;
}

/** Marker errors worth another try: leadership moving, a coordinator loading, storage trouble. */
function isRetriable(code: number): boolean {
  return code === ErrorCode.NOT_LEADER_OR_FOLLOWER || code === ErrorCode.NOT_COORDINATOR ||
    code === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS || code === ErrorCode.COORDINATOR_NOT_AVAILABLE ||
    code === ErrorCode.REQUEST_TIMED_OUT || code === ErrorCode.KAFKA_STORAGE_ERROR ||
    code === ErrorCode.NOT_ENOUGH_REPLICAS || code === ErrorCode.UNKNOWN_SERVER_ERROR;
}

/** The transaction coordinator of the shards this broker leads. */
export class TxnCoordinator {
  readonly #o: TxnCoordinatorOptions;
  readonly #queue = new KeyedQueue();
  #timer: ReturnType<typeof setInterval> | null = null;
  #retry: ReturnType<typeof setTimeout> | null = null;
  #unwatch: (() => void) | null = null;

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
        if (!(await this.#complete(d.next, 1000))) this.#retrySoon();
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
   * TxnOffsetCommit's check with the transaction, when this broker coordinates it: the producer
   * and epoch must be the id's, and the group becomes part of the transaction if it is not yet
   * (as AddOffsetsToTxn; transactions v2 clients rely on it). The group's coordinator stages the
   * offsets.
   */
  checkOffsetCommit(id: string, producerId: bigint, epoch: number, groupId: string): Promise<number> {
    return this.#queue.run(id, async () => {
      const meta = await this.#load(id);
      if (meta === null || meta.producerId !== producerId) return ErrorCode.INVALID_PRODUCER_ID_MAPPING;
      if (meta.producerEpoch !== epoch) return ErrorCode.PRODUCER_FENCED;
      if (meta.state === "Ongoing" && meta.groups.includes(groupId)) return ErrorCode.NONE;
      const d = addOffsets(meta, { producerId, epoch, groupId, nowMs: this.#o.clock.now() });
      if (d.error === ErrorCode.NONE && d.next) await this.#store(d.next);
      return d.error;
    });
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
      // The decision is stored: the answer is NONE even when some markers must wait (as Kafka,
      // which answers once the Prepare state is written); the producer's next request gets
      // CONCURRENT_TRANSACTIONS until they are written.
      const done = await this.#complete(d.next, MARKER_RETRY_MS);
      if (!done) this.#retrySoon();
      const now = done ?? d.next;
      return { error: ErrorCode.NONE, producerId: now.producerId, producerEpoch: now.producerEpoch };
    });
  }

  /** The coordinator epoch of an id's shard (its leader epoch), carried by the markers. */
  #coordinatorEpoch(id: string): number {
    const { cluster } = this.#o.storage;
    return cluster.shardLeader(coordinatorShard(id, cluster.shardCount)).epoch;
  }

  /**
   * Writes the markers of a Prepare state, then stores the Complete state. Markers that fail for
   * want of a leader are retried for `retryMs`.
   * @returns the Complete state, or null when some markers could not be written yet
   */
  async #complete(meta: TxnMetadata, retryMs: number): Promise<TxnMetadata | null> {
    const commit = meta.state === "PrepareCommit";
    const { logger } = this.#o;
    logger.debug("Writing transaction markers", {
      transactionalId: meta.transactionalId,
      result: commit ? "COMMIT" : "ABORT",
      partitions: meta.partitions.length,
    });
    const coordinatorEpoch = this.#coordinatorEpoch(meta.transactionalId);
    const base = { producerId: meta.producerId, producerEpoch: meta.producerEpoch, commit, coordinatorEpoch };
    let todo: MarkerWrite[] = [
      ...meta.partitions.map((p) => ({ ...base, topic: p.topic, partition: p.partition })),
      ...meta.groups.map((g) => ({ ...base, topic: GROUP_OFFSETS_TOPIC, partition: -1, group: g })),
    ];
    const deadline = this.#o.clock.now() + retryMs;
    for (let attempt = 0;; attempt++) {
      todo = await this.#writeMarkers(todo);
      if (todo.length === 0) break;
      if (this.#o.clock.now() >= deadline || this.coordinatorError(meta.transactionalId) !== ErrorCode.NONE) {
        logger.info("Transaction markers wait for their partitions' leaders; the transaction stays prepared", {
          transactionalId: meta.transactionalId,
          waiting: todo.map((m) => `${m.topic}-${m.partition}`).slice(0, 10).join(","),
        });
        return null;
      }
      await new Promise((r) => setTimeout(r, Math.min(100 * 2 ** attempt, 1000)));
    }
    const done = completeTransaction(meta, this.#o.clock.now());
    await this.#store(done);
    logger.debug(commit ? "Committed a transaction" : "Aborted a transaction", {
      transactionalId: meta.transactionalId,
      partitions: meta.partitions.length,
      groups: meta.groups.length,
    });
    return done;
  }

  /**
   * Writes markers where they belong: partitions and groups this broker leads directly, the
   * others through WriteTxnMarkers to their leader.
   * @returns the markers to try again (no leader, leadership moving, a broker unreachable)
   */
  async #writeMarkers(markers: (MarkerWrite & { group?: string })[]): Promise<MarkerWrite[]> {
    const { storage, nodeId, logger, clock, pending, verifier } = this.#o;
    const retry: MarkerWrite[] = [];
    const remote = new Map<number, (MarkerWrite & { group?: string })[]>();
    // Local markers are appended together: one durability wait (group commit) covers them all.
    const local: Promise<void>[] = [];
    for (const m of markers) {
      let leader: number;
      let partition = m.partition;
      if (m.group !== undefined) {
        partition = coordinatorShard(m.group, storage.cluster.shardCount);
        leader = storage.cluster.shardLeader(partition).leader;
      } else {
        const t = storage.topics.get(m.topic);
        if (!t.ok || m.partition >= t.value.partitions) continue; // deleted meanwhile: nothing to mark
        leader = storage.cluster.partitionLeader({ topicName: m.topic, topicId: t.value.id, partition }).leader;
      }
      if (leader < 0) {
        retry.push(m);
      } else if (leader === nodeId) {
        local.push((async () => {
          const error = m.group !== undefined
            ? (await pending.complete(m.group, m.producerId, m.producerEpoch, m.commit), ErrorCode.NONE)
            : await writeMarker({ storage, nodeId, logger, nowMs: clock.now(), verifier }, m);
          if (isRetriable(error)) retry.push(m);
        })());
      } else {
        const list = remote.get(leader) ?? [];
        list.push({ ...m, partition });
        remote.set(leader, list);
      }
    }
    const settled = await Promise.allSettled(local);
    const failure = settled.find((r) => r.status === "rejected");
    if (failure) throw failure.reason;
    for (const [leader, list] of remote) {
      try {
        const byTopic = new Map<string, number[]>();
        for (const m of list) byTopic.set(m.topic, [...(byTopic.get(m.topic) ?? []), m.partition]);
        const m0 = list[0]!;
        const res = await this.#o.interBroker.send(leader, WRITE_TXN_MARKERS_API, () => ({
          markers: [{
            producerId: m0.producerId,
            producerEpoch: m0.producerEpoch,
            transactionResult: m0.commit,
            coordinatorEpoch: m0.coordinatorEpoch,
            transactionVersion: 0,
            topics: [...byTopic].map(([name, partitionIndexes]) => ({ name, partitionIndexes })),
          }],
        }));
        const codes = new Map<string, number>();
        for (const r of res.markers) {
          for (const t of r.topics) {
            for (const p of t.partitions) codes.set(`${t.name}:${p.partitionIndex}`, p.errorCode);
          }
        }
        for (const m of list) {
          const code = codes.get(`${m.topic}:${m.partition}`) ?? ErrorCode.UNKNOWN_SERVER_ERROR;
          if (isRetriable(code)) retry.push(m);
          else if (code !== ErrorCode.NONE) {
            logger.warn("A broker refused a transaction marker", {
              broker: leader,
              partition: `${m.topic}-${m.partition}`,
              error: code,
            });
          }
        }
      } catch (err) {
        logger.info("Cannot send transaction markers to a broker yet", { broker: leader, error: String(err) });
        retry.push(...list);
      }
    }
    return retry;
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
          if (await this.#complete(now, 0)) done++;
          else this.#retrySoon();
        }
      });
    }
    if (done > 0) this.#o.logger.info("Completed transactions a restart left prepared", { count: done });
    return done;
  }

  /**
   * Aborts transactions past their timeout and removes idle ids past
   * `transactional.id.expiration.ms` (Kafka's `transactionalIdExpiration`).
   * @returns how many transactions it aborted and ids it removed
   */
  async abortTimedOut(): Promise<{ aborted: number; expired: number }> {
    let aborted = 0;
    let expired = 0;
    for (const [id, text] of await this.#o.storage.state.list(NS)) {
      const meta = parseTxn(text);
      if (meta === null || this.coordinatorError(id) !== ErrorCode.NONE) continue;
      const nowMs = this.#o.clock.now();
      if (!expireTransaction(meta, nowMs) && !isExpiredId(meta, nowMs, this.#o.idExpirationMs)) continue;
      await this.#queue.run(id, async () => {
        const now = await this.#load(id);
        if (!now) return;
        const at = this.#o.clock.now();
        if (isExpiredId(now, at, this.#o.idExpirationMs)) {
          await this.#o.storage.state.put(NS, [[id, null]]);
          this.#o.logger.info("Removed a transactional id idle past transactional.id.expiration.ms", {
            transactionalId: id,
          });
          expired++;
          return;
        }
        const ending = expireTransaction(now, at);
        if (!ending) return;
        this.#o.logger.info("Aborting a transaction past its timeout", { transactionalId: id });
        await this.#store(ending);
        if (!(await this.#complete(ending, 1000))) this.#retrySoon();
        aborted++;
      });
    }
    return { aborted, expired };
  }

  /** Runs `recover()` again shortly (markers that had to wait). */
  #retrySoon(): void {
    if (this.#retry !== null || this.#timer === null) return;
    this.#retry = setTimeout(() => {
      this.#retry = null;
      void this.recover().catch((err) => this.#o.logger.warn("Cannot recover transactions", { error: String(err) }));
    }, 1000);
    (this.#retry as { unref?: () => void }).unref?.();
  }

  /**
   * Starts recovery, again whenever shards move (a takeover completes what the previous
   * coordinator left prepared), and the timeout checks.
   */
  start(): void {
    const recover = () =>
      void this.recover().catch((err) => this.#o.logger.warn("Cannot recover transactions", { error: String(err) }));
    this.#timer = setInterval(() => {
      void this.recover().then(() => this.abortTimedOut()).catch((err) =>
        this.#o.logger.warn("Cannot check transaction timeouts", { error: String(err) })
      );
    }, this.#o.abortIntervalMs);
    (this.#timer as { unref?: () => void }).unref?.();
    recover();
    let shards = this.#ledShards();
    this.#unwatch = this.#o.storage.cluster.onChange(() => {
      const now = this.#ledShards();
      if (now !== shards) {
        shards = now;
        recover();
      }
    });
  }

  /** The shards this broker leads, with their epochs, as a comparable string. */
  #ledShards(): string {
    const { cluster } = this.#o.storage;
    const led: string[] = [];
    for (let s = 0; s < cluster.shardCount; s++) {
      const l = cluster.shardLeader(s);
      if (l.leader === this.#o.nodeId) led.push(`${s}@${l.epoch}`);
    }
    return led.join(",");
  }

  close(): void {
    if (this.#timer) clearInterval(this.#timer);
    if (this.#retry) clearTimeout(this.#retry);
    this.#unwatch?.();
    this.#timer = null;
    this.#retry = null;
    this.#unwatch = null;
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
