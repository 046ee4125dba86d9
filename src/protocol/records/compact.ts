/**
 * What log compaction needs from a v2 batch: each record's key, offset delta and whether its
 * value is null (a tombstone), as byte ranges of the (decompressed) records section, and a batch
 * rebuilt from some of those records copied byte for byte. The rebuilt batch keeps every header
 * field (base offset, base timestamp, last offset delta, producer id, epoch and base sequence,
 * attributes, codec) except the record count and CRC, as Kafka's `MemoryRecords.filterTo` does, so
 * offsets and idempotence state stay as they were.
 *
 * @module
 */

import { DecodeError } from "../reader.ts";
import {
  BATCH_HEADER_BYTES,
  BATCH_OVERHEAD_BYTES,
  type BatchHeader,
  type CompressFn,
  type DecompressFn,
  readBatchHeader,
  recordsSection,
  writeBatch,
} from "./batch.ts";

/** One record of a batch, as compaction sees it. */
export interface RecordSlice {
  offsetDelta: number;
  /** Milliseconds from the batch's base timestamp. */
  timestampDelta: number;
  /** The key's bytes (a view into the section), or null. */
  key: Uint8Array | null;
  tombstone: boolean;
  /** Where the record (its length prefix included) starts and ends in the section. */
  start: number;
  end: number;
}

/** A batch opened for compaction: its header, its records section and the records. */
export interface OpenedBatch {
  header: BatchHeader;
  section: Uint8Array;
  records: RecordSlice[];
}

function readVarint(buf: Uint8Array, at: { pos: number }, end: number): number {
  let u = 0;
  let shift = 0;
  for (;;) {
    if (at.pos >= end) throw new DecodeError("Found invalid record structure: a varint runs past the record");
    const b = buf[at.pos++]!;
    if (shift < 28) u |= (b & 0x7f) << shift;
    else u += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) break;
    shift += 7;
    if (shift > 63) throw new DecodeError("Found invalid record structure: a varint is too long");
  }
  // Zig-zag: small values only matter here (lengths, deltas); large ones keep their sign.
  return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
}

/**
 * Opens the v2 batch at `at` of `buf`: decompresses its records section and lists its records.
 * @throws DecodeError when the batch or a record is malformed
 */
export function openBatch(buf: Uint8Array, at: number, decompress: DecompressFn): OpenedBatch {
  const header = readBatchHeader(buf, at);
  const end = at + BATCH_OVERHEAD_BYTES + header.batchLength;
  if (header.magic !== 2 || header.batchLength < BATCH_HEADER_BYTES - BATCH_OVERHEAD_BYTES || end > buf.length) {
    throw new DecodeError(`Cannot read record batch at byte ${at}: not a whole magic 2 batch`);
  }
  const section = recordsSection(buf, at, end, header.attributes, decompress);
  const records: RecordSlice[] = [];
  const cur = { pos: 0 };
  for (let i = 0; i < header.recordCount; i++) {
    const start = cur.pos;
    const size = readVarint(section, cur, section.length);
    const recordEnd = cur.pos + size;
    if (size < 0 || recordEnd > section.length) {
      throw new DecodeError(`Found invalid record structure: record ${i} runs past its batch`);
    }
    cur.pos++; // attributes
    const timestampDelta = readVarint(section, cur, recordEnd);
    const offsetDelta = readVarint(section, cur, recordEnd);
    const keyLength = readVarint(section, cur, recordEnd);
    let key: Uint8Array | null = null;
    if (keyLength >= 0) {
      if (cur.pos + keyLength > recordEnd) throw new DecodeError(`Found invalid record structure: record ${i}'s key`);
      key = section.subarray(cur.pos, cur.pos + keyLength);
      cur.pos += keyLength;
    }
    const valueLength = readVarint(section, cur, recordEnd);
    records.push({ offsetDelta, timestampDelta, key, tombstone: valueLength < 0, start, end: recordEnd });
    cur.pos = recordEnd;
  }
  return { header, section, records };
}

/**
 * A batch holding only `keep` (records of `opened`, in order), with the header fields unchanged
 * but the record count and CRC. With no records it is the empty batch Kafka keeps to preserve a
 * producer's last sequence.
 */
export function rebuildBatch(opened: OpenedBatch, keep: readonly RecordSlice[], compress: CompressFn): Uint8Array {
  let size = 0;
  for (const r of keep) size += r.end - r.start;
  const section = new Uint8Array(size);
  let p = 0;
  for (const r of keep) {
    section.set(opened.section.subarray(r.start, r.end), p);
    p += r.end - r.start;
  }
  const codec = opened.header.attributes & 0x07;
  return writeBatch(
    { ...opened.header, recordCount: keep.length },
    codec === 0 || keep.length === 0 ? section : compress(codec, section),
  );
}
