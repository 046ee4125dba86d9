/**
 * ListConfigResources (key 74), v0–v1 (KIP-1142; v0 was ListClientMetricsResources, KIP-714).
 *
 * Lists the resources that have configs, filtered by resource type. v0 lists client-metrics
 * subscriptions only. v1 takes a list of types (empty means all that v1 knows: TOPIC, BROKER,
 * BROKER_LOGGER, CLIENT_METRICS, GROUP) and answers each resource with its type; a type outside
 * that set fails the whole request with UNSUPPORTED_VERSION, as Kafka does. TOPIC lists every
 * topic, BROKER this node.
 *
 * Left out: kbin keeps no client-metrics subscriptions, group configs or per-broker loggers yet,
 * so CLIENT_METRICS, GROUP and BROKER_LOGGER list nothing (Kafka would list the broker nodes for
 * BROKER_LOGGER; kbin does not describe that resource type, so it does not offer it).
 *
 * @module
 */

import { ConfigResourceType } from "../../protocol/generated/configs.ts";
import { ErrorCode } from "../../protocol/generated/errors.ts";
import { type ConfigResource, LIST_CONFIG_RESOURCES_API } from "../../protocol/generated/74_list_config_resources.ts";
import type { Input } from "../../protocol/types.ts";
import { AclOperation, CLUSTER_NAME, ResourceType } from "../acl/model.ts";
import { defineHandler } from "../registry.ts";

/** The resource types each version knows. */
const V0_TYPES: readonly number[] = [ConfigResourceType.CLIENT_METRICS];
const V1_TYPES: readonly number[] = [
  ConfigResourceType.TOPIC,
  ConfigResourceType.BROKER,
  ConfigResourceType.BROKER_LOGGER,
  ConfigResourceType.CLIENT_METRICS,
  ConfigResourceType.GROUP,
];

export default defineHandler(LIST_CONFIG_RESOURCES_API, {
  minVersion: 0,
  maxVersion: 1,
  handle(request, ctx) {
    const { broker, version } = ctx;
    if (!ctx.allowed(AclOperation.DESCRIBE_CONFIGS, ResourceType.CLUSTER, CLUSTER_NAME)) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, configResources: [] };
    }
    const known = version === 0 ? V0_TYPES : V1_TYPES;
    const wanted = request.resourceTypes.length === 0 ? known : request.resourceTypes;
    const unknown = wanted.filter((t) => !known.includes(t));
    if (unknown.length > 0) {
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.UNSUPPORTED_VERSION,
        configResources: [],
      };
    }
    const out: Input<ConfigResource>[] = [];
    if (wanted.includes(ConfigResourceType.BROKER)) {
      out.push({ resourceName: String(broker.nodeId), resourceType: ConfigResourceType.BROKER });
    }
    if (wanted.includes(ConfigResourceType.TOPIC)) {
      for (const t of broker.storage.topics.list()) {
        out.push({ resourceName: t.name, resourceType: ConfigResourceType.TOPIC });
      }
    }
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, configResources: out };
  },
});
