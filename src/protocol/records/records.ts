/**
 * Records inside a v2 batch: decoding a records section into views, building whole batches
 * (with CRC, optionally compressed through a callback) and re-encoding a batch with another
 * codec. Byte layouts: `record-format.md` §2.2.
 *
 * @module
 */

import { DecodeError } from "../reader.ts";
import {
  Attributes,
  BATCH_HEADER_BYTES,
  BATCH_OVERHEAD_BYTES,
  type BatchHeader,
  checkCodec,
  type CompressFn,
  Compression,
  type DecompressFn,
  readBatchHeader,
  RecordCursor,
  recordsSection,
  writeBatch,
} from "./batch.ts";

export { recompressBatch } from "./batch.ts";
export type { CompressFn, DecompressFn } from "./batch.ts";

const UTF8 = new TextDecoder("utf-8", { fatal: false });
const ENCODER = new TextEncoder();

/** A record header: the key is text, the value raw bytes or null. */
export interface RecordHeader {
  key: string;
  value: Uint8Array | null;
}

/** One record of a batch, as encoded (deltas relative to the batch). */
export interface KafkaRecord {
  attributes: number;
  timestampDelta: bigint;
  offsetDelta: number;
  key: Uint8Array | null;
  value: Uint8Array | null;
  headers: RecordHeader[];
}

/** A record with its absolute offset and timestamp. */
export type AbsoluteRecord = KafkaRecord & { offset: bigint; timestamp: bigint };

/** Batch fields that turn deltas into absolute offsets and timestamps. */
interface Base {
  baseOffset: bigint;
  baseTimestamp: bigint;
  /** maxTimestamp of a LogAppendTime batch, else null. */
  logAppendTime: bigint | null;
}

/** Reads one record at the cursor, made absolute against `base` when given. */
function readRecord(c: RecordCursor, sectionEnd: number, base: Base | null): KafkaRecord | AbsoluteRecord {
  c.end = sectionEnd;
  const size = c.varint();
  if (size < 0 || size > sectionEnd - c.pos) {
    throw new DecodeError(
      `Invalid record size: expected ${size} bytes in record payload, but instead the buffer has only ${
        sectionEnd - c.pos
      } remaining bytes.`,
    );
  }
  const buf = c.buf;
  const recordStart = c.pos;
  const recordEnd = recordStart + size;
  c.end = recordEnd;
  c.skip(1);
  const attributes = (buf[recordStart]! << 24) >> 24;
  const timestampDelta = c.varlongBig();
  const offsetDelta = c.varint();
  let key: Uint8Array | null = null;
  const keySize = c.varint();
  if (keySize >= 0) {
    c.skip(keySize);
    key = buf.subarray(c.pos - keySize, c.pos);
  }
  let value: Uint8Array | null = null;
  const valueSize = c.varint();
  if (valueSize >= 0) {
    c.skip(valueSize);
    value = buf.subarray(c.pos - valueSize, c.pos);
  }
  const count = c.varint();
  if (count < 0) throw new DecodeError(`Found invalid number of record headers ${count}`);
  if (count > recordEnd - c.pos) {
    throw new DecodeError(
      `Found invalid number of record headers. ${count} is larger than the remaining size of the buffer`,
    );
  }
  const headers: RecordHeader[] = [];
  for (let h = 0; h < count; h++) {
    const hk = c.varint();
    if (hk < 0) throw new DecodeError(`Invalid negative header key size ${hk}`);
    c.skip(hk);
    const hkey = UTF8.decode(buf.subarray(c.pos - hk, c.pos));
    let hvalue: Uint8Array | null = null;
    const hv = c.varint();
    if (hv >= 0) {
      c.skip(hv);
      hvalue = buf.subarray(c.pos - hv, c.pos);
    }
    headers.push({ key: hkey, value: hvalue });
  }
  if (c.pos !== recordEnd) {
    throw new DecodeError(
      `Invalid record size: expected to read ${size} bytes in record payload, but instead read ${c.pos - recordStart}`,
    );
  }
  if (base === null) return { attributes, timestampDelta, offsetDelta, key, value, headers };
  return {
    attributes,
    timestampDelta,
    offsetDelta,
    key,
    value,
    headers,
    offset: base.baseOffset + BigInt(offsetDelta),
    timestamp: base.logAppendTime ?? base.baseTimestamp + timestampDelta,
  };
}

function readSection(payload: Uint8Array, count: number, base: Base | null): KafkaRecord[] {
  if (count < 0) throw new DecodeError(`Found invalid record count ${count} in magic v2 batch`);
  const c = new RecordCursor(payload, 0, payload.length);
  const out: KafkaRecord[] = [];
  for (let i = 0; i < count; i++) {
    if (c.pos >= payload.length) throw new DecodeError("Incorrect declared batch size, premature EOF reached");
    out.push(readRecord(c, payload.length, base));
  }
  if (c.pos !== payload.length) {
    throw new DecodeError("Incorrect declared batch size, records still remaining in file");
  }
  return out;
}

