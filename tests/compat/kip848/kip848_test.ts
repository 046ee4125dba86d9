/**
 * KIP-848 consumer groups end to end against `kbin serve`, with librdkafka 2.12 (node-rdkafka,
 * `group.protocol=consumer`) as the judge: members in their own `node` processes (member.cjs),
 * numbered records from a librdkafka producer (producer.cjs), and confluent-kafka-python 1.7
 * (librdkafka 2.0.2, classic protocol) for the group-type checks. The main group's tests run in
 * order and share its members: split, incremental join, admin view, leave and crash, resume.
 * Covered and skipped: ALLOWLIST.md; gaps: FINDINGS.md.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { type BrokerProcess, BUN, MAIN, run, startBrokerProcess } from "../../support/broker_process.ts";
import { connect } from "../../support/runtime.ts";
import { KafkaClient } from "../../../src/client/client.ts";
import { coordinatorConnection, fetchCommittedOffsets } from "../../../src/client/groups.ts";
import {
  CONSUMER_GROUP_DESCRIBE_API,
  type DescribedGroup,
} from "../../../src/protocol/generated/69_consumer_group_describe.ts";
import { DESCRIBE_GROUPS_API } from "../../../src/protocol/generated/15_describe_groups.ts";
import { CONSUMER_GROUP_HEARTBEAT_API } from "../../../src/protocol/generated/68_consumer_group_heartbeat.ts";
import { ErrorCode, errorName } from "../../../src/protocol/generated/errors.ts";
import {
  acknowledged,
  assertNoOverlap,
  committedBy,
  dump,
  errorsOf,
  firstOffsets,
  partitionsOf,
  type Proc,
  received,
  spawnProc,
  until,
  waitCommitted,
  waitSplit,
} from "./support.ts";
import { PYTHON, pythonMissing } from "../shared/kbin.ts";
import { clientMissing } from "../../support/skips.ts";

const ROOT = fileURLToPath(new URL("../../..", import.meta.url));
const here = (file: string) => fileURLToPath(new URL(`./${file}`, import.meta.url));
const NO_NODE = clientMissing(
  "node",
  spawnSync("node", ["--version"]).status !== 0 ? "node is not on PATH (node-rdkafka needs it)" : false,
);
const NO_PYTHON = pythonMissing("confluent_kafka");

/** The broker's group.consumer.session.timeout.ms and group.consumer.heartbeat.interval.ms here. */
const SESSION_MS = 4000;
const HEARTBEAT_MS = 500;
const MAIN_TOPIC = "t848-main";
const MAIN_GROUP = "kip848-main";
const ALL = partitionsOf(MAIN_TOPIC, 6);

let broker: BrokerProcess;
let modules = "";
const procs: Proc[] = [];

/** A KIP-848 member (client.id = `name`) subscribed to `topics` (a leading ^ marks a regex). */
function member(name: string, group: string, topics: string[], conf: Record<string, unknown> = {}): Proc {
  const p = spawnProc(name, "node", [
    here("member.cjs"),
    modules,
    broker.bootstrap,
    group,
    name,
    JSON.stringify(topics),
    JSON.stringify(conf),
  ]);
  procs.push(p);
  return p;
}

/** Produces values `from`..`to-1` (value i to partition i % partitions) and waits for every ack. */
async function produce(topic: string, partitions: number, from: number, to: number): Promise<Proc> {
  const p = spawnProc(`producer ${topic} ${from}..${to}`, "node", [
    here("producer.cjs"),
    modules,
    broker.bootstrap,
    topic,
    String(partitions),
    String(from),
    String(to),
    "0",
  ]);
  procs.push(p);
  await p.waitFor("all records acknowledged", (e) => e.ev === "done");
  assert.equal(p.events.filter((e) => e.ev === "sent").length, to - from, dump(p));
  return p;
}

async function createTopic(name: string, partitions: number): Promise<void> {
  const r = await run(BUN, [MAIN, "topic", "create", name, "-p", String(partitions), "-b", broker.bootstrap]);
  assert.equal(r.code, 0, r.stderr);
}

