/**
 * Transaction markers: the COMMIT or ABORT control batch a transaction's coordinator writes to
 * every partition the transaction touched, and the marker of a consumer group's offsets (Kafka
 * writes it to the group's `__consumer_offsets` partition; kbin completes the group's staged
 * transactional offsets, `group_offsets.ts`). Both the coordinator (for partitions this broker
 * leads) and WriteTxnMarkers (for markers another coordinator sends) write them through here.
 *
 * @module
 */

import { ErrorCode } from "../../protocol/generated/errors.ts";
import { buildBatch } from "../../protocol/records/records.ts";
import type { Logger } from "../../ports.ts";
import type { Storage } from "../../storage/engine.ts";
import type { TxnVerifier } from "./verification.ts";

/** The topic name WriteTxnMarkers uses for a consumer group's offsets (partition = the group's shard). */
export const GROUP_OFFSETS_TOPIC = "__consumer_offsets";

/**
 * A marker batch: COMMIT (type 1) or ABORT (type 0) of a producer at an epoch.
 * @param coordinatorEpoch the coordinator's epoch, in the control record's value (fences stale coordinators)
 */
export function markerBatch(
  producerId: bigint,
  producerEpoch: number,
  commit: boolean,
  nowMs: number,
  coordinatorEpoch = 0,
): Uint8Array {
  // Control record key: version 0, type; value: version 0, coordinator epoch.
  const value = new Uint8Array(6);
  new DataView(value.buffer).setInt32(2, coordinatorEpoch);
  return buildBatch(
    [{ key: new Uint8Array([0, 0, 0, commit ? 1 : 0]), value, timestamp: BigInt(nowMs) }],
    { producerId, producerEpoch, baseSequence: -1, control: true, transactional: true },
  );
}

/** One marker to write to one partition. */
export interface MarkerWrite {
  topic: string;
  partition: number;
  producerId: bigint;
  producerEpoch: number;
  commit: boolean;
  coordinatorEpoch: number;
}

/**
 * Appends a marker to a partition this broker leads and waits until it is durable.
 * @returns an error code: NONE, UNKNOWN_TOPIC_OR_PARTITION, NOT_LEADER_OR_FOLLOWER, or the
 *   log's refusal (INVALID_PRODUCER_EPOCH, TRANSACTION_COORDINATOR_FENCED, KAFKA_STORAGE_ERROR)
 */
export async function writeMarker(
  deps: { storage: Storage; nodeId: number; logger: Logger; nowMs: number; verifier?: TxnVerifier },
  m: MarkerWrite,
): Promise<number> {
  const { storage } = deps;
  const t = storage.topics.get(m.topic);
  if (!t.ok || m.partition < 0 || m.partition >= t.value.partitions) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
  const ref = { topicName: m.topic, topicId: t.value.id, partition: m.partition };
  if (storage.cluster.partitionLeader(ref).leader !== deps.nodeId) return ErrorCode.NOT_LEADER_OR_FOLLOWER;
  const log = await storage.partition(ref);
  const r = await log.append(markerBatch(m.producerId, m.producerEpoch, m.commit, deps.nowMs, m.coordinatorEpoch));
  deps.verifier?.forget(m.topic, m.partition, m.producerId);
  if (r.kind === "appended") {
    await r.written;
    await log.waitDurable(r.lastOffset + 1);
    return ErrorCode.NONE;
  }
  if (r.kind === "duplicate") return ErrorCode.NONE;
  deps.logger.warn("A transaction marker was refused", {
    partition: `${m.topic}-${m.partition}`,
    producerId: String(m.producerId),
    error: r.message,
  });
  return r.code;
}
