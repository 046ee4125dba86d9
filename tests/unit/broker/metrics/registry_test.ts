/**
 * The metrics registry, the two exposition formats and the scrape-time collectors: exact text
 * for small registries, Accept negotiation, escaping, histogram buckets, the per-partition series
 * cap, and the cheap helpers the request path uses (record counts from batch headers, error walk).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { silentLogger } from "../../../../src/broker/logger.ts";
import { batchRecordCount, BrokerMetrics, forEachErrorCode } from "../../../../src/broker/metrics/broker_metrics.ts";
import { clusterFamilies } from "../../../../src/broker/metrics/collectors.ts";
import { formatOpenMetrics, formatPrometheus, negotiateFormat } from "../../../../src/broker/metrics/exposition.ts";
import { type MetricFamily, MetricsRegistry } from "../../../../src/broker/metrics/registry.ts";
import { buildBatch } from "../../../../src/protocol/records/records.ts";
import { openMemoryStorage } from "../../../../src/storage/memory/engine.ts";

test("MetricsRegistry collects counters and gauges with labels, in registration order", async () => {
  const r = new MetricsRegistry();
  const c = r.counter("demo_requests", "Requests served", ["api"]);
  const g = r.gauge("demo_queue", "Queued items");
  c.labels("Produce").inc();
  c.labels("Produce").inc(2);
  c.labels("Fetch").inc();
  c.labels("Fetch").inc(-5); // a counter never goes down
  g.set(7);
  assert.equal(
    formatPrometheus(await r.collect()),
    [
      "# HELP demo_requests_total Requests served",
      "# TYPE demo_requests_total counter",
      'demo_requests_total{api="Produce"} 3',
      'demo_requests_total{api="Fetch"} 1',
      "# HELP demo_queue Queued items",
      "# TYPE demo_queue gauge",
      "demo_queue 7",
      "",
    ].join("\n"),
  );
});

test("MetricsRegistry refuses taken names, counters named with _total and bad label names", () => {
  const r = new MetricsRegistry();
  r.gauge("x", "");
  assert.throws(() => r.counter("x", ""), /taken/);
  assert.throws(() => r.counter("y_total", ""), /_total/);
  assert.throws(() => r.gauge("z", "", ["le"]), /label/);
  assert.throws(() => r.gauge("bad-name", ""), /valid metric name/);
  assert.throws(() => r.gauge("w", "", ["a"]).labels("1", "2"), /takes 1 label/);
});

test("Histogram buckets are cumulative, end with +Inf and carry _sum and _count", async () => {
  const r = new MetricsRegistry();
  const h = r.histogram("demo_seconds", "Latency", ["op"], [0.1, 1]);
  for (const v of [0.05, 0.1, 0.5, 3]) h.labels("read").observe(v);
  assert.equal(
    formatPrometheus(await r.collect()),
    [
      "# HELP demo_seconds Latency",
      "# TYPE demo_seconds histogram",
      'demo_seconds_bucket{op="read",le="0.1"} 2',
      'demo_seconds_bucket{op="read",le="1.0"} 3',
      'demo_seconds_bucket{op="read",le="+Inf"} 4',
      'demo_seconds_sum{op="read"} 3.65',
      'demo_seconds_count{op="read"} 4',
      "",
    ].join("\n"),
  );
});

test("formatOpenMetrics() names counter and info families without their suffix and ends with # EOF", () => {
  const families: MetricFamily[] = [
    {
      name: "a_requests",
      help: 'Say "hi"\\now',
      type: "counter",
      labelNames: ["k"],
      samples: [{ labels: ['x"y\n'], value: 1 }],
    },
    {
      name: "a_build_info",
      help: "Build",
      type: "info",
      labelNames: ["version"],
      samples: [{ labels: ["1"], value: 1 }],
    },
  ];
  assert.equal(
    formatOpenMetrics(families),
    [
      '# HELP a_requests Say \\"hi\\"\\\\now',
      "# TYPE a_requests counter",
      'a_requests_total{k="x\\"y\\n"} 1',
      "# HELP a_build Build",
      "# TYPE a_build info",
      'a_build_info{version="1"} 1',
      "# EOF",
      "",
    ].join("\n"),
  );
  // The text format keeps quotes in HELP as they are, and shows info families as gauges.
  assert.equal(
    formatPrometheus(families),
    [
      '# HELP a_requests_total Say "hi"\\\\now',
      "# TYPE a_requests_total counter",
      'a_requests_total{k="x\\"y\\n"} 1',
      "# HELP a_build_info Build",
      "# TYPE a_build_info gauge",
      'a_build_info{version="1"} 1',
      "",
    ].join("\n"),
  );
});

test("negotiateFormat() picks OpenMetrics only when the Accept header prefers it", () => {
  const prometheus =
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
  assert.equal(negotiateFormat(prometheus), "openmetrics");
  assert.equal(negotiateFormat("application/openmetrics-text"), "openmetrics");
  assert.equal(negotiateFormat(null), "prometheus");
  assert.equal(negotiateFormat("*/*"), "prometheus");
  assert.equal(negotiateFormat("text/plain;version=0.0.4"), "prometheus");
  assert.equal(negotiateFormat("application/openmetrics-text;version=2.0.0"), "prometheus");
  assert.equal(negotiateFormat("application/openmetrics-text;q=0.2,text/plain;q=0.9"), "prometheus");
  assert.equal(negotiateFormat("application/openmetrics-text;q=0"), "prometheus");
});

