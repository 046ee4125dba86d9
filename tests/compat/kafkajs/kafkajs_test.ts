/**
 * KafkaJS 2.x admin client against `kbin serve`. KafkaJS speaks old versions (CreateTopics v3,
 * DeleteTopics v1, Metadata v6, CreatePartitions v1), all inside kbin's windows.
 * Covered and knowingly skipped: ALLOWLIST.md; gaps: FINDINGS.md.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { type Admin, Kafka, type LogEntry, logLevel } from "kafkajs";
import { type BrokerProcess, startBrokerProcess } from "../../support/broker_process.ts";
import { clusterInfo } from "../../support/cluster_info.ts";
import { rejection } from "../shared/kbin.ts";

/** Every log entry KafkaJS writes, so failures can show what the client saw. */
const logs: LogEntry[] = [];

function logTail(n = 10): string {
  return logs.slice(-n).map((e) => `${logLevel[e.level]} ${e.log.message} ${JSON.stringify(e.log)}`).join("\n");
}

describe("KafkaJS admin", () => {
  let broker: BrokerProcess;
  let admin: Admin;
  /** Fails at once instead of retrying retriable errors (UNKNOWN_TOPIC_OR_PARTITION backs off ~17 s). */
  let noRetry: Admin;

  before(async () => {
    broker = await startBrokerProcess();
    const options = {
      brokers: [broker.bootstrap],
      clientId: "kbin-compat",
      logLevel: logLevel.DEBUG,
      logCreator: () => (entry: LogEntry) => void logs.push(entry),
    };
    admin = new Kafka(options).admin();
    noRetry = new Kafka({ ...options, retry: { retries: 0 } }).admin();
    await admin.connect();
    await noRetry.connect();
  });
  after(async () => {
    await admin?.disconnect();
    await noRetry?.disconnect();
    await broker?.[Symbol.asyncDispose]();
  });

  test("admin.createTopics() creates a topic with numPartitions and configEntries and waits for leaders", async () => {
    const created = await admin.createTopics({
      topics: [{
        topic: "kj-orders",
        numPartitions: 3,
        replicationFactor: 1,
        configEntries: [{ name: "cleanup.policy", value: "compact" }, { name: "retention.ms", value: "1000" }],
      }],
      waitForLeaders: true,
      timeout: 10_000,
    });
    assert.equal(created, true, logTail());
    const md = await admin.fetchTopicMetadata({ topics: ["kj-orders"] });
    assert.equal(md.topics[0]?.partitions.length, 3);
  });

  test("admin.createTopics({ validateOnly: true }) succeeds and creates nothing", async () => {
    const ok = await admin.createTopics({
      validateOnly: true,
      waitForLeaders: false,
      topics: [{ topic: "kj-validated", numPartitions: 2 }],
    });
    assert.equal(ok, true, logTail());
    assert.ok(!(await admin.listTopics()).includes("kj-validated"), "validateOnly created kj-validated");
  });

  test("admin.createTopics({ validateOnly: true }) with waitForLeaders fails UNKNOWN_TOPIC_OR_PARTITION, as against Kafka", async () => {
    // KafkaJS waits for leaders with Metadata v6, allow_auto_topic_creation=false: the broker must
    // answer UNKNOWN_TOPIC_OR_PARTITION and must not create the topic.
    const err = await rejection(noRetry.createTopics({
      validateOnly: true,
      waitForLeaders: true,
      timeout: 5_000,
      topics: [{ topic: "kj-validated-wait", numPartitions: 2 }],
    }));
    assert.equal(err.type, "UNKNOWN_TOPIC_OR_PARTITION", String(err));
    assert.ok(!(await admin.listTopics()).includes("kj-validated-wait"), "the Metadata request created the topic");
  });

  test("admin.createTopics() resolves false for an existing topic (KafkaJS hides TOPIC_ALREADY_EXISTS)", async () => {
    assert.equal(await admin.createTopics({ topics: [{ topic: "kj-orders" }] }), false);
    const last = logs.findLast((e) => e.log.message?.startsWith("Response CreateTopics"));
    assert.equal(last?.log.error, "Topic creation errors", logTail());
  });

  test("admin.createTopics() rejects with each topic's Kafka error type", async () => {
    const err = await rejection(noRetry.createTopics({
      topics: [
        { topic: "kj-orders" },
        { topic: "kj-rf3", replicationFactor: 3 },
        { topic: "kj bad name!" },
        { topic: "kj-bad-config", configEntries: [{ name: "cleanup.policy", value: "sideways" }] },
        { topic: "kj-zero", numPartitions: 0 },
      ],
    }));
    assert.equal(err.name, "KafkaJSAggregateError", String(err));
    const byTopic = Object.fromEntries((err.errors as { topic: string; type: string }[]).map((e) => [e.topic, e.type]));
    assert.deepEqual(byTopic, {
      "kj-orders": "TOPIC_ALREADY_EXISTS",
      "kj-rf3": "INVALID_REPLICATION_FACTOR",
      "kj bad name!": "INVALID_TOPIC_EXCEPTION",
      "kj-bad-config": "INVALID_CONFIG",
      "kj-zero": "INVALID_PARTITIONS",
    });
    const topics = await admin.listTopics();
    const failed = ["kj-rf3", "kj bad name!", "kj-bad-config", "kj-zero"];
    assert.deepEqual(topics.filter((t) => failed.includes(t)), [], "a failed topic was created");
  });

  test("admin.createTopics() with replicaAssignment places each partition; an unknown broker is INVALID_REPLICA_ASSIGNMENT", async () => {
    const created = await admin.createTopics({
      topics: [{
        topic: "kj-assigned",
        replicaAssignment: [{ partition: 0, replicas: [1] }, { partition: 1, replicas: [1] }],
      }],
    });
    assert.equal(created, true, logTail());
    const { topics } = await admin.fetchTopicMetadata({ topics: ["kj-assigned"] });
    assert.equal(topics[0]?.partitions.length, 2);
    const err = await rejection(noRetry.createTopics({
      topics: [{ topic: "kj-misassigned", replicaAssignment: [{ partition: 0, replicas: [2] }] }],
    }));
    assert.deepEqual(err.errors?.map((e: { type: string }) => e.type), ["INVALID_REPLICA_ASSIGNMENT"], String(err));
  });

  test("admin.createTopics() refuses a name that collides with an existing one through '.' and '_'", async () => {
    assert.equal(await admin.createTopics({ topics: [{ topic: "kj.collide" }] }), true);
    const err = await rejection(noRetry.createTopics({ topics: [{ topic: "kj_collide" }] }));
    assert.deepEqual(err.errors?.map((e: { type: string }) => e.type), ["INVALID_TOPIC_EXCEPTION"], String(err));
  });

  test("admin.listTopics() lists created topics", async () => {
    await admin.createTopics({ topics: [{ topic: "kj-listed" }] });
    const topics = await admin.listTopics();
    assert.ok(topics.includes("kj-orders") && topics.includes("kj-listed"), topics.join(", "));
  });

  test("admin.fetchTopicMetadata() gives each partition's leader, replicas and ISR", async () => {
    const { topics } = await admin.fetchTopicMetadata({ topics: ["kj-orders"] });
    assert.equal(topics.length, 1);
    assert.equal(topics[0]!.name, "kj-orders");
    const parts = [...topics[0]!.partitions].sort((a, b) => a.partitionId - b.partitionId);
    assert.deepEqual(
      parts.map((p) => ({
        id: p.partitionId,
        error: p.partitionErrorCode,
        leader: p.leader,
        r: p.replicas,
        isr: p.isr,
      })),
      [0, 1, 2].map((id) => ({ id, error: 0, leader: 1, r: [1], isr: [1] })),
    );
  });

  test("admin.fetchTopicMetadata() on a missing topic rejects with UNKNOWN_TOPIC_OR_PARTITION", async () => {
    const err = await rejection(noRetry.fetchTopicMetadata({ topics: ["kj-missing"] }));
    assert.equal(err.type ?? err.cause?.type, "UNKNOWN_TOPIC_OR_PARTITION", String(err));
    assert.ok(!(await admin.listTopics()).includes("kj-missing"), "fetchTopicMetadata created the topic");
  });

  test("admin.createPartitions() grows a topic from 3 to 5 partitions", async () => {
    await admin.createPartitions({ topicPartitions: [{ topic: "kj-orders", count: 5 }] });
    const { topics } = await admin.fetchTopicMetadata({ topics: ["kj-orders"] });
    assert.equal(topics[0]?.partitions.length, 5);
  });

  test("admin.createPartitions() to fewer partitions rejects with INVALID_PARTITIONS", async () => {
    const err = await rejection(noRetry.createPartitions({ topicPartitions: [{ topic: "kj-orders", count: 2 }] }));
    assert.equal(err.type ?? err.cause?.type, "INVALID_PARTITIONS", String(err));
  });

  test("admin.describeCluster() gives the broker, the controller and the cluster id", async () => {
    const cluster = await admin.describeCluster();
    assert.deepEqual(cluster.brokers, [{ nodeId: 1, host: broker.host, port: broker.port }]);
    assert.equal(cluster.controller, 1);
    assert.equal(cluster.clusterId, (await clusterInfo(broker.bootstrap)).clusterId);
    assert.match(cluster.clusterId, /^[A-Za-z0-9_-]{22}$/);
  });

  test("admin.deleteTopics() deletes a topic", async () => {
    await admin.deleteTopics({ topics: ["kj-listed"], timeout: 5_000 });
    assert.ok(!(await admin.listTopics()).includes("kj-listed"));
  });

  test("admin.deleteTopics() on a missing topic rejects with UNKNOWN_TOPIC_OR_PARTITION", async () => {
    const err = await rejection(noRetry.deleteTopics({ topics: ["kj-missing"], timeout: 5_000 }));
    assert.equal(err.type ?? err.cause?.type, "UNKNOWN_TOPIC_OR_PARTITION", String(err));
  });

  test("KafkaJS negotiated only versions kbin serves", () => {
    const used = new Set<string>();
    for (const e of logs) {
      const m = /^Request (\w+)\(key: \d+, version: (\d+)\)$/.exec(e.log.message ?? "");
      if (m) used.add(`${m[1]} v${m[2]}`);
    }
    assert.deepEqual([...used].sort(), [
      "ApiVersions v2",
      "CreatePartitions v1",
      "CreateTopics v3",
      "DeleteTopics v1",
      "Metadata v6",
    ]);
    const unsupported = logs.filter((e) => /UNSUPPORTED_VERSION|Connection error|closed/i.test(JSON.stringify(e.log)));
    assert.deepEqual(unsupported.map((e) => e.log), []);
  });
});
