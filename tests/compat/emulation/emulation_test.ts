/**
 * `kbin serve --emulate-kafka 2.0`: the broker advertises exactly Kafka 2.0's ranges (for the APIs
 * kbin serves) and real clients still produce and consume, each at the versions it negotiates with
 * a Kafka 2.0 broker: librdkafka (kcat), KafkaJS and Sarama (V2_0_0_0). The broker logs the API
 * versions it served when it stops; the tests check that no client went above Kafka 2.0's.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { Kafka, logLevel } from "kafkajs";
import { type BrokerProcess, startBrokerProcess } from "../../support/broker_process.ts";
import { releaseApiVersions } from "../../../src/broker/kafka_releases.ts";
import { ApiKey } from "../../../src/protocol/generated/api_keys.ts";
import { buildGoDriver, createTopic, goMissing, kcatMissing, run, runJsonDriver, waitFor } from "../shared/kbin.ts";

const KCAT_MISSING = kcatMissing();
const SARAMA_DIR = fileURLToPath(new URL("../sarama/driver", import.meta.url));
const SARAMA_MISSING = goMissing("github.com/Shopify/sarama", "golang-github-shopify-sarama-dev");
const KAFKA_2_0 = releaseApiVersions("2.0");

/** `rdkafka|Produce:v6=3,sarama|Fetch:v8=10,…` from the broker's shutdown line, as [api name, version] pairs. */
function servedVersions(log: string): [string, number][] {
  const m = /Requests served by API and version versions="?([^"\n]*)"?/.exec(log);
  assert.ok(m, `the broker did not log the versions it served:\n${log.slice(-2000)}`);
  return m[1]!.split(",").map((e) => {
    const [name, rest] = e.split("|")[1]!.split(":v");
    return [name!, Number(rest!.split("=")[0])];
  });
}

/** Every version the broker served (ApiVersions aside) was one Kafka 2.0 served. */
function assertWithinKafka20(log: string): [string, number][] {
  const served = servedVersions(log);
  for (const [name, version] of served) {
    const key = (ApiKey as Record<string, number>)[name];
    assert.ok(key !== undefined, `unexpected API ${name}`);
    const r = KAFKA_2_0.get(key)!;
    assert.ok(r, `${name} did not exist in Kafka 2.0`);
    // ApiVersions at a version 2.0 lacked is answered with UNSUPPORTED_VERSION (then retried).
    if (name !== "ApiVersions") assert.ok(version >= r.minVersion && version <= r.maxVersion, `${name} v${version}`);
  }
  return served;
}

describe("kbin serve --emulate-kafka 2.0", () => {
  let broker: BrokerProcess;

  before(async () => {
    broker = await startBrokerProcess({
      args: ["--emulate-kafka", "2.0", "--set", "group.initial.rebalance.delay.ms=0"],
    });
    for (const t of ["emu-kcat", "emu-kafkajs", "emu-sarama"]) await createTopic(broker, t, { partitions: 1 });
  });
  after(async () => {
    await broker?.[Symbol.asyncDispose]();
  });

  test("kcat (librdkafka 2.0) produces with lz4 and consumes back", { skip: KCAT_MISSING }, async () => {
    const lines = Array.from({ length: 50 }, (_, i) => `k${i}:value-${i}`).join("\n") + "\n";
    const produced = await run("kcat", ["-P", "-b", broker.bootstrap, "-t", "emu-kcat", "-K", ":", "-z", "lz4"], {
      input: lines,
    });
    assert.equal(produced.code, 0, produced.stderr);
    const consumed = await run("kcat", ["-C", "-b", broker.bootstrap, "-t", "emu-kcat", "-e", "-f", "%k=%s\n"]);
    assert.equal(consumed.code, 0, consumed.stderr);
    assert.deepEqual(
      consumed.stdout.trim().split("\n"),
      Array.from({ length: 50 }, (_, i) => `k${i}=value-${i}`),
    );
  });

  test("KafkaJS produces and a KafkaJS group consumer reads it back", async () => {
    const kafka = new Kafka({ brokers: [broker.bootstrap], clientId: "emu", logLevel: logLevel.NOTHING });
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    await producer.send({
      topic: "emu-kafkajs",
      messages: Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })),
    });
    await producer.disconnect();
    const consumer = kafka.consumer({ groupId: "emu-kafkajs-group" });
    const seen: string[] = [];
    await consumer.connect();
    try {
      await consumer.subscribe({ topic: "emu-kafkajs", fromBeginning: true });
      await consumer.run({ eachMessage: async ({ message }) => void seen.push(String(message.value)) });
      await waitFor("20 records", () => (seen.length >= 20 ? true : undefined), 30_000);
    } finally {
      await consumer.disconnect();
    }
    assert.deepEqual(seen, Array.from({ length: 20 }, (_, i) => `v${i}`));
  });

  test("Sarama (V2_0_0_0) produces and consumes back", { skip: SARAMA_MISSING }, async () => {
    const bin = await buildGoDriver(SARAMA_DIR, "sarama-driver");
    const values = Array.from({ length: 10 }, (_, i) => Buffer.from(`s${i}`).toString("base64"));
    const out = await runJsonDriver<{ results: Record<string, unknown>[] }>(bin, [], {
      bootstrap: broker.bootstrap,
      ops: [
        {
          op: "produce",
          topic: "emu-sarama",
          version: "2.0.0",
          codec: "gzip",
          records: values.map((v) => ({ p: 0, k: null, v, h: [] })),
        },
        { op: "consume", topic: "emu-sarama", partitions: [0], start: 0, expect: { "0": 10 }, version: "2.0.0" },
      ],
    }, { broker });
    const [produced, consumed] = out.results;
    assert.equal(produced!["exception"], undefined, String(produced!["exception"]));
    assert.equal(consumed!["exception"], undefined, String(consumed!["exception"]));
    const records = consumed!["records"] as { v: string }[];
    assert.deepEqual(records.map((r) => r.v), values);
  });

  test("no client was served a version Kafka 2.0 did not have", async () => {
    await broker.stop("SIGTERM");
    const served = assertWithinKafka20(broker.log());
    if (process.env.KBIN_COMPAT_VERBOSE) console.error(served.map(([n, v]) => `${n} v${v}`).join(", "));
    // The clients really used the old versions: Produce and Fetch at most 2.0's v6 and v8.
    assert.ok(served.some(([n]) => n === "Produce"));
    assert.ok(served.some(([n]) => n === "Fetch"));
  });
});
