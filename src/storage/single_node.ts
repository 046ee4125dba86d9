/**
 * The cluster of a storage only one broker uses (`file:` and `memory:`): that broker, once it
 * joined, leads every partition and every coordinator shard, at the partition's epoch in storage.
 *
 * @module
 */

import type { BrokerInfo, ClusterStorage, Leadership, PartitionRef } from "./engine.ts";
import { ok, type Result } from "./result.ts";

/** Shards of a single broker: one suffices, it leads them all. */
const SINGLE_NODE_SHARDS = 1;

/**
 * A one-broker cluster.
 * @param leaderEpoch the storage's current epoch of a partition
 * @returns the cluster view
 */
export function singleNodeCluster(leaderEpoch: (ref: PartitionRef) => number): ClusterStorage {
  let self: BrokerInfo | null = null;
  const listeners = new Set<() => void>();
  return {
    join(info: BrokerInfo): Promise<Result<void>> {
      self = { ...info };
      for (const fn of [...listeners]) fn();
      return Promise.resolve(ok(undefined));
    },
    brokers: () => (self ? [self] : []),
    partitionLeader: (ref: PartitionRef): Leadership => ({ leader: self?.nodeId ?? -1, epoch: leaderEpoch(ref) }),
    shardCount: SINGLE_NODE_SHARDS,
    shardLeader: (): Leadership => ({ leader: self?.nodeId ?? -1, epoch: 0 }),
    onChange(fn: () => void): () => void {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
  };
}
