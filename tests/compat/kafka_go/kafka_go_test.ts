/**
 * segmentio/kafka-go 0.2.1 (Go, Debian golang-github-segmentio-kafka-go-dev) produces to and
 * consumes from kbin's log. This old release speaks only legacy protocol: Produce v2 and Fetch v2
 * with message format v1 (no headers), ListOffsets v1 and Metadata v1, so every write is
 * up-converted by kbin and every read down-converted. Codecs: none, gzip, snappy, lz4 (it has no
 * zstd). driver/main.go runs every call once and prints what the client saw; the tests judge it.
 * The driver is built like Sarama's (GOPATH mode, cached in the temp dir). CreateTopics, DeleteTopics
 * and group Readers: kafka_go_group_test.ts. Covered and knowingly skipped: ALLOWLIST.md; gaps: FINDINGS.md.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { type BrokerProcess, startBrokerProcess } from "../../support/broker_process.ts";
import {
  assertRoundTrip,
  type Codec,
  forPartition,
  fromWire,
  makeRecords,
  type TestRecord,
  toWire,
  type WireRecord,
} from "../shared/records.ts";
import {
  buildGoDriver,
  createTopic,
  DriverResults,
  goMissing,
  pythonMissing,
  readWithConfluent,
  runJsonDriver,
} from "../shared/kbin.ts";

const DRIVER_DIR = fileURLToPath(new URL("./driver", import.meta.url));
const MISSING = goMissing("github.com/segmentio/kafka-go", "golang-github-segmentio-kafka-go-dev");
/** confluent-kafka's driver checks what kafka-go cannot read back (empty keys and values). */
const CONFLUENT_MISSING = pythonMissing("confluent_kafka");

interface ConsumeResult {
  records: WireRecord[];
  errors: string[];
  timed_out: boolean;
  exception?: string;
}

const CODECS: Codec[] = ["none", "gzip", "snappy", "lz4"];

describe("kafka-go Writer and Reader against the log", { skip: MISSING }, () => {
  let broker: BrokerProcess;
  // Message format v1 has no headers. kafka-go 0.2.1 reads a zero-length key or value as nil
  // (readNewBytes), so the round trip leaves empty ones out; "kg-empty" checks them another way.
  const records: TestRecord[] = makeRecords({ noEmpty: true }).map((r) => ({ ...r, headers: [] }));
  const withEmpty: TestRecord[] = makeRecords().map((r) => ({ ...r, headers: [] }));
  const counts = Object.fromEntries([0, 1, 2].map((p) => [String(p), forPartition(records, p).length]));
  const results = new DriverResults();
  const result = <T>(name: string): T => results.get<T>(name);

  before(async () => {
    const [bin, b] = await Promise.all([buildGoDriver(DRIVER_DIR, "kafka-go-driver"), startBrokerProcess()]);
    broker = b;
    await Promise.all(
      [...CODECS.map((c) => `kg-${c}`), "kg-empty"].map((topic) => createTopic(broker, topic, { partitions: 3 })),
    );
    const ops: [string, Record<string, unknown>][] = [];
    for (const codec of CODECS) {
      const topic = `kg-${codec}`;
      ops.push([`produce ${codec}`, { op: "produce", topic, records: toWire(records), codec }]);
      ops.push([`consume ${codec}`, { op: "consume", topic, partitions: [0, 1, 2], start: 0, expect: counts }]);
    }
    ops.push(["consume from 100", {
      op: "consume",
      topic: "kg-gzip",
      partitions: [0],
      start: 100,
      expect: { 0: counts["0"]! - 100 },
    }]);
    ops.push(["offsets", { op: "offsets", topic: "kg-none", partitions: [0, 1, 2] }]);
    ops.push(["produce with empty", { op: "produce", topic: "kg-empty", records: toWire(withEmpty), codec: "snappy" }]);
    const out = await runJsonDriver<{ results: unknown[] }>(
      bin,
      [],
      { bootstrap: broker.bootstrap, ops: ops.map(([, op]) => op) },
      { broker, timeoutMs: 90_000 },
    );
    results.setAll(ops.map(([name]) => name), out.results);
  });
  after(async () => {
    await broker?.[Symbol.asyncDispose]();
  });

  for (const codec of CODECS) {
    test(`Writer.WriteMessages (Produce v2, ${codec}, RequiredAcks -1) succeeds`, () => {
      assert.equal(result<{ error: string | null }>(`produce ${codec}`).error, null);
    });

    test(`Reader (Fetch v2) reads the ${codec} records back byte-exact, in order, with their timestamps`, () => {
      const r = result<ConsumeResult>(`consume ${codec}`);
      assert.deepEqual(r.errors, []);
      assert.equal(r.timed_out, false, `read only ${r.records.length} records`);
      const got = fromWire(r.records).sort((a, b) => a.partition - b.partition || a.offset - b.offset);
      assertRoundTrip(got, records, { timestamps: true, label: codec });
    });
  }

  test("Reader.SetOffset(100) starts at offset 100", () => {
    const r = result<ConsumeResult>("consume from 100");
    assert.deepEqual(r.errors, []);
    assertRoundTrip(fromWire(r.records), forPartition(records, 0).slice(100), { firstOffset: 100, timestamps: true });
  });

  test("empty keys and values kafka-go writes stay empty (not null): confluent-kafka reads them back byte-exact", {
    skip: CONFLUENT_MISSING,
  }, async () => {
    assert.equal(result<{ error: string | null }>("produce with empty").error, null);
    const got = await readWithConfluent(broker, "kg-empty", [0, 1, 2]);
    assertRoundTrip(got, withEmpty, { timestamps: true });
  });

  test("Conn.ReadOffsets (ListOffsets v1) gives the first and last offsets", () => {
    const r = result<{ offsets: [number, number][] }>("offsets");
    assert.deepEqual(r.offsets, [0, 1, 2].map((p) => [0, counts[String(p)]]));
  });
});
