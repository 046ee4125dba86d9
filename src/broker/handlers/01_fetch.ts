/**
 * Fetch (key 1), v0–v18.
 *
 * Records are served as read from the segment files: whole batches, never decoded (v0–v3
 * clients get them down-converted to magic 0/1 message sets, as Kafka 3.x did). The first
 * partition with data gets at least one whole batch even past `partition_max_bytes` and
 * `max_bytes` (KIP-74); later partitions stay within both. Reads never cross a segment.
 *
 * Long polling: when fewer than `min_bytes` are ready the request waits, woken by appends to
 * any of its partitions (no polling loop), until `max_wait_ms`. Fetch sessions (KIP-227) are
 * kept in a broker-wide cache: full and incremental requests, forgotten topics,
 * FETCH_SESSION_ID_NOT_FOUND and INVALID_FETCH_SESSION_EPOCH. From v13 topics are named by id.
 *
 * Isolation levels are accepted; the last stable offset equals the high watermark until
 * transactions exist. A current leader epoch older than the partition's is FENCED_LEADER_EPOCH, a
 * newer one UNKNOWN_LEADER_EPOCH.
 *
 * Errors stay with their partition: a read that throws (a failed segment read, a time-index or
 * down-conversion error) answers that partition with KAFKA_STORAGE_ERROR (I/O) or
 * UNKNOWN_SERVER_ERROR, is logged, and the other partitions are served in the same response.
 *
 * Versions: v0–v3 were removed by Kafka 4.0 (KIP-896) and are served as Kafka 3.9 did. v18 adds
 * the follower's high watermark (KIP-1166), which consumers never send.
 *
 * Left out: follower fetching (replica ids ≥ 0 are served as consumers), rack-aware preferred
 * read replicas (always -1), diverging-epoch detection (a single node never diverges).
 *
 * @module
 */

import { ErrorCode } from "../../protocol/generated/errors.ts";
import {
  FETCH_API,
  type FetchRequest,
  type FetchResponse,
  type PartitionData,
} from "../../protocol/generated/01_fetch.ts";
import { ZERO_UUID } from "../../protocol/reader.ts";
import { downConvertBatches } from "../../protocol/records/mod.ts";
import type { Input } from "../../protocol/types.ts";
import { batchSizeAt, F, view } from "../../storage/batch_fields.ts";
import type { PartitionStorage } from "../../storage/engine.ts";
import type { Topic } from "../../storage/engine.ts";
import { type BrokerContext, leaderEpochError, notLeaderError, partitionOf } from "../context.ts";
import { AclOperation, ResourceType } from "../acl/model.ts";
import { type FetchSession, nextSessionEpoch, sessionKey, type SessionPartition } from "../fetch_sessions.ts";
import { partFailure } from "../part_errors.ts";
import { batchRecordCount } from "../metrics/broker_metrics.ts";
import { defineHandler, type RequestContext } from "../registry.ts";

/** One partition to read in this request. */
interface Want {
  key: string;
  topicName: string;
  topicId: string;
  partition: number;
  fetchOffset: bigint;
  maxBytes: number;
  currentLeaderEpoch: number;
  cached: SessionPartition | null;
}

interface Outcome {
  want: Want;
  data: Input<PartitionData>;
  bytes: number;
  log: PartitionStorage | null;
}

const READ_COMMITTED = 1;

/** An error answer; records are empty, never null (librdkafka rejects a -1 MessageSetSize, as Kafka never sends one). */
function errorData(partitionIndex: number, errorCode: number): Input<PartitionData> {
  return {
    partitionIndex,
    errorCode,
    highWatermark: -1n,
    lastStableOffset: -1n,
    logStartOffset: -1n,
    records: new Uint8Array(0),
  };
}

/** Resolves the wanted partitions' topics; unknown ones are reported with their error. */
function resolveTopic(broker: BrokerContext, w: Want, byId: boolean): Topic | number {
  const found = byId ? broker.storage.topics.byId(w.topicId) : broker.storage.topics.get(w.topicName);
  if (!found.ok) return byId ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
  if (w.partition < 0 || w.partition >= found.value.partitions) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
  return found.value;
}

