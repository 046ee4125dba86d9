/**
 * The brokers of a PostgreSQL cluster and who leads what (the `postgres:` engine's
 * {@link ClusterStorage}). No consensus code of kbin's own: PostgreSQL is the serialisation point.
 *
 * - **Leases.** A broker registers a `kbin_broker` row (a new incarnation each start) with
 *   `lease_until` on PostgreSQL's clock, renews it every heartbeat on a session of its own, and
 *   holds a session advisory lock `(LOCK_NAMESPACE, node id)` on that session. A second process
 *   with the same node id cannot take the lock and is refused. A broker is dead when its lease
 *   expired, or when its lock is free (its session closed: the process died) and it missed two
 *   heartbeats, which finds a killed broker within about a second.
 * - **Placement.** Partitions and coordinator shards go to the live broker rendezvous hashing
 *   picks (placement.ts), so a join or a death moves only what must move.
 * - **Rebalance.** One transaction, by any broker that sees a dead broker, a join, a leave or a
 *   leader that is not where placement says: lock the `kbin_cluster` row, expel dead brokers, set
 *   every misplaced partition's leader with `leader_epoch + 1` (and its epoch history row at the
 *   current log end) and every misplaced shard's leader with `epoch + 1`, bump
 *   `membership_version`. A joining broker also bumps the epochs of what it led in an earlier
 *   incarnation. Appends are fenced by `(leader_node, leader_epoch)` and group writes by the
 *   shard's `(leader_node, epoch)` in PostgreSQL, so a broker wrongly thought dead only gets
 *   retriable errors; nothing it wrote can interleave with the new leader.
 * - **Views.** Each broker reloads brokers, partition leaders and shard leaders when
 *   `membership_version` or `metadata_version` moved (the engine polls them) and after its own
 *   rebalances.
 *
 * Locks are always taken in the same order (the cluster row, then partition or shard rows), so
 * rebalances, topic changes and appends never deadlock.
 *
 * @module
 */

import type { Logger, PgClient, PgTx } from "../../ports.ts";
import { ErrorCode } from "../../protocol/generated/errors.ts";
import type { BrokerEndpoint, BrokerInfo, ClusterStorage, Leadership, PartitionRef } from "../engine.ts";
import { partitionKey, rendezvousLeader, shardKey } from "../placement.ts";
import { coalesced } from "../coalesce.ts";
import { fail, ok, type Result } from "../result.ts";
import { PG_SHARDS } from "./schema.ts";

/** The first key of kbin's session advisory locks ("kbin" as an int32). */
const LOCK_NAMESPACE = 0x6b62696e;

/** Lease and heartbeat timing. */
export interface PgClusterTiming {
  /** A broker that did not renew its lease for this long is expelled. */
  leaseMs: number;
  /** How often a broker renews its lease and checks the others. */
  heartbeatMs: number;
}

/** Defaults: a 6 s lease renewed every 500 ms. */
export const DEFAULT_PG_CLUSTER_TIMING: PgClusterTiming = { leaseMs: 6000, heartbeatMs: 500 };

/** Options for {@link PgCluster}. */
export interface PgClusterOptions {
  pg: PgClient;
  /** Opens the one-connection session the lease and its advisory lock live on. */
  connectSession: () => Promise<PgClient>;
  logger: Logger;
  timing: PgClusterTiming;
  /** Called with the keys (`topicId/partition`) whose leader or epoch changed. */
  onPartitionsMoved: (keys: readonly string[]) => void;
}

/** `topicId/partition`, the engine's key of a partition. */
export function partitionCacheKey(topicId: string, partition: number): string {
  return `${topicId}/${partition}`;
}

/** Brokers whose lease expired, or whose session lock is free and who missed two heartbeats. */
const DEAD_BROKERS = `
  SELECT b.node_id FROM kbin_broker b
  WHERE b.lease_until < now()
     OR ($1::boolean AND b.lease_until < now() + $2::int * interval '1 millisecond' AND NOT EXISTS (
       SELECT 1 FROM pg_locks l
       WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
         AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
         AND l.classid = ${LOCK_NAMESPACE}::oid AND l.objid = b.node_id::oid))`;

