/**
 * Server-side partition assignors for KIP-848 consumer groups ("uniform" and "range"), pure
 * functions of the members' subscriptions, their current target assignments and the topics'
 * partition counts. The group coordinator (`consumer_group.ts`) calls one of them whenever the
 * group epoch moves past the assignment epoch, as Kafka's TargetAssignmentBuilder does.
 *
 * - `uniform` (the default, first in SERVER_ASSIGNORS) follows Kafka 4.0's UniformAssignor:
 *   UniformHomogeneousAssignmentBuilder when every member subscribes to the same topics,
 *   UniformHeterogeneousAssignmentBuilder otherwise. Balance comes first (partition counts differ
 *   by at most one where subscriptions allow), then stickiness (members keep what they have).
 * - `range` follows Kafka 4.0's server-side RangeAssignor: contiguous ranges per topic, members
 *   ordered by instance id (static members first) then member id, so topics with equal partition
 *   counts are co-partitioned and the assignment only changes when membership, subscriptions or
 *   partition counts do. Like Kafka's, it does not read current assignments.
 *
 * Rack ids are accepted but unused: Kafka 4.0's server-side assignors are not rack-aware.
 *
 * @module
 */

/** One member as the assignor sees it. */
export interface AssignorMember {
  memberId: string;
  instanceId: string | null;
  rackId: string | null;
  /** Topic ids the member subscribes to (topics missing from the metadata are ignored). */
  subscribedTopicIds: readonly string[];
  /** The member's current target assignment, topic id to partitions. */
  currentAssignment: ReadonlyMap<string, readonly number[]>;
}

/** One subscribed topic's metadata. */
export interface AssignorTopic {
  topicId: string;
  name: string;
  partitions: number;
}

/** Member id to topic id to partitions (ascending). Every member given to `assign` has an entry. */
export type GroupAssignment = Map<string, Map<string, number[]>>;

/** A server-side assignor, named as ConsumerGroupHeartbeat's ServerAssignor field names it. */
export interface ServerAssignor {
  readonly name: string;
  assign(members: readonly AssignorMember[], topics: ReadonlyMap<string, AssignorTopic>): GroupAssignment;
}

/** Kafka's UniformHeterogeneousAssignmentBuilder.MAX_ITERATION_COUNT. */
const MAX_BALANCE_ITERATIONS = 16;

