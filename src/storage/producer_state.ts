/**
 * Per-partition producer state for idempotent and transactional producers (KIP-98): the epoch,
 * the last few batches and the ongoing transaction of every producer id that wrote to the
 * partition. The log asks {@link ProducerStateManager.check} before appending a batch that carries
 * a producer id, and reports each appended batch with {@link ProducerStateManager.update}.
 *
 * Follows Kafka's `ProducerStateManager`, `ProducerAppendInfo`, `ProducerStateEntry` and
 * `BatchMetadata` (org.apache.kafka.storage.internals.log, Kafka 3.9/4.0), plus the duplicate
 * lookup of `UnifiedLog.analyzeAndValidateProducerState`. Left out for the transactions issue:
 * KIP-890 verification guards, transaction version 2 marker rules, the ongoing/unreplicated
 * transaction indexes behind the last stable offset.
 *
 * @module
 */

import { crc32c } from "../protocol/crc32c.ts";
import { ErrorCode } from "../protocol/generated/errors.ts";
import { DecodeError, Reader } from "../protocol/reader.ts";

/** Batches kept per producer for duplicate detection: Kafka's `ProducerStateEntry.NUM_BATCHES_TO_RETAIN`. */
export const NUM_BATCHES_TO_RETAIN = 5;

/** Kafka's `RecordBatch.NO_PRODUCER_EPOCH` / `NO_SEQUENCE`. */
const NO_PRODUCER_EPOCH = -1;
const NO_SEQUENCE = -1;
const INT32_MAX = 0x7fffffff;

/** What the log knows about one appended (or to-be-appended) batch: all from the batch header. */
export interface BatchInfo {
  producerId: bigint;
  producerEpoch: number;
  /** The header's base sequence; `lastSequence` is derived with {@link incrementSequence}. */
  baseSequence: number;
  lastOffsetDelta: number;
  isTransactional: boolean;
  isControl: boolean;
  /**
   * The header's max timestamp as written to the log: for LogAppendTime topics the assigned
   * append time, because Kafka's LogValidator rewrites the header before the producer state sees
   * the batch. Kafka keys expiry and the duplicate answer off this value.
   */
  maxTimestamp: bigint;
  /**
   * Control batches only: the coordinator epoch from the end-transaction marker's value. When
   * present, `check()` fences older coordinators as Kafka's `checkCoordinatorEpoch` does.
   */
  coordinatorEpoch?: number;
}

/** The decision for one batch. */
export type SequenceCheck =
  /** New batch, in order: append it. */
  | { kind: "append" }
  /**
   * A retried batch already in the log: answer with its original offsets and no error, as Kafka
   * does. `maxTimestamp` is the original append's (Kafka's `BatchMetadata.timestamp`), which the
   * Produce response reports as `logAppendTime`.
   */
  | { kind: "duplicate"; baseOffset: bigint; lastOffset: bigint; maxTimestamp: bigint }
  /** A Kafka error code for the partition response; the batch is not appended. */
  | { kind: "error"; code: number; message: string };

/** One producer as DescribeProducers (API 61) reports it. */
export interface ProducerStateView {
  producerId: bigint;
  producerEpoch: number;
  /** Last sequence of the newest retained batch, or -1 when none is retained. */
  lastSequence: number;
  lastTimestamp: bigint;
  /** Last offset of the newest retained batch, or -1n. */
  lastOffset: bigint;
  /** First offset of the ongoing transaction, or null. */
  currentTxnFirstOffset: bigint | null;
  /** Epoch of the last coordinator that wrote a marker, or -1. */
  coordinatorEpoch: number;
}

/** Kafka's `BatchMetadata`: the first sequence and offset are derived from the last ones. */
interface BatchMetadata {
  lastSeq: number;
  lastOffset: bigint;
  offsetDelta: number;
  timestamp: bigint;
}

/** Kafka's `ProducerStateEntry`, plus where the last marker went so truncation can be exact. */
interface ProducerEntry {
  producerEpoch: number;
  coordinatorEpoch: number;
  lastTimestamp: bigint;
  currentTxnFirstOffset: bigint | null;
  /** Oldest first, at most `maxBatchesPerProducer`, all of `producerEpoch`. */
  batches: BatchMetadata[];
  /** Offset and timestamp of the last control batch applied, -1n when none. */
  lastMarkerOffset: bigint;
  lastMarkerTimestamp: bigint;
}

