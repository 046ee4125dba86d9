/**
 * Client-side partition assignors of the classic consumer-group protocol, as Kafka's Java client
 * implements them, and the consumer-protocol blobs they exchange through the coordinator.
 *
 * The group leader runs the assignor the group chose (the first protocol in the members'
 * preference order that every member offers) over every member's subscription:
 *
 * - `range` (RangeAssignor): per topic, the subscribed members in order (static members first,
 *   by instance id, then the others by member id) each take a contiguous range; the first
 *   `partitions % members` take one extra.
 * - `roundrobin` (RoundRobinAssignor): every partition of every subscribed topic, sorted by topic
 *   then partition, dealt in turn to the members in the same order, skipping members that do not
 *   subscribe to its topic.
 * - `cooperative-sticky` (CooperativeStickyAssignor, KIP-429): balanced first (counts differ by
 *   at most one where subscriptions allow), then sticky (members keep what they own). When every
 *   member subscribes to the same topics this is the Java client's constrained algorithm (its
 *   member order made deterministic: by member id); otherwise a greedy balance that keeps owned
 *   partitions and moves the fewest. Then the cooperative rule: a partition that changes owner is
 *   left out of its new owner's assignment in this rebalance, so the old owner revokes it first,
 *   rejoins, and the next rebalance hands it over.
 *
 * Claims on owned partitions are judged by generation, as in Java's AbstractStickyAssignor: the
 * newest generation wins, and a partition claimed by two members of the same generation is
 * kept by neither.
 *
 * Blobs: ConsumerProtocolSubscription / ConsumerProtocolAssignment, each an int16 version then
 * the generated struct. Newer versions only append fields, so a newer blob is read as the newest
 * version known here, as Kafka does.
 *
 * @module
 */

import {
  CONSUMER_PROTOCOL_ASSIGNMENT_VERSIONS,
  decodeConsumerProtocolAssignment,
  encodeConsumerProtocolAssignment,
} from "../protocol/generated/data_consumer_protocol_assignment.ts";
import {
  CONSUMER_PROTOCOL_SUBSCRIPTION_VERSIONS,
  decodeConsumerProtocolSubscription,
  encodeConsumerProtocolSubscription,
} from "../protocol/generated/data_consumer_protocol_subscription.ts";
import { DecodeError, Reader } from "../protocol/reader.ts";
import { Writer } from "../protocol/writer.ts";

/** One partition of one topic. */
export interface TopicPartition {
  topic: string;
  partition: number;
}

/**
 * How members give partitions up in a rebalance: "eager" revokes everything before rejoining,
 * "cooperative" (KIP-429) revokes only what moves, in a second rebalance.
 */
export type RebalanceProtocol = "eager" | "cooperative";

/** What a member sends in JoinGroup for each protocol (ConsumerProtocolSubscription). */
export interface Subscription {
  topics: string[];
  /** Assignor-specific bytes (cooperative-sticky: the generation as an int32). */
  userData: Uint8Array | null;
  /** Partitions the member owns now (v1+; empty for eager members, which revoke first). */
  ownedPartitions: TopicPartition[];
  /** The generation those partitions belong to (v2+), -1 when unknown. */
  generationId: number;
  /** v3+, null when not set. */
  rackId: string | null;
}

/** One member of the group, as the JoinGroup response gives it to the leader. */
export interface GroupSubscriber {
  memberId: string;
  groupInstanceId: string | null;
  subscription: Subscription;
}

/** A client-side assignor. */
export interface Assignor {
  /** The protocol name in JoinGroup ("range", "roundrobin", "cooperative-sticky"). */
  readonly name: string;
  /** Rebalance protocols this assignor can run under. */
  readonly supportedProtocols: readonly RebalanceProtocol[];
  /** The subscription's userData for this assignor, from the member's current generation. */
  userData(state: { generationId: number }): Uint8Array | null;
  /**
   * Assigns partitions.
   * @param partitionsPerTopic partition count of each subscribed topic that exists (others are
   *   left unassigned)
   * @param members every member with its subscription
   * @returns member id to its partitions, sorted by topic then partition; every member has an entry
   */
  assign(
    partitionsPerTopic: ReadonlyMap<string, number>,
    members: readonly GroupSubscriber[],
  ): Map<string, TopicPartition[]>;
}

