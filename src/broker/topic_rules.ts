/**
 * Kafka's rules for topic names and topic-level configs, shared by CreateTopics, Metadata
 * auto-creation and (later) AlterConfigs.
 *
 * @module
 */

import { BROKER_CONFIGS, TOPIC_CONFIGS } from "../protocol/generated/configs.ts";
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
  /**
   * The synonyms DescribeConfigs lists (include_synonyms), highest priority first: the topic's
   * override, then broker synonyms as {@link brokerSynonyms} gives them.
   */
  synonyms: ConfigSynonym[];
  /**
   * The source DescribeConfigs reports: that of the first synonym, else DEFAULT_CONFIG. It can
   * differ from `configSource` (what CreateTopics reports), as in Kafka: see {@link brokerSynonyms}.
   */
  describeSource: number;
  /** ConfigDef type name ("int", "list", …). */
  type: string;
}

/** Defaults that Kafka 4.0 changed from the 3.x table (KIP-1030). */
const KAFKA_4_DEFAULTS: Record<string, string> = {
  "message.timestamp.after.max.ms": "3600000",
};

/** One synonym of a config, as DescribeConfigs reports it. */
export interface ConfigSynonym {
  name: string;
  value: string | null;
  source: number;
}

const BROKER_CONFIG_BY_NAME = new Map(BROKER_CONFIGS.map((c) => [c.name, c]));

/** The broker configs that stand in for one another, highest priority first (Kafka's DynamicBrokerConfig). */
const BROKER_SYNONYM_GROUPS: readonly (readonly string[])[] = [
  ["log.roll.ms", "log.roll.hours"],
  ["log.roll.jitter.ms", "log.roll.jitter.hours"],
  ["log.retention.ms", "log.retention.minutes", "log.retention.hours"],
];

/**
 * The broker configs Kafka lists as synonyms of broker config `name`, highest priority first
 * (`DynamicBrokerConfig.brokerConfigSynonyms`): the group it belongs to, `log.flush.interval.ms`
 * with `log.flush.scheduler.interval.ms` (which supplies its default), else the name alone.
 */
export function brokerConfigSynonyms(name: string): readonly string[] {
  if (name === "log.flush.interval.ms") return ["log.flush.interval.ms", "log.flush.scheduler.interval.ms"];
  return BROKER_SYNONYM_GROUPS.find((g) => g.includes(name)) ?? [name];
}

/**
 * The broker-level synonyms DescribeConfigs lists for `name` (a broker config, or the broker
 * config that stands first for a topic config), as Kafka's `ConfigHelper.configSynonyms` builds
 * them: the names of {@link brokerConfigSynonyms} set in the broker's configuration
 * (STATIC_BROKER_CONFIG), then those that have a default (DEFAULT_CONFIG), each with its raw value
 * (`log.retention.hours` stays in hours), sensitive values as null; then every entry before the
 * first one named `name` is dropped. So a config with no default that is not set lists nothing,
 * even when a lower synonym supplies its value: Kafka describes `retention.ms` with
 * `log.retention.hours=24` set as DEFAULT_CONFIG with no synonyms, value 86400000.
 */
export function brokerSynonyms(name: string, broker: BrokerConfig): ConfigSynonym[] {
  const names = brokerConfigSynonyms(name);
  const found: ConfigSynonym[] = [];
  const sensitive = (n: string) => BROKER_CONFIG_BY_NAME.get(n)?.sensitive ?? false;
  for (const n of names) {
    if (broker.isSet(n)) {
      found.push({ name: n, value: sensitive(n) ? null : broker.get(n), source: ConfigSource.STATIC_BROKER_CONFIG });
    }
  }
  for (const n of names) {
    // Unset, the broker's value is its default (kbin's own where a single node differs, such as
    // node.id); set, the default is Kafka's.
    const d = broker.isSet(n) ? (BROKER_CONFIG_BY_NAME.get(n)?.default ?? null) : broker.get(n);
    if (d !== null) found.push({ name: n, value: sensitive(n) ? null : d, source: ConfigSource.DEFAULT_CONFIG });
  }
  const first = found.findIndex((s) => s.name === name);
  return first < 0 ? [] : found.slice(first);
}

/**
 * Every topic config with its effective value and source: the topic override, else the first
 * broker synonym that is set, else Kafka's default. `configSource` is what CreateTopics v5+
 * reports (Kafka's controller, `KafkaConfigSchema`); `synonyms` and `describeSource` are what
 * DescribeConfigs reports (Kafka's broker, `ConfigHelper`).
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
      describeSource: ConfigSource.DYNAMIC_TOPIC_CONFIG,
      type: def.type,
    });
  }
  return LIVE_TOPIC_CONFIGS.map((def): EffectiveConfig => {
    const own = overrides[def.name];
    const setSynonym = def.serverDefaultProperty.find((s) => broker.isSet(s));
    let value: string | null;
    let configSource: number;
    if (own !== undefined) [value, configSource] = [own, ConfigSource.DYNAMIC_TOPIC_CONFIG];
    else if (setSynonym !== undefined) {
      value = brokerValueForTopic(def.name, setSynonym, broker.get(setSynonym)!);
      configSource = ConfigSource.STATIC_BROKER_CONFIG;
    } else [value, configSource] = [KAFKA_4_DEFAULTS[def.name] ?? def.default, ConfigSource.DEFAULT_CONFIG];
    const first = def.serverDefaultProperty[0];
    const synonyms = first === undefined ? [] : brokerSynonyms(first, broker);
    if (own !== undefined) synonyms.unshift({ name: def.name, value: own, source: ConfigSource.DYNAMIC_TOPIC_CONFIG });
    return {
      name: def.name,
      value,
      readOnly: false,
      configSource,
      isSensitive: false,
      synonyms,
      describeSource: synonyms[0]?.source ?? ConfigSource.DEFAULT_CONFIG,
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