/**
 * Decodes the records section (already decompressed) of a batch. Keys, values and header
 * values are views into `payload`, not copies. A negative key or value length reads as null,
 * as in Kafka.
 * @param payload the records section: exactly `count` records
 * @param count the batch's recordsCount
 * @throws DecodeError when a record is malformed or the records do not fill `payload` exactly
 */
export function decodeRecords(payload: Uint8Array, count: number): KafkaRecord[] {
  return readSection(payload, count, null);
}

/**
 * The records of the v2 batch at `at`, decompressed when needed, with absolute offsets
 * (baseOffset + offsetDelta) and timestamps (baseTimestamp + timestampDelta, or maxTimestamp
 * for every record when the batch has the LogAppendTime bit, as Kafka's readers do).
 * @param buf bytes holding the whole batch
 * @param at where the batch starts
 * @throws DecodeError when the batch is incomplete or malformed
 * @example
 * for (const r of batchRecords(buf, 0, { decompress }).records) console.log(r.offset, r.value);
 */
export function batchRecords(
  buf: Uint8Array,
  at: number,
  options: { decompress: DecompressFn },
): { header: BatchHeader; records: AbsoluteRecord[] } {
  const header = readBatchHeader(buf, at);
  const end = at + BATCH_OVERHEAD_BYTES + header.batchLength;
  if (header.batchLength < BATCH_HEADER_BYTES - BATCH_OVERHEAD_BYTES || end > buf.length) {
    throw new DecodeError(`Cannot read record batch at byte ${at}: length ${header.batchLength} does not fit`);
  }
  if (header.magic !== 2) throw new DecodeError(`Cannot read record batch at byte ${at}: magic ${header.magic}`);
  const payload = recordsSection(buf, at, end, header.attributes, options.decompress);
  const logAppend = (header.attributes & Attributes.TIMESTAMP_TYPE_LOG_APPEND) !== 0;
  const base: Base = {
    baseOffset: header.baseOffset,
    baseTimestamp: header.baseTimestamp,
    logAppendTime: logAppend ? header.maxTimestamp : null,
  };
  const records = readSection(payload, header.recordCount, base) as AbsoluteRecord[];
  return { header, records };
}

/** What a producer hands over for one record; a missing timestamp means "now". */
export interface RecordInput {
  key?: Uint8Array | null;
  value?: Uint8Array | null;
  headers?: RecordHeader[];
  timestamp?: bigint;
}

/** Options of {@link buildBatch}. */
export interface BuildBatchOptions {
  baseOffset?: bigint;
  /** Default -1, what producers send. */
  partitionLeaderEpoch?: number;
  /** Codec id: 0 none (default), 1 gzip, 2 snappy, 3 lz4, 4 zstd. */
  compression?: number;
  /** Required when `compression` is not 0. */
  compress?: CompressFn;
  /** "create" (default) or "log-append" (bit 3 set, maxTimestamp = `now()`). */
  timestampType?: "create" | "log-append";
  /** Default -1 (not idempotent). */
  producerId?: bigint;
  producerEpoch?: number;
  baseSequence?: number;
  transactional?: boolean;
  control?: boolean;
  /** The clock for missing record timestamps and LogAppendTime; default `Date.now()`. */
  now?: () => bigint;
}

function sizeOfVarint(v: number): number {
  let u = ((v << 1) ^ (v >> 31)) >>> 0;
  let n = 1;
  while (u >= 0x80) {
    u >>>= 7;
    n++;
  }
  return n;
}

/** Zig-zag encoding of a 64-bit value as a number when it is exact (|v| < 2^51), else -1. */
function zigzagNumber(v: bigint): number {
  const n = Number(v);
  if (n < 2251799813685248 && n > -2251799813685248) return n >= 0 ? n * 2 : -n * 2 - 1;
  return -1;
}

function zigzagBig(v: bigint): bigint {
  return BigInt.asUintN(64, (v << 1n) ^ (v >> 63n));
}

/** Encoded size of a zig-zag varlong given as its number encoding `u`, or -1 for `big`. */
function sizeOfVarlong(u: number, big: bigint): number {
  let n = 1;
  if (u >= 0) {
    while (u >= 128) {
      u = Math.floor(u / 128);
      n++;
    }
    return n;
  }
  let b = zigzagBig(big);
  while (b >= 0x80n) {
    b >>= 7n;
    n++;
  }
  return n;
}

function writeVarint(out: Uint8Array, at: number, v: number): number {
  let u = ((v << 1) ^ (v >> 31)) >>> 0;
  while (u >= 0x80) {
    out[at++] = (u & 0x7f) | 0x80;
    u >>>= 7;
  }
  out[at++] = u;
  return at;
}

function writeVarlong(out: Uint8Array, at: number, u: number, big: bigint): number {
  if (u >= 0) {
    while (u >= 128) {
      out[at++] = (u % 128) | 0x80;
      u = Math.floor(u / 128);
    }
    out[at++] = u;
    return at;
  }
  let b = zigzagBig(big);
  while (b >= 0x80n) {
    out[at++] = Number(b & 0x7fn) | 0x80;
    b >>= 7n;
  }
  out[at++] = Number(b);
  return at;
}

