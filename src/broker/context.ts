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
import type { BrokerInfo, Leadership, PartitionStorage, Storage, Topic } from "../storage/engine.ts";
import { coordinatorShard } from "../storage/placement.ts";
import type { BrokerConfig } from "./config.ts";
import type { ConnState } from "./conn_state.ts";
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
  /** The Kafka release whose API versions are emulated, or null. */
  readonly emulatedRelease: string | null;
}

/** Everything a handler may use. */
export interface BrokerContext {
  readonly config: BrokerConfig;
  readonly storage: Storage;
  readonly groups: GroupCoordinator;
  readonly transactions: import("./txn/coordinator.ts").TxnCoordinator;
  readonly pendingTxnOffsets: import("./txn/group_offsets.ts").PendingTxnOffsets;
  readonly interBroker: import("./inter_broker.ts").InterBroker;
  readonly txnVerifier: import("./txn/verification.ts").TxnVerifier;
  readonly users: import("./sasl/credentials.ts").UserStore;
  /** The ACL bindings and the authorizer over them. */
  readonly acls: import("./acl/store.ts").AclCache;
  readonly oauthKeys: (() => Promise<JsonWebKey[]>) | null;
  /** The instruments requests count into (docs/metrics.md). */
  readonly metrics: import("./metrics/broker_metrics.ts").BrokerMetrics;
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
 * How Metadata and DescribeTopicPartitions describe a partition: its leader and epoch, with the
 * leader as the only replica (PostgreSQL, not brokers, keeps the copies); LEADER_NOT_AVAILABLE
 * with leader -1 while no live broker leads it.
 * @param ctx the broker context
 * @param topic the topic
 * @param partition the partition index
 * @returns the partition's leadership fields
 */
export function partitionMetadata(ctx: BrokerContext, topic: Topic, partition: number): {
  errorCode: number;
  leaderId: number;
  leaderEpoch: number;
  replicaNodes: number[];
  isrNodes: number[];
} {
  const { leader, epoch } = leaderOf(ctx, topic, partition);
  if (leader < 0) {
    return {
      errorCode: ErrorCode.LEADER_NOT_AVAILABLE,
      leaderId: -1,
      leaderEpoch: epoch,
      replicaNodes: [],
      isrNodes: [],
    };
  }
  return {
    errorCode: ErrorCode.NONE,
    leaderId: leader,
    leaderEpoch: epoch,
    replicaNodes: [leader],
    isrNodes: [leader],
  };
}

/**
 * The cluster's controller as clients are told: the live broker with the lowest node id (this
 * node when it knows of none yet).
 * @param ctx the broker context
 * @returns the controller's node id
 */
export function controllerOf(ctx: BrokerContext): number {
  return ctx.storage.cluster.brokers()[0]?.nodeId ?? ctx.nodeId;
}

/**
 * The brokers clients are told about: the live ones, or this node alone before it joined.
 * @param ctx the broker context
 * @returns the brokers, by node id
 */
export function liveBrokers(ctx: BrokerContext, conn?: ConnState): readonly BrokerInfo[] {
  const brokers = ctx.storage.cluster.brokers();
  const listed = brokers.length > 0
    ? brokers
    : [{ nodeId: ctx.nodeId, host: ctx.advertised.host, port: ctx.advertised.port, rack: null }];
  const out: BrokerInfo[] = [];
  for (const b of listed) {
    const at = endpointFor(ctx, b, conn);
    if (at) out.push({ ...b, host: at.host, port: at.port });
  }
  return out;
}

/**
 * Where a client connected through `conn`'s listener reaches broker `b`, as Kafka answers: this
 * broker at the address its listener advertises, another at its endpoint of the same listener
 * name (null when it has no such listener: Kafka leaves it out), or at its registered address
 * when it registered no listeners.
 */
export function endpointFor(
  ctx: BrokerContext,
  b: BrokerInfo,
  conn?: ConnState,
): { host: string; port: number } | null {
  const listener = conn?.listener;
  if (!listener) return b;
  if (b.nodeId === ctx.nodeId && listener.advertised) return listener.advertised;
  if (!b.listeners || b.listeners.length === 0) return b;
  return b.listeners.find((e) => e.name === listener.name) ?? null;
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

/**
 * Who leads a partition of a topic, and at which epoch.
 * @param ctx the broker context
 * @param topic the topic
 * @param partition the partition index
 * @returns the leader (-1 when none is live) and epoch
 */
export function leaderOf(ctx: BrokerContext, topic: Topic, partition: number): Leadership {
  const ref = { topicName: topic.name, topicId: topic.id, partition };
  const l = ctx.storage.cluster.partitionLeader(ref);
  return l.leader === ctx.nodeId ? { leader: l.leader, epoch: ctx.storage.leaderEpoch(ref) } : l;
}

/**
 * Why this node may not serve a partition's log: NOT_LEADER_OR_FOLLOWER when another broker
 * leads it (or none does yet), as Kafka answers; 0 when this node leads it.
 * @param ctx the broker context
 * @param topic the topic
 * @param partition the partition index
 * @returns an error code, 0 when this node leads
 */
export function notLeaderError(ctx: BrokerContext, topic: Topic, partition: number): number {
  const l = ctx.storage.cluster.partitionLeader({ topicName: topic.name, topicId: topic.id, partition });
  return l.leader === ctx.nodeId ? 0 : ErrorCode.NOT_LEADER_OR_FOLLOWER;
}

/**
 * The live broker coordinating a group (or, later, a transactional id), or null while its shard
 * has no live leader.
 * @param ctx the broker context
 * @param key the group id
 * @returns the coordinator's address, or null
 */
export function coordinatorOf(ctx: BrokerContext, key: string): BrokerInfo | null {
  const cluster = ctx.storage.cluster;
  const leader = cluster.shardLeader(coordinatorShard(key, cluster.shardCount)).leader;
  return cluster.brokers().find((b) => b.nodeId === leader) ?? null;
}

/**
 * NOT_COORDINATOR when another broker coordinates the group (clients then find it again),
 * COORDINATOR_LOAD_IN_PROGRESS while this node is taking its shard over, 0 when this node
 * coordinates it.
 * @param ctx the broker context
 * @param groupId the group id
 * @returns an error code, 0 when this node coordinates the group
 */
export function notCoordinatorError(ctx: BrokerContext, groupId: string): number {
  return ctx.groups.coordinatorError(groupId);
}