/** Reads every wanted partition once, within the request's byte limits. */
async function readAll(
  broker: BrokerContext,
  wants: Want[],
  request: FetchRequest,
  version: number,
  byId: boolean,
  allowed: RequestContext["allowed"],
): Promise<Outcome[]> {
  let remaining = version >= 3 ? request.maxBytes : 0x7fffffff;
  let minOneBatch = version >= 3;
  const outcomes: Outcome[] = [];
  const mayRead = (name: string) => allowed(AclOperation.READ, ResourceType.TOPIC, name);
  for (const w of wants) {
    // ACLs first, as Kafka: an unauthorized topic is TOPIC_AUTHORIZATION_FAILED whether or not it
    // exists (by id, once the id names a topic).
    let topic = !byId && !mayRead(w.topicName) ? ErrorCode.TOPIC_AUTHORIZATION_FAILED : resolveTopic(broker, w, byId);
    if (byId && typeof topic !== "number" && !mayRead(topic.name)) topic = ErrorCode.TOPIC_AUTHORIZATION_FAILED;
    if (typeof topic === "number") {
      outcomes.push({ want: w, data: errorData(w.partition, topic), bytes: 0, log: null });
      continue;
    }
    let outcome: Outcome;
    try {
      const maxBytes = Math.max(0, Math.min(w.maxBytes, remaining));
      outcome = await readPartition(broker, w, topic, request, version, maxBytes, minOneBatch);
    } catch (err) {
      // Inline rather than guardPart(): no closure or context object per partition on the hot path.
      const f = partFailure(err, {
        logger: broker.logger,
        context: { api: "Fetch", version, topic: topic.name, partition: w.partition, offset: String(w.fetchOffset) },
      });
      outcome = { want: w, data: errorData(w.partition, f.code), bytes: 0, log: null };
    }
    remaining -= outcome.bytes;
    if (outcome.bytes > 0) minOneBatch = false;
    outcomes.push(outcome);
  }
  return outcomes;
}

/** Reads one partition within `maxBytes`; throws only for failures nobody expected. */
async function readPartition(
  broker: BrokerContext,
  w: Want,
  topic: Topic,
  request: FetchRequest,
  version: number,
  maxBytes: number,
  minOneBatch: boolean,
): Promise<Outcome> {
  const notLeader = notLeaderError(broker, topic, w.partition);
  if (notLeader !== ErrorCode.NONE) return { want: w, data: errorData(w.partition, notLeader), bytes: 0, log: null };
  const log = await partitionOf(broker, topic, w.partition);
  const epochError = leaderEpochError(w.currentLeaderEpoch, log.leaderEpoch);
  if (epochError !== ErrorCode.NONE) return { want: w, data: errorData(w.partition, epochError), bytes: 0, log: null };
  // read_committed consumers read below the last stable offset only (KIP-98).
  const committed = request.isolationLevel === READ_COMMITTED;
  const lso = log.lastStableOffset;
  const read = await log.read(
    Number(w.fetchOffset),
    maxBytes,
    committed ? { minOneBatch, upTo: lso } : { minOneBatch },
  );
  if (!read.ok) {
    const data = errorData(w.partition, read.code);
    if (read.code === ErrorCode.OFFSET_OUT_OF_RANGE) {
      data.highWatermark = BigInt(log.highWatermark);
      data.lastStableOffset = BigInt(log.lastStableOffset);
      data.logStartOffset = BigInt(log.logStartOffset);
    }
    return { want: w, data, bytes: 0, log };
  }
  let records = read.value.records;
  if (version < 10 && hasZstd(records)) {
    // Clients older than Fetch v10 cannot read zstd (KIP-110), as Kafka answers.
    return { want: w, data: errorData(w.partition, ErrorCode.UNSUPPORTED_COMPRESSION_TYPE), bytes: 0, log };
  }
  if (version <= 3 && !broker.policies.for(topic).downConversion) {
    // Kafka 3.x's message.downconversion.enable=false: old consumers are refused, not served.
    return { want: w, data: errorData(w.partition, ErrorCode.UNSUPPORTED_VERSION), bytes: 0, log };
  }
  if (version <= 3 && records.length > 0) {
    records = downConvertBatches(records, version <= 1 ? 0 : 1, {
      compress: (c, d) => broker.codecs.compress(c, d),
      decompress: (c, d) => broker.codecs.decompress(c, d),
      firstOffset: w.fetchOffset,
    });
  }
  const hw = BigInt(read.value.highWatermark);
  // The aborted transactions the returned records may hold: consumers drop those producers' records.
  const aborted = committed && records.length > 0
    ? (await log.abortedTransactions(Number(w.fetchOffset), lso)).map((a) => ({
      producerId: a.producerId,
      firstOffset: BigInt(a.firstOffset),
    }))
    : [];
  return {
    want: w,
    bytes: records.length,
    log,
    data: {
      partitionIndex: w.partition,
      errorCode: ErrorCode.NONE,
      highWatermark: hw,
      lastStableOffset: BigInt(Math.min(lso, read.value.highWatermark)),
      logStartOffset: BigInt(read.value.logStartOffset),
      abortedTransactions: committed ? aborted : null,
      preferredReadReplica: -1,
      records,
    },
  };
}

