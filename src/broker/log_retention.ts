/**
 * The retention pass: every `log.retention.check.interval.ms` (Kafka's default five minutes),
 * each partition this broker leads whose topic's `cleanup.policy` includes `delete` drops its
 * expired or excess old segments (`PartitionStorage.applyRetention`: `retention.ms`,
 * `retention.bytes`, the log start offset). Settings are read from the topic on every pass, so a
 * config change takes effect at the next one without a restart. One partition's failure is
 * logged and the pass goes on with the others; passes never overlap.
 *
 * @module
 */

import type { Clock, Logger } from "../ports.ts";
import type { PartitionRef, Storage } from "../storage/engine.ts";
import type { TopicPolicies } from "./topic_policy.ts";
import type { BrokerMetrics } from "./metrics/broker_metrics.ts";

/** What a retention pass did, for tests and the log. */
export interface RetentionPassSummary {
  partitions: number;
  segments: number;
  bytes: number;
  failed: number;
}

/** What {@link LogRetention} needs. */
export interface LogRetentionOptions {
  storage: Storage;
  policies: TopicPolicies;
  nodeId: number;
  logger: Logger;
  clock: Clock;
  intervalMs: number;
  /** Counts passes and what they removed. */
  metrics?: BrokerMetrics;
}

/** Runs retention passes on a timer until closed. */
export class LogRetention {
  readonly #o: LogRetentionOptions;
  #timer: ReturnType<typeof setInterval> | null = null;
  #running: Promise<RetentionPassSummary> | null = null;
  #closed = false;

  constructor(o: LogRetentionOptions) {
    this.#o = o;
  }

  /** Starts the timer (the first pass runs one interval after start, as Kafka's). */
  start(): void {
    if (this.#timer || this.#closed) return;
    this.#timer = setInterval(() => void this.runOnce(), Math.min(this.#o.intervalMs, 2 ** 31 - 1));
    (this.#timer as { unref?: () => void }).unref?.();
  }

  /** One pass over every led partition (joins a pass already running). */
  runOnce(): Promise<RetentionPassSummary> {
    const started = performance.now();
    this.#running ??= this.#pass().then((summary) => {
      this.#o.metrics?.retentionPass(summary, (performance.now() - started) / 1000);
      return summary;
    }).finally(() => {
      this.#running = null;
    });
    return this.#running;
  }

  async #pass(): Promise<RetentionPassSummary> {
    const { storage, policies, nodeId, logger, clock } = this.#o;
    const summary: RetentionPassSummary = { partitions: 0, segments: 0, bytes: 0, failed: 0 };
    for (const topic of storage.topics.list()) {
      const policy = policies.for(topic);
      if (!policy.cleanupPolicy.has("delete")) continue;
      for (let partition = 0; partition < topic.partitions; partition++) {
        if (this.#closed) return summary;
        const ref: PartitionRef = { topicName: topic.name, topicId: topic.id, partition };
        if (storage.cluster.partitionLeader(ref).leader !== nodeId) continue;
        summary.partitions++;
        try {
          const log = await storage.partition(ref);
          if (log.failure) continue;
          const outcome = await log.applyRetention(policy.log, clock.now());
          if (outcome.segments === 0) continue;
          summary.segments += outcome.segments;
          summary.bytes += outcome.bytes;
          logger.info("Deleted old log data", {
            topic: topic.name,
            partition,
            segments: outcome.segments,
            bytes: outcome.bytes,
            reason: outcome.reason,
            logStartOffset: outcome.logStartOffset,
          });
        } catch (err) {
          summary.failed++;
          logger.warn("Retention could not run on a partition; it is tried again at the next pass", {
            topic: topic.name,
            partition,
            error: err instanceof Error ? err.message : String(err),
          });
        }
      }
    }
    return summary;
  }

  /** Stops the timer; a pass in progress stops at its next partition. */
  close(): void {
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }
}
