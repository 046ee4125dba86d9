/**
 * @platformatic/kafka 1.x Admin against `kbin serve`. It negotiates the newest versions
 * (CreateTopics v7, DeleteTopics v6, CreatePartitions v3, Metadata up to v12), so it checks the
 * flexible encodings and the v5+/v7 CreateTopics result fields.
 * Covered and knowingly skipped: ALLOWLIST.md; gaps: FINDINGS.md.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { Admin } from "@platformatic/kafka";
import { type BrokerProcess, startBrokerProcess } from "../../support/broker_process.ts";
import { clusterInfo } from "../../support/cluster_info.ts";

/** The Kafka error ids (`apiId`) found anywhere inside a (possibly nested) client error. */
function kafkaErrorIds(err: unknown): string[] {
  const e = err as { apiId?: string; errors?: unknown[] };
  return [...(e.apiId ? [e.apiId] : []), ...(e.errors ?? []).flatMap(kafkaErrorIds)];
}

/** Awaits a promise that must reject and returns the Kafka error ids inside the rejection. */
async function rejectionIds(p: Promise<unknown>): Promise<string[]> {
  try {
    const value = await p;
    assert.fail(`expected a rejection, got ${JSON.stringify(value)}`);
  } catch (err) {
    if (err instanceof assert.AssertionError) throw err;
    const ids = kafkaErrorIds(err);
    assert.ok(ids.length > 0, `no Kafka error inside: ${String(err)}`);
    return ids;
  }
}

/** Compares a client topic id (UUID text) with a broker one (base64url, as Kafka prints it). */
function uuidToBase64(uuid: string): string {
  return Buffer.from(uuid.replaceAll("-", ""), "hex").toString("base64url");
}

