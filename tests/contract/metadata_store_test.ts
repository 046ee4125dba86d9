import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import type { Clock, Database } from "../../src/ports.ts";
import { uuidFromString, uuidToString, ZERO_UUID } from "../../src/protocol/reader.ts";
import {
  applyMigrations,
  MAX_PARTITIONS_PER_TOPIC,
  type MetadataStore,
  MetadataVersionError,
  openMetadataStore,
  randomKafkaUuid,
  SCHEMA_VERSION,
  type Topic,
} from "../../src/storage/metadata_store.ts";
import type { Result } from "../../src/storage/result.ts";
import { openDatabase, runtimeName } from "../support/runtime.ts";

const clock: Clock = { now: () => 1_700_000_000_000 };

function value<T>(result: Result<T>): T {
  if (!result.ok) assert.fail(`expected ok, got code ${result.code}: ${result.message ?? ""}`);
  return result.value;
}

function code(result: Result<unknown>): number | null {
  return result.ok ? null : result.code;
}

function withStore(fn: (store: MetadataStore) => void): void {
  const store = openMetadataStore(openDatabase(":memory:"), { clock });
  try {
    fn(store);
  } finally {
    store.close();
  }
}

async function withTempDir(fn: (dir: string) => Promise<void> | void): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "kbin-metadata-"));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
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

