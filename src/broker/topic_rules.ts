/**
 * Kafka's rules for topic names and topic-level configs, shared by CreateTopics, Metadata
 * auto-creation and (later) AlterConfigs.
 *
 * @module
 */

import { TOPIC_CONFIGS } from "../protocol/generated/configs.ts";
import type { BrokerConfig } from "./config.ts";

/** Kafka's limit on topic name length (Topic.MAX_NAME_LENGTH). */
export const MAX_TOPIC_NAME_LENGTH = 249;
const LEGAL = /^[a-zA-Z0-9._-]+$/;

/** Topic names the broker itself owns. */
export const INTERNAL_TOPICS: ReadonlySet<string> = new Set(["__consumer_offsets", "__transaction_state"]);

/**
 * Validates a topic name as Kafka's `Topic.validate` does.
 * @returns null when valid, otherwise the reason
 */
export function topicNameError(name: string): string | null {
  if (name.length === 0) return "Topic name is illegal, it can't be empty";
  if (name === "." || name === "..") return 'Topic name cannot be "." or ".."';
  if (name.length > MAX_TOPIC_NAME_LENGTH) {
    return `Topic name is illegal, it can't be longer than ${MAX_TOPIC_NAME_LENGTH} characters, topic name: ${name}`;
  }
  if (!LEGAL.test(name)) {
    return `Topic name "${name}" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'`;
  }
  return null;
}

/** Kafka treats '.' and '_' as the same in metric names, so such names collide. */
export function collisionKey(name: string): string {
  return name.replaceAll(".", "_");
}

const LIVE_TOPIC_CONFIGS = TOPIC_CONFIGS;
const TOPIC_CONFIG_BY_NAME = new Map(LIVE_TOPIC_CONFIGS.map((c) => [c.name, c]));

/**
 * Topic configs Kafka 4.0 removed, which clients written for Kafka 3.x still send when they
 * create topics. Kafka 4 refuses them as unknown; kbin accepts them with Kafka 3.9's meaning and
 * logs a warning, so a 3.x-era client's CreateTopics does not fail. They are not listed by
 * DescribeConfigs unless the topic sets them.
 */
export const LEGACY_TOPIC_CONFIGS: ReadonlyMap<
  string,
  { type: string; default: string; check: (value: string) => string | null; meaning: string }
> = new Map([
  ["message.format.version", {
    type: "string",
    default: "3.0-IV1",
    // Kafka 3.x's MetadataVersion strings: "0.10.0", "2.8", "2.8-IV1", "3.0-IV1", ...
    check: (v: string) => /^\d+\.\d+(\.\d+)?(-IV\d+)?$/.test(v) ? null : "Not a valid Kafka message format version",
    meaning: "ignored, as Kafka 3.x ignored it from 3.0: the log always stores record batches v2",
  }],
  ["message.timestamp.difference.max.ms", {
    type: "long",
    default: "9223372036854775807",
    check: (v: string) => /^\d+$/.test(v) ? null : "Value must be a non-negative LONG",
    meaning: "bounds record timestamps both ways, as message.timestamp.before.max.ms and " +
      "message.timestamp.after.max.ms do where the topic does not set those",
  }],
  ["message.downconversion.enable", {
    type: "boolean",
    default: "true",
    check: (v: string) => /^(true|false)$/i.test(v) ? null : "Expected value to be either true or false",
    meaning: "false refuses Fetch v0-v3 (which need down-conversion) with UNSUPPORTED_VERSION",
  }],
]);

/** Whether this is a topic-level config name Kafka 4.3 knows, or one Kafka 3.9 knew. */
export function isTopicConfig(name: string): boolean {
  return TOPIC_CONFIG_BY_NAME.has(name) || LEGACY_TOPIC_CONFIGS.has(name);
}

/** Kafka 3.9's smallest segment.bytes; Kafka 4.1 raised it to 1 MiB (KIP-1030). */
const KAFKA_3_MIN_SEGMENT_BYTES = 14;

