/** Contract: topics, partition counts and configs, on every engine. */
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { uuidFromString, uuidToString, ZERO_UUID } from "../../src/protocol/reader.ts";
import type { Result } from "../../src/storage/result.ts";
import { MAX_PARTITIONS_PER_TOPIC, randomKafkaUuid } from "../../src/storage/topic_catalog.ts";
import { clock, ENGINES, withEngine } from "./engines.ts";
import { stopSharedPostgres } from "../support/postgres.ts";

after(stopSharedPostgres);

function value<T>(result: Result<T>): T {
  if (!result.ok) assert.fail(`expected ok, got code ${result.code}: ${result.message ?? ""}`);
  return result.value;
}

function code(result: Result<unknown>): number | null {
  return result.ok ? null : result.code;
}

const UUID_TEXT = /^[A-Za-z0-9_-]{22}$/;

function assertWellFormedId(id: string): void {
  assert.match(id, UUID_TEXT);
  assert.notEqual(id, ZERO_UUID);
  assert.ok(!id.startsWith("-"), `id "${id}" starts with "-"`);
  const bytes = uuidFromString(id);
  assert.equal(uuidToString(bytes), id);
  assert.equal(bytes[6]! >> 4, 4, "version nibble is 4");
  assert.equal(bytes[8]! >> 6, 0b10, "variant bits are 10");
}

test("randomKafkaUuid() returns distinct well-formed v4 ids", () => {
  const seen = new Set<string>();
  for (let i = 0; i < 2000; i++) {
    const id = randomKafkaUuid();
    assertWellFormedId(id);
    seen.add(id);
  }
  assert.equal(seen.size, 2000);
});

