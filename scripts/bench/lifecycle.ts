/**
 * Log lifecycle benchmark (a benchmark, not a test): the file engine in this process, on a real
 * disk under TMPDIR (not tmpfs), through the storage interface the broker uses.
 *
 * 1. Cleaner throughput: a partition of SIZE MiB (default 1024) of 1 KiB records in batches of 100,
 *    10 % distinct keys, in 128 MiB segments, compacted once; reported as MB/s of the cleanable
 *    range, beside reading the same segment files in 8 MiB chunks just before (the baseline,
 *    same page cache state), and the ratio of the two. Peak RSS is sampled every 20 ms while it
 *    cleans (the whole process: the cleaner's offset map and buffers on top of the baseline).
 * 2. Produce latency with and without the cleaner, in the same run: one 1 KiB batch at a time,
 *    acks=all (append, then wait until durable), to another partition, first for 5 s alone, then
 *    while a second partition of SIZE MiB is compacted; p50/p99/max of each phase.
 * 3. Retention pass time: 1,000 partitions of 10 one-batch segments each (10,000 segments), one
 *    pass that removes nothing and one that removes the older half (5,000 segments).
 *
 * Usage: bun scripts/bench/lifecycle.ts [SIZE_MIB]   (or: bash scripts/bench/run.sh lifecycle [SIZE_MIB])
 * Prints a Markdown table on stdout, progress on stderr.
 *
 * @module
 */

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { silentLogger } from "../../src/broker/logger.ts";
import { createCodecs } from "../../src/protocol/compression/mod.ts";
import { buildBatch } from "../../src/protocol/records/records.ts";
import { openFileSystem } from "../../src/runtime/bun/fs.ts";
import { connectPostgresBun } from "../../src/runtime/bun/postgres.ts";
import { openDatabase } from "../../src/runtime/bun/sqlite.ts";
import { DEFAULT_COMPACTION_CONFIG } from "../../src/storage/compaction.ts";
import { DEFAULT_LOG_CONFIG, type LogConfig, type PartitionStorage } from "../../src/storage/engine.ts";
import { openStorage } from "../../src/storage/open.ts";

const SIZE_MIB = Number(process.argv[2] ?? 1024);
const codecs = createCodecs();
const fs = openFileSystem();
const log = (s: string) => process.stderr.write(`lifecycle: ${s}\n`);
const MB = 1e6;

const settings: Record<string, LogConfig> = {};
const dir = await mkdtemp(join(process.env["TMPDIR"] ?? tmpdir(), "kbin-bench-lifecycle-"));
const storage = await openStorage(`file:${dir}`, {
  fs,
  openDatabase,
  connectPostgres: connectPostgresBun,
  clock: { now: () => Date.now() },
  logger: silentLogger,
  decompress: (c, d) => codecs.decompress(c, d),
  compress: (c, d) => codecs.compress(c, d),
  logConfig: (t) => settings[t.name] ?? DEFAULT_LOG_CONFIG,
});

async function partitionOf(topic: string, partition: number, config: Partial<LogConfig>, count = 1) {
  settings[topic] = { ...DEFAULT_LOG_CONFIG, ...config };
  if (!storage.topics.get(topic).ok) {
    const t = await storage.topics.create({ name: topic, partitions: count });
    if (!t.ok) throw new Error(t.message);
  }
  const t = storage.topics.get(topic);
  if (!t.ok) throw new Error("no topic");
  return await storage.partition({ topicName: topic, topicId: t.value.id, partition });
}

const value = new Uint8Array(1000).fill(97);
const enc = new TextEncoder();

/** Fills `p` with SIZE MiB of 100-record batches, keys drawn from 10 % as many distinct keys. */
async function fill(p: PartitionStorage): Promise<number> {
  const records = Math.floor((SIZE_MIB * 1024 * 1024) / 1030);
  const distinct = Math.max(1, Math.floor(records / 10));
  let seed = 42;
  // xorshift32: exact in 32-bit integer arithmetic.
  const rand = () => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return seed >>> 0;
  };
  let pending: Promise<void>[] = [];
  for (let i = 0; i < records; i += 100) {
    const batch = buildBatch(
      Array.from(
        { length: Math.min(100, records - i) },
        () => ({ key: enc.encode(`key-${rand() % distinct}`), value }),
      ),
    );
    const r = await p.append(batch);
    if (r.kind === "appended") pending.push(r.written);
    if (pending.length >= 64) {
      await Promise.all(pending);
      pending = [];
    }
  }
  await Promise.all(pending);
  await p.waitDurable(p.logEndOffset);
  return distinct;
}

/** Reads every segment file of a partition directory in 8 MiB chunks; returns bytes read. */
async function readSegments(partitionDir: string): Promise<number> {
  let bytes = 0;
  for (const name of await fs.readdir(partitionDir)) {
    if (!name.endsWith(".log")) continue;
    const f = await fs.open(join(partitionDir, name));
    const size = await f.size();
    for (let pos = 0; pos < size; pos += 8 * 1024 * 1024) bytes += (await f.read(pos, 8 * 1024 * 1024)).length;
    await f.close();
  }
  return bytes;
}

function percentile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

