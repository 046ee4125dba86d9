/**
 * A producer for one topic: batches records per partition, sends each leader up to five
 * Produce requests at once, retries what Kafka marks retriable (refreshing metadata when the
 * leader moved) and reports every record's outcome through callbacks.
 *
 * Idempotence (KIP-98) works as in Kafka's Java client: a producer id from InitProducerId,
 * sequence numbers assigned when a batch is first sent and kept across retries, so the broker
 * drops duplicates and refuses gaps. When a partition's batch must be retried, later batches of
 * that partition wait until everything in flight has come back, then go again in order. A gap
 * that cannot be closed (a batch failed for good, or the broker forgot the producer) gets a new
 * producer id and fresh sequences (KIP-360), after the batches in flight have returned.
 *
 * Without idempotence a retried batch may land after a later one, as in Kafka with
 * `max.in.flight.requests.per.connection` > 1. With acks=0 the broker sends no response; a
 * cheap ApiVersions request every few megabytes tells when the broker has read what came
 * before it (requests on a connection are handled in order), which bounds the bytes in flight.
 *
 * @module
 */

import { PRODUCE_API, type ProduceResponse } from "../protocol/generated/00_produce.ts";
import { API_VERSIONS_API } from "../protocol/generated/18_api_versions.ts";
import { INIT_PRODUCER_ID_API } from "../protocol/generated/22_init_producer_id.ts";
import { ErrorCode, errorName, ERRORS, isRetriable } from "../protocol/generated/errors.ts";
import {
  buildBatch,
  type CompressFn,
  type RecordHeader,
  type RecordInput,
  updateBatchCrc,
} from "../protocol/records/mod.ts";
import type { KafkaClient } from "./client.ts";
import type { KafkaConnection } from "./connection.ts";
import { KafkaClientError } from "./errors.ts";
import type { NoticeLevel } from "./fetcher.ts";
import { partitionForKey, StickyPartitioner } from "./partitioner.ts";

/** One record to send. */
export interface ProducerRecord {
  key: Uint8Array | null;
  value: Uint8Array | null;
  /** Sent with the record; the same array may be shared by many records. */
  headers?: RecordHeader[];
  /** A fixed partition; otherwise murmur2 of the key, or sticky for null keys. */
  partition?: number;
  /** CreateTime in ms; default: when the record's batch was opened. */
  timestamp?: bigint;
}

/** Records of one batch that were written. */
export interface DeliveryReport {
  partition: number;
  /** Offset of the first record, or -1 when unknown (acks=0, or a duplicate the broker dropped). */
  baseOffset: bigint;
  /** The tags given to {@link Producer.send}, in order. */
  tags: readonly number[];
  /** The broker's append time when the topic uses LogAppendTime, else -1 (records keep their CreateTime). */
  logAppendTimeMs: bigint;
}

/** Records of one batch that were not written. */
export interface DeliveryFailure {
  partition: number;
  /** The tags given to {@link Producer.send}; empty when unknown (acks=0 connection loss). */
  tags: readonly number[];
  /** The Kafka error code, or null for a client-side failure (timeout, connection). */
  code: number | null;
  /** What went wrong, in one line, starting with the Kafka error name when there is one. */
  message: string;
}

/** Options for {@link Producer}. */
export interface ProducerOptions {
  /** -1 (all in-sync replicas, the default), 1 (the leader) or 0 (no response). */
  acks?: -1 | 0 | 1;
  /**
   * "auto" (the default): on when acks is -1, silently off when the cluster refuses
   * InitProducerId; true: required (acks must be -1); false: off.
   */
  idempotence?: boolean | "auto";
  /** Codec id (0 none … 4 zstd); `compress` is required for other than 0. */
  compression?: number;
  compress?: CompressFn;
  /** A partition's batch is sent once it holds this many bytes (default 256 KiB). */
  batchSizeBytes?: number;
  /** How long a batch that is not full waits for more records (default 5 ms). */
  lingerMs?: number;
  /** Produce requests in flight per broker (default 5, Kafka's limit for idempotence). */
  maxInFlight?: number;
  /** {@link Producer.send} asks the caller to wait beyond this many buffered bytes (default 32 MiB). */
  bufferMemoryBytes?: number;
  /** A record fails when it is not written this long after it was sent (default 120000). */
  deliveryTimeoutMs?: number;
  /** The Produce request's `timeoutMs`: how long the broker waits for replication (default 30000). */
  ackTimeoutMs?: number;
  /** First retry delay, doubled up to `retryBackoffMaxMs` (defaults 100 and 1000). */
  retryBackoffMs?: number;
  retryBackoffMaxMs?: number;
  /** Create the topic if the broker allows auto-creation (default false). */
  allowAutoTopicCreation?: boolean;
  onDelivered?: (report: DeliveryReport) => void;
  onFailed?: (failure: DeliveryFailure) => void;
  /**
   * Things worth telling the user: "warning" for failed requests and metadata refreshes,
   * "info" (for `--verbose`) for retries, fallbacks and producer ids.
   */
  onNotice?: (message: string, level: NoticeLevel) => void;
  /** Milliseconds clock (default `Date.now`). */
  now?: () => number;
}

