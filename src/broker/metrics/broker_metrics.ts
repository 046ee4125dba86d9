/**
 * The broker's instruments: what the request path, the log, groups, retention and the cleaner
 * count as they work. Everything here is one increment or observation per request, batch,
 * fsync or pass — never per record: record counts come from batch headers. Labelled children
 * are cached (by API key and version in a flat array, by topic in a map), so the hot path does no
 * string joining. Families computed at scrape time (offsets, lag, sizes) are in `collectors.ts`.
 * docs/metrics.md lists every metric.
 *
 * @module
 */

import { APIS } from "../../protocol/generated/api_keys.ts";
import { errorName } from "../../protocol/generated/errors.ts";
import { type CounterChild, type HistogramChild, MetricsRegistry } from "./registry.ts";

/** API keys and versions the per-request cache has room for (as request_counts.ts). */
const KEYS = 128;
const SLOTS = 32;

const COUNT_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];

/** What the storage engines report (see `StorageObserver` in src/storage/engine.ts). */
export type FsyncKind = "log" | "journal";

interface TopicIn {
  bytes: CounterChild;
  records: CounterChild;
}

/** Every instrument of the broker, and the registry that exposes them. */
export class BrokerMetrics {
  readonly registry: MetricsRegistry;
  readonly #requests;
  readonly #errors;
  readonly #duration;
  readonly #bytesIn;
  readonly #recordsIn;
  readonly #bytesOut;
  readonly #recordsOut;
  readonly #produceDuration;
  readonly #fetchDuration;
  readonly #fsyncDuration;
  readonly #groupCommit;
  readonly #rebalances;
  readonly #retentionPasses;
  readonly #retentionSegments;
  readonly #retentionBytes;
  readonly #retentionFailures;
  readonly #retentionDuration;
  readonly #cleanerRuns;
  readonly #cleanerBytes;
  readonly #cleanerRecords;
  readonly #cleanerFailures;
  readonly #cleanerDuration;
  readonly #httpRequests;
  readonly #httpDuration;
  readonly #eventLoop;
  readonly #byKeyVersion: ({ count: CounterChild; duration: HistogramChild } | undefined)[] = [];
  readonly #topicsIn = new Map<string, TopicIn>();
  readonly #topicsOut = new Map<string, TopicIn>();
  readonly #errorChildren = new Map<string, CounterChild>();

