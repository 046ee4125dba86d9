/**
 * `kbin consume` in-process against an embedded broker: start positions (latest, beginning,
 * offsets, negative offsets, timestamps), --partition, -n, --exit, --format, isolation, Ctrl-C,
 * byte-exact output and the one-line error contract.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type EmbeddedBroker, startBroker } from "../../../mod.ts";
import { runCli } from "../../../src/cli/main.ts";
import { KafkaClient } from "../../../src/client/client.ts";
import { PRODUCE_API } from "../../../src/protocol/generated/00_produce.ts";
import { buildBatch, type RecordInput } from "../../../src/protocol/records/mod.ts";
import { connect } from "../../support/runtime.ts";
import { type CliRun, kbin, testIo } from "./test_io.ts";

const enc = new TextEncoder();

function show(r: CliRun): string {
  return `exit ${r.code}\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`;
}

function oneLineError(r: CliRun, code: number, pattern: RegExp): void {
  assert.equal(r.code, code, show(r));
  assert.equal(r.stdout, "", show(r));
  assert.equal(r.stderr.split("\n").length, 2, `not one line:\n${show(r)}`);
  assert.match(r.stderr, pattern);
}

describe("kbin consume", () => {
  let broker: EmbeddedBroker;
  let client: KafkaClient;
  let b: string[];
  let seq = 0;

  before(async () => {
    broker = await startBroker();
    client = new KafkaClient({ bootstrap: [broker.bootstrap], connect });
    b = ["-b", broker.bootstrap];
  });
  after(async () => {
    await client?.close();
    await broker?.close();
  });

  async function topic(partitions = 1): Promise<string> {
    const name = `consume-${++seq}`;
    const r = await kbin(["topic", "create", name, "-p", String(partitions), ...b]);
    assert.equal(r.code, 0, show(r));
    return name;
  }

  async function append(name: string, partition: number, records: RecordInput[]): Promise<void> {
    const { response } = await client.send(PRODUCE_API, () => ({
      acks: -1,
      timeoutMs: 5000,
      topicData: [{ name, partitionData: [{ index: partition, records: buildBatch(records) }] }],
    }));
    assert.equal(response.responses[0]!.partitionResponses[0]!.errorCode, 0);
  }

  function rec(value: string, extra: Partial<RecordInput> = {}): RecordInput {
    return { value: enc.encode(value), ...extra };
  }

  /** A topic with partition 0: a0..a4 at t=1000..5000, partition 1: b0..b2 at t=1500..3500. */
  async function filled(): Promise<string> {
    const name = await topic(2);
    await append(name, 0, [0, 1, 2, 3, 4].map((i) => rec(`a${i}`, { timestamp: BigInt(1000 + i * 1000) })));
    await append(name, 1, [0, 1, 2].map((i) => rec(`b${i}`, { timestamp: BigInt(1500 + i * 1000) })));
    return name;
  }

  function sortedLines(text: string): string[] {
    return text.split("\n").filter((l) => l !== "").sort();
  }

  test("kbin consume --help shows usage, the format placeholders and examples", async () => {
    const r = await kbin(["consume", "--help"]);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^Usage: kbin consume TOPIC/);
    assert.match(r.stdout, /%k key/);
    assert.match(r.stdout, /Examples:/);
  });

  test("kbin consume --from-beginning --exit prints every value, one per line, and a summary", async () => {
    const name = await filled();
    const r = await kbin(["consume", name, "--from-beginning", "--exit", ...b]);
    assert.equal(r.code, 0, show(r));
    assert.deepEqual(sortedLines(r.stdout), ["a0", "a1", "a2", "a3", "a4", "b0", "b1", "b2"]);
    assert.match(r.stderr, new RegExp(`^Consumed 8 records from "${name}" in \\d+ ms\\n$`));
  });

  test("kbin consume keeps each partition in offset order", async () => {
    const name = await filled();
    const r = await kbin(["consume", name, "--from-beginning", "-e", "-q", "-f", "%p %v\\n", ...b]);
    const lines = r.stdout.trimEnd().split("\n");
    assert.deepEqual(lines.filter((l) => l.startsWith("0 ")), ["0 a0", "0 a1", "0 a2", "0 a3", "0 a4"]);
    assert.deepEqual(lines.filter((l) => l.startsWith("1 ")), ["1 b0", "1 b1", "1 b2"]);
  });

  test("kbin consume --format prints key, value, headers, partition, offset, timestamp and topic", async () => {
    const name = await topic(1);
    await append(name, 0, [
      rec("v1", { key: enc.encode("k1"), timestamp: 1234n, headers: [{ key: "h", value: enc.encode("x") }] }),
      { key: null, value: null, timestamp: 1235n },
    ]);
    const r = await kbin(["consume", name, "--from-beginning", "-e", "-q", "-f", "%T|%p|%o|%t|%k|%v|%h\\n", ...b]);
    assert.equal(r.stdout, `${name}|0|0|1234|k1|v1|h=x\n${name}|0|1|1235|||\n`);
  });

  test("kbin consume writes values byte for byte", async () => {
    const name = await topic(1);
    const value = new Uint8Array([0xff, 0xfe, 0x00, 0x0a, 0xc3]);
    await append(name, 0, [{ value }]);
    const r = await kbin(["consume", name, "--from-beginning", "-e", "-q", "-f", "%v", ...b]);
    assert.deepEqual(r.stdoutBytes, value);
  });

  test("kbin consume -n stops after COUNT records", async () => {
    const name = await filled();
    const r = await kbin(["consume", name, "--from-beginning", "-n", "3", "--partition", "0", "-q", ...b]);
    assert.equal(r.code, 0, show(r));
    assert.equal(r.stdout, "a0\na1\na2\n");
  });

  test("kbin consume --offset N starts at offset N of each partition", async () => {
    const name = await filled();
    const r = await kbin(["consume", name, "--offset", "2", "-e", "-q", ...b]);
    assert.deepEqual(sortedLines(r.stdout), ["a2", "a3", "a4", "b2"]);
  });

  test("kbin consume --offset -N starts N records before the end of each partition", async () => {
    const name = await filled();
    const r = await kbin(["consume", name, "--offset", "-2", "-e", "-q", ...b]);
    assert.deepEqual(sortedLines(r.stdout), ["a3", "a4", "b1", "b2"]);
    const all = await kbin(["consume", name, "--offset", "-100", "-e", "-q", ...b]);
    assert.equal(sortedLines(all.stdout).length, 8);
  });

  test("kbin consume --offset past the end with --exit prints nothing and exits 0", async () => {
    const name = await filled();
    const r = await kbin(["consume", name, "--offset", "100", "-e", "-q", ...b]);
    assert.equal(r.code, 0, show(r));
    assert.equal(r.stdout, "");
  });

  test("kbin consume --timestamp starts at the first record at or after the time, in ms or ISO-8601", async () => {
    const name = await filled();
    const r = await kbin(["consume", name, "--timestamp", "3000", "-e", "-q", ...b]);
    assert.deepEqual(sortedLines(r.stdout), ["a2", "a3", "a4", "b2"]);
    const iso = await kbin(["consume", name, "--timestamp", "1970-01-01T00:00:04.500Z", "-e", "-q", ...b]);
    assert.deepEqual(sortedLines(iso.stdout), ["a4"]);
    const late = await kbin(["consume", name, "--timestamp", "99999", "-e", "-q", ...b]);
    assert.equal(late.stdout, "");
  });

  test("kbin consume --partition reads only that partition", async () => {
    const name = await filled();
    const r = await kbin(["consume", name, "--partition", "1", "--from-beginning", "-e", "-q", ...b]);
    assert.equal(r.stdout, "b0\nb1\nb2\n");
  });

  test("kbin consume --isolation read_committed reads non-transactional records", async () => {
    const name = await filled();
    const r = await kbin(["consume", name, "--isolation", "read_committed", "--from-beginning", "-e", "-q", ...b]);
    assert.equal(sortedLines(r.stdout).length, 8);
  });

  test("kbin consume --exit on an empty topic exits at once", async () => {
    const name = await topic(3);
    const r = await kbin(["consume", name, "--from-beginning", "-e", ...b]);
    assert.equal(r.code, 0, show(r));
    assert.equal(r.stdout, "");
  });

  test("kbin consume starts at the latest offset by default and prints what arrives", async () => {
    const name = await filled();
    const t = testIo();
    const running = runCli(["consume", name, "-n", "2", "-q", "--verbose", ...b], t.io);
    await t.waitFor("partition 0 starts at offset 5");
    await t.waitFor("partition 1 starts at offset 3");
    await append(name, 0, [rec("new1"), rec("new2")]);
    assert.equal(await running, 0, t.stderr());
    assert.equal(t.stdout(), "new1\nnew2\n");
  });

  test("kbin consume exits 0 on Ctrl-C after printing what it has", async () => {
    const name = await filled();
    const t = testIo();
    const running = runCli(["consume", name, "--from-beginning", ...b], t.io);
    await t.waitFor("a4\n");
    await t.waitFor("b2\n");
    t.interrupt();
    assert.equal(await running, 0, t.stderr());
    assert.equal(sortedLines(t.stdout()).length, 8);
    assert.match(t.stderr(), /Consumed 8 records/);
  });

  test("kbin consume stops quietly with exit 0 when stdout's reader goes away (EPIPE)", async () => {
    const name = await filled();
    const t = testIo();
    let writes = 0;
    t.io.stdoutBytes = () => {
      writes++;
      return Promise.reject(Object.assign(new Error("broken pipe"), { code: "EPIPE" }));
    };
    // Without --exit this would wait for new records forever.
    const code = await runCli(["consume", name, "--from-beginning", ...b], t.io);
    assert.equal(code, 0, t.stderr());
    assert.equal(writes, 1);
    assert.equal(t.stderr(), "");
  });

  test("kbin consume writes text when the runtime cannot take bytes", async () => {
    const name = await filled();
    const r = await kbin(["consume", name, "--partition", "0", "--from-beginning", "-e", "-q", ...b], {
      bytesOut: false,
    });
    assert.equal(r.stdout, "a0\na1\na2\na3\na4\n");
  });

  test("kbin consume of a missing topic is one line with UNKNOWN_TOPIC_OR_PARTITION", async () => {
    const r = await kbin(["consume", "no-such-topic", "-e", ...b]);
    oneLineError(r, 1, /^kbin: consume: Cannot consume from topic "no-such-topic": UNKNOWN_TOPIC_OR_PARTITION/);
  });

  test("kbin consume --partition past the topic's partitions is one line", async () => {
    const name = await topic(2);
    const r = await kbin(["consume", name, "--partition", "2", ...b]);
    oneLineError(r, 1, /UNKNOWN_TOPIC_OR_PARTITION \(the topic has 2 partitions\)/);
  });

  test("kbin consume usage errors exit 2 with one line", async () => {
    const cases: [string[], RegExp][] = [
      [[], /expected one topic name/],
      [["t", "--from-beginning", "--offset", "3"], /exclude each other/],
      [["t", "--offset", "x"], /--offset must be a whole number/],
      [["t", "--timestamp", "yesterday"], /--timestamp must be milliseconds since the epoch or an ISO-8601 time/],
      [["t", "-f", "%q"], /unknown placeholder "%q"/],
      [["t", "--isolation", "serializable"], /--isolation must be read_uncommitted or read_committed/],
      [["t", "-n", "0"], /-n\/--count must be at least 1/],
      [["t", "--partition", "-1"], /--partition must be >= 0/],
    ];
    for (const [args, pattern] of cases) oneLineError(await kbin(["consume", ...args, ...b]), 2, pattern);
  });
});