/** The ConsumerProtocol version kbin writes (Kafka 3.5+ writes 3 as well). */
export const CONSUMER_PROTOCOL_VERSION = 3;

/** Orders partitions by topic, then partition. */
export function comparePartitions(a: TopicPartition, b: TopicPartition): number {
  return a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition;
}

function key(tp: TopicPartition): string {
  return `${tp.topic}\0${tp.partition}`;
}

/** Groups partitions by topic, in topic order, partitions ascending. */
function byTopic(partitions: readonly TopicPartition[]): { topic: string; partitions: number[] }[] {
  const map = new Map<string, number[]>();
  for (const tp of [...partitions].sort(comparePartitions)) {
    let list = map.get(tp.topic);
    if (!list) map.set(tp.topic, list = []);
    list.push(tp.partition);
  }
  return [...map].map(([topic, ps]) => ({ topic, partitions: ps }));
}

function flatten(list: readonly { topic: string; partitions: readonly number[] }[]): TopicPartition[] {
  return list.flatMap((t) => t.partitions.map((partition) => ({ topic: t.topic, partition })));
}

/**
 * Encodes a subscription blob.
 * @param options.version ConsumerProtocolSubscription version (default {@link CONSUMER_PROTOCOL_VERSION})
 */
export function encodeSubscription(subscription: Subscription, options: { version?: number } = {}): Uint8Array {
  const version = options.version ?? CONSUMER_PROTOCOL_VERSION;
  const w = new Writer();
  w.int16(version);
  encodeConsumerProtocolSubscription(w, version, {
    topics: subscription.topics,
    userData: subscription.userData,
    ownedPartitions: byTopic(subscription.ownedPartitions),
    generationId: subscription.generationId,
    rackId: subscription.rackId,
  });
  return w.toBytes();
}

/**
 * Decodes a subscription blob; fields newer than its version get their defaults.
 * @throws DecodeError for bytes that are not a subscription
 */
export function decodeSubscription(bytes: Uint8Array): Subscription {
  const r = new Reader(bytes);
  const version = r.int16();
  if (version < 0) throw new DecodeError(`Cannot read ConsumerProtocolSubscription: version ${version}`);
  const s = decodeConsumerProtocolSubscription(
    r,
    Math.min(version, CONSUMER_PROTOCOL_SUBSCRIPTION_VERSIONS.maxVersion),
  );
  return {
    topics: s.topics,
    userData: s.userData,
    ownedPartitions: flatten(s.ownedPartitions),
    generationId: s.generationId,
    rackId: s.rackId,
  };
}

/**
 * Encodes an assignment blob.
 * @param options.userData assignor bytes (none of the assignors here uses them)
 */
export function encodeAssignment(
  partitions: readonly TopicPartition[],
  options: { version?: number; userData?: Uint8Array | null } = {},
): Uint8Array {
  const version = options.version ?? CONSUMER_PROTOCOL_VERSION;
  const w = new Writer();
  w.int16(version);
  encodeConsumerProtocolAssignment(w, version, {
    assignedPartitions: byTopic(partitions),
    userData: options.userData ?? null,
  });
  return w.toBytes();
}

/**
 * Decodes an assignment blob; an empty blob is an empty assignment (Kafka's leader sends one to
 * members it gave nothing, and brokers send one after a failed sync).
 * @returns the partitions, sorted
 * @throws DecodeError for bytes that are not an assignment
 */
export function decodeAssignmentPartitions(bytes: Uint8Array): TopicPartition[] {
  if (bytes.length === 0) return [];
  const r = new Reader(bytes);
  const version = r.int16();
  if (version < 0) throw new DecodeError(`Cannot read ConsumerProtocolAssignment: version ${version}`);
  const a = decodeConsumerProtocolAssignment(r, Math.min(version, CONSUMER_PROTOCOL_ASSIGNMENT_VERSIONS.maxVersion));
  return flatten(a.assignedPartitions).sort(comparePartitions);
}

/**
 * Java's MemberInfo order: static members first, by instance id, then dynamic members by member id.
 */
function compareMembers(a: GroupSubscriber, b: GroupSubscriber): number {
  if (a.groupInstanceId !== null && b.groupInstanceId !== null) {
    return a.groupInstanceId < b.groupInstanceId ? -1 : a.groupInstanceId > b.groupInstanceId ? 1 : 0;
  }
  if (a.groupInstanceId !== null) return -1;
  if (b.groupInstanceId !== null) return 1;
  return a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0;
}

