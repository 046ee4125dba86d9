/**
 * `kbin produce` in-process against an embedded broker: lines to records (keys, headers,
 * tombstones), partitions, files, summaries, per-batch failures with line numbers, Ctrl-C and
 * the one-line error contract.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type EmbeddedBroker, startBroker } from "../../../mod.ts";
import { KafkaClient } from "../../../src/client/client.ts";
import { Fetcher, OffsetSpec } from "../../../src/client/fetcher.ts";
import { partitionForKey } from "../../../src/client/partitioner.ts";
import { createCodecs } from "../../../src/protocol/compression/mod.ts";
import type { AbsoluteRecord } from "../../../src/protocol/records/mod.ts";
import { connect } from "../../support/runtime.ts";
import { type CliRun, kbin, testIo } from "./test_io.ts";
import { runCli } from "../../../src/cli/main.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const codecs = createCodecs();

function show(r: CliRun): string {
  return `exit ${r.code}\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`;
}

/** The CLI error contract: exit code, empty stdout, one stderr line matching `pattern`. */
function oneLineError(r: CliRun, code: number, pattern: RegExp): void {
  assert.equal(r.code, code, show(r));
  assert.equal(r.stdout, "", show(r));
  assert.equal(r.stderr.split("\n").length, 2, `not one line:\n${show(r)}`);
  assert.match(r.stderr, pattern);
}

