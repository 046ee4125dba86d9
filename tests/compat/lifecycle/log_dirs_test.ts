/**
 * DescribeLogDirs (key 35) through @platformatic/kafka 1.x's `Admin.describeLogDirs()` (v4), on
 * every persistent engine: the broker's one log dir (the data directory on `file:` with the file
 * system's total and usable bytes; the database on `postgres:`, sizes unknown, -1) lists each
 * partition with the bytes it holds, which grow with produce and shrink when retention or
 * DeleteRecords removes data. `kbin log-dirs` and `kbin topic describe` print the same sizes.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { statfs } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Admin } from "@platformatic/kafka";
import { Kafka, logLevel } from "kafkajs";
import {
  type BrokerProcess,
  BUN,
  MAIN,
  PERSISTENT_ENGINES,
  run,
  startBrokerProcess,
} from "../../support/broker_process.ts";
import { stopSharedPostgres } from "../../support/postgres.ts";
import { createTopic } from "../shared/kbin.ts";

after(stopSharedPostgres);

for (const engine of PERSISTENT_ENGINES) {
  describe(`DescribeLogDirs through real clients on ${engine.name}:`, () => {
    let dataDir: string;
    let broker: BrokerProcess;
    let admin: Admin;

    before(async () => {
      dataDir = await mkdtemp(join(tmpdir(), "kbin-log-dirs-"));
      broker = await startBrokerProcess({ dataDir, storage: await engine.url(dataDir) });
      admin = new Admin({ clientId: "platformatic-log-dirs", bootstrapBrokers: [broker.bootstrap] });
    });
    after(async () => {
      await admin?.close();
      await broker?.[Symbol.asyncDispose]();
      await rm(dataDir, { recursive: true, force: true });
    });

    async function sizes(topic: string, partitions: number[]) {
      const [described] = await admin.describeLogDirs({ topics: [{ name: topic, partitions }] });
      assert.equal(described!.broker, 1);
      assert.equal(described!.results.length, 1);
      const dir = described!.results[0]!;
      const out = new Map<number, bigint>();
      for (const t of dir.topics) {
        assert.equal(t.name, topic);
        for (const p of t.partitions) {
          assert.equal(p.offsetLag, 0n);
          assert.equal(p.isFutureKey, false);
          out.set(p.partitionIndex, p.partitionSize);
        }
      }
      return { dir, sizes: out };
    }

    test("Admin.describeLogDirs() gives the log dir, its space and each partition's bytes", async () => {
      await createTopic(broker, "ld-sizes", { partitions: 2 });
      const empty = await sizes("ld-sizes", [0, 1]);
      assert.deepEqual([...empty.sizes], [[0, 0n], [1, 0n]]);
      if (engine.name === "file") {
        assert.equal(empty.dir.logDir, dataDir);
        const fs = await statfs(dataDir);
        assert.equal(empty.dir.totalBytes, BigInt(fs.blocks * fs.bsize));
        assert.ok(empty.dir.usableBytes > 0n && empty.dir.usableBytes <= empty.dir.totalBytes);
      } else {
        assert.match(empty.dir.logDir, /^postgres(ql)?:\/\//);
        assert.doesNotMatch(empty.dir.logDir, /:[^:@/]+@/); // no password
        assert.deepEqual([empty.dir.totalBytes, empty.dir.usableBytes], [-1n, -1n]);
      }
      const kafka = new Kafka({ brokers: [broker.bootstrap], clientId: "kafkajs-ld", logLevel: logLevel.NOTHING });
      const producer = kafka.producer();
      await producer.connect();
      await producer.send({
        topic: "ld-sizes",
        acks: -1,
        messages: Array.from({ length: 50 }, () => ({ partition: 0, value: "x".repeat(1000) })),
      });
      await producer.disconnect();
      const full = await sizes("ld-sizes", [0, 1]);
      assert.ok(full.sizes.get(0)! > 50_000n, `partition 0 holds ${full.sizes.get(0)} bytes`);
      assert.equal(full.sizes.get(1), 0n);
      // Only the partitions asked for; an unknown topic is left out, as Kafka does.
      const one = await sizes("ld-sizes", [1]);
      assert.deepEqual([...one.sizes.keys()], [1]);
      const [unknown] = await admin.describeLogDirs({ topics: [{ name: "ld-nowhere", partitions: [0] }] });
      assert.deepEqual(unknown!.results[0]!.topics, []);

      // kbin's own tools print the same sizes.
      const describeOut = await run(BUN, [MAIN, "topic", "describe", "ld-sizes", "-b", broker.bootstrap]);
      assert.equal(describeOut.code, 0, describeOut.stderr);
      assert.match(describeOut.stdout, new RegExp(`Partition: 0\\t.*\\tSize: ${full.sizes.get(0)}\\n`));
      const logDirs = await run(BUN, [MAIN, "log-dirs", "--topic", "ld-sizes", "--json", "-b", broker.bootstrap]);
      assert.equal(logDirs.code, 0, logDirs.stderr);
      const parsed = JSON.parse(logDirs.stdout) as {
        brokers: { broker: number; logDirs: { partitions: { partition: string; size: number }[] }[] }[];
      };
      assert.deepEqual(
        parsed.brokers[0]!.logDirs[0]!.partitions.map((p) => [p.partition, p.size]).sort(),
        [["ld-sizes-0", Number(full.sizes.get(0))], ["ld-sizes-1", 0]],
      );
      const text = await run(BUN, [MAIN, "log-dirs", "-b", broker.bootstrap]);
      assert.equal(text.code, 0, text.stderr);
      assert.match(text.stdout, /^Broker: 1\tLogDir: \S+\tTotal: .+\tUsable: .+\n/);
      assert.match(text.stdout, new RegExp(`\\tld-sizes-0\\tSize: ${full.sizes.get(0)}\\tOffsetLag: 0\\n`));
    });
  });
}
