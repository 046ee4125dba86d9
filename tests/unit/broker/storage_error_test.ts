/**
 * A disk that fails under the log: the partition answers KAFKA_STORAGE_ERROR, nothing crashes,
 * and everything else keeps being served. The broker runs in-process on an in-memory file
 * system that fails on demand; a real client (kcat) sees the error.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { BrokerConfig } from "../../../src/broker/config.ts";
import { silentLogger } from "../../../src/broker/logger.ts";
import { KafkaConnection } from "../../../src/client/connection.ts";
import { PRODUCE_API } from "../../../src/protocol/generated/00_produce.ts";
import { CREATE_TOPICS_API } from "../../../src/protocol/generated/19_create_topics.ts";
import { INIT_PRODUCER_ID_API } from "../../../src/protocol/generated/22_init_producer_id.ts";
import { ErrorCode } from "../../../src/protocol/generated/errors.ts";
import { buildBatch } from "../../../src/protocol/records/records.ts";
import { type RunningBroker, startKafkaBroker } from "../../../src/server/start.ts";
import { StorageError } from "../../../src/storage/engine.ts";
import { memoryFs } from "../../../src/storage/memory/memory_fs.ts";
import { run } from "../../support/broker_process.ts";
import { connect, runtimeWithFs } from "../../support/runtime.ts";

const enc = new TextEncoder();

describe("a failing disk", () => {
  const fs = memoryFs();
  let running: RunningBroker;
  let conn: KafkaConnection;

  before(async () => {
    // Metadata lives in SQLite in memory; only the log goes through the failing file system.
    running = await startKafkaBroker({
      runtime: await runtimeWithFs(fs),
      config: new BrokerConfig([["listeners", "PLAINTEXT://127.0.0.1:0"]]),
      logger: silentLogger,
      storage: "file:/data",
    });
    conn = await KafkaConnection.open("127.0.0.1", running.server.port, { connect });
    const created = await conn.request(CREATE_TOPICS_API, 5, {
      topics: [{ name: "d", numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 1000,
    });
    assert.equal(created.topics[0]!.errorCode, 0);
  });
  after(async () => {
    conn.close();
    await running.close();
  });

  const produce = async (partition: number) => {
    const res = await conn.request(PRODUCE_API, 9, {
      acks: -1,
      timeoutMs: 1000,
      topicData: [{
        name: "d",
        partitionData: [{ index: partition, records: buildBatch([{ value: enc.encode("v") }]) }],
      }],
    });
    return res.responses[0]!.partitionResponses[0]!;
  };

  test("a failed write answers KAFKA_STORAGE_ERROR for that partition and the broker keeps serving", async () => {
    assert.equal((await produce(0)).errorCode, ErrorCode.NONE);
    assert.equal((await produce(1)).errorCode, ErrorCode.NONE);
    fs.failNextWrite();
    const failed = await produce(0);
    assert.equal(failed.errorCode, ErrorCode.KAFKA_STORAGE_ERROR);
    assert.match(failed.errorMessage ?? "", /failed during write/);
    assert.equal((await produce(0)).errorCode, ErrorCode.KAFKA_STORAGE_ERROR, "the log stays offline");
    assert.equal((await produce(1)).errorCode, ErrorCode.NONE, "other partitions are unaffected");
  });

  test(
    "kcat sees the storage error on the failed partition and succeeds on the other",
    { timeout: 60_000 },
    async () => {
      const bootstrap = `127.0.0.1:${running.server.port}`;
      const bad = await run("kcat", [
        "-P",
        "-b",
        bootstrap,
        "-t",
        "d",
        "-p",
        "0",
        "-X",
        "acks=all",
        "-X",
        "message.send.max.retries=0",
        "-X",
        "message.timeout.ms=5000",
      ], { input: "x\n", timeoutMs: 30_000 });
      assert.match(bad.stderr, /KAFKA_STORAGE_ERROR|storage error|Disk error/i, bad.stderr);
      const good = await run("kcat", ["-P", "-b", bootstrap, "-t", "d", "-p", "1", "-X", "acks=all"], {
        input: "y\n",
        timeoutMs: 30_000,
      });
      assert.equal(good.code, 0, good.stderr);
    },
  );
});

describe("storage that cannot reserve producer ids", () => {
  test("InitProducerId answers COORDINATOR_LOAD_IN_PROGRESS (retriable) and works again once storage does", async () => {
    const running = await startKafkaBroker({
      runtime: await runtimeWithFs(memoryFs()),
      config: new BrokerConfig([["listeners", "PLAINTEXT://127.0.0.1:0"]]),
      logger: silentLogger,
      storage: "memory:",
    });
    const conn = await KafkaConnection.open("127.0.0.1", running.server.port, { connect });
    try {
      const storage = running.broker.storage;
      const reserve = storage.reserveProducerIds.bind(storage);
      storage.reserveProducerIds = () => Promise.reject(new StorageError("Cannot reserve producer ids: server gone"));
      const init = () =>
        conn.request(INIT_PRODUCER_ID_API, 4, {
          transactionalId: null,
          transactionTimeoutMs: 60_000,
          producerId: -1n,
          producerEpoch: -1,
        });
      const refused = await init();
      assert.equal(refused.errorCode, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
      assert.equal(refused.producerId, -1n);
      storage.reserveProducerIds = reserve;
      const granted = await init();
      assert.equal(granted.errorCode, ErrorCode.NONE);
      assert.ok(granted.producerId >= 0n);
    } finally {
      conn.close();
      await running.close();
    }
  });
});
