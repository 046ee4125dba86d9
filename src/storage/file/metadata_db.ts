/**
 * The `file:` engine's cluster metadata in SQLite (through the {@link Database} port): cluster id,
 * owning node id, topics, their partitions and config overrides, and producer id blocks.
 *
 * SQLite is synchronous; these writes are rare admin operations (topic changes, one producer id
 * block per thousand producers). The frequent small writes (offset commits, group state) go to
 * the state journal instead, never to SQLite on the event loop. One data dir belongs to one node.
 *
 * The schema is versioned with `PRAGMA user_version` and an ordered list of migration steps;
 * opening an older database applies the missing steps in one transaction, and opening a newer
 * one throws {@link MetadataVersionError}.
 *
 * @module
 */
import type { Database, SqlRow, SqlValue } from "../../ports.ts";
import type { CommittedOffset, SavedGroup, Topic } from "../engine.ts";
import { fail, ok, type Result } from "../result.ts";
import { type CatalogBackend, randomKafkaUuid, setOwn, TopicErrorCode } from "../topic_catalog.ts";

/** Thrown when the database holds a schema newer than this build understands. */
export class MetadataVersionError extends Error {
  readonly code = "KBIN_METADATA_VERSION";
  readonly foundVersion: number;
  readonly supportedVersion: number;
  constructor(foundVersion: number, supportedVersion: number) {
    super(
      `Cannot open metadata store: schema version ${foundVersion} is newer than the supported ` +
        `version ${supportedVersion} (the data dir was written by a newer kbin)`,
    );
    this.name = "MetadataVersionError";
    this.foundVersion = foundVersion;
    this.supportedVersion = supportedVersion;
  }
}

/** One schema migration step; step `i` moves the schema from version `i` to `i + 1`. */
export type MigrationStep = (db: Database) => void;

/** The store's migrations, oldest first. Append only: never edit or reorder a released step. */
export const MIGRATIONS: readonly MigrationStep[] = [
  // 1: cluster identity, topics, per-topic configs, one row per partition.
  (db) =>
    db.exec(`
      CREATE TABLE cluster (
        singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
        cluster_id TEXT NOT NULL,
        node_id INTEGER
      );
      CREATE TABLE topics (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        is_internal INTEGER NOT NULL DEFAULT 0,
        created_at_ms INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE TABLE topic_configs (
        topic_id TEXT NOT NULL,
        name TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (topic_id, name)
      ) WITHOUT ROWID;
      CREATE TABLE partitions (
        topic_id TEXT NOT NULL,
        partition_index INTEGER NOT NULL,
        leader_epoch INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (topic_id, partition_index)
      ) WITHOUT ROWID;
    `),
  // 2: producer id allocation (idempotent producers), handed out in blocks.
  (db) =>
    db.exec(`
      CREATE TABLE producer_ids (
        singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
        next_id INTEGER NOT NULL
      );
      INSERT INTO producer_ids (singleton, next_id) VALUES (1, 0);
    `),
  // 3: consumer groups: committed offsets and group state (see group_store.ts).
  (db) =>
    db.exec(`
      CREATE TABLE group_offsets (
        group_id TEXT NOT NULL,
        topic TEXT NOT NULL,
        partition_index INTEGER NOT NULL,
        committed_offset INTEGER NOT NULL,
        leader_epoch INTEGER NOT NULL,
        metadata TEXT,
        commit_ms INTEGER NOT NULL,
        PRIMARY KEY (group_id, topic, partition_index)
      ) WITHOUT ROWID;
      CREATE TABLE consumer_groups (
        group_id TEXT PRIMARY KEY,
        group_type TEXT NOT NULL,
        state TEXT NOT NULL,
        updated_ms INTEGER NOT NULL
      ) WITHOUT ROWID;
    `),
];

/** The schema version this build writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

function userVersion(db: Database): number {
  const row = db.query("PRAGMA user_version")[0];
  return Number(row?.["user_version"] ?? 0);
}

/**
 * Brings the schema up to `steps.length`, applying the missing steps in one transaction.
 * @param db the database
 * @param steps migration steps, oldest first
 * @returns the schema version found before migrating
 * @throws MetadataVersionError when the database is newer than `steps.length`
 */
