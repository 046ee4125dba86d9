/**
 * The log of one partition: segments of RecordBatches stored byte-for-byte, offset assignment,
 * group-commit durability, reads as slices of segment files, time lookups and crash recovery.
 *
 * Write path: `append` assigns offsets synchronously (patching only the base offset and leader
 * epoch of the producer's batch) and queues the bytes; a single writer per partition coalesces
 * queued batches into one `writev`. The high watermark is the end of what the OS has accepted.
 * `waitDurable` is group commit: one datasync covers every batch written before it started.
 *
 * Recovery: after an unclean shutdown every segment from the recovery point on is scanned, each
 * batch's CRC-32C verified, and the log truncated at the first torn or corrupt batch.
 *
 * Offsets are JS numbers internally (exact below 2^53, far beyond any real log).
 *
 * @module
 */

import { ErrorCode } from "../../protocol/generated/errors.ts";
import { verifyBatchCrc } from "../../protocol/records/batch.ts";
import { batchRecords } from "../../protocol/records/records.ts";
import type { Clock, FileSystem, Logger } from "../../ports.ts";
import { admitBatch, batchInfoAt, DataWaiters, floorIndex, legacyOffsets, stampBatch } from "../append.ts";
import { batchSizeAt, F, int64, view } from "../batch_fields.ts";
import {
  type AppendOutcome,
  type EpochEnd,
  type LogConfig,
  type PartitionStorage,
  type ReadResult,
  type RetentionConfig,
  type RetentionOutcome,
  StorageError,
  type StorageObserver,
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
  Throttle,
  TxnCleaningPass,
} from "../compaction.ts";
import { Segment, segmentName } from "./segment.ts";

/** Options for {@link PartitionLog.open}. */
export interface PartitionLogOptions {
  fs: FileSystem;
  dir: string;
  clock: Clock;
  logger: Logger;
  config: () => LogConfig;
  /** Decompresses a batch payload (for time look-ups inside compressed batches). */
  decompress: (codec: number, data: Uint8Array) => Uint8Array;
  /** Compresses a records section (compaction rewrites compressed batches); none: refuse to. */
  compress?: (codec: number, data: Uint8Array) => Uint8Array;
  /**
   * Why appends are refused now (the data directory is short of free space), or null. A refused
   * append throws a StorageError (KAFKA_STORAGE_ERROR) without failing the log.
   */
  refuseWrites?: (bytes: number) => string | null;
  /** Told of each group commit's datasync (metrics). */
  observer?: StorageObserver;
  /** True when the data directory was shut down cleanly (indexes and sizes can be trusted). */
  cleanShutdown: boolean;
  /** For log lines. */
  name: string;
}

interface WriteGroup {
  segment: Segment;
  position: number;
  chunks: Uint8Array[];
  bytes: number;
  endOffset: number;
  messages: number;
  started: boolean;
  resolve: () => void;
  reject: (err: Error) => void;
  promise: Promise<void>;
}

interface DurableWaiter {
  offset: number;
  resolve: () => void;
  reject: (err: Error) => void;
}

const CHECKPOINT_VERSION = 1;
const SCAN_CHUNK_BYTES = 8 * 1024 * 1024;

function deferred(): { promise: Promise<void>; resolve: () => void; reject: (e: Error) => void } {
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => {});
  return { promise, resolve, reject };
}

const EPOCH_CHECKPOINT = "leader-epoch-checkpoint";
const ABORTED_TXNS = "aborted-txns.json";

/** One partition's log. */
export class PartitionLog implements PartitionStorage {
  readonly dir: string;
  readonly producers: ProducerStateManager;
  readonly #o: PartitionLogOptions;
  #segments: Segment[];
  #logStartOffset: number;
  #nextOffset: number;
  #writtenOffset: number;
  #flushedOffset: number;
  #pending: WriteGroup[] = [];
  #writing = false;
  #flushing = false;
  #durableWaiters: DurableWaiter[] = [];
  readonly #dataWaiters = new DataWaiters();
  #failed: StorageError | null = null;
  #busy: Promise<void> | null = null;
  #messagesSinceFlush = 0;
  #lastFlushMs: number;
  #closed = false;
  #epochs: LeaderEpochs;
  /** Checkpoint writes, one after another, each taking the values current when it starts. */
  #checkpointing: Promise<void> = Promise.resolve();
  /** ABORT markers (Kafka's `.txnindex`), saved in `aborted-txns.json` and rebuilt by recovery. */
  #aborted = new AbortedTxnIndex();
  #savingAborted: Promise<void> = Promise.resolve();
  /** Where the dirty section starts: everything below was compacted (Kafka's cleaner checkpoint). */
  #cleanedUpTo = 0;
  #compacting = false;
  /** Segments removed whose files go once `file.delete.delay.ms` passed. */
  readonly #doomed = new Map<Segment, ReturnType<typeof setTimeout>>();

  private constructor(
    o: PartitionLogOptions,
    segments: Segment[],
    logStartOffset: number,
    producers: ProducerStateManager,
    epochs: LeaderEpochs,
  ) {
    this.#epochs = epochs;
    this.#o = o;
    this.dir = o.dir;
    this.#segments = segments;
    this.#logStartOffset = logStartOffset;
    this.#nextOffset = segments[segments.length - 1]!.nextOffset;
    this.#writtenOffset = this.#nextOffset;
    this.#flushedOffset = this.#nextOffset;
    this.#lastFlushMs = o.clock.now();
    this.producers = producers;
  }

