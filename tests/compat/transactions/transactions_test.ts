/**
 * Transactions through real clients on every persistent engine (one broker): confluent-kafka-python
 * (librdkafka 2.0) commits and aborts transactions; a read_committed consumer sees exactly the
 * committed records, read_uncommitted all of them; a second producer with the same
 * transactional.id fences the first; consume-transform-produce with send_offsets_to_transaction
 * commits output and input offsets together; all of it survives a kill -9 of the broker. KafkaJS
 * (`producer.transaction()`, `sendOffsets`, commit, abort) does the same.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Kafka, logLevel } from "kafkajs";
import { type BrokerProcess, PERSISTENT_ENGINES, startBrokerProcess } from "../../support/broker_process.ts";
import { stopSharedPostgres } from "../../support/postgres.ts";
import { createTopic, PYTHON, pythonMissing, runJsonDriver } from "../shared/kbin.ts";

after(stopSharedPostgres);

const CLIENT = fileURLToPath(new URL("./txn_client.py", import.meta.url));
const MISSING = pythonMissing("confluent_kafka");

async function txn<T>(broker: BrokerProcess, op: Record<string, unknown>): Promise<T> {
  const out = await runJsonDriver<{ results: (T & { exception?: string })[] }>(
    PYTHON,
    [CLIENT],
    { bootstrap: broker.bootstrap, ops: [op] },
    { broker, timeoutMs: 90_000 },
  );
  const r = out.results[0]!;
  assert.equal(r.exception, undefined, `${String(r.exception)}\n${broker.log().slice(-3000)}`);
  return r;
}

type Read = { values: [number, number, string][]; errors: string[]; timed_out: boolean };

async function values(broker: BrokerProcess, topic: string, isolation: string, partitions = [0, 1]) {
  const r = await txn<Read>(broker, { op: "read", topic, partitions, isolation });
  assert.deepEqual(r.errors, []);
  assert.equal(r.timed_out, false);
  return r.values.map((v) => v[2]).sort();
}

for (const engine of PERSISTENT_ENGINES) {
  describe(`transactions through real clients on ${engine.name}:`, { skip: MISSING }, () => {
    let dataDir: string;
    let broker: BrokerProcess;
    const start = async () => broker = await startBrokerProcess({ dataDir, storage: await engine.url(dataDir) });

    before(async () => {
      dataDir = await mkdtemp(join(tmpdir(), "kbin-txn-"));
      await start();
    });
    after(async () => {
      await broker?.[Symbol.asyncDispose]();
      await rm(dataDir, { recursive: true, force: true });
    });

    test("confluent-kafka: read_committed sees exactly the committed records, read_uncommitted all", async () => {
      await createTopic(broker, "txn-basic", { partitions: 2 });
      await txn(broker, {
        op: "transact",
        transactional_id: "basic",
        topic: "txn-basic",
        transactions: [
          { records: [[0, "c0"], [1, "c1"], [0, "c2"]], commit: true },
          { records: [[0, "a0"], [1, "a1"]], commit: false },
          { records: [[1, "c3"]], commit: true },
        ],
      });
      assert.deepEqual(await values(broker, "txn-basic", "read_committed"), ["c0", "c1", "c2", "c3"]);
      assert.deepEqual(await values(broker, "txn-basic", "read_uncommitted"), ["a0", "a1", "c0", "c1", "c2", "c3"]);
    });

    test("a second producer with the same transactional.id fences the first", async () => {
      await createTopic(broker, "txn-fence", { partitions: 1 });
      const r = await txn<{ first: string | null }>(broker, {
        op: "fence",
        transactional_id: "fenced",
        topic: "txn-fence",
      });
      assert.match(r.first ?? "no error", /fenced|epoch/i);
      // The fenced producer's open transaction was aborted; the second one's committed.
      assert.deepEqual(await values(broker, "txn-fence", "read_committed", [0]), ["second"]);
    });

    test("consume-transform-produce: output records and input offsets commit together", async () => {
      await createTopic(broker, "txn-in", { partitions: 2 });
      await createTopic(broker, "txn-out", { partitions: 2 });
      await txn(broker, {
        op: "transact",
        transactional_id: "feeder",
        topic: "txn-in",
        transactions: [{ records: Array.from({ length: 20 }, (_, i) => [i % 2, `v${i}`]), commit: true }],
      });
      const r = await txn<{ written: number }>(broker, {
        op: "ctp",
        transactional_id: "ctp",
        group: "ctp-group",
        source: "txn-in",
        sink: "txn-out",
        count: 20,
      });
      assert.equal(r.written, 20);
      const out = await values(broker, "txn-out", "read_committed");
      assert.deepEqual(out, Array.from({ length: 20 }, (_, i) => `V${i}`).sort());
      const admin = new Kafka({ brokers: [broker.bootstrap], clientId: "kafkajs-txn", logLevel: logLevel.NOTHING })
        .admin();
      await admin.connect();
      const committed = await admin.fetchOffsets({ groupId: "ctp-group", topics: ["txn-in"] });
      await admin.disconnect();
      assert.deepEqual(committed[0]!.partitions.map((p) => p.offset).sort(), ["10", "10"]);
    });

    test("KafkaJS producer.transaction(): commit, abort and sendOffsets", async () => {
      await createTopic(broker, "txn-js", { partitions: 1 });
      const kafka = new Kafka({ brokers: [broker.bootstrap], clientId: "kafkajs-txn", logLevel: logLevel.NOTHING });
      const producer = kafka.producer({ transactionalId: "js-txn", maxInFlightRequests: 1, idempotent: true });
      await producer.connect();
      const committed = await producer.transaction();
      await committed.send({ topic: "txn-js", messages: [{ value: "js-c0" }, { value: "js-c1" }] });
      await committed.sendOffsets({
        consumerGroupId: "js-group",
        topics: [{ topic: "txn-js", partitions: [{ partition: 0, offset: "1" }] }],
      });
      await committed.commit();
      const aborted = await producer.transaction();
      await aborted.send({ topic: "txn-js", messages: [{ value: "js-a0" }] });
      await aborted.sendOffsets({
        consumerGroupId: "js-group",
        topics: [{ topic: "txn-js", partitions: [{ partition: 0, offset: "5" }] }],
      });
      await aborted.abort();
      await producer.disconnect();
      assert.deepEqual(await values(broker, "txn-js", "read_committed", [0]), ["js-c0", "js-c1"]);
      const admin = kafka.admin();
      await admin.connect();
      const offsets = await admin.fetchOffsets({ groupId: "js-group", topics: ["txn-js"] });
      await admin.disconnect();
      assert.equal(offsets[0]!.partitions[0]!.offset, "1");
    });

    test("after a kill -9 the committed and aborted transactions read back the same", async () => {
      // A broker of its own, so the one above stops gracefully (and logs the versions it served).
      const dir = await mkdtemp(join(tmpdir(), "kbin-txn-kill-"));
      let victim = await startBrokerProcess({ dataDir: dir, storage: await engine.url(dir) });
      try {
        await createTopic(victim, "txn-kill", { partitions: 2 });
        const plan = (records: [number, string][], commit: boolean) => ({ records, commit });
        await txn(victim, {
          op: "transact",
          transactional_id: "kill",
          topic: "txn-kill",
          transactions: [plan([[0, "c0"], [1, "c1"]], true), plan([[0, "a0"]], false)],
        });
        const before = await values(victim, "txn-kill", "read_committed");
        assert.deepEqual(before, ["c0", "c1"]);
        await victim.stop("SIGKILL");
        victim = await startBrokerProcess({ dataDir: dir, storage: await engine.url(dir) });
        assert.deepEqual(await values(victim, "txn-kill", "read_committed"), before);
        assert.deepEqual(await values(victim, "txn-kill", "read_uncommitted"), ["a0", "c0", "c1"]);
        // The transactional id goes on at its next epoch.
        await txn(victim, {
          op: "transact",
          transactional_id: "kill",
          topic: "txn-kill",
          transactions: [plan([[0, "c2"]], true)],
        });
        assert.deepEqual(await values(victim, "txn-kill", "read_committed"), ["c0", "c1", "c2"]);
      } finally {
        await victim[Symbol.asyncDispose]();
        await rm(dir, { recursive: true, force: true });
      }
    });
  });
}
