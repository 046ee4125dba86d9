/**
 * DeleteRecords (key 21) from three clients nobody here wrote, on every persistent engine: KafkaJS
 * 2.2.4 `admin.deleteTopicRecords()` (v0), @platformatic/kafka 1.x `Admin.deleteRecords()` (v2,
 * whose answers carry each partition's low watermark and error) and Sarama 1.22
 * `ClusterAdmin.DeleteRecords()` (v0). After each, a consumer that starts from the beginning
 * starts at the new log start offset: a KafkaJS group consumer (`fromBeginning`), Sarama's
 * `OffsetOldest` and kcat's `-o beginning`; a fetch below it is OFFSET_OUT_OF_RANGE.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Admin as PlatformaticAdmin } from "@platformatic/kafka";
import { Kafka, logLevel } from "kafkajs";
import { type BrokerProcess, PERSISTENT_ENGINES, startBrokerProcess } from "../../support/broker_process.ts";
import { stopSharedPostgres } from "../../support/postgres.ts";
import { buildGoDriver, createTopic, goMissing, kcatMissing, rejection, run, runJsonDriver } from "../shared/kbin.ts";

/** An error as text (platformatic's errors hold bigints, which JSON.stringify refuses). */
const text = (e: unknown) => JSON.stringify(e, (_k, v) => (typeof v === "bigint" ? String(v) : v));

const SARAMA_DIR = fileURLToPath(new URL("../sarama/driver", import.meta.url));
const NO_SARAMA = goMissing("github.com/Shopify/sarama", "golang-github-shopify-sarama-dev");
const NO_KCAT = kcatMissing();

after(stopSharedPostgres);

