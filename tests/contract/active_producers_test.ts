/**
 * Contract: `PartitionStorage.activeProducers()` (DescribeProducers, KIP-664) on every engine.
 * Each producer that wrote to the partition is reported, sorted by id, with its epoch, the last
 * sequence and timestamp of its newest batch, and where its open transaction starts (null when
 * a marker ended it); the view survives a restart and a crash on the engines that have them.
 */
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { buildBatch } from "../../src/protocol/records/records.ts";
import type { PartitionRef, PartitionStorage, Storage } from "../../src/storage/engine.ts";
import { stopSharedPostgres } from "../support/postgres.ts";
import { ENGINES, withEngine } from "./engines.ts";
import { appendDurably } from "./log_helpers.ts";

after(stopSharedPostgres);

const enc = new TextEncoder();
const T0 = 1_700_000_000_000;

function batch(producerId: bigint, o: { epoch?: number; sequence: number; count: number; at: number; txn?: boolean }) {
  return buildBatch(
    Array.from({ length: o.count }, (_, i) => ({ value: enc.encode(`v${i}`), timestamp: BigInt(o.at + i) })),
    {
      producerId,
      producerEpoch: o.epoch ?? 0,
      baseSequence: o.sequence,
      transactional: o.txn ?? false,
    },
  );
}

/** A marker whose value carries coordinator epoch 3 (version 0, then the int32). */
function marker(producerId: bigint, commit: boolean, at: number, epoch = 0) {
  return buildBatch(
    [{
      key: new Uint8Array([0, 0, 0, commit ? 1 : 0]),
      value: new Uint8Array([0, 0, 0, 0, 0, 3]),
      timestamp: BigInt(at),
    }],
    { producerId, producerEpoch: epoch, control: true, transactional: true },
  );
}

async function topic(storage: Storage): Promise<PartitionRef> {
  const t = await storage.topics.create({ name: "producers", partitions: 1 });
  assert.ok(t.ok);
  return { topicName: "producers", topicId: t.value.id, partition: 0 };
}

/** Producer 7: idempotent, offsets 0–2 then 3; producer 5: committed transaction 4–5 (marker 6); producer 9: open from 7. */
async function scenario(p: PartitionStorage): Promise<void> {
  await appendDurably(p, batch(7n, { sequence: 0, count: 3, at: T0 }));
  await appendDurably(p, batch(7n, { sequence: 3, count: 1, at: T0 + 10 }));
  await appendDurably(p, batch(5n, { sequence: 0, count: 2, at: T0 + 20, txn: true }));
  await appendDurably(p, marker(5n, true, T0 + 30));
  await appendDurably(p, batch(9n, { epoch: 2, sequence: 0, count: 2, at: T0 + 40, txn: true }));
}

const EXPECTED = [
  { producerId: 5n, producerEpoch: 0, lastSequence: 1, lastTimestamp: BigInt(T0 + 30), currentTxnFirstOffset: null },
  { producerId: 7n, producerEpoch: 0, lastSequence: 3, lastTimestamp: BigInt(T0 + 10), currentTxnFirstOffset: null },
  { producerId: 9n, producerEpoch: 2, lastSequence: 1, lastTimestamp: BigInt(T0 + 41), currentTxnFirstOffset: 7n },
];

async function view(p: PartitionStorage) {
  return (await p.activeProducers()).map((v) => ({
    producerId: v.producerId,
    producerEpoch: v.producerEpoch,
    lastSequence: v.lastSequence,
    lastTimestamp: v.lastTimestamp,
    currentTxnFirstOffset: v.currentTxnFirstOffset,
  }));
}

for (const engine of ENGINES) {
  describe(`PartitionStorage.activeProducers() on ${engine.name}`, () => {
    test("a new partition has no producers; plain batches add none", () =>
      withEngine(engine, async ({ storage }) => {
        const p = await storage.partition(await topic(storage));
        assert.deepEqual(await p.activeProducers(), []);
        await appendDurably(p, buildBatch([{ value: enc.encode("plain") }]));
        assert.deepEqual(await p.activeProducers(), []);
      }));

    test("reports every producer, sorted by id, with its open transaction's first offset", () =>
      withEngine(engine, async ({ storage }) => {
        const p = await storage.partition(await topic(storage));
        await scenario(p);
        assert.deepEqual(await view(p), EXPECTED);
        // The coordinator epoch of a producer's last marker (3 here), -1 before its first.
        assert.deepEqual((await p.activeProducers()).map((v) => [v.producerId, v.coordinatorEpoch]), [
          [5n, 3],
          [7n, -1],
          [
            9n,
            -1,
          ],
        ]);
        // An ABORT marker ends producer 9's transaction; the LSO moves past it.
        await appendDurably(p, marker(9n, false, T0 + 50, 2));
        const after9 = (await view(p)).find((v) => v.producerId === 9n)!;
        assert.equal(after9.currentTxnFirstOffset, null);
        assert.equal(p.lastStableOffset, p.highWatermark);
      }));

    if (engine.persistent) {
      test("a restart keeps the producers and the open transaction", () =>
        withEngine(engine, async (e) => {
          const ref = await topic(e.storage);
          await scenario(await e.storage.partition(ref));
          const storage = await e.restart();
          assert.deepEqual(await view(await storage.partition(ref)), EXPECTED);
        }));
    }

    if (engine.crashes) {
      test("a crash keeps the producers of every durable batch", () =>
        withEngine(engine, async (e) => {
          const ref = await topic(e.storage);
          await scenario(await e.storage.partition(ref));
          const storage = await e.crash();
          assert.deepEqual(await view(await storage.partition(ref)), EXPECTED);
        }));
    }
  });
}
