/**
 * Consumer-group administration over the Kafka protocol, as Kafka's admin client does it:
 * FindCoordinator, then ListGroups, KIP-848 ConsumerGroupDescribe (or DescribeGroups),
 * OffsetFetch, OffsetCommit and DeleteGroups on the group's coordinator; ListOffsets on each
 * partition's leader. Works against any cluster.
 *
 * Kafka outcomes come back as values (`errorCode` fields); only transport failures throw.
 *
 * @module
 */

import { LIST_OFFSETS_API } from "../protocol/generated/02_list_offsets.ts";
import { OFFSET_COMMIT_API } from "../protocol/generated/08_offset_commit.ts";
import { OFFSET_FETCH_API } from "../protocol/generated/09_offset_fetch.ts";
import { FIND_COORDINATOR_API } from "../protocol/generated/10_find_coordinator.ts";
import { DESCRIBE_GROUPS_API } from "../protocol/generated/15_describe_groups.ts";
import { LIST_GROUPS_API } from "../protocol/generated/16_list_groups.ts";
import { DELETE_GROUPS_API } from "../protocol/generated/42_delete_groups.ts";
import { CONSUMER_GROUP_DESCRIBE_API } from "../protocol/generated/69_consumer_group_describe.ts";
import type { ApiDescriptor } from "../protocol/generated/api_keys.ts";
import {
  CONSUMER_PROTOCOL_ASSIGNMENT_VERSIONS,
  decodeConsumerProtocolAssignment,
} from "../protocol/generated/data_consumer_protocol_assignment.ts";
import { ErrorCode } from "../protocol/generated/errors.ts";
import { Reader } from "../protocol/reader.ts";
import type { KafkaClient } from "./client.ts";
import type { KafkaConnection } from "./connection.ts";
import { KafkaClientError } from "./errors.ts";

/** Partitions of one topic. */
export interface TopicPartitions {
  topic: string;
  partitions: number[];
}

/** One group as ListGroups reports it. */
export interface GroupListing {
  groupId: string;
  /** "classic", "consumer", … (lower case); null when the broker is older than ListGroups v5. */
  type: string | null;
  /** "Stable", "Empty", …; null when the broker is older than ListGroups v4. */
  state: string | null;
  /** "consumer" for consumer groups, "connect" for Connect workers, "" for offset-only groups. */
  protocolType: string;
}

/** A member of a described group. */
export interface GroupMemberDescription {
  memberId: string;
  instanceId: string | null;
  clientId: string;
  host: string;
  /** Decoded assignment; null when it is not a consumer-protocol blob (e.g. Connect). */
  assignment: TopicPartitions[] | null;
}

/** The broker that coordinates a group. */
export interface Coordinator {
  nodeId: number;
  host: string;
  port: number;
}

/** A group as DescribeGroups or ConsumerGroupDescribe reports it. */
export interface GroupDescription {
  groupId: string;
  /** Kafka error code for the group (GROUP_ID_NOT_FOUND, …); the other fields are empty if non-zero. */
  errorCode: number;
  errorMessage: string | null;
  /** "classic" (DescribeGroups) or "consumer" (KIP-848 ConsumerGroupDescribe). */
  type: "classic" | "consumer";
  state: string;
  protocolType: string;
  /** The chosen assignor (classic: the protocol name, empty unless Stable). */
  assignor: string;
  members: GroupMemberDescription[];
  coordinator: Coordinator;
}

/** A committed offset; `offset` -1 means none. */
export interface CommittedOffset {
  topic: string;
  partition: number;
  offset: bigint;
  metadata: string | null;
  errorCode: number;
}

/** A ListOffsets answer for one partition; `offset` is -1 when the broker found none. */
export interface PartitionOffset {
  topic: string;
  partition: number;
  offset: bigint;
  errorCode: number;
}

/** Special ListOffsets timestamps. */
export const OffsetSpec = { LATEST: -1n, EARLIEST: -2n } as const;

