/**
 * Produce (key 0), v0–v13.
 *
 * v3+ carries exactly one RecordBatch v2 per partition (INVALID_RECORD otherwise). v0–v2 carry
 * legacy MessageSets (magic 0/1), which are up-converted to one v2 batch before they are
 * stored, as Kafka 3.x did; the log only ever holds v2.
 *
 * Per partition, in Kafka's order: unknown topic or partition → UNKNOWN_TOPIC_OR_PARTITION;
 * a partition another broker leads (several brokers on PostgreSQL) → NOT_LEADER_OR_FOLLOWER, also
 * when the leadership moves while the batch is written; batch larger than `max.message.bytes` → MESSAGE_TOO_LARGE; bad CRC or structure →
 * CORRUPT_MESSAGE / INVALID_RECORD; a record without a key on a topic whose `cleanup.policy`
 * includes `compact` → INVALID_RECORD with each such record's index in `record_errors` (KIP-467,
 * Kafka's LogValidator); a CreateTime timestamp outside
 * `message.timestamp.before/after.max.ms` → INVALID_TIMESTAMP; LogAppendTime rewrites the max
 * timestamp and CRC; a topic `compression.type` other than `producer` recompresses; idempotent
 * batches go through the producer state (a retry gets its original offsets; gaps and stale
 * epochs their errors); a disk failure → KAFKA_STORAGE_ERROR. Errors stay with their partition:
 * an unexpected exception while handling one (a recompression or storage bug) answers that
 * partition with UNKNOWN_SERVER_ERROR (KAFKA_STORAGE_ERROR for I/O) and is logged.
 *
 * Versions: v0–v2 were removed by Kafka 4.0 (KIP-896) and are served as Kafka 3.9 did. v12 is
 * v11 (with transactions v2 it adds partitions to a transaction implicitly, KIP-890). v13 names
 * topics by id (KIP-516): an unknown id is UNKNOWN_TOPIC_ID.
 *
 * Acknowledgement: acks=0 sends no response (and closes the connection on an error, as Kafka
 * does, so the client refreshes metadata); acks=1 answers once the OS has the bytes; acks=-1
 * once they are on stable storage (group commit: one datasync covers every batch written
 * before it began).
 *
 * Validation walks the records once (decompressing when needed): it yields the CRC and
 * structure verdict and the records' min and max timestamps, which are checked against the
 * bounds and written as the batch's max timestamp for CreateTime, as Kafka's LogValidator does.
 *
 * Transactional batches open their producer's transaction in the partition (the last stable
 * offset stops there) until the coordinator's COMMIT or ABORT marker. The first one of a producer
 * in a partition is verified with the transaction's coordinator first (KIP-890,
 * `txn/verification.ts`): a batch of no ongoing transaction is refused (INVALID_TXN_STATE, or
 * TRANSACTION_ABORTABLE from v12), so it can never leave a hanging transaction; from v12 (with
 * `transaction.version` 2) the coordinator adds the partition to the transaction instead.
 *
 * @module
 */

import { Codec, codecFromName } from "../../protocol/compression/mod.ts";
import { ErrorCode } from "../../protocol/generated/errors.ts";
import {
  type PartitionProduceResponse,
  PRODUCE_API,
  type ProduceRequest,
  type ProduceResponse,
  type TopicProduceResponse,
} from "../../protocol/generated/00_produce.ts";
import {
  inspectBatch,
  recompressBatch,
  setLogAppendTime,
  setMaxTimestamp,
  upConvertMessageSet,
} from "../../protocol/records/mod.ts";
import { openBatch } from "../../protocol/records/compact.ts";
import type { Input } from "../../protocol/types.ts";
import { StorageError } from "../../storage/engine.ts";
import { F, int64, view } from "../../storage/batch_fields.ts";
import type { Topic } from "../../storage/engine.ts";
import { type BrokerContext, notLeaderError, partitionOf } from "../context.ts";
import { CloseConnection } from "../conn_state.ts";
import { partFailure } from "../part_errors.ts";
import { defineHandler, type RequestContext } from "../registry.ts";
import { AclOperation, ResourceType } from "../acl/model.ts";