/**
 * A warning for a topic config Kafka 4 would refuse and kbin accepts with Kafka 3.9's meaning.
 * @returns the warning text, or null when Kafka 4.3 accepts the config as it is
 */
export function topicConfigWarning(name: string, value: string | null): string | null {
  const legacy = LEGACY_TOPIC_CONFIGS.get(name);
  if (legacy) {
    return `Topic config "${name}" was removed in Kafka 4.0; accepted with Kafka 3.9's meaning: ${legacy.meaning}`;
  }
  if (name === "segment.bytes" && value !== null && /^\d+$/.test(value.trim()) && Number(value) < 1048576) {
    return `Topic config "segment.bytes" of ${value.trim()} is below Kafka 4's minimum of 1048576; ` +
      "accepted as Kafka 3.9 did";
  }
  return null;
}

function enumValues(validValues: string | null): string[] | null {
  if (!validValues) return null;
  const m = /^\[([^\]]*)\]/.exec(validValues);
  if (!m) return null;
  const vals = m[1]!.split(",").map((s) => s.trim()).filter((s) => s !== "" && !s.includes(" "));
  return vals.length > 0 ? vals : null;
}

/** Lower bounds Kafka's ConfigDef enforces for the commonly set numeric topic configs. */
const MIN_VALUES: Record<string, number> = {
  "segment.bytes": KAFKA_3_MIN_SEGMENT_BYTES,
  "segment.ms": 1,
  "segment.index.bytes": 4,
  "segment.jitter.ms": 0,
  "min.insync.replicas": 1,
  "max.message.bytes": 0,
  "index.interval.bytes": 0,
  "flush.messages": 1,
  "flush.ms": 0,
  "file.delete.delay.ms": 0,
  "delete.retention.ms": 0,
  "min.compaction.lag.ms": 0,
  "max.compaction.lag.ms": 1,
  "min.cleanable.dirty.ratio": 0,
  "message.timestamp.before.max.ms": 0,
  "message.timestamp.after.max.ms": 0,
  "retention.ms": -1,
  "retention.bytes": -1,
  "local.retention.ms": -2,
  "local.retention.bytes": -2,
};

/**
 * Validates one topic config as Kafka's LogConfig does.
 * @returns null when valid, otherwise the reason (sent as the INVALID_CONFIG message)
 */
export function topicConfigError(name: string, value: string | null): string | null {
  const legacy = LEGACY_TOPIC_CONFIGS.get(name);
  if (legacy) {
    if (value === null) return `Null value not supported for topic configs: ${name}`;
    const why = legacy.check(value.trim());
    return why === null ? null : `Invalid value ${value} for configuration ${name}: ${why}`;
  }
  const def = TOPIC_CONFIG_BY_NAME.get(name);
  if (!def) return `Unknown topic config name: ${name}`;
  if (value === null) return `Null value not supported for topic configs: ${name}`;
  const v = value.trim();
  const bad = `Invalid value ${value} for configuration ${name}`;
  switch (def.type) {
    case "int":
    case "long":
    case "short": {
      if (!/^-?\d+$/.test(v)) return `${bad}: Not a number of type ${def.type.toUpperCase()}`;
      const min = MIN_VALUES[name];
      if (min !== undefined && Number(v) < min) return `${bad}: Value must be at least ${min}`;
      return null;
    }
    case "double": {
      const n = Number(v);
      if (v === "" || Number.isNaN(n)) return `${bad}: Not a number of type DOUBLE`;
      if (name === "min.cleanable.dirty.ratio" && (n < 0 || n > 1)) return `${bad}: Value must be between 0 and 1`;
      return null;
    }
    case "boolean":
      return /^(true|false)$/i.test(v) ? null : `${bad}: Expected value to be either true or false`;
    case "list": {
      const allowed = enumValues(def.validValues);
      if (!allowed) return null;
      const items = v.split(",").map((s) => s.trim()).filter((s) => s !== "");
      for (const item of items) {
        if (!allowed.includes(item)) return `${bad}: String must be one of: ${allowed.join(", ")}`;
      }
      return null;
    }
    default: {
      const allowed = enumValues(def.validValues);
      if (allowed && !allowed.includes(v)) return `${bad}: String must be one of: ${allowed.join(", ")}`;
      return null;
    }
  }
}

