/** The file engine's SQLite part: schema migrations, the legacy group tables, the Database port. */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import type { Database } from "../../../../src/ports.ts";
import {
  applyMigrations,
  MetadataVersionError,
  openMetadataDb,
  SCHEMA_VERSION,
} from "../../../../src/storage/file/metadata_db.ts";
import { openDatabase, runtimeName } from "../../../support/runtime.ts";

async function withTempDir(fn: (dir: string) => Promise<void> | void): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "kbin-metadata-"));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe(`metadata.db on ${runtimeName} SQLite`, () => {
  test("openMetadataDb() migrates an empty database to the current schema", async () => {
    await withTempDir((dir) => {
      const path = join(dir, "metadata.sqlite");
      const raw = openDatabase(path);
      assert.deepEqual(raw.query("PRAGMA user_version"), [{ user_version: 0 }]);
      raw.close();
      openMetadataDb(openDatabase(path)).close();
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

  test("openMetadataDb() refuses a database from a newer schema version", async () => {
    await withTempDir((dir) => {
      const path = join(dir, "metadata.sqlite");
      openMetadataDb(openDatabase(path)).close();
      const raw = openDatabase(path);
      raw.exec(`PRAGMA user_version = ${SCHEMA_VERSION + 1}`);
      raw.close();
      const db = openDatabase(path);
      try {
        assert.throws(
          () => openMetadataDb(db),
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

  test("reserveProducerIds() hands out disjoint blocks that survive a reopen", async () => {
    await withTempDir((dir) => {
      const path = join(dir, "metadata.db");
      const first = openMetadataDb(openDatabase(path));
      assert.equal(first.reserveProducerIds(1000), 0);
      assert.equal(first.reserveProducerIds(1000), 1000);
      first.close();
      const again = openMetadataDb(openDatabase(path));
      assert.equal(again.reserveProducerIds(10), 2000);
      again.close();
    });
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
