/**
 * confluent-kafka-python (librdkafka 2.0.2) produces to and consumes from kbin's log: the
 * idempotent Producer in every codec with delivery reports, the Consumer with assign(),
 * offsets_for_times(), get_watermark_offsets(), MSG_SIZE_TOO_LARGE and OFFSET_OUT_OF_RANGE.
 * log_client.py runs every call once and prints what the client saw; the tests below judge it.
 * Covered and knowingly skipped: ALLOWLIST.md; gaps: FINDINGS.md.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { type BrokerProcess, startBrokerProcess } from "../../support/broker_process.ts";
import {
  assertRoundTrip,
  CODECS,
  forPartition,
  fromWire,
  makeRecords,
  type TestRecord,
  toWire,
  type WireRecord,
} from "../shared/records.ts";
import { createTopic, PYTHON, pythonMissing, runJsonDriver } from "../shared/kbin.ts";

const SCRIPT = fileURLToPath(new URL("./log_client.py", import.meta.url));
const MISSING = pythonMissing("confluent_kafka");

interface KError {
  code: number;
  name: string;
  str: string;
  p?: number;
}
interface ProduceResult {
  reports: ({ p: number; o: number; err: KError | null } | null)[];
  flush_left: number;
  exception?: string;
}
interface ConsumeResult {
  records: (WireRecord & { tstype: number })[];
  errors: KError[];
  eof: number[];
  timed_out: boolean;
  exception?: string;
}

/** librdkafka's TIMESTAMP_CREATE_TIME. */
const TIMESTAMP_CREATE_TIME = 1;
/** A day ago: Kafka 4.0 refuses CreateTimes more than an hour ahead (KIP-1030). */
const BASE_TS = Date.now() - 86_400_000;

