/**
 * kafka-python 2.0.2 (pure Python) produces to and consumes from kbin's log with the version it
 * detects (RecordBatch v2, every codec), and with `api_version=(0, 10, 1)` (Produce v2 / Fetch v3,
 * message format v1) and `(0, 9)` (Produce v1 / Fetch v1, message format v0), which make kbin
 * up-convert what it stores and down-convert what it serves. log_client.py runs every call once and
 * prints what the client saw; the tests below judge it.
 * Covered and knowingly skipped: ALLOWLIST.md; gaps: FINDINGS.md.
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
import { createTopic, DriverResults, PYTHON, pythonMissing, readWithConfluent, runJsonDriver } from "../shared/kbin.ts";

const SCRIPT = fileURLToPath(new URL("./log_client.py", import.meta.url));
const MISSING = pythonMissing("kafka", "snappy", "lz4", "zstandard");
/** confluent-kafka's driver reads what kafka-python cannot (zstd). */
const CONFLUENT_MISSING = pythonMissing("confluent_kafka");

interface ProduceResult {
  reports: { p: number; o: number; err: string | null }[];
  api_version: number[];
  requests: string[];
  exception?: string;
}
interface ConsumeResult {
  records: (WireRecord & { tstype: number | null })[];
  api_version: number[];
  requests: string[];
  error_codes: number[];
  timed_out: boolean;
  exception?: string;
}
interface OffsetsResult {
  beginning: number[];
  end: number[];
  for_times: ([number, number] | null)[];
  requests: string[];
  exception?: string;
}

/** The protocol a run forces, or null to let kafka-python detect it. */
const MODES = [
  { name: "detected", apiVersion: null, codecs: ["none", "gzip", "snappy", "lz4", "zstd"] as Codec[] },
  // zstd needs RecordBatch v2 (Kafka 2.1): kafka-python refuses it for older api_versions.
  { name: "0.10.1", apiVersion: [0, 10, 1], codecs: ["none", "gzip", "snappy", "lz4"] as Codec[] },
  { name: "0.9", apiVersion: [0, 9], codecs: ["none", "gzip", "snappy", "lz4"] as Codec[] },
] as const;

const noHeaders = (records: TestRecord[]) => records.map((r) => ({ ...r, headers: [] }));