/** Errors after which Kafka clients look the coordinator up again and retry. */
const COORDINATOR_ERRORS: ReadonlySet<number> = new Set([
  ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
  ErrorCode.COORDINATOR_NOT_AVAILABLE,
  ErrorCode.NOT_COORDINATOR,
]);
const RETRIES = 8;

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Runs `attempt` until its error code is not a coordinator error (COORDINATOR_LOAD_IN_PROGRESS,
 * COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR) or the retries run out; the last result wins.
 */
async function retryOnCoordinatorError<T>(
  attempt: () => Promise<T>,
  codeOf: (value: T) => number,
): Promise<T> {
  let backoffMs = 50;
  for (let i = 0;; i++) {
    const value = await attempt();
    if (!COORDINATOR_ERRORS.has(codeOf(value)) || i >= RETRIES) return value;
    await delay(backoffMs);
    backoffMs = Math.min(backoffMs * 2, 1000);
  }
}

/** Key type 0 of FindCoordinator: a consumer group. */
const GROUP_KEY = 0;

/**
 * Finds the coordinator of a group (FindCoordinator, key type 0), retrying while the broker says
 * it is not available yet.
 * @throws KafkaClientError with the Kafka error code when the broker keeps refusing
 */
export async function findCoordinator(client: KafkaClient, groupId: string): Promise<Coordinator> {
  const result = await retryOnCoordinatorError(async () => {
    const { response, version } = await client.send(
      FIND_COORDINATOR_API,
      (v) => v >= 4 ? { keyType: GROUP_KEY, coordinatorKeys: [groupId] } : { key: groupId, keyType: GROUP_KEY },
    );
    if (version < 4) return response;
    const c = response.coordinators.find((x) => x.key === groupId) ?? response.coordinators[0];
    if (!c) {
      return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, errorMessage: null, nodeId: -1, host: "", port: -1 };
    }
    return c;
  }, (r) => r.errorCode);
  if (result.errorCode !== ErrorCode.NONE) {
    const detail = result.errorMessage ? ` (${result.errorMessage})` : "";
    throw new KafkaClientError(`Cannot find the coordinator of group "${groupId}"${detail}`, {
      code: result.errorCode,
    });
  }
  return { nodeId: result.nodeId, host: result.host, port: result.port };
}

/** A connection to the group's coordinator, after FindCoordinator. */
export async function coordinatorConnection(
  client: KafkaClient,
  groupId: string,
): Promise<{ conn: KafkaConnection; coordinator: Coordinator }> {
  const coordinator = await findCoordinator(client, groupId);
  return { conn: await client.node(coordinator.nodeId), coordinator };
}

/**
 * Lists the groups of every broker in the cluster (each broker answers for the groups it
 * coordinates), sorted by group id.
 * @param options.states only groups in these states (sent to brokers with ListGroups v4+, and
 *   applied here as well, case-insensitively)
 * @param options.types only groups of these types (ListGroups v5+, and applied here)
 * @returns the groups, and per broker that failed, its Kafka error code
 */
export async function listGroups(
  client: KafkaClient,
  options: { states?: readonly string[]; types?: readonly string[] } = {},
): Promise<{ groups: GroupListing[]; errors: { nodeId: number; errorCode: number }[] }> {
  const md = await client.metadata([]);
  const states = options.states ?? [];
  const types = options.types ?? [];
  const answers = await Promise.all(md.brokers.map(async (b) => {
    const conn = await client.node(b.nodeId);
    const { response, version } = await client.send(
      LIST_GROUPS_API,
      () => ({ statesFilter: [...states], typesFilter: [...types] }),
      { to: conn },
    );
    return { nodeId: b.nodeId, response, version };
  }));
  const byId = new Map<string, GroupListing>();
  const errors: { nodeId: number; errorCode: number }[] = [];
  const wantedStates = new Set(states.map((s) => s.toLowerCase()));
  const wantedTypes = new Set(types.map((s) => s.toLowerCase()));
  for (const { nodeId, response, version } of answers) {
    if (response.errorCode !== ErrorCode.NONE) errors.push({ nodeId, errorCode: response.errorCode });
    for (const g of response.groups) {
      const listing: GroupListing = {
        groupId: g.groupId,
        type: version >= 5 ? g.groupType.toLowerCase() : null,
        state: version >= 4 ? g.groupState : null,
        protocolType: g.protocolType,
      };
      if (wantedStates.size > 0 && listing.state !== null && !wantedStates.has(listing.state.toLowerCase())) continue;
      // Brokers before ListGroups v5 only have classic groups.
      if (wantedTypes.size > 0 && !wantedTypes.has(listing.type ?? "classic")) continue;
      byId.set(g.groupId, listing);
    }
  }
  const groups = [...byId.values()].sort((a, b) => (a.groupId < b.groupId ? -1 : a.groupId > b.groupId ? 1 : 0));
  return { groups, errors };
}

