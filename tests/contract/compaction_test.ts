/**
 * Contract: log compaction (`PartitionStorage.compact`) on every engine. Each key keeps its newest
 * record; offsets never change (they get gaps); tombstones stay until delete.retention.ms passed;
 * the active segment (newest batch) and records younger than min.compaction.lag.ms are never
 * compacted; control batches stay; an idempotent producer's newest batch stays (emptied) so its
 * sequence goes on; compressed batches stay compressed with their codec; the offset map's budget
 * (log.cleaner.dedupe.buffer.size) splits the work over passes; and the result survives a restart.
 * Segments are one batch each here (`segment.bytes` 1), as on the engines without segments.
 */
import assert from "node:assert/strict";
import { after, afterEach, beforeEach, describe, test } from "node:test";
import { createCodecs } from "../../src/protocol/compression/mod.ts";
import { batchRecords, buildBatch } from "../../src/protocol/records/records.ts";
import { type CompactionConfig, DEFAULT_COMPACTION_CONFIG } from "../../src/storage/compaction.ts";
import {
  DEFAULT_LOG_CONFIG,
  type PartitionRef,
  type PartitionStorage,
  type Storage,
} from "../../src/storage/engine.ts";
import { stopSharedPostgres } from "../support/postgres.ts";
import { ENGINES, logSettings, withEngine } from "./engines.ts";
import { appendDurably, batchesFrom } from "./log_helpers.ts";

after(stopSharedPostgres);

const enc = new TextEncoder();
const dec = new TextDecoder();
const codecs = createCodecs();
const NOW = 1_700_000_000_000;
const HOUR = 3_600_000;
/** Compact whenever there is anything dirty. */
const EAGER: CompactionConfig = { ...DEFAULT_COMPACTION_CONFIG, minCleanableDirtyRatio: 0 };

type Rec = [key: string | null, value: string | null];

function batch(records: Rec[], o: { ts?: number; producerId?: bigint; sequence?: number; codec?: number } = {}) {
  return buildBatch(
    records.map(([k, v]) => ({
      key: k === null ? null : enc.encode(k),
      value: v === null ? null : enc.encode(v),
      timestamp: BigInt(o.ts ?? NOW),
    })),
    {
      ...(o.producerId === undefined
        ? {}
        : { producerId: o.producerId, producerEpoch: 0, baseSequence: o.sequence ?? 0 }),
      ...(o.codec ? { compression: o.codec, compress: (c: number, d: Uint8Array) => codecs.compress(c, d) } : {}),
    },
  );
}

async function topic(storage: Storage): Promise<PartitionRef> {
  const t = await storage.topics.create({ name: "c", partitions: 1, configs: { "cleanup.policy": "compact" } });
  assert.ok(t.ok);
  return { topicName: "c", topicId: t.value.id, partition: 0 };
}

/** The batches from the log start (the reads must succeed). */
async function batchesNow(p: PartitionStorage) {
  const batches = await batchesFrom(p, p.logStartOffset);
  if ("error" in batches) assert.fail(`a read failed with error ${batches.error}`);
  return batches;
}

/** Every record from the log start: "offset:key=value" (value "∅" for a tombstone). */
async function records(p: PartitionStorage): Promise<string[]> {
  return (await batchesNow(p)).flatMap((b) =>
    batchRecords(b.bytes, b.at, { decompress: (c, d) => codecs.decompress(c, d) }).records.map((rec) =>
      `${rec.offset}:${rec.key === null ? "null" : dec.decode(rec.key)}=${
        rec.value === null ? "∅" : dec.decode(rec.value)
      }`
    )
  );
}

/** The batches from the log start: [base offset, record count, codec]. */
async function batchShapes(p: PartitionStorage): Promise<[number, number, number][]> {
  return (await batchesNow(p)).map((b) => [Number(b.header.baseOffset), b.header.recordCount, b.header.attributes & 7]);
}

