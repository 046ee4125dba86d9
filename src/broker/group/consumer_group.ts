/**
 * One KIP-848 consumer group: its members, epochs, target assignment and the
 * ConsumerGroupHeartbeat algorithm, as Kafka 4.0's group coordinator runs it
 * (GroupMetadataManager.consumerGroupHeartbeat, ConsumerGroup, ConsumerGroupMember,
 * TargetAssignmentBuilder, CurrentAssignmentBuilder).
 *
 * A heartbeat does three things, in Kafka's order:
 * 1. It creates or updates the member. A new group, a changed subscription (names or regex), a
 *    regex that now matches other topics, or changed metadata of a subscribed topic (created,
 *    deleted, more partitions) bumps the group epoch.
 * 2. When the group epoch is past the assignment epoch, the preferred server assignor computes a
 *    new target assignment for every member, and the assignment epoch catches up.
 * 3. The member is reconciled towards its target (CurrentAssignmentBuilder): it keeps what it
 *    may keep, must first revoke what it may not (UNREVOKED_PARTITIONS, at its old epoch), and
 *    only gets partitions that no other member still owns (UNRELEASED_PARTITIONS otherwise).
 *
 * Kafka writes records to __consumer_offsets and replays them; kbin mutates in memory and offers
 * `toJSON`/`fromJSON` snapshots instead. Kafka's timers (session, rebalance) become deadlines that
 * `expireMembers()` checks; `nextDeadlineMs()` tells the caller when to call it.
 *
 * Deliberate differences from Kafka 4.0, all fixes Kafka made later or consequences of kbin
 * being one synchronous process:
 * - A member whose epoch the server knows may rejoin with epoch 0 (KAFKA-19233); Kafka 4.0
 *   answered FENCED_MEMBER_EPOCH. A static member rejoining at epoch 0 with its own member id is
 *   treated the same way instead of UNRELEASED_INSTANCE_ID.
 * - A partition pending revocation by the reconciling member itself is not "unreleased" for it
 *   (KAFKA-19449).
 * - The uniform assignor claims extra partitions only for members that keep more than the
 *   minimum (see assignors.ts).
 * - Regular expressions are resolved synchronously: a new regex is resolved in the heartbeat that
 *   brings it, and all of a group's regexes are refreshed at most every 10 s
 *   (REGEX_BATCH_REFRESH_INTERVAL_MS) on later heartbeats, as Kafka batches its refreshes.
 * - Topic metadata is re-read on every heartbeat (Kafka refreshes it when a new metadata image
 *   arrives), so partition growth triggers a new assignment on the next heartbeat.
 * - Regexes use JavaScript RegExp (with the `u` flag, matched against the whole topic name)
 *   instead of Kafka's RE2J. Leading inline flags `(?i)`, `(?m)` and `(?s)` are accepted;
 *   RE2J-only syntax (`\Q…\E`, `\pL` without braces, `(?U)`) is rejected as invalid, and
 *   JavaScript-only syntax (backreferences, lookaround) is accepted where RE2J would refuse it.
 *
 * @module
 */

import { ErrorCode } from "../../protocol/generated/errors.ts";
import type { Clock } from "../../ports.ts";
import type { AssignorMember, AssignorTopic, ServerAssignor } from "./assignors.ts";

/** Epoch a member sends to leave the group (Kafka's LEAVE_GROUP_MEMBER_EPOCH). */
export const LEAVE_GROUP_MEMBER_EPOCH = -1;
/** Epoch a static member sends to leave temporarily, keeping its assignment (LEAVE_GROUP_STATIC_MEMBER_EPOCH). */
export const LEAVE_GROUP_STATIC_MEMBER_EPOCH = -2;
/** Minimum time between two refreshes of a group's regexes (Kafka's REGEX_BATCH_REFRESH_INTERVAL_MS). */
export const REGEX_BATCH_REFRESH_INTERVAL_MS = 10_000;
/** ConsumerGroupHeartbeat version from which clients generate their member ids (KIP-1082). */
export const CONSUMER_GENERATED_MEMBER_ID_REQUIRED_VERSION = 1;

/** A member's reconciliation state (Kafka's MemberState). */
export const MemberState = {
  STABLE: "stable",
  UNREVOKED_PARTITIONS: "unrevoked_partitions",
  UNRELEASED_PARTITIONS: "unreleased_partitions",
  UNKNOWN: "unknown",
} as const;
export type MemberState = typeof MemberState[keyof typeof MemberState];

/** A group's state (Kafka's ConsumerGroup.ConsumerGroupState, lower case). */
export type ConsumerGroupState = "empty" | "assigning" | "reconciling" | "stable" | "dead";

/** Kafka's display names for the group states (DescribeGroups, ListGroups, ConsumerGroupDescribe). */
const STATE_NAMES: Record<ConsumerGroupState, string> = {
  empty: "Empty",
  assigning: "Assigning",
  reconciling: "Reconciling",
  stable: "Stable",
  dead: "Dead",
};

/** A topic as the broker knows it. */
export interface TopicInfo {
  topicId: string;
  name: string;
  partitions: number;
}

/** The broker's topics, read on each heartbeat. `all()` lists the topics a regex may match. */
export interface TopicResolver {
  byName(name: string): TopicInfo | null;
  byId(topicId: string): TopicInfo | null;
  all(): readonly TopicInfo[];
}

/** Partitions a member reports owning, by topic id. */
export interface OwnedTopicPartitions {
  readonly topicId: string;
  readonly partitions: readonly number[];
}

/** The decoded ConsumerGroupHeartbeat request, plus what the handler knows about the client. */
export interface HeartbeatInput {
  groupId: string;
  memberId: string;
  memberEpoch: number;
  instanceId: string | null;
  rackId: string | null;
  /** -1 keeps the current value. */
  rebalanceTimeoutMs: number;
  /** null keeps the current subscription. */
  subscribedTopicNames: readonly string[] | null;
  /** v1+; null keeps the current regex, "" removes it. */
  subscribedTopicRegex: string | null;
  serverAssignor: string | null;
  /** Owned partitions; null means unchanged since the last heartbeat. */
  topicPartitions: readonly OwnedTopicPartitions[] | null;
  clientId?: string;
  clientHost?: string;
  /**
   * The request version. From v1 the client generates its member id, so an empty one is
   * refused; when absent, v0 rules apply (the coordinator generates the id).
   */
  apiVersion?: number;
}

/** The ConsumerGroupHeartbeat response fields. */
export interface HeartbeatOutput {
  errorCode: number;
  errorMessage: string | null;
  memberId: string | null;
  memberEpoch: number;
  heartbeatIntervalMs: number;
  /** The partitions the member owns from now on; only set on a full request or a change. */
  assignment: { topicPartitions: { topicId: string; partitions: number[] }[] } | null;
}

