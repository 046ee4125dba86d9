/**
 * Where partitions and coordinator shards go among live brokers, computed the same way by every
 * broker: rendezvous (highest random weight) hashing, so that when a broker joins or leaves only
 * the partitions it gains or held move; and Kafka's own mapping of a group id onto a coordinator
 * shard (`abs(String.hashCode) % count`, as Kafka maps it onto a `__consumer_offsets` partition).
 *
 * @module
 */

/**
 * Java's `String.hashCode` (over UTF-16 code units), which Kafka hashes group and transactional
 * ids with.
 * @param s the string
 * @returns the int32 hash
 */
export function javaStringHash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0;
  return h;
}

/**
 * The coordinator shard of a group or transactional id: Kafka's `Utils.abs(key.hashCode()) % count`.
 * @param key the group or transactional id
 * @param count the number of shards
 * @returns the shard index
 */
export function coordinatorShard(key: string, count: number): number {
  const h = javaStringHash(key);
  return (h === -0x80000000 ? 0 : Math.abs(h)) % count;
}

/** A 32-bit FNV-1a hash of `key` mixed with `node`, finished with murmur3's avalanche. */
function weight(key: string, node: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  for (let i = 0; i < 4; i++) h = Math.imul(h ^ ((node >>> (i * 8)) & 0xff), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * The broker that leads `key` among `nodes` by rendezvous hashing (-1 when there are none): the
 * node with the highest weight, ties to the lower id.
 * @param key what is placed, e.g. "p/TOPIC_ID/3" or "s/7"
 * @param nodes the live node ids
 * @returns the leader's node id
 */
export function rendezvousLeader(key: string, nodes: readonly number[]): number {
  let best = -1;
  let bestWeight = -1;
  for (const node of nodes) {
    const w = weight(key, node);
    if (w > bestWeight || (w === bestWeight && node < best)) {
      best = node;
      bestWeight = w;
    }
  }
  return best;
}

/** The placement key of a partition. */
export function partitionKey(topicId: string, partition: number): string {
  return `p/${topicId}/${partition}`;
}

/** The placement key of a coordinator shard. */
export function shardKey(shard: number): string {
  return `s/${shard}`;
}
