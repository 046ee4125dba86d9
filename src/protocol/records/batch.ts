/**
 * RecordBatch v2 (magic 2) views over raw bytes: header reads, boundary scanning, CRC-32C
 * checks, the structural validation Kafka's broker applies on produce, and the in-place header
 * patches of an append (base offset, leader epoch, LogAppendTime). Nothing here copies a batch.
 * Byte layouts: `record-format.md` §2.
 *
 * @module
 */

import { crc32c } from "../crc32c.ts";
import { DecodeError } from "../reader.ts";
import { ErrorCode } from "../generated/errors.ts";

/** Bytes of a v2 batch header, up to and including the records count. */
export const BATCH_HEADER_BYTES = 61;
/** Bytes before the batch length counts: baseOffset (8) + batchLength (4). */
export const BATCH_OVERHEAD_BYTES = 12;

/** Bits of the batch attributes (INT16, only the low byte is used). */
export const Attributes = {
  COMPRESSION_MASK: 0x07,
  TIMESTAMP_TYPE_LOG_APPEND: 0x08,
  TRANSACTIONAL: 0x10,
  CONTROL: 0x20,
  DELETE_HORIZON: 0x40,
} as const;

/** Compression codec ids (attributes bits 0–2). */
export const Compression = { NONE: 0, GZIP: 1, SNAPPY: 2, LZ4: 3, ZSTD: 4 } as const;
/** A compression codec id. */
export type Compression = (typeof Compression)[keyof typeof Compression];

/** Kafka's NO_TIMESTAMP: a record or batch without a timestamp. */
export const NO_TIMESTAMP = -1n;

// Field offsets inside a v2 batch (DefaultRecordBatch.java).
const LENGTH_OFFSET = 8;
const PARTITION_LEADER_EPOCH_OFFSET = 12;
const MAGIC_OFFSET = 16;
const CRC_OFFSET = 17;
const ATTRIBUTES_OFFSET = 21;
const LAST_OFFSET_DELTA_OFFSET = 23;
const BASE_TIMESTAMP_OFFSET = 27;
const MAX_TIMESTAMP_OFFSET = 35;
const PRODUCER_ID_OFFSET = 43;
const PRODUCER_EPOCH_OFFSET = 51;
const BASE_SEQUENCE_OFFSET = 53;
const RECORDS_COUNT_OFFSET = 57;
/** The smallest legal batchLength of a v2 batch (a header without records). */
const MIN_BATCH_LENGTH = BATCH_HEADER_BYTES - BATCH_OVERHEAD_BYTES;
/**
 * The smallest size field any entry may have (LegacyRecord.RECORD_OVERHEAD_V0). Kafka's batch
 * iterator refuses anything smaller with CorruptRecordException before looking at the magic.
 */
const MIN_ENTRY_LENGTH = 14;

/** The decoded fixed header of a v2 batch. */
export interface BatchHeader {
  baseOffset: bigint;
  batchLength: number;
  partitionLeaderEpoch: number;
  magic: number;
  /** Stored CRC-32C, unsigned. */
  crc: number;
  attributes: number;
  lastOffsetDelta: number;
  baseTimestamp: bigint;
  maxTimestamp: bigint;
  producerId: bigint;
  producerEpoch: number;
  baseSequence: number;
  recordCount: number;
}

/** A Kafka error outcome: the error code and a message for the response. */
export interface BatchError {
  code: number;
  message: string;
}

