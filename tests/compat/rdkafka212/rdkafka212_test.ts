/**
 * librdkafka 2.12 against `kbin serve` through its C API: the admin calls node-rdkafka 3.6.1 does
 * not expose (IncrementalAlterConfigs v1, AlterConfigs v2, DescribeConfigs v1, DescribeConsumerGroups
 * with ConsumerGroupDescribe v0 and its DescribeGroups fallback) and the consumer's KIP-320 offset
 * validation (OffsetForLeaderEpoch v2) after a seek to a position with a leader epoch. The library
 * is the one scripts/install_node_rdkafka.sh builds for node-rdkafka (tests/compat/kip848);
 * rdkafka_driver.py calls it with ctypes, so every request is encoded, sent and interpreted by
 * librdkafka. The expected answers are Kafka's. Covered and skipped: ALLOWLIST.md; gaps: FINDINGS.md.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import type { BrokerProcess } from "../../support/broker_process.ts";
import { clientMissing } from "../../support/skips.ts";
import { type Consumed, consumerOp, DRIVER, installLibrary, seekOp } from "./driver.ts";
import { createTopic, PYTHON, pythonMissing, runJsonDriver } from "../shared/kbin.ts";
import { startTappedBroker, type WireTap } from "../shared/wire_tap.ts";

const NO_NODE = clientMissing(
  "node",
  spawnSync("node", ["--version"]).status !== 0 ? "node is not on PATH (building node-rdkafka needs it)" : false,
);
const NO_PYTHON = pythonMissing("ctypes");

interface KError {
  code: number;
  name: string;
  str: string;
}
interface Resource {
  type: string;
  name: string;
  error: KError | null;
  configs?: { name: string; value: string | null; source: string; synonyms: { name: string; source: string }[] }[];
}
interface Group {
  group: string;
  error: KError | null;
  state: string;
  type: string;
  assignor: string;
  simple: boolean;
  members: {
    client_id: string;
    consumer_id: string;
    instance_id: string | null;
    host: string;
    assignment: string[];
    target: string[] | null;
  }[];
}

let broker: BrokerProcess;
let tap: WireTap;
let library = "";

/** Runs `ops` in one driver process; fails on any op that raised. */
async function rdkafka(ops: Record<string, unknown>[]): Promise<Record<string, any>[]> {
  const out = await runJsonDriver<{ results: Record<string, any>[] }>(
    PYTHON,
    [DRIVER],
    { bootstrap: broker.bootstrap, ops },
    { broker, env: { KBIN_LIBRDKAFKA: library }, timeoutMs: 60_000 },
  );
  out.results.forEach((r, i) =>
    assert.equal(r.exception, undefined, `op ${i} ${JSON.stringify(ops[i])}: ${r.exception}`)
  );
  return out.results;
}

/** Each config of the first resource of a describe_configs result, by name. */
function configsOf(result: Record<string, any>): Record<string, NonNullable<Resource["configs"]>[number]> {
  assert.equal(result.error, null);
  const [res] = result.resources as Resource[];
  assert.equal(res!.error, null, JSON.stringify(res!.error));
  return Object.fromEntries(res!.configs!.map((c) => [c.name, c]));
}

/** The error name per resource of an alter result (null for success). */
function errorsOf(result: Record<string, any>): Record<string, string | null> {
  assert.equal(result.error, null, JSON.stringify(result.error));
  return Object.fromEntries((result.resources as Resource[]).map((r) => [r.name, r.error?.name ?? null]));
}

const describeTopic = (name: string, keys: string[]) => ({
  op: "describe_configs",
  resources: [{ type: "TOPIC", name, keys }],
});

