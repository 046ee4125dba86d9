/**
 * Transactions through librdkafka 2.12 (node-rdkafka 3.6.1, the build
 * scripts/install_node_rdkafka.sh makes) on every persistent engine: one transaction committed and
 * one aborted, then a read_committed consumer sees exactly the committed records and a
 * read_uncommitted one both; consume-transform-produce with `sendOffsetsToTransaction()` commits
 * output records and input offsets together, and an aborted round commits neither.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Kafka, logLevel } from "kafkajs";
import { type BrokerProcess, PERSISTENT_ENGINES, startBrokerProcess } from "../../support/broker_process.ts";
import { stopSharedPostgres } from "../../support/postgres.ts";
import { clientMissing } from "../../support/skips.ts";
import { installLibrary } from "../rdkafka212/driver.ts";
import { createTopic, runJsonDriver } from "../shared/kbin.ts";

after(stopSharedPostgres);

const DRIVER = fileURLToPath(new URL("./rdkafka_txn.cjs", import.meta.url));
const NO_NODE = clientMissing(
  "node",
  spawnSync("node", ["--version"]).status !== 0 ? "node is not on PATH (node-rdkafka needs it)" : false,
);

type Read = { values: [number, number, string][]; errors: string[]; timed_out: boolean };

for (const engine of PERSISTENT_ENGINES) {
  describe(`librdkafka 2.12 (node-rdkafka) transactions on ${engine.name}:`, { skip: NO_NODE }, () => {
    let dataDir: string;
    let broker: BrokerProcess;
    let modules = "";

    async function rdkafka<T>(op: Record<string, unknown>): Promise<T> {
      const out = await runJsonDriver<{ results: (T & { exception?: string })[] }>(
        "node",
        [DRIVER, modules],
        { bootstrap: broker.bootstrap, ops: [op] },
        { broker, timeoutMs: 90_000 },
      );
      const r = out.results[0]!;
      assert.equal(r.exception, undefined, `${String(r.exception)}\n${broker.log().slice(-3000)}`);
      return r;
    }

    async function values(topic: string, isolation: string, partitions = [0, 1]): Promise<string[]> {
      const r = await rdkafka<Read>({ op: "read", topic, partitions, isolation });
      assert.deepEqual(r.errors, []);
      assert.equal(r.timed_out, false, `the ${isolation} reader never reached the end of ${topic}`);
      return r.values.map((v) => v[2]).sort();
    }

    before(async () => {
      // installLibrary() returns …/node_modules/node-rdkafka/build/deps/librdkafka.so.1.
      modules = dirname(dirname(dirname(dirname(await installLibrary()))));
      dataDir = await mkdtemp(join(tmpdir(), "kbin-rk-txn-"));
      broker = await startBrokerProcess({ dataDir, storage: await engine.url(dataDir) });
    });
    after(async () => {
      await broker?.[Symbol.asyncDispose]();
      await rm(dataDir, { recursive: true, force: true });
    });

    test("the driver runs librdkafka 2.12", async () => {
      assert.equal((await rdkafka<{ version: string }>({ op: "version" })).version, "2.12.0");
    });

    test("Producer.commitTransaction() and abortTransaction(): read_committed sees the committed records, read_uncommitted both", async () => {
      await createTopic(broker, "rk-txn", { partitions: 2 });
      await rdkafka({
        op: "transact",
        transactional_id: "rk-basic",
        topic: "rk-txn",
        transactions: [
          { records: [[0, "c0"], [1, "c1"], [0, "c2"]], commit: true },
          { records: [[0, "a0"], [1, "a1"]], commit: false },
        ],
      });
      assert.deepEqual(await values("rk-txn", "read_committed"), ["c0", "c1", "c2"]);
      assert.deepEqual(await values("rk-txn", "read_uncommitted"), ["a0", "a1", "c0", "c1", "c2"]);
      // The id goes on: a later commit is visible after the aborted records.
      await rdkafka({
        op: "transact",
        transactional_id: "rk-basic",
        topic: "rk-txn",
        transactions: [{ records: [[1, "c3"]], commit: true }],
      });
      assert.deepEqual(await values("rk-txn", "read_committed"), ["c0", "c1", "c2", "c3"]);
    });

    test("Producer.sendOffsetsToTransaction(): output records and input offsets commit together, an aborted round neither", async () => {
      await createTopic(broker, "rk-in", { partitions: 2 });
      await createTopic(broker, "rk-out", { partitions: 2 });
      const input = Array.from({ length: 30 }, (_, i) => [i % 2, `v${i}`]);
      await rdkafka({
        op: "transact",
        transactional_id: "rk-feeder",
        topic: "rk-in",
        transactions: [{ records: input, commit: true }],
      });
      const r = await rdkafka<{ written: number; aborted: number }>({
        op: "ctp",
        transactional_id: "rk-ctp",
        group: "rk-ctp-group",
        source: "rk-in",
        sink: "rk-out",
        count: 30,
        abort_first: true,
      });
      assert.equal(r.written, 30);
      assert.ok(r.aborted > 0, "the first round was not aborted");
      const expected = input.map(([, v]) => String(v).toUpperCase()).sort();
      assert.deepEqual(await values("rk-out", "read_committed"), expected);
      // read_uncommitted also sees the aborted round's copies.
      assert.equal((await values("rk-out", "read_uncommitted")).length, 30 + r.aborted);
      const kafka = new Kafka({ brokers: [broker.bootstrap], clientId: "kafkajs-rk-txn", logLevel: logLevel.NOTHING });
      const admin = kafka.admin();
      await admin.connect();
      try {
        const committed = await admin.fetchOffsets({ groupId: "rk-ctp-group", topics: ["rk-in"] });
        assert.deepEqual(committed[0]!.partitions.map((p) => p.offset).sort(), ["15", "15"]);
      } finally {
        await admin.disconnect();
      }
    });
  });
}