describe("confluent-kafka Producer and Consumer against the log", { skip: MISSING }, () => {
  let broker: BrokerProcess;
  const records: TestRecord[] = makeRecords({ baseTimestamp: BASE_TS });
  const byName = new Map<string, unknown>();
  const result = <T>(name: string): T => {
    const r = byName.get(name) as T & { exception?: string };
    assert.ok(r, `no result for ${name}`);
    assert.equal(r.exception, undefined, `${name} raised ${r.exception}`);
    return r;
  };

  before(async () => {
    broker = await startBrokerProcess();
    const ops: [string, Record<string, unknown>][] = [];
    await Promise.all([
      ...CODECS.map((codec) => createTopic(broker, `ck-${codec}`, { partitions: 3 })),
      createTopic(broker, "ck-small", { partitions: 1, configs: { "max.message.bytes": "1000" } }),
    ]);
    for (const codec of CODECS) {
      ops.push([`produce ${codec}`, {
        op: "produce",
        topic: `ck-${codec}`,
        records: toWire(records),
        config: { "enable.idempotence": true, acks: "all", "compression.type": codec },
      }]);
    }
    for (const codec of CODECS) {
      ops.push([`consume ${codec}`, { op: "consume", topic: `ck-${codec}`, partitions: [0, 1, 2] }]);
    }
    ops.push(["offsets_for_times", {
      op: "offsets_for_times",
      topic: "ck-none",
      queries: [[0, BASE_TS + 500], [1, BASE_TS + 500], [2, BASE_TS]],
    }]);
    // librdkafka matches answers to queries by partition: a partition asked twice gets one answer.
    ops.push(["offsets_for_times past the end", {
      op: "offsets_for_times",
      topic: "ck-none",
      queries: [[0, BASE_TS + 100_000]],
    }]);
    ops.push(["watermarks", { op: "watermarks", topic: "ck-none", partitions: [0, 1, 2] }]);
    ops.push(["consume from end", { op: "consume", topic: "ck-none", partitions: [0], start: "end" }]);
    ops.push(["consume from 300", { op: "consume", topic: "ck-none", partitions: [1], start: 300 }]);

    const big = { p: 0, k: null, v: Buffer.alloc(3000, 7).toString("base64"), h: [] };
    const small = { p: 0, k: null, v: Buffer.from("small").toString("base64"), h: [] };
    const tooLargeConfig = { "message.max.bytes": 1_000_000, "compression.type": "none", "message.timeout.ms": 10_000 };
    ops.push(["produce too large", { op: "produce", topic: "ck-small", records: [big], config: tooLargeConfig }]);
    ops.push(["produce small", { op: "produce", topic: "ck-small", records: [small], config: tooLargeConfig }]);
    ops.push(["consume small", { op: "consume", topic: "ck-small", partitions: [0] }]);

    // librdkafka retries a Fetch it cannot parse until the deadline: keep these short.
    ops.push(["out of range, error", {
      op: "consume",
      topic: "ck-none",
      partitions: [0],
      start: 100_000,
      config: { "auto.offset.reset": "error" },
      stop_on_error: true,
      timeout_s: 6,
    }]);
    ops.push(["out of range, earliest", {
      op: "consume",
      topic: "ck-none",
      partitions: [0],
      start: 100_000,
      config: { "auto.offset.reset": "earliest" },
      timeout_s: 6,
    }]);

    const out = await runJsonDriver<{ results: unknown[] }>(
      PYTHON,
      [SCRIPT],
      { bootstrap: broker.bootstrap, ops: ops.map(([, op]) => op) },
      { broker, timeoutMs: 90_000 },
    );
    ops.forEach(([name], i) => byName.set(name, out.results[i]));
  });

  after(async () => {
    await broker?.[Symbol.asyncDispose]();
  });

  for (const codec of CODECS) {
    test(`Producer(enable.idempotence, compression.type=${codec}) reports each record delivered at its offset`, () => {
      const r = result<ProduceResult>(`produce ${codec}`);
      assert.equal(r.flush_left, 0);
      const next = [0, 0, 0];
      r.reports.forEach((rep, i) => {
        assert.ok(rep, `record ${i}: no delivery report`);
        assert.equal(rep.err, null, `record ${i}: ${JSON.stringify(rep.err)}`);
        const want = records[i]!.partition;
        assert.deepEqual([rep.p, rep.o], [want, next[want]!++], `record ${i}: partition and offset`);
      });
    });

    test(`Consumer.assign() reads back the ${codec} records byte-exact with their CreateTime`, () => {
      const r = result<ConsumeResult>(`consume ${codec}`);
      assert.deepEqual(r.errors, []);
      assert.deepEqual(r.eof, [0, 1, 2]);
      assert.ok(r.records.every((m) => m.tstype === TIMESTAMP_CREATE_TIME));
      const got = fromWire(r.records).sort((a, b) => a.partition - b.partition || a.offset - b.offset);
      assertRoundTrip(got, records, { timestamps: true, label: codec });
    });
  }

  test("Consumer.offsets_for_times() finds the first offset at or after each timestamp, -1 past the end", () => {
    const r = result<{ offsets: [number, number, KError | null][] }>("offsets_for_times");
    // Record i has timestamp BASE_TS + i and goes to partition i % 3, at offset floor(i / 3).
    assert.deepEqual(r.offsets, [[0, 167, null], [1, 167, null], [2, 0, null]]);
    const past = result<{ offsets: [number, number, KError | null][] }>("offsets_for_times past the end");
    assert.deepEqual(past.offsets, [[0, -1, null]]);
  });

  test("Consumer.get_watermark_offsets() gives (0, records in the partition)", () => {
    const r = result<{ watermarks: [number, number][] }>("watermarks");
    assert.deepEqual(r.watermarks, [0, 1, 2].map((p) => [0, forPartition(records, p).length]));
  });

  test("Consumer.assign() at OFFSET_END reads nothing and reaches the partition end", () => {
    const r = result<ConsumeResult>("consume from end");
    assert.deepEqual([r.records.length, r.errors, r.eof], [0, [], [0]]);
  });

  test("Consumer.assign(TopicPartition(offset=300)) starts at offset 300", () => {
    const r = result<ConsumeResult>("consume from 300");
    assert.deepEqual(r.errors, []);
    assert.deepEqual(r.records.map((m) => m.o), [...Array(33).keys()].map((i) => 300 + i));
    assertRoundTrip(fromWire(r.records), forPartition(records, 1).slice(300), { firstOffset: 300 });
  });

  test("a batch over the topic's max.message.bytes fails with MSG_SIZE_TOO_LARGE and takes no offset", () => {
    const big = result<ProduceResult>("produce too large").reports[0];
    assert.equal(big?.err?.name, "MSG_SIZE_TOO_LARGE", JSON.stringify(big));
    assert.equal(big?.err?.code, 10);
    const small = result<ProduceResult>("produce small").reports[0];
    assert.deepEqual(small, { p: 0, o: 0, err: null });
    const read = result<ConsumeResult>("consume small");
    assert.deepEqual(read.records.map((m) => [m.o, Buffer.from(m.v!, "base64").toString()]), [[0, "small"]]);
  });

  test("an out-of-range offset with auto.offset.reset=error is a consumer error naming OFFSET_OUT_OF_RANGE", () => {
    const r = result<ConsumeResult>("out of range, error");
    assert.equal(r.records.length, 0);
    assert.equal(r.errors[0]?.name, "_AUTO_OFFSET_RESET", JSON.stringify(r.errors.slice(0, 3)));
    assert.match(r.errors[0]!.str, /Offset out of range/i);
  });

  test("an out-of-range offset with auto.offset.reset=earliest restarts at offset 0", () => {
    const r = result<ConsumeResult>("out of range, earliest");
    assert.deepEqual(r.errors, []);
    assert.equal(r.timed_out, false, "never reached the partition end");
    assertRoundTrip(fromWire(r.records), forPartition(records, 0), { timestamps: true });
  });
});