function viewOf(buf: Uint8Array): DataView {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** Reads an INT64 as a number; exact for |v| < 2^53, which holds for any real timestamp. */
function int64Number(dv: DataView, at: number): number {
  return dv.getInt32(at) * 4294967296 + dv.getUint32(at + 4);
}

/**
 * Decodes the 61-byte header of the v2 batch at `at`.
 * @param buf bytes holding the batch
 * @param at where the batch starts
 * @returns the header fields
 * @throws DecodeError when fewer than 61 bytes are available at `at`
 */
export function readBatchHeader(buf: Uint8Array, at: number): BatchHeader {
  if (at < 0 || at + BATCH_HEADER_BYTES > buf.length) {
    throw new DecodeError(
      `Cannot read record batch header at byte ${at}: need ${BATCH_HEADER_BYTES} bytes, ${buf.length - at} left`,
    );
  }
  const dv = viewOf(buf);
  return {
    baseOffset: dv.getBigInt64(at),
    batchLength: dv.getInt32(at + LENGTH_OFFSET),
    partitionLeaderEpoch: dv.getInt32(at + PARTITION_LEADER_EPOCH_OFFSET),
    magic: dv.getInt8(at + MAGIC_OFFSET),
    crc: dv.getUint32(at + CRC_OFFSET),
    attributes: dv.getInt16(at + ATTRIBUTES_OFFSET),
    lastOffsetDelta: dv.getInt32(at + LAST_OFFSET_DELTA_OFFSET),
    baseTimestamp: dv.getBigInt64(at + BASE_TIMESTAMP_OFFSET),
    maxTimestamp: dv.getBigInt64(at + MAX_TIMESTAMP_OFFSET),
    producerId: dv.getBigInt64(at + PRODUCER_ID_OFFSET),
    producerEpoch: dv.getInt16(at + PRODUCER_EPOCH_OFFSET),
    baseSequence: dv.getInt32(at + BASE_SEQUENCE_OFFSET),
    recordCount: dv.getInt32(at + RECORDS_COUNT_OFFSET),
  };
}

/**
 * The magic byte of the batch or legacy message at `at` (byte 16 in every format).
 * @throws DecodeError when the buffer ends before byte 16
 */
export function magicAt(buf: Uint8Array, at: number): number {
  const i = at + MAGIC_OFFSET;
  if (at < 0 || i >= buf.length) {
    throw new DecodeError(`Cannot read magic byte at byte ${i}: buffer has ${buf.length} bytes`);
  }
  return (buf[i]! << 24) >> 24;
}

/** Where each whole batch of a run lies, and where the run stops. */
export interface BatchScan {
  /** Complete batches (or legacy entries), in order: start and total size (12 + length). */
  batches: { at: number; size: number }[];
  /** One past the last complete batch: the end of the usable bytes. */
  validEnd: number;
  /** True when bytes remain after `validEnd` (a torn tail, a fetch cut, or garbage). */
  incomplete: boolean;
  /**
   * True when the walk stopped at a length field no entry can have (below the format's
   * minimum): the bytes after `validEnd` are corrupt rather than merely cut short.
   */
  corrupt: boolean;
}

/**
 * Walks batch boundaries by their length fields without decoding records or checking CRCs.
 * Stops at the first incomplete batch (a torn tail or a fetch cut) or at a length field that
 * is too small to be a batch, reporting where.
 * @param buf the bytes
 * @param start first byte (default 0)
 * @param end one past the last byte (default `buf.length`)
 * @example
 * const { batches, validEnd, incomplete } = scanBatches(segmentTail);
 * if (incomplete) truncateTo(validEnd); // a torn write after a crash
 */
export function scanBatches(buf: Uint8Array, start = 0, end: number = buf.length): BatchScan {
  const dv = viewOf(buf);
  const batches: { at: number; size: number }[] = [];
  let at = start;
  let corrupt = false;
  while (end - at >= BATCH_OVERHEAD_BYTES) {
    const length = dv.getInt32(at + LENGTH_OFFSET);
    if (length < MIN_ENTRY_LENGTH) {
      corrupt = true;
      break;
    }
    if (end - at - BATCH_OVERHEAD_BYTES < length) break;
    if (buf[at + MAGIC_OFFSET] === 2 && length < MIN_BATCH_LENGTH) {
      corrupt = true;
      break;
    }
    const size = BATCH_OVERHEAD_BYTES + length;
    batches.push({ at, size });
    at += size;
  }
  return { batches, validEnd: at, incomplete: at < end, corrupt };
}

/** The total size (12 + batchLength) of the v2 batch at `at`, checked to lie inside `buf`. */
function wholeBatchSize(buf: Uint8Array, dv: DataView, at: number, what: string): number {
  if (at < 0 || at + BATCH_OVERHEAD_BYTES > buf.length) {
    throw new DecodeError(`Cannot ${what} at byte ${at}: the buffer ends before the batch length`);
  }
  const size = BATCH_OVERHEAD_BYTES + dv.getInt32(at + LENGTH_OFFSET);
  if (size < BATCH_HEADER_BYTES) {
    throw new DecodeError(`Cannot ${what} at byte ${at}: batch size ${size} is below ${BATCH_HEADER_BYTES}`);
  }
  if (at + size > buf.length) {
    throw new DecodeError(`Cannot ${what} at byte ${at}: the batch needs ${size} bytes, ${buf.length - at} left`);
  }
  return size;
}

/**
 * Checks the CRC-32C of the v2 batch at `at` (attributes through the last byte).
 * @returns true when the stored CRC matches; false when it does not or the length field is
 *   below a header's size
 * @throws DecodeError when `buf` does not hold the whole batch
 * @example
 * for (const b of scanBatches(buf).batches) if (!verifyBatchCrc(buf, b.at)) return b.at;
 */
export function verifyBatchCrc(buf: Uint8Array, at: number): boolean {
  const dv = viewOf(buf);
  if (at < 0 || at + BATCH_OVERHEAD_BYTES > buf.length) {
    throw new DecodeError(`Cannot verify batch CRC at byte ${at}: the buffer ends before the batch length`);
  }
  const length = dv.getInt32(at + LENGTH_OFFSET);
  if (length < MIN_BATCH_LENGTH) return false;
  const end = at + BATCH_OVERHEAD_BYTES + length;
  if (end > buf.length) {
    throw new DecodeError(`Cannot verify batch CRC at byte ${at}: the batch needs ${end - at} bytes`);
  }
  return dv.getUint32(at + CRC_OFFSET) === crc32c(buf, at + ATTRIBUTES_OFFSET, end);
}

/**
 * A forward cursor over record bytes with Kafka's varint rules (ByteUtils.readVarint: at most
 * 5 bytes, bits past 32 dropped; readVarlong: at most 10 bytes). Faster than {@link Reader}
 * for the record walk: varlongs are read as numbers, never as BigInt. Throws DecodeError.
 * Internal to `src/protocol/records/`.
 */
export class RecordCursor {
  buf: Uint8Array;
  pos: number;
  end: number;

  constructor(buf: Uint8Array, pos: number, end: number) {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
  }

  /** Zig-zag varint (INT32 range). */
  varint(): number {
    const buf = this.buf;
    let value = 0;
    let shift = 0;
    let b: number;
    for (;;) {
      if (this.pos >= this.end) throw new DecodeError("Found invalid record structure: varint runs past the record");
      b = buf[this.pos++]!;
      if ((b & 0x80) === 0) break;
      value |= (b & 0x7f) << shift;
      shift += 7;
      if (shift > 28) throw new DecodeError("Found invalid record structure: varint is longer than 5 bytes");
    }
    value |= b << shift;
    return (value >>> 1) ^ -(value & 1);
  }

  /**
   * Zig-zag varlong as a number: exact up to 7 encoded bytes (|v| < 2^48); longer encodings
   * are validated and approximated (use {@link varlongBig} where exactness matters).
   */
  varlong(): number {
    const buf = this.buf;
    let u = 0;
    let mult = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new DecodeError("Found invalid record structure: varlong runs past the record");
      const b = buf[this.pos++]!;
      u += (b & 0x7f) * mult;
      if ((b & 0x80) === 0) return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
      mult *= 128;
    }
    throw new DecodeError("Found invalid record structure: varlong is longer than 10 bytes");
  }

  /** Zig-zag varlong, exact. */
  varlongBig(): bigint {
    const start = this.pos;
    const n = this.varlong();
    if (this.pos - start <= 7) return BigInt(n);
    let u = 0n;
    let shift = 0n;
    for (let i = start; i < this.pos; i++) {
      u |= BigInt(this.buf[i]! & 0x7f) << shift;
      shift += 7n;
    }
    u = BigInt.asUintN(64, u);
    return BigInt.asIntN(64, (u >> 1n) ^ -(u & 1n));
  }

  /** Skips `n` bytes (n ≥ 0). */
  skip(n: number): void {
    if (n > this.end - this.pos) {
      throw new DecodeError(`Found invalid record structure: a ${n}-byte field runs past the record`);
    }
    this.pos += n;
  }
}

