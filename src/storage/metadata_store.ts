/**
 * The cluster metadata store: cluster id, owning node id, topics, their partitions and config
 * overrides, kept in SQLite through the {@link Database} port.
 *
 * Everything is synchronous, as SQLite is. Topics are read through an in-memory cache loaded at
 * open and updated only after a write transaction commits, so Metadata requests never touch SQLite.
 * The store assumes it is the only writer of its database (one data dir belongs to one node).
 *
 * The schema is versioned with `PRAGMA user_version` and an ordered list of migration steps;
 * opening an older database applies the missing steps in one transaction, and opening a newer
 * one throws {@link MetadataVersionError}.
 *
 * @module
 */
import type { Clock, Database, SqlRow, SqlValue } from "../ports.ts";
import { uuidToString, ZERO_UUID } from "../protocol/reader.ts";
import { fail, ok, type Result } from "./result.ts";

/** The Kafka error codes this store returns. */
export const MetadataErrorCode = {
  UNKNOWN_TOPIC_OR_PARTITION: 3,
  INVALID_TOPIC_EXCEPTION: 17,
  TOPIC_ALREADY_EXISTS: 36,
  INVALID_PARTITIONS: 37,
  INVALID_CONFIG: 40,
  UNKNOWN_TOPIC_ID: 100,
} as const;

const E = MetadataErrorCode;

/** A topic as the store keeps it. Returned objects are frozen; they are shared with the cache. */
export interface Topic {
  readonly name: string;
  /** Kafka topic id: a random UUID v4 in 22-character URL-safe base64. */
  readonly id: string;
  /** Number of partitions, indexed 0 … partitions - 1. */
  readonly partitions: number;
  /** Per-topic config overrides (name → value); broker defaults are not included. */
  readonly configs: Readonly<Record<string, string>>;
  readonly internal: boolean;
  readonly createdAtMs: number;
}

/** What {@link MetadataStore.createTopic} needs. */
export interface CreateTopicInput {
  name: string;
  partitions: number;
  configs?: Readonly<Record<string, string>>;
  internal?: boolean;
}

/** Cluster metadata operations. Kafka outcomes are results; SQLite failures throw. */
export interface MetadataStore {
  /** The cluster id, generated when the store was first created and kept since. */
  clusterId(): string;
  /**
   * Records `nodeId` as the owner of this data dir on first start; later starts must pass the same
   * id, or get INVALID_CONFIG.
   */
  ensureNode(nodeId: number): Result<number>;
  /** Creates a topic; TOPIC_ALREADY_EXISTS, INVALID_PARTITIONS or INVALID_TOPIC_EXCEPTION otherwise. */
  createTopic(input: CreateTopicInput): Result<Topic>;
  /** UNKNOWN_TOPIC_OR_PARTITION when missing. */
  getTopic(name: string): Result<Topic>;
  /** UNKNOWN_TOPIC_ID when missing. */
  getTopicById(id: string): Result<Topic>;
  /** All topics, sorted by name. */
  listTopics(): readonly Topic[];
  /** Deletes the topic with its partitions and configs; returns what was deleted. */
  deleteTopic(name: string): Result<Topic>;
  /** Grows the topic to `newTotal` partitions; INVALID_PARTITIONS unless it is larger. */
  addPartitions(name: string, newTotal: number): Result<Topic>;
  /** Replaces all config overrides of a topic. */
  setTopicConfigs(name: string, configs: Readonly<Record<string, string>>): Result<Topic>;
  /** Sets one config override, or removes it when `value` is null. */
  alterTopicConfig(name: string, key: string, value: string | null): Result<Topic>;
  /**
   * Reserves `count` producer ids and returns the first; ids are never handed out twice, even
   * across restarts (Kafka allocates them in blocks the same way).
   */
  reserveProducerIds(count: number): number;
  close(): void;
}

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

/**
 * Returns a random UUID v4 in Kafka's text form (22 characters of URL-safe base64), never the
 * all-zero id and never one starting with "-" (Kafka's own `Uuid.randomUuid()` rule, as such ids
 * read like command-line flags).
 * @returns the id text
 */
export function randomKafkaUuid(): string {
  const bytes = new Uint8Array(16);
  for (;;) {
    crypto.getRandomValues(bytes);
    bytes[6] = (bytes[6]! & 0x0f) | 0x40; // version 4
    bytes[8] = (bytes[8]! & 0x3f) | 0x80; // IETF variant
    const text = uuidToString(bytes);
    if (text !== ZERO_UUID && !text.startsWith("-")) return text;
  }
}

