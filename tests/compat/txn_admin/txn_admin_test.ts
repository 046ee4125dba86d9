/**
 * Transaction admin (KIP-664) through real clients on every persistent engine. A
 * confluent-kafka-python (librdkafka) transactional producer begins a transaction and dies without
 * ending it; `kbin txn list`, `describe` and `describe-producers` show it, and so do
 * @platformatic/kafka's own ListTransactions v0/v1, DescribeTransactions v0 and
 * DescribeProducers v0 codecs; a read_committed confluent-kafka consumer stops at the last stable
 * offset; `kbin txn abort --start-offset` (DescribeProducers, then WriteTxnMarkers) aborts it and
 * the consumer then reads the rest of the log. Bad CLI input gets a one-line error.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  Connection,
  describeProducersV0,
  describeTransactionsV0,
  listTransactionsV0,
  listTransactionsV1,
} from "@platformatic/kafka";
import { type BrokerProcess, BUN, MAIN, PERSISTENT_ENGINES, startBrokerProcess } from "../../support/broker_process.ts";
import { stopSharedPostgres } from "../../support/postgres.ts";
import { createTopic, PYTHON, pythonMissing, run, runJsonDriver } from "../shared/kbin.ts";

after(stopSharedPostgres);

const CLIENT = fileURLToPath(new URL("./txn_admin_client.py", import.meta.url));
const MISSING = pythonMissing("confluent_kafka");

async function py<T>(broker: BrokerProcess, op: Record<string, unknown>): Promise<T> {
  const out = await runJsonDriver<{ results: (T & { exception?: string; error?: string })[] }>(
    PYTHON,
    [CLIENT],
    { bootstrap: broker.bootstrap, ops: [op] },
    { broker, timeoutMs: 90_000 },
  );
  const r = out.results[0]!;
  assert.equal(r.exception ?? r.error, undefined, `${String(r.exception ?? r.error)}\n${broker.log().slice(-3000)}`);
  return r;
}

async function kbin(
  broker: BrokerProcess,
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return await run(BUN, [MAIN, "txn", ...args, "-b", broker.bootstrap], { timeoutMs: 60_000 });
}

async function kbinJson<T>(broker: BrokerProcess, args: string[]): Promise<T> {
  const r = await kbin(broker, [...args, "--json"]);
  assert.equal(r.code, 0, `kbin txn ${args.join(" ")}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

type Read = { values: [number, string][]; errors: string[]; timed_out: boolean };

async function readCommitted(broker: BrokerProcess, topic: string): Promise<Read> {
  const r = await py<Read>(broker, { op: "read", topic, partition: 0, isolation: "read_committed" });
  assert.deepEqual(r.errors, []);
  return r;
}

/** The answer of a platformatic call, whether it resolved or rejected for an error code inside. */
async function answer<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (err) {
    const response = (err as { response?: T }).response;
    if (response === undefined) throw err;
    return response;
  }
}

