/**
 * CreatePartitions (key 37), v0–v3.
 *
 * Grows a topic to `count` partitions. A count not above the current one gives
 * INVALID_PARTITIONS with Kafka's message; assignments must list `count - current` entries
 * that name only this node (INVALID_REPLICA_ASSIGNMENT); a topic named twice gets
 * INVALID_REQUEST; `validate_only` changes nothing.
 *
 * @module
 */

import { ErrorCode } from "../../protocol/generated/errors.ts";
import {
  CREATE_PARTITIONS_API,
  type CreatePartitionsTopicResult,
} from "../../protocol/generated/37_create_partitions.ts";
import type { Input } from "../../protocol/types.ts";
import { guardPart } from "../part_errors.ts";
import { defineHandler } from "../registry.ts";
import { AclOperation, ResourceType } from "../acl/model.ts";

/** Kafka's cap on partitions per topic is the broker's memory; kbin keeps a sane bound. */
const MAX_PARTITIONS = 100_000;

export default defineHandler(CREATE_PARTITIONS_API, {
  minVersion: 0,
  maxVersion: 3,
  async handle(request, ctx) {
    const { broker } = ctx;
    const counts = new Map<string, number>();
    for (const t of request.topics) counts.set(t.name, (counts.get(t.name) ?? 0) + 1);
    const results: Input<CreatePartitionsTopicResult>[] = [];
    const fail = (name: string, errorCode: number, errorMessage: string) =>
      results.push({ name, errorCode, errorMessage });
    for (const t of request.topics) {
      if (counts.get(t.name)! > 1) {
        fail(t.name, ErrorCode.INVALID_REQUEST, "Duplicate topic in request.");
        continue;
      }
      if (!ctx.allowed(AclOperation.ALTER, ResourceType.TOPIC, t.name)) {
        fail(
          t.name,
          ErrorCode.TOPIC_AUTHORIZATION_FAILED,
          `Authorization failed: ${ctx.conn.principal} may not alter ${t.name}`,
        );
        continue;
      }
      const found = broker.storage.topics.get(t.name);
      if (!found.ok) {
        results.push({ name: t.name, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: null });
        continue;
      }
      const current = found.value.partitions;
      if (t.count < current) {
        fail(
          t.name,
          ErrorCode.INVALID_PARTITIONS,
          `The topic ${t.name} currently has ${current} partition(s); ${t.count} would not be an increase.`,
        );
        continue;
      }
      if (t.count === current) {
        fail(t.name, ErrorCode.INVALID_PARTITIONS, `Topic already has ${current} partition(s).`);
        continue;
      }
      if (t.count > MAX_PARTITIONS) {
        fail(
          t.name,
          ErrorCode.INVALID_PARTITIONS,
          `Cannot grow topic to ${t.count} partitions: at most ${MAX_PARTITIONS} are allowed.`,
        );
        continue;
      }
      if (t.assignments !== null) {
        if (t.assignments.length !== t.count - current) {
          fail(
            t.name,
            ErrorCode.INVALID_REPLICA_ASSIGNMENT,
            `Attempted to add ${
              t.count - current
            } additional partition(s), but only ${t.assignments.length} assignment(s) were specified.`,
          );
          continue;
        }
        const bad = t.assignments.flatMap((a) => a.brokerIds).find((id) => id !== broker.nodeId);
        if (bad !== undefined || t.assignments.some((a) => a.brokerIds.length === 0)) {
          fail(
            t.name,
            ErrorCode.INVALID_REPLICA_ASSIGNMENT,
            `The manual partition assignment includes broker ${bad ?? "(none)"}, but no such broker is registered.`,
          );
          continue;
        }
      }
      if (!request.validateOnly) {
        const grown = await guardPart(() => broker.storage.topics.addPartitions(t.name, t.count), {
          logger: broker.logger,
          context: { api: "CreatePartitions", version: ctx.version, topic: t.name },
          onError: (f) => ({ ok: false as const, code: f.code, message: f.message }),
        });
        if (!grown.ok) {
          fail(t.name, grown.code, grown.message ?? "");
          continue;
        }
        broker.logger.info("Added partitions", { topic: t.name, from: current, to: t.count });
      }
      results.push({ name: t.name, errorCode: ErrorCode.NONE, errorMessage: null });
    }
    return { throttleTimeMs: 0, results };
  },
});
