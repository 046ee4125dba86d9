/**
 * What every engine's {@link TopicStorage} shares: Kafka's topic name and partition-count rules,
 * topic ids, and an in-memory cache that answers every read (Metadata, Produce and Fetch look
 * topics up on every request) while writes go through the engine's {@link CatalogBackend}.
 *
 * Writes are serialised: each waits for the previous one, so two creates of the same name cannot
 * both pass the existence check while the first is being stored. The cache changes only after the
 * backend has stored the change.
 *
 * @module
 */

import { uuidToString, ZERO_UUID } from "../protocol/reader.ts";
import type { CreateTopicInput, Topic, TopicStorage } from "./engine.ts";
import { fail, ok, type Result } from "./result.ts";

/** The Kafka error codes topic storage returns. */
export const TopicErrorCode = {
  UNKNOWN_TOPIC_OR_PARTITION: 3,
  INVALID_TOPIC_EXCEPTION: 17,
  TOPIC_ALREADY_EXISTS: 36,
  INVALID_PARTITIONS: 37,
  INVALID_CONFIG: 40,
  UNKNOWN_TOPIC_ID: 100,
} as const;

const E = TopicErrorCode;

/**
 * Thrown by a {@link CatalogBackend} whose store was changed by another broker since this cache
 * was filled (the name is taken, the topic is gone, its partitions grew): the change is not made
 * and the caller gets `code` as its answer, as from the cache's own checks.
 */
export class CatalogConflict extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
    this.name = "CatalogConflict";
  }
}

/**
 * Runs one backend write; a {@link CatalogConflict} becomes the failure it names.
 * @returns the write's result, or the conflict as a failure
 */
async function guarded<T>(write: () => Promise<Result<T>>): Promise<Result<T>> {
  try {
    return await write();
  } catch (err) {
    if (err instanceof CatalogConflict) return fail(err.code, err.message);
    throw err;
  }
}

/**
 * How an engine stores topic changes. Each call happens after validation, one at a time. A
 * backend shared with other brokers throws {@link CatalogConflict} when its store disagrees with
 * the cache.
 */
export interface CatalogBackend {
  insertTopic(topic: Topic): Promise<void>;
  /** Removes the topic and its partition logs. */
  deleteTopic(topic: Topic): Promise<void>;
  /** Records partitions `from` … `to - 1` of an existing topic. */
  addPartitions(topic: Topic, from: number, to: number): Promise<void>;
  writeConfigs(topic: Topic, configs: Readonly<Record<string, string>>): Promise<void>;
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

// defineProperty, not assignment, so a key like "__proto__" stays an ordinary own property.
/**
 * Sets an own property (safe for keys such as "__proto__").
 * @param target the record
 * @param key the key
 * @param value the value
 */
export function setOwn(target: Record<string, string>, key: string, value: string): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * Copies configs into a plain record sorted by name.
 * @param configs name/value pairs
 * @returns the record
 */
export function copyConfigs(configs: Iterable<readonly [string, string]>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of [...configs].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) setOwn(out, key, value);
  return out;
}

function sameTopic(a: Topic, b: Topic): boolean {
  return a.name === b.name && a.partitions === b.partitions && a.internal === b.internal &&
    JSON.stringify(a.configs) === JSON.stringify(b.configs);
}

/** Topic storage over a cache and an engine's backend. */
export class TopicCatalog implements TopicStorage {
  readonly #backend: CatalogBackend;
  readonly #now: () => number;
  readonly #byName = new Map<string, Topic>();
  readonly #byId = new Map<string, Topic>();
  #sorted: readonly Topic[] | null = null;
  #tail: Promise<unknown> = Promise.resolve();

  /**
   * @param backend where changes are stored
   * @param options `now` stamps creation times; `loaded` are the topics already stored
   */
  constructor(backend: CatalogBackend, options: { now: () => number; loaded?: Iterable<Topic> }) {
    this.#backend = backend;
    this.#now = options.now;
    for (const t of options.loaded ?? []) this.#cache({ ...t, configs: { ...t.configs } });
  }

