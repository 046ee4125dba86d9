/**
 * A topic's effective settings as the produce path and the log use them, parsed once per
 * version of the topic's configuration (the store hands out a new frozen Topic object on every
 * change, so a WeakMap keyed by it is an exact cache).
 *
 * @module
 */

import type { LogConfig } from "../storage/engine.ts";
import type { Topic } from "../storage/engine.ts";
import type { BrokerConfig } from "./config.ts";
import { effectiveTopicConfigs } from "./topic_rules.ts";

/** Settings that shape produce validation and storage of one topic. */
export interface TopicPolicy {
  log: LogConfig;
  maxMessageBytes: number;
  logAppendTime: boolean;
  /** Reject records older than now minus this (Infinity: no bound). */
  timestampBeforeMaxMs: number;
  /** Reject records newer than now plus this (Infinity: no bound). */
  timestampAfterMaxMs: number;
  /** Kafka's compression.type: "producer" keeps the producer's codec. */
  compressionType: string;
  /** Kafka 3.x's message.downconversion.enable: false refuses Fetch v0–v3. */
  downConversion: boolean;
  /** `cleanup.policy`: "delete", "compact" or both. */
  cleanupPolicy: ReadonlySet<string>;
  /** The topic's compaction settings (the broker's cleaner settings are added by the cleaner). */
  compaction: {
    minCleanableDirtyRatio: number;
    minCompactionLagMs: number;
    maxCompactionLagMs: number;
    deleteRetentionMs: number;
  };
}

/** Kafka writes "never" as Long.MAX_VALUE; anything that large is no bound at all. */
function bound(value: string | null): number {
  const n = Number(value);
  return !Number.isFinite(n) || n >= 9.2e18 ? Infinity : n;
}

/** Retention limits: Kafka's -1 (any negative) and Long.MAX_VALUE mean no limit. */
function unlimited(value: string | null): number {
  const n = bound(value);
  return n < 0 ? Infinity : n;
}

/** Computes and caches policies per topic version. */
export class TopicPolicies {
  readonly #cache = new WeakMap<Topic, TopicPolicy>();
  readonly #broker: BrokerConfig;

  constructor(broker: BrokerConfig) {
    this.#broker = broker;
  }

  for(topic: Topic): TopicPolicy {
    let p = this.#cache.get(topic);
    if (!p) {
      p = this.#compute(topic);
      this.#cache.set(topic, p);
    }
    return p;
  }

  #compute(topic: Topic): TopicPolicy {
    const values = new Map(effectiveTopicConfigs(topic.configs, this.#broker).map((c) => [c.name, c.value]));
    const get = (name: string) => values.get(name) ?? null;
    const flushMs = bound(get("flush.ms"));
    const difference = topic.configs["message.timestamp.difference.max.ms"];
    return {
      log: {
        segmentBytes: bound(get("segment.bytes")),
        segmentMs: bound(get("segment.ms")),
        indexIntervalBytes: bound(get("index.interval.bytes")),
        flushMessages: bound(get("flush.messages")),
        flushMs: this.#broker.isSet("log.flush.interval.ms") && !topic.configs["flush.ms"]
          ? bound(this.#broker.get("log.flush.interval.ms"))
          : flushMs,
        retentionMs: unlimited(get("retention.ms")),
        retentionBytes: unlimited(get("retention.bytes")),
        fileDeleteDelayMs: bound(get("file.delete.delay.ms")),
      },
      compaction: {
        minCleanableDirtyRatio: Number(get("min.cleanable.dirty.ratio") ?? "0.5"),
        minCompactionLagMs: bound(get("min.compaction.lag.ms")),
        maxCompactionLagMs: bound(get("max.compaction.lag.ms")),
        deleteRetentionMs: bound(get("delete.retention.ms")),
      },
      cleanupPolicy: new Set((get("cleanup.policy") ?? "delete").split(",").map((p) => p.trim().toLowerCase())),
      maxMessageBytes: bound(get("max.message.bytes")),
      logAppendTime: get("message.timestamp.type") === "LogAppendTime",
      // Kafka 3.x's message.timestamp.difference.max.ms bounds both ways where the topic does
      // not set the KIP-937 pair itself.
      timestampBeforeMaxMs: difference !== undefined && topic.configs["message.timestamp.before.max.ms"] === undefined
        ? bound(difference)
        : bound(get("message.timestamp.before.max.ms")),
      timestampAfterMaxMs: difference !== undefined && topic.configs["message.timestamp.after.max.ms"] === undefined
        ? bound(difference)
        : bound(get("message.timestamp.after.max.ms")),
      compressionType: get("compression.type") ?? "producer",
      downConversion: (topic.configs["message.downconversion.enable"] ?? "true").toLowerCase() !== "false",
    };
  }
}
