/**
 * Legacy MessageSets (magic 0 and 1, Kafka ≤ 0.10) converted to and from RecordBatch v2, so the
 * log only ever holds v2: Produce v0–v2 data is up-converted on the way in, Fetch v0–v3
 * answers are down-converted on the way out. Byte layouts: `record-format.md` §3.
 *
 * @module
 */

import { crc32 } from "../crc32.ts";
import { ErrorCode } from "../generated/errors.ts";
import {
  Attributes,
  BATCH_OVERHEAD_BYTES,
  type CompressFn,
  Compression,
  type DecompressFn,
  scanBatches,
} from "./batch.ts";
import { type AbsoluteRecord, batchRecords, buildBatch, type RecordInput } from "./records.ts";

/** Message bytes without key and value (LegacyRecord.RECORD_OVERHEAD_V0 / _V1). */
const RECORD_OVERHEAD_V0 = 14;
const RECORD_OVERHEAD_V1 = 22;
/** Byte of the message's CRC and magic, counted from the entry start (offset + size first). */
const CRC_AT = 12;
const MAGIC_AT = 16;
const ATTRIBUTES_AT = 17;
const TIMESTAMP_TYPE_LOG_APPEND = 0x08;

/** A Kafka error outcome. */
interface Failure {
  ok: false;
  code: number;
  message: string;
}

function failure(code: number, message: string): Failure {
  return { ok: false, code, message };
}

/** One decoded legacy message; key and value are views. */
interface Message {
  offset: bigint;
  magic: number;
  attributes: number;
  /** -1 for magic 0. */
  timestamp: bigint;
  key: Uint8Array | null;
  value: Uint8Array | null;
}

function viewOf(buf: Uint8Array): DataView {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}

/**
 * Decodes the entry `buf[at, at + 12 + size)` (size ≥ 14 already checked), verifying its
 * CRC-32 first as LegacyRecord.ensureValid does.
 */
function readMessage(buf: Uint8Array, dv: DataView, at: number, size: number): Message | Failure {
  const magic = dv.getInt8(at + MAGIC_AT);
  if (magic !== 0 && magic !== 1) {
    return failure(ErrorCode.INVALID_RECORD, `Legacy message at byte ${at} has magic ${magic}, expected 0 or 1`);
  }
  const end = at + BATCH_OVERHEAD_BYTES + size;
  if (size < (magic === 0 ? RECORD_OVERHEAD_V0 : RECORD_OVERHEAD_V1)) {
    return failure(ErrorCode.CORRUPT_MESSAGE, `Record is corrupt (size ${size} is below the magic ${magic} overhead)`);
  }
  const stored = dv.getUint32(at + CRC_AT);
  const computed = crc32(buf, at + MAGIC_AT, end);
  if (stored !== computed) {
    return failure(ErrorCode.CORRUPT_MESSAGE, `Record is corrupt (stored crc = ${stored}, computed crc = ${computed})`);
  }
  const attributes = buf[at + ATTRIBUTES_AT]!;
  let p = at + ATTRIBUTES_AT + 1;
  let timestamp = -1n;
  if (magic === 1) {
    timestamp = dv.getBigInt64(p);
    p += 8;
  }
  let key: Uint8Array | null = null;
  const keySize = dv.getInt32(p);
  p += 4;
  if (keySize >= 0) {
    if (keySize > end - p - 4) return failure(ErrorCode.CORRUPT_MESSAGE, `Record is corrupt (key size ${keySize})`);
    key = buf.subarray(p, p + keySize);
    p += keySize;
  }
  let value: Uint8Array | null = null;
  const valueSize = dv.getInt32(p);
  p += 4;
  if (valueSize >= 0) {
    if (valueSize > end - p) return failure(ErrorCode.CORRUPT_MESSAGE, `Record is corrupt (value size ${valueSize})`);
    value = buf.subarray(p, p + valueSize);
    p += valueSize;
  }
  if (p !== end) return failure(ErrorCode.CORRUPT_MESSAGE, `Record is corrupt (${end - p} bytes after the value)`);
  return { offset: dv.getBigInt64(at), magic, attributes, timestamp, key, value };
}

/**
 * Reads the message set nested in a compressed wrapper and appends its messages to `out`,
 * as AbstractLegacyRecordBatch.DeepRecordsIterator and LogValidator do.
 */
