/**
 * The v2 API's consumer instances: `POST /consumers/{group}` creates one, which then subscribes
 * (a member of the group, kbin's {@link GroupMember}, with partitions assigned by the group) or
 * is assigned partitions by hand, polls records (`GET …/records`), seeks, commits and is deleted,
 * or closes itself after `consumer.instance.timeout.ms` without requests (leaving its group).
 *
 * Each instance has its own Kafka client over in-process connections acting as the principal that
 * created it, so the broker applies that principal's ACLs to its Fetch, OffsetCommit and group
 * requests; an instance answers only requests from that principal (others get 40403, as if it did
 * not exist). The operations of one instance run one at a time, in arrival order.
 *
 * A poll is one Fetch long poll of at most the request timeout to each leader of the assigned
 * partitions: it answers as soon as `fetch.min.bytes` (default: any record) are there, with at
 * most `max_bytes` of keys and values, and always at least one record when there is one.
 * Positions start at the group's committed offset, else by `auto.offset.reset`; with
 * `auto.commit.enable` (default true, as Kafka's consumer) what earlier polls answered is committed
 * at the start of a poll every 5 s, when partitions are revoked and when the instance closes.
 *
 * @module
 */

import { KafkaClient } from "../../client/client.ts";
import type { TopicPartition } from "../../client/assignors.ts";
import { KafkaClientError } from "../../client/errors.ts";
import { GroupMember } from "../../client/group_member.ts";
import { commitOffsets, fetchCommittedOffsets, listOffsets, OffsetSpec } from "../../client/groups.ts";
import { FETCH_API, type FetchResponse } from "../../protocol/generated/01_fetch.ts";
import { ErrorCode, errorName, ERRORS, isRetriable } from "../../protocol/generated/errors.ts";
import {
  Attributes,
  batchRecords,
  type DecompressFn,
  readBatchHeader,
  scanBatches,
} from "../../protocol/records/mod.ts";
import type { LocalKafka, Logger } from "../../ports.ts";
import { hostOfRemote } from "../../broker/acl/model.ts";
import { kafkaError, Messages, RestCode, RestError } from "./errors.ts";
import { recordSizeBytes, type SchemaSerde, v2ConsumerRecord } from "./records.ts";

/** The formats a v2 consumer reads in (schema formats need the Schema Registry). */
export type ConsumerFormat = "binary" | "json" | "avro" | "jsonschema" | "protobuf";

/** The schema-based consumer formats, by the registry's name for each. */
const SCHEMA_FORMATS = { avro: "AVRO", jsonschema: "JSONSCHEMA", protobuf: "PROTOBUF" } as const;

/** What `POST /consumers/{group}` asks for. */
export interface ConsumerInstanceConfig {
  name: string;
  format: ConsumerFormat;
  autoOffsetReset: "earliest" | "latest" | "none";
  autoCommit: boolean;
  /** Bytes a poll waits for before answering (<= 0: any record). */
  fetchMinBytes: number;
  /** The longest a poll waits. */
  requestTimeoutMs: number;
}

/** Kafka's auto.commit.interval.ms default. */
const AUTO_COMMIT_INTERVAL_MS = 5000;
/** How long a consumer's knowledge of partition leaders is trusted. */
const METADATA_MAX_AGE_MS = 30_000;