/**
 * Decodes a consumer-protocol assignment blob (its first int16 is the version). Newer versions
 * only append fields, so they are read as the newest version known here, as Kafka does.
 * @returns the assigned partitions ([] for an empty blob), or null when the bytes do not decode
 */
export function decodeAssignment(bytes: Uint8Array): TopicPartitions[] | null {
  if (bytes.length === 0) return [];
  try {
    const r = new Reader(bytes);
    const version = r.int16();
    if (version < 0) return null;
    const decoded = decodeConsumerProtocolAssignment(
      r,
      Math.min(version, CONSUMER_PROTOCOL_ASSIGNMENT_VERSIONS.maxVersion),
    );
    return decoded.assignedPartitions.map((tp) => ({ topic: tp.topic, partitions: [...tp.partitions] }));
  } catch {
    return null;
  }
}

function supports(conn: KafkaConnection, api: ApiDescriptor<unknown, unknown>): boolean {
  return conn.pickVersion(api) !== null;
}

/**
 * Describes one group on its coordinator, as Kafka's admin client does: when the coordinator
 * offers KIP-848 ConsumerGroupDescribe, that is asked first; GROUP_ID_NOT_FOUND there means "not
 * a consumer-type group" (classic, or unknown), and DescribeGroups answers instead.
 */
export async function describeGroup(client: KafkaClient, groupId: string): Promise<GroupDescription> {
  return await retryOnCoordinatorError(async () => {
    const { conn, coordinator } = await coordinatorConnection(client, groupId);
    if (supports(conn, CONSUMER_GROUP_DESCRIBE_API as ApiDescriptor<unknown, unknown>)) {
      const { response } = await client.send(CONSUMER_GROUP_DESCRIBE_API, () => ({
        groupIds: [groupId],
        includeAuthorizedOperations: false,
      }), { to: conn });
      const d = response.groups.find((x) => x.groupId === groupId) ?? response.groups[0];
      if (d && d.errorCode !== ErrorCode.GROUP_ID_NOT_FOUND && d.errorCode !== ErrorCode.UNSUPPORTED_VERSION) {
        return {
          groupId,
          errorCode: d.errorCode,
          errorMessage: d.errorMessage,
          type: "consumer",
          state: d.groupState,
          protocolType: "consumer",
          assignor: d.assignorName,
          coordinator,
          members: d.members.map((m) => ({
            memberId: m.memberId,
            instanceId: m.instanceId,
            clientId: m.clientId,
            host: m.clientHost,
            assignment: m.assignment.topicPartitions.map((tp) => ({
              topic: tp.topicName,
              partitions: [...tp.partitions],
            })),
          })),
        };
      }
    }
    const { response } = await client.send(DESCRIBE_GROUPS_API, () => ({
      groups: [groupId],
      includeAuthorizedOperations: false,
    }), { to: conn });
    const g = response.groups.find((x) => x.groupId === groupId) ?? response.groups[0];
    return {
      groupId,
      errorCode: g?.errorCode ?? ErrorCode.GROUP_ID_NOT_FOUND,
      errorMessage: null,
      type: "classic",
      state: g?.groupState ?? "Dead",
      protocolType: g?.protocolType ?? "",
      assignor: g?.protocolData ?? "",
      coordinator,
      members: (g?.members ?? []).map((m) => ({
        memberId: m.memberId,
        instanceId: m.groupInstanceId,
        clientId: m.clientId,
        host: m.clientHost,
        assignment: g?.protocolType === "consumer" ? decodeAssignment(m.memberAssignment) : null,
      })),
    };
  }, (d) => d.errorCode);
}

