/**
 * Shared logic of AlterConfigs and IncrementalAlterConfigs for topics: the request checks Kafka's
 * brokers make before forwarding (`ConfigAdminManager.preprocess`), then validation of every
 * change (INVALID_CONFIG for unknown names and bad values) before the topic's existence, as
 * Kafka's controller orders them, then all of the changes or none.
 *
 * @module
 */

import { ErrorCode } from "../protocol/generated/errors.ts";
import { fail, ok, type Result } from "../storage/result.ts";
import type { BrokerContext } from "./context.ts";
import { isTopicConfig, topicConfigError, topicConfigWarning, topicNameError } from "./topic_rules.ts";

/** What both alter requests carry per resource. */
export interface AlterResource {
  resourceType: number;
  resourceName: string;
  configs: readonly { name: string; value: string | null }[];
}

/**
 * The per-resource errors Kafka's broker gives before looking at the changes: a resource named
 * twice fails both times; a config named twice in one resource, or a null value (except for an
 * incremental DELETE), is INVALID_REQUEST.
 * @param nullAllowed whether a config may carry a null value (IncrementalAlterConfigs DELETE)
 * @returns the error of each resource that fails, by index
 */
export function preprocessAlter<R extends AlterResource>(
  resources: readonly R[],
  nullAllowed: (config: R["configs"][number]) => boolean,
): Map<number, { code: number; message: string }> {
  const errors = new Map<number, { code: number; message: string }>();
  const seen = new Map<string, number>();
  resources.forEach((r, i) => {
    const key = `${r.resourceType}\u0000${r.resourceName}`;
    const first = seen.get(key);
    if (first === undefined) {
      seen.set(key, i);
      return;
    }
    for (const j of [first, i]) {
      errors.set(j, { code: ErrorCode.INVALID_REQUEST, message: "Each resource must appear at most once." });
    }
  });
  resources.forEach((r, i) => {
    if (errors.has(i)) return;
    const names = r.configs.map((c) => c.name);
    if (names.some((n, k) => names.indexOf(n) !== k)) {
      errors.set(i, { code: ErrorCode.INVALID_REQUEST, message: "Error due to duplicate config keys" });
      return;
    }
    const nulls = r.configs.filter((c) => c.value === null && !nullAllowed(c)).map((c) => c.name);
    if (nulls.length > 0) {
      errors.set(i, { code: ErrorCode.INVALID_REQUEST, message: `Null value not supported for : ${nulls.join(", ")}` });
    }
  });
  return errors;
}

/** Validates `next` (the complete set of overrides) and stores it unless `validateOnly`. */
export async function replaceTopicConfigs(
  broker: BrokerContext,
  topicName: string,
  next: Record<string, string>,
  validateOnly: boolean,
): Promise<Result<void>> {
  // Kafka's ControllerConfigurationValidator: the name, then the values, then existence.
  if (topicName === "") return fail(ErrorCode.INVALID_REQUEST, "Default topic resources are not allowed.");
  const illegal = topicNameError(topicName);
  if (illegal !== null) return fail(ErrorCode.INVALID_TOPIC_EXCEPTION, illegal);
  for (const [name, value] of Object.entries(next)) {
    if (!isTopicConfig(name)) return fail(ErrorCode.INVALID_CONFIG, `Unknown topic config name: ${name}`);
    const err = topicConfigError(name, value);
    if (err) return fail(ErrorCode.INVALID_CONFIG, err);
  }
  const topic = broker.storage.topics.get(topicName);
  if (!topic.ok) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `The topic '${topicName}' does not exist.`);
  for (const [name, value] of Object.entries(next)) {
    if (topic.value.configs[name] === value) continue; // warned when it was set
    const warning = topicConfigWarning(name, value);
    if (warning) broker.logger.warn(warning, { topic: topicName });
  }
  if (validateOnly) return ok(undefined);
  const stored = await broker.storage.topics.setConfigs(topicName, next);
  if (!stored.ok) return stored;
  broker.logger.info("Changed topic configs", { topic: topicName, configs: JSON.stringify(next) });
  return ok(undefined);
}