const LEGAL_TOPIC_NAME = /^[a-zA-Z0-9._-]+$/;
const MAX_TOPIC_NAME_LENGTH = 249;

function topicNameProblem(name: string): string | null {
  if (name.length === 0) return "the name is empty";
  if (name === "." || name === "..") return `the name cannot be "${name}"`;
  if (name.length > MAX_TOPIC_NAME_LENGTH) return `the name is longer than ${MAX_TOPIC_NAME_LENGTH} characters`;
  if (!LEGAL_TOPIC_NAME.test(name)) return "the name may contain only ASCII letters, digits, '.', '_' and '-'";
  return null;
}

/**
 * The most partitions one topic may have. Kafka sets no limit, but each partition is a row written
 * in one transaction (and later a log directory), so an absurd count must not stall the broker.
 */
export const MAX_PARTITIONS_PER_TOPIC = 100_000;

function validPartitionCount(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 1 && n <= MAX_PARTITIONS_PER_TOPIC;
}

function freezeTopic(topic: Topic): Topic {
  Object.freeze(topic.configs);
  return Object.freeze(topic);
}

// defineProperty, not assignment, so a key like "__proto__" stays an ordinary own property.
function setOwn(target: Record<string, string>, key: string, value: string): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function copyConfigs(configs: Iterable<readonly [string, string]>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of [...configs].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) setOwn(out, key, value);
  return out;
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

/**
 * Opens the metadata store over `db`, migrating its schema and creating the cluster id if needed.
 * @param db an open database; the store owns it from now on and closes it in `close()`
 * @param options `clock` stamps topic creation times
 * @returns the store
 * @throws MetadataVersionError when the database was written by a newer kbin
 * @example
 * const store = openMetadataStore(openDatabase("data/metadata.sqlite"), { clock: { now: Date.now } });
 * const created = store.createTopic({ name: "orders", partitions: 3 });
 */
