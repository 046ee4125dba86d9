/**
 * DeleteTopics (key 20), v0–v6.
 *
 * Deletes by name (v1–v5 `topic_names`, v6 `topics[].name`) or by topic id (v6). An unknown
 * name gives UNKNOWN_TOPIC_OR_PARTITION, an unknown id UNKNOWN_TOPIC_ID, and a v6 entry naming
 * both or neither INVALID_REQUEST. Listeners registered with the broker drop the topic's data.
 *
 * v0 (no throttle time) was removed by Kafka 4.0 and is served as Kafka 3.9 did. A failure
 * while deleting one topic answers that topic with UNKNOWN_SERVER_ERROR (KAFKA_STORAGE_ERROR for
 * I/O) and is logged.
 *
 * @module
 */

import { ErrorCode } from "../../protocol/generated/errors.ts";
import { type DeletableTopicResult, DELETE_TOPICS_API } from "../../protocol/generated/20_delete_topics.ts";
import { ZERO_UUID } from "../../protocol/reader.ts";
import type { Input } from "../../protocol/types.ts";
import { guardPart } from "../part_errors.ts";
import { defineHandler } from "../registry.ts";
import { AclOperation, ResourceType } from "../acl/model.ts";

export default defineHandler(DELETE_TOPICS_API, {
  minVersion: 0,
  maxVersion: 6,
  async handle(request, ctx) {
    const { broker, version } = ctx;
    const wanted = version >= 6
      ? request.topics.map((t) => ({ name: t.name, topicId: t.topicId }))
      : request.topicNames.map((name) => ({ name, topicId: ZERO_UUID }));
    const responses: Input<DeletableTopicResult>[] = [];
    for (const w of wanted) {
      const byName = w.name !== null && w.name !== "";
      const byId = w.topicId !== ZERO_UUID;
      if (byName === byId) {
        responses.push({
          name: w.name,
          topicId: w.topicId,
          errorCode: ErrorCode.INVALID_REQUEST,
          errorMessage: "Exactly one of topic name and topic id must be given",
        });
        continue;
      }
      const found = byId ? broker.storage.topics.byId(w.topicId) : broker.storage.topics.get(w.name!);
      // ACLs: DELETE on the topic (checked before existence, so names do not leak).
      const name = found.ok ? found.value.name : w.name;
      if ((byName || found.ok) && !ctx.allowed(AclOperation.DELETE, ResourceType.TOPIC, name!)) {
        responses.push({
          name: w.name,
          topicId: w.topicId,
          errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
          errorMessage: `Authorization failed: ${ctx.conn.principal} may not delete this topic`,
        });
        continue;
      }
      if (!found.ok) {
        responses.push({
          name: w.name,
          topicId: w.topicId,
          errorCode: byId ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
          errorMessage: byId ? `Topic id ${w.topicId} not found` : "This server does not host this topic-partition.",
        });
        continue;
      }
      const topic = found.value;
      responses.push(
        await guardPart(async (): Promise<Input<DeletableTopicResult>> => {
          const deleted = await broker.storage.topics.delete(topic.name);
          if (!deleted.ok) {
            return {
              name: topic.name,
              topicId: topic.id,
              errorCode: deleted.code,
              errorMessage: deleted.message ?? null,
            };
          }
          await broker.groups.onTopicDeleted(topic.name);
          broker.metrics.topicDeleted(topic.name);
          broker.logger.info("Deleted topic", { topic: topic.name, id: topic.id });
          return { name: topic.name, topicId: topic.id, errorCode: ErrorCode.NONE, errorMessage: null };
        }, {
          logger: broker.logger,
          context: { api: "DeleteTopics", version, topic: topic.name },
          onError: (f) => ({ name: topic.name, topicId: topic.id, errorCode: f.code, errorMessage: f.message }),
        }),
      );
    }
    return { throttleTimeMs: 0, responses };
  },
});
