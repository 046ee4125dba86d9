/**
 * Retention through real clients, on every persistent engine: confluent-kafka-python (librdkafka
 * 2.0) writes records stamped an hour ago and records stamped now to topics with small segments
 * (`segment.bytes` 1024, one record per batch, so each batch is a segment of its own), and the
 * broker's retention pass (`log.retention.check.interval.ms` 250 here) removes old segments:
 * - by time: the segments whose newest record is older than `retention.ms` go although they were
 *   written a moment ago (Kafka judges by record timestamps); the recent ones stay;
 * - by size: the oldest go while the partition stays at or above `retention.bytes`;
 * - a `retention.ms` set on a live topic through KafkaJS's alterConfigs takes effect at the next
 *   pass, without a restart.
 * A consumer that lagged behind the new log start (librdkafka at offset 5 with
 * `auto.offset.reset=earliest`, kcat with the default `latest`) is reset by its policy.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { type BrokerProcess, PERSISTENT_ENGINES, startBrokerProcess } from "../../support/broker_process.ts";
import { stopSharedPostgres } from "../../support/postgres.ts";
import { createTopic, kcatMissing, pythonMissing, run, runConfluent, waitFor } from "../shared/kbin.ts";

const MISSING = pythonMissing("confluent_kafka");
const NO_KCAT = kcatMissing();
const HOUR = 3_600_000;
/** 2,000-byte values: one record per batch makes every batch larger than a 1,024-byte segment. */
const VALUE = Buffer.alloc(2000, "x").toString("base64");

after(stopSharedPostgres);

interface Report {
  p: number;
  o: number;
  err: unknown;
}

for (const engine of PERSISTENT_ENGINES) {
  describe(`retention through real clients on ${engine.name}:`, { skip: MISSING }, () => {
    let dataDir: string;
    let broker: BrokerProcess;

    before(async () => {
      dataDir = await mkdtemp(join(tmpdir(), "kbin-retention-"));
      broker = await startBrokerProcess({
        dataDir,
        storage: await engine.url(dataDir),
        args: ["--set", "log.retention.check.interval.ms=250"],
      });
    });
    after(async () => {
      await broker?.[Symbol.asyncDispose]();
      await rm(dataDir, { recursive: true, force: true });
    });

    /** Produces `count` records to partition 0, each its own batch, stamped `ts`. */
    async function produce(topic: string, count: number, ts: number): Promise<number[]> {
      const [r] = await runConfluent<{ reports: Report[]; flush_left: number }>(broker, [{
        op: "produce",
        topic,
        config: { "batch.num.messages": 1, "linger.ms": 0, "acks": "all" },
        records: Array.from({ length: count }, () => ({ p: 0, k: null, v: VALUE, h: [], ts })),
      }]);
      assert.equal(r!.flush_left, 0);
      for (const rep of r!.reports) assert.equal(rep.err, null, JSON.stringify(rep));
      return r!.reports.map((rep) => rep.o);
    }

    async function watermarks(topic: string): Promise<[number, number]> {
      const [r] = await runConfluent<{ watermarks: [number, number][] }>(broker, [
        { op: "watermarks", topic, partitions: [0] },
      ]);
      return r!.watermarks[0]!;
    }

    test("segments whose records are older than retention.ms go; a lagging consumer resets to the log start", async () => {
      await createTopic(broker, "ret-time", {
        partitions: 1,
        configs: { "segment.bytes": "1024", "retention.ms": "60000" },
      });
      // Written now, stamped an hour ago: expired at once by Kafka's rule. Then ten recent ones.
      const old = await produce("ret-time", 20, Date.now() - HOUR);
      const recent = await produce("ret-time", 10, Date.now());
      assert.deepEqual(old, Array.from({ length: 20 }, (_, i) => i));
      assert.deepEqual(recent, Array.from({ length: 10 }, (_, i) => 20 + i));
      // Passes run every 250 ms, maybe while the old records were still being written: wait for
      // the last of them to go, then check that nothing recent went.
      const w = await waitFor("the old segments to go", async () => {
        const w = await watermarks("ret-time");
        return w[0] >= 20 ? w : undefined;
      }, 10_000);
      await new Promise((r) => setTimeout(r, 600));
      assert.deepEqual(await watermarks("ret-time"), w);
      assert.deepEqual(w, [20, 30]);
      assert.match(broker.log(), /Deleted old log data topic=ret-time partition=0 segments=\d+ .*reason=retention\.ms/);
      // A consumer at offset 5 (behind the log start) resets by auto.offset.reset=earliest.
      const [lagging] = await runConfluent<{ records: { o: number }[]; errors: unknown[] }>(broker, [{
        op: "consume",
        topic: "ret-time",
        partitions: [0],
        start: 5,
        config: { "auto.offset.reset": "earliest" },
      }]);
      assert.deepEqual(lagging!.errors, []);
      assert.deepEqual(lagging!.records.map((r) => r.o), recent);
    });

    test("kcat behind the log start with the default auto.offset.reset (latest) jumps to the end", {
      skip: NO_KCAT,
    }, async () => {
      const r = await run("kcat", ["-b", broker.bootstrap, "-C", "-t", "ret-time", "-p", "0", "-o", "3", "-e"]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.trim(), "");
    });

    test("retention.bytes removes the oldest segments while the partition stays at or above it", async () => {
      await createTopic(broker, "ret-size", {
        partitions: 1,
        configs: { "segment.bytes": "1024", "retention.bytes": "5000" },
      });
      await produce("ret-size", 20, Date.now());
      // Each segment is one ~2,070-byte batch: Kafka keeps the fewest newest that hold 5,000 bytes, three.
      const w = await waitFor("the oldest segments to go", async () => {
        const w = await watermarks("ret-size");
        return w[0] >= 17 ? w : undefined;
      }, 10_000);
      await new Promise((r) => setTimeout(r, 600));
      assert.deepEqual(await watermarks("ret-size"), w);
      assert.deepEqual(w, [17, 20]);
      assert.match(
        broker.log(),
        /Deleted old log data topic=ret-size partition=0 segments=\d+ .*reason=retention\.bytes/,
      );
    });

    test("retention.ms set on a live topic through KafkaJS alterConfigs applies at the next pass", async () => {
      await createTopic(broker, "ret-live", { partitions: 1, configs: { "segment.bytes": "1024" } });
      await produce("ret-live", 5, Date.now() - HOUR);
      await produce("ret-live", 2, Date.now());
      // The default (seven days) keeps records stamped an hour ago.
      await new Promise((r) => setTimeout(r, 600));
      assert.deepEqual(await watermarks("ret-live"), [0, 7]);
      const admin = new Kafka({
        brokers: [broker.bootstrap],
        clientId: "kafkajs-ret-admin",
        logLevel: logLevel.NOTHING,
      })
        .admin();
      await admin.connect();
      await admin.alterConfigs({
        validateOnly: false,
        resources: [{
          type: 2,
          name: "ret-live",
          configEntries: [{ name: "segment.bytes", value: "1024" }, { name: "retention.ms", value: "600000" }],
        }],
      });
      await admin.disconnect();
      await waitFor("the change to apply", async () => {
        const w = await watermarks("ret-live");
        return w[0] === 5 ? w : undefined;
      }, 10_000);
    });
  });
}