/** One broker's view of a PostgreSQL cluster, and its part in keeping it. */
export class PgCluster implements ClusterStorage {
  readonly shardCount = PG_SHARDS;
  readonly #o: PgClusterOptions;
  #self: BrokerInfo | null = null;
  #incarnation = "";
  #session: PgClient | null = null;
  #brokers: BrokerInfo[] = [];
  #partitions = new Map<string, Leadership>();
  #shards: Leadership[] = Array.from({ length: PG_SHARDS }, () => ({ leader: -1, epoch: 0 }));
  readonly #listeners = new Set<() => void>();
  #timer: ReturnType<typeof setInterval> | null = null;
  #beating = false;
  /** The other brokers' session locks count only after this (ms): after our own outage, they get a lease to come back. */
  #lockCheckAfter = 0;
  #failing = false;
  #closed = false;

  constructor(o: PgClusterOptions) {
    this.#o = o;
  }

  /** This broker's node id once joined (null before: a storage that never joined fences nothing by node). */
  get nodeId(): number | null {
    return this.#self?.nodeId ?? null;
  }

  brokers(): readonly BrokerInfo[] {
    return this.#brokers;
  }

  partitionLeader(ref: PartitionRef): Leadership {
    return this.#partitions.get(partitionCacheKey(ref.topicId, ref.partition)) ?? { leader: -1, epoch: 0 };
  }

  shardLeader(shard: number): Leadership {
    return this.#shards[shard] ?? { leader: -1, epoch: 0 };
  }

