import assert from "node:assert/strict";
import { test } from "node:test";
import { BrokerConfig } from "../../../src/broker/config.ts";
import {
  collisionKey,
  ConfigSource,
  effectiveTopicConfigs,
  topicConfigError,
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
  assert.match(topicConfigError("segment.bytes", "100")!, /at least/);
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
