/**
 * Producer against an in-process broker, with a connection wrapper that answers chosen Produce
 * requests with an error (without passing them on) or swallows the broker's answer: retries,
 * idempotent ordering, duplicates after lost answers, per-batch failures, acks=0 and timeouts.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type EmbeddedBroker, startBroker } from "../../../mod.ts";
import { KafkaClient } from "../../../src/client/client.ts";
import { KafkaClientError } from "../../../src/client/errors.ts";
import { Fetcher, OffsetSpec } from "../../../src/client/fetcher.ts";
import { partitionForKey } from "../../../src/client/partitioner.ts";
import { type DeliveryFailure, Producer, type ProducerOptions } from "../../../src/client/producer.ts";
import type { ConnectFn } from "../../../src/ports.ts";
import { createCodecs } from "../../../src/protocol/compression/mod.ts";
import { FrameSplitter } from "../../../src/protocol/frames.ts";
import { PRODUCE_API } from "../../../src/protocol/generated/00_produce.ts";
import { CREATE_TOPICS_API } from "../../../src/protocol/generated/19_create_topics.ts";
import { ErrorCode } from "../../../src/protocol/generated/errors.ts";
import { decodeRequestHeader, encodeResponseHeader } from "../../../src/protocol/generated/headers.ts";
import { Reader } from "../../../src/protocol/reader.ts";
import type { AbsoluteRecord } from "../../../src/protocol/records/mod.ts";
import { Writer } from "../../../src/protocol/writer.ts";
import { connect } from "../../support/runtime.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const codecs = createCodecs();

/** What the wrapper does with the n-th Produce request (counting from 1) of a connection group. */
type Decision = "pass" | "drop-response" | { errorCode: number };

/** The request a {@link Decision} is made for. */
interface ProduceSeen {
  n: number;
  acks: number;
  partitions: number[];
}

function prefixed(frame: Uint8Array): Uint8Array {
  const out = new Uint8Array(frame.length + 4);
  new DataView(out.buffer).setInt32(0, frame.length);
  out.set(frame, 4);
  return out;
}

/** Wraps `inner` so that `decide` rules on every Produce request; other requests pass. */
function faultyConnect(inner: ConnectFn, decide: (req: ProduceSeen) => Decision): ConnectFn {
  let n = 0;
  return async (address) => {
    const real = await inner(address);
    const writer = real.writable.getWriter();
    const dropped = new Set<number>();
    let controller!: ReadableStreamDefaultController<Uint8Array>;
    const readable = new ReadableStream<Uint8Array>({ start: (c) => void (controller = c) });
    (async () => {
      const reader = real.readable.getReader();
      const splitter = new FrameSplitter(2 ** 31 - 1);
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          for (const ev of splitter.push(value)) {
            if ("error" in ev) throw new Error(ev.error);
            const cid = new DataView(ev.frame.buffer, ev.frame.byteOffset).getInt32(0);
            if (!dropped.delete(cid)) controller.enqueue(prefixed(ev.frame));
          }
        }
        controller.close();
      } catch (err) {
        controller.error(err);
      }
    })();
    const splitter = new FrameSplitter(2 ** 31 - 1);
    const writable = new WritableStream<Uint8Array>({
      async write(chunk) {
        for (const ev of splitter.push(chunk)) {
          if ("error" in ev) throw new Error(ev.error);
          const r = new Reader(ev.frame);
          const apiKey = r.int16();
          const version = r.int16();
          if (apiKey !== PRODUCE_API.apiKey) {
            await writer.write(prefixed(ev.frame));
            continue;
          }
          r.offset = 0;
          const header = decodeRequestHeader(r, PRODUCE_API.requestHeaderVersion(version));
          const req = PRODUCE_API.decodeRequest(r, version);
          const partitions = req.topicData.flatMap((t) => t.partitionData.map((p) => p.index));
          const decision = decide({ n: ++n, acks: req.acks, partitions });
          if (decision === "pass") await writer.write(prefixed(ev.frame));
          else if (decision === "drop-response") {
            dropped.add(header.correlationId);
            await writer.write(prefixed(ev.frame));
          } else {
            const w = new Writer();
            encodeResponseHeader(w, PRODUCE_API.responseHeaderVersion(version), {
              correlationId: header.correlationId,
            });
            PRODUCE_API.encodeResponse(w, version, {
              responses: req.topicData.map((t) => ({
                name: t.name,
                partitionResponses: t.partitionData.map((p) => ({
                  index: p.index,
                  errorCode: decision.errorCode,
                  baseOffset: -1n,
                })),
              })),
            });
            controller.enqueue(prefixed(w.toBytes()));
          }
        }
      },
      close: () => writer.close(),
    });
    return { readable, writable, remote: real.remote, close: () => real.close() };
  };
}

