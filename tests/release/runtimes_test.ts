/**
 * What users run, with real clients: the compiled executable (built by scripts/build.sh, with the
 * CRC-32C addon and codecs embedded) and the broker on Deno (`deno run -A
 * src/runtime/deno/main.ts serve`). The real-client suites in tests/compat run the broker from
 * source on Bun; here each of the other two serves confluent-kafka (librdkafka 2.0.2)
 * round trips in every codec, compressed by the client and recompressed by the broker, maps the
 * hardware CRC-32C addon once it checks a large batch, and runs a librdkafka consumer group whose
 * offsets survive a broker restart. Each runs from a temp dir, away from the checkout, and its own
 * CLI (`kbin topic create`) creates the topics of the CRC and group tests. The executable is built
 * once for the whole `bun test` process (tests/support/kbin_binary.ts, shared with binary_test.ts);
 * KBIN_SKIP_BINARY=1 skips its part.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, realpathSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Kafka, logLevel } from "kafkajs";
import { type BrokerProcess, type BrokerProcessOptions, startBrokerProcess } from "../support/broker_process.ts";
import { BINARY_SKIP, BUILD_TIMEOUT_MS, kbinBinary } from "../support/kbin_binary.ts";
import { permanentSkip } from "../support/skips.ts";
import { PYTHON, pythonMissing, run, runConfluent } from "../compat/shared/kbin.ts";
import { assertRoundTrip, CODECS, fromWire, makeRecords, toWire, type WireRecord } from "../compat/shared/records.ts";
import {
  assertExactlyOnce,
  committedBy,
  endsAfter,
  errorsOf,
  firstOffsets,
  type Member,
  produceNumbered,
  spawnMember,
  waitCommitted,
  waitOwned,
  waitSplit,
} from "../compat/groups/support.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const DENO = join(ROOT, "node_modules/.bin/deno");
const MEMBER = fileURLToPath(new URL("../compat/groups/rdkafka_member.py", import.meta.url));
const MISSING = pythonMissing("confluent_kafka");
const NO_PROC_MAPS = permanentSkip("proc-maps-linux-only", !existsSync("/proc/self/maps"));
const TEST_TIMEOUT_MS = 120_000;

/** A way users run the broker. */
interface Runtime {
  name: string;
  /** The compiled executable (skipped with KBIN_SKIP_BINARY=1), not a runtime running the source. */
  compiled: boolean;
  /** The command before `serve` or `topic …`. */
  command(): Promise<string[]>;
}

const RUNTIMES: Runtime[] = [
  {
    name: "the compiled kbin executable",
    compiled: true,
    command: async () => [await kbinBinary()],
  },
  {
    name: "kbin on Deno",
    compiled: false,
    command: () => Promise.resolve([DENO, "run", "-A", join(ROOT, "src/runtime/deno/main.ts")]),
  },
];

/** SHA-256 of every prebuilt `@node-rs/crc32` addon in node_modules (the file the binary embeds). */
function crcAddonHashes(): Set<string> {
  const scope = join(ROOT, "node_modules/@node-rs");
  const hashes = new Set<string>();
  for (const dir of readdirSync(scope).filter((d) => d.startsWith("crc32-"))) {
    for (const file of readdirSync(join(scope, dir)).filter((f) => f.endsWith(".node"))) {
      hashes.add(createHash("sha256").update(readFileSync(join(scope, dir, file))).digest("hex"));
    }
  }
  assert.notEqual(hashes.size, 0, `no prebuilt @node-rs/crc32 addon under ${scope}`);
  return hashes;
}

/** The native addons (`.node` files) a process has mapped, from /proc/<pid>/maps. */
function mappedAddons(pid: number): string[] {
  const paths = readFileSync(`/proc/${pid}/maps`, "utf8").split("\n").map((line) =>
    line.split(/\s+/).slice(5).join(" ")
  );
  return [...new Set(paths.filter((p) => /\.node( \(deleted\))?$/.test(p)))];
}