/**
 * Adds to a sequence number, wrapping past 2^31-1 to 0 (Kafka's `DefaultRecordBatch.incrementSequence`).
 * @param sequence a sequence number (0 to 2^31-1)
 * @param increment how far to move, >= 0
 * @returns the sequence `increment` later
 */
export function incrementSequence(sequence: number, increment: number): number {
  if (sequence > INT32_MAX - increment) return increment - (INT32_MAX - sequence) - 1;
  return sequence + increment;
}

/** Kafka's `DefaultRecordBatch.decrementSequence`, the inverse of {@link incrementSequence}. */
function decrementSequence(sequence: number, decrement: number): number {
  if (sequence < decrement) return INT32_MAX - (decrement - sequence) + 1;
  return sequence - decrement;
}

/** Kafka's `ProducerAppendInfo.inSequence`: the next batch starts right after the last, wrapping to 0. */
function inSequence(lastSeq: number, nextSeq: number): boolean {
  return nextSeq === lastSeq + 1 || (nextSeq === 0 && lastSeq === INT32_MAX);
}

function firstSeq(b: BatchMetadata): number {
  return decrementSequence(b.lastSeq, b.offsetDelta);
}

function lastUpdateOffset(e: ProducerEntry): bigint {
  const newest = e.batches.at(-1);
  const lastData = newest === undefined ? -1n : newest.lastOffset;
  return lastData > e.lastMarkerOffset ? lastData : e.lastMarkerOffset;
}

function emptyEntry(): ProducerEntry {
  // Kafka's ProducerStateEntry.empty(): no epoch, no coordinator, NO_TIMESTAMP.
  return {
    producerEpoch: NO_PRODUCER_EPOCH,
    coordinatorEpoch: -1,
    lastTimestamp: -1n,
    currentTxnFirstOffset: null,
    batches: [],
    lastMarkerOffset: -1n,
    lastMarkerTimestamp: -1n,
  };
}

/**
 * The entry as it stood before `offset`, or null when that cannot be rebuilt from memory. Does not
 * modify `e`. See {@link ProducerStateManager.truncateFrom} for the rules.
 */
function entryBefore(e: ProducerEntry, offset: bigint): ProducerEntry | null {
  if (lastUpdateOffset(e) < offset) return e;
  const kept = e.batches.filter((b) => b.lastOffset < offset);
  const newest = kept.at(-1);
  if (e.lastMarkerOffset >= offset || newest === undefined) return null;
  // Surviving batches prove no epoch change happened at or after `offset` (a change clears the
  // batches), so the epoch and coordinator epoch stand. The last update below `offset` is either
  // the newest survivor or a later marker below `offset`.
  return {
    ...e,
    batches: kept,
    lastTimestamp: e.lastMarkerOffset > newest.lastOffset ? e.lastMarkerTimestamp : newest.timestamp,
    currentTxnFirstOffset: e.currentTxnFirstOffset !== null && e.currentTxnFirstOffset >= offset
      ? null
      : e.currentTxnFirstOffset,
  };
}

function error(code: number, message: string): SequenceCheck {
  return { kind: "error", code, message };
}

// Snapshot format, big-endian like Kafka's producer snapshot (which stores only the newest batch
// per producer; this one keeps every retained batch so retries stay deduplicated after a restart):
//   int16 version | uint32 crc32c of everything after this field | int64 upToOffset | int32 count
//   count × { int64 producerId | int16 epoch | int32 coordinatorEpoch | int64 lastTimestamp
//             | int64 currentTxnFirstOffset (-1: none) | int64 lastMarkerOffset
//             | int64 lastMarkerTimestamp | int32 batchCount
//             | batchCount × { int32 lastSeq | int64 lastOffset | int32 offsetDelta | int64 timestamp } }
// The bytes must end exactly after the last entry. Version 1 is the first; when a version 2 comes,
// load() keeps reading version 1 (the style guide's current-and-previous rule).
const SNAPSHOT_VERSION = 1;
const CRC_START = 6;
const HEADER_BYTES = 18;
const ENTRY_BYTES = 50;
const BATCH_BYTES = 24;

