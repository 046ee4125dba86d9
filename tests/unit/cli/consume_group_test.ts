/**
 * `kbin consume --group` in-process against an embedded broker: reading from committed offsets,
 * -n and --exit commit exactly what was printed, two consumers share a topic with every record
 * printed once, Ctrl-C commits and leaves, and the usage errors of the group options.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type EmbeddedBroker, startBroker } from "../../../mod.ts";
import { runCli } from "../../../src/cli/main.ts";
import { KafkaClient } from "../../../src/client/client.ts";
import { describeGroup, fetchCommittedOffsets } from "../../../src/client/groups.ts";
import { PRODUCE_API } from "../../../src/protocol/generated/00_produce.ts";
import { buildBatch, type RecordInput } from "../../../src/protocol/records/mod.ts";
import { connect } from "../../support/runtime.ts";
import { type CliRun, kbin, testIo } from "./test_io.ts";

const enc = new TextEncoder();

function show(r: CliRun): string {
  return `exit ${r.code}\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`;
}

/** Polls `check` until it holds, or rejects after `timeoutMs`. */
async function until(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function lines(text: string): string[] {
  return text.split("\n").filter((l) => l !== "");
}

describe("kbin consume --group", () => {
  let broker: EmbeddedBroker;
  let client: KafkaClient;
  let b: string[];
  let seq = 0;

  before(async () => {
    broker = await startBroker({
      config: { "group.initial.rebalance.delay.ms": "0", "group.min.session.timeout.ms": "1000" },
    });
    client = new KafkaClient({ bootstrap: [broker.bootstrap], connect });
    b = ["-b", broker.bootstrap];
  });
  after(async () => {
    await client?.close();
    await broker?.close();
  });

  async function topic(partitions: number): Promise<string> {
    const name = `cg-${++seq}`;
    const r = await kbin(["topic", "create", name, "-p", String(partitions), ...b]);
    assert.equal(r.code, 0, show(r));
    return name;
  }

  /** Appends values `from`..`to - 1` (as text), value i to partition i % partitions. */
  async function produce(name: string, partitions: number, from: number, to: number): Promise<void> {
    for (let p = 0; p < partitions; p++) {
      const values: RecordInput[] = [];
      for (let i = from; i < to; i++) if (i % partitions === p) values.push({ value: enc.encode(String(i)) });
      if (values.length === 0) continue;
      const { response } = await client.send(PRODUCE_API, () => ({
        acks: -1,
        timeoutMs: 5000,
        topicData: [{ name, partitionData: [{ index: p, records: buildBatch(values) }] }],
      }));
      assert.equal(response.responses[0]!.partitionResponses[0]!.errorCode, 0);
    }
  }

  async function committed(group: string): Promise<Record<number, number>> {
    const { offsets } = await fetchCommittedOffsets(client, group, null);
    return Object.fromEntries(offsets.map((o) => [o.partition, Number(o.offset)]));
  }

  test("kbin consume --group --from-beginning --exit reads everything once; the next run resumes at the commits", async () => {
    const name = await topic(3);
    const group = `${name}-g`;
    await produce(name, 3, 0, 30);
    const first = await kbin(["consume", name, "-g", group, "--from-beginning", "--exit", ...b]);
    assert.equal(first.code, 0, show(first));
    assert.deepEqual(lines(first.stdout).map(Number).sort((x, y) => x - y), [...Array(30).keys()]);
    assert.deepEqual(await committed(group), { 0: 10, 1: 10, 2: 10 });
    assert.equal((await describeGroup(client, group)).state, "Empty");

    const again = await kbin(["consume", name, "--group", group, "--from-beginning", "--exit", "-q", ...b]);
    assert.equal(again.code, 0, show(again));
    assert.equal(again.stdout, "");
    await produce(name, 3, 30, 36);
    const more = await kbin(["consume", name, "--group", group, "--exit", "-q", ...b]);
    assert.deepEqual(lines(more.stdout).map(Number).sort((x, y) => x - y), [30, 31, 32, 33, 34, 35]);
    assert.deepEqual(await committed(group), { 0: 12, 1: 12, 2: 12 });
  });

  test("kbin consume --group -n commits exactly the records it printed", async () => {
    const name = await topic(1);
    const group = `${name}-g`;
    await produce(name, 1, 0, 10);
    const r = await kbin(["consume", name, "-g", group, "--from-beginning", "-n", "4", "-q", ...b]);
    assert.deepEqual(lines(r.stdout), ["0", "1", "2", "3"]);
    assert.deepEqual(await committed(group), { 0: 4 });
    const rest = await kbin(["consume", name, "-g", group, "-n", "6", "-q", ...b]);
    assert.deepEqual(lines(rest.stdout), ["4", "5", "6", "7", "8", "9"]);
  });

  test("kbin consume --group without a commit starts at the latest offset and commits that position on exit", async () => {
    const name = await topic(2);
    const group = `${name}-g`;
    await produce(name, 2, 0, 4);
    const t = testIo();
    const running = runCli(["consume", name, "-g", group, "--verbose", ...b], t.io);
    await t.waitFor("partition 1 starts at offset 2 (latest)");
    t.interrupt();
    assert.equal(await running, 0, t.stderr());
    assert.equal(t.stdout(), "");
    // Kafka's consumer commits its position even when it printed nothing, so a successor does not
    // skip what arrives in between.
    assert.deepEqual(await committed(group), { 0: 2, 1: 2 });
  });

  // kbin consume heartbeats every 3 s (Kafka's default), so A notices B's arrival within that.
  test("two kbin consume --group processes share the partitions and print every record once", {
    timeout: 60_000,
  }, async () => {
    const name = await topic(4);
    const group = `${name}-g`;
    const a = testIo();
    const runA = runCli(["consume", name, "-g", group, "--from-beginning", "--commit-interval-ms", "200", ...b], a.io);
    await produce(name, 4, 0, 40);
    await until(() => lines(a.stdout()).length === 40, "A prints the first 40");
    const bIo = testIo();
    const runB = runCli(["consume", name, "-g", group, "--commit-interval-ms", "200", "--verbose", ...b], bIo.io);
    // B's first partitions come from A's commits (or its position at the revoke).
    await bIo.waitFor("(committed)", 20_000);
    await produce(name, 4, 40, 100);
    const seen = () => [...lines(a.stdout()), ...lines(bIo.stdout())];
    await until(() => seen().length >= 100, "A and B print 100 records").catch(() => {});
    a.interrupt();
    bIo.interrupt();
    assert.equal(await runA, 0, a.stderr());
    assert.equal(await runB, 0, bIo.stderr());
    const all = seen().map(Number).sort((x, y) => x - y);
    assert.deepEqual(all, [...Array(100).keys()], `A: ${a.stdout()}\nB: ${bIo.stdout()}\n${bIo.stderr()}`);
    assert.ok(lines(bIo.stdout()).length > 0, "B printed nothing");
    assert.deepEqual(await committed(group), { 0: 25, 1: 25, 2: 25, 3: 25 });
    assert.equal((await describeGroup(client, group)).state, "Empty");
  });

  test("kbin consume --group usage errors exit 2 with one line", async () => {
    const cases: [string[], RegExp][] = [
      [["t", "-g", "g", "--partition", "0"], /--partition cannot be used with --group/],
      [["t", "-g", "g", "--offset", "3"], /--offset and --timestamp cannot be used with --group/],
      [["t", "-g", "g", "--timestamp", "0"], /--offset and --timestamp cannot be used with --group/],
      [["t", "--group-instance-id", "i"], /--group-instance-id needs --group/],
      [["t", "--assignor", "range"], /--assignor needs --group/],
      [["t", "-g", "g", "--assignor", "sticky"], /unknown assignor "sticky" \(choose from range, roundrobin/],
      [["t", "-g", "g", "--commit-interval-ms", "0"], /--commit-interval-ms must be at least 1/],
      [["t", "-g", ""], /--group must not be empty/],
    ];
    for (const [args, pattern] of cases) {
      const r = await kbin(["consume", ...args, ...b]);
      assert.equal(r.code, 2, show(r));
      assert.equal(r.stderr.split("\n").length, 2, show(r));
      assert.match(r.stderr, pattern);
    }
  });

  test("kbin consume --help describes the group options", async () => {
    const r = await kbin(["consume", "--help"]);
    for (const flag of ["--group", "--group-instance-id", "--assignor", "--commit-interval-ms"]) {
      assert.ok(r.stdout.includes(flag), flag);
    }
  });
});
