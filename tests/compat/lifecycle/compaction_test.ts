/**
 * Compaction through real clients, on every persistent engine. kcat (librdkafka 2.0) writes keyed
 * records and tombstones (`-Z`: an empty value is null) to a topic with `cleanup.policy=compact`
 * and small segments; the broker's cleaner (`log.cleaner.backoff.ms` 100 here) compacts it, and a
 * fresh confluent-kafka-python consumer then sees exactly the newest value of every key, the
 * tombstones included; once `delete.retention.ms` passed and more data came, a later cleaning
 * removes the tombstones too. A keyless record to a compacted topic is refused with INVALID_RECORD
 * (KIP-467) while the other partition of the same request is written.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrokerProcess, PERSISTENT_ENGINES, startBrokerProcess } from "../../support/broker_process.ts";
import { stopSharedPostgres } from "../../support/postgres.ts";
import { createTopic, kcatMissing, pythonMissing, run, runConfluent, waitFor } from "../shared/kbin.ts";

after(stopSharedPostgres);

const MISSING = pythonMissing("confluent_kafka") || kcatMissing();
const b64 = (s: string) => Buffer.from(s).toString("base64");
const text = (s: string | null) => (s === null ? null : Buffer.from(s, "base64").toString());

interface Read {
  records: { o: number; k: string | null; v: string | null }[];
  errors: unknown[];
  timed_out: boolean;
}

for (const engine of PERSISTENT_ENGINES) {
  describe(`compaction through real clients on ${engine.name}:`, { skip: MISSING }, () => {
    let dataDir: string;
    let broker: BrokerProcess;

    before(async () => {
      dataDir = await mkdtemp(join(tmpdir(), "kbin-compaction-"));
      broker = await startBrokerProcess({
        dataDir,
        storage: await engine.url(dataDir),
        args: ["--set", "log.cleaner.backoff.ms=100"],
      });
    });
    after(async () => {
      await broker?.[Symbol.asyncDispose]();
      await rm(dataDir, { recursive: true, force: true });
    });

    async function kcatProduce(topic: string, lines: string[]): Promise<void> {
      // One line per message, key and value split at ":"; -Z makes an empty value null (a tombstone).
      const r = await run(
        "kcat",
        ["-b", broker.bootstrap, "-P", "-t", topic, "-p", "0", "-K", ":", "-Z", "-X", "linger.ms=0"],
        { input: lines.join("\n") + "\n", timeoutMs: 30_000 },
      );
      assert.equal(r.code, 0, r.stderr);
    }

    async function readAll(topic: string): Promise<[string | null, string | null][]> {
      const [r] = await runConfluent<Read>(broker, [{ op: "consume", topic, partitions: [0], timeout_s: 20 }]);
      assert.deepEqual(r!.errors, []);
      assert.equal(r!.timed_out, false);
      return r!.records.map((x) => [text(x.k), text(x.v)]);
    }

    test("a fresh consumer sees each key's newest value; tombstones go after delete.retention.ms", async () => {
      await createTopic(broker, "cmp", {
        partitions: 1,
        configs: {
          "cleanup.policy": "compact",
          "segment.bytes": "1024",
          "min.cleanable.dirty.ratio": "0.01",
          "delete.retention.ms": "3000",
        },
      });
      // Ten keys, twenty versions each, in many small segments; then tombstones for k0–k2.
      for (let round = 0; round < 20; round++) {
        await kcatProduce("cmp", Array.from({ length: 10 }, (_, k) => `k${k}:v${round}-${"x".repeat(40)}`));
      }
      await kcatProduce("cmp", ["k0:", "k1:", "k2:"]);
      // A record of its own in the active segment: everything before it can be cleaned.
      await kcatProduce("cmp", [`filler1:${"f".repeat(1100)}`]);
      await waitFor(
        "the cleaner to compact",
        () => (/Compacted a partition topic=cmp/.test(broker.log()) ? true : undefined),
        15_000,
      );
      const expected: [string, string | null][] = [
        ["k0", null],
        ["k1", null],
        ["k2", null],
        ...Array.from({ length: 7 }, (_, i): [string, string] => [`k${i + 3}`, `v19-${"x".repeat(40)}`]),
        ["filler1", "f".repeat(1100)],
      ];
      const sorted = (rs: [string | null, string | null][]) => [...rs].sort((a, b) => (a[0]! < b[0]! ? -1 : 1));
      await waitFor("exactly the newest value of every key", async () => {
        const read = await readAll("cmp");
        return JSON.stringify(sorted(read)) === JSON.stringify(sorted(expected)) ? true : undefined;
      }, 15_000);
      // Past delete.retention.ms, new data makes the partition due again: the tombstones go.
      await new Promise((r) => setTimeout(r, 3200));
      await kcatProduce("cmp", [`filler2:${"g".repeat(1100)}`]);
      await waitFor("the tombstones to go", async () => {
        const keys = (await readAll("cmp")).map(([k]) => k);
        return keys.includes("k0") ? undefined : keys;
      }, 15_000);
      const final = await readAll("cmp");
      assert.deepEqual(
        sorted(final),
        sorted([...expected.slice(3), ["filler2", "g".repeat(1100)]]),
      );
      assert.match(broker.log(), /Compacted a partition topic=cmp partition=0 .*tombstonesRemoved=3/);
    });

    test("a keyless record to a compacted topic is INVALID_RECORD; the other partition is written", async () => {
      await createTopic(broker, "cmp-keys", { partitions: 2, configs: { "cleanup.policy": "compact" } });
      const [r] = await runConfluent<{ reports: { p: number; o: number; err: { name: string } | null }[] }>(broker, [{
        op: "produce",
        topic: "cmp-keys",
        config: { "linger.ms": 50 },
        records: [
          { p: 0, k: null, v: b64("no key"), h: [] },
          { p: 1, k: b64("key"), v: b64("keyed"), h: [] },
        ],
      }]);
      const [keyless, keyed] = r!.reports;
      assert.equal(keyless!.err?.name, "INVALID_RECORD");
      assert.equal(keyed!.err, null);
      assert.equal(keyed!.o, 0);
    });
  });
}