describe("@platformatic/kafka Admin", () => {
  let broker: BrokerProcess;
  let admin: Admin;
  before(async () => {
    broker = await startBrokerProcess();
    admin = new Admin({ clientId: "kbin-compat", bootstrapBrokers: [broker.bootstrap], retries: 0 });
  });
  after(async () => {
    await admin?.close();
    await broker?.[Symbol.asyncDispose]();
  });

  test("Admin.createTopics() creates a topic and returns its id, partitions, replicas and effective configs", async () => {
    const [created, ...rest] = await admin.createTopics({
      topics: ["pk-orders"],
      partitions: 3,
      replicas: 1,
      configs: [{ name: "cleanup.policy", value: "compact" }, { name: "retention.ms", value: "1000" }],
    });
    assert.deepEqual(rest, []);
    assert.ok(created);
    assert.equal(created.name, "pk-orders");
    assert.equal(created.partitions, 3);
    assert.equal(created.replicas, 1);
    assert.equal(created.configuration["cleanup.policy"], "compact");
    assert.equal(created.configuration["retention.ms"], "1000");
    assert.equal(created.configuration["segment.bytes"], "1073741824", "defaults are reported too (v5+)");
    const info = await clusterInfo(broker.bootstrap);
    assert.equal(uuidToBase64(created.id), info.topics.get("pk-orders")?.topicId, "v7 topic id matches Metadata");
  });

  test("Admin.createTopics() without partitions or replicas takes the broker defaults", async () => {
    const [created] = await admin.createTopics({ topics: ["pk-defaults"] });
    assert.equal(created?.partitions, 1);
    assert.equal(created?.replicas, 1);
  });

  test("Admin.createTopics() on an existing topic rejects with TOPIC_ALREADY_EXISTS", async () => {
    const ids = await rejectionIds(admin.createTopics({ topics: ["pk-orders"], partitions: 3, replicas: 1 }));
    assert.deepEqual(ids, ["TOPIC_ALREADY_EXISTS"]);
  });

  test("Admin.createTopics() with 3 replicas rejects with INVALID_REPLICATION_FACTOR", async () => {
    const ids = await rejectionIds(admin.createTopics({ topics: ["pk-rf3"], partitions: 1, replicas: 3 }));
    assert.deepEqual(ids, ["INVALID_REPLICATION_FACTOR"]);
  });

  test("Admin.createTopics() with manual assignments places each partition; an unknown broker is INVALID_REPLICA_ASSIGNMENT", async () => {
    const [created] = await admin.createTopics({
      topics: ["pk-assigned"],
      partitions: -1,
      replicas: -1,
      assignments: [{ partition: 0, brokers: [1] }, { partition: 1, brokers: [1] }],
    });
    assert.equal(created?.partitions, 2);
    assert.equal(created?.replicas, 1);
    const ids = await rejectionIds(admin.createTopics({
      topics: ["pk-misassigned"],
      partitions: -1,
      replicas: -1,
      assignments: [{ partition: 0, brokers: [5] }],
    }));
    assert.deepEqual(ids, ["INVALID_REPLICA_ASSIGNMENT"]);
    await admin.deleteTopics({ topics: ["pk-assigned"] });
  });

  test("Admin.listTopics() lists created topics", async () => {
    const topics = await admin.listTopics();
    assert.deepEqual(topics.filter((t) => t.startsWith("pk-")).sort(), ["pk-defaults", "pk-orders"]);
  });

  test("Admin.metadata() gives the cluster id, broker, controller and each partition's leader", async () => {
    const md = await admin.metadata({ topics: ["pk-orders"], forceUpdate: true });
    const info = await clusterInfo(broker.bootstrap);
    assert.equal(md.id, info.clusterId);
    assert.deepEqual([...md.brokers.entries()], [[1, { host: broker.host, port: broker.port, rack: null }]]);
    assert.equal(md.controllerId, 1);
    const t = md.topics.get("pk-orders");
    assert.ok(t, `no pk-orders in ${[...md.topics.keys()].join(", ")}`);
    assert.equal(t.partitionsCount, 3);
    assert.deepEqual(
      t.partitions.map((p) => ({ leader: p.leader, epoch: p.leaderEpoch, r: p.replicas, isr: p.isr })),
      [0, 1, 2].map(() => ({ leader: 1, epoch: 0, r: [1], isr: [1] })),
    );
  });

  test("Admin.createPartitions() grows a topic from 3 to 5 partitions", async () => {
    await admin.createPartitions({ topics: [{ name: "pk-orders", count: 5 }] });
    const md = await admin.metadata({ topics: ["pk-orders"], forceUpdate: true });
    assert.equal(md.topics.get("pk-orders")?.partitionsCount, 5);
  });

  test("Admin.createPartitions({ validateOnly: true }) changes nothing", async () => {
    await admin.createPartitions({ topics: [{ name: "pk-orders", count: 8 }], validateOnly: true });
    const md = await admin.metadata({ topics: ["pk-orders"], forceUpdate: true });
    assert.equal(md.topics.get("pk-orders")?.partitionsCount, 5);
  });

  test("Admin.createPartitions() to fewer partitions rejects with INVALID_PARTITIONS", async () => {
    const ids = await rejectionIds(admin.createPartitions({ topics: [{ name: "pk-orders", count: 2 }] }));
    assert.deepEqual(ids, ["INVALID_PARTITIONS"]);
  });

  test("Admin.deleteTopics() deletes topics", async () => {
    await admin.deleteTopics({ topics: ["pk-orders", "pk-defaults"] });
    const topics = await admin.listTopics();
    assert.deepEqual(topics.filter((t) => t.startsWith("pk-")), []);
  });

  test("Admin.deleteTopics() on a missing topic rejects with UNKNOWN_TOPIC_OR_PARTITION", async () => {
    const ids = await rejectionIds(admin.deleteTopics({ topics: ["pk-missing"] }));
    assert.deepEqual(ids, ["UNKNOWN_TOPIC_OR_PARTITION"]);
  });
});