/**
 * Producer state of one partition.
 *
 * @example
 * const state = new ProducerStateManager();
 * const verdict = state.check(batch);
 * if (verdict.kind === "append") state.update(batch, baseOffset, nowMs);
 */
export class ProducerStateManager {
  readonly #producers = new Map<bigint, ProducerEntry>();
  readonly #maxBatches: number;

  /** @param options.maxBatchesPerProducer batches kept per producer for duplicate detection (5, as Kafka) */
  constructor(options: { maxBatchesPerProducer?: number } = {}) {
    const max = options.maxBatchesPerProducer ?? NUM_BATCHES_TO_RETAIN;
    if (!Number.isInteger(max) || max < 1) {
      throw new RangeError(`Cannot create producer state: maxBatchesPerProducer must be an integer >= 1, got ${max}`);
    }
    this.#maxBatches = max;
  }

  /**
   * Decides what to do with a batch from a producer (producerId >= 0). Pure: does not change state.
   * Data batches are judged as Kafka judges a client append; control batches as a coordinator's
   * marker append (clients may not write control batches; rejecting those is the Produce handler's job).
   * @param batch the batch header
   * @returns append, duplicate (with the original offsets) or a Kafka error
   */
  check(batch: BatchInfo): SequenceCheck {
    const entry = this.#producers.get(batch.producerId);
    const pid = batch.producerId;
    const epoch = batch.producerEpoch;
    const currentEpoch = entry === undefined ? NO_PRODUCER_EPOCH : entry.producerEpoch;

    if (batch.isControl) {
      // ProducerAppendInfo.appendEndTxnMarker: the epoch check for transaction versions 0/1
      // (marker epoch >= current), then checkCoordinatorEpoch. No sequence check: markers have none.
      if (epoch < currentEpoch) {
        return error(
          ErrorCode.INVALID_PRODUCER_EPOCH,
          `Cannot write transaction marker for producer ${pid}: epoch ${epoch} is older than the current epoch ${currentEpoch}`,
        );
      }
      if (
        entry !== undefined && batch.coordinatorEpoch !== undefined && entry.coordinatorEpoch > batch.coordinatorEpoch
      ) {
        return error(
          ErrorCode.TRANSACTION_COORDINATOR_FENCED,
          `Cannot write transaction marker for producer ${pid}: coordinator epoch ${batch.coordinatorEpoch} is older than ${entry.coordinatorEpoch}`,
        );
      }
      return { kind: "append" };
    }

    // LogValidator.validateBatch runs before any producer-state check and rejects a producer id
    // without a sequence as INVALID_RECORD.
    if (batch.baseSequence < 0) {
      return error(
        ErrorCode.INVALID_RECORD,
        `Cannot append batch from producer ${pid}: invalid sequence number ${batch.baseSequence}`,
      );
    }

    const lastSeq = incrementSequence(batch.baseSequence, batch.lastOffsetDelta);

    // UnifiedLog.analyzeAndValidateProducerState looks for a duplicate first, and
    // ProducerStateEntry.findDuplicateBatch only within the current epoch, on the exact
    // (firstSeq, lastSeq) range of one of the retained batches.
    if (entry !== undefined && epoch === entry.producerEpoch) {
      const dup = entry.batches.find((b) => firstSeq(b) === batch.baseSequence && b.lastSeq === lastSeq);
      if (dup !== undefined) {
        return {
          kind: "duplicate",
          baseOffset: dup.lastOffset - BigInt(dup.offsetDelta),
          lastOffset: dup.lastOffset,
          maxTimestamp: dup.timestamp,
        };
      }
    }

    // ProducerAppendInfo.checkProducerEpoch: since 2.7 (KIP-588) an older epoch is
    // INVALID_PRODUCER_EPOCH for client appends, not PRODUCER_FENCED.
    if (epoch < currentEpoch) {
      return error(
        ErrorCode.INVALID_PRODUCER_EPOCH,
        `Cannot append batch from producer ${pid}: epoch ${epoch} is older than the current epoch ${currentEpoch}`,
      );
    }

    // ProducerAppendInfo.checkSequence (3.x/4.0, after KIP-360).
    if (epoch !== currentEpoch) {
      // A new epoch must restart at sequence 0. An unknown producer (no epoch: never seen, expired,
      // or truncated away) is accepted at any sequence: since 2.5 the broker no longer answers
      // UNKNOWN_PRODUCER_ID here, and the client's KIP-360 epoch bump handles any gap.
      if (batch.baseSequence !== 0 && currentEpoch !== NO_PRODUCER_EPOCH) {
        return error(
          ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
          `Cannot append batch from producer ${pid}: new epoch ${epoch} must start at sequence 0, got ${batch.baseSequence}`,
        );
      }
    } else {
      // Same epoch: continue from the newest retained batch. A known epoch with no batch (after a
      // marker that bumped it, or a snapshot without batches) has NO_SEQUENCE, so only 0 follows.
      const newest = entry?.batches.at(-1);
      const currentLastSeq = newest === undefined ? NO_SEQUENCE : newest.lastSeq;
      if (currentEpoch !== NO_PRODUCER_EPOCH && !inSequence(currentLastSeq, batch.baseSequence)) {
        return error(
          ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
          `Cannot append batch from producer ${pid}: sequence ${batch.baseSequence} is out of order after ${currentLastSeq} in epoch ${epoch}`,
        );
      }
    }

    // ProducerAppendInfo.appendDataBatch: a non-transactional write while a transaction is open.
    if (entry !== undefined && entry.currentTxnFirstOffset !== null && !batch.isTransactional) {
      return error(
        ErrorCode.INVALID_TXN_STATE,
        `Cannot append non-transactional batch from producer ${pid}: its transaction from offset ${entry.currentTxnFirstOffset} is still open`,
      );
    }
    return { kind: "append" };
  }