for (const engine of ENGINES) {
  describe(`topics on ${engine.name}`, () => {
    test("the cluster id is a well-formed id", () =>
      withEngine(engine, async ({ storage }) => {
        assertWellFormedId(storage.clusterId);
      }));

    test("create() returns the topic and get()/byId() find it", () =>
      withEngine(engine, async ({ storage }) => {
        const created = value(
          await storage.topics.create({ name: "orders", partitions: 3, configs: { "retention.ms": "1000" } }),
        );
        assert.deepEqual({ ...created, id: "" }, {
          name: "orders",
          id: "",
          partitions: 3,
          configs: { "retention.ms": "1000" },
          internal: false,
          createdAtMs: clock.ms,
        });
        assertWellFormedId(created.id);
        assert.deepEqual(value(storage.topics.get("orders")), created);
        assert.deepEqual(value(storage.topics.byId(created.id)), created);
      }));

    test("create() marks internal topics", () =>
      withEngine(engine, async ({ storage }) => {
        const t = value(await storage.topics.create({ name: "__consumer_offsets", partitions: 50, internal: true }));
        assert.equal(t.internal, true);
        assert.equal(value(storage.topics.get("__consumer_offsets")).internal, true);
      }));

    test("create() refuses a duplicate name with TOPIC_ALREADY_EXISTS, also when racing", () =>
      withEngine(engine, async ({ storage }) => {
        const first = value(await storage.topics.create({ name: "orders", partitions: 1 }));
        const again = await storage.topics.create({ name: "orders", partitions: 2 });
        assert.equal(code(again), 36);
        assert.ok(!again.ok && again.message?.includes('"orders"'));
        assert.deepEqual(value(storage.topics.get("orders")), first);
        const racing = await Promise.all([1, 2, 3].map((n) => storage.topics.create({ name: "race", partitions: n })));
        assert.deepEqual(racing.map(code).sort(), [36, 36, null]);
      }));

    test("create() refuses bad partition counts with INVALID_PARTITIONS and bad names with INVALID_TOPIC_EXCEPTION", () =>
      withEngine(engine, async ({ storage }) => {
        for (const partitions of [0, -1, 1.5, Number.NaN, MAX_PARTITIONS_PER_TOPIC + 1]) {
          assert.equal(code(await storage.topics.create({ name: "t", partitions })), 37, `partitions ${partitions}`);
        }
        for (const name of ["", ".", "..", "a b", "a/b", "x".repeat(250)]) {
          assert.equal(code(await storage.topics.create({ name, partitions: 1 })), 17, `name "${name}"`);
        }
        assert.equal(storage.topics.list().length, 0);
        value(await storage.topics.create({ name: "a.b_c-D9", partitions: 1 }));
      }));

    test("get() and byId() answer unknown topics with codes 3 and 100", () =>
      withEngine(engine, async ({ storage }) => {
        assert.equal(code(storage.topics.get("missing")), 3);
        assert.equal(code(storage.topics.byId(randomKafkaUuid())), 100);
      }));

    test("list() returns all topics sorted by name", () =>
      withEngine(engine, async ({ storage }) => {
        assert.deepEqual(storage.topics.list(), []);
        for (const name of ["b", "a", "C", "c"]) value(await storage.topics.create({ name, partitions: 1 }));
        assert.deepEqual(storage.topics.list().map((t) => t.name), ["C", "a", "b", "c"]);
        value(await storage.topics.delete("a"));
        assert.deepEqual(storage.topics.list().map((t) => t.name), ["C", "b", "c"]);
      }));

    test("delete() removes the topic and its data; a new topic of the same name starts empty", () =>
      withEngine(engine, async ({ storage }) => {
        const created = value(await storage.topics.create({ name: "orders", partitions: 2, configs: { a: "1" } }));
        const p = await storage.partition({ topicName: "orders", topicId: created.id, partition: 1 });
        const { buildBatch } = await import("../../src/protocol/records/records.ts");
        await (await p.append(buildBatch([{ value: new Uint8Array([1]) }]))).kind;
        assert.deepEqual(value(await storage.topics.delete("orders")), created);
        assert.equal(code(storage.topics.get("orders")), 3);
        assert.equal(code(storage.topics.byId(created.id)), 100);
        assert.equal(code(await storage.topics.delete("orders")), 3);
        const recreated = value(await storage.topics.create({ name: "orders", partitions: 2 }));
        assert.notEqual(recreated.id, created.id);
        assert.deepEqual(recreated.configs, {});
        const fresh = await storage.partition({ topicName: "orders", topicId: recreated.id, partition: 1 });
        assert.equal(fresh.logEndOffset, 0);
      }));

    test("addPartitions() grows a topic and refuses totals that are not larger", () =>
      withEngine(engine, async ({ storage }) => {
        value(await storage.topics.create({ name: "orders", partitions: 2 }));
        assert.equal(value(await storage.topics.addPartitions("orders", 5)).partitions, 5);
        assert.equal(value(storage.topics.get("orders")).partitions, 5);
        assert.equal(code(await storage.topics.addPartitions("orders", 5)), 37);
        assert.equal(code(await storage.topics.addPartitions("orders", 3)), 37);
        assert.equal(code(await storage.topics.addPartitions("missing", 9)), 3);
        assert.equal(value(storage.topics.get("orders")).partitions, 5);
      }));

    test("setConfigs() replaces the overrides; returned topics are frozen snapshots", () =>
      withEngine(engine, async ({ storage }) => {
        const before = value(
          await storage.topics.create({ name: "orders", partitions: 1, configs: { a: "1", b: "2" } }),
        );
        assert.ok(Object.isFrozen(before) && Object.isFrozen(before.configs));
        assert.deepEqual(value(await storage.topics.setConfigs("orders", { c: "3", __proto__x: "4" })).configs, {
          __proto__x: "4",
          c: "3",
        });
        assert.equal(before.configs["a"], "1");
        assert.deepEqual(value(storage.topics.get("orders")).configs, { __proto__x: "4", c: "3" });
        assert.equal(code(await storage.topics.setConfigs("missing", {})), 3);
      }));

    test("claimNode() refuses an id that is not an int32 >= 0", () =>
      withEngine(engine, async ({ storage }) => {
        assert.equal(value(await storage.claimNode(1)), 1);
        assert.equal(value(await storage.claimNode(1)), 1);
        assert.equal(code(await storage.claimNode(-1)), 40);
      }));

    if (engine.persistent) {
      test("a restart keeps the cluster id, the node, topics, partitions and configs", () =>
        withEngine(engine, async (e) => {
          const clusterId = e.storage.clusterId;
          assert.equal(value(await e.storage.claimNode(7)), 7);
          const orders = value(
            await e.storage.topics.create({ name: "orders", partitions: 2, configs: { "cleanup.policy": "compact" } }),
          );
          value(await e.storage.topics.addPartitions("orders", 4));
          value(await e.storage.topics.setConfigs("orders", { "cleanup.policy": "compact", "retention.ms": "60000" }));
          value(await e.storage.topics.create({ name: "__consumer_offsets", partitions: 3, internal: true }));
          value(await e.storage.topics.create({ name: "gone", partitions: 1 }));
          value(await e.storage.topics.delete("gone"));
          const later = await e.restart();
          assert.equal(later.clusterId, clusterId);
          assert.equal(value(await later.claimNode(7)), 7);
          const other = await later.claimNode(8);
          if (engine.sharedByNodes) {
            // Several brokers run on one database.
            assert.equal(value(other), 8);
          } else {
            // A data directory belongs to one node.
            assert.equal(code(other), 40);
            assert.ok(!other.ok && other.message?.includes("node 7"));
          }
          assert.deepEqual(value(later.topics.get("orders")), {
            ...orders,
            partitions: 4,
            configs: { "cleanup.policy": "compact", "retention.ms": "60000" },
          });
          assert.equal(value(later.topics.byId(orders.id)).name, "orders");
          assert.equal(value(later.topics.get("__consumer_offsets")).internal, true);
          assert.equal(code(later.topics.get("gone")), 3);
          assert.deepEqual(later.topics.list().map((t) => t.name), ["__consumer_offsets", "orders"]);
        }));
    }
  });
}
