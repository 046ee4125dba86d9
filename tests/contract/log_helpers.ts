/**
 * Helpers the log contract tests share: a durable append that must succeed, and a walk over every
 * batch from an offset to the high watermark (reads stop at segment ends, as Kafka's, so the walk
 * reads again from where each read ended).
 */
import assert from "node:assert/strict";
import { type BatchHeader, readBatchHeader, scanBatches } from "../../src/protocol/records/batch.ts";
import type { PartitionStorage } from "../../src/storage/engine.ts";

/** Appends `batch`, waits until it is durable, and returns its base offset. */
export async function appendDurably(p: PartitionStorage, batch: Uint8Array): Promise<number> {
  const r = await p.append(batch);
  assert.equal(r.kind, "appended", JSON.stringify(r));
  if (r.kind !== "appended") throw new Error("not appended");
  await r.written;
  await p.waitDurable(r.lastOffset + 1);
  return r.baseOffset;
}

/** One batch as read back: its header, the bytes holding it and where it starts in them. */
export interface ReadBatch {
  header: BatchHeader;
  bytes: Uint8Array;
  at: number;
}

/**
 * Every batch from `from` to the high watermark.
 * @returns the batches, or the error code of the first read that failed
 */
export async function batchesFrom(p: PartitionStorage, from: number): Promise<ReadBatch[] | { error: number }> {
  const out: ReadBatch[] = [];
  let at = from;
  for (;;) {
    const r = await p.read(at, 1 << 30, { minOneBatch: true });
    if (!r.ok) return { error: r.code };
    const bytes = r.value.records;
    const batches = scanBatches(bytes).batches;
    if (batches.length === 0) return out;
    for (const b of batches) {
      const header = readBatchHeader(bytes, b.at);
      out.push({ header, bytes, at: b.at });
      at = Number(header.baseOffset) + header.lastOffsetDelta + 1;
    }
  }
}
