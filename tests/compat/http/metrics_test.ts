/**
 * The HTTP plane end to end: `kbin serve --http 127.0.0.1:0` with Basic authentication on,
 * kcat (librdkafka) producing and consuming in a group that commits, then `/metrics` scraped and
 * parsed by Prometheus' own Python parser (Debian's python3-prometheus-client), in the text
 * format and in OpenMetrics. The lag it reports must be what `kbin group describe` computes for
 * the same group; `/healthz` and `/readyz` answer without credentials, `/metrics` only with a
 * SCRAM user's.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type BrokerProcess, BUN, MAIN, run, startBrokerProcess } from "../../support/broker_process.ts";
import { createTopic, kcatMissing, PYTHON, pythonMissing, waitFor } from "../shared/kbin.ts";

const MISSING = kcatMissing() || pythonMissing("prometheus_client");
const TOPIC = "http-orders";
const GROUP = "http-billing";
const PASSWORD = "alice-secret";
const AUTH = `Basic ${btoa(`alice:${PASSWORD}`)}`;
/** What Prometheus 2.x/3.x sends when scraping. */
const PROMETHEUS_ACCEPT =
  "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

/** Parses exposition text with prometheus_client; each sample as [name, labels, value]. */
const PARSER = `
import json, sys
fmt = sys.argv[1]
if fmt == "openmetrics":
    from prometheus_client.openmetrics.parser import text_string_to_metric_families
else:
    from prometheus_client.parser import text_string_to_metric_families
out = []
for family in text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        out.append([s.name, s.labels, s.value, family.type])
print(json.dumps(out))
`;

type ParsedSample = [name: string, labels: Record<string, string>, value: number, type: string];

async function parse(text: string, format: "text" | "openmetrics"): Promise<ParsedSample[]> {
  const r = await run(PYTHON, ["-c", PARSER, format], { input: text, timeoutMs: 30_000 });
  assert.equal(r.code, 0, `prometheus_client could not parse the ${format} exposition:\n${r.stderr}`);
  return JSON.parse(r.stdout) as ParsedSample[];
}

function value(samples: ParsedSample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const hit = samples.find(([n, l]) => n === name && Object.entries(labels).every(([k, v]) => l[k] === v));
  return hit?.[2];
}

interface DescribeJson {
  totalLag: number;
  partitions: {
    topic: string;
    partition: number;
    committedOffset: number | null;
    logEndOffset: number | null;
    lag: number | null;
  }[];
}

