/**
 * Reads one topic's partitions from their leaders with Fetch long polling, the way a Kafka
 * consumer's fetcher does, without group membership: the caller assigns partitions and start
 * offsets (from {@link Fetcher.listOffsets}, or later from a group coordinator) and iterates
 * over {@link Fetcher.fetch}.
 *
 * Each leader has one Fetch in flight. When an answer arrives, the next request goes out before
 * its records are decoded, so the broker works while the caller prints. Only record batch v2
 * is read; control batches are skipped and, with read_committed, so are aborted transactions
 * (from the response's aborted-transaction list, as Kafka's consumer does). A moved leader or
 * a missing partition refreshes metadata; OFFSET_OUT_OF_RANGE resets the position by the
 * chosen policy.
 *
 * @module
 */

import { FETCH_API, type FetchResponse, type PartitionData } from "../protocol/generated/01_fetch.ts";
import { LIST_OFFSETS_API } from "../protocol/generated/02_list_offsets.ts";
import { ErrorCode, errorName, ERRORS, isRetriable } from "../protocol/generated/errors.ts";
import { ZERO_UUID } from "../protocol/reader.ts";
import {
  type AbsoluteRecord,
  Attributes,
  batchRecords,
  type DecompressFn,
  readBatchHeader,
  scanBatches,
} from "../protocol/records/mod.ts";
import type { KafkaClient } from "./client.ts";
import { KafkaClientError } from "./errors.ts";

/** ListOffsets' special timestamps. */
export const OffsetSpec = { LATEST: -1n, EARLIEST: -2n } as const;

/** How much a notice matters: warnings are for everyone, info for `--verbose`. */
export type NoticeLevel = "info" | "warning";

/** What to do when the position is not in the log (OFFSET_OUT_OF_RANGE). */
export type ResetPolicy = "earliest" | "latest" | "nearest";

/** Options for {@link Fetcher}. */
export interface FetcherOptions {
  decompress: DecompressFn;
  /** 0 read_uncommitted (default), 1 read_committed. */
  isolationLevel?: 0 | 1;
  /** Long-poll time (default 500). */
  maxWaitMs?: number;
  /** Default 1: answer as soon as there is anything. */
  minBytes?: number;
  /** Per response (default 50 MiB, Kafka's fetch.max.bytes). */
  maxBytes?: number;
  /** Per partition (default 1 MiB, Kafka's max.partition.fetch.bytes). */
  partitionMaxBytes?: number;
  /** Default "latest"; "nearest" picks the log start or end, whichever the position is past. */
  resetPolicy?: ResetPolicy;
  /**
   * Things worth telling the user: "warning" for what stalls reading or moves the position
   * (failed fetches, metadata refreshes, offset resets), "info" for the rest.
   */
  onNotice?: (message: string, level: NoticeLevel) => void;
}

/** Records read from one partition in one response. */
export interface FetchedPartition {
  partition: number;
  /** In offset order, at or after the position they were fetched from. */
  records: AbsoluteRecord[];
  highWatermark: bigint;
  lastStableOffset: bigint;
  /** Where the next fetch of this partition starts. */
  nextOffset: bigint;
  /** The partition leader epoch of the batch holding the last record, -1 without records. */
  leaderEpoch: number;
}

interface PartitionState {
  offset: bigint;
  leader: number;
  leaderEpoch: number;
  /** Waiting for a reset of its position (OFFSET_OUT_OF_RANGE). */
  reset: ResetPolicy | null;
  maxBytes: number;
  retryAtMs: number;
}

/** A fetch answer, kept raw until the next request has gone out. */
interface Raw {
  partition: number;
  fetchOffset: bigint;
  data: PartitionData;
  /** Complete batches in `data.records`. */
  batches: { at: number; size: number }[];
}

type Outcome = { node: number; raws: Raw[]; error: null } | { node: number; raws: null; error: Error };

const MAX_PARTITION_BYTES_CAP = 64 << 20;
// A control record's key: version (int16), then type (int16): 0 ABORT, 1 COMMIT.
const CONTROL_TYPE_ABORT = 0;

/**
 * Fetches one topic.
 * @example
 * const fetcher = new Fetcher(client, "orders", { decompress });
 * await fetcher.connect();
 * fetcher.assign(await fetcher.listOffsets([0, 1], OffsetSpec.EARLIEST));
 * for await (const parts of fetcher.fetch(signal)) for (const p of parts) print(p.records);
 */