  constructor(registry = new MetricsRegistry()) {
    this.registry = registry;
    const r = registry;
    this.#requests = r.counter("kbin_kafka_requests", "Kafka requests served, by API and version", ["api", "version"]);
    this.#errors = r.counter(
      "kbin_kafka_request_errors",
      "Error codes answered (top level and per topic, partition or resource), by API and Kafka error name",
      ["api", "error"],
    );
    this.#duration = r.histogram(
      "kbin_kafka_request_duration_seconds",
      "Time from a request's arrival at the dispatcher to its encoded answer (Fetch includes its long-poll wait)",
      ["api", "version"],
    );
    this.#bytesIn = r.counter("kbin_topic_bytes_in", "Record batch bytes appended, by topic", ["topic"]);
    this.#recordsIn = r.counter(
      "kbin_topic_records_in",
      "Records appended, by topic (from batch headers)",
      ["topic"],
    );
    this.#bytesOut = r.counter("kbin_topic_bytes_out", "Record batch bytes sent to consumers, by topic", ["topic"]);
    this.#recordsOut = r.counter(
      "kbin_topic_records_out",
      "Records sent to consumers, by topic (from batch headers; down-converted answers count bytes only)",
      ["topic"],
    );
    this.#produceDuration = r.histogram(
      "kbin_produce_duration_seconds",
      "Produce requests from arrival to answer, by acks (all includes the wait for fsync)",
      ["acks"],
    );
    this.#fetchDuration = r.histogram(
      "kbin_fetch_duration_seconds",
      "Fetch requests from arrival to answer; result=empty when the answer carried no records (a long poll that expired)",
      ["result"],
    );
    this.#fsyncDuration = r.histogram(
      "kbin_storage_fsync_duration_seconds",
      "Time of one datasync: a partition log's group commit (kind=log) or the state journal's (kind=journal)",
      ["kind"],
    );
    this.#groupCommit = r.histogram(
      "kbin_storage_group_commit_size",
      "Writes one datasync made durable: acks=all appends waiting (kind=log) or journal records (kind=journal)",
      ["kind"],
      COUNT_BUCKETS,
    );
    this.#rebalances = r.counter(
      "kbin_group_rebalances",
      "Consumer group rebalances: a classic group's new generation or a KIP-848 group's new epoch",
      ["type"],
    );
    this.#retentionPasses = r.counter("kbin_log_retention_passes", "Retention passes over the led partitions");
    this.#retentionSegments = r.counter(
      "kbin_log_retention_deleted_segments",
      "Segments (batches on engines without segments) removed by retention",
    );
    this.#retentionBytes = r.counter("kbin_log_retention_deleted_bytes", "Bytes removed by retention");
    this.#retentionFailures = r.counter(
      "kbin_log_retention_failures",
      "Partitions a retention pass could not process",
    );
    this.#retentionDuration = r.histogram("kbin_log_retention_pass_duration_seconds", "Duration of retention passes");
    this.#cleanerRuns = r.counter("kbin_log_cleaner_cleanings", "Partitions compacted by the log cleaner");
    this.#cleanerBytes = r.counter("kbin_log_cleaner_bytes_removed", "Bytes compaction removed (before less after)");
    this.#cleanerRecords = r.counter(
      "kbin_log_cleaner_records_removed",
      "Records compaction removed (superseded records and expired tombstones)",
    );
    this.#cleanerFailures = r.counter("kbin_log_cleaner_failures", "Compactions that failed");
    this.#cleanerDuration = r.histogram(
      "kbin_log_cleaner_duration_seconds",
      "Duration of one partition's compaction",
    );
    this.#httpRequests = r.counter(
      "kbin_http_requests",
      "HTTP requests answered, by service, route and status class",
      ["service", "route", "status"],
    );
    this.#httpDuration = r.histogram(
      "kbin_http_request_duration_seconds",
      "HTTP requests from arrival to answer, by service and route",
      ["service", "route"],
    );
    this.#eventLoop = r.histogram(
      "kbin_event_loop_delay_seconds",
      "How late a 100 ms timer fires: time the event loop was busy when it was due",
      [],
      [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    );
  }

  /** One event-loop delay sample. */
  eventLoopDelay(seconds: number): void {
    this.#eventLoop.observe(seconds);
  }

  /** One Kafka request answered (or dropped) after `seconds`. */
  request(apiKey: number, version: number, seconds: number): void {
    const slot = apiKey >= 0 && apiKey < KEYS && version >= 0 && version < SLOTS ? apiKey * SLOTS + version : -1;
    let c = slot >= 0 ? this.#byKeyVersion[slot] : undefined;
    if (!c) {
      const api = APIS.get(apiKey)?.name ?? String(apiKey);
      c = {
        count: this.#requests.labels(api, String(version)),
        duration: this.#duration.labels(api, String(version)),
      };
      if (slot >= 0) this.#byKeyVersion[slot] = c;
    }
    c.count.value++;
    c.duration.observe(seconds);
  }

  /** One error code answered in a response of `apiKey`. */
  error(apiKey: number, code: number): void {
    const key = `${apiKey}:${code}`;
    let c = this.#errorChildren.get(key);
    if (!c) {
      c = this.#errors.labels(APIS.get(apiKey)?.name ?? String(apiKey), errorName(code));
      this.#errorChildren.set(key, c);
    }
    c.value++;
  }

  /** A batch of `records` records in `bytes` bytes appended to `topic`. */
  produced(topic: string, bytes: number, records: number): void {
    let t = this.#topicsIn.get(topic);
    if (!t) {
      this.#topicsIn.set(topic, t = { bytes: this.#bytesIn.labels(topic), records: this.#recordsIn.labels(topic) });
    }
    t.bytes.value += bytes;
    if (records > 0) t.records.value += records;
  }

  /** `bytes` bytes holding `records` records sent from `topic` in one Fetch answer. */
  fetched(topic: string, bytes: number, records: number): void {
    let t = this.#topicsOut.get(topic);
    if (!t) {
      this.#topicsOut.set(topic, t = { bytes: this.#bytesOut.labels(topic), records: this.#recordsOut.labels(topic) });
    }
    t.bytes.value += bytes;
    if (records > 0) t.records.value += records;
  }

  /** Forgets a deleted topic's series. */
  topicDeleted(topic: string): void {
    for (const c of [this.#bytesIn, this.#recordsIn, this.#bytesOut, this.#recordsOut]) c.remove(topic);
    this.#topicsIn.delete(topic);
    this.#topicsOut.delete(topic);
  }

  /** A Produce request answered after `seconds`. */
  produceDone(acks: number, seconds: number): void {
    this.#produceDuration.labels(acks === -1 ? "all" : String(acks)).observe(seconds);
  }

  /** A Fetch request answered after `seconds`, with or without records. */
  fetchDone(withRecords: boolean, seconds: number): void {
    this.#fetchDuration.labels(withRecords ? "data" : "empty").observe(seconds);
  }

  /** One datasync of `kind` that took `seconds` and made `grouped` writes durable. */
  fsync(kind: FsyncKind, seconds: number, grouped: number): void {
    this.#fsyncDuration.labels(kind).observe(seconds);
    if (grouped > 0) this.#groupCommit.labels(kind).observe(grouped);
  }

  /** A group started a new generation (classic) or epoch (consumer). */
  rebalance(type: "classic" | "consumer"): void {
    this.#rebalances.labels(type).inc();
  }

  /** A retention pass ended. */
  retentionPass(summary: { segments: number; bytes: number; failed: number }, seconds: number): void {
    this.#retentionPasses.inc();
    this.#retentionSegments.inc(summary.segments);
    this.#retentionBytes.inc(summary.bytes);
    this.#retentionFailures.inc(summary.failed);
    this.#retentionDuration.observe(seconds);
  }

  /** A partition was compacted (or its compaction failed, `outcome` null). */
  cleaned(outcome: { bytesBefore: number; bytesAfter: number; recordsRemoved: number } | null, seconds: number): void {
    if (outcome === null) {
      this.#cleanerFailures.inc();
      return;
    }
    this.#cleanerRuns.inc();
    this.#cleanerBytes.inc(Math.max(0, outcome.bytesBefore - outcome.bytesAfter));
    this.#cleanerRecords.inc(outcome.recordsRemoved);
    this.#cleanerDuration.observe(seconds);
  }

  /** An HTTP request answered with `status` after `seconds`. */
  http(service: string, route: string, status: number, seconds: number): void {
    this.#httpRequests.labels(service, route, `${Math.floor(status / 100)}xx`).inc();
    this.#httpDuration.labels(service, route).observe(seconds);
  }
}

/**
 * Counts the records of the v2 batches in `records` from their headers (no decoding); stops at
 * anything that is not a whole v2 batch (down-converted message sets count 0).
 */
export function batchRecordCount(records: Uint8Array): number {
  const v = new DataView(records.buffer, records.byteOffset, records.byteLength);
  let n = 0;
  for (let at = 0; at + 61 <= records.length;) {
    if (records[at + 16] !== 2) break;
    const size = 12 + v.getInt32(at + 8);
    if (size < 61 || at + size > records.length) break;
    n += Math.max(0, v.getInt32(at + 57));
    at += size;
  }
  return n;
}

/**
 * Calls `fn` with every non-zero `errorCode` in a response: its top level, and the elements of
 * its arrays and of their arrays (topics, then partitions). Work per partition, not per record.
 */
export function forEachErrorCode(response: unknown, fn: (code: number) => void): void {
  if (response === null || typeof response !== "object") return;
  const top = response as Record<string, unknown>;
  if (typeof top["errorCode"] === "number" && top["errorCode"] !== 0) fn(top["errorCode"]);
  for (const k in top) {
    const list = top[k];
    if (!Array.isArray(list)) continue;
    for (const item of list) {
      if (item === null || typeof item !== "object") continue;
      const e = item as Record<string, unknown>;
      if (typeof e["errorCode"] === "number" && e["errorCode"] !== 0) fn(e["errorCode"]);
      for (const k2 in e) {
        const inner = e[k2];
        if (!Array.isArray(inner)) continue;
        for (const x of inner) {
          if (x === null || typeof x !== "object") continue;
          const code = (x as Record<string, unknown>)["errorCode"];
          if (typeof code === "number" && code !== 0) fn(code);
        }
      }
    }
  }
}