/** What a group needs from the broker. */
export interface ConsumerGroupOptions {
  clock: Clock;
  /** group.consumer.session.timeout.ms (Kafka default 45000). */
  sessionTimeoutMs: number;
  /** group.consumer.heartbeat.interval.ms (Kafka default 5000). */
  heartbeatIntervalMs: number;
  /** group.consumer.max.size (Kafka default Integer.MAX_VALUE). */
  maxSize: number;
  assignors: ReadonlyMap<string, ServerAssignor>;
  /** Used when no member names a server assignor. */
  defaultAssignor: string;
  topics: TopicResolver;
  /** Generates member ids for v0 clients that join without one. */
  newMemberId: () => string;
  /** Told of each new target assignment (a rebalance, for metrics). */
  onRebalance?: () => void;
}

/** One member, for ConsumerGroupDescribe. Assignments are by topic id, partitions ascending. */
export interface ConsumerGroupMemberDescription {
  memberId: string;
  instanceId: string | null;
  rackId: string | null;
  memberEpoch: number;
  clientId: string;
  clientHost: string;
  subscribedTopicNames: string[];
  subscribedTopicRegex: string | null;
  assignment: Map<string, number[]>;
  targetAssignment: Map<string, number[]>;
  /** The member's reconciliation state (not on the wire; for logs and tests). */
  memberState: MemberState;
}

/** The group, for ConsumerGroupDescribe, DescribeGroups and ListGroups. */
export interface ConsumerGroupDescription {
  groupEpoch: number;
  assignmentEpoch: number;
  /** Kafka's display name: "Empty", "Assigning", "Reconciling", "Stable" or "Dead". */
  state: string;
  assignorName: string;
  members: ConsumerGroupMemberDescription[];
}

type Assignment = ReadonlyMap<string, ReadonlySet<number>>;

const EMPTY_ASSIGNMENT: Assignment = new Map();
const EMPTY_PARTITIONS: ReadonlySet<number> = new Set();

/** A member (Kafka's ConsumerGroupMember); replaced, never mutated. */
interface Member {
  readonly memberId: string;
  readonly instanceId: string | null;
  readonly rackId: string | null;
  readonly rebalanceTimeoutMs: number;
  readonly clientId: string;
  readonly clientHost: string;
  /** Unique and sorted. */
  readonly subscribedTopicNames: readonly string[];
  readonly subscribedTopicRegex: string | null;
  readonly serverAssignor: string | null;
  readonly memberEpoch: number;
  readonly previousMemberEpoch: number;
  readonly state: MemberState;
  readonly assigned: Assignment;
  readonly pendingRevocation: Assignment;
  readonly lastHeartbeatMs: number;
  /** When the member must have revoked its partitions (Kafka's rebalance timeout timer). */
  readonly rebalanceDeadlineMs: number | null;
}

function newMember(memberId: string, nowMs: number): Member {
  // Kafka's ConsumerGroupMember.Builder defaults.
  return {
    memberId,
    instanceId: null,
    rackId: null,
    rebalanceTimeoutMs: -1,
    clientId: "",
    clientHost: "",
    subscribedTopicNames: [],
    subscribedTopicRegex: null,
    serverAssignor: null,
    memberEpoch: 0,
    previousMemberEpoch: -1,
    state: MemberState.STABLE,
    assigned: EMPTY_ASSIGNMENT,
    pendingRevocation: EMPTY_ASSIGNMENT,
    lastHeartbeatMs: nowMs,
    rebalanceDeadlineMs: null,
  };
}

/** Kafka's ModernGroupMember.isReconciledTo. */
function isReconciledTo(member: Member, assignmentEpoch: number): boolean {
  return member.state === MemberState.STABLE && member.memberEpoch === assignmentEpoch;
}

function assignmentEquals(a: Assignment, b: Assignment): boolean {
  if (a === b) return true;
  if (a.size !== b.size) return false;
  for (const [topicId, pa] of a) {
    const pb = b.get(topicId);
    if (pb === undefined || pa.size !== pb.size) return false;
    for (const p of pa) if (!pb.has(p)) return false;
  }
  return true;
}

function sortedEntries(a: Assignment): [string, number[]][] {
  return [...a].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))
    .map(([topicId, partitions]) => [topicId, [...partitions].sort((p, q) => p - q)]);
}

function toDescription(a: Assignment): Map<string, number[]> {
  return new Map(sortedEntries(a));
}

function toWire(a: Assignment): { topicId: string; partitions: number[] }[] {
  return sortedEntries(a).map(([topicId, partitions]) => ({ topicId, partitions }));
}

function fromArrays(map: ReadonlyMap<string, readonly number[]> | undefined): Assignment {
  if (map === undefined) return EMPTY_ASSIGNMENT;
  const out = new Map<string, ReadonlySet<number>>();
  for (const [topicId, partitions] of map) if (partitions.length > 0) out.set(topicId, new Set(partitions));
  return out;
}