/** What a record walk learned: record timestamps (milliseconds, create time). */
export interface RecordWalk {
  /** Smallest record timestamp other than -1, or -1 when none. */
  minTimestamp: number;
  /** Largest record timestamp other than -1, or -1 when none. */
  maxTimestamp: number;
}

/**
 * Walks `count` records in `payload[start, end)` checking each one's structure exactly as
 * DefaultRecord.readFrom does, that they fill the section exactly, and the offset deltas
 * (`sequential`: exactly 0..count-1; otherwise strictly increasing and ≤ lastOffsetDelta, as
 * after compaction). Internal to `src/protocol/records/`.
 * @throws DecodeError with a Kafka-like message on the first violation
 */
export function walkRecords(
  payload: Uint8Array,
  start: number,
  end: number,
  count: number,
  baseTimestamp: number,
  lastOffsetDelta: number,
  sequential: boolean,
): RecordWalk {
  const c = new RecordCursor(payload, start, end);
  let minTs = Infinity;
  let maxTs = -Infinity;
  let prevDelta = -1;
  for (let i = 0; i < count; i++) {
    if (c.pos >= end) throw new DecodeError("Incorrect declared batch size, premature EOF reached");
    c.end = end;
    const size = c.varint();
    if (size < 0 || size > end - c.pos) {
      throw new DecodeError(
        `Invalid record size: expected ${size} bytes in record payload, but instead the buffer has only ${
          end - c.pos
        } remaining bytes.`,
      );
    }
    const recordStart = c.pos;
    const recordEnd = recordStart + size;
    c.end = recordEnd;
    c.skip(1); // attributes
    const ts = baseTimestamp + c.varlong();
    const offsetDelta = c.varint();
    if (sequential ? offsetDelta !== i : offsetDelta <= prevDelta || offsetDelta > lastOffsetDelta) {
      throw new DecodeError(
        `Record ${i} has offset delta ${offsetDelta}, expected ${
          sequential ? i : `${prevDelta + 1}..${lastOffsetDelta}`
        }`,
      );
    }
    prevDelta = offsetDelta;
    const keySize = c.varint();
    if (keySize > 0) c.skip(keySize);
    const valueSize = c.varint();
    if (valueSize > 0) c.skip(valueSize);
    const headers = c.varint();
    if (headers < 0) throw new DecodeError(`Found invalid number of record headers ${headers}`);
    if (headers > recordEnd - c.pos) {
      throw new DecodeError(
        `Found invalid number of record headers. ${headers} is larger than the remaining size of the buffer`,
      );
    }
    for (let h = 0; h < headers; h++) {
      const hk = c.varint();
      if (hk < 0) throw new DecodeError(`Invalid negative header key size ${hk}`);
      c.skip(hk);
      const hv = c.varint();
      if (hv > 0) c.skip(hv);
    }
    if (c.pos !== recordEnd) {
      throw new DecodeError(
        `Invalid record size: expected to read ${size} bytes in record payload, but instead read ${
          c.pos - recordStart
        }`,
      );
    }
    if (ts !== -1) {
      if (ts < minTs) minTs = ts;
      if (ts > maxTs) maxTs = ts;
    }
  }
  if (c.pos !== end) throw new DecodeError("Incorrect declared batch size, records still remaining in file");
  return { minTimestamp: minTs === Infinity ? -1 : minTs, maxTimestamp: maxTs === -Infinity ? -1 : maxTs };
}