/** A record ready to write: sizes computed, header keys encoded once. */
interface Planned {
  bodySize: number;
  timestampDelta: bigint;
  /** Zig-zag encoding of timestampDelta, or -1 when it needs BigInt. */
  timestampZigzag: number;
  key: Uint8Array | null;
  value: Uint8Array | null;
  headerKeys: Uint8Array[];
  headers: RecordHeader[];
}

/**
 * Encodes records with offset deltas 0..n−1 into a records section.
 * @returns the section bytes, the first and the largest timestamp
 */
function encodeRecords(records: RecordInput[], now: () => bigint): {
  section: Uint8Array;
  baseTimestamp: bigint;
  maxTimestamp: bigint;
} {
  let nowMs: bigint | undefined;
  const planned: Planned[] = [];
  let baseTimestamp = -1n;
  let maxTimestamp = -1n;
  let total = 0;
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    const ts = r.timestamp ?? (nowMs ??= now());
    if (i === 0) baseTimestamp = ts;
    if (ts > maxTimestamp) maxTimestamp = ts;
    const timestampDelta = ts - baseTimestamp;
    const key = r.key ?? null;
    const value = r.value ?? null;
    const headers = r.headers ?? [];
    const timestampZigzag = zigzagNumber(timestampDelta);
    let body = 1 + sizeOfVarlong(timestampZigzag, timestampDelta) + sizeOfVarint(i);
    body += key === null ? 1 : sizeOfVarint(key.length) + key.length;
    body += value === null ? 1 : sizeOfVarint(value.length) + value.length;
    body += sizeOfVarint(headers.length);
    const headerKeys: Uint8Array[] = [];
    for (const h of headers) {
      const k = ENCODER.encode(h.key);
      headerKeys.push(k);
      body += sizeOfVarint(k.length) + k.length;
      body += h.value === null ? 1 : sizeOfVarint(h.value.length) + h.value.length;
    }
    planned.push({ bodySize: body, timestampDelta, timestampZigzag, key, value, headerKeys, headers });
    total += sizeOfVarint(body) + body;
  }
  const out = new Uint8Array(total);
  let p = 0;
  for (let i = 0; i < planned.length; i++) {
    const r = planned[i]!;
    p = writeVarint(out, p, r.bodySize);
    out[p++] = 0;
    p = writeVarlong(out, p, r.timestampZigzag, r.timestampDelta);
    p = writeVarint(out, p, i);
    p = writeBytes(out, p, r.key);
    p = writeBytes(out, p, r.value);
    p = writeVarint(out, p, r.headers.length);
    for (let h = 0; h < r.headers.length; h++) {
      p = writeBytes(out, p, r.headerKeys[h]!);
      p = writeBytes(out, p, r.headers[h]!.value);
    }
  }
  return { section: out, baseTimestamp, maxTimestamp };
}

function writeBytes(out: Uint8Array, at: number, b: Uint8Array | null): number {
  if (b === null) return writeVarint(out, at, -1);
  at = writeVarint(out, at, b.length);
  out.set(b, at);
  return at + b.length;
}

function defaultNow(): bigint {
  return BigInt(Date.now());
}

/**
 * Builds a complete v2 batch with CRC, records at offset deltas 0..n−1. baseTimestamp is the
 * first record's timestamp, maxTimestamp the largest (or `now()` for LogAppendTime), as
 * Kafka's MemoryRecordsBuilder writes them.
 * @param records at least one record
 * @example
 * const batch = buildBatch([{ key: null, value: bytes }], { baseOffset: 42n });
 * @throws RangeError for no records or an unknown codec; TypeError for a codec without `compress`
 */
export function buildBatch(records: RecordInput[], options: BuildBatchOptions = {}): Uint8Array {
  if (records.length === 0) throw new RangeError("Cannot build a record batch: no records");
  const codec = options.compression ?? Compression.NONE;
  checkCodec(codec, options.compress, "build a record batch");
  const now = options.now ?? defaultNow;
  const { section, baseTimestamp, maxTimestamp } = encodeRecords(records, now);
  const logAppend = options.timestampType === "log-append";
  let attributes = codec;
  if (logAppend) attributes |= Attributes.TIMESTAMP_TYPE_LOG_APPEND;
  if (options.transactional) attributes |= Attributes.TRANSACTIONAL;
  if (options.control) attributes |= Attributes.CONTROL;
  return writeBatch({
    baseOffset: options.baseOffset ?? 0n,
    partitionLeaderEpoch: options.partitionLeaderEpoch ?? -1,
    attributes,
    lastOffsetDelta: records.length - 1,
    baseTimestamp,
    maxTimestamp: logAppend ? now() : maxTimestamp,
    producerId: options.producerId ?? -1n,
    producerEpoch: options.producerEpoch ?? -1,
    baseSequence: options.baseSequence ?? -1,
    recordCount: records.length,
  }, codec === Compression.NONE ? section : options.compress!(codec, section));
}
