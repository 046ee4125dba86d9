/**
 * Fetcher against an in-process broker: ListOffsets by spec and time, reading from assigned
 * positions (also inside a batch), long polling for new records, offset resets and aborts.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type EmbeddedBroker, startBroker } from "../../../mod.ts";
import { KafkaClient } from "../../../src/client/client.ts";
import { KafkaClientError } from "../../../src/client/errors.ts";
import { type FetchedPartition, Fetcher, type FetcherOptions, OffsetSpec } from "../../../src/client/fetcher.ts";
import { createCodecs } from "../../../src/protocol/compression/mod.ts";
import { PRODUCE_API } from "../../../src/protocol/generated/00_produce.ts";
import { CREATE_TOPICS_API } from "../../../src/protocol/generated/19_create_topics.ts";
import { buildBatch, type RecordInput } from "../../../src/protocol/records/mod.ts";
import { connect } from "../../support/runtime.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const codecs = createCodecs();

describe("Fetcher", () => {
  let broker: EmbeddedBroker;
  let client: KafkaClient;
  let topicSeq = 0;

  before(async () => {
    broker = await startBroker();
    client = new KafkaClient({ bootstrap: [broker.bootstrap], connect });
  });
  after(async () => {
    await client?.close();
    await broker?.close();
  });

  async function createTopic(partitions: number): Promise<string> {
    const name = `fetcher-${++topicSeq}`;
    const { response } = await client.send(CREATE_TOPICS_API, () => ({
      topics: [{ name, numPartitions: partitions, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 5000,
    }));
    assert.equal(response.topics[0]!.errorCode, 0);
    return name;
  }

  /** Appends one batch (optionally compressed) to a partition. */
  async function append(topic: string, partition: number, records: RecordInput[], compression = 0): Promise<void> {
    const records_ = buildBatch(records, { compression, compress: (c, d) => codecs.compress(c, d) });
    const { response } = await client.send(PRODUCE_API, () => ({
      acks: -1,
      timeoutMs: 5000,
      topicData: [{ name: topic, partitionData: [{ index: partition, records: records_ }] }],
    }));
    assert.equal(response.responses[0]!.partitionResponses[0]!.errorCode, 0);
  }

  function values(prefix: string, n: number): RecordInput[] {
    return Array.from({ length: n }, (_, i) => ({ value: enc.encode(`${prefix}${i}`) }));
  }

  function fetcherFor(topic: string, options: Partial<FetcherOptions> = {}): Fetcher {
    return new Fetcher(client, topic, { decompress: (c, d) => codecs.decompress(c, d), maxWaitMs: 50, ...options });
  }

  /** Reads until each assigned partition reaches `ends`, returning values by partition. */
  async function readUntil(fetcher: Fetcher, ends: Map<number, bigint>): Promise<Map<number, string[]>> {
    const out = new Map<number, string[]>();
    for (const [p, end] of ends) if ((fetcher.positions().get(p) ?? end) >= end) fetcher.unassign(p);
    for await (const parts of fetcher.fetch()) {
      for (const part of parts) {
        const list = out.get(part.partition) ?? [];
        out.set(part.partition, list);
        list.push(...part.records.map((r) => dec.decode(r.value!)));
        if (part.nextOffset >= ends.get(part.partition)!) fetcher.unassign(part.partition);
      }
    }
    return out;
  }

  test("Fetcher.connect() fails with UNKNOWN_TOPIC_OR_PARTITION for a missing topic", async () => {
    await assert.rejects(
      fetcherFor("missing-topic").connect(),
      (e: unknown) => e instanceof KafkaClientError && e.kafkaName === "UNKNOWN_TOPIC_OR_PARTITION",
    );
  });

  test("Fetcher.listOffsets() answers earliest, latest and by timestamp", async () => {
    const topic = await createTopic(2);
    await append(topic, 0, [{ value: enc.encode("a"), timestamp: 1000n }, {
      value: enc.encode("b"),
      timestamp: 2000n,
    }]);
    await append(topic, 0, [{ value: enc.encode("c"), timestamp: 3000n }]);
    const f = fetcherFor(topic);
    await f.connect();
    assert.equal(f.partitionCount, 2);
    assert.deepEqual(await f.listOffsets([0, 1], OffsetSpec.EARLIEST), new Map([[0, 0n], [1, 0n]]));
    assert.deepEqual(await f.listOffsets([0, 1], OffsetSpec.LATEST), new Map([[0, 3n], [1, 0n]]));
    assert.deepEqual(await f.listOffsets([0], 1500n), new Map([[0, 1n]]));
    assert.deepEqual(await f.listOffsets([0], 3000n), new Map([[0, 2n]]));
    assert.deepEqual(await f.listOffsets([0], 9000n), new Map([[0, -1n]]));
  });

  test("Fetcher.fetch() reads every partition in order from the assigned offsets, any codec", async () => {
    const topic = await createTopic(3);
    await append(topic, 0, values("p0-", 5), 1);
    await append(topic, 0, values("p0b-", 5), 4);
    await append(topic, 1, values("p1-", 3), 2);
    await append(topic, 2, values("p2-", 4), 3);
    const f = fetcherFor(topic);
    await f.connect();
    f.assign(new Map([[0, 0n], [1, 0n], [2, 0n]]));
    const got = await readUntil(f, new Map([[0, 10n], [1, 3n], [2, 4n]]));
    assert.deepEqual(got.get(0), [...values("p0-", 5), ...values("p0b-", 5)].map((r) => dec.decode(r.value!)));
    assert.deepEqual(got.get(1), ["p1-0", "p1-1", "p1-2"]);
    assert.deepEqual(got.get(2), ["p2-0", "p2-1", "p2-2", "p2-3"]);
  });

  test("Fetcher.fetch() reports the leader epoch of the last record's batch, for commits", async () => {
    const topic = await createTopic(1);
    await append(topic, 0, values("e", 2));
    const f = fetcherFor(topic);
    await f.connect();
    f.assign(new Map([[0, 0n]]));
    for await (const parts of f.fetch()) {
      const part = parts.find((p) => p.partition === 0)!;
      if (part.records.length === 0) continue;
      assert.equal(part.leaderEpoch, 0);
      f.unassign(0);
    }
  });

  test("Fetcher.fetch() starting inside a compressed batch skips the records before the position", async () => {
    const topic = await createTopic(1);
    await append(topic, 0, values("r", 10), 3);
    const f = fetcherFor(topic);
    await f.connect();
    f.assign(new Map([[0, 7n]]));
    const got = await readUntil(f, new Map([[0, 10n]]));
    assert.deepEqual(got.get(0), ["r7", "r8", "r9"]);
  });

  test("Fetcher.fetch() long-polls and yields records appended after it started", async () => {
    const topic = await createTopic(1);
    // Its own connection: the follow-up long poll must not hold up the other tests' requests.
    const own = new KafkaClient({ bootstrap: [broker.bootstrap], connect });
    try {
      const f = new Fetcher(own, topic, { decompress: (c, d) => codecs.decompress(c, d), maxWaitMs: 1000 });
      await f.connect();
      f.assign(new Map([[0, 0n]]));
      const it = f.fetch();
      const next = it.next();
      await append(topic, 0, values("late", 2));
      const { value } = (await next) as IteratorYieldResult<FetchedPartition[]>;
      assert.deepEqual(value[0]!.records.map((r) => dec.decode(r.value!)), ["late0", "late1"]);
      assert.equal(value[0]!.highWatermark, 2n);
      assert.equal(value[0]!.nextOffset, 2n);
      await it.return(undefined);
    } finally {
      await own.close();
    }
  });

  test("Fetcher resets an out-of-range position to the earliest, the latest or the nearest end", async () => {
    const topic = await createTopic(1);
    await append(topic, 0, values("x", 3));
    for (const [policy, expectFirst] of [["earliest", "x0"], ["latest", "after"], ["nearest", "after"]] as const) {
      const notices: string[] = [];
      const f = fetcherFor(topic, { resetPolicy: policy, onNotice: (m) => notices.push(m) });
      await f.connect();
      f.assign(new Map([[0, 100n]]));
      const it = f.fetch();
      const next = it.next();
      if (policy !== "earliest") {
        // The reset lands at the end; a new record shows where reading resumed.
        while (!notices.some((m) => m.includes("resetting"))) await new Promise((r) => setTimeout(r, 5));
        await append(topic, 0, [{ value: enc.encode("after") }]);
      }
      const { value } = (await next) as IteratorYieldResult<FetchedPartition[]>;
      assert.equal(dec.decode(value[0]!.records[0]!.value!), expectFirst, policy);
      assert.ok(notices.some((m) => m.includes("offset 100 is out of range")), notices.join("\n"));
      await it.return(undefined);
    }
  });

  test("Fetcher.fetch() ends when its signal aborts, without waiting for the long poll", async () => {
    const topic = await createTopic(1);
    const own = new KafkaClient({ bootstrap: [broker.bootstrap], connect });
    try {
      const f = new Fetcher(own, topic, { decompress: (c, d) => codecs.decompress(c, d), maxWaitMs: 1500 });
      await f.connect();
      f.assign(new Map([[0, 0n]]));
      const controller = new AbortController();
      const started = Date.now();
      const timer = setTimeout(() => controller.abort(), 50);
      for await (const _ of f.fetch(controller.signal)) assert.fail("no records expected");
      clearTimeout(timer);
      assert.ok(Date.now() - started < 1000);
    } finally {
      await own.close();
    }
  });

  test("Fetcher.assign() refuses a partition the topic does not have", async () => {
    const topic = await createTopic(1);
    const f = fetcherFor(topic);
    await f.connect();
    assert.throws(() => f.assign(new Map([[3, 0n]])), RangeError);
  });
});
