/**
 * A partition log of the `memory:` engine: each appended batch is one copied `Uint8Array` in an
 * array, found by binary search on base offsets. Batches are served as the bytes stored, with the
 * same idempotence and epoch rules as every engine (`append.ts`, `leader_epochs.ts`). Everything
 * is visible and "durable" as soon as it is appended; nothing survives the process.
 *
 * @module
 */

import { ErrorCode } from "../../protocol/generated/errors.ts";
import { batchRecords } from "../../protocol/records/records.ts";
import { admitBatch, DataWaiters, floorIndex, legacyOffsets, stampBatch, takeBatches } from "../append.ts";
import { F, int64, view } from "../batch_fields.ts";
import {
  type AppendOutcome,
  type EpochEnd,
  type PartitionStorage,
  type ReadResult,
  type RetentionConfig,
  type RetentionOutcome,
  StorageError,
} from "../engine.ts";
import { LeaderEpochs } from "../leader_epochs.ts";
import { ProducerStateManager, type ProducerStateView } from "../producer_state.ts";
import { fail, ok, type Result } from "../result.ts";
import { planRetention } from "../retention.ts";
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
  TxnCleaningPass,
} from "../compaction.ts";

const WRITTEN: Promise<void> = Promise.resolve();
const EMPTY = new Uint8Array(0);

/** One in-memory partition. */
export class MemoryPartition implements PartitionStorage {
  readonly producers = new ProducerStateManager();
  readonly #name: string;
  readonly #now: () => number;
  readonly #decompress: (codec: number, data: Uint8Array) => Uint8Array;
  readonly #batches: Uint8Array[] = [];
  readonly #bases: number[] = [];
  #size = 0;
  #start = 0;
  #next = 0;
  #epochs = new LeaderEpochs();
  #failure: StorageError | null = null;
  readonly #waiters = new DataWaiters();

  readonly #compress: ((codec: number, data: Uint8Array) => Uint8Array) | undefined;
  #cleanedUpTo = 0;
  readonly #aborted = new AbortedTxnIndex();

  get lastStableOffset(): number {
    const first = this.producers.firstUnstableOffset();
    return first === null ? this.#next : Math.min(Number(first), this.#next);
  }

  activeProducers(): Promise<ProducerStateView[]> {
    return Promise.resolve(this.producers.producers());
  }

