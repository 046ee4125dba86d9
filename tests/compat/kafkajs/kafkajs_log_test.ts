/**
 * KafkaJS 2.2.4 produces to and reads from kbin's log. The producer is idempotent with acks -1;
 * KafkaJS has no consumer without a group, so records are read with its low-level Fetch
 * (`Cluster` → `Broker.fetch()`, the call its group consumer makes), which decodes and decompresses
 * them with KafkaJS's own code. Only gzip is built in: snappy, lz4 and zstd need codec plugins
 * that are not installed (ALLOWLIST.md). Covered and knowingly skipped: ALLOWLIST.md; gaps: FINDINGS.md.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { CompressionTypes, Kafka, type LogEntry, logLevel, Partitioners, type Producer } from "kafkajs";
import { type BrokerProcess, startBrokerProcess } from "../../support/broker_process.ts";
import { assertRoundTrip, forPartition, makeRecords, type ReadRecord, type TestRecord } from "../shared/records.ts";
import { createTopic } from "../shared/kbin.ts";

const logs: LogEntry[] = [];

/** The parts of KafkaJS's internal Broker this suite calls. */
interface LowLevelBroker {
  fetch(request: {
    maxWaitTime?: number;
    minBytes?: number;
    maxBytes?: number;
    isolationLevel?: number;
    topics: { topic: string; partitions: { partition: number; fetchOffset: string; maxBytes: number }[] }[];
  }): Promise<{
    responses: {
      topicName: string;
      partitions: {
        partition: number;
        errorCode: number;
        highWatermark: string;
        messages: {
          offset: string;
          timestamp: string;
          key: Buffer | null;
          value: Buffer | null;
          headers: Record<string, Buffer | Buffer[]>;
        }[];
      }[];
    }[];
  }>;
}
interface LowLevelCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  addTargetTopic(topic: string): Promise<void>;
  findBroker(options: { nodeId: string | number }): Promise<LowLevelBroker>;
}

/** KafkaJS's private cluster factory (`Kafka[PRIVATE.CREATE_CLUSTER]`), the one its clients use. */
function createCluster(kafka: Kafka): LowLevelCluster {
  const key = Object.getOwnPropertySymbols(kafka).find((s) => s.description === "private:Kafka:createCluster");
  assert.ok(key, "KafkaJS internals changed: no private:Kafka:createCluster");
  const factory = (kafka as unknown as Record<symbol, ((o: object) => LowLevelCluster) | undefined>)[key];
  assert.ok(factory, "KafkaJS internals changed: private:Kafka:createCluster is not a function");
  return factory({});
}

/** KafkaJS headers: an object, repeated keys as arrays in order (its encoder and decoder both do this). */
function kafkajsHeaders(headers: TestRecord["headers"]): Record<string, Buffer | Buffer[]> {
  const out: Record<string, Buffer | Buffer[]> = {};
  for (const [k, v] of headers) {
    const prev = out[k];
    const b = Buffer.from(v);
    out[k] = prev === undefined ? b : Array.isArray(prev) ? [...prev, b] : [prev, b];
  }
  return out;
}
/** Headers in the order KafkaJS writes them: grouped by first appearance of each key. */
function grouped(headers: TestRecord["headers"]): [string, Uint8Array][] {
  return Object.entries(kafkajsHeaders(headers)).flatMap(([k, v]) =>
    (Array.isArray(v) ? v : [v]).map((b) => [k, new Uint8Array(b)] as [string, Uint8Array])
  );
}