describe(
  "kbin serve --http: health, Basic authentication and /metrics read by Prometheus' parser",
  { skip: MISSING },
  () => {
    let broker: BrokerProcess;
    let dir: string;
    let url: string;
    let consumer: ChildProcess | null = null;

    const kbin = (args: string[], input?: string) =>
      run(BUN, [MAIN, ...args, "-b", broker.bootstrap], { timeoutMs: 30_000, ...(input ? { input } : {}) });

    async function describeGroup(): Promise<DescribeJson> {
      const r = await kbin(["group", "describe", GROUP, "--json"]);
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(r.stdout) as DescribeJson;
    }

    async function produce(partition: number, values: string[]): Promise<void> {
      const r = await run("kcat", ["-P", "-b", broker.bootstrap, "-t", TOPIC, "-p", String(partition)], {
        input: values.join("\n") + "\n",
        timeoutMs: 30_000,
      });
      assert.equal(r.code, 0, `kcat -P failed:\n${r.stderr}`);
    }

    async function scrape(accept?: string): Promise<Response> {
      return await fetch(`${url}/metrics`, { headers: { authorization: AUTH, ...(accept ? { accept } : {}) } });
    }

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), "kbin-http-"));
      broker = await startBrokerProcess({
        dataDir: dir,
        args: [
          "--http",
          "127.0.0.1:0",
          "--set",
          "kbin.http.authentication=basic",
          "--set",
          "group.initial.rebalance.delay.ms=0",
          "--set",
          "connection.failed.authentication.delay.ms=0",
        ],
      });
      const m = /Listening http=(http:\/\/127\.0\.0\.1:\d+)/.exec(broker.log());
      assert.ok(m, `no HTTP listener in the log:\n${broker.log()}`);
      url = m[1]!;
      const added = await kbin(["user", "add", "alice", "--password-stdin"], PASSWORD + "\n");
      assert.equal(added.code, 0, added.stderr);
      await createTopic(broker, TOPIC, { partitions: 2 });
    });
    after(async () => {
      consumer?.kill("SIGKILL");
      await broker?.[Symbol.asyncDispose]();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    test("/healthz and /readyz answer 200 without credentials", async () => {
      const health = await fetch(`${url}/healthz`);
      assert.equal(health.status, 200);
      assert.deepEqual(await health.json(), { status: "ok" });
      const ready = await fetch(`${url}/readyz`);
      assert.equal(ready.status, 200);
      assert.deepEqual(await ready.json(), { status: "ready", phase: "ready" });
    });

    test("/metrics answers 401 with a Basic challenge without or with wrong credentials, 200 with a SCRAM user's", async () => {
      for (const headers of [{}, { authorization: `Basic ${btoa("alice:wrong")}` }]) {
        const r = await fetch(`${url}/metrics`, { headers });
        assert.equal(r.status, 401);
        assert.equal(r.headers.get("www-authenticate"), 'Basic realm="kbin", charset="UTF-8"');
        await r.body?.cancel();
      }
      const r = await scrape();
      assert.equal(r.status, 200);
      assert.equal(r.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
      await r.body?.cancel();
    });

    test("a kcat group's lag on /metrics is what kbin group describe reports, in both formats", async () => {
      await produce(0, ["a1", "a2", "a3", "a4", "a5"]);
      await produce(1, ["b1", "b2", "b3"]);
      // A group member that reads everything and commits every 100 ms, then leaves.
      consumer = spawn("kcat", [
        "-b",
        broker.bootstrap,
        "-G",
        GROUP,
        "-u",
        "-q",
        "-X",
        "auto.offset.reset=earliest",
        "-X",
        "auto.commit.interval.ms=100",
        TOPIC,
      ], { stdio: ["ignore", "ignore", "pipe"] });
      const exited = new Promise((resolve) => consumer!.on("exit", resolve));
      await waitFor("the group to commit both partitions to their end", async () => {
        const d = await describeGroup();
        return d.partitions.length === 2 && d.partitions.every((p) => p.committedOffset === p.logEndOffset)
          ? true
          : undefined;
      }, 30_000);
      consumer.kill("SIGTERM");
      await exited;
      consumer = null;
      // Four more records nobody consumes: lag 4 on partition 0, 0 on partition 1.
      await produce(0, ["a6", "a7", "a8", "a9"]);
      const described = await describeGroup();
      assert.equal(described.totalLag, 4);

      const scraped = await scrape();
      const text = await scraped.text();
      const samples = await parse(text, "text");
      for (const p of described.partitions) {
        const labels = { consumergroup: GROUP, topic: TOPIC, partition: String(p.partition) };
        assert.equal(value(samples, "kafka_consumergroup_lag", labels), p.lag, `lag of partition ${p.partition}`);
        assert.equal(value(samples, "kafka_consumergroup_current_offset", labels), p.committedOffset);
        assert.equal(
          value(samples, "kafka_topic_partition_current_offset", { topic: TOPIC, partition: String(p.partition) }),
          p.logEndOffset,
        );
      }
      assert.equal(value(samples, "kafka_consumergroup_lag_sum", { consumergroup: GROUP, topic: TOPIC }), 4);
      assert.equal(value(samples, "kbin_topic_records_in_total", { topic: TOPIC }), 12);
      assert.ok((value(samples, "kbin_topic_bytes_in_total", { topic: TOPIC }) ?? 0) > 12 * 2);
      assert.ok((value(samples, "kbin_topic_records_out_total", { topic: TOPIC }) ?? 0) >= 8);
      assert.ok((value(samples, "kbin_kafka_requests_total", { api: "Produce" }) ?? 0) >= 3);
      assert.ok((value(samples, "kbin_kafka_requests_total", { api: "OffsetCommit" }) ?? 0) >= 1);
      assert.ok((value(samples, "kbin_kafka_request_duration_seconds_count", { api: "Fetch" }) ?? 0) >= 1);
      // kcat produces with acks=all: each batch waited for a log datasync.
      assert.ok((value(samples, "kbin_storage_fsync_duration_seconds_count", { kind: "log" }) ?? 0) >= 1);
      assert.ok((value(samples, "kbin_storage_fsync_duration_seconds_count", { kind: "journal" }) ?? 0) >= 1);
      assert.ok((value(samples, "kbin_group_rebalances_total", { type: "classic" }) ?? 0) >= 1);
      assert.equal(value(samples, "kafka_topic_partitions", { topic: TOPIC }), 2);
      assert.equal(value(samples, "kbin_ready"), 1);
      assert.ok((value(samples, "process_resident_memory_bytes") ?? 0) > 0);
      assert.equal(value(samples, "kbin_build_info", { runtime: "bun" }), 1);

      // Prometheus' Accept header gets OpenMetrics, which its strict parser accepts (# EOF, _total).
      const om = await scrape(PROMETHEUS_ACCEPT);
      assert.equal(om.headers.get("content-type"), "application/openmetrics-text; version=1.0.0; charset=utf-8");
      const omText = await om.text();
      assert.ok(omText.endsWith("# EOF\n"));
      const omSamples = await parse(omText, "openmetrics");
      for (const p of described.partitions) {
        const labels = { consumergroup: GROUP, topic: TOPIC, partition: String(p.partition) };
        assert.equal(value(omSamples, "kafka_consumergroup_lag", labels), p.lag);
      }
      assert.equal(value(omSamples, "kbin_topic_records_in_total", { topic: TOPIC }), 12);
      assert.equal(omSamples.find(([n]) => n === "kbin_build_info")?.[3], "info");
    });
  },
);
