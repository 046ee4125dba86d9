/**
 * kbin's own command line end to end against a `kbin serve` process: every `topic` subcommand,
 * one-line errors with Kafka error names and exit codes, help, KBIN_BOOTSTRAP, restarts and
 * graceful shutdown. Covered and knowingly skipped: ALLOWLIST.md; gaps: FINDINGS.md.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { connect, createServer } from "node:net";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrokerProcess, BUN, MAIN, run, startBrokerProcess } from "../../support/broker_process.ts";
import { clusterInfo } from "../../support/cluster_info.ts";
import { runtimeName } from "../../support/runtime.ts";
import { permanentSkip } from "../../support/skips.ts";

// Deno's node:child_process reports the signal, not the exit code, of a child it sent a signal to.
const EXIT_CODE_AFTER_SIGNAL = runtimeName === "bun";

type Result = { code: number | null; stdout: string; stderr: string };

/** Runs `kbin ARGS` from source. */
function kbin(args: string[], env: Record<string, string> = {}): Promise<Result> {
  return run(BUN, [MAIN, ...args], { env, timeoutMs: 30_000 });
}

function show(r: Result): string {
  return `exit ${r.code}\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`;
}

/** Asserts a zero exit, no stderr, and returns stdout. */
function ok(r: Result): string {
  assert.equal(r.code, 0, show(r));
  assert.equal(r.stderr, "", show(r));
  return r.stdout;
}

/** Asserts the CLI's error contract: exit code, nothing on stdout, exactly one stderr line matching `pattern`. */
function oneLineError(r: Result, exitCode: number, pattern: RegExp): void {
  assert.equal(r.code, exitCode, show(r));
  assert.equal(r.stdout, "", show(r));
  assert.ok(r.stderr.endsWith("\n") && r.stderr.split("\n").length === 2, `not one line:\n${show(r)}`);
  assert.match(r.stderr, pattern);
}

/** A 127.0.0.1 port with nothing listening on it (bound, then released). */
function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

