/**
 * Sarama 1.22's ClusterAdmin against kbin: CreateTopic (with configs, validate-only, and the
 * errors Kafka gives), ListTopics, DescribeConfig, DescribeTopics and DeleteTopic, each result
 * checked. Sarama picks some versions from `Config.Version` and pins others: ListTopics always
 * sends Metadata v0 and DescribeConfigs v0, which Kafka 4.0 removed (KIP-896) and kbin serves as
 * Kafka 3.9 did; CreateTopics is v2 at V2_1_0_0 and v0 at V0_10_2_0, DeleteTopics v1 and v0.
 * A relay between Sarama and the broker (../shared/wire_tap.ts) records the versions it sent.
 * Covered and knowingly skipped: ALLOWLIST.md; gaps: FINDINGS.md.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import type { BrokerProcess } from "../../support/broker_process.ts";
import { buildGoDriver, DriverResults, goMissing, runJsonDriver } from "../shared/kbin.ts";
import { startTappedBroker, type WireTap } from "../shared/wire_tap.ts";

const DRIVER_DIR = fileURLToPath(new URL("./driver", import.meta.url));
const MISSING = goMissing("github.com/Shopify/sarama", "golang-github-shopify-sarama-dev");

/** Client ids, one per Sarama version, so the relay tells their requests apart. */
const MODERN = { version: "2.1.0", client_id: "sarama-admin-2.1" };
const LEGACY = { version: "0.10.2.0", client_id: "sarama-admin-0.10.2" };

interface Outcome {
  error: string | null;
  exception?: string;
}
interface ListResult extends Outcome {
  topics?: Record<string, { partitions: number; replication: number; configs: Record<string, string | null> }>;
}
interface ConfigEntry {
  name: string;
  value: string;
  read_only: boolean;
  default: boolean;
  sensitive: boolean;
}
interface DescribeTopicsResult extends Outcome {
  topics: {
    name: string;
    error: string | null;
    partitions: { id: number; leader: number; replicas: number[]; error: string | null }[];
  }[];
}

