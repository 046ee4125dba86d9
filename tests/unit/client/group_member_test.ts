/**
 * GroupMember against an in-process broker: joining and splitting partitions (eager range and
 * cooperative-sticky), leaving, commits resumed by the next member, removal by the coordinator,
 * static membership and fencing, protocol choice, and a rebalance on new partitions.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type EmbeddedBroker, startBroker } from "../../../mod.ts";
import type { TopicPartition } from "../../../src/client/assignors.ts";
import { KafkaClient } from "../../../src/client/client.ts";
import { KafkaClientError } from "../../../src/client/errors.ts";
import { GroupMember, type GroupMemberOptions } from "../../../src/client/group_member.ts";
import { findCoordinator } from "../../../src/client/groups.ts";
import { LEAVE_GROUP_API } from "../../../src/protocol/generated/13_leave_group.ts";
import { CREATE_TOPICS_API } from "../../../src/protocol/generated/19_create_topics.ts";
import { CREATE_PARTITIONS_API } from "../../../src/protocol/generated/37_create_partitions.ts";
import { ErrorCode } from "../../../src/protocol/generated/errors.ts";
import { connect } from "../../support/runtime.ts";

/** A member with its own client (as a separate process would have) and what its listeners saw. */
interface Tracked {
  name: string;
  member: GroupMember;
  client: KafkaClient;
  events: { ev: string; parts: number[] }[];
  /** Partition numbers owned, as the listeners tell it. */
  owned: Set<number>;
}

const FAST = { heartbeatIntervalMs: 100, sessionTimeoutMs: 6000, rebalanceTimeoutMs: 6000, retryBackoffMs: 20 };

function parts(list: readonly TopicPartition[]): number[] {
  return list.map((tp) => tp.partition).sort((a, b) => a - b);
}

function sortedOwned(t: Tracked): number[] {
  return [...t.owned].sort((a, b) => a - b);
}

