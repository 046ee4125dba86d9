/**
 * @platformatic/kafka's transactions (`Producer.beginTransaction()`, `Transaction.send()`,
 * `commit()`, `abort()`, `addConsumer()` and `addOffset()`) on every persistent engine, judged by a
 * read_committed confluent-kafka (librdkafka) consumer: committed records are visible and aborted
 * ones are not; consume-transform-produce from a consumer group commits output records and input
 * offsets together, and an aborted round leaves neither, so a restarted consumer processes its
 * records again.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Consumer, FetchIsolationLevels, type Message, MessagesStreamModes, Producer } from "@platformatic/kafka";
import { type BrokerProcess, PERSISTENT_ENGINES, startBrokerProcess } from "../../support/broker_process.ts";
import { stopSharedPostgres } from "../../support/postgres.ts";
import { createTopic, PYTHON, pythonMissing, runJsonDriver } from "../shared/kbin.ts";

after(stopSharedPostgres);

const CLIENT = fileURLToPath(new URL("./txn_client.py", import.meta.url));
const MISSING = pythonMissing("confluent_kafka");

type Read = { values: [number, number, string][]; errors: string[]; timed_out: boolean };

for (const engine of PERSISTENT_ENGINES) {
  describe(`@platformatic/kafka transactions on ${engine.name}:`, { skip: MISSING }, () => {
    let dataDir: string;
    let broker: BrokerProcess;

    /** What librdkafka's consumer reads of `partitions` at `isolation`, values sorted. */
    async function values(topic: string, isolation: string, partitions = [0, 1]): Promise<string[]> {
      const out = await runJsonDriver<{ results: (Read & { exception?: string })[] }>(
        PYTHON,
        [CLIENT],
        { bootstrap: broker.bootstrap, ops: [{ op: "read", topic, partitions, isolation }] },
        { broker, timeoutMs: 60_000 },
      );
      const r = out.results[0]!;
      assert.equal(r.exception, undefined, String(r.exception));
      assert.deepEqual(r.errors, []);
      assert.equal(r.timed_out, false, `the ${isolation} reader never reached the end of ${topic}`);
      return r.values.map((v) => v[2]).sort();
    }

    const base = () => ({ clientId: "pk-txn", bootstrapBrokers: [broker.bootstrap] });

    before(async () => {
      dataDir = await mkdtemp(join(tmpdir(), "kbin-pk-txn-"));
      broker = await startBrokerProcess({ dataDir, storage: await engine.url(dataDir) });
    });
    after(async () => {
      await broker?.[Symbol.asyncDispose]();
      await rm(dataDir, { recursive: true, force: true });
    });

    test("Transaction.commit() and abort(): read_committed sees the committed records, read_uncommitted both", async () => {
      await createTopic(broker, "pk-txn", { partitions: 2 });
      const producer = new Producer({ ...base(), idempotent: true, transactionalId: "pk-basic" });
      try {
        const send = (tx: Awaited<ReturnType<typeof producer.beginTransaction>>, vals: [number, string][]) =>
          tx.send({ messages: vals.map(([partition, v]) => ({ topic: "pk-txn", partition, value: Buffer.from(v) })) });
        const committed = await producer.beginTransaction();
        await send(committed, [[0, "c0"], [1, "c1"]]);
        await send(committed, [[0, "c2"]]);
        await committed.commit();
        const aborted = await producer.beginTransaction();
        await send(aborted, [[0, "a0"], [1, "a1"]]);
        await aborted.abort();
        const again = await producer.beginTransaction();
        await send(again, [[1, "c3"]]);
        await again.commit();
      } finally {
        await producer.close();
      }
      assert.deepEqual(await values("pk-txn", "read_committed"), ["c0", "c1", "c2", "c3"]);
      assert.deepEqual(await values("pk-txn", "read_uncommitted"), ["a0", "a1", "c0", "c1", "c2", "c3"]);
    });

    test("Transaction.addConsumer() and addOffset(): output and input offsets commit together, an aborted round neither", async () => {
      await createTopic(broker, "pk-in", { partitions: 2 });
      await createTopic(broker, "pk-out", { partitions: 2 });
      const input = Array.from({ length: 20 }, (_, i) => ({ partition: i % 2, value: `v${i}` }));
      const feeder = new Producer({ ...base(), idempotent: true, transactionalId: "pk-feeder" });
      try {
        const tx = await feeder.beginTransaction();
        await tx.send({
          messages: input.map((r) => ({ topic: "pk-in", partition: r.partition, value: Buffer.from(r.value) })),
        });
        await tx.commit();
      } finally {
        await feeder.close();
      }

      const producer = new Producer({ ...base(), idempotent: true, transactionalId: "pk-ctp" });
      /**
       * One consumer of the group: reads batches of 5, writes them upper-cased in a transaction with
       * their offsets; aborts the first transaction when `abortFirst`, then stops. Returns what it committed.
       */
      async function runProcessor(options: { abortFirst: boolean; until: number }): Promise<number> {
        const consumer = new Consumer({
          ...base(),
          groupId: "pk-ctp-group",
          isolationLevel: FetchIsolationLevels.READ_COMMITTED,
          autocommit: false,
        });
        let committed = 0;
        try {
          const stream = await consumer.consume({
            topics: ["pk-in"],
            mode: MessagesStreamModes.COMMITTED,
            fallbackMode: "earliest",
          });
          let batch: Message[] = [];
          for await (const message of stream) {
            batch.push(message);
            if (batch.length < 5) continue;
            const tx = await producer.beginTransaction();
            await tx.send({
              messages: batch.map((m) => ({
                topic: "pk-out",
                partition: m.partition,
                value: Buffer.from(m.value.toString().toUpperCase()),
              })),
            });
            await tx.addConsumer(consumer);
            for (const m of batch) await tx.addOffset(m);
            if (options.abortFirst) {
              await tx.abort();
              break;
            }
            await tx.commit();
            committed += batch.length;
            batch = [];
            if (committed >= options.until) break;
          }
          await stream.close();
        } finally {
          await consumer.close();
        }
        return committed;
      }
      try {
        assert.equal(await runProcessor({ abortFirst: true, until: 0 }), 0);
        // Nothing committed: the group starts over from the earliest offsets and processes all 20.
        assert.equal(await runProcessor({ abortFirst: false, until: 20 }), 20);
      } finally {
        await producer.close();
      }
      assert.deepEqual(await values("pk-out", "read_committed"), input.map((r) => r.value.toUpperCase()).sort());
      assert.equal(
        (await values("pk-out", "read_uncommitted")).length,
        25,
        "the aborted round's 5 copies are in the log",
      );
      const checker = new Consumer({ ...base(), groupId: "pk-ctp-group" });
      try {
        const offsets = await checker.listCommittedOffsets({ topics: [{ topic: "pk-in", partitions: [0, 1] }] });
        assert.deepEqual(offsets.get("pk-in"), [10n, 10n]);
      } finally {
        await checker.close();
      }
    });
  });
}