export function applyMigrations(db: Database, steps: readonly MigrationStep[]): number {
  const target = steps.length;
  const before = userVersion(db);
  if (before > target) throw new MetadataVersionError(before, target);
  if (before === target) return before;
  db.transaction(() => {
    // Re-read under the write lock: another opener may have migrated in the meantime.
    const current = userVersion(db);
    if (current > target) throw new MetadataVersionError(current, target);
    for (let v = current; v < target; v++) steps[v]!(db);
    db.exec(`PRAGMA user_version = ${target}`);
  });
  return before;
}

function text(row: SqlRow, column: string): string {
  const v = row[column];
  if (typeof v !== "string") throw new TypeError(`Cannot read metadata: column "${column}" is not text`);
  return v;
}

function int(row: SqlRow, column: string): number {
  const v = row[column];
  if (typeof v !== "number" && typeof v !== "bigint") {
    throw new TypeError(`Cannot read metadata: column "${column}" is not an integer`);
  }
  return Number(v);
}

/** The SQLite part of the `file:` engine. */
export interface MetadataDb {
  readonly clusterId: string;
  /** Records the owning node on first start; INVALID_CONFIG when another node owns the dir. */
  claimNode(nodeId: number): Result<number>;
  /** Every stored topic. */
  loadTopics(): Topic[];
  /** Stores topic changes (partition logs are the caller's). */
  readonly backend: Omit<CatalogBackend, "deleteTopic"> & { deleteTopic(topic: Topic): void };
  reserveProducerIds(count: number): number;
  /**
   * Offsets and groups kept in SQLite by kbin before the state journal (schema 3): returned once
   * so that they can be moved to the journal, then removed by {@link MetadataDb.dropLegacyGroups}.
   */
  legacyGroups(): { offsets: [string, CommittedOffset][]; groups: SavedGroup[] };
  dropLegacyGroups(): void;
  close(): void;
}

/**
 * Opens the metadata database, migrating its schema and creating the cluster id if needed.
 * @param db an open database; owned from now on and closed by `close()`
 * @returns the metadata database
 * @throws MetadataVersionError when the database was written by a newer kbin
 * @example
 * const meta = openMetadataDb(openDatabase("data/metadata.db"));
 * const topics = meta.loadTopics();
 */
