/**
 * Contract: the log after the append, on every engine. DeleteRecords moves the log start offset
 * (durably) and removes what lies wholly below it; retention removes the oldest segments by time
 * (their newest record), by size and by the log start, never past the high watermark, and an
 * expired active segment is rolled and removed as Kafka does. Segments are one batch each here
 * (`segment.bytes` 1), so the engines with segments and those without (memory:, postgres:, whose
 * units are batches) give the same answers.
 */
import assert from "node:assert/strict";
import { after, afterEach, beforeEach, describe, test } from "node:test";
import { ErrorCode } from "../../src/protocol/generated/errors.ts";
import { buildBatch } from "../../src/protocol/records/records.ts";
import {
  DEFAULT_LOG_CONFIG,
  type PartitionRef,
  type PartitionStorage,
  type RetentionConfig,
  type Storage,
} from "../../src/storage/engine.ts";
import { stopSharedPostgres } from "../support/postgres.ts";
import { ENGINES, logSettings, withEngine } from "./engines.ts";
import { appendDurably, batchesFrom } from "./log_helpers.ts";

after(stopSharedPostgres);

const enc = new TextEncoder();
const NOW = 1_700_000_000_000;
const HOUR = 3_600_000;

/** A batch of `n` records, the newest stamped `ts`. */
function batch(n: number, ts: number, producerId?: bigint, sequence = 0) {
  return buildBatch(
    Array.from({ length: n }, (_, i) => ({
      key: enc.encode(`k${i}`),
      value: enc.encode(`v${i}`),
      timestamp: BigInt(ts - (n - 1 - i)),
    })),
    producerId === undefined ? {} : { producerId, producerEpoch: 0, baseSequence: sequence },
  );
}

async function topic(storage: Storage): Promise<PartitionRef> {
  const t = await storage.topics.create({ name: "r", partitions: 1 });
  assert.ok(t.ok);
  return { topicName: "r", topicId: t.value.id, partition: 0 };
}

/** Five batches of 2 records (offsets 0–9), the newest record of batch i stamped `NOW - (5 - i) h`. */
async function fiveHourlyBatches(p: PartitionStorage): Promise<number[]> {
  const sizes: number[] = [];
  for (let i = 0; i < 5; i++) {
    const b = batch(2, NOW - (5 - i) * HOUR);
    sizes.push(b.length);
    await appendDurably(p, b);
  }
  return sizes;
}

/** Base offsets of every batch from `from` to the high watermark, or the read's error. */
async function basesFrom(p: PartitionStorage, from: number): Promise<number[] | string> {
  const batches = await batchesFrom(p, from);
  return "error" in batches ? `error ${batches.error}` : batches.map((b) => Number(b.header.baseOffset));
}

const keepAll: RetentionConfig = { retentionMs: Infinity, retentionBytes: Infinity, fileDeleteDelayMs: 0 };

