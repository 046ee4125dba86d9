/**
 * Leader epochs above 0 as librdkafka 2.12 sees them (KIP-320). The broker runs in this process on
 * `memory:` so that the test can start a new leader epoch on a partition through the storage
 * interface (`PartitionStorage.startLeaderEpoch`, what a new leader does once brokers scale out)
 * while a consumer is reading: the consumer's next fetch names the old epoch and is fenced
 * (FENCED_LEADER_EPOCH), librdkafka refreshes its metadata, validates its position with
 * OffsetForLeaderEpoch and reads on; records carry the epoch they were appended in; seeks are
 * validated against where each epoch ended. The expected answers are Kafka's.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BrokerConfig } from "../../../src/broker/config.ts";
import { silentLogger } from "../../../src/broker/logger.ts";
import { type RunningBroker, startKafkaBroker } from "../../../src/server/start.ts";
import { memoryFs } from "../../../src/storage/memory/memory_fs.ts";
import { clientMissing } from "../../support/skips.ts";
import { runtimeWithFs } from "../../support/runtime.ts";
import { PYTHON, pythonMissing, runJsonDriver, waitFor } from "../shared/kbin.ts";
import { type Consumed, consumerOp, DRIVER, installLibrary, seekOp } from "./driver.ts";

const NO_NODE = clientMissing(
  "node",
  spawnSync("node", ["--version"]).status !== 0 ? "node is not on PATH (building node-rdkafka needs it)" : false,
);
const NO_PYTHON = pythonMissing("ctypes");

describe("librdkafka 2.12 across a leader epoch change", { skip: NO_NODE || NO_PYTHON }, () => {
  let running: RunningBroker;
  let library = "";
  let dir = "";

  before(async () => {
    library = await installLibrary();
    running = await startKafkaBroker({
      runtime: await runtimeWithFs(memoryFs()),
      config: new BrokerConfig([["listeners", "PLAINTEXT://127.0.0.1:0"]]),
      logger: silentLogger,
      storage: "memory:",
    });
    dir = await mkdtemp(join(tmpdir(), "kbin-epochs-"));
  });
  after(async () => {
    await running?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test("a fetch at the old epoch is fenced and the consumer reads on; seeks are validated against each epoch's end", async () => {
    const created = await running.broker.storage.topics.create({ name: "rk-epochs", partitions: 1 });
    assert.ok(created.ok);
    const ref = { topicName: "rk-epochs", topicId: created.value.id, partition: 0 };
    const ready = join(dir, "ready");
    const bumped = join(dir, "bumped");
    const consumer = consumerOp;
    const seek = (name: string, offset: number, epoch: number, more: Record<string, unknown>) =>
      seekOp("rk-epochs", name, offset, epoch, more);
    const driver = runJsonDriver<{ results: Record<string, any>[] }>(
      PYTHON,
      [DRIVER],
      {
        bootstrap: running.bootstrap,
        ops: [
          { op: "produce", topic: "rk-epochs", partition: 0, values: [..."abcde"] },
          consumer("m", "earliest"),
          { op: "assign", name: "m", topic: "rk-epochs", partition: 0, offset: -2 },
          { op: "consume", name: "m", count: 5 },
          { op: "signal", path: ready },
          { op: "wait_file", path: bumped },
          { op: "produce", topic: "rk-epochs", partition: 0, values: [..."fghij"] },
          // Still at epoch 0 in its metadata: fenced, refreshed, validated, and reading on.
          { op: "consume", name: "m", count: 5, timeout_s: 20 },
          // Epoch 0 ended at 5 (where epoch 2 started): 3 is inside it.
          seek("m", 3, 0, { count: 1 }),
          // Epoch 2 is current: it ends at the log end (10).
          seek("m", 8, 2, { count: 1 }),
          consumer("e", "error"),
          { op: "assign", name: "e", topic: "rk-epochs", partition: 0, offset: -2 },
          { op: "consume", name: "e", count: 1 },
          // Offset 7 claims epoch 0, which ended at 5: truncation, as against Kafka.
          seek("e", 7, 0, { count: 1, until_error: true }),
          { op: "close", name: "m" },
          { op: "close", name: "e" },
        ],
      },
      { env: { KBIN_LIBRDKAFKA: library }, timeoutMs: 90_000 },
    );
    await waitFor("the consumer to read epoch 0", () => (existsSync(ready) ? true : undefined), 60_000);
    const started = await (await running.broker.storage.partition(ref)).startLeaderEpoch(2);
    assert.ok(started.ok && started.value.endOffset === 5, JSON.stringify(started));
    await writeFile(bumped, "");
    const { results: r } = await driver;
    r.forEach((x, i) => assert.equal(x.exception, undefined, `op ${i}: ${x.exception}`));
    const got = (i: number) => (r[i] as Consumed).messages.map((m) => [m.o, m.epoch, m.v]);
    assert.deepEqual(got(3), [..."abcde"].map((v, i) => [i, 0, v]));
    assert.deepEqual(got(7), [..."fghij"].map((v, i) => [5 + i, 2, v]));
    for (const i of [3, 7, 8, 9]) assert.deepEqual((r[i] as Consumed).errors, [], `op ${i}`);
    assert.deepEqual(got(8), [[3, 0, "d"]]);
    assert.deepEqual(got(9), [[8, 2, "i"]]);
    const truncated = r[13] as Consumed;
    assert.deepEqual(truncated.messages, []);
    assert.equal(truncated.errors[0]?.name, "_AUTO_OFFSET_RESET", JSON.stringify(truncated.errors));
    assert.match(
      truncated.errors[0]!.str,
      /truncation detected at offset 7 \(leader epoch 0\): broker end offset is 5 \(offset leader epoch 0\)/,
    );
    // What a connection was served joins the broker's totals once the broker has seen it close. The
    // three seeks validate once each; the fenced fetch adds a validation of its own.
    const validations = () =>
      running.broker.requestTotals.entries().filter((e) => e.apiKey === 23).reduce((n, e) => n + e.count, 0);
    await waitFor("four OffsetForLeaderEpoch requests", () => (validations() >= 4 ? true : undefined), 5_000)
      .catch(() => assert.fail(`OffsetForLeaderEpoch served ${validations()} times`));
  });
});
