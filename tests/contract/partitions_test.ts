/**
 * Contract: partition logs on every engine. Append and read (batches stored and served as bytes),
 * idempotent producers, time look-ups, leader epochs, and what each engine promises across a
 * restart and a crash.
 */
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { ErrorCode } from "../../src/protocol/generated/errors.ts";
import { readBatchHeader, scanBatches } from "../../src/protocol/records/batch.ts";
import { createCodecs } from "../../src/protocol/compression/mod.ts";
import { batchRecords, buildBatch } from "../../src/protocol/records/records.ts";
import type { AppendOutcome, PartitionRef, PartitionStorage, Storage } from "../../src/storage/engine.ts";
import { ENGINES, withEngine } from "./engines.ts";
import { stopSharedPostgres } from "../support/postgres.ts";

after(stopSharedPostgres);

const enc = new TextEncoder();
const codecs = createCodecs();

/** The base offsets of the batches in `records`. */
function bases(records: Uint8Array): number[] {
  return scanBatches(records).batches.map((b) => Number(readBatchHeader(records, b.at).baseOffset));
}

function batch(values: string[], o: { producerId?: bigint; epoch?: number; sequence?: number; ts?: number } = {}) {
  return buildBatch(
    values.map((v, i) => ({ key: enc.encode(`k${i}`), value: enc.encode(v), timestamp: BigInt((o.ts ?? 1000) + i) })),
    {
      producerId: o.producerId ?? -1n,
      producerEpoch: o.epoch ?? (o.producerId === undefined ? -1 : 0),
      baseSequence: o.sequence ?? (o.producerId === undefined ? -1 : 0),
    },
  );
}

async function topic(storage: Storage, partitions = 1): Promise<PartitionRef> {
  const t = await storage.topics.create({ name: "t", partitions });
  assert.ok(t.ok);
  return { topicName: "t", topicId: t.value.id, partition: 0 };
}

async function appended(
  p: PartitionStorage,
  b: Uint8Array,
  durable = true,
): Promise<Extract<AppendOutcome, { kind: "appended" }>> {
  const r = await p.append(b);
  assert.equal(r.kind, "appended", JSON.stringify(r));
  if (r.kind !== "appended") throw new Error("not appended");
  await r.written;
  if (durable) await p.waitDurable(r.lastOffset + 1);
  return r;
}

/** Every batch of a read: base offset, leader epoch and record values. */
async function readAll(p: PartitionStorage, from = 0): Promise<{ base: number; epoch: number; values: string[] }[]> {
  const r = await p.read(from, 1 << 30, { minOneBatch: true });
  assert.ok(r.ok, JSON.stringify(r));
  const records = r.value.records;
  return scanBatches(records).batches.map((b) => {
    const header = readBatchHeader(records, b.at);
    return {
      base: Number(header.baseOffset),
      epoch: header.partitionLeaderEpoch,
      values: batchRecords(records, b.at, { decompress: (c, d) => codecs.decompress(c, d) }).records.map((rec) =>
        new TextDecoder().decode(rec.value!)
      ),
    };
  });
}

