/**
 * Committed offsets and saved group state, kept in memory and written through to SQLite (the
 * tables come from the metadata store's migrations, so one database holds all cluster state).
 * Kafka keeps the same data in `__consumer_offsets`; a table is the natural form here.
 *
 * Each commit is one SQLite transaction, durable before the OffsetCommit response is sent.
 *
 * @module
 */

import type { Clock, Database } from "../ports.ts";

/** One committed offset. */
export interface CommittedOffset {
  topic: string;
  partition: number;
  offset: number;
  leaderEpoch: number;
  metadata: string | null;
  commitMs: number;
}

/** A saved group: its protocol type and a JSON snapshot of its state. */
export interface SavedGroup {
  groupId: string;
  type: "classic" | "consumer";
  state: string;
  updatedMs: number;
}

function key(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

/** Offsets and group state of every group. */
export class GroupStore {
  readonly #db: Database;
  readonly #clock: Clock;
  readonly #offsets = new Map<string, Map<string, CommittedOffset>>();
  readonly #groups = new Map<string, SavedGroup>();

  /** Loads everything into memory; `db` must already carry the metadata store's schema. */
  constructor(db: Database, options: { clock: Clock }) {
    this.#db = db;
    this.#clock = options.clock;
    for (const r of db.query("SELECT * FROM group_offsets")) {
      const o: CommittedOffset = {
        topic: String(r["topic"]),
        partition: Number(r["partition_index"]),
        offset: Number(r["committed_offset"]),
        leaderEpoch: Number(r["leader_epoch"]),
        metadata: r["metadata"] === null ? null : String(r["metadata"]),
        commitMs: Number(r["commit_ms"]),
      };
      this.#groupOffsets(String(r["group_id"])).set(key(o.topic, o.partition), o);
    }
    for (const r of db.query("SELECT * FROM consumer_groups")) {
      const g: SavedGroup = {
        groupId: String(r["group_id"]),
        type: r["group_type"] === "consumer" ? "consumer" : "classic",
        state: String(r["state"]),
        updatedMs: Number(r["updated_ms"]),
      };
      this.#groups.set(g.groupId, g);
    }
  }

  #groupOffsets(groupId: string): Map<string, CommittedOffset> {
    let m = this.#offsets.get(groupId);
    if (!m) {
      m = new Map();
      this.#offsets.set(groupId, m);
    }
    return m;
  }

  /** Stores offsets in one transaction. */
  commit(groupId: string, offsets: readonly CommittedOffset[]): void {
    if (offsets.length === 0) return;
    this.#db.transaction(() => {
      for (const o of offsets) {
        this.#db.run(
          "INSERT OR REPLACE INTO group_offsets (group_id, topic, partition_index, committed_offset, leader_epoch, metadata, commit_ms) VALUES (?, ?, ?, ?, ?, ?, ?)",
          [groupId, o.topic, o.partition, o.offset, o.leaderEpoch, o.metadata, o.commitMs],
        );
      }
    });
    const m = this.#groupOffsets(groupId);
    for (const o of offsets) m.set(key(o.topic, o.partition), o);
  }

  /** Every committed offset of a group. */
  offsets(groupId: string): CommittedOffset[] {
    return [...(this.#offsets.get(groupId)?.values() ?? [])];
  }

  /** One committed offset, or undefined. */
  offset(groupId: string, topic: string, partition: number): CommittedOffset | undefined {
    return this.#offsets.get(groupId)?.get(key(topic, partition));
  }

  hasOffsets(groupId: string): boolean {
    return (this.#offsets.get(groupId)?.size ?? 0) > 0;
  }

  /** Group ids that have offsets or saved state. */
  groupIds(): string[] {
    return [...new Set([...this.#offsets.keys(), ...this.#groups.keys()])].filter((g) =>
      this.hasOffsets(g) || this.#groups.has(g)
    );
  }

  /** Deletes offsets of a group: all, or those of one topic (optionally some partitions). */
  deleteOffsets(groupId: string, topic?: string, partitions?: readonly number[]): number {
    const m = this.#offsets.get(groupId);
    if (!m) return 0;
    const doomed = [...m.values()].filter((o) =>
      topic === undefined || (o.topic === topic && (partitions === undefined || partitions.includes(o.partition)))
    );
    if (doomed.length === 0) return 0;
    this.#db.transaction(() => {
      for (const o of doomed) {
        this.#db.run("DELETE FROM group_offsets WHERE group_id = ? AND topic = ? AND partition_index = ?", [
          groupId,
          o.topic,
          o.partition,
        ]);
      }
    });
    for (const o of doomed) m.delete(key(o.topic, o.partition));
    if (m.size === 0) this.#offsets.delete(groupId);
    return doomed.length;
  }

  /** Removes a deleted topic's offsets from every group. */
  deleteTopic(topic: string): void {
    for (const groupId of [...this.#offsets.keys()]) this.deleteOffsets(groupId, topic);
  }

  /** Saves a group's state snapshot (replacing the previous one). */
  saveGroup(groupId: string, type: "classic" | "consumer", state: unknown): void {
    const text = JSON.stringify(state);
    const updatedMs = this.#clock.now();
    this.#db.run(
      "INSERT OR REPLACE INTO consumer_groups (group_id, group_type, state, updated_ms) VALUES (?, ?, ?, ?)",
      [groupId, type, text, updatedMs],
    );
    this.#groups.set(groupId, { groupId, type, state: text, updatedMs });
  }

  savedGroups(): SavedGroup[] {
    return [...this.#groups.values()];
  }

  /** Forgets a group entirely: state and offsets. */
  deleteGroup(groupId: string): void {
    this.deleteOffsets(groupId);
    this.#db.run("DELETE FROM consumer_groups WHERE group_id = ?", [groupId]);
    this.#groups.delete(groupId);
  }
}
