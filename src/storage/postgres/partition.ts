/**
 * A partition log of the `postgres:` engine: one `kbin_batch` row per batch, holding the bytes
 * as they are served (base offset and leader epoch already set), plus the producer columns the
 * idempotence state is rebuilt from.
 *
 * Append: offsets are assigned in memory at once (this broker leads the partition), then batches
 * queued while one transaction is in flight are written together by the next one. Each
 * transaction moves `kbin_partition.next_offset` from the offset this broker expects, where the
 * row still names this broker as leader at the epoch it loaded, in the same transaction as the
 * inserts: if another writer moved it or a rebalance moved the leadership, the update matches no
 * row and the whole group fails with NOT_LEADER_OR_FOLLOWER. A batch is acknowledged (and
 * readable: the high watermark) once its transaction committed, and kept in the broker's tail
 * cache, which serves reads at the tail without a query. After a failed write the
 * partition reloads its offsets and producer state from the database before the next append.
 *
 * @module
 */

import type { PgClient, PgRow, PgTx, PgValue } from "../../ports.ts";
import { ErrorCode } from "../../protocol/generated/errors.ts";
import { batchRecords } from "../../protocol/records/records.ts";
import { admitBatch, DataWaiters, legacyOffsets, stampBatch, takeBatches } from "../append.ts";
import { F, int64, view } from "../batch_fields.ts";
import {
  type AppendOutcome,
  type EpochEnd,
  type PartitionRef,
  type PartitionStorage,
  type ReadResult,
  type RetentionConfig,
  type RetentionOutcome,
  StorageError,
} from "../engine.ts";
import { LeaderEpochs } from "../leader_epochs.ts";
import { NUM_BATCHES_TO_RETAIN, ProducerStateManager, type ProducerStateView } from "../producer_state.ts";
import type { TailLog } from "./tail_cache.ts";
import { abortedBy, type AbortedTxn, AbortedTxnIndex } from "../aborted_txns.ts";
import {
  batchEnd,
  type CleanOutcome,
  type CompactionConfig,
  dueReason,
  filterBatch,
  mapBatch,
  notCleaned,
  OffsetMap,
  producersNewest,
  Throttle,
  TxnCleaningPass,
} from "../compaction.ts";
import { fail, ok, type Result } from "../result.ts";

/** Batches per insert transaction at most (and about 4 MiB). */
const MAX_GROUP_BATCHES = 64;
const MAX_GROUP_BYTES = 4 * 1024 * 1024;
/** Rows a read asks for at most. */
const READ_ROWS = 256;

/** What a partition is opened with. */
export interface PgPartitionOptions {
  now: () => number;
  decompress: (codec: number, data: Uint8Array) => Uint8Array;
  /** This broker's node id once it joined the cluster (appends are fenced by it), else null. */
  node: () => number | null;
  /** This partition's part of the broker's tail cache (tail_cache.ts). */
  tail: TailLog;
  /** Compresses a records section (compaction rewrites compressed batches). */
  compress?: (codec: number, data: Uint8Array) => Uint8Array;
}

interface Queued {
  bytes: Uint8Array;
  base: number;
  last: number;
  /** The transaction an ABORT marker in this batch ends, recorded with it. */
  aborted: AbortedTxn | null;
  resolve: () => void;
  reject: (err: Error) => void;
}

function num(row: PgRow, column: string): number {
  return Number(row[column]);
}

/** One partition stored in PostgreSQL. */
export class PgPartition implements PartitionStorage {
  producers = new ProducerStateManager();
  readonly #pg: PgClient;
  readonly #ref: PartitionRef;
  readonly #name: string;
  readonly #now: () => number;
  readonly #decompress: (codec: number, data: Uint8Array) => Uint8Array;
  readonly #node: () => number | null;
  readonly #tail: TailLog;
  readonly #compress: ((codec: number, data: Uint8Array) => Uint8Array) | undefined;
  readonly #waiters = new DataWaiters();
  #cleanedUpTo = 0;
  #compacting = false;
  #aborted = new AbortedTxnIndex();
  /** The epoch this broker leads at (the row's `leader_epoch` when loaded). */
  #epoch = 0;
  #start = 0;
  /** Offset the next append gets (assigned, maybe not yet committed). */
  #next = 0;
  /** End of what is committed: the high watermark. */
  #committed = 0;
  #size = 0;
  #maxTimestamp = -1;
  #epochs = new LeaderEpochs();
  #queue: Queued[] = [];
  #writing: Promise<void> | null = null;
  #reload: Promise<void> | null = null;
  /** A write failed: offsets and producer state must be reloaded before the next append. */
  #stale = false;
  #deleted: StorageError | null = null;
  /** Set once the leadership moved: appends and reads are refused from then on. */
  #retired: StorageError | null = null;