describe("kbin topic against kbin serve", () => {
  let broker: BrokerProcess;
  let b: string[];
  before(async () => {
    broker = await startBrokerProcess({ args: ["--set", "num.partitions=2"] });
    b = ["-b", broker.bootstrap];
  });
  after(async () => {
    await broker?.[Symbol.asyncDispose]();
  });

  test("kbin topic create makes a topic with -p, -r and -c and says so", async () => {
    const out = ok(
      await kbin(["topic", "create", "cli-orders", "-p", "3", "-r", "1", "-c", "cleanup.policy=compact", ...b]),
    );
    assert.equal(out, `Created topic "cli-orders" with 3 partition(s), replication factor 1\n`);
    assert.equal((await clusterInfo(broker.bootstrap)).topics.get("cli-orders")?.partitions, 3);
  });

  test("kbin topic create without -p takes the broker's num.partitions", async () => {
    const out = ok(await kbin(["topic", "create", "cli-default", ...b]));
    assert.equal(out, `Created topic "cli-default" with 2 partition(s), replication factor 1\n`);
  });

  test("kbin topic create --validate-only creates nothing", async () => {
    const out = ok(await kbin(["topic", "create", "cli-validated", "-p", "4", "--validate-only", ...b]));
    assert.equal(out, `Validated topic "cli-validated" with 4 partition(s), replication factor 1\n`);
    assert.equal((await clusterInfo(broker.bootstrap)).topics.has("cli-validated"), false);
  });

  test("kbin topic create on an existing topic fails TOPIC_ALREADY_EXISTS unless --if-not-exists", async () => {
    await kbin(["topic", "create", "cli-twice", ...b]);
    oneLineError(
      await kbin(["topic", "create", "cli-twice", ...b]),
      1,
      /^kbin: Cannot create topic "cli-twice": TOPIC_ALREADY_EXISTS: /,
    );
    assert.equal(ok(await kbin(["topic", "create", "cli-twice", "--if-not-exists", ...b])), "");
  });

  test("kbin topic create reports the broker's Kafka error name in one line", async () => {
    const cases: [string[], RegExp][] = [
      [["cli-rf3", "-r", "3"], /: INVALID_REPLICATION_FACTOR: /],
      [["cli bad name"], /: INVALID_TOPIC_EXCEPTION: /],
      [["cli-bad-config", "-c", "cleanup.policy=sideways"], /: INVALID_CONFIG: .*cleanup\.policy/],
      [["cli-unknown-config", "-c", "no.such.config=1"], /: INVALID_CONFIG: .*no\.such\.config/],
      [["cli-zero", "-p", "0"], /: INVALID_PARTITIONS/],
    ];
    const results = await Promise.all(cases.map(([args]) => kbin(["topic", "create", ...args, ...b])));
    results.forEach((r, i) => {
      const [[name], pattern] = cases[i]!;
      oneLineError(r, 1, new RegExp(`^kbin: Cannot create topic "${name}"${pattern.source}`));
    });
    const topics = (await clusterInfo(broker.bootstrap)).topics;
    assert.deepEqual(cases.map(([[name]]) => name).filter((n) => topics.has(n!)), []);
  });

  test("kbin topic list prints topic names sorted, one per line", async () => {
    await kbin(["topic", "create", "cli-list-b", ...b]);
    await kbin(["topic", "create", "cli-list-a", ...b]);
    const names = ok(await kbin(["topic", "list", ...b])).split("\n");
    assert.equal(names.pop(), "", "output ends with a newline");
    assert.deepEqual(names, [...names].sort());
    assert.ok(names.includes("cli-list-a") && names.includes("cli-list-b"), names.join(", "));
    const internal = ok(await kbin(["topic", "list", "--internal", ...b])).split("\n");
    assert.ok(names.every((n) => internal.includes(n)), "--internal drops ordinary topics");
  });

  test("kbin topic describe prints the topic id, counts and one line per partition", async () => {
    await kbin(["topic", "create", "cli-described", "-p", "2", ...b]);
    const out = ok(await kbin(["topic", "describe", "cli-described", ...b]));
    const id = (await clusterInfo(broker.bootstrap)).topics.get("cli-described")?.topicId;
    assert.equal(
      out,
      `Topic: cli-described\tTopicId: ${id}\tPartitionCount: 2\tReplicationFactor: 1\tConfigs: \n` +
        `\tTopic: cli-described\tPartition: 0\tLeader: 1\tReplicas: 1\tIsr: 1\tSize: 0\n` +
        `\tTopic: cli-described\tPartition: 1\tLeader: 1\tReplicas: 1\tIsr: 1\tSize: 0\n`,
    );
  });

  test(
    "kbin topic describe shows the config overrides given at creation",
    async () => {
      await kbin([
        "topic",
        "create",
        "cli-configured",
        "-c",
        "cleanup.policy=compact",
        "-c",
        "retention.ms=1000",
        ...b,
      ]);
      const first = ok(await kbin(["topic", "describe", "cli-configured", ...b])).split("\n")[0]!;
      assert.match(first, /\tConfigs: cleanup\.policy=compact,retention\.ms=1000$/);
    },
  );

  test("kbin topic describe of a missing topic fails UNKNOWN_TOPIC_OR_PARTITION and creates nothing", async () => {
    oneLineError(
      await kbin(["topic", "describe", "cli-nowhere", ...b]),
      1,
      /^kbin: Cannot describe topic "cli-nowhere": UNKNOWN_TOPIC_OR_PARTITION/,
    );
    assert.equal((await clusterInfo(broker.bootstrap)).topics.has("cli-nowhere"), false);
  });

  test("kbin topic add-partitions grows a topic and refuses to shrink it", async () => {
    await kbin(["topic", "create", "cli-grow", "-p", "3", ...b]);
    assert.equal(
      ok(await kbin(["topic", "add-partitions", "cli-grow", "-p", "5", ...b])),
      `Topic "cli-grow" now has 5 partitions\n`,
    );
    assert.equal((await clusterInfo(broker.bootstrap)).topics.get("cli-grow")?.partitions, 5);
    oneLineError(
      await kbin(["topic", "add-partitions", "cli-grow", "-p", "2", ...b]),
      1,
      /^kbin: Cannot add partitions to topic "cli-grow": INVALID_PARTITIONS: .*\b5\b.*\b2\b/,
    );
    oneLineError(
      await kbin(["topic", "add-partitions", "cli-nowhere", "-p", "2", ...b]),
      1,
      /^kbin: Cannot add partitions to topic "cli-nowhere": UNKNOWN_TOPIC_OR_PARTITION/,
    );
    oneLineError(await kbin(["topic", "add-partitions", "cli-grow", ...b]), 2, /-p\/--partitions is required/);
  });

  test("kbin topic add-partitions --validate-only leaves the partition count alone", async () => {
    await kbin(["topic", "create", "cli-validate-grow", "-p", "2", ...b]);
    ok(await kbin(["topic", "add-partitions", "cli-validate-grow", "-p", "6", "--validate-only", ...b]));
    assert.equal((await clusterInfo(broker.bootstrap)).topics.get("cli-validate-grow")?.partitions, 2);
  });

  test("kbin topic add-partitions --validate-only says that it only validated", async () => {
    await kbin(["topic", "create", "cli-validate-say", "-p", "2", ...b]);
    const out = ok(await kbin(["topic", "add-partitions", "cli-validate-say", "-p", "6", "--validate-only", ...b]));
    assert.doesNotMatch(out, /now has/);
    assert.match(out, /^Validated\b/);
  });

  test("kbin topic delete deletes a topic, fails UNKNOWN_TOPIC_OR_PARTITION when missing, unless --if-exists", async () => {
    await kbin(["topic", "create", "cli-doomed", ...b]);
    assert.equal(ok(await kbin(["topic", "delete", "cli-doomed", ...b])), `Deleted topic "cli-doomed"\n`);
    assert.equal((await clusterInfo(broker.bootstrap)).topics.has("cli-doomed"), false);
    oneLineError(
      await kbin(["topic", "delete", "cli-doomed", ...b]),
      1,
      /^kbin: Cannot delete topic "cli-doomed": UNKNOWN_TOPIC_OR_PARTITION/,
    );
    assert.equal(ok(await kbin(["topic", "delete", "cli-doomed", "--if-exists", ...b])), "");
  });

  test("kbin topic delete-records moves log start offsets: --before for some partitions, --all for every one", async () => {
    ok(await kbin(["topic", "create", "cli-trim", "-p", "2", ...b]));
    ok(await kbin(["topic", "create", "cli-trim-compacted", "-p", "1", "-c", "cleanup.policy=compact", ...b]));
    for (const partition of ["0", "1"]) {
      const lines = Array.from({ length: 10 }, (_, i) => `v${i}`).join("\n") + "\n";
      const r = await run(BUN, [MAIN, "produce", "cli-trim", "--partition", partition, ...b], {
        input: lines,
        timeoutMs: 30_000,
      });
      assert.equal(r.code, 0, show(r));
    }
    assert.equal(
      ok(await kbin(["topic", "delete-records", "cli-trim", "--partition", "1", "--before", "4", ...b])),
      "Partition 1: log start offset 4\n",
    );
    assert.equal(
      ok(await kbin(["topic", "delete-records", "cli-trim", "--all", ...b])),
      "Partition 0: log start offset 10\nPartition 1: log start offset 10\n",
    );
    const [both, neither, beyond, compacted, noPartition] = await Promise.all([
      kbin(["topic", "delete-records", "cli-trim", "--all", "--before", "3", ...b]),
      kbin(["topic", "delete-records", "cli-trim", ...b]),
      kbin(["topic", "delete-records", "cli-trim", "--partition", "0", "--before", "99", ...b]),
      kbin(["topic", "delete-records", "cli-trim-compacted", "--all", ...b]),
      kbin(["topic", "delete-records", "cli-trim", "--partition", "7", "--all", ...b]),
    ]);
    oneLineError(both!, 2, /^kbin: topic delete-records: give exactly one of --before OFFSET and --all/);
    oneLineError(neither!, 2, /^kbin: topic delete-records: give exactly one of --before OFFSET and --all/);
    oneLineError(beyond!, 1, /^kbin: Cannot delete records of topic "cli-trim": partition 0: OFFSET_OUT_OF_RANGE/);
    oneLineError(
      compacted!,
      1,
      /^kbin: Cannot delete records of topic "cli-trim-compacted": partition 0: POLICY_VIOLATION/,
    );
    oneLineError(noPartition!, 2, /^kbin: topic delete-records: topic "cli-trim" has no partition 7/);
  });

  test("kbin topic usage errors exit 2 with one line", async () => {
    const [unknownSub, noName, badCount, badOption, twoNames] = await Promise.all([
      kbin(["topic", "frobnicate", ...b]),
      kbin(["topic", "create", ...b]),
      kbin(["topic", "create", "cli-x", "-p", "many", ...b]),
      kbin(["topic", "create", "cli-x", "--bogus", ...b]),
      kbin(["topic", "delete", "cli-x", "cli-y", ...b]),
    ]);
    oneLineError(unknownSub!, 2, /^kbin: topic: unknown command "frobnicate"/);
    oneLineError(noName!, 2, /^kbin: topic create: expected one topic name/);
    oneLineError(badCount!, 2, /^kbin: topic create: --partitions must be a whole number, got "many"/);
    oneLineError(badOption!, 2, /^kbin: topic create: .*'--bogus'/);
    oneLineError(twoNames!, 2, /^kbin: topic delete: expected one topic name/);
  });

  test("--help prints usage and exits 0 for kbin, serve, topic and every topic subcommand", async () => {
    const subs = ["create", "list", "describe", "delete", "add-partitions", "delete-records"];
    const runs: [string[], RegExp][] = [
      [["--help"], /^kbin \S+: /],
      [["serve", "--help"], /^Usage: kbin serve /],
      [["topic", "--help"], /^Usage: kbin topic <command>/],
      ...subs.map((s): [string[], RegExp] => [["topic", s, "--help"], new RegExp(`^Usage: kbin topic ${s}\\b`)]),
      [["topic", "create", "-h"], /^Usage: kbin topic create\b/],
    ];
    const results = await Promise.all(runs.map(([args]) => kbin(args)));
    results.forEach((r, i) => assert.match(ok(r), runs[i]![1], `kbin ${runs[i]![0].join(" ")}`));
  });

  test("kbin topic list uses KBIN_BOOTSTRAP, and -b wins over it", async () => {
    const dead = `127.0.0.1:${await closedPort()}`;
    await kbin(["topic", "create", "cli-env", ...b]);
    const viaEnv = ok(await kbin(["topic", "list"], { KBIN_BOOTSTRAP: broker.bootstrap }));
    assert.ok(viaEnv.split("\n").includes("cli-env"), viaEnv);
    const viaFlag = ok(await kbin(["topic", "list", ...b], { KBIN_BOOTSTRAP: dead }));
    assert.equal(viaFlag, viaEnv);
  });

  test("kbin topic list tries each bootstrap entry in turn", async () => {
    const dead = `127.0.0.1:${await closedPort()}`;
    const out = ok(await kbin(["topic", "list", "-b", `${dead},${broker.bootstrap}`]));
    assert.ok(out.split("\n").includes("cli-orders"), out);
  });

  test("an unreachable bootstrap gives a one-line error and exit 1", async () => {
    const dead = `127.0.0.1:${await closedPort()}`;
    const started = Date.now();
    const r = await kbin(["topic", "list", "-b", dead, "--timeout-ms", "5000"]);
    oneLineError(r, 1, new RegExp(`^kbin: topic list: Cannot reach any bootstrap broker \\(.*${dead}`));
    assert.ok(Date.now() - started < 10_000, "took longer than the timeout");
  });
});

