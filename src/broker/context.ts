/**
 * What request handlers and the helpers they share are given: storage, the group coordinator,
 * configuration, codecs, clock and logger, and the few facts about this node. Not the whole
 * {@link Broker} (no dispatcher, no connection totals), which also keeps `broker.ts` (which
 * imports every handler) out of the handlers' imports.
 *
 * @module
 */

import type { Codecs } from "../protocol/compression/mod.ts";
import { ErrorCode } from "../protocol/generated/errors.ts";
import type { Clock, Logger } from "../ports.ts";
import type { PartitionStorage, Storage, Topic } from "../storage/engine.ts";
import type { BrokerConfig } from "./config.ts";
import type { FetchSessionCache } from "./fetch_sessions.ts";
import type { GroupCoordinator } from "./group/coordinator.ts";
import type { TopicPolicies } from "./topic_policy.ts";

/** Hands out producer ids, reserving them from storage in blocks. */
export interface ProducerIdSource {
  next(): Promise<number>;
}

/** The API versions this node advertises (ApiVersions). */
export interface AdvertisedApis {
  versions(): { apiKey: number; minVersion: number; maxVersion: number }[];
}

/** Everything a handler may use. */
export interface BrokerContext {
  readonly config: BrokerConfig;
  readonly storage: Storage;
  readonly groups: GroupCoordinator;
  readonly codecs: Codecs;
  readonly policies: TopicPolicies;
  readonly producerIds: ProducerIdSource;
  readonly fetchSessions: FetchSessionCache;
  readonly handlers: AdvertisedApis;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly nodeId: number;
  readonly clusterId: string;
  /** Address clients are told to connect to. */
  readonly advertised: { host: string; port: number };
}

/**
 * Kafka's check of a request's current leader epoch against this node's (-1 skips it): older is
 * FENCED_LEADER_EPOCH, newer UNKNOWN_LEADER_EPOCH (the client knows of a leader this node is not yet).
 * @param requested the epoch the client believes current
 * @param current this node's epoch for the partition
 * @returns an error code, 0 when the epochs agree
 */
export function leaderEpochError(requested: number, current: number): number {
  if (requested < 0 || requested === current) return 0;
  return requested < current ? ErrorCode.FENCED_LEADER_EPOCH : ErrorCode.UNKNOWN_LEADER_EPOCH;
}

/**
 * The current leader epoch of a partition of a topic.
 * @param ctx the broker context
 * @param topic the topic
 * @param partition the partition index
 * @returns the epoch
 */
export function leaderEpochOf(ctx: BrokerContext, topic: Topic, partition: number): number {
  return ctx.storage.leaderEpoch({ topicName: topic.name, topicId: topic.id, partition });
}

/**
 * The log of one partition of a topic (opened on first use).
 * @param ctx the broker context
 * @param topic the topic
 * @param partition the partition index
 * @returns the partition's storage
 */
export function partitionOf(ctx: BrokerContext, topic: Topic, partition: number): Promise<PartitionStorage> {
  return ctx.storage.partition({ topicName: topic.name, topicId: topic.id, partition });
}
