/**
 * The `postgres:` engine's schema: versioned migrations applied in one transaction under an
 * advisory lock, so that brokers starting together migrate once. Tables are prefixed `kbin_`.
 * One row per batch (never per record) in `kbin_batch`, holding the bytes as they are served.
 *
 * @module
 */

import type { PgClient } from "../../ports.ts";

/**
 * Coordinator shards of a PostgreSQL cluster: group ids hash onto them as Kafka hashes them onto
 * `__consumer_offsets` partitions, with Kafka's default count (`offsets.topic.num.partitions`).
 */
export const PG_SHARDS = 50;

/** The migrations, oldest first. Append only: never edit or reorder a released step. */
export const PG_MIGRATIONS: readonly string[] = [
  `CREATE TABLE kbin_cluster (
     singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
     cluster_id text NOT NULL,
     next_producer_id bigint NOT NULL DEFAULT 0
   );
   CREATE TABLE kbin_node (
     node_id integer PRIMARY KEY,
     registered_at timestamptz NOT NULL DEFAULT now()
   );
   CREATE TABLE kbin_topic (
     id text PRIMARY KEY,
     name text NOT NULL UNIQUE,
     internal boolean NOT NULL,
     created_at_ms bigint NOT NULL,
     configs text NOT NULL DEFAULT '{}'
   );
   CREATE TABLE kbin_partition (
     topic_id text NOT NULL REFERENCES kbin_topic (id) ON DELETE CASCADE,
     partition integer NOT NULL,
     next_offset bigint NOT NULL DEFAULT 0,
     log_start_offset bigint NOT NULL DEFAULT 0,
     leader_epoch integer NOT NULL DEFAULT 0,
     PRIMARY KEY (topic_id, partition)
   );
   CREATE TABLE kbin_partition_epoch (
     topic_id text NOT NULL,
     partition integer NOT NULL,
     epoch integer NOT NULL,
     start_offset bigint NOT NULL,
     PRIMARY KEY (topic_id, partition, epoch),
     FOREIGN KEY (topic_id, partition) REFERENCES kbin_partition ON DELETE CASCADE
   );
   CREATE TABLE kbin_batch (
     topic_id text NOT NULL,
     partition integer NOT NULL,
     base_offset bigint NOT NULL,
     last_offset bigint NOT NULL,
     max_timestamp bigint NOT NULL,
     producer_id bigint NOT NULL,
     producer_epoch smallint NOT NULL,
     base_sequence integer NOT NULL,
     attributes smallint NOT NULL,
     bytes bytea NOT NULL,
     PRIMARY KEY (topic_id, partition, last_offset),
     FOREIGN KEY (topic_id, partition) REFERENCES kbin_partition ON DELETE CASCADE
   );
   ALTER TABLE kbin_batch ALTER COLUMN bytes SET STORAGE EXTERNAL;
   CREATE TABLE kbin_state (
     key text PRIMARY KEY,
     value text NOT NULL
   );`,
  // 2: a version every topic change bumps, so that other brokers reload their topic cache.
  `ALTER TABLE kbin_cluster ADD COLUMN metadata_version bigint NOT NULL DEFAULT 0`,
  // 3: brokers with leases; who leads each partition and coordinator shard (see cluster.ts).
  `CREATE TABLE kbin_broker (
     node_id integer PRIMARY KEY,
     incarnation text NOT NULL,
     host text NOT NULL,
     port integer NOT NULL,
     rack text,
     lease_until timestamptz NOT NULL
   );
   ALTER TABLE kbin_partition ADD COLUMN leader_node integer NOT NULL DEFAULT -1;
   CREATE TABLE kbin_shard (
     shard integer PRIMARY KEY,
     leader_node integer NOT NULL DEFAULT -1,
     epoch integer NOT NULL DEFAULT 0
   );
   INSERT INTO kbin_shard (shard) SELECT g FROM generate_series(0, ${PG_SHARDS - 1}) g;
   ALTER TABLE kbin_cluster ADD COLUMN membership_version bigint NOT NULL DEFAULT 0`,
  // 4: where each partition's next compaction starts (Kafka's cleaner checkpoint).
  `ALTER TABLE kbin_partition ADD COLUMN cleaned_up_to bigint NOT NULL DEFAULT 0`,
  // 5: aborted transactions (Kafka's transaction index): one row per ABORT marker.
  `CREATE TABLE kbin_aborted_txn (
     topic_id text NOT NULL,
     partition integer NOT NULL,
     producer_id bigint NOT NULL,
     first_offset bigint NOT NULL,
     last_offset bigint NOT NULL,
     PRIMARY KEY (topic_id, partition, last_offset),
     FOREIGN KEY (topic_id, partition) REFERENCES kbin_partition ON DELETE CASCADE
   )`,
  // 6: every listener's advertised address per broker (JSON [{name, host, port}]), for Metadata.
  `ALTER TABLE kbin_broker ADD COLUMN listeners text`,
];

/**
 * Brings the schema up to date (creating the cluster row on first use).
 * @param pg the client
 * @param newClusterId the id to record when the cluster is new
 * @returns the cluster id
 * @throws Error when the database holds a newer schema than this build knows
 */
export async function migrate(pg: PgClient, newClusterId: string): Promise<string> {
  return await pg.transaction(async (tx) => {
    await tx.query("SELECT pg_advisory_xact_lock(hashtext('kbin-schema'))");
    await tx.query("CREATE TABLE IF NOT EXISTS kbin_schema (version integer NOT NULL)");
    const rows = await tx.query("SELECT version FROM kbin_schema");
    let version = rows.length === 0 ? 0 : Number(rows[0]!["version"]);
    if (rows.length === 0) await tx.query("INSERT INTO kbin_schema (version) VALUES (0)");
    if (version > PG_MIGRATIONS.length) {
      throw new Error(
        `Cannot open PostgreSQL storage: schema version ${version} is newer than the supported version ` +
          `${PG_MIGRATIONS.length} (the database was written by a newer kbin)`,
      );
    }
    for (; version < PG_MIGRATIONS.length; version++) {
      // One statement at a time: prepared statements cannot hold several.
      for (const statement of PG_MIGRATIONS[version]!.split(/;\s*\n/)) {
        if (statement.trim() !== "") await tx.query(statement.trim().replace(/;$/, ""));
      }
    }
    await tx.query("UPDATE kbin_schema SET version = $1", [version]);
    await tx.query("INSERT INTO kbin_cluster (cluster_id) VALUES ($1) ON CONFLICT (singleton) DO NOTHING", [
      newClusterId,
    ]);
    return String((await tx.query("SELECT cluster_id FROM kbin_cluster"))[0]!["cluster_id"]);
  });
}
