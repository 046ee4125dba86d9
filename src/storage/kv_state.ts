/**
 * Group storage and namespaced state over an ordered key-value log: the shape Kafka gives
 * `__consumer_offsets` (a compacted log of keyed records, loaded into memory by the coordinator).
 * The `file:` engine puts it on its state journal; the `memory:` engine on a map.
 *
 * Keys are JSON arrays, so that any group id, topic name or document key is safe and a prefix
 * selects one kind (`["o","group",…` is every offset of a group).
 *
 * @module
 */

import type { CommittedOffset, GroupsSnapshot, GroupStorage, SavedGroup, StateStorage } from "./engine.ts";

/** An ordered, atomic key-value log (the file engine's StateJournal, or {@link MemoryKv}). */
export interface KvLog {
  get(key: string): string | undefined;
  /** Entries whose key starts with `prefix`. */
  entries(prefix?: string): [string, string][];
  /** Sets (string) or deletes (null) keys atomically; resolves once durable, in issue order. */
  write(ops: readonly (readonly [key: string, value: string | null])[]): Promise<void>;
}

/** A {@link KvLog} in memory: writes apply at once and resolve in order. */
export class MemoryKv implements KvLog {
  readonly #map = new Map<string, string>();

  get(key: string): string | undefined {
    return this.#map.get(key);
  }

  entries(prefix = ""): [string, string][] {
    return [...this.#map].filter(([k]) => k.startsWith(prefix));
  }

  write(ops: readonly (readonly [string, string | null])[]): Promise<void> {
    for (const [k, v] of ops) {
      if (v === null) this.#map.delete(k);
      else this.#map.set(k, v);
    }
    return Promise.resolve();
  }
}

/** JSON-array key; `open` leaves the array open so it can serve as a prefix. */
function key(parts: readonly (string | number)[], open = false): string {
  const text = JSON.stringify(parts);
  return open ? `${text.slice(0, -1)},` : text;
}

const OFFSETS = "o";
const GROUPS = "g";
const STATE = "s";

/**
 * The group a key of {@link kvGroupStorage} belongs to (null for other keys): engines that fence
 * group writes by coordinator shard find the shard from it.
 * @param k a key
 * @returns the group id, or null
 */
export function groupOfKey(k: string): string | null {
  if (!k.startsWith(`["${OFFSETS}",`) && !k.startsWith(`["${GROUPS}",`)) return null;
  return (JSON.parse(k) as [string, string])[1];
}

/**
 * The key of a document of {@link kvStateStorage}, and the prefix of every key of a namespace.
 * @param namespace the namespace
 * @param k the document key, or undefined for the namespace's prefix
 * @returns the key or prefix
 */
export function stateKey(namespace: string, k?: string): string {
  return k === undefined ? key([STATE, namespace], true) : key([STATE, namespace, k]);
}

/**
 * The document key of a key {@link stateKey} made.
 * @param k the stored key
 * @returns the document key
 */
export function documentKeyOf(k: string): string {
  return (JSON.parse(k) as [string, string, string])[2];
}

interface StoredOffset {
  offset: number;
  leaderEpoch: number;
  metadata: string | null;
  commitMs: number;
}

interface StoredGroup {
  type: "classic" | "consumer";
  state: string;
  updatedMs: number;
}

/**
 * Group storage over a key-value log.
 * @param kv the log
 * @returns the group storage
 */
export function kvGroupStorage(kv: KvLog): GroupStorage {
  return {
    load(): Promise<GroupsSnapshot> {
      const offsets = new Map<string, CommittedOffset[]>();
      for (const [k, v] of kv.entries(key([OFFSETS], true))) {
        const [, groupId, topic, partition] = JSON.parse(k) as [string, string, string, number];
        const o = JSON.parse(v) as StoredOffset;
        let list = offsets.get(groupId);
        if (!list) offsets.set(groupId, list = []);
        list.push({ topic, partition, ...o });
      }
      const groups: SavedGroup[] = kv.entries(key([GROUPS], true)).map(([k, v]) => {
        const [, groupId] = JSON.parse(k) as [string, string];
        return { groupId, ...(JSON.parse(v) as StoredGroup) };
      });
      return Promise.resolve({ offsets, groups });
    },

    commitOffsets(groupId: string, offsets: readonly CommittedOffset[]): Promise<void> {
      return kv.write(offsets.map((o) => {
        const stored: StoredOffset = {
          offset: o.offset,
          leaderEpoch: o.leaderEpoch,
          metadata: o.metadata,
          commitMs: o.commitMs,
        };
        return [key([OFFSETS, groupId, o.topic, o.partition]), JSON.stringify(stored)] as const;
      }));
    },

    deleteOffsets(groupId: string, partitions: readonly { topic: string; partition: number }[]): Promise<void> {
      return kv.write(partitions.map((p) => [key([OFFSETS, groupId, p.topic, p.partition]), null] as const));
    },

    saveGroup(group: SavedGroup): Promise<void> {
      const stored: StoredGroup = { type: group.type, state: group.state, updatedMs: group.updatedMs };
      return kv.write([[key([GROUPS, group.groupId]), JSON.stringify(stored)]]);
    },

    deleteGroup(groupId: string): Promise<void> {
      const doomed = kv.entries(key([OFFSETS, groupId], true)).map(([k]) => [k, null] as const);
      return kv.write([...doomed, [key([GROUPS, groupId]), null]]);
    },
  };
}

/**
 * Namespaced documents over a key-value log.
 * @param kv the log
 * @returns the state storage
 */
export function kvStateStorage(kv: KvLog): StateStorage {
  return {
    get(namespace: string, k: string): Promise<string | null> {
      return Promise.resolve(kv.get(stateKey(namespace, k)) ?? null);
    },
    list(namespace: string): Promise<[string, string][]> {
      const out = kv.entries(stateKey(namespace)).map(([k, v]): [string, string] => [documentKeyOf(k), v]);
      return Promise.resolve(out.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    },
    put(namespace: string, entries: readonly (readonly [string, string | null])[]): Promise<void> {
      return kv.write(entries.map(([k, v]) => [stateKey(namespace, k), v] as const));
    },
  };
}