for (const engine of ENGINES) {
  describe(`partitions on ${engine.name}`, () => {
    test("append() assigns consecutive offsets and read() serves the batches as stored", () =>
      withEngine(engine, async ({ storage }) => {
        const p = await storage.partition(await topic(storage));
        assert.deepEqual([p.logStartOffset, p.logEndOffset, p.highWatermark, p.leaderEpoch], [0, 0, 0, 0]);
        const a = await appended(p, batch(["a", "b", "c"]));
        const b = await appended(p, batch(["d"]));
        assert.deepEqual([a.baseOffset, a.lastOffset, b.baseOffset, b.lastOffset], [0, 2, 3, 3]);
        assert.deepEqual([p.logEndOffset, p.highWatermark], [4, 4]);
        assert.ok(p.sizeBytes > 0);
        assert.deepEqual(await readAll(p), [
          { base: 0, epoch: 0, values: ["a", "b", "c"] },
          { base: 3, epoch: 0, values: ["d"] },
        ]);
        // An offset inside a batch returns the whole batch, as Kafka's fetch does.
        assert.deepEqual((await readAll(p, 1)).map((x) => x.base), [0, 3]);
        assert.deepEqual(await readAll(p, 4), []);
      }));

    test("the caller's buffer may be reused once the append is written", () =>
      withEngine(engine, async ({ storage }) => {
        const p = await storage.partition(await topic(storage));
        const bytes = batch(["keep"]);
        await appended(p, bytes, false);
        bytes.fill(0);
        assert.deepEqual(await readAll(p), [{ base: 0, epoch: 0, values: ["keep"] }]);
      }));

    test("read() honours maxBytes, minOneBatch and upTo, and answers OFFSET_OUT_OF_RANGE outside the log", () =>
      withEngine(engine, async ({ storage }) => {
        const p = await storage.partition(await topic(storage));
        const sizes: number[] = [];
        for (let i = 0; i < 5; i++) {
          const b = batch([`v${i}`.repeat(20)]);
          sizes.push(b.length);
          await appended(p, b);
        }
        const within = await p.read(0, sizes[0]! + sizes[1]! + 1, { minOneBatch: false });
        assert.ok(within.ok);
        assert.equal(bases(within.value.records).length, 2);
        assert.equal(within.value.highWatermark, 5);
        const tooSmall = await p.read(0, 10, { minOneBatch: false });
        assert.ok(tooSmall.ok && tooSmall.value.records.length === 0);
        const oneAnyway = await p.read(0, 10, { minOneBatch: true });
        assert.ok(oneAnyway.ok && bases(oneAnyway.value.records).length === 1);
        const bounded = await p.read(1, 1 << 20, { minOneBatch: true, upTo: 3 });
        assert.ok(bounded.ok);
        assert.deepEqual(bases(bounded.value.records), [1, 2]);
        for (const offset of [-1, 6]) {
          const r = await p.read(offset, 100, { minOneBatch: true });
          assert.ok(!r.ok && r.code === ErrorCode.OFFSET_OUT_OF_RANGE, `offset ${offset}`);
        }
        const atEnd = await p.read(5, 100, { minOneBatch: true });
        assert.ok(atEnd.ok && atEnd.value.records.length === 0);
      }));

    test("onData() fires once when the high watermark moves", () =>
      withEngine(engine, async ({ storage }) => {
        const p = await storage.partition(await topic(storage));
        let calls = 0;
        p.onData(() => calls++);
        const cancelled = p.onData(() => assert.fail("cancelled waiter called"));
        cancelled();
        await appended(p, batch(["x"]));
        await appended(p, batch(["y"]));
        assert.equal(calls, 1);
      }));

    test("an idempotent producer's retry is a duplicate; a gap or a stale epoch is refused", () =>
      withEngine(engine, async ({ storage }) => {
        const p = await storage.partition(await topic(storage));
        await appended(p, batch(["a"]));
        const first = await appended(p, batch(["b", "c"], { producerId: 7n, sequence: 0 }));
        const retry = await p.append(batch(["b", "c"], { producerId: 7n, sequence: 0 }));
        assert.equal(retry.kind, "duplicate");
        assert.ok(retry.kind === "duplicate" && retry.baseOffset === first.baseOffset && retry.lastOffset === 2);
        const gap = await p.append(batch(["e"], { producerId: 7n, sequence: 5 }));
        assert.ok(gap.kind === "error" && gap.code === ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, JSON.stringify(gap));
        await appended(p, batch(["d"], { producerId: 7n, epoch: 1, sequence: 0 }));
        const stale = await p.append(batch(["x"], { producerId: 7n, epoch: 0, sequence: 2 }));
        assert.ok(stale.kind === "error" && stale.code === ErrorCode.INVALID_PRODUCER_EPOCH, JSON.stringify(stale));
        assert.equal(p.logEndOffset, 4);
      }));

    test("offsetForTimestamp() and maxTimestampOffset() find records by time", () =>
      withEngine(engine, async ({ storage }) => {
        const p = await storage.partition(await topic(storage));
        assert.equal(await p.offsetForTimestamp(0), null);
        assert.equal(await p.maxTimestampOffset(), null);
        await appended(p, batch(["a", "b", "c"], { ts: 1000 })); // 1000 1001 1002
        await appended(p, batch(["d", "e"], { ts: 5000 })); // 5000 5001
        await appended(p, batch(["f"], { ts: 2000 }));
        assert.deepEqual(await p.offsetForTimestamp(1001), { offset: 1, timestamp: 1001 });
        assert.deepEqual(await p.offsetForTimestamp(1003), { offset: 3, timestamp: 5000 });
        assert.equal(await p.offsetForTimestamp(6000), null);
        assert.deepEqual(await p.maxTimestampOffset(), { offset: 4, timestamp: 5001 });
        assert.deepEqual(p.legacyOffsetsBefore(-2, 1, 0), [0]);
        assert.equal(p.legacyOffsetsBefore(-1, 1, 0)[0], 6);
      }));

    test("leader epochs: appends are stamped, OffsetForLeaderEpoch ends, an old epoch is fenced", () =>
      withEngine(engine, async ({ storage }) => {
        const ref = await topic(storage);
        const p = await storage.partition(ref);
        await appended(p, batch(["a", "b"]));
        assert.deepEqual(p.endOffsetForEpoch(0), { leaderEpoch: 0, endOffset: 2 });
        const started = await p.startLeaderEpoch(3);
        assert.ok(started.ok && started.value.endOffset === 2);
        assert.equal(p.leaderEpoch, 3);
        assert.equal(storage.leaderEpoch(ref), 3);
        await appended(p, batch(["c"]));
        assert.deepEqual((await readAll(p)).map((b) => [b.base, b.epoch]), [[0, 0], [2, 3]]);
        assert.deepEqual(p.endOffsetForEpoch(0), { leaderEpoch: 0, endOffset: 2 });
        assert.deepEqual(p.endOffsetForEpoch(1), { leaderEpoch: 0, endOffset: 2 });
        assert.deepEqual(p.endOffsetForEpoch(3), { leaderEpoch: 3, endOffset: 3 });
        assert.deepEqual(p.endOffsetForEpoch(4), { leaderEpoch: -1, endOffset: -1 });
        const fenced = await p.startLeaderEpoch(3);
        assert.ok(!fenced.ok && fenced.code === ErrorCode.FENCED_LEADER_EPOCH);
        assert.equal(storage.leaderEpoch({ ...ref, partition: 9 }), 0);
      }));

    if (engine.persistent) {
      test("a restart keeps records, offsets, producer state and epochs", () =>
        withEngine(engine, async (e) => {
          const ref = await topic(e.storage);
          let p = await e.storage.partition(ref);
          await appended(p, batch(["a"], { producerId: 3n, sequence: 0 }));
          await p.startLeaderEpoch(2);
          await appended(p, batch(["b", "c"], { producerId: 3n, sequence: 1 }));
          const storage = await e.restart();
          p = await storage.partition(ref);
          assert.deepEqual([p.logEndOffset, p.highWatermark, p.leaderEpoch], [3, 3, 2]);
          assert.equal(storage.leaderEpoch(ref), 2);
          assert.deepEqual((await readAll(p)).map((b) => [b.base, b.epoch, b.values.join()]), [[0, 0, "a"], [
            1,
            2,
            "b,c",
          ]]);
          const retry = await p.append(batch(["b", "c"], { producerId: 3n, sequence: 1 }));
          assert.ok(retry.kind === "duplicate" && retry.baseOffset === 1);
          assert.equal((await appended(p, batch(["d"], { producerId: 3n, sequence: 3 }))).baseOffset, 3);
          assert.deepEqual(p.endOffsetForEpoch(0), { leaderEpoch: 0, endOffset: 1 });
        }));

      test("after a restart, retries of every batch of long-lived producers get the answers they got before", () =>
        withEngine(engine, async (e) => {
          const ref = await topic(e.storage);
          let p = await e.storage.partition(ref);
          // Two producers, interleaved, eight batches each; the retry verdicts before and after must agree.
          for (let seq = 0; seq < 8; seq++) {
            for (const pid of [11n, 12n]) {
              await appended(p, batch([`${pid}-${seq}`], { producerId: pid, sequence: seq }));
            }
          }
          const verdicts = async () => {
            const out: string[] = [];
            for (let seq = 0; seq < 8; seq++) {
              for (const pid of [11n, 12n]) {
                const r = await p.append(batch([`${pid}-${seq}`], { producerId: pid, sequence: seq }));
                out.push(
                  r.kind === "error" ? `error ${r.code}` : r.kind === "duplicate" ? `dup ${r.baseOffset}` : r.kind,
                );
              }
            }
            return out;
          };
          const before = await verdicts();
          assert.equal(before.filter((v) => v.startsWith("dup")).length, 10, before.join());
          const storage = await e.restart();
          p = await storage.partition(ref);
          assert.deepEqual(await verdicts(), before);
        }));
    }

    if (engine.crashes) {
      test("a crash loses nothing acknowledged as durable and leaves a consistent log", () =>
        withEngine(engine, async (e) => {
          const ref = await topic(e.storage);
          let p = await e.storage.partition(ref);
          await appended(p, batch(["a"], { producerId: 5n, sequence: 0 }));
          await p.startLeaderEpoch(1);
          await appended(p, batch(["b"], { producerId: 5n, sequence: 1 }));
          // Written but never made durable: may be lost, must not corrupt anything.
          await appended(p, batch(["c"], { producerId: 5n, sequence: 2 }), false);
          const storage = await e.crash();
          p = await storage.partition(ref);
          const after = await readAll(p);
          assert.deepEqual(after.slice(0, 2).map((b) => b.values.join()), ["a", "b"]);
          assert.ok(after.length === 2 || after.length === 3);
          assert.equal(p.logEndOffset, after.length);
          assert.equal(p.leaderEpoch, 1);
          // The producer's state agrees with the log: the lost batch is appended again, the kept one is a duplicate.
          const resend = await p.append(batch(["c"], { producerId: 5n, sequence: 2 }));
          assert.equal(resend.kind, after.length === 2 ? "appended" : "duplicate");
          const old = await p.append(batch(["b"], { producerId: 5n, sequence: 1 }));
          assert.equal(old.kind, "duplicate");
          assert.deepEqual((await readAll(p)).map((b) => b.values.join()), ["a", "b", "c"]);
          for (const b of (await readAll(p))) assert.ok(b.base >= 0);
        }));
    }
  });
}