  onChange(fn: () => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  async join(self: BrokerInfo): Promise<Result<void>> {
    this.#self = { ...self };
    this.#incarnation = crypto.randomUUID();
    if (!(await this.#holdLock())) {
      // Held by a session whose broker is no longer registered with a live lease (its machine
      // vanished and PostgreSQL has not noticed its connection is dead): end that session.
      const stale = await this.#o.pg.query(
        `SELECT pg_terminate_backend(l.pid) AS ended FROM pg_locks l
         WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
           AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
           AND l.classid = ${LOCK_NAMESPACE}::oid AND l.objid = $1::int::oid
           AND NOT EXISTS (SELECT 1 FROM kbin_broker WHERE node_id = $1 AND lease_until >= now())`,
        [self.nodeId],
      );
      if (stale.length > 0) {
        this.#o.logger.warn("Ended the PostgreSQL session of an earlier broker with this node id (lease expired)", {
          node: self.nodeId,
        });
        await new Promise((r) => setTimeout(r, 100));
      }
      if (stale.length === 0 || !(await this.#holdLock())) {
        return fail(
          ErrorCode.INVALID_CONFIG,
          `Cannot join the cluster as node ${self.nodeId}: a live broker holds that node id`,
        );
      }
    }
    await this.#register();
    await this.#rebalance(self.nodeId);
    await this.reload();
    this.#timer = setInterval(() => void this.#heartbeat(), this.#o.timing.heartbeatMs);
    (this.#timer as { unref?: () => void }).unref?.();
    this.#o.logger.info("Joined the cluster", {
      node: self.nodeId,
      brokers: this.#brokers.map((b) => b.nodeId).join(","),
    });
    return ok(undefined);
  }

  /** Takes (or confirms) the session advisory lock of this node id on the lease session. */
  async #holdLock(): Promise<boolean> {
    this.#session ??= await this.#o.connectSession();
    const rows = await this.#session.query(
      `SELECT CASE WHEN EXISTS (
         SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted
           AND objsubid = 2 AND classid = ${LOCK_NAMESPACE}::oid AND objid = $1::int::oid
       ) THEN true ELSE pg_try_advisory_lock(${LOCK_NAMESPACE}, $1::int) END AS locked`,
      [this.#self!.nodeId],
    );
    return rows[0]?.["locked"] === true;
  }

  async #register(): Promise<void> {
    const s = this.#self!;
    await this.#o.pg.query(
      `INSERT INTO kbin_broker (node_id, incarnation, host, port, rack, lease_until, listeners)
       VALUES ($1, $2, $3, $4, $5, now() + $6::int * interval '1 millisecond', $7)
       ON CONFLICT (node_id) DO UPDATE SET incarnation = excluded.incarnation, host = excluded.host,
         port = excluded.port, rack = excluded.rack, lease_until = excluded.lease_until,
         listeners = excluded.listeners`,
      [
        s.nodeId,
        this.#incarnation,
        s.host,
        s.port,
        s.rack,
        this.#o.timing.leaseMs,
        s.listeners ? JSON.stringify(s.listeners) : null,
      ],
    );
  }

  /** Renews the lease, re-registers when expelled, and expels dead brokers. */
  async #heartbeat(): Promise<void> {
    if (this.#beating || this.#closed || !this.#self) return;
    this.#beating = true;
    const { leaseMs, heartbeatMs } = this.#o.timing;
    try {
      try {
        if (!(await this.#holdLock())) {
          throw new Error(`another session holds node ${this.#self.nodeId}'s lock`);
        }
        const renewed = await this.#session!.query(
          `UPDATE kbin_broker SET lease_until = now() + $3::int * interval '1 millisecond'
           WHERE node_id = $1 AND incarnation = $2 RETURNING 1`,
          [this.#self.nodeId, this.#incarnation, leaseMs],
        );
        if (this.#failing) {
          this.#o.logger.info("PostgreSQL is reachable again", { node: this.#self.nodeId });
          this.#failing = false;
        }
        if (renewed.length === 0) {
          this.#o.logger.warn("This broker's lease had expired and its roles moved; registering again", {
            node: this.#self.nodeId,
          });
          this.#incarnation = crypto.randomUUID();
          await this.#register();
          await this.#rebalance(this.#self.nodeId);
          await this.reload();
        }
      } catch (err) {
        if (!this.#failing) {
          this.#o.logger.warn("Cannot renew this broker's lease in PostgreSQL", { error: String(err) });
          this.#failing = true;
        }
        // A broken session may hold nothing: open a new one next time.
        const session = this.#session;
        this.#session = null;
        await session?.close().catch(() => {});
        this.#lockCheckAfter = Date.now() + leaseMs;
        return;
      }
      // After our own outage the others get a lease to renew theirs before anyone counts as dead:
      // their leases ran out in the database's time while none of us could reach it.
      const graceOver = Date.now() >= this.#lockCheckAfter;
      const dead = graceOver ? await this.#o.pg.query(DEAD_BROKERS, [true, leaseMs - 2 * heartbeatMs]) : [];
      if (dead.length > 0 || this.#misplaced()) {
        await this.#rebalance(null);
        await this.reload();
      }
    } catch (err) {
      this.#o.logger.warn("Cannot check the cluster's brokers in PostgreSQL", { error: String(err) });
    } finally {
      this.#beating = false;
    }
  }

  /** Whether some partition or shard is not led where placement over the live brokers puts it. */
  #misplaced(): boolean {
    const live = this.#brokers.map((b) => b.nodeId);
    if (live.length === 0) return false;
    for (const [key, l] of this.#partitions) {
      const [topicId, partition] = splitKey(key);
      if (rendezvousLeader(partitionKey(topicId, partition), live) !== l.leader) return true;
    }
    return this.#shards.some((l, shard) => rendezvousLeader(shardKey(shard), live) !== l.leader);
  }

  /**
   * Expels dead brokers and moves every misplaced partition and shard, in one transaction.
   * @param rejoined a node that just (re)registered: what it led gets a new epoch too
   */
  async #rebalance(rejoined: number | null): Promise<void> {
    const { leaseMs, heartbeatMs } = this.#o.timing;
    const checkLocks = Date.now() >= this.#lockCheckAfter;
    const summary = await this.#o.pg.transaction(async (tx) => {
      await tx.query("SELECT 1 FROM kbin_cluster FOR UPDATE");
      const dead = (await tx.query(DEAD_BROKERS, [checkLocks, leaseMs - 2 * heartbeatMs])).map((r) =>
        Number(r["node_id"])
      );
      if (dead.length > 0) await tx.query("DELETE FROM kbin_broker WHERE node_id = ANY($1::int[])", [`{${dead}}`]);
      const live = (await tx.query("SELECT node_id FROM kbin_broker ORDER BY node_id")).map((r) =>
        Number(r["node_id"])
      );
      const moves: { t: string; p: number; l: number }[] = [];
      for (const r of await tx.query("SELECT topic_id, partition, leader_node FROM kbin_partition")) {
        const t = String(r["topic_id"]);
        const p = Number(r["partition"]);
        const current = Number(r["leader_node"]);
        const leader = rendezvousLeader(partitionKey(t, p), live);
        if (leader !== current || (rejoined !== null && current === rejoined)) moves.push({ t, p, l: leader });
      }
      const shardMoves: { s: number; l: number }[] = [];
      for (const r of await tx.query("SELECT shard, leader_node FROM kbin_shard")) {
        const s = Number(r["shard"]);
        const current = Number(r["leader_node"]);
        const leader = rendezvousLeader(shardKey(s), live);
        if (leader !== current || (rejoined !== null && current === rejoined)) shardMoves.push({ s, l: leader });
      }
      if (moves.length > 0) await movePartitions(tx, moves);
      if (shardMoves.length > 0) {
        await tx.query(
          `UPDATE kbin_shard k SET leader_node = m.l, epoch = k.epoch + 1
           FROM json_to_recordset($1::text::json) AS m(s int, l int) WHERE k.shard = m.s`,
          [JSON.stringify(shardMoves)],
        );
      }
      if (dead.length > 0 || moves.length > 0 || shardMoves.length > 0 || rejoined !== null) {
        await tx.query("UPDATE kbin_cluster SET membership_version = membership_version + 1");
      }
      return { dead, live, partitions: moves.length, shards: shardMoves.length };
    });
    if (summary.dead.length > 0 || summary.partitions > 0 || summary.shards > 0) {
      this.#o.logger.info("Rebalanced the cluster", {
        expelled: summary.dead.join(","),
        brokers: summary.live.join(","),
        partitionsMoved: summary.partitions,
        shardsMoved: summary.shards,
      });
    }
  }

  /**
   * Places partitions a topic change creates (inside its transaction, which holds the cluster row).
   * @param tx the topic change's transaction
   * @param topicId the topic
   * @param from first new partition
   * @param to one past the last
   */
  static async insertPartitions(tx: PgTx, topicId: string, from: number, to: number): Promise<void> {
    const live = (await tx.query("SELECT node_id FROM kbin_broker ORDER BY node_id")).map((r) => Number(r["node_id"]));
    const rows = [];
    for (let p = from; p < to; p++) rows.push({ p, l: rendezvousLeader(partitionKey(topicId, p), live) });
    await tx.query(
      `INSERT INTO kbin_partition (topic_id, partition, leader_node)
       SELECT $1, m.p, m.l FROM json_to_recordset($2::text::json) AS m(p int, l int)`,
      [topicId, JSON.stringify(rows)],
    );
  }

  /** Reads brokers and leaders again; tells listeners and the engine what moved. */
  readonly reload: () => Promise<void> = coalesced(() => this.#load());

  async #load(): Promise<void> {
    const pg = this.#o.pg;
    const [brokers, partitions, shards] = await Promise.all([
      pg.query("SELECT node_id, host, port, rack, listeners FROM kbin_broker ORDER BY node_id"),
      pg.query("SELECT topic_id, partition, leader_node, leader_epoch FROM kbin_partition"),
      pg.query("SELECT shard, leader_node, epoch FROM kbin_shard ORDER BY shard"),
    ]);
    const next = new Map<string, Leadership>();
    const moved: string[] = [];
    for (const r of partitions) {
      const key = partitionCacheKey(String(r["topic_id"]), Number(r["partition"]));
      const l = { leader: Number(r["leader_node"]), epoch: Number(r["leader_epoch"]) };
      next.set(key, l);
      const before = this.#partitions.get(key);
      if (before && (before.leader !== l.leader || before.epoch !== l.epoch)) moved.push(key);
    }
    const nextShards = this.#shards.map((s) => ({ ...s }));
    for (const r of shards) {
      nextShards[Number(r["shard"])] = { leader: Number(r["leader_node"]), epoch: Number(r["epoch"]) };
    }
    const nextBrokers: BrokerInfo[] = brokers.map((r) => {
      const b: BrokerInfo = {
        nodeId: Number(r["node_id"]),
        host: String(r["host"]),
        port: Number(r["port"]),
        rack: r["rack"] === null ? null : String(r["rack"]),
      };
      const listeners = parseEndpoints(r["listeners"]);
      return listeners ? { ...b, listeners } : b;
    });
    const changed = moved.length > 0 || next.size !== this.#partitions.size ||
      JSON.stringify(nextShards) !== JSON.stringify(this.#shards) ||
      JSON.stringify(nextBrokers) !== JSON.stringify(this.#brokers);
    this.#partitions = next;
    this.#shards = nextShards;
    this.#brokers = nextBrokers;
    if (moved.length > 0) this.#o.onPartitionsMoved(moved);
    if (changed) {
      for (const fn of [...this.#listeners]) {
        try {
          fn();
        } catch (err) {
          this.#o.logger.error("A cluster change listener failed", { error: String(err) });
        }
      }
    }
  }

  /** Leaves the cluster: its partitions and shards move to the others at once. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    while (this.#beating) await new Promise((r) => setTimeout(r, 10));
    if (this.#self) {
      try {
        await this.#o.pg.query("DELETE FROM kbin_broker WHERE node_id = $1 AND incarnation = $2", [
          this.#self.nodeId,
          this.#incarnation,
        ]);
        await this.#rebalance(null);
      } catch (err) {
        this.#o.logger.warn("Could not leave the cluster cleanly; the others take over when the lease expires", {
          error: String(err),
        });
      }
    }
    await this.#session?.close().catch(() => {});
    this.#session = null;
  }
}

function splitKey(key: string): [string, number] {
  const at = key.lastIndexOf("/");
  return [key.slice(0, at), Number(key.slice(at + 1))];
}

/** Sets new leaders with the next epoch, recording where each epoch starts (the current log end). */
async function movePartitions(tx: PgTx, moves: readonly { t: string; p: number; l: number }[]): Promise<void> {
  await tx.query(
    `WITH m AS (SELECT * FROM json_to_recordset($1::text::json) AS m(t text, p int, l int)),
     u AS (
       UPDATE kbin_partition k SET leader_node = m.l, leader_epoch = k.leader_epoch + 1
       FROM m WHERE k.topic_id = m.t AND k.partition = m.p
       RETURNING k.topic_id, k.partition, k.leader_epoch, k.next_offset
     )
     INSERT INTO kbin_partition_epoch (topic_id, partition, epoch, start_offset)
     SELECT topic_id, partition, leader_epoch, next_offset FROM u
     ON CONFLICT (topic_id, partition, epoch) DO UPDATE SET start_offset = excluded.start_offset`,
    [JSON.stringify(moves)],
  );
}

/** The `listeners` column: JSON `[{name, host, port}]`, or null (a broker that registered none). */
function parseEndpoints(value: unknown): BrokerEndpoint[] | null {
  if (typeof value !== "string") return null;
  try {
    const list = JSON.parse(value) as unknown;
    if (!Array.isArray(list)) return null;
    return list.filter((e): e is BrokerEndpoint =>
      typeof e?.name === "string" && typeof e?.host === "string" && Number.isInteger(e?.port)
    );
  } catch {
    return null;
  }
}
