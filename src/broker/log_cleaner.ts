/**
 * The log cleaner: one background worker (Kafka's `log.cleaner.threads` = 1) that, every
 * `log.cleaner.backoff.ms` (15 s), compacts each partition this broker leads whose topic's
 * `cleanup.policy` includes `compact` and that is due (`PartitionStorage.compact`: the topic's
 * min.cleanable.dirty.ratio, min/max.compaction.lag.ms and delete.retention.ms, the broker's
 * log.cleaner.dedupe.buffer.size and log.cleaner.io.max.bytes.per.second). Partitions are cleaned
 * one at a time and the work yields between batches, so produce and fetch go on meanwhile.
 * `log.cleaner.enable=false` turns it off. What each partition's last cleaning did is kept for
 * `stats()` and logged.
 *
 * @module
 */

import type { Clock, Logger } from "../ports.ts";
import type { CleanOutcome } from "../storage/compaction.ts";
import type { PartitionRef, Storage } from "../storage/engine.ts";
import type { TopicPolicies } from "./topic_policy.ts";
import type { BrokerMetrics } from "./metrics/broker_metrics.ts";

/** What {@link LogCleaner} needs. */
export interface LogCleanerOptions {
  storage: Storage;
  policies: TopicPolicies;
  nodeId: number;
  logger: Logger;
  clock: Clock;
  backoffMs: number;
  dedupeBufferBytes: number;
  ioMaxBytesPerSecond: number;
  /** Counts compactions and what they removed. */
  metrics?: BrokerMetrics;
}

/** The last cleaning of one partition. */
export interface CleanerRun extends CleanOutcome {
  topic: string;
  partition: number;
  atMs: number;
  durationMs: number;
}

/** Runs compaction passes on a timer until closed. */
export class LogCleaner {
  readonly #o: LogCleanerOptions;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #running: Promise<number> | null = null;
  #closed = false;
  readonly #last = new Map<string, CleanerRun>();

  constructor(o: LogCleanerOptions) {
    this.#o = o;
  }

  /** Starts the passes (the first after one backoff, each next one a backoff after the last ends). */
  start(): void {
    if (this.#closed || this.#timer) return;
    const next = () => {
      this.#timer = setTimeout(async () => {
        await this.runOnce().catch(() => {});
        if (!this.#closed) next();
      }, Math.min(this.#o.backoffMs, 2 ** 31 - 1));
      (this.#timer as { unref?: () => void }).unref?.();
    };
    next();
  }

  /** The last cleaning of each partition cleaned since start. */
  stats(): CleanerRun[] {
    return [...this.#last.values()];
  }

  /** One pass over every due partition (joins a pass already running); resolves with how many were cleaned. */
  runOnce(): Promise<number> {
    this.#running ??= this.#pass().finally(() => {
      this.#running = null;
    });
    return this.#running;
  }

  async #pass(): Promise<number> {
    const { storage, policies, nodeId, logger, clock } = this.#o;
    let cleaned = 0;
    for (const topic of storage.topics.list()) {
      const policy = policies.for(topic);
      if (!policy.cleanupPolicy.has("compact")) continue;
      const config = {
        ...policy.compaction,
        dedupeBufferBytes: this.#o.dedupeBufferBytes,
        ioMaxBytesPerSecond: this.#o.ioMaxBytesPerSecond,
      };
      for (let partition = 0; partition < topic.partitions; partition++) {
        if (this.#closed) return cleaned;
        const ref: PartitionRef = { topicName: topic.name, topicId: topic.id, partition };
        if (storage.cluster.partitionLeader(ref).leader !== nodeId) continue;
        const started = clock.now();
        try {
          const log = await storage.partition(ref);
          if (log.failure) continue;
          const outcome = await log.compact(config, started);
          if (!outcome.cleaned) continue;
          cleaned++;
          this.#o.metrics?.cleaned(outcome, (clock.now() - started) / 1000);
          const run: CleanerRun = {
            ...outcome,
            topic: topic.name,
            partition,
            atMs: started,
            durationMs: clock.now() - started,
          };
          this.#last.set(`${topic.name}-${partition}`, run);
          logger.info("Compacted a partition", {
            topic: topic.name,
            partition,
            reason: outcome.reason,
            bytesBefore: outcome.bytesBefore,
            bytesAfter: outcome.bytesAfter,
            recordsRemoved: outcome.recordsRemoved,
            tombstonesRemoved: outcome.tombstonesRemoved,
            cleanedUpTo: outcome.cleanedUpTo,
            ms: run.durationMs,
          });
        } catch (err) {
          this.#o.metrics?.cleaned(null, 0);
          logger.warn("Compaction failed on a partition; it is tried again at the next pass", {
            topic: topic.name,
            partition,
            error: err instanceof Error ? err.message : String(err),
          });
        }
      }
    }
    return cleaned;
  }

  /** Stops the passes; one in progress stops at its next partition. */
  close(): void {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }
}