export class Fetcher {
  readonly topic: string;
  readonly #client: KafkaClient;
  readonly #options: Required<Omit<FetcherOptions, "onNotice">>;
  readonly #onNotice: (message: string, level: NoticeLevel) => void;
  #topicId = ZERO_UUID;
  #partitionCount = 0;
  #leaders = new Map<number, { leader: number; epoch: number }>();
  readonly #assigned = new Map<number, PartitionState>();
  #metadataFailures = 0;

  constructor(client: KafkaClient, topic: string, options: FetcherOptions) {
    this.#client = client;
    this.topic = topic;
    this.#options = {
      decompress: options.decompress,
      isolationLevel: options.isolationLevel ?? 0,
      maxWaitMs: options.maxWaitMs ?? 500,
      minBytes: options.minBytes ?? 1,
      maxBytes: options.maxBytes ?? 50 << 20,
      partitionMaxBytes: options.partitionMaxBytes ?? 1 << 20,
      resetPolicy: options.resetPolicy ?? "latest",
    };
    this.#onNotice = options.onNotice ?? (() => {});
  }

  /** The topic's partition count (after {@link connect}). */
  get partitionCount(): number {
    return this.#partitionCount;
  }

  /**
   * Loads the topic's metadata.
   * @throws KafkaClientError when the topic does not exist (UNKNOWN_TOPIC_OR_PARTITION)
   */
  async connect(): Promise<void> {
    for (let attempt = 0;; attempt++) {
      const code = await this.#loadMetadata();
      if (code === ErrorCode.NONE) return;
      if (code !== ErrorCode.LEADER_NOT_AVAILABLE || attempt >= 20) {
        throw new KafkaClientError(`Cannot consume from topic "${this.topic}"`, { code });
      }
      await delay(backoff(attempt));
    }
  }

  async #loadMetadata(): Promise<number> {
    const md = await this.#client.metadata([this.topic], { allowAutoTopicCreation: false });
    const t = md.topics.find((x) => x.name === this.topic);
    if (!t) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
    if (t.errorCode !== ErrorCode.NONE) return t.errorCode;
    if (t.partitions.length === 0) return ErrorCode.LEADER_NOT_AVAILABLE;
    this.#topicId = t.topicId;
    this.#partitionCount = Math.max(this.#partitionCount, ...t.partitions.map((p) => p.partitionIndex + 1));
    for (const p of t.partitions) {
      const leader = p.errorCode === ErrorCode.NONE ? p.leaderId : -1;
      this.#leaders.set(p.partitionIndex, { leader, epoch: p.leaderEpoch });
      const s = this.#assigned.get(p.partitionIndex);
      if (s) {
        s.leader = leader;
        s.leaderEpoch = p.leaderEpoch;
      }
    }
    return ErrorCode.NONE;
  }

  /**
   * ListOffsets for partitions at one timestamp.
   * @param timestamp {@link OffsetSpec.EARLIEST}, {@link OffsetSpec.LATEST} (the high watermark,
   *   or the last stable offset with read_committed), or a time in ms: the first offset whose
   *   timestamp is at or after it, or -1 when there is none
   * @returns offset by partition
   * @throws KafkaClientError for a non-retriable error, or one that persists
   */
  async listOffsets(partitions: readonly number[], timestamp: bigint): Promise<Map<number, bigint>> {
    const out = new Map<number, bigint>();
    let todo = [...partitions];
    for (let attempt = 0; todo.length > 0; attempt++) {
      const byLeader = new Map<number, number[]>();
      const retry: number[] = [];
      for (const p of todo) {
        const leader = this.#leaders.get(p)?.leader ?? -1;
        if (leader < 0) retry.push(p);
        else {
          let list = byLeader.get(leader);
          if (!list) byLeader.set(leader, list = []);
          list.push(p);
        }
      }
      await Promise.all([...byLeader].map(async ([node, parts]) => {
        let response;
        try {
          ({ response } = await this.#client.send(LIST_OFFSETS_API, () => ({
            replicaId: -1,
            isolationLevel: this.#options.isolationLevel,
            topics: [{
              name: this.topic,
              partitions: parts.map((p) => ({
                partitionIndex: p,
                currentLeaderEpoch: this.#leaders.get(p)?.epoch ?? -1,
                timestamp,
              })),
            }],
            timeoutMs: 30000,
          }), { to: await this.#client.node(node), minVersion: 1 }));
        } catch (err) {
          if (attempt >= 10) throw err;
          retry.push(...parts);
          return;
        }
        const seen = new Set<number>();
        for (const t of response.topics) {
          for (const r of t.partitions) {
            if (!parts.includes(r.partitionIndex)) continue;
            seen.add(r.partitionIndex);
            if (r.errorCode === ErrorCode.NONE) out.set(r.partitionIndex, r.offset);
            else if (isRetriable(r.errorCode) && attempt < 10) retry.push(r.partitionIndex);
            else {
              throw new KafkaClientError(
                `Cannot list offsets of "${this.topic}" partition ${r.partitionIndex}`,
                { code: r.errorCode },
              );
            }
          }
        }
        for (const p of parts) if (!seen.has(p)) retry.push(p);
      }));
      todo = retry;
      if (todo.length > 0) {
        if (attempt >= 10) {
          throw new KafkaClientError(`Cannot list offsets of "${this.topic}" partition ${todo[0]}`, {
            code: ErrorCode.LEADER_NOT_AVAILABLE,
          });
        }
        await delay(backoff(attempt));
        await this.#loadMetadata();
      }
    }
    return out;
  }

  /**
   * Sets the partitions to read and where to start; replaces any earlier assignment.
   * @throws RangeError for a partition the topic does not have
   */
  assign(positions: ReadonlyMap<number, bigint>): void {
    this.#assigned.clear();
    for (const [partition, offset] of positions) {
      const l = this.#leaders.get(partition);
      if (!l) throw new RangeError(`Cannot assign partition ${partition}: topic "${this.topic}" has no such partition`);
      this.#assigned.set(partition, {
        offset,
        leader: l.leader,
        leaderEpoch: l.epoch,
        reset: null,
        maxBytes: this.#options.partitionMaxBytes,
        retryAtMs: 0,
      });
    }
  }

  /** Stops reading a partition (records already fetched for it are dropped). */
  unassign(partition: number): void {
    this.#assigned.delete(partition);
  }

  /** The next offset to fetch of each assigned partition. */
  positions(): Map<number, bigint> {
    return new Map([...this.#assigned].map(([p, s]) => [p, s.offset]));
  }

  /**
   * Fetches until the signal aborts or nothing is assigned. Each step yields the partitions of
   * one response (with no records when a partition only reports its high watermark).
   * @throws KafkaClientError for errors that retrying cannot fix (authorization, legacy format)
   */
  async *fetch(signal?: AbortSignal): AsyncGenerator<FetchedPartition[]> {
    const inFlight = new Map<number, Promise<Outcome>>();
    const aborted = new Promise<null>((resolve) => {
      if (signal?.aborted) resolve(null);
      signal?.addEventListener("abort", () => resolve(null), { once: true });
    });
    let needMetadata = false;
    while (!signal?.aborted && this.#assigned.size > 0) {
      if (needMetadata) {
        needMetadata = false;
        await Promise.race([this.#refreshMetadata(), aborted]);
        continue;
      }
      const resets = [...this.#assigned].filter(([, s]) => s.reset !== null);
      if (resets.length > 0) {
        await Promise.race([this.#resetPositions(resets), aborted]);
        continue;
      }
      this.#issue(inFlight);
      if (inFlight.size === 0) {
        // Everything waits for a leader or a retry time.
        let waitMs = 1000;
        for (const s of this.#assigned.values()) {
          if (s.leader < 0) {
            needMetadata = true;
            waitMs = Math.min(waitMs, backoff(this.#metadataFailures));
          } else waitMs = Math.min(waitMs, s.retryAtMs - Date.now());
        }
        await Promise.race([delay(Math.max(10, waitMs), signal), aborted]);
        continue;
      }
      const outcome = await Promise.race([...inFlight.values(), aborted]);
      if (outcome === null) return;
      inFlight.delete(outcome.node);
      if (outcome.error !== null) {
        this.#onNotice(`Fetch from node ${outcome.node} failed: ${outcome.error.message}`, "warning");
        for (const s of this.#assigned.values()) {
          if (s.leader === outcome.node) {
            s.leader = -1;
            s.retryAtMs = Date.now() + backoff(this.#metadataFailures);
          }
        }
        needMetadata = true;
        continue;
      }
      const ready: Raw[] = [];
      for (const raw of outcome.raws) {
        const s = this.#assigned.get(raw.partition);
        // Dropped if unassigned meanwhile, or moved since this request went out.
        if (!s || s.offset !== raw.fetchOffset) continue;
        if (this.#advance(raw, s)) ready.push(raw);
        else if (s.leader < 0) needMetadata = true;
      }
      // The next request goes out before decoding, so the broker works while we do.
      if (!needMetadata) this.#issue(inFlight);
      const parts: FetchedPartition[] = [];
      for (const raw of ready) parts.push(this.#decode(raw));
      if (parts.length > 0) yield parts;
    }
  }

  async #refreshMetadata(): Promise<void> {
    try {
      const code = await this.#loadMetadata();
      if (code !== ErrorCode.NONE) {
        this.#metadataFailures++;
        if (!isRetriable(code)) throw new KafkaClientError(`Cannot consume from topic "${this.topic}"`, { code });
        this.#onNotice(`Metadata for "${this.topic}": ${errorName(code)}`, "warning");
      } else if ([...this.#assigned.values()].some((s) => s.leader < 0)) {
        this.#metadataFailures++;
      } else this.#metadataFailures = 0;
    } catch (err) {
      if (err instanceof KafkaClientError && err.code !== null && !isRetriable(err.code)) throw err;
      this.#metadataFailures++;
      this.#onNotice(`Metadata refresh failed: ${(err as Error).message}`, "warning");
    }
  }

  /** Sends a Fetch to every leader that has none in flight. */
  #issue(inFlight: Map<number, Promise<Outcome>>): void {
    const now = Date.now();
    const byNode = new Map<number, [number, PartitionState][]>();
    for (const [partition, s] of this.#assigned) {
      if (s.leader < 0 || s.reset !== null || s.retryAtMs > now || inFlight.has(s.leader)) continue;
      let list = byNode.get(s.leader);
      if (!list) byNode.set(s.leader, list = []);
      list.push([partition, s]);
    }
    for (const [node, parts] of byNode) inFlight.set(node, this.#fetchFrom(node, parts));
  }

  async #fetchFrom(node: number, parts: [number, PartitionState][]): Promise<Outcome> {
    try {
      const conn = await this.#client.node(node);
      const byId = this.#topicId !== ZERO_UUID;
      const version = conn.pickVersion(FETCH_API as never, byId ? 17 : 12, 4);
      if (version === null) {
        return {
          node,
          raws: null,
          error: new KafkaClientError(`Broker ${conn.address} does not support Fetch v4+`, { code: null }),
        };
      }
      const offsets = new Map(parts.map(([p, s]) => [p, s.offset]));
      const response: FetchResponse = await conn.request(FETCH_API, version, {
        replicaId: -1,
        maxWaitMs: this.#options.maxWaitMs,
        minBytes: this.#options.minBytes,
        maxBytes: this.#options.maxBytes,
        isolationLevel: this.#options.isolationLevel,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [{
          topic: this.topic,
          topicId: this.#topicId,
          partitions: parts.map(([partition, s]) => ({
            partition,
            currentLeaderEpoch: s.leaderEpoch,
            fetchOffset: s.offset,
            lastFetchedEpoch: -1,
            logStartOffset: -1n,
            partitionMaxBytes: s.maxBytes,
          })),
        }],
        forgottenTopicsData: [],
        rackId: "",
      });
      if (response.errorCode !== ErrorCode.NONE) {
        return { node, raws: null, error: new KafkaClientError("Fetch failed", { code: response.errorCode }) };
      }
      const raws: Raw[] = [];
      for (const t of response.responses) {
        if (version >= 13 ? t.topicId !== this.#topicId : t.topic !== this.topic) continue;
        for (const data of t.partitions) {
          const fetchOffset = offsets.get(data.partitionIndex);
          if (fetchOffset === undefined) continue;
          const batches = data.records === null ? [] : scanBatches(data.records).batches;
          raws.push({ partition: data.partitionIndex, fetchOffset, data, batches });
        }
      }
      return { node, raws, error: null };
    } catch (err) {
      return { node, raws: null, error: err as Error };
    }
  }

  /**
   * Applies one partition's answer to its state: errors, and the position after its batches.
   * @returns whether the answer carries records or a high watermark for the caller
   * @throws KafkaClientError for errors that retrying cannot fix
   */
  #advance(raw: Raw, s: PartitionState): boolean {
    const { data } = raw;
    const code = data.errorCode;
    if (code === ErrorCode.NONE) {
      for (const { at } of raw.batches) {
        const magic = data.records![at + 16]!;
        if (magic !== 2) {
          throw new KafkaClientError(
            `Cannot read "${this.topic}" partition ${raw.partition} near offset ${raw.fetchOffset}: ` +
              `message format v${magic} (before Kafka 0.11) is not supported`,
            { code: null },
          );
        }
      }
      const last = raw.batches.at(-1);
      if (last !== undefined) {
        const h = readBatchHeader(data.records!, last.at);
        const next = h.baseOffset + BigInt(h.lastOffsetDelta) + 1n;
        if (next > s.offset) s.offset = next;
        s.maxBytes = this.#options.partitionMaxBytes;
      } else if (data.records !== null && data.records.length > 0) {
        // Only part of a batch fits: ask for more next time.
        s.maxBytes = Math.min(MAX_PARTITION_BYTES_CAP, s.maxBytes * 2);
      }
      return true;
    }
    if (code === ErrorCode.OFFSET_OUT_OF_RANGE) {
      s.reset = this.#options.resetPolicy;
      return false;
    }
    const info = ERRORS.get(code);
    if (info?.invalidMetadata || code === ErrorCode.UNKNOWN_TOPIC_ID || code === ErrorCode.INCONSISTENT_TOPIC_ID) {
      s.leader = -1;
      return false;
    }
    if (isRetriable(code)) {
      s.retryAtMs = Date.now() + backoff(1);
      return false;
    }
    throw new KafkaClientError(`Cannot fetch "${this.topic}" partition ${raw.partition}`, { code });
  }

  /** Decodes the records of an answer: v2 batches only, without control and aborted batches. */
  #decode(raw: Raw): FetchedPartition {
    const { data } = raw;
    const records: AbsoluteRecord[] = [];
    const buf = data.records;
    let aborted: { producerId: bigint; firstOffset: bigint }[] = [];
    const abortedProducers = new Set<bigint>();
    if (this.#options.isolationLevel === 1 && data.abortedTransactions) {
      aborted = [...data.abortedTransactions].sort((a, b) => (a.firstOffset < b.firstOffset ? -1 : 1));
    }
    let nextOffset = raw.fetchOffset;
    let leaderEpoch = -1;
    if (buf !== null) {
      for (const { at } of raw.batches) {
        const h = readBatchHeader(buf, at);
        const lastOffset = h.baseOffset + BigInt(h.lastOffsetDelta);
        nextOffset = lastOffset + 1n;
        while (aborted.length > 0 && aborted[0]!.firstOffset <= lastOffset) {
          abortedProducers.add(aborted.shift()!.producerId);
        }
        const control = (h.attributes & Attributes.CONTROL) !== 0;
        const transactional = (h.attributes & Attributes.TRANSACTIONAL) !== 0;
        if (control) {
          if (abortedProducers.has(h.producerId) && h.recordCount > 0) {
            const { records: markers } = batchRecords(buf, at, { decompress: this.#options.decompress });
            const key = markers[0]?.key;
            if (key && key.length >= 4 && ((key[2]! << 8) | key[3]!) === CONTROL_TYPE_ABORT) {
              abortedProducers.delete(h.producerId);
            }
          }
          continue;
        }
        if (transactional && abortedProducers.has(h.producerId)) continue;
        if (lastOffset < raw.fetchOffset) continue;
        const { records: rs } = batchRecords(buf, at, { decompress: this.#options.decompress });
        const before = records.length;
        for (const r of rs) if (r.offset >= raw.fetchOffset) records.push(r);
        if (records.length > before) leaderEpoch = h.partitionLeaderEpoch;
      }
    }
    return {
      partition: raw.partition,
      records,
      highWatermark: data.highWatermark,
      lastStableOffset: data.lastStableOffset,
      nextOffset: nextOffset > raw.fetchOffset ? nextOffset : raw.fetchOffset,
      leaderEpoch,
    };
  }

  async #resetPositions(resets: [number, PartitionState][]): Promise<void> {
    const byPolicy = new Map<ResetPolicy, number[]>();
    for (const [p, s] of resets) {
      let list = byPolicy.get(s.reset!);
      if (!list) byPolicy.set(s.reset!, list = []);
      list.push(p);
    }
    for (const [policy, partitions] of byPolicy) {
      const earliest = policy === "latest" ? null : await this.listOffsets(partitions, OffsetSpec.EARLIEST);
      const latest = policy === "earliest" ? null : await this.listOffsets(partitions, OffsetSpec.LATEST);
      for (const p of partitions) {
        const s = this.#assigned.get(p);
        if (!s) continue;
        const lo = earliest?.get(p) ?? -1n;
        const hi = latest?.get(p) ?? -1n;
        const to = policy === "earliest" ? lo : policy === "latest" ? hi : s.offset < lo ? lo : hi;
        this.#onNotice(`Partition ${p}: offset ${s.offset} is out of range, resetting to ${to}`, "warning");
        s.offset = to;
        s.reset = null;
      }
    }
  }
}

function backoff(attempt: number): number {
  return Math.min(1000, 100 * 2 ** Math.min(attempt, 10));
}

/** Resolves after `ms`, or at once when `signal` aborts (clearing the timer). */
function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, Math.max(0, ms));
    signal?.addEventListener("abort", done, { once: true });
  });
}