/** Runs a kbin CLI command that prints JSON. */
async function kbinJson<T>(args: string[]): Promise<T> {
  const r = await run(BUN, [MAIN, ...args, "-b", broker.bootstrap, "--json"]);
  assert.equal(r.code, 0, `kbin ${args.join(" ")}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

/** Runs `fn` with a kbin protocol client connected to the group's coordinator. */
async function onCoordinator<T>(
  group: string,
  fn: (client: KafkaClient, conn: Awaited<ReturnType<typeof coordinatorConnection>>["conn"]) => Promise<T>,
): Promise<T> {
  const client = new KafkaClient({ bootstrap: [broker.bootstrap], connect, clientId: "kip848-test" });
  try {
    const { conn } = await coordinatorConnection(client, group);
    return await fn(client, conn);
  } finally {
    await client.close();
  }
}

/** ConsumerGroupDescribe v0 for one group. */
function consumerGroupDescribe(group: string): Promise<DescribedGroup> {
  return onCoordinator(group, async (client, conn) => {
    const { response } = await client.send(
      CONSUMER_GROUP_DESCRIBE_API,
      () => ({ groupIds: [group], includeAuthorizedOperations: false }),
      { to: conn },
    );
    return response.groups[0]!;
  });
}

/** Committed offsets of `group` on `topic` from OffsetFetch, by "topic:partition" (-1: none). */
function committedOffsets(group: string, topic: string, partitions: number): Promise<Map<string, number>> {
  return onCoordinator(group, async (client) => {
    const r = await fetchCommittedOffsets(client, group, [{ topic, partitions: [...Array(partitions).keys()] }]);
    assert.equal(r.errorCode, 0);
    return new Map(r.offsets.map((o) => [`${o.topic}:${o.partition}`, Number(o.offset)]));
  });
}

function keysOf(a: { topicPartitions: { topicName: string; partitions: number[] }[] }): string[] {
  return a.topicPartitions.flatMap((tp) => tp.partitions.map((p) => `${tp.topicName}:${p}`)).sort();
}

/** Index just past the last event of `p` (to look at what happens from now on). */
const mark = (p: Proc) => p.events.length;

describe("KIP-848 consumer groups with librdkafka 2.12 (group.protocol=consumer)", { skip: NO_NODE }, () => {
  before(async () => {
    const installed = await run("bash", [`${ROOT}/scripts/install_node_rdkafka.sh`], { timeoutMs: 900_000 });
    assert.equal(installed.code, 0, `install_node_rdkafka.sh failed:\n${installed.stderr.slice(-3000)}`);
    modules = installed.stdout.trim().split("\n").pop()!;
    broker = await startBrokerProcess({
      args: [
        "--set",
        `group.consumer.session.timeout.ms=${SESSION_MS}`,
        "--set",
        `group.consumer.heartbeat.interval.ms=${HEARTBEAT_MS}`,
        "--set",
        "group.initial.rebalance.delay.ms=0",
      ],
    });
  });
  after(async () => {
    await Promise.all(procs.map((p) => p.stop("SIGKILL")));
    // KIP848_EVENTS_DIR=dir keeps every process's events (one JSON line each) for debugging.
    const dir = process.env.KIP848_EVENTS_DIR;
    if (dir) {
      await mkdir(dir, { recursive: true });
      for (const [i, p] of procs.entries()) {
        const lines = p.events.map((e) => JSON.stringify(e)).join("\n");
        await writeFile(`${dir}/${i}-${p.name.replaceAll(/\W+/g, "_")}.jsonl`, `${lines}\n${p.stderr()}`);
      }
      if (broker) await writeFile(`${dir}/broker.log`, broker.log());
    }
    await broker?.[Symbol.asyncDispose]();
  });

  // The main group: A, B, C on a 6-partition topic while `feed` produces a record every 10 ms.
  let feed: Proc;
  let a: Proc;
  let b: Proc;
  let c: Proc;

  test("two consumers split a 6-partition topic 3/3, never owning a partition twice", async () => {
    await createTopic(MAIN_TOPIC, 6);
    feed = spawnProc("feed", "node", [
      here("producer.cjs"),
      modules,
      broker.bootstrap,
      MAIN_TOPIC,
      "6",
      "0",
      "-1",
      "10",
    ]);
    procs.push(feed);
    a = member("kip848-A", MAIN_GROUP, [MAIN_TOPIC]);
    const first = await a.waitFor("a first assignment", (e) => e.ev === "assign");
    assert.deepEqual(first.owned, ALL, "a lone member gets every partition");
    assert.equal((first as { protocol?: string }).protocol, "COOPERATIVE");
    b = member("kip848-B", MAIN_GROUP, [MAIN_TOPIC]);
    const { sets } = await waitSplit([a, b], ALL, { sizes: [3, 3] });
    // A gave up exactly what B got, in revocations that never emptied it.
    const revokedA = a.events.filter((e) => e.ev === "revoke");
    assert.deepEqual(revokedA.flatMap((e) => e.parts!).sort(), sets[1], dump(a));
    assert.ok(revokedA.every((e) => e.owned!.length > 0), dump(a));
    assert.deepEqual(b.events.filter((e) => e.ev === "revoke"), [], dump(b));
    // Both consume their own partitions.
    await until("records on every partition", () => {
      const got = new Set(
        [a, b].flatMap((p) => p.events.filter((e) => e.ev === "msg").map((e) => `${e.topic}:${e.p}`)),
      );
      return ALL.every((tp) => got.has(tp)) ? true : undefined;
    }, { procs: [a, b, feed] });
    assertNoOverlap([a, b]);
  });

  test("a third consumer joins incrementally: the others lose one partition each and keep consuming", async () => {
    const [beforeA, beforeB] = [a.owned(), b.owned()];
    const [fromA, fromB] = [mark(a), mark(b)];
    const joinedAt = Date.now();
    c = member("kip848-C", MAIN_GROUP, [MAIN_TOPIC]);
    const { at: balancedAt } = await waitSplit([a, b, c], ALL, { sizes: [2, 2, 2] });
    for (const [p, before, from] of [[a, beforeA, fromA], [b, beforeB, fromB]] as const) {
      const after = p.owned();
      assert.ok(after.every((tp) => before.includes(tp)), `${p.name} kept a subset: ${before} -> ${after}`);
      const since = p.events.slice(from);
      // Only the moved partition is revoked; nothing is assigned back, nothing else is taken.
      assert.deepEqual(
        since.filter((e) => e.ev === "revoke").flatMap((e) => e.parts!),
        before.filter((tp) => !after.includes(tp)),
        dump(p),
      );
      assert.deepEqual(since.filter((e) => e.ev === "assign").flatMap((e) => e.parts!), [], dump(p));
      // It kept consuming its retained partitions while C joined, without a gap or a rewind.
      const during = since.filter((e) => e.ev === "msg" && after.includes(`${e.topic}:${e.p}`) && e.t <= balancedAt);
      assert.ok(during.length > 0, `${p.name} consumed nothing between ${joinedAt} and ${balancedAt}\n${dump(p)}`);
      for (const tp of after) {
        const offsets = p.events.filter((e) => e.ev === "msg" && `${e.topic}:${e.p}` === tp).map((e) => e.o!);
        assert.deepEqual(offsets, offsets.map((_, i) => offsets[0]! + i), `${p.name} re-read or skipped on ${tp}`);
      }
    }
    assert.deepEqual(c.events.filter((e) => e.ev === "revoke"), [], dump(c));
    assertNoOverlap([a, b, c]);
  });

  test("ConsumerGroupDescribe and `kbin group describe` show the three members with what they own", async () => {
    const byClient = new Map([a, b, c].map((p) => [p.name, p]));
    const d = await until("a Stable group", async () => {
      const g = await consumerGroupDescribe(MAIN_GROUP);
      return g.groupState === "Stable" ? g : undefined;
    });
    assert.equal(d.errorCode, 0);
    assert.equal(d.assignorName, "uniform");
    assert.equal(d.assignmentEpoch, d.groupEpoch);
    assert.deepEqual(d.members.map((m) => m.clientId).sort(), [...byClient.keys()].sort());
    for (const m of d.members) {
      const p = byClient.get(m.clientId)!;
      assert.equal(m.memberEpoch, d.groupEpoch, `${m.clientId} reconciled to the group epoch`);
      assert.deepEqual(m.subscribedTopicNames, [MAIN_TOPIC]);
      assert.equal(m.subscribedTopicRegex, null);
      assert.deepEqual(keysOf(m.assignment), p.owned(), `${m.clientId}'s assignment is what it reports`);
      assert.deepEqual(keysOf(m.targetAssignment), p.owned(), `${m.clientId}'s target is reached`);
    }

    const cli = await kbinJson<{
      type: string;
      state: string;
      assignor: string;
      members: { memberId: string; clientId: string; assignment: { topic: string; partitions: number[] }[] }[];
      partitions: { topic: string; partition: number; memberId: string | null }[];
    }>(["group", "describe", MAIN_GROUP]);
    assert.equal(cli.type, "consumer");
    assert.equal(cli.state, "Stable");
    assert.equal(cli.assignor, "uniform");
    assert.equal(cli.members.length, 3);
    for (const m of cli.members) {
      const owned = m.assignment.flatMap((tp) => tp.partitions.map((p) => `${tp.topic}:${p}`)).sort();
      assert.deepEqual(owned, byClient.get(m.clientId)!.owned(), `kbin group describe: ${m.clientId}`);
      const rows = cli.partitions.filter((r) => r.memberId === m.memberId).map((r) => `${r.topic}:${r.partition}`);
      assert.deepEqual(rows.sort(), owned);
    }
    const listed = await kbinJson<{ group: string; type: string; state: string }[]>(["group", "list"]);
    assert.deepEqual(listed.find((g) => g.group === MAIN_GROUP), {
      group: MAIN_GROUP,
      type: "consumer",
      state: "Stable",
      protocolType: "consumer",
    });
  });

  test("DescribeGroups answers a KIP-848 group as Dead with no members, as Kafka does", async () => {
    const g = await onCoordinator(MAIN_GROUP, async (client, conn) => {
      const { response } = await client.send(
        DESCRIBE_GROUPS_API,
        () => ({ groups: [MAIN_GROUP], includeAuthorizedOperations: false }),
        { to: conn, maxVersion: 5 },
      );
      return response.groups[0]!;
    });
    assert.deepEqual([g.errorCode, g.groupState, g.protocolType, g.members.length], [0, "Dead", "", 0]);
  });

  test("a closing member's partitions move at once; a killed member's move after the session timeout", async () => {
    const ownedC = c.owned();
    const closedAt = Date.now();
    await c.stop("SIGTERM");
    assert.ok(c.events.some((e) => e.ev === "closed"), dump(c));
    const { at: movedAt } = await waitSplit([a, b], ALL, { sizes: [3, 3] });
    assert.ok(movedAt - closedAt < SESSION_MS - HEARTBEAT_MS, `C's partitions moved after ${movedAt - closedAt} ms`);
    assert.deepEqual(
      [...a.owned(), ...b.owned()].filter((tp) => ownedC.includes(tp)).sort(),
      ownedC,
      "C's partitions went to A and B",
    );
    const afterLeave = await consumerGroupDescribe(MAIN_GROUP);
    assert.deepEqual(afterLeave.members.map((m) => m.clientId).sort(), ["kip848-A", "kip848-B"], "C left at once");

    const fromA = mark(a);
    const killedAt = Date.now();
    await b.stop("SIGKILL");
    const takeover = await a.waitFor(
      "all partitions",
      (e) => JSON.stringify(e.owned) === JSON.stringify(ALL),
      { from: fromA, timeoutMs: SESSION_MS + 10_000 },
    );
    const tookMs = takeover.t - killedAt;
    assert.ok(tookMs >= SESSION_MS - HEARTBEAT_MS - 250, `A took B's partitions ${tookMs} ms after the crash`);
    assert.ok(tookMs < SESSION_MS + 3000, `A took B's partitions only ${tookMs} ms after the crash`);
    assert.deepEqual(a.events.slice(fromA).filter((e) => e.ev === "revoke"), [], dump(a));
    assertNoOverlap([a, b, c]);
    const d = await consumerGroupDescribe(MAIN_GROUP);
    assert.deepEqual(d.members.map((m) => m.clientId), ["kip848-A"]);
  });

  test("a new member resumes at the committed offsets: nothing redelivered, nothing lost", async () => {
    await feed.stop("SIGTERM");
    assert.ok(feed.events.some((e) => e.ev === "done"), dump(feed));
    const { values, ends } = acknowledged(feed, MAIN_TOPIC);
    assert.ok(values.length > 100, `the feed produced only ${values.length} records`);
    await waitCommitted([a], ends);
    const got = new Set(received([a, b, c]));
    assert.deepEqual(values.filter((v) => !got.has(v)), [], "acknowledged records nobody received");
    await a.stop("SIGTERM");
    assert.ok(a.events.some((e) => e.ev === "closed"), dump(a));
    assert.deepEqual(Object.fromEntries(await committedOffsets(MAIN_GROUP, MAIN_TOPIC, 6)), Object.fromEntries(ends));
    assert.deepEqual(Object.fromEntries(committedBy([a, b, c])), Object.fromEntries(ends));

    const total = values.length;
    await produce(MAIN_TOPIC, 6, total, total + 60);
    const d = member("kip848-D", MAIN_GROUP, [MAIN_TOPIC]);
    await d.waitFor("every partition", (e) => JSON.stringify(e.owned) === JSON.stringify(ALL));
    const newEnds = new Map(ALL.map((tp) => [tp, ends.get(tp)! + 10]));
    await waitCommitted([d], newEnds);
    assert.deepEqual(Object.fromEntries(firstOffsets(d)), Object.fromEntries(ends), "D started at the commits");
    const expected = [...Array(60).keys()].map((i) => String(total + i));
    assert.deepEqual(received([d]).sort(), expected.sort(), "D received exactly the records after the commits");
    await d.stop("SIGTERM");
    assert.deepEqual(errorsOf([feed, a, b, c, d], { staleCommitWindowMs: 2 * HEARTBEAT_MS }), [], "errors reported");
  });

  test("the range assignor (group.remote.assignor=range) co-partitions two 3-partition topics", async () => {
    await createTopic("t848-range-x", 3);
    await createTopic("t848-range-y", 3);
    const topics = ["t848-range-x", "t848-range-y"];
    const conf = { "group.remote.assignor": "range" };
    const e = member("kip848-E", "kip848-range", topics, conf);
    const f = member("kip848-F", "kip848-range", topics, conf);
    const all = [...partitionsOf(topics[0]!, 3), ...partitionsOf(topics[1]!, 3)].sort();
    const { sets } = await waitSplit([e, f], all, { sizes: [4, 2] });
    // Range hands out the same partition numbers of each topic to the same member.
    for (const set of sets) {
      const numbers = (t: string) => set.filter((tp) => tp.startsWith(`${t}:`)).map((tp) => tp.split(":")[1]);
      assert.deepEqual(numbers(topics[0]!), numbers(topics[1]!), `not co-partitioned: ${set}`);
    }
    const d = await consumerGroupDescribe("kip848-range");
    assert.equal(d.assignorName, "range");
    await Promise.all([e.stop("SIGTERM"), f.stop("SIGTERM")]);
    assertNoOverlap([e, f]);
    assert.deepEqual(errorsOf([e, f], { staleCommitWindowMs: 2 * HEARTBEAT_MS }), [], "errors reported");
  });

  test("a regex subscription picks up a matching topic created after it, and only matching topics", async () => {
    await createTopic("t848-re-a", 2);
    await createTopic("x848-re-no", 2);
    const r = member("kip848-R", "kip848-regex", ["^t848-re-.*"]);
    await r.waitFor("t848-re-a", (e) => JSON.stringify(e.owned) === JSON.stringify(partitionsOf("t848-re-a", 2)));
    const d = await consumerGroupDescribe("kip848-regex");
    // librdkafka sends its regexes joined as "(re1)|(re2)…".
    assert.equal(d.members[0]?.subscribedTopicRegex, "(^t848-re-.*)");
    await createTopic("t848-re-b", 2);
    await produce("t848-re-b", 2, 0, 4);
    // The broker refreshes a group's regexes at most every 10 s (Kafka's batching).
    const all = [...partitionsOf("t848-re-a", 2), ...partitionsOf("t848-re-b", 2)].sort();
    await r.waitFor("t848-re-b as well", (e) => JSON.stringify(e.owned) === JSON.stringify(all), { timeoutMs: 20_000 });
    await until("the records of t848-re-b", () => received([r]).length === 4 ? true : undefined, { procs: [r] });
    assert.ok(!r.events.some((e) => e.parts?.some((tp) => tp.startsWith("x848"))), dump(r));
    await r.stop("SIGTERM");
    assert.deepEqual(errorsOf([r], { staleCommitWindowMs: 2 * HEARTBEAT_MS }), [], "errors reported");
  });

  test("a static member (group.instance.id) that closes keeps its partitions until it is back or its session ends", async () => {
    const topic = "t848-static";
    const group = "kip848-static";
    const all = partitionsOf(topic, 4);
    await createTopic(topic, 4);
    const s1 = member("kip848-S1", group, [topic], { "group.instance.id": "s1" });
    await s1.waitFor("all partitions", (e) => JSON.stringify(e.owned) === JSON.stringify(all));
    const s2 = member("kip848-S2", group, [topic], { "group.instance.id": "s2" });
    const { sets } = await waitSplit([s1, s2], all, { sizes: [2, 2] });
    const kept = sets[0]!;
    const fromS1 = mark(s1);
    // Closing sends epoch -2 (a temporary leave): the partitions stay reserved for instance s2.
    await s2.stop("SIGTERM");
    assert.ok(s2.events.some((e) => e.ev === "closed"), dump(s2));
    const left = await until("s2 at epoch -2", async () => {
      const m = (await consumerGroupDescribe(group)).members.find((x) => x.instanceId === "s2");
      return m?.memberEpoch === -2 ? m : undefined;
    });
    assert.deepEqual(keysOf(left.assignment), sets[1]);
    const back = member("kip848-S2b", group, [topic], { "group.instance.id": "s2" });
    await back.waitFor("s2's partitions", (e) => JSON.stringify(e.owned) === JSON.stringify(sets[1]));
    assert.deepEqual(s1.events.slice(fromS1).filter((e) => e.owned !== undefined), [], "S1 saw a rebalance");
    assert.deepEqual(s1.owned(), kept);
    // Gone for longer than the session timeout: the reservation ends and S1 takes everything.
    const closedAt = Date.now();
    await back.stop("SIGTERM");
    const takeover = await s1.waitFor(
      "all partitions",
      (e) => JSON.stringify(e.owned) === JSON.stringify(all),
      { from: fromS1, timeoutMs: SESSION_MS + 10_000 },
    );
    assert.ok(
      takeover.t - closedAt >= SESSION_MS - HEARTBEAT_MS - 250,
      `S1 took over ${takeover.t - closedAt} ms after`,
    );
    await s1.stop("SIGTERM");
    assertNoOverlap([s1, s2, back]);
    assert.deepEqual(errorsOf([s1, s2, back], { staleCommitWindowMs: 2 * HEARTBEAT_MS }), [], "errors reported");
  });

  describe("one group, one protocol", { skip: NO_PYTHON }, () => {
    const classic = (name: string, topic: string, group: string) => {
      const p = spawnProc(name, PYTHON, [here("classic_member.py"), broker.bootstrap, topic, group]);
      procs.push(p);
      return p;
    };

    test("a classic consumer cannot join a KIP-848 group that has members (INCONSISTENT_GROUP_PROTOCOL)", async () => {
      await createTopic("t848-mixed", 2);
      const k = member("kip848-K", "kip848-mixed", ["t848-mixed"]);
      await k.waitFor("both partitions", (e) => e.owned?.length === 2);
      const fromK = mark(k);
      const p = classic("classic-P", "t848-mixed", "kip848-mixed");
      const err = await p.waitFor("a JoinGroup error", (e) => e.ev === "error");
      assert.equal(err.name, "INCONSISTENT_GROUP_PROTOCOL", dump(p));
      await p.stop("SIGTERM");
      assert.deepEqual(p.events.filter((e) => e.ev === "assign"), [], dump(p));
      assert.deepEqual(k.events.slice(fromK).filter((e) => e.owned !== undefined), [], "K saw a rebalance");
      assert.equal((await consumerGroupDescribe("kip848-mixed")).members.length, 1);
      await k.stop("SIGTERM");
      assert.deepEqual(errorsOf([p, k], { allowed: /^INCONSISTENT_GROUP_PROTOCOL / }), [], "errors reported");
    });

    test("a KIP-848 consumer gets nothing from a classic group that has members (GROUP_ID_NOT_FOUND)", async () => {
      const topic = "t848-classic";
      const group = "kip848-classic";
      await createTopic(topic, 2);
      const p = classic("classic-Q", topic, group);
      await p.waitFor("both partitions", (e) => e.owned?.length === 2);
      const fromP = mark(p);
      // librdkafka retries a refused heartbeat quietly; debug=protocol shows the retries.
      const k = member("kip848-K3", group, [topic], { debug: "protocol" });
      await until("3 retried heartbeats", () => {
        const retries = k.stderr().match(/Retrying ConsumerGroupHeartbeatRequest/g) ?? [];
        return retries.length >= 3 ? true : undefined;
      }, { procs: [k] });
      const answer = await onCoordinator(group, async (client, conn) => {
        const { response } = await client.send(CONSUMER_GROUP_HEARTBEAT_API, () => ({
          groupId: group,
          memberId: crypto.randomUUID(),
          memberEpoch: 0,
          rebalanceTimeoutMs: 30_000,
          subscribedTopicNames: [topic],
          topicPartitions: [],
        }), { to: conn });
        return response;
      });
      assert.equal(errorName(answer.errorCode), "GROUP_ID_NOT_FOUND");
      assert.equal((await consumerGroupDescribe(group)).errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
      await k.stop("SIGTERM");
      assert.deepEqual(k.events.filter((e) => e.ev === "assign" && e.parts!.length > 0), [], dump(k));
      assert.deepEqual(p.events.slice(fromP).filter((e) => e.owned !== undefined), [], "Q saw a rebalance");
      await p.stop("SIGTERM");
      assert.deepEqual(errorsOf([p, k]), [], "errors reported");
    });

    test("an empty classic group is taken over by a KIP-848 consumer, and back, keeping its offsets", async () => {
      const topic = "t848-takeover";
      const group = "kip848-takeover";
      const both = partitionsOf(topic, 2);
      await createTopic(topic, 2);
      const listed = async () =>
        (await kbinJson<{ group: string; type: string; state: string }[]>(["group", "list"])).find((g) =>
          g.group === group
        );
      /** Starts `start()` after producing `from..from+10`, checks it resumes at the commits so far. */
      const round = async (from: number, start: () => Proc, earlier: Proc[]) => {
        const commits = committedBy(earlier);
        await produce(topic, 2, from, from + 10);
        const m = start();
        await m.waitFor("both partitions", (e) => JSON.stringify(e.owned) === JSON.stringify(both));
        await until(`${m.name}'s 10 records`, () => received([m]).length >= 10 ? true : undefined, { procs: [m] });
        const want = [...Array(10).keys()].map((i) => String(from + i)).sort();
        assert.deepEqual(received([m]).sort(), want, `${m.name} received exactly the new records`);
        for (const tp of both) assert.equal(firstOffsets(m).get(tp), commits.get(tp) ?? 0, `${m.name} on ${tp}`);
        await waitCommitted([m], new Map(both.map((tp) => [tp, (from + 10) / 2])));
        await m.stop("SIGTERM");
        assert.ok(m.events.some((e) => e.ev === "closed"), dump(m));
        return m;
      };
      const p1 = await round(0, () => classic("classic-P1", topic, group), []);
      assert.deepEqual(await listed(), { group, type: "classic", state: "Empty", protocolType: "consumer" });
      const k = await round(10, () => member("kip848-K2", group, [topic]), [p1]);
      assert.equal((await listed())?.type, "consumer");
      const p2 = await round(20, () => classic("classic-P2", topic, group), [p1, k]);
      assert.equal((await listed())?.type, "classic");
      assert.deepEqual(errorsOf([p1, k, p2]), [], "errors reported");
    });
  });
});
