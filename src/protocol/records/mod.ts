/**
 * Hand-written record formats: RecordBatch v2 views, validation and in-place header patches
 * (`batch.ts`), record decoding and batch building (`records.ts`), and the legacy magic 0/1
 * MessageSet conversions (`legacy.ts`). Pure TypeScript over Uint8Array; compression comes in
 * as callbacks.
 *
 * @example
 * import { buildBatch, validateBatch } from "./mod.ts";
 * const batch = buildBatch([{ key: null, value: new TextEncoder().encode("hi") }]);
 * validateBatch(batch, 0, batch.length, {}); // null: valid
 *
 * @module
 */

export {
  Attributes,
  BATCH_HEADER_BYTES,
  BATCH_OVERHEAD_BYTES,
  type BatchError,
  type BatchHeader,
  type BatchInspection,
  type BatchScan,
  type CompressFn,
  Compression,
  type DecompressFn,
  inspectBatch,
  magicAt,
  NO_TIMESTAMP,
  readBatchHeader,
  recompressBatch,
  scanBatches,
  setBaseOffset,
  setLogAppendTime,
  setMaxTimestamp,
  setPartitionLeaderEpoch,
  updateBatchCrc,
  validateBatch,
  type ValidateBatchOptions,
  verifyBatchCrc,
} from "./batch.ts";
export {
  type AbsoluteRecord,
  batchRecords,
  buildBatch,
  type BuildBatchOptions,
  decodeRecords,
  type KafkaRecord,
  type RecordHeader,
  type RecordInput,
} from "./records.ts";
export { downConvertBatches, type DownConvertOptions, upConvertMessageSet, type UpConvertOptions } from "./legacy.ts";
export { crc32c } from "../crc32c.ts";
export { crc32 } from "../crc32.ts";