function emptyAssignment(members: readonly GroupSubscriber[]): Map<string, TopicPartition[]> {
  return new Map(members.map((m) => [m.memberId, []]));
}

function sorted(assignment: Map<string, TopicPartition[]>): Map<string, TopicPartition[]> {
  for (const list of assignment.values()) list.sort(comparePartitions);
  return assignment;
}

/** Kafka's RangeAssignor. */
export const rangeAssignor: Assignor = {
  name: "range",
  supportedProtocols: ["eager"],
  userData: () => null,
  assign(partitionsPerTopic, members) {
    const assignment = emptyAssignment(members);
    const ordered = [...members].sort(compareMembers);
    const topics = [...new Set(members.flatMap((m) => m.subscription.topics))].sort();
    for (const topic of topics) {
      const count = partitionsPerTopic.get(topic);
      if (count === undefined) continue;
      const consumers = ordered.filter((m) => m.subscription.topics.includes(topic));
      const each = Math.floor(count / consumers.length);
      const extra = count % consumers.length;
      consumers.forEach((m, i) => {
        const start = each * i + Math.min(i, extra);
        const length = each + (i < extra ? 1 : 0);
        for (let p = start; p < start + length; p++) assignment.get(m.memberId)!.push({ topic, partition: p });
      });
    }
    return sorted(assignment);
  },
};

/** Kafka's RoundRobinAssignor. */
export const roundRobinAssignor: Assignor = {
  name: "roundrobin",
  supportedProtocols: ["eager"],
  userData: () => null,
  assign(partitionsPerTopic, members) {
    const assignment = emptyAssignment(members);
    const ordered = [...members].sort(compareMembers);
    const topics = [...new Set(members.flatMap((m) => m.subscription.topics))].sort();
    let next = 0;
    for (const topic of topics) {
      const count = partitionsPerTopic.get(topic);
      if (count === undefined) continue;
      for (let p = 0; p < count; p++) {
        // Some member subscribes to this topic, so the search ends within one turn.
        while (!ordered[next % ordered.length]!.subscription.topics.includes(topic)) next++;
        assignment.get(ordered[next % ordered.length]!.memberId)!.push({ topic, partition: p });
        next++;
      }
    }
    return sorted(assignment);
  },
};

/**
 * The generation a member's owned partitions belong to: the subscription's field (v2+), else
 * the assignor's userData: an int32 (Java's CooperativeStickyAssignor) or a StickyAssignor
 * userData v1 (partitions, then the generation; librdkafka's). -1 when unknown.
 */
export function subscriptionGeneration(subscription: Subscription): number {
  if (subscription.generationId >= 0) return subscription.generationId;
  const data = subscription.userData;
  if (data === null) return -1;
  try {
    const r = new Reader(data);
    if (data.length === 4) return r.int32();
    const topics = r.arrayLength();
    for (let i = 0; i < topics; i++) {
      r.string();
      const n = r.arrayLength();
      r.skip(4 * Math.max(0, n));
    }
    const generation = r.int32();
    return r.remaining === 0 ? generation : -1;
  } catch {
    return -1;
  }
}

/**
 * Each member's valid claims: partitions of existing topics it subscribes to, claims by an older
 * generation dropped, and partitions claimed twice in the same generation kept by nobody.
 */
function resolveClaims(
  partitionsPerTopic: ReadonlyMap<string, number>,
  members: readonly GroupSubscriber[],
): Map<string, TopicPartition[]> {
  const owner = new Map<string, { memberId: string; generation: number; tp: TopicPartition }>();
  const contested = new Set<string>();
  for (const m of members) {
    const generation = subscriptionGeneration(m.subscription);
    const topics = new Set(m.subscription.topics);
    for (const tp of m.subscription.ownedPartitions) {
      const count = partitionsPerTopic.get(tp.topic);
      if (count === undefined || tp.partition < 0 || tp.partition >= count || !topics.has(tp.topic)) continue;
      const k = key(tp);
      const other = owner.get(k);
      if (other === undefined || generation > other.generation) {
        owner.set(k, { memberId: m.memberId, generation, tp });
        contested.delete(k);
      } else if (generation === other.generation && other.memberId !== m.memberId) {
        contested.add(k);
      }
    }
  }
  const claims = new Map<string, TopicPartition[]>(members.map((m) => [m.memberId, []]));
  for (const [k, o] of owner) if (!contested.has(k)) claims.get(o.memberId)!.push(o.tp);
  return claims;
}