export function openMetadataDb(db: Database): MetadataDb {
  applyMigrations(db, MIGRATIONS);
  const clusterId = db.transaction(() => {
    const row = db.query("SELECT cluster_id FROM cluster WHERE singleton = 1")[0];
    if (row !== undefined) return text(row, "cluster_id");
    const id = randomKafkaUuid();
    db.run("INSERT INTO cluster (singleton, cluster_id, node_id) VALUES (1, ?, NULL)", [id]);
    return id;
  });

  function insertPartitions(topicId: string, from: number, to: number): void {
    const sql = "INSERT INTO partitions (topic_id, partition_index, leader_epoch) VALUES (?, ?, 0)";
    for (let i = from; i < to; i++) db.run(sql, [topicId, i]);
  }

  function writeConfigs(topicId: string, configs: Readonly<Record<string, string>>): void {
    db.run("DELETE FROM topic_configs WHERE topic_id = ?", [topicId]);
    for (const [key, value] of Object.entries(configs)) {
      db.run("INSERT INTO topic_configs (topic_id, name, value) VALUES (?, ?, ?)", [topicId, key, value]);
    }
  }

  return {
    clusterId,

    claimNode(nodeId: number): Result<number> {
      if (!Number.isInteger(nodeId) || nodeId < 0 || nodeId > 0x7fffffff) {
        return fail(TopicErrorCode.INVALID_CONFIG, `Cannot start as node ${nodeId}: a node id must be an int32 >= 0`);
      }
      return db.transaction(() => {
        const row = db.query("SELECT node_id FROM cluster WHERE singleton = 1")[0];
        const stored: SqlValue = row?.["node_id"] ?? null;
        if (stored === null) {
          db.run("UPDATE cluster SET node_id = ? WHERE singleton = 1", [nodeId]);
          return ok(nodeId);
        }
        if (Number(stored) !== nodeId) {
          return fail(
            TopicErrorCode.INVALID_CONFIG,
            `Cannot start as node ${nodeId}: the data dir belongs to node ${Number(stored)}`,
          );
        }
        return ok(nodeId);
      });
    },

    loadTopics(): Topic[] {
      const configs = new Map<string, Record<string, string>>();
      for (const row of db.query("SELECT topic_id, name, value FROM topic_configs ORDER BY topic_id, name")) {
        const topicId = text(row, "topic_id");
        let c = configs.get(topicId);
        if (c === undefined) configs.set(topicId, c = {});
        setOwn(c, text(row, "name"), text(row, "value"));
      }
      const rows = db.query(
        `SELECT t.id, t.name, t.is_internal, t.created_at_ms,
                (SELECT COUNT(*) FROM partitions p WHERE p.topic_id = t.id) AS partition_count
         FROM topics t`,
      );
      return rows.map((row) => {
        const id = text(row, "id");
        return {
          name: text(row, "name"),
          id,
          partitions: int(row, "partition_count"),
          configs: configs.get(id) ?? {},
          internal: int(row, "is_internal") !== 0,
          createdAtMs: int(row, "created_at_ms"),
        };
      });
    },

    backend: {
      insertTopic(topic: Topic): Promise<void> {
        db.transaction(() => {
          db.run(
            "INSERT INTO topics (id, name, is_internal, created_at_ms) VALUES (?, ?, ?, ?)",
            [topic.id, topic.name, topic.internal ? 1 : 0, topic.createdAtMs],
          );
          insertPartitions(topic.id, 0, topic.partitions);
          writeConfigs(topic.id, topic.configs);
        });
        return Promise.resolve();
      },
      deleteTopic(topic: Topic): void {
        db.transaction(() => {
          db.run("DELETE FROM partitions WHERE topic_id = ?", [topic.id]);
          db.run("DELETE FROM topic_configs WHERE topic_id = ?", [topic.id]);
          db.run("DELETE FROM topics WHERE id = ?", [topic.id]);
        });
      },
      addPartitions(topic: Topic, from: number, to: number): Promise<void> {
        db.transaction(() => insertPartitions(topic.id, from, to));
        return Promise.resolve();
      },
      writeConfigs(topic: Topic, configs: Readonly<Record<string, string>>): Promise<void> {
        db.transaction(() => writeConfigs(topic.id, configs));
        return Promise.resolve();
      },
    },

    reserveProducerIds(count: number): number {
      return db.transaction(() => {
        const first = Number(db.query("SELECT next_id FROM producer_ids WHERE singleton = 1")[0]?.["next_id"] ?? 0);
        db.run("UPDATE producer_ids SET next_id = ? WHERE singleton = 1", [first + count]);
        return first;
      });
    },

    legacyGroups() {
      const offsets: [string, CommittedOffset][] = db.query("SELECT * FROM group_offsets").map((r) => [
        String(r["group_id"]),
        {
          topic: String(r["topic"]),
          partition: Number(r["partition_index"]),
          offset: Number(r["committed_offset"]),
          leaderEpoch: Number(r["leader_epoch"]),
          metadata: r["metadata"] === null ? null : String(r["metadata"]),
          commitMs: Number(r["commit_ms"]),
        },
      ]);
      const groups: SavedGroup[] = db.query("SELECT * FROM consumer_groups").map((r) => ({
        groupId: String(r["group_id"]),
        type: r["group_type"] === "consumer" ? "consumer" : "classic",
        state: String(r["state"]),
        updatedMs: Number(r["updated_ms"]),
      }));
      return { offsets, groups };
    },

    dropLegacyGroups(): void {
      db.transaction(() => {
        db.run("DELETE FROM group_offsets");
        db.run("DELETE FROM consumer_groups");
      });
    },

    close(): void {
      db.close();
    },
  };
}