  #cache(topic: Topic): Topic {
    Object.freeze(topic.configs);
    Object.freeze(topic);
    this.#byName.set(topic.name, topic);
    this.#byId.set(topic.id, topic);
    this.#sorted = null;
    return topic;
  }

  #uncache(topic: Topic): void {
    this.#byName.delete(topic.name);
    this.#byId.delete(topic.id);
    this.#sorted = null;
  }

  /** Runs writes one at a time, in order. */
  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(fn, fn);
    this.#tail = run.catch(() => {});
    return run;
  }

  #unknown(action: string, name: string): Result<never> {
    return fail(E.UNKNOWN_TOPIC_OR_PARTITION, `Cannot ${action} topic "${name}": it does not exist`);
  }

  get(name: string): Result<Topic> {
    const topic = this.#byName.get(name);
    return topic === undefined ? this.#unknown("find", name) : ok(topic);
  }

  byId(id: string): Result<Topic> {
    const topic = this.#byId.get(id);
    return topic === undefined ? fail(E.UNKNOWN_TOPIC_ID, `Cannot find topic id "${id}"`) : ok(topic);
  }

  list(): readonly Topic[] {
    if (this.#sorted === null) {
      this.#sorted = Object.freeze(
        [...this.#byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
      );
    }
    return this.#sorted;
  }

  create(input: CreateTopicInput): Promise<Result<Topic>> {
    return this.#serial(async () => {
      const { name } = input;
      const problem = topicNameProblem(name);
      if (problem !== null) return fail(E.INVALID_TOPIC_EXCEPTION, `Cannot create topic "${name}": ${problem}`);
      if (this.#byName.has(name)) {
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
      while (this.#byId.has(id)) id = randomKafkaUuid();
      const topic: Topic = {
        name,
        id,
        partitions: input.partitions,
        configs: copyConfigs(Object.entries(input.configs ?? {})),
        internal: input.internal === true,
        createdAtMs: this.#now(),
      };
      return guarded(async () => {
        await this.#backend.insertTopic(topic);
        return ok(this.#cache(topic));
      });
    });
  }

  delete(name: string): Promise<Result<Topic>> {
    return this.#serial(async () => {
      const topic = this.#byName.get(name);
      if (topic === undefined) return this.#unknown("delete", name);
      // Gone from reads first, so no request opens a partition of a topic being deleted.
      this.#uncache(topic);
      try {
        await this.#backend.deleteTopic(topic);
      } catch (err) {
        if (err instanceof CatalogConflict) return fail(err.code, err.message);
        this.#cache(topic);
        throw err;
      }
      return ok(topic);
    });
  }

  addPartitions(name: string, newTotal: number): Promise<Result<Topic>> {
    return this.#serial(async () => {
      const topic = this.#byName.get(name);
      if (topic === undefined) return this.#unknown("add partitions to", name);
      if (!validPartitionCount(newTotal) || newTotal <= topic.partitions) {
        return fail(
          E.INVALID_PARTITIONS,
          `Cannot add partitions to topic "${name}": the new total must be larger than ${topic.partitions} ` +
            `and at most ${MAX_PARTITIONS_PER_TOPIC}, got ${newTotal}`,
        );
      }
      return guarded(async () => {
        await this.#backend.addPartitions(topic, topic.partitions, newTotal);
        return ok(this.#cache({ ...topic, partitions: newTotal }));
      });
    });
  }

  setConfigs(name: string, configs: Readonly<Record<string, string>>): Promise<Result<Topic>> {
    return this.#serial(async () => {
      const topic = this.#byName.get(name);
      if (topic === undefined) return this.#unknown("configure", name);
      const copy = copyConfigs(Object.entries(configs));
      return guarded(async () => {
        await this.#backend.writeConfigs(topic, copy);
        return ok(this.#cache({ ...topic, configs: copy }));
      });
    });
  }

  /**
   * Replaces the cache with `topics` as stored now (another broker changed them), after the
   * writes in flight. Returns the topics that are gone.
   */
  replaceAll(topics: readonly Topic[]): Promise<Topic[]> {
    return this.#serial(() => {
      const keep = new Set(topics.map((t) => t.id));
      const gone = [...this.#byId.values()].filter((t) => !keep.has(t.id));
      for (const t of gone) this.#uncache(t);
      for (const t of topics) {
        const cached = this.#byId.get(t.id);
        if (cached && sameTopic(cached, t)) continue;
        if (cached && cached.name !== t.name) this.#uncache(cached);
        this.#cache({ ...t, configs: { ...t.configs } });
      }
      return Promise.resolve(gone);
    });
  }

  /** Forgets every cached topic (engine close). */
  clear(): void {
    this.#byName.clear();
    this.#byId.clear();
    this.#sorted = null;
  }
}