function allPartitions(partitionsPerTopic: ReadonlyMap<string, number>, topics: Iterable<string>): TopicPartition[] {
  const out: TopicPartition[] = [];
  for (const topic of [...new Set(topics)].sort()) {
    const count = partitionsPerTopic.get(topic) ?? 0;
    for (let p = 0; p < count; p++) out.push({ topic, partition: p });
  }
  return out;
}

/**
 * Java's ConstrainedAssignmentBuilder (every member subscribes to the same topics): members keep
 * up to their quota of owned partitions, then the rest are dealt round-robin to the members
 * below quota, then one each to members at the minimum until the extra partitions run out.
 */
function constrainedAssign(
  partitionsPerTopic: ReadonlyMap<string, number>,
  topics: readonly string[],
  claims: Map<string, TopicPartition[]>,
): Map<string, TopicPartition[]> {
  const memberIds = [...claims.keys()].sort();
  const all = allPartitions(partitionsPerTopic, topics);
  const minQuota = Math.floor(all.length / memberIds.length);
  const maxQuota = Math.ceil(all.length / memberIds.length);
  const expectedOverMin = all.length % memberIds.length;
  let overMin = 0;
  const assignment = new Map<string, TopicPartition[]>(memberIds.map((id) => [id, []]));
  const taken = new Set<string>();
  const underMin: string[] = [];
  let atMin: string[] = [];

  for (const id of memberIds) {
    // Java keeps the owned partitions with the lowest partition numbers first.
    const owned = [...claims.get(id)!].sort((a, b) =>
      a.partition - b.partition || (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : 0)
    );
    const mine = assignment.get(id)!;
    let keep: TopicPartition[];
    if (owned.length < minQuota) {
      keep = owned;
      underMin.push(id);
    } else if (owned.length >= maxQuota && overMin < expectedOverMin) {
      overMin++;
      if (overMin === expectedOverMin) atMin = [];
      keep = owned.slice(0, maxQuota);
    } else {
      keep = owned.slice(0, minQuota);
      if (overMin < expectedOverMin) atMin.push(id);
    }
    for (const tp of keep) {
      mine.push(tp);
      taken.add(key(tp));
    }
  }

  const unassigned = all.filter((tp) => !taken.has(key(tp)));
  let next = 0;
  for (const tp of unassigned) {
    let id: string;
    let fromUnder = true;
    if (next < underMin.length) id = underMin[next++]!;
    else if (underMin.length === 0 && atMin.length === 0) {
      throw new Error("Cannot assign partitions: every member is full (an assignor bug)");
    } else if (underMin.length === 0) {
      id = atMin.shift()!;
      fromUnder = false;
    } else {
      next = 0;
      id = underMin[next++]!;
    }
    const mine = assignment.get(id)!;
    mine.push(tp);
    if (mine.length === minQuota && fromUnder) {
      underMin.splice(--next, 1);
      atMin.push(id);
    } else if (mine.length === maxQuota) {
      overMin++;
    }
  }
  return assignment;
}

/**
 * The general case (members subscribe to different topics): members keep their valid claims;
 * each unassigned partition, least-subscribed topics first, goes to the eligible member with the
 * fewest partitions; then partitions move from a member to an eligible one holding at least two
 * fewer until none can, preferring to move partitions the member did not own before.
 */