interface Batch {
  partition: number;
  /** Creation order within the partition: retried batches go back in this order. */
  order: number;
  records: RecordInput[];
  tags: number[];
  sizeBytes: number;
  createdMs: number;
  bytes: Uint8Array | null;
  /** The producer-id generation the sequence belongs to (-1: none assigned). */
  generation: number;
  baseSequence: number;
  attempts: number;
  retryAtMs: number;
  lastError: string | null;
  /** Reported (delivered or failed); its records are gone. */
  done: boolean;
}

interface PartitionState {
  open: Batch | null;
  ready: Batch[];
  inFlight: number;
  nextOrder: number;
  nextSequence: number;
  /** A batch is being retried: send nothing more until everything in flight has returned. */
  blocked: boolean;
  leader: number;
  /** Orders of batches sent at least once and not yet reported, ascending. */
  unacked: number[];
}

/** Record bytes beyond key, value and headers (a loose upper bound of the varints). */
const RECORD_OVERHEAD_BYTES = 21;
/** Caps one Produce request (many partitions' batches) well below socket.request.max.bytes. */
const MAX_REQUEST_BYTES = 16 << 20;
/** With acks=0, an ApiVersions round trip after this many bytes bounds what is in flight. */
const ACKS0_BARRIER_BYTES = 8 << 20;
const INT32_MAX = 0x7fffffff;
/**
 * At most this many batches of a partition between the oldest unanswered one and the newest
 * sent: the broker remembers a producer's last five batches, so a retried batch is always
 * recognised as a duplicate if it was written after all.
 */
const MAX_UNACKED_BATCHES = 5;

// Field offsets inside a v2 batch header (DefaultRecordBatch.java).
const PRODUCER_ID_OFFSET = 43;
const PRODUCER_EPOCH_OFFSET = 51;
const BASE_SEQUENCE_OFFSET = 53;

/** Kafka's DefaultRecordBatch.incrementSequence: sequences wrap to 0 after INT32_MAX. */
function incrementSequence(sequence: number, increment: number): number {
  return sequence > INT32_MAX - increment ? increment - (INT32_MAX - sequence) - 1 : sequence + increment;
}

/** Approximate encoded size of a record, for batching and the buffer limit. */
export function recordSizeBytes(record: ProducerRecord): number {
  let n = RECORD_OVERHEAD_BYTES + (record.key?.length ?? 0) + (record.value?.length ?? 0);
  if (record.headers) { for (const h of record.headers) n += h.key.length + (h.value?.length ?? 0) + 4; }
  return n;
}

/**
 * Produces to one topic. Call {@link connect} first, {@link send} for each record, then
 * {@link flush}; outcomes arrive through `onDelivered` and `onFailed`.
 * @example
 * const producer = new Producer(client, "orders", { onFailed: (f) => console.error(f.message) });
 * await producer.connect();
 * for (const value of values) await producer.send({ key: null, value });
 * await producer.flush();
 */