function readWrapper(
  wrapper: Message,
  codec: number,
  decompress: DecompressFn,
  out: RecordInput[],
): Failure | null {
  if (codec === Compression.ZSTD) {
    return failure(ErrorCode.INVALID_RECORD, "Invalid wrapper compressionType found in legacy deep record iterator 4");
  }
  if (wrapper.value === null) {
    return failure(
      ErrorCode.INVALID_RECORD,
      `Found invalid compressed record set with null value (magic = ${wrapper.magic})`,
    );
  }
  let inner: Uint8Array;
  try {
    inner = decompress(codec, wrapper.value);
  } catch (e) {
    return failure(
      ErrorCode.CORRUPT_MESSAGE,
      `Cannot decompress message set (codec ${codec}): ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  const dv = viewOf(inner);
  const logAppend = wrapper.magic === 1 && (wrapper.attributes & TIMESTAMP_TYPE_LOG_APPEND) !== 0;
  let at = 0;
  let count = 0;
  let lastInnerOffset = 0n;
  // DataLogInputStream.nextBatch: a short read ends the inner set quietly.
  while (inner.length - at >= BATCH_OVERHEAD_BYTES) {
    const size = dv.getInt32(at + 8);
    if (size < RECORD_OVERHEAD_V0) {
      return failure(
        ErrorCode.CORRUPT_MESSAGE,
        `Record size is less than the minimum record overhead (${RECORD_OVERHEAD_V0})`,
      );
    }
    if (inner.length - at - BATCH_OVERHEAD_BYTES < size) break;
    const m = readMessage(inner, dv, at, size);
    if ("ok" in m) return m;
    if (m.magic !== wrapper.magic) {
      return failure(
        ErrorCode.INVALID_RECORD,
        `Compressed message magic ${m.magic} does not match wrapper magic ${wrapper.magic}`,
      );
    }
    if ((m.attributes & Attributes.COMPRESSION_MASK) !== Compression.NONE) {
      return failure(
        ErrorCode.INVALID_RECORD,
        "Compressed outer record should not have an inner record with a compression attribute set",
      );
    }
    out.push({ key: m.key, value: m.value, timestamp: logAppend ? wrapper.timestamp : m.timestamp });
    lastInnerOffset = m.offset;
    count++;
    at += BATCH_OVERHEAD_BYTES + size;
  }
  if (count === 0) {
    return failure(ErrorCode.INVALID_RECORD, "Found invalid compressed record set with no inner records");
  }
  // Magic 1 inner offsets are relative; the wrapper carries the last absolute offset, or 0
  // from some librdkafka versions.
  if (wrapper.magic === 1 && wrapper.offset !== 0n && wrapper.offset < lastInnerOffset) {
    return failure(
      ErrorCode.INVALID_RECORD,
      `Found invalid wrapper offset in compressed v1 message set, wrapper offset '${wrapper.offset}' is less than the last inner message offset '${lastInnerOffset}' and it is not zero.`,
    );
  }
  return null;
}

/** Options of {@link upConvertMessageSet}. */
export interface UpConvertOptions {
  compress: CompressFn;
  decompress: DecompressFn;
  /** Only consulted for records without a timestamp; legacy records always carry one (-1 for magic 0). */
  now: () => bigint;
}

/**
 * Produce v0–v2: converts a MessageSet (magic 0 or 1, uncompressed messages or one compressed
 * wrapper holding an inner message set; every CRC-32 checked) into ONE v2 RecordBatch, as
 * Kafka's LogValidator does before appending: offsets 0..n−1, CreateTime, no producer id,
 * compressed with the wrapper's codec when there was one (the topic's `compression.type`
 * may then call for {@link recompressBatch}).
 *
 * Semantics, from Kafka: magic 0 messages have no timestamp and become records with timestamp
 * -1 (NO_TIMESTAMP), as LogValidator.convertAndAssignOffsetsNonCompressed copies
 * `record.timestamp()`; magic 1 messages keep theirs, and inner messages of a LogAppendTime
 * wrapper take the wrapper's (LegacyRecord.timestamp()). A trailing partial message is dropped
 * (UnifiedLog trims invalid bytes). Errors: a size field below 14, a CRC mismatch or a message
 * whose key/value lengths do not fit → CORRUPT_MESSAGE; mixed magics, a compressed wrapper next
 * to other messages ("Compressed outer record has more than one batch"), a null or empty
 * wrapper, nested compression, zstd in a legacy wrapper → INVALID_RECORD. kbin choices: an
 * unknown codec (5–7) or a payload the codec cannot decompress → CORRUPT_MESSAGE.
 *
 * For lz4 wrappers of magic 0, Kafka writes a wrong LZ4 frame header checksum; `decompress`
 * must not insist on it.
 * @param buf the partition's records field
 * @returns the batch (empty with recordCount 0 when `buf` holds no whole message, which Kafka
 *   treats as nothing to append), or the Kafka error
 * @example
 * const r = upConvertMessageSet(partition.records, { compress, decompress, now });
 * if (!r.ok) return { errorCode: r.code, errorMessage: r.message };
 */
export function upConvertMessageSet(
  buf: Uint8Array,
  options: UpConvertOptions,
): { ok: true; batch: Uint8Array; recordCount: number } | Failure {
  const dv = viewOf(buf);
  const records: RecordInput[] = [];
  let firstMagic = -1;
  let entries = 0;
  let sourceCodec = Compression.NONE as number;
  let at = 0;
  while (buf.length - at >= BATCH_OVERHEAD_BYTES) {
    const size = dv.getInt32(at + 8);
    if (size < RECORD_OVERHEAD_V0) {
      return failure(
        ErrorCode.CORRUPT_MESSAGE,
        `Record size ${size} is less than the minimum record overhead (${RECORD_OVERHEAD_V0})`,
      );
    }
    if (buf.length - at - BATCH_OVERHEAD_BYTES < size) break;
    const m = readMessage(buf, dv, at, size);
    if ("ok" in m) return m;
    if (firstMagic === -1) firstMagic = m.magic;
    else if (m.magic !== firstMagic) {
      return failure(
        ErrorCode.INVALID_RECORD,
        `Batch magic ${m.magic} is not the same as the first batch's magic byte ${firstMagic}`,
      );
    }
    entries++;
    const codec = m.attributes & Attributes.COMPRESSION_MASK;
    if (codec === Compression.NONE) {
      records.push({ key: m.key, value: m.value, timestamp: m.timestamp });
    } else if (codec > Compression.ZSTD) {
      return failure(ErrorCode.CORRUPT_MESSAGE, `Message has unknown compression type id ${codec}`);
    } else {
      sourceCodec = codec;
      const err = readWrapper(m, codec, options.decompress, records);
      if (err !== null) return err;
    }
    at += BATCH_OVERHEAD_BYTES + size;
  }
  if (sourceCodec !== Compression.NONE && entries > 1) {
    return failure(ErrorCode.INVALID_RECORD, "Compressed outer record has more than one batch");
  }
  if (records.length === 0) return { ok: true, batch: new Uint8Array(0), recordCount: 0 };
  const batch = buildBatch(records, { compression: sourceCodec, compress: options.compress, now: options.now });
  return { ok: true, batch, recordCount: records.length };
}

