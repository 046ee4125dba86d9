/**
 * Exactly once through kills of the processor, on every persistent engine. A consume-transform-
 * produce processor (processor.py: confluent-kafka, librdkafka 2.0) reads 2000 records of a
 * 4-partition input topic and writes one output record per input record, committing the input
 * offsets with send_offsets_to_transaction, in transactions of up to 50 records. The test kills it
 * with SIGKILL at a random moment after its first commit, 10 times, restarting it each time: the
 * new incarnation's init_transactions fences the old one and aborts its open transaction. At the
 * end a read_committed reader of the output sees every input record exactly once, and the group's
 * committed offsets are the input's ends.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Kafka, logLevel } from "kafkajs";
import { type BrokerProcess, PERSISTENT_ENGINES, startBrokerProcess } from "../../support/broker_process.ts";
import { stopSharedPostgres } from "../../support/postgres.ts";
import { createTopic, followJsonLines, PYTHON, pythonMissing, runJsonDriver, waitFor } from "../shared/kbin.ts";

after(stopSharedPostgres);

const CLIENT = fileURLToPath(new URL("./txn_client.py", import.meta.url));
const PROCESSOR = fileURLToPath(new URL("./processor.py", import.meta.url));
const MISSING = pythonMissing("confluent_kafka");
const KILLS = Number(process.env["KBIN_TXN_PROCESSOR_KILLS"] ?? 10);
const PARTITIONS = 4;
const RECORDS = 2000;

interface Event {
  ev: string;
  t: number;
  n?: number;
  offsets?: Record<string, number>;
  str?: string;
}

/** One incarnation of the processor. */
interface Incarnation {
  child: ChildProcess;
  events: Event[];
  stderr(): string;
  exited: Promise<void>;
}

type Read = { values: [number, number, string][]; errors: string[]; timed_out: boolean };

