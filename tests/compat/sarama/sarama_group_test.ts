/**
 * Sarama 1.22's ConsumerGroup against kbin: two members split a topic, read every record once and
 * commit (OffsetCommit v1, Sarama's default, which Kafka 4.0 removed and kbin serves as Kafka 3.9
 * did); a second run of the group, at another `Config.Version` and with a retention set (so
 * OffsetCommit v2), starts from the committed offsets and reads only what came after them.
 * kbin's CLI (`kbin group describe`) checks the committed offsets in between, and a relay
 * between the clients and the broker (../shared/wire_tap.ts) records the versions Sarama sent.
 * Covered and knowingly skipped: ALLOWLIST.md; gaps: FINDINGS.md.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { type BrokerProcess, BUN, MAIN } from "../../support/broker_process.ts";
import { assertRoundTrip, fromWire, makeRecords, type TestRecord, toWire, type WireRecord } from "../shared/records.ts";
import { buildGoDriver, createTopic, goMissing, run, runJsonDriver } from "../shared/kbin.ts";
import { startTappedBroker, type WireTap } from "../shared/wire_tap.ts";

const DRIVER_DIR = fileURLToPath(new URL("./driver", import.meta.url));
const MISSING = goMissing("github.com/Shopify/sarama", "golang-github-shopify-sarama-dev");

const TOPIC = "sg-orders";
const GROUP = "sg-billing";
const PARTITIONS = [0, 1, 2, 3];

interface Session {
  generation: number;
  member_id: string;
  claims: Record<string, number[]>;
  initial: Record<string, number>;
}
interface GroupResult {
  members: { sessions: Session[]; records: WireRecord[] }[];
  errors: string[];
  timed_out: boolean;
  exception?: string;
}
interface Described {
  state: string;
  members: unknown[];
  partitions: { topic: string; partition: number; committedOffset: number | null; logEndOffset: number }[];
}

/** `kbin group describe GROUP --json`. */
async function describeGroup(broker: BrokerProcess): Promise<Described> {
  const r = await run(BUN, [MAIN, "group", "describe", GROUP, "--json", "-b", broker.bootstrap]);
  assert.equal(r.code, 0, `kbin group describe exited with ${r.code}:\n${r.stderr}`);
  return JSON.parse(r.stdout) as Described;
}

const committed = (d: Described) => d.partitions.map((p) => [p.partition, p.committedOffset, p.logEndOffset]);
const sorted = (records: WireRecord[]) =>
  fromWire(records).sort((a, b) => a.partition - b.partition || a.offset - b.offset);