/** Whether any batch in `records` is zstd-compressed (header walk only). */
function hasZstd(records: Uint8Array): boolean {
  const v = view(records);
  for (let at = 0; at + F.HEADER_END <= records.length; at += batchSizeAt(v, at)) {
    if ((v.getInt16(at + F.ATTRIBUTES) & 0x07) === 4) return true;
  }
  return false;
}

/**
 * Waits until any of the logs gets new data, or the deadline passes. A log whose high
 * watermark already moved past what the last read saw (an append that landed between the
 * read and this wait) ends the wait at once, so no wake-up is lost.
 */
function waitForData(
  watched: { log: PartitionStorage; seenHighWatermark: number }[],
  deadlineMs: number,
  now: number,
): Promise<void> {
  if (watched.some((w) => w.log.highWatermark !== w.seenHighWatermark || w.log.failure)) return Promise.resolve();
  return new Promise((resolve) => {
    const cancels: (() => void)[] = [];
    const done = () => {
      clearTimeout(timer);
      for (const c of cancels) c();
      resolve();
    };
    const timer = setTimeout(done, Math.max(0, deadlineMs - now));
    for (const w of watched) cancels.push(w.log.onData(done));
  });
}

function buildWants(request: FetchRequest, version: number, broker: BrokerContext): Want[] {
  const wants: Want[] = [];
  for (const t of request.topics) {
    const byId = version >= 13;
    const topicId = byId ? t.topicId : ZERO_UUID;
    let topicName = byId ? "" : t.topic;
    if (byId) {
      const found = broker.storage.topics.byId(t.topicId);
      if (found.ok) topicName = found.value.name;
    }
    for (const p of t.partitions) {
      wants.push({
        key: sessionKey(byId ? topicId : topicName, p.partition),
        topicName,
        topicId,
        partition: p.partition,
        fetchOffset: p.fetchOffset,
        maxBytes: p.partitionMaxBytes,
        currentLeaderEpoch: p.currentLeaderEpoch,
        cached: null,
      });
    }
  }
  return wants;
}

/** Applies an incremental request to its session and returns every session partition. */
function applyIncremental(session: FetchSession, request: FetchRequest, wants: Want[], version: number): Want[] {
  for (const f of request.forgottenTopicsData) {
    const topic = version >= 13 ? f.topicId : f.topic;
    for (const p of f.partitions) session.partitions.delete(sessionKey(topic, p));
  }
  for (const w of wants) {
    const c = session.partitions.get(w.key);
    if (c) {
      c.fetchOffset = w.fetchOffset;
      c.partitionMaxBytes = w.maxBytes;
      c.currentLeaderEpoch = w.currentLeaderEpoch;
    } else {
      session.partitions.set(w.key, cachedPartition(w));
    }
  }
  return [...session.partitions.entries()].map(([key, c]) => ({
    key,
    topicName: c.topicName,
    topicId: c.topicId,
    partition: c.partition,
    fetchOffset: c.fetchOffset,
    maxBytes: c.partitionMaxBytes,
    currentLeaderEpoch: c.currentLeaderEpoch,
    cached: c,
  }));
}

/** A session's record of a newly named partition; nothing has been sent about it yet. */
function cachedPartition(w: Want): SessionPartition {
  return {
    topicName: w.topicName,
    topicId: w.topicId,
    partition: w.partition,
    fetchOffset: w.fetchOffset,
    partitionMaxBytes: w.maxBytes,
    currentLeaderEpoch: w.currentLeaderEpoch,
    sentHighWatermark: -1n,
    sentLogStartOffset: -1n,
    sentLastStableOffset: -1n,
  };
}

function remember(session: FetchSession, wants: Want[]): void {
  for (const w of wants) session.partitions.set(w.key, cachedPartition(w));
}

