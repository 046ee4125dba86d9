/**
 * `/metrics` scrape cost with many partitions: one kbin (`--http`) on file: with TOPICS topics of
 * PARTITIONS partitions each (1,000 by default), a record in every partition and a consumer
 * group's committed offset for every partition (so the offset, size and lag families each carry
 * 1,000 series). Scrapes `/metrics` (text format and OpenMetrics) and, in the same run, `/healthz`
 * as the baseline of an HTTP round trip, alternating, SCRAPES times each; reports ms per scrape
 * (median, p99), bytes and series per scrape, and the /metrics to /healthz ratio.
 *
 * Usage: bash scripts/bench/run.sh metrics [SCRAPES] [PARTITIONS_PER_TOPIC] [TOPICS]
 *        (or bun scripts/bench/metrics.ts …; defaults 50, 100, 10)
 * Environment: KBIN_BIN (a kbin executable; default kbin from source on Bun).
 *
 * @module
 */

import { KafkaConnection } from "../../src/client/connection.ts";
import { PRODUCE_API } from "../../src/protocol/generated/00_produce.ts";
import { OFFSET_COMMIT_API } from "../../src/protocol/generated/08_offset_commit.ts";
import { CREATE_TOPICS_API } from "../../src/protocol/generated/19_create_topics.ts";
import { buildBatch } from "../../src/protocol/records/records.ts";
import { connect } from "../../src/runtime/bun/net.ts";
import { startHttpBroker } from "./http_broker.ts";

const SCRAPES = Number(process.argv[2] ?? 50);
const PARTITIONS = Number(process.argv[3] ?? 100);
const TOPICS = Number(process.argv[4] ?? 10);
const log = (s: string) => process.stderr.write(`metrics: ${s}\n`);
const OPENMETRICS = "application/openmetrics-text;version=1.0.0";

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

const broker = await startHttpBroker("metrics");
try {
  const { port, url } = broker;
  const conn = await KafkaConnection.open("127.0.0.1", port, { connect });
  const names = Array.from({ length: TOPICS }, (_, i) => `bench-metrics-${i}`);
  log(`creating ${TOPICS} topics of ${PARTITIONS} partitions`);
  const created = await conn.request(CREATE_TOPICS_API, 5, {
    topics: names.map((name) => ({
      name,
      numPartitions: PARTITIONS,
      replicationFactor: 1,
      assignments: [],
      configs: [],
    })),
    timeoutMs: 60_000,
  });
  for (const t of created.topics) if (t.errorCode !== 0) throw new Error(`CreateTopics ${t.name}: ${t.errorCode}`);
  const value = new TextEncoder().encode("x".repeat(100));
  const produced = await conn.request(PRODUCE_API, 9, {
    transactionalId: null,
    acks: 1,
    timeoutMs: 30_000,
    topicData: names.map((name) => ({
      name,
      partitionData: Array.from({ length: PARTITIONS }, (_, index) => ({
        index,
        records: buildBatch([{ value }, { value }]),
      })),
    })),
  });
  for (const t of produced.responses) {
    for (const p of t.partitionResponses) if (p.errorCode !== 0) throw new Error(`Produce ${t.name}: ${p.errorCode}`);
  }
  const committed = await conn.request(OFFSET_COMMIT_API, 8, {
    groupId: "bench-metrics",
    generationIdOrMemberEpoch: -1,
    memberId: "",
    groupInstanceId: null,
    topics: names.map((name) => ({
      name,
      partitions: Array.from({ length: PARTITIONS }, (_, partitionIndex) => ({
        partitionIndex,
        committedOffset: 1n,
        committedLeaderEpoch: -1,
        committedMetadata: "",
      })),
    })),
  });
  for (const t of committed.topics) {
    for (const p of t.partitions) if (p.errorCode !== 0) throw new Error(`OffsetCommit ${t.name}: ${p.errorCode}`);
  }
  conn.close();

  const time = async (path: string, accept?: string): Promise<{ ms: number; bytes: number; text: string }> => {
    const t0 = performance.now();
    const r = await fetch(`${url}${path}`, accept ? { headers: { accept } } : {});
    const text = await r.text();
    const ms = performance.now() - t0;
    if (r.status !== 200) throw new Error(`GET ${path}: ${r.status} ${text.slice(0, 200)}`);
    return { ms, bytes: new TextEncoder().encode(text).length, text };
  };
  // Warm up: the first scrape opens every partition; the JIT settles over a few more.
  for (let i = 0; i < 5; i++) await time("/metrics");
  const first = await time("/metrics");
  const lag = first.text.split("\n").filter((l) => l.startsWith("kafka_consumergroup_lag{")).length;
  if (lag !== TOPICS * PARTITIONS) {
    throw new Error(`expected ${TOPICS * PARTITIONS} kafka_consumergroup_lag series, got ${lag}`);
  }
  const series = first.text.split("\n").filter((l) => l !== "" && !l.startsWith("#")).length;
  const text: number[] = [];
  const om: number[] = [];
  const health: number[] = [];
  let omBytes = 0;
  let healthBytes = 0;
  log(`${SCRAPES} scrapes of each, alternating`);
  for (let i = 0; i < SCRAPES; i++) {
    text.push((await time("/metrics")).ms);
    const o = await time("/metrics", OPENMETRICS);
    om.push(o.ms);
    omBytes = o.bytes;
    const h = await time("/healthz");
    health.push(h.ms);
    healthBytes = h.bytes;
  }
  const h50 = pct(health, 50);
  const rows = [
    ["/metrics (text 0.0.4)", pct(text, 50), pct(text, 99), first.bytes, series],
    ["/metrics (OpenMetrics)", pct(om, 50), pct(om, 99), omBytes, series],
    ["/healthz (baseline)", h50, pct(health, 99), healthBytes, 0],
  ] as const;
  console.log(
    `\n${TOPICS * PARTITIONS} partitions (${TOPICS} topics), one group committed on each, ${SCRAPES} scrapes\n`,
  );
  console.log("| endpoint | ms per scrape (median) | p99 ms | bytes | samples | vs /healthz |");
  console.log("| --- | --- | --- | --- | --- | --- |");
  for (const [name, p50, p99, bytes, n] of rows) {
    console.log(
      `| ${name} | ${p50.toFixed(2)} | ${p99.toFixed(2)} | ${bytes.toLocaleString("en")} | ${
        n.toLocaleString("en")
      } | ${(p50 / h50).toFixed(1)}× |`,
    );
  }
} finally {
  await broker.stop();
}
