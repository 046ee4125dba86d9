/**
 * Log compaction as Kafka's LogCleaner does it, the parts every engine shares: the offset map of
 * the dirty section (each key's newest offset, bounded by `log.cleaner.dedupe.buffer.size`), the
 * per-batch filter (a record stays when it is its key's newest, or its key was not seen in the
 * dirty section; a tombstone goes once `delete.retention.ms` passed; control batches and records
 * without a key stay; a batch left empty stays, empty, when it is its producer's newest, so
 * idempotent producers keep their sequence), the cleanable range (`min.compaction.lag.ms`, the
 * active segment never) and when a partition is due (`min.cleanable.dirty.ratio`,
 * `max.compaction.lag.ms`), and the I/O throttle (`log.cleaner.io.max.bytes.per.second`).
 *
 * @module
 */

import { openBatch, type OpenedBatch, rebuildBatch, type RecordSlice } from "../protocol/records/compact.ts";
import type { AbortedTxnIndex } from "./aborted_txns.ts";
import { F, int64, view } from "./batch_fields.ts";

/** The settings compaction follows (Kafka's names in the comments; Infinity: no limit). */
export interface CompactionConfig {
  /** `min.cleanable.dirty.ratio`: clean once dirty bytes are at least this share of the log. */
  minCleanableDirtyRatio: number;
  /** `min.compaction.lag.ms`: records younger than this are not compacted yet. */
  minCompactionLagMs: number;
  /** `max.compaction.lag.ms`: a record older than this is compacted whatever the dirty ratio. */
  maxCompactionLagMs: number;
  /** `delete.retention.ms`: how long a tombstone is kept once written. */
  deleteRetentionMs: number;
  /** `log.cleaner.dedupe.buffer.size`: bytes the offset map may take. */
  dedupeBufferBytes: number;
  /** `log.cleaner.io.max.bytes.per.second`: cleaner reads and writes, together. */
  ioMaxBytesPerSecond: number;
}

/** Kafka's defaults. */
export const DEFAULT_COMPACTION_CONFIG: CompactionConfig = {
  minCleanableDirtyRatio: 0.5,
  minCompactionLagMs: 0,
  maxCompactionLagMs: Infinity,
  deleteRetentionMs: 86_400_000,
  dedupeBufferBytes: 128 * 1024 * 1024,
  ioMaxBytesPerSecond: Infinity,
};

/** What one cleaning of a partition did. */
export interface CleanOutcome {
  /** False when the partition was not due (nothing was read or written). */
  cleaned: boolean;
  /** Bytes of the cleaned range before and after. */
  bytesBefore: number;
  bytesAfter: number;
  recordsRemoved: number;
  tombstonesRemoved: number;
  /** Where the next cleaning's dirty section starts (the cleaner checkpoint). */
  cleanedUpTo: number;
  /** Why it was due: the dirty ratio, or a record older than max.compaction.lag.ms. */
  reason: "dirty ratio" | "max.compaction.lag.ms" | null;
}

/** Nothing cleaned. */
export function notCleaned(cleanedUpTo: number): CleanOutcome {
  return {
    cleaned: false,
    bytesBefore: 0,
    bytesAfter: 0,
    recordsRemoved: 0,
    tombstonesRemoved: 0,
    cleanedUpTo,
    reason: null,
  };
}

/** Bookkeeping bytes per offset-map entry besides the key (Kafka counts 24: hash and offset). */
const ENTRY_OVERHEAD = 24;

/**
 * Each key's newest offset in the dirty section. Keys are kept whole (no hash, so no collision can
 * drop a live record); the budget counts each entry as its key's length plus 24 bytes.
 */
export class OffsetMap {
  readonly #map = new Map<string, number>();
  readonly #budget: number;
  #bytes = 0;

  constructor(budgetBytes: number) {
    this.#budget = budgetBytes;
  }

  static keyOf(key: Uint8Array): string {
    let s = "";
    for (let i = 0; i < key.length; i += 8192) {
      s += String.fromCharCode.apply(null, key.subarray(i, i + 8192) as unknown as number[]);
    }
    return s;
  }

