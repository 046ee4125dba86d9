/**
 * kill -9 of the broker between EndTxn and its answer, on every persistent engine. A confluent-kafka
 * (librdkafka 2.0) producer commits a transaction over 32 partitions; the test follows the
 * broker's debug log and kills it with SIGKILL the moment the coordinator logs "Writing transaction
 * markers" for that commit (the Prepare state is stored, the markers are being written). After a
 * restart the coordinator completes the prepared transaction: a read_committed consumer sees all of
 * its records (and exactly the records committed before), reaches the end of every partition in a
 * bounded time, and a new producer with the same transactional.id initialises and commits. Five
 * rounds on file:, two on postgres:, on the same data.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type BrokerProcess, PERSISTENT_ENGINES, startBrokerProcess } from "../../support/broker_process.ts";
import { stopSharedPostgres } from "../../support/postgres.ts";
import { createTopic, PYTHON, pythonMissing, runJsonDriver, waitFor } from "../shared/kbin.ts";

after(stopSharedPostgres);

const CLIENT = fileURLToPath(new URL("./txn_client.py", import.meta.url));
const MISSING = pythonMissing("confluent_kafka");
const PARTITIONS = 32;
const PER_PARTITION = 4;
const TOPIC = "coord-kill";
const TXN_ID = "coord-kill";
const MARKERS = new RegExp(`Writing transaction markers transactionalId=${TXN_ID} result=COMMIT`);

type Read = { values: [number, number, string][]; errors: string[]; timed_out: boolean };

for (const engine of PERSISTENT_ENGINES) {
  const ROUNDS = engine.name === "file" ? 5 : 2;
  describe(`kill -9 of the broker while it writes a commit's markers on ${engine.name}:`, { skip: MISSING }, () => {
    let dataDir: string;
    let broker: BrokerProcess | undefined;
    const start = async () =>
      broker = await startBrokerProcess({
        dataDir,
        storage: await engine.url(dataDir),
        args: ["--log-level", "debug"],
      });

    before(async () => {
      dataDir = await mkdtemp(join(tmpdir(), "kbin-txn-coord-kill-"));
    });
    after(async () => {
      await broker?.[Symbol.asyncDispose]();
      await rm(dataDir, { recursive: true, force: true });
    });

    async function driver<T>(b: BrokerProcess, op: Record<string, unknown>): Promise<T> {
      const out = await runJsonDriver<{ results: (T & { exception?: string })[] }>(
        PYTHON,
        [CLIENT],
        { bootstrap: b.bootstrap, ops: [op] },
        { broker: b, timeoutMs: 90_000 },
      );
      const r = out.results[0]!;
      assert.equal(r.exception, undefined, `${String(r.exception)}\n${b.log().slice(-3000)}`);
      return r;
    }

    test(`${ROUNDS} kills between EndTxn(commit) and its answer: the transaction is all there after the restart`, {
      timeout: ROUNDS * 60_000,
    }, async () => {
      let b = await start();
      await createTopic(b, TOPIC, { partitions: PARTITIONS });
      const partitions = [...Array(PARTITIONS).keys()];
      /** Every record committed so far (sorted values). */
      const expected: string[] = [];
      let recovered = 0;
      for (let round = 0; round < ROUNDS; round++) {
        const records = partitions.flatMap((p) =>
          [...Array(PER_PARTITION).keys()].map((i) => [p, `r${round}-${p}-${i}`])
        );
        // Kill the broker from the handler of the very chunk of its log that carries the line.
        let buffered = "";
        const victim = b;
        victim.child.stderr!.on("data", (d: Buffer) => {
          buffered += d.toString();
          if (MARKERS.test(buffered)) victim.child.kill("SIGKILL");
        });
        const producer = spawn(PYTHON, [CLIENT], { stdio: ["pipe", "ignore", "pipe"] });
        producer.stdin.end(JSON.stringify({
          bootstrap: victim.bootstrap,
          ops: [{ op: "transact", transactional_id: TXN_ID, topic: TOPIC, transactions: [{ records, commit: true }] }],
        }));
        try {
          await waitFor(`round ${round}: the commit's markers`, () => {
            if (victim.child.signalCode !== null) return true;
            assert.equal(victim.child.exitCode, null, `the broker exited:\n${victim.log().slice(-3000)}`);
            return undefined;
          }, 30_000);
        } finally {
          producer.kill("SIGKILL");
        }
        await victim.stop();
        expected.push(...records.map(([, v]) => String(v)));

        b = await start();
        // Kafka's coordinator finishes a prepared transaction after a restart; kbin logs that it did.
        const read = await driver<Read>(b, {
          op: "read",
          topic: TOPIC,
          partitions,
          isolation: "read_committed",
          expect: expected.length,
          timeout_s: 20,
        });
        assert.deepEqual(read.errors, [], `round ${round}`);
        const got = read.values.map((v) => v[2]).sort();
        const mine = got.filter((v) => v.startsWith(`r${round}-`)).length;
        assert.equal(
          read.timed_out,
          false,
          `round ${round}: read_committed reached the end of every partition with ${got.length} of ` +
            `${expected.length} records within 20 s (${mine} of ${records.length} of this round's commit)\n` +
            b.log().slice(-3000),
        );
        assert.deepEqual(got, [...expected].sort(), `round ${round}: read_committed`);
        if (/Completed transactions a restart left prepared/.test(b.log())) recovered++;

        // The same transactional.id initialises (fencing the killed producer's epoch) and commits.
        const after = `after-${round}`;
        await driver(b, {
          op: "transact",
          transactional_id: TXN_ID,
          topic: TOPIC,
          transactions: [{ records: [[round % PARTITIONS, after]], commit: true }],
        });
        expected.push(after);
        const again = await driver<Read>(b, { op: "read", topic: TOPIC, partitions, isolation: "read_committed" });
        assert.equal(again.timed_out, false);
        assert.deepEqual(again.values.map((v) => v[2]).sort(), [...expected].sort(), `round ${round}: after`);
      }
      console.log(
        `${engine.name}: ${ROUNDS} kills while writing markers; ${recovered} restarts completed a prepared commit`,
      );
      // The kill came before the coordinator completed the transaction at least once: otherwise this
      // test killed too late to test anything.
      assert.ok(recovered > 0, "no restart found a prepared transaction to complete");
    });
  });
}
