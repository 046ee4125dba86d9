/**
 * The `postgres://…` engine: all state in one PostgreSQL database, which gives durability (an
 * acknowledged write is a committed transaction) and, in later steps, the shared state N
 * stateless brokers scale out on. Partition logs are `kbin_batch` rows (`partition.ts`), topics and
 * producer ids are tables, offsets, groups and documents a key-value table (`kv.ts`). The schema
 * is migrated under an advisory lock (`schema.ts`).
 *
 * Topic changes bump `kbin_cluster.metadata_version` in the same transaction; every broker polls it
 * (every 500 ms) and reloads its topic cache when another broker moved it. Partitions are not yet
 * led by one broker among several: run one broker per database until they are.
 *
 * @module
 */

import type { PgClient, PgTx } from "../../ports.ts";
import type { PartitionRef, Storage, StorageOptions, Topic } from "../engine.ts";
import { kvGroupStorage, kvStateStorage } from "../kv_state.ts";
import { fail, ok, type Result } from "../result.ts";
import { randomKafkaUuid, TopicCatalog, TopicErrorCode } from "../topic_catalog.ts";
import { PgKv } from "./kv.ts";
import { PgPartition } from "./partition.ts";
import { migrate } from "./schema.ts";

/** How often a broker checks whether another one changed the topics. */
const METADATA_POLL_MS = 500;

async function loadTopics(pg: PgClient): Promise<Topic[]> {
  return (await pg.query(
    `SELECT t.id, t.name, t.internal, t.created_at_ms, t.configs,
            (SELECT count(*) FROM kbin_partition p WHERE p.topic_id = t.id) AS partitions
     FROM kbin_topic t`,
  )).map((r) => ({
    id: String(r["id"]),
    name: String(r["name"]),
    internal: r["internal"] === true,
    createdAtMs: Number(r["created_at_ms"]),
    configs: JSON.parse(String(r["configs"])) as Record<string, string>,
    partitions: Number(r["partitions"]),
  }));
}

/** Options for {@link openPostgresStorage}. */
export interface PostgresStorageOptions extends StorageOptions {
  /** A connected client; the storage owns it from now on and closes it in `close()`. */
  pg: PgClient;
}

/**
 * Opens PostgreSQL storage, migrating the schema first.
 * @param o the client and the common storage options
 * @returns the storage
 */
export async function openPostgresStorage(o: PostgresStorageOptions): Promise<Storage> {
  const { pg } = o;
  try {
    const clusterId = await migrate(pg, randomKafkaUuid());
    let seenVersion = Number((await pg.query("SELECT metadata_version FROM kbin_cluster"))[0]!["metadata_version"]);
    const loaded = await loadTopics(pg);
    const partitions = new Map<string, Promise<PgPartition>>();
    const opened = new Map<string, PgPartition>();
    const keyOf = (topicId: string, partition: number) => `${topicId}/${partition}`;
    const insertPartitions = (tx: { query: PgClient["query"] }, topicId: string, from: number, to: number) =>
      tx.query(
        "INSERT INTO kbin_partition (topic_id, partition) SELECT $1, g FROM generate_series($2::int, $3::int) g",
        [topicId, from, to - 1],
      );
    /** A topic change, in one transaction with the metadata version other brokers poll. */
    const change = (fn: (tx: PgTx) => Promise<unknown>) =>
      pg.transaction(async (tx) => {
        await fn(tx);
        const v = await tx.query(
          "UPDATE kbin_cluster SET metadata_version = metadata_version + 1 RETURNING metadata_version",
        );
        return Number(v[0]!["metadata_version"]);
      }).then((version) => {
        // Our own change is in the cache already; only a jump past it means another broker's.
        if (version === seenVersion + 1) seenVersion = version;
      });
    const forget = (t: Topic) => {
      for (let i = 0; i < t.partitions; i++) {
        const key = keyOf(t.id, i);
        opened.get(key)?.delete();
        opened.delete(key);
        partitions.delete(key);
      }
    };
    const topics = new TopicCatalog({
      insertTopic: (t) =>
        change(async (tx) => {
          await tx.query(
            "INSERT INTO kbin_topic (id, name, internal, created_at_ms, configs) VALUES ($1, $2, $3, $4, $5)",
            [t.id, t.name, t.internal, t.createdAtMs, JSON.stringify(t.configs)],
          );
          await insertPartitions(tx, t.id, 0, t.partitions);
        }),
      async deleteTopic(t) {
        await change((tx) => tx.query("DELETE FROM kbin_topic WHERE id = $1", [t.id]));
        forget(t);
      },
      addPartitions: (t, from, to) => change((tx) => insertPartitions(tx, t.id, from, to)),
      writeConfigs: (t, configs) =>
        change((tx) => tx.query("UPDATE kbin_topic SET configs = $2 WHERE id = $1", [t.id, JSON.stringify(configs)])),
    }, { now: () => o.clock.now(), loaded });
    // Topic changes made through other brokers reach this one within a poll interval.
    let polling = false;
    const poll = async () => {
      if (polling) return;
      polling = true;
      try {
        const version = Number((await pg.query("SELECT metadata_version FROM kbin_cluster"))[0]!["metadata_version"]);
        if (version === seenVersion) return;
        seenVersion = version;
        for (const gone of await topics.replaceAll(await loadTopics(pg))) forget(gone);
      } catch (err) {
        o.logger.warn("Could not check PostgreSQL for topic changes", { error: String(err) });
      } finally {
        polling = false;
      }
    };
    const timer = setInterval(poll, METADATA_POLL_MS);
    (timer as { unref?: () => void }).unref?.();
    const kv = await PgKv.open(pg);
    let closed: Promise<void> | null = null;
    return {
      clusterId,
      async claimNode(nodeId: number): Promise<Result<number>> {
        if (!Number.isInteger(nodeId) || nodeId < 0 || nodeId > 0x7fffffff) {
          return fail(TopicErrorCode.INVALID_CONFIG, `Cannot start as node ${nodeId}: a node id must be an int32 >= 0`);
        }
        await pg.query("INSERT INTO kbin_node (node_id) VALUES ($1) ON CONFLICT (node_id) DO NOTHING", [nodeId]);
        return ok(nodeId);
      },
      topics,
      partition(ref: PartitionRef): Promise<PgPartition> {
        const key = keyOf(ref.topicId, ref.partition);
        let p = partitions.get(key);
        if (!p) {
          p = PgPartition.open(pg, ref, { now: () => o.clock.now(), decompress: o.decompress });
          partitions.set(key, p);
          p.then((log) => {
            if (partitions.get(key) === p) opened.set(key, log);
          }, () => partitions.delete(key));
        }
        return p;
      },
      leaderEpoch: (ref: PartitionRef) => opened.get(keyOf(ref.topicId, ref.partition))?.leaderEpoch ?? 0,
      groups: kvGroupStorage(kv),
      async reserveProducerIds(count: number): Promise<number> {
        const rows = await pg.query(
          "UPDATE kbin_cluster SET next_producer_id = next_producer_id + $1 RETURNING next_producer_id - $1 AS first",
          [count],
        );
        return Number(rows[0]!["first"]);
      },
      state: kvStateStorage(kv),
      close(): Promise<void> {
        closed ??= (async () => {
          clearInterval(timer);
          try {
            for (const p of opened.values()) await p.flush();
            await kv.flush();
          } finally {
            topics.clear();
            await pg.close();
          }
        })();
        return closed;
      },
    };
  } catch (err) {
    await pg.close().catch(() => {});
    throw err;
  }
}
