import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { silentLogger } from "../../../../src/broker/logger.ts";
import { createCodecs } from "../../../../src/protocol/compression/mod.ts";
import { readBatchHeader, scanBatches } from "../../../../src/protocol/records/batch.ts";
import { batchRecords, buildBatch } from "../../../../src/protocol/records/records.ts";
import type { FileSystem } from "../../../../src/ports.ts";
import { type MemoryFs, memoryFs } from "../../../../src/storage/memory/memory_fs.ts";
import { DEFAULT_LOG_CONFIG, type LogConfig, StorageError } from "../../../../src/storage/engine.ts";
import { PartitionLog } from "../../../../src/storage/file/partition_log.ts";
import { ErrorCode } from "../../../../src/protocol/generated/errors.ts";

const codecs = createCodecs();
const enc = new TextEncoder();

function batch(
  values: string[],
  options: { timestamp?: number; producerId?: bigint; sequence?: number; epoch?: number } = {},
) {
  return buildBatch(
    values.map((v, i) => ({
      key: enc.encode(`k${i}`),
      value: enc.encode(v),
      timestamp: BigInt((options.timestamp ?? 1000) + i),
    })),
    {
      producerId: options.producerId ?? -1n,
      producerEpoch: options.epoch ?? (options.producerId === undefined ? -1 : 0),
      baseSequence: options.sequence ?? (options.producerId === undefined ? -1 : 0),
    },
  );
}

async function open(
  fs: FileSystem,
  options: { config?: Partial<LogConfig>; clean?: boolean; now?: () => number } = {},
) {
  return await PartitionLog.open({
    fs,
    dir: "/data/t-0",
    clock: { now: options.now ?? (() => 1_000_000) },
    logger: silentLogger,
    config: () => ({ ...DEFAULT_LOG_CONFIG, ...options.config }),
    decompress: (c, d) => codecs.decompress(c, d),
    cleanShutdown: options.clean ?? false,
    name: "t-0",
  });
}

async function appendAll(log: PartitionLog, batches: Uint8Array[], durable = true) {
  const offsets: number[] = [];
  for (const b of batches) {
    const r = await log.append(b);
    assert.equal(r.kind, "appended");
    if (r.kind !== "appended") throw new Error("not appended");
    await r.written;
    if (durable) await log.waitDurable(r.lastOffset + 1);
    offsets.push(r.baseOffset);
  }
  return offsets;
}

function values(records: Uint8Array): string[] {
  const out: string[] = [];
  const scan = scanBatches(records);
  for (const b of scan.batches) {
    for (const r of batchRecords(records, b.at, { decompress: (c, d) => codecs.decompress(c, d) }).records) {
      out.push(`${r.offset}:${new TextDecoder().decode(r.value!)}`);
    }
  }
  return out;
}