  private constructor(pg: PgClient, ref: PartitionRef, o: PgPartitionOptions) {
    this.#pg = pg;
    this.#ref = ref;
    this.#name = `${ref.topicName}-${ref.partition}`;
    this.#now = o.now;
    this.#decompress = o.decompress;
    this.#node = o.node;
    this.#tail = o.tail;
    this.#compress = o.compress;
  }

  /** Loads the partition's offsets, epochs and producer state. */
  static async open(pg: PgClient, ref: PartitionRef, o: PgPartitionOptions): Promise<PgPartition> {
    const p = new PgPartition(pg, ref, o);
    await p.#io("open", () => p.#load());
    return p;
  }

  /** Runs database work; a failure (the server gone, a timeout) becomes a StorageError. */
  async #io<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof StorageError) throw err;
      throw new StorageError(`Cannot ${what} ${this.#name} in PostgreSQL: ${(err as Error).message}`, { cause: err });
    }
  }

  async #load(): Promise<void> {
    const key = [this.#ref.topicId, this.#ref.partition];
    const row = (await this.#pg.query(
      `SELECT next_offset, log_start_offset, leader_epoch, cleaned_up_to FROM kbin_partition
       WHERE topic_id = $1 AND partition = $2`,
      key,
    ))[0];
    if (row === undefined) throw new StorageError(`Cannot open log ${this.#name}: the partition is not stored`);
    const stats = (await this.#pg.query(
      `SELECT coalesce(sum(octet_length(bytes)), 0) AS size, coalesce(max(max_timestamp), -1) AS max_ts
       FROM kbin_batch WHERE topic_id = $1 AND partition = $2`,
      key,
    ))[0]!;
    const epochs = await this.#pg.query(
      "SELECT epoch, start_offset FROM kbin_partition_epoch WHERE topic_id = $1 AND partition = $2 ORDER BY epoch",
      key,
    );
    const producers = new ProducerStateManager();
    const now = this.#now();
    for (
      const b of await this.#pg.query(
        // Idempotence needs each producer's newest batches only (Kafka keeps 5): PostgreSQL picks
        // them, so a takeover does not ship every batch row of a long partition. (Transactions will
        // need more: a producer's open transaction can span more batches.)
        `SELECT base_offset, last_offset, max_timestamp, producer_id, producer_epoch, base_sequence, attributes
         FROM (
           SELECT base_offset, last_offset, max_timestamp, producer_id, producer_epoch, base_sequence, attributes,
             row_number() OVER (PARTITION BY producer_id ORDER BY last_offset DESC) AS newest
           FROM kbin_batch WHERE topic_id = $1 AND partition = $2 AND producer_id >= 0
         ) b WHERE newest <= ${NUM_BATCHES_TO_RETAIN} ORDER BY last_offset`,
        key,
      )
    ) {
      const attributes = num(b, "attributes");
      producers.update(
        {
          producerId: BigInt(String(b["producer_id"])),
          producerEpoch: num(b, "producer_epoch"),
          baseSequence: num(b, "base_sequence"),
          lastOffsetDelta: num(b, "last_offset") - num(b, "base_offset"),
          isTransactional: (attributes & 0x10) !== 0,
          isControl: (attributes & 0x20) !== 0,
          maxTimestamp: BigInt(String(b["max_timestamp"])),
        },
        BigInt(String(b["base_offset"])),
        now,
      );
    }
    this.producers = producers;
    // What the cache holds may no longer be followed by what this broker appends next.
    this.#tail.clear();
    this.#next = this.#committed = num(row, "next_offset");
    this.#start = num(row, "log_start_offset");
    this.#cleanedUpTo = num(row, "cleaned_up_to");
    this.#aborted = new AbortedTxnIndex(
      (await this.#pg.query(
        `SELECT producer_id, first_offset, last_offset FROM kbin_aborted_txn
         WHERE topic_id = $1 AND partition = $2 AND last_offset < $3`,
        [...key, num(row, "next_offset")],
      )).map((r) => ({
        producerId: BigInt(String(r["producer_id"])),
        firstOffset: num(r, "first_offset"),
        lastOffset: num(r, "last_offset"),
      })),
    );
    this.#epoch = num(row, "leader_epoch");
    this.#size = num(stats, "size");
    this.#maxTimestamp = num(stats, "max_ts");
    this.#epochs = new LeaderEpochs(
      epochs.map((e) => ({ epoch: num(e, "epoch"), startOffset: num(e, "start_offset") })),
    );
  }

  get logStartOffset(): number {
    return this.#start;
  }
  get logEndOffset(): number {
    return this.#next;
  }
  get highWatermark(): number {
    return this.#committed;
  }
  get sizeBytes(): number {
    return this.#size;
  }
  get failure(): StorageError | null {
    return this.#deleted;
  }
  get leaderEpoch(): number {
    return this.#epoch;
  }

  async append(batch: Uint8Array): Promise<AppendOutcome> {
    if (this.#deleted) throw this.#deleted;
    if (this.#retired) throw this.#retired;
    while (this.#stale) await this.#reloadOnce();
    // No copy: `written` resolves only after the insert has sent these bytes, and the request's
    // buffer is not reused before (the produce handler awaits it).
    const bytes = batch;
    const v = view(bytes);
    const admission = admitBatch(this.producers, v);
    if (admission.kind === "error") {
      // A sequence error is fatal to an idempotent producer: answer it only while this broker
      // still leads at its epoch. A broker that was paused past its lease may not know yet that
      // its partitions moved (and its producer state is behind the new leader's): the producer
      // must get NOT_LEADER_OR_FOLLOWER and find the leader, not a verdict from stale state.
      await this.#confirmLeadership();
      return admission;
    }
    if (admission.kind !== "new") return admission;
    const base = this.#next;
    const last = base + v.getInt32(F.LAST_OFFSET_DELTA);
    stampBatch(v, base, this.#epoch);
    this.#next = last + 1;
    const aborted = admission.info?.isControl
      ? abortedBy(bytes, base, (p) => this.producers.openTransaction(p), this.#decompress)
      : null;
    if (admission.info) this.producers.update(admission.info, BigInt(base), this.#now());
    const written = new Promise<void>((resolve, reject) =>
      this.#queue.push({ bytes, base, last, aborted, resolve, reject })
    );
    written.catch(() => {});
    this.#writing ??= this.#drain();
    return { kind: "appended", baseOffset: base, lastOffset: last, written };
  }

  /** Throws NOT_LEADER_OR_FOLLOWER (and retires this copy) unless the row still names this broker at its epoch. */
  async #confirmLeadership(): Promise<void> {
    const row = (await this.#io(
      "check the leader of",
      () =>
        this.#pg.query(
          "SELECT leader_node, leader_epoch FROM kbin_partition WHERE topic_id = $1 AND partition = $2",
          [
            this.#ref.topicId,
            this.#ref.partition,
          ],
        ),
    ))[0];
    const node = this.#node();
    const leads = row !== undefined && num(row, "leader_epoch") === this.#epoch &&
      (node === null || num(row, "leader_node") === node);
    if (!leads) {
      this.retire();
      throw this.#retired!;
    }
  }

  /** Reloads offsets and producer state after a failed write (once for every waiting append). */
  #reloadOnce(): Promise<void> {
    this.#reload ??= (async () => {
      try {
        while (this.#writing) await this.#writing;
        await this.#load();
        this.#stale = false;
      } catch (err) {
        throw new StorageError(`Cannot reload ${this.#name} from PostgreSQL: ${(err as Error).message}`, {
          cause: err,
        });
      } finally {
        this.#reload = null;
      }
    })();
    return this.#reload;
  }

  /** The single writer: one transaction at a time, each taking what queued meanwhile. */
  async #drain(): Promise<void> {
    try {
      await undefined;
      while (this.#queue.length > 0) {
        let take = 0;
        let bytes = 0;
        while (take < this.#queue.length && take < MAX_GROUP_BATCHES && (take === 0 || bytes < MAX_GROUP_BYTES)) {
          bytes += this.#queue[take]!.bytes.length;
          take++;
        }
        const group = this.#queue.splice(0, take);
        try {
          await this.#insert(group);
        } catch (err) {
          const failure = err instanceof StorageError
            ? err
            : new StorageError(`Cannot append to ${this.#name} in PostgreSQL: ${(err as Error).message}`, {
              cause: err,
            });
          // Offsets after the failed group were assigned from it: they fail too, and the state
          // is reloaded from what the database holds before the next append.
          this.#stale = true;
          for (const q of [...group, ...this.#queue.splice(0)]) q.reject(failure);
          this.#waiters.notify();
          continue;
        }
        // Cached before the high watermark moves, so a read up to it finds them.
        if (!this.#retired && !this.#deleted) { for (const q of group) this.#tail.add(q.base, q.last, q.bytes); }
        this.#committed = group[group.length - 1]!.last + 1;
        for (const q of group) if (q.aborted) this.#aborted.add(q.aborted);
        this.#size += bytes;
        for (const q of group) {
          const ts = int64(view(q.bytes), F.MAX_TIMESTAMP);
          if (ts > this.#maxTimestamp) this.#maxTimestamp = ts;
          q.resolve();
        }
        this.#waiters.notify();
      }
    } finally {
      this.#writing = null;
    }
  }

  async #insert(group: Queued[]): Promise<void> {
    const { topicId, partition } = this.#ref;
    const from = group[0]!.base;
    const to = group[group.length - 1]!.last + 1;
    const epoch = this.#epoch;
    const rows: string[] = [];
    const params: PgValue[] = [topicId, partition];
    for (const q of group) {
      const v = view(q.bytes);
      const at = params.length;
      params.push(
        q.base,
        q.last,
        int64(v, F.MAX_TIMESTAMP),
        int64(v, F.PRODUCER_ID),
        v.getInt16(F.PRODUCER_EPOCH),
        v.getInt32(F.BASE_SEQUENCE),
        v.getInt16(F.ATTRIBUTES),
        q.bytes,
      );
      rows.push(
        `($1::text, $2::int4, $${at + 1}::int8, $${at + 2}::int8, $${at + 3}::int8, $${at + 4}::int8, ` +
          `$${at + 5}::int2, $${at + 6}::int4, $${at + 7}::int2, $${at + 8}::bytea)`,
      );
    }
    // ABORT markers: their transactions go into the index in the same statement.
    const abortedRows: string[] = [];
    for (const q of group) {
      if (!q.aborted) continue;
      const at = params.length;
      params.push(String(q.aborted.producerId), q.aborted.firstOffset, q.aborted.lastOffset);
      abortedRows.push(`($${at + 1}::int8, $${at + 2}::int8, $${at + 3}::int8)`);
    }
    const abortedCte = abortedRows.length === 0 ? "" : `, aborted AS (
         INSERT INTO kbin_aborted_txn (topic_id, partition, producer_id, first_offset, last_offset)
         SELECT $1, $2, a.* FROM moved, (VALUES ${abortedRows.join(", ")}) AS a
         ON CONFLICT DO NOTHING
       )`;
    const n = params.length;
    params.push(to, from, epoch, this.#node());
    // One statement, so one round trip and its own transaction: the log end moves only where this
    // broker still leads at its epoch and the offsets are where it expects, and the rows go in
    // only when it moved.
    const inserted = await this.#pg.query(
      `WITH moved AS (
         UPDATE kbin_partition SET next_offset = $${n + 1}
         WHERE topic_id = $1 AND partition = $2 AND next_offset = $${n + 2} AND leader_epoch = $${n + 3}
           AND ($${n + 4}::int IS NULL OR leader_node = $${n + 4}::int)
         RETURNING 1
       ), inserted AS (
         INSERT INTO kbin_batch (topic_id, partition, base_offset, last_offset, max_timestamp, producer_id,
           producer_epoch, base_sequence, attributes, bytes)
         SELECT v.* FROM moved, (VALUES ${rows.join(", ")}) AS v
         RETURNING 1
       )${abortedCte}
       SELECT count(*)::int AS n FROM inserted`,
      params,
    );
    if (Number(inserted[0]?.["n"]) !== group.length) {
      throw new StorageError(
        `Cannot append to ${this.#name}: another broker leads it now (expected offset ${from} at leader epoch ` +
          `${epoch})`,
        { errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER },
      );
    }
  }

  /** Resolves once everything before `offset` is committed (commits are durable in PostgreSQL). */
  async waitDurable(offset: number): Promise<void> {
    while (this.#committed < offset && this.#writing) await this.#writing;
    if (this.#committed < offset) {
      throw this.#deleted ?? new StorageError(`Log ${this.#name} did not store offset ${offset - 1}`);
    }
  }

  async read(
    offset: number,
    maxBytes: number,
    options: { minOneBatch: boolean; upTo?: number },
  ): Promise<Result<ReadResult>> {
    if (this.#deleted) return fail(ErrorCode.KAFKA_STORAGE_ERROR, this.#deleted.message);
    if (this.#retired) return fail(ErrorCode.NOT_LEADER_OR_FOLLOWER, this.#retired.message);
    const hw = this.#committed;
    const upTo = Math.min(options.upTo ?? hw, hw);
    if (offset < this.#start || offset > this.#next) {
      return fail(ErrorCode.OFFSET_OUT_OF_RANGE, `Offset ${offset} is outside [${this.#start}, ${this.#next}]`);
    }
    const result = (records: Uint8Array) => ok({ records, highWatermark: hw, logStartOffset: this.#start });
    if (offset >= upTo) return result(new Uint8Array(0));
    const cached = this.#tail.read(offset, upTo, maxBytes, options.minOneBatch);
    if (cached !== null) return result(cached);
    let rows: PgRow[];
    try {
      // Only the batches that start within maxBytes leave the server (the sizes come from the
      // TOAST pointers, without reading the bytes).
      rows = await this.#pg.query(
        `SELECT bytes FROM (
           SELECT bytes, last_offset, sum(octet_length(bytes)) OVER (ORDER BY last_offset) - octet_length(bytes) AS before
           FROM (
             SELECT bytes, last_offset FROM kbin_batch
             WHERE topic_id = $1 AND partition = $2 AND last_offset >= $3 AND base_offset < $4
             ORDER BY last_offset LIMIT $5
           ) first_rows
         ) s WHERE before = 0 OR before < $6 ORDER BY last_offset`,
        [this.#ref.topicId, this.#ref.partition, offset, upTo, READ_ROWS, maxBytes],
      );
    } catch (err) {
      return fail(
        ErrorCode.KAFKA_STORAGE_ERROR,
        `Cannot read ${this.#name} from PostgreSQL: ${(err as Error).message}`,
      );
    }
    return result(takeBatches(rows.map((r) => r["bytes"] as Uint8Array), maxBytes, options.minOneBatch));
  }

  onData(fn: () => void): () => void {
    return this.#waiters.add(fn);
  }

  #firstRecordAtOrAfter(
    bytes: Uint8Array,
    timestampMs: number,
    fromOffset = 0,
  ): { offset: number; timestamp: number } | null {
    for (const r of batchRecords(bytes, 0, { decompress: this.#decompress }).records) {
      if (Number(r.offset) < fromOffset) continue;
      if (Number(r.timestamp) >= timestampMs) return { offset: Number(r.offset), timestamp: Number(r.timestamp) };
    }
    return null;
  }

  async offsetForTimestamp(timestampMs: number): Promise<{ offset: number; timestamp: number } | null> {
    const rows = await this.#io("look up a time in", () =>
      this.#pg.query(
        `SELECT bytes FROM kbin_batch WHERE topic_id = $1 AND partition = $2 AND max_timestamp >= $3
         AND last_offset >= $4 AND last_offset < $5
       ORDER BY last_offset LIMIT 2`,
        [this.#ref.topicId, this.#ref.partition, timestampMs, this.#start, this.#committed],
      ));
    // The first batch may straddle the log start: its records below the start do not count.
    for (const row of rows) {
      const found = this.#firstRecordAtOrAfter(row["bytes"] as Uint8Array, timestampMs, this.#start);
      if (found) return found;
    }
    return null;
  }

  async maxTimestampOffset(): Promise<{ offset: number; timestamp: number } | null> {
    const rows = await this.#io("find the largest timestamp of", () =>
      this.#pg.query(
        `SELECT bytes, base_offset, max_timestamp FROM kbin_batch WHERE topic_id = $1 AND partition = $2
         AND max_timestamp >= 0 AND last_offset < $3
       ORDER BY max_timestamp DESC, last_offset LIMIT 1`,
        [this.#ref.topicId, this.#ref.partition, this.#committed],
      ));
    if (rows.length === 0) return null;
    const ts = num(rows[0]!, "max_timestamp");
    return this.#firstRecordAtOrAfter(rows[0]!["bytes"] as Uint8Array, ts) ??
      { offset: num(rows[0]!, "base_offset"), timestamp: ts };
  }

  /** One segment: the log start (judged by the newest record), then the log end when there is data. */
  legacyOffsetsBefore(timestampMs: number, maxCount: number, nowMs: number): number[] {
    const points = [{ offset: this.#start, time: this.#maxTimestamp }];
    if (this.#committed > this.#start) points.push({ offset: this.#committed, time: nowMs });
    return legacyOffsets(points, timestampMs, maxCount);
  }

  epochForOffset(offset: number): number {
    return this.#epochs.epochForOffset(offset);
  }

  endOffsetForEpoch(epoch: number): EpochEnd {
    return this.#epochs.endOffsetFor(epoch, this.#next);
  }

  async startLeaderEpoch(epoch: number): Promise<Result<EpochEnd>> {
    if (this.#deleted) throw this.#deleted;
    if (this.#retired) throw this.#retired;
    while (this.#stale) await this.#reloadOnce();
    while (this.#writing) await this.#writing;
    const next = new LeaderEpochs(this.#epochs.entries);
    if (epoch <= this.#epoch || !next.assign(epoch, this.#next)) {
      return fail(
        ErrorCode.FENCED_LEADER_EPOCH,
        `Cannot start leader epoch ${epoch} of ${this.#name}: the current epoch is ${this.#epoch}`,
      );
    }
    const { topicId, partition } = this.#ref;
    const started = await this.#io("start a leader epoch of", () =>
      this.#pg.transaction(async (tx) => {
        const moved = await tx.query(
          `UPDATE kbin_partition SET leader_epoch = $3 WHERE topic_id = $1 AND partition = $2 AND leader_epoch < $3
         RETURNING next_offset`,
          [topicId, partition, epoch],
        );
        if (moved.length === 0) return null;
        const start = num(moved[0]!, "next_offset");
        await tx.query(
          "INSERT INTO kbin_partition_epoch (topic_id, partition, epoch, start_offset) VALUES ($1, $2, $3, $4)",
          [topicId, partition, epoch, start],
        );
        return start;
      }));
    if (started === null || started !== this.#next) {
      this.#stale = true;
      return fail(
        ErrorCode.FENCED_LEADER_EPOCH,
        `Cannot start leader epoch ${epoch} of ${this.#name}: another leader moved it`,
      );
    }
    this.#epochs = next;
    this.#epoch = epoch;
    return ok({ leaderEpoch: epoch, endOffset: this.#next });
  }

  async deleteRecords(offset: number): Promise<Result<number>> {
    this.#refuseIfGone();
    const hw = this.#committed;
    const target = offset === -1 ? hw : offset;
    if (!Number.isSafeInteger(target) || target < 0 || target > hw) {
      return fail(
        ErrorCode.OFFSET_OUT_OF_RANGE,
        `Cannot delete records of ${this.#name} before offset ${offset}: the high watermark is ${hw}`,
      );
    }
    await this.#moveStart(target);
    return ok(this.#start);
  }

  async applyRetention(config: RetentionConfig, nowMs: number): Promise<RetentionOutcome> {
    this.#refuseIfGone();
    const { topicId, partition } = this.#ref;
    const hw = this.#committed;
    let target = this.#start;
    let reason: RetentionOutcome["reason"] = null;
    if (Number.isFinite(config.retentionMs)) {
      // Batches go from the oldest while their newest record is older than retention.ms (a batch
      // without timestamps, -1, stops the pass), as Kafka's segments do.
      const kept = await this.#io("apply retention to", () =>
        this.#pg.query(
          `SELECT base_offset FROM kbin_batch WHERE topic_id = $1 AND partition = $2 AND last_offset >= $3
             AND (max_timestamp < 0 OR max_timestamp >= $4)
           ORDER BY last_offset LIMIT 1`,
          [topicId, partition, target, nowMs - config.retentionMs],
        ));
      const next = kept.length === 0 ? hw : Math.min(hw, num(kept[0]!, "base_offset"));
      if (next > target) {
        target = next;
        reason = "retention.ms";
      }
    }
    if (Number.isFinite(config.retentionBytes)) {
      // Then while the partition is over retention.bytes by at least the batch's size.
      const rows = await this.#io("apply retention to", () =>
        this.#pg.query(
          `WITH sized AS (
             SELECT last_offset, octet_length(bytes)::int8 AS size FROM kbin_batch
             WHERE topic_id = $1 AND partition = $2 AND last_offset >= $3
           )
           SELECT max(last_offset) AS last FROM (
             SELECT last_offset, sum(size) OVER (ORDER BY last_offset) AS cum FROM sized WHERE last_offset < $4
           ) s WHERE s.cum <= (SELECT coalesce(sum(size), 0) FROM sized) - $5`,
          [topicId, partition, target, hw, config.retentionBytes],
        ));
      const last = rows[0]?.["last"];
      if (last !== null && last !== undefined && Number(last) + 1 > target) {
        target = Number(last) + 1;
        reason ??= "retention.bytes";
      }
    }
    const before = this.#start;
    // Rows below the start went when it moved (DeleteRecords deletes them in the same statement).
    if (target <= before) return { segments: 0, bytes: 0, reason: null, logStartOffset: before };
    const removed = await this.#moveStart(target);
    if (removed.rows > 0 && reason === null) reason = "log start offset";
    return {
      segments: removed.rows,
      bytes: removed.bytes,
      reason: removed.rows > 0 || this.#start > before ? reason : null,
      logStartOffset: this.#start,
    };
  }

  get cleanedUpTo(): number {
    return this.#cleanedUpTo;
  }

  get lastStableOffset(): number {
    const first = this.producers.firstUnstableOffset();
    return first === null ? this.#committed : Math.min(Number(first), this.#committed);
  }

  activeProducers(): Promise<ProducerStateView[]> {
    return Promise.resolve(this.producers.producers());
  }

  abortedTransactions(from: number, to: number): Promise<AbortedTxn[]> {
    return Promise.resolve(this.#aborted.overlapping(from, to));
  }

  /**
   * Compaction over batch rows (the newest row stands for the active segment): the dirty rows'
   * keys are mapped a page at a time, then the rows from the log start to the end of the map are
   * filtered a page at a time, each page's deletes and rewrites in one transaction fenced like
   * appends (this broker must still lead at its epoch). A crash between pages leaves some pages
   * compacted and the checkpoint where it was: the next pass does the rest again, harmlessly.
   */
  async compact(config: CompactionConfig, nowMs: number): Promise<CleanOutcome> {
    this.#refuseIfGone();
    if (this.#compacting) return notCleaned(this.#cleanedUpTo);
    this.#compacting = true;
    try {
      return await this.#io("compact", () => this.#compactRows(config, nowMs));
    } finally {
      this.#compacting = false;
    }
  }

  async #compactRows(config: CompactionConfig, nowMs: number): Promise<CleanOutcome> {
    const { topicId, partition } = this.#ref;
    const key = [topicId, partition];
    const firstDirty = Math.max(this.#cleanedUpTo, this.#start);
    // The cleanable rows end before the newest row, and before the first one younger than
    // min.compaction.lag.ms.
    const bounds = (await this.#pg.query(
      `SELECT (SELECT base_offset FROM kbin_batch WHERE topic_id = $1 AND partition = $2
               ORDER BY last_offset DESC LIMIT 1) AS active,
              (SELECT min(base_offset) FROM kbin_batch WHERE topic_id = $1 AND partition = $2
               AND max_timestamp > $3) AS young`,
      [...key, config.minCompactionLagMs > 0 ? nowMs - config.minCompactionLagMs : Number.MAX_SAFE_INTEGER],
    ))[0]!;
    if (bounds["active"] === null || bounds["active"] === undefined) return notCleaned(this.#cleanedUpTo);
    let cleanEnd = Number(bounds["active"]);
    if (bounds["young"] !== null && bounds["young"] !== undefined) {
      cleanEnd = Math.min(cleanEnd, Number(bounds["young"]));
    }
    // Never past the last stable offset: an open transaction may still abort (Kafka's cleaner
    // stops at the first unstable offset too).
    cleanEnd = Math.min(cleanEnd, this.lastStableOffset);
    if (cleanEnd <= firstDirty) return notCleaned(this.#cleanedUpTo);
    const sizes = (await this.#pg.query(
      `SELECT coalesce(sum(octet_length(bytes)) FILTER (WHERE last_offset >= $3), 0)::int8 AS dirty,
              coalesce(sum(octet_length(bytes)) FILTER (WHERE last_offset < $3), 0)::int8 AS clean,
              coalesce(min(max_timestamp) FILTER (WHERE last_offset >= $3), -1)::int8 AS oldest
       FROM kbin_batch WHERE topic_id = $1 AND partition = $2 AND last_offset < $4`,
      [...key, firstDirty, cleanEnd],
    ))[0]!;
    const reason = dueReason(
      { dirtyBytes: num(sizes, "dirty"), cleanBytes: num(sizes, "clean"), oldestDirtyTimestamp: num(sizes, "oldest") },
      config,
      nowMs,
    );
    if (reason === null) return notCleaned(this.#cleanedUpTo);
    const codecs = {
      decompress: this.#decompress,
      compress: this.#compress ?? (() => {
        throw new StorageError(`Cannot compact ${this.#name}: no compressor for its compressed batches`);
      }),
    };
    const throttle = new Throttle(config.ioMaxBytesPerSecond);
    const page = (from: number, to: number) =>
      this.#pg.query(
        `SELECT bytes, last_offset FROM kbin_batch WHERE topic_id = $1 AND partition = $2
         AND last_offset >= $3 AND last_offset < $4 ORDER BY last_offset LIMIT ${READ_ROWS}`,
        [...key, from, to],
      );
    const map = new OffsetMap(config.dedupeBufferBytes);
    let mapEnd = firstDirty;
    mapping: for (let from = firstDirty;;) {
      const rows = await page(from, cleanEnd);
      if (rows.length === 0) break;
      for (const r of rows) {
        const bytes = r["bytes"] as Uint8Array;
        if (!mapBatch(bytes, map, codecs, this.#aborted)) break mapping;
        mapEnd = batchEnd(bytes);
        await throttle.use(bytes.length);
      }
      from = num(rows[rows.length - 1]!, "last_offset") + 1;
    }
    if (mapEnd <= firstDirty) return notCleaned(this.#cleanedUpTo);
    const newest = producersNewest(this.producers.producers().map((p) => p.lastOffset));
    const outcome: CleanOutcome = {
      cleaned: true,
      bytesBefore: 0,
      bytesAfter: 0,
      recordsRemoved: 0,
      tombstonesRemoved: 0,
      cleanedUpTo: mapEnd,
      reason,
    };
    const horizon = nowMs - config.deleteRetentionMs;
    const txns = new TxnCleaningPass();
    for (let from = this.#start;;) {
      const rows = await page(from, Math.min(mapEnd, cleanEnd));
      if (rows.length === 0) break;
      const drop: number[] = [];
      const rewrite: [number, Uint8Array][] = [];
      for (const r of rows) {
        const bytes = r["bytes"] as Uint8Array;
        const v = view(bytes);
        const keepEmpty = int64(v, F.PRODUCER_ID) >= 0 && newest.has(batchEnd(bytes) - 1);
        const f = filterBatch(bytes, {
          map,
          deleteHorizonMs: horizon,
          keepEmpty,
          codecs,
          aborted: this.#aborted,
          txns,
        });
        outcome.bytesBefore += bytes.length;
        outcome.recordsRemoved += f.recordsRemoved;
        outcome.tombstonesRemoved += f.tombstonesRemoved;
        await throttle.use(bytes.length);
        if (f.bytes === null) drop.push(num(r, "last_offset"));
        else if (f.bytes !== bytes) rewrite.push([num(r, "last_offset"), f.bytes]);
        outcome.bytesAfter += f.bytes?.length ?? 0;
      }
      from = num(rows[rows.length - 1]!, "last_offset") + 1;
      if (drop.length === 0 && rewrite.length === 0) continue;
      await this.#fenced(async (tx) => {
        if (drop.length > 0) {
          await tx.query(
            `DELETE FROM kbin_batch WHERE topic_id = $1 AND partition = $2
             AND last_offset IN (SELECT value::int8 FROM json_array_elements_text($3::text::json))`,
            [...key, JSON.stringify(drop)],
          );
        }
        for (const [last, bytes] of rewrite) {
          await tx.query(
            "UPDATE kbin_batch SET bytes = $4 WHERE topic_id = $1 AND partition = $2 AND last_offset = $3",
            [...key, last, bytes],
          );
        }
      });
    }
    await this.#fenced((tx) =>
      tx.query(
        "UPDATE kbin_partition SET cleaned_up_to = greatest(cleaned_up_to, $3) WHERE topic_id = $1 AND partition = $2",
        [...key, mapEnd],
      )
    );
    this.#cleanedUpTo = Math.max(this.#cleanedUpTo, mapEnd);
    this.#size += outcome.bytesAfter - outcome.bytesBefore;
    // Batches the cache holds may be older copies of rows just rewritten.
    this.#tail.clear();
    return outcome;
  }

  /** Runs `fn` in a transaction that holds the partition row only while this broker leads it at its epoch. */
  async #fenced(fn: (tx: PgTx) => Promise<unknown>): Promise<void> {
    const { topicId, partition } = this.#ref;
    await this.#pg.transaction(async (tx) => {
      const held = await tx.query(
        `SELECT 1 FROM kbin_partition WHERE topic_id = $1 AND partition = $2 AND leader_epoch = $3
         AND ($4::int IS NULL OR leader_node = $4::int) FOR SHARE`,
        [topicId, partition, this.#epoch, this.#node()],
      );
      if (held.length === 0) {
        throw new StorageError(`Cannot compact ${this.#name}: another broker leads it now`, {
          errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER,
        });
      }
      await fn(tx);
    });
  }

  #refuseIfGone(): void {
    if (this.#deleted) throw this.#deleted;
    if (this.#retired) throw this.#retired;
  }

  /**
   * Moves the log start offset up to `target` and deletes the batches wholly below it, in one
   * statement fenced like appends: only while this broker leads at its epoch.
   */
  async #moveStart(target: number): Promise<{ rows: number; bytes: number }> {
    const { topicId, partition } = this.#ref;
    const rows = await this.#io("move the log start offset of", () =>
      this.#pg.query(
        `WITH moved AS (
           UPDATE kbin_partition SET log_start_offset = greatest(log_start_offset, $3)
           WHERE topic_id = $1 AND partition = $2 AND leader_epoch = $4
             AND ($5::int IS NULL OR leader_node = $5::int)
           RETURNING log_start_offset
         ), gone AS (
           DELETE FROM kbin_batch b USING moved
           WHERE b.topic_id = $1 AND b.partition = $2 AND b.last_offset < moved.log_start_offset
           RETURNING octet_length(b.bytes)::int8 AS size
         )
         SELECT (SELECT log_start_offset FROM moved) AS start, (SELECT count(*) FROM gone)::int8 AS n,
           (SELECT coalesce(sum(size), 0) FROM gone)::int8 AS bytes`,
        [topicId, partition, target, this.#epoch, this.#node()],
      ));
    const row = rows[0]!;
    if (row["start"] === null || row["start"] === undefined) {
      throw new StorageError(`Cannot move the log start offset of ${this.#name}: another broker leads it now`, {
        errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER,
      });
    }
    this.#start = Math.max(this.#start, num(row, "start"));
    const removed = { rows: num(row, "n"), bytes: num(row, "bytes") };
    this.#size -= removed.bytes;
    return removed;
  }

  /** Waits for the writes in flight (close). */
  async flush(): Promise<void> {
    while (this.#writing) await this.#writing;
  }

  /**
   * The leadership moved (another broker, or a new epoch): appends fail with
   * NOT_LEADER_OR_FOLLOWER from now on (those in flight are fenced in the database), reads too,
   * and long-polling fetches wake to find out.
   */
  retire(): void {
    this.#retired ??= new StorageError(`This broker no longer leads ${this.#name}`, {
      errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER,
    });
    this.#tail.clear();
    this.#waiters.notify();
  }

  /** The topic was deleted: every later call fails. */
  delete(): void {
    this.#deleted = new StorageError(`Log ${this.#name} was deleted`);
    this.#tail.clear();
    this.#waiters.notify();
  }
}
