/**
 * The `memory:` engine: all state in maps and arrays, nothing on disk (the default of the
 * embedded `startBroker()`, and the quickest engine for tests). Every write is acknowledged at
 * once and nothing survives the process. It passes the same contract suite as the persistent
 * engines, less the restart cases.
 *
 * @module
 */

import type { PartitionRef, Storage, StorageOptions } from "../engine.ts";
import { kvGroupStorage, kvStateStorage, MemoryKv } from "../kv_state.ts";
import { fail, ok, type Result } from "../result.ts";
import { singleNodeCluster } from "../single_node.ts";
import { randomKafkaUuid, TopicCatalog, TopicErrorCode } from "../topic_catalog.ts";
import { MemoryPartition } from "./memory_partition.ts";

/**
 * Opens an empty in-memory storage.
 * @param o the common storage options (log settings are not used: there are no segments)
 * @returns the storage
 */
export function openMemoryStorage(o: StorageOptions): Storage {
  const partitions = new Map<string, MemoryPartition>();
  const keyOf = (topicId: string, partition: number) => `${topicId}/${partition}`;
  const kv = new MemoryKv();
  let nextProducerId = 0;
  const topics = new TopicCatalog({
    insertTopic: () => Promise.resolve(),
    deleteTopic(t) {
      for (let i = 0; i < t.partitions; i++) {
        partitions.get(keyOf(t.id, i))?.delete();
        partitions.delete(keyOf(t.id, i));
      }
      return Promise.resolve();
    },
    addPartitions: () => Promise.resolve(),
    writeConfigs: () => Promise.resolve(),
  }, { now: () => o.clock.now() });
  const leaderEpoch = (ref: PartitionRef) => partitions.get(keyOf(ref.topicId, ref.partition))?.leaderEpoch ?? 0;
  return {
    clusterId: randomKafkaUuid(),
    claimNode(nodeId: number): Promise<Result<number>> {
      if (!Number.isInteger(nodeId) || nodeId < 0 || nodeId > 0x7fffffff) {
        return Promise.resolve(
          fail(TopicErrorCode.INVALID_CONFIG, `Cannot start as node ${nodeId}: a node id must be an int32 >= 0`),
        );
      }
      return Promise.resolve(ok(nodeId));
    },
    topics,
    partition(ref: PartitionRef): Promise<MemoryPartition> {
      const key = keyOf(ref.topicId, ref.partition);
      let p = partitions.get(key);
      if (!p) {
        p = new MemoryPartition({
          name: `${ref.topicName}-${ref.partition}`,
          now: () => o.clock.now(),
          decompress: o.decompress,
          ...(o.compress ? { compress: o.compress } : {}),
        });
        partitions.set(key, p);
      }
      return Promise.resolve(p);
    },
    leaderEpoch,
    cluster: singleNodeCluster(leaderEpoch),
    groups: kvGroupStorage(kv),
    reserveProducerIds(count: number): Promise<number> {
      const first = nextProducerId;
      nextProducerId += count;
      return Promise.resolve(first);
    },
    state: kvStateStorage(kv),
    logDirs: () => Promise.resolve([{ path: "memory:", totalBytes: -1, usableBytes: -1, errorCode: 0 }]),
    close(): Promise<void> {
      for (const p of partitions.values()) p.delete();
      partitions.clear();
      topics.clear();
      return Promise.resolve();
    },
  };
}