/** Creates 3-partition topics with their compression.type in one CreateTopics request (KafkaJS admin). */
async function createTopics(broker: BrokerProcess, topics: { name: string; compression: string }[]): Promise<void> {
  const admin = new Kafka({ brokers: [broker.bootstrap], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const created = await admin.createTopics({
      topics: topics.map((t) => ({
        topic: t.name,
        numPartitions: 3,
        configEntries: [{ name: "compression.type", value: t.compression }],
      })),
      waitForLeaders: true,
    });
    assert.ok(created, "the topics were not created");
  } finally {
    await admin.disconnect();
  }
}

/** The log lines at ERROR level. */
function errorLines(broker: BrokerProcess): string[] {
  return broker.log().split("\n").filter((line) => /^\S+ ERROR /.test(line));
}

for (const runtime of RUNTIMES) {
  describe(`${runtime.name} with real clients`, { skip: MISSING || (runtime.compiled ? BINARY_SKIP : false) }, () => {
    let command: string[];
    let cwd: string;

    async function start(options: BrokerProcessOptions = {}): Promise<BrokerProcess> {
      return await startBrokerProcess({ command, cwd, timeoutMs: 30_000, ...options });
    }

    /** `kbin topic create` through this runtime's own CLI. */
    async function createTopic(broker: BrokerProcess, name: string, partitions: number) {
      const [cmd, ...pre] = command;
      const args = [...pre, "topic", "create", name, "-p", String(partitions), "-b", broker.bootstrap];
      const r = await run(cmd!, args, { cwd, timeoutMs: 30_000 });
      assert.equal(r.code, 0, `kbin topic create ${name} exited with ${r.code}:\n${r.stderr}`);
    }

    before(async () => {
      command = await runtime.command();
      // Away from the checkout: nothing may come from its node_modules by accident.
      cwd = await mkdtemp(join(tmpdir(), "kbin-runtime-cwd-"));
    }, { timeout: BUILD_TIMEOUT_MS });
    after(async () => {
      if (cwd) await rm(cwd, { recursive: true, force: true });
    });

    test(
      `${runtime.name} serves confluent-kafka round trips in every codec, the producer's and its own, byte-exact`,
      { timeout: TEST_TIMEOUT_MS },
      async () => {
        await using broker = await start();
        const records = makeRecords({ count: 400 });
        // Producer's codec kept (compression.type=producer), then the broker recompressing
        // every codec into the next one, so the runtime's own codecs run both ways.
        const cases = CODECS.flatMap((codec, i) => {
          const next = CODECS[(i + 1) % CODECS.length]!;
          return [
            { topic: `rt-${codec}`, producer: codec, topicCodec: "producer" },
            // The topic config calls "none" "uncompressed".
            { topic: `rt-${codec}-as-${next}`, producer: codec, topicCodec: next === "none" ? "uncompressed" : next },
          ];
        });
        await createTopics(broker, cases.map((c) => ({ name: c.topic, compression: c.topicCodec })));
        // One driver per codec, run side by side: librdkafka spends most of each op waiting.
        type Result = {
          reports?: ({ err: unknown } | null)[];
          flush_left?: number;
          records?: WireRecord[];
          errors?: unknown[];
        };
        await Promise.all(CODECS.map(async (codec) => {
          const mine = cases.filter((c) => c.producer === codec);
          const results = await runConfluent<Result>(broker, [
            ...mine.map((c) => ({
              op: "produce",
              topic: c.topic,
              records: toWire(records),
              config: { "enable.idempotence": true, acks: "all", "compression.type": c.producer },
            })),
            ...mine.map((c) => ({ op: "consume", topic: c.topic, partitions: [0, 1, 2] })),
          ]);
          mine.forEach((c, i) => {
            const label = `${c.producer} into a topic with compression.type=${c.topicCodec}`;
            const produced = results[i]!;
            assert.equal(produced.flush_left, 0, `${label}: records left unsent`);
            assert.deepEqual(
              produced.reports?.filter((r) => r === null || r.err !== null),
              [],
              `${label}: produce errors`,
            );
            const consumed = results[mine.length + i]!;
            assert.deepEqual(consumed.errors, [], `${label}: consume errors`);
            const got = fromWire(consumed.records!).sort((a, b) => a.partition - b.partition || a.offset - b.offset);
            assertRoundTrip(got, records, { timestamps: true, label });
          });
        }));
        assert.deepEqual(errorLines(broker), [], "the broker logged errors");
      },
    );

    test(
      `${runtime.name} checks a large batch's CRC with the hardware CRC-32C addon${
        runtime.compiled ? " it embeds" : ""
      }`,
      { skip: NO_PROC_MAPS, timeout: TEST_TIMEOUT_MS },
      async () => {
        await using broker = await start();
        const pid = broker.child.pid!;
        await createTopic(broker, "rt-crc", 1);
        const value = Buffer.alloc(4096, 7).toString("base64");
        await runConfluent(broker, [{
          op: "produce",
          topic: "rt-crc",
          records: [{ p: 0, k: null, v: value, h: [] }],
          config: { "compression.type": "none" },
        }]);
        // The produce was acknowledged, so the broker has checked the batch's CRC by now.
        const mapped = mappedAddons(pid);
        const expected = crcAddonHashes();
        const addon = mapped.find((p) =>
          existsSync(p) && expected.has(createHash("sha256").update(readFileSync(p)).digest("hex"))
        );
        assert.ok(addon, `no @node-rs/crc32 addon among the mapped native addons: ${JSON.stringify(mapped)}`);
        if (runtime.compiled) {
          assert.ok(!addon.startsWith(realpathSync(join(ROOT, "node_modules"))), `mapped from the checkout: ${addon}`);
        }
      },
    );

    test(
      `${runtime.name} runs a librdkafka consumer group: both members get partitions and commit, ` +
        "and after a broker restart a new member resumes at the committed offsets",
      { timeout: TEST_TIMEOUT_MS },
      async () => {
        const dataDir = await mkdtemp(join(tmpdir(), "kbin-runtime-group-"));
        const args = ["--set", "group.initial.rebalance.delay.ms=0", "--set", "group.min.session.timeout.ms=1000"];
        const topic = "rt-group";
        const group = "rt-group-g";
        const all = [0, 1, 2, 3];
        const members: Member[] = [];
        const member = (broker: BrokerProcess, name: string) => {
          const conf = { "session.timeout.ms": 2000, "heartbeat.interval.ms": 300 };
          const m = spawnMember(name, PYTHON, [MEMBER, broker.bootstrap, topic, group, JSON.stringify(conf)]);
          members.push(m);
          return m;
        };
        try {
          let committed: Map<number, number>;
          {
            await using broker = await start({ args, dataDir });
            await createTopic(broker, topic, all.length);
            const a = member(broker, "A");
            await a.waitFor("a first assignment", (e) => e.ev === "assign" && e.owned!.length > 0);
            const b = member(broker, "B");
            await waitSplit([a, b], all.length);
            await produceNumbered(broker.bootstrap, topic, { from: 0, to: 100, partitions: all.length });
            await waitCommitted([a, b], endsAfter(100, all.length));
            await Promise.all([a.stop("SIGTERM"), b.stop("SIGTERM")]);
            for (const m of [a, b]) assert.ok(m.events.some((e) => e.ev === "closed"), `${m.name} did not close`);
            committed = committedBy([a, b]);
            assert.deepEqual(errorLines(broker), [], "the broker logged errors");
            assert.equal(await broker.stop("SIGTERM"), 0, broker.log());
          }
          await using broker = await start({ args, dataDir });
          await produceNumbered(broker.bootstrap, topic, { from: 100, to: 200, partitions: all.length });
          const c = member(broker, "C");
          await waitOwned(c, all);
          await waitCommitted([c], endsAfter(200, all.length));
          const resumed = firstOffsets(c);
          for (const p of all) {
            assert.equal(resumed.get(p), committed.get(p), `C resumed partition ${p} away from the committed offset`);
          }
          await c.stop("SIGTERM");
          assertExactlyOnce(members, 200);
          assert.deepEqual(errorsOf(members), [], "members reported errors");
          assert.deepEqual(errorLines(broker), [], "the broker logged errors");
        } finally {
          await Promise.all(members.map((m) => m.stop("SIGKILL")));
          await rm(dataDir, { recursive: true, force: true });
        }
      },
    );
  });
}
