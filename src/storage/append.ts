/**
 * What every engine does to a batch on append, before storing its bytes: the idempotent
 * producer check (KIP-98) against the partition's producer state, and the two header fields the
 * broker sets (base offset and partition leader epoch). Engines differ only in where the bytes go.
 *
 * @module
 */

import type { AppendOutcome } from "./engine.ts";
import { F, int64, setInt64 } from "./batch_fields.ts";
import type { BatchInfo, ProducerStateManager } from "./producer_state.ts";

/** Whether a batch may be appended: `new` (with its producer info, null when not idempotent), or the answer. */
export type Admission =
  | { kind: "new"; info: BatchInfo | null }
  | Extract<AppendOutcome, { kind: "duplicate" | "error" }>;

const PLAIN: Admission = Object.freeze({ kind: "new", info: null });

/**
 * The producer fields of the batch whose header starts at `p`, or null when it has no producer id.
 * @param v a view over the batch bytes
 * @param p where the batch starts in `v`
 * @returns the producer info
 */
export function batchInfoAt(v: DataView, p = 0): BatchInfo | null {
  const producerId = int64(v, p + F.PRODUCER_ID);
  if (producerId < 0) return null;
  const attributes = v.getInt16(p + F.ATTRIBUTES);
  const isControl = (attributes & 0x20) !== 0;
  const coordinatorEpoch = isControl && (attributes & 0x07) === 0 ? markerCoordinatorEpoch(v, p) : undefined;
  return {
    ...(coordinatorEpoch === undefined ? {} : { coordinatorEpoch }),
    producerId: BigInt(producerId),
    producerEpoch: v.getInt16(p + F.PRODUCER_EPOCH),
    baseSequence: v.getInt32(p + F.BASE_SEQUENCE),
    lastOffsetDelta: v.getInt32(p + F.LAST_OFFSET_DELTA),
    isTransactional: (attributes & 0x10) !== 0,
    isControl,
    maxTimestamp: BigInt(int64(v, p + F.MAX_TIMESTAMP)),
  };
}

/** Reads one varint (zigzag) at `at`; returns the value and where the next field starts. */
function varintAt(v: DataView, at: number, end: number): [number, number] | null {
  let raw = 0;
  for (let shift = 0; shift < 35 && at < end; shift += 7) {
    const b = v.getUint8(at++);
    raw |= (b & 0x7f) << shift;
    if ((b & 0x80) === 0) return [(raw >>> 1) ^ -(raw & 1), at];
  }
  return null;
}

/**
 * The coordinator epoch in an uncompressed end-transaction marker's value (version int16,
 * coordinator epoch int32), or undefined when the record cannot be read.
 */
function markerCoordinatorEpoch(v: DataView, p: number): number | undefined {
  const end = Math.min(v.byteLength, p + 12 + v.getInt32(p + F.BATCH_LENGTH));
  let at = p + F.HEADER_END;
  let f = varintAt(v, at, end); // record length
  if (!f) return undefined;
  at = f[1] + 1; // attributes
  for (let i = 0; i < 2; i++) { // timestamp delta, offset delta
    f = varintAt(v, at, end);
    if (!f) return undefined;
    at = f[1];
  }
  f = varintAt(v, at, end); // key length
  if (!f || f[0] < 0) return undefined;
  at = f[1] + f[0];
  f = varintAt(v, at, end); // value length
  if (!f || f[0] < 6 || f[1] + 6 > end) return undefined;
  return v.getInt32(f[1] + 2);
}

/**
 * Checks an idempotent producer's batch against the producer state: a retry of a batch still
 * remembered is a duplicate (answered with its original offsets), a sequence gap or stale epoch
 * an error. Batches without a producer id are always new.
 * @param producers the partition's producer state
 * @param v a view over the batch
 * @returns the admission
 */
