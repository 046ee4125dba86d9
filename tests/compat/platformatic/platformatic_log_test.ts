/**
 * @platformatic/kafka 1.x produces to and reads from kbin's log in every codec it has (none, gzip,
 * snappy, lz4, and zstd where the runtime's zlib has it). It speaks only recent versions: Produce
 * v9+ and Fetch v17 by topic id. Its consumer streams need a group, so records are read with
 * `Consumer.fetch()`, its group-less Fetch. Covered and knowingly skipped: ALLOWLIST.md; gaps: FINDINGS.md.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import zlib from "node:zlib";
import { Consumer, Producer } from "@platformatic/kafka";
import { type BrokerProcess, startBrokerProcess } from "../../support/broker_process.ts";
import { assertRoundTrip, CODECS, forPartition, makeRecords, type ReadRecord } from "../shared/records.ts";
import { createTopic } from "../shared/kbin.ts";
import { permanentSkip } from "../../support/skips.ts";

/** zstd comes from node:zlib (Node 22.15+); Bun's and Deno's zlib may lack it. */
const HAS_ZSTD = typeof (zlib as { zstdCompressSync?: unknown }).zstdCompressSync === "function";

describe("@platformatic/kafka Producer and Consumer.fetch() against the log", () => {
  let broker: BrokerProcess;
  let producer: Producer<Buffer, Buffer, Buffer, Buffer>;
  let consumer: Consumer<Buffer, Buffer, Buffer, Buffer>;
  const records = makeRecords();

  async function readAll(topic: string, partitions: number[], from = 0): Promise<ReadRecord[]> {
    const md = await consumer.metadata({ topics: [topic] });
    const topicId = md.topics.get(topic)!.id;
    const out: ReadRecord[] = [];
    for (const partition of partitions) {
      let next = from;
      for (let round = 0; round < 1000; round++) {
        const res = await consumer.fetch({
          node: 1,
          maxWaitTime: 100,
          topics: [{
            topicId,
            partitions: [{
              partition,
              currentLeaderEpoch: -1,
              fetchOffset: BigInt(next),
              lastFetchedEpoch: -1,
              partitionMaxBytes: 1 << 20,
            }],
          }],
        });
        const p = res.responses[0]!.partitions[0]!;
        assert.equal(p.errorCode, 0, `fetch ${topic}/${partition} at ${next}`);
        for (const batch of p.records ?? []) {
          for (const r of batch.records) {
            const offset = Number(batch.firstOffset) + r.offsetDelta;
            if (offset < next) continue;
            out.push({
              partition,
              offset,
              key: r.key === null ? null : new Uint8Array(r.key),
              value: r.value === null ? null : new Uint8Array(r.value),
              headers: r.headers.map(([k, v]) => [k!.toString(), v === null ? null : new Uint8Array(v)]),
              timestamp: Number(batch.firstTimestamp + r.timestampDelta),
            });
            next = offset + 1;
          }
        }
        if (next >= Number(p.highWatermark)) break;
      }
    }
    return out;
  }

  before(async () => {
    broker = await startBrokerProcess();
    const base = { clientId: "kbin-compat-log", bootstrapBrokers: [broker.bootstrap], retries: 0 };
    producer = new Producer({ ...base, idempotent: true, acks: -1 });
    consumer = new Consumer({ ...base, groupId: "unused-fetch-only" });
  });
  after(async () => {
    await producer?.close();
    await consumer?.close();
    await broker?.[Symbol.asyncDispose]();
  });

  for (const codec of CODECS) {
    test(`Producer.send({ compression: "${codec}" }) from an idempotent producer is read back byte-exact`, {
      skip: permanentSkip("platformatic-zstd-needs-zlib-zstd", codec === "zstd" && !HAS_ZSTD),
    }, async () => {
      const topic = `pk-log-${codec}`;
      await createTopic(broker, topic, { partitions: 3 });
      const result = await producer.send({
        compression: codec,
        messages: records.map((r) => ({
          topic,
          partition: r.partition,
          ...(r.key === null ? {} : { key: Buffer.from(r.key) }),
          ...(r.value === null ? {} : { value: Buffer.from(r.value) }),
          // Buffer keys are distinct Map keys, so a repeated header name survives.
          headers: new Map(r.headers.map(([k, v]) => [Buffer.from(k), Buffer.from(v)])),
          timestamp: BigInt(r.timestamp),
        })),
      });
      assert.deepEqual(
        (result.offsets ?? []).map((o) => [o.topic, o.partition, o.offset]).sort(),
        [[topic, 0, 0n], [topic, 1, 0n], [topic, 2, 0n]],
        "one base offset per partition",
      );
      const got = await readAll(topic, [0, 1, 2]);
      assertRoundTrip(got, records, { timestamps: true, label: codec });
    });
  }

  test("Consumer.fetch() from the middle of a batch starts at the requested offset", async () => {
    const got = await readAll("pk-log-gzip", [2], 123);
    assertRoundTrip(got, forPartition(records, 2).slice(123), { firstOffset: 123, timestamps: true });
  });

  test("Consumer.listOffsets() and listOffsetsWithTimestamps() answer from the log", async () => {
    const end = await consumer.listOffsets({ topics: ["pk-log-none"] });
    assert.deepEqual(end.get("pk-log-none"), [0, 1, 2].map((p) => BigInt(forPartition(records, p).length)));
    const start = await consumer.listOffsets({ topics: ["pk-log-none"], timestamp: -2n });
    assert.deepEqual(start.get("pk-log-none"), [0n, 0n, 0n]);
    const ts = BigInt(records[600]!.timestamp);
    const byTs = await consumer.listOffsetsWithTimestamps({ topics: ["pk-log-none"], timestamp: ts });
    const p0 = byTs.get("pk-log-none")!;
    // Records 600, 601, 602 sit at offset 200 of partitions 0, 1, 2.
    assert.deepEqual([...p0.entries()].sort(), [[0, { offset: 200n, timestamp: ts }], [1, {
      offset: 200n,
      timestamp: ts + 1n,
    }], [2, { offset: 200n, timestamp: ts + 2n }]]);
  });
});