for (const engine of PERSISTENT_ENGINES) {
  describe(`kill -9 of a transactional processor on ${engine.name}:`, { skip: MISSING }, () => {
    let dataDir: string;
    let broker: BrokerProcess;
    const live: Incarnation[] = [];

    before(async () => {
      dataDir = await mkdtemp(join(tmpdir(), "kbin-txn-proc-"));
      broker = await startBrokerProcess({
        dataDir,
        storage: await engine.url(dataDir),
        args: ["--set", "group.initial.rebalance.delay.ms=0"],
      });
    });
    after(async () => {
      for (const p of live) p.child.kill("SIGKILL");
      await broker?.[Symbol.asyncDispose]();
      await rm(dataDir, { recursive: true, force: true });
    });

    function start(): Incarnation {
      const child = spawn(PYTHON, [
        PROCESSOR,
        broker.bootstrap,
        "proc",
        "proc-group",
        "proc-in",
        "proc-out",
        "50",
        "0.1",
      ], {
        stdio: ["ignore", "pipe", "pipe"],
      });
      const events: Event[] = [];
      let stderr = "";
      followJsonLines<Event>(child.stdout!, (e) => events.push(e));
      child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
      const p = { child, events, stderr: () => stderr, exited };
      live.push(p);
      return p;
    }

    async function driver<T>(op: Record<string, unknown>): Promise<T> {
      const out = await runJsonDriver<{ results: (T & { exception?: string })[] }>(
        PYTHON,
        [CLIENT],
        { bootstrap: broker.bootstrap, ops: [op] },
        { broker, timeoutMs: 90_000 },
      );
      assert.equal(out.results[0]!.exception, undefined, String(out.results[0]!.exception));
      return out.results[0]!;
    }

    test(`${KILLS} SIGKILLs of the processor mid-stream: the output holds every input record exactly once`, {
      timeout: 60_000 + KILLS * 30_000,
    }, async () => {
      await createTopic(broker, "proc-in", { partitions: PARTITIONS });
      await createTopic(broker, "proc-out", { partitions: PARTITIONS });
      const input = Array.from({ length: RECORDS }, (_, i) => [i % PARTITIONS, `r${i}`]);
      await driver({
        op: "transact",
        transactional_id: "proc-feeder",
        topic: "proc-in",
        transactions: [{ records: input, commit: true }],
      });
      const ends = RECORDS / PARTITIONS;
      /** The highest committed next offset per input partition, over every incarnation. */
      const committed = new Map<string, number>();
      const note = (p: Incarnation) => {
        for (const e of p.events) {
          for (const [part, o] of Object.entries(e.offsets ?? {})) {
            committed.set(part, Math.max(committed.get(part) ?? 0, o));
          }
        }
      };
      const failed = (p: Incarnation) => {
        const err = p.events.find((e) => e.ev === "error");
        return err
          ? `the processor failed: ${err.str}\n${p.stderr().slice(-2000)}\n${broker.log().slice(-3000)}`
          : null;
      };
      const log: string[] = [];
      let midTransaction = 0;
      for (let round = 0; round < KILLS; round++) {
        const p = start();
        const commits = () => p.events.filter((e) => e.ev === "commit").length;
        await waitFor(`round ${round}: a first commit`, () => {
          const f = failed(p);
          if (f) assert.fail(f);
          return commits() > 0 ? true : undefined;
        }, 30_000);
        const delayMs = Math.floor(Math.random() * 600);
        await new Promise((r) => setTimeout(r, delayMs));
        p.child.kill("SIGKILL");
        await p.exited;
        note(p);
        const last = p.events.findLast((e) => e.ev === "begin" || e.ev === "commit");
        if (last?.ev === "begin") midTransaction++;
        log.push(`round ${round}: killed ${delayMs} ms after its first commit, ${commits()} commits, last ${last?.ev}`);
        assert.equal(failed(p), null);
      }
      // The last incarnation runs until every input offset is committed.
      const final = start();
      await waitFor("every input offset committed", () => {
        const f = failed(final);
        if (f) assert.fail(f);
        note(final);
        const done = [...Array(PARTITIONS).keys()].every((part) => committed.get(String(part)) === ends);
        return done ? true : undefined;
      }, 120_000);
      final.child.kill("SIGKILL");
      await final.exited;

      const partitions = [...Array(PARTITIONS).keys()];
      const out = await driver<Read>({ op: "read", topic: "proc-out", partitions, isolation: "read_committed" });
      assert.deepEqual(out.errors, []);
      assert.equal(out.timed_out, false, "the read_committed reader never reached the end of the output");
      const seen = new Map<string, number>();
      for (const [, , v] of out.values) {
        const value = v.slice(0, v.indexOf("@"));
        seen.set(value, (seen.get(value) ?? 0) + 1);
      }
      const missing = input.map(([, v]) => String(v)).filter((v) => !seen.has(v));
      const twice = [...seen].filter(([, n]) => n > 1).map(([v, n]) => `${v}×${n}`);
      assert.deepEqual(missing, [], `input records missing from the output\n${log.join("\n")}`);
      assert.deepEqual(twice, [], `input records in the output more than once\n${log.join("\n")}`);
      assert.equal(out.values.length, RECORDS);
      // Each output record names its input's partition and offset: the copy is of the right record.
      for (const [p, , v] of out.values) {
        const [value, where] = v.split("@");
        const [inPart, inOffset] = where!.split(":").map(Number);
        assert.equal(inPart, p);
        assert.equal(`r${inOffset! * PARTITIONS + inPart!}`, value);
      }
      const all = await driver<Read>({ op: "read", topic: "proc-out", partitions, isolation: "read_uncommitted" });
      const admin = new Kafka({ brokers: [broker.bootstrap], clientId: "kafkajs-txn-proc", logLevel: logLevel.NOTHING })
        .admin();
      await admin.connect();
      try {
        const offsets = await admin.fetchOffsets({ groupId: "proc-group", topics: ["proc-in"] });
        assert.deepEqual(offsets[0]!.partitions.map((p) => p.offset), partitions.map(() => String(ends)));
      } finally {
        await admin.disconnect();
      }
      console.log(
        `${engine.name}: ${KILLS} kills (${midTransaction} inside a transaction); the log holds ` +
          `${all.values.length - RECORDS} aborted output records; read_committed saw each of ${RECORDS} once`,
      );
      assert.ok(midTransaction > 0, `no kill landed inside a transaction:\n${log.join("\n")}`);
    });
  });
}
