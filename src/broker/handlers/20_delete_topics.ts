/**
 * DeleteTopics (key 20), v1–v6.
 *
 * Deletes by name (v1–v5 `topic_names`, v6 `topics[].name`) or by topic id (v6). An unknown
 * name gives UNKNOWN_TOPIC_OR_PARTITION, an unknown id UNKNOWN_TOPIC_ID, and a v6 entry naming
 * both or neither INVALID_REQUEST. Listeners registered with the broker drop the topic's data.
 *
 * Left out: v0 (removed in Kafka 4.0).
 *
 * @module
 */

import { ErrorCode } from "../../protocol/generated/errors.ts";
import { type DeletableTopicResult, DELETE_TOPICS_API } from "../../protocol/generated/20_delete_topics.ts";
import { ZERO_UUID } from "../../protocol/reader.ts";
import type { Input } from "../../protocol/types.ts";
import { defineHandler } from "../registry.ts";

export default defineHandler(DELETE_TOPICS_API, {
  minVersion: 1,
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
      const found = byId ? broker.store.getTopicById(w.topicId) : broker.store.getTopic(w.name!);
      if (!found.ok) {
        responses.push({
          name: w.name,
          topicId: w.topicId,
          errorCode: byId ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
          errorMessage: byId ? `Topic id ${w.topicId} not found` : "This server does not host this topic-partition.",
        });
        continue;
      }
      const deleted = broker.store.deleteTopic(found.value.name);
      if (!deleted.ok) {
        responses.push({
          name: found.value.name,
          topicId: found.value.id,
          errorCode: deleted.code,
          errorMessage: deleted.message ?? null,
        });
        continue;
      }
      await broker.logs.deleteTopic(found.value.name, found.value.partitions);
      broker.groups.onTopicDeleted(found.value.name);
      broker.logger.info("Deleted topic", { topic: found.value.name, id: found.value.id });
      responses.push({
        name: found.value.name,
        topicId: found.value.id,
        errorCode: ErrorCode.NONE,
        errorMessage: null,
      });
    }
    return { throttleTimeMs: 0, responses };
  },
});
