/**
 * WriteTxnMarkers (key 27), v0–v2: a transaction coordinator (another broker's, or an admin
 * aborting a hanging transaction as Kafka's `kafka-transactions.sh abort` does) asks this broker
 * to write COMMIT or ABORT markers to partitions it leads. Each marker is a control batch at the
 * producer's epoch carrying the coordinator epoch; the log refuses an older producer epoch
 * (INVALID_PRODUCER_EPOCH) or coordinator epoch (TRANSACTION_COORDINATOR_FENCED). The topic
 * `__consumer_offsets` names a consumer group's offsets, partition = the group's coordinator
 * shard: the marker commits or drops the offsets the producer staged there (NOT_COORDINATOR
 * when this broker does not lead that shard). Per partition: UNKNOWN_TOPIC_OR_PARTITION,
 * NOT_LEADER_OR_FOLLOWER where another broker leads it. v0 was removed by Kafka 4.0; it is the
 * same request.
 *
 * @module
 */

import { ErrorCode } from "../../protocol/generated/errors.ts";
import { WRITE_TXN_MARKERS_API } from "../../protocol/generated/27_write_txn_markers.ts";
import type { BrokerContext } from "../context.ts";
import { guardPart } from "../part_errors.ts";
import { AclOperation, CLUSTER_NAME, ResourceType } from "../acl/model.ts";
import { defineHandler } from "../registry.ts";
import { GROUP_OFFSETS_TOPIC, type MarkerWrite, writeMarker } from "../txn/markers.ts";

async function markOne(broker: BrokerContext, m: MarkerWrite): Promise<number> {
  if (m.topic === GROUP_OFFSETS_TOPIC) {
    const { cluster } = broker.storage;
    if (m.partition < 0 || m.partition >= cluster.shardCount) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
    if (cluster.shardLeader(m.partition).leader !== broker.nodeId) return ErrorCode.NOT_COORDINATOR;
    await broker.pendingTxnOffsets.completeShard(m.partition, m.producerId, m.producerEpoch, m.commit);
    return ErrorCode.NONE;
  }
  return await writeMarker({ ...broker, nowMs: broker.clock.now(), verifier: broker.txnVerifier }, m);
}

export default defineHandler(WRITE_TXN_MARKERS_API, {
  minVersion: 0,
  maxVersion: 2,
  async handle(request, ctx) {
    const { broker, version } = ctx;
    // ACLs: brokers (and admins aborting a hanging transaction) need CLUSTER_ACTION on the cluster.
    const allowed = ctx.allowed(AclOperation.CLUSTER_ACTION, ResourceType.CLUSTER, CLUSTER_NAME);
    const markers = [];
    for (const marker of request.markers) {
      if (!allowed) {
        markers.push({
          producerId: marker.producerId,
          topics: marker.topics.map((t) => ({
            name: t.name,
            partitions: t.partitionIndexes.map((partitionIndex) => ({
              partitionIndex,
              errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
            })),
          })),
        });
        continue;
      }
      const topics = [];
      for (const t of marker.topics) {
        const partitions = [];
        for (const partitionIndex of t.partitionIndexes) {
          const m: MarkerWrite = {
            topic: t.name,
            partition: partitionIndex,
            producerId: marker.producerId,
            producerEpoch: marker.producerEpoch,
            commit: marker.transactionResult,
            coordinatorEpoch: marker.coordinatorEpoch,
          };
          const errorCode = await guardPart(() => markOne(broker, m), {
            logger: broker.logger,
            context: { api: "WriteTxnMarkers", version, topic: t.name, partition: partitionIndex },
            onError: (f) => f.code,
          });
          partitions.push({ partitionIndex, errorCode });
        }
        topics.push({ name: t.name, partitions });
      }
      markers.push({ producerId: marker.producerId, topics });
    }
    return { markers };
  },
});