  /**
   * Records an appended batch (after offsets are assigned). Also used when replaying the log on
   * recovery, so it never validates: like Kafka's replay, it applies what the log holds.
   * @param batch the batch header as written to the log
   * @param baseOffset the batch's first offset in the log
   * @param _appendTimeMs the broker's clock at append; not used, because Kafka keys producer
   *   expiry and the duplicate answer off the batch's max timestamp, never the broker's clock
   */
  update(batch: BatchInfo, baseOffset: bigint, _appendTimeMs: number): void {
    let entry = this.#producers.get(batch.producerId);
    if (entry === undefined) {
      entry = emptyEntry();
      this.#producers.set(batch.producerId, entry);
    }
    // ProducerStateEntry.maybeUpdateProducerEpoch: another epoch forgets the old epoch's batches.
    if (entry.producerEpoch !== batch.producerEpoch) {
      entry.producerEpoch = batch.producerEpoch;
      entry.batches = [];
    }
    if (batch.isControl) {
      // ProducerStateEntry.update(epoch, coordinatorEpoch, timestamp) from appendEndTxnMarker:
      // the marker ends the ongoing transaction, keeps same-epoch batches.
      if (batch.coordinatorEpoch !== undefined) entry.coordinatorEpoch = batch.coordinatorEpoch;
      entry.currentTxnFirstOffset = null;
      entry.lastTimestamp = batch.maxTimestamp;
      entry.lastMarkerOffset = baseOffset;
      entry.lastMarkerTimestamp = batch.maxTimestamp;
      return;
    }
    // ProducerStateEntry.addBatch, dropping the oldest beyond NUM_BATCHES_TO_RETAIN.
    entry.batches.push({
      lastSeq: incrementSequence(batch.baseSequence, batch.lastOffsetDelta),
      lastOffset: baseOffset + BigInt(batch.lastOffsetDelta),
      offsetDelta: batch.lastOffsetDelta,
      timestamp: batch.maxTimestamp,
    });
    if (entry.batches.length > this.#maxBatches) entry.batches.splice(0, entry.batches.length - this.#maxBatches);
    entry.lastTimestamp = batch.maxTimestamp;
    // appendDataBatch: the first transactional batch opens the transaction.
    if (batch.isTransactional && entry.currentTxnFirstOffset === null) entry.currentTxnFirstOffset = baseOffset;
  }

  /** The first offset of the oldest open transaction (the last stable offset's bound), or null. */
  firstUnstableOffset(): bigint | null {
    let first: bigint | null = null;
    for (const e of this.#producers.values()) {
      if (e.currentTxnFirstOffset !== null && (first === null || e.currentTxnFirstOffset < first)) {
        first = e.currentTxnFirstOffset;
      }
    }
    return first;
  }

  /** Where `producerId`'s open transaction started, or null when it has none. */
  openTransaction(producerId: bigint): bigint | null {
    return this.#producers.get(producerId)?.currentTxnFirstOffset ?? null;
  }

  /**
   * Drops producers idle for at least `expirationMs`, as Kafka's `removeExpiredProducers`:
   * idle means `nowMs - lastTimestamp >= expirationMs` (the batch timestamp, not arrival time),
   * and a producer with an open transaction never expires.
   * @param nowMs the current time
   * @param expirationMs `producer.id.expiration.ms` (Kafka default 86400000)
   */
  removeExpired(nowMs: number, expirationMs: number): void {
    const now = BigInt(Math.floor(nowMs));
    const expiration = BigInt(Math.floor(expirationMs));
    for (const [producerId, entry] of this.#producers) {
      if (entry.currentTxnFirstOffset === null && now - entry.lastTimestamp >= expiration) {
        this.#producers.delete(producerId);
      }
    }
  }

  /**
   * State for DescribeProducers (API 61), as Kafka fills `ProducerState` from each entry.
   * @returns one view per known producer, sorted by producer id
   */
  producers(): ProducerStateView[] {
    const out: ProducerStateView[] = [];
    for (const [producerId, e] of this.#producers) {
      const newest = e.batches.at(-1);
      out.push({
        producerId,
        producerEpoch: e.producerEpoch,
        lastSequence: newest === undefined ? NO_SEQUENCE : newest.lastSeq,
        lastTimestamp: e.lastTimestamp,
        lastOffset: newest === undefined ? -1n : newest.lastOffset,
        currentTxnFirstOffset: e.currentTxnFirstOffset,
        coordinatorEpoch: e.coordinatorEpoch,
      });
    }
    return out.sort((a, b) => (a.producerId < b.producerId ? -1 : a.producerId > b.producerId ? 1 : 0));
  }

  /**
   * Serializes the state as it stood before `upToOffset` (format version 1, CRC-32C checked).
   * Pass the log end offset, as Kafka names each snapshot by its log end offset: the snapshot is
   * then exact. With a lower offset (say, the last fsynced one) the state at or after it is left
   * out by the rules of {@link ProducerStateManager.truncateFrom}, so the snapshot never holds
   * batches a torn tail may have lost; replaying the log from `upToOffset` brings them back.
   * @param upToOffset the first offset the snapshot does not reflect; `load()` returns it as `replayFrom`
   * @returns the snapshot bytes
   */
  snapshot(upToOffset: bigint): Uint8Array {
    const entries: [bigint, ProducerEntry][] = [];
    let size = HEADER_BYTES;
    for (const [producerId, current] of this.#producers) {
      const e = entryBefore(current, upToOffset);
      if (e === null) continue;
      entries.push([producerId, e]);
      size += ENTRY_BYTES + e.batches.length * BATCH_BYTES;
    }
    const bytes = new Uint8Array(size);
    const view = new DataView(bytes.buffer);
    view.setInt16(0, SNAPSHOT_VERSION);
    view.setBigInt64(HEADER_BYTES - 12, upToOffset);
    view.setInt32(HEADER_BYTES - 4, entries.length);
    let at = HEADER_BYTES;
    for (const [producerId, e] of entries) {
      view.setBigInt64(at, producerId);
      view.setInt16(at + 8, e.producerEpoch);
      view.setInt32(at + 10, e.coordinatorEpoch);
      view.setBigInt64(at + 14, e.lastTimestamp);
      view.setBigInt64(at + 22, e.currentTxnFirstOffset ?? -1n);
      view.setBigInt64(at + 30, e.lastMarkerOffset);
      view.setBigInt64(at + 38, e.lastMarkerTimestamp);
      view.setInt32(at + 46, e.batches.length);
      at += ENTRY_BYTES;
      for (const b of e.batches) {
        view.setInt32(at, b.lastSeq);
        view.setBigInt64(at + 4, b.lastOffset);
        view.setInt32(at + 12, b.offsetDelta);
        view.setBigInt64(at + 16, b.timestamp);
        at += BATCH_BYTES;
      }
    }
    view.setUint32(2, crc32c(bytes, CRC_START));
    return bytes;
  }

  /**
   * Loads a snapshot written by {@link ProducerStateManager.snapshot}. Unlike Kafka's
   * loadFromSnapshot it does not drop expired producers; call `removeExpired` afterwards.
   * @param bytes the snapshot
   * @param options.maxBatchesPerProducer as for the constructor; extra batches keep the newest
   * @returns the state and the offset to replay the log from (replay every batch whose last offset
   *   is at or after it), or null when the bytes are corrupt, truncated or of an unknown version
   *   (then replay the whole log)
   */
  static load(
    bytes: Uint8Array,
    options: { maxBatchesPerProducer?: number } = {},
  ): { state: ProducerStateManager; replayFrom: bigint } | null {
    const state = new ProducerStateManager(options);
    try {
      const r = new Reader(bytes);
      const version = r.int16();
      if (version !== SNAPSHOT_VERSION) return null;
      const crc = r.uint32();
      if (crc !== crc32c(bytes, CRC_START)) return null;
      const replayFrom = r.int64();
      const count = r.int32();
      if (replayFrom < 0n || count < 0 || count > r.remaining / ENTRY_BYTES) return null;
      for (let i = 0; i < count; i++) {
        const producerId = r.int64();
        const entry: ProducerEntry = {
          producerEpoch: r.int16(),
          coordinatorEpoch: r.int32(),
          lastTimestamp: r.int64(),
          currentTxnFirstOffset: null,
          batches: [],
          lastMarkerOffset: -1n,
          lastMarkerTimestamp: -1n,
        };
        const txn = r.int64();
        entry.currentTxnFirstOffset = txn >= 0n ? txn : null;
        entry.lastMarkerOffset = r.int64();
        entry.lastMarkerTimestamp = r.int64();
        const batchCount = r.int32();
        if (producerId < 0n || state.#producers.has(producerId)) return null;
        if (batchCount < 0 || batchCount > r.remaining / BATCH_BYTES) return null;
        for (let j = 0; j < batchCount; j++) {
          const b: BatchMetadata = {
            lastSeq: r.int32(),
            lastOffset: r.int64(),
            offsetDelta: r.int32(),
            timestamp: r.int64(),
          };
          if (b.lastSeq < 0 || b.offsetDelta < 0 || b.lastOffset < BigInt(b.offsetDelta)) return null;
          entry.batches.push(b);
        }
        if (lastUpdateOffset(entry) >= replayFrom) return null;
        if (entry.batches.length > state.#maxBatches) entry.batches.splice(0, entry.batches.length - state.#maxBatches);
        state.#producers.set(producerId, entry);
      }
      if (r.remaining !== 0) return null;
      return { state, replayFrom };
    } catch (e) {
      if (e instanceof DecodeError) return null;
      throw e;
    }
  }

  /**
   * Forgets everything at or after `offset` (log truncation on recovery). Exact for sequencing
   * where the kept state allows it, conservative otherwise:
   * - a producer with no state at or after `offset` is untouched;
   * - a producer whose newest state is data batches keeps its batches that end below `offset`
   *   (a batch holding `offset` goes whole, as log truncation removes whole batches), so the
   *   sequence continues from the newest survivor and retries of survivors are still duplicates
   *   (only the dedup window may shrink: batches pushed out earlier cannot come back); a
   *   transaction opened at or after `offset` is closed again;
   * - a producer with a marker at or after `offset`, or with no batch left below it, is dropped,
   *   because its earlier epoch, timestamp or transaction cannot be rebuilt from memory. Its next
   *   batch is then accepted as from an unknown producer (KIP-360), as Kafka does after a
   *   truncation that leaves no producer state.
   * For exact state in every case, load a snapshot taken at or below `offset` and replay the log
   * from its `replayFrom` up to `offset` instead (Kafka's `truncateAndReload`).
   * @param offset the new log end offset
   */
  truncateFrom(offset: bigint): void {
    for (const [producerId, e] of this.#producers) {
      const before = entryBefore(e, offset);
      if (before === null) this.#producers.delete(producerId);
      else if (before !== e) this.#producers.set(producerId, before);
    }
  }
}
