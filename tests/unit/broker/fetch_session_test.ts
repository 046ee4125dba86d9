/**
 * Fetch sessions (KIP-227) and long polling at the protocol level. No client available here
 * (kcat, confluent-kafka on librdkafka 2.0, kafka-python, KafkaJS, Sarama) opens incremental
 * fetch sessions, so these tests follow the KIP and Kafka's FetchSession semantics directly.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type EmbeddedBroker, startBroker } from "../../../mod.ts";
import { KafkaConnection } from "../../../src/client/connection.ts";
import { FETCH_API, type FetchResponse } from "../../../src/protocol/generated/01_fetch.ts";
import { PRODUCE_API } from "../../../src/protocol/generated/00_produce.ts";
import { CREATE_TOPICS_API } from "../../../src/protocol/generated/19_create_topics.ts";
import { ErrorCode } from "../../../src/protocol/generated/errors.ts";
import { buildBatch } from "../../../src/protocol/records/records.ts";
import { connect } from "../../support/runtime.ts";

const enc = new TextEncoder();

describe("Fetch sessions and long polling", () => {
  let broker: EmbeddedBroker;
  let conn: KafkaConnection;

  async function produce(partition: number, value: string): Promise<void> {
    const res = await conn.request(PRODUCE_API, 9, {
      acks: -1,
      timeoutMs: 1000,
      topicData: [{
        name: "s",
        partitionData: [{ index: partition, records: buildBatch([{ value: enc.encode(value) }]) }],
      }],
    });
    assert.equal(res.responses[0]!.partitionResponses[0]!.errorCode, 0);
  }

  function fetch(
    body: {
      sessionId: number;
      sessionEpoch: number;
      offsets?: [number, bigint][];
      forget?: number[];
      maxWaitMs?: number;
      minBytes?: number;
    },
  ): Promise<FetchResponse> {
    return conn.request(FETCH_API, 12, {
      maxWaitMs: body.maxWaitMs ?? 0,
      minBytes: body.minBytes ?? 0,
      maxBytes: 1 << 20,
      sessionId: body.sessionId,
      sessionEpoch: body.sessionEpoch,
      topics: body.offsets && body.offsets.length > 0
        ? [{
          topic: "s",
          partitions: body.offsets.map(([p, o]) => ({ partition: p, fetchOffset: o, partitionMaxBytes: 1 << 20 })),
        }]
        : [],
      forgottenTopicsData: body.forget ? [{ topic: "s", partitions: body.forget }] : [],
    });
  }

  const partitionsOf = (r: FetchResponse) =>
    r.responses.flatMap((t) => t.partitions.map((p) => p.partitionIndex)).sort();

  before(async () => {
    broker = await startBroker({ logLevel: "silent" });
    const [host, port] = [broker.bootstrap.split(":")[0]!, broker.port];
    conn = await KafkaConnection.open(host, port, { connect });
    const created = await conn.request(CREATE_TOPICS_API, 5, {
      topics: [{ name: "s", numPartitions: 3, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 1000,
    });
    assert.equal(created.topics[0]!.errorCode, 0);
  });
  after(async () => {
    conn.close();
    await broker.close();
  });

  test("a full fetch with epoch 0 opens a session and answers every partition", async () => {
    const r = await fetch({ sessionId: 0, sessionEpoch: 0, offsets: [[0, 0n], [1, 0n], [2, 0n]] });
    assert.equal(r.errorCode, 0);
    assert.notEqual(r.sessionId, 0);
    assert.deepEqual(partitionsOf(r), [0, 1, 2]);
  });

  test("an incremental fetch answers only partitions with news, and the epoch must advance", async () => {
    const full = await fetch({ sessionId: 0, sessionEpoch: 0, offsets: [[0, 0n], [1, 0n], [2, 0n]] });
    const id = full.sessionId;
    const quiet = await fetch({ sessionId: id, sessionEpoch: 1 });
    assert.equal(quiet.errorCode, 0);
    assert.deepEqual(partitionsOf(quiet), [], "nothing changed");
    await produce(1, "hello");
    const news = await fetch({ sessionId: id, sessionEpoch: 2 });
    assert.deepEqual(partitionsOf(news), [1]);
    const p1 = news.responses[0]!.partitions[0]!;
    assert.equal(p1.highWatermark, 1n);
    assert.ok(p1.records && p1.records.length > 0);
    const stale = await fetch({ sessionId: id, sessionEpoch: 2 });
    assert.equal(stale.errorCode, ErrorCode.INVALID_FETCH_SESSION_EPOCH);
    const moved = await fetch({ sessionId: id, sessionEpoch: 3, offsets: [[1, 1n]] });
    assert.deepEqual(partitionsOf(moved), [], "offset moved past the data; high watermark unchanged");
  });

  test("forgotten partitions leave the session", async () => {
    const full = await fetch({ sessionId: 0, sessionEpoch: 0, offsets: [[0, 0n], [2, 0n]] });
    const after = await fetch({ sessionId: full.sessionId, sessionEpoch: 1, forget: [0] });
    assert.deepEqual(partitionsOf(after), []);
    await produce(0, "ignored");
    await produce(2, "seen");
    const news = await fetch({ sessionId: full.sessionId, sessionEpoch: 2 });
    assert.deepEqual(partitionsOf(news), [2]);
  });

  test("an unknown session id is FETCH_SESSION_ID_NOT_FOUND, and epoch -1 closes a session", async () => {
    const unknown = await fetch({ sessionId: 12345, sessionEpoch: 1 });
    assert.equal(unknown.errorCode, ErrorCode.FETCH_SESSION_ID_NOT_FOUND);
    const full = await fetch({ sessionId: 0, sessionEpoch: 0, offsets: [[0, 0n]] });
    const closed = await fetch({ sessionId: full.sessionId, sessionEpoch: -1, offsets: [[0, 0n]] });
    assert.equal(closed.sessionId, 0);
    const gone = await fetch({ sessionId: full.sessionId, sessionEpoch: 1 });
    assert.equal(gone.errorCode, ErrorCode.FETCH_SESSION_ID_NOT_FOUND);
  });

  test("a long poll is woken by an append, not by its timeout", async () => {
    const start = Date.now();
    const waiting = fetch({ sessionId: 0, sessionEpoch: -1, offsets: [[2, 100n]], maxWaitMs: 10_000, minBytes: 1 });
    const other = await KafkaConnection.open(broker.bootstrap.split(":")[0]!, broker.port, { connect });
    try {
      // Offset 100 is out of range, so the answer is immediate with that error.
      const r = await waiting;
      assert.equal(r.responses[0]!.partitions[0]!.errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);
      const hw = Number(r.responses[0]!.partitions[0]!.highWatermark);
      const poll = conn.request(FETCH_API, 12, {
        maxWaitMs: 10_000,
        minBytes: 1,
        maxBytes: 1 << 20,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [{ topic: "s", partitions: [{ partition: 2, fetchOffset: BigInt(hw), partitionMaxBytes: 1 << 20 }] }],
      });
      await other.request(PRODUCE_API, 9, {
        acks: 1,
        timeoutMs: 1000,
        topicData: [{ name: "s", partitionData: [{ index: 2, records: buildBatch([{ value: enc.encode("wake") }]) }] }],
      });
      const woke = await poll;
      assert.ok(woke.responses[0]!.partitions[0]!.records!.length > 0);
      assert.ok(Date.now() - start < 5000, "answered long before max_wait_ms");
    } finally {
      other.close();
    }
  });

  test("a long poll without data ends at max_wait_ms with an empty answer", async () => {
    const start = Date.now();
    const r = await conn.request(FETCH_API, 12, {
      maxWaitMs: 300,
      minBytes: 1,
      maxBytes: 1 << 20,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [{ topic: "s", partitions: [{ partition: 0, fetchOffset: 1000n, partitionMaxBytes: 1 << 20 }] }],
    });
    assert.equal(r.responses[0]!.partitions[0]!.errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);
    const hw = r.responses[0]!.partitions[0]!.highWatermark;
    const t0 = Date.now();
    const empty = await conn.request(FETCH_API, 12, {
      maxWaitMs: 300,
      minBytes: 1,
      maxBytes: 1 << 20,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [{ topic: "s", partitions: [{ partition: 0, fetchOffset: hw, partitionMaxBytes: 1 << 20 }] }],
    });
    const waited = Date.now() - t0;
    assert.equal(empty.responses[0]!.partitions[0]!.records!.length, 0);
    assert.ok(waited >= 250 && waited < 3000, `waited ${waited} ms (start ${start})`);
  });
});
