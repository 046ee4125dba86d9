/**
 * Contract: transactions in the log, on every engine. A transactional batch opens its producer's
 * transaction and holds the last stable offset (LSO) at its first offset until a COMMIT or ABORT
 * marker (a control batch) ends it; each ABORT marker enters the aborted-transaction index that
 * read_committed fetches answer with; both survive a restart and a crash.
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

function txnBatch(producerId: bigint, sequence: number, values: string[]) {
  return buildBatch(values.map((v) => ({ value: enc.encode(v) })), {
    producerId,
    producerEpoch: 0,
    baseSequence: sequence,
    transactional: true,
  });
}

/** A COMMIT (type 1) or ABORT (type 0) marker of `producerId` at epoch 0. */
function marker(producerId: bigint, commit: boolean) {
  return buildBatch([{ key: new Uint8Array([0, 0, 0, commit ? 1 : 0]), value: new Uint8Array([0, 0, 0, 0, 0, 0]) }], {
    producerId,
    producerEpoch: 0,
    control: true,
    transactional: true,
  });
}

const plain = () => buildBatch([{ value: enc.encode("plain") }]);

async function topic(storage: Storage): Promise<PartitionRef> {
  const t = await storage.topics.create({ name: "tx", partitions: 1 });
  assert.ok(t.ok);
  return { topicName: "tx", topicId: t.value.id, partition: 0 };
}

const aborted = async (p: PartitionStorage, from: number, to: number) =>
  (await p.abortedTransactions(from, to)).map((a) => [a.producerId, a.firstOffset, a.lastOffset]);

/** Producer 1 commits 0–1 around a plain batch at 2 (marker 3); producer 2 aborts 4–5 (marker 6); producer 3 leaves 7 open. */
async function scenario(p: PartitionStorage): Promise<void> {
  assert.equal(p.lastStableOffset, 0);
  await appendDurably(p, txnBatch(1n, 0, ["a", "b"]));
  assert.equal(p.lastStableOffset, 0);
  await appendDurably(p, plain());
  assert.deepEqual([p.lastStableOffset, p.highWatermark], [0, 3]);
  await appendDurably(p, marker(1n, true));
  assert.equal(p.lastStableOffset, 4);
  await appendDurably(p, txnBatch(2n, 0, ["x", "y"]));
  assert.equal(p.lastStableOffset, 4);
  await appendDurably(p, marker(2n, false));
  assert.equal(p.lastStableOffset, 7);
  await appendDurably(p, txnBatch(3n, 0, ["open"]));
  assert.deepEqual([p.lastStableOffset, p.highWatermark], [7, 8]);
}

for (const engine of ENGINES) {
  describe(`transactions in the log on ${engine.name}`, () => {
    test("the LSO stops at the oldest open transaction; ABORT markers enter the aborted index", () =>
      withEngine(engine, async ({ storage }) => {
        const p = await storage.partition(await topic(storage));
        await scenario(p);
        assert.deepEqual(await aborted(p, 0, 8), [[2n, 4, 6]]);
        assert.deepEqual(await aborted(p, 0, 4), []);
        assert.deepEqual(await aborted(p, 6, 8), [[2n, 4, 6]]);
        assert.deepEqual(await aborted(p, 7, 8), []);
        // A marker of a producer without an open transaction aborts nothing.
        await appendDurably(p, marker(9n, false));
        assert.deepEqual(await aborted(p, 0, 10), [[2n, 4, 6]]);
        // Producer 3 commits: everything is stable.
        await appendDurably(p, marker(3n, true));
        assert.equal(p.lastStableOffset, p.highWatermark);
      }));

    if (engine.persistent) {
      test("a restart keeps the open transaction (the LSO) and the aborted index", () =>
        withEngine(engine, async (e) => {
          const ref = await topic(e.storage);
          await scenario(await e.storage.partition(ref));
          const storage = await e.restart();
          const p = await storage.partition(ref);
          assert.deepEqual([p.lastStableOffset, p.highWatermark], [7, 8]);
          assert.deepEqual(await aborted(p, 0, 8), [[2n, 4, 6]]);
          await appendDurably(p, marker(3n, false));
          assert.deepEqual(await aborted(p, 0, 9), [[2n, 4, 6], [3n, 7, 8]]);
        }));
    }

    if (engine.crashes) {
      test("a crash keeps every durable marker's transaction in the index", () =>
        withEngine(engine, async (e) => {
          const ref = await topic(e.storage);
          await scenario(await e.storage.partition(ref));
          const storage = await e.crash();
          const p = await storage.partition(ref);
          assert.deepEqual([p.lastStableOffset, p.highWatermark], [7, 8]);
          assert.deepEqual(await aborted(p, 0, 8), [[2n, 4, 6]]);
        }));
    }
  });
}