/** Whether an incremental response must carry this partition, updating what was last sent. */
function hasNews(o: Outcome, cached: SessionPartition | undefined): boolean {
  const d = o.data;
  const hw = d.highWatermark ?? -1n;
  const lso = d.lastStableOffset ?? -1n;
  const ls = d.logStartOffset ?? -1n;
  const news = o.bytes > 0 || (d.errorCode ?? 0) !== 0 || !cached || cached.sentHighWatermark !== hw ||
    cached.sentLastStableOffset !== lso || cached.sentLogStartOffset !== ls;
  if (cached) {
    cached.sentHighWatermark = hw;
    cached.sentLastStableOffset = lso;
    cached.sentLogStartOffset = ls;
  }
  return news;
}

function group(outcomes: Outcome[], byId: boolean): NonNullable<Input<FetchResponse>["responses"]> {
  const topics: { topic: string; topicId: string; partitions: Input<PartitionData>[] }[] = [];
  let current: (typeof topics)[number] | undefined;
  for (const o of outcomes) {
    const name = o.want.topicName;
    const id = o.want.topicId;
    if (!current || (byId ? current.topicId !== id : current.topic !== name)) {
      current = { topic: name, topicId: id, partitions: [] };
      topics.push(current);
    }
    current.partitions.push(o.data);
  }
  return topics;
}

async function handleFetch(request: FetchRequest, ctx: RequestContext): Promise<Input<FetchResponse>> {
  const { broker, version } = ctx;
  const started = performance.now();
  const byId = version >= 13;
  const sessions = broker.fetchSessions;
  const requested = buildWants(request, version, broker);
  let session: FetchSession | null = null;
  let wants = requested;
  let incremental = false;
  if (version >= 7) {
    const { sessionId, sessionEpoch } = request;
    if (sessionId === 0 && sessionEpoch === 0) {
      session = sessions.create(byId);
    } else if (sessionId !== 0) {
      if (sessionEpoch === 0 || sessionEpoch === -1) {
        sessions.remove(sessionId);
        if (sessionEpoch === 0) session = sessions.create(byId);
      } else {
        const s = sessions.get(sessionId);
        if (!s) return { errorCode: ErrorCode.FETCH_SESSION_ID_NOT_FOUND, sessionId: 0, responses: [] };
        if (s.nextEpoch !== sessionEpoch) {
          return { errorCode: ErrorCode.INVALID_FETCH_SESSION_EPOCH, sessionId: 0, responses: [] };
        }
        session = s;
        incremental = true;
        wants = applyIncremental(s, request, requested, version);
      }
    }
    if (session) {
      session.nextEpoch = nextSessionEpoch(incremental ? session.nextEpoch : 0);
      if (!incremental) remember(session, requested);
    }
  }
  const deadline = broker.clock.now() + Math.max(0, request.maxWaitMs);
  let outcomes = await readAll(broker, wants, request, version, byId, ctx.allowed);
  for (;;) {
    const bytes = outcomes.reduce((n, o) => n + o.bytes, 0);
    const anyError = outcomes.some((o) => (o.data.errorCode ?? 0) !== 0);
    const now = broker.clock.now();
    if (bytes >= request.minBytes || anyError || now >= deadline) break;
    const watched = outcomes.flatMap((o) =>
      o.log === null ? [] : [{ log: o.log, seenHighWatermark: Number(o.data.highWatermark ?? -1n) }]
    );
    if (watched.length === 0) break;
    await waitForData(watched, deadline, now);
    outcomes = await readAll(broker, wants, request, version, byId, ctx.allowed);
  }
  if (session) {
    const sent = incremental
      ? outcomes.filter((o) => hasNews(o, session.partitions.get(o.want.key)))
      : outcomes.filter((o) => (hasNews(o, session.partitions.get(o.want.key)), true));
    outcomes = sent;
  }
  // Bytes and records out, per partition answered (records from batch headers only).
  let sentBytes = 0;
  for (const o of outcomes) {
    const records = o.data.records;
    if (o.bytes === 0 || !(records instanceof Uint8Array)) continue;
    sentBytes += o.bytes;
    broker.metrics.fetched(o.want.topicName, o.bytes, version <= 3 ? 0 : batchRecordCount(records));
  }
  broker.metrics.fetchDone(sentBytes > 0, (performance.now() - started) / 1000);
  return {
    throttleTimeMs: 0,
    errorCode: ErrorCode.NONE,
    sessionId: session?.id ?? 0,
    responses: group(outcomes, byId),
  };
}

export default defineHandler(FETCH_API, {
  minVersion: 0,
  maxVersion: 18,
  handle: handleFetch,
});