/** Options of {@link validateBatch} and {@link inspectBatch}. */
export interface ValidateBatchOptions {
  /**
   * Decompresses a records section. Without it a compressed batch is checked up to its header
   * and CRC only (its records are not walked).
   */
  decompress?: (codec: number, data: Uint8Array) => Uint8Array;
  /**
   * `"client"` (default): a batch from a producer, checked as Kafka checks produce data
   * (baseOffset 0, recordCount ≥ 1, lastOffsetDelta = recordCount − 1, offset deltas exactly
   * 0..n−1, no control batch, a producer id needs baseSequence ≥ 0). `"log"`: a batch read back
   * from a log, which compaction may have thinned: any baseOffset, recordCount ≥ 0, offset
   * deltas strictly increasing up to lastOffsetDelta, control batches allowed.
   */
  origin?: "client" | "log";
}

/** A valid batch and what checking it learned. */
export interface BatchInspection {
  ok: true;
  /** Smallest record create timestamp other than -1 (NO_TIMESTAMP), or -1 when none or unknown. */
  minTimestamp: bigint;
  /**
   * Largest record create timestamp other than -1, or -1 when none. What Kafka writes into
   * maxTimestamp for CreateTime (LogValidator.assignOffsetsNonCompressed). For a compressed
   * batch checked without `decompress` this is the batch's own maxTimestamp field.
   */
  maxTimestamp: bigint;
  recordCount: number;
}

