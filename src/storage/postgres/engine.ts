/**
 * The `postgres://…` engine: all state in one PostgreSQL database, which gives durability (an
 * acknowledged write is a committed transaction) and the shared state N stateless brokers scale
 * out on. Partition logs are `kbin_batch` rows (`partition.ts`), topics and producer ids are
 * tables, offsets, groups and documents a key-value table (`kv.ts`), brokers and leadership
 * `cluster.ts`. The schema is migrated under an advisory lock (`schema.ts`).
 *
 * Topic changes bump `kbin_cluster.metadata_version` in the same transaction, and rebalances
 * `membership_version`; every broker polls both (every 250 ms) and reloads its topic cache and
 * its view of leaders when another broker moved them. A broker only appends to the partitions it
 * leads (the broker layer answers NOT_LEADER_OR_FOLLOWER for the others); a partition whose leader
 * or epoch moved is retired (its in-flight appends fail, its waiters wake) and opened afresh from
 * the database on next use. Group writes are fenced by their coordinator shard's epoch, and a
 * broker taking a shard over reads the groups again (`groups.load()`).
 *
 * @module
 */

import type { PgClient, PgTx } from "../../ports.ts";
import {
  type GroupStorage,
  type PartitionRef,
  type StateStorage,
  type Storage,
  StorageError,
  type StorageOptions,
  type Topic,
} from "../engine.ts";
import { documentKeyOf, groupOfKey, kvGroupStorage, stateKey } from "../kv_state.ts";
import { coordinatorShard } from "../placement.ts";
import { fail, ok, type Result } from "../result.ts";
import { CatalogConflict, randomKafkaUuid, TopicCatalog, TopicErrorCode } from "../topic_catalog.ts";
import { DEFAULT_PG_CLUSTER_TIMING, partitionCacheKey, PgCluster, type PgClusterTiming } from "./cluster.ts";
import { PgKv } from "./kv.ts";
import { PgPartition } from "./partition.ts";
import { migrate } from "./schema.ts";
import { TailCache } from "./tail_cache.ts";

/** How often a broker checks whether another one changed the topics or the leaders. */
const METADATA_POLL_MS = 250;

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
  /** Opens the one-connection session a broker's lease lives on (when it joins). */
  connectSession: () => Promise<PgClient>;
  /** Lease and heartbeat timing (default: a 6 s lease renewed every 500 ms). */
  timing?: PgClusterTiming;
  /** Bytes of recently committed batches kept for reads at the tail (default 64 MiB; 0: none). */
  tailCacheBytes?: number;
  /** The database's URL without its password, as DescribeLogDirs names the log dir. */
  location?: string;
}

/** Default budget of the tail cache. */
export const DEFAULT_TAIL_CACHE_BYTES = 64 * 1024 * 1024;

/**
 * Opens PostgreSQL storage, migrating the schema first.
 * @param o the client and the common storage options
 * @returns the storage
 */