  /** First offset still in the log. */
  get logStartOffset(): number {
    return this.#logStartOffset;
  }
  /** Offset the next append gets. */
  get logEndOffset(): number {
    return this.#nextOffset;
  }
  /** End of what readers may see: everything the OS has accepted. */
  get highWatermark(): number {
    return this.#writtenOffset;
  }
  /** End of what is on stable storage. */
  get flushedOffset(): number {
    return this.#flushedOffset;
  }
  /** Non-null once a disk operation failed; the log then refuses reads and writes. */
  get failure(): StorageError | null {
    return this.#failed;
  }
  /** Whether the log went offline because the disk was full (ENOSPC): it may be reopened once space returns. */
  get failedForSpace(): boolean {
    const cause = (this.#failed?.cause as { code?: unknown } | undefined)?.code;
    return cause === "ENOSPC";
  }

  /** Number of segments (for tests and metrics). */
  get segmentCount(): number {
    return this.#segments.length;
  }
  /** Bytes in all segments. */
  get sizeBytes(): number {
    return this.#segments.reduce((n, s) => n + s.size, 0);
  }
  /** The epoch appends are stamped with. */
  get leaderEpoch(): number {
    return this.#epochs.latest;
  }

  epochForOffset(offset: number): number {
    return this.#epochs.epochForOffset(offset);
  }

  endOffsetForEpoch(epoch: number): EpochEnd {
    return this.#epochs.endOffsetFor(epoch, this.#nextOffset);
  }

  async startLeaderEpoch(epoch: number): Promise<Result<EpochEnd>> {
    while (this.#busy) await this.#busy;
    if (this.#failed) throw this.#failed;
    const next = new LeaderEpochs(this.#epochs.entries);
    if (!next.assign(epoch, this.#nextOffset)) {
      return fail(
        ErrorCode.FENCED_LEADER_EPOCH,
        `Cannot start leader epoch ${epoch} of ${this.#o.name}: the current epoch is ${this.#epochs.latest}`,
      );
    }
    await this.#o.fs.writeFileAtomic(
      `${this.#o.dir}/${EPOCH_CHECKPOINT}`,
      new TextEncoder().encode(next.toCheckpoint()),
    );
    this.#epochs = next;
    return ok({ leaderEpoch: epoch, endOffset: this.#nextOffset });
  }

  /** Opens (creating or recovering) the log in `dir`. */
  static async open(o: PartitionLogOptions): Promise<PartitionLog> {
    const { fs, dir } = o;
    await fs.mkdir(dir);
    await finishCompactionSwaps(fs, dir, o);
    const names = await fs.readdir(dir);
    for (const n of names) {
      if (n.includes(".tmp-") || n.endsWith(".deleted") || n.endsWith(".cleaned")) await fs.remove(`${dir}/${n}`);
    }
    // Indexes of a segment whose deletion a crash interrupted (its .log went first).
    for (const n of names) {
      const m = /^(\d{20})\.(index|timeindex)$/.exec(n);
      if (m && !names.includes(`${m[1]}.log`)) await fs.remove(`${dir}/${n}`);
    }
    const bases = names.filter((n) => /^\d{20}\.log$/.test(n)).map((n) => Number(n.slice(0, 20))).sort((a, b) => a - b);
    const checkpoint = await readCheckpoint(fs, dir);
    const segments: Segment[] = [];
    if (bases.length === 0) {
      segments.push(await Segment.create(fs, dir, checkpoint?.logStartOffset ?? 0));
    } else {
      for (const b of bases) segments.push(await Segment.open(fs, dir, b));
    }
    const recoveryPoint = o.cleanShutdown ? Infinity : (checkpoint?.recoveryPoint ?? 0);
    let truncatedAt = -1;
    for (let i = 0; i < segments.length; i++) {
      const seg = segments[i]!;
      const isLast = i === segments.length - 1;
      const nextBase = isLast ? Infinity : segments[i + 1]!.baseOffset;
      const mustVerify = nextBase > recoveryPoint;
      if (!mustVerify && (await seg.loadIndexes(fs))) {
        await restoreBookkeeping(seg, isLast ? Infinity : nextBase, o);
        continue;
      }
      const result = await scanSegment(seg, { verify: mustVerify, indexIntervalBytes: o.config().indexIntervalBytes });
      if (result.validEnd < seg.size) {
        o.logger.warn("Truncating torn or corrupt log tail during recovery", {
          log: o.name,
          segment: seg.baseOffset,
          position: result.validEnd,
          bytes: seg.size - result.validEnd,
          reason: result.reason,
        });
        await seg.file.truncate(result.validEnd);
        await seg.file.datasync();
        seg.size = seg.writtenSize = seg.syncedSize = result.validEnd;
        truncatedAt = i;
        break;
      }
    }
    if (truncatedAt >= 0) {
      for (const dropped of segments.splice(truncatedAt + 1)) {
        o.logger.warn("Removing log segment after a truncation", {
          log: o.name,
          segment: dropped.baseOffset,
          bytes: dropped.size,
        });
        await dropped.removeFiles(fs);
      }
    }
    // An empty non-first segment left by a crash right after a roll is fine; an empty log
    // whose only segment starts after 0 keeps its base offset as the log start.
    const logStartOffset = Math.max(checkpoint?.logStartOffset ?? segments[0]!.baseOffset, segments[0]!.baseOffset);
    const abortedBytes = await fs.readFile(`${dir}/${ABORTED_TXNS}`);
    const aborted = (abortedBytes && AbortedTxnIndex.parse(new TextDecoder().decode(abortedBytes))) ??
      new AbortedTxnIndex();
    const producers = await loadProducerState(fs, dir, segments, o, aborted);
    const end = segments[segments.length - 1]!.nextOffset;
    const epochBytes = await fs.readFile(`${dir}/${EPOCH_CHECKPOINT}`);
    const epochs = epochBytes === null
      ? new LeaderEpochs()
      : LeaderEpochs.fromCheckpoint(new TextDecoder().decode(epochBytes));
    if (epochs === null) throw new StorageError(`Cannot open log ${o.name}: its ${EPOCH_CHECKPOINT} is not valid`);
    if (epochs.truncateFromEnd(end)) {
      await fs.writeFileAtomic(`${dir}/${EPOCH_CHECKPOINT}`, new TextEncoder().encode(epochs.toCheckpoint()));
    }
    const log = new PartitionLog(o, segments, Math.min(logStartOffset, end), producers, epochs);
    log.#cleanedUpTo = Math.min(checkpoint?.cleanedUpTo ?? 0, end);
    aborted.truncateFrom(end);
    aborted.truncateBefore(log.#logStartOffset);
    log.#aborted = aborted;
    await log.#saveAborted();
    await log.#writeCheckpoint();
    return log;
  }

  /**
   * Appends one validated v2 batch (the caller has already applied LogAppendTime). Idempotent
   * batches are checked against the producer state first: a retry is answered with the
   * original offsets, a gap or a stale epoch with its Kafka error.
   */
  async append(batch: Uint8Array): Promise<AppendOutcome> {
    while (this.#busy) await this.#busy;
    if (this.#failed) throw this.#failed;
    if (this.#closed) throw new StorageError(`Log ${this.#o.name} is closed`);
    const v = view(batch);
    const lastOffsetDelta = v.getInt32(F.LAST_OFFSET_DELTA);
    const maxTimestamp = int64(v, F.MAX_TIMESTAMP);
    const now = this.#o.clock.now();
    const refused = this.#o.refuseWrites?.(batch.length) ?? null;
    if (refused !== null) throw new StorageError(`Cannot append to ${this.#o.name}: ${refused}`);
    const admission = admitBatch(this.producers, v);
    if (admission.kind !== "new") return admission;
    const info = admission.info;
    const config = this.#o.config();
    let active = this.#segments[this.#segments.length - 1]!;
    const tooBig = active.size > 0 && active.size + batch.length > config.segmentBytes;
    const tooOld = active.firstAppendMs !== null && now - active.firstAppendMs >= config.segmentMs;
    if (tooBig || tooOld) {
      const release = deferred();
      this.#busy = release.promise;
      try {
        active = await this.#roll();
      } finally {
        this.#busy = null;
        release.resolve();
      }
      if (this.#failed) throw this.#failed;
    }
    const position = active.size;
    const baseOffset = this.#nextOffset;
    const lastOffset = baseOffset + lastOffsetDelta;
    stampBatch(v, baseOffset, this.#epochs.latest);
    active.size += batch.length;
    active.noteBatch(position, batch.length, baseOffset, lastOffset, maxTimestamp, config.indexIntervalBytes);
    active.firstAppendMs ??= now;
    this.#nextOffset = lastOffset + 1;
    if (info?.isControl) {
      const ended = abortedBy(batch, baseOffset, (p) => this.producers.openTransaction(p), this.#o.decompress);
      if (ended && this.#aborted.add(ended)) void this.#saveAborted().catch((err) => this.#fail("txn index", err));
    }
    if (info) this.producers.update(info, BigInt(baseOffset), now);
    const written = this.#enqueueWrite(active, position, batch, this.#nextOffset, lastOffsetDelta + 1);
    return { kind: "appended", baseOffset, lastOffset, written };
  }

  #enqueueWrite(
    segment: Segment,
    position: number,
    batch: Uint8Array,
    endOffset: number,
    messages: number,
  ): Promise<void> {
    const last = this.#pending[this.#pending.length - 1];
    if (last && !last.started && last.segment === segment && last.position + last.bytes === position) {
      last.chunks.push(batch);
      last.bytes += batch.length;
      last.endOffset = endOffset;
      last.messages += messages;
      return last.promise;
    }
    const d = deferred();
    this.#pending.push({
      segment,
      position,
      chunks: [batch],
      bytes: batch.length,
      endOffset,
      messages,
      started: false,
      ...d,
    });
    if (!this.#writing) queueMicrotask(() => this.#writeLoop());
    return d.promise;
  }

  async #writeLoop(): Promise<void> {
    if (this.#writing) return;
    this.#writing = true;
    try {
      while (this.#pending.length > 0 && !this.#failed) {
        const g = this.#pending[0]!;
        g.started = true;
        try {
          if (g.chunks.length === 1) await g.segment.file.write(g.chunks[0]!, g.position);
          else await g.segment.file.writev(g.chunks, g.position);
        } catch (err) {
          this.#fail("write", err);
          return;
        }
        this.#pending.shift();
        g.segment.writtenSize = g.position + g.bytes;
        this.#writtenOffset = g.endOffset;
        this.#messagesSinceFlush += g.messages;
        g.resolve();
        this.#notifyData();
        this.#maybeFlush();
      }
    } finally {
      this.#writing = false;
    }
  }

  /** Resolves once everything before `offset` is on stable storage (group commit). */
  waitDurable(offset: number): Promise<void> {
    if (this.#failed) return Promise.reject(this.#failed);
    if (offset <= this.#flushedOffset) return Promise.resolve();
    const d = deferred();
    this.#durableWaiters.push({ offset, resolve: d.resolve, reject: d.reject });
    this.#maybeFlush();
    return d.promise;
  }

  /** Applies the time-based flush policy (`flush.ms`); called periodically by the log manager. */
  tick(nowMs: number): void {
    const { flushMs } = this.#o.config();
    if (Number.isFinite(flushMs) && this.#writtenOffset > this.#flushedOffset && nowMs - this.#lastFlushMs >= flushMs) {
      this.#flush();
    }
  }

  #maybeFlush(): void {
    if (this.#flushing || this.#failed) return;
    const needed = this.#durableWaiters.some((w) => w.offset <= this.#writtenOffset);
    const byCount = this.#messagesSinceFlush >= this.#o.config().flushMessages;
    if (needed || byCount) this.#flush();
  }

  #flush(): void {
    if (this.#flushing || this.#failed) return;
    this.#flushing = true;
    const target = this.#writtenOffset;
    const dirty = this.#segments.filter((s) => s.writtenSize > s.syncedSize).map((s) => [s, s.writtenSize] as const);
    this.#messagesSinceFlush = 0;
    const started = performance.now();
    (async () => {
      try {
        for (const [seg, size] of dirty) {
          if (seg.deleted) continue;
          try {
            await seg.file.datasync();
          } catch (err) {
            if (seg.deleted) continue; // closed by retention meanwhile
            throw err;
          }
          seg.syncedSize = Math.max(seg.syncedSize, size);
        }
        this.#flushedOffset = Math.max(this.#flushedOffset, target);
        this.#lastFlushMs = this.#o.clock.now();
        const still: DurableWaiter[] = [];
        for (const w of this.#durableWaiters) {
          if (w.offset <= this.#flushedOffset) w.resolve();
          else still.push(w);
        }
        const released = this.#durableWaiters.length - still.length;
        this.#durableWaiters = still;
        if (dirty.length > 0) this.#o.observer?.fsync("log", (performance.now() - started) / 1000, released);
      } catch (err) {
        this.#fail("datasync", err);
      } finally {
        this.#flushing = false;
        this.#maybeFlush();
      }
    })();
  }

  async #roll(seal = true): Promise<Segment> {
    const old = this.#segments[this.#segments.length - 1]!;
    let seg: Segment;
    try {
      seg = await Segment.create(this.#o.fs, this.#o.dir, this.#nextOffset);
    } catch (err) {
      this.#fail("roll", err);
      throw this.#failed!;
    }
    this.#segments.push(seg);
    this.#o.logger.debug("Rolled log segment", { log: this.#o.name, segment: seg.baseOffset });
    // Kafka flushes the old segment on roll; the recovery point then moves past it.
    if (seal) this.#sealInBackground(old);
    return seg;
  }

  #sealInBackground(seg: Segment): void {
    (async () => {
      const lastWrite = this.#pending.filter((g) => g.segment === seg).pop();
      if (lastWrite) await lastWrite.promise;
      if (seg.deleted) return;
      await seg.file.datasync();
      seg.syncedSize = seg.size;
      if (seg.deleted) return;
      await seg.persistIndexes(this.#o.fs);
      await this.#writeCheckpoint();
      await this.#writeProducerSnapshot();
    })().catch((err) => {
      // Retention may remove a segment while it is being sealed: that is no disk failure.
      if (!seg.deleted) this.#fail("seal", err);
    });
  }

  #fail(what: string, err: unknown): void {
    if (this.#failed) return;
    this.#failed = new StorageError(`Log ${this.#o.name} failed during ${what}: ${(err as Error)?.message ?? err}`, {
      cause: err,
    });
    this.#o.logger.error("Log is offline after a disk failure", {
      log: this.#o.name,
      during: what,
      error: String(err),
    });
    for (const g of this.#pending) g.reject(this.#failed);
    this.#pending = [];
    for (const w of this.#durableWaiters) w.reject(this.#failed);
    this.#durableWaiters = [];
    this.#notifyData();
  }

  /** Calls `fn` once when the high watermark next moves (or the log fails); returns a canceller. */
  onData(fn: () => void): () => void {
    return this.#dataWaiters.add(fn);
  }

  #notifyData(): void {
    this.#dataWaiters.notify();
  }

  #segmentFor(offset: number): number {
    return floorIndex(this.#segments.length, (i) => this.#segments[i]!.baseOffset, offset);
  }

  /**
   * Reads whole batches starting with the one that holds `offset`, up to `maxBytes` (the first
   * batch is returned whole even when larger if `minOneBatch`), never past `upTo` (default
   * the high watermark). Reads stay within one segment, as Kafka's do.
   */
  read(
    offset: number,
    maxBytes: number,
    options: { minOneBatch: boolean; upTo?: number },
  ): Promise<Result<ReadResult>> {
    return this.#read(offset, maxBytes, options, 3);
  }

  async #read(
    offset: number,
    maxBytes: number,
    options: { minOneBatch: boolean; upTo?: number },
    retries: number,
  ): Promise<Result<ReadResult>> {
    if (this.#failed) return fail(ErrorCode.KAFKA_STORAGE_ERROR, this.#failed.message);
    const hw = this.#writtenOffset;
    const upTo = Math.min(options.upTo ?? hw, hw);
    const empty = ok({ records: new Uint8Array(0), highWatermark: hw, logStartOffset: this.#logStartOffset });
    if (offset < this.#logStartOffset || offset > this.#nextOffset) {
      return fail(
        ErrorCode.OFFSET_OUT_OF_RANGE,
        `Offset ${offset} is outside [${this.#logStartOffset}, ${this.#nextOffset}]`,
      );
    }
    if (offset >= upTo) return empty;
    let i = this.#segmentFor(offset);
    let seg = this.#segments[i]!;
    while (offset >= seg.nextOffset && i + 1 < this.#segments.length) seg = this.#segments[++i]!;
    let segEnd = seg.writtenSize;
    let pos = seg.index.floorPosition(offset - seg.baseOffset);
    const slack = this.#o.config().indexIntervalBytes * 2 + 4096;
    try {
      // Find the batch holding `offset`, reading forward in windows of headers. A segment with
      // nothing at or after it (compaction emptied its end) hands over to the next one.
      let buf = await seg.file.read(pos, Math.min(segEnd - pos, slack + maxBytes));
      let v = view(buf);
      let p = 0;
      for (;;) {
        if (p + F.LAST_OFFSET_DELTA + 4 > buf.length) {
          if (pos + p >= segEnd) {
            const next = this.#segments[i + 1];
            if (next === undefined || next.baseOffset >= upTo || next.deleted) return empty;
            seg = next;
            i++;
            segEnd = seg.writtenSize;
            pos = 0;
          } else {
            pos += p;
          }
          buf = await seg.file.read(pos, Math.min(segEnd - pos, slack + maxBytes));
          v = view(buf);
          p = 0;
          if (buf.length < F.LAST_OFFSET_DELTA + 4) {
            if (pos < segEnd) return empty;
            continue;
          }
        }
        const last = int64(v, p) + v.getInt32(p + F.LAST_OFFSET_DELTA);
        if (last >= offset) break;
        p += batchSizeAt(v, p);
      }
      // Take whole batches from there, within maxBytes and below upTo.
      let end = p;
      let taken = 0;
      for (;;) {
        if (end + F.LAST_OFFSET_DELTA + 4 > buf.length) break;
        if (int64(v, end) >= upTo) break;
        const size = batchSizeAt(v, end);
        if (taken + size > maxBytes && !(taken === 0 && options.minOneBatch)) break;
        if (end + size > buf.length) {
          if (taken === 0) {
            // The first batch is larger than the window: read exactly it.
            const whole = await seg.file.read(pos + p, size);
            return ok({ records: whole, highWatermark: hw, logStartOffset: this.#logStartOffset });
          }
          break;
        }
        end += size;
        taken += size;
      }
      return ok({ records: buf.subarray(p, end), highWatermark: hw, logStartOffset: this.#logStartOffset });
    } catch (err) {
      if (seg.deleted) {
        // Retention or compaction removed the segment under this read (file.delete.delay.ms
        // elapsed): read again from the segments as they are now (OFFSET_OUT_OF_RANGE if the
        // offset went with them). No disk failed: the log stays online.
        if (retries > 0) return await this.#read(offset, maxBytes, options, retries - 1);
        return fail(ErrorCode.KAFKA_STORAGE_ERROR, `Log ${this.#o.name} changed under a read of offset ${offset}`);
      }
      this.#fail("read", err);
      return fail(ErrorCode.KAFKA_STORAGE_ERROR, this.#failed!.message);
    }
  }

  /**
   * The first record with timestamp >= `timestampMs` (ListOffsets by time), or null when every
   * record is older.
   */
  async offsetForTimestamp(timestampMs: number): Promise<{ offset: number; timestamp: number } | null> {
    for (const seg of [...this.#segments]) {
      if (seg.maxTimestamp < timestampMs || seg.deleted) continue;
      if (seg.nextOffset <= this.#logStartOffset) continue;
      try {
        const found = await this.#firstInSegment(seg, timestampMs);
        if (found) return found;
      } catch (err) {
        if (!seg.deleted) throw err;
      }
    }
    return null;
  }

  async #firstInSegment(seg: Segment, timestampMs: number): Promise<{ offset: number; timestamp: number } | null> {
    const rel = seg.timeIndex.floorOffset(timestampMs);
    let pos = seg.index.floorPosition(rel);
    while (pos < seg.writtenSize) {
      const head = await seg.file.read(pos, F.HEADER_END);
      if (head.length < F.HEADER_END) break;
      const hv = view(head);
      const size = batchSizeAt(hv, 0);
      const batchLast = int64(hv, 0) + hv.getInt32(F.LAST_OFFSET_DELTA);
      if (int64(hv, F.MAX_TIMESTAMP) >= timestampMs && batchLast >= this.#logStartOffset) {
        const whole = await seg.file.read(pos, size);
        const { records } = batchRecords(whole, 0, { decompress: this.#o.decompress });
        for (const r of records) {
          if (Number(r.offset) < this.#logStartOffset) continue;
          if (Number(r.timestamp) >= timestampMs) return { offset: Number(r.offset), timestamp: Number(r.timestamp) };
        }
      }
      pos += size;
    }
    return null;
  }

  /**
   * ListOffsets v0 (removed in Kafka 4.0): up to `maxCount` offsets, descending, taken from
   * segment boundaries — the base offset of every segment whose newest data is at or before
   * `timestampMs`, plus the log end offset when the active segment holds data — as Kafka 3.x's
   * `legacyFetchOffsetsBefore` did. -1 is latest (the end offset first), -2 earliest. Kafka
   * judged a segment by its file's modification time; kbin uses its largest record timestamp,
   * which a segment's last write sets the same way for producer-stamped and broker-stamped data.
   */
  legacyOffsetsBefore(timestampMs: number, maxCount: number, nowMs: number): number[] {
    const points = this.#segments.map((s) => ({
      offset: Math.max(s.baseOffset, this.#logStartOffset),
      time: s.maxTimestamp,
    }));
    const active = this.#segments[this.#segments.length - 1]!;
    if (active.size > 0) points.push({ offset: this.logEndOffset, time: nowMs });
    return legacyOffsets(points, timestampMs, maxCount);
  }

  /** Offset and timestamp of the record with the largest timestamp (ListOffsets -3, KIP-734). */
  async maxTimestampOffset(): Promise<{ offset: number; timestamp: number } | null> {
    let best: Segment | null = null;
    for (const s of this.#segments) if (s.maxTimestamp >= 0 && (!best || s.maxTimestamp > best.maxTimestamp)) best = s;
    if (!best) return null;
    const found = await this.offsetForTimestamp(best.maxTimestamp);
    return found && found.timestamp === best.maxTimestamp
      ? found
      : { offset: best.offsetOfMaxTimestamp, timestamp: best.maxTimestamp };
  }

  /** Flushes, persists indexes, producer state and the checkpoint, and closes the files. */
  async close(): Promise<void> {
    if (this.#closed) return;
    while (this.#busy) await this.#busy;
    const last = this.#pending[this.#pending.length - 1];
    if (last) await last.promise.catch(() => {});
    this.#closed = true;
    if (!this.#failed) {
      for (const seg of this.#segments) {
        if (seg.writtenSize > seg.syncedSize) await seg.file.datasync();
        seg.syncedSize = seg.writtenSize;
      }
      this.#flushedOffset = this.#writtenOffset;
      const active = this.#segments[this.#segments.length - 1]!;
      await active.persistIndexes(this.#o.fs);
      await this.#writeCheckpoint();
      await this.#writeProducerSnapshot();
    }
    for (const w of this.#durableWaiters) w.resolve();
    this.#durableWaiters = [];
    for (const seg of this.#segments) await seg.file.close().catch(() => {});
    await this.#removeDoomedNow();
    this.#notifyData();
  }

  /** Removes the files of every deleted segment still waiting for its delay. */
  async #removeDoomedNow(): Promise<void> {
    for (const [seg, timer] of this.#doomed) {
      clearTimeout(timer);
      this.#doomed.delete(seg);
      await seg.removeDeletedFiles(this.#o.fs).catch(() => {});
    }
  }

  async deleteRecords(offset: number): Promise<Result<number>> {
    while (this.#busy) await this.#busy;
    if (this.#failed) throw this.#failed;
    const hw = this.#writtenOffset;
    const target = offset === -1 ? hw : offset;
    if (!Number.isSafeInteger(target) || target < 0 || target > hw) {
      return fail(
        ErrorCode.OFFSET_OUT_OF_RANGE,
        `Cannot delete records of ${this.#o.name} before offset ${offset}: the high watermark is ${hw}`,
      );
    }
    if (target > this.#logStartOffset) {
      this.#logStartOffset = target;
      try {
        await this.#writeCheckpoint();
      } catch (err) {
        this.#fail("checkpoint", err);
        throw this.#failed!;
      }
    }
    // Segments wholly below the new start go now (the active one stays, as in Kafka).
    const { fileDeleteDelayMs } = this.#o.config();
    await this.applyRetention({ retentionMs: Infinity, retentionBytes: Infinity, fileDeleteDelayMs }, 0);
    return ok(this.#logStartOffset);
  }

  async applyRetention(config: RetentionConfig, nowMs: number): Promise<RetentionOutcome> {
    while (this.#busy) await this.#busy;
    if (this.#failed) throw this.#failed;
    const segs = this.#segments;
    const units = segs.map((seg, i) => ({
      size: seg.size,
      maxTimestamp: seg.maxTimestamp,
      endOffset: i + 1 < segs.length ? segs[i + 1]!.baseOffset : this.#nextOffset,
    }));
    const plan = planRetention(
      units,
      { logStartOffset: this.#logStartOffset, highWatermark: this.#writtenOffset },
      config,
      nowMs,
    );
    if (plan.count === 0) {
      return { segments: 0, bytes: 0, reason: null, logStartOffset: this.#logStartOffset };
    }
    const release = deferred();
    this.#busy = release.promise;
    try {
      if (plan.count === segs.length) {
        // Every segment expired, the active one too: roll first, as Kafka does, so appends
        // have a segment to go to.
        await this.#roll(false);
        if (this.#failed) throw this.#failed;
      }
      const gone = this.#segments.splice(0, plan.count);
      this.#logStartOffset = Math.max(this.#logStartOffset, this.#segments[0]!.baseOffset);
      if (this.#aborted.truncateBefore(this.#logStartOffset)) await this.#saveAborted();
      for (const seg of gone) seg.deleted = true;
      try {
        // The new start is durable before any file goes: a crash in between leaves segments
        // below the start, which the next pass removes.
        await this.#writeCheckpoint();
        for (const seg of gone) await seg.markDeleted(this.#o.fs);
      } catch (err) {
        this.#fail("retention", err);
        throw this.#failed!;
      }
      for (const seg of gone) this.#scheduleRemoval(seg, config.fileDeleteDelayMs);
    } finally {
      this.#busy = null;
      release.resolve();
    }
    return { segments: plan.count, bytes: plan.bytes, reason: plan.reason, logStartOffset: this.#logStartOffset };
  }

  get lastStableOffset(): number {
    const first = this.producers.firstUnstableOffset();
    return first === null ? this.#writtenOffset : Math.min(Number(first), this.#writtenOffset);
  }

  activeProducers(): Promise<ProducerStateView[]> {
    return Promise.resolve(this.producers.producers());
  }

  abortedTransactions(from: number, to: number): Promise<AbortedTxn[]> {
    return Promise.resolve(this.#aborted.overlapping(from, to));
  }

  /** Saves the aborted-transaction index after any save in progress (markers are rare). */
  #saveAborted(): Promise<void> {
    const save = this.#savingAborted.catch(() => {}).then(() =>
      this.#o.fs.writeFileAtomic(`${this.#o.dir}/${ABORTED_TXNS}`, new TextEncoder().encode(this.#aborted.serialize()))
    );
    this.#savingAborted = save;
    return save;
  }

  /** Where the next compaction's dirty section starts. */
  get cleanedUpTo(): number {
    return this.#cleanedUpTo;
  }

  /**
   * One compaction of this log, as Kafka's LogCleaner: when due, maps the dirty section's keys to
   * their newest offsets, rewrites the cleanable segments (never the active one, nor any with
   * records younger than min.compaction.lag.ms) into new ones of at most segment.bytes, each
   * written aside (`.cleaned`), renamed `.swap.<end>` (the commit point: a crash after it finishes
   * the swap when the log opens, before it drops the copy), and swapped in; the old segments'
   * files go after file.delete.delay.ms.
   */
  async compact(config: CompactionConfig, nowMs: number): Promise<CleanOutcome> {
    if (this.#failed) throw this.#failed;
    if (this.#compacting || this.#closed) return notCleaned(this.#cleanedUpTo);
    this.#compacting = true;
    try {
      return await this.#compact(config, nowMs);
    } finally {
      this.#compacting = false;
    }
  }

  async #compact(config: CompactionConfig, nowMs: number): Promise<CleanOutcome> {
    const segs = [...this.#segments];
    const firstDirty = Math.max(this.#cleanedUpTo, this.#logStartOffset);
    // Cleanable: whole segments before the active one, fully written, none with records younger
    // than min.compaction.lag.ms (those and everything after wait).
    const cleanable: Segment[] = [];
    // Never past the last stable offset: an open transaction may still abort (Kafka's cleaner
    // stops at the first unstable offset too).
    const stable = this.lastStableOffset;
    for (const seg of segs.slice(0, -1)) {
      if (seg.writtenSize !== seg.size || seg.nextOffset > stable) break;
      if (config.minCompactionLagMs > 0 && seg.maxTimestamp > nowMs - config.minCompactionLagMs) break;
      cleanable.push(seg);
    }
    const dirty = cleanable.filter((seg) => seg.nextOffset > firstDirty);
    if (dirty.length === 0) return notCleaned(this.#cleanedUpTo);
    const dirtyBytes = dirty.reduce((n, seg) => n + seg.size, 0);
    const cleanBytes = cleanable.reduce((n, seg) => n + seg.size, 0) - dirtyBytes;
    const first = await dirty[0]!.file.read(0, F.HEADER_END);
    const oldestDirtyTimestamp = first.length < F.HEADER_END ? -1 : int64(view(first), F.BASE_TIMESTAMP);
    const reason = dueReason({ cleanBytes, dirtyBytes, oldestDirtyTimestamp }, config, nowMs);
    if (reason === null) return notCleaned(this.#cleanedUpTo);

    const codecs = { decompress: this.#o.decompress, compress: this.#compressor() };
    const throttle = new Throttle(config.ioMaxBytesPerSecond);
    const map = new OffsetMap(config.dedupeBufferBytes);
    let mapEnd = firstDirty;
    mapping: for (const seg of dirty) {
      for await (const batch of this.#batchesOf(seg)) {
        if (batchEnd(batch) <= firstDirty) continue;
        if (!mapBatch(batch, map, codecs, this.#aborted)) break mapping;
        mapEnd = batchEnd(batch);
        await throttle.use(batch.length);
      }
      mapEnd = Math.max(mapEnd, seg.nextOffset);
    }
    if (mapEnd <= firstDirty) {
      this.#o.logger.warn("Cannot compact: one batch's keys do not fit log.cleaner.dedupe.buffer.size", {
        log: this.#o.name,
        bytes: config.dedupeBufferBytes,
      });
      return notCleaned(this.#cleanedUpTo);
    }
    // Rewrite from the log start through the segment holding the end of the map, in groups of
    // consecutive segments up to segment.bytes together.
    const { segmentBytes, fileDeleteDelayMs } = this.#o.config();
    const rewrite = cleanable.filter((seg) => seg.baseOffset < mapEnd);
    const groups: Segment[][] = [];
    for (const seg of rewrite) {
      const last = groups.at(-1);
      const size = last?.reduce((n, x) => n + x.size, 0) ?? Infinity;
      if (last && size + seg.size <= segmentBytes) last.push(seg);
      else groups.push([seg]);
    }
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
    for (const group of groups) {
      if (this.#failed || this.#closed) break;
      const done = await this.#cleanGroup(group, { map, horizon, newest, codecs, throttle, fileDeleteDelayMs, txns });
      if (done === null) {
        txns.blind();
        continue;
      }
      outcome.bytesBefore += done.before;
      outcome.bytesAfter += done.after;
      outcome.recordsRemoved += done.recordsRemoved;
      outcome.tombstonesRemoved += done.tombstonesRemoved;
    }
    if (this.#failed) throw this.#failed;
    this.#cleanedUpTo = Math.max(this.#cleanedUpTo, mapEnd);
    await this.#writeCheckpoint();
    return outcome;
  }

  #compressor(): (codec: number, data: Uint8Array) => Uint8Array {
    return this.#o.compress ?? (() => {
      throw new StorageError(`Cannot compact ${this.#o.name}: no compressor for its compressed batches`);
    });
  }

  /** The whole batches of a sealed segment, read in chunks of a few MiB. */
  async *#batchesOf(seg: Segment): AsyncGenerator<Uint8Array> {
    let pos = 0;
    const end = seg.writtenSize;
    while (pos < end) {
      const chunk = await seg.file.read(pos, Math.min(SCAN_CHUNK_BYTES, end - pos));
      const v = view(chunk);
      let p = 0;
      while (p + F.HEADER_END <= chunk.length) {
        const size = batchSizeAt(v, p);
        if (p + size > chunk.length) break;
        yield chunk.subarray(p, p + size);
        p += size;
      }
      if (p === 0) {
        // One batch larger than the chunk: read it whole.
        const head = view(await seg.file.read(pos, F.HEADER_END));
        const size = batchSizeAt(head, 0);
        yield await seg.file.read(pos, size);
        p = size;
      }
      pos += p;
    }
  }

  /** Writes a group's compacted copy aside and swaps it in; null when retention took part of it meanwhile. */
  async #cleanGroup(
    group: Segment[],
    o: {
      map: OffsetMap;
      horizon: number;
      newest: Set<number>;
      codecs: {
        decompress: (c: number, d: Uint8Array) => Uint8Array;
        compress: (c: number, d: Uint8Array) => Uint8Array;
      };
      throttle: Throttle;
      fileDeleteDelayMs: number;
      txns: TxnCleaningPass;
    },
  ): Promise<{ before: number; after: number; recordsRemoved: number; tombstonesRemoved: number } | null> {
    const { fs, dir } = this.#o;
    const base = group[0]!.baseOffset;
    const end = group.at(-1)!.nextOffset;
    const name = `${dir}/${segmentName(base)}.log`;
    const out = await fs.open(`${name}.cleaned`, { create: true });
    let written = 0;
    let before = 0;
    let recordsRemoved = 0;
    let tombstonesRemoved = 0;
    let pending: Uint8Array[] = [];
    let pendingBytes = 0;
    let complete = false;
    let unsynced = 0;
    const flush = async () => {
      if (pending.length === 0) return;
      await out.writev(pending, written);
      written += pendingBytes;
      // Synced as it goes, so the final sync is small and producers' fsyncs never queue behind
      // one of hundreds of megabytes.
      unsynced += pendingBytes;
      if (unsynced >= 8 << 20) {
        await out.datasync();
        unsynced = 0;
      }
      await o.throttle.use(pendingBytes);
      pending = [];
      pendingBytes = 0;
    };
    try {
      await out.truncate(0);
      for (const seg of group) {
        for await (const batch of this.#batchesOf(seg)) {
          before += batch.length;
          const v = view(batch);
          const keepEmpty = int64(v, F.PRODUCER_ID) >= 0 && o.newest.has(batchEnd(batch) - 1);
          const f = filterBatch(batch, {
            map: o.map,
            deleteHorizonMs: o.horizon,
            keepEmpty,
            codecs: o.codecs,
            aborted: this.#aborted,
            txns: o.txns,
          });
          recordsRemoved += f.recordsRemoved;
          tombstonesRemoved += f.tombstonesRemoved;
          await o.throttle.use(batch.length);
          if (f.bytes === null) continue;
          pending.push(f.bytes);
          pendingBytes += f.bytes.length;
          if (pendingBytes >= 1 << 20) await flush();
        }
      }
      await flush();
      await out.datasync();
      complete = true;
    } finally {
      await out.close().catch(() => {});
      // A copy that could not be finished (a segment went under it, a read failed) goes.
      if (!complete) await fs.remove(`${name}.cleaned`).catch(() => {});
    }
    // The swap, with appends, rolls and retention held off: a few renames.
    while (this.#busy) await this.#busy;
    const release = deferred();
    this.#busy = release.promise;
    try {
      const at = this.#segments.indexOf(group[0]!);
      if (at < 0 || group.some((seg, i) => this.#segments[at + i] !== seg) || this.#failed) {
        await fs.remove(`${name}.cleaned`);
        return null;
      }
      try {
        const swap = `${name}.swap.${segmentName(end)}`;
        await fs.rename(`${name}.cleaned`, swap);
        await fs.syncDir(dir);
        for (const seg of group) await seg.markDeleted(fs);
        await fs.rename(swap, name);
        await fs.syncDir(dir);
        const seg = await Segment.open(fs, dir, base);
        await scanSegment(seg, { verify: false, indexIntervalBytes: this.#o.config().indexIntervalBytes });
        seg.nextOffset = Math.max(seg.nextOffset, end);
        await seg.persistIndexes(fs);
        this.#segments.splice(at, group.length, seg);
      } catch (err) {
        this.#fail("compaction", err);
        throw this.#failed!;
      }
    } finally {
      this.#busy = null;
      release.resolve();
    }
    for (const seg of group) this.#scheduleRemoval(seg, o.fileDeleteDelayMs);
    return { before, after: written, recordsRemoved, tombstonesRemoved };
  }

  #scheduleRemoval(seg: Segment, delayMs: number): void {
    const remove = () => {
      this.#doomed.delete(seg);
      seg.removeDeletedFiles(this.#o.fs).catch((err) => {
        this.#o.logger.warn("Could not remove a deleted log segment", { log: this.#o.name, error: String(err) });
      });
    };
    const timer = setTimeout(remove, Math.max(0, Math.min(delayMs, 2 ** 31 - 1)));
    (timer as { unref?: () => void }).unref?.();
    this.#doomed.set(seg, timer);
  }

  /** Closes the files and removes the directory (topic deletion). */
  async delete(): Promise<void> {
    this.#closed = true;
    for (const timer of this.#doomed.values()) clearTimeout(timer);
    for (const seg of this.#doomed.keys()) await seg.file.close().catch(() => {});
    this.#doomed.clear();
    this.#fail("delete", new Error("the topic was deleted"));
    for (const seg of this.#segments) await seg.file.close().catch(() => {});
    await this.#o.fs.remove(this.#o.dir, { recursive: true });
  }

  /**
   * Writes the checkpoint after any write of it in progress, with the values current when it
   * starts, so a slower earlier write never replaces a newer log start offset.
   */
  #writeCheckpoint(): Promise<void> {
    const write = this.#checkpointing.catch(() => {}).then(() => {
      const text = JSON.stringify({
        version: CHECKPOINT_VERSION,
        logStartOffset: this.#logStartOffset,
        recoveryPoint: this.#flushedOffset,
        cleanedUpTo: this.#cleanedUpTo,
      });
      return this.#o.fs.writeFileAtomic(`${this.#o.dir}/checkpoint.json`, new TextEncoder().encode(text));
    });
    this.#checkpointing = write;
    return write;
  }

  async #writeProducerSnapshot(): Promise<void> {
    await this.#o.fs.writeFileAtomic(
      `${this.#o.dir}/producer.snapshot`,
      this.producers.snapshot(BigInt(this.#flushedOffset)),
    );
  }
}

async function readCheckpoint(
  fs: FileSystem,
  dir: string,
): Promise<{ logStartOffset: number; recoveryPoint: number; cleanedUpTo: number } | null> {
  const bytes = await fs.readFile(`${dir}/checkpoint.json`);
  if (!bytes) return null;
  try {
    const c = JSON.parse(new TextDecoder().decode(bytes)) as {
      version: number;
      logStartOffset: number;
      recoveryPoint: number;
      cleanedUpTo?: number;
    };
    if (c.version > CHECKPOINT_VERSION || !Number.isInteger(c.logStartOffset) || !Number.isInteger(c.recoveryPoint)) {
      return null;
    }
    const cleanedUpTo = Number.isInteger(c.cleanedUpTo) ? c.cleanedUpTo! : 0;
    return { logStartOffset: c.logStartOffset, recoveryPoint: c.recoveryPoint, cleanedUpTo };
  } catch {
    return null;
  }
}

/**
 * Walks a segment's batches, rebuilding its indexes and bookkeeping. With `verify`, every
 * batch's structure, CRC-32C and offset order are checked and the scan stops at the first bad
 * one; `validEnd` is where good data ends.
 */
async function scanSegment(
  seg: Segment,
  options: { verify: boolean; indexIntervalBytes: number; onBatch?: (buf: Uint8Array, at: number) => void },
): Promise<{ validEnd: number; reason: string | null }> {
  seg.resetBookkeeping();
  let pos = 0;
  let expected = seg.baseOffset;
  while (pos < seg.size) {
    const buf = await seg.file.read(pos, Math.min(SCAN_CHUNK_BYTES, seg.size - pos));
    const v = view(buf);
    let p = 0;
    while (p + F.HEADER_END <= buf.length) {
      const length = v.getInt32(p + F.BATCH_LENGTH);
      const size = 12 + length;
      if (length < F.HEADER_END - 12 || buf[p + F.MAGIC] !== 2) {
        return { validEnd: pos + p, reason: "bad batch header" };
      }
      if (p + size > buf.length) {
        if (pos + p + size > seg.size) return { validEnd: pos + p, reason: "incomplete batch" };
        break;
      }
      const base = int64(v, p);
      const last = base + v.getInt32(p + F.LAST_OFFSET_DELTA);
      if (options.verify) {
        if (base < expected || last < base) return { validEnd: pos + p, reason: "offsets out of order" };
        if (!verifyBatchCrc(buf, p)) return { validEnd: pos + p, reason: "CRC mismatch" };
      }
      options.onBatch?.(buf, p);
      seg.noteBatch(pos + p, size, base, last, int64(v, p + F.MAX_TIMESTAMP), options.indexIntervalBytes);
      expected = last + 1;
      p += size;
    }
    if (p === 0) {
      // Less than a header left, or a batch larger than the chunk: read it whole.
      if (pos + F.HEADER_END > seg.size) return { validEnd: pos, reason: "incomplete batch header" };
      const head = view(await seg.file.read(pos, F.HEADER_END));
      const size = 12 + head.getInt32(F.BATCH_LENGTH);
      if (size < F.HEADER_END || head.getInt8(F.MAGIC) !== 2) return { validEnd: pos, reason: "bad batch header" };
      if (pos + size > seg.size) return { validEnd: pos, reason: "incomplete batch" };
      const whole = await seg.file.read(pos, size);
      const wv = view(whole);
      const base = int64(wv, 0);
      const last = base + wv.getInt32(F.LAST_OFFSET_DELTA);
      if (options.verify && (base < expected || !verifyBatchCrc(whole, 0))) {
        return { validEnd: pos, reason: "CRC mismatch" };
      }
      options.onBatch?.(whole, 0);
      seg.noteBatch(pos, size, base, last, int64(wv, F.MAX_TIMESTAMP), options.indexIntervalBytes);
      expected = last + 1;
      p = size;
    }
    pos += p;
  }
  return { validEnd: pos, reason: null };
}

/** After loading persisted indexes: find the segment's end offset and max timestamp cheaply. */
async function restoreBookkeeping(seg: Segment, nextBase: number, o: PartitionLogOptions): Promise<void> {
  const lastEntry = seg.index.last();
  const from = lastEntry?.position ?? 0;
  const idx = seg.index;
  const tidx = seg.timeIndex;
  // Scan only the tail after the last index entry (headers only, no CRC), then put the
  // persisted indexes back (the scan rebuilt a partial copy).
  let pos = from;
  let next = seg.baseOffset + (lastEntry?.relativeOffset ?? 0);
  let maxTs = -1;
  let offsetOfMax = -1;
  let bytesSince = 0;
  while (pos < seg.size) {
    const head = await seg.file.read(pos, F.HEADER_END);
    if (head.length < F.HEADER_END) break;
    const hv = view(head);
    const size = batchSizeAt(hv, 0);
    next = int64(hv, 0) + hv.getInt32(F.LAST_OFFSET_DELTA) + 1;
    const ts = int64(hv, F.MAX_TIMESTAMP);
    if (ts > maxTs) {
      maxTs = ts;
      offsetOfMax = int64(hv, 0);
    }
    bytesSince += size;
    pos += size;
  }
  seg.nextOffset = Number.isFinite(nextBase) ? Math.max(next, nextBase) : next;
  seg.index = idx;
  seg.timeIndex = tidx;
  seg.setBytesSinceIndex(bytesSince);
  const lastTime = tidx.last();
  const indexedMax = lastTime?.timestampMs ?? -1;
  const indexedOffset = lastTime ? seg.baseOffset + lastTime.relativeOffset : -1;
  seg.maxTimestamp = Math.max(indexedMax, maxTs);
  seg.offsetOfMaxTimestamp = maxTs > indexedMax ? offsetOfMax : indexedOffset;
  if (seg.size > 0) seg.firstAppendMs = o.clock.now();
}

/** Loads the producer snapshot and replays batch headers after it (KIP-98 recovery). */
async function loadProducerState(
  fs: FileSystem,
  dir: string,
  segments: Segment[],
  o: PartitionLogOptions,
  aborted: AbortedTxnIndex,
): Promise<ProducerStateManager> {
  const end = segments[segments.length - 1]!.nextOffset;
  const bytes = await fs.readFile(`${dir}/producer.snapshot`);
  const loaded = bytes ? ProducerStateManager.load(bytes) : null;
  let state: ProducerStateManager;
  let from: number;
  if (loaded && Number(loaded.replayFrom) <= end) {
    state = loaded.state;
    from = Number(loaded.replayFrom);
  } else {
    state = new ProducerStateManager();
    from = segments[0]!.baseOffset;
  }
  const now = o.clock.now();
  for (const seg of segments) {
    if (seg.nextOffset <= from) continue;
    let pos = seg.index.floorPosition(Math.max(0, from - seg.baseOffset));
    while (pos < seg.size) {
      const head = await seg.file.read(pos, F.HEADER_END);
      if (head.length < F.HEADER_END) break;
      const hv = view(head);
      const base = int64(hv, 0);
      const info = base >= from ? batchInfoAt(hv) : null;
      if (info?.isControl) {
        // An ABORT marker the saved index may lack (a crash before it was saved).
        const whole = await seg.file.read(pos, batchSizeAt(hv, 0));
        const ended = abortedBy(whole, Number(base), (p) => state.openTransaction(p), o.decompress);
        if (ended) aborted.add(ended);
      }
      if (info !== null) state.update(info, BigInt(base), now);
      pos += batchSizeAt(hv, 0);
    }
  }
  return state;
}

/**
 * Finishes a compaction swap a crash interrupted: a `<base>.log.swap.<end>` file is the compacted
 * copy of the segments from `base` to `end`, complete and synced, so those segments' files go and
 * it takes the name `<base>.log` (its indexes are rebuilt when the log opens). A `.cleaned` file
 * (a copy not yet complete) is simply removed by the caller.
 */
async function finishCompactionSwaps(fs: FileSystem, dir: string, o: PartitionLogOptions): Promise<void> {
  const names = await fs.readdir(dir);
  for (const n of names) {
    const m = /^(\d{20})\.log\.swap\.(\d{20})$/.exec(n);
    if (!m) continue;
    const base = Number(m[1]);
    const end = Number(m[2]);
    for (const other of names) {
      const s = /^(\d{20})\.(log|index|timeindex)$/.exec(other);
      if (s && Number(s[1]) >= base && Number(s[1]) < end) await fs.remove(`${dir}/${other}`);
    }
    await fs.rename(`${dir}/${n}`, `${dir}/${m[1]}.log`);
    await fs.syncDir(dir);
    o.logger.info("Finished a compaction swap interrupted by a crash", { log: o.name, segment: base, end });
  }
}
