/**
 * A full disk, for real: `kbin serve` on a 24 MiB tmpfs the test mounts, with 8 MiB of ballast
 * and `kbin.log.dir.min.free.bytes` at 4 MiB. confluent-kafka-python (acks=all) writes 8 KiB
 * records until produce answers KAFKA_STORAGE_ERROR (with an ERROR line in the broker's log);
 * meanwhile reads and group offset commits (KafkaJS) go on. Removing the ballast brings the space
 * back and writes resume by themselves. After a kill -9 and a restart every acknowledged record
 * is there and no segment was torn. Needs root to mount the tmpfs (as the suite runs in CI).
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { type BrokerProcess, startBrokerProcess } from "../../support/broker_process.ts";
import { createTopic, pythonMissing, runConfluent, waitFor } from "../shared/kbin.ts";
import { permanentSkip } from "../../support/skips.ts";

const MISSING = pythonMissing("confluent_kafka");
const VALUE = Buffer.alloc(8192, "d").toString("base64");

/** Mounts a tmpfs of `size` at a new temporary directory, or says why it cannot. */
async function mountTmpfs(size: string): Promise<{ dir: string } | { why: string }> {
  const dir = await mkdtemp(join(tmpdir(), "kbin-full-disk-"));
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir], { stdio: "pipe" });
    return { dir };
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    return { why: `cannot mount a tmpfs (needs root): ${(err as Error).message.split("\n")[0]}` };
  }
}

interface Report {
  p: number;
  o: number;
  err: { name: string } | null;
}

const mounted = MISSING ? null : await mountTmpfs("24m");
if (mounted !== null && "why" in mounted) console.warn(`full_disk_test: ${mounted.why}`);
const SKIP = MISSING || permanentSkip("full-disk-tmpfs-needs-root", mounted !== null && "why" in mounted);

describe("a full disk under kbin serve", { skip: SKIP }, () => {
  const dir = mounted !== null && "dir" in mounted ? mounted.dir : "";
  const dataDir = join(dir, "data");
  const ballast = join(dir, "ballast");
  let broker: BrokerProcess;
  const start = () => startBrokerProcess({ dataDir, args: ["--set", "kbin.log.dir.min.free.bytes=4194304"] });

  before(async () => {
    await writeFile(ballast, Buffer.alloc(8 * 1024 * 1024));
    broker = await start();
  });
  after(async () => {
    await broker?.[Symbol.asyncDispose]();
    if (dir) {
      execFileSync("umount", [dir]);
      await rm(dir, { recursive: true, force: true });
    }
  });

  async function produce(count: number, partition: number): Promise<Report[]> {
    const [r] = await runConfluent<{ reports: Report[] }>(broker, [{
      op: "produce",
      topic: "disk",
      config: { acks: "all", "message.timeout.ms": 3000, "linger.ms": 5 },
      records: Array.from({ length: count }, () => ({ p: partition, k: null, v: VALUE, h: [] })),
    }]);
    return r!.reports;
  }

  test(
    "produce fails with KAFKA_STORAGE_ERROR below the floor; reads and commits go on; writes resume; nothing acknowledged is lost",
    {
      timeout: 120_000,
    },
    async () => {
      await createTopic(broker, "disk", { partitions: 2, configs: { "segment.bytes": "1048576" } });
      // 24 MiB - 8 MiB ballast - 4 MiB floor leaves about 12 MiB: 2,000 records of 8 KiB do not fit.
      const first = await produce(2000, 0);
      const acked = first.filter((r) => r.err === null);
      const refused = first.filter((r) => r.err !== null);
      assert.ok(acked.length > 500 && acked.length < 1700, `${acked.length} acknowledged`);
      assert.ok(refused.length > 0, "nothing was refused");
      assert.ok(
        refused.every((r) => ["KAFKA_STORAGE_ERROR", "_MSG_TIMED_OUT"].includes(r.err!.name)),
        JSON.stringify(refused.slice(0, 3)),
      );
      assert.match(broker.log(), /ERROR The data directory is short of free space/);
      // Reads go on, and so do group offset commits.
      const [read] = await runConfluent<{ records: { o: number }[]; errors: unknown[] }>(broker, [
        { op: "consume", topic: "disk", partitions: [0], timeout_s: 20 },
      ]);
      assert.deepEqual(read!.errors, []);
      // Every acknowledged record, and nothing else (a retried record may have got a later offset).
      assert.deepEqual(read!.records.map((r) => r.o), acked.map((r) => r.o).sort((a, b) => a - b));
      const admin = new Kafka({ brokers: [broker.bootstrap], clientId: "kafkajs-disk", logLevel: logLevel.NOTHING })
        .admin();
      await admin.connect();
      await admin.setOffsets({ groupId: "disk-readers", topic: "disk", partitions: [{ partition: 0, offset: "7" }] });
      const offsets = await admin.fetchOffsets({ groupId: "disk-readers", topics: ["disk"] });
      await admin.disconnect();
      assert.equal(offsets[0]!.partitions.find((p) => p.partition === 0)!.offset, "7");

      // Space returns: writes resume by themselves.
      await rm(ballast);
      await waitFor("writes to resume", async () => {
        const r = await produce(1, 1);
        return r[0]!.err === null ? true : undefined;
      }, 15_000);
      assert.match(broker.log(), /Free space is back in the data directory: writes resume/);
      const more = (await produce(200, 0)).filter((r) => r.err === null);
      assert.equal(more.length, 200);

      // A kill -9 and a restart: everything acknowledged is there, nothing was torn.
      await broker.stop("SIGKILL");
      broker = await start();
      const [after] = await runConfluent<{ records: { o: number }[]; errors: unknown[] }>(broker, [
        { op: "consume", topic: "disk", partitions: [0], timeout_s: 20 },
      ]);
      assert.deepEqual(after!.errors, []);
      const got = new Set(after!.records.map((r) => r.o));
      for (const r of [...acked, ...more]) assert.ok(got.has(r.o), `acknowledged offset ${r.o} is gone`);
      assert.doesNotMatch(broker.log(), /Truncating torn or corrupt log tail/);
    },
  );
});
