/**
 * Shared logic of AlterConfigs and IncrementalAlterConfigs for topics: validate every change
 * first (INVALID_CONFIG for unknown names and bad values), then apply all of them or none.
 *
 * @module
 */

import { ErrorCode } from "../protocol/generated/errors.ts";
import { fail, ok, type Result } from "../storage/result.ts";
import type { Broker } from "./broker.ts";
import { isTopicConfig, topicConfigError, topicConfigWarning } from "./topic_rules.ts";

/** Validates `next` (the complete set of overrides) and stores it unless `validateOnly`. */
export function replaceTopicConfigs(
  broker: Broker,
  topicName: string,
  next: Record<string, string>,
  validateOnly: boolean,
): Result<void> {
  const topic = broker.store.getTopic(topicName);
  if (!topic.ok) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic ${topicName} does not exist.`);
  for (const [name, value] of Object.entries(next)) {
    if (!isTopicConfig(name)) return fail(ErrorCode.INVALID_CONFIG, `Unknown topic config name: ${name}`);
    const err = topicConfigError(name, value);
    if (err) return fail(ErrorCode.INVALID_CONFIG, err);
  }
  for (const [name, value] of Object.entries(next)) {
    if (topic.value.configs[name] === value) continue; // warned when it was set
    const warning = topicConfigWarning(name, value);
    if (warning) broker.logger.warn(warning, { topic: topicName });
  }
  if (validateOnly) return ok(undefined);
  const stored = broker.store.setTopicConfigs(topicName, next);
  if (!stored.ok) return stored;
  broker.logger.info("Changed topic configs", { topic: topicName, configs: JSON.stringify(next) });
  return ok(undefined);
}