test("MetricsRegistry.collect() leaves out a failing collector and empty families", async () => {
  const r = new MetricsRegistry();
  r.gauge("unused", "never set");
  r.collector(() => {
    throw new Error("boom");
  });
  r.collector(() => [{ name: "ok", help: "", type: "gauge", labelNames: [], samples: [{ labels: [], value: 1 }] }]);
  const errors: unknown[] = [];
  assert.deepEqual((await r.collect((e) => errors.push(e))).map((f) => f.name), ["ok"]);
  assert.equal(errors.length, 1);
});

test("BrokerMetrics counts requests per API and version and errors by Kafka name", async () => {
  const m = new BrokerMetrics();
  m.request(0, 9, 0.002);
  m.request(0, 9, 0.004);
  m.request(1, 13, 0.5);
  m.error(0, 3);
  const text = formatPrometheus(await m.registry.collect());
  assert.match(text, /^kbin_kafka_requests_total\{api="Produce",version="9"\} 2$/m);
  assert.match(text, /^kbin_kafka_requests_total\{api="Fetch",version="13"\} 1$/m);
  assert.match(text, /^kbin_kafka_request_errors_total\{api="Produce",error="UNKNOWN_TOPIC_OR_PARTITION"\} 1$/m);
  assert.match(text, /^kbin_kafka_request_duration_seconds_count\{api="Produce",version="9"\} 2$/m);
});

test("batchRecordCount() sums the record counts of v2 batch headers without decoding records", () => {
  const enc = new TextEncoder();
  const one = buildBatch([{ key: null, value: enc.encode("a") }, { key: null, value: enc.encode("b") }]);
  const two = buildBatch([{ key: null, value: enc.encode("c") }]);
  const both = new Uint8Array(one.length + two.length);
  both.set(one);
  both.set(two, one.length);
  assert.equal(batchRecordCount(both), 3);
  assert.equal(batchRecordCount(both.subarray(0, one.length + 10)), 2, "a partial batch is not counted");
  assert.equal(batchRecordCount(new Uint8Array(0)), 0);
});

test("forEachErrorCode() finds top-level, per-topic and per-partition error codes", () => {
  const codes: number[] = [];
  forEachErrorCode({
    errorCode: 0,
    responses: [{ name: "t", errorCode: 0, partitions: [{ errorCode: 3 }, { errorCode: 0 }, { errorCode: 6 }] }],
    other: [{ errorCode: 41 }],
  }, (c) => codes.push(c));
  assert.deepEqual(codes, [3, 6, 41]);
});