for (const engine of PERSISTENT_ENGINES) {
  describe(`DeleteRecords through real clients on ${engine.name}:`, () => {
    let dataDir: string;
    let broker: BrokerProcess;
    let kafka: Kafka;

    before(async () => {
      dataDir = await mkdtemp(join(tmpdir(), "kbin-delete-records-"));
      broker = await startBrokerProcess({ dataDir, storage: await engine.url(dataDir) });
      kafka = new Kafka({ brokers: [broker.bootstrap], clientId: "kafkajs-dr", logLevel: logLevel.NOTHING });
    });
    after(async () => {
      await broker?.[Symbol.asyncDispose]();
      await rm(dataDir, { recursive: true, force: true });
    });

    /** Produces `n` records to each partition with KafkaJS (one batch each, acks=all). */
    async function fill(topic: string, partitions: number, n: number): Promise<void> {
      const producer = kafka.producer();
      await producer.connect();
      for (let partition = 0; partition < partitions; partition++) {
        await producer.send({
          topic,
          acks: -1,
          messages: Array.from({ length: n }, (_, i) => ({ partition, value: `${partition}-${i}` })),
        });
      }
      await producer.disconnect();
    }

    /**
     * A connected KafkaJS admin that has the topic's metadata: `deleteTopicRecords()` looks leaders
     * up in the metadata cache before loading it (KafkaJSTopicMetadataNotLoaded or "Could not find
     * the leader" otherwise), so callers load it first, as KafkaJS's own tests do.
     */
    async function kafkajsAdmin(topic: string) {
      const admin = kafka.admin();
      await admin.connect();
      await admin.fetchTopicOffsets(topic); // loads the topic into the admin's metadata cache
      return admin;
    }

    async function lowWatermarks(topic: string): Promise<Record<number, string>> {
      const admin = kafka.admin();
      await admin.connect();
      try {
        const offsets = await admin.fetchTopicOffsets(topic);
        return Object.fromEntries(offsets.map((o) => [o.partition, o.low]));
      } finally {
        await admin.disconnect();
      }
    }

    test("KafkaJS admin.deleteTopicRecords() moves the low watermark; a new group reads from there", async () => {
      await createTopic(broker, "dr-kafkajs", { partitions: 2 });
      await fill("dr-kafkajs", 2, 10);
      const admin = await kafkajsAdmin("dr-kafkajs");
      await admin.deleteTopicRecords({
        topic: "dr-kafkajs",
        partitions: [{ partition: 0, offset: "4" }, { partition: 1, offset: "-1" }],
      });
      await admin.disconnect();
      assert.deepEqual(await lowWatermarks("dr-kafkajs"), { 0: "4", 1: "10" });
      const consumer = kafka.consumer({ groupId: "dr-kafkajs-readers" });
      const seen: string[] = [];
      await consumer.connect();
      await consumer.subscribe({ topic: "dr-kafkajs", fromBeginning: true });
      const done = new Promise<void>((resolve) => {
        void consumer.run({
          eachMessage: async ({ partition, message }) => {
            seen.push(`${partition}@${message.offset}=${message.value}`);
            if (seen.length === 6) resolve();
          },
        });
      });
      await done;
      await consumer.disconnect();
      assert.deepEqual(seen.sort(), [4, 5, 6, 7, 8, 9].map((o) => `0@${o}=0-${o}`));
    });

    test("@platformatic/kafka Admin.deleteRecords() answers each low watermark, and Kafka's errors", async () => {
      await createTopic(broker, "dr-plat", { partitions: 2 });
      await createTopic(broker, "dr-plat-compacted", { partitions: 1, configs: { "cleanup.policy": "compact" } });
      await fill("dr-plat", 2, 10);
      const admin = new PlatformaticAdmin({ clientId: "platformatic-dr", bootstrapBrokers: [broker.bootstrap] });
      try {
        const answer = await admin.deleteRecords({
          topics: [{ name: "dr-plat", partitions: [{ partition: 0, offset: 7n }, { partition: 1, offset: 3n }] }],
        });
        assert.deepEqual(
          answer.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => [p.partition, p.lowWatermark]) })),
          [{ name: "dr-plat", partitions: [[0, 7n], [1, 3n]] }],
        );
        // Asking for less than the log start already deleted changes nothing.
        const lower = await admin.deleteRecords({
          topics: [{ name: "dr-plat", partitions: [{ partition: 0, offset: 2n }] }],
        });
        assert.equal(lower[0]!.partitions[0]!.lowWatermark, 7n);
        assert.deepEqual(await lowWatermarks("dr-plat"), { 0: "7", 1: "3" });
        // Beyond the high watermark, a compacted topic and an unknown topic: Kafka's errors
        // (OFFSET_OUT_OF_RANGE 1, POLICY_VIOLATION 44; an unknown topic the client finds in Metadata's
        // UNKNOWN_TOPIC_OR_PARTITION before it asks).
        const beyond = await rejection(admin.deleteRecords({
          topics: [{ name: "dr-plat", partitions: [{ partition: 0, offset: 11n }] }],
        }));
        assert.match(text(beyond.errors ?? beyond), /"errorCode":1\b/);
        const compacted = await rejection(admin.deleteRecords({
          topics: [{ name: "dr-plat-compacted", partitions: [{ partition: 0, offset: 0n }] }],
        }));
        assert.match(text(compacted.errors ?? compacted), /"errorCode":44\b/);
        const unknown = await rejection(admin.deleteRecords({
          topics: [{ name: "dr-nope", partitions: [{ partition: 0, offset: 0n }] }],
        }));
        assert.match(text(unknown.errors ?? unknown), /"errorCode":3\b|Unknown topic dr-nope/);
      } finally {
        await admin.close();
      }
    });

    test("Sarama ClusterAdmin.DeleteRecords(); Sarama's OffsetOldest then starts at the new log start", {
      skip: NO_SARAMA,
    }, async () => {
      await createTopic(broker, "dr-sarama", { partitions: 1 });
      await fill("dr-sarama", 1, 10);
      const bin = await buildGoDriver(SARAMA_DIR, "sarama-driver");
      const out = await runJsonDriver<{ results: Record<string, unknown>[] }>(bin, [], {
        bootstrap: broker.bootstrap,
        ops: [
          { op: "delete_records", topic: "dr-sarama", offsets: { "0": 6 }, version: "2.1.0" },
          { op: "consume", topic: "dr-sarama", partitions: [0], start: -2, expect: { "0": 4 }, version: "2.1.0" },
        ],
      }, { broker });
      const [deleted, consumed] = out.results as [
        { error: string | null },
        { records: { o: number }[]; errors: string[]; timed_out: boolean },
      ];
      assert.equal(deleted.error, null);
      assert.deepEqual(consumed.errors, []);
      assert.deepEqual(consumed.records.map((r) => r.o), [6, 7, 8, 9]);
      assert.deepEqual(await lowWatermarks("dr-sarama"), { 0: "6" });
    });

    test("kcat -o beginning starts at the log start; an offset below it resets by auto.offset.reset", {
      skip: NO_KCAT,
    }, async () => {
      await createTopic(broker, "dr-kcat", { partitions: 1 });
      await fill("dr-kcat", 1, 10);
      const admin = await kafkajsAdmin("dr-kcat");
      await admin.deleteTopicRecords({ topic: "dr-kcat", partitions: [{ partition: 0, offset: "8" }] });
      await admin.disconnect();
      const kcat = (...args: string[]) =>
        run("kcat", ["-b", broker.bootstrap, "-C", "-t", "dr-kcat", "-p", "0", "-e", "-f", "%o=%s\\n", ...args]);
      const beginning = await kcat("-o", "beginning");
      assert.equal(beginning.code, 0, beginning.stderr);
      assert.deepEqual(beginning.stdout.trim().split("\n"), ["8=0-8", "9=0-9"]);
      const below = await kcat("-o", "2", "-X", "auto.offset.reset=earliest");
      assert.equal(below.code, 0, below.stderr);
      assert.deepEqual(below.stdout.trim().split("\n"), ["8=0-8", "9=0-9"]);
    });

    test("the log start offset survives a kill -9 of the broker", async () => {
      // A broker of its own, so the one above stops gracefully (and logs the versions it served).
      const dir = await mkdtemp(join(tmpdir(), "kbin-delete-records-kill-"));
      let victim = await startBrokerProcess({ dataDir: dir, storage: await engine.url(dir) });
      try {
        await createTopic(victim, "dr-restart", { partitions: 1 });
        const k = new Kafka({ brokers: [victim.bootstrap], clientId: "kafkajs-dr-kill", logLevel: logLevel.NOTHING });
        const producer = k.producer();
        await producer.connect();
        await producer.send({
          topic: "dr-restart",
          acks: -1,
          messages: Array.from({ length: 10 }, () => ({ value: "v" })),
        });
        await producer.disconnect();
        let admin = k.admin();
        await admin.connect();
        await admin.fetchTopicOffsets("dr-restart");
        await admin.deleteTopicRecords({ topic: "dr-restart", partitions: [{ partition: 0, offset: "5" }] });
        await admin.disconnect();
        await victim.stop("SIGKILL");
        victim = await startBrokerProcess({ dataDir: dir, storage: await engine.url(dir) });
        admin = new Kafka({ brokers: [victim.bootstrap], clientId: "kafkajs-dr-kill", logLevel: logLevel.NOTHING })
          .admin();
        await admin.connect();
        const offsets = await admin.fetchTopicOffsets("dr-restart");
        await admin.disconnect();
        assert.deepEqual(offsets.map((o) => [o.partition, o.low, o.high]), [[0, "5", "10"]]);
      } finally {
        await victim[Symbol.asyncDispose]();
        await rm(dir, { recursive: true, force: true });
      }
    });
  });
}