/**
 * Committed offsets of a group (OffsetFetch on its coordinator).
 * @param topics the partitions to fetch, or null for every partition the group has committed
 * @returns the group-level error code and one entry per partition (offset -1: none committed)
 */
export async function fetchCommittedOffsets(
  client: KafkaClient,
  groupId: string,
  topics: readonly TopicPartitions[] | null,
): Promise<{ errorCode: number; offsets: CommittedOffset[] }> {
  return await retryOnCoordinatorError(async () => {
    const { conn } = await coordinatorConnection(client, groupId);
    const requested = topics === null
      ? null
      : topics.map((t) => ({ name: t.topic, partitionIndexes: [...t.partitions] }));
    const { response, version } = await client.send(
      OFFSET_FETCH_API,
      (v) =>
        v >= 8
          ? { groups: [{ groupId, memberId: null, memberEpoch: -1, topics: requested }], requireStable: false }
          : { groupId, topics: requested, requireStable: false },
      { to: conn, minVersion: 2 },
    );
    const offsets: CommittedOffset[] = [];
    let errorCode: number = response.errorCode;
    const sets = version >= 8
      ? (() => {
        const g = response.groups.find((x) => x.groupId === groupId) ?? response.groups[0];
        errorCode = g?.errorCode ?? ErrorCode.NONE;
        return g?.topics ?? [];
      })()
      : response.topics;
    for (const t of sets) {
      for (const p of t.partitions) {
        offsets.push({
          topic: t.name,
          partition: p.partitionIndex,
          offset: p.committedOffset,
          metadata: p.metadata,
          errorCode: p.errorCode,
        });
      }
    }
    // Before v2 there is no group-level code: a coordinator error shows on every partition.
    if (errorCode === ErrorCode.NONE) {
      errorCode = offsets.find((o) => COORDINATOR_ERRORS.has(o.errorCode))?.errorCode ?? ErrorCode.NONE;
    }
    return { errorCode, offsets };
  }, (r) => r.errorCode);
}

/**
 * Commits offsets as a "simple" consumer (generation -1, no member id), as Kafka's
 * `kafka-consumer-groups --reset-offsets --execute` does. A group with active members refuses
 * it (UNKNOWN_MEMBER_ID or ILLEGAL_GENERATION).
 * @returns one error code per partition, in the order given
 */
export async function commitOffsets(
  client: KafkaClient,
  groupId: string,
  offsets: readonly { topic: string; partition: number; offset: bigint }[],
): Promise<{ topic: string; partition: number; errorCode: number }[]> {
  const byTopic = new Map<string, { partitionIndex: number; committedOffset: bigint }[]>();
  for (const o of offsets) {
    let list = byTopic.get(o.topic);
    if (!list) byTopic.set(o.topic, list = []);
    list.push({ partitionIndex: o.partition, committedOffset: o.offset });
  }
  const results = await retryOnCoordinatorError(async () => {
    const { conn } = await coordinatorConnection(client, groupId);
    const { response } = await client.send(OFFSET_COMMIT_API, () => ({
      groupId,
      generationIdOrMemberEpoch: -1,
      memberId: "",
      groupInstanceId: null,
      retentionTimeMs: -1n,
      topics: [...byTopic].map(([name, partitions]) => ({
        name,
        partitions: partitions.map((p) => ({ ...p, committedLeaderEpoch: -1, committedMetadata: "" })),
      })),
    }), { to: conn, minVersion: 2 });
    const codes = new Map<string, number>();
    for (const t of response.topics) {
      for (const p of t.partitions) codes.set(`${t.name}\0${p.partitionIndex}`, p.errorCode);
    }
    return offsets.map((o) => ({
      topic: o.topic,
      partition: o.partition,
      errorCode: codes.get(`${o.topic}\0${o.partition}`) ?? ErrorCode.UNKNOWN_SERVER_ERROR,
    }));
  }, (rs) => rs.find((r) => COORDINATOR_ERRORS.has(r.errorCode))?.errorCode ?? ErrorCode.NONE);
  return results;
}