for (const engine of ENGINES) {
  describe(`compaction on ${engine.name}`, () => {
    beforeEach(() => {
      logSettings.current = { ...DEFAULT_LOG_CONFIG, segmentBytes: 1, fileDeleteDelayMs: 0 };
    });
    afterEach(() => {
      logSettings.current = DEFAULT_LOG_CONFIG;
    });

    test("each key keeps its newest record; offsets keep their gaps; the newest batch is left alone", () =>
      withEngine(engine, async ({ storage }) => {
        const p = await storage.partition(await topic(storage));
        await appendDurably(p, batch([["k1", "a"], ["k2", "b"]]));
        await appendDurably(p, batch([["k1", "c"]]));
        await appendDurably(p, batch([["k3", "d"], ["k2", "e"]]));
        await appendDurably(p, batch([["k1", "f"]]));
        const before = p.sizeBytes;
        const r = await p.compact(EAGER, NOW);
        assert.equal(r.cleaned, true);
        assert.equal(r.recordsRemoved, 2);
        assert.equal(r.cleanedUpTo, 5);
        assert.equal(p.cleanedUpTo, 5);
        assert.ok(p.sizeBytes < before);
        assert.deepEqual(await records(p), ["2:k1=c", "3:k3=d", "4:k2=e", "5:k1=f"]);
        assert.deepEqual([p.logStartOffset, p.logEndOffset], [0, 6]);
        // Nothing dirty left: the next pass does nothing.
        assert.equal((await p.compact(EAGER, NOW)).cleaned, false);
        // Appends go on at the log end.
        assert.equal(await appendDurably(p, batch([["k2", "g"]])), 6);
      }));

    test("min.cleanable.dirty.ratio decides when a partition is due", () =>
      withEngine(engine, async ({ storage }) => {
        const p = await storage.partition(await topic(storage));
        await appendDurably(p, batch([["k1", "a"]]));
        await appendDurably(p, batch([["k1", "b"]]));
        await appendDurably(p, batch([["k1", "c"]]));
        // Everything before the newest batch is dirty: a ratio of 1 is met.
        assert.equal((await p.compact({ ...DEFAULT_COMPACTION_CONFIG, minCleanableDirtyRatio: 1 }, NOW)).cleaned, true);
        assert.deepEqual(await records(p), ["1:k1=b", "2:k1=c"]);
        // Now one clean batch and one dirty one: 1/2 is under 0.9 and at least 0.5.
        await appendDurably(p, batch([["k1", "d"]]));
        assert.equal(
          (await p.compact({ ...DEFAULT_COMPACTION_CONFIG, minCleanableDirtyRatio: 0.9 }, NOW)).cleaned,
          false,
        );
        const due = await p.compact({ ...DEFAULT_COMPACTION_CONFIG, minCleanableDirtyRatio: 0.5 }, NOW);
        assert.deepEqual([due.cleaned, due.reason], [true, "dirty ratio"]);
        assert.deepEqual(await records(p), ["2:k1=c", "3:k1=d"]);
      }));

    test("max.compaction.lag.ms makes a partition due whatever its dirty ratio", () =>
      withEngine(engine, async ({ storage }) => {
        const p = await storage.partition(await topic(storage));
        for (const v of ["a", "b", "c", "d"]) await appendDurably(p, batch([["k", v]], { ts: NOW - 10 * HOUR }));
        assert.equal((await p.compact({ ...EAGER, minCleanableDirtyRatio: 1 }, NOW)).cleaned, true);
        await appendDurably(p, batch([["k", "e"]], { ts: NOW - 5 * HOUR }));
        const strict = { ...DEFAULT_COMPACTION_CONFIG, minCleanableDirtyRatio: 1 };
        assert.equal((await p.compact(strict, NOW)).cleaned, false);
        const lagged = await p.compact({ ...strict, maxCompactionLagMs: HOUR }, NOW);
        assert.deepEqual([lagged.cleaned, lagged.reason], [true, "max.compaction.lag.ms"]);
        assert.deepEqual(await records(p), ["3:k=d", "4:k=e"]);
      }));

    test("a tombstone stays for delete.retention.ms, then a later cleaning removes it", () =>
      withEngine(engine, async ({ storage }) => {
        const p = await storage.partition(await topic(storage));
        await appendDurably(p, batch([["k1", "a"], ["k2", "b"]], { ts: NOW }));
        await appendDurably(p, batch([["k1", null]], { ts: NOW }));
        await appendDurably(p, batch([["k3", "c"]], { ts: NOW }));
        const config = { ...EAGER, deleteRetentionMs: HOUR };
        await p.compact(config, NOW);
        assert.deepEqual(await records(p), ["1:k2=b", "2:k1=∅", "3:k3=c"]);
        // Two hours on, new dirty data makes the partition due again: the tombstone is past its time.
        await appendDurably(p, batch([["k3", "d"]], { ts: NOW + 2 * HOUR }));
        const r = await p.compact(config, NOW + 2 * HOUR);
        assert.equal(r.tombstonesRemoved, 1);
        assert.deepEqual(await records(p), ["1:k2=b", "3:k3=c", "4:k3=d"]);
      }));

    test("records younger than min.compaction.lag.ms are not compacted yet", () =>
      withEngine(engine, async ({ storage }) => {
        const p = await storage.partition(await topic(storage));
        await appendDurably(p, batch([["k", "old"]], { ts: NOW - 2 * HOUR }));
        await appendDurably(p, batch([["k", "young"]], { ts: NOW - 60_000 }));
        await appendDurably(p, batch([["k", "newer"]], { ts: NOW - 30_000 }));
        await appendDurably(p, batch([["j", "x"]], { ts: NOW }));
        await p.compact({ ...EAGER, minCompactionLagMs: HOUR }, NOW);
        // Only the old batch was cleanable; nothing newer mapped, so it stays too.
        assert.deepEqual(await records(p), ["0:k=old", "1:k=young", "2:k=newer", "3:j=x"]);
        await p.compact({ ...EAGER, minCompactionLagMs: 10_000 }, NOW);
        assert.deepEqual(await records(p), ["2:k=newer", "3:j=x"]);
      }));

    test("records without a key and control batches stay", () =>
      withEngine(engine, async ({ storage }) => {
        const p = await storage.partition(await topic(storage));
        await appendDurably(p, batch([[null, "keyless"], ["k", "a"]]));
        // A control batch (a transaction marker: key = version 0 + type 1, COMMIT) of producer 9.
        const marker = buildBatch([{ key: new Uint8Array([0, 0, 0, 1]), value: new Uint8Array([0, 0, 0, 0, 0, 0]) }], {
          control: true,
          transactional: true,
          producerId: 9n,
          producerEpoch: 0,
        });
        await appendDurably(p, marker);
        await appendDurably(p, batch([["k", "b"]]));
        await appendDurably(p, batch([["j", "x"]]));
        await p.compact(EAGER, NOW);
        assert.deepEqual(await records(p), [
          "0:null=keyless",
          "2:\u0000\u0000\u0000\u0001=\u0000\u0000\u0000\u0000\u0000\u0000",
          "3:k=b",
          "4:j=x",
        ]);
      }));

    test("an aborted transaction's records go (superseding nothing); an open transaction holds the cleaner at the LSO", () =>
      withEngine(engine, async ({ storage }) => {
        const p = await storage.partition(await topic(storage));
        const txn = (records: Rec[], producerId: bigint, sequence: number) =>
          buildBatch(
            records.map(([k, v]) => ({ key: enc.encode(k!), value: enc.encode(v!), timestamp: BigInt(NOW) })),
            {
              producerId,
              producerEpoch: 0,
              baseSequence: sequence,
              transactional: true,
            },
          );
        const marker = (producerId: bigint, commit: boolean) =>
          buildBatch([{ key: new Uint8Array([0, 0, 0, commit ? 1 : 0]), value: new Uint8Array(6) }], {
            control: true,
            transactional: true,
            producerId,
            producerEpoch: 0,
          });
        await appendDurably(p, batch([["k", "committed"], ["j", "kept"]])); // 0-1
        await appendDurably(p, txn([["k", "aborted"]], 5n, 0)); // 2
        await appendDurably(p, txn([["k", "aborted-2"]], 5n, 1)); // 3
        await appendDurably(p, marker(5n, false)); // 4
        await appendDurably(p, txn([["j", "open"]], 6n, 0)); // 5: stays open
        await appendDurably(p, batch([["x", "y"]])); // 6
        await appendDurably(p, batch([["z", "w"]])); // 7
        await p.compact(EAGER, NOW);
        // Producer 5's older aborted batch goes, its newest stays emptied; k keeps "committed";
        // nothing at or after the open transaction (offset 5) was compacted.
        assert.deepEqual(await records(p), [
          "0:k=committed",
          "1:j=kept",
          "4:\u0000\u0000\u0000\u0000=\u0000\u0000\u0000\u0000\u0000\u0000",
          "5:j=open",
          "6:x=y",
          "7:z=w",
        ]);
        assert.ok(p.cleanedUpTo <= 5, `cleaned up to ${p.cleanedUpTo}`);
        // The open transaction aborts: j keeps "kept" through the next cleaning.
        await appendDurably(p, marker(6n, false)); // 8
        await appendDurably(p, batch([["q", "r"]])); // 9
        await p.compact(EAGER, NOW);
        assert.deepEqual((await records(p)).filter((r) => !r.includes("\u0000")), [
          "0:k=committed",
          "1:j=kept",
          "6:x=y",
          "7:z=w",
          "9:q=r",
        ]);
      }));

    test("a transaction marker goes once its transaction kept no batch and delete.retention.ms passed", () =>
      withEngine(engine, async ({ storage }) => {
        const p = await storage.partition(await topic(storage));
        const txn = (records: Rec[], sequence: number) =>
          buildBatch(
            records.map(([k, v]) => ({ key: enc.encode(k!), value: enc.encode(v!), timestamp: BigInt(NOW) })),
            {
              producerId: 5n,
              producerEpoch: 0,
              baseSequence: sequence,
              transactional: true,
            },
          );
        const commit = buildBatch([{
          key: new Uint8Array([0, 0, 0, 1]),
          value: new Uint8Array(6),
          timestamp: BigInt(NOW),
        }], {
          control: true,
          transactional: true,
          producerId: 5n,
          producerEpoch: 0,
        });
        await appendDurably(p, batch([["k", "a"]])); // 0
        await appendDurably(p, txn([["k", "b"]], 0)); // 1: superseded below
        await appendDurably(p, commit); // 2: its transaction will keep nothing
        await appendDurably(p, batch([["k", "c"]])); // 3
        await appendDurably(p, txn([["j", "x"]], 1)); // 4: kept
        await appendDurably(p, commit); // 5: its transaction keeps a batch
        await appendDurably(p, batch([["z", "w"]])); // 6: the active segment
        const offsets = async () => (await batchesNow(p)).map((b) => Number(b.header.baseOffset));
        await p.compact(EAGER, NOW);
        assert.deepEqual(
          await offsets(),
          [2, 3, 4, 5, 6],
          "within delete.retention.ms the empty transaction's marker stays",
        );
        // A later cleaning (something new to clean) past the horizon.
        await appendDurably(p, batch([["q", "r"]])); // 7
        await p.compact(EAGER, NOW + 2 * 24 * HOUR);
        assert.deepEqual(await offsets(), [3, 4, 5, 6, 7], "then it goes; the marker of a transaction with data stays");
        assert.deepEqual(await records(p), [
          "3:k=c",
          "4:j=x",
          "5:\u0000\u0000\u0000\u0001=\u0000\u0000\u0000\u0000\u0000\u0000",
          "6:z=w",
          "7:q=r",
        ]);
        assert.equal(p.lastStableOffset, p.logEndOffset);
      }));

    test("an idempotent producer's newest batch stays, emptied, and the producer goes on", () =>
      withEngine(engine, async ({ storage }) => {
        const p = await storage.partition(await topic(storage));
        await appendDurably(p, batch([["k", "a"]], { producerId: 7n, sequence: 0 }));
        await appendDurably(p, batch([["k", "b"]], { producerId: 7n, sequence: 1 }));
        await appendDurably(p, batch([["k", "c"]], { producerId: 8n, sequence: 0 }));
        await appendDurably(p, batch([["j", "x"]]));
        await p.compact(EAGER, NOW);
        // Producer 7's older batch goes; its newest (sequence 1) stays with no records.
        assert.deepEqual(await batchShapes(p), [[1, 0, 0], [2, 1, 0], [3, 1, 0]]);
        assert.deepEqual(await records(p), ["2:k=c", "3:j=x"]);
        const retry = await p.append(batch([["k", "b"]], { producerId: 7n, sequence: 1 }));
        assert.ok(retry.kind === "duplicate" && retry.baseOffset === 1, JSON.stringify(retry));
        assert.equal(await appendDurably(p, batch([["k", "d"]], { producerId: 7n, sequence: 2 })), 4);
      }));

    test("a compressed batch is rewritten with its codec", () =>
      withEngine(engine, async ({ storage }) => {
        const p = await storage.partition(await topic(storage));
        await appendDurably(p, batch([["k1", "a"], ["k2", "b"], ["k3", "c"]], { codec: 1 }));
        await appendDurably(p, batch([["k1", "d"]], { codec: 3 }));
        await appendDurably(p, batch([["j", "x"]]));
        await p.compact(EAGER, NOW);
        assert.deepEqual(await batchShapes(p), [[0, 2, 1], [3, 1, 3], [4, 1, 0]]);
        assert.deepEqual(await records(p), ["1:k2=b", "2:k3=c", "3:k1=d", "4:j=x"]);
      }));

    test("a small log.cleaner.dedupe.buffer.size splits the work over passes", () =>
      withEngine(engine, async ({ storage }) => {
        const p = await storage.partition(await topic(storage));
        for (let i = 0; i < 6; i++) await appendDurably(p, batch([["a", `a${i}`], ["b", `b${i}`]]));
        await appendDurably(p, batch([["z", "z"]]));
        // Room for one batch's two keys (24 bytes each plus the key) at a time.
        const small = { ...EAGER, dedupeBufferBytes: 2 * 25 };
        const first = await p.compact(small, NOW);
        assert.equal(first.cleanedUpTo, 2);
        let passes = 1;
        while ((await p.compact(small, NOW)).cleaned) passes++;
        assert.ok(passes >= 5, `${passes} passes`);
        assert.equal(p.cleanedUpTo, 12);
        assert.deepEqual(await records(p), ["10:a=a5", "11:b=b5", "12:z=z"]);
      }));

    if (engine.persistent) {
      test("a compacted log and its cleaner checkpoint survive a restart", () =>
        withEngine(engine, async (e) => {
          const ref = await topic(e.storage);
          let p = await e.storage.partition(ref);
          await appendDurably(p, batch([["k1", "a"], ["k2", "b"]]));
          await appendDurably(p, batch([["k1", "c"]]));
          await appendDurably(p, batch([["k2", "d"]]));
          await p.compact(EAGER, NOW);
          const compacted = await records(p);
          const storage = await e.restart();
          p = await storage.partition(ref);
          assert.deepEqual(await records(p), compacted);
          assert.equal(p.cleanedUpTo, 3);
          assert.equal((await p.compact(EAGER, NOW)).cleaned, false);
          assert.equal(await appendDurably(p, batch([["k1", "e"]])), 4);
        }));
    }

    if (engine.crashes) {
      test("a crash after a compaction keeps every key's newest value", () =>
        withEngine(engine, async (e) => {
          const ref = await topic(e.storage);
          let p = await e.storage.partition(ref);
          for (let i = 0; i < 5; i++) await appendDurably(p, batch([["a", `a${i}`], [`k${i}`, "v"]]));
          await appendDurably(p, batch([["z", "z"]]));
          await p.compact(EAGER, NOW);
          const storage = await e.crash();
          p = await storage.partition(ref);
          const after = await records(p);
          assert.ok(after.includes("8:a=a4"), after.join());
          for (let i = 0; i < 5; i++) assert.ok(after.includes(`${2 * i + 1}:k${i}=v`), after.join());
          assert.ok(after.includes("10:z=z"));
        }));
    }
  });
}