describe(`MetadataStore on ${runtimeName} SQLite`, () => {
  test("randomKafkaUuid() returns distinct well-formed v4 ids", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const id = randomKafkaUuid();
      assertWellFormedId(id);
      seen.add(id);
    }
    assert.equal(seen.size, 2000);
  });

  test("clusterId() is a well-formed id", () => {
    withStore((store) => assertWellFormedId(store.clusterId()));
  });

  test("createTopic() returns the topic and getTopic() finds it by name and id", () => {
    withStore((store) => {
      const created = value(store.createTopic({ name: "orders", partitions: 3, configs: { "retention.ms": "1000" } }));
      assert.deepEqual(
        { ...created, id: "" },
        {
          name: "orders",
          id: "",
          partitions: 3,
          configs: { "retention.ms": "1000" },
          internal: false,
          createdAtMs: 1_700_000_000_000,
        },
      );
      assertWellFormedId(created.id);
      assert.deepEqual(value(store.getTopic("orders")), created);
      assert.deepEqual(value(store.getTopicById(created.id)), created);
    });
  });

  test("createTopic() marks internal topics", () => {
    withStore((store) => {
      const t = value(store.createTopic({ name: "__consumer_offsets", partitions: 50, configs: {}, internal: true }));
      assert.equal(t.internal, true);
      assert.equal(value(store.getTopic("__consumer_offsets")).internal, true);
    });
  });

  test("createTopic() rejects a duplicate name with TOPIC_ALREADY_EXISTS", () => {
    withStore((store) => {
      const first = value(store.createTopic({ name: "orders", partitions: 1, configs: {} }));
      const again = store.createTopic({ name: "orders", partitions: 2, configs: {} });
      assert.equal(code(again), 36);
      assert.ok(!again.ok && again.message?.includes('"orders"'));
      assert.deepEqual(value(store.getTopic("orders")), first);
    });
  });

  test("createTopic() rejects bad partition counts with INVALID_PARTITIONS", () => {
    withStore((store) => {
      for (const partitions of [0, -1, 1.5, Number.NaN, MAX_PARTITIONS_PER_TOPIC + 1]) {
        assert.equal(code(store.createTopic({ name: "t", partitions, configs: {} })), 37, `partitions ${partitions}`);
      }
      assert.equal(store.listTopics().length, 0);
    });
  });

  test("createTopic() rejects illegal names with INVALID_TOPIC_EXCEPTION", () => {
    withStore((store) => {
      for (const name of ["", ".", "..", "a b", "a/b", "x".repeat(250)]) {
        assert.equal(code(store.createTopic({ name, partitions: 1, configs: {} })), 17, `name "${name}"`);
      }
      value(store.createTopic({ name: "a.b_c-D9", partitions: 1, configs: {} }));
    });
  });

  test("createTopic() hands out unique ids", () => {
    withStore((store) => {
      const ids = new Set<string>();
      for (let i = 0; i < 200; i++) ids.add(value(store.createTopic({ name: `t${i}`, partitions: 1, configs: {} })).id);
      assert.equal(ids.size, 200);
      assert.ok(!ids.has(store.clusterId()));
    });
  });

  test("getTopic() and getTopicById() answer unknown topics with codes 3 and 100", () => {
    withStore((store) => {
      assert.equal(code(store.getTopic("missing")), 3);
      assert.equal(code(store.getTopicById(randomKafkaUuid())), 100);
    });
  });

  test("listTopics() returns all topics sorted by name", () => {
    withStore((store) => {
      assert.deepEqual(store.listTopics(), []);
      for (const name of ["b", "a", "C", "c"]) value(store.createTopic({ name, partitions: 1, configs: {} }));
      assert.deepEqual(store.listTopics().map((t) => t.name), ["C", "a", "b", "c"]);
      value(store.deleteTopic("a"));
      assert.deepEqual(store.listTopics().map((t) => t.name), ["C", "b", "c"]);
    });
  });

  test("deleteTopic() removes the topic and returns it", () => {
    withStore((store) => {
      const created = value(store.createTopic({ name: "orders", partitions: 2, configs: { a: "1" } }));
      assert.deepEqual(value(store.deleteTopic("orders")), created);
      assert.equal(code(store.getTopic("orders")), 3);
      assert.equal(code(store.getTopicById(created.id)), 100);
      assert.equal(code(store.deleteTopic("orders")), 3);
      const recreated = value(store.createTopic({ name: "orders", partitions: 1, configs: {} }));
      assert.notEqual(recreated.id, created.id);
      assert.deepEqual(recreated.configs, {});
    });
  });

  test("addPartitions() grows a topic and rejects totals that are not larger", () => {
    withStore((store) => {
      value(store.createTopic({ name: "orders", partitions: 2, configs: {} }));
      assert.equal(value(store.addPartitions("orders", 5)).partitions, 5);
      assert.equal(value(store.getTopic("orders")).partitions, 5);
      assert.equal(code(store.addPartitions("orders", 5)), 37);
      assert.equal(code(store.addPartitions("orders", 3)), 37);
      assert.equal(code(store.addPartitions("missing", 9)), 3);
      assert.equal(value(store.getTopic("orders")).partitions, 5);
    });
  });

  test("setTopicConfigs() replaces overrides and alterTopicConfig() sets or removes one", () => {
    withStore((store) => {
      value(store.createTopic({ name: "orders", partitions: 1, configs: { a: "1", b: "2" } }));
      assert.deepEqual(value(store.setTopicConfigs("orders", { c: "3" })).configs, { c: "3" });
      assert.deepEqual(value(store.alterTopicConfig("orders", "d", "4")).configs, { c: "3", d: "4" });
      assert.deepEqual(value(store.alterTopicConfig("orders", "c", "5")).configs, { c: "5", d: "4" });
      assert.deepEqual(value(store.alterTopicConfig("orders", "c", null)).configs, { d: "4" });
      assert.deepEqual(value(store.alterTopicConfig("orders", "zzz", null)).configs, { d: "4" });
      assert.deepEqual(value(store.getTopic("orders")).configs, { d: "4" });
      assert.equal(code(store.setTopicConfigs("missing", {})), 3);
      assert.equal(code(store.alterTopicConfig("missing", "a", "1")), 3);
    });
  });

  test("returned topics are frozen snapshots", () => {
    withStore((store) => {
      const before = value(store.createTopic({ name: "orders", partitions: 1, configs: { a: "1" } }));
      assert.ok(Object.isFrozen(before) && Object.isFrozen(before.configs));
      value(store.alterTopicConfig("orders", "a", "2"));
      assert.equal(before.configs["a"], "1");
      assert.equal(value(store.getTopic("orders")).configs["a"], "2");
    });
  });

  test("ensureNode() keeps the first node id and refuses a different one", () => {
    withStore((store) => {
      assert.equal(value(store.ensureNode(1)), 1);
      assert.equal(value(store.ensureNode(1)), 1);
      const other = store.ensureNode(2);
      assert.equal(code(other), 40);
      assert.ok(!other.ok && other.message?.includes("node 1"));
      assert.equal(code(store.ensureNode(-1)), 40);
    });
  });

  test("a file database keeps everything across reopen", async () => {
    await withTempDir((dir) => {
      const path = join(dir, "metadata.sqlite");
      const first = openMetadataStore(openDatabase(path), { clock });
      let orders: Topic;
      let clusterId: string;
      try {
        clusterId = first.clusterId();
        assert.equal(value(first.ensureNode(7)), 7);
        orders = value(first.createTopic({ name: "orders", partitions: 2, configs: { "cleanup.policy": "compact" } }));
        value(first.addPartitions("orders", 4));
        value(first.alterTopicConfig("orders", "retention.ms", "60000"));
        value(first.createTopic({ name: "__consumer_offsets", partitions: 3, configs: {}, internal: true }));
        value(first.createTopic({ name: "gone", partitions: 1, configs: {} }));
        value(first.deleteTopic("gone"));
      } finally {
        first.close();
      }

      const later: Clock = { now: () => 1_800_000_000_000 };
      const second = openMetadataStore(openDatabase(path), { clock: later });
      try {
        assert.equal(second.clusterId(), clusterId);
        assert.equal(value(second.ensureNode(7)), 7);
        assert.equal(code(second.ensureNode(8)), 40);
        assert.deepEqual(value(second.getTopic("orders")), {
          ...orders,
          partitions: 4,
          configs: { "cleanup.policy": "compact", "retention.ms": "60000" },
        });
        assert.deepEqual(value(second.getTopicById(orders.id)).name, "orders");
        assert.equal(value(second.getTopic("__consumer_offsets")).internal, true);
        assert.equal(code(second.getTopic("gone")), 3);
        assert.deepEqual(second.listTopics().map((t) => t.name), ["__consumer_offsets", "orders"]);
      } finally {
        second.close();
      }
    });
  });

  test("openMetadataStore() migrates an empty database to the current schema", async () => {
    await withTempDir((dir) => {
      const path = join(dir, "metadata.sqlite");
      const raw = openDatabase(path);
      assert.deepEqual(raw.query("PRAGMA user_version"), [{ user_version: 0 }]);
      raw.close();
      openMetadataStore(openDatabase(path), { clock }).close();
      const db = openDatabase(path);
      try {
        assert.deepEqual(db.query("PRAGMA user_version"), [{ user_version: SCHEMA_VERSION }]);
        const tables = db.query("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").map((r) =>
          r["name"]
        );
        assert.deepEqual(tables, [
          "cluster",
          "consumer_groups",
          "group_offsets",
          "partitions",
          "producer_ids",
          "topic_configs",
          "topics",
        ]);
      } finally {
        db.close();
      }
    });
  });

  test("openMetadataStore() refuses a database from a newer schema version", async () => {
    await withTempDir((dir) => {
      const path = join(dir, "metadata.sqlite");
      openMetadataStore(openDatabase(path), { clock }).close();
      const raw = openDatabase(path);
      raw.exec(`PRAGMA user_version = ${SCHEMA_VERSION + 1}`);
      raw.close();
      const db = openDatabase(path);
      try {
        assert.throws(
          () => openMetadataStore(db, { clock }),
          (error: unknown) =>
            error instanceof MetadataVersionError && error instanceof Error &&
            error.code === "KBIN_METADATA_VERSION" && error.foundVersion === SCHEMA_VERSION + 1 &&
            error.message.includes("newer"),
        );
      } finally {
        db.close();
      }
    });
  });

  test("applyMigrations() applies only the missing steps, in order", () => {
    const db: Database = openDatabase(":memory:");
    try {
      const ran: number[] = [];
      const steps = [0, 1, 2].map((i) => (d: Database) => {
        ran.push(i);
        d.exec(`CREATE TABLE step_${i} (x INTEGER)`);
      });
      assert.equal(applyMigrations(db, steps.slice(0, 1)), 0);
      assert.equal(applyMigrations(db, steps), 1);
      assert.deepEqual(ran, [0, 1, 2]);
      assert.equal(applyMigrations(db, steps), 3);
      assert.deepEqual(ran, [0, 1, 2]);
      assert.deepEqual(db.query("PRAGMA user_version"), [{ user_version: 3 }]);
    } finally {
      db.close();
    }
  });

  test("applyMigrations() rolls back every step when one fails", () => {
    const db: Database = openDatabase(":memory:");
    try {
      const steps = [
        (d: Database) => d.exec("CREATE TABLE a (x INTEGER)"),
        () => {
          throw new Error("step 2 failed");
        },
      ];
      assert.throws(() => applyMigrations(db, steps), /step 2 failed/);
      assert.deepEqual(db.query("PRAGMA user_version"), [{ user_version: 0 }]);
      assert.deepEqual(db.query("SELECT name FROM sqlite_master WHERE name = 'a'"), []);
    } finally {
      db.close();
    }
  });
});

