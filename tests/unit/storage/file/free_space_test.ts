/**
 * The file engine on a full disk (the in-memory file system with a capacity): below
 * `minFreeBytes` appends are refused with a StorageError (KAFKA_STORAGE_ERROR) while the log stays
 * online for reads and other work, and they resume by themselves once space returns; a write that
 * still meets ENOSPC (another process filled the disk) takes the log offline, and once space is
 * back the log is reopened, its torn tail trimmed, and everything acknowledged is there.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import type { Logger } from "../../../../src/ports.ts";
import { ErrorCode } from "../../../../src/protocol/generated/errors.ts";
import { buildBatch } from "../../../../src/protocol/records/records.ts";
import { DEFAULT_LOG_CONFIG, type Storage, StorageError } from "../../../../src/storage/engine.ts";
import { openFileStorage } from "../../../../src/storage/file/engine.ts";
import { memoryFs } from "../../../../src/storage/memory/memory_fs.ts";
import { openDatabase } from "../../../support/runtime.ts";

const value = new Uint8Array(10_000).fill(120);
const record = () => buildBatch([{ key: null, value }]);

function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const log = (level: string) => (message: string, fields?: Record<string, unknown>) =>
    lines.push(`${level} ${message} ${JSON.stringify(fields ?? {})}`);
  return { lines, debug: () => {}, info: log("INFO"), warn: log("WARN"), error: log("ERROR") };
}

async function withStorage(
  minFreeBytes: number,
  fn: (s: Storage, fs: ReturnType<typeof memoryFs>, logger: ReturnType<typeof recordingLogger>) => Promise<void>,
) {
  const dir = await mkdtemp(join(tmpdir(), "kbin-free-space-"));
  const fs = memoryFs();
  const logger = recordingLogger();
  const storage = await openFileStorage({
    fs,
    openDatabase: () => openDatabase(join(dir, "metadata.db")),
    dir: "/data",
    clock: { now: () => Date.now() },
    logger,
    decompress: (_c, d) => d,
    logConfig: () => DEFAULT_LOG_CONFIG,
    minFreeBytes,
  });
  try {
    await fn(storage, fs, logger);
  } finally {
    await storage.close();
    await rm(dir, { recursive: true, force: true });
  }
}

const tick = () => new Promise((r) => setTimeout(r, 400));

test("below minFreeBytes appends are refused with KAFKA_STORAGE_ERROR, reads go on, writes resume when space returns", () =>
  withStorage(200_000, async (storage, fs, logger) => {
    const t = await storage.topics.create({ name: "full", partitions: 2 });
    assert.ok(t.ok);
    const p0 = await storage.partition({ topicName: "full", topicId: t.value.id, partition: 0 });
    const p1 = await storage.partition({ topicName: "full", topicId: t.value.id, partition: 1 });
    // 400 kB of room: about 20 records go in before the 200 kB floor.
    fs.setCapacity(400_000);
    await tick();
    let acked = 0;
    let refused: unknown = null;
    for (let i = 0; i < 100 && refused === null; i++) {
      try {
        const r = await (i % 2 === 0 ? p0 : p1).append(record());
        assert.equal(r.kind, "appended");
        if (r.kind === "appended") await r.written;
        acked++;
      } catch (err) {
        refused = err;
      }
    }
    assert.ok(refused instanceof StorageError, String(refused));
    assert.equal((refused as StorageError).errorCode, ErrorCode.KAFKA_STORAGE_ERROR);
    assert.match((refused as Error).message, /below kbin\.log\.dir\.min\.free\.bytes/);
    assert.ok(acked >= 10 && acked < 30, `${acked} appends went in`);
    assert.equal(p0.failure, null);
    assert.equal(p1.failure, null);
    assert.ok(logger.lines.some((l) => /^ERROR The data directory is short of free space/.test(l)));
    // Reads go on.
    const read = await p0.read(0, 1 << 20, { minOneBatch: true });
    assert.ok(read.ok && read.value.records.length > 0);
    // Space returns: after the next look, appends go on.
    fs.setCapacity(10_000_000);
    await tick();
    const again = await p1.append(record());
    assert.equal(again.kind, "appended");
    assert.ok(logger.lines.some((l) => /^INFO Free space is back/.test(l)));
    assert.equal(p0.logEndOffset + p1.logEndOffset, acked + 1);
  }));

test("a write that meets ENOSPC takes the log offline until space returns; then it reopens whole", () =>
  withStorage(50_000, async (storage, fs, logger) => {
    const t = await storage.topics.create({ name: "enospc", partitions: 1 });
    assert.ok(t.ok);
    const ref = { topicName: "enospc", topicId: t.value.id, partition: 0 };
    let p = await storage.partition(ref);
    for (let i = 0; i < 5; i++) {
      const r = await p.append(record());
      assert.equal(r.kind, "appended");
      if (r.kind === "appended") await p.waitDurable(r.lastOffset + 1);
    }
    // Another process fills the disk between two looks: the next write fails with ENOSPC.
    fs.setCapacity(1);
    let failed: unknown = null;
    try {
      const r = await p.append(record());
      if (r.kind === "appended") await r.written;
    } catch (err) {
      failed = err;
    }
    assert.ok(failed instanceof Error, "the write should have failed");
    assert.notEqual(p.failure, null);
    fs.setCapacity(10_000_000);
    await tick();
    await tick();
    p = await storage.partition(ref);
    assert.equal(p.failure, null);
    assert.ok(logger.lines.some((l) => /Reopening a partition log the full disk took offline/.test(l)));
    assert.equal(p.logEndOffset, 5);
    const r = await p.append(record());
    assert.ok(r.kind === "appended" && r.baseOffset === 5);
  }));