describe("Sarama ConsumerGroup consumes, commits and resumes", { skip: MISSING }, () => {
  let broker: BrokerProcess;
  let tap: WireTap;
  // Binary keys and values, headers, null and empty fields; 100 records per partition, then 50 more.
  const first = makeRecords({ count: 400, partitions: 4, seed: 11 });
  const second = makeRecords({ count: 200, partitions: 4, seed: 12, baseTimestamp: Date.now() - 3_600_000 });
  const noHeaders = (records: TestRecord[]) => records.map((r) => ({ ...r, headers: [] }));
  let run1: GroupResult;
  let run2: GroupResult;
  let afterRun1: Described;
  let afterRun2: Described;

  before(async () => {
    const [bin, started] = await Promise.all([buildGoDriver(DRIVER_DIR, "sarama-driver"), startTappedBroker()]);
    ({ broker, tap } = started);
    await createTopic(broker, TOPIC, { partitions: PARTITIONS.length });
    const drive = async (ops: Record<string, unknown>[]) => {
      const out = await runJsonDriver<{ results: (Record<string, unknown> & { exception?: string })[] }>(
        bin,
        [],
        { bootstrap: broker.bootstrap, ops },
        { broker, timeoutMs: 90_000 },
      );
      for (const r of out.results) assert.equal(r.exception, undefined, String(r.exception));
      return out.results;
    };
    const produce = (records: TestRecord[]) => ({
      op: "produce",
      topic: TOPIC,
      records: toWire(records),
      version: "2.1.0",
      codec: "lz4",
      timestamps: true,
    });
    const [produced1, r1] = await drive([
      produce(first),
      {
        op: "group",
        group: GROUP,
        topics: [TOPIC],
        version: "2.1.0",
        members: 2,
        expect_total: first.length,
        client_id: "sarama-group-run1",
      },
    ]);
    assert.deepEqual((produced1!.reports as { err: string | null }[]).filter((r) => r.err !== null), []);
    run1 = r1 as unknown as GroupResult;
    afterRun1 = await describeGroup(broker);
    const [produced2, r2] = await drive([
      produce(second),
      {
        op: "group",
        group: GROUP,
        topics: [TOPIC],
        version: "0.10.2.0",
        members: 1,
        expect_total: second.length,
        retention_s: 3600,
        client_id: "sarama-group-run2",
      },
    ]);
    assert.deepEqual((produced2!.reports as { err: string | null }[]).filter((r) => r.err !== null), []);
    run2 = r2 as unknown as GroupResult;
    afterRun2 = await describeGroup(broker);
    if (process.env.KBIN_COMPAT_VERBOSE) console.error(`versions sent:\n${tap.summary()}`);
  });
  after(async () => {
    await broker?.[Symbol.asyncDispose]();
    await tap?.[Symbol.asyncDispose]();
  });

  test("ConsumerGroup (V2_1_0_0): two members split the 4 partitions in one generation and read every record once, byte-exact", () => {
    assert.deepEqual(run1.errors, []);
    assert.equal(run1.timed_out, false);
    const last = run1.members.map((m) => m.sessions.at(-1)!);
    assert.equal(last.length, 2);
    assert.equal(last[0]!.generation, last[1]!.generation, "both members end in the same generation");
    const claimed = last.map((s) => s.claims[TOPIC] ?? []);
    for (const c of claimed) assert.ok(c.length > 0, `a member got no partitions: ${JSON.stringify(claimed)}`);
    assert.deepEqual(claimed.flat().sort(), PARTITIONS);
    // No commit yet: every claim starts at OffsetOldest (-2), the group's Offsets.Initial.
    for (const s of last) for (const offset of Object.values(s.initial)) assert.equal(offset, -2);
    run1.members.forEach((m, i) => {
      for (const r of m.records) assert.ok(claimed[i]!.includes(r.p), `member ${i} read partition ${r.p}`);
    });
    assertRoundTrip(sorted(run1.members.flatMap((m) => m.records)), first, { timestamps: true, label: "run 1" });
  });

  test("after the first run the group is Empty (both members sent LeaveGroup) and its committed offsets are the log end", () => {
    assert.equal(afterRun1.state, "Empty");
    assert.deepEqual(afterRun1.members, []);
    assert.deepEqual(committed(afterRun1), PARTITIONS.map((p) => [p, 100, 100]));
  });

  test("a second run (V0_10_2_0, Fetch v3) starts each partition at its committed offset and reads only the new records: none again, none skipped", () => {
    assert.deepEqual(run2.errors, []);
    assert.equal(run2.timed_out, false);
    const [member] = run2.members;
    const s = member!.sessions.at(-1)!;
    assert.deepEqual(s.claims, { [TOPIC]: PARTITIONS });
    assert.deepEqual(s.initial, Object.fromEntries(PARTITIONS.map((p) => [`${TOPIC}/${p}`, 100])));
    // Fetch v3 carries message format v1: kbin down-converts, headers are gone.
    assertRoundTrip(sorted(member!.records), noHeaders(second), { firstOffset: 100, timestamps: true, label: "run 2" });
    assert.deepEqual(committed(afterRun2), PARTITIONS.map((p) => [p, 150, 150]));
  });

  test("Sarama commits with OffsetCommit v1 by default and v2 when Consumer.Offsets.Retention is set", () => {
    assert.deepEqual(tap.versions("OffsetCommit", "sarama-group-run1"), [1], tap.summary());
    assert.deepEqual(tap.versions("OffsetCommit", "sarama-group-run2"), [2], tap.summary());
  });

  test("Sarama's group protocol: FindCoordinator v0, JoinGroup v1, SyncGroup v0, Heartbeat v0, LeaveGroup v0, OffsetFetch v1", () => {
    for (const client of ["sarama-group-run1", "sarama-group-run2"]) {
      const seen = Object.fromEntries(
        ["FindCoordinator", "JoinGroup", "SyncGroup", "Heartbeat", "LeaveGroup", "OffsetFetch"]
          .map((api) => [api, tap.versions(api, client)]),
      );
      assert.deepEqual(seen, {
        FindCoordinator: [0],
        JoinGroup: [1],
        SyncGroup: [0],
        Heartbeat: [0],
        LeaveGroup: [0],
        OffsetFetch: [1],
      }, `${client}:\n${tap.summary()}`);
    }
    assert.deepEqual(tap.versions("Fetch", "sarama-group-run1"), [4]);
    assert.deepEqual(tap.versions("Fetch", "sarama-group-run2"), [3]);
  });
});
