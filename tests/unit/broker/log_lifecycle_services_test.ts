/**
 * The broker's log lifecycle services over a `memory:` storage: the retention pass applies to
 * topics whose cleanup.policy includes `delete` (compact,delete too) and only to partitions this
 * broker leads, with the topic's settings of the moment; the cleaner compacts topics whose policy
 * includes `compact` (compact,delete too) and remembers what it did; the cleaner's I/O throttle
 * paces to its byte rate.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { BrokerConfig } from "../../../src/broker/config.ts";
import { LogCleaner } from "../../../src/broker/log_cleaner.ts";
import { LogRetention } from "../../../src/broker/log_retention.ts";
import { silentLogger } from "../../../src/broker/logger.ts";
import { TopicPolicies } from "../../../src/broker/topic_policy.ts";
import { buildBatch } from "../../../src/protocol/records/records.ts";
import { Throttle } from "../../../src/storage/compaction.ts";
import type { Storage } from "../../../src/storage/engine.ts";
import { openMemoryStorage } from "../../../src/storage/memory/engine.ts";

const enc = new TextEncoder();
const NOW = 1_700_000_000_000;
const HOUR = 3_600_000;

async function fill(storage: Storage, topic: string, configs: Record<string, string>) {
  const t = await storage.topics.create({ name: topic, partitions: 1, configs });
  assert.ok(t.ok);
  const p = await storage.partition({ topicName: topic, topicId: t.value.id, partition: 0 });
  // Four versions of one key stamped 10 hours ago, then a recent record of another key.
  for (let i = 0; i < 4; i++) {
    await p.append(
      buildBatch([{ key: enc.encode("k"), value: enc.encode(`v${i}`), timestamp: BigInt(NOW - 10 * HOUR) }]),
    );
  }
  await p.append(buildBatch([{ key: enc.encode("j"), value: enc.encode("x"), timestamp: BigInt(NOW) }]));
  return p;
}

test("retention applies to delete and compact,delete topics; the cleaner to compact and compact,delete ones", async () => {
  const clock = { now: () => NOW };
  const storage = openMemoryStorage({
    clock,
    logger: silentLogger,
    decompress: (_c, d) => d,
    logConfig: () => {
      throw new Error("unused");
    },
  });
  await storage.cluster.join({ nodeId: 1, host: "127.0.0.1", port: 9092, rack: null });
  const policies = new TopicPolicies(new BrokerConfig());
  const onlyDelete = await fill(storage, "d", { "cleanup.policy": "delete", "retention.ms": String(HOUR) });
  const onlyCompact = await fill(storage, "c", { "cleanup.policy": "compact", "retention.ms": String(HOUR) });
  const both = await fill(storage, "cd", {
    "cleanup.policy": "compact,delete",
    "retention.ms": String(HOUR),
    "min.cleanable.dirty.ratio": "0.01",
  });
  const cleaner = new LogCleaner({
    storage,
    policies,
    nodeId: 1,
    logger: silentLogger,
    clock,
    backoffMs: 15_000,
    dedupeBufferBytes: 1 << 20,
    ioMaxBytesPerSecond: Infinity,
  });
  // The cleaner first (on compact,delete it compacts what retention has not removed yet).
  await storage.topics.setConfigs("c", { "cleanup.policy": "compact", "min.cleanable.dirty.ratio": "0.01" });
  assert.equal(await cleaner.runOnce(), 2);
  assert.deepEqual(cleaner.stats().map((r) => [r.topic, r.recordsRemoved]).sort(), [["c", 3], ["cd", 3]]);
  assert.equal(onlyDelete.logStartOffset, 0);
  const retention = new LogRetention({
    storage,
    policies,
    nodeId: 1,
    logger: silentLogger,
    clock,
    intervalMs: 300_000,
  });
  const summary = await retention.runOnce();
  assert.equal(summary.partitions, 2);
  // delete: the four expired batches go; compact,delete: the one expired batch left after compaction goes.
  assert.deepEqual([onlyDelete.logStartOffset, both.logStartOffset, onlyCompact.logStartOffset], [4, 4, 0]);
  await storage.close();
});

test("Throttle paces to its byte rate", async () => {
  let now = 0;
  const waits: number[] = [];
  const realSetTimeout = globalThis.setTimeout;
  const throttle = new Throttle(1000, () => now);
  // 3,000 bytes at 1,000 B/s should take about 3 s; time moves only when the throttle waits.
  (globalThis as { setTimeout: unknown }).setTimeout = (fn: () => void, ms: number) => {
    waits.push(ms);
    now += ms;
    fn();
    return 0;
  };
  try {
    for (let i = 0; i < 3; i++) await throttle.use(1000);
  } finally {
    globalThis.setTimeout = realSetTimeout;
  }
  assert.ok(Math.abs(now - 3000) < 5, `${now} ms`);
  assert.equal(waits.length, 3);
  const unlimited = new Throttle(Infinity, () => 0);
  await unlimited.use(1e12);
});