describe("kafka-python KafkaProducer and KafkaConsumer against the log", { skip: MISSING }, () => {
  let broker: BrokerProcess;
  const records = makeRecords();
  const results = new DriverResults();
  const result = <T>(name: string): T => results.get<T>(name);
  const counts = Object.fromEntries([0, 1, 2].map((p) => [p, forPartition(records, p).length]));

  before(async () => {
    broker = await startBrokerProcess();
    type Op = [string, Record<string, unknown>];
    /** Runs batches of operations in parallel driver processes (kafka-python is slow to start each client). */
    const runBatches = async (batches: Op[][]) => {
      await Promise.all(batches.map(async (ops) => {
        const out = await runJsonDriver<{ results: unknown[] }>(
          PYTHON,
          [SCRIPT],
          { bootstrap: broker.bootstrap, ops: ops.map(([, op]) => op) },
          { broker, timeoutMs: 100_000 },
        );
        results.setAll(ops.map(([name]) => name), out.results);
      }));
    };
    // One batch per protocol level, in parallel; then the cross-level reads, which need their data.
    await Promise.all(
      MODES.flatMap((m) => m.codecs.map((c) => createTopic(broker, `kp-${m.name}-${c}`, { partitions: 3 }))),
    );
    const perMode: Op[][] = [];
    for (const mode of MODES) {
      let ops: Op[] = [];
      perMode.push(ops);
      const config = mode.apiVersion ? { api_version: mode.apiVersion } : {};
      for (const codec of mode.codecs) {
        // The detected level has the most work: split it in two batches.
        if (codec === "lz4" && mode.name === "detected") perMode.push(ops = []);
        const topic = `kp-${mode.name}-${codec}`;
        const sent = mode.name === "detected" ? records : noHeaders(records);
        ops.push([`produce ${mode.name} ${codec}`, {
          op: "produce",
          topic,
          records: toWire(sent),
          timestamps: mode.name !== "0.9",
          config: { ...config, ...(codec === "none" ? {} : { compression_type: codec }) },
        }]);
        ops.push([`consume ${mode.name} ${codec}`, {
          op: "consume",
          topic,
          partitions: [0, 1, 2],
          // Kafka 4.0 (and kbin) no longer serve ListOffsets v0, which seek_to_beginning() needs
          // under api_version (0, 9): seek to offset 0 instead.
          start: mode.name === "detected" ? "beginning" : 0,
          expect: counts,
          config,
          // kafka-python never gets zstd records (see the zstd test): do not wait long for them.
          ...(codec === "zstd" ? { timeout_s: 1.5 } : {}),
        }]);
      }
    }
    await runBatches(perMode);
    // What a modern producer wrote, read through old Fetch versions (down-conversion), and the
    // reverse (what an old producer wrote, read through the current Fetch).
    const ops: Op[] = [];
    ops.push(["consume detected gzip as 0.10.1", {
      op: "consume",
      topic: "kp-detected-gzip",
      partitions: [0, 1, 2],
      expect: counts,
      config: { api_version: [0, 10, 1] },
    }]);
    ops.push(["consume detected zstd as 0.9", {
      op: "consume",
      topic: "kp-detected-zstd",
      partitions: [0, 1, 2],
      start: 0,
      expect: counts,
      config: { api_version: [0, 9] },
      timeout_s: 1.5,
    }]);
    ops.push(["consume 0.9 lz4 as detected", {
      op: "consume",
      topic: "kp-0.9-lz4",
      partitions: [0, 1, 2],
      start: 0,
      expect: counts,
    }]);
    ops.push(["consume detected none from 200", {
      op: "consume",
      topic: "kp-detected-none",
      partitions: [2],
      start: 200,
      expect: { 2: counts[2]! - 200 },
    }]);
    ops.push(["offsets", {
      op: "offsets",
      topic: "kp-detected-none",
      partitions: [0, 1, 2],
      ts: records[600]!.timestamp,
    }]);

    const [cross, rest] = [ops.slice(0, 2), ops.slice(2)];
    await runBatches([cross, rest]);
  });

  after(async () => {
    await broker?.[Symbol.asyncDispose]();
  });

  test("kafka-python detects broker version 2.5 from ApiVersions and uses Produce v7 and Fetch v4", () => {
    const p = result<ProduceResult>("produce detected none");
    // Its probe table's top: DescribeAcls v2 in the window means 2.5 (the newest it knows).
    assert.deepEqual(p.api_version, [2, 5, 0]);
    assert.ok(p.requests.includes("ProduceRequest_v7"), p.requests.join(", "));
    const c = result<ConsumeResult>("consume detected none");
    assert.ok(c.requests.includes("FetchRequest_v4"), c.requests.join(", ")); // its highest
  });

  test("api_version=(0, 10, 1) sends Produce v2 and Fetch v3; (0, 9) sends Produce v1 and Fetch v1", () => {
    assert.ok(result<ProduceResult>("produce 0.10.1 none").requests.includes("ProduceRequest_v2"));
    assert.ok(result<ConsumeResult>("consume 0.10.1 none").requests.includes("FetchRequest_v3"));
    assert.ok(result<ProduceResult>("produce 0.9 none").requests.includes("ProduceRequest_v1"));
    assert.ok(result<ConsumeResult>("consume 0.9 none").requests.includes("FetchRequest_v1"));
  });

  for (const mode of MODES) {
    for (const codec of mode.codecs) {
      test(`KafkaProducer (${mode.name}, ${codec}) gets every record acknowledged at its offset`, () => {
        const r = result<ProduceResult>(`produce ${mode.name} ${codec}`);
        const next = [0, 0, 0];
        r.reports.forEach((rep, i) => {
          assert.equal(rep.err, null, `record ${i}: ${rep.err}`);
          const want = records[i]!.partition;
          assert.deepEqual([rep.p, rep.o], [want, next[want]!++], `record ${i}: partition and offset`);
        });
        assert.equal(r.reports.length, records.length);
      });

      if (codec === "zstd") continue; // judged by the zstd tests below
      test(`KafkaConsumer (${mode.name}) reads back the ${codec} records byte-exact and in order`, () => {
        const r = result<ConsumeResult>(`consume ${mode.name} ${codec}`);
        assert.equal(r.timed_out, false, `read only ${r.records.length} records`);
        const got = fromWire(r.records).sort((a, b) => a.partition - b.partition || a.offset - b.offset);
        const sent = mode.name === "detected" ? records : noHeaders(records);
        assertRoundTrip(got, sent, { timestamps: mode.name !== "0.9", label: `${mode.name} ${codec}` });
        if (mode.name === "0.9") {
          assert.ok(r.records.every((m) => m.ts === -1 || m.ts === null), "message format v0 has no timestamps");
        }
      });
    }
  }

  test("records written as RecordBatch v2 read through Fetch v3 lose their headers and keep their timestamps", () => {
    const r = result<ConsumeResult>("consume detected gzip as 0.10.1");
    assert.equal(r.timed_out, false, `read only ${r.records.length} records`);
    assert.ok(r.requests.includes("FetchRequest_v3"), r.requests.join(", "));
    const got = fromWire(r.records).sort((a, b) => a.partition - b.partition || a.offset - b.offset);
    assertRoundTrip(got, noHeaders(records), { timestamps: true });
  });

  test("zstd records fetched with Fetch v4 (what kafka-python 2.0.2 sends) get UNSUPPORTED_COMPRESSION_TYPE, as from Kafka", () => {
    // kafka-python 2.0.2 produces zstd with Produce v7 but fetches with v4; Kafka answers
    // UNSUPPORTED_COMPRESSION_TYPE (76) to Fetch < v10 for zstd data (KIP-110), which this client
    // does not know and logs as an unknown error. So it cannot read its own zstd records from Kafka
    // either. confluent-kafka reads them below.
    const r = result<ConsumeResult>("consume detected zstd");
    assert.ok(r.requests.includes("FetchRequest_v4"), r.requests.join(", "));
    assert.deepEqual([r.records.length, r.error_codes], [0, [76]]);
  });

  test("zstd records fetched with Fetch v1 get UNSUPPORTED_COMPRESSION_TYPE too (no down-conversion)", () => {
    const r = result<ConsumeResult>("consume detected zstd as 0.9");
    assert.deepEqual([r.records.length, r.error_codes], [0, [76]]);
  });

  test("the zstd records kafka-python wrote read back byte-exact through confluent-kafka (Fetch v11)", {
    skip: CONFLUENT_MISSING,
  }, async () => {
    const got = await readWithConfluent(broker, "kp-detected-zstd", [0, 1, 2]);
    assertRoundTrip(got, records, { timestamps: true });
  });

  test("records written as message format v0 (lz4, old framing) read through the current Fetch have no timestamp", () => {
    const r = result<ConsumeResult>("consume 0.9 lz4 as detected");
    assert.equal(r.timed_out, false, `read only ${r.records.length} records`);
    const got = fromWire(r.records).sort((a, b) => a.partition - b.partition || a.offset - b.offset);
    assertRoundTrip(got, noHeaders(records));
    assert.deepEqual([...new Set(r.records.map((m) => m.ts))], [-1], "up-converted v0 messages carry timestamp -1");
  });

  test("KafkaConsumer.seek(tp, 200) starts at offset 200", () => {
    const r = result<ConsumeResult>("consume detected none from 200");
    assert.equal(r.timed_out, false, `read only ${r.records.length} records`);
    assertRoundTrip(fromWire(r.records), forPartition(records, 2).slice(200), { firstOffset: 200, timestamps: true });
  });

  test("beginning_offsets(), end_offsets() and offsets_for_times() answer as Kafka does", () => {
    const r = result<OffsetsResult>("offsets");
    assert.deepEqual(r.beginning, [0, 0, 0]);
    assert.deepEqual(r.end, [0, 1, 2].map((p) => counts[p]));
    // Record 600 goes to partition 0 at offset 200; partitions 1 and 2 next hold records 601, 602.
    const ts = records[600]!.timestamp;
    assert.deepEqual(r.for_times, [[200, ts], [200, ts + 1], [200, ts + 2]]);
  });
});