type PartitionResult = Input<PartitionProduceResponse>;

/** `fn`, callable many times but run at most once. */
function once(fn: () => void): () => void {
  let done = false;
  return () => {
    if (!done) {
      done = true;
      fn();
    }
  };
}

function failed(index: number, errorCode: number, errorMessage: string | null = null): PartitionResult {
  return { index, errorCode, baseOffset: -1n, logAppendTimeMs: -1n, logStartOffset: -1n, errorMessage };
}

/** Validates, converts and appends one partition's records; never throws for Kafka outcomes. */
async function producePartition(
  broker: BrokerContext,
  topic: Topic,
  index: number,
  records: Uint8Array | null,
  acks: number,
  version: number,
  transactionalId: string | null,
  appended: () => void,
): Promise<PartitionResult> {
  try {
    return await appendPartition(broker, topic, index, records, acks, version, transactionalId, appended);
  } catch (err) {
    // Inline rather than guardPart(): no closure or context object per partition on the hot path.
    const f = partFailure(err, {
      logger: broker.logger,
      context: { api: "Produce", version, topic: topic.name, partition: index },
    });
    return failed(index, f.code, f.message);
  } finally {
    appended(); // refusals never reach the log; they release at once
  }
}

/** The body of {@link producePartition}; calls `appended` once the batch has its offsets. */
async function appendPartition(
  broker: BrokerContext,
  topic: Topic,
  index: number,
  records: Uint8Array | null,
  acks: number,
  version: number,
  transactionalId: string | null,
  appended: () => void,
): Promise<PartitionResult> {
  if (index < 0 || index >= topic.partitions) {
    return failed(index, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, "This server does not host this topic-partition.");
  }
  if (notLeaderError(broker, topic, index) !== 0) {
    return failed(index, ErrorCode.NOT_LEADER_OR_FOLLOWER, `This server is not the leader for ${topic.name}-${index}`);
  }
  if (records === null || records.length < 17) {
    return failed(
      index,
      ErrorCode.INVALID_RECORD,
      `Produce requests with version ${version} must have at least one record batch per partition`,
    );
  }
  const policy = broker.policies.for(topic);
  const codecs = broker.codecs;
  const decompress = (codec: number, data: Uint8Array) => codecs.decompress(codec, data);
  const compress = (codec: number, data: Uint8Array) => codecs.compress(codec, data);
  const now = broker.clock.now();
  let batch = records;
  const magic = records[16]!;
  if (magic < 2) {
    if (version >= 3) {
      return failed(
        index,
        ErrorCode.INVALID_RECORD,
        `Produce requests with version ${version} are only allowed to contain record batches with magic version 2`,
      );
    }
    const converted = upConvertMessageSet(records, { compress, decompress, now: () => BigInt(now) });
    if (!converted.ok) return failed(index, converted.code, converted.message);
    // No whole message: Kafka trims the partial tail and appends nothing, successfully.
    if (converted.recordCount === 0) {
      return { index, errorCode: ErrorCode.NONE, baseOffset: -1n, logAppendTimeMs: -1n, logStartOffset: -1n };
    }
    batch = converted.batch;
  } else if (magic !== 2) {
    return failed(index, ErrorCode.CORRUPT_MESSAGE, `Unknown record batch magic ${magic}`);
  }
  const v = view(batch);
  const size = batch.length >= 12 ? 12 + v.getInt32(F.BATCH_LENGTH) : -1;
  if (size !== batch.length) {
    return failed(
      index,
      ErrorCode.INVALID_RECORD,
      `Produce requests with version ${version} are only allowed to contain exactly one record batch`,
    );
  }
  if (size > policy.maxMessageBytes) {
    return failed(
      index,
      ErrorCode.MESSAGE_TOO_LARGE,
      `The request included a message larger than the max message size the server will accept (${size} > ${policy.maxMessageBytes}).`,
    );
  }
  if (version < 7 && (v.getInt16(F.ATTRIBUTES) & 0x07) === Codec.ZSTD) {
    // KIP-110: zstd needs Produce v7, so that old consumers never meet it.
    return failed(
      index,
      ErrorCode.UNSUPPORTED_COMPRESSION_TYPE,
      "Produce requests with ZStandard compression need version 7 or later",
    );
  }
  const inspected = inspectBatch(batch, 0, size, { decompress });
  if (!inspected.ok) return failed(index, inspected.code, inspected.message);
  const attributes = v.getInt16(F.ATTRIBUTES);
  if ((attributes & 0x30) === 0x10) {
    // A transactional data batch (control batches from clients are the log's to refuse).
    const producerId = BigInt(int64(v, F.PRODUCER_ID));
    const producerEpoch = v.getInt16(F.PRODUCER_EPOCH);
    const code = await broker.txnVerifier.verify(transactionalId, {
      topic: topic.name,
      partition: index,
      producerId,
      producerEpoch,
    }, version);
    if (code !== ErrorCode.NONE) {
      return failed(
        index,
        code,
        `The transactional batch of producer ${producerId} (epoch ${producerEpoch}) does not belong to an ongoing transaction of ${
          JSON.stringify(transactionalId)
        } that includes ${topic.name}-${index}`,
      );
    }
  }
  if (policy.cleanupPolicy.has("compact")) {
    // KIP-467, as Kafka's LogValidator: every keyless record is named by its index in the batch.
    const keyless = openBatch(batch, 0, decompress).records.flatMap((r, i) => (r.key === null ? [i] : []));
    if (keyless.length > 0) {
      const message = `Compacted topic cannot accept message without key in topic partition ${topic.name}-${index}.`;
      return {
        ...failed(index, ErrorCode.INVALID_RECORD, message),
        recordErrors: keyless.map((batchIndex) => ({ batchIndex, batchIndexErrorMessage: message })),
      };
    }
  }
  if (policy.logAppendTime) {
    setLogAppendTime(batch, 0, BigInt(now));
  } else {
    // Records without a timestamp (-1) are exempt, as in Kafka's LogValidator.
    const min = Number(inspected.minTimestamp);
    const max = Number(inspected.maxTimestamp);
    if ((min >= 0 && now - min > policy.timestampBeforeMaxMs) || (max >= 0 && max - now > policy.timestampAfterMaxMs)) {
      return failed(
        index,
        ErrorCode.INVALID_TIMESTAMP,
        `Timestamp of a record in the batch is out of range: min ${min}, max ${max}, broker time ${now}`,
      );
    }
    if (BigInt(int64(v, F.MAX_TIMESTAMP)) !== inspected.maxTimestamp) {
      setMaxTimestamp(batch, 0, inspected.maxTimestamp, "create");
    }
  }
  if (policy.compressionType !== "producer") {
    const target = codecFromName(policy.compressionType) ?? Codec.NONE;
    if ((v.getInt16(F.ATTRIBUTES) & 0x07) !== target) {
      batch = recompressBatch(batch, 0, target, { compress, decompress });
    }
  }
  try {
    const log = await partitionOf(broker, topic, index);
    const outcome = await log.append(batch);
    appended();
    if (outcome.kind === "error") return failed(index, outcome.code, outcome.message);
    const logAppendTimeMs = policy.logAppendTime
      ? BigInt(outcome.kind === "duplicate" ? outcome.maxTimestamp : now)
      : -1n;
    if (outcome.kind === "appended") {
      broker.metrics.produced(topic.name, batch.length, view(batch).getInt32(F.RECORD_COUNT));
      // Awaited whatever acks says (acks=0 only has no one to tell): the request's bytes may be a
      // pooled buffer, reused once this handler settles, so the log must be done reading them.
      await outcome.written;
      if (acks === -1) await log.waitDurable(outcome.lastOffset + 1);
    }
    return {
      index,
      errorCode: ErrorCode.NONE,
      baseOffset: BigInt(outcome.baseOffset),
      logAppendTimeMs,
      logStartOffset: BigInt(log.logStartOffset),
      errorMessage: null,
    };
  } catch (err) {
    if (err instanceof StorageError) return failed(index, err.errorCode, err.message);
    throw err;
  }
}