  get size(): number {
    return this.#map.size;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** Whether a batch's keys fit (a whole batch is mapped or none of it). */
  fits(keys: readonly (Uint8Array | null)[]): boolean {
    let need = 0;
    for (const k of keys) if (k !== null) need += k.length + ENTRY_OVERHEAD;
    return this.#bytes + need <= this.#budget;
  }

  put(key: Uint8Array, offset: number): void {
    const k = OffsetMap.keyOf(key);
    if (!this.#map.has(k)) this.#bytes += key.length + ENTRY_OVERHEAD;
    this.#map.set(k, offset);
  }

  get(key: Uint8Array): number | undefined {
    return this.#map.get(OffsetMap.keyOf(key));
  }
}

/** The codec functions compaction needs. */
export interface CompactionCodecs {
  decompress: (codec: number, data: Uint8Array) => Uint8Array;
  compress: (codec: number, data: Uint8Array) => Uint8Array;
}

/** Whether the batch at the start of `batch` is a control batch (transaction markers). */
export function isControlBatch(batch: Uint8Array): boolean {
  return (view(batch).getInt16(F.ATTRIBUTES) & 0x20) !== 0;
}

/**
 * Adds the keys of one batch to the map, unless they do not fit.
 * @returns false when the map is full (nothing was added)
 */
export function mapBatch(
  batch: Uint8Array,
  map: OffsetMap,
  codecs: CompactionCodecs,
  aborted?: AbortedTxnIndex,
): boolean {
  if (isControlBatch(batch)) return true;
  const opened = openBatch(batch, 0, codecs.decompress);
  // An aborted transaction's records supersede nothing.
  const base0 = Number(opened.header.baseOffset);
  if (aborted && (opened.header.attributes & 0x10) !== 0 && isAbortedAt(aborted, opened.header.producerId, base0)) {
    return true;
  }
  if (!map.fits(opened.records.map((r) => r.key))) return false;
  const base = Number(opened.header.baseOffset);
  for (const r of opened.records) if (r.key !== null) map.put(r.key, base + r.offsetDelta);
  return true;
}

/** What filtering one batch did. */
export interface FilteredBatch {
  /** The batch to keep (the same array when nothing changed), or null to drop it. */
  bytes: Uint8Array | null;
  recordsRemoved: number;
  tombstonesRemoved: number;
}

/** How {@link filterBatch} judges a batch. */
export interface FilterOptions {
  map: OffsetMap;
  deleteHorizonMs: number;
  keepEmpty: boolean;
  codecs: CompactionCodecs;
  /** The partition's aborted transactions: their records go. */
  aborted?: AbortedTxnIndex;
  /** The pass's view of transactions, for dropping markers whose transaction kept nothing. */
  txns?: TxnCleaningPass;
}

/**
 * Filters one batch against the offset map.
 * @param batch one whole v2 batch
 * @param o.map the dirty section's offset map
 * @param o.deleteHorizonMs tombstones with a timestamp before this go (now - delete.retention.ms)
 * @param o.keepEmpty keep the batch, emptied, when nothing is left (a producer's newest batch)
 */
export function filterBatch(batch: Uint8Array, o: FilterOptions): FilteredBatch {
  if (isControlBatch(batch)) {
    // A marker goes once its transaction kept no batch and delete.retention.ms passed since it
    // was written (Kafka's cleaner: an empty transaction's marker past the delete horizon).
    const v = view(batch);
    const empty = o.txns?.endTransaction(BigInt(int64(v, F.PRODUCER_ID))) ?? false;
    if (empty && int64(v, F.MAX_TIMESTAMP) < o.deleteHorizonMs) {
      return { bytes: null, recordsRemoved: 1, tombstonesRemoved: 0 };
    }
    return { bytes: batch, recordsRemoved: 0, tombstonesRemoved: 0 };
  }
  const f = filterData(batch, o);
  if (o.txns && (view(batch).getInt16(F.ATTRIBUTES) & 0x10) !== 0) {
    o.txns.data(BigInt(int64(view(batch), F.PRODUCER_ID)), f.bytes !== null);
  }
  return f;
}

/**
 * What one compaction pass learns of transactions as it walks the log from its start: whether a
 * producer's current transaction kept any batch. A pass that skips part of the log knows nothing.
 */
export class TxnCleaningPass {
  readonly #kept = new Map<bigint, boolean>();
  #blind = false;

  /** A transactional data batch of `producerId` was kept (true) or dropped. */
  data(producerId: bigint, kept: boolean): void {
    if (kept) this.#kept.set(producerId, true);
    else if (!this.#kept.has(producerId)) this.#kept.set(producerId, false);
  }

  /** At the producer's marker: whether its transaction kept no batch; then forgets it. */
  endTransaction(producerId: bigint): boolean {
    const kept = this.#kept.get(producerId) ?? false;
    this.#kept.delete(producerId);
    return !kept && !this.#blind;
  }

  /** Part of the log was not walked: no marker may be judged empty from now on. */
  blind(): void {
    this.#blind = true;
  }
}

function filterData(batch: Uint8Array, o: FilterOptions): FilteredBatch {
  const opened: OpenedBatch = openBatch(batch, 0, o.codecs.decompress);
  const base = Number(opened.header.baseOffset);
  if (o.aborted && (opened.header.attributes & 0x10) !== 0 && isAbortedAt(o.aborted, opened.header.producerId, base)) {
    // Data of an aborted transaction (Kafka's cleaner discards it): no reader may ever see it.
    const recordsRemoved = opened.records.length;
    if (!o.keepEmpty) return { bytes: null, recordsRemoved, tombstonesRemoved: 0 };
    return { bytes: rebuildBatch(opened, [], o.codecs.compress), recordsRemoved, tombstonesRemoved: 0 };
  }
  const keep: RecordSlice[] = [];
  let tombstonesRemoved = 0;
  for (const r of opened.records) {
    if (r.key === null) {
      keep.push(r);
      continue;
    }
    const newest = o.map.get(r.key);
    if (newest !== undefined && newest > base + r.offsetDelta) continue;
    if (r.tombstone && recordTimestamp(opened, r) < o.deleteHorizonMs) {
      tombstonesRemoved++;
      continue;
    }
    keep.push(r);
  }
  const recordsRemoved = opened.records.length - keep.length;
  if (recordsRemoved === 0) return { bytes: batch, recordsRemoved: 0, tombstonesRemoved: 0 };
  if (keep.length === 0 && !o.keepEmpty) return { bytes: null, recordsRemoved, tombstonesRemoved };
  return { bytes: rebuildBatch(opened, keep, o.codecs.compress), recordsRemoved, tombstonesRemoved };
}

/** Whether a transactional batch of `producerId` at `offset` belongs to an aborted transaction. */
function isAbortedAt(aborted: AbortedTxnIndex, producerId: bigint, offset: number): boolean {
  return aborted.entries.some((e) => e.producerId === producerId && e.firstOffset <= offset && offset < e.lastOffset);
}

/** A record's timestamp: the batch's max for LogAppendTime, else base plus the record's delta. */
function recordTimestamp(opened: OpenedBatch, r: RecordSlice): number {
  if ((opened.header.attributes & 0x08) !== 0) return Number(opened.header.maxTimestamp);
  return Number(opened.header.baseTimestamp) + r.timestampDelta;
}

/** The newest batch of every producer (by its last offset): kept even when emptied. */
export function producersNewest(lastOffsets: Iterable<bigint>): Set<number> {
  const out = new Set<number>();
  for (const o of lastOffsets) if (o >= 0n) out.add(Number(o));
  return out;
}

/** The offset after the batch at the start of `batch`. */
export function batchEnd(batch: Uint8Array): number {
  const v = view(batch);
  return int64(v, 0) + v.getInt32(F.LAST_OFFSET_DELTA) + 1;
}

/**
 * Whether a partition is due: its dirty share is at least min.cleanable.dirty.ratio, or its
 * oldest dirty record is older than max.compaction.lag.ms.
 */
export function dueReason(
  o: { cleanBytes: number; dirtyBytes: number; oldestDirtyTimestamp: number },
  config: CompactionConfig,
  nowMs: number,
): CleanOutcome["reason"] {
  if (o.dirtyBytes <= 0) return null;
  if (o.dirtyBytes / (o.cleanBytes + o.dirtyBytes) >= config.minCleanableDirtyRatio) return "dirty ratio";
  if (
    Number.isFinite(config.maxCompactionLagMs) && o.oldestDirtyTimestamp >= 0 &&
    nowMs - o.oldestDirtyTimestamp > config.maxCompactionLagMs
  ) return "max.compaction.lag.ms";
  return null;
}

/** How long the cleaner may keep the event loop before it lets other work (produce, fetch) run. */
const SLICE_MS = 2;

/**
 * Paces the cleaner's I/O to a byte rate (Infinity: no pacing), and hands the event loop back
 * every few milliseconds of work, so that produce and fetch requests are served in between.
 */
export class Throttle {
  readonly #rate: number;
  readonly #now: () => number;
  #start: number;
  #bytes = 0;
  #sliceStart: number;

  constructor(bytesPerSecond: number, now: () => number = () => performance.now()) {
    this.#rate = bytesPerSecond;
    this.#now = now;
    this.#start = now();
    this.#sliceStart = now();
  }

  /** Counts `bytes` and waits as long as the rate asks (or for a turn of the event loop). */
  async use(bytes: number): Promise<void> {
    if (!Number.isFinite(this.#rate) || this.#rate <= 0) {
      if (this.#now() - this.#sliceStart >= SLICE_MS) {
        await new Promise((r) => setTimeout(r, 0));
        this.#sliceStart = this.#now();
      }
      return;
    }
    this.#bytes += bytes;
    const due = this.#start + (this.#bytes / this.#rate) * 1000;
    const wait = due - this.#now();
    if (wait > 1) {
      await new Promise((r) => setTimeout(r, wait));
      this.#sliceStart = this.#now();
    } else if (this.#now() - this.#sliceStart >= SLICE_MS) {
      await new Promise((r) => setTimeout(r, 0));
      this.#sliceStart = this.#now();
    }
    // Restart the window now and then, so an idle spell does not become a burst allowance.
    if (this.#now() - this.#start > 10_000) {
      this.#start = this.#now();
      this.#bytes = 0;
    }
  }
}
