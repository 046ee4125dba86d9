/**
 * confluent-kafka-python's AdminClient (librdkafka) against `kbin serve`. admin_client.py runs
 * every call once and prints what the client saw as one JSON object; the tests below judge it.
 * Covered and knowingly skipped: ALLOWLIST.md; gaps: FINDINGS.md.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { type BrokerProcess, run, startBrokerProcess } from "../../support/broker_process.ts";
import { PYTHON, pythonMissing } from "../shared/kbin.ts";

// Debian's python3-confluent-kafka is installed for the system interpreter only.
const SCRIPT = fileURLToPath(new URL("./admin_client.py", import.meta.url));
const MISSING = pythonMissing("confluent_kafka");

/** A KafkaError as the script records it. */
interface KError {
  code: number;
  name: string;
  str: string;
}
type Outcome = "ok" | KError | { exception: string };
type Outcomes = Record<string, Outcome>;
interface Cluster {
  cluster_id: string | null;
  controller_id: number;
  orig_broker_id: number;
  brokers: { id: number; host: string; port: number }[];
  topics: Record<string, {
    error: string | null;
    partitions: { id: number; leader: number; replicas: number[]; isrs: number[]; error: string | null }[];
  }>;
}
interface Report {
  create: Outcomes;
  validate_only: Outcomes;
  create_errors: Outcomes;
  after_create: Cluster;
  grow: Outcomes;
  after_grow: number | null;
  grow_validate_only: Outcomes;
  after_grow_validate_only: number | null;
  shrink: Outcomes;
  same_count: Outcomes;
  grow_missing: Outcomes;
  describe_configs: Record<string, { value: string; source: number; is_default: boolean }> | KError;
  alter_configs: Outcome;
  after_alter_configs: Record<string, { value: string; source: number; is_default: boolean }> | KError;
  alter_configs_errors: { "bad-value": Outcome; missing: Outcome };
  delete: Outcomes;
  after_delete: string[];
  delete_missing: Outcomes;
  collide_first: Outcomes;
  collide_second: Outcomes;
}

/** Asserts that a per-topic outcome is the Kafka error `name` with `code`. */
function assertError(outcomes: Outcomes, topic: string, code: number, name: string): KError {
  const got = outcomes[topic];
  assert.ok(
    typeof got === "object" && "code" in got,
    `expected ${name} (${code}) for "${topic}", got ${JSON.stringify(got)}`,
  );
  assert.deepEqual(
    { code: got.code, name: got.name },
    { code, name },
    `wrong error for "${topic}": ${JSON.stringify(got)}`,
  );
  return got;
}