/**
 * `Promise.all` that settles only once every promise has: a failed partition must not end the
 * request while another partition's write still reads the request's bytes.
 */
async function allSettled<T>(promises: (T | Promise<T>)[]): Promise<T[]> {
  const results = await Promise.allSettled(promises);
  const failure = results.find((r) => r.status === "rejected");
  if (failure) throw failure.reason;
  return results.map((r) => (r as PromiseFulfilledResult<T>).value);
}

/** The Produce handler's work (the handler below times it). */
async function produce(
  request: ProduceRequest,
  ctx: RequestContext,
): Promise<Input<ProduceResponse> | null> {
  const { broker, version } = ctx;
  const acks = request.acks;
  if (acks !== 0 && acks !== 1 && acks !== -1) {
    const responses = request.topicData.map((t) => ({
      name: t.name,
      partitionResponses: t.partitionData.map((p) => failed(p.index, ErrorCode.INVALID_REQUIRED_ACKS)),
    }));
    return { responses, throttleTimeMs: 0 };
  }
  // Once every partition's batch has its offsets, the connection may take its next request
  // while this one waits for durability (ordering is already fixed by then).
  let waiting = request.topicData.reduce((n, t) => n + t.partitionData.length, 0);
  const appended = () => {
    if (--waiting === 0) ctx.release();
  };
  if (waiting === 0) ctx.release();
  const byId = version >= 13;
  // ACLs (Kafka's handleProduceRequest): WRITE on the transactional id fails the whole request,
  // WRITE on each topic its partitions.
  const txnDenied = request.transactionalId !== null &&
    !ctx.allowed(AclOperation.WRITE, ResourceType.TRANSACTIONAL_ID, request.transactionalId);
  const pending: Promise<Input<TopicProduceResponse>>[] = request.topicData.map(async (t) => {
    const found = byId ? broker.storage.topics.byId(t.topicId) : broker.storage.topics.get(t.name);
    const name = found.ok ? found.value.name : t.name;
    const denied = txnDenied
      ? ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED
      : (byId && !found.ok) || ctx.allowed(AclOperation.WRITE, ResourceType.TOPIC, name)
      ? ErrorCode.NONE
      : ErrorCode.TOPIC_AUTHORIZATION_FAILED;
    const partitionResponses = await allSettled(
      t.partitionData.map((p) => {
        if (denied !== ErrorCode.NONE) {
          appended();
          return failed(p.index, denied);
        }
        if (found.ok) {
          return producePartition(
            broker,
            found.value,
            p.index,
            p.records,
            acks,
            version,
            request.transactionalId,
            once(appended),
          );
        }
        appended();
        return byId
          ? failed(p.index, ErrorCode.UNKNOWN_TOPIC_ID, `Topic id ${t.topicId} does not exist`)
          : failed(p.index, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, "This server does not host this topic-partition.");
      }),
    );
    return { name: t.name, topicId: t.topicId, partitionResponses };
  });
  const responses = await allSettled(pending);
  if (acks === 0) {
    const error = responses.flatMap((t) => t.partitionResponses ?? []).find((p) => (p.errorCode ?? 0) !== 0);
    if (error) {
      throw new CloseConnection(`acks=0 produce failed with error ${error.errorCode}: ${error.errorMessage ?? ""}`);
    }
    return null;
  }
  return { responses, throttleTimeMs: 0 };
}

export default defineHandler(PRODUCE_API, {
  minVersion: 0,
  maxVersion: 13,
  async handle(request, ctx) {
    const started = performance.now();
    const answer = await produce(request, ctx);
    ctx.broker.metrics.produceDone(request.acks, (performance.now() - started) / 1000);
    return answer;
  },
});