export class Producer {
  readonly topic: string;
  readonly #client: KafkaClient;
  readonly #acks: -1 | 0 | 1;
  readonly #idempotenceWanted: boolean | "auto";
  readonly #compression: number;
  readonly #compress: CompressFn | undefined;
  readonly #batchSizeBytes: number;
  readonly #lingerMs: number;
  readonly #maxInFlight: number;
  readonly #bufferMemoryBytes: number;
  readonly #deliveryTimeoutMs: number;
  readonly #ackTimeoutMs: number;
  readonly #retryBackoffMs: number;
  readonly #retryBackoffMaxMs: number;
  readonly #allowAutoTopicCreation: boolean;
  readonly #onDelivered: (report: DeliveryReport) => void;
  readonly #onFailed: (failure: DeliveryFailure) => void;
  readonly #onNotice: (message: string, level: NoticeLevel) => void;
  readonly #now: () => number;
  readonly #sticky: StickyPartitioner;

  #partitions: PartitionState[] = [];
  #idempotent = false;
  #producerId = -1n;
  #producerEpoch = -1;
  /** Bumped with each new producer id; batches remember the one their sequence belongs to. */
  #generation = 0;
  #resetting: Promise<void> | null = null;
  #metadata: Promise<void> | null = null;
  #metadataRetryAtMs = 0;
  #metadataFailures = 0;
  readonly #requestsInFlight = new Map<number, number>();
  readonly #acks0Bytes = new Map<number, number>();
  #bufferedBytes = 0;
  #pendingBatches = 0;
  #flushing = 0;
  #pumpQueued = false;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #timerAtMs = Infinity;
  #closed = false;
  #spaceWaiters: (() => void)[] = [];
  #idleWaiters: (() => void)[] = [];

  constructor(client: KafkaClient, topic: string, options: ProducerOptions = {}) {
    this.#client = client;
    this.topic = topic;
    this.#acks = options.acks ?? -1;
    this.#idempotenceWanted = options.idempotence ?? "auto";
    if (this.#idempotenceWanted === true && this.#acks !== -1) {
      throw new RangeError(`Cannot create a producer: idempotence needs acks=-1 (all), got acks=${this.#acks}`);
    }
    this.#compression = options.compression ?? 0;
    this.#compress = options.compress;
    this.#batchSizeBytes = options.batchSizeBytes ?? 256 * 1024;
    this.#lingerMs = options.lingerMs ?? 5;
    this.#maxInFlight = options.maxInFlight ?? 5;
    this.#bufferMemoryBytes = options.bufferMemoryBytes ?? 32 << 20;
    this.#deliveryTimeoutMs = options.deliveryTimeoutMs ?? 120_000;
    this.#ackTimeoutMs = options.ackTimeoutMs ?? 30_000;
    this.#retryBackoffMs = options.retryBackoffMs ?? 100;
    this.#retryBackoffMaxMs = options.retryBackoffMaxMs ?? 1000;
    this.#allowAutoTopicCreation = options.allowAutoTopicCreation ?? false;
    this.#onDelivered = options.onDelivered ?? (() => {});
    this.#onFailed = options.onFailed ?? (() => {});
    this.#onNotice = options.onNotice ?? (() => {});
    this.#now = options.now ?? Date.now;
    this.#sticky = new StickyPartitioner({ batchSizeBytes: this.#batchSizeBytes });
  }

  /** Whether batches carry a producer id and sequences (known after {@link connect}). */
  get idempotent(): boolean {
    return this.#idempotent;
  }

  /** The topic's partition count (known after {@link connect}). */
  get partitionCount(): number {
    return this.#partitions.length;
  }

