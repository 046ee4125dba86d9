/**
 * Contract: the brokers of a storage and who leads what (`Storage.cluster`), on every engine. A
 * broker that joined leads what it should; on engines several brokers share (postgres:), two
 * storages on one database split partitions and coordinator shards, a write by the broker that
 * does not lead is fenced in storage (NOT_LEADER_OR_FOLLOWER, NOT_COORDINATOR), a node id in use
 * is refused, and a broker leaving hands everything over with the leader epochs bumped.
 */
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { ErrorCode } from "../../src/protocol/generated/errors.ts";
import { buildBatch } from "../../src/protocol/records/records.ts";
import { type PartitionRef, type Storage, StorageError } from "../../src/storage/engine.ts";
import { coordinatorShard } from "../../src/storage/placement.ts";
import { stopSharedPostgres } from "../support/postgres.ts";
import { connectPostgres } from "../support/runtime.ts";
import { ENGINES, withEngine } from "./engines.ts";

after(stopSharedPostgres);

const batch = () => buildBatch([{ value: new TextEncoder().encode("v") }]);

async function waitUntil(what: string, check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function refs(storage: Storage, name: string): PartitionRef[] {
  const t = storage.topics.get(name);
  assert.ok(t.ok);
  return Array.from(
    { length: t.value.partitions },
    (_, partition) => ({ topicName: name, topicId: t.value.id, partition }),
  );
}

const self = (nodeId: number) => ({ nodeId, host: "127.0.0.1", port: 9000 + nodeId, rack: null });

for (const engine of ENGINES) {
  describe(`cluster on ${engine.name}`, () => {
    test("a broker that joined is listed and leads the partitions and shards placed on it", () =>
      withEngine(engine, async ({ storage }) => {
        assert.deepEqual(storage.cluster.brokers(), []);
        let changes = 0;
        storage.cluster.onChange(() => changes++);
        const joined = await storage.cluster.join(self(1));
        assert.ok(joined.ok);
        assert.deepEqual(storage.cluster.brokers(), [self(1)]);
        assert.ok(changes >= 1);
        assert.ok((await storage.topics.create({ name: "t", partitions: 4 })).ok);
        for (const ref of refs(storage, "t")) assert.equal(storage.cluster.partitionLeader(ref).leader, 1);
        assert.ok(storage.cluster.shardCount >= 1);
        for (let s = 0; s < storage.cluster.shardCount; s++) assert.equal(storage.cluster.shardLeader(s).leader, 1);
        // The broker appends to what it leads.
        const p = await storage.partition(refs(storage, "t")[0]!);
        const r = await p.append(batch());
        assert.equal(r.kind, "appended");
      }));

    test("a broker's listeners (name and advertised address) are listed as it registered them", () =>
      withEngine(engine, async (e) => {
        const listeners = [{ name: "CLIENT", host: "kafka-1.example", port: 9093 }, {
          name: "BROKER",
          host: "127.0.0.1",
          port: 9001,
        }];
        assert.ok((await e.storage.cluster.join({ ...self(1), listeners })).ok);
        assert.deepEqual(e.storage.cluster.brokers(), [{ ...self(1), listeners }]);
        if (e.openAnother) {
          const other = await e.openAnother();
          await waitUntil("the other broker's view", () => other.cluster.brokers().length === 1);
          assert.deepEqual(other.cluster.brokers(), [{ ...self(1), listeners }]);
        }
      }));

    if (!engine.sharedByNodes) return;

    test("a broker that lost a partition without knowing answers NOT_LEADER_OR_FOLLOWER, never a sequence error", () =>
      withEngine(engine, async (e) => {
        const a = e.storage;
        assert.ok((await a.cluster.join(self(1))).ok);
        assert.ok((await a.topics.create({ name: "stale", partitions: 1 })).ok);
        const [ref] = refs(a, "stale");
        const p = await a.partition(ref!);
        const idempotent = (sequence: number) =>
          buildBatch([{ value: new TextEncoder().encode(`s${sequence}`) }], {
            producerId: 5n,
            producerEpoch: 0,
            baseSequence: sequence,
          });
        assert.equal((await p.append(idempotent(0))).kind, "appended");
        // Another broker took the partition over (a new epoch) while this one was paused: it has
        // not polled yet, and its producer state is behind the new leader's.
        const pg = await connectPostgres(e.url!);
        try {
          await pg.query("UPDATE kbin_partition SET leader_epoch = leader_epoch + 1 WHERE topic_id = $1", [
            ref!.topicId,
          ]);
        } finally {
          await pg.close();
        }
        // A gap that the new leader may well have filled: not OUT_OF_ORDER_SEQUENCE_NUMBER (fatal to the producer).
        await assert.rejects(
          p.append(idempotent(5)),
          (err: unknown) => err instanceof StorageError && err.errorCode === ErrorCode.NOT_LEADER_OR_FOLLOWER,
        );
      }));

    test("a topic change through a broker whose cache is behind gets the answer the database's state calls for", () =>
      withEngine(engine, async (e) => {
        const a = e.storage;
        const b = await e.openAnother!();
        assert.ok((await b.topics.create({ name: "warm", partitions: 1 })).ok);
        // Each change on `a` is asked of `b` at once, before its poll (every 250 ms) can catch up.
        assert.ok((await a.topics.create({ name: "raced", partitions: 2 })).ok);
        const twice = await b.topics.create({ name: "raced", partitions: 3 });
        assert.equal(twice.ok ? 0 : twice.code, ErrorCode.TOPIC_ALREADY_EXISTS);
        await waitUntil("the other broker to know the topic", () => b.topics.get("raced").ok);
        assert.ok((await a.topics.addPartitions("raced", 4)).ok);
        const grown = await b.topics.addPartitions("raced", 4);
        assert.equal(grown.ok ? 0 : grown.code, ErrorCode.INVALID_PARTITIONS);
        await waitUntil("the other broker to see 4 partitions", () => {
          const t = b.topics.get("raced");
          return t.ok && t.value.partitions === 4;
        });
        assert.ok((await a.topics.delete("raced")).ok);
        const configured = await b.topics.setConfigs("raced", { "retention.ms": "1000" });
        const deleted = await b.topics.delete("raced");
        assert.equal(configured.ok ? 0 : configured.code, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
        assert.equal(deleted.ok ? 0 : deleted.code, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
        // Nothing was half-made: both see the same topics.
        await waitUntil("both to list the same topics", () => {
          const names = (s: Storage) => s.topics.list().map((t) => t.name).join();
          return names(a) === names(b) && names(a) === "warm";
        });
      }));

    test("two brokers split partitions and shards; the one that does not lead is fenced", () =>
      withEngine(engine, async (e) => {
        const a = e.storage;
        const b = await e.openAnother!();
        assert.ok((await a.cluster.join(self(1))).ok);
        assert.ok((await b.cluster.join(self(2))).ok);
        await waitUntil(
          "both brokers to see both",
          () => a.cluster.brokers().length === 2 && b.cluster.brokers().length === 2,
        );
        assert.ok((await a.topics.create({ name: "spread", partitions: 24 })).ok);
        await waitUntil("the other broker to know the topic", () => b.topics.get("spread").ok);
        const parts = refs(a, "spread");
        await waitUntil(
          "both to agree on every leader",
          () => parts.every((ref) => b.cluster.partitionLeader(ref).leader === a.cluster.partitionLeader(ref).leader),
        );
        const leaders = parts.map((ref) => a.cluster.partitionLeader(ref).leader);
        assert.deepEqual([...new Set(leaders)].sort(), [1, 2], `leaders: ${leaders}`);
        const shardLeaders = new Set(
          Array.from({ length: a.cluster.shardCount }, (_, s) => a.cluster.shardLeader(s).leader),
        );
        assert.deepEqual([...shardLeaders].sort(), [1, 2]);

        // Broker 1 writing a partition broker 2 leads is fenced by storage itself.
        const theirs = parts.find((ref) => a.cluster.partitionLeader(ref).leader === 2)!;
        const wrong = await a.partition(theirs);
        const outcome = await wrong.append(batch());
        assert.equal(outcome.kind, "appended");
        await assert.rejects(
          (outcome as { written: Promise<void> }).written,
          (err: unknown) => err instanceof StorageError && err.errorCode === ErrorCode.NOT_LEADER_OR_FOLLOWER,
        );
        const right = await b.partition(theirs);
        const ok = await right.append(batch());
        assert.ok(ok.kind === "appended" && ok.baseOffset === 0);
        await ok.written;

        // Group writes are fenced by the coordinator shard: broker 1 cannot write a group broker 2 coordinates.
        let group = "g";
        for (let i = 0; a.cluster.shardLeader(coordinatorShard(group, a.cluster.shardCount)).leader !== 2; i++) {
          group = `g${i}`;
        }
        const offset = { topic: "spread", partition: 0, offset: 5, leaderEpoch: 0, metadata: "", commitMs: 1 };
        await assert.rejects(
          a.groups.commitOffsets(group, [offset]),
          (err: unknown) => err instanceof StorageError && err.errorCode === ErrorCode.NOT_COORDINATOR,
        );
        await b.groups.commitOffsets(group, [offset]);
        assert.equal((await a.groups.load()).offsets.get(group)?.[0]?.offset, 5);

        // A node id in use by a live broker is refused.
        const c = await e.openAnother!();
        const dup = await c.cluster.join(self(1));
        assert.ok(!dup.ok && dup.code === ErrorCode.INVALID_CONFIG, JSON.stringify(dup));
      }));

    test("a broker that leaves hands its partitions over with the next leader epoch", () =>
      withEngine(engine, async (e) => {
        const a = e.storage;
        const b = await e.openAnother!();
        assert.ok((await a.cluster.join(self(1))).ok);
        assert.ok((await b.cluster.join(self(2))).ok);
        assert.ok((await a.topics.create({ name: "moving", partitions: 12 })).ok);
        await waitUntil("the other broker to know the topic", () => b.topics.get("moving").ok);
        const parts = refs(a, "moving");
        await waitUntil(
          "both to agree on every leader",
          () => parts.every((ref) => b.cluster.partitionLeader(ref).leader === a.cluster.partitionLeader(ref).leader),
        );
        const moving = parts.filter((ref) => b.cluster.partitionLeader(ref).leader === 2);
        assert.ok(moving.length > 0);
        const epochs = moving.map((ref) => b.cluster.partitionLeader(ref).epoch);
        for (const ref of moving) {
          const r = await (await b.partition(ref)).append(batch());
          assert.equal(r.kind, "appended");
          await (r as { written: Promise<void> }).written;
        }
        await b.close();
        await waitUntil(
          "broker 1 to lead everything",
          () => a.cluster.brokers().length === 1 && parts.every((ref) => a.cluster.partitionLeader(ref).leader === 1),
        );
        for (const [i, ref] of moving.entries()) {
          const epoch = a.cluster.partitionLeader(ref).epoch;
          assert.equal(epoch, epochs[i]! + 1);
          const log = await a.partition(ref);
          assert.equal(log.leaderEpoch, epoch);
          // OffsetForLeaderEpoch: the previous epoch ended where the new leader started.
          assert.deepEqual(log.endOffsetForEpoch(epochs[i]!), { leaderEpoch: epochs[i]!, endOffset: 1 });
          const r = await log.append(batch());
          assert.ok(r.kind === "appended" && r.baseOffset === 1);
          await r.written;
        }
      }));
  });
}
