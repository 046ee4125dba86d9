/**
 * Version emulation (`kbin.emulate.kafka.version`): the broker advertises and accepts only what
 * the emulated Kafka release did, and refuses the rest as that release would.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { startBroker } from "../../../mod.ts";
import { HandlerRegistry } from "../../../src/broker/registry.ts";
import { ALL_HANDLERS } from "../../../src/broker/handlers/mod.ts";
import { KAFKA_RELEASES, releaseApiVersions } from "../../../src/broker/kafka_releases.ts";
import { BrokerConfig, ConfigError } from "../../../src/broker/config.ts";
import { Broker } from "../../../src/broker/broker.ts";
import { KafkaConnection } from "../../../src/client/connection.ts";
import { PRODUCE_API } from "../../../src/protocol/generated/00_produce.ts";
import { METADATA_API } from "../../../src/protocol/generated/03_metadata.ts";
import { OFFSET_COMMIT_API } from "../../../src/protocol/generated/08_offset_commit.ts";
import { API_VERSIONS_API } from "../../../src/protocol/generated/18_api_versions.ts";
import { ErrorCode } from "../../../src/protocol/generated/errors.ts";
import { Reader } from "../../../src/protocol/reader.ts";
import { buildBatch } from "../../../src/protocol/records/records.ts";
import { connect } from "../../support/runtime.ts";
import { rawClient, requestFrame } from "../../support/raw_client.ts";

/** What kbin advertises when emulating `release`: Kafka's ranges, for the APIs kbin implements. */
function expectedWindows(release: string): [number, number, number][] {
  const table = releaseApiVersions(release);
  const out: [number, number, number][] = [];
  for (const h of [...ALL_HANDLERS].sort((a, b) => a.api.apiKey - b.api.apiKey)) {
    const r = table.get(h.api.apiKey);
    if (!r) continue;
    const max = Math.min(h.maxVersion, r.maxVersion, h.api.latestVersionUnstable ? h.api.maxVersion - 1 : Infinity);
    const min = Math.max(h.minVersion, r.minVersion);
    if (min <= max) out.push([h.api.apiKey, min, max]);
  }
  return out;
}

describe("HandlerRegistry with an emulated release", () => {
  test("advertises, for every release from 0.10.0 to 4.3, exactly that release's ranges of the APIs kbin serves", () => {
    for (const release of KAFKA_RELEASES) {
      const table = releaseApiVersions(release);
      const registry = new HandlerRegistry(ALL_HANDLERS, { emulate: table });
      const advertised = registry.versions().map((v) => [v.apiKey, v.minVersion, v.maxVersion]);
      assert.deepEqual(advertised, expectedWindows(release), release);
      for (const [key, min, max] of advertised) {
        // kbin serves every version each release had for these APIs: nothing is narrowed further.
        const r = table.get(key!)!;
        const h = ALL_HANDLERS.find((x) => x.api.apiKey === key)!;
        if (!h.api.latestVersionUnstable) {
          assert.deepEqual([min, max], [r.minVersion, r.maxVersion], `${release} key ${key}`);
        }
      }
    }
  });

  test("refuses a version above the emulated release's maximum and Produce v0–v2 under Kafka 4.x", () => {
    const r20 = new HandlerRegistry(ALL_HANDLERS, { emulate: releaseApiVersions("2.0") });
    assert.equal(r20.accepts(0, 6), true);
    assert.equal(r20.accepts(0, 7), false);
    assert.equal(r20.accepts(68, 0), false, "ConsumerGroupHeartbeat did not exist in 2.0");
    assert.equal(r20.window(68), undefined);
    const r40 = new HandlerRegistry(ALL_HANDLERS, { emulate: releaseApiVersions("4.0") });
    assert.deepEqual(r40.window(0), { minVersion: 0, maxVersion: 12, refused: [0, 2] });
    assert.equal(r40.accepts(0, 2), false);
    assert.equal(r40.accepts(0, 3), true);
    assert.equal(r40.accepts(8, 1), false, "Kafka 4.0 removed OffsetCommit v0–v1");
  });

  test("an unknown release stops the broker from starting with a ConfigError", () => {
    const config = new BrokerConfig([["kbin.emulate.kafka.version", "5.0"]]);
    assert.throws(
      () => new Broker({ config } as ConstructorParameters<typeof Broker>[0]),
      (e: unknown) => e instanceof ConfigError && /Cannot emulate Kafka "5.0"/.test(e.message),
    );
  });
});