  /**
   * Loads the topic's metadata and, for idempotence, a producer id.
   * @throws KafkaClientError when the topic does not exist (UNKNOWN_TOPIC_OR_PARTITION) or
   *   cannot be produced to, or idempotence was required and the cluster refused it
   */
  async connect(): Promise<void> {
    const deadline = this.#now() + this.#deliveryTimeoutMs;
    for (let attempt = 0;; attempt++) {
      const md = await this.#client.metadata([this.topic], { allowAutoTopicCreation: this.#allowAutoTopicCreation });
      const t = md.topics.find((x) => x.name === this.topic);
      const code = t ? t.errorCode : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
      // A topic being created answers LEADER_NOT_AVAILABLE for a moment; a missing one is final.
      if (code === ErrorCode.NONE && t!.partitions.length > 0) {
        this.#applyMetadata(t!.partitions);
        break;
      }
      if (code !== ErrorCode.LEADER_NOT_AVAILABLE || this.#now() > deadline) {
        throw new KafkaClientError(`Cannot produce to topic "${this.topic}"`, { code });
      }
      await delay(this.#backoff(attempt));
    }
    const wanted = this.#idempotenceWanted === true || (this.#idempotenceWanted === "auto" && this.#acks === -1);
    if (wanted) await this.#initProducerId(this.#idempotenceWanted === "auto");
  }

  async #initProducerId(optional: boolean): Promise<void> {
    const conn = await this.#client.any();
    if (conn.pickVersion(INIT_PRODUCER_ID_API as never) === null) {
      if (optional) {
        this.#onNotice(`Idempotence is off: broker ${conn.address} does not offer InitProducerId`, "info");
        return;
      }
      throw new KafkaClientError(`Cannot enable idempotence: broker ${conn.address} does not offer InitProducerId`, {
        code: null,
      });
    }
    for (let attempt = 0;; attempt++) {
      const { response } = await this.#client.send(INIT_PRODUCER_ID_API, () => ({
        transactionalId: null,
        transactionTimeoutMs: 2147483647,
        producerId: this.#producerId,
        producerEpoch: this.#producerEpoch,
      }));
      if (response.errorCode === ErrorCode.NONE) {
        this.#idempotent = true;
        this.#producerId = response.producerId;
        this.#producerEpoch = response.producerEpoch;
        this.#onNotice(`Producer id ${response.producerId}, epoch ${response.producerEpoch}`, "info");
        return;
      }
      if (isRetriable(response.errorCode) && attempt < 10) {
        await delay(this.#backoff(attempt));
        continue;
      }
      if (optional && response.errorCode === ErrorCode.CLUSTER_AUTHORIZATION_FAILED) {
        // Kafka's Java client also drops idempotence it enabled by default when the principal lacks IDEMPOTENT_WRITE.
        this.#onNotice(`Idempotence is off: InitProducerId answered ${errorName(response.errorCode)}`, "info");
        return;
      }
      throw new KafkaClientError("Cannot get a producer id (InitProducerId)", { code: response.errorCode });
    }
  }

  #applyMetadata(partitions: readonly { partitionIndex: number; leaderId: number; errorCode: number }[]): void {
    for (const p of partitions) {
      while (this.#partitions.length <= p.partitionIndex) {
        this.#partitions.push({
          open: null,
          ready: [],
          inFlight: 0,
          nextOrder: 0,
          nextSequence: 0,
          blocked: false,
          leader: -1,
          unacked: [],
        });
      }
      this.#partitions[p.partitionIndex]!.leader = p.errorCode === ErrorCode.NONE ? p.leaderId : -1;
    }
  }

  /**
   * Adds a record to its partition's batch.
   * @param tag any number to recognise the record by in reports (a line number, say)
   * @returns undefined, or a promise to await when the buffer is full (backpressure)
   * @throws RangeError for a partition the topic does not have
   */
  send(record: ProducerRecord, tag = -1): Promise<void> | undefined {
    if (this.#closed) throw new TypeError("Cannot send: the producer is closed");
    const count = this.#partitions.length;
    const sizeBytes = recordSizeBytes(record);
    let partition: number;
    if (record.partition !== undefined) {
      partition = record.partition;
      if (!Number.isInteger(partition) || partition < 0 || partition >= count) {
        throw new RangeError(`Cannot send to partition ${partition}: topic "${this.topic}" has ${count}`);
      }
    } else if (record.key !== null) {
      partition = partitionForKey(record.key, count);
    } else {
      partition = this.#sticky.next(sizeBytes, count);
    }
    const p = this.#partitions[partition]!;
    let batch = p.open;
    if (batch !== null && batch.sizeBytes + sizeBytes > this.#batchSizeBytes && batch.records.length > 0) {
      this.#close(p, batch);
      batch = null;
    }
    if (batch === null) {
      const now = this.#now();
      batch = {
        partition,
        order: p.nextOrder++,
        records: [],
        tags: [],
        sizeBytes: 0,
        createdMs: now,
        bytes: null,
        generation: -1,
        baseSequence: -1,
        attempts: 0,
        retryAtMs: 0,
        lastError: null,
        done: false,
      };
      p.open = batch;
      this.#pendingBatches++;
      this.#wakeAt(now + this.#lingerMs);
    }
    // A ProducerRecord is a RecordInput with an optional partition, which buildBatch ignores.
    batch.records.push(record);
    batch.tags.push(tag);
    batch.sizeBytes += sizeBytes;
    this.#bufferedBytes += sizeBytes;
    if (batch.sizeBytes >= this.#batchSizeBytes) this.#close(p, batch);
    if (this.#bufferedBytes < this.#bufferMemoryBytes) return undefined;
    this.#schedulePump();
    return new Promise((resolve) => this.#spaceWaiters.push(resolve));
  }

  /** Sends everything buffered and resolves once every record has been delivered or failed. */
  async flush(): Promise<void> {
    this.#flushing++;
    try {
      this.#schedulePump();
      while (!this.#idle() && !this.#closed) await new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
    } finally {
      this.#flushing--;
    }
  }

  /** Stops timers; records still buffered are dropped without a report. Close the client after this. */
  close(): void {
    this.#closed = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    for (const w of this.#spaceWaiters.splice(0)) w();
    for (const w of this.#idleWaiters.splice(0)) w();
  }

  #requestsInFlightTotal(): number {
    let n = 0;
    for (const v of this.#requestsInFlight.values()) n += v;
    return n;
  }

  /** Nothing buffered, nothing in flight, and (acks=0) every write confirmed by a barrier. */
  #idle(): boolean {
    if (this.#pendingBatches > 0 || this.#requestsInFlightTotal() > 0) return false;
    for (const v of this.#acks0Bytes.values()) if (v > 0) return false;
    return true;
  }

  #close(p: PartitionState, batch: Batch): void {
    p.open = null;
    p.ready.push(batch);
    this.#schedulePump();
  }

  #schedulePump(): void {
    if (this.#pumpQueued || this.#closed) return;
    this.#pumpQueued = true;
    queueMicrotask(() => {
      this.#pumpQueued = false;
      this.#pump();
    });
  }

  #wakeAt(atMs: number): void {
    if (this.#closed || atMs >= this.#timerAtMs) return;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timerAtMs = atMs;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#timerAtMs = Infinity;
      this.#pump();
    }, Math.max(0, atMs - this.#now()));
  }

  #backoff(attempt: number): number {
    return Math.min(this.#retryBackoffMaxMs, this.#retryBackoffMs * 2 ** Math.min(attempt, 20));
  }

  /** Moves due batches to the wire. Synchronous up to the sends, so sequences follow queue order. */
  #pump(): void {
    if (this.#closed) return;
    const now = this.#now();
    let wake = Infinity;
    let needMetadata = false;
    const byNode = new Map<number, PartitionState[]>();
    for (const p of this.#partitions) {
      if (p.open !== null) {
        if (this.#flushing > 0 || now - p.open.createdMs >= this.#lingerMs) this.#close(p, p.open);
        else wake = Math.min(wake, p.open.createdMs + this.#lingerMs);
      }
      if (p.ready.length === 0) continue;
      // Batches that never made it (or keep failing) expire; those in flight wait for their answer.
      while (p.ready.length > 0 && now - p.ready[0]!.createdMs >= this.#deliveryTimeoutMs) {
        const b = p.ready.shift()!;
        const last = b.lastError === null ? "" : ` (last error: ${b.lastError})`;
        this.#fail(b, null, `delivery timed out after ${this.#deliveryTimeoutMs} ms${last}`);
      }
      if (p.ready.length === 0) continue;
      if (p.leader < 0) {
        needMetadata = true;
        continue;
      }
      if (p.blocked && p.inFlight > 0) continue;
      const head = p.ready[0]!;
      if (p.unacked.length > 0 && head.order - p.unacked[0]! >= MAX_UNACKED_BATCHES) continue;
      if (head.retryAtMs > now) {
        wake = Math.min(wake, head.retryAtMs);
        continue;
      }
      let list = byNode.get(p.leader);
      if (!list) byNode.set(p.leader, list = []);
      list.push(p);
    }
    if (needMetadata) this.#refreshMetadata();
    if (this.#resetting === null) {
      for (const [node, parts] of byNode) {
        while ((this.#requestsInFlight.get(node) ?? 0) < this.#maxInFlight) {
          const batches: Batch[] = [];
          let bytes = 0;
          for (const p of parts) {
            const head = p.ready[0];
            if (head === undefined || head.retryAtMs > now || (p.blocked && p.inFlight > 0)) continue;
            if (p.unacked.length > 0 && head.order - p.unacked[0]! >= MAX_UNACKED_BATCHES) continue;
            const built = this.#build(head);
            if (batches.length > 0 && bytes + built.length > MAX_REQUEST_BYTES) break;
            p.ready.shift();
            p.inFlight++;
            if (!p.unacked.includes(head.order)) p.unacked.push(head.order);
            batches.push(head);
            bytes += built.length;
          }
          if (batches.length === 0) break;
          this.#produce(node, batches, bytes);
        }
      }
      if (this.#acks === 0 && this.#flushing > 0) {
        for (const [node, pending] of this.#acks0Bytes) {
          if (pending > 0 && (this.#requestsInFlight.get(node) ?? 0) === 0) this.#acks0Barrier(node);
        }
      }
    }
    if (wake < Infinity) this.#wakeAt(wake);
    this.#notifyWaiters();
  }

  /** The batch's bytes, carrying the current producer id and its sequence. */
  #build(batch: Batch): Uint8Array {
    const p = this.#partitions[batch.partition]!;
    if (batch.bytes !== null && (!this.#idempotent || batch.generation === this.#generation)) return batch.bytes;
    let sequence = -1;
    if (this.#idempotent) {
      sequence = p.nextSequence;
      p.nextSequence = incrementSequence(sequence, batch.records.length);
      batch.generation = this.#generation;
      batch.baseSequence = sequence;
    }
    if (batch.bytes === null) {
      const createdMs = BigInt(batch.createdMs);
      const options: Parameters<typeof buildBatch>[1] = {
        compression: this.#compression,
        producerId: this.#producerId,
        producerEpoch: this.#producerEpoch,
        baseSequence: sequence,
        now: () => createdMs,
      };
      if (this.#compress !== undefined) options.compress = this.#compress;
      batch.bytes = buildBatch(batch.records, options);
    } else {
      // A batch sent under an earlier producer id: same records, new id and sequence.
      const dv = new DataView(batch.bytes.buffer, batch.bytes.byteOffset, batch.bytes.byteLength);
      dv.setBigInt64(PRODUCER_ID_OFFSET, this.#producerId);
      dv.setInt16(PRODUCER_EPOCH_OFFSET, this.#producerEpoch);
      dv.setInt32(BASE_SEQUENCE_OFFSET, sequence);
      updateBatchCrc(batch.bytes, 0);
    }
    return batch.bytes;
  }

  async #produce(node: number, batches: Batch[], bytes: number): Promise<void> {
    this.#requestsInFlight.set(node, (this.#requestsInFlight.get(node) ?? 0) + 1);
    try {
      const sent = await this.#request(node, batches, bytes);
      // Outside the request's try: an exception from a callback is a bug, not a reason to resend.
      if (sent !== null) this.#handleResponse(batches, sent);
    } finally {
      for (const b of batches) {
        const p = this.#partitions[b.partition]!;
        p.inFlight--;
        if (p.inFlight === 0) p.blocked = false;
      }
      this.#requestsInFlight.set(node, (this.#requestsInFlight.get(node) ?? 1) - 1);
      this.#schedulePump();
      this.#notifyWaiters();
    }
  }

  /**
   * Sends one Produce request. A failed request (connection, timeout) puts its batches back
   * for a retry.
   * @returns the response, or null when there is nothing more to handle (acks=0, failures)
   */
  async #request(node: number, batches: Batch[], bytes: number): Promise<ProduceResponse | null> {
    let conn: KafkaConnection;
    let version: number | null;
    try {
      conn = await this.#client.node(node);
      version = conn.pickVersion(PRODUCE_API as never, 11, 3);
      if (version !== null) {
        const body = {
          transactionalId: null,
          acks: this.#acks,
          timeoutMs: this.#ackTimeoutMs,
          topicData: [{
            name: this.topic,
            partitionData: batches.map((b) => ({ index: b.partition, records: b.bytes })),
          }],
        };
        if (this.#acks !== 0) return await conn.request(PRODUCE_API, version, body);
        // No response comes; the pending request is dropped when the client closes.
        conn.request(PRODUCE_API, version, body).catch(() => {});
      }
    } catch (err) {
      const code = err instanceof KafkaClientError ? err.code : null;
      const message = (err as Error).message;
      this.#onNotice(`Produce request to node ${node} failed: ${message}`, "warning");
      for (const b of batches) {
        this.#partitions[b.partition]!.leader = -1;
        this.#retry(b, code === null ? message : errorName(code));
      }
      this.#refreshMetadata();
      return null;
    }
    if (version === null) {
      for (const b of batches) {
        this.#fail(b, null, `broker ${conn.address} does not support Produce v3+ (record batch v2)`);
      }
      return null;
    }
    for (const b of batches) this.#succeed(b, -1n);
    this.#acks0Bytes.set(node, (this.#acks0Bytes.get(node) ?? 0) + bytes);
    if ((this.#acks0Bytes.get(node) ?? 0) >= ACKS0_BARRIER_BYTES) await this.#barrier(node, conn);
    return null;
  }

  /** An acks=0 barrier on its own (at flush), counted as a request in flight. */
  async #acks0Barrier(node: number): Promise<void> {
    this.#requestsInFlight.set(node, (this.#requestsInFlight.get(node) ?? 0) + 1);
    try {
      await this.#barrier(node, await this.#client.node(node));
    } catch (err) {
      this.#acks0Bytes.set(node, 0);
      this.#onFailed({
        partition: -1,
        tags: [],
        code: null,
        message: `records sent with acks=0 to node ${node} may be lost: ${(err as Error).message}`,
      });
    } finally {
      this.#requestsInFlight.set(node, (this.#requestsInFlight.get(node) ?? 1) - 1);
      this.#schedulePump();
      this.#notifyWaiters();
    }
  }

  /**
   * With acks=0 nothing confirms a write. An ApiVersions round trip shows that the broker has
   * read everything sent before it on this connection (Kafka handles a connection's requests in
   * order); a failure means records sent since the last barrier may be lost.
   */
  async #barrier(node: number, conn: KafkaConnection): Promise<void> {
    this.#acks0Bytes.set(node, 0);
    try {
      await conn.request(API_VERSIONS_API, 0, {});
    } catch (err) {
      this.#onFailed({
        partition: -1,
        tags: [],
        code: null,
        message: `records sent with acks=0 to ${conn.address} may be lost: ${(err as Error).message}`,
      });
    }
  }

  #handleResponse(batches: Batch[], response: ProduceResponse): void {
    const results = new Map<number, ProduceResponse["responses"][number]["partitionResponses"][number]>();
    for (const t of response.responses) {
      if (t.name !== this.topic) continue;
      for (const pr of t.partitionResponses) results.set(pr.index, pr);
    }
    let refresh = false;
    let reset = false;
    for (const b of batches) {
      const r = results.get(b.partition);
      if (!r) {
        this.#retry(b, "no result for this partition in the response");
        continue;
      }
      const code = r.errorCode;
      if (code === ErrorCode.NONE) {
        this.#succeed(b, r.baseOffset, r.logAppendTimeMs);
      } else if (code === ErrorCode.DUPLICATE_SEQUENCE_NUMBER) {
        // Already written by an earlier attempt whose answer was lost.
        this.#succeed(b, -1n);
      } else if (
        this.#idempotent &&
        (code === ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER || code === ErrorCode.UNKNOWN_PRODUCER_ID ||
          code === ErrorCode.INVALID_PRODUCER_EPOCH)
      ) {
        // A gap behind an earlier batch that is being retried closes by itself; otherwise start over.
        const p = this.#partitions[b.partition]!;
        if (!p.blocked && b.generation === this.#generation) reset = true;
        this.#retry(b, errorName(code));
      } else if (isRetriable(code)) {
        if (ERRORS.get(code)?.invalidMetadata) {
          refresh = true;
          this.#partitions[b.partition]!.leader = -1;
        }
        this.#retry(b, errorName(code));
      } else {
        const detail = r.errorMessage ?? r.recordErrors[0]?.batchIndexErrorMessage ?? null;
        this.#fail(b, code, detail === null ? errorName(code) : `${errorName(code)}: ${detail}`);
        if (this.#idempotent && b.generation === this.#generation) reset = true;
      }
    }
    if (refresh) this.#refreshMetadata();
    if (reset) this.#resetProducerId();
  }

  #retry(b: Batch, error: string): void {
    const now = this.#now();
    if (now - b.createdMs >= this.#deliveryTimeoutMs) {
      this.#fail(b, null, `delivery timed out after ${this.#deliveryTimeoutMs} ms (last error: ${error})`);
      return;
    }
    b.lastError = error;
    b.retryAtMs = now + this.#backoff(b.attempts++);
    const p = this.#partitions[b.partition]!;
    p.blocked = true;
    let i = 0;
    while (i < p.ready.length && p.ready[i]!.order < b.order) i++;
    p.ready.splice(i, 0, b);
    if (b.attempts === 1) this.#onNotice(`Retrying partition ${b.partition} after ${error}`, "info");
  }

  #succeed(b: Batch, baseOffset: bigint, logAppendTimeMs = -1n): void {
    const tags = b.tags;
    this.#release(b);
    this.#onDelivered({ partition: b.partition, baseOffset, tags, logAppendTimeMs });
  }

  #fail(b: Batch, code: number | null, message: string): void {
    const tags = b.tags;
    this.#release(b);
    this.#onFailed({ partition: b.partition, tags, code, message });
  }

  #release(b: Batch): void {
    const unacked = this.#partitions[b.partition]!.unacked;
    const i = unacked.indexOf(b.order);
    if (i >= 0) unacked.splice(i, 1);
    this.#bufferedBytes -= b.sizeBytes;
    this.#pendingBatches--;
    b.done = true;
    b.records = [];
    b.tags = [];
    b.bytes = null;
    this.#notifyWaiters();
  }

  #notifyWaiters(): void {
    if (this.#bufferedBytes < this.#bufferMemoryBytes) { for (const w of this.#spaceWaiters.splice(0)) w(); }
    if (this.#idleWaiters.length > 0 && this.#idle()) { for (const w of this.#idleWaiters.splice(0)) w(); }
  }

  /** Refreshes leaders once at a time, backing off while the topic has partitions without one. */
  #refreshMetadata(): void {
    if (this.#metadata !== null || this.#closed) return;
    const now = this.#now();
    if (now < this.#metadataRetryAtMs) {
      this.#wakeAt(this.#metadataRetryAtMs);
      return;
    }
    this.#metadata = (async () => {
      try {
        const md = await this.#client.metadata([this.topic], { allowAutoTopicCreation: false });
        const t = md.topics.find((x) => x.name === this.topic);
        if (t && t.errorCode === ErrorCode.NONE) {
          this.#applyMetadata(t.partitions);
          const missing = t.partitions.some((p) => p.errorCode !== ErrorCode.NONE || p.leaderId < 0);
          this.#metadataFailures = missing ? this.#metadataFailures + 1 : 0;
        } else {
          this.#metadataFailures++;
          this.#onNotice(
            `Metadata for "${this.topic}": ${errorName(t?.errorCode ?? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)}`,
            "warning",
          );
        }
      } catch (err) {
        this.#metadataFailures++;
        this.#onNotice(`Metadata refresh failed: ${(err as Error).message}`, "warning");
      } finally {
        this.#metadataRetryAtMs = this.#now() + this.#backoff(this.#metadataFailures);
        this.#metadata = null;
        this.#schedulePump();
      }
    })();
  }

  /** Gets a new producer id once the batches in flight have come back, and restarts sequences. */
  #resetProducerId(): void {
    if (this.#resetting !== null) return;
    const generation = this.#generation;
    this.#resetting = (async () => {
      try {
        await this.#initProducerId(false);
        this.#generation = generation + 1;
        for (const p of this.#partitions) {
          p.nextSequence = 0;
          if (p.inFlight > 0) p.blocked = true;
        }
      } catch (err) {
        // Without a producer id nothing more can be written safely: fail what is left.
        const message = `cannot get a new producer id: ${(err as Error).message}`;
        for (const p of this.#partitions) {
          for (const b of p.ready.splice(0)) this.#fail(b, null, message);
          if (p.open) {
            const b = p.open;
            p.open = null;
            this.#fail(b, null, message);
          }
        }
      } finally {
        this.#resetting = null;
        this.#schedulePump();
      }
    })();
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