/** Polls `check` until it holds; fails with `what` and the members' events after `timeoutMs`. */
async function until(
  check: () => boolean | Promise<boolean>,
  what: string,
  members: Tracked[],
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) {
      const detail = members.map((m) =>
        `${m.name}: ${JSON.stringify(m.events)} owned ${JSON.stringify(sortedOwned(m))}`
      );
      throw new Error(`${what}: not within ${timeoutMs} ms\n${detail.join("\n")}`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("GroupMember", () => {
  let broker: EmbeddedBroker;
  let admin: KafkaClient;
  let seq = 0;
  const live: Tracked[] = [];

  before(async () => {
    broker = await startBroker({
      config: { "group.initial.rebalance.delay.ms": "0", "group.min.session.timeout.ms": "1000" },
    });
    admin = new KafkaClient({ bootstrap: [broker.bootstrap], connect });
  });
  after(async () => {
    for (const t of live) {
      await t.member.close({ leave: false }).catch(() => {});
      await t.client.close();
    }
    await admin?.close();
    await broker?.close();
  });

  async function createTopic(partitions: number): Promise<string> {
    const name = `member-${++seq}`;
    const { response } = await admin.send(CREATE_TOPICS_API, () => ({
      topics: [{ name, numPartitions: partitions, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 5000,
    }));
    assert.equal(response.topics[0]!.errorCode, 0);
    return name;
  }

  /** A member of `groupId` on `topic`, with listeners that check no partition has two owners. */
  function track(
    name: string,
    options: Partial<GroupMemberOptions> & { groupId: string; topics: string[] },
    check: { exclusive?: boolean } = {},
  ): Tracked {
    const client = new KafkaClient({ bootstrap: [broker.bootstrap], connect, clientId: name });
    const member = new GroupMember(client, { ...FAST, ...options });
    const t: Tracked = { name, member, client, events: [], owned: new Set() };
    const groupmates = () => live.filter((o) => o !== t && o.member.groupId === member.groupId);
    member.on("assigned", (list) => {
      t.events.push({ ev: "assigned", parts: parts(list) });
      for (const tp of list) {
        const other = check.exclusive === false ? undefined : groupmates().find((o) => o.owned.has(tp.partition));
        assert.equal(other, undefined, `${name} was given partition ${tp.partition} while ${other?.name} owns it`);
        t.owned.add(tp.partition);
      }
    });
    member.on("revoked", (list) => {
      t.events.push({ ev: "revoked", parts: parts(list) });
      for (const tp of list) t.owned.delete(tp.partition);
    });
    member.on("lost", (list) => {
      t.events.push({ ev: "lost", parts: parts(list) });
      for (const tp of list) t.owned.delete(tp.partition);
    });
    member.on("error", (err) => t.events.push({ ev: `error ${(err as KafkaClientError).kafkaName}`, parts: [] }));
    live.push(t);
    return t;
  }

  async function stop(t: Tracked, options: { leave?: boolean } = {}): Promise<void> {
    await t.member.close(options);
    await t.client.close();
    live.splice(live.indexOf(t), 1);
  }

  test("GroupMember.start() owns every partition alone; a second member splits them (range, eager)", async () => {
    const topic = await createTopic(4);
    const groupId = `g-${seq}`;
    const a = track("a", { groupId, topics: [topic] });
    await a.member.start();
    assert.deepEqual(sortedOwned(a), [0, 1, 2, 3]);
    assert.equal(a.member.protocolName, "range");
    assert.equal(a.member.protocol, "eager");
    assert.ok(a.member.isLeader);
    assert.ok(a.member.memberId !== "" && a.member.generationId >= 1);

    const b = track("b", { groupId, topics: [topic] });
    await b.member.start();
    await until(() => a.owned.size === 2 && b.owned.size === 2, "a 2/2 split", [a, b]);
    // Range over member ids: whoever sorts first gets 0 and 1.
    const first = a.member.memberId < b.member.memberId ? a : b;
    assert.deepEqual(sortedOwned(first), [0, 1]);
    assert.deepEqual(parts(a.member.assignment()), sortedOwned(a));
    // Eager: a gave up everything before rejoining.
    assert.deepEqual(a.events.find((e) => e.ev === "revoked"), { ev: "revoked", parts: [0, 1, 2, 3] });
    assert.equal(a.member.generationId, b.member.generationId);
    await stop(a);
    await stop(b);
  });

  test("GroupMember.close() leaves, so the other member takes over without waiting for the session timeout", async () => {
    const topic = await createTopic(4);
    const groupId = `g-${seq}`;
    const slow = { sessionTimeoutMs: 30_000 };
    const a = track("a", { groupId, topics: [topic], ...slow });
    const b = track("b", { groupId, topics: [topic], ...slow });
    await Promise.all([a.member.start(), b.member.start()]);
    await until(() => a.owned.size === 2 && b.owned.size === 2, "a 2/2 split", [a, b]);
    const closedAt = Date.now();
    await stop(b);
    await until(() => a.owned.size === 4, "a takes every partition", [a, b]);
    assert.ok(Date.now() - closedAt < 10_000, `took ${Date.now() - closedAt} ms`);
    assert.deepEqual(b.events.at(-1)?.ev, "revoked");
    await stop(a);
  });

  test("GroupMember.commit() offsets are what the next member's committed() returns", async () => {
    const topic = await createTopic(3);
    const groupId = `g-${seq}`;
    const a = track("a", { groupId, topics: [topic] });
    await a.member.start();
    const results = await a.member.commit([
      { topic, partition: 0, offset: 5n, leaderEpoch: 0 },
      { topic, partition: 1, offset: 7n, metadata: "m" },
    ]);
    assert.deepEqual(results.map((r) => r.errorCode), [0, 0]);
    await stop(a);
    const c = track("c", { groupId, topics: [topic] });
    await c.member.start();
    const committed = await c.member.committed(c.member.assignment());
    assert.deepEqual(committed.map((p) => [p.partition, p.offset, p.leaderEpoch]), [[0, 5n, 0], [1, 7n, -1], [
      2,
      -1n,
      -1,
    ]]);
    assert.equal(committed[1]!.metadata, "m");
    await stop(c);
  });

  test("GroupMember declares its partitions lost when the coordinator removes it, and rejoins with a new id", async () => {
    const topic = await createTopic(2);
    const groupId = `g-${seq}`;
    const a = track("a", { groupId, topics: [topic] });
    await a.member.start();
    const oldId = a.member.memberId;
    // Kafka's admin removeMembersFromConsumerGroup does this (LeaveGroup v3+ naming the member).
    const c = await findCoordinator(admin, groupId);
    const { response } = await admin.send(LEAVE_GROUP_API, () => ({
      groupId,
      members: [{ memberId: oldId, groupInstanceId: null, reason: "test" }],
    }), { to: await admin.node(c.nodeId) });
    assert.equal(response.members[0]?.errorCode, 0);
    await until(() => a.events.some((e) => e.ev === "lost") && a.owned.size === 2, "lost, then rejoined", [a]);
    assert.deepEqual(a.events.map((e) => e.ev), ["assigned", "lost", "assigned"]);
    assert.notEqual(a.member.memberId, oldId);
    // Commits work again with the new membership.
    assert.deepEqual((await a.member.commit([{ topic, partition: 0, offset: 1n }]))[0]!.errorCode, 0);
    await stop(a);
  });

  test("GroupMember with cooperative-sticky hands partitions over in two rebalances, revoking only what moves", async () => {
    const topic = await createTopic(4);
    const groupId = `g-${seq}`;
    const coop = { assignors: ["cooperative-sticky"] };
    const a = track("a", { groupId, topics: [topic], ...coop });
    await a.member.start();
    assert.equal(a.member.protocol, "cooperative");
    assert.deepEqual(sortedOwned(a), [0, 1, 2, 3]);
    const b = track("b", { groupId, topics: [topic], ...coop });
    await b.member.start();
    await until(() => a.owned.size === 2 && b.owned.size === 2, "a 2/2 split", [a, b]);
    // a kept two partitions throughout and revoked exactly the two b got.
    const revoked = a.events.filter((e) => e.ev === "revoked");
    assert.equal(revoked.length, 1, JSON.stringify(a.events));
    assert.deepEqual(revoked[0]!.parts, sortedOwned(b));
    // Each generation calls "assigned" with what is new, empty or not (as Kafka's consumer does).
    assert.deepEqual(a.events.filter((e) => e.ev === "assigned").map((e) => e.parts), [[0, 1, 2, 3], [], []]);
    // b's first assignment was empty: the partitions were still a's.
    assert.deepEqual(b.events.map((e) => e.parts.length), [0, 2]);
    const generation = a.member.generationId;
    // Leaving hands the two partitions straight back, still without revoking a's.
    await stop(b);
    await until(() => a.owned.size === 4, "a takes b's partitions", [a]);
    assert.equal(a.events.filter((e) => e.ev === "revoked").length, 1);
    assert.ok(a.member.generationId > generation);
    await stop(a);
  });

  test("GroupMember with a group.instance.id gets its partitions back after a restart, without a rebalance", async () => {
    const topic = await createTopic(4);
    const groupId = `g-${seq}`;
    const a = track("a", { groupId, topics: [topic], groupInstanceId: "instance-a" });
    const b = track("b", { groupId, topics: [topic] });
    await a.member.start();
    await b.member.start();
    await until(() => a.owned.size === 2 && b.owned.size === 2, "a 2/2 split", [a, b]);
    const aParts = sortedOwned(a);
    const bEvents = b.events.length;
    const generation = b.member.generationId;
    await stop(a); // a static member does not leave
    const a2 = track("a2", { groupId, topics: [topic], groupInstanceId: "instance-a" });
    await a2.member.start();
    assert.deepEqual(sortedOwned(a2), aParts);
    // No rebalance although the restarted member's subscription bytes differ (its generation in
    // the user data is back to -1): Kafka compares only the protocol the group would select.
    assert.equal(a2.member.generationId, generation);
    assert.equal(b.events.length, bEvents, JSON.stringify(b.events));
    await stop(a2, { leave: true });
    await until(() => b.owned.size === 4, "b takes a's partitions once a leaves for good", [b]);
    await stop(b);
  });

  test("GroupMember stops with FENCED_INSTANCE_ID when another member takes its group.instance.id", async () => {
    const topic = await createTopic(2);
    const groupId = `g-${seq}`;
    const a = track("a", { groupId, topics: [topic], groupInstanceId: "dup" });
    await a.member.start();
    // The twin takes over a's place (and partitions) before a hears it is fenced.
    const twin = track("twin", { groupId, topics: [topic], groupInstanceId: "dup" }, { exclusive: false });
    await twin.member.start();
    await until(() => a.member.failure !== null, "a is fenced", [a, twin]);
    assert.equal((a.member.failure as KafkaClientError).kafkaName, "FENCED_INSTANCE_ID");
    assert.ok(a.events.some((e) => e.ev === "error FENCED_INSTANCE_ID"));
    await stop(a);
    assert.equal(a.events.at(-1)?.ev, "lost");
    assert.deepEqual(sortedOwned(twin), [0, 1]);
    await stop(twin, { leave: true });
  });

  test("GroupMember offers its assignors in order and the group takes the first every member offers", async () => {
    const topic = await createTopic(2);
    const groupId = `g-${seq}`;
    const a = track("a", { groupId, topics: [topic], assignors: ["range", "roundrobin"] });
    const b = track("b", { groupId, topics: [topic], assignors: ["roundrobin"] });
    await a.member.start();
    await b.member.start();
    await until(() => a.owned.size === 1 && b.owned.size === 1, "a 1/1 split", [a, b]);
    assert.equal(a.member.protocolName, "roundrobin");
    assert.equal(b.member.protocolName, "roundrobin");
    // A member offering nothing in common is refused.
    const c = track("c", { groupId, topics: [topic], assignors: ["cooperative-sticky"] });
    await assert.rejects(c.member.start(), (err: KafkaClientError) => err.kafkaName === "INCONSISTENT_GROUP_PROTOCOL");
    await stop(c);
    await stop(a);
    await stop(b);
  });

  test("GroupMember as leader rebalances when a subscribed topic gains partitions", async () => {
    const topic = await createTopic(2);
    const groupId = `g-${seq}`;
    const a = track("a", { groupId, topics: [topic], metadataMaxAgeMs: 100 });
    await a.member.start();
    assert.deepEqual(sortedOwned(a), [0, 1]);
    const { response } = await admin.send(CREATE_PARTITIONS_API, () => ({
      topics: [{ name: topic, count: 3, assignments: null }],
      timeoutMs: 5000,
      validateOnly: false,
    }));
    assert.equal(response.results[0]!.errorCode, 0);
    await until(() => a.owned.size === 3, "a gets the new partition", [a]);
    await stop(a);
  });

  test("GroupMember finds the coordinator again after a broker restart and keeps its partitions", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "kbin-member-"));
    const config = { "group.initial.rebalance.delay.ms": "0", "group.min.session.timeout.ms": "1000" };
    let own = await startBroker({ dataDir, config, logLevel: "silent" });
    const port = own.port;
    const client = new KafkaClient({ bootstrap: [own.bootstrap], connect });
    const notices: string[] = [];
    const member = new GroupMember(client, {
      groupId: "restart-g",
      topics: ["restart-t"],
      ...FAST,
      onNotice: (m) => notices.push(m),
    });
    try {
      const { response } = await client.send(CREATE_TOPICS_API, () => ({
        topics: [{ name: "restart-t", numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] }],
        timeoutMs: 5000,
      }));
      assert.equal(response.topics[0]!.errorCode, 0);
      await member.start();
      assert.equal(member.assignment().length, 2);
      await own.close();
      await until(() => notices.some((n) => /coordinator .* lost/.test(n)), "the member notices", []);
      own = await startBroker({ dataDir, config, logLevel: "silent", listen: `127.0.0.1:${port}` });
      await until(
        async () => {
          const r = await member.commit([{ topic: "restart-t", partition: 0, offset: 1n }]).catch(() => null);
          return r?.[0]?.errorCode === 0;
        },
        "a commit succeeds after the restart",
        [],
      );
      assert.equal(member.failure, null);
      assert.equal(member.assignment().length, 2);
    } finally {
      await member.close();
      await client.close();
      await own.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  test("GroupMember.close() before the first assignment rejects start(), and bad options throw", async () => {
    const topic = await createTopic(1);
    const client = new KafkaClient({ bootstrap: [broker.bootstrap], connect });
    try {
      assert.throws(
        () => new GroupMember(client, { groupId: "x", topics: [topic], assignors: ["sticky"] }),
        RangeError,
      );
      assert.throws(() => new GroupMember(client, { groupId: "x", topics: [] }), RangeError);
      const m = new GroupMember(client, { groupId: `g-${seq}`, topics: [topic], ...FAST });
      const started = m.start();
      await m.close();
      await assert.rejects(started, /closed before its first assignment/);
      assert.deepEqual(await m.commit([{ topic, partition: 0, offset: 1n }]), [
        { topic, partition: 0, errorCode: ErrorCode.ILLEGAL_GENERATION },
      ]);
    } finally {
      await client.close();
    }
  });
});