describe("librdkafka 2.12 (C API) admin and consumer calls", { skip: NO_NODE || NO_PYTHON }, () => {
  before(async () => {
    library = await installLibrary();
    ({ broker, tap } = await startTappedBroker([
      "--set",
      "group.consumer.heartbeat.interval.ms=500",
      "--set",
      "group.initial.rebalance.delay.ms=0",
    ]));
  });
  after(async () => {
    await broker?.[Symbol.asyncDispose]();
    await tap?.[Symbol.asyncDispose]();
  });

  test("the driver runs librdkafka 2.12", async () => {
    const [v] = await rdkafka([{ op: "version" }]);
    assert.equal(v!.version, "2.12.0");
  });

  test("rd_kafka_IncrementalAlterConfigs() SETs, DELETEs, APPENDs to the default list and SUBTRACTs, as Kafka does", async () => {
    await createTopic(broker, "rk-incr", { partitions: 1 });
    const r = await rdkafka([
      {
        op: "incremental_alter",
        resources: [{
          type: "TOPIC",
          name: "rk-incr",
          ops: [["APPEND", "cleanup.policy", "compact"], ["SET", "retention.ms", "5000"]],
        }],
      },
      describeTopic("rk-incr", ["cleanup.policy", "retention.ms"]),
      {
        op: "incremental_alter",
        resources: [{
          type: "TOPIC",
          name: "rk-incr",
          ops: [["SUBTRACT", "cleanup.policy", "delete"], ["DELETE", "retention.ms", null]],
        }],
      },
      describeTopic("rk-incr", ["cleanup.policy", "retention.ms"]),
    ]);
    assert.deepEqual(errorsOf(r[0]!), { "rk-incr": null });
    let c = configsOf(r[1]!);
    // The topic did not set cleanup.policy, so APPEND starts from its default, "delete".
    assert.deepEqual([c["cleanup.policy"]!.value, c["cleanup.policy"]!.source], [
      "delete,compact",
      "DYNAMIC_TOPIC_CONFIG",
    ]);
    assert.equal(c["retention.ms"]!.value, "5000");
    assert.deepEqual(errorsOf(r[2]!), { "rk-incr": null });
    c = configsOf(r[3]!);
    assert.equal(c["cleanup.policy"]!.value, "compact");
    assert.deepEqual([c["retention.ms"]!.value, c["retention.ms"]!.source], ["604800000", "DEFAULT_CONFIG"]);
  });

  test("rd_kafka_IncrementalAlterConfigs() refuses each bad resource with Kafka's error; validate_only changes nothing", async () => {
    await createTopic(broker, "rk-refuse", { partitions: 1 });
    const r = await rdkafka([
      {
        op: "incremental_alter",
        resources: [
          { type: "TOPIC", name: "rk-refuse", ops: [["SET", "segment.ms", "100000"], ["APPEND", "retention.ms", "1"]] },
          { type: "TOPIC", name: "rk-missing", ops: [["SET", "retention.ms", "1"]] },
        ],
      },
      {
        op: "incremental_alter",
        validate_only: true,
        resources: [{ type: "TOPIC", name: "rk-refuse", ops: [["SET", "segment.ms", "100000"]] }],
      },
      {
        op: "incremental_alter",
        resources: [{ type: "BROKER", name: "1", ops: [["SET", "log.retention.ms", "100000"]] }],
      },
      describeTopic("rk-refuse", ["segment.ms"]),
    ]);
    assert.deepEqual(errorsOf(r[0]!), { "rk-refuse": "INVALID_CONFIG", "rk-missing": "UNKNOWN_TOPIC_OR_PART" });
    assert.deepEqual(errorsOf(r[1]!), { "rk-refuse": null });
    // Dynamic broker configs are not supported (ALLOWLIST.md); Kafka would apply this one.
    assert.deepEqual(errorsOf(r[2]!), { "1": "INVALID_REQUEST" });
    const c = configsOf(r[3]!);
    assert.deepEqual([c["segment.ms"]!.value, c["segment.ms"]!.source], ["604800000", "DEFAULT_CONFIG"]);
  });

  test("rd_kafka_AlterConfigs() replaces the whole set and rd_kafka_DescribeConfigs() reports Kafka's sources and synonyms", async () => {
    await createTopic(broker, "rk-legacy", {
      partitions: 1,
      configs: { "cleanup.policy": "compact", "retention.ms": "1000" },
    });
    const r = await rdkafka([
      describeTopic("rk-legacy", ["cleanup.policy", "retention.ms", "segment.bytes"]),
      { op: "alter_configs", resources: [{ type: "TOPIC", name: "rk-legacy", configs: { "segment.ms": "100000" } }] },
      describeTopic("rk-legacy", ["cleanup.policy", "retention.ms", "segment.ms"]),
      {
        op: "describe_configs",
        resources: [{ type: "TOPIC", name: "rk-missing" }, { type: "BROKER", name: "1", keys: ["num.partitions"] }],
      },
      { op: "alter_configs", resources: [{ type: "TOPIC", name: "rk-legacy", configs: { "no.such.config": "1" } }] },
    ]);
    let c = configsOf(r[0]!);
    // librdkafka lists synonyms by name and source; DescribeConfigs v1 always carries them for it.
    const synonyms = (name: string) => c[name]!.synonyms.map((s) => `${s.source}:${s.name}`);
    assert.deepEqual(synonyms("cleanup.policy"), [
      "DYNAMIC_TOPIC_CONFIG:cleanup.policy",
      "DEFAULT_CONFIG:log.cleanup.policy",
    ]);
    assert.deepEqual(synonyms("retention.ms"), ["DYNAMIC_TOPIC_CONFIG:retention.ms"]);
    assert.deepEqual(synonyms("segment.bytes"), ["DEFAULT_CONFIG:log.segment.bytes"]);
    assert.deepEqual(errorsOf(r[1]!), { "rk-legacy": null });
    c = configsOf(r[2]!);
    assert.deepEqual(
      Object.values(c).map((e) => [e.name, e.value, e.source]).sort(),
      [
        ["cleanup.policy", "delete", "DEFAULT_CONFIG"],
        ["retention.ms", "604800000", "DEFAULT_CONFIG"],
        ["segment.ms", "100000", "DYNAMIC_TOPIC_CONFIG"],
      ],
    );
    const [missing, brokerRes] = r[3]!.resources as Resource[];
    assert.equal(missing!.error?.name, "UNKNOWN_TOPIC_OR_PART");
    assert.deepEqual(brokerRes!.configs!.map((e) => [e.name, e.value, e.source]), [[
      "num.partitions",
      "1",
      "DEFAULT_CONFIG",
    ]]);
    assert.deepEqual(errorsOf(r[4]!), { "rk-legacy": "INVALID_CONFIG" });
  });

  test("rd_kafka_DescribeConsumerGroups() describes a KIP-848 group with ConsumerGroupDescribe and falls back to DescribeGroups for classic and unknown groups", async () => {
    await createTopic(broker, "rk-g848", { partitions: 3 });
    await createTopic(broker, "rk-gclassic", { partitions: 1 });
    const r = await rdkafka([
      {
        op: "consumer",
        name: "k",
        conf: { "group.id": "rk-848", "group.protocol": "consumer", "client.id": "rk-848-member" },
        subscribe: ["rk-g848"],
      },
      {
        op: "consumer",
        name: "c",
        conf: { "group.id": "rk-classic", "client.id": "rk-classic-member" },
        subscribe: ["rk-gclassic"],
      },
      { op: "wait_assignment", name: "k", count: 3 },
      { op: "wait_assignment", name: "c", count: 1 },
      { op: "describe_groups", groups: ["rk-848", "rk-classic", "rk-no-group"] },
      { op: "close", name: "k" },
      { op: "close", name: "c" },
    ]);
    assert.deepEqual(r[2]!.assignment, ["rk-g848:0", "rk-g848:1", "rk-g848:2"]);
    assert.deepEqual(r[3]!.assignment, ["rk-gclassic:0"]);
    assert.equal(r[4]!.error, null);
    const [k848, classic, none] = r[4]!.groups as Group[];
    assert.deepEqual({ ...k848!, members: [] }, {
      group: "rk-848",
      error: null,
      state: "Stable",
      type: "Consumer",
      assignor: "uniform",
      simple: false,
      members: [],
    });
    assert.equal(k848!.members.length, 1);
    const m = k848!.members[0]!;
    assert.deepEqual([m.client_id, m.instance_id, m.host], ["rk-848-member", null, "/127.0.0.1"]);
    assert.match(m.consumer_id, /^\S{22}$/, "librdkafka's generated member id (KIP-1082)");
    assert.deepEqual(m.assignment, ["rk-g848:0", "rk-g848:1", "rk-g848:2"]);
    assert.deepEqual(m.target, m.assignment);
    assert.deepEqual({ ...classic!, members: [] }, {
      group: "rk-classic",
      error: null,
      state: "Stable",
      type: "Classic",
      assignor: "range",
      simple: false,
      members: [],
    });
    assert.deepEqual(classic!.members.map((x) => [x.client_id, x.assignment, x.target]), [
      ["rk-classic-member", ["rk-gclassic:0"], null],
    ]);
    assert.deepEqual(none, {
      group: "rk-no-group",
      error: null,
      state: "Dead",
      type: "Classic",
      assignor: "",
      simple: true,
      members: [],
    });
  });

  test("a consumer seek with a leader epoch is validated with OffsetForLeaderEpoch as against Kafka: kept when inside epoch 0, reset when the epoch is unknown or the offset is past its end", async () => {
    await createTopic(broker, "rk-epoch", { partitions: 1 });
    const values = [..."abcdefghij"];
    const seek = (name: string, offset: number, epoch: number, more: Record<string, unknown>) =>
      seekOp("rk-epoch", name, offset, epoch, more);
    const consumer = consumerOp;
    const r = await rdkafka([
      { op: "produce", topic: "rk-epoch", partition: 0, values },
      consumer("s", "earliest"),
      { op: "assign", name: "s", topic: "rk-epoch", partition: 0, offset: -2 },
      { op: "consume", name: "s", count: 10 },
      // Epoch 0 ends at the log end (10): offset 5 is valid, consumption resumes there.
      seek("s", 5, 0, { count: 1 }),
      // Epoch 7 is unknown: Kafka answers epoch -1, offset -1, and librdkafka resets (earliest).
      seek("s", 3, 7, { count: 1 }),
      // With auto.offset.reset=error, librdkafka reports what the broker answered (and stops
      // fetching the partition, so each case has its own consumer).
      consumer("e1", "error"),
      { op: "assign", name: "e1", topic: "rk-epoch", partition: 0, offset: -2 },
      { op: "consume", name: "e1", count: 1 },
      seek("e1", 50, 0, { count: 1, until_error: true }),
      consumer("e2", "error"),
      { op: "assign", name: "e2", topic: "rk-epoch", partition: 0, offset: -2 },
      { op: "consume", name: "e2", count: 1 },
      seek("e2", 3, 7, { count: 1, until_error: true }),
      { op: "close", name: "s" },
      { op: "close", name: "e1" },
      { op: "close", name: "e2" },
    ]);
    assert.equal(r[0]!.delivered, 10);
    const all = r[3] as Consumed;
    // Each batch carries the leader epoch it was appended in: 0 on this single node.
    assert.deepEqual(all.messages.map((m) => [m.o, m.epoch, m.v]), values.map((v, i) => [i, 0, v]));
    const at = (i: number) => (r[i] as Consumed).messages.map((m) => [m.o, m.v]);
    assert.deepEqual(at(4), [[5, "f"]]);
    assert.deepEqual(at(5), [[0, "a"]]);
    for (const i of [3, 4, 5, 8, 12]) assert.deepEqual((r[i] as Consumed).errors, [], `op ${i}`);
    const errorOf = (i: number) => {
      const c = r[i] as Consumed;
      assert.deepEqual(c.messages, [], `op ${i}`);
      assert.equal(c.errors.length, 1, `op ${i}: ${JSON.stringify(c.errors)}`);
      assert.equal(c.errors[0]!.name, "_AUTO_OFFSET_RESET");
      return c.errors[0]!.str;
    };
    assert.match(
      errorOf(9),
      /truncation detected at offset 50 \(leader epoch 0\): broker end offset is 10 \(offset leader epoch 0\)/,
    );
    assert.match(
      errorOf(13),
      /No epoch found less or equal to offset 3 \(leader epoch 7\): broker end offset is -1 \(offset leader epoch -1\)/,
    );
    assert.deepEqual(tap.versions("OffsetForLeaderEpoch"), [2], tap.summary());
  });

  test("librdkafka 2.12 sent IncrementalAlterConfigs v1, AlterConfigs v2, DescribeConfigs v1, ConsumerGroupDescribe v0 and DescribeGroups v4", () => {
    const admin = "kbin-rdkafka212-admin";
    assert.deepEqual(tap.versions("IncrementalAlterConfigs", admin), [1], tap.summary());
    assert.deepEqual(tap.versions("AlterConfigs", admin), [2], tap.summary());
    assert.deepEqual(tap.versions("DescribeConfigs", admin), [1], tap.summary());
    assert.deepEqual(tap.versions("ConsumerGroupDescribe", admin), [0], tap.summary());
    assert.deepEqual(tap.versions("DescribeGroups", admin), [4], tap.summary());
  });
});