function fail(code: number, message: string): { ok: false; code: number; message: string } {
  return { ok: false, code, message };
}

/**
 * Structural validation of one v2 batch, as Kafka's broker checks produce data
 * (ProduceRequest.validateRecords, UnifiedLog.analyzeAndValidateRecords, LogValidator), plus
 * what the records walk learned. Never throws for any bytes inside `buf[at, at + size)`.
 *
 * Error codes follow Kafka: CorruptRecordException → CORRUPT_MESSAGE (2) for a length field
 * below 14, a batch smaller than its 61-byte header and a CRC mismatch; InvalidRecordException
 * → INVALID_RECORD (87) for magic ≠ 2, a batch length that does not match `size`, recordCount
 * ≤ 0, lastOffsetDelta ≠ recordCount − 1, control batches, sequence, and every record-level
 * structure error (DefaultRecord.readFrom and DefaultRecordBatch's iterator throw
 * InvalidRecordException). Where Kafka has no answer kbin picks: an unknown codec (5–7) or a
 * payload the codec cannot decompress → CORRUPT_MESSAGE (Kafka fails with an unknown server
 * error); offset deltas other than 0..n−1 → INVALID_RECORD (Kafka stores uncompressed ones as
 * sent and rebuilds compressed ones; kbin stores batches as received, so it refuses).
 * @param buf bytes holding the batch
 * @param at where the batch starts
 * @param size the bytes given for it (e.g. a produce partition's records size)
 */