function generalAssign(
  partitionsPerTopic: ReadonlyMap<string, number>,
  members: readonly GroupSubscriber[],
  claims: Map<string, TopicPartition[]>,
): Map<string, TopicPartition[]> {
  const ids = members.map((m) => m.memberId).sort();
  const subscribed = new Map(members.map((m) => [m.memberId, new Set(m.subscription.topics)]));
  const consumersOf = new Map<string, string[]>();
  for (const id of ids) {
    for (const t of subscribed.get(id)!) {
      if (!partitionsPerTopic.has(t)) continue;
      let list = consumersOf.get(t);
      if (!list) consumersOf.set(t, list = []);
      list.push(id);
    }
  }
  const assignment = new Map<string, TopicPartition[]>(ids.map((id) => [id, [...claims.get(id)!]]));
  const ownedBefore = new Map(ids.map((id) => [id, new Set(claims.get(id)!.map(key))]));
  const taken = new Set([...claims.values()].flat().map(key));
  const unassigned = allPartitions(partitionsPerTopic, consumersOf.keys())
    .filter((tp) => !taken.has(key(tp)))
    .sort((a, b) => consumersOf.get(a.topic)!.length - consumersOf.get(b.topic)!.length || comparePartitions(a, b));
  const load = (id: string) => assignment.get(id)!.length;
  const leastLoaded = (candidates: readonly string[]) =>
    candidates.reduce((best, id) => (load(id) < load(best) || (load(id) === load(best) && id < best) ? id : best));
  for (const tp of unassigned) assignment.get(leastLoaded(consumersOf.get(tp.topic)!))!.push(tp);

  // Every move lowers the sum of squared loads, so this ends.
  for (let moved = true; moved;) {
    moved = false;
    const byLoad = [...ids].sort((a, b) => load(b) - load(a) || (a < b ? -1 : 1));
    outer: for (const from of byLoad) {
      const list = assignment.get(from)!;
      // Partitions new to this member move first, then its older ones, lowest first.
      const candidates = [...list].sort((a, b) =>
        Number(ownedBefore.get(from)!.has(key(a))) - Number(ownedBefore.get(from)!.has(key(b))) ||
        comparePartitions(a, b)
      );
      for (const tp of candidates) {
        const to = leastLoaded(consumersOf.get(tp.topic)!);
        if (load(to) + 1 < load(from)) {
          list.splice(list.findIndex((x) => key(x) === key(tp)), 1);
          assignment.get(to)!.push(tp);
          moved = true;
          break outer;
        }
      }
    }
  }
  return assignment;
}

/** Kafka's CooperativeStickyAssignor (KIP-429). */
export const cooperativeStickyAssignor: Assignor = {
  name: "cooperative-sticky",
  supportedProtocols: ["eager", "cooperative"],
  userData({ generationId }) {
    const w = new Writer();
    w.int32(generationId);
    return w.toBytes();
  },
  assign(partitionsPerTopic, members) {
    if (members.length === 0) return new Map();
    const claims = resolveClaims(partitionsPerTopic, members);
    const first = new Set(members[0]!.subscription.topics);
    const homogeneous = members.every((m) =>
      new Set(m.subscription.topics).size === first.size && m.subscription.topics.every((t) => first.has(t))
    );
    const topics = [...first].filter((t) => partitionsPerTopic.has(t));
    const assignment = homogeneous
      ? constrainedAssign(partitionsPerTopic, topics, claims)
      : generalAssign(partitionsPerTopic, members, claims);
    // KIP-429: a partition another member still claims is held back until that member revokes it.
    const claimedBy = new Map<string, Set<string>>();
    for (const m of members) {
      for (const tp of m.subscription.ownedPartitions) {
        let set = claimedBy.get(key(tp));
        if (!set) claimedBy.set(key(tp), set = new Set());
        set.add(m.memberId);
      }
    }
    for (const [id, list] of assignment) {
      assignment.set(
        id,
        list.filter((tp) => {
          const owners = claimedBy.get(key(tp));
          return owners === undefined || owners.has(id) || owners.size === 0;
        }),
      );
    }
    for (const m of members) if (!assignment.has(m.memberId)) assignment.set(m.memberId, []);
    return sorted(assignment);
  },
};

/** The assignors kbin offers, by protocol name. */
export const ASSIGNORS: ReadonlyMap<string, Assignor> = new Map(
  [rangeAssignor, roundRobinAssignor, cooperativeStickyAssignor].map((a) => [a.name, a]),
);

/** The Java client's default since 3.0 (`partition.assignment.strategy`): range, then cooperative-sticky. */
export const DEFAULT_ASSIGNORS: readonly string[] = ["range", "cooperative-sticky"];

/**
 * The rebalance protocol of a member offering these assignors: cooperative only if every one
 * supports it, as Kafka's ConsumerCoordinator decides (so "range,cooperative-sticky" is eager).
 */
export function rebalanceProtocol(assignors: readonly Assignor[]): RebalanceProtocol {
  return assignors.every((a) => a.supportedProtocols.includes("cooperative")) ? "cooperative" : "eager";
}