describe("librdkafka 2.12 (C API) against kbin emulating Kafka 2.3", { skip: NO_NODE || NO_PYTHON }, () => {
  before(async () => {
    library = await installLibrary();
    // Kafka 2.3 served IncrementalAlterConfigs v0 only, AlterConfigs up to v1.
    ({ broker, tap } = await startTappedBroker(["--emulate-kafka", "2.3"]));
  });
  after(async () => {
    await broker?.[Symbol.asyncDispose]();
    await tap?.[Symbol.asyncDispose]();
  });

  test("rd_kafka_IncrementalAlterConfigs() falls back to v0 and rd_kafka_AlterConfigs() to v1, with Kafka's results", async () => {
    await createTopic(broker, "rk-v0", { partitions: 1 });
    const r = await rdkafka([
      {
        op: "incremental_alter",
        resources: [{
          type: "TOPIC",
          name: "rk-v0",
          ops: [["APPEND", "cleanup.policy", "compact"], ["SET", "retention.ms", "5000"]],
        }],
      },
      describeTopic("rk-v0", ["cleanup.policy", "retention.ms"]),
      { op: "alter_configs", resources: [{ type: "TOPIC", name: "rk-v0", configs: { "segment.ms": "100000" } }] },
      describeTopic("rk-v0", ["cleanup.policy", "retention.ms", "segment.ms"]),
    ]);
    assert.deepEqual(errorsOf(r[0]!), { "rk-v0": null });
    let c = configsOf(r[1]!);
    assert.deepEqual([c["cleanup.policy"]!.value, c["retention.ms"]!.value], ["delete,compact", "5000"]);
    assert.deepEqual(errorsOf(r[2]!), { "rk-v0": null });
    c = configsOf(r[3]!);
    assert.deepEqual(Object.values(c).map((e) => [e.name, e.value, e.source]).sort(), [
      ["cleanup.policy", "delete", "DEFAULT_CONFIG"],
      ["retention.ms", "604800000", "DEFAULT_CONFIG"],
      ["segment.ms", "100000", "DYNAMIC_TOPIC_CONFIG"],
    ]);
    const admin = "kbin-rdkafka212-admin";
    assert.deepEqual(tap.versions("IncrementalAlterConfigs", admin), [0], tap.summary());
    assert.deepEqual(tap.versions("AlterConfigs", admin), [1], tap.summary());
  });
});
