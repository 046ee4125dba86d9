/**
 * `kbin group` end to end against a `kbin serve` process, with kcat (librdkafka) as the real
 * group consumer: list, describe with lag, delete, reset-offsets (dry run, --execute, every
 * strategy) and the consumer re-reading after a reset. Errors are one line with the Kafka error
 * name.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { type BrokerProcess, BUN, MAIN, run, startBrokerProcess } from "../../support/broker_process.ts";
import { kcatMissing } from "../shared/kbin.ts";

const KCAT = "kcat";
const MISSING = kcatMissing();

type Result = { code: number | null; stdout: string; stderr: string };

function show(r: Result): string {
  return `exit ${r.code}\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`;
}

/** Asserts a zero exit, no stderr, and returns stdout. */
function ok(r: Result): string {
  assert.equal(r.code, 0, show(r));
  assert.equal(r.stderr, "", show(r));
  return r.stdout;
}

/** Asserts the CLI's error contract: exit code, nothing on stdout, one stderr line matching `pattern`. */
function oneLineError(r: Result, exitCode: number, pattern: RegExp): void {
  assert.equal(r.code, exitCode, show(r));
  assert.equal(r.stdout, "", show(r));
  assert.ok(r.stderr.endsWith("\n") && r.stderr.split("\n").length === 2, `not one line:\n${show(r)}`);
  assert.match(r.stderr.slice(0, -1), pattern);
}