function sameStrings(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Kafka's Utils.throwIfEmptyString: a present value that is blank. */
function isBlank(value: string | null): boolean {
  return value !== null && value.trim() === "";
}

/**
 * Compiles a subscription regex the way KIP-848 matches it: against the whole topic name. Returns
 * the error message when the expression is not valid.
 */
export function compileTopicRegex(source: string): RegExp | string {
  let flags = "u";
  let body = source;
  const inline = /^\(\?([ims]+)\)/.exec(source);
  if (inline !== null) {
    body = source.slice(inline[0].length);
    for (const f of inline[1]!) if (!flags.includes(f)) flags += f;
  }
  try {
    // Compile the body alone first so that unbalanced groups cannot escape the anchoring wrapper.
    new RegExp(body, flags);
    return new RegExp(`^(?:${body})$`, flags);
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

/** A heartbeat refusal: the error code and message Kafka would return. */
export interface HeartbeatError {
  errorCode: number;
  errorMessage: string;
}

/**
 * Kafka 4.0's GroupCoordinatorService.throwIfConsumerGroupHeartbeatRequestIsInvalid, in its
 * order. The handler may call it before looking the group up (Kafka validates first, so an
 * invalid request is INVALID_REQUEST even when the group does not exist).
 */
export function validateHeartbeatRequest(
  input: HeartbeatInput,
  options: { assignors: ReadonlyMap<string, unknown> },
): HeartbeatError | null {
  const invalid = (what: string): HeartbeatError => ({
    errorCode: ErrorCode.INVALID_REQUEST,
    errorMessage: `Cannot heartbeat in group "${input.groupId}": ${what}`,
  });
  const version = input.apiVersion ?? 0;
  if (
    (version >= CONSUMER_GENERATED_MEMBER_ID_REQUIRED_VERSION || input.memberEpoch > 0 ||
      input.memberEpoch === LEAVE_GROUP_MEMBER_EPOCH) && isBlank(input.memberId)
  ) {
    return invalid("memberId must not be empty");
  }
  if (isBlank(input.groupId)) return invalid("groupId must not be empty");
  if (isBlank(input.instanceId)) return invalid("instanceId must not be empty");
  if (isBlank(input.rackId)) return invalid("rackId must not be empty");
  if (input.memberEpoch === 0) {
    if (input.rebalanceTimeoutMs === -1) return invalid("rebalanceTimeoutMs must be set when joining");
    if (input.topicPartitions === null || input.topicPartitions.length > 0) {
      return invalid("topicPartitions must be empty when joining");
    }
    // Joining with an empty list or an empty regex is allowed: a member of the group without topics.
    if (input.subscribedTopicNames === null && input.subscribedTopicRegex === null) {
      return invalid("subscribedTopicNames or subscribedTopicRegex must be set when joining");
    }
  } else if (input.memberEpoch === LEAVE_GROUP_STATIC_MEMBER_EPOCH) {
    if (input.instanceId === null) return invalid("instanceId must be set to leave with epoch -2");
  } else if (input.memberEpoch < LEAVE_GROUP_STATIC_MEMBER_EPOCH) {
    return invalid(`memberEpoch ${input.memberEpoch} is not valid`);
  }
  if (input.serverAssignor !== null && !options.assignors.has(input.serverAssignor)) {
    return {
      errorCode: ErrorCode.UNSUPPORTED_ASSIGNOR,
      errorMessage: `Cannot heartbeat in group "${input.groupId}": server assignor "${input.serverAssignor}" ` +
        `is not supported, supported: ${[...options.assignors.keys()].map((n) => `"${n}"`).join(", ")}`,
    };
  }
  return null;
}

function failure(errorCode: number, errorMessage: string): HeartbeatOutput {
  return { errorCode, errorMessage, memberId: null, memberEpoch: 0, heartbeatIntervalMs: 0, assignment: null };
}

/**
 * Kafka's GroupMetadataManager.throwIfConsumerGroupMemberEpochIsInvalid, plus KAFKA-19233
 * (epoch 0 always rejoins). A member one epoch behind is accepted when it owns a subset of its
 * assignment: the response that bumped its epoch may have been lost.
 */
function checkMemberEpoch(
  groupId: string,
  member: Member,
  received: number,
  owned: readonly OwnedTopicPartitions[] | null,
): HeartbeatOutput | null {
  if (received === 0) return null;
  const fenced = (relation: string): HeartbeatOutput =>
    failure(
      ErrorCode.FENCED_MEMBER_EPOCH,
      `Cannot heartbeat in group "${groupId}": member "${member.memberId}" has a ${relation} epoch ` +
        `(${received}) than the coordinator (${member.memberEpoch}), it must abandon its partitions and rejoin`,
    );
  if (received > member.memberEpoch) return fenced("greater");
  if (received < member.memberEpoch) {
    if (received !== member.previousMemberEpoch || !isSubset(owned, member.assigned)) return fenced("smaller");
  }
  return null;
}

/** Kafka's GroupMetadataManager.isSubset. */
function isSubset(owned: readonly OwnedTopicPartitions[] | null, assigned: Assignment): boolean {
  if (owned === null) return false;
  for (const tp of owned) {
    const partitions = assigned.get(tp.topicId);
    if (partitions === undefined) return false;
    for (const p of tp.partitions) if (!partitions.has(p)) return false;
  }
  return true;
}

/** Kafka's CurrentAssignmentBuilder.ownsRevokedPartitions: null owned partitions count as owning. */
function ownsRevokedPartitions(owned: readonly OwnedTopicPartitions[] | null, pending: Assignment): boolean {
  if (owned === null) return true;
  for (const tp of owned) {
    const revoking = pending.get(tp.topicId);
    if (revoking === undefined) continue;
    for (const p of tp.partitions) if (revoking.has(p)) return true;
  }
  return false;
}

interface ReconcileContext {
  targetEpoch: number;
  target: Assignment;
  /** The epoch of the partition's current owner, or -1 when nobody owns it. */
  partitionEpoch: (topicId: string, partition: number) => number;
  owned: readonly OwnedTopicPartitions[] | null;
}

/** Kafka's CurrentAssignmentBuilder.computeNextAssignment. */
function computeNextAssignment(member: Member, memberEpoch: number, ctx: ReconcileContext): Member {
  let hasUnreleased = false;
  const newAssigned = new Map<string, Set<number>>();
  const newPending = new Map<string, Set<number>>();
  const newToAssign = new Map<string, Set<number>>();

  const topicIds = new Set([...ctx.target.keys(), ...member.assigned.keys()]);
  for (const topicId of topicIds) {
    const target = ctx.target.get(topicId) ?? EMPTY_PARTITIONS;
    const current = member.assigned.get(topicId) ?? EMPTY_PARTITIONS;
    const ownPending = member.pendingRevocation.get(topicId) ?? EMPTY_PARTITIONS;
    // Kept = current ∩ target; to revoke = current − kept; to assign = target − kept − unreleased.
    const kept = new Set<number>();
    const revoke = new Set<number>();
    for (const p of current) (target.has(p) ? kept : revoke).add(p);
    const toAssign = new Set<number>();
    for (const p of target) {
      if (kept.has(p)) continue;
      // KAFKA-19449: a partition this member itself is still revoking is not someone else's.
      if (ctx.partitionEpoch(topicId, p) !== -1 && !ownPending.has(p)) {
        hasUnreleased = true;
      } else {
        toAssign.add(p);
      }
    }
    if (kept.size > 0) newAssigned.set(topicId, kept);
    if (revoke.size > 0) newPending.set(topicId, revoke);
    if (toAssign.size > 0) newToAssign.set(topicId, toAssign);
  }

  if (newPending.size > 0 && ownsRevokedPartitions(ctx.owned, newPending)) {
    // Revoke first: the member stays at its epoch until it stops reporting these partitions.
    return {
      ...member,
      state: MemberState.UNREVOKED_PARTITIONS,
      previousMemberEpoch: member.memberEpoch,
      memberEpoch,
      assigned: newAssigned,
      pendingRevocation: newPending,
    };
  }
  for (const [topicId, partitions] of newToAssign) {
    const set = newAssigned.get(topicId);
    if (set === undefined) newAssigned.set(topicId, partitions);
    else for (const p of partitions) set.add(p);
  }
  return {
    ...member,
    state: hasUnreleased ? MemberState.UNRELEASED_PARTITIONS : MemberState.STABLE,
    previousMemberEpoch: member.memberEpoch,
    memberEpoch: ctx.targetEpoch,
    assigned: newAssigned,
    pendingRevocation: EMPTY_ASSIGNMENT,
  };
}

/** Kafka 4.0's CurrentAssignmentBuilder.build (the UNKNOWN fencing is checked before, by the caller). */
function reconcile(member: Member, ctx: ReconcileContext): Member {
  switch (member.state) {
    case MemberState.STABLE:
      // A newer target assignment is available: move towards it.
      return member.memberEpoch !== ctx.targetEpoch ? computeNextAssignment(member, member.memberEpoch, ctx) : member;
    case MemberState.UNREVOKED_PARTITIONS:
      // Wait until the member stops reporting the partitions it must revoke.
      if (ownsRevokedPartitions(ctx.owned, member.pendingRevocation)) return member;
      return computeNextAssignment(member, member.memberEpoch, ctx);
    case MemberState.UNRELEASED_PARTITIONS:
      // Pick up unreleased partitions as their previous owners revoke them.
      return computeNextAssignment(member, member.memberEpoch, ctx);
    case MemberState.UNKNOWN:
      // A state written by a newer kbin: start over from the target epoch with no partitions owned.
      return computeNextAssignment(member, ctx.targetEpoch, ctx);
  }
}

function sameReconciliation(a: Member, b: Member): boolean {
  return a.memberEpoch === b.memberEpoch && a.previousMemberEpoch === b.previousMemberEpoch &&
    a.state === b.state && assignmentEquals(a.assigned, b.assigned) &&
    assignmentEquals(a.pendingRevocation, b.pendingRevocation);
}

/** The JSON snapshot format version; `fromJSON` accepts this one. */
const SNAPSHOT_VERSION = 1;

/** One KIP-848 consumer group. */
export class ConsumerGroup {
  readonly groupId: string;
  readonly #clock: Clock;
  readonly #sessionTimeoutMs: number;
  readonly #heartbeatIntervalMs: number;
  readonly #maxSize: number;
  readonly #onRebalance: (() => void) | undefined;
  readonly #assignors: ReadonlyMap<string, ServerAssignor>;
  readonly #defaultAssignor: string;
  readonly #topics: TopicResolver;
  readonly #newMemberId: () => string;

  #groupEpoch = 0;
  #assignmentEpoch = 0;
  #dead = false;
  /** Insertion order is join order. */
  readonly #members = new Map<string, Member>();
  /** Instance id to member id. */
  readonly #staticMembers = new Map<string, string>();
  readonly #targetAssignment = new Map<string, Assignment>();
  /** Topic id to partition to the epoch of the member owning it (assigned or revoking). */
  readonly #partitionEpochs = new Map<string, Map<number, number>>();
  /** Subscribed topic name to its metadata when the target assignment was last computed. */
  #subscriptionMetadata = new Map<string, TopicInfo>();
  /** Regex to the topic names it matched at the last resolution. */
  readonly #resolvedRegexes = new Map<string, readonly string[]>();
  #regexRefreshedAtMs = 0;
  /** Cache of subscribedTopicNames(), dropped when a subscription or a resolved regex changes. */
  #subscribedNames: Set<string> | null = null;

  constructor(groupId: string, options: ConsumerGroupOptions) {
    if (!options.assignors.has(options.defaultAssignor)) {
      throw new TypeError(
        `Cannot create consumer group "${groupId}": unknown default assignor "${options.defaultAssignor}"`,
      );
    }
    this.groupId = groupId;
    this.#clock = options.clock;
    this.#sessionTimeoutMs = options.sessionTimeoutMs;
    this.#heartbeatIntervalMs = options.heartbeatIntervalMs;
    this.#maxSize = options.maxSize;
    this.#onRebalance = options.onRebalance;
    this.#assignors = options.assignors;
    this.#defaultAssignor = options.defaultAssignor;
    this.#topics = options.topics;
    this.#newMemberId = options.newMemberId;
    this.#regexRefreshedAtMs = options.clock.now();
  }

  get groupEpoch(): number {
    return this.#groupEpoch;
  }

  get assignmentEpoch(): number {
    return this.#assignmentEpoch;
  }

  /** Kafka's ConsumerGroup.maybeUpdateGroupState, computed on demand. */
  get state(): ConsumerGroupState {
    if (this.#dead) return "dead";
    if (this.#members.size === 0) return "empty";
    if (this.#groupEpoch > this.#assignmentEpoch) return "assigning";
    for (const member of this.#members.values()) {
      if (!isReconciledTo(member, this.#assignmentEpoch)) return "reconciling";
    }
    return "stable";
  }

  /** Kafka's ConsumerGroup.isEmpty: no members (a group with only a departed static member is not empty). */
  isEmpty(): boolean {
    return this.#members.size === 0;
  }

  /** Marks the group deleted (DeleteGroups); later heartbeats answer GROUP_ID_NOT_FOUND. */
  markDead(): void {
    this.#dead = true;
  }

  /** Handles one ConsumerGroupHeartbeat: join (epoch 0), heartbeat (epoch > 0), leave (-1, -2). */
  heartbeat(input: HeartbeatInput): HeartbeatOutput {
    if (input.groupId !== this.groupId) {
      throw new TypeError(`Cannot heartbeat: request for group "${input.groupId}" reached group "${this.groupId}"`);
    }
    if (this.#dead) {
      return failure(
        ErrorCode.GROUP_ID_NOT_FOUND,
        `Cannot heartbeat in group "${this.groupId}": the group was deleted`,
      );
    }
    const invalid = validateHeartbeatRequest(input, { assignors: this.#assignors });
    if (invalid !== null) return failure(invalid.errorCode, invalid.errorMessage);
    if (input.memberEpoch === LEAVE_GROUP_MEMBER_EPOCH || input.memberEpoch === LEAVE_GROUP_STATIC_MEMBER_EPOCH) {
      return this.#leave(input);
    }
    return this.#heartbeat(input);
  }

  /** Kafka's GroupMetadataManager.consumerGroupHeartbeat (the regular path). */
  #heartbeat(input: HeartbeatInput): HeartbeatOutput {
    const nowMs = this.#clock.now();
    const joining = input.memberEpoch === 0;
    const owned = input.topicPartitions;

    // throwIfConsumerGroupIsFull: only members already in the group get past a full group.
    if (this.#members.size >= this.#maxSize && (input.memberId === "" || !this.#members.has(input.memberId))) {
      return failure(
        ErrorCode.GROUP_MAX_SIZE_REACHED,
        `Cannot join group "${this.groupId}": it has reached its maximum size of ${this.#maxSize} members`,
      );
    }
    const memberId = input.memberId === "" ? this.#newMemberId() : input.memberId;

    // Get or create the member (getOrMaybeSubscribeDynamic/StaticConsumerGroupMember).
    let member: Member;
    let replaced: Member | null = null;
    if (input.instanceId === null) {
      const existing = this.#members.get(memberId);
      if (existing === undefined) {
        if (!joining) return this.#unknownMember(memberId);
        member = newMember(memberId, nowMs);
      } else {
        const fenced = checkMemberEpoch(this.groupId, existing, input.memberEpoch, owned);
        if (fenced !== null) return fenced;
        member = existing;
      }
    } else {
      const existing = this.#staticMember(input.instanceId);
      if (joining) {
        if (existing === undefined) {
          member = this.#members.get(memberId) ?? newMember(memberId, nowMs);
        } else if (existing.memberId === memberId) {
          // The same static member rejoining after being fenced (see KAFKA-19233 in the module doc).
          member = existing;
        } else if (existing.memberEpoch !== LEAVE_GROUP_STATIC_MEMBER_EPOCH) {
          return failure(
            ErrorCode.UNRELEASED_INSTANCE_ID,
            `Cannot join group "${this.groupId}": instance id "${input.instanceId}" is still used by member ` +
              `"${existing.memberId}", which must leave first`,
          );
        } else {
          // A static member coming back: it takes over the departed member's assignment.
          member = { ...existing, memberId, memberEpoch: 0, previousMemberEpoch: 0 };
          replaced = existing;
        }
      } else {
        if (existing === undefined) {
          return failure(
            ErrorCode.UNKNOWN_MEMBER_ID,
            `Cannot heartbeat in group "${this.groupId}": instance id "${input.instanceId}" is unknown`,
          );
        }
        if (existing.memberId !== memberId) return this.#fencedInstance(memberId, input.instanceId, existing.memberId);
        const fenced = checkMemberEpoch(this.groupId, existing, input.memberEpoch, owned);
        if (fenced !== null) return fenced;
        member = existing;
      }
    }
    if (member.state === MemberState.UNKNOWN && (owned === null || owned.length > 0)) {
      // CurrentAssignmentBuilder: a member in a state this version does not know starts over.
      return failure(
        ErrorCode.FENCED_MEMBER_EPOCH,
        `Cannot heartbeat in group "${this.groupId}": member "${memberId}" is in an unknown state, ` +
          `it must abandon its partitions and rejoin`,
      );
    }

    // 1. Update the member.
    const names = input.subscribedTopicNames === null
      ? member.subscribedTopicNames
      : [...new Set(input.subscribedTopicNames)].sort();
    const regex = input.subscribedTopicRegex === null
      ? member.subscribedTopicRegex
      : input.subscribedTopicRegex === ""
      ? null
      : input.subscribedTopicRegex;
    let compiledRegex: RegExp | null = null;
    if (regex !== null && !this.#resolvedRegexes.has(regex)) {
      const compiled = compileTopicRegex(regex);
      if (typeof compiled === "string") {
        return failure(
          ErrorCode.INVALID_REGULAR_EXPRESSION,
          `Cannot heartbeat in group "${this.groupId}": subscribedTopicRegex "${regex}" is not valid: ${compiled}`,
        );
      }
      compiledRegex = compiled;
    }
    // Every check has passed: from here on the heartbeat succeeds and changes the group.
    let updated: Member = {
      ...member,
      instanceId: input.instanceId ?? member.instanceId,
      rackId: input.rackId ?? member.rackId,
      rebalanceTimeoutMs: input.rebalanceTimeoutMs !== -1 ? input.rebalanceTimeoutMs : member.rebalanceTimeoutMs,
      serverAssignor: input.serverAssignor ?? member.serverAssignor,
      subscribedTopicNames: names,
      subscribedTopicRegex: regex,
      clientId: input.clientId ?? member.clientId,
      clientHost: input.clientHost ?? member.clientHost,
      lastHeartbeatMs: nowMs,
    };

    // A new group moves away from epoch 0 at once; changed subscriptions bump the epoch.
    let bump = this.#groupEpoch === 0;
    if (!sameStrings(names, member.subscribedTopicNames) || regex !== member.subscribedTopicRegex) bump = true;

    if (replaced !== null) {
      // Kafka's replaceMember: the new member id inherits the departed member's target assignment.
      const target = this.#targetAssignment.get(replaced.memberId) ?? EMPTY_ASSIGNMENT;
      this.#removeMember(replaced.memberId);
      this.#targetAssignment.set(memberId, target);
    }
    this.#putMember(updated);
    if (compiledRegex !== null && regex !== null) {
      this.#resolvedRegexes.set(regex, this.#resolve(compiledRegex));
      this.#subscribedNames = null;
    }
    if (this.#refreshRegexes(nowMs)) bump = true;
    if (this.#refreshSubscriptionMetadata()) bump = true;
    if (bump) this.#groupEpoch++;

    // 2. Compute a new target assignment when the group epoch moved past it.
    if (this.#groupEpoch > this.#assignmentEpoch) this.#computeTargetAssignment();

    // 3. Reconcile the member towards its target.
    if (!isReconciledTo(updated, this.#assignmentEpoch)) {
      const next = reconcile(updated, {
        targetEpoch: this.#assignmentEpoch,
        target: this.#targetAssignment.get(memberId) ?? EMPTY_ASSIGNMENT,
        partitionEpoch: (topicId, p) => this.#partitionEpochs.get(topicId)?.get(p) ?? -1,
        owned,
      });
      if (!sameReconciliation(next, updated)) {
        // Kafka (re)schedules the rebalance timeout on each change while revoking, else cancels it.
        updated = {
          ...next,
          rebalanceDeadlineMs: next.state === MemberState.UNREVOKED_PARTITIONS
            ? nowMs + Math.max(0, next.rebalanceTimeoutMs)
            : null,
        };
        this.#putMember(updated);
      }
    }

    // The assignment goes out on a full request (a join, or every field set after an error)
    // or when it changed. Kafka 4.0 tests the names only; a regex subscriber's full request counts too.
    const fullRequest = joining ||
      (input.rebalanceTimeoutMs !== -1 &&
        (input.subscribedTopicNames !== null || input.subscribedTopicRegex !== null) && owned !== null);
    const changed = !assignmentEquals(member.assigned, updated.assigned);
    return {
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      memberId,
      memberEpoch: updated.memberEpoch,
      heartbeatIntervalMs: this.#heartbeatIntervalMs,
      assignment: fullRequest || changed ? { topicPartitions: toWire(updated.assigned) } : null,
    };
  }

  /** Kafka's GroupMetadataManager.consumerGroupLeave. */
  #leave(input: HeartbeatInput): HeartbeatOutput {
    const left = (memberId: string, memberEpoch: number): HeartbeatOutput => ({
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      memberId,
      memberEpoch,
      heartbeatIntervalMs: 0,
      assignment: null,
    });
    if (input.instanceId === null) {
      if (!this.#members.has(input.memberId)) return this.#unknownMember(input.memberId);
      this.#fence(input.memberId);
      return left(input.memberId, input.memberEpoch);
    }
    const member = this.#staticMember(input.instanceId);
    if (member === undefined) {
      return failure(
        ErrorCode.UNKNOWN_MEMBER_ID,
        `Cannot leave group "${this.groupId}": instance id "${input.instanceId}" is unknown`,
      );
    }
    if (member.memberId !== input.memberId) {
      return this.#fencedInstance(input.memberId, input.instanceId, member.memberId);
    }
    if (input.memberEpoch === LEAVE_GROUP_STATIC_MEMBER_EPOCH) {
      // Kafka's consumerGroupStaticMemberGroupLeave: the member stays, at epoch -2, keeping its
      // assigned partitions (so nobody else gets them) until it rejoins or its session expires.
      // Partitions it was revoking are released. The session deadline is not extended.
      this.#putMember({
        ...member,
        memberEpoch: LEAVE_GROUP_STATIC_MEMBER_EPOCH,
        pendingRevocation: EMPTY_ASSIGNMENT,
        rebalanceDeadlineMs: null,
      });
      return left(member.memberId, LEAVE_GROUP_STATIC_MEMBER_EPOCH);
    }
    this.#fence(member.memberId);
    return left(member.memberId, LEAVE_GROUP_MEMBER_EPOCH);
  }

  /**
   * Removes members whose session expired (no heartbeat for the session timeout, static members
   * that left with epoch -2 included) or that did not revoke partitions within their rebalance
   * timeout (Kafka's rebalance timeout timer). Each removal bumps the group epoch, as Kafka's
   * consumerGroupFenceMember does. Returns the removed member ids.
   */
  expireMembers(): string[] {
    const nowMs = this.#clock.now();
    const expired: string[] = [];
    for (const member of this.#members.values()) {
      const sessionExpired = nowMs - member.lastHeartbeatMs >= this.#sessionTimeoutMs;
      const rebalanceExpired = member.rebalanceDeadlineMs !== null && nowMs >= member.rebalanceDeadlineMs;
      if (sessionExpired || rebalanceExpired) expired.push(member.memberId);
    }
    for (const memberId of expired) this.#fence(memberId);
    return expired;
  }

  /** The earliest time `expireMembers()` may remove someone, or null without members. */
  nextDeadlineMs(): number | null {
    let next: number | null = null;
    for (const member of this.#members.values()) {
      const session = member.lastHeartbeatMs + this.#sessionTimeoutMs;
      if (next === null || session < next) next = session;
      if (member.rebalanceDeadlineMs !== null && member.rebalanceDeadlineMs < next) next = member.rebalanceDeadlineMs;
    }
    return next;
  }

  /**
   * Kafka's ConsumerGroup.validateOffsetCommit for OffsetCommit v9+ (KIP-848). Returns 0,
   * UNKNOWN_MEMBER_ID, STALE_MEMBER_EPOCH, or UNSUPPORTED_VERSION for a non-transactional commit
   * below v9 by a member of this group (give `apiVersion` for that check).
   */
  validateOffsetCommit(
    memberId: string,
    memberEpoch: number,
    isTransactional: boolean,
    options: { apiVersion?: number } = {},
  ): number {
    // Epoch -1 without members: the admin client or a consumer without group management.
    if (memberEpoch < 0 && this.#members.size === 0) return ErrorCode.NONE;
    const member = this.#members.get(memberId);
    if (member === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (!isTransactional && options.apiVersion !== undefined && options.apiVersion < 9) {
      return ErrorCode.UNSUPPORTED_VERSION;
    }
    return memberEpoch === member.memberEpoch ? ErrorCode.NONE : ErrorCode.STALE_MEMBER_EPOCH;
  }

  /** Kafka's ConsumerGroup.validateOffsetFetch for OffsetFetch v9+: 0, UNKNOWN_MEMBER_ID or STALE_MEMBER_EPOCH. */
  validateOffsetFetch(memberId: string | null, memberEpoch: number): number {
    // No member id and a negative epoch: the admin client, or a client that does not say.
    if (memberId === null && memberEpoch < 0) return ErrorCode.NONE;
    const member = memberId === null ? undefined : this.#members.get(memberId);
    if (member === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
    return memberEpoch === member.memberEpoch ? ErrorCode.NONE : ErrorCode.STALE_MEMBER_EPOCH;
  }

  /** The group for ConsumerGroupDescribe (Kafka's ConsumerGroup.asDescribedGroup), topics by id. */
  describe(): ConsumerGroupDescription {
    return {
      groupEpoch: this.#groupEpoch,
      assignmentEpoch: this.#assignmentEpoch,
      state: STATE_NAMES[this.state],
      assignorName: this.#preferredAssignor(),
      members: [...this.#members.values()].map((m) => ({
        memberId: m.memberId,
        instanceId: m.instanceId,
        rackId: m.rackId,
        memberEpoch: m.memberEpoch,
        clientId: m.clientId,
        clientHost: m.clientHost,
        subscribedTopicNames: [...m.subscribedTopicNames],
        subscribedTopicRegex: m.subscribedTopicRegex,
        assignment: toDescription(m.assigned),
        targetAssignment: toDescription(this.#targetAssignment.get(m.memberId) ?? EMPTY_ASSIGNMENT),
        memberState: m.state,
      })),
    };
  }

  /** Topic names any member subscribes to, by name or through its regex (Kafka's isSubscribedToTopic). */
  subscribedTopicNames(): Set<string> {
    return new Set(this.#subscribedNameSet());
  }

  /** A JSON-safe snapshot: members keep their epochs, states and assignments across a restart. */
  toJSON(): ConsumerGroupSnapshot {
    const arrays = (a: Assignment) => sortedEntries(a);
    return {
      v: SNAPSHOT_VERSION,
      groupId: this.groupId,
      groupEpoch: this.#groupEpoch,
      assignmentEpoch: this.#assignmentEpoch,
      members: [...this.#members.values()].map((m) => ({
        memberId: m.memberId,
        instanceId: m.instanceId,
        rackId: m.rackId,
        rebalanceTimeoutMs: m.rebalanceTimeoutMs,
        clientId: m.clientId,
        clientHost: m.clientHost,
        subscribedTopicNames: [...m.subscribedTopicNames],
        subscribedTopicRegex: m.subscribedTopicRegex,
        serverAssignor: m.serverAssignor,
        memberEpoch: m.memberEpoch,
        previousMemberEpoch: m.previousMemberEpoch,
        state: m.state,
        assigned: arrays(m.assigned),
        pendingRevocation: arrays(m.pendingRevocation),
      })),
      targetAssignment: [...this.#targetAssignment].map(([memberId, a]) => [memberId, arrays(a)]),
      subscriptionMetadata: [...this.#subscriptionMetadata.values()].map((t) => [t.name, t.topicId, t.partitions]),
      resolvedRegexes: [...this.#resolvedRegexes].map(([regex, topics]) => [regex, [...topics]]),
    };
  }

  /**
   * Restores a snapshot from `toJSON`. As Kafka does when it loads a group, every member's
   * session starts now, and members revoking partitions get a fresh rebalance timeout. Throws a
   * TypeError when the data is not a snapshot.
   */
  static fromJSON(data: unknown, options: ConsumerGroupOptions): ConsumerGroup {
    const snapshot = parseSnapshot(data);
    const group = new ConsumerGroup(snapshot.groupId, options);
    try {
      group.#restore(snapshot);
    } catch (e) {
      // Two members owning one partition: the snapshot is inconsistent, not the code.
      throw new TypeError(`Cannot restore consumer group "${snapshot.groupId}": ${(e as Error).message}`, { cause: e });
    }
    return group;
  }

  #restore(s: ConsumerGroupSnapshot): void {
    const nowMs = this.#clock.now();
    this.#groupEpoch = s.groupEpoch;
    this.#assignmentEpoch = s.assignmentEpoch;
    for (const m of s.members) {
      const state = (Object.values(MemberState) as string[]).includes(m.state)
        ? m.state as MemberState
        : MemberState.UNKNOWN;
      this.#putMember({
        memberId: m.memberId,
        instanceId: m.instanceId,
        rackId: m.rackId,
        rebalanceTimeoutMs: m.rebalanceTimeoutMs,
        clientId: m.clientId,
        clientHost: m.clientHost,
        subscribedTopicNames: [...new Set(m.subscribedTopicNames)].sort(),
        subscribedTopicRegex: m.subscribedTopicRegex,
        serverAssignor: m.serverAssignor,
        memberEpoch: m.memberEpoch,
        previousMemberEpoch: m.previousMemberEpoch,
        state,
        assigned: fromArrays(new Map(m.assigned)),
        pendingRevocation: fromArrays(new Map(m.pendingRevocation)),
        lastHeartbeatMs: nowMs,
        rebalanceDeadlineMs: state === MemberState.UNREVOKED_PARTITIONS
          ? nowMs + Math.max(0, m.rebalanceTimeoutMs)
          : null,
      });
    }
    for (const [memberId, a] of s.targetAssignment) this.#targetAssignment.set(memberId, fromArrays(new Map(a)));
    this.#subscriptionMetadata = new Map(
      s.subscriptionMetadata.map(([name, topicId, partitions]) => [name, { name, topicId, partitions }]),
    );
    for (const [regex, topics] of s.resolvedRegexes) this.#resolvedRegexes.set(regex, [...topics]);
    this.#subscribedNames = null;
    this.#regexRefreshedAtMs = nowMs;
  }

  // -------------------------------------------------------------------------------------------

  #unknownMember(memberId: string): HeartbeatOutput {
    return failure(
      ErrorCode.UNKNOWN_MEMBER_ID,
      `Cannot heartbeat in group "${this.groupId}": member "${memberId}" is not a member of the group`,
    );
  }

  #fencedInstance(memberId: string, instanceId: string, ownerId: string): HeartbeatOutput {
    return failure(
      ErrorCode.FENCED_INSTANCE_ID,
      `Cannot heartbeat in group "${this.groupId}": static member "${memberId}" with instance id ` +
        `"${instanceId}" was fenced by member "${ownerId}"`,
    );
  }

  #staticMember(instanceId: string): Member | undefined {
    const memberId = this.#staticMembers.get(instanceId);
    return memberId === undefined ? undefined : this.#members.get(memberId);
  }

  /** Kafka's ConsumerGroup.updateMember: keeps the partition epochs and static ids in step. */
  #putMember(member: Member): void {
    const old = this.#members.get(member.memberId);
    if (
      old === undefined || old.subscribedTopicNames !== member.subscribedTopicNames ||
      old.subscribedTopicRegex !== member.subscribedTopicRegex
    ) {
      this.#subscribedNames = null;
    }
    if (old !== undefined) {
      this.#removePartitionEpochs(old.assigned, old.memberEpoch);
      this.#removePartitionEpochs(old.pendingRevocation, old.memberEpoch);
      if (old.instanceId !== null && old.instanceId !== member.instanceId) this.#staticMembers.delete(old.instanceId);
    }
    this.#members.set(member.memberId, member);
    this.#addPartitionEpochs(member.assigned, member.memberEpoch);
    this.#addPartitionEpochs(member.pendingRevocation, member.memberEpoch);
    if (member.instanceId !== null) this.#staticMembers.set(member.instanceId, member.memberId);
  }

  /** Kafka's ConsumerGroup.removeMember plus the target assignment tombstone. */
  #removeMember(memberId: string): void {
    const old = this.#members.get(memberId);
    if (old === undefined) return;
    this.#removePartitionEpochs(old.assigned, old.memberEpoch);
    this.#removePartitionEpochs(old.pendingRevocation, old.memberEpoch);
    if (old.instanceId !== null && this.#staticMembers.get(old.instanceId) === memberId) {
      this.#staticMembers.delete(old.instanceId);
    }
    this.#members.delete(memberId);
    this.#targetAssignment.delete(memberId);
    this.#subscribedNames = null;
  }

  /** Kafka's consumerGroupFenceMember: remove, update the subscription metadata, bump the epoch. */
  #fence(memberId: string): void {
    this.#removeMember(memberId);
    this.#dropUnusedRegexes();
    this.#refreshSubscriptionMetadata();
    this.#groupEpoch++;
  }

  #addPartitionEpochs(a: Assignment, epoch: number): void {
    for (const [topicId, partitions] of a) {
      let epochs = this.#partitionEpochs.get(topicId);
      if (epochs === undefined) {
        epochs = new Map();
        this.#partitionEpochs.set(topicId, epochs);
      }
      for (const p of partitions) {
        const previous = epochs.get(p);
        if (previous !== undefined) {
          throw new Error(
            `Cannot set the epoch of ${topicId}-${p} to ${epoch} in group "${this.groupId}": ` +
              `still owned at epoch ${previous} (bug)`,
          );
        }
        epochs.set(p, epoch);
      }
    }
  }

  #removePartitionEpochs(a: Assignment, epoch: number): void {
    for (const [topicId, partitions] of a) {
      const epochs = this.#partitionEpochs.get(topicId);
      for (const p of partitions) {
        const previous = epochs?.get(p);
        if (previous !== epoch) {
          throw new Error(
            `Cannot remove the epoch ${epoch} of ${topicId}-${p} in group "${this.groupId}": ` +
              `owned at epoch ${previous ?? "none"} (bug)`,
          );
        }
        epochs!.delete(p);
      }
      if (epochs !== undefined && epochs.size === 0) this.#partitionEpochs.delete(topicId);
    }
  }

  #subscribedNameSet(): ReadonlySet<string> {
    if (this.#subscribedNames === null) {
      const names = new Set<string>();
      for (const member of this.#members.values()) {
        for (const name of this.#effectiveTopicNames(member)) names.add(name);
      }
      this.#subscribedNames = names;
    }
    return this.#subscribedNames;
  }

  /** Names the member subscribes to, directly or through its resolved regex. */
  #effectiveTopicNames(member: Member): readonly string[] {
    const regex = member.subscribedTopicRegex;
    const matched = regex === null ? undefined : this.#resolvedRegexes.get(regex);
    if (matched === undefined || matched.length === 0) return member.subscribedTopicNames;
    if (member.subscribedTopicNames.length === 0) return matched;
    return [...new Set([...member.subscribedTopicNames, ...matched])];
  }

  #resolve(regex: RegExp): string[] {
    return this.#topics.all().map((t) => t.name).filter((name) => regex.test(name)).sort();
  }

  #dropUnusedRegexes(): void {
    const used = new Set<string>();
    for (const m of this.#members.values()) if (m.subscribedTopicRegex !== null) used.add(m.subscribedTopicRegex);
    for (const regex of [...this.#resolvedRegexes.keys()]) {
      if (!used.has(regex)) {
        this.#resolvedRegexes.delete(regex);
        this.#subscribedNames = null;
      }
    }
  }

  /**
   * Drops regexes nobody uses and, at most every REGEX_BATCH_REFRESH_INTERVAL_MS, re-resolves
   * the others against the current topics. Returns whether any resolved to other topics.
   */
  #refreshRegexes(nowMs: number): boolean {
    this.#dropUnusedRegexes();
    if (this.#resolvedRegexes.size === 0 || nowMs - this.#regexRefreshedAtMs < REGEX_BATCH_REFRESH_INTERVAL_MS) {
      return false;
    }
    this.#regexRefreshedAtMs = nowMs;
    let changed = false;
    for (const [source, previous] of this.#resolvedRegexes) {
      const compiled = compileTopicRegex(source);
      // Validated when it joined; a regex that stops compiling (never expected) matches nothing.
      const topics = typeof compiled === "string" ? [] : this.#resolve(compiled);
      if (!sameStrings(topics, previous)) {
        this.#resolvedRegexes.set(source, topics);
        this.#subscribedNames = null;
        changed = true;
      }
    }
    return changed;
  }

  /**
   * Kafka's ModernGroup.computeSubscriptionMetadata over all members: the id and partition count
   * of every subscribed topic that exists. Returns whether it differs from the stored one.
   */
  #refreshSubscriptionMetadata(): boolean {
    const next = new Map<string, TopicInfo>();
    for (const name of [...this.#subscribedNameSet()].sort()) {
      const topic = this.#topics.byName(name);
      if (topic !== null) next.set(name, { topicId: topic.topicId, name: topic.name, partitions: topic.partitions });
    }
    let changed = next.size !== this.#subscriptionMetadata.size;
    if (!changed) {
      for (const [name, t] of next) {
        const old = this.#subscriptionMetadata.get(name);
        if (old === undefined || old.topicId !== t.topicId || old.partitions !== t.partitions) {
          changed = true;
          break;
        }
      }
    }
    this.#subscriptionMetadata = next;
    return changed;
  }

  /**
   * Kafka's ConsumerGroup.preferredServerAssignor: the assignor most members ask for, else the
   * default. Ties go to the assignor listed first (Kafka breaks them by hash order).
   */
  #preferredAssignor(): string {
    const counts = new Map<string, number>();
    for (const m of this.#members.values()) {
      if (m.serverAssignor !== null && this.#assignors.has(m.serverAssignor)) {
        counts.set(m.serverAssignor, (counts.get(m.serverAssignor) ?? 0) + 1);
      }
    }
    let best = this.#defaultAssignor;
    let bestCount = 0;
    for (const name of this.#assignors.keys()) {
      const n = counts.get(name) ?? 0;
      if (n > bestCount) {
        best = name;
        bestCount = n;
      }
    }
    return best;
  }

  /** Kafka's TargetAssignmentBuilder: every member (static members that left included) is assigned. */
  #computeTargetAssignment(): void {
    this.#onRebalance?.();
    const assignor = this.#assignors.get(this.#preferredAssignor())!;
    const topics = new Map<string, AssignorTopic>();
    for (const t of this.#subscriptionMetadata.values()) topics.set(t.topicId, { ...t });
    const members: AssignorMember[] = [...this.#members.values()].map((m) => {
      const ids: string[] = [];
      for (const name of this.#effectiveTopicNames(m)) {
        const topic = this.#subscriptionMetadata.get(name);
        if (topic !== undefined) ids.push(topic.topicId);
      }
      const current = new Map<string, number[]>();
      for (const [topicId, partitions] of this.#targetAssignment.get(m.memberId) ?? EMPTY_ASSIGNMENT) {
        current.set(topicId, [...partitions]);
      }
      return {
        memberId: m.memberId,
        instanceId: m.instanceId,
        rackId: m.rackId,
        subscribedTopicIds: ids,
        currentAssignment: current,
      };
    });
    const result = assignor.assign(members, topics);
    for (const m of members) this.#targetAssignment.set(m.memberId, fromArrays(result.get(m.memberId)));
    this.#assignmentEpoch = this.#groupEpoch;
  }
}

