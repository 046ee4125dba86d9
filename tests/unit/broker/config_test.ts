import assert from "node:assert/strict";
import { test } from "node:test";
import { BrokerConfig, ConfigError, parseListener } from "../../../src/broker/config.ts";

test("BrokerConfig.get() falls back to kbin's then Kafka's defaults", () => {
  const c = new BrokerConfig();
  assert.equal(c.get("node.id"), "1");
  assert.equal(c.number("num.partitions"), 1);
  assert.equal(c.bool("auto.create.topics.enable"), true);
  assert.equal(c.number("socket.request.max.bytes"), 104857600);
});

test("BrokerConfig keeps explicit settings in order, later winning", () => {
  const c = new BrokerConfig([["num.partitions", "3"], ["num.partitions", "5"]]);
  assert.equal(c.number("num.partitions"), 5);
  assert.equal(c.isSet("num.partitions"), true);
});

test("BrokerConfig rejects a value of the wrong type", () => {
  assert.throws(() => new BrokerConfig([["num.partitions", "many"]]), ConfigError);
  assert.throws(() => new BrokerConfig([["auto.create.topics.enable", "yes"]]), ConfigError);
});

test("BrokerConfig reports unknown names without failing", () => {
  const c = new BrokerConfig([["no.such.setting", "1"]]);
  assert.deepEqual(c.unknown, ["no.such.setting"]);
});

test("parseListener() reads Kafka listener syntax and bare addresses", () => {
  assert.deepEqual(parseListener("PLAINTEXT://127.0.0.1:9092"), { name: "PLAINTEXT", host: "127.0.0.1", port: 9092 });
  assert.deepEqual(parseListener("localhost:0"), { name: "PLAINTEXT", host: "localhost", port: 0 });
  assert.deepEqual(parseListener("[::1]:9093"), { name: "PLAINTEXT", host: "::1", port: 9093 });
  assert.throws(() => parseListener("nonsense"), ConfigError);
  assert.throws(() => parseListener("h:70000"), ConfigError);
});
