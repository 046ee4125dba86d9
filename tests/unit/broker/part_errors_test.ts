/**
 * Errors stay with their part: a partition whose segment reads throw, a partition whose log
 * cannot even be opened, a recompression that throws, a coordinator that throws. Each is
 * answered for that partition or group only, the rest of the request is served, and the
 * connection stays open. The broker runs in-process; its partition logs live on an in-memory
 * file system that fails reads on demand.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { BrokerConfig } from "../../../src/broker/config.ts";
import type { Logger } from "../../../src/ports.ts";
import { KafkaConnection } from "../../../src/client/connection.ts";
import { PRODUCE_API } from "../../../src/protocol/generated/00_produce.ts";
import { FETCH_API } from "../../../src/protocol/generated/01_fetch.ts";
import { LIST_OFFSETS_API } from "../../../src/protocol/generated/02_list_offsets.ts";
import { METADATA_API } from "../../../src/protocol/generated/03_metadata.ts";
import { HEARTBEAT_API } from "../../../src/protocol/generated/12_heartbeat.ts";
import { CREATE_TOPICS_API } from "../../../src/protocol/generated/19_create_topics.ts";
import { ErrorCode } from "../../../src/protocol/generated/errors.ts";
import { buildBatch } from "../../../src/protocol/records/records.ts";
import { type RunningBroker, startKafkaBroker } from "../../../src/server/start.ts";
import { memoryFs } from "../../../src/storage/memory/memory_fs.ts";
import { connect, runtimeWithFs } from "../../support/runtime.ts";

const enc = new TextEncoder();

/** A logger that keeps its lines, so tests can check what was logged with which context. */
function recordingLogger(): Logger & { lines: { level: string; message: string; fields: Record<string, unknown> }[] } {
  const lines: { level: string; message: string; fields: Record<string, unknown> }[] = [];
  const at = (level: string) => (message: string, fields: Record<string, unknown> = {}) =>
    lines.push({ level, message, fields });
  return { lines, debug: () => {}, info: at("info"), warn: at("warn"), error: at("error") };
}