  abortedTransactions(from: number, to: number): Promise<AbortedTxn[]> {
    return Promise.resolve(this.#aborted.overlapping(from, to));
  }

  constructor(options: {
    name: string;
    now: () => number;
    decompress: (codec: number, data: Uint8Array) => Uint8Array;
    compress?: (codec: number, data: Uint8Array) => Uint8Array;
  }) {
    this.#name = options.name;
    this.#now = options.now;
    this.#decompress = options.decompress;
    this.#compress = options.compress;
  }

  get cleanedUpTo(): number {
    return this.#cleanedUpTo;
  }

  /** Compaction over batches: the newest batch stands for the active segment. */
  compact(config: CompactionConfig, nowMs: number): Promise<CleanOutcome> {
    if (this.#failure) return Promise.reject(this.#failure);
    const firstDirty = Math.max(this.#cleanedUpTo, this.#start);
    let cleanable = 0;
    // Never past the last stable offset: an open transaction may still abort (Kafka's cleaner
    // stops at the first unstable offset too).
    const stable = this.lastStableOffset;
    while (cleanable < this.#batches.length - 1 && this.#endOf(cleanable) <= stable) {
      const ts = int64(view(this.#batches[cleanable]!), F.MAX_TIMESTAMP);
      if (config.minCompactionLagMs > 0 && ts > nowMs - config.minCompactionLagMs) break;
      cleanable++;
    }
    let dirtyBytes = 0;
    let cleanBytes = 0;
    let firstDirtyIndex = -1;
    for (let i = 0; i < cleanable; i++) {
      if (this.#endOf(i) > firstDirty) {
        dirtyBytes += this.#batches[i]!.length;
        if (firstDirtyIndex < 0) firstDirtyIndex = i;
      } else cleanBytes += this.#batches[i]!.length;
    }
    if (firstDirtyIndex < 0) return Promise.resolve(notCleaned(this.#cleanedUpTo));
    const oldestDirtyTimestamp = int64(view(this.#batches[firstDirtyIndex]!), F.BASE_TIMESTAMP);
    const reason = dueReason({ cleanBytes, dirtyBytes, oldestDirtyTimestamp }, config, nowMs);
    if (reason === null) return Promise.resolve(notCleaned(this.#cleanedUpTo));
    const codecs = {
      decompress: this.#decompress,
      compress: this.#compress ?? (() => {
        throw new StorageError(`Cannot compact ${this.#name}: no compressor for its compressed batches`);
      }),
    };
    const map = new OffsetMap(config.dedupeBufferBytes);
    let mapEnd = firstDirty;
    for (let i = firstDirtyIndex; i < cleanable; i++) {
      if (!mapBatch(this.#batches[i]!, map, codecs, this.#aborted)) break;
      mapEnd = this.#endOf(i);
    }
    if (mapEnd <= firstDirty) return Promise.resolve(notCleaned(this.#cleanedUpTo));
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
    const keptBatches: Uint8Array[] = [];
    const keptBases: number[] = [];
    const txns = new TxnCleaningPass();
    let i = 0;
    for (; i < cleanable && this.#bases[i]! < mapEnd; i++) {
      const batch = this.#batches[i]!;
      const keepEmpty = int64(view(batch), F.PRODUCER_ID) >= 0 && newest.has(batchEnd(batch) - 1);
      const f = filterBatch(batch, {
        map,
        deleteHorizonMs: nowMs - config.deleteRetentionMs,
        keepEmpty,
        codecs,
        aborted: this.#aborted,
        txns,
      });
      outcome.bytesBefore += batch.length;
      outcome.recordsRemoved += f.recordsRemoved;
      outcome.tombstonesRemoved += f.tombstonesRemoved;
      if (f.bytes === null) continue;
      outcome.bytesAfter += f.bytes.length;
      keptBatches.push(f.bytes);
      keptBases.push(this.#bases[i]!);
    }
    // Replace the first i batches by those kept (no spread: the arrays may be long).
    const restBatches = this.#batches.slice(i);
    const restBases = this.#bases.slice(i);
    this.#batches.length = 0;
    this.#bases.length = 0;
    for (const b of keptBatches) this.#batches.push(b);
    for (const b of restBatches) this.#batches.push(b);
    for (const b of keptBases) this.#bases.push(b);
    for (const b of restBases) this.#bases.push(b);
    this.#size += outcome.bytesAfter - outcome.bytesBefore;
    this.#cleanedUpTo = mapEnd;
    return Promise.resolve(outcome);
  }

  get logStartOffset(): number {
    return this.#start;
  }
  get logEndOffset(): number {
    return this.#next;
  }
  get highWatermark(): number {
    return this.#next;
  }
  get sizeBytes(): number {
    return this.#size;
  }
  get failure(): StorageError | null {
    return this.#failure;
  }
  get leaderEpoch(): number {
    return this.#epochs.latest;
  }

  append(batch: Uint8Array): Promise<AppendOutcome> {
    if (this.#failure) return Promise.reject(this.#failure);
    // A copy: the request's buffer is reused once the produce request settles.
    const copy = batch.slice();
    const v = view(copy);
    const admission = admitBatch(this.producers, v);
    if (admission.kind !== "new") return Promise.resolve(admission);
    const baseOffset = this.#next;
    const lastOffset = baseOffset + v.getInt32(F.LAST_OFFSET_DELTA);
    stampBatch(v, baseOffset, this.#epochs.latest);
    this.#batches.push(copy);
    this.#bases.push(baseOffset);
    this.#size += copy.length;
    this.#next = lastOffset + 1;
    if (admission.info?.isControl) {
      const aborted = abortedBy(copy, baseOffset, (p) => this.producers.openTransaction(p), this.#decompress);
      if (aborted) this.#aborted.add(aborted);
    }
    if (admission.info) this.producers.update(admission.info, BigInt(baseOffset), this.#now());
    this.#notify();
    return Promise.resolve({ kind: "appended", baseOffset, lastOffset, written: WRITTEN });
  }

  waitDurable(_offset: number): Promise<void> {
    return this.#failure ? Promise.reject(this.#failure) : WRITTEN;
  }

  /** Index of the batch holding `offset` (the last one whose base is at or below it). */
  #indexOf(offset: number): number {
    return floorIndex(this.#bases.length, (i) => this.#bases[i]!, offset);
  }

  read(
    offset: number,
    maxBytes: number,
    options: { minOneBatch: boolean; upTo?: number },
  ): Promise<Result<ReadResult>> {
    if (this.#failure) return Promise.resolve(fail(ErrorCode.KAFKA_STORAGE_ERROR, this.#failure.message));
    const hw = this.#next;
    const upTo = Math.min(options.upTo ?? hw, hw);
    if (offset < this.#start || offset > this.#next) {
      return Promise.resolve(
        fail(ErrorCode.OFFSET_OUT_OF_RANGE, `Offset ${offset} is outside [${this.#start}, ${this.#next}]`),
      );
    }
    const result = (records: Uint8Array) =>
      Promise.resolve(ok({ records, highWatermark: hw, logStartOffset: this.#start }));
    if (offset >= upTo) return result(EMPTY);
    return result(takeBatches(this.#candidates(offset, upTo), maxBytes, options.minOneBatch));
  }

  /** The stored batches from the one holding `offset`, below `upTo`. */
  *#candidates(offset: number, upTo: number): Generator<Uint8Array> {
    for (let i = this.#indexOf(offset); i < this.#batches.length && this.#bases[i]! < upTo; i++) {
      yield this.#batches[i]!;
    }
  }

  onData(fn: () => void): () => void {
    return this.#waiters.add(fn);
  }

  #notify(): void {
    this.#waiters.notify();
  }

  #firstAtOrAfter(timestampMs: number, from: number): { offset: number; timestamp: number } | null {
    for (let i = from; i < this.#batches.length; i++) {
      const b = this.#batches[i]!;
      if (int64(view(b), F.MAX_TIMESTAMP) < timestampMs) continue;
      const { records } = batchRecords(b, 0, { decompress: this.#decompress });
      for (const r of records) {
        if (Number(r.offset) < this.#start) continue;
        if (Number(r.timestamp) >= timestampMs) return { offset: Number(r.offset), timestamp: Number(r.timestamp) };
      }
    }
    return null;
  }

  offsetForTimestamp(timestampMs: number): Promise<{ offset: number; timestamp: number } | null> {
    return Promise.resolve(this.#firstAtOrAfter(timestampMs, 0));
  }

  maxTimestampOffset(): Promise<{ offset: number; timestamp: number } | null> {
    let best = -1;
    let bestTs = -1;
    for (let i = 0; i < this.#batches.length; i++) {
      const ts = int64(view(this.#batches[i]!), F.MAX_TIMESTAMP);
      if (ts >= 0 && ts > bestTs) {
        best = i;
        bestTs = ts;
      }
    }
    if (best < 0) return Promise.resolve(null);
    return Promise.resolve(this.#firstAtOrAfter(bestTs, best) ?? { offset: this.#bases[best]!, timestamp: bestTs });
  }

  /** One segment: the log start (judged by the newest record), then the log end when there is data. */
  legacyOffsetsBefore(timestampMs: number, maxCount: number, nowMs: number): number[] {
    let maxTs = -1;
    for (const b of this.#batches) maxTs = Math.max(maxTs, int64(view(b), F.MAX_TIMESTAMP));
    const points = [{ offset: this.#start, time: maxTs }];
    if (this.#batches.length > 0) points.push({ offset: this.#next, time: nowMs });
    return legacyOffsets(points, timestampMs, maxCount);
  }

  epochForOffset(offset: number): number {
    return this.#epochs.epochForOffset(offset);
  }

  endOffsetForEpoch(epoch: number): EpochEnd {
    return this.#epochs.endOffsetFor(epoch, this.#next);
  }

  startLeaderEpoch(epoch: number): Promise<Result<EpochEnd>> {
    if (this.#failure) return Promise.reject(this.#failure);
    if (!this.#epochs.assign(epoch, this.#next)) {
      return Promise.resolve(fail(
        ErrorCode.FENCED_LEADER_EPOCH,
        `Cannot start leader epoch ${epoch} of ${this.#name}: the current epoch is ${this.#epochs.latest}`,
      ));
    }
    return Promise.resolve(ok({ leaderEpoch: epoch, endOffset: this.#next }));
  }

  deleteRecords(offset: number): Promise<Result<number>> {
    if (this.#failure) return Promise.reject(this.#failure);
    const target = offset === -1 ? this.#next : offset;
    if (!Number.isSafeInteger(target) || target < 0 || target > this.#next) {
      return Promise.resolve(fail(
        ErrorCode.OFFSET_OUT_OF_RANGE,
        `Cannot delete records of ${this.#name} before offset ${offset}: the high watermark is ${this.#next}`,
      ));
    }
    if (target > this.#start) this.#start = target;
    // Batches wholly below the new start go (no active segment to keep: each batch is a unit).
    let n = 0;
    while (n < this.#batches.length && this.#endOf(n) <= this.#start) n++;
    this.#drop(n);
    return Promise.resolve(ok(this.#start));
  }

  applyRetention(config: RetentionConfig, nowMs: number): Promise<RetentionOutcome> {
    if (this.#failure) return Promise.reject(this.#failure);
    const units = this.#batches.map((b, i) => ({
      size: b.length,
      maxTimestamp: int64(view(b), F.MAX_TIMESTAMP),
      endOffset: this.#endOf(i),
    }));
    const plan = planRetention(units, { logStartOffset: this.#start, highWatermark: this.#next }, config, nowMs);
    if (plan.count > 0) {
      this.#start = Math.max(this.#start, this.#endOf(plan.count - 1));
      this.#drop(plan.count);
    }
    return Promise.resolve({
      segments: plan.count,
      bytes: plan.bytes,
      reason: plan.reason,
      logStartOffset: this.#start,
    });
  }

  /** The offset after batch `i`. */
  #endOf(i: number): number {
    return this.#bases[i]! + view(this.#batches[i]!).getInt32(F.LAST_OFFSET_DELTA) + 1;
  }

  /** Drops the `n` oldest batches. */
  #drop(n: number): void {
    this.#aborted.truncateBefore(this.#start);
    if (n === 0) return;
    for (const b of this.#batches.splice(0, n)) this.#size -= b.length;
    this.#bases.splice(0, n);
  }

  /** The topic was deleted: every later call fails. */
  delete(): void {
    this.#failure = new StorageError(`Log ${this.#name} was deleted`);
    this.#batches.length = 0;
    this.#bases.length = 0;
    this.#notify();
  }
}