export function openMetadataStore(db: Database, options: { clock: Clock }): MetadataStore {
  const { clock } = options;
  applyMigrations(db, MIGRATIONS);

  const clusterId = db.transaction(() => {
    const row = db.query("SELECT cluster_id FROM cluster WHERE singleton = 1")[0];
    if (row !== undefined) return text(row, "cluster_id");
    const id = randomKafkaUuid();
    db.run("INSERT INTO cluster (singleton, cluster_id, node_id) VALUES (1, ?, NULL)", [id]);
    return id;
  });

  const byName = new Map<string, Topic>();
  const byId = new Map<string, Topic>();
  let sorted: readonly Topic[] | null = null;

  function cache(topic: Topic): Topic {
    freezeTopic(topic);
    byName.set(topic.name, topic);
    byId.set(topic.id, topic);
    sorted = null;
    return topic;
  }

  function uncache(topic: Topic): void {
    byName.delete(topic.name);
    byId.delete(topic.id);
    sorted = null;
  }

  function load(): void {
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
    for (const row of rows) {
      const id = text(row, "id");
      cache({
        name: text(row, "name"),
        id,
        partitions: int(row, "partition_count"),
        configs: configs.get(id) ?? {},
        internal: int(row, "is_internal") !== 0,
        createdAtMs: int(row, "created_at_ms"),
      });
    }
  }

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

  function unknownTopic(action: string, name: string): Result<never> {
    return fail(E.UNKNOWN_TOPIC_OR_PARTITION, `Cannot ${action} topic "${name}": it does not exist`);
  }

  function replaceConfigs(topic: Topic, configs: Record<string, string>): Topic {
    db.transaction(() => writeConfigs(topic.id, configs));
    return cache({ ...topic, configs });
  }

  load();

  return {
    clusterId(): string {
      return clusterId;
    },

    ensureNode(nodeId: number): Result<number> {
      if (!Number.isInteger(nodeId) || nodeId < 0 || nodeId > 0x7fffffff) {
        return fail(E.INVALID_CONFIG, `Cannot start as node ${nodeId}: a node id must be an int32 >= 0`);
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
            E.INVALID_CONFIG,
            `Cannot start as node ${nodeId}: the data dir belongs to node ${Number(stored)}`,
          );
        }
        return ok(nodeId);
      });
    },

    createTopic(input: CreateTopicInput): Result<Topic> {
      const { name } = input;
      const problem = topicNameProblem(name);
      if (problem !== null) {
        return fail(E.INVALID_TOPIC_EXCEPTION, `Cannot create topic "${name}": ${problem}`);
      }
      if (byName.has(name)) {
        return fail(E.TOPIC_ALREADY_EXISTS, `Cannot create topic "${name}": it already exists`);
      }
      if (!validPartitionCount(input.partitions)) {
        return fail(
          E.INVALID_PARTITIONS,
          `Cannot create topic "${name}": partitions must be between 1 and ${MAX_PARTITIONS_PER_TOPIC}, ` +
            `got ${input.partitions}`,
        );
      }
      let id = randomKafkaUuid();
      while (byId.has(id)) id = randomKafkaUuid();
      const topic: Topic = {
        name,
        id,
        partitions: input.partitions,
        configs: copyConfigs(Object.entries(input.configs ?? {})),
        internal: input.internal === true,
        createdAtMs: clock.now(),
      };
      db.transaction(() => {
        db.run(
          "INSERT INTO topics (id, name, is_internal, created_at_ms) VALUES (?, ?, ?, ?)",
          [id, name, topic.internal ? 1 : 0, topic.createdAtMs],
        );
        insertPartitions(id, 0, topic.partitions);
        writeConfigs(id, topic.configs);
      });
      return ok(cache(topic));
    },

    getTopic(name: string): Result<Topic> {
      const topic = byName.get(name);
      return topic === undefined ? unknownTopic("find", name) : ok(topic);
    },

    getTopicById(id: string): Result<Topic> {
      const topic = byId.get(id);
      return topic === undefined ? fail(E.UNKNOWN_TOPIC_ID, `Cannot find topic id "${id}"`) : ok(topic);
    },

    listTopics(): readonly Topic[] {
      if (sorted === null) {
        sorted = Object.freeze([...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)));
      }
      return sorted;
    },

    deleteTopic(name: string): Result<Topic> {
      const topic = byName.get(name);
      if (topic === undefined) return unknownTopic("delete", name);
      db.transaction(() => {
        db.run("DELETE FROM partitions WHERE topic_id = ?", [topic.id]);
        db.run("DELETE FROM topic_configs WHERE topic_id = ?", [topic.id]);
        db.run("DELETE FROM topics WHERE id = ?", [topic.id]);
      });
      uncache(topic);
      return ok(topic);
    },

    addPartitions(name: string, newTotal: number): Result<Topic> {
      const topic = byName.get(name);
      if (topic === undefined) return unknownTopic("add partitions to", name);
      if (!validPartitionCount(newTotal) || newTotal <= topic.partitions) {
        return fail(
          E.INVALID_PARTITIONS,
          `Cannot add partitions to topic "${name}": the new total must be larger than ${topic.partitions} ` +
            `and at most ${MAX_PARTITIONS_PER_TOPIC}, got ${newTotal}`,
        );
      }
      db.transaction(() => insertPartitions(topic.id, topic.partitions, newTotal));
      return ok(cache({ ...topic, partitions: newTotal }));
    },

    setTopicConfigs(name: string, configs: Readonly<Record<string, string>>): Result<Topic> {
      const topic = byName.get(name);
      if (topic === undefined) return unknownTopic("configure", name);
      return ok(replaceConfigs(topic, copyConfigs(Object.entries(configs))));
    },

    alterTopicConfig(name: string, key: string, value: string | null): Result<Topic> {
      const topic = byName.get(name);
      if (topic === undefined) return unknownTopic("configure", name);
      const next = new Map(Object.entries(topic.configs));
      if (value === null) next.delete(key);
      else next.set(key, value);
      return ok(replaceConfigs(topic, copyConfigs(next)));
    },

    reserveProducerIds(count: number): number {
      return db.transaction(() => {
        const first = Number(db.query("SELECT next_id FROM producer_ids WHERE singleton = 1")[0]?.["next_id"] ?? 0);
        db.run("UPDATE producer_ids SET next_id = ? WHERE singleton = 1", [first + count]);
        return first;
      });
    },
    close(): void {
      byName.clear();
      byId.clear();
      sorted = null;
      db.close();
    },
  };
}