describe("PartitionLog", () => {
  test("append() assigns consecutive offsets and read() returns the stored batches byte for byte", async () => {
    const log = await open(memoryFs());
    const offsets = await appendAll(log, [batch(["a", "b"]), batch(["c"]), batch(["d", "e", "f"])]);
    assert.deepEqual(offsets, [0, 2, 3]);
    assert.equal(log.highWatermark, 6);
    const r = await log.read(0, 1 << 20, { minOneBatch: true });
    assert.ok(r.ok);
    assert.deepEqual(values(r.value.records), ["0:a", "1:b", "2:c", "3:d", "4:e", "5:f"]);
    const mid = await log.read(4, 1 << 20, { minOneBatch: true });
    assert.ok(mid.ok);
    assert.equal(readBatchHeader(mid.value.records, 0).baseOffset, 3n, "starts at the batch holding the offset");
    const end = await log.read(6, 1 << 20, { minOneBatch: true });
    assert.ok(end.ok && end.value.records.length === 0);
    const beyond = await log.read(7, 1 << 20, { minOneBatch: true });
    assert.ok(!beyond.ok && beyond.code === ErrorCode.OFFSET_OUT_OF_RANGE);
    await log.close();
  });

  test("read() returns whole batches within maxBytes, and one oversized first batch only when asked", async () => {
    const log = await open(memoryFs());
    const big = batch(["x".repeat(5000)]);
    await appendAll(log, [batch(["a"]), batch(["b"]), big]);
    const small = batch(["a"]).length;
    const two = await log.read(0, small * 2 + 10, { minOneBatch: true });
    assert.ok(two.ok);
    assert.equal(scanBatches(two.value.records).batches.length, 2);
    const none = await log.read(2, 100, { minOneBatch: false });
    assert.ok(none.ok && none.value.records.length === 0);
    const forced = await log.read(2, 100, { minOneBatch: true });
    assert.ok(forced.ok && forced.value.records.length === big.length);
    await log.close();
  });

  test("segments roll at segment.bytes and reads continue across them after a clean reopen", async () => {
    const fs = memoryFs();
    const log = await open(fs, { config: { segmentBytes: 1024 * 1024 } });
    const batches = Array.from({ length: 40 }, (_, i) => batch([`v${i}-${"p".repeat(60_000)}`]));
    await appendAll(log, batches, false);
    assert.ok(log.segmentCount > 1, `expected several segments, got ${log.segmentCount}`);
    await log.close();
    const again = await open(fs, { clean: true, config: { segmentBytes: 1024 * 1024 } });
    assert.equal(again.logEndOffset, 40);
    for (const offset of [0, 17, 39]) {
      const r = await again.read(offset, 100, { minOneBatch: true });
      assert.ok(r.ok);
      assert.equal(values(r.value.records)[0]!.split("-")[0], `${offset}:v${offset}`);
    }
    await again.close();
  });

  test("a crash loses nothing acknowledged as durable, and recovery truncates the unsynced tail", async () => {
    const fs = memoryFs();
    const log = await open(fs);
    await appendAll(log, [batch(["a"]), batch(["b"])], true);
    const r = await log.append(batch(["lost?"]));
    assert.equal(r.kind, "appended");
    fs.crash();
    const again = await open(fs);
    assert.ok(again.logEndOffset >= 2);
    const read = await again.read(0, 1 << 20, { minOneBatch: true });
    assert.ok(read.ok);
    assert.deepEqual(values(read.value.records).slice(0, 2), ["0:a", "1:b"]);
    await again.close();
  });

  test("recovery truncates a torn tail and a flipped byte in the last batch, verified by CRC", async () => {
    for (const damage of ["tear", "flip"] as const) {
      const fs: MemoryFs = memoryFs();
      const log = await open(fs);
      await appendAll(log, [batch(["a"]), batch(["b"]), batch(["c", "d"])]);
      await log.close();
      const path = "/data/t-0/00000000000000000000.log";
      if (damage === "tear") fs.tearTail(path, 7);
      else {
        const f = await fs.open(path);
        const size = await f.size();
        const byte = await f.read(size - 3, 1);
        await f.write(new Uint8Array([byte[0]! ^ 0xff]), size - 3);
        await f.datasync();
      }
      const again = await open(fs, { clean: false });
      assert.equal(again.logEndOffset, 2, `${damage}: the damaged last batch is dropped`);
      const r = await again.read(0, 1 << 20, { minOneBatch: true });
      assert.ok(r.ok);
      assert.deepEqual(values(r.value.records), ["0:a", "1:b"]);
      const next = await again.append(batch(["e"]));
      assert.ok(next.kind === "appended" && next.baseOffset === 2);
      await again.close();
    }
  });

  test("a failing write takes the log offline with KAFKA_STORAGE_ERROR instead of crashing", async () => {
    const fs = memoryFs();
    const log = await open(fs);
    await appendAll(log, [batch(["a"])]);
    fs.failNextWrite();
    const r = await log.append(batch(["b"]));
    assert.equal(r.kind, "appended");
    if (r.kind === "appended") await assert.rejects(r.written, StorageError);
    await assert.rejects(log.append(batch(["c"])), StorageError);
    const read = await log.read(0, 100, { minOneBatch: true });
    assert.ok(!read.ok && read.code === ErrorCode.KAFKA_STORAGE_ERROR);
    await log.close();
  });

  test("waitDurable() is group commit: concurrent waiters share datasyncs", async () => {
    const base = memoryFs();
    let syncs = 0;
    const counting: FileSystem = {
      ...base,
      async open(path, options) {
        const h = await base.open(path, options);
        return { ...h, datasync: () => (syncs++, h.datasync()) };
      },
    };
    const log = await open(counting);
    syncs = 0;
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => log.append(batch([`m${i}`]))));
    await Promise.all(results.map((r) => r.kind === "appended" ? log.waitDurable(r.lastOffset + 1) : null));
    assert.ok(syncs <= 3, `50 appends needed ${syncs} datasyncs`);
    assert.equal(log.flushedOffset, 50);
    await log.close();
  });

  test("offsetForTimestamp() finds the first record at or after a time", async () => {
    const log = await open(memoryFs());
    await appendAll(log, [batch(["a", "b"], { timestamp: 100 }), batch(["c", "d"], { timestamp: 200 })]);
    assert.deepEqual(await log.offsetForTimestamp(101), { offset: 1, timestamp: 101 });
    assert.deepEqual(await log.offsetForTimestamp(150), { offset: 2, timestamp: 200 });
    assert.equal(await log.offsetForTimestamp(500), null);
    assert.deepEqual(await log.maxTimestampOffset(), { offset: 3, timestamp: 201 });
    await log.close();
  });

  test("append() answers a retried idempotent batch with its original offsets, also after a restart", async () => {
    const fs = memoryFs();
    const log = await open(fs);
    await appendAll(log, [batch(["x"])]);
    const first = await log.append(batch(["a", "b"], { producerId: 7n, sequence: 0 }));
    assert.ok(first.kind === "appended" && first.baseOffset === 1);
    const retry = await log.append(batch(["a", "b"], { producerId: 7n, sequence: 0 }));
    assert.deepEqual(retry.kind === "duplicate" && [retry.baseOffset, retry.lastOffset], [1, 2]);
    const gap = await log.append(batch(["z"], { producerId: 7n, sequence: 5 }));
    assert.ok(gap.kind === "error" && gap.code === ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    await log.close();
    fs.crash();
    const again = await open(fs);
    const afterRestart = await again.append(batch(["a", "b"], { producerId: 7n, sequence: 0 }));
    assert.equal(afterRestart.kind, "duplicate");
    const next = await again.append(batch(["c"], { producerId: 7n, sequence: 2 }));
    assert.ok(next.kind === "appended" && next.baseOffset === 3);
    await again.close();
  });
});
