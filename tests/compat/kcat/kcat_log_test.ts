/**
 * kcat (librdkafka 2.0.2) produces to and consumes from kbin's log: 1,000 keyed records with
 * headers, null keys and null values in every codec, byte-exact and in order per partition; the
 * `-o` start positions, `-Q` timestamp look-ups, too-large messages and out-of-range offsets.
 * Covered and knowingly skipped: ALLOWLIST.md; gaps: FINDINGS.md.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { type BrokerProcess, startBrokerProcess } from "../../support/broker_process.ts";
import { CODECS, forPartition, makeRecords, type ReadRecord, type TestRecord } from "../shared/records.ts";
import { assertRoundTrip } from "../shared/records.ts";
import { createTopic, kcatMissing, run } from "../shared/kbin.ts";

const KCAT = "kcat";
const MISSING = kcatMissing();

/** One line of `kcat -C -J -Z`. */
interface KcatMessage {
  topic: string;
  partition: number;
  offset: number;
  tstype: string;
  ts: number;
  headers?: (string | null)[];
  key: string | null;
  payload: string | null;
}

const encoder = new TextEncoder();
const utf8 = (s: string | null | undefined) => (s === null || s === undefined ? null : encoder.encode(s));

async function kcat(
  args: string[],
  input?: string,
  timeoutMs = 30_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return await run(KCAT, args, { ...(input === undefined ? {} : { input }), timeoutMs });
}

async function kcatOk(args: string[], input?: string): Promise<{ stdout: string; stderr: string }> {
  const r = await kcat(args, input);
  assert.equal(r.code, 0, `kcat ${args.join(" ")} exited with ${r.code}:\n${r.stderr.slice(-3000)}`);
  return r;
}

/** Consumes with `-J -Z -e` and returns the parsed messages. */
async function consume(broker: BrokerProcess, topic: string, ...args: string[]): Promise<KcatMessage[]> {
  const { stdout } = await kcatOk(["-C", "-b", broker.bootstrap, "-t", topic, "-J", "-Z", "-e", ...args]);
  return stdout.split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l) as KcatMessage);
}

function toRead(m: KcatMessage): ReadRecord {
  const headers: [string, Uint8Array | null][] = [];
  const h = m.headers ?? [];
  for (let i = 0; i < h.length; i += 2) headers.push([h[i]!, utf8(h[i + 1])]);
  return {
    partition: m.partition,
    offset: m.offset,
    key: utf8(m.key),
    value: utf8(m.payload),
    headers,
    timestamp: m.ts,
  };
}

/** kcat sets headers per run, not per record: these go on every record of one partition. */
function headersFor(partition: number, codec: string): [string, Uint8Array | null][] {
  return [
    ["trace-id", utf8(`p${partition}-${codec}`)],
    ["dup", utf8("1")],
    ["dup", utf8("2")],
    ["ключ", utf8("日本語 🚀")],
    ["empty", utf8("")],
    ["null-value", null],
  ];
}
const headerArgs = (partition: number, codec: string) =>
  headersFor(partition, codec).flatMap(([k, v]) => ["-H", v === null ? k : `${k}=${new TextDecoder().decode(v)}`]);

/** Produces `records` to one partition: one line each, `key<TAB>value`, an empty field meaning null (`-Z`). */
async function produce(
  broker: BrokerProcess,
  topic: string,
  partition: number,
  records: readonly TestRecord[],
  args: string[],
) {
  const dec = new TextDecoder();
  const lines = records.map((r) =>
    `${r.key === null ? "" : dec.decode(r.key)}\t${r.value === null ? "" : dec.decode(r.value)}\n`
  );
  await kcatOk(
    ["-P", "-b", broker.bootstrap, "-t", topic, "-p", String(partition), "-K", "\t", "-Z", ...args],
    lines.join(""),
  );
}