describe("Producer", () => {
  let broker: EmbeddedBroker;
  let admin: KafkaClient;
  let topicSeq = 0;

  before(async () => {
    broker = await startBroker({ config: { "num.partitions": "1" } });
    admin = new KafkaClient({ bootstrap: [broker.bootstrap], connect });
  });
  after(async () => {
    await admin?.close();
    await broker?.close();
  });

  async function createTopic(partitions: number, configs: Record<string, string> = {}): Promise<string> {
    const name = `producer-${++topicSeq}`;
    const { response } = await admin.send(CREATE_TOPICS_API, () => ({
      topics: [{
        name,
        numPartitions: partitions,
        replicationFactor: 1,
        assignments: [],
        configs: Object.entries(configs).map(([n, value]) => ({ name: n, value })),
      }],
      timeoutMs: 5000,
    }));
    assert.equal(response.topics[0]!.errorCode, 0);
    return name;
  }

  /** Every record of every partition, read with a Fetcher from the start. */
  async function readAll(topic: string, partitions: number): Promise<AbsoluteRecord[][]> {
    const fetcher = new Fetcher(admin, topic, { decompress: (c, d) => codecs.decompress(c, d), maxWaitMs: 50 });
    await fetcher.connect();
    const ids = Array.from({ length: partitions }, (_, i) => i);
    const ends = await fetcher.listOffsets(ids, OffsetSpec.LATEST);
    fetcher.assign(new Map(ids.map((p) => [p, 0n])));
    const out: AbsoluteRecord[][] = ids.map(() => []);
    for (const p of ids) if (ends.get(p) === 0n) fetcher.unassign(p);
    for await (const parts of fetcher.fetch()) {
      for (const part of parts) {
        out[part.partition]!.push(...part.records);
        if (part.nextOffset >= ends.get(part.partition)!) fetcher.unassign(part.partition);
      }
    }
    return out;
  }

  /** Runs a producer over `values` (record i gets tag i) and returns what it reported. */
  async function produce(
    topic: string,
    values: { key?: string; value: string; partition?: number }[],
    options: ProducerOptions & { client?: KafkaClient } = {},
  ) {
    const client = options.client ?? admin;
    const delivered: number[] = [];
    const failures: DeliveryFailure[] = [];
    const notices: string[] = [];
    const producer = new Producer(client, topic, {
      onDelivered: (r) => delivered.push(...r.tags),
      onFailed: (f) => failures.push(f),
      onNotice: (m) => notices.push(m),
      ...options,
    });
    await producer.connect();
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      const record = { key: v.key === undefined ? null : enc.encode(v.key), value: enc.encode(v.value) } as {
        key: Uint8Array | null;
        value: Uint8Array;
        partition?: number;
      };
      if (v.partition !== undefined) record.partition = v.partition;
      const wait = producer.send(record, i);
      if (wait) await wait;
    }
    await producer.flush();
    producer.close();
    return { delivered, failures, notices, idempotent: producer.idempotent };
  }

  function values(n: number, prefix = "v"): { value: string }[] {
    return Array.from({ length: n }, (_, i) => ({ value: `${prefix}${i}` }));
  }

  test("Producer sends keyed records to their murmur2 partition, in order, with their headers", async () => {
    const topic = await createTopic(4);
    const records = Array.from({ length: 200 }, (_, i) => ({ key: `k${i % 17}`, value: `value-${i}` }));
    const r = await produce(topic, records, { batchSizeBytes: 300 });
    assert.equal(r.failures.length, 0);
    assert.equal(r.delivered.length, 200);
    assert.equal(r.idempotent, true);
    const parts = await readAll(topic, 4);
    for (let p = 0; p < 4; p++) {
      const expected = records.filter((x) => partitionForKey(enc.encode(x.key), 4) === p).map((x) => x.value);
      assert.deepEqual(parts[p]!.map((x) => dec.decode(x.value!)), expected, `partition ${p}`);
      assert.deepEqual(parts[p]!.map((x) => x.offset), expected.map((_, i) => BigInt(i)));
    }
  });

  test("Producer spreads records without a key over partitions a batch at a time", async () => {
    const topic = await createTopic(3);
    await produce(topic, values(300), { batchSizeBytes: 500 });
    const parts = await readAll(topic, 3);
    assert.equal(parts.flat().length, 300);
    for (const p of parts) assert.ok(p.length > 0, "every partition got records");
  });

  test("Producer honours an explicit partition and refuses one the topic lacks", async () => {
    const topic = await createTopic(2);
    await produce(topic, [{ key: "a", value: "x", partition: 1 }, { value: "y", partition: 1 }]);
    const parts = await readAll(topic, 2);
    assert.deepEqual(parts[1]!.map((x) => dec.decode(x.value!)), ["x", "y"]);
    const producer = new Producer(admin, topic);
    await producer.connect();
    assert.throws(() => producer.send({ key: null, value: null, partition: 2 }), RangeError);
    producer.close();
  });

  test("Producer.connect() fails with UNKNOWN_TOPIC_OR_PARTITION for a missing topic", async () => {
    const producer = new Producer(admin, "no-such-topic");
    await assert.rejects(
      producer.connect(),
      (e: unknown) => e instanceof KafkaClientError && e.kafkaName === "UNKNOWN_TOPIC_OR_PARTITION",
    );
  });

  test("Producer compresses with each codec and the records read back the same", async () => {
    for (const codec of [1, 2, 3, 4]) {
      const topic = await createTopic(1);
      const r = await produce(topic, values(50, `c${codec}-`), {
        compression: codec,
        compress: (c, d) => codecs.compress(c, d),
      });
      assert.equal(r.failures.length, 0);
      const [p0] = await readAll(topic, 1);
      assert.deepEqual(p0!.map((x) => dec.decode(x.value!)), values(50, `c${codec}-`).map((v) => v.value));
    }
  });

  test("Producer retries NOT_LEADER_OR_FOLLOWER in the middle of a pipeline and keeps order without duplicates", async () => {
    const topic = await createTopic(1);
    // Request 2 fails; 3.. reach the broker behind a sequence gap and come back OUT_OF_ORDER_SEQUENCE_NUMBER.
    const client = new KafkaClient({
      bootstrap: [broker.bootstrap],
      connect: faultyConnect(
        connect,
        (req) => (req.n === 2 ? { errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER } : "pass"),
      ),
    });
    try {
      const r = await produce(topic, values(400), { client, batchSizeBytes: 200, retryBackoffMs: 5 });
      assert.equal(r.failures.length, 0, JSON.stringify(r.failures));
      assert.ok(r.notices.some((m) => m.includes("NOT_LEADER_OR_FOLLOWER")), r.notices.join("\n"));
      assert.equal(r.notices.filter((m) => m.startsWith("Producer id")).length, 1, "no new producer id");
    } finally {
      await client.close();
    }
    const [p0] = await readAll(topic, 1);
    assert.deepEqual(p0!.map((x) => dec.decode(x.value!)), values(400).map((v) => v.value));
  });

  test("Producer resends a batch whose answer was lost, and the broker keeps one copy (idempotence)", async () => {
    const topic = await createTopic(1);
    const client = new KafkaClient({
      bootstrap: [broker.bootstrap],
      connect: faultyConnect(connect, (req) => (req.n === 2 ? "drop-response" : "pass")),
      requestTimeoutMs: 300,
    });
    try {
      const r = await produce(topic, values(100), { client, batchSizeBytes: 200, retryBackoffMs: 5 });
      assert.equal(r.failures.length, 0, JSON.stringify(r.failures));
      assert.equal(r.delivered.length, 100);
      assert.ok(r.notices.some((m) => m.includes("timed out")), r.notices.join("\n"));
    } finally {
      await client.close();
    }
    const [p0] = await readAll(topic, 1);
    assert.deepEqual(p0!.map((x) => dec.decode(x.value!)), values(100).map((v) => v.value));
  });

  test("Producer reports a batch the broker refuses for good, with its tags, and delivers the rest", async () => {
    const topic = await createTopic(1, { "max.message.bytes": "2000" });
    const records = [...values(20, "a"), { value: "x".repeat(5000) }, ...values(20, "b")];
    const r = await produce(topic, records, { batchSizeBytes: 100, retryBackoffMs: 5 });
    assert.equal(r.failures.length, 1, JSON.stringify(r.failures));
    assert.deepEqual(r.failures[0]!.tags, [20]);
    assert.equal(r.failures[0]!.code, ErrorCode.MESSAGE_TOO_LARGE);
    assert.match(r.failures[0]!.message, /^MESSAGE_TOO_LARGE/);
    assert.equal(r.delivered.length, 40);
    const [p0] = await readAll(topic, 1);
    assert.deepEqual(
      p0!.map((x) => dec.decode(x.value!)),
      [...values(20, "a"), ...values(20, "b")].map((v) => v.value),
    );
  });

  test("Producer with acks=0 delivers everything by flush()", async () => {
    const topic = await createTopic(2);
    const r = await produce(topic, values(500), { acks: 0, batchSizeBytes: 400 });
    assert.equal(r.failures.length, 0);
    assert.equal(r.idempotent, false);
    const parts = await readAll(topic, 2);
    assert.equal(parts.flat().length, 500);
  });

  test("Producer with acks=1 is not idempotent and still delivers in order", async () => {
    const topic = await createTopic(1);
    const r = await produce(topic, values(100), { acks: 1, batchSizeBytes: 300 });
    assert.equal(r.idempotent, false);
    const [p0] = await readAll(topic, 1);
    assert.deepEqual(p0!.map((x) => dec.decode(x.value!)), values(100).map((v) => v.value));
  });

  test("Producer refuses idempotence with acks other than -1", () => {
    assert.throws(() => new Producer(admin, "t", { acks: 1, idempotence: true }), RangeError);
  });

  test("Producer fails records after the delivery timeout when every attempt fails", async () => {
    const topic = await createTopic(1);
    const client = new KafkaClient({
      bootstrap: [broker.bootstrap],
      connect: faultyConnect(connect, () => ({ errorCode: ErrorCode.NOT_ENOUGH_REPLICAS })),
    });
    try {
      const r = await produce(topic, values(5), { client, deliveryTimeoutMs: 200, retryBackoffMs: 20 });
      assert.equal(r.delivered.length, 0);
      assert.deepEqual(r.failures.flatMap((f) => f.tags), [0, 1, 2, 3, 4]);
      assert.match(r.failures[0]!.message, /delivery timed out after 200 ms \(last error: NOT_ENOUGH_REPLICAS\)/);
    } finally {
      await client.close();
    }
  });

  test("Producer.send() asks the caller to wait when the buffer is full", async () => {
    const topic = await createTopic(1);
    const producer = new Producer(admin, topic, { bufferMemoryBytes: 1000, batchSizeBytes: 200 });
    await producer.connect();
    let waits = 0;
    for (let i = 0; i < 200; i++) {
      const wait = producer.send({ key: null, value: enc.encode(`record-${i}`) });
      if (wait) {
        waits++;
        await wait;
      }
    }
    await producer.flush();
    producer.close();
    assert.ok(waits > 0);
    const [p0] = await readAll(topic, 1);
    assert.equal(p0!.length, 200);
  });
});