/** ConfigSource codes from DescribeConfigs. */
export const ConfigSource = {
  UNKNOWN: 0,
  DYNAMIC_TOPIC_CONFIG: 1,
  DYNAMIC_BROKER_CONFIG: 2,
  DYNAMIC_DEFAULT_BROKER_CONFIG: 3,
  STATIC_BROKER_CONFIG: 4,
  DEFAULT_CONFIG: 5,
} as const;

/** One effective topic config as DescribeConfigs and CreateTopics v5+ report it. */
export interface EffectiveConfig {
  name: string;
  value: string | null;
  readOnly: boolean;
  configSource: number;
  isSensitive: boolean;
  /** Where the value could come from, highest priority first (DescribeConfigs include_synonyms). */
  synonyms: { name: string; value: string | null; source: number }[];
  /** ConfigDef type name ("int", "list", …). */
  type: string;
}

/** Defaults that Kafka 4.0 changed from the 3.x table (KIP-1030). */
const KAFKA_4_DEFAULTS: Record<string, string> = {
  "message.timestamp.after.max.ms": "3600000",
};

/**
 * Every topic config with its effective value and source: the topic override, else the first
 * broker synonym that is set, else Kafka's default.
 */
export function effectiveTopicConfigs(overrides: Record<string, string>, broker: BrokerConfig): EffectiveConfig[] {
  const legacy: EffectiveConfig[] = [];
  for (const [name, def] of LEGACY_TOPIC_CONFIGS) {
    const value = overrides[name];
    if (value === undefined) continue;
    legacy.push({
      name,
      value,
      readOnly: false,
      configSource: ConfigSource.DYNAMIC_TOPIC_CONFIG,
      isSensitive: false,
      synonyms: [{ name, value, source: ConfigSource.DYNAMIC_TOPIC_CONFIG }],
      type: def.type,
    });
  }
  return LIVE_TOPIC_CONFIGS.map((def): EffectiveConfig => {
    const synonyms: EffectiveConfig["synonyms"] = [];
    const own = overrides[def.name];
    if (own !== undefined) synonyms.push({ name: def.name, value: own, source: ConfigSource.DYNAMIC_TOPIC_CONFIG });
    for (const synonym of def.serverDefaultProperty) {
      if (broker.isSet(synonym)) {
        synonyms.push({
          name: synonym,
          value: brokerValueForTopic(def.name, synonym, broker.get(synonym)!),
          source: ConfigSource.STATIC_BROKER_CONFIG,
        });
      }
    }
    const fallback = KAFKA_4_DEFAULTS[def.name] ?? def.default;
    synonyms.push({
      name: def.serverDefaultProperty[0] ?? def.name,
      value: fallback,
      source: ConfigSource.DEFAULT_CONFIG,
    });
    const top = synonyms[0]!;
    return {
      name: def.name,
      value: top.value,
      readOnly: false,
      configSource: top.source,
      isSensitive: false,
      synonyms,
      type: def.type,
    };
  }).concat(legacy);
}

/** Broker synonyms in hours or minutes (log.retention.hours) become the topic's milliseconds. */
function brokerValueForTopic(topicName: string, brokerName: string, value: string): string {
  if (topicName.endsWith(".ms")) {
    if (Number(value) < 0) return "-1";
    if (brokerName.endsWith(".hours")) return String(Number(value) * 3600000);
    if (brokerName.endsWith(".minutes")) return String(Number(value) * 60000);
  }
  return value;
}
