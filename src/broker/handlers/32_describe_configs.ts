/**
 * DescribeConfigs (key 32), v0–v4.
 *
 * TOPIC: every topic config with its effective value — the topic's override, else the first
 * broker synonym set in the broker's configuration (converted: `log.retention.hours` becomes
 * milliseconds), else Kafka's default; topic configs are never read-only. BROKER with this node's
 * id: every broker config, read-only unless Kafka can change it dynamically, sensitive
 * (password) values sent as null; with an empty name only dynamic cluster defaults, of which
 * kbin has none. Sources and synonyms follow Kafka's `ConfigHelper`, quirks included (see
 * `brokerSynonyms` in topic_rules.ts): the source is the first synonym's, and `retention.ms`
 * lists no broker synonym since `log.retention.ms` has no default. `configuration_keys` filters;
 * synonyms (v1+) are sent only when the request asks for them, as Kafka does; config types (v3+)
 * are filled; documentation is null. v0 (removed by Kafka 4.0, served as Kafka 3.9 did) reports
 * `is_default` instead of a source. An unknown topic is UNKNOWN_TOPIC_OR_PARTITION with a null
 * message, an illegal topic name INVALID_TOPIC_EXCEPTION, a broker name that is not this node's
 * id INVALID_REQUEST, with Kafka's messages. A failure for one resource answers that resource
 * with UNKNOWN_SERVER_ERROR and is logged.
 *
 * Left out: BROKER_LOGGER, CLIENT_METRICS and GROUP resources (INVALID_REQUEST until those
 * features exist).
 *
 * @module
 */

import { BROKER_CONFIGS, ConfigResourceType, ConfigType } from "../../protocol/generated/configs.ts";
import {
  DESCRIBE_CONFIGS_API,
  type DescribeConfigsResource,
  type DescribeConfigsResourceResult,
  type DescribeConfigsResult,
} from "../../protocol/generated/32_describe_configs.ts";
import { ErrorCode } from "../../protocol/generated/errors.ts";
import type { Input } from "../../protocol/types.ts";
import type { BrokerContext } from "../context.ts";
import { guardPartSync } from "../part_errors.ts";
import { defineHandler } from "../registry.ts";
import { AclOperation } from "../acl/model.ts";
import { configDenied } from "../acl/requests.ts";
import { brokerSynonyms, ConfigSource, effectiveTopicConfigs, topicNameError } from "../topic_rules.ts";

const TYPE_CODES: Record<string, number> = {
  boolean: ConfigType.BOOLEAN,
  string: ConfigType.STRING,
  int: ConfigType.INT,
  short: ConfigType.SHORT,
  long: ConfigType.LONG,
  double: ConfigType.DOUBLE,
  list: ConfigType.LIST,
  class: ConfigType.CLASS,
  password: ConfigType.PASSWORD,
};

type Entry = Input<DescribeConfigsResourceResult>;

function brokerConfigs(broker: BrokerContext): Entry[] {
  return BROKER_CONFIGS.map((def) => {
    const set = broker.config.isSet(def.name);
    const value = def.sensitive ? null : broker.config.get(def.name);
    // Kafka's ConfigHelper.createBrokerConfigEntry: the source is that of the first synonym.
    const synonyms = brokerSynonyms(def.name, broker.config);
    return {
      name: def.name,
      value,
      readOnly: !def.dynamic,
      isDefault: !set,
      configSource: synonyms[0]?.source ?? ConfigSource.DEFAULT_CONFIG,
      isSensitive: def.sensitive,
      synonyms,
      configType: TYPE_CODES[def.type] ?? ConfigType.UNKNOWN,
      documentation: null,
    };
  });
}

export default defineHandler(DESCRIBE_CONFIGS_API, {
  minVersion: 0,
  maxVersion: 4,
  handle(request, ctx) {
    const { broker } = ctx;
    const describeOne = (res: DescribeConfigsResource): Input<DescribeConfigsResult> => {
      const base = { resourceType: res.resourceType, resourceName: res.resourceName };
      let configs: Entry[];
      if (res.resourceType === ConfigResourceType.TOPIC) {
        // Kafka validates the name first (Topic.validate): an illegal one is INVALID_TOPIC_EXCEPTION.
        const illegal = topicNameError(res.resourceName);
        if (illegal !== null) {
          return { ...base, errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION, errorMessage: illegal, configs: [] };
        }
        const topic = broker.storage.topics.get(res.resourceName);
        if (!topic.ok) {
          return {
            ...base,
            errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
            // No message, as from Kafka (ConfigHelper.describeConfigs): clients that read only
            // the message (Sarama 1.22's DescribeConfig) must see what Kafka gives them.
            errorMessage: null,
            configs: [],
          };
        }
        configs = effectiveTopicConfigs(topic.value.configs, broker.config).map((c) => ({
          name: c.name,
          value: c.value,
          readOnly: false,
          isDefault: c.describeSource === ConfigSource.DEFAULT_CONFIG,
          configSource: c.describeSource,
          isSensitive: false,
          synonyms: c.synonyms,
          configType: TYPE_CODES[c.type] ?? ConfigType.UNKNOWN,
          documentation: null,
        }));
      } else if (res.resourceType === ConfigResourceType.BROKER) {
        const id = /^[+-]?\d+$/.test(res.resourceName) ? Number(res.resourceName) : NaN;
        if (res.resourceName === "") configs = [];
        else if (Number.isNaN(id)) {
          return {
            ...base,
            errorCode: ErrorCode.INVALID_REQUEST,
            errorMessage: `Broker id must be an integer, but it is: ${res.resourceName}`,
            configs: [],
          };
        } else if (id === broker.nodeId) configs = brokerConfigs(broker);
        else {
          return {
            ...base,
            errorCode: ErrorCode.INVALID_REQUEST,
            errorMessage:
              `Unexpected broker id, expected ${broker.nodeId} or empty string, but received ${res.resourceName}`,
            configs: [],
          };
        }
      } else {
        return {
          ...base,
          errorCode: ErrorCode.INVALID_REQUEST,
          errorMessage: `Config resource type ${res.resourceType} is not supported by this broker`,
          configs: [],
        };
      }
      if (res.configurationKeys !== null && res.configurationKeys.length > 0) {
        const keys = new Set(res.configurationKeys);
        configs = configs.filter((c) => keys.has(c.name!));
      }
      if (!request.includeSynonyms) configs = configs.map((c) => ({ ...c, synonyms: [] }));
      return { ...base, errorCode: ErrorCode.NONE, errorMessage: null, configs };
    };
    const results = request.resources.map((res) =>
      guardPartSync(() => {
        const denied = configDenied(ctx, AclOperation.DESCRIBE_CONFIGS, res.resourceType, res.resourceName);
        if (denied) {
          return {
            resourceType: res.resourceType,
            resourceName: res.resourceName,
            errorCode: denied.code,
            errorMessage: denied.message,
            configs: [],
          };
        }
        return describeOne(res);
      }, {
        logger: broker.logger,
        context: {
          api: "DescribeConfigs",
          version: ctx.version,
          resourceType: res.resourceType,
          name: res.resourceName,
        },
        onError: (f): Input<DescribeConfigsResult> => ({
          resourceType: res.resourceType,
          resourceName: res.resourceName,
          errorCode: f.code,
          errorMessage: f.message,
          configs: [],
        }),
      })
    );
    return { throttleTimeMs: 0, results };
  },
});
