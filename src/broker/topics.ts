/**
 * Topic creation rules shared by CreateTopics and Metadata auto-creation: defaults for -1,
 * replica assignment checks on a single node, name and config validation, and Kafka's error
 * codes and messages for each refusal.
 *
 * @module
 */

import { ErrorCode } from "../protocol/generated/errors.ts";
import { fail, ok, type Result } from "../storage/result.ts";
import type { Topic } from "../storage/engine.ts";
import type { BrokerContext } from "./context.ts";
import { collisionKey, topicConfigError, topicConfigWarning, topicNameError } from "./topic_rules.ts";

/** What a client asks for when creating a topic. */
export interface TopicRequest {
  name: string;
  numPartitions: number;
  replicationFactor: number;
  assignments: readonly { partitionIndex: number; brokerIds: readonly number[] }[];
  configs: readonly { name: string; value: string | null }[];
}

/** The validated plan for a new topic. */
export interface TopicPlan {
  name: string;
  partitions: number;
  replicationFactor: number;
  configs: Record<string, string>;
}

/** Validates a topic request against the broker's state; does not create anything. */
export function planTopic(broker: BrokerContext, req: TopicRequest): Result<TopicPlan> {
  const nameError = topicNameError(req.name);
  if (nameError) return fail(ErrorCode.INVALID_TOPIC_EXCEPTION, nameError);
  if (broker.storage.topics.get(req.name).ok) {
    return fail(ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${req.name}' already exists.`);
  }
  const key = collisionKey(req.name);
  const clash = broker.storage.topics.list().find((t) => collisionKey(t.name) === key);
  if (clash) {
    return fail(ErrorCode.INVALID_TOPIC_EXCEPTION, `Topic '${req.name}' collides with existing topic: ${clash.name}`);
  }
  const nodes = [broker.nodeId];
  let partitions = req.numPartitions;
  let replicationFactor = req.replicationFactor;
  if (req.assignments.length > 0) {
    if (partitions !== -1 || replicationFactor !== -1) {
      return fail(
        ErrorCode.INVALID_REQUEST,
        "Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be used at the same time.",
      );
    }
    const seen = new Set<number>();
    for (const a of req.assignments) {
      if (seen.has(a.partitionIndex)) {
        return fail(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `Partition ${a.partitionIndex} is assigned twice.`);
      }
      seen.add(a.partitionIndex);
      if (a.brokerIds.length === 0) {
        return fail(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `Partition ${a.partitionIndex} has no replicas.`);
      }
      if (new Set(a.brokerIds).size !== a.brokerIds.length) {
        return fail(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `Partition ${a.partitionIndex} lists a broker twice.`);
      }
      for (const id of a.brokerIds) {
        if (!nodes.includes(id)) {
          return fail(
            ErrorCode.INVALID_REPLICA_ASSIGNMENT,
            `The manual partition assignment includes broker ${id}, but no such broker is registered.`,
          );
        }
      }
    }
    for (let i = 0; i < req.assignments.length; i++) {
      if (!seen.has(i)) {
        return fail(
          ErrorCode.INVALID_REPLICA_ASSIGNMENT,
          "Partitions should be a consecutive 0-based integer sequence",
        );
      }
    }
    partitions = req.assignments.length;
    replicationFactor = req.assignments[0]!.brokerIds.length;
  } else {
    if (partitions === -1) partitions = broker.config.number("num.partitions");
    if (replicationFactor === -1) replicationFactor = broker.config.number("default.replication.factor");
    if (partitions <= 0) {
      return fail(ErrorCode.INVALID_PARTITIONS, "Number of partitions was set to an invalid non-positive value.");
    }
    if (replicationFactor <= 0) {
      return fail(
        ErrorCode.INVALID_REPLICATION_FACTOR,
        "Replication factor must be larger than 0, or -1 to use the default value.",
      );
    }
    if (replicationFactor > nodes.length) {
      return fail(
        ErrorCode.INVALID_REPLICATION_FACTOR,
        `Unable to replicate the partition ${replicationFactor} time(s): The target replication factor of ${replicationFactor} cannot be reached because only ${nodes.length} broker(s) are registered.`,
      );
    }
  }
  const configs: Record<string, string> = {};
  for (const c of req.configs) {
    const err = topicConfigError(c.name, c.value);
    if (err) return fail(ErrorCode.INVALID_CONFIG, err);
    const warning = topicConfigWarning(c.name, c.value);
    if (warning) broker.logger.warn(warning, { topic: req.name });
    configs[c.name] = c.value!.trim();
  }
  return ok({ name: req.name, partitions, replicationFactor, configs });
}

/** Creates a planned topic and logs it. */
export async function createPlannedTopic(broker: BrokerContext, plan: TopicPlan): Promise<Result<Topic>> {
  const created = await broker.storage.topics.create({
    name: plan.name,
    partitions: plan.partitions,
    configs: plan.configs,
  });
  if (created.ok) {
    broker.logger.info("Created topic", { topic: plan.name, partitions: plan.partitions, id: created.value.id });
  }
  return created;
}

/** Auto-creates a topic with broker defaults (Metadata with allow_auto_topic_creation). */
export function autoCreateTopic(broker: BrokerContext, name: string): Promise<Result<Topic>> {
  const plan = planTopic(broker, { name, numPartitions: -1, replicationFactor: -1, assignments: [], configs: [] });
  if (!plan.ok) return Promise.resolve(plan);
  return createPlannedTopic(broker, plan.value);
}