describe("kbin produce", () => {
  let broker: EmbeddedBroker;
  let client: KafkaClient;
  let b: string[];
  let dir: string;
  let seq = 0;

  before(async () => {
    broker = await startBroker();
    client = new KafkaClient({ bootstrap: [broker.bootstrap], connect });
    b = ["-b", broker.bootstrap];
    dir = await mkdtemp(join(tmpdir(), "kbin-produce-"));
  });
  after(async () => {
    await client?.close();
    await broker?.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function topic(partitions = 1, configs: string[] = []): Promise<string> {
    const name = `produce-${++seq}`;
    const r = await kbin([
      "topic",
      "create",
      name,
      "-p",
      String(partitions),
      ...configs.flatMap((c) => ["-c", c]),
      ...b,
    ]);
    assert.equal(r.code, 0, show(r));
    return name;
  }

  async function readAll(name: string, partitions: number): Promise<AbsoluteRecord[][]> {
    const f = new Fetcher(client, name, { decompress: (c, d) => codecs.decompress(c, d), maxWaitMs: 20 });
    await f.connect();
    const ids = Array.from({ length: partitions }, (_, i) => i);
    const ends = await f.listOffsets(ids, OffsetSpec.LATEST);
    f.assign(new Map(ids.map((p) => [p, 0n])));
    const out: AbsoluteRecord[][] = ids.map(() => []);
    for (const p of ids) if (ends.get(p) === 0n) f.unassign(p);
    for await (const parts of f.fetch()) {
      for (const part of parts) {
        out[part.partition]!.push(...part.records);
        if (part.nextOffset >= ends.get(part.partition)!) f.unassign(part.partition);
      }
    }
    return out;
  }

  test("kbin produce --help shows usage and examples", async () => {
    const r = await kbin(["produce", "--help"]);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^Usage: kbin produce TOPIC/);
    assert.match(r.stdout, /Examples:/);
    assert.match(r.stdout, /--key-separator/);
  });

  test("kbin produce sends one record per line, keys split at the separator, headers on each", async () => {
    const name = await topic(3);
    const lines = ["a:1", "b:2", "no separator", "c:x:y", "", "d:"];
    const r = await kbin(["produce", name, "--key-separator", ":", "-H", "src=test", "-H", "n=", ...b], {
      stdin: lines.join("\n") + "\n",
    });
    assert.equal(r.code, 0, show(r));
    assert.equal(r.stdout, "");
    assert.match(r.stderr, new RegExp(`^Produced 6 records to "${name}" in \\d+ ms`));
    const parts = await readAll(name, 3);
    const seen = parts.flat().map((x) => `${x.key === null ? "null" : dec.decode(x.key)}=${dec.decode(x.value!)}`);
    assert.deepEqual(seen.sort(), ["a=1", "b=2", "null=no separator", "c=x:y", "null=", "d="].sort());
    parts.forEach((records, p) => {
      for (const x of records) {
        assert.deepEqual(x.headers.map((h) => [h.key, dec.decode(h.value!)]), [["src", "test"], ["n", ""]]);
        if (x.key !== null) assert.equal(partitionForKey(x.key, 3), p, "keyed records go to their murmur2 partition");
      }
    });
  });

  test("kbin produce keeps bytes exactly: carriage returns, no trailing newline, multi-byte separators", async () => {
    const name = await topic(1);
    const r = await kbin(["produce", name, "--key-separator", "::", "-q", ...b], { stdin: "k1::v\r\nk2::é::x\nlast" });
    assert.equal(r.code, 0, show(r));
    assert.equal(r.stderr, "");
    const [p0] = await readAll(name, 1);
    assert.deepEqual(
      p0!.map((x) => [x.key === null ? null : dec.decode(x.key), dec.decode(x.value!)]),
      [["k1", "v\r"], ["k2", "é::x"], [null, "last"]],
    );
  });

  test("kbin produce --null-value sends tombstones", async () => {
    const name = await topic(1);
    const r = await kbin(["produce", name, "--key-separator", "=", "--null-value", "NULL", "-q", ...b], {
      stdin: "k=NULL\nk=v\n",
    });
    assert.equal(r.code, 0, show(r));
    const [p0] = await readAll(name, 1);
    assert.equal(p0![0]!.value, null);
    assert.equal(dec.decode(p0![1]!.value!), "v");
  });

  test("kbin produce --partition sends every record to that partition", async () => {
    const name = await topic(3);
    const r = await kbin(["produce", name, "--partition", "2", "--key-separator", ":", "-q", ...b], {
      stdin: "a:1\nb:2\nc:3\n",
    });
    assert.equal(r.code, 0, show(r));
    const parts = await readAll(name, 3);
    assert.deepEqual(parts.map((p) => p.length), [0, 0, 3]);
  });

  test("kbin produce --file reads a file, with each codec, acks and idempotence setting", async () => {
    const path = join(dir, "lines.txt");
    const lines = Array.from({ length: 300 }, (_, i) => `key${i % 7}|line ${i}`);
    await writeFile(path, lines.join("\n") + "\n");
    const variants = [
      ["--compression", "gzip"],
      ["--compression", "snappy", "--acks", "1"],
      ["--compression", "lz4", "--acks", "0"],
      ["--compression", "zstd", "--idempotent"],
      ["--no-idempotent", "--batch-size", "100", "--linger-ms", "0"],
    ];
    for (const v of variants) {
      const name = await topic(2);
      const r = await kbin(["produce", name, "--file", path, "--key-separator", "|", "-q", ...v, ...b]);
      assert.equal(r.code, 0, `${v.join(" ")}\n${show(r)}`);
      const parts = await readAll(name, 2);
      for (let p = 0; p < 2; p++) {
        const expected = lines.filter((l) => partitionForKey(enc.encode(l.split("|")[0]!), 2) === p);
        assert.deepEqual(
          parts[p]!.map((x) => `${dec.decode(x.key!)}|${dec.decode(x.value!)}`),
          expected,
          `${v.join(" ")} partition ${p}`,
        );
      }
    }
  });

  test("kbin produce reports each failed batch with its line numbers and exits 1", async () => {
    const name = await topic(1, ["max.message.bytes=1000"]);
    const big = "x".repeat(3000);
    const r = await kbin(["produce", name, "--batch-size", "500", ...b], { stdin: `ok1\n${big}\nok2\n` });
    assert.equal(r.code, 1, show(r));
    const lines = r.stderr.trimEnd().split("\n");
    assert.match(
      lines[0]!,
      new RegExp(
        `^kbin: produce: Failed to produce 1 record \\(line 2\\) to "${name}" partition 0: MESSAGE_TOO_LARGE`,
      ),
    );
    assert.match(lines[1]!, /^Produced 2 records/);
    assert.match(
      lines[2]!,
      new RegExp(`^kbin: produce: 1 of 3 records were not written to "${name}" \\(first error: MESSAGE_TOO_LARGE`),
    );
    const [p0] = await readAll(name, 1);
    assert.deepEqual(p0!.map((x) => dec.decode(x.value!)), ["ok1", "ok2"]);
  });

  test("kbin produce stops reading at Ctrl-C, delivers what it read, and exits 0", async () => {
    const name = await topic(1);
    let push!: (s: string) => void;
    const stdin = new ReadableStream<Uint8Array>({ start: (c) => void (push = (s) => c.enqueue(enc.encode(s))) });
    const t = testIo({ stdin });
    const running = runCli(["produce", name, ...b], t.io);
    push("one\ntwo\n");
    // The lines are read once a batch has gone out; then Ctrl-C.
    while ((await readAll(name, 1))[0]!.length < 2) await new Promise((r) => setTimeout(r, 10));
    t.interrupt();
    assert.equal(await running, 0, t.stderr());
    assert.match(t.stderr(), new RegExp(`Produced 2 records to "${name}"`));
  });

  test("kbin produce draws a progress line on a terminal when reading a file", async () => {
    const name = await topic(1);
    const path = join(dir, "progress.txt");
    await writeFile(path, "a\nb\n");
    const t = testIo({ terminal: true });
    const code = await runCli(["produce", name, "--file", path, ...b], t.io);
    assert.equal(code, 0, t.stderr());
    const esc = String.fromCharCode(27);
    assert.ok(t.stderr().includes(`100%${esc}[K\r${esc}[K`), JSON.stringify(t.stderr()));
    assert.match(t.stderr(), /^\r2 records {2}4 B {2}[\d,]+ records\/s {2}[\d.]+ k?B\/s {2}100%/);
  });

  test("kbin produce to a missing topic is one line with UNKNOWN_TOPIC_OR_PARTITION and a hint", async () => {
    const r = await kbin(["produce", "no-such-topic", ...b], { stdin: "x\n" });
    oneLineError(
      r,
      1,
      /^kbin: produce: Cannot produce to topic "no-such-topic": UNKNOWN_TOPIC_OR_PARTITION \(create it with "kbin topic create no-such-topic"\)$/m,
    );
  });

  test("kbin produce --partition past the topic's partitions is one line with UNKNOWN_TOPIC_OR_PARTITION", async () => {
    const name = await topic(2);
    const r = await kbin(["produce", name, "--partition", "5", ...b], { stdin: "x\n" });
    oneLineError(r, 1, /UNKNOWN_TOPIC_OR_PARTITION \(the topic has 2 partitions\)/);
  });

  test("kbin produce --file of a missing file is one line", async () => {
    const name = await topic(1);
    const r = await kbin(["produce", name, "--file", join(dir, "nope.txt"), ...b]);
    oneLineError(r, 1, /^kbin: produce: Cannot read file ".*nope.txt": no such file$/m);
  });

  test("kbin produce usage errors exit 2 with one line", async () => {
    const cases: [string[], RegExp][] = [
      [[], /expected one topic name/],
      [["t", "--acks", "2"], /--acks must be all, -1, 1 or 0, got "2"/],
      [["t", "--acks", "1", "--idempotent"], /--idempotent needs --acks all/],
      [["t", "--idempotent", "--no-idempotent"], /contradict/],
      [["t", "--compression", "brotli"], /--compression must be none, gzip, snappy, lz4 or zstd, got "brotli"/],
      [["t", "--batch-size", "0"], /--batch-size must be at least 1/],
      [["t", "--linger-ms", "x"], /--linger-ms must be a whole number/],
      [["t", "--partition", "-1"], /--partition must be >= 0/],
      [["t", "--key-separator", ""], /--key-separator must not be empty/],
      [["t", "-H", "novalue"], /--header expects name=value, got "novalue"/],
      [["t", "--bogus"], /Unknown option '--bogus'/],
    ];
    for (const [args, pattern] of cases) oneLineError(await kbin(["produce", ...args, ...b]), 2, pattern);
  });
});