export function admitBatch(producers: ProducerStateManager, v: DataView): Admission {
  const info = batchInfoAt(v);
  if (info === null) return PLAIN;
  const check = producers.check(info);
  if (check.kind === "duplicate") {
    return {
      kind: "duplicate",
      baseOffset: Number(check.baseOffset),
      lastOffset: Number(check.lastOffset),
      maxTimestamp: Number(check.maxTimestamp),
    };
  }
  if (check.kind === "error") return check;
  return { kind: "new", info };
}

/**
 * Sets the broker-assigned header fields. Neither is covered by the batch CRC.
 * @param v a view over the batch
 * @param baseOffset the offset of its first record
 * @param leaderEpoch the partition leader epoch
 */
export function stampBatch(v: DataView, baseOffset: number, leaderEpoch: number): void {
  setInt64(v, F.BASE_OFFSET, baseOffset);
  v.setInt32(F.LEADER_EPOCH, leaderEpoch);
}

/** Callbacks waiting for a partition's high watermark to move (long-polling fetches). */
export class DataWaiters {
  #waiters = new Set<() => void>();

  /** Calls `fn` once at the next {@link DataWaiters.notify}; returns a canceller. */
  add(fn: () => void): () => void {
    this.#waiters.add(fn);
    return () => this.#waiters.delete(fn);
  }

  /** Calls (and forgets) every waiter. */
  notify(): void {
    if (this.#waiters.size === 0) return;
    const ws = [...this.#waiters];
    this.#waiters.clear();
    for (const w of ws) w();
  }
}

/**
 * ListOffsets v0 (removed in Kafka 4.0): up to `maxCount` offsets, descending, from segment
 * boundaries — `points` are each segment's first offset with its newest record's time, plus the
 * log end with the current time when the active segment holds data — as Kafka 3.x's
 * `legacyFetchOffsetsBefore` did. -1 is latest (the end offset first), -2 earliest.
 * @param points boundaries in offset order
 * @param timestampMs the time asked for, or -1 / -2
 * @param maxCount how many offsets at most
 * @returns the offsets, descending
 */
export function legacyOffsets(
  points: readonly { offset: number; time: number }[],
  timestampMs: number,
  maxCount: number,
): number[] {
  let start: number;
  if (timestampMs === -1) start = points.length - 1;
  else if (timestampMs === -2) start = 0;
  else {
    start = points.length - 1;
    while (start >= 0 && points[start]!.time > timestampMs) start--;
  }
  const out: number[] = [];
  for (let i = start; i >= 0 && out.length < maxCount; i--) out.push(points[i]!.offset);
  return out.sort((a, b) => b - a);
}

/**
 * The bytes a fetch returns from candidate batches in offset order: whole batches within
 * `maxBytes` (the first one even when larger, with `minOneBatch`), as one view.
 * @param batches candidate batches, in offset order
 * @param maxBytes the byte budget
 * @param minOneBatch whether the first batch is returned whatever its size
 * @returns the batches back to back (no copy when there is one)
 */
export function takeBatches(batches: Iterable<Uint8Array>, maxBytes: number, minOneBatch: boolean): Uint8Array {
  const taken: Uint8Array[] = [];
  let bytes = 0;
  for (const b of batches) {
    if (bytes + b.length > maxBytes && !(taken.length === 0 && minOneBatch)) break;
    taken.push(b);
    bytes += b.length;
  }
  if (taken.length <= 1) return taken[0] ?? new Uint8Array(0);
  const out = new Uint8Array(bytes);
  let at = 0;
  for (const b of taken) {
    out.set(b, at);
    at += b.length;
  }
  return out;
}

/**
 * Binary search over ascending keys: the last index whose key is at or below `value` (0 when
 * none is).
 * @param count how many keys there are
 * @param keyAt the key at an index
 * @param value the value looked up
 * @returns the index
 */
export function floorIndex(count: number, keyAt: (i: number) => number, value: number): number {
  let lo = 0;
  let hi = count - 1;
  let best = 0;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (keyAt(mid) <= value) {
      best = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return best;
}