export function inspectBatch(
  buf: Uint8Array,
  at: number,
  size: number,
  options: ValidateBatchOptions = {},
): BatchInspection | { ok: false; code: number; message: string } {
  const client = options.origin !== "log";
  if (at < 0 || size < 0 || at + size > buf.length) {
    return fail(ErrorCode.CORRUPT_MESSAGE, `Record batch at byte ${at} with ${size} bytes lies outside the buffer`);
  }
  if (size < BATCH_OVERHEAD_BYTES) {
    return fail(ErrorCode.INVALID_RECORD, `Record batch is incomplete: ${size} bytes is less than the log overhead`);
  }
  const dv = viewOf(buf);
  const length = dv.getInt32(at + LENGTH_OFFSET);
  if (length < MIN_ENTRY_LENGTH) {
    return fail(
      ErrorCode.CORRUPT_MESSAGE,
      `Record size ${length} is less than the minimum record overhead (${MIN_ENTRY_LENGTH})`,
    );
  }
  if (length + BATCH_OVERHEAD_BYTES !== size) {
    return fail(
      ErrorCode.INVALID_RECORD,
      length + BATCH_OVERHEAD_BYTES > size
        ? `Record batch is incomplete: its length says ${length + BATCH_OVERHEAD_BYTES} bytes, ${size} were sent`
        : `Records must hold exactly one record batch: the batch takes ${
          length + BATCH_OVERHEAD_BYTES
        } of ${size} bytes`,
    );
  }
  const magic = dv.getInt8(at + MAGIC_OFFSET);
  if (magic !== 2) {
    return fail(ErrorCode.INVALID_RECORD, `Record batches must have magic 2, got ${magic}`);
  }
  if (size < BATCH_HEADER_BYTES) {
    return fail(
      ErrorCode.CORRUPT_MESSAGE,
      `Record batch is corrupt (the size ${size} is smaller than the minimum allowed overhead ${BATCH_HEADER_BYTES})`,
    );
  }
  const end = at + size;
  const stored = dv.getUint32(at + CRC_OFFSET);
  const computed = crc32c(buf, at + ATTRIBUTES_OFFSET, end);
  if (stored !== computed) {
    return fail(ErrorCode.CORRUPT_MESSAGE, `Record is corrupt (stored crc = ${stored}, computed crc = ${computed})`);
  }
  const attributes = dv.getInt16(at + ATTRIBUTES_OFFSET);
  const codec = attributes & Attributes.COMPRESSION_MASK;
  if (codec > Compression.ZSTD) {
    return fail(ErrorCode.CORRUPT_MESSAGE, `Record batch has unknown compression type id ${codec}`);
  }
  const lastOffsetDelta = dv.getInt32(at + LAST_OFFSET_DELTA_OFFSET);
  const count = dv.getInt32(at + RECORDS_COUNT_OFFSET);
  if (client) {
    const baseOffset = dv.getBigInt64(at);
    if (baseOffset !== 0n) {
      return fail(ErrorCode.INVALID_RECORD, `The baseOffset of the record batch should be 0, but it is ${baseOffset}`);
    }
    if (lastOffsetDelta + 1 <= 0) {
      return fail(ErrorCode.INVALID_RECORD, `Batch has an invalid offset range: lastOffsetDelta ${lastOffsetDelta}`);
    }
    if (count <= 0) return fail(ErrorCode.INVALID_RECORD, `Invalid reported count for record batch: ${count}`);
    if (lastOffsetDelta + 1 !== count) {
      return fail(
        ErrorCode.INVALID_RECORD,
        `Inconsistent batch offset range [0, ${lastOffsetDelta}] and count of records ${count}`,
      );
    }
    if ((attributes & Attributes.CONTROL) !== 0) {
      return fail(ErrorCode.INVALID_RECORD, "Clients are not allowed to write control records");
    }
    const producerId = dv.getBigInt64(at + PRODUCER_ID_OFFSET);
    const baseSequence = dv.getInt32(at + BASE_SEQUENCE_OFFSET);
    if (producerId > -1n && baseSequence < 0) {
      return fail(
        ErrorCode.INVALID_RECORD,
        `Invalid sequence number ${baseSequence} in record batch with producerId ${producerId}`,
      );
    }
  } else if (count < 0) {
    return fail(ErrorCode.INVALID_RECORD, `Found invalid record count ${count} in magic v2 batch`);
  }
  const baseTimestamp = int64Number(dv, at + BASE_TIMESTAMP_OFFSET);
  let payload = buf;
  let start = at + BATCH_HEADER_BYTES;
  let stop = end;
  if (codec !== Compression.NONE) {
    if (options.decompress === undefined) {
      const max = dv.getBigInt64(at + MAX_TIMESTAMP_OFFSET);
      return { ok: true, minTimestamp: -1n, maxTimestamp: max, recordCount: count };
    }
    try {
      payload = options.decompress(codec, buf.subarray(start, end));
    } catch (e) {
      return fail(
        ErrorCode.CORRUPT_MESSAGE,
        `Cannot decompress record batch (codec ${codec}): ${e instanceof Error ? e.message : String(e)}`,
      );
    }
    start = 0;
    stop = payload.length;
  }
  try {
    const walk = walkRecords(payload, start, stop, count, baseTimestamp, lastOffsetDelta, client);
    return {
      ok: true,
      minTimestamp: BigInt(walk.minTimestamp),
      maxTimestamp: BigInt(walk.maxTimestamp),
      recordCount: count,
    };
  } catch (e) {
    if (e instanceof DecodeError) return fail(ErrorCode.INVALID_RECORD, e.message);
    throw e;
  }
}

/**
 * Structural validation of one v2 batch as Kafka's broker does on produce; see
 * {@link inspectBatch} for the checks and error codes.
 * @returns null when valid, else the Kafka error code and a message
 * @example
 * const err = validateBatch(records, 0, records.length, { decompress });
 * if (err) return { errorCode: err.code, errorMessage: err.message };
 */
export function validateBatch(
  buf: Uint8Array,
  at: number,
  size: number,
  options: ValidateBatchOptions = {},
): BatchError | null {
  const r = inspectBatch(buf, at, size, options);
  return r.ok ? null : { code: r.code, message: r.message };
}