/** Deletes a group on its coordinator (DeleteGroups); NON_EMPTY_GROUP while it has members. */
export async function deleteGroup(
  client: KafkaClient,
  groupId: string,
): Promise<{ errorCode: number }> {
  return await retryOnCoordinatorError(async () => {
    const { conn } = await coordinatorConnection(client, groupId);
    const { response } = await client.send(DELETE_GROUPS_API, () => ({ groupsNames: [groupId] }), { to: conn });
    const r = response.results.find((x) => x.groupId === groupId) ?? response.results[0];
    return { errorCode: r?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR };
  }, (r) => r.errorCode);
}

/**
 * ListOffsets for many partitions, each sent to its leader (from metadata).
 * @param timestamp a ListOffsets timestamp per partition: {@link OffsetSpec} or ms since the epoch
 * @returns one answer per partition, in the order given; a partition without a leader or
 *   missing from the metadata carries that Kafka error code
 */
export async function listOffsets(
  client: KafkaClient,
  partitions: readonly { topic: string; partition: number; timestamp: bigint }[],
): Promise<PartitionOffset[]> {
  if (partitions.length === 0) return [];
  const topics = [...new Set(partitions.map((p) => p.topic))];
  const md = await client.metadata(topics);
  const leaders = new Map<string, { leaderId: number; errorCode: number }>();
  const topicErrors = new Map<string, number>();
  for (const t of md.topics) {
    if (t.name === null) continue;
    if (t.errorCode !== ErrorCode.NONE) topicErrors.set(t.name, t.errorCode);
    for (const p of t.partitions) {
      leaders.set(`${t.name}\0${p.partitionIndex}`, { leaderId: p.leaderId, errorCode: p.errorCode });
    }
  }
  const results = new Map<string, PartitionOffset>();
  const byLeader = new Map<number, typeof partitions[number][]>();
  for (const p of partitions) {
    const key = `${p.topic}\0${p.partition}`;
    const found = leaders.get(key);
    const errorCode = !found
      ? (topicErrors.get(p.topic) ?? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
      : found.leaderId < 0
      ? (found.errorCode || ErrorCode.LEADER_NOT_AVAILABLE)
      : ErrorCode.NONE;
    if (!found || errorCode !== ErrorCode.NONE) {
      results.set(key, { topic: p.topic, partition: p.partition, offset: -1n, errorCode });
      continue;
    }
    const leader = found.leaderId;
    let list = byLeader.get(leader);
    if (!list) byLeader.set(leader, list = []);
    list.push(p);
  }
  await Promise.all([...byLeader].map(async ([leader, list]) => {
    const conn = await client.node(leader);
    const byTopic = new Map<string, { partitionIndex: number; timestamp: bigint }[]>();
    for (const p of list) {
      let ps = byTopic.get(p.topic);
      if (!ps) byTopic.set(p.topic, ps = []);
      ps.push({ partitionIndex: p.partition, timestamp: p.timestamp });
    }
    const { response } = await client.send(LIST_OFFSETS_API, () => ({
      replicaId: -1,
      isolationLevel: 0,
      topics: [...byTopic].map(([name, ps]) => ({
        name,
        partitions: ps.map((p) => ({ ...p, currentLeaderEpoch: -1 })),
      })),
      timeoutMs: 30000,
    }), { to: conn, minVersion: 1 });
    for (const t of response.topics) {
      for (const p of t.partitions) {
        results.set(`${t.name}\0${p.partitionIndex}`, {
          topic: t.name,
          partition: p.partitionIndex,
          offset: p.offset,
          errorCode: p.errorCode,
        });
      }
    }
  }));
  return partitions.map((p) =>
    results.get(`${p.topic}\0${p.partition}`) ??
      { topic: p.topic, partition: p.partition, offset: -1n, errorCode: ErrorCode.UNKNOWN_SERVER_ERROR }
  );
}
