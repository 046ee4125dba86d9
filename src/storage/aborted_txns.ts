/**
 * A partition's aborted transactions (Kafka's transaction index, `.txnindex`): for each ABORT
 * marker, the producer id, the first offset of the transaction it ended and the marker's offset.
 * Fetch with `isolation_level=read_committed` sends the ones overlapping what it returns, so that
 * consumers drop those producers' records; the last stable offset keeps them from reading an
 * open transaction at all. Every engine keeps one per partition (`append.ts` feeds it).
 *
 * @module
 */

import { openBatch } from "../protocol/records/compact.ts";
import { F, int64, view } from "./batch_fields.ts";
import { isControlBatch } from "./compaction.ts";

/** One aborted transaction. */
export interface AbortedTxn {
  producerId: bigint;
  firstOffset: number;
  /** The offset of the ABORT marker. */
  lastOffset: number;
}

/** Control record type of a marker batch (0 ABORT, 1 COMMIT), or null when `batch` is no marker. */
export function markerType(
  batch: Uint8Array,
  decompress: (codec: number, data: Uint8Array) => Uint8Array,
): number | null {
  if (!isControlBatch(batch)) return null;
  const key = openBatch(batch, 0, decompress).records[0]?.key;
  if (!key || key.length < 4) return null;
  return new DataView(key.buffer, key.byteOffset, key.byteLength).getInt16(2);
}

/** The aborted transactions of one partition, by marker offset. */
export class AbortedTxnIndex {
  #entries: AbortedTxn[] = [];

  constructor(entries: readonly AbortedTxn[] = []) {
    this.#entries = [...entries].sort((a, b) => a.lastOffset - b.lastOffset);
  }

  get entries(): readonly AbortedTxn[] {
    return this.#entries;
  }

  /** Records an ABORT marker (ignored when already there, as during recovery). */
  add(entry: AbortedTxn): boolean {
    if (this.#entries.some((e) => e.lastOffset === entry.lastOffset)) return false;
    this.#entries.push(entry);
    this.#entries.sort((a, b) => a.lastOffset - b.lastOffset);
    return true;
  }

  /** The aborted transactions whose records overlap offsets [from, to), as Fetch answers them. */
  overlapping(from: number, to: number): AbortedTxn[] {
    return this.#entries.filter((e) => e.lastOffset >= from && e.firstOffset < to);
  }

  /** Forgets markers at or after `offset` (a truncated tail). */
  truncateFrom(offset: number): boolean {
    const before = this.#entries.length;
    this.#entries = this.#entries.filter((e) => e.lastOffset < offset);
    return this.#entries.length !== before;
  }

  /** Forgets transactions wholly below `offset` (the log start moved past them). */
  truncateBefore(offset: number): boolean {
    const before = this.#entries.length;
    this.#entries = this.#entries.filter((e) => e.lastOffset >= offset);
    return this.#entries.length !== before;
  }

  serialize(): string {
    return JSON.stringify(this.#entries.map((e) => [String(e.producerId), e.firstOffset, e.lastOffset]));
  }

  static parse(text: string): AbortedTxnIndex | null {
    try {
      const rows = JSON.parse(text) as [string, number, number][];
      return new AbortedTxnIndex(rows.map(([p, f, l]) => ({ producerId: BigInt(p), firstOffset: f, lastOffset: l })));
    } catch {
      return null;
    }
  }
}

/**
 * What an appended batch does to the index: an ABORT marker of a producer with an open
 * transaction adds an entry. Call before the producer state sees the marker.
 */
export function abortedBy(
  batch: Uint8Array,
  baseOffset: number,
  openTransaction: (producerId: bigint) => bigint | null,
  decompress: (codec: number, data: Uint8Array) => Uint8Array,
): AbortedTxn | null {
  if (markerType(batch, decompress) !== 0) return null;
  const producerId = BigInt(int64(view(batch), F.PRODUCER_ID));
  const first = openTransaction(producerId);
  if (first === null) return null;
  return { producerId, firstOffset: Number(first), lastOffset: baseOffset };
}