function key(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

interface Position {
  topic: string;
  partition: number;
  /** The next offset to read; null until known (committed offset or reset policy). */
  offset: bigint | null;
  leaderEpoch: number;
}

/** Kafka's IllegalStateException, as Confluent answers it (409, 40903). */
function illegalState(message: string): RestError {
  return new RestError(RestCode.ILLEGAL_STATE, `Illegal state: ${message}`);
}

function clientFailure(err: unknown): RestError {
  if (err instanceof RestError) return err;
  if (err instanceof KafkaClientError) return kafkaError(err.code, err.message);
  return new RestError(RestCode.KAFKA_RETRIABLE_ERROR, `Kafka request failed: ${(err as Error).message}`);
}

/** One consumer instance. */
export class ConsumerInstance {
  readonly group: string;
  readonly config: ConsumerInstanceConfig;
  readonly principal: string;
  readonly #client: KafkaClient;
  readonly #serde: SchemaSerde | undefined;
  readonly #decompress: DecompressFn;
  readonly #logger: Logger;
  readonly #now: () => number;
  #mode: "none" | "subscribe" | "assign" = "none";
  #subscription: string[] = [];
  #member: GroupMember | null = null;
  #memberFailure: Error | null = null;
  /** The member's last warning (why it has no assignment yet, when it has none). */
  #memberNotice: string | null = null;
  readonly #positions = new Map<string, Position>();
  #leaders = new Map<string, number>();
  #leadersAtMs = 0;
  #lastCommitMs: number;
  #queue: Promise<unknown> = Promise.resolve();
  #busy = 0;
  #closed = false;
  lastUsedMs: number;

  constructor(options: {
    group: string;
    config: ConsumerInstanceConfig;
    principal: string;
    client: KafkaClient;
    /** Decodes the schema-based formats (the Schema Registry's). */
    serde?: SchemaSerde | undefined;
    decompress: DecompressFn;
    logger: Logger;
    now: () => number;
  }) {
    this.group = options.group;
    this.config = options.config;
    this.principal = options.principal;
    this.#client = options.client;
    this.#serde = options.serde;
    this.#decompress = options.decompress;
    this.#logger = options.logger;
    this.#now = options.now;
    this.lastUsedMs = options.now();
    this.#lastCommitMs = options.now();
  }

  /** Whether an operation is running (an instance in use never expires). */
  get busy(): boolean {
    return this.#busy > 0;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Runs `fn` after the instance's earlier operations. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    this.#busy++;
    this.lastUsedMs = this.#now();
    const result = this.#queue.then(() => {
      if (this.#closed) throw new RestError(RestCode.CONSUMER_INSTANCE_NOT_FOUND, Messages.CONSUMER_INSTANCE_NOT_FOUND);
      return fn();
    });
    this.#queue = result.catch(() => {}).finally(() => {
      this.#busy--;
      this.lastUsedMs = this.#now();
    });
    return result;
  }

  // ---- subscription and assignment ----

  /** The topics subscribed to. */
  subscription(): string[] {
    return this.#mode === "subscribe" ? [...this.#subscription] : [];
  }

  /** The partitions assigned (by the group or by hand), sorted. */
  assignment(): TopicPartition[] {
    return [...this.#positions.values()]
      .map((p) => ({ topic: p.topic, partition: p.partition }))
      .sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
  }

  /**
   * Subscribes to topics (or the topics a pattern matches now), replacing an earlier subscription.
   * @throws RestError 40903 after a manual assignment
   */
  async subscribe(topics: string[] | null, pattern: RegExp | null): Promise<void> {
    if (this.#mode === "assign") {
      throw illegalState("Subscription to topics, partitions and pattern are mutually exclusive");
    }
    let names = topics ?? [];
    if (pattern !== null) {
      const md = await this.#client.metadata(null).catch((err) => {
        throw clientFailure(err);
      });
      names = md.topics
        .filter((t) => t.errorCode === ErrorCode.NONE && t.name !== null && !t.isInternal && pattern.test(t.name))
        .map((t) => t.name!)
        .sort();
    }
    await this.#stopMember();
    this.#subscription = [...new Set(names)];
    this.#mode = "subscribe";
    if (this.#subscription.length === 0) return;
    const member = new GroupMember(this.#client, {
      groupId: this.group,
      topics: this.#subscription,
      onNotice: (message, level) => {
        if (level !== "warning") return;
        this.#memberNotice = message;
        this.#logger.info("REST proxy consumer", { group: this.group, message });
      },
    });
    member.on("assigned", (parts) => {
      for (const tp of parts) {
        const k = key(tp.topic, tp.partition);
        if (!this.#positions.has(k)) this.#positions.set(k, { ...tp, offset: null, leaderEpoch: -1 });
      }
    });
    member.on("revoked", async (parts) => {
      if (this.config.autoCommit) await this.#commitPositions(parts).catch(() => {});
      for (const tp of parts) this.#positions.delete(key(tp.topic, tp.partition));
    });
    member.on("lost", (parts) => {
      for (const tp of parts) this.#positions.delete(key(tp.topic, tp.partition));
    });
    member.on("error", (err) => (this.#memberFailure = err));
    this.#member = member;
    this.#memberFailure = null;
    this.#memberNotice = null;
    void member.start().catch(() => {});
  }

  /** Leaves the group and forgets the subscription. */
  async unsubscribe(): Promise<void> {
    await this.#stopMember();
    this.#subscription = [];
    this.#positions.clear();
    this.#mode = "none";
  }

  async #stopMember(): Promise<void> {
    const member = this.#member;
    this.#member = null;
    if (member === null) return;
    if (this.config.autoCommit) await this.#commitPositions(null, member).catch(() => {});
    await member.close().catch(() => {});
    this.#positions.clear();
  }

  /**
   * Assigns partitions by hand (no group membership), replacing an earlier assignment.
   * @throws RestError 40903 while subscribed
   */
  assign(partitions: TopicPartition[]): void {
    if (this.#mode === "subscribe") {
      throw illegalState("Subscription to topics, partitions and pattern are mutually exclusive");
    }
    const kept = new Map(this.#positions);
    this.#positions.clear();
    for (const tp of partitions) {
      const k = key(tp.topic, tp.partition);
      this.#positions.set(k, kept.get(k) ?? { ...tp, offset: null, leaderEpoch: -1 });
    }
    this.#mode = partitions.length === 0 ? "none" : "assign";
  }

  #assigned(tp: TopicPartition): Position {
    const p = this.#positions.get(key(tp.topic, tp.partition));
    if (p === undefined) throw illegalState(`No current assignment for partition ${tp.topic}-${tp.partition}`);
    return p;
  }

  // ---- positions ----

  /** Moves positions to given offsets. */
  seek(offsets: { topic: string; partition: number; offset: bigint }[]): void {
    const targets = offsets.map((o) => [this.#assigned(o), o.offset] as const);
    for (const [p, offset] of targets) p.offset = offset;
  }

  /** Moves positions to the first record at or after a time (the log end when there is none). */
  async seekToTime(times: { topic: string; partition: number; timestampMs: bigint }[]): Promise<void> {
    const targets = times.map((t) => this.#assigned(t));
    const found = await this.#listOffsets(times.map((t) => ({ ...t, timestamp: t.timestampMs })));
    const ends = await this.#listOffsets(times.map((t) => ({ ...t, timestamp: OffsetSpec.LATEST })));
    targets.forEach((p, i) => (p.offset = found[i]! >= 0n ? found[i]! : ends[i]!));
  }

  /** Moves positions to the log start or end. */
  async seekTo(partitions: TopicPartition[], where: "beginning" | "end"): Promise<void> {
    const targets = partitions.map((tp) => this.#assigned(tp));
    const spec = where === "beginning" ? OffsetSpec.EARLIEST : OffsetSpec.LATEST;
    const offsets = await this.#listOffsets(partitions.map((tp) => ({ ...tp, timestamp: spec })));
    targets.forEach((p, i) => (p.offset = offsets[i]!));
  }

  async #listOffsets(parts: { topic: string; partition: number; timestamp: bigint }[]): Promise<bigint[]> {
    let answers;
    try {
      answers = await listOffsets(this.#client, parts);
    } catch (err) {
      throw clientFailure(err);
    }
    return answers.map((a) => {
      if (a.errorCode !== ErrorCode.NONE) throw kafkaError(a.errorCode, a.topic);
      return a.offset;
    });
  }

  /** Starts partitions without a position at the committed offset, else by auto.offset.reset. */
  async #resolvePositions(): Promise<void> {
    const unknown = [...this.#positions.values()].filter((p) => p.offset === null);
    if (unknown.length === 0) return;
    const committed = await this.committed(unknown);
    const reset: Position[] = [];
    for (const p of unknown) {
      const c = committed.find((x) => x.topic === p.topic && x.partition === p.partition);
      if (c !== undefined && c.offset >= 0n) {
        p.offset = c.offset;
        p.leaderEpoch = -1;
      } else reset.push(p);
    }
    await this.#reset(reset);
  }

  async #reset(parts: Position[]): Promise<void> {
    if (parts.length === 0) return;
    const policy = this.config.autoOffsetReset;
    if (policy === "none") {
      throw new RestError(
        RestCode.KAFKA_ERROR,
        `Kafka error: Undefined offset with no reset policy for partitions: [${
          parts.map((p) => `${p.topic}-${p.partition}`).join(", ")
        }]`,
      );
    }
    const offsets = await this.#listOffsets(
      parts.map((p) => ({
        topic: p.topic,
        partition: p.partition,
        timestamp: policy === "earliest" ? OffsetSpec.EARLIEST : OffsetSpec.LATEST,
      })),
    );
    parts.forEach((p, i) => (p.offset = offsets[i]!));
  }

  // ---- offsets ----

  /** The group's committed offsets of partitions (only those with one). */
  async committed(
    parts: TopicPartition[],
  ): Promise<{ topic: string; partition: number; offset: bigint; metadata: string | null }[]> {
    if (parts.length === 0) return [];
    try {
      if (this.#member !== null) {
        return (await this.#member.committed(parts)).filter((c) => c.offset >= 0n);
      }
      const byTopic = new Map<string, number[]>();
      for (const tp of parts) byTopic.set(tp.topic, [...(byTopic.get(tp.topic) ?? []), tp.partition]);
      const r = await fetchCommittedOffsets(
        this.#client,
        this.group,
        [...byTopic].map(([topic, partitions]) => ({ topic, partitions })),
      );
      if (r.errorCode !== ErrorCode.NONE) {
        throw kafkaError(r.errorCode, r.errorCode === ErrorCode.GROUP_AUTHORIZATION_FAILED ? this.group : null);
      }
      const wanted = new Set(parts.map((tp) => key(tp.topic, tp.partition)));
      return r.offsets.filter((o) =>
        o.errorCode === ErrorCode.NONE && o.offset >= 0n && wanted.has(key(o.topic, o.partition))
      );
    } catch (err) {
      throw clientFailure(err);
    }
  }

  /**
   * Commits offsets: the ones given (the last consumed offset each, so offset + 1 is committed, as
   * Confluent does), or every position when none are given.
   */
  async commit(
    offsets: { topic: string; partition: number; offset: bigint; metadata?: string }[] | null,
  ): Promise<void> {
    const list = offsets === null
      ? [...this.#positions.values()].filter((p) => p.offset !== null).map((p) => ({
        topic: p.topic,
        partition: p.partition,
        offset: p.offset!,
      }))
      : offsets.map((o) => ({ ...o, offset: o.offset + 1n }));
    await this.#commit(list);
  }

  async #commitPositions(parts: TopicPartition[] | null, member: GroupMember | null = this.#member): Promise<void> {
    const wanted = parts === null ? null : new Set(parts.map((tp) => key(tp.topic, tp.partition)));
    const list = [...this.#positions.values()]
      .filter((p) => p.offset !== null && (wanted === null || wanted.has(key(p.topic, p.partition))))
      .map((p) => ({ topic: p.topic, partition: p.partition, offset: p.offset! }));
    await this.#commit(list, member);
    this.#lastCommitMs = this.#now();
  }

  async #commit(
    list: { topic: string; partition: number; offset: bigint; metadata?: string }[],
    member: GroupMember | null = this.#member,
  ): Promise<void> {
    if (list.length === 0) return;
    let results: { topic: string; partition: number; errorCode: number }[];
    try {
      results = member !== null ? await member.commit(list) : await commitOffsets(this.#client, this.group, list);
    } catch (err) {
      throw clientFailure(err);
    }
    const failed = results.find((r) => r.errorCode !== ErrorCode.NONE);
    if (failed !== undefined) {
      const detail = failed.errorCode === ErrorCode.TOPIC_AUTHORIZATION_FAILED
        ? failed.topic
        : failed.errorCode === ErrorCode.GROUP_AUTHORIZATION_FAILED
        ? this.group
        : `committing ${failed.topic}-${failed.partition}`;
      throw kafkaError(failed.errorCode, detail);
    }
  }

  // ---- records ----

  /**
   * Reads records from the assigned partitions.
   * @param options.timeoutMs the longest to wait for records
   * @param options.maxBytes the most key and value bytes to answer (at least one record is)
   * @returns the records in the v2 shape of the instance's format
   */
  async poll(options: { timeoutMs: number; maxBytes: number }): Promise<Record<string, unknown>[]> {
    const started = this.#now();
    const remaining = () => Math.max(0, options.timeoutMs - (this.#now() - started));
    if (this.#mode === "none") {
      throw illegalState("Consumer is not subscribed to any topics or assigned any partitions");
    }
    if (this.#memberFailure !== null) {
      const err = this.#memberFailure;
      throw err instanceof KafkaClientError
        ? kafkaError(err.code, err.code === ErrorCode.GROUP_AUTHORIZATION_FAILED ? this.group : err.message)
        : clientFailure(err);
    }
    if (this.#mode === "subscribe" && this.#positions.size === 0) {
      if (this.#member === null) return [];
      // The first assignment comes with the first rebalance: wait for it within the timeout.
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        this.#member.start().catch(() => {}),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, remaining()))),
      ]);
      clearTimeout(timer);
      if (this.#positions.size === 0) {
        // Several brokers: a group coordinated by another broker cannot be joined from here.
        const notice = this.#memberNotice;
        if (notice !== null && notice.includes("another broker of the cluster")) {
          throw new RestError(RestCode.KAFKA_RETRIABLE_ERROR, `Cannot join group "${this.group}": ${notice}`);
        }
        return [];
      }
    }
    await this.#resolvePositions();
    // As Kafka's consumer: what earlier polls answered is committed before this one reads more.
    if (this.config.autoCommit && this.#now() - this.#lastCommitMs >= AUTO_COMMIT_INTERVAL_MS) {
      await this.#commitPositions(null).catch((err) =>
        this.#logger.warn("REST proxy consumer auto-commit failed", { group: this.group, error: String(err) })
      );
    }
    const out: Record<string, unknown>[] = [];
    const budget = { left: options.maxBytes };
    const parts = [...this.#positions.values()].filter((p) => p.offset !== null);
    const leaders = await this.#leadersOf(parts);
    const byLeader = new Map<number, Position[]>();
    for (const p of parts) {
      const leader = leaders.get(key(p.topic, p.partition)) ?? -1;
      if (leader < 0) continue;
      byLeader.set(leader, [...(byLeader.get(leader) ?? []), p]);
    }
    const answers = await Promise.all(
      [...byLeader].map(([leader, ps]) => this.#fetch(leader, ps, remaining(), options.maxBytes)),
    );
    const moves: [Position, bigint | null][] = [];
    for (const answer of answers) {
      if (answer !== null) moves.push(...this.#take(answer.response, answer.offsets, out, budget));
    }
    // A record that does not decode stops the poll before the positions move past it (as a JSON one does).
    if (this.config.format in SCHEMA_FORMATS) await this.#decodeSchemaRecords(out);
    for (const [p, offset] of moves) p.offset = offset;
    return out;
  }

  /** Replaces the raw key and value bytes of schema-format records by their data, through the registry. */
  async #decodeSchemaRecords(out: Record<string, unknown>[]): Promise<void> {
    const serde = this.#serde;
    if (!serde) throw new RestError(RestCode.INVALID_CONSUMER_CONFIG, "This kbin serves no Schema Registry");
    const format = SCHEMA_FORMATS[this.config.format as keyof typeof SCHEMA_FORMATS];
    for (const r of out) {
      for (const side of ["key", "value"] as const) {
        const bytes = r[side];
        if (!(bytes instanceof Uint8Array)) continue;
        const d = await serde.deserialize({
          topic: String(r["topic"]),
          isKey: side === "key",
          principal: this.principal,
          format,
          bytes,
        });
        if (!d.ok) {
          throw new RestError(
            d.errorCode,
            `Cannot decode the ${side} of ${r["topic"]}-${r["partition"]} at offset ${r["offset"]}: ${d.message}`,
          );
        }
        r[side] = d.data;
      }
    }
  }

  async #leadersOf(parts: Position[]): Promise<Map<string, number>> {
    const missing = parts.some((p) => !this.#leaders.has(key(p.topic, p.partition)));
    if (missing || this.#now() - this.#leadersAtMs >= METADATA_MAX_AGE_MS) {
      const topics = [...new Set(parts.map((p) => p.topic))];
      try {
        const md = await this.#client.metadata(topics);
        const leaders = new Map<string, number>();
        for (const t of md.topics) {
          if (t.name === null) continue;
          if (t.errorCode === ErrorCode.TOPIC_AUTHORIZATION_FAILED) throw kafkaError(t.errorCode, t.name);
          for (const p of t.partitions) {
            leaders.set(key(t.name, p.partitionIndex), p.errorCode === ErrorCode.NONE ? p.leaderId : -1);
          }
        }
        this.#leaders = leaders;
        this.#leadersAtMs = this.#now();
      } catch (err) {
        throw clientFailure(err);
      }
    }
    return this.#leaders;
  }

  /** One Fetch to one leader; null when it could not be asked (the partitions wait). */
  async #fetch(
    leader: number,
    parts: Position[],
    maxWaitMs: number,
    maxBytes: number,
  ): Promise<{ response: FetchResponse; offsets: Map<string, bigint> } | null> {
    const offsets = new Map(parts.map((p) => [key(p.topic, p.partition), p.offset!]));
    const byTopic = new Map<string, Position[]>();
    for (const p of parts) byTopic.set(p.topic, [...(byTopic.get(p.topic) ?? []), p]);
    try {
      const conn = await this.#client.node(leader);
      const { response } = await this.#client.send(FETCH_API, () => ({
        replicaId: -1,
        maxWaitMs,
        minBytes: this.config.fetchMinBytes > 0 ? this.config.fetchMinBytes : 1,
        maxBytes,
        isolationLevel: 0,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [...byTopic].map(([topic, ps]) => ({
          topic,
          partitions: ps.map((p) => ({
            partition: p.partition,
            currentLeaderEpoch: -1,
            fetchOffset: p.offset!,
            lastFetchedEpoch: -1,
            logStartOffset: -1n,
            partitionMaxBytes: maxBytes,
          })),
        })),
        forgottenTopicsData: [],
        rackId: "",
      }), { to: conn, minVersion: 4, maxVersion: 12 });
      if (response.errorCode !== ErrorCode.NONE) {
        this.#leadersAtMs = 0;
        return null;
      }
      return { response, offsets };
    } catch (err) {
      // Another broker's partitions (several brokers on PostgreSQL) and lost connections: skipped now.
      this.#logger.debug("REST proxy consumer fetch failed", { group: this.group, leader, error: String(err) });
      this.#leadersAtMs = 0;
      return null;
    }
  }

  /**
   * Reads one Fetch answer: errors, and records within the budget. Positions change only once every
   * record converted (a JSON record that is not JSON fails the poll and moves nothing).
   * @returns the new positions to apply
   */
  #take(
    response: FetchResponse,
    offsets: Map<string, bigint>,
    out: Record<string, unknown>[],
    budget: { left: number },
  ): [Position, bigint | null][] {
    const moves: [Position, bigint | null][] = [];
    for (const t of response.responses) {
      for (const data of t.partitions) {
        const k = key(t.topic, data.partitionIndex);
        const p = this.#positions.get(k);
        // Dropped if revoked meanwhile, or moved by a seek.
        if (p === undefined || p.offset !== offsets.get(k)) continue;
        const code = data.errorCode;
        if (code === ErrorCode.OFFSET_OUT_OF_RANGE) {
          // Started over by the reset policy at the next poll.
          moves.push([p, null]);
          continue;
        }
        if (code !== ErrorCode.NONE) {
          if (ERRORS.get(code)?.invalidMetadata || isRetriable(code)) {
            this.#leadersAtMs = 0;
            continue;
          }
          throw kafkaError(code, code === ErrorCode.TOPIC_AUTHORIZATION_FAILED ? t.topic : errorName(code));
        }
        const next = this.#takeRecords(t.topic, data.partitionIndex, data.records, p.offset!, out, budget);
        if (next !== p.offset) moves.push([p, next]);
      }
    }
    return moves;
  }

  /** Adds a partition's records within the budget to `out`; returns the position after them. */
  #takeRecords(
    topic: string,
    partition: number,
    buf: Uint8Array | null,
    start: bigint,
    out: Record<string, unknown>[],
    budget: { left: number },
  ): bigint {
    if (buf === null || buf.length === 0) return start;
    let next = start;
    let full = false;
    for (const { at } of scanBatches(buf).batches) {
      const h = readBatchHeader(buf, at);
      const last = h.baseOffset + BigInt(h.lastOffsetDelta);
      if (last < next) continue;
      if (buf[at + 16] !== 2) {
        throw new RestError(
          RestCode.KAFKA_ERROR,
          `Kafka error: ${topic}-${partition} holds records older than Kafka 0.11`,
        );
      }
      if ((h.attributes & Attributes.CONTROL) !== 0) {
        next = last + 1n;
        continue;
      }
      const { records } = batchRecords(buf, at, { decompress: this.#decompress });
      for (const r of records) {
        if (r.offset < next) continue;
        const size = recordSizeBytes(r);
        // As Confluent, stop before the record that would reach max_bytes; but always answer one.
        if (size >= budget.left && out.length > 0) {
          full = true;
          break;
        }
        const c = this.config.format in SCHEMA_FORMATS
          ? { topic, key: r.key, value: r.value, partition, offset: Number(r.offset) }
          : v2ConsumerRecord(r, { topic, partition, format: this.config.format as "binary" | "json" });
        if (c instanceof RestError) throw c;
        out.push(c);
        budget.left -= size;
        next = r.offset + 1n;
      }
      if (full) break;
      // Past the batch's end, also when compaction left its last offsets out.
      if (next <= last) next = last + 1n;
    }
    return next;
  }

  /** Commits (with auto-commit), leaves the group and closes the client. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      await this.#stopMember();
    } finally {
      await this.#client.close();
    }
  }
}

/** Options of {@link ConsumerManager}. */
export interface ConsumerManagerOptions {
  kafka: () => LocalKafka | null;
  decompress: DecompressFn;
  logger: Logger;
  now: () => number;
  /** Instances idle this long are closed. */
  instanceTimeoutMs: number;
  /** At most this many instances at once. */
  maxInstances: number;
  /** Decodes schema-based formats; absent when no Schema Registry is served. */
  serde?: SchemaSerde | undefined;
}

/** Every consumer instance, by group and name. */
export class ConsumerManager {
  readonly #o: ConsumerManagerOptions;
  readonly #instances = new Map<string, ConsumerInstance>();
  #timer: ReturnType<typeof setInterval> | null = null;
  #closed = false;

  constructor(options: ConsumerManagerOptions) {
    this.#o = options;
  }

  get size(): number {
    return this.#instances.size;
  }

  /**
   * Creates an instance.
   * @throws RestError 40902 when the name is taken in the group, 429 beyond the instance limit,
   *   503 while the broker starts
   */
  create(
    group: string,
    options: { config: ConsumerInstanceConfig; principal: string; remote: string },
  ): ConsumerInstance {
    const { config } = options;
    const caller = { principal: options.principal, remote: options.remote };
    const kafka = this.#o.kafka();
    if (kafka === null || this.#closed) {
      throw new RestError(503, "The broker is not serving Kafka requests yet (or any more)");
    }
    const k = `${group}\u0000${config.name}`;
    if (this.#instances.has(k)) throw new RestError(RestCode.CONSUMER_ALREADY_EXISTS, Messages.CONSUMER_ALREADY_EXISTS);
    if (this.#instances.size >= this.#o.maxInstances) {
      throw new RestError(
        42901,
        `Cannot create a consumer instance: ${this.#instances.size} exist, the most kbin.rest.max.consumer.instances allows`,
      );
    }
    const remote = caller.remote === "" ? "127.0.0.1:0" : caller.remote;
    const client = new KafkaClient({
      bootstrap: [kafka.bootstrap],
      connect: kafka.connect({ principal: caller.principal, remote }),
      clientId: `kbin-rest-${config.name}`.slice(0, 200),
      requestTimeoutMs: 30_000 + config.requestTimeoutMs,
    });
    const instance = new ConsumerInstance({
      group,
      config,
      principal: caller.principal,
      client,
      serde: this.#o.serde,
      decompress: this.#o.decompress,
      logger: this.#o.logger,
      now: this.#o.now,
    });
    this.#instances.set(k, instance);
    this.#o.logger.debug("REST proxy consumer created", { group, name: config.name, host: hostOfRemote(remote) });
    this.#schedule();
    return instance;
  }

  /**
   * The instance, for its creator only.
   * @throws RestError 40403 when it does not exist (or belongs to another principal)
   */
  get(id: { group: string; name: string }, principal: string): ConsumerInstance {
    const instance = this.#instances.get(`${id.group}\u0000${id.name}`);
    if (instance === undefined || instance.principal !== principal || instance.closed) {
      throw new RestError(RestCode.CONSUMER_INSTANCE_NOT_FOUND, Messages.CONSUMER_INSTANCE_NOT_FOUND);
    }
    return instance;
  }

  /** Removes and closes an instance (after the operations it has in hand). */
  async delete(id: { group: string; name: string }, principal: string): Promise<void> {
    const instance = this.get(id, principal);
    this.#instances.delete(`${id.group}\u0000${id.name}`);
    await instance.run(() => instance.close()).catch(() => instance.close());
  }

  #schedule(): void {
    if (this.#timer !== null) return;
    const every = Math.min(1000, Math.max(50, Math.floor(this.#o.instanceTimeoutMs / 4)));
    this.#timer = setInterval(() => void this.expire(), every);
  }

  /** Closes the instances idle for `consumer.instance.timeout.ms`; they leave their groups. */
  async expire(): Promise<void> {
    const now = this.#o.now();
    for (const [k, instance] of this.#instances) {
      if (instance.busy || now - instance.lastUsedMs < this.#o.instanceTimeoutMs) continue;
      this.#instances.delete(k);
      this.#o.logger.info("REST proxy consumer instance expired", {
        group: instance.group,
        name: instance.config.name,
        idleMs: now - instance.lastUsedMs,
      });
      await instance.close().catch((err) =>
        this.#o.logger.warn("Closing an expired REST proxy consumer failed", { error: String(err) })
      );
    }
    if (this.#instances.size === 0 && this.#timer !== null) {
      clearInterval(this.#timer);
      this.#timer = null;
    }
  }

  /** Closes every instance (shutdown): each commits (with auto-commit) and leaves its group. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    const all = [...this.#instances.values()];
    this.#instances.clear();
    await Promise.all(all.map((i) => i.close().catch(() => {})));
  }
}