/** Writes baseOffset; the CRC does not cover it. */
export function setBaseOffset(buf: Uint8Array, at: number, baseOffset: bigint): void {
  if (at < 0 || at + 8 > buf.length) throw new DecodeError(`Cannot set baseOffset at byte ${at}: buffer too short`);
  viewOf(buf).setBigInt64(at, BigInt.asIntN(64, baseOffset));
}

/** Writes partitionLeaderEpoch; the CRC does not cover it. */
export function setPartitionLeaderEpoch(buf: Uint8Array, at: number, epoch: number): void {
  if (at < 0 || at + MAGIC_OFFSET > buf.length) {
    throw new DecodeError(`Cannot set partitionLeaderEpoch at byte ${at}: buffer too short`);
  }
  viewOf(buf).setInt32(at + PARTITION_LEADER_EPOCH_OFFSET, epoch);
}

/** Recomputes and stores the CRC-32C of the whole v2 batch at `at`. */
export function updateBatchCrc(buf: Uint8Array, at: number): void {
  const dv = viewOf(buf);
  const size = wholeBatchSize(buf, dv, at, "update batch CRC");
  dv.setUint32(at + CRC_OFFSET, crc32c(buf, at + ATTRIBUTES_OFFSET, at + size));
}

/**
 * LogAppendTime: sets the timestamp-type attribute bit and maxTimestamp, then recomputes the
 * CRC in place (DefaultRecordBatch.setMaxTimestamp). Record timestamp deltas and baseTimestamp
 * stay as sent; readers report maxTimestamp for every record. A no-op when both already hold.
 * @throws DecodeError when `buf` does not hold the whole batch
 * @example
 * setBaseOffset(batch, 0, logEndOffset);
 * setLogAppendTime(batch, 0, BigInt(clock.now()));
 */
export function setLogAppendTime(buf: Uint8Array, at: number, timestampMs: bigint): void {
  setMaxTimestamp(buf, at, timestampMs, "log-append");
}

/**
 * Sets the timestamp type and maxTimestamp, recomputing the CRC only if a byte changed (what
 * Kafka does after validating CreateTime batches: maxTimestamp becomes the largest record
 * timestamp).
 * @throws DecodeError when `buf` does not hold the whole batch
 */
export function setMaxTimestamp(
  buf: Uint8Array,
  at: number,
  timestampMs: bigint,
  timestampType: "create" | "log-append",
): void {
  const dv = viewOf(buf);
  const size = wholeBatchSize(buf, dv, at, "set maxTimestamp");
  const attrs = dv.getInt16(at + ATTRIBUTES_OFFSET);
  const next = timestampType === "log-append"
    ? attrs | Attributes.TIMESTAMP_TYPE_LOG_APPEND
    : attrs & ~Attributes.TIMESTAMP_TYPE_LOG_APPEND;
  const ts = BigInt.asIntN(64, timestampMs);
  if (next === attrs && dv.getBigInt64(at + MAX_TIMESTAMP_OFFSET) === ts) return;
  dv.setInt16(at + ATTRIBUTES_OFFSET, next);
  dv.setBigInt64(at + MAX_TIMESTAMP_OFFSET, ts);
  dv.setUint32(at + CRC_OFFSET, crc32c(buf, at + ATTRIBUTES_OFFSET, at + size));
}

/** Compresses a records section with a codec id (1 gzip, 2 snappy, 3 lz4, 4 zstd). */
export type CompressFn = (codec: number, data: Uint8Array) => Uint8Array;
/** Decompresses a records section compressed with a codec id. */
export type DecompressFn = (codec: number, data: Uint8Array) => Uint8Array;

/** The records section of the batch `buf[at, end)`, decompressed when needed. Internal. */
export function recordsSection(
  buf: Uint8Array,
  at: number,
  end: number,
  attributes: number,
  decompress: DecompressFn,
): Uint8Array {
  const section = buf.subarray(at + BATCH_HEADER_BYTES, end);
  const codec = attributes & Attributes.COMPRESSION_MASK;
  return codec === Compression.NONE ? section : decompress(codec, section);
}

