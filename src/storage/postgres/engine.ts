/**
 * The `postgres://…` engine: all state in one PostgreSQL database, which gives durability (an
 * acknowledged write is a committed transaction) and, in later steps, the shared state N
 * stateless brokers scale out on. Partition logs are `kbin_batch` rows (`partition.ts`), topics and
 * producer ids are tables, offsets, groups and documents a key-value table (`kv.ts`). The schema
 * is migrated under an advisory lock (`schema.ts`).
 *
 * This step serves one broker per database: topic changes made by another broker are not seen
 * until a restart, and partitions are not yet led by one broker among several.
 *
 * @module
 */

import type { PgClient } from "../../ports.ts";
import type { PartitionRef, Storage, StorageOptions, Topic } from "../engine.ts";
import { kvGroupStorage, kvStateStorage } from "../kv_state.ts";
import { fail, ok, type Result } from "../result.ts";
import { randomKafkaUuid, TopicCatalog, TopicErrorCode } from "../topic_catalog.ts";
import { PgKv } from "./kv.ts";
import { PgPartition } from "./partition.ts";
import { migrate } from "./schema.ts";

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
    const loaded: Topic[] = (await pg.query(
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
    const partitions = new Map<string, Promise<PgPartition>>();
    const opened = new Map<string, PgPartition>();
    const keyOf = (topicId: string, partition: number) => `${topicId}/${partition}`;
    const insertPartitions = (tx: { query: PgClient["query"] }, topicId: string, from: number, to: number) =>
      tx.query(
        "INSERT INTO kbin_partition (topic_id, partition) SELECT $1, g FROM generate_series($2::int, $3::int) g",
        [topicId, from, to - 1],
      );
    const topics = new TopicCatalog({
      insertTopic: (t) =>
        pg.transaction(async (tx) => {
          await tx.query(
            "INSERT INTO kbin_topic (id, name, internal, created_at_ms, configs) VALUES ($1, $2, $3, $4, $5)",
            [t.id, t.name, t.internal, t.createdAtMs, JSON.stringify(t.configs)],
          );
          await insertPartitions(tx, t.id, 0, t.partitions);
        }),
      async deleteTopic(t) {
        await pg.query("DELETE FROM kbin_topic WHERE id = $1", [t.id]);
        for (let i = 0; i < t.partitions; i++) {
          const key = keyOf(t.id, i);
          opened.get(key)?.delete();
          opened.delete(key);
          partitions.delete(key);
        }
      },
      addPartitions: (t, from, to) => pg.transaction((tx) => insertPartitions(tx, t.id, from, to)).then(() => {}),
      writeConfigs: (t, configs) =>
        pg.query("UPDATE kbin_topic SET configs = $2 WHERE id = $1", [t.id, JSON.stringify(configs)]).then(
          () => {},
        ),
    }, { now: () => o.clock.now(), loaded });
    const kv = await PgKv.open(pg);
    let closed: Promise<void> | null = null;
    return {
      kind: "postgres",
      persistent: true,
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
