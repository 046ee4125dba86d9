/**
 * The storage interface: everything kbin keeps goes through one {@link Storage}, whatever the
 * engine underneath. An engine is one folder under `src/storage/` implementing it, chosen by URL
 * (see `open.ts`): `file:DIR` (segment files, SQLite and a state journal), `memory:` (nothing on
 * disk) and, on the same interface, `postgres://…`. `tests/contract/` runs the same cases against
 * every engine.
 *
 * Operations are grouped by what they keep: topics and their configs ({@link TopicStorage}),
 * partition logs with producer (idempotence) state and leader epochs ({@link PartitionStorage}),
 * committed offsets and group state ({@link GroupStorage}), producer id blocks, and namespaced
 * documents for the state later features add (transactions, SCRAM credentials, ACLs, quotas,
 * schemas: {@link StateStorage}).
 *
 * Rules every engine follows:
 * - Writes are asynchronous and acknowledged only once the engine's durability promise holds
 *   (on `file:`, on stable storage; on `memory:`, in memory). Nothing acknowledged is lost on a
 *   restart of a persistent engine.
 * - Writes of one kind complete in the order they were issued (a later commit never resolves
 *   before an earlier one), so callers may apply them to caches as they resolve.
 * - Reads that the request path makes on every request (topic look-ups, partition offsets) are
 *   synchronous views of state the engine keeps in memory; everything else is a promise.
 * - Kafka outcomes (unknown topic, bad sequence) are {@link Result}s; I/O failures are exceptions
 *   ({@link StorageError} for a failed partition log).
 *
 * @module
 */

import { ErrorCode } from "../protocol/generated/errors.ts";
import type { Result } from "./result.ts";
import type { CleanOutcome, CompactionConfig } from "./compaction.ts";
import type { AbortedTxn } from "./aborted_txns.ts";
import type { ProducerStateView } from "./producer_state.ts";

/**
 * What the log's retention follows (Kafka's `retention.ms`, `retention.bytes` and
 * `file.delete.delay.ms`; Infinity for Kafka's -1, no limit).
 */
export interface RetentionConfig {
  /** Whole segments whose newest record is older than this go (Infinity: kept forever). */
  retentionMs: number;
  /** The oldest whole segments go while the partition holds more than this (Infinity: no limit). */
  retentionBytes: number;
  /** How long a deleted segment's files are kept for reads in flight (`file.delete.delay.ms`). */
  fileDeleteDelayMs: number;
}

/** What one retention pass removed from a partition. */
export interface RetentionOutcome {
  /** Segments (or, on engines without segments, batches) removed. */
  segments: number;
  bytes: number;
  /** Why the first of them went. */
  reason: "retention.ms" | "retention.bytes" | "log start offset" | null;
  logStartOffset: number;
}

/** Per-topic settings the log follows (resolved from topic overrides and broker defaults). */
export interface LogConfig extends RetentionConfig {
  segmentBytes: number;
  segmentMs: number;
  indexIntervalBytes: number;
  /** Datasync after this many messages even without acks=all (Infinity: never by count). */
  flushMessages: number;
  /** Datasync data older than this (Infinity: never by time). */
  flushMs: number;
}

/**
 * Defaults matching Kafka's (1 GiB segments, 7-day roll, 4 KiB index interval, OS flushing, 7-day
 * retention without a size limit, deleted files kept 60 s).
 */
export const DEFAULT_LOG_CONFIG: LogConfig = {
  segmentBytes: 1073741824,
  segmentMs: 604800000,
  indexIntervalBytes: 4096,
  flushMessages: Infinity,
  flushMs: Infinity,
  retentionMs: 604800000,
  retentionBytes: Infinity,
  fileDeleteDelayMs: 60000,
};

/** A topic as storage keeps it. Returned objects are frozen and shared. */
export interface Topic {
  readonly name: string;
  /** Kafka topic id: a random UUID v4 in 22-character URL-safe base64. */
  readonly id: string;
  /** Number of partitions, indexed 0 … partitions - 1. */
  readonly partitions: number;
  /** Per-topic config overrides (name → value); broker defaults are not included. */
  readonly configs: Readonly<Record<string, string>>;
  readonly internal: boolean;
  readonly createdAtMs: number;
}

/** What {@link TopicStorage.create} needs. */
export interface CreateTopicInput {
  name: string;
  partitions: number;
  configs?: Readonly<Record<string, string>>;
  internal?: boolean;
}

/**
 * Topics, partitions counts and per-topic configs. Reads are synchronous (served from memory);
 * writes resolve once stored. Deleting a topic deletes its partition logs.
 */