describe("KafkaJS producer and low-level Fetch against the log", () => {
  let broker: BrokerProcess;
  let kafka: Kafka;
  let producer: Producer;
  let cluster: LowLevelCluster;
  const records = makeRecords().map((r) => ({ ...r, headers: grouped(r.headers) }));

  /** Fetches every record of `partitions` from `from` up to the high watermark, in order. */
  async function readAll(topic: string, partitions: number[], from = 0): Promise<ReadRecord[]> {
    await cluster.addTargetTopic(topic);
    const b = await cluster.findBroker({ nodeId: "1" });
    const out: ReadRecord[] = [];
    for (const partition of partitions) {
      let next = from;
      for (let round = 0; round < 1000; round++) {
        const { responses } = await b.fetch({
          maxWaitTime: 100,
          topics: [{ topic, partitions: [{ partition, fetchOffset: String(next), maxBytes: 1 << 20 }] }],
        });
        const p = responses[0]!.partitions[0]!;
        assert.equal(p.errorCode, 0, `fetch ${topic}/${partition} at ${next}`);
        for (const m of p.messages) {
          const offset = Number(m.offset);
          if (offset < next) continue; // a batch starts before the fetch offset
          const headers = Object.entries(m.headers).flatMap(([k, v]) =>
            (Array.isArray(v) ? v : [v]).map((b) => [k, new Uint8Array(b)] as [string, Uint8Array])
          );
          out.push({
            partition,
            offset,
            key: m.key === null ? null : new Uint8Array(m.key),
            value: m.value === null ? null : new Uint8Array(m.value),
            headers,
            timestamp: Number(m.timestamp),
          });
          next = offset + 1;
        }
        if (next >= Number(p.highWatermark)) break;
      }
    }
    return out;
  }

  before(async () => {
    broker = await startBrokerProcess();
    kafka = new Kafka({
      brokers: [broker.bootstrap],
      clientId: "kbin-compat-log",
      logLevel: logLevel.DEBUG,
      logCreator: () => (entry: LogEntry) => void logs.push(entry),
    });
    producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    await producer.connect();
    cluster = createCluster(kafka);
    await cluster.connect();
  });
  after(async () => {
    await producer?.disconnect();
    await cluster?.disconnect();
    await broker?.[Symbol.asyncDispose]();
  });

  for (const [codec, compression] of [["none", CompressionTypes.None], ["gzip", CompressionTypes.GZIP]] as const) {
    test(`producer.send({ acks: -1, compression: ${codec} }) from an idempotent producer is read back byte-exact`, async () => {
      const topic = `kj-log-${codec}`;
      await createTopic(broker, topic, { partitions: 3 });
      const meta = await producer.send({
        topic,
        acks: -1,
        compression,
        messages: records.map((r) => ({
          partition: r.partition,
          key: r.key === null ? null : Buffer.from(r.key),
          value: r.value === null ? null : Buffer.from(r.value),
          headers: kafkajsHeaders(r.headers),
          timestamp: String(r.timestamp),
        })),
      });
      // One RecordMetadata per partition: the base offset of what was appended.
      assert.deepEqual(
        meta.map((m) => [m.partition, m.errorCode, m.baseOffset]).sort(),
        [[0, 0, "0"], [1, 0, "0"], [2, 0, "0"]],
      );
      const got = await readAll(topic, [0, 1, 2]);
      assertRoundTrip(got, records, { timestamps: true, label: codec });
    });
  }

  test("a second send continues each partition's offsets and a fetch from the middle starts there", async () => {
    const topic = "kj-log-none";
    const more = makeRecords({ count: 30, seed: 9 }).map((r) => ({ ...r, headers: grouped(r.headers) }));
    const meta = await producer.send({
      topic,
      acks: -1,
      messages: more.map((r) => ({
        partition: r.partition,
        key: r.key === null ? null : Buffer.from(r.key),
        value: r.value === null ? null : Buffer.from(r.value),
        headers: kafkajsHeaders(r.headers),
      })),
    });
    const firsts = [0, 1, 2].map((p) => forPartition(records, p).length);
    assert.deepEqual(
      meta.map((m) => [m.partition, m.baseOffset]).sort(),
      firsts.map((n, p) => [p, String(n)]),
    );
    const got = await readAll(topic, [1], firsts[1]);
    assertRoundTrip(got, forPartition(more, 1), { firstOffset: firsts[1]! });
  });

  test("admin.fetchTopicOffsets() and fetchTopicOffsetsByTimestamp() answer from the log", async () => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      const counts = [0, 1, 2].map((p) => forPartition(records, p).length);
      const offsets = await admin.fetchTopicOffsets("kj-log-gzip");
      assert.deepEqual(
        offsets.map((o) => [o.partition, o.low, o.high]).sort(),
        counts.map((n, p) => [p, "0", String(n)]),
      );
      // Record 600 (partition 0, offset 200) has the first timestamp >= ts in every partition's view.
      const byTs = await admin.fetchTopicOffsetsByTimestamp("kj-log-gzip", records[600]!.timestamp);
      assert.deepEqual(byTs.map((o) => [o.partition, o.offset]).sort(), [[0, "200"], [1, "200"], [2, "200"]]);
    } finally {
      await admin.disconnect();
    }
  });

  test("KafkaJS used Produce v7, Fetch v11, ListOffsets v3 and InitProducerId v1, all inside kbin's windows", () => {
    const used = new Set<string>();
    for (const e of logs) {
      const m = /^Request (\w+)\(key: \d+, version: (\d+)\)$/.exec(e.log.message ?? "");
      if (m && ["Produce", "Fetch", "ListOffsets", "InitProducerId"].includes(m[1]!)) used.add(`${m[1]} v${m[2]}`);
    }
    assert.deepEqual([...used].sort(), ["Fetch v11", "InitProducerId v1", "ListOffsets v3", "Produce v7"]);
  });

  test("KafkaJS logged no protocol or connection error", () => {
    const bad = logs.filter((e) =>
      e.level <= logLevel.WARN && !/TimeoutNegativeWarning|default partitioner/i.test(JSON.stringify(e.log))
    );
    assert.deepEqual(bad.map((e) => e.log), []);
  });
});