const EAGER = { ...DEFAULT_COMPACTION_CONFIG, minCleanableDirtyRatio: 0 };
const segmentBytes = 128 * 1024 * 1024;
const rows: string[] = [];
try {
  // 1. Cleaner throughput and RSS.
  log(`filling a ${SIZE_MIB} MiB compacted partition`);
  const p1 = await partitionOf("cleaned", 0, { segmentBytes, fileDeleteDelayMs: 0 }, 2);
  const distinct = await fill(p1);
  const readStart = performance.now();
  const readBytes = await readSegments(join(dir, "cleaned-0"));
  const readMs = performance.now() - readStart;
  log("compacting");
  const rssBase = process.memoryUsage().rss;
  let rssPeak = rssBase;
  const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)), 20);
  const cleanStart = performance.now();
  const outcome = await p1.compact(EAGER, Date.now());
  const cleanMs = performance.now() - cleanStart;
  clearInterval(sampler);
  const readMBs = readBytes / MB / (readMs / 1000);
  const cleanMBs = outcome.bytesBefore / MB / (cleanMs / 1000);
  rows.push(
    `| cleaner, ${SIZE_MIB} MiB partition, ${distinct} distinct keys (10 %) | ${cleanMBs.toFixed(0)} MB/s ` +
      `(${(outcome.bytesBefore / MB).toFixed(0)} MB → ${(outcome.bytesAfter / MB).toFixed(0)} MB in ` +
      `${(cleanMs / 1000).toFixed(1)} s) | reading the same segments: ${readMBs.toFixed(0)} MB/s | ` +
      `${(cleanMBs / readMBs).toFixed(2)} |`,
  );
  rows.push(
    `| cleaner peak RSS | ${(rssPeak / 2 ** 20).toFixed(0)} MiB (+${((rssPeak - rssBase) / 2 ** 20).toFixed(0)} MiB ` +
      `over the ${(rssBase / 2 ** 20).toFixed(0)} MiB before) | | |`,
  );

  // 2. Produce latency without and with the cleaner.
  log(`filling a second ${SIZE_MIB} MiB partition`);
  const p2 = await partitionOf("cleaned", 1, { segmentBytes, fileDeleteDelayMs: 0 }, 2);
  await fill(p2);
  const q = await partitionOf("produced", 0, {});
  const small = new Uint8Array(1024).fill(98);
  const produceFor = async (until: () => boolean): Promise<number[]> => {
    const out: number[] = [];
    while (!until()) {
      const t0 = performance.now();
      const r = await q.append(buildBatch([{ key: null, value: small }]));
      if (r.kind === "appended") {
        await r.written;
        await q.waitDurable(r.lastOffset + 1);
      }
      out.push(performance.now() - t0);
    }
    return out.sort((a, b) => a - b);
  };
  log("producing alone for 5 s");
  const aloneEnd = performance.now() + 5000;
  const alone = await produceFor(() => performance.now() > aloneEnd);
  log("producing while the second partition is compacted");
  let cleaning = true;
  const compaction = p2.compact(EAGER, Date.now()).finally(() => (cleaning = false));
  const withCleaner = await produceFor(() => !cleaning);
  await compaction;
  const fmt = (l: number[]) =>
    `${l.length} appends: p50 ${percentile(l, 0.5).toFixed(2)} ms, p99 ${percentile(l, 0.99).toFixed(2)} ms, ` +
    `max ${l.at(-1)!.toFixed(1)} ms`;
  rows.push(
    `| produce 1 KiB acks=all, one at a time | without the cleaner: ${fmt(alone)} | with the cleaner: ${
      fmt(withCleaner)
    } | p99 ${(percentile(withCleaner, 0.99) / percentile(alone, 0.99)).toFixed(2)}× |`,
  );

  // 3. Retention pass over 10,000 segments.
  log("writing 1,000 partitions of 10 segments");
  settings["retained"] = { ...DEFAULT_LOG_CONFIG, segmentBytes: 1, fileDeleteDelayMs: 0 };
  const rt = await storage.topics.create({ name: "retained", partitions: 1000 });
  if (!rt.ok) throw new Error(rt.message);
  const parts: PartitionStorage[] = [];
  const now = Date.now();
  for (let i = 0; i < 1000; i++) {
    const p = await storage.partition({ topicName: "retained", topicId: rt.value.id, partition: i });
    for (let s = 0; s < 10; s++) {
      const ts = s < 5 ? now - 10 * 3_600_000 : now;
      const r = await p.append(buildBatch([{ key: null, value, timestamp: BigInt(ts) }]));
      if (r.kind === "appended") await r.written;
    }
    await p.waitDurable(p.logEndOffset);
    parts.push(p);
  }
  const pass = async (retentionMs: number) => {
    const t0 = performance.now();
    let segments = 0;
    for (const p of parts) {
      segments += (await p.applyRetention({ retentionMs, retentionBytes: Infinity, fileDeleteDelayMs: 0 }, now))
        .segments;
    }
    return { ms: performance.now() - t0, segments };
  };
  const idle = await pass(24 * 3_600_000);
  const half = await pass(3_600_000);
  rows.push(
    `| retention pass, 1,000 partitions × 10 segments | nothing to remove: ${idle.ms.toFixed(0)} ms | ` +
      `removing ${half.segments} segments: ${half.ms.toFixed(0)} ms | |`,
  );
} finally {
  await storage.close();
  await rm(dir, { recursive: true, force: true });
}
console.log("| measure | kbin | baseline / second phase | ratio |");
console.log("| --- | --- | --- | --- |");
for (const r of rows) console.log(r);