export async function openPostgresStorage(o: PostgresStorageOptions): Promise<Storage> {
  const { pg } = o;
  try {
    const clusterId = await migrate(pg, randomKafkaUuid());
    const versions = async () => {
      const row = (await pg.query("SELECT metadata_version, membership_version FROM kbin_cluster"))[0]!;
      return { metadata: Number(row["metadata_version"]), membership: Number(row["membership_version"]) };
    };
    const seen = await versions();
    const loaded = await loadTopics(pg);
    const partitions = new Map<string, Promise<PgPartition>>();
    const opened = new Map<string, PgPartition>();
    const keyOf = partitionCacheKey;
    const tail = new TailCache(o.tailCacheBytes ?? DEFAULT_TAIL_CACHE_BYTES);
    /** Drops cached partitions: the next use opens them afresh from the database. */
    const retire = (keys: readonly string[]) => {
      for (const key of keys) {
        opened.get(key)?.retire();
        opened.delete(key);
        partitions.delete(key);
      }
    };
    const cluster = new PgCluster({
      pg,
      connectSession: o.connectSession,
      logger: o.logger,
      timing: o.timing ?? DEFAULT_PG_CLUSTER_TIMING,
      onPartitionsMoved: retire,
    });
    /**
     * A topic change, in one transaction with the metadata version other brokers poll. The cluster
     * row is locked first, as rebalances lock it, so the two never deadlock on partition rows.
     */
    const change = (fn: (tx: PgTx) => Promise<unknown>) =>
      pg.transaction(async (tx) => {
        await tx.query("SELECT 1 FROM kbin_cluster FOR UPDATE");
        await fn(tx);
        const v = await tx.query(
          "UPDATE kbin_cluster SET metadata_version = metadata_version + 1 RETURNING metadata_version",
        );
        return Number(v[0]!["metadata_version"]);
      }).catch((err) => {
        // Another broker changed the topics since our last poll: catch up, outside the
        // catalog's serialised write this runs in.
        if (err instanceof CatalogConflict) setTimeout(poll, 0);
        throw err;
      }).then(async (version) => {
        // Our own change is in the cache already; only a jump past it means another broker's.
        if (version === seen.metadata + 1) seen.metadata = version;
        await cluster.reload().catch((err) => {
          o.logger.warn("Could not reload the leaders after a topic change", { error: String(err) });
        });
      });
    const forget = (t: Topic) => {
      for (let i = 0; i < t.partitions; i++) {
        const key = keyOf(t.id, i);
        opened.get(key)?.delete();
        opened.delete(key);
        partitions.delete(key);
      }
    };
    // Each change checks, under the cluster lock, that the topic is as this broker's cache has
    // it: another broker may have created, deleted or grown it since the last poll.
    const gone = (t: Topic) =>
      new CatalogConflict(
        TopicErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
        `Topic "${t.name}" was deleted through another broker`,
      );
    const topics = new TopicCatalog({
      insertTopic: (t) =>
        change(async (tx) => {
          const taken = await tx.query("SELECT 1 FROM kbin_topic WHERE name = $1", [t.name]);
          if (taken.length > 0) {
            throw new CatalogConflict(
              TopicErrorCode.TOPIC_ALREADY_EXISTS,
              `Cannot create topic "${t.name}": it already exists`,
            );
          }
          await tx.query(
            "INSERT INTO kbin_topic (id, name, internal, created_at_ms, configs) VALUES ($1, $2, $3, $4, $5)",
            [t.id, t.name, t.internal, t.createdAtMs, JSON.stringify(t.configs)],
          );
          await PgCluster.insertPartitions(tx, t.id, 0, t.partitions);
        }),
      async deleteTopic(t) {
        try {
          await change(async (tx) => {
            const deleted = await tx.query("DELETE FROM kbin_topic WHERE id = $1 RETURNING id", [t.id]);
            if (deleted.length === 0) throw gone(t);
          });
        } finally {
          forget(t);
        }
      },
      addPartitions: (t, from, to) =>
        change(async (tx) => {
          const rows = await tx.query("SELECT count(*)::int AS n FROM kbin_partition WHERE topic_id = $1", [t.id]);
          const now = Number(rows[0]!["n"]);
          if (now === 0) throw gone(t);
          if (now !== from) {
            throw new CatalogConflict(
              TopicErrorCode.INVALID_PARTITIONS,
              `Topic "${t.name}" has ${now} partitions now (changed through another broker); ask again`,
            );
          }
          await PgCluster.insertPartitions(tx, t.id, from, to);
        }),
      writeConfigs: (t, configs) =>
        change(async (tx) => {
          const updated = await tx.query("UPDATE kbin_topic SET configs = $2 WHERE id = $1 RETURNING id", [
            t.id,
            JSON.stringify(configs),
          ]);
          if (updated.length === 0) throw gone(t);
        }),
    }, { now: () => o.clock.now(), loaded });
    // Topic and leader changes made through other brokers reach this one within a poll interval.
    let polling = false;
    let pollFailing = false;
    const poll = async () => {
      if (polling) return;
      polling = true;
      try {
        const now = await versions();
        const topicsMoved = now.metadata !== seen.metadata;
        if (topicsMoved) {
          seen.metadata = now.metadata;
          for (const gone of await topics.replaceAll(await loadTopics(pg))) forget(gone);
        }
        if (topicsMoved || now.membership !== seen.membership) {
          seen.membership = now.membership;
          await cluster.reload();
        }
        pollFailing = false;
      } catch (err) {
        if (!pollFailing) o.logger.warn("Could not check PostgreSQL for topic changes", { error: String(err) });
        pollFailing = true;
      } finally {
        polling = false;
      }
    };
    const timer = setInterval(poll, METADATA_POLL_MS);
    (timer as { unref?: () => void }).unref?.();
    await cluster.reload();
    // Group writes are fenced by the shard this broker leads them at.
    const kv = await PgKv.open(pg, (key) => {
      const node = cluster.nodeId;
      const groupId = groupOfKey(key);
      if (node === null || groupId === null) return null;
      const shard = coordinatorShard(groupId, cluster.shardCount);
      return { shard, epoch: cluster.shardLeader(shard).epoch, node };
    });
    const baseGroups = kvGroupStorage(kv);
    const groups: GroupStorage = {
      ...baseGroups,
      // A broker taking shards over reads what their previous coordinator wrote.
      load: async () => {
        await kv.refresh();
        return await baseGroups.load();
      },
    };
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
          p = PgPartition.open(pg, ref, {
            now: () => o.clock.now(),
            decompress: o.decompress,
            ...(o.compress ? { compress: o.compress } : {}),
            node: () => cluster.nodeId,
            tail: tail.log(),
          });
          partitions.set(key, p);
          p.then((log) => {
            if (partitions.get(key) === p) opened.set(key, log);
          }, () => partitions.delete(key));
        }
        return p;
      },
      leaderEpoch: (ref: PartitionRef) =>
        opened.get(keyOf(ref.topicId, ref.partition))?.leaderEpoch ?? cluster.partitionLeader(ref).epoch,
      cluster,
      groups,
      async reserveProducerIds(count: number): Promise<number> {
        const rows = await io("reserve producer ids", () =>
          pg.query(
            "UPDATE kbin_cluster SET next_producer_id = next_producer_id + $1 RETURNING next_producer_id - $1 AS first",
            [count],
          ));
        return Number(rows[0]!["first"]);
      },
      state: pgStateStorage(pg, kv),
      // PostgreSQL's disk is not the broker's to measure: sizes are unknown (-1), as Kafka answers
      // a log dir it cannot stat.
      logDirs: () =>
        Promise.resolve([{ path: o.location ?? "postgres:", totalBytes: -1, usableBytes: -1, errorCode: 0 }]),
      close(): Promise<void> {
        closed ??= (async () => {
          clearInterval(timer);
          try {
            for (const p of opened.values()) await p.flush();
            await kv.flush();
            await cluster.close();
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

/** Runs database work; a failure becomes a StorageError (answered KAFKA_STORAGE_ERROR, retriable). */
async function io<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof StorageError) throw err;
    throw new StorageError(`Cannot ${what} in PostgreSQL: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Documents read from the database on every call (so that a write through any broker is seen by
 * every other), written through the key-value log.
 */
function pgStateStorage(pg: PgClient, kv: PgKv): StateStorage {
  return {
    async get(namespace: string, key: string): Promise<string | null> {
      await kv.flush();
      const rows = await io(
        "read a document",
        () => pg.query("SELECT value FROM kbin_state WHERE key = $1", [stateKey(namespace, key)]),
      );
      return rows.length === 0 ? null : (JSON.parse(String(rows[0]!["value"])) as string);
    },
    async list(namespace: string): Promise<[string, string][]> {
      await kv.flush();
      const rows = await io(
        "list documents",
        () => pg.query("SELECT key, value FROM kbin_state WHERE starts_with(key, $1)", [stateKey(namespace)]),
      );
      const out = rows.map((r): [string, string] => [
        documentKeyOf(String(r["key"])),
        JSON.parse(String(r["value"])) as string,
      ]);
      return out.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    },
    put(namespace: string, entries: readonly (readonly [string, string | null])[]): Promise<void> {
      return kv.write(entries.map(([k, v]) => [stateKey(namespace, k), v] as const));
    },
  };
}