/** Polls `probe` until it returns a value other than undefined, or fails after `timeoutMs`. */
async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${last}` : ""}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface DescribeJson {
  group: string;
  type: string;
  state: string;
  protocolType: string;
  assignor: string;
  coordinator: { nodeId: number; host: string; port: number };
  members: {
    memberId: string;
    instanceId: string | null;
    clientId: string;
    host: string;
    assignment: { topic: string; partitions: number[] }[] | null;
  }[];
  totalLag: number;
  partitions: {
    topic: string;
    partition: number;
    committedOffset: number | null;
    logEndOffset: number | null;
    lag: number | null;
    memberId: string | null;
  }[];
}

/** A kcat balanced consumer (`-G`) running in the background. */
class KcatConsumer {
  readonly child: ChildProcess;
  lines: string[] = [];
  log = "";
  readonly exited: Promise<number | null>;

  constructor(bootstrap: string, group: string, topic: string, extra: string[] = []) {
    this.child = spawn(KCAT, [
      "-b",
      bootstrap,
      "-G",
      group,
      "-u",
      "-q",
      "-X",
      "auto.offset.reset=earliest",
      "-X",
      "auto.commit.interval.ms=100",
      ...extra,
      topic,
    ], { stdio: ["ignore", "pipe", "pipe"] });
    let partial = "";
    this.child.stdout!.on("data", (d: Buffer) => {
      const text = partial + d.toString();
      const parts = text.split("\n");
      partial = parts.pop()!;
      this.lines.push(...parts);
    });
    this.child.stderr!.on("data", (d: Buffer) => (this.log += d.toString()));
    this.exited = new Promise((resolve) => this.child.on("exit", (code) => resolve(code)));
  }

  /** SIGTERM: kcat closes the consumer (final commit, LeaveGroup) and exits. */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill("SIGTERM");
    await this.exited;
  }
}

describe("kbin group against kbin serve with kcat consumers", { skip: MISSING }, () => {
  let broker: BrokerProcess;
  let b: string[];
  const consumers: KcatConsumer[] = [];

  function kbin(args: string[], env: Record<string, string> = {}): Promise<Result> {
    return run(BUN, [MAIN, ...args], { env, timeoutMs: 30_000 });
  }

  async function describeJson(group: string): Promise<DescribeJson> {
    return JSON.parse(ok(await kbin(["group", "describe", group, "--json", ...b]))) as DescribeJson;
  }

  /** Committed offsets by partition, as `group describe --json` reports them. */
  async function committed(group: string): Promise<Record<number, number | null>> {
    const d = await describeJson(group);
    return Object.fromEntries(d.partitions.map((p) => [p.partition, p.committedOffset]));
  }

  async function produce(topic: string, partition: number, values: string[]): Promise<void> {
    const r = await run(KCAT, ["-P", "-b", broker.bootstrap, "-t", topic, "-p", String(partition)], {
      input: values.join("\n") + "\n",
      timeoutMs: 30_000,
    });
    assert.equal(r.code, 0, `kcat -P failed:\n${r.stderr}`);
  }

  /** Runs a kcat group consumer until it has read every assigned partition to its end (-e). */
  async function readToEnd(group: string, topic: string): Promise<string[]> {
    const r = await run(KCAT, [
      "-b",
      broker.bootstrap,
      "-G",
      group,
      "-u",
      "-q",
      "-e",
      "-X",
      "auto.offset.reset=latest",
      topic,
    ], { timeoutMs: 30_000 });
    assert.equal(r.code, 0, `kcat -G -e failed:\n${r.stderr}`);
    return r.stdout.split("\n").filter((l) => l !== "");
  }

  before(async () => {
    broker = await startBrokerProcess({ args: ["--set", "group.initial.rebalance.delay.ms=0"] });
    b = ["-b", broker.bootstrap];
    ok(await kbin(["topic", "create", "grp-orders", "-p", "2", ...b]));
    await produce("grp-orders", 0, ["a1", "a2", "a3", "a4", "a5"]);
    await produce("grp-orders", 1, ["b1", "b2", "b3"]);
  });
  after(async () => {
    for (const c of consumers) {
      c.child.kill("SIGKILL");
      await c.exited;
    }
    await broker?.[Symbol.asyncDispose]();
  });

  test("a running kcat group is listed, described with its member, assignment and zero lag, and protected", async () => {
    const consumer = new KcatConsumer(broker.bootstrap, "grp-app", "grp-orders");
    consumers.push(consumer);
    await waitFor("kcat to read 8 records", async () => (consumer.lines.length >= 8 ? true : undefined));
    assert.deepEqual([...consumer.lines].sort(), ["a1", "a2", "a3", "a4", "a5", "b1", "b2", "b3"]);

    // kcat commits every 100 ms: wait until both partitions show their commit.
    const d = await waitFor("the commits of grp-app", async () => {
      const d = await describeJson("grp-app");
      return d.partitions.every((p) => p.committedOffset === p.logEndOffset) && d.partitions.length === 2
        ? d
        : undefined;
    });
    assert.equal(d.type, "classic");
    assert.equal(d.state, "Stable");
    assert.equal(d.protocolType, "consumer");
    assert.equal(d.assignor, "range");
    assert.equal(d.coordinator.nodeId, 1);
    assert.equal(d.members.length, 1);
    const member = d.members[0]!;
    assert.match(member.memberId, /^rdkafka-/);
    assert.equal(member.clientId, "rdkafka");
    assert.equal(member.instanceId, null);
    assert.deepEqual(member.assignment, [{ topic: "grp-orders", partitions: [0, 1] }]);
    assert.deepEqual(d.partitions, [
      { topic: "grp-orders", partition: 0, committedOffset: 5, logEndOffset: 5, lag: 0, memberId: member.memberId },
      { topic: "grp-orders", partition: 1, committedOffset: 3, logEndOffset: 3, lag: 0, memberId: member.memberId },
    ]);
    assert.equal(d.totalLag, 0);

    const text = ok(await kbin(["group", "describe", "grp-app", ...b]));
    assert.match(
      text,
      /^Group:\s+grp-app\nType:\s+classic\nState:\s+Stable\nProtocol type:\s+consumer\nAssignor:\s+range\n/,
    );
    assert.match(text, new RegExp(`\\n${member.memberId}\\s+-\\s+rdkafka\\s+\\S+\\s+grp-orders:0,1\\n`));
    assert.match(text, new RegExp(`\\ngrp-orders\\s+0\\s+5\\s+5\\s+0\\s+${member.memberId}\\n`));

    const list = ok(await kbin(["group", "list", ...b]));
    assert.match(list, /^GROUP\s+TYPE\s+STATE\s+PROTOCOL-TYPE\n/);
    assert.match(list, /\ngrp-app\s+classic\s+Stable\s+consumer\n/);
    const listed = JSON.parse(ok(await kbin(["group", "list", "--json", "--state", "stable", ...b])));
    assert.deepEqual(listed, [{ group: "grp-app", type: "classic", state: "Stable", protocolType: "consumer" }]);
    assert.equal(ok(await kbin(["group", "list", "--state", "Empty", ...b])), "");

    // A group with a member can be neither deleted nor reset.
    oneLineError(
      await kbin(["group", "delete", "grp-app", ...b]),
      1,
      /^kbin: Cannot delete group "grp-app": NON_EMPTY_GROUP: /,
    );
    oneLineError(
      await kbin(["group", "reset-offsets", "grp-app", "--topic", "grp-orders", "--to-earliest", "--execute", ...b]),
      1,
      /^kbin: Cannot reset offsets of group "grp-app": the group is not empty \(state Stable, 1 member\); stop its consumers first$/,
    );
    assert.deepEqual(await committed("grp-app"), { 0: 5, 1: 3 });

    await consumer.stop();
    const empty = await waitFor("grp-app to become Empty", async () => {
      const d = await describeJson("grp-app");
      return d.state === "Empty" ? d : undefined;
    });
    assert.deepEqual(empty.members, []);
    assert.deepEqual(empty.partitions.map((p) => [p.committedOffset, p.memberId]), [[5, null], [3, null]]);
  });

  test("kbin group describe shows the lag of records written after the group stopped", async () => {
    await produce("grp-orders", 0, ["a6", "a7"]);
    const d = await describeJson("grp-app");
    assert.deepEqual(d.partitions.map((p) => [p.partition, p.committedOffset, p.logEndOffset, p.lag]), [
      [0, 5, 7, 2],
      [1, 3, 3, 0],
    ]);
    assert.equal(d.totalLag, 2);
    const text = ok(await kbin(["group", "describe", "grp-app", ...b]));
    assert.match(text, /\nTotal lag:\s+2\n/);
    assert.match(text, /\nNo active members\.\n/);
    assert.match(text, /\ngrp-orders\s+0\s+5\s+7\s+2\s+-\n/);
    assert.match(
      ok(await kbin(["group", "list", "--state", "Empty", ...b])),
      /\ngrp-app\s+classic\s+Empty\s+consumer\n/,
    );
  });

  test("kbin group reset-offsets is a dry run by default and computes every strategy", async () => {
    const plan = (args: string[]) => kbin(["group", "reset-offsets", "grp-app", ...args, ...b]);
    const out = ok(await plan(["--topic", "grp-orders", "--to-earliest"]));
    assert.equal(
      out,
      "TOPIC       PARTITION  CURRENT-OFFSET  NEW-OFFSET\n" +
        "grp-orders  0          5               0\n" +
        "grp-orders  1          3               0\n" +
        "\nDry run: nothing committed (add --execute to commit these offsets)\n",
    );
    assert.deepEqual(await committed("grp-app"), { 0: 5, 1: 3 }, "a dry run commits nothing");

    const json = async (args: string[]) => {
      const r = JSON.parse(ok(await plan([...args, "--json"])));
      assert.equal(r.executed, false);
      return r.partitions.map((p: { partition: number; newOffset: number }) => [p.partition, p.newOffset]);
    };
    assert.deepEqual(await json(["--topic", "grp-orders", "--to-latest"]), [[0, 7], [1, 3]]);
    assert.deepEqual(await json(["--topic", "grp-orders", "--to-offset", "4"]), [[0, 4], [1, 3]], "clamped to latest");
    assert.deepEqual(await json(["--topic", "grp-orders", "--to-offset", "-5"]), [[0, 0], [1, 0]], "clamped to 0");
    assert.deepEqual(await json(["--topic", "grp-orders:0", "--shift-by", "-2"]), [[0, 3]]);
    assert.deepEqual(await json(["--all-topics", "--shift-by", "+10"]), [[0, 7], [1, 3]]);
    assert.deepEqual(await json(["--all-topics", "--to-datetime", "2000-01-01T00:00:00Z"]), [[0, 0], [1, 0]]);
    assert.deepEqual(await json(["--all-topics", "--to-datetime", "2999-01-01T00:00:00Z"]), [[0, 7], [1, 3]]);
    assert.deepEqual(await committed("grp-app"), { 0: 5, 1: 3 });
  });

  test("kbin group reset-offsets --to-earliest --execute makes the consumer read everything again", async () => {
    const out = ok(
      await kbin(["group", "reset-offsets", "grp-app", "--topic", "grp-orders", "--to-earliest", "--execute", ...b]),
    );
    assert.match(out, /\nCommitted new offsets for 2 partition\(s\) of group "grp-app"\n$/);
    assert.deepEqual(await committed("grp-app"), { 0: 0, 1: 0 });

    // auto.offset.reset=latest: only the committed offsets can make kcat start from the beginning.
    const records = await readToEnd("grp-app", "grp-orders");
    assert.deepEqual(records.sort(), ["a1", "a2", "a3", "a4", "a5", "a6", "a7", "b1", "b2", "b3"]);
    await waitFor("the new commits", async () => {
      const c = await committed("grp-app");
      return c[0] === 7 && c[1] === 3 ? c : undefined;
    });
  });

  test("kbin group reset-offsets --execute on an unknown group creates it with those offsets", async () => {
    ok(
      await kbin([
        "group",
        "reset-offsets",
        "grp-new",
        "--topic",
        "grp-orders:1",
        "--to-offset",
        "2",
        "--execute",
        ...b,
      ]),
    );
    const d = await describeJson("grp-new");
    assert.equal(d.state, "Empty");
    assert.deepEqual(d.partitions.map((p) => [p.partition, p.committedOffset, p.lag]), [[1, 2, 1]]);
  });

  test("kbin group describe shows static members with their instance ids and who owns which partition", async () => {
    const a = new KcatConsumer(broker.bootstrap, "grp-static", "grp-orders", ["-X", "group.instance.id=pod-a"]);
    const c = new KcatConsumer(broker.bootstrap, "grp-static", "grp-orders", ["-X", "group.instance.id=pod-b"]);
    consumers.push(a, c);
    const d = await waitFor("two members with one partition each", async () => {
      const d = await describeJson("grp-static");
      const counts = d.members.map((m) => m.assignment?.[0]?.partitions.length ?? 0);
      return d.state === "Stable" && counts.length === 2 && counts.every((n) => n === 1) ? d : undefined;
    });
    assert.deepEqual(d.members.map((m) => m.instanceId).sort(), ["pod-a", "pod-b"]);
    for (const p of d.partitions) {
      const owner = d.members.find((m) => m.memberId === p.memberId);
      assert.deepEqual(owner?.assignment, [{ topic: "grp-orders", partitions: [p.partition] }]);
    }
    const text = ok(await kbin(["group", "describe", "grp-static", ...b]));
    assert.match(text, /\nMembers:\s+2\n/);
    assert.match(text, /\s+pod-a\s+rdkafka\s+/);
  });

  test("kbin group delete removes an empty group and its offsets; missing groups are GROUP_ID_NOT_FOUND", async () => {
    assert.equal(
      ok(await kbin(["group", "delete", "grp-app", "grp-new", ...b])),
      'Deleted group "grp-app"\nDeleted group "grp-new"\n',
    );
    assert.doesNotMatch(ok(await kbin(["group", "list", ...b])), /grp-app|grp-new/);
    oneLineError(
      await kbin(["group", "describe", "grp-app", ...b]),
      1,
      /^kbin: Cannot describe group "grp-app": GROUP_ID_NOT_FOUND: the group does not exist$/,
    );
    oneLineError(
      await kbin(["group", "delete", "grp-app", ...b]),
      1,
      /^kbin: Cannot delete group "grp-app": GROUP_ID_NOT_FOUND: the group does not exist$/,
    );
    assert.equal(ok(await kbin(["group", "delete", "grp-app", "--if-exists", ...b])), "");
  });

  test("kbin group reset-offsets names bad topics and partitions in one line", async () => {
    oneLineError(
      await kbin(["group", "reset-offsets", "grp-x", "--topic", "grp-nope", "--to-earliest", ...b]),
      1,
      /^kbin: Cannot reset offsets of group "grp-x": topic "grp-nope": UNKNOWN_TOPIC_OR_PARTITION$/,
    );
    oneLineError(
      await kbin(["group", "reset-offsets", "grp-x", "--topic", "grp-orders:0,9", "--to-earliest", ...b]),
      1,
      /^kbin: Cannot reset offsets of group "grp-x": topic "grp-orders" has no partition 9 \(it has 2 partitions\)$/,
    );
    oneLineError(
      await kbin(["group", "reset-offsets", "grp-x", "--topic", "grp-orders", "--shift-by", "1", ...b]),
      1,
      /^kbin: Cannot reset offsets of group "grp-x": grp-orders:0: the group has no committed offset to shift$/,
    );
    oneLineError(
      await kbin(["group", "reset-offsets", "grp-x", "--all-topics", "--to-earliest", ...b]),
      1,
      /^kbin: Cannot reset offsets of group "grp-x": the group has no committed offsets; name the topics with --topic$/,
    );
  });

  test("kbin group usage errors are one line with exit 2", async () => {
    const cases: [string[], RegExp][] = [
      [["frob"], /^kbin: group: unknown command "frob"/],
      [["describe"], /^kbin: group describe: expected one group id/],
      [["describe", "a", "b"], /^kbin: group describe: expected one group id/],
      [["delete"], /^kbin: group delete: expected one or more group ids/],
      [["list", "--state", "Sleepy"], /^kbin: group list: unknown state "Sleepy"/],
      [["list", "--topic", "t"], /^kbin: group list: unknown option "--topic"/],
      [["reset-offsets", "g", "--topic", "t"], /give exactly one of --to-earliest/],
      [["reset-offsets", "g", "--to-earliest"], /give --topic T\[:P,…\] \(repeatable\) or --all-topics/],
      [["reset-offsets", "g", "--topic", "t:x", "--to-earliest"], /--topic expects T or T:P,P…, got "t:x"/],
      [["reset-offsets", "g", "--topic", "t", "--to-datetime", "noon"], /--to-datetime expects an ISO 8601 time/],
      [["reset-offsets", "g", "--topic", "t", "--to-latest", "--execute", "--dry-run"], /exclude each other/],
    ];
    const results = await Promise.all(cases.map(([args]) => kbin(["group", ...args, ...b])));
    results.forEach((r, i) => oneLineError(r, 2, cases[i]![1]));
  });

  test("kbin group --help and every subcommand's --help print usage with examples", async () => {
    const top = ok(await kbin(["group", "--help"]));
    assert.match(top, /^Usage: kbin group <command>/);
    for (const sub of ["list", "describe", "delete", "reset-offsets"]) {
      assert.match(top, new RegExp(`\\n  ${sub} `));
      const help = ok(await kbin(["group", sub, "--help"]));
      assert.match(help, new RegExp(`^Usage: kbin group ${sub} `));
      assert.match(help, /\nExamples?:\n {2}kbin group /);
    }
    assert.match(ok(await kbin(["--help"])), /\n {2}group <command> /);
    const bare = await kbin(["group"]);
    assert.equal(bare.code, 2);
    assert.match(bare.stdout, /^Usage: kbin group/);
  });

  test("kbin group uses KBIN_BOOTSTRAP without -b", async () => {
    const r = await kbin(["group", "list", "--json"], { KBIN_BOOTSTRAP: broker.bootstrap });
    assert.ok(Array.isArray(JSON.parse(ok(r))));
  });
});