/** The member's subscribed topic ids that exist in `topics`, unique and sorted. */
function existingSubscriptions(member: AssignorMember, topics: ReadonlyMap<string, AssignorTopic>): string[] {
  const ids = new Set<string>();
  for (const id of member.subscribedTopicIds) if (topics.has(id)) ids.add(id);
  return [...ids].sort();
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function sameIds(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Sorted copy of a partition list (current assignments arrive in any order). */
function sortedPartitions(partitions: readonly number[] | undefined): number[] {
  return partitions === undefined ? [] : [...partitions].sort((a, b) => a - b);
}

/** Converts per-member topic → set maps into the result shape, partitions ascending. */
function toGroupAssignment(memberIds: readonly string[], sets: readonly Map<string, Set<number>>[]): GroupAssignment {
  const out: GroupAssignment = new Map();
  memberIds.forEach((memberId, i) => {
    const byTopic = new Map<string, number[]>();
    for (const [topicId, partitions] of sets[i]!) {
      if (partitions.size > 0) byTopic.set(topicId, [...partitions].sort((a, b) => a - b));
    }
    out.set(memberId, byTopic);
  });
  return out;
}

function addTo(assignment: Map<string, Set<number>>, topicId: string, partition: number): void {
  let set = assignment.get(topicId);
  if (set === undefined) {
    set = new Set();
    assignment.set(topicId, set);
  }
  set.add(partition);
}

// ---------------------------------------------------------------------------------------------
// uniform

/**
 * Kafka's UniformHomogeneousAssignmentBuilder, with the extra-partition fix of later releases
 * (a member only claims one of the `total % members` extra slots if it actually keeps more than
 * the minimum quota), which avoids moving partitions off members that were already balanced.
 */
function assignUniformHomogeneous(
  members: readonly AssignorMember[],
  topicIds: readonly string[],
  topics: ReadonlyMap<string, AssignorTopic>,
): GroupAssignment {
  const memberIds = members.map((m) => m.memberId);
  const result = members.map(() => new Map<string, Set<number>>());
  if (topicIds.length === 0) return toGroupAssignment(memberIds, result);

  const owners = new Map<string, Int32Array>();
  let total = 0;
  for (const topicId of topicIds) {
    const n = topics.get(topicId)!.partitions;
    owners.set(topicId, new Int32Array(n).fill(-1));
    total += n;
  }
  const minQuota = Math.floor(total / members.length);
  let extra = total % members.length;

  // Keep current partitions up to each member's quota; the rest go back to the pool.
  const unfilled: { index: number; quota: number }[] = [];
  members.forEach((member, index) => {
    let quota = minQuota;
    let hasExtra = false;
    if (extra > 0) {
      quota++;
      hasExtra = true;
    }
    for (const topicId of topicIds) {
      const own = owners.get(topicId)!;
      for (const p of sortedPartitions(member.currentAssignment.get(topicId))) {
        // A partition listed twice (by two members) is kept by the first only.
        if (p < 0 || p >= own.length || own[p] !== -1) continue;
        if (quota === 0) continue;
        quota--;
        own[p] = index;
        addTo(result[index]!, topicId, p);
      }
    }
    if (quota > 0 && hasExtra) {
      // Below the minimum plus one: give the extra slot up for a member that needs it.
      quota--;
      hasExtra = false;
    }
    if (quota === 0 && hasExtra) extra--;
    if (quota > 0 || (extra > 0 && !hasExtra)) unfilled.push({ index, quota });
  });

  // The last unfilled members take the remaining extra slots, as in Kafka.
  for (let k = unfilled.length - 1; k >= 0 && extra > 0; k--) {
    unfilled[k]!.quota++;
    extra--;
  }

  const pool: [string, number][] = [];
  for (const topicId of topicIds) {
    const own = owners.get(topicId)!;
    for (let p = 0; p < own.length; p++) if (own[p] === -1) pool.push([topicId, p]);
  }
  let next = 0;
  for (const { index, quota } of unfilled) {
    for (let i = 0; i < quota && next < pool.length; i++, next++) {
      const [topicId, p] = pool[next]!;
      addTo(result[index]!, topicId, p);
    }
  }
  if (next < pool.length) {
    throw new Error(`Uniform assignor left ${pool.length - next} partitions unassigned (bug)`);
  }
  return toGroupAssignment(memberIds, result);
}

/** A binary min-heap of member indices ordered by (size, index). */
class MemberHeap {
  readonly #items: number[] = [];
  readonly #sizes: Int32Array;

  constructor(sizes: Int32Array, members: readonly number[]) {
    this.#sizes = sizes;
    for (const m of members) this.push(m);
  }

  #less(a: number, b: number): boolean {
    const sa = this.#sizes[a]!;
    const sb = this.#sizes[b]!;
    return sa < sb || (sa === sb && a < b);
  }

  push(m: number): void {
    const items = this.#items;
    items.push(m);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#less(items[i]!, items[parent]!)) break;
      [items[i], items[parent]] = [items[parent]!, items[i]!];
      i = parent;
    }
  }

  pop(): number {
    const items = this.#items;
    const top = items[0]!;
    const last = items.pop()!;
    if (items.length > 0) {
      items[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let smallest = i;
        if (l < items.length && this.#less(items[l]!, items[smallest]!)) smallest = l;
        if (r < items.length && this.#less(items[r]!, items[smallest]!)) smallest = r;
        if (smallest === i) break;
        [items[i], items[smallest]] = [items[smallest]!, items[i]!];
        i = smallest;
      }
    }
    return top;
  }
}

/**
 * Kafka 4.0's UniformHeterogeneousAssignmentBuilder: keep every current partition of a still
 * subscribed topic, give unassigned partitions (topics with the most partitions per subscriber
 * first) to the least loaded subscriber, then move partitions from the most to the least loaded
 * subscriber of each topic until no topic can improve, for at most 16 rounds.
 */
function assignUniformHeterogeneous(
  members: readonly AssignorMember[],
  subscriptions: readonly string[][],
  topics: ReadonlyMap<string, AssignorTopic>,
): GroupAssignment {
  const memberIds = members.map((m) => m.memberId);
  const result = members.map(() => new Map<string, Set<number>>());
  const sizes = new Int32Array(members.length);

  const subscribers = new Map<string, number[]>();
  subscriptions.forEach((ids, index) => {
    for (const topicId of ids) {
      let list = subscribers.get(topicId);
      if (list === undefined) {
        list = [];
        subscribers.set(topicId, list);
      }
      list.push(index);
    }
  });
  if (subscribers.size === 0) return toGroupAssignment(memberIds, result);

  const owners = new Map<string, Int32Array>();
  for (const topicId of subscribers.keys()) {
    owners.set(topicId, new Int32Array(topics.get(topicId)!.partitions).fill(-1));
  }
  const assign = (topicId: string, p: number, index: number): void => {
    const own = owners.get(topicId)!;
    const previous = own[p]!;
    if (previous !== -1) {
      const set = result[previous]!.get(topicId)!;
      set.delete(p);
      if (set.size === 0) result[previous]!.delete(topicId);
      sizes[previous]!--;
    }
    own[p] = index;
    addTo(result[index]!, topicId, p);
    sizes[index]!++;
  };

  // Keep current partitions of topics the member still subscribes to.
  members.forEach((member, index) => {
    const subscribed = new Set(subscriptions[index]);
    const topicIds = [...member.currentAssignment.keys()].filter((id) => subscribed.has(id)).sort();
    for (const topicId of topicIds) {
      const own = owners.get(topicId)!;
      for (const p of sortedPartitions(member.currentAssignment.get(topicId))) {
        if (p >= 0 && p < own.length && own[p] === -1) assign(topicId, p, index);
      }
    }
  });

  // Partitions per subscriber descending, then subscriber count ascending, then topic id.
  const byPressure = (a: string, b: string): number => {
    const sa = subscribers.get(a)!.length;
    const sb = subscribers.get(b)!.length;
    const ra = topics.get(a)!.partitions / sa;
    const rb = topics.get(b)!.partitions / sb;
    return rb - ra || sa - sb || compareStrings(a, b);
  };
  const sortedTopics = [...subscribers.keys()].sort(byPressure);

  for (const topicId of sortedTopics) {
    const own = owners.get(topicId)!;
    let heap: MemberHeap | null = null;
    for (let p = 0; p < own.length; p++) {
      if (own[p] !== -1) continue;
      heap ??= new MemberHeap(sizes, subscribers.get(topicId)!);
      const index = heap.pop();
      assign(topicId, p, index);
      heap.push(index);
    }
  }

  // Moves one partition at a time from the most loaded subscriber still holding some of the
  // topic (ties: highest index, as Kafka picks from the end) to the least loaded one (ties:
  // lowest index). Partitions moved in this pass are not moved again in it, as in Kafka.
  const balanceTopic = (topicId: string): number => {
    const subs = subscribers.get(topicId)!;
    const movable = new Map<number, number[]>();
    for (const index of subs) {
      const set = result[index]!.get(topicId);
      if (set !== undefined) movable.set(index, [...set].sort((a, b) => a - b));
    }
    let moved = 0;
    for (;;) {
      let most = -1;
      let least = -1;
      for (const index of subs) {
        if (least === -1 || sizes[index]! < sizes[least]!) least = index;
        const stack = movable.get(index);
        if (stack !== undefined && stack.length > 0 && (most === -1 || sizes[index]! >= sizes[most]!)) {
          most = index;
        }
      }
      if (most === -1 || sizes[most]! - sizes[least]! <= 1) return moved;
      assign(topicId, movable.get(most)!.pop()!, least);
      moved++;
    }
  };

  const balanceable = sortedTopics.filter((id) => subscribers.get(id)!.length >= 2);
  let lastRebalanced = -1;
  for (let round = 0; round < MAX_BALANCE_ITERATIONS; round++) {
    for (let t = 0; t < balanceable.length; t++) {
      // A full loop since the last topic that moved anything: nothing more to gain.
      if (t === lastRebalanced) return toGroupAssignment(memberIds, result);
      if (balanceTopic(balanceable[t]!) > 0 || lastRebalanced === -1) lastRebalanced = t;
    }
  }
  return toGroupAssignment(memberIds, result);
}

/** Kafka's UniformAssignor ("uniform", the default server assignor). */
export const uniformAssignor: ServerAssignor = {
  name: "uniform",
  assign(members, topics) {
    // Kafka iterates members in hash order; sorting by id makes kbin's result deterministic.
    const sorted = [...members].sort((a, b) => compareStrings(a.memberId, b.memberId));
    if (sorted.length === 0) return new Map();
    const subscriptions = sorted.map((m) => existingSubscriptions(m, topics));
    const homogeneous = subscriptions.every((ids) => sameIds(ids, subscriptions[0]!));
    return homogeneous
      ? assignUniformHomogeneous(sorted, subscriptions[0]!, topics)
      : assignUniformHeterogeneous(sorted, subscriptions, topics);
  },
};

// ---------------------------------------------------------------------------------------------
// range

/** Static members first by instance id, then dynamic members by member id (Kafka's sortMemberIds). */
function compareForRange(a: AssignorMember, b: AssignorMember): number {
  if (a.instanceId !== null && b.instanceId !== null) return compareStrings(a.instanceId, b.instanceId);
  if (a.instanceId !== null) return -1;
  if (b.instanceId !== null) return 1;
  return compareStrings(a.memberId, b.memberId);
}

/** Kafka 4.0's server-side RangeAssignor ("range"). */
export const rangeAssignor: ServerAssignor = {
  name: "range",
  assign(members, topics) {
    const sorted = [...members].sort(compareForRange);
    const subscriptions = sorted.map((m) => existingSubscriptions(m, topics));

    // Per topic: subscriber count, then the quota and the next range start as members take turns.
    const state = new Map<
      string,
      { partitions: number; members: number; minQuota: number; extra: number; next: number }
    >();
    for (const ids of subscriptions) {
      for (const topicId of ids) {
        const s = state.get(topicId);
        if (s === undefined) {
          state.set(topicId, {
            partitions: topics.get(topicId)!.partitions,
            members: 1,
            minQuota: 0,
            extra: 0,
            next: 0,
          });
        } else {
          s.members++;
        }
      }
    }
    for (const s of state.values()) {
      s.minQuota = Math.floor(s.partitions / s.members);
      s.extra = s.partitions % s.members;
    }

    const out: GroupAssignment = new Map();
    sorted.forEach((member, i) => {
      const byTopic = new Map<string, number[]>();
      for (const topicId of subscriptions[i]!) {
        const s = state.get(topicId)!;
        let quota = s.minQuota;
        if (s.extra > 0) {
          quota++;
          s.extra--;
        }
        const end = Math.min(s.next + quota, s.partitions);
        if (s.next < end) {
          const range: number[] = [];
          for (let p = s.next; p < end; p++) range.push(p);
          byTopic.set(topicId, range);
        }
        s.next = end;
      }
      out.set(member.memberId, byTopic);
    });
    return out;
  },
};

/** The server assignors kbin offers, by name; the first ("uniform") is the default, as in Kafka. */
export const SERVER_ASSIGNORS: ReadonlyMap<string, ServerAssignor> = new Map([
  [uniformAssignor.name, uniformAssignor],
  [rangeAssignor.name, rangeAssignor],
]);