describe("kcat produces to and consumes from the log", { skip: MISSING }, () => {
  let broker: BrokerProcess;
  before(async () => {
    broker = await startBrokerProcess();
  });
  after(async () => {
    await broker?.[Symbol.asyncDispose]();
  });

  test("kcat -P -z CODEC -X acks=all then kcat -C -J round-trips 1,000 records byte-exact in every codec", async () => {
    const base = makeRecords({ text: true, partitions: 3 });
    await Promise.all(CODECS.map(async (codec) => {
      const topic = `kc-rt-${codec}`;
      await createTopic(broker, topic, { partitions: 3 });
      const sent = base.map((r) => ({ ...r, headers: headersFor(r.partition, codec) as [string, Uint8Array][] }));
      for (const p of [0, 1, 2]) {
        await produce(broker, topic, p, forPartition(sent, p), [
          "-z",
          codec,
          "-X",
          "acks=all",
          ...headerArgs(p, codec),
        ]);
      }
      const got = (await consume(broker, topic, "-o", "beginning")).map(toRead);
      got.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
      assertRoundTrip(got, sent, { label: `codec ${codec}` });
    }));
  });

  test("kcat -P -X enable.idempotence=true round-trips records through the idempotent producer", async () => {
    const topic = "kc-idempotent";
    await createTopic(broker, topic, { partitions: 1 });
    const sent = makeRecords({ text: true, partitions: 1, count: 200, seed: 7 }).map((r) => ({
      ...r,
      headers: headersFor(0, "idem") as [string, Uint8Array][],
    }));
    await produce(broker, topic, 0, sent, ["-X", "enable.idempotence=true", "-z", "lz4", ...headerArgs(0, "idem")]);
    const got = (await consume(broker, topic, "-o", "beginning")).map(toRead);
    assertRoundTrip(got, sent);
  });

  describe("start offsets and timestamp look-ups on a topic written in three runs", () => {
    const topic = "kc-offsets";
    let msgs: KcatMessage[];
    /** CreateTime of the first record of each run. */
    let runStart: number[];
    before(async () => {
      await createTopic(broker, topic, { partitions: 1 });
      const records = makeRecords({ text: true, partitions: 1, count: 15, seed: 3 });
      for (const chunk of [records.slice(0, 5), records.slice(5, 10), records.slice(10)]) {
        await produce(broker, topic, 0, chunk, []);
      }
      msgs = await consume(broker, topic, "-o", "beginning");
      runStart = [msgs[0]!.ts, msgs[5]!.ts, msgs[10]!.ts];
    });

    test("kcat -C -o beginning reads offsets 0..14 with CreateTime timestamps that grow run by run", () => {
      assert.deepEqual(msgs.map((m) => m.offset), [...Array(15).keys()]);
      assert.ok(msgs.every((m) => m.tstype === "create"), JSON.stringify(msgs[0]));
      // Each run's records are older than the next run's first: the look-ups below rely on it.
      assert.ok(msgs[4]!.ts < msgs[5]!.ts && msgs[9]!.ts < msgs[10]!.ts, `timestamps ${msgs.map((m) => m.ts)}`);
    });

    test("kcat -C -o end -e reads nothing", async () => {
      assert.deepEqual(await consume(broker, topic, "-o", "end"), []);
    });

    test("kcat -C -o -4 reads the last four records", async () => {
      assert.deepEqual((await consume(broker, topic, "-o", "-4")).map((m) => m.offset), [11, 12, 13, 14]);
    });

    test("kcat -C -o 7 starts at offset 7", async () => {
      assert.deepEqual((await consume(broker, topic, "-o", "7")).map((m) => m.offset), [7, 8, 9, 10, 11, 12, 13, 14]);
    });

    test("kcat -C -o s@TS starts at the first record with a timestamp >= TS", async () => {
      const got = await consume(broker, topic, "-o", `s@${runStart[1]}`);
      assert.deepEqual(got.map((m) => m.offset), [5, 6, 7, 8, 9, 10, 11, 12, 13, 14]);
      const mid = await consume(broker, topic, "-o", `s@${runStart[2]! - 1}`);
      assert.equal(mid[0]?.offset, 10, "a timestamp between two runs starts at the later run");
    });

    test("kcat -Q gives Kafka's answers for timestamps, -1 (latest) and -2 (earliest)", async () => {
      const q = async (ts: number) => {
        const { stdout } = await kcatOk(["-Q", "-b", broker.bootstrap, "-t", `${topic}:0:${ts}`]);
        const m = /offset (-?\d+)/.exec(stdout);
        assert.ok(m, stdout);
        return Number(m[1]);
      };
      assert.equal(await q(-1), 15, "latest");
      assert.equal(await q(-2), 0, "earliest");
      assert.equal(await q(0), 0, "timestamp 0");
      assert.equal(await q(runStart[1]!), 5, "first timestamp of run 2");
      assert.equal(await q(msgs[9]!.ts + 1), 10, "a timestamp after run 2's last record and before run 3");
      assert.equal(await q(msgs[14]!.ts + 1), -1, "after the last record: offset -1, as in Kafka");
    });

    // librdkafka retries a Fetch it cannot parse forever: these runs get a short deadline.
    test("kcat -C -o 100 with auto.offset.reset=earliest resets an out-of-range offset to the log start", async () => {
      const r = await kcat(
        ["-C", "-b", broker.bootstrap, "-t", topic, "-J", "-e", "-o", "100", "-X", "auto.offset.reset=earliest"],
        undefined,
        8_000,
      );
      assert.equal(r.code, 0, r.stderr.slice(-1500));
      const offsets = r.stdout.split("\n").filter((l) => l !== "").map((l) => (JSON.parse(l) as KcatMessage).offset);
      assert.deepEqual(offsets, [...Array(15).keys()]);
    });

    test("kcat -C -o 100 with the default auto.offset.reset (latest) resets to the end and reads nothing", async () => {
      const r = await kcat(["-C", "-b", broker.bootstrap, "-t", topic, "-J", "-e", "-o", "100"], undefined, 8_000);
      assert.equal(r.code, 0, r.stderr.slice(-1500));
      assert.equal(r.stdout.trim(), "");
      assert.doesNotMatch(r.stderr, /PROTOERR|parse failure/i, r.stderr.slice(-1500));
    });
  });

  test("kcat -P of a message larger than the topic's max.message.bytes fails with 'Message size too large'", async () => {
    const topic = "kc-small";
    await createTopic(broker, topic, { partitions: 1, configs: { "max.message.bytes": "1000" } });
    const big = `${"a".repeat(3000)}\n`;
    const r = await kcat(["-P", "-b", broker.bootstrap, "-t", topic, "-p", "0", "-X", "message.max.bytes=100000"], big);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Message size too large/, r.stderr);
    await kcatOk(["-P", "-b", broker.bootstrap, "-t", topic, "-p", "0"], "small\n");
    const got = await consume(broker, topic, "-o", "beginning");
    assert.deepEqual(got.map((m) => [m.offset, m.payload]), [[0, "small"]], "the refused batch took no offset");
  });
});