describe("a broker started with kbin.emulate.kafka.version=2.0", () => {
  test("answers ApiVersions with Kafka 2.0's ranges and refuses what 2.0 did not serve", async () => {
    await using broker = await startBroker({ config: { "kbin.emulate.kafka.version": "2.0" } });
    const conn = await KafkaConnection.open("127.0.0.1", broker.port, { connect });
    try {
      // Kafka 2.0 served ApiVersions v0–v2: a v3 request gets the v0 UNSUPPORTED_VERSION answer,
      // which KafkaConnection retries at v0, as clients do.
      const advertised = [...conn.versions.entries()].map(([k, v]) => [k, v.min, v.max]).sort((a, b) => a[0]! - b[0]!);
      assert.deepEqual(advertised, expectedWindows("2.0"));
      assert.deepEqual(conn.versions.get(0), { min: 0, max: 6 }, "Produce 0–6 in Kafka 2.0");
      assert.deepEqual(conn.versions.get(1), { min: 0, max: 8 }, "Fetch 0–8 in Kafka 2.0");
      assert.deepEqual(conn.versions.get(3), { min: 0, max: 6 }, "Metadata 0–6 in Kafka 2.0");
      assert.equal(conn.versions.has(68), false);

      const md = await conn.request(METADATA_API, 6, { topics: null, allowAutoTopicCreation: true });
      assert.equal(md.brokers.length, 1);
      const produced = await conn.request(PRODUCE_API, 6, {
        acks: -1,
        timeoutMs: 1000,
        topicData: [{
          name: "emu",
          partitionData: [{ index: 0, records: buildBatch([{ value: new Uint8Array([1]) }]) }],
        }],
      });
      assert.equal(produced.responses[0]!.partitionResponses[0]!.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
      // A version 2.0 did not have closes the connection, as Kafka 2.0 would.
      await assert.rejects(conn.request(METADATA_API, 7, { topics: null, allowAutoTopicCreation: false }));
      assert.equal(conn.closed, true);
    } finally {
      conn.close();
    }

    // An ApiVersions request above 2.0's v2 is answered at v0 with UNSUPPORTED_VERSION and the ranges.
    const raw = await rawClient(broker.port);
    try {
      raw.send(requestFrame(API_VERSIONS_API.apiKey, 3, 7, new Uint8Array([0, 0, 0]), true));
      const frame = await raw.frame();
      const r = new Reader(frame);
      assert.equal(r.int32(), 7);
      const res = API_VERSIONS_API.decodeResponse(r, 0);
      assert.equal(res.errorCode, ErrorCode.UNSUPPORTED_VERSION);
      assert.deepEqual(res.apiKeys.find((k) => k.apiKey === 18), { apiKey: 18, minVersion: 0, maxVersion: 2 });
    } finally {
      raw.end();
    }
  });

  test("Kafka 4.0 emulation advertises Produce from v0 but refuses v0–v2, and refuses OffsetCommit v1", async () => {
    await using broker = await startBroker({ config: { "kbin.emulate.kafka.version": "4.0" } });
    const conn = await KafkaConnection.open("127.0.0.1", broker.port, { connect });
    try {
      assert.deepEqual(conn.versions.get(0), { min: 0, max: 12 });
      assert.deepEqual(conn.versions.get(8), { min: 2, max: 9 });
      await assert.rejects(conn.request(OFFSET_COMMIT_API, 1, { groupId: "g", topics: [] }));
    } finally {
      conn.close();
    }
  });
});
