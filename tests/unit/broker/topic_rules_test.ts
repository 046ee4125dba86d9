import assert from "node:assert/strict";
import { test } from "node:test";
import { BrokerConfig } from "../../../src/broker/config.ts";
import {
  brokerSynonyms,
  collisionKey,
  ConfigSource,
  effectiveTopicConfigs,
  topicConfigError,
  topicConfigWarning,
  topicNameError,
} from "../../../src/broker/topic_rules.ts";

test("topicNameError() accepts Kafka's legal names", () => {
  for (const name of ["orders", "a.b", "a_b", "A-1", "x".repeat(249)]) assert.equal(topicNameError(name), null, name);
});

test("topicNameError() rejects empty, dot, too long and illegal characters", () => {
  for (const name of ["", ".", "..", "x".repeat(250), "a b", "ä", "a/b", "a:b"]) {
    assert.notEqual(topicNameError(name), null, JSON.stringify(name));
  }
});

test("collisionKey() maps '.' and '_' to the same key", () => {
  assert.equal(collisionKey("a.b"), collisionKey("a_b"));
});

test("topicConfigError() validates names, types, enums and bounds", () => {
  assert.equal(topicConfigError("cleanup.policy", "compact"), null);
  assert.equal(topicConfigError("cleanup.policy", "compact,delete"), null);
  assert.match(topicConfigError("cleanup.policy", "shred")!, /cleanup.policy/);
  assert.equal(topicConfigError("retention.ms", "-1"), null);
  assert.match(topicConfigError("retention.ms", "soon")!, /retention.ms/);
  assert.match(topicConfigError("segment.bytes", "10")!, /at least 14/);
  assert.match(topicConfigError("no.such.config", "1")!, /Unknown topic config/);
  assert.match(topicConfigError("retention.ms", null)!, /Null/);
  assert.equal(topicConfigError("message.timestamp.type", "LogAppendTime"), null);
  assert.notEqual(topicConfigError("message.timestamp.type", "Whenever"), null);
  assert.equal(topicConfigError("compression.type", "zstd"), null);
  assert.notEqual(topicConfigError("compression.type", "brotli"), null);
});

test("effectiveTopicConfigs() reports overrides, broker synonyms and defaults with their sources", () => {
  const broker = new BrokerConfig([["log.retention.hours", "2"]]);
  const all = effectiveTopicConfigs({ "cleanup.policy": "compact" }, broker);
  const get = (n: string) => all.find((c) => c.name === n)!;
  assert.deepEqual([get("cleanup.policy").value, get("cleanup.policy").configSource], [
    "compact",
    ConfigSource.DYNAMIC_TOPIC_CONFIG,
  ]);
  assert.deepEqual([get("retention.ms").value, get("retention.ms").configSource], [
    "7200000",
    ConfigSource.STATIC_BROKER_CONFIG,
  ]);
  assert.equal(get("segment.bytes").configSource, ConfigSource.DEFAULT_CONFIG);
  assert.ok(all.length >= 30);
});

test("effectiveTopicConfigs() gives DescribeConfigs' synonyms and source as Kafka's ConfigHelper does", () => {
  const get = (broker: BrokerConfig, name: string, overrides: Record<string, string> = {}) =>
    effectiveTopicConfigs(overrides, broker).find((c) => c.name === name)!;
  const S = ConfigSource;
  // log.retention.ms, the first synonym, is neither set nor defaulted: Kafka lists no synonym
  // and says DEFAULT_CONFIG, although log.retention.hours supplies the value.
  const hours = new BrokerConfig([["log.retention.hours", "2"]]);
  const r = get(hours, "retention.ms");
  assert.deepEqual([r.value, r.describeSource, r.synonyms], ["7200000", S.DEFAULT_CONFIG, []]);
  const ms = new BrokerConfig([["log.retention.hours", "2"], ["log.retention.ms", "5000"]]);
  assert.deepEqual(get(ms, "retention.ms").synonyms, [
    { name: "log.retention.ms", value: "5000", source: S.STATIC_BROKER_CONFIG },
    { name: "log.retention.hours", value: "2", source: S.STATIC_BROKER_CONFIG },
    { name: "log.retention.hours", value: "168", source: S.DEFAULT_CONFIG },
  ]);
  assert.equal(get(ms, "retention.ms").describeSource, S.STATIC_BROKER_CONFIG);
  assert.deepEqual(brokerSynonyms("log.retention.hours", ms), [
    { name: "log.retention.hours", value: "2", source: S.STATIC_BROKER_CONFIG },
    { name: "log.retention.hours", value: "168", source: S.DEFAULT_CONFIG },
  ]);
  const c = get(new BrokerConfig(), "cleanup.policy", { "cleanup.policy": "compact" });
  assert.deepEqual(c.synonyms, [
    { name: "cleanup.policy", value: "compact", source: S.DYNAMIC_TOPIC_CONFIG },
    { name: "log.cleanup.policy", value: "delete", source: S.DEFAULT_CONFIG },
  ]);
  assert.equal(c.describeSource, S.DYNAMIC_TOPIC_CONFIG);
  // Topic configs with no broker synonym list none.
  assert.deepEqual(get(new BrokerConfig(), "leader.replication.throttled.replicas").synonyms, []);
});

test("topicConfigError() accepts the topic configs Kafka 4.0 removed, with Kafka 3.9's rules", () => {
  assert.equal(topicConfigError("message.format.version", "2.8-IV1"), null);
  assert.equal(topicConfigError("message.format.version", "0.10.0"), null);
  assert.match(topicConfigError("message.format.version", "latest")!, /message.format.version/);
  assert.equal(topicConfigError("message.timestamp.difference.max.ms", "60000"), null);
  assert.match(topicConfigError("message.timestamp.difference.max.ms", "-5")!, /LONG/);
  assert.equal(topicConfigError("message.downconversion.enable", "false"), null);
  assert.match(topicConfigError("message.downconversion.enable", "maybe")!, /true or false/);
  // Kafka 3.9's minimum segment.bytes was 14; Kafka 4.1 raised it to 1 MiB.
  assert.equal(topicConfigError("segment.bytes", "100"), null);
});

test("topicConfigWarning() names the configs Kafka 4 would refuse and nothing else", () => {
  assert.match(topicConfigWarning("message.format.version", "2.8")!, /removed in Kafka 4.0/);
  assert.match(topicConfigWarning("message.downconversion.enable", "false")!, /Fetch v0-v3/);
  assert.match(topicConfigWarning("segment.bytes", "1024")!, /below Kafka 4's minimum/);
  assert.equal(topicConfigWarning("segment.bytes", "1048576"), null);
  assert.equal(topicConfigWarning("cleanup.policy", "compact"), null);
});

test("effectiveTopicConfigs() lists a removed config only when the topic sets it", () => {
  const broker = new BrokerConfig();
  assert.equal(effectiveTopicConfigs({}, broker).some((c) => c.name === "message.format.version"), false);
  const set = effectiveTopicConfigs({ "message.format.version": "2.8" }, broker);
  const c = set.find((x) => x.name === "message.format.version")!;
  assert.deepEqual([c.value, c.configSource], ["2.8", ConfigSource.DYNAMIC_TOPIC_CONFIG]);
});