describe("confluent-kafka AdminClient", { skip: MISSING }, () => {
  let broker: BrokerProcess;
  let report: Report;
  before(async () => {
    broker = await startBrokerProcess();
    const r = await run(PYTHON, [SCRIPT, broker.bootstrap], { timeoutMs: 60_000 });
    assert.equal(r.code, 0, `admin_client.py exited with ${r.code}:\n${r.stderr}\nbroker log:\n${broker.log()}`);
    report = JSON.parse(r.stdout) as Report;
  });
  after(async () => {
    await broker?.[Symbol.asyncDispose]();
  });

  test("admin_client.py ran every step without a Python exception", () => {
    const failed = Object.entries(report).filter(([, v]) => v !== null && typeof v === "object" && "exception" in v);
    assert.deepEqual(failed, [], "steps raised (see admin_client.py)");
  });

  test("create_topics() creates a topic with partitions, replication factor and configs", () => {
    assert.deepEqual(report.create, { "ck-compacted": "ok" });
    const t = report.after_create.topics["ck-compacted"];
    assert.ok(
      t,
      `list_topics() does not show ck-compacted: ${JSON.stringify(Object.keys(report.after_create.topics))}`,
    );
    assert.equal(t.partitions.length, 3);
  });

  test("create_topics(validate_only=True) succeeds and creates nothing", () => {
    assert.deepEqual(report.validate_only, { "ck-validated": "ok" });
    assert.ok(!("ck-validated" in report.after_create.topics), "validate_only created ck-validated");
  });

  test("create_topics() on an existing topic fails with TOPIC_ALREADY_EXISTS", () => {
    assertError(report.create_errors, "ck-compacted", 36, "TOPIC_ALREADY_EXISTS");
  });

  test("create_topics() with replication_factor=3 fails with INVALID_REPLICATION_FACTOR", () => {
    assertError(report.create_errors, "ck-rf3", 38, "INVALID_REPLICATION_FACTOR");
  });

  test("create_topics() with a bad config value or an unknown config fails with INVALID_CONFIG", () => {
    const bad = assertError(report.create_errors, "ck-bad-value", 40, "INVALID_CONFIG");
    assert.match(bad.str, /cleanup\.policy/);
    const unknown = assertError(report.create_errors, "ck-unknown-config", 40, "INVALID_CONFIG");
    assert.match(unknown.str, /no\.such\.config/);
  });

  test("create_topics() with an illegal name fails with INVALID_TOPIC_EXCEPTION", () => {
    // librdkafka names Kafka's INVALID_TOPIC_EXCEPTION (17) "TOPIC_EXCEPTION".
    assertError(report.create_errors, "ck bad name!", 17, "TOPIC_EXCEPTION");
  });

  test("create_topics() with num_partitions=0 fails with INVALID_PARTITIONS", () => {
    assertError(report.create_errors, "ck-zero", 37, "INVALID_PARTITIONS");
  });

  test("create_topics() refuses a name that collides with an existing one through '.' and '_'", () => {
    assert.deepEqual(report.collide_first, { "ck.collide": "ok" });
    const err = assertError(report.collide_second, "ck_collide", 17, "TOPIC_EXCEPTION");
    assert.match(err.str, /collides/);
  });

  test("create_topics() creates none of the topics that failed", () => {
    const created = Object.keys(report.after_create.topics).filter((n) => n.startsWith("ck"));
    assert.deepEqual(created, ["ck-compacted"]);
  });

  test("list_topics() describes the cluster: brokers, cluster id, controller and partitions", () => {
    const md = report.after_create;
    assert.deepEqual(md.brokers, [{ id: 1, host: broker.host, port: broker.port }]);
    assert.match(md.cluster_id ?? "", /^[A-Za-z0-9_-]{22}$/, `cluster_id ${md.cluster_id}`);
    assert.equal(md.controller_id, 1);
    assert.equal(md.orig_broker_id, 1);
    const t = md.topics["ck-compacted"]!;
    assert.equal(t.error, null);
    assert.deepEqual(
      t.partitions,
      [0, 1, 2].map((id) => ({ id, leader: 1, replicas: [1], isrs: [1], error: null })),
    );
  });

  test("create_partitions() grows a topic from 3 to 5 partitions", () => {
    assert.deepEqual(report.grow, { "ck-compacted": "ok" });
    assert.equal(report.after_grow, 5);
  });

  test("create_partitions(validate_only=True) succeeds and changes nothing", () => {
    assert.deepEqual(report.grow_validate_only, { "ck-compacted": "ok" });
    assert.equal(report.after_grow_validate_only, 5);
  });

  test("create_partitions() to fewer or as many partitions fails with INVALID_PARTITIONS", () => {
    assertError(report.shrink, "ck-compacted", 37, "INVALID_PARTITIONS");
    assertError(report.same_count, "ck-compacted", 37, "INVALID_PARTITIONS");
  });

  test("create_partitions() errors carry the messages of Kafka's KRaft controller", () => {
    // ReplicationControlManager.createPartitions() (Kafka 3.x KRaft and 4.x); a missing topic gets a
    // null message, which librdkafka replaces with its own text.
    const msg = (o: Outcomes) => (o["ck-compacted"] ?? o["ck-missing"]) as KError;
    assert.equal(
      msg(report.shrink).str,
      "The topic ck-compacted currently has 5 partition(s); 2 would not be an increase.",
    );
    assert.equal(msg(report.same_count).str, "Topic already has 5 partition(s).");
    assert.equal(msg(report.grow_missing).str, "Broker: Unknown topic or partition");
  });

  test("create_partitions() on a missing topic fails with UNKNOWN_TOPIC_OR_PARTITION", () => {
    // librdkafka names Kafka's UNKNOWN_TOPIC_OR_PARTITION (3) "UNKNOWN_TOPIC_OR_PART".
    assertError(report.grow_missing, "ck-missing", 3, "UNKNOWN_TOPIC_OR_PART");
  });

  test("delete_topics() deletes a topic", () => {
    assert.deepEqual(report.delete, { "ck-compacted": "ok" });
    assert.ok(!report.after_delete.includes("ck-compacted"), `still listed: ${report.after_delete.join(", ")}`);
  });

  test("delete_topics() on a missing topic fails with UNKNOWN_TOPIC_OR_PARTITION", () => {
    assertError(report.delete_missing, "ck-compacted", 3, "UNKNOWN_TOPIC_OR_PART");
  });

  test(
    "describe_configs() reports the overrides given at creation",
    () => {
      const configs = report.describe_configs;
      assert.ok(!("code" in configs), `describe_configs failed: ${JSON.stringify(configs)}`);
      assert.equal(configs["cleanup.policy"]?.value, "compact");
      assert.equal(configs["retention.ms"]?.value, "1000");
      // Source 1 is DYNAMIC_TOPIC_CONFIG: a per-topic override.
      assert.equal(configs["cleanup.policy"]?.source, 1);
      assert.equal(configs["segment.bytes"]?.is_default, true);
    },
  );

  test("alter_configs() (AlterConfigs v0) replaces the whole set: the overrides left out return to their defaults", () => {
    assert.equal(report.alter_configs, "ok");
    const configs = report.after_alter_configs;
    assert.ok(!("code" in configs), `describe_configs failed: ${JSON.stringify(configs)}`);
    // Source 1 is DYNAMIC_TOPIC_CONFIG, 5 DEFAULT_CONFIG.
    assert.deepEqual(configs["retention.ms"], { value: "2000", source: 1, is_default: false });
    assert.deepEqual(configs["cleanup.policy"], { value: "delete", source: 5, is_default: true });
  });

  test("alter_configs() with a bad value or on a missing topic fails with INVALID_CONFIG / UNKNOWN_TOPIC_OR_PARTITION", () => {
    const errors = report.alter_configs_errors as unknown as Outcomes;
    assertError(errors, "bad-value", 40, "INVALID_CONFIG");
    assertError(errors, "missing", 3, "UNKNOWN_TOPIC_OR_PART");
  });
});
