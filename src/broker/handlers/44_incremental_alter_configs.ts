/**
 * IncrementalAlterConfigs (key 44), v0–v1 (KIP-339).
 *
 * TOPIC resources: SET, DELETE, and APPEND/SUBTRACT on list-typed configs
 * (`cleanup.policy`, …), all validated before any is applied. A config named twice in one
 * resource is INVALID_REQUEST, as in Kafka. `validate_only` changes nothing.
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
import { replaceTopicConfigs } from "../alter_topic_configs.ts";
import { guardPartSync } from "../part_errors.ts";
import { defineHandler } from "../registry.ts";

const LIST_CONFIGS = new Set(TOPIC_CONFIGS.filter((c) => c.type === "list").map((c) => c.name));

export default defineHandler(INCREMENTAL_ALTER_CONFIGS_API, {
  minVersion: 0,
  maxVersion: 1,
  handle(request, ctx) {
    const { broker } = ctx;
    const responses: Input<AlterConfigsResourceResponse>[] = [];
    for (const res of request.resources) {
      const answer = (errorCode: number, errorMessage: string | null) =>
        responses.push({ errorCode, errorMessage, resourceType: res.resourceType, resourceName: res.resourceName });
      if (res.resourceType !== ConfigResourceType.TOPIC) {
        answer(
          ErrorCode.INVALID_REQUEST,
          `Altering config resource type ${res.resourceType} is not supported by this broker`,
        );
        continue;
      }
      const topic = broker.store.getTopic(res.resourceName);
      if (!topic.ok) {
        answer(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic ${res.resourceName} does not exist.`);
        continue;
      }
      const names = res.configs.map((c) => c.name);
      const dup = names.find((n, i) => names.indexOf(n) !== i);
      if (dup !== undefined) {
        answer(ErrorCode.INVALID_REQUEST, `Error due to duplicate config keys: ${dup}`);
        continue;
      }
      const next: Record<string, string> = { ...topic.value.configs };
      let error: [number, string] | null = null;
      for (const c of res.configs) {
        const current = (next[c.name] ?? "").split(",").map((s) => s.trim()).filter((s) => s !== "");
        switch (c.configOperation) {
          case AlterConfigOpType.SET:
            if (c.value === null) error = [ErrorCode.INVALID_REQUEST, `Null value not supported for : ${c.name}`];
            else next[c.name] = c.value;
            break;
          case AlterConfigOpType.DELETE:
            delete next[c.name];
            break;
          case AlterConfigOpType.APPEND:
          case AlterConfigOpType.SUBTRACT: {
            if (!LIST_CONFIGS.has(c.name)) {
              error = [ErrorCode.INVALID_CONFIG, `Config value append is not allowed for config key: ${c.name}`];
              break;
            }
            const items = (c.value ?? "").split(",").map((s) => s.trim()).filter((s) => s !== "");
            const result = c.configOperation === AlterConfigOpType.APPEND
              ? [...current, ...items.filter((i) => !current.includes(i))]
              : current.filter((i) => !items.includes(i));
            next[c.name] = result.join(",");
            break;
          }
          default:
            error = [ErrorCode.INVALID_REQUEST, `Unknown alter config operation ${c.configOperation}`];
        }
        if (error) break;
      }
      if (error) {
        answer(error[0], error[1]);
        continue;
      }
      const applied = guardPartSync(() => replaceTopicConfigs(broker, res.resourceName, next, request.validateOnly), {
        logger: broker.logger,
        context: { api: "IncrementalAlterConfigs", version: ctx.version, resource: res.resourceName },
        onError: (f) => ({ ok: false as const, code: f.code, message: f.message }),
      });
      answer(applied.ok ? ErrorCode.NONE : applied.code, applied.ok ? null : (applied.message ?? null));
    }
    return { throttleTimeMs: 0, responses };
  },
});
