/**
 * IncrementalAlterConfigs (key 44), v0–v1 (KIP-339).
 *
 * TOPIC resources: SET, DELETE, and APPEND/SUBTRACT on list-typed configs (`cleanup.policy`, …),
 * all validated before any is applied. As in Kafka: a resource named twice, a config named twice
 * in one resource, or a null value for anything but DELETE is INVALID_REQUEST; APPEND and
 * SUBTRACT start from the topic's value, or from the config's default when the topic does not
 * set it (APPEND `compact` to `cleanup.policy` gives `delete,compact`); the new values are
 * validated (INVALID_CONFIG) before the topic's existence is checked. `validate_only` changes
 * nothing.
 *
 * Left out: BROKER and other resources (dynamic broker configs are not supported yet:
 * INVALID_REQUEST with a message saying so).
 *
 * @module
 */

import { AlterConfigOpType, ConfigResourceType, TOPIC_CONFIGS } from "../../protocol/generated/configs.ts";
import { ErrorCode } from "../../protocol/generated/errors.ts";
import {
  type AlterConfigsResourceResponse,
  INCREMENTAL_ALTER_CONFIGS_API,
} from "../../protocol/generated/44_incremental_alter_configs.ts";
import type { Input } from "../../protocol/types.ts";
import { preprocessAlter, replaceTopicConfigs } from "../alter_topic_configs.ts";
import { guardPart, mapInOrder } from "../part_errors.ts";
import { defineHandler } from "../registry.ts";
import { AclOperation } from "../acl/model.ts";
import { configDenied } from "../acl/requests.ts";

/** List-typed topic configs and their defaults (Kafka's `KafkaConfigSchema.getDefault`). */
const LIST_DEFAULTS = new Map(TOPIC_CONFIGS.filter((c) => c.type === "list").map((c) => [c.name, c.default]));

const OP_NAMES: Record<number, string> = {
  [AlterConfigOpType.APPEND]: "APPEND",
  [AlterConfigOpType.SUBTRACT]: "SUBTRACT",
};

/** A list value's items, empty ones dropped (Kafka's `ConfigurationControlManager.getParts`). */
function parts(value: string | null | undefined): string[] {
  return (value ?? "").split(",").map((s) => s.trim()).filter((s) => s !== "");
}

export default defineHandler(INCREMENTAL_ALTER_CONFIGS_API, {
  minVersion: 0,
  maxVersion: 1,
  async handle(request, ctx) {
    const { broker } = ctx;
    const refused = preprocessAlter(request.resources, (c) => c.configOperation === AlterConfigOpType.DELETE);
    const responses: Input<AlterConfigsResourceResponse>[] = await mapInOrder(request.resources, async (res, i) => {
      const answer = (errorCode: number, errorMessage: string | null) => ({
        errorCode,
        errorMessage,
        resourceType: res.resourceType,
        resourceName: res.resourceName,
      });
      const error = refused.get(i) ?? configDenied(ctx, AclOperation.ALTER_CONFIGS, res.resourceType, res.resourceName);
      if (error) return answer(error.code, error.message);
      if (res.resourceType !== ConfigResourceType.TOPIC) {
        return answer(
          ErrorCode.INVALID_REQUEST,
          `Altering config resource type ${res.resourceType} is not supported by this broker`,
        );
      }
      const topic = broker.storage.topics.get(res.resourceName);
      const next: Record<string, string> = { ...(topic.ok ? topic.value.configs : {}) };
      for (const c of res.configs) {
        switch (c.configOperation) {
          case AlterConfigOpType.SET:
            next[c.name] = c.value!;
            break;
          case AlterConfigOpType.DELETE:
            delete next[c.name];
            break;
          case AlterConfigOpType.APPEND:
          case AlterConfigOpType.SUBTRACT: {
            if (!LIST_DEFAULTS.has(c.name)) {
              const op = OP_NAMES[c.configOperation];
              return answer(ErrorCode.INVALID_CONFIG, `Can't ${op} to key ${c.name} because its type is not LIST.`);
            }
            const current = parts(c.name in next ? next[c.name] : LIST_DEFAULTS.get(c.name));
            const items = parts(c.value);
            next[c.name] = (c.configOperation === AlterConfigOpType.APPEND
              ? [
                ...current,
                ...items.filter((item, k) => !current.includes(item) && items.indexOf(item) === k),
              ]
              : current.filter((item) => !items.includes(item))).join(",");
            break;
          }
          default:
            return answer(ErrorCode.INVALID_REQUEST, `Unknown alter config operation ${c.configOperation}`);
        }
      }
      const applied = await guardPart(() => replaceTopicConfigs(broker, res.resourceName, next, request.validateOnly), {
        logger: broker.logger,
        context: { api: "IncrementalAlterConfigs", version: ctx.version, resource: res.resourceName },
        onError: (f) => ({ ok: false as const, code: f.code, message: f.message }),
      });
      return answer(applied.ok ? ErrorCode.NONE : applied.code, applied.ok ? null : (applied.message ?? null));
    });
    return { throttleTimeMs: 0, responses };
  },
});