export interface TopicStorage {
  /** UNKNOWN_TOPIC_OR_PARTITION when missing. */
  get(name: string): Result<Topic>;
  /** UNKNOWN_TOPIC_ID when missing. */
  byId(id: string): Result<Topic>;
  /** All topics, sorted by name. */
  list(): readonly Topic[];
  /** TOPIC_ALREADY_EXISTS, INVALID_PARTITIONS or INVALID_TOPIC_EXCEPTION when refused. */
  create(input: CreateTopicInput): Promise<Result<Topic>>;
  /** Deletes the topic with its partition logs; returns what was deleted. */
  delete(name: string): Promise<Result<Topic>>;
  /** Grows the topic to `newTotal` partitions; INVALID_PARTITIONS unless it is larger. */
  addPartitions(name: string, newTotal: number): Promise<Result<Topic>>;
  /** Replaces all config overrides of a topic. */
  setConfigs(name: string, configs: Readonly<Record<string, string>>): Promise<Result<Topic>>;
}

/** A partition of a topic, as storage addresses it. */
export interface PartitionRef {
  topicName: string;
  topicId: string;
  partition: number;
}

/** What happened to an appended batch. */
export type AppendOutcome =
  /** `written` resolves when readers can see the batch (the high watermark passed it). */
  | { kind: "appended"; baseOffset: number; lastOffset: number; written: Promise<void> }
  /** An idempotent retry: answered with the original offsets, nothing appended. */
  | { kind: "duplicate"; baseOffset: number; lastOffset: number; maxTimestamp: number }
  | { kind: "error"; code: number; message: string };

/** A fetch read: whole batches only, as one byte view. */
export interface ReadResult {
  records: Uint8Array;
  highWatermark: number;
  logStartOffset: number;
}

/** The end of a leader epoch (OffsetForLeaderEpoch); -1/-1 when the epoch is unknown. */
export interface EpochEnd {
  leaderEpoch: number;
  endOffset: number;
}

/**
 * Thrown when storage failed. Answered with `errorCode`: KAFKA_STORAGE_ERROR (56) for I/O, or a
 * more precise retriable code when the write was fenced because another broker took the role over
 * (NOT_LEADER_OR_FOLLOWER for a partition, NOT_COORDINATOR for a group).
 */
export class StorageError extends Error {
  readonly code = "KBIN_STORAGE";
  /** The Kafka error code to answer (KAFKA_STORAGE_ERROR unless the cause is more precise). */
  readonly errorCode: number;
  constructor(message: string, options?: { cause?: unknown; errorCode?: number }) {
    super(message, options);
    this.name = "StorageError";
    this.errorCode = options?.errorCode ?? ErrorCode.KAFKA_STORAGE_ERROR;
  }
}

/**
 * One partition's log: batches stored and served as the bytes producers sent (only the base
 * offset and leader epoch are patched), the producer state that makes appends idempotent, and the
 * history of leader epochs.
 */