describe("errors stay with their partition, group or resource", () => {
  const fs = memoryFs();
  const logger = recordingLogger();
  let dbDir: string;
  let running: RunningBroker;
  let conn: KafkaConnection;

  async function start(): Promise<void> {
    // Metadata in SQLite on disk (so it survives the restart); partition logs on the failing fs.
    running = await startKafkaBroker({
      runtime: await runtimeWithFs(fs, { dbPath: join(dbDir, "metadata.db") }),
      config: new BrokerConfig([["listeners", "PLAINTEXT://127.0.0.1:0"]]),
      logger,
      storage: "file:/data",
    });
    conn = await KafkaConnection.open("127.0.0.1", running.server.port, { connect });
  }

  async function stop(): Promise<void> {
    conn.close();
    await running.close();
  }

  before(async () => {
    dbDir = await mkdtemp(join(tmpdir(), "kbin-part-errors-"));
    await start();
    const created = await conn.request(CREATE_TOPICS_API, 5, {
      topics: [
        { name: "t", numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] },
        {
          name: "z",
          numPartitions: 1,
          replicationFactor: 1,
          assignments: [],
          configs: [{ name: "compression.type", value: "gzip" }],
        },
      ],
      timeoutMs: 1000,
    });
    assert.deepEqual(created.topics.map((t) => t.errorCode), [0, 0]);
  });
  after(async () => {
    await stop();
    await rm(dbDir, { recursive: true, force: true });
  });

  const produce = async (topic: string, partitions: number[]) => {
    const res = await conn.request(PRODUCE_API, 9, {
      acks: -1,
      timeoutMs: 1000,
      topicData: [{
        name: topic,
        partitionData: partitions.map((p) => ({ index: p, records: buildBatch([{ value: enc.encode(`v${p}`) }]) })),
      }],
    });
    return res.responses[0]!.partitionResponses;
  };
  const fetchBoth = () =>
    conn.request(FETCH_API, 12, {
      replicaId: -1,
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1 << 20,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [{
        topic: "t",
        partitions: [0, 1].map((p) => ({ partition: p, fetchOffset: 0n, partitionMaxBytes: 1 << 20 })),
      }],
      forgottenTopicsData: [],
      rackId: "",
    });
  /** The connection still answers (it was not closed by the failure). */
  const stillServed = async () => {
    const md = await conn.request(METADATA_API, 12, { topics: null, allowAutoTopicCreation: false });
    assert.ok(md.topics.some((t) => t.name === "t"));
  };

  test("a Fetch whose segment read throws for one partition answers it KAFKA_STORAGE_ERROR and serves the other", async () => {
    assert.deepEqual((await produce("t", [0, 1])).map((p) => p.errorCode), [0, 0]);
    const healthy = await fetchBoth();
    assert.deepEqual(healthy.responses[0]!.partitions.map((p) => p.records!.length > 0), [true, true]);
    const heal = fs.failReads((path) => path.startsWith("/data/t-1/") && path.endsWith(".log"));
    try {
      const res = await fetchBoth();
      const [p0, p1] = res.responses[0]!.partitions;
      assert.equal(p0!.errorCode, ErrorCode.NONE);
      assert.ok(p0!.records!.length > 0, "partition 0 is served in the same response");
      assert.equal(p1!.errorCode, ErrorCode.KAFKA_STORAGE_ERROR);
      await stillServed();
    } finally {
      heal();
    }
  });

  test("after a restart, a partition whose log cannot be opened fails alone in Produce, Fetch and ListOffsets", async () => {
    await stop();
    const heal = fs.failReads((path) => path.startsWith("/data/t-1/") && path.endsWith(".log"));
    try {
      logger.lines.length = 0;
      await start(); // the unreadable partition does not keep the broker from starting
      assert.ok(
        logger.lines.some((l) => l.level === "error" && l.fields["dir"] === "t-1"),
        "the failed open is logged with the partition",
      );
      const fetched = await fetchBoth();
      const [p0, p1] = fetched.responses[0]!.partitions;
      assert.equal(p0!.errorCode, ErrorCode.NONE);
      assert.ok(p0!.records!.length > 0);
      assert.equal(p1!.errorCode, ErrorCode.KAFKA_STORAGE_ERROR);
      assert.ok(
        logger.lines.some((l) => l.level === "error" && l.fields["api"] === "Fetch" && l.fields["partition"] === 1),
        "the failure is logged with its API and partition",
      );

      const produced = await produce("t", [0, 1]);
      assert.deepEqual(produced.map((p) => p.errorCode), [ErrorCode.NONE, ErrorCode.KAFKA_STORAGE_ERROR]);

      const listed = await conn.request(LIST_OFFSETS_API, 7, {
        replicaId: -1,
        isolationLevel: 0,
        topics: [{ name: "t", partitions: [0, 1].map((p) => ({ partitionIndex: p, timestamp: -1n })) }],
      });
      assert.deepEqual(listed.topics[0]!.partitions.map((p) => p.errorCode), [
        ErrorCode.NONE,
        ErrorCode.KAFKA_STORAGE_ERROR,
      ]);
      await stillServed();
    } finally {
      heal();
    }
  });

  test("a recompression that throws fails that partition with UNKNOWN_SERVER_ERROR; the other topic is stored", async () => {
    const codecs = running.broker.codecs;
    const original = codecs.compress;
    codecs.compress = () => {
      throw new TypeError("simulated codec bug");
    };
    try {
      const res = await conn.request(PRODUCE_API, 9, {
        acks: -1,
        timeoutMs: 1000,
        topicData: [
          { name: "z", partitionData: [{ index: 0, records: buildBatch([{ value: enc.encode("x") }]) }] },
          { name: "t", partitionData: [{ index: 0, records: buildBatch([{ value: enc.encode("y") }]) }] },
        ],
      });
      const [z, t] = res.responses.map((r) => r.partitionResponses[0]!);
      assert.equal(z!.errorCode, ErrorCode.UNKNOWN_SERVER_ERROR);
      assert.equal(t!.errorCode, ErrorCode.NONE);
      await stillServed();
    } finally {
      codecs.compress = original;
    }
  });

  test("a group coordinator that throws answers Heartbeat UNKNOWN_SERVER_ERROR and keeps the connection", async () => {
    const groups = running.broker.groups;
    const original = groups.heartbeat;
    groups.heartbeat = () => {
      throw new Error("simulated coordinator bug");
    };
    try {
      const res = await conn.request(HEARTBEAT_API, 4, {
        groupId: "g",
        generationId: 1,
        memberId: "m",
        groupInstanceId: null,
      });
      assert.equal(res.errorCode, ErrorCode.UNKNOWN_SERVER_ERROR);
      await stillServed();
    } finally {
      groups.heartbeat = original;
    }
  });
});