describe("kbin serve lifecycle", () => {
  test("a restart on the same data dir keeps topics, topic ids, partition counts and the cluster id", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "kbin-cli-restart-"));
    try {
      let before: Awaited<ReturnType<typeof clusterInfo>>;
      {
        await using broker = await startBrokerProcess({ dataDir });
        const b = ["-b", broker.bootstrap];
        ok(await kbin(["topic", "create", "kept", "-p", "2", "-c", "retention.ms=1000", ...b]));
        ok(await kbin(["topic", "create", "grown", "-p", "1", ...b]));
        ok(await kbin(["topic", "add-partitions", "grown", "-p", "4", ...b]));
        ok(await kbin(["topic", "create", "gone", ...b]));
        ok(await kbin(["topic", "delete", "gone", ...b]));
        before = await clusterInfo(broker.bootstrap);
        const code = await broker.stop("SIGTERM");
        if (EXIT_CODE_AFTER_SIGNAL) assert.equal(code, 0, broker.log());
      }
      await using again = await startBrokerProcess({ dataDir });
      const now = await clusterInfo(again.bootstrap);
      assert.equal(now.clusterId, before.clusterId);
      assert.deepEqual(
        Object.fromEntries(now.topics),
        Object.fromEntries(before.topics),
        "topics (ids, partition counts) changed across the restart",
      );
      assert.deepEqual([...now.topics.keys()].sort(), ["grown", "kept"]);
      assert.equal(now.topics.get("grown")?.partitions, 4);
      const described = ok(await kbin(["topic", "describe", "kept", "-b", again.bootstrap]));
      assert.match(described, new RegExp(`TopicId: ${before.topics.get("kept")?.topicId}\\t`));
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  test("kbin serve exits 0 on SIGTERM, even with a client connected", {
    skip: permanentSkip("deno-child-exit-code-after-signal", !EXIT_CODE_AFTER_SIGNAL),
  }, async () => {
    await using broker = await startBrokerProcess({ storage: "memory:" });
    const socket = connect({ host: broker.host, port: broker.port });
    socket.on("error", () => {});
    await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
    const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
    try {
      assert.equal(await broker.stop("SIGTERM"), 0, broker.log());
      await closed;
      assert.match(broker.log(), /Shutting down/);
    } finally {
      socket.destroy();
    }
  });
});