export interface PartitionStorage {
  /** First offset still in the log. */
  readonly logStartOffset: number;
  /** Offset the next append gets. */
  readonly logEndOffset: number;
  /** End of what readers may see. */
  readonly highWatermark: number;
  /** Bytes the log holds. */
  readonly sizeBytes: number;
  /**
   * The last stable offset: the first offset of the oldest open transaction, or the high watermark
   * when none is open. read_committed consumers read below it only.
   */
  readonly lastStableOffset: number;
  /** The aborted transactions (ABORT markers) whose records overlap offsets [from, to). */
  abortedTransactions(from: number, to: number): Promise<AbortedTxn[]>;
  /**
   * The producers the partition's producer state knows (DescribeProducers, KIP-664), sorted by
   * producer id: epoch, last sequence and timestamp, coordinator epoch, and where the producer's
   * open transaction starts (null when none). Expired producers are not among them.
   */
  activeProducers(): Promise<ProducerStateView[]>;
  /** Non-null once the partition's storage failed; it then refuses reads and writes. */
  readonly failure: Error | null;
  /** The epoch appends are stamped with (0 until an epoch is started). */
  readonly leaderEpoch: number;
  /**
   * Appends one validated v2 batch: checks an idempotent producer's sequence (a retry answers the
   * original offsets; a gap or a stale epoch its Kafka error), assigns offsets synchronously,
   * stamps the leader epoch. The batch's bytes may be reused once `written` resolves.
   */
  append(batch: Uint8Array): Promise<AppendOutcome>;
  /** Resolves once everything before `offset` is durable (acks=all). */
  waitDurable(offset: number): Promise<void>;
  /**
   * Whole batches starting with the one holding `offset`, up to `maxBytes` (the first batch whole
   * when `minOneBatch`), never past `upTo` (default the high watermark). OFFSET_OUT_OF_RANGE
   * outside [log start, log end]; KAFKA_STORAGE_ERROR after a failure.
   */
  read(offset: number, maxBytes: number, options: { minOneBatch: boolean; upTo?: number }): Promise<Result<ReadResult>>;
  /** Calls `fn` once when the high watermark next moves (or the log fails); returns a canceller. */
  onData(fn: () => void): () => void;
  /** The first record with timestamp >= `timestampMs`, or null when every record is older. */
  offsetForTimestamp(timestampMs: number): Promise<{ offset: number; timestamp: number } | null>;
  /** Offset and timestamp of the record with the largest timestamp (KIP-734), or null. */
  maxTimestampOffset(): Promise<{ offset: number; timestamp: number } | null>;
  /** ListOffsets v0 offsets before a time: segment boundaries, descending (see the file engine). */
  legacyOffsetsBefore(timestampMs: number, maxCount: number, nowMs: number): number[];
  /** The leader epoch the record at `offset` was written in (ListOffsets answers it). */
  epochForOffset(offset: number): number;
  /** Where `epoch` ended, by Kafka's LeaderEpochFileCache rules. */
  endOffsetForEpoch(epoch: number): EpochEnd;
  /**
   * DeleteRecords: moves the log start offset up to `offset` (the high watermark for -1), durably
   * before it resolves, and removes whole segments (batches) that end below it. Returns the new log
   * start; OFFSET_OUT_OF_RANGE for an offset above the high watermark or below -1. A start already
   * past `offset` is kept.
   */
  deleteRecords(offset: number): Promise<Result<number>>;
  /**
   * One retention pass, as Kafka's `deleteOldSegments`: whole segments from the oldest on, while
   * the newest record of each is older than `retentionMs`, then while the partition is over
   * `retentionBytes` by at least the segment's size, then those wholly below the log start offset;
   * never past the high watermark. An active segment that qualifies is rolled first, as Kafka
   * does, so a quiet topic's data still expires. The log start offset moves to the first record
   * kept. Engines without segments (memory:, postgres:) remove whole batches by the same rules.
   */
  applyRetention(config: RetentionConfig, nowMs: number): Promise<RetentionOutcome>;
  /**
   * One compaction, as Kafka's LogCleaner (`compaction.ts`): when due (min.cleanable.dirty.ratio or
   * max.compaction.lag.ms), keeps each key's newest record in the cleanable range (never the
   * active segment or newest batch, nor records younger than min.compaction.lag.ms), drops
   * tombstones older than delete.retention.ms, keeps control batches and a producer's newest batch
   * (emptied when need be). Offsets never change; they get gaps. Crash-safe on every engine.
   */
  compact(config: CompactionConfig, nowMs: number): Promise<CleanOutcome>;
  /** Where the next compaction's dirty section starts (everything below it was compacted). */
  readonly cleanedUpTo: number;
  /**
   * Starts leader epoch `epoch` at the current log end offset (a new leader does this); later
   * appends are stamped with it. Durable when it resolves. An epoch not above the current one is
   * refused with FENCED_LEADER_EPOCH.
   */
  startLeaderEpoch(epoch: number): Promise<Result<EpochEnd>>;
}

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

/** Everything saved about groups, as loaded at start-up. */
export interface GroupsSnapshot {
  offsets: Map<string, CommittedOffset[]>;
  groups: SavedGroup[];
}

/**
 * Committed offsets and group state. Callers keep their own in-memory view (the group
 * coordinator does) and apply each write as it resolves; writes resolve in issue order.
 */
export interface GroupStorage {
  /** Everything saved (read once, when a coordinator takes the groups over). */
  load(): Promise<GroupsSnapshot>;
  /** Stores offsets atomically; resolves once durable. */
  commitOffsets(groupId: string, offsets: readonly CommittedOffset[]): Promise<void>;
  /** Deletes the given partitions' offsets of a group. */
  deleteOffsets(groupId: string, partitions: readonly { topic: string; partition: number }[]): Promise<void>;
  /** Saves a group's state snapshot (replacing the previous one). */
  saveGroup(group: SavedGroup): Promise<void>;
  /** Forgets a group: its state and every offset. */
  deleteGroup(groupId: string): Promise<void>;
}

/**
 * Namespaced documents (string keys and values) for state later features keep: transaction
 * state, SCRAM credentials, ACLs, quotas, schemas. Each `put` batch is atomic and durable when
 * it resolves; batches resolve in issue order.
 */
export interface StateStorage {
  get(namespace: string, key: string): Promise<string | null>;
  /** Every document of a namespace, sorted by key. */
  list(namespace: string): Promise<[string, string][]>;
  /** Sets (string) or deletes (null) documents of one namespace atomically. */
  put(namespace: string, entries: readonly (readonly [key: string, value: string | null])[]): Promise<void>;
}