for (const engine of PERSISTENT_ENGINES) {
  describe(`transaction admin through real clients on ${engine.name}:`, { skip: MISSING }, () => {
    let dataDir: string;
    let broker: BrokerProcess;
    let conn: Connection;
    const topic = "hanging";
    const id = "hanging-producer";

    before(async () => {
      dataDir = await mkdtemp(join(tmpdir(), "kbin-txn-admin-"));
      broker = await startBrokerProcess({ dataDir, storage: await engine.url(dataDir) });
      await createTopic(broker, topic, { partitions: 1 });
      await py(broker, { op: "produce", topic, partition: 0, values: ["p0", "p1"] });
      await py(broker, { op: "hang", transactional_id: id, topic, partition: 0, values: ["h0", "h1"] });
      await py(broker, { op: "produce", topic, partition: 0, values: ["p2", "p3"] });
      conn = new Connection("pk-txn-admin");
      await conn.connect(broker.host, broker.port);
    });
    after(async () => {
      await conn?.close();
      await broker?.[Symbol.asyncDispose]();
      await rm(dataDir, { recursive: true, force: true });
    });

    test("kbin txn list shows the open transaction, with state, producer id, duration and pattern filters", async () => {
      type Row = { transactionalId: string; coordinator: number; producerId: number; state: string };
      const all = await kbinJson<Row[]>(broker, ["list"]);
      const row = all.find((t) => t.transactionalId === id);
      assert.ok(row, JSON.stringify(all));
      assert.equal(row.state, "Ongoing");
      assert.deepEqual((await kbinJson<Row[]>(broker, ["list", "--state", "ongoing"])).map((t) => t.transactionalId), [
        id,
      ]);
      assert.deepEqual(await kbinJson<Row[]>(broker, ["list", "--state", "CompleteCommit"]), []);
      assert.deepEqual(
        (await kbinJson<Row[]>(broker, ["list", "--producer-id", String(row.producerId)])).map((t) =>
          t.transactionalId
        ),
        [id],
      );
      assert.deepEqual(await kbinJson<Row[]>(broker, ["list", "--producer-id", String(row.producerId + 1000)]), []);
      assert.deepEqual((await kbinJson<Row[]>(broker, ["list", "--pattern", "hanging-.*"])).length, 1);
      assert.deepEqual(await kbinJson<Row[]>(broker, ["list", "--pattern", "hanging"]), []); // a whole-id match
      assert.deepEqual(await kbinJson<Row[]>(broker, ["list", "--duration-ms", "3600000"]), []);
      assert.equal((await kbinJson<Row[]>(broker, ["list", "--duration-ms", "0"])).length, 1);
      // An unknown state name matches nothing, as in Kafka, and the CLI says so on stderr.
      const unknown = await kbin(broker, ["list", "--state", "Bogus"]);
      assert.equal(unknown.code, 0);
      assert.equal(unknown.stdout, "");
      assert.match(unknown.stderr, /"Bogus"/);
      const text = await kbin(broker, ["list"]);
      assert.match(text.stdout, /^TRANSACTIONAL-ID\s+COORDINATOR\s+PRODUCER-ID\s+STATE\n/);
      assert.match(text.stdout, new RegExp(`${id}\\s+\\d+\\s+${row.producerId}\\s+Ongoing`));
    });

    test("kbin txn describe and describe-producers show the transaction and where it starts", async () => {
      const d = await kbinJson<Record<string, any>>(broker, ["describe", id]);
      assert.equal(d.state, "Ongoing");
      assert.equal(d.timeoutMs, 900000);
      assert.deepEqual(d.partitions, [{ topic, partition: 0 }]);
      assert.ok(d.startTimeMs > 0 && d.durationMs >= 0, JSON.stringify(d));
      const producers = await kbinJson<Record<string, number>[]>(broker, [
        "describe-producers",
        "--topic",
        topic,
        "--partition",
        "0",
      ]);
      const open = producers.filter((p) => (p.currentTransactionStartOffset ?? -1) >= 0);
      assert.equal(open.length, 1, JSON.stringify(producers));
      assert.equal(open[0]!.producerId, d.producerId);
      assert.equal(open[0]!.producerEpoch, d.producerEpoch);
      assert.equal(open[0]!.currentTransactionStartOffset, 2);
      const missing = await kbin(broker, ["describe", "no-such-id"]);
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /^kbin: Cannot describe transactional id "no-such-id": TRANSACTIONAL_ID_NOT_FOUND/);
    });

    test("@platformatic/kafka ListTransactions v0/v1, DescribeTransactions v0 and DescribeProducers v0 decode the answers", async () => {
      // Kafka's state names go through as strings (the client's TypeScript enum spells them
      // "ONGOING", which a Kafka broker does not know: it echoes such names as unknown).
      const states = (names: string[]) => names as never[];
      const v0 = await listTransactionsV0.api.async(conn, states(["Ongoing", "NoSuchState"]), [], -1n, null);
      assert.deepEqual(v0.unknownStateFilters, ["NoSuchState"]);
      assert.deepEqual(v0.transactionStates.map((t) => [t.transactionalId, t.transactionState]), [[id, "Ongoing"]]);
      const enumName = await listTransactionsV0.api.async(conn, ["ONGOING"], [], -1n, null);
      assert.deepEqual([enumName.unknownStateFilters, enumName.transactionStates], [["ONGOING"], []]);
      const pid = v0.transactionStates[0]!.producerId;
      const v1 = await listTransactionsV1.api.async(conn, [], [pid], 3_600_000n, null);
      assert.deepEqual(v1.transactionStates, []);
      const v1all = await listTransactionsV1.api.async(conn, [], [pid], 0n, null);
      assert.deepEqual(v1all.transactionStates.map((t) => t.transactionalId), [id]);
      const d = await answer(describeTransactionsV0.api.async(conn, [id, "no-such-id", ""]));
      assert.deepEqual(d.transactionStates.map((s) => s.errorCode), [0, 105, 42]);
      assert.equal(d.transactionStates[0]!.transactionState, "Ongoing");
      assert.equal(d.transactionStates[0]!.transactionTimeoutMs, 900000);
      assert.deepEqual(d.transactionStates[0]!.topics, [{ topic, partitions: [0] }]);
      const p = await answer(describeProducersV0.api.async(conn, [
        { name: topic, partitionIndexes: [0, 7] },
        { name: "no-such-topic", partitionIndexes: [0] },
      ]));
      const [tp, missing] = p.topics;
      assert.deepEqual(tp!.partitions.map((x) => x.errorCode), [0, 3]);
      assert.deepEqual(missing!.partitions.map((x) => x.errorCode), [3]);
      const open = tp!.partitions[0]!.activeProducers.filter((x) => x.currentTxnStartOffset >= 0n);
      assert.deepEqual(open.map((x) => [x.producerId, x.currentTxnStartOffset]), [[
        d.transactionStates[0]!.producerId,
        2n,
      ]]);
    });

    test("kbin txn rejects bad input with a one-line error", async () => {
      const cases: [string[], RegExp][] = [
        [["abort", "--topic", topic, "--partition", "0"], /give --start-offset, or all of/],
        [
          ["abort", "--topic", topic, "--partition", "0", "--start-offset", "1", "--producer-id", "3"],
          /give --start-offset/,
        ],
        [["abort", "--topic", topic, "--partition", "x", "--start-offset", "1"], /--partition must be a whole number/],
        [["describe-producers", "--topic", topic], /--partition is required/],
        [["describe-producers", "--topic", topic, "--partition", "9"], /partition 9 of topic "hanging"/],
        [["describe-producers", "--topic", "no-such-topic", "--partition", "0"], /UNKNOWN_TOPIC_OR_PARTITION/],
        [
          ["abort", "--topic", topic, "--partition", "0", "--start-offset", "1"],
          /no open transaction .* starts at offset 1/,
        ],
        [["list", "--pattern", "("], /INVALID_REGULAR_EXPRESSION/],
        [["describe"], /expected one transactional id/],
        [["nope"], /unknown command "nope"/],
      ];
      for (const [args, expected] of cases) {
        const r = await kbin(broker, args);
        assert.notEqual(r.code, 0, args.join(" "));
        assert.match(r.stderr, expected, args.join(" "));
        assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
      }
    });

    test("a read_committed confluent-kafka consumer stops at the open transaction (the last stable offset)", async () => {
      const stuck = await readCommitted(broker, topic);
      assert.deepEqual(stuck.values.map((v) => v[1]), ["p0", "p1"]);
    });

    test(
      "kbin txn abort --start-offset (DescribeProducers, then WriteTxnMarkers) releases the read_committed consumer",
      async () => {
        const hanging = await kbinJson<unknown[]>(broker, [
          "find-hanging",
          "--broker-id",
          "0",
          "--max-transaction-timeout",
          "0",
        ]);
        assert.equal(hanging.length, 0, "the coordinator still lists the transaction as ongoing: not hanging");
        const r = await kbin(broker, ["abort", "--topic", topic, "--partition", "0", "--start-offset", "2"]);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /^Aborted the transaction of producer \d+ \(epoch \d+\) on hanging-0\n$/);
        const released = await readCommitted(broker, topic);
        assert.equal(released.timed_out, false);
        assert.deepEqual(released.values.map((v) => v[1]), ["p0", "p1", "p2", "p3"]);
        const producers = await kbinJson<Record<string, number>[]>(broker, [
          "describe-producers",
          "--topic",
          topic,
          "--partition",
          "0",
        ]);
        assert.deepEqual(producers.filter((p) => (p.currentTransactionStartOffset ?? -1) >= 0), []);
      },
    );
  });
}