function messageSize(magic: number, key: Uint8Array | null, value: Uint8Array | null): number {
  return BATCH_OVERHEAD_BYTES + (magic === 0 ? RECORD_OVERHEAD_V0 : RECORD_OVERHEAD_V1) + (key?.length ?? 0) +
    (value?.length ?? 0);
}

/** Writes an INT32-length-prefixed byte field (-1 for null); returns its end. */
function writeField(out: Uint8Array, dv: DataView, at: number, field: Uint8Array | null): number {
  if (field === null) {
    dv.setInt32(at, -1);
    return at + 4;
  }
  dv.setInt32(at, field.length);
  out.set(field, at + 4);
  return at + 4 + field.length;
}

/** Writes one legacy entry (offset, size, message with CRC-32) at `at`; returns its end. */
function writeMessage(
  out: Uint8Array,
  dv: DataView,
  at: number,
  offset: bigint,
  magic: number,
  attributes: number,
  timestamp: bigint,
  key: Uint8Array | null,
  value: Uint8Array | null,
): number {
  dv.setBigInt64(at, offset);
  dv.setInt32(at + 8, messageSize(magic, key, value) - BATCH_OVERHEAD_BYTES);
  out[at + MAGIC_AT] = magic;
  out[at + ATTRIBUTES_AT] = attributes;
  let p = at + ATTRIBUTES_AT + 1;
  if (magic === 1) {
    dv.setBigInt64(p, BigInt.asIntN(64, timestamp));
    p += 8;
  }
  p = writeField(out, dv, p, key);
  p = writeField(out, dv, p, value);
  dv.setUint32(at + CRC_AT, crc32(out, at + MAGIC_AT, p));
  return p;
}

/** A piece of the down-converted answer, sized before anything is written. */
type Part =
  | { kind: "raw"; bytes: Uint8Array }
  | { kind: "messages"; records: AbsoluteRecord[]; attributes: number }
  | { kind: "wrapper"; offset: bigint; attributes: number; timestamp: bigint; value: Uint8Array };

/** Options of {@link downConvertBatches}. */
export interface DownConvertOptions {
  compress: CompressFn;
  decompress: DecompressFn;
  /**
   * The fetch offset: uncompressed records below it are left out, as Kafka's
   * RecordsUtil.downConvert does (old clients expect nothing before what they asked for, except
   * inside a compressed wrapper, which they filter themselves).
   */
  firstOffset?: bigint;
}