/** A broker as clients are told to reach it. */
export interface BrokerInfo {
  nodeId: number;
  /** The address of the broker's inter-broker listener (what other brokers connect to). */
  host: string;
  port: number;
  rack: string | null;
  /**
   * Every listener's advertised address, by listener name (Kafka's endpoints); absent for a
   * broker that registered none (then `host:port` serves every listener).
   */
  listeners?: readonly BrokerEndpoint[];
}

/** One listener of a broker, as clients reach it. */
export interface BrokerEndpoint {
  name: string;
  host: string;
  port: number;
}

/** Who leads a partition or a coordinator shard, and at which epoch (leader -1: nobody yet). */
export interface Leadership {
  leader: number;
  epoch: number;
}

/**
 * The brokers sharing this storage and who leads what. On `file:` and `memory:` the one broker
 * leads everything; on `postgres:` brokers hold leases, and partitions and coordinator shards are
 * spread over the live ones (rendezvous hashing), with the epoch bumped whenever a leader changes.
 * Reads are synchronous views kept current by the engine.
 */
export interface ClusterStorage {
  /**
   * Registers this broker (once its listener is bound) and keeps it registered until `close()`.
   * Resolves once the leaders it takes part in are known. Refuses (INVALID_CONFIG) a node id a
   * live broker holds.
   */
  join(self: BrokerInfo): Promise<Result<void>>;
  /** The live brokers, by node id. */
  brokers(): readonly BrokerInfo[];
  /** The leader of a partition (leader -1 when none is live). */
  partitionLeader(ref: PartitionRef): Leadership;
  /** Number of coordinator shards (fixed when the storage is created). */
  readonly shardCount: number;
  /** The leader of a coordinator shard (groups and, later, transactions hash onto shards). */
  shardLeader(shard: number): Leadership;
  /** Calls `fn` after brokers, partition leaders or shard leaders changed; returns a canceller. */
  onChange(fn: () => void): () => void;
}

/** Where a storage keeps partition data, as DescribeLogDirs reports it (every engine has one). */
export interface LogDir {
  /** The directory (file:), or the engine's URL without credentials (memory:, postgres:). */
  path: string;
  /** Size of the file system holding it (-1 when the engine cannot tell). */
  totalBytes: number;
  /** Bytes free there for the broker (-1 when the engine cannot tell). */
  usableBytes: number;
  /** KAFKA_STORAGE_ERROR when the place cannot be read, else 0. */
  errorCode: number;
}

/** A storage engine: all of kbin's state. */
export interface Storage {
  /** The cluster id, generated when the storage was first created and kept since. */
  readonly clusterId: string;
  /**
   * Records `nodeId` as a broker of this storage. A `file:` directory belongs to one node: a later
   * start with another id gets INVALID_CONFIG.
   */
  claimNode(nodeId: number): Promise<Result<number>>;
  readonly topics: TopicStorage;
  /** A partition's log, opened (or created) on first use. */
  partition(ref: PartitionRef): Promise<PartitionStorage>;
  /** The current leader epoch of a partition (0 for one never opened or never re-led). */
  leaderEpoch(ref: PartitionRef): number;
  /** The brokers and who leads what. */
  readonly cluster: ClusterStorage;
  readonly groups: GroupStorage;
  /**
   * Reserves `count` producer ids and returns the first; ids are never handed out twice, even
   * across restarts (Kafka allocates them in blocks the same way).
   */
  reserveProducerIds(count: number): Promise<number>;
  readonly state: StateStorage;
  /** Where partition data is kept, with its size and free space. */
  logDirs(): Promise<LogDir[]>;
  /** Flushes and closes everything; a clean close lets the next open skip recovery. */
  close(): Promise<void>;
}

/**
 * Told of the engine's durability work, for metrics: each datasync of a partition log's group
 * commit (kind "log") or of the state journal ("journal"), how long it took, and how many writes
 * it made durable (acks=all appends waiting on it, or journal records). Called once per datasync,
 * never per record; must be cheap and must not throw.
 */
export interface StorageObserver {
  fsync(kind: "log" | "journal", seconds: number, grouped: number): void;
}

/** What every engine is opened with. */
export interface StorageOptions {
  /** Told of datasyncs (metrics); none by default. */
  observer?: StorageObserver;
  clock: { now(): number };
  logger: import("../ports.ts").Logger;
  /** Decompresses a batch payload (time look-ups inside compressed batches). */
  decompress: (codec: number, data: Uint8Array) => Uint8Array;
  /** Compresses a records section (compaction rewrites compressed batches). */
  compress?: (codec: number, data: Uint8Array) => Uint8Array;
  /** file: storage: appends are refused while the data directory has less free space (default 0). */
  minFreeBytes?: number;
  /** Effective log settings of a topic (called on every append, so it must be cheap). */
  logConfig: (topic: Topic) => LogConfig;
}
