/**
 * The coordinator's view of committed offsets and saved groups: loaded from {@link GroupStorage}
 * when the coordinator takes their shards, read synchronously by OffsetFetch and the group logic, and
 * changed only as storage acknowledges each write. Storage resolves writes in issue order, so the
 * view follows the order of the writes (a delete issued after a commit is applied after it).
 *
 * Commits are awaited by OffsetCommit before it answers. State saves and deletions issued from
 * timers are not awaited by anyone; their failures are logged.
 *
 * @module
 */

import type { Clock, Logger } from "../../ports.ts";
import { ErrorCode } from "../../protocol/generated/errors.ts";
import { type CommittedOffset, type GroupStorage, type SavedGroup, StorageError } from "../../storage/engine.ts";

export type { CommittedOffset, SavedGroup };

function key(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

/** Offsets and group state of every group. */
export class GroupCache {
  readonly #storage: GroupStorage;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #offsets = new Map<string, Map<string, CommittedOffset>>();
  readonly #groups = new Map<string, SavedGroup>();

  private constructor(storage: GroupStorage, options: { clock: Clock; logger: Logger }) {
    this.#storage = storage;
    this.#clock = options.clock;
    this.#logger = options.logger;
  }

  /** An empty cache: groups come in as the coordinator takes their shards ({@link adopt}). */
  static empty(storage: GroupStorage, options: { clock: Clock; logger: Logger }): GroupCache {
    return new GroupCache(storage, options);
  }

  /**
   * Reads the saved offsets and groups of the groups `owned` selects from storage, replacing what
   * the cache held for them (a coordinator taking shards over).
   * @returns the saved groups adopted
   */
  async adopt(owned: (groupId: string) => boolean): Promise<SavedGroup[]> {
    const saved = await this.#storage.load();
    this.forget(owned);
    for (const [groupId, offsets] of saved.offsets) {
      if (!owned(groupId)) continue;
      const m = this.#groupOffsets(groupId);
      for (const o of offsets) m.set(key(o.topic, o.partition), o);
    }
    const groups = saved.groups.filter((g) => owned(g.groupId));
    for (const g of groups) this.#groups.set(g.groupId, g);
    return groups;
  }

  /** Drops the groups `doomed` selects from the cache (their shard moved); storage keeps them. */
  forget(doomed: (groupId: string) => boolean): void {
    for (const groupId of [...this.#offsets.keys()]) if (doomed(groupId)) this.#offsets.delete(groupId);
    for (const groupId of [...this.#groups.keys()]) if (doomed(groupId)) this.#groups.delete(groupId);
  }

  #groupOffsets(groupId: string): Map<string, CommittedOffset> {
    let m = this.#offsets.get(groupId);
    if (!m) {
      m = new Map();
      this.#offsets.set(groupId, m);
    }
    return m;
  }

  /** A write nobody awaits: failures are logged. */
  #background(p: Promise<void>, what: string, groupId: string): Promise<void> {
    return p.catch((err) => {
      if (err instanceof StorageError && err.errorCode === ErrorCode.NOT_COORDINATOR) {
        this.#logger.info("Did not store group state: its coordinator moved", { what, group: groupId });
        return;
      }
      this.#logger.error("Could not store group state", { what, group: groupId, error: String(err) });
    });
  }

  /** Stores offsets atomically; they are visible (and the promise resolves) once durable. */
  async commit(groupId: string, offsets: readonly CommittedOffset[]): Promise<void> {
    if (offsets.length === 0) return;
    await this.#storage.commitOffsets(groupId, offsets);
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

  /**
   * Deletes offsets of a group: all, or those of one topic (optionally some partitions). Returns
   * how many are deleted; they disappear once storage has deleted them.
   */
  deleteOffsets(groupId: string, topic?: string, partitions?: readonly number[]): Promise<number> {
    const m = this.#offsets.get(groupId);
    if (!m) return Promise.resolve(0);
    const doomed = [...m.values()].filter((o) =>
      topic === undefined || (o.topic === topic && (partitions === undefined || partitions.includes(o.partition)))
    );
    if (doomed.length === 0) return Promise.resolve(0);
    return this.#storage.deleteOffsets(groupId, doomed).then(() => {
      const now = this.#offsets.get(groupId);
      if (now) {
        for (const o of doomed) {
          // Only what was deleted: a commit that landed in between has a newer value.
          if (now.get(key(o.topic, o.partition)) === o) now.delete(key(o.topic, o.partition));
        }
        if (now.size === 0) this.#offsets.delete(groupId);
      }
      return doomed.length;
    });
  }

  /** Removes a deleted topic's offsets from every group. */
  deleteTopic(topic: string): Promise<void> {
    return Promise.all(
      [...this.#offsets.keys()].map((g) => this.#background(this.deleteOffsets(g, topic).then(() => {}), "offsets", g)),
    ).then(() => {});
  }

  /** Saves a group's state snapshot (replacing the previous one) in the background. */
  saveGroup(groupId: string, type: "classic" | "consumer", state: unknown): Promise<void> {
    const saved: SavedGroup = { groupId, type, state: JSON.stringify(state), updatedMs: this.#clock.now() };
    this.#groups.set(groupId, saved);
    return this.#background(this.#storage.saveGroup(saved), "group", groupId);
  }

  savedGroups(): SavedGroup[] {
    return [...this.#groups.values()];
  }

  /** Forgets a group entirely: state and offsets. Resolves once stored. */
  async deleteGroup(groupId: string): Promise<void> {
    const doomed = this.#offsets.get(groupId);
    this.#groups.delete(groupId);
    await this.#storage.deleteGroup(groupId);
    if (this.#offsets.get(groupId) === doomed) this.#offsets.delete(groupId);
  }
}