/** The JSON shape of `ConsumerGroup.toJSON()`. */
export interface ConsumerGroupSnapshot {
  v: number;
  groupId: string;
  groupEpoch: number;
  assignmentEpoch: number;
  members: {
    memberId: string;
    instanceId: string | null;
    rackId: string | null;
    rebalanceTimeoutMs: number;
    clientId: string;
    clientHost: string;
    subscribedTopicNames: string[];
    subscribedTopicRegex: string | null;
    serverAssignor: string | null;
    memberEpoch: number;
    previousMemberEpoch: number;
    state: string;
    assigned: [string, number[]][];
    pendingRevocation: [string, number[]][];
  }[];
  targetAssignment: [string, [string, number[]][]][];
  subscriptionMetadata: [string, string, number][];
  resolvedRegexes: [string, string[]][];
}

function parseSnapshot(data: unknown): ConsumerGroupSnapshot {
  const fail = (what: string): never => {
    throw new TypeError(`Cannot restore consumer group: ${what}`);
  };
  const isObject = (v: unknown): v is Record<string, unknown> =>
    typeof v === "object" && v !== null && !Array.isArray(v);
  const isInt = (v: unknown): v is number => Number.isSafeInteger(v);
  const isStr = (v: unknown): v is string => typeof v === "string";
  const isNullableStr = (v: unknown): v is string | null => v === null || typeof v === "string";
  const isAssignment = (v: unknown): v is [string, number[]][] =>
    Array.isArray(v) &&
    v.every((e) => Array.isArray(e) && e.length === 2 && isStr(e[0]) && Array.isArray(e[1]) && e[1].every(isInt));

  if (!isObject(data)) return fail("snapshot is not an object");
  if (data.v !== SNAPSHOT_VERSION) return fail(`unsupported snapshot version ${JSON.stringify(data.v)}`);
  if (!isStr(data.groupId)) return fail("groupId is not a string");
  if (!isInt(data.groupEpoch) || !isInt(data.assignmentEpoch)) return fail("epochs are not integers");
  if (!Array.isArray(data.members)) return fail("members is not an array");
  for (const m of data.members) {
    if (
      !isObject(m) || !isStr(m.memberId) || !isNullableStr(m.instanceId) || !isNullableStr(m.rackId) ||
      !isInt(m.rebalanceTimeoutMs) || !isStr(m.clientId) || !isStr(m.clientHost) ||
      !Array.isArray(m.subscribedTopicNames) || !m.subscribedTopicNames.every(isStr) ||
      !isNullableStr(m.subscribedTopicRegex) || !isNullableStr(m.serverAssignor) || !isInt(m.memberEpoch) ||
      !isInt(m.previousMemberEpoch) || !isStr(m.state) || !isAssignment(m.assigned) ||
      !isAssignment(m.pendingRevocation)
    ) {
      return fail(`member ${JSON.stringify(isObject(m) ? m.memberId : m)} is malformed`);
    }
  }
  if (
    !Array.isArray(data.targetAssignment) ||
    !data.targetAssignment.every((e) => Array.isArray(e) && e.length === 2 && isStr(e[0]) && isAssignment(e[1]))
  ) {
    return fail("targetAssignment is malformed");
  }
  if (
    !Array.isArray(data.subscriptionMetadata) ||
    !data.subscriptionMetadata.every((e) =>
      Array.isArray(e) && e.length === 3 && isStr(e[0]) && isStr(e[1]) && isInt(e[2])
    )
  ) {
    return fail("subscriptionMetadata is malformed");
  }
  if (
    !Array.isArray(data.resolvedRegexes) ||
    !data.resolvedRegexes.every((e) =>
      Array.isArray(e) && e.length === 2 && isStr(e[0]) && Array.isArray(e[1]) && e[1].every(isStr)
    )
  ) {
    return fail("resolvedRegexes is malformed");
  }
  return data as unknown as ConsumerGroupSnapshot;
}
