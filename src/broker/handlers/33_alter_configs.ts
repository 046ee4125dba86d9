/**
 * AlterConfigs (key 33), v0–v2: the legacy, whole-set form. The given configs replace all of
 * a topic's overrides (configs left out return to their defaults), as in Kafka. Kafka's request
 * checks come first: a resource named twice, a config named twice or a null value is
 * INVALID_REQUEST; then the values are validated (INVALID_CONFIG), then the topic must exist.
 *
 * Left out: BROKER and other resources (INVALID_REQUEST, as for IncrementalAlterConfigs).
 *
 * @module
 */

import { ConfigResourceType } from "../../protocol/generated/configs.ts";
import { ErrorCode } from "../../protocol/generated/errors.ts";
import { ALTER_CONFIGS_API, type AlterConfigsResourceResponse } from "../../protocol/generated/33_alter_configs.ts";
import type { Input } from "../../protocol/types.ts";
import { preprocessAlter, replaceTopicConfigs } from "../alter_topic_configs.ts";
import { guardPart, mapInOrder } from "../part_errors.ts";
import { defineHandler } from "../registry.ts";
import { AclOperation } from "../acl/model.ts";
import { configDenied } from "../acl/requests.ts";

export default defineHandler(ALTER_CONFIGS_API, {
  minVersion: 0,
  maxVersion: 2,
  async handle(request, ctx) {
    const refused = preprocessAlter(request.resources, () => false);
    const responses: Input<AlterConfigsResourceResponse>[] = await mapInOrder(request.resources, async (res, i) => {
      const base = { resourceType: res.resourceType, resourceName: res.resourceName };
      const error = refused.get(i) ?? configDenied(ctx, AclOperation.ALTER_CONFIGS, res.resourceType, res.resourceName);
      if (error) return { ...base, errorCode: error.code, errorMessage: error.message };
      if (res.resourceType !== ConfigResourceType.TOPIC) {
        return {
          ...base,
          errorCode: ErrorCode.INVALID_REQUEST,
          errorMessage: `Altering config resource type ${res.resourceType} is not supported by this broker`,
        };
      }
      const next: Record<string, string> = {};
      for (const c of res.configs) next[c.name] = c.value!;
      const applied = await guardPart(
        () => replaceTopicConfigs(ctx.broker, res.resourceName, next, request.validateOnly),
        {
          logger: ctx.broker.logger,
          context: { api: "AlterConfigs", version: ctx.version, resource: res.resourceName },
          onError: (f) => ({ ok: false as const, code: f.code, message: f.message }),
        },
      );
      return {
        ...base,
        errorCode: applied.ok ? ErrorCode.NONE : applied.code,
        errorMessage: applied.ok ? null : (applied.message ?? null),
      };
    });
    return { throttleTimeMs: 0, responses };
  },
});