describe(`openDatabase() on ${runtimeName}`, () => {
  test("query() and run() bind parameters and return plain values", () => {
    const db = openDatabase(":memory:");
    try {
      db.exec("CREATE TABLE t (i INTEGER, s TEXT, b BLOB, n INTEGER)");
      assert.deepEqual(db.run("INSERT INTO t VALUES (?, ?, ?, ?)", [42, "x", new Uint8Array([1, 2]), null]), {
        changes: 1,
      });
      db.run("INSERT INTO t VALUES (?, ?, ?, ?)", [2n ** 40n, "y", new Uint8Array(0), 1]);
      const rows = db.query("SELECT i, s, b, n FROM t ORDER BY s");
      assert.equal(rows.length, 2);
      assert.equal(rows[0]!["i"], 42);
      assert.equal(rows[0]!["s"], "x");
      assert.deepEqual([...(rows[0]!["b"] as Uint8Array)], [1, 2]);
      assert.equal(rows[0]!["n"], null);
      assert.equal(rows[1]!["i"], 2 ** 40);
      assert.deepEqual(db.run("UPDATE t SET n = 0", []), { changes: 2 });
    } finally {
      db.close();
    }
  });

  test("transaction() commits, rolls back on throw, and nests", () => {
    const db = openDatabase(":memory:");
    try {
      db.exec("CREATE TABLE t (x INTEGER)");
      assert.equal(db.transaction(() => db.run("INSERT INTO t VALUES (1)").changes), 1);
      assert.throws(() =>
        db.transaction(() => {
          db.run("INSERT INTO t VALUES (2)");
          db.transaction(() => db.run("INSERT INTO t VALUES (3)"));
          throw new Error("boom");
        }), /boom/);
      db.transaction(() => db.transaction(() => db.run("INSERT INTO t VALUES (4)")));
      assert.deepEqual(db.query("SELECT x FROM t ORDER BY x").map((r) => r["x"]), [1, 4]);
    } finally {
      db.close();
    }
  });
});

describe(`MetadataStore.reserveProducerIds() on ${runtimeName} SQLite`, () => {
  test("reserveProducerIds() hands out disjoint blocks that survive a reopen", async () => {
    await withTempDir((dir) => {
      const path = join(dir, "metadata.db");
      const first = openMetadataStore(openDatabase(path), { clock });
      assert.equal(first.reserveProducerIds(1000), 0);
      assert.equal(first.reserveProducerIds(1000), 1000);
      first.close();
      const again = openMetadataStore(openDatabase(path), { clock });
      assert.equal(again.reserveProducerIds(10), 2000);
      again.close();
    });
  });
});