/** The header fields {@link writeBatch} writes (length, magic and CRC are derived). */
export interface HeaderFields {
  baseOffset: bigint;
  partitionLeaderEpoch: number;
  attributes: number;
  lastOffsetDelta: number;
  baseTimestamp: bigint;
  maxTimestamp: bigint;
  producerId: bigint;
  producerEpoch: number;
  baseSequence: number;
  recordCount: number;
}

/**
 * Writes a v2 header in front of `section` into one new array and computes the CRC. Internal to
 * `src/protocol/records/`.
 */
export function writeBatch(h: HeaderFields, section: Uint8Array): Uint8Array {
  const out = new Uint8Array(BATCH_HEADER_BYTES + section.length);
  const dv = new DataView(out.buffer);
  dv.setBigInt64(0, BigInt.asIntN(64, h.baseOffset));
  dv.setInt32(LENGTH_OFFSET, out.length - BATCH_OVERHEAD_BYTES);
  dv.setInt32(PARTITION_LEADER_EPOCH_OFFSET, h.partitionLeaderEpoch);
  dv.setInt8(MAGIC_OFFSET, 2);
  dv.setInt16(ATTRIBUTES_OFFSET, h.attributes);
  dv.setInt32(LAST_OFFSET_DELTA_OFFSET, h.lastOffsetDelta);
  dv.setBigInt64(BASE_TIMESTAMP_OFFSET, BigInt.asIntN(64, h.baseTimestamp));
  dv.setBigInt64(MAX_TIMESTAMP_OFFSET, BigInt.asIntN(64, h.maxTimestamp));
  dv.setBigInt64(PRODUCER_ID_OFFSET, BigInt.asIntN(64, h.producerId));
  dv.setInt16(PRODUCER_EPOCH_OFFSET, h.producerEpoch);
  dv.setInt32(BASE_SEQUENCE_OFFSET, h.baseSequence);
  dv.setInt32(RECORDS_COUNT_OFFSET, h.recordCount);
  out.set(section, BATCH_HEADER_BYTES);
  dv.setUint32(CRC_OFFSET, crc32c(out, ATTRIBUTES_OFFSET, out.length));
  return out;
}

/** Throws unless `codec` is a known id with a compressor when needed. Internal. */
export function checkCodec(codec: number, compress: CompressFn | undefined, what: string): void {
  if (!Number.isInteger(codec) || codec < Compression.NONE || codec > Compression.ZSTD) {
    throw new RangeError(`Cannot ${what}: unknown compression codec ${codec}`);
  }
  if (codec !== Compression.NONE && compress === undefined) {
    throw new TypeError(`Cannot ${what}: codec ${codec} needs a compress callback`);
  }
}

/**
 * Re-encodes the records of the v2 batch at `at` with another codec (topic compression.type
 * differs from the producer's), keeping every header field (offsets, timestamps, producer
 * fields, other attribute bits). The decompressed records section is carried over byte for
 * byte, so offsets and timestamps cannot drift.
 * @returns a new batch
 * @throws DecodeError when the batch is incomplete or not magic 2
 * @example
 * const stored = recompressBatch(batch, 0, Compression.ZSTD, codecs); // topic compression.type=zstd
 */
export function recompressBatch(
  buf: Uint8Array,
  at: number,
  toCodec: number,
  codecs: { compress: CompressFn; decompress: DecompressFn },
): Uint8Array {
  checkCodec(toCodec, codecs.compress, "recompress a record batch");
  const header = readBatchHeader(buf, at);
  const end = at + BATCH_OVERHEAD_BYTES + header.batchLength;
  if (header.magic !== 2 || header.batchLength < BATCH_HEADER_BYTES - BATCH_OVERHEAD_BYTES || end > buf.length) {
    throw new DecodeError(`Cannot recompress record batch at byte ${at}: not a whole magic 2 batch`);
  }
  const section = recordsSection(buf, at, end, header.attributes, codecs.decompress);
  return writeBatch({
    ...header,
    attributes: (header.attributes & ~Attributes.COMPRESSION_MASK) | toCodec,
  }, toCodec === Compression.NONE ? section : codecs.compress(toCodec, section));
}