describe("Sarama ClusterAdmin creates, lists, describes and deletes topics", { skip: MISSING }, () => {
  let broker: BrokerProcess;
  let tap: WireTap;
  const results = new DriverResults();
  const result = <T>(name: string): T => results.get<T>(name);

  before(async () => {
    const [bin, started] = await Promise.all([buildGoDriver(DRIVER_DIR, "sarama-driver"), startTappedBroker()]);
    ({ broker, tap } = started);
    const ops: [string, Record<string, unknown>][] = [
      ["create", {
        op: "create_topic",
        topic: "sa-orders",
        num_partitions: 4,
        replication: 1,
        configs: { "retention.ms": "3600000", "cleanup.policy": "compact" },
        ...MODERN,
      }],
      ["list", { op: "list_topics", ...MODERN }],
      ["describe config", { op: "describe_config", topic: "sa-orders", ...MODERN }],
      ["describe topics", { op: "describe_topics", topics: ["sa-orders"], ...MODERN }],
      ["create again", { op: "create_topic", topic: "sa-orders", num_partitions: 4, replication: 1, ...MODERN }],
      ["create rf 3", { op: "create_topic", topic: "sa-rf3", num_partitions: 1, replication: 3, ...MODERN }],
      ["create bad config", {
        op: "create_topic",
        topic: "sa-bad-config",
        num_partitions: 1,
        replication: 1,
        configs: { "retention.ms": "soon" },
        ...MODERN,
      }],
      ["create validate only", {
        op: "create_topic",
        topic: "sa-dry-run",
        num_partitions: 2,
        replication: 1,
        validate_only: true,
        ...MODERN,
      }],
      ["delete", { op: "delete_topic", topic: "sa-orders", ...MODERN }],
      ["delete again", { op: "delete_topic", topic: "sa-orders", ...MODERN }],
      ["list after delete", { op: "list_topics", ...MODERN }],
      ["describe topics after delete", { op: "describe_topics", topics: ["sa-orders"], ...MODERN }],
      ["describe config after delete", { op: "describe_config", topic: "sa-orders", ...MODERN }],
      ["legacy create", {
        op: "create_topic",
        topic: "sa-legacy",
        num_partitions: 2,
        replication: 1,
        configs: { "retention.ms": "7200000" },
        ...LEGACY,
      }],
      ["list legacy", { op: "list_topics", ...MODERN }],
      ["legacy delete", { op: "delete_topic", topic: "sa-legacy", ...LEGACY }],
      ["list after legacy delete", { op: "list_topics", ...MODERN }],
    ];
    const out = await runJsonDriver<{ results: unknown[] }>(
      bin,
      [],
      { bootstrap: broker.bootstrap, ops: ops.map(([, op]) => op) },
      { broker, timeoutMs: 60_000 },
    );
    results.setAll(ops.map(([name]) => name), out.results);
    if (process.env.KBIN_COMPAT_VERBOSE) console.error(`versions sent:\n${tap.summary()}`);
  });
  after(async () => {
    await broker?.[Symbol.asyncDispose]();
    await tap?.[Symbol.asyncDispose]();
  });

  const topicsOf = (name: string) => {
    const r = result<ListResult>(name);
    assert.equal(r.error, null, `${name}: ${r.error}`);
    return r.topics!;
  };

  test("ClusterAdmin.CreateTopic (CreateTopics v2) creates the topic: DescribeTopics (Metadata v5) shows 4 partitions led by broker 1", () => {
    assert.equal(result<Outcome>("create").error, null);
    const r = result<DescribeTopicsResult>("describe topics");
    assert.equal(r.error, null);
    assert.deepEqual(r.topics, [{
      name: "sa-orders",
      error: null,
      partitions: [0, 1, 2, 3].map((id) => ({ id, leader: 1, replicas: [1], error: null })),
    }]);
  });

  test("ClusterAdmin.ListTopics (Metadata v0 + DescribeConfigs v0) returns the topic with its partition count, replication factor and the configs set on it", () => {
    assert.deepEqual(topicsOf("list")["sa-orders"], {
      partitions: 4,
      replication: 1,
      configs: { "cleanup.policy": "compact", "retention.ms": "3600000" },
    });
  });

  test("ClusterAdmin.DescribeConfig (DescribeConfigs v0) returns every topic config: the values set, not default; the rest default", () => {
    const r = result<{ error: string | null; entries: ConfigEntry[] }>("describe config");
    assert.equal(r.error, null);
    const byName = new Map(r.entries.map((e) => [e.name, e]));
    assert.deepEqual(byName.get("retention.ms"), {
      name: "retention.ms",
      value: "3600000",
      read_only: false,
      default: false,
      sensitive: false,
    });
    assert.deepEqual(byName.get("cleanup.policy"), {
      name: "cleanup.policy",
      value: "compact",
      read_only: false,
      default: false,
      sensitive: false,
    });
    assert.deepEqual(byName.get("segment.bytes"), {
      name: "segment.bytes",
      value: "1073741824",
      read_only: false,
      default: true,
      sensitive: false,
    });
    const set = r.entries.filter((e) => !e.default).map((e) => e.name).sort();
    assert.deepEqual(set, ["cleanup.policy", "retention.ms"]);
    assert.ok(r.entries.length > 20, `only ${r.entries.length} entries`);
  });

  test("ClusterAdmin.CreateTopic gets Kafka's errors: TOPIC_ALREADY_EXISTS, INVALID_REPLICATION_FACTOR, INVALID_CONFIG", () => {
    assert.match(result<Outcome>("create again").error ?? "", /^kafka server: Topic with this name already exists\./);
    assert.match(result<Outcome>("create rf 3").error ?? "", /^kafka server: Replication-factor is invalid\./);
    assert.match(
      result<Outcome>("create bad config").error ?? "",
      /^kafka server: Configuration is invalid\. - Invalid value soon for configuration retention\.ms/,
    );
    const topics = topicsOf("list after delete");
    assert.equal(topics["sa-rf3"], undefined);
    assert.equal(topics["sa-bad-config"], undefined);
  });

  test("ClusterAdmin.CreateTopic with validateOnly succeeds and creates nothing", () => {
    assert.equal(result<Outcome>("create validate only").error, null);
    assert.equal(topicsOf("list")["sa-dry-run"], undefined);
    assert.equal(topicsOf("list after delete")["sa-dry-run"], undefined);
  });

  test("ClusterAdmin.DeleteTopic (DeleteTopics v1) removes the topic: gone from ListTopics, UNKNOWN_TOPIC_OR_PARTITION in Metadata and on a second delete", () => {
    assert.equal(result<Outcome>("delete").error, null);
    assert.equal(topicsOf("list after delete")["sa-orders"], undefined);
    const unknown = "kafka server: Request was for a topic or partition that does not exist on this broker.";
    assert.deepEqual(result<DescribeTopicsResult>("describe topics after delete").topics, [
      { name: "sa-orders", error: unknown, partitions: [] },
    ]);
    assert.equal(result<Outcome>("delete again").error, unknown);
  });

  test("ClusterAdmin.DescribeConfig of a missing topic: UNKNOWN_TOPIC_OR_PARTITION without a message, as from Kafka, so Sarama returns no entries and no error", () => {
    // Sarama 1.22 looks only at the resource's error message; Kafka (ConfigHelper.describeConfigs)
    // sends none for an unknown topic, so the call "succeeds" with nothing.
    const r = result<{ error: string | null; entries: ConfigEntry[] }>("describe config after delete");
    assert.deepEqual(r, { error: null, entries: [] });
  });

  test("at V0_10_2_0, ClusterAdmin.CreateTopic (CreateTopics v0) and DeleteTopic (DeleteTopics v0) work", () => {
    assert.equal(result<Outcome>("legacy create").error, null);
    assert.deepEqual(topicsOf("list legacy")["sa-legacy"], {
      partitions: 2,
      replication: 1,
      configs: { "retention.ms": "7200000" },
    });
    assert.equal(result<Outcome>("legacy delete").error, null);
    assert.equal(topicsOf("list after legacy delete")["sa-legacy"], undefined);
  });

  test("Sarama sent DescribeConfigs v0, Metadata v0 (ListTopics), CreateTopics v2 and v0, DeleteTopics v1 and v0", () => {
    assert.deepEqual(tap.versions("DescribeConfigs", /^sarama-admin/), [0]);
    assert.ok(tap.versions("Metadata", MODERN.client_id).includes(0), "ListTopics sends Metadata v0");
    assert.ok(tap.versions("Metadata", MODERN.client_id).includes(5), "DescribeTopics sends Metadata v5");
    assert.deepEqual(tap.versions("CreateTopics", MODERN.client_id), [2]);
    assert.deepEqual(tap.versions("CreateTopics", LEGACY.client_id), [0]);
    assert.deepEqual(tap.versions("DeleteTopics", MODERN.client_id), [1]);
    assert.deepEqual(tap.versions("DeleteTopics", LEGACY.client_id), [0]);
  });
});
