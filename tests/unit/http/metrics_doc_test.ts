/**
 * docs/metrics.md lists every metric: each family a busy embedded broker exposes is in its tables,
 * and every metric the Grafana dashboard (docs/grafana/kbin.json) queries is documented too.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { startBroker } from "../../../mod.ts";
import { KafkaConnection } from "../../../src/client/connection.ts";
import { PRODUCE_API } from "../../../src/protocol/generated/00_produce.ts";
import { FETCH_API } from "../../../src/protocol/generated/01_fetch.ts";
import { OFFSET_COMMIT_API } from "../../../src/protocol/generated/08_offset_commit.ts";
import { CREATE_TOPICS_API } from "../../../src/protocol/generated/19_create_topics.ts";
import { buildBatch } from "../../../src/protocol/records/records.ts";
import { connect } from "../../support/runtime.ts";

const ROOT = new URL("../../..", import.meta.url);
const DOC = readFileSync(new URL("docs/metrics.md", ROOT), "utf8");
/** Metric names in the first column of the doc's tables. */
const DOCUMENTED = new Set([...DOC.matchAll(/^\| `([a-z_:]+)`/gm)].map((m) => m[1]!));

/** The family a sample name belongs to, as the doc names it (counters with `_total`). */
function family(sample: string): string {
  return sample.replace(/_(bucket|sum|count)$/, "");
}

test("docs/metrics.md documents every family a busy broker exposes", async () => {
  await using broker = await startBroker({ http: true });
  const conn = await KafkaConnection.open("127.0.0.1", broker.port, { connect });
  try {
    await conn.request(CREATE_TOPICS_API, 5, {
      topics: [{ name: "doc", numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 1000,
    });
    const value = new TextEncoder().encode("v");
    for (const acks of [1, -1]) {
      await conn.request(PRODUCE_API, 9, {
        transactionalId: null,
        acks,
        timeoutMs: 1000,
        topicData: [{ name: "doc", partitionData: [{ index: 0, records: buildBatch([{ value }]) }] }],
      });
    }
    await conn.request(FETCH_API, 4, {
      replicaId: -1,
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1 << 20,
      isolationLevel: 0,
      topics: [{ topic: "doc", partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20 }] }],
    });
    await conn.request(OFFSET_COMMIT_API, 8, {
      groupId: "doc-group",
      generationIdOrMemberEpoch: -1,
      memberId: "",
      groupInstanceId: null,
      topics: [{
        name: "doc",
        partitions: [{ partitionIndex: 0, committedOffset: 1n, committedLeaderEpoch: -1, committedMetadata: "" }],
      }],
    });
    const text = await (await fetch(`${broker.httpUrl}/metrics`)).text();
    const exposed = new Set(
      text.split("\n").filter((l) => l !== "" && !l.startsWith("#")).map((l) => family(/^[a-z_:]+/.exec(l)![0])),
    );
    for (const name of ["kbin_topic_records_out_total", "kafka_consumergroup_lag", "kbin_produce_duration_seconds"]) {
      assert.ok(exposed.has(name), `${name} is not exposed`);
    }
    const missing = [...exposed].filter((n) => !DOCUMENTED.has(n));
    assert.deepEqual(missing, [], "exposed but not in docs/metrics.md");
  } finally {
    conn.close();
  }
});

test("every metric the Grafana dashboard queries is in docs/metrics.md", () => {
  const dashboard = JSON.parse(readFileSync(new URL("docs/grafana/kbin.json", ROOT), "utf8")) as {
    panels: { targets?: { expr: string }[] }[];
  };
  const used = new Set<string>();
  for (const p of dashboard.panels) {
    for (const t of p.targets ?? []) {
      for (const m of t.expr.matchAll(/\b((?:kbin|kafka|process)_[a-z_]+)/g)) used.add(family(m[1]!));
    }
  }
  assert.ok(used.size > 20);
  assert.deepEqual([...used].filter((n) => !DOCUMENTED.has(n)), []);
});