for (const engine of ENGINES) {
  describe(`log retention and DeleteRecords on ${engine.name}`, () => {
    beforeEach(() => {
      logSettings.current = { ...DEFAULT_LOG_CONFIG, segmentBytes: 1, fileDeleteDelayMs: 0 };
    });
    afterEach(() => {
      logSettings.current = DEFAULT_LOG_CONFIG;
    });

    test("deleteRecords() moves the log start offset; reads below it are OFFSET_OUT_OF_RANGE", () =>
      withEngine(engine, async ({ storage }) => {
        const p = await storage.partition(await topic(storage));
        const sizes = await fiveHourlyBatches(p);
        const total = sizes.reduce((a, b) => a + b, 0);
        assert.equal(p.sizeBytes, total);
        // Mid-batch: offset 5 is in the batch 4–5; the batches 0–1 and 2–3 go, 4–5 stays.
        const moved = await p.deleteRecords(5);
        assert.ok(moved.ok && moved.value === 5, JSON.stringify(moved));
        assert.equal(p.logStartOffset, 5);
        assert.equal(p.sizeBytes, total - sizes[0]! - sizes[1]!);
        assert.equal(await basesFrom(p, 4), `error ${ErrorCode.OFFSET_OUT_OF_RANGE}`);
        assert.deepEqual(await basesFrom(p, 5), [4, 6, 8]);
        // A time look-up finds no record below the start.
        assert.equal((await p.offsetForTimestamp(0))?.offset, 5);
        // Lower than the start: nothing changes.
        const lower = await p.deleteRecords(2);
        assert.ok(lower.ok && lower.value === 5);
        // Above the high watermark or below -1: refused.
        const above = await p.deleteRecords(11);
        assert.ok(!above.ok && above.code === ErrorCode.OFFSET_OUT_OF_RANGE);
        const negative = await p.deleteRecords(-2);
        assert.ok(!negative.ok && negative.code === ErrorCode.OFFSET_OUT_OF_RANGE);
        // -1 is the high watermark: the log is empty, appends go on at its end.
        const all = await p.deleteRecords(-1);
        assert.ok(all.ok && all.value === 10);
        assert.deepEqual([p.logStartOffset, p.logEndOffset, p.highWatermark], [10, 10, 10]);
        assert.deepEqual(await basesFrom(p, 10), []);
        assert.equal(await appendDurably(p, batch(1, NOW)), 10);
        assert.deepEqual(await basesFrom(p, 10), [10]);
      }));

    test("retention by time removes the segments whose newest record is older than retention.ms", () =>
      withEngine(engine, async ({ storage }) => {
        const p = await storage.partition(await topic(storage));
        const sizes = await fiveHourlyBatches(p);
        // Newest records at -5 h … -1 h; 2.5 h of retention keeps the last two batches.
        const r = await p.applyRetention({ ...keepAll, retentionMs: 2.5 * HOUR }, NOW);
        assert.deepEqual(
          [r.segments, r.bytes, r.reason, r.logStartOffset],
          [3, sizes[0]! + sizes[1]! + sizes[2]!, "retention.ms", 6],
        );
        assert.equal(p.logStartOffset, 6);
        assert.deepEqual(await basesFrom(p, 6), [6, 8]);
        assert.equal(await basesFrom(p, 0), `error ${ErrorCode.OFFSET_OUT_OF_RANGE}`);
        // Exactly retention.ms old is kept (Kafka deletes only what is strictly older).
        const edge = await p.applyRetention({ ...keepAll, retentionMs: 2 * HOUR }, NOW);
        assert.equal(edge.segments, 0);
        // A second pass with nothing expired removes nothing.
        const again = await p.applyRetention({ ...keepAll, retentionMs: 2.5 * HOUR }, NOW);
        assert.deepEqual([again.segments, again.reason], [0, null]);
      }));

    test("when every segment expired, the active one goes too and appends go on at the log end", () =>
      withEngine(engine, async ({ storage }) => {
        const p = await storage.partition(await topic(storage));
        await fiveHourlyBatches(p);
        const r = await p.applyRetention({ ...keepAll, retentionMs: HOUR / 2 }, NOW);
        assert.deepEqual([r.segments, r.logStartOffset], [5, 10]);
        assert.deepEqual([p.logStartOffset, p.logEndOffset, p.sizeBytes], [10, 10, 0]);
        assert.equal(await appendDurably(p, batch(3, NOW)), 10);
        assert.deepEqual(await basesFrom(p, 10), [10]);
      }));

    test("retention by size removes the oldest segments while the partition is over retention.bytes", () =>
      withEngine(engine, async ({ storage }) => {
        const p = await storage.partition(await topic(storage));
        const sizes = await fiveHourlyBatches(p);
        const total = sizes.reduce((a, b) => a + b, 0);
        // As Kafka, a segment goes only while what is left stays at or over the limit: with a
        // limit a little under two batches, three go and two stay.
        const limit = sizes[3]! + sizes[4]! - 10;
        const r = await p.applyRetention({ ...keepAll, retentionBytes: limit }, NOW);
        assert.deepEqual([r.segments, r.reason, r.logStartOffset], [3, "retention.bytes", 6]);
        assert.equal(p.sizeBytes, total - r.bytes);
        assert.equal(p.sizeBytes, sizes[3]! + sizes[4]!);
        assert.deepEqual(await basesFrom(p, 6), [6, 8]);
        // Exactly at the limit: nothing more goes.
        const again = await p.applyRetention({ ...keepAll, retentionBytes: sizes[3]! + sizes[4]! }, NOW);
        assert.equal(again.segments, 0);
      }));

    test("timestamps of -1 never expire, and nothing past the first segment kept goes by time", () =>
      withEngine(engine, async ({ storage }) => {
        const p = await storage.partition(await topic(storage));
        await appendDurably(p, batch(1, NOW - 10 * HOUR));
        await appendDurably(p, batch(1, NOW)); // recent: stops the pass
        await appendDurably(p, batch(1, NOW - 10 * HOUR));
        const r = await p.applyRetention({ ...keepAll, retentionMs: HOUR }, NOW);
        assert.deepEqual([r.segments, r.logStartOffset], [1, 1]);
      }));

    test("an idempotent producer goes on after retention removed its old batches", () =>
      withEngine(engine, async ({ storage }) => {
        const p = await storage.partition(await topic(storage));
        for (let seq = 0; seq < 6; seq++) await appendDurably(p, batch(1, NOW - (10 - seq) * HOUR, 42n, seq));
        await appendDurably(p, batch(1, NOW, 42n, 6));
        const r = await p.applyRetention({ ...keepAll, retentionMs: HOUR }, NOW);
        assert.equal(r.logStartOffset, 6);
        const retry = await p.append(batch(1, NOW, 42n, 6));
        assert.ok(retry.kind === "duplicate" && retry.baseOffset === 6, JSON.stringify(retry));
        assert.equal(await appendDurably(p, batch(1, NOW, 42n, 7)), 7);
      }));

    if (engine.persistent) {
      test("the log start offset and removed segments stay so across a restart", () =>
        withEngine(engine, async (e) => {
          const ref = await topic(e.storage);
          let p = await e.storage.partition(ref);
          await fiveHourlyBatches(p);
          assert.ok((await p.deleteRecords(3)).ok);
          await p.applyRetention({ ...keepAll, retentionMs: 2.5 * HOUR }, NOW);
          const size = p.sizeBytes;
          const storage = await e.restart();
          p = await storage.partition(ref);
          assert.deepEqual([p.logStartOffset, p.logEndOffset, p.sizeBytes], [6, 10, size]);
          assert.deepEqual(await basesFrom(p, 6), [6, 8]);
          assert.equal(await basesFrom(p, 5), `error ${ErrorCode.OFFSET_OUT_OF_RANGE}`);
        }));
    }

    if (engine.crashes) {
      test("deleteRecords() is durable when it resolves: a crash keeps the new log start", () =>
        withEngine(engine, async (e) => {
          const ref = await topic(e.storage);
          let p = await e.storage.partition(ref);
          await fiveHourlyBatches(p);
          assert.ok((await p.deleteRecords(7)).ok);
          const storage = await e.crash();
          p = await storage.partition(ref);
          assert.deepEqual([p.logStartOffset, p.logEndOffset], [7, 10]);
          assert.deepEqual(await basesFrom(p, 7), [6, 8]);
        }));
    }
  });
}