async function storageWith(topics: Record<string, number>) {
  const storage = openMemoryStorage({
    clock: { now: () => Date.now() },
    logger: silentLogger,
    decompress: (_c, d) => d,
    logConfig: () => {
      throw new Error("unused");
    },
  });
  await storage.cluster.join({ nodeId: 1, host: "127.0.0.1", port: 9092, rack: null });
  for (const [name, partitions] of Object.entries(topics)) {
    const t = await storage.topics.create({ name, partitions });
    assert.ok(t.ok);
  }
  return storage;
}

test("clusterFamilies() reports offsets per partition and lag as high watermark less the committed offset", async () => {
  const storage = await storageWith({ orders: 2 });
  const topic = storage.topics.get("orders");
  assert.ok(topic.ok);
  const log = await storage.partition({ topicName: "orders", topicId: topic.value.id, partition: 0 });
  const enc = new TextEncoder();
  for (let i = 0; i < 3; i++) {
    const out = await log.append(buildBatch([{ key: null, value: enc.encode(`v${i}`) }, { key: null, value: null }]));
    assert.equal(out.kind, "appended");
    if (out.kind === "appended") await out.written;
  }
  const families = await clusterFamilies({
    storage,
    nodeId: 1,
    maxPartitionSeries: 100,
    groups: () => [{
      groupId: "billing",
      type: "classic",
      state: "Stable",
      members: 2,
      offsets: [{ topic: "orders", partition: 0, offset: 4 }, { topic: "orders", partition: 1, offset: 0 }],
    }],
  });
  const text = formatPrometheus(families);
  assert.match(text, /^kafka_topic_partitions\{topic="orders"\} 2$/m);
  assert.match(text, /^kafka_topic_partition_current_offset\{topic="orders",partition="0"\} 6$/m);
  assert.match(text, /^kafka_topic_partition_oldest_offset\{topic="orders",partition="0"\} 0$/m);
  assert.match(text, /^kafka_consumergroup_current_offset\{consumergroup="billing",topic="orders",partition="0"\} 4$/m);
  assert.match(text, /^kafka_consumergroup_lag\{consumergroup="billing",topic="orders",partition="0"\} 2$/m);
  assert.match(text, /^kafka_consumergroup_lag\{consumergroup="billing",topic="orders",partition="1"\} 0$/m);
  assert.match(text, /^kafka_consumergroup_lag_sum\{consumergroup="billing",topic="orders"\} 2$/m);
  assert.match(text, /^kafka_consumergroup_members\{consumergroup="billing"\} 2$/m);
  assert.match(text, /^kbin_metrics_aggregated\{family="partition"\} 0$/m);
  await storage.close();
});

test("clusterFamilies() aggregates partition-level families per topic beyond the series cap", async () => {
  const storage = await storageWith({ a: 3, b: 2 });
  const families = await clusterFamilies({
    storage,
    nodeId: 1,
    maxPartitionSeries: 4,
    groups: () => [{
      groupId: "g",
      type: "consumer",
      state: "Stable",
      members: 1,
      offsets: [{ topic: "a", partition: 0, offset: 0 }, { topic: "a", partition: 1, offset: 0 }],
    }],
  });
  const current = families.find((f) => f.name === "kafka_topic_partition_current_offset")!;
  assert.deepEqual(current.labelNames, ["topic"]);
  assert.equal(current.samples.length, 2);
  const text = formatPrometheus(families);
  assert.match(text, /^kbin_metrics_aggregated\{family="partition"\} 1$/m);
  // Two group series stay under the cap: still per partition.
  assert.match(text, /^kbin_metrics_aggregated\{family="consumergroup"\} 0$/m);
  assert.match(text, /^kafka_consumergroup_lag\{consumergroup="g",topic="a",partition="1"\} 0$/m);
  await storage.close();
});