/**
 * Fetch v0–v3: converts a run of v2 batches as read from the log (a trailing incomplete batch
 * is dropped) into a MessageSet of `magic` (0 for Fetch v0–v1, 1 for v2–v3), one message per
 * record with absolute offsets, as Kafka's RecordsUtil.downConvert does:
 *
 * - gzip, snappy and (magic 1) lz4 batches are recompressed with the same codec into one
 *   wrapper message per batch, as old clients (Sarama, kafka-go, kafka-python, librdkafka)
 *   expect. Magic 1: inner offsets relative to the first record, wrapper offset = last absolute
 *   offset, wrapper timestamp = largest inner timestamp (or the LogAppendTime). Magic 0: inner
 *   offsets absolute, wrapper offset = last offset.
 * - zstd batches (no legacy codec) and lz4 batches for magic 0 (whose legacy framing has
 *   Kafka's broken header checksum) are sent as uncompressed messages. Kafka instead fails
 *   zstd with UNSUPPORTED_COMPRESSION_TYPE; a handler that wants that must check first.
 * - LogAppendTime batches give magic 1 messages the batch's maxTimestamp and attribute bit 3.
 * - Control batches are skipped. Records of aborted transactions are kept: Fetch v0–v3 has no
 *   isolation level and reads uncommitted, as in Kafka.
 * - Batches already of magic ≤ `magic` are copied as they are.
 * @throws DecodeError when a whole batch in `buf` is malformed (log data is CRC-checked on
 *   append, so this is a storage bug)
 * @example
 * const messageSet = downConvertBatches(read.records, fetchVersion <= 1 ? 0 : 1, { ...codecs, firstOffset });
 */
export function downConvertBatches(buf: Uint8Array, magic: 0 | 1, options: DownConvertOptions): Uint8Array {
  const parts: Part[] = [];
  let total = 0;
  const tsAttributeFor = (attributes: number) =>
    magic === 1 && (attributes & Attributes.TIMESTAMP_TYPE_LOG_APPEND) !== 0 ? TIMESTAMP_TYPE_LOG_APPEND : 0;
  for (const b of scanBatches(buf).batches) {
    const batchMagic = (buf[b.at + MAGIC_AT]! << 24) >> 24;
    if (batchMagic >= 0 && batchMagic <= magic) {
      parts.push({ kind: "raw", bytes: buf.subarray(b.at, b.at + b.size) });
      total += b.size;
      continue;
    }
    if (batchMagic !== 2) continue;
    const { header, records } = batchRecords(buf, b.at, { decompress: options.decompress });
    if ((header.attributes & Attributes.CONTROL) !== 0 || records.length === 0) continue;
    const codec = header.attributes & Attributes.COMPRESSION_MASK;
    const tsAttribute = tsAttributeFor(header.attributes);
    const wrap = codec === Compression.GZIP || codec === Compression.SNAPPY ||
      (codec === Compression.LZ4 && magic === 1);
    if (!wrap) {
      const first = options.firstOffset;
      const kept = first === undefined ? records : records.filter((r) => r.offset >= first);
      for (const r of kept) total += messageSize(magic, r.key, r.value);
      if (kept.length > 0) parts.push({ kind: "messages", records: kept, attributes: tsAttribute });
      continue;
    }
    let innerSize = 0;
    for (const r of records) innerSize += messageSize(magic, r.key, r.value);
    const inner = new Uint8Array(innerSize);
    const idv = new DataView(inner.buffer);
    const baseOffset = records[0]!.offset;
    let maxTimestamp = -1n;
    let p = 0;
    for (const r of records) {
      const offset = magic === 1 ? r.offset - baseOffset : r.offset;
      p = writeMessage(inner, idv, p, offset, magic, tsAttribute, r.timestamp, r.key, r.value);
      if (r.timestamp > maxTimestamp) maxTimestamp = r.timestamp;
    }
    const value = options.compress(codec, inner);
    parts.push({
      kind: "wrapper",
      offset: records[records.length - 1]!.offset,
      attributes: codec | tsAttribute,
      timestamp: tsAttribute !== 0 ? header.maxTimestamp : maxTimestamp,
      value,
    });
    total += messageSize(magic, null, value);
  }
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  let p = 0;
  for (const part of parts) {
    if (part.kind === "raw") {
      out.set(part.bytes, p);
      p += part.bytes.length;
    } else if (part.kind === "messages") {
      for (const r of part.records) {
        p = writeMessage(out, dv, p, r.offset, magic, part.attributes, r.timestamp, r.key, r.value);
      }
    } else {
      p = writeMessage(out, dv, p, part.offset, magic, part.attributes, part.timestamp, null, part.value);
    }
  }
  return out;
}
