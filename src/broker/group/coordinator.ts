/**
 * The group coordinator of this node: the groups, classic or KIP-848, of the coordinator shards
 * this node leads, with their committed offsets. Group ids hash onto shards as Kafka hashes them
 * onto `__consumer_offsets` partitions; storage says who leads each shard (this node leads the
 * one shard of `file:` and `memory:`; on PostgreSQL shards are spread over the live brokers).
 * When this node gains a shard it reads the shard's groups from storage and restores them
 * (requests meanwhile get COORDINATOR_LOAD_IN_PROGRESS); when it loses one it drops its groups,
 * answering members waiting in a rebalance with COORDINATOR_NOT_AVAILABLE, and requests for them
 * get NOT_COORDINATOR, so clients find the new coordinator.
 *
 * Offsets: generation and member checks as Kafka's coordinator does (ILLEGAL_GENERATION,
 * UNKNOWN_MEMBER_ID, REBALANCE_IN_PROGRESS, FENCED_INSTANCE_ID; simple commits from group-less
 * consumers when the group has no members), `offset.metadata.max.bytes`, durable before the
 * answer. Offsets of a group expire `offsets.retention.minutes` after it became empty (KIP-211),
 * or after their commit for groups that never had members; a deleted topic's offsets go with it.
 * Groups themselves survive restarts: a classic group is saved when a rebalance completes.
 *
 * @module
 */

import { ErrorCode } from "../../protocol/generated/errors.ts";
import type { Clock, Logger } from "../../ports.ts";
import { coalesced } from "../../storage/coalesce.ts";
import type { CommittedOffset, GroupCache, SavedGroup } from "./group_cache.ts";
import type { BrokerConfig } from "../config.ts";
import { SERVER_ASSIGNORS } from "./assignors.ts";
import { ClassicGroup, joinError, type JoinRequest, type JoinResult, type SyncResult } from "./classic_group.ts";
import {
  ConsumerGroup,
  type ConsumerGroupOptions,
  type HeartbeatInput,
  type HeartbeatOutput,
  type TopicInfo,
  validateHeartbeatRequest,
} from "./consumer_group.ts";

/** One partition's offset to commit. */
export interface OffsetToCommit {
  topic: string;
  partition: number;
  offset: number;
  leaderEpoch: number;
  metadata: string | null;
  /** When the commit happened (OffsetCommit v1 may say); now when absent. */
  commitMs?: number;
}

/** The coordinator shards of a storage, and which ones this node leads. */
export interface CoordinatorShards {
  readonly count: number;
  /** The shard of a group id. */
  of(groupId: string): number;
  /** Whether this node leads the shard now. */
  leads(shard: number): boolean;
}

/** Options for {@link GroupCoordinator}. */
export interface GroupCoordinatorOptions {
  /** Starts empty: groups are read as their shards are taken ({@link GroupCoordinator.syncShards}). */
  store: GroupCache;
  shards: CoordinatorShards;
  config: BrokerConfig;
  clock: Clock;
  logger: Logger;
  /** Partition count of a topic, or null when it does not exist. */
  partitionsOf: (topic: string) => number | null;
  /** Every topic (for KIP-848 subscriptions by name, id and regex). */
  topics: () => readonly TopicInfo[];
  /** Told of each rebalance (metrics). */
  onRebalance?: (type: "classic" | "consumer") => void;
}

/** Coordinates every group on this node. */
export class GroupCoordinator {
  readonly #o: GroupCoordinatorOptions;
  readonly #classic = new Map<string, ClassicGroup>();
  readonly #consumer = new Map<string, ConsumerGroup>();
  #expiryTimer: ReturnType<typeof setInterval> | null = null;
  #retentionTimer: ReturnType<typeof setInterval> | null = null;
  /** Shards whose groups are loaded here. */
  readonly #owned = new Set<number>();
  #retryTimer: ReturnType<typeof setTimeout> | null = null;
  #closed = false;

  constructor(o: GroupCoordinatorOptions) {
    this.#o = o;
    this.#expiryTimer = setInterval(() => this.expireMembers(), 200);
    (this.#expiryTimer as { unref?: () => void }).unref?.();
    const every = Math.max(1000, o.config.number("offsets.retention.check.interval.ms"));
    this.#retentionTimer = setInterval(() => this.expireOffsets(), every);
    (this.#retentionTimer as { unref?: () => void }).unref?.();
  }

  /**
   * NOT_COORDINATOR when another broker leads the group's shard, COORDINATOR_LOAD_IN_PROGRESS
   * while this node is reading it, NONE when this node coordinates the group.
   */
  coordinatorError(groupId: string): number {
    const shard = this.#o.shards.of(groupId);
    if (!this.#o.shards.leads(shard)) return ErrorCode.NOT_COORDINATOR;
    return this.#owned.has(shard) ? ErrorCode.NONE : ErrorCode.COORDINATOR_LOAD_IN_PROGRESS;
  }

  /**
   * Brings the groups held here in line with the shards this node leads: drops the groups of
   * shards it lost, reads and restores those of shards it gained. Call it whenever leadership
   * may have changed; calls are serialised, and a failed read is retried after a second.
   */
  readonly syncShards: () => Promise<void> = coalesced(async () => {
    if (this.#closed) return;
    try {
      await this.#sync();
    } catch (err) {
      this.#o.logger.warn("Could not load the groups of the coordinator shards this node took; retrying", {
        error: String(err),
      });
      if (!this.#closed) {
        this.#retryTimer = setTimeout(() => void this.syncShards(), 1000);
        (this.#retryTimer as { unref?: () => void }).unref?.();
      }
    }
  });

  async #sync(): Promise<void> {
    const { shards, store, logger } = this.#o;
    const lost = new Set([...this.#owned].filter((s) => !shards.leads(s)));
    if (lost.size > 0) {
      const doomed = (groupId: string) => lost.has(shards.of(groupId));
      for (const [groupId, g] of this.#classic) {
        if (!doomed(groupId)) continue;
        g.markDead();
        this.#classic.delete(groupId);
      }
      for (const [groupId, g] of this.#consumer) {
        if (!doomed(groupId)) continue;
        g.markDead();
        this.#consumer.delete(groupId);
      }
      store.forget(doomed);
      for (const s of lost) this.#owned.delete(s);
      logger.info("Gave up coordinator shards", { shards: [...lost].join(",") });
    }
    const gained = new Set<number>();
    for (let s = 0; s < shards.count; s++) if (shards.leads(s) && !this.#owned.has(s)) gained.add(s);
    if (gained.size === 0) return;
    const saved = await store.adopt((groupId) => gained.has(shards.of(groupId)));
    for (const g of saved) this.#restore(g);
    for (const s of gained) this.#owned.add(s);
    logger.info("Took over coordinator shards", { shards: [...gained].join(","), groups: saved.length });
  }

  #restore(saved: SavedGroup): void {
    try {
      if (saved.type === "consumer") {
        this.#consumer.set(saved.groupId, ConsumerGroup.fromJSON(JSON.parse(saved.state), this.#consumerOptions()));
        return;
      }
      const g = this.#newClassic(saved.groupId);
      g.restore(JSON.parse(saved.state));
      this.#classic.set(saved.groupId, g);
    } catch (err) {
      this.#o.logger.warn("Could not restore a saved group; it starts empty", {
        group: saved.groupId,
        error: String(err),
      });
    }
  }

  #newClassic(groupId: string): ClassicGroup {
    const c = this.#o.config;
    return new ClassicGroup(groupId, {
      now: () => this.#o.clock.now(),
      settings: {
        initialRebalanceDelayMs: c.number("group.initial.rebalance.delay.ms"),
        maxSize: c.number("group.max.size"),
        newMemberJoinTimeoutMs: 5 * 60 * 1000,
      },
      persist: (g) => this.#o.store.saveGroup(g.groupId, "classic", g.toJSON()),
      newMemberId: (clientId) => `${clientId}-${crypto.randomUUID()}`,
      onRebalance: () => this.#o.onRebalance?.("classic"),
    });
  }

  #consumerOptions(): ConsumerGroupOptions {
    const c = this.#o.config;
    const topics = () => this.#o.topics().filter((t) => !t.name.startsWith("__"));
    return {
      clock: this.#o.clock,
      sessionTimeoutMs: c.number("group.consumer.session.timeout.ms"),
      heartbeatIntervalMs: c.number("group.consumer.heartbeat.interval.ms"),
      maxSize: c.number("group.consumer.max.size"),
      assignors: SERVER_ASSIGNORS,
      defaultAssignor: SERVER_ASSIGNORS.keys().next().value!,
      topics: {
        byName: (name) => topics().find((t) => t.name === name) ?? null,
        byId: (id) => topics().find((t) => t.topicId === id) ?? null,
        all: topics,
      },
      newMemberId: () => crypto.randomUUID(),
      onRebalance: () => this.#o.onRebalance?.("consumer"),
    };
  }

  #saveConsumer(g: ConsumerGroup): void {
    this.#o.store.saveGroup(g.groupId, "consumer", g.toJSON());
  }

  /**
   * ConsumerGroupHeartbeat (KIP-848). A group keeps one protocol: a heartbeat for a classic
   * group with members is GROUP_ID_NOT_FOUND ("not a consumer group"), while an empty classic
   * group is taken over, as Kafka allows; offsets are kept either way.
   */
  consumerHeartbeat(input: HeartbeatInput): HeartbeatOutput {
    const fail = (errorCode: number, errorMessage: string): HeartbeatOutput => ({
      errorCode,
      errorMessage,
      memberId: null,
      memberEpoch: -1,
      heartbeatIntervalMs: 0,
      assignment: null,
    });
    const invalid = validateHeartbeatRequest(input, { assignors: SERVER_ASSIGNORS });
    if (invalid) return fail(invalid.errorCode, invalid.errorMessage ?? "");
    let group = this.#consumer.get(input.groupId);
    if (!group) {
      const classic = this.#classic.get(input.groupId);
      if (classic && !classic.isEmpty()) {
        return fail(ErrorCode.GROUP_ID_NOT_FOUND, `Group ${input.groupId} is not a consumer group.`);
      }
      if (input.memberEpoch !== 0) return fail(ErrorCode.GROUP_ID_NOT_FOUND, `Group ${input.groupId} not found.`);
      if (classic) {
        classic.markDead();
        this.#classic.delete(input.groupId);
        this.#o.logger.info("Converted an empty classic group to a consumer group", { group: input.groupId });
      }
      group = new ConsumerGroup(input.groupId, this.#consumerOptions());
      this.#consumer.set(input.groupId, group);
    }
    const epoch = group.groupEpoch;
    const out = group.heartbeat(input);
    if (group.groupEpoch !== epoch || out.memberEpoch !== input.memberEpoch || out.assignment !== null) {
      this.#saveConsumer(group);
    }
    return out;
  }

  /** A KIP-848 group, if there is one with this id. */
  consumer(groupId: string): ConsumerGroup | undefined {
    return this.#consumer.get(groupId);
  }

  /** The classic group, optionally created (empty) when missing. */
  classic(groupId: string, create = false): ClassicGroup | undefined {
    let g = this.#classic.get(groupId);
    if (!g && create) {
      g = this.#newClassic(groupId);
      this.#classic.set(groupId, g);
    }
    return g;
  }

  /** JoinGroup: validates the request, then joins (the answer may wait for the rebalance). */
  join(groupId: string, req: JoinRequest): Promise<JoinResult> {
    const c = this.#o.config;
    const reject = (errorCode: number) => Promise.resolve(joinError(req.memberId, errorCode));
    if (groupId === "") return reject(ErrorCode.INVALID_GROUP_ID);
    if (
      req.sessionTimeoutMs < c.number("group.min.session.timeout.ms") ||
      req.sessionTimeoutMs > c.number("group.max.session.timeout.ms")
    ) {
      return reject(ErrorCode.INVALID_SESSION_TIMEOUT);
    }
    const consumer = this.#consumer.get(groupId);
    if (consumer) {
      if (!consumer.isEmpty()) return reject(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
      consumer.markDead();
      this.#consumer.delete(groupId);
    }
    const group = this.classic(groupId, req.memberId === "");
    if (!group) return reject(ErrorCode.UNKNOWN_MEMBER_ID);
    return new Promise((resolve) => group.join(req, resolve));
  }

  /** SyncGroup: followers' answers wait for the leader's assignment. */
  sync(groupId: string, req: Parameters<ClassicGroup["sync"]>[0]): Promise<SyncResult> {
    const group = this.#classic.get(groupId);
    if (!group) {
      return Promise.resolve({
        errorCode: ErrorCode.UNKNOWN_MEMBER_ID,
        protocolType: null,
        protocolName: null,
        assignment: new Uint8Array(0),
      });
    }
    return new Promise((resolve) => group.sync(req, resolve));
  }

  heartbeat(groupId: string, req: Parameters<ClassicGroup["heartbeat"]>[0]): number {
    const group = this.#classic.get(groupId);
    if (!group) return ErrorCode.UNKNOWN_MEMBER_ID;
    return group.heartbeat(req);
  }

  /** LeaveGroup for each member; the top-level error is set only when the group is unknown. */
  leave(
    groupId: string,
    members: { memberId: string; groupInstanceId: string | null }[],
  ): { errorCode: number; members: { memberId: string; groupInstanceId: string | null; errorCode: number }[] } {
    const group = this.#classic.get(groupId);
    if (!group) {
      return {
        errorCode: ErrorCode.UNKNOWN_MEMBER_ID,
        members: members.map((m) => ({ ...m, errorCode: ErrorCode.UNKNOWN_MEMBER_ID })),
      };
    }
    const results = members.map((m) => ({ ...m, errorCode: group.leave(m.memberId, m.groupInstanceId) }));
    if (results.length > 0) this.#o.logger.debug("Members left group", { group: groupId, count: results.length });
    return { errorCode: ErrorCode.NONE, members: results };
  }

  /**
   * OffsetCommit: one error code per partition (the group-level checks apply to every one).
   * `generationId` -1 with an empty member id is a simple commit from a group-less consumer.
   */
  async commitOffsets(
    groupId: string,
    member: { memberId: string; groupInstanceId: string | null; generationId: number; apiVersion?: number },
    offsets: readonly OffsetToCommit[],
  ): Promise<number[]> {
    const { codes, accepted } = this.checkCommit(groupId, member, offsets);
    await this.#o.store.commit(groupId, accepted);
    return codes;
  }

  /**
   * Stores offsets a transaction committed (TxnOffsetCommit staged them; the COMMIT makes them
   * visible), with no member checks: those were made when they were staged.
   */
  async applyTransactionalOffsets(groupId: string, offsets: readonly CommittedOffset[]): Promise<void> {
    if (offsets.length > 0) await this.#o.store.commit(groupId, offsets);
  }

  /**
   * The checks of an offset commit, without storing anything: one error code per partition and
   * the offsets that passed (TxnOffsetCommit stages those until its transaction ends).
   */
  checkCommit(
    groupId: string,
    member: { memberId: string; groupInstanceId: string | null; generationId: number; apiVersion?: number },
    offsets: readonly OffsetToCommit[],
  ): { codes: number[]; accepted: CommittedOffset[] } {
    if (groupId === "") return { codes: offsets.map(() => ErrorCode.INVALID_GROUP_ID), accepted: [] };
    let groupError: number = ErrorCode.NONE;
    const group = this.#classic.get(groupId);
    const consumer = this.#consumer.get(groupId);
    if (consumer) {
      const opts = member.apiVersion === undefined ? {} : { apiVersion: member.apiVersion };
      groupError = consumer.validateOffsetCommit(member.memberId, member.generationId, false, opts);
    } else if (!group) {
      // Kafka accepts commits for an unknown group only from consumers without a generation.
      if (member.generationId >= 0) groupError = ErrorCode.ILLEGAL_GENERATION;
      else this.classic(groupId, true);
    } else {
      groupError = group.validateCommit(member.memberId, member.groupInstanceId, member.generationId);
    }
    const maxMetadata = this.#o.config.number("offset.metadata.max.bytes");
    const now = this.#o.clock.now();
    const codes: number[] = [];
    const accepted: CommittedOffset[] = [];
    for (const o of offsets) {
      if (groupError !== ErrorCode.NONE) {
        codes.push(groupError);
        continue;
      }
      const partitions = this.#o.partitionsOf(o.topic);
      if (partitions === null || o.partition < 0 || o.partition >= partitions) {
        codes.push(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
        continue;
      }
      if (o.metadata !== null && new TextEncoder().encode(o.metadata).length > maxMetadata) {
        codes.push(ErrorCode.OFFSET_METADATA_TOO_LARGE);
        continue;
      }
      // Kafka stores a commit without metadata as the empty string, and fetches it back so.
      accepted.push({ ...o, metadata: o.metadata ?? "", commitMs: o.commitMs ?? now });
      codes.push(ErrorCode.NONE);
    }
    return { codes, accepted };
  }

  /** OffsetFetch: committed offsets of the named partitions (or all, when `topics` is null). */
  fetchOffsets(
    groupId: string,
    topics: { name: string; partitionIndexes: number[] }[] | null,
    member?: { memberId: string | null; memberEpoch: number },
  ): {
    errorCode: number;
    topics: {
      name: string;
      partitions: {
        partitionIndex: number;
        committedOffset: number;
        committedLeaderEpoch: number;
        metadata: string | null;
        errorCode: number;
      }[];
    }[];
  } {
    const store = this.#o.store;
    const consumer = this.#consumer.get(groupId);
    if (consumer && member) {
      const errorCode = consumer.validateOffsetFetch(member.memberId, member.memberEpoch);
      if (errorCode !== ErrorCode.NONE) return { errorCode, topics: [] };
    }
    if (topics === null) {
      const byTopic = new Map<
        string,
        {
          partitionIndex: number;
          committedOffset: number;
          committedLeaderEpoch: number;
          metadata: string | null;
          errorCode: number;
        }[]
      >();
      for (const o of store.offsets(groupId)) {
        let list = byTopic.get(o.topic);
        if (!list) byTopic.set(o.topic, list = []);
        list.push({
          partitionIndex: o.partition,
          committedOffset: o.offset,
          committedLeaderEpoch: o.leaderEpoch,
          metadata: o.metadata ?? "",
          errorCode: 0,
        });
      }
      return {
        errorCode: ErrorCode.NONE,
        topics: [...byTopic.entries()].map(([name, partitions]) => ({
          name,
          partitions: partitions.sort((a, b) => a.partitionIndex - b.partitionIndex),
        })),
      };
    }
    return {
      errorCode: ErrorCode.NONE,
      topics: topics.map((t) => ({
        name: t.name,
        partitions: t.partitionIndexes.map((p) => {
          const o = store.offset(groupId, t.name, p);
          return {
            partitionIndex: p,
            committedOffset: o?.offset ?? -1,
            committedLeaderEpoch: o?.leaderEpoch ?? -1,
            metadata: o?.metadata ?? "",
            errorCode: ErrorCode.NONE,
          };
        }),
      })),
    };
  }

  /**
   * OffsetDelete: removes offsets of partitions the group no longer consumes; a topic the
   * group's members subscribe to gets GROUP_SUBSCRIBED_TO_TOPIC for each of its partitions.
   */
  async deleteOffsets(
    groupId: string,
    topics: { name: string; partitions: number[] }[],
  ): Promise<{ errorCode: number; codes: number[][] }> {
    const group = this.#classic.get(groupId);
    const consumer = this.#consumer.get(groupId);
    if (!group && !consumer && !this.#o.store.groupIds().includes(groupId)) {
      return {
        errorCode: ErrorCode.GROUP_ID_NOT_FOUND,
        codes: topics.map((t) => t.partitions.map(() => ErrorCode.NONE)),
      };
    }
    const subscribed = consumer && !consumer.isEmpty()
      ? consumer.subscribedTopicNames()
      : group && !group.isEmpty()
      ? group.subscribedTopics()
      : new Set<string>();
    const deletions: Promise<number>[] = [];
    const codes = topics.map((t) => {
      if (subscribed.has(t.name)) return t.partitions.map(() => ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC);
      if (this.#o.partitionsOf(t.name) === null) return t.partitions.map(() => ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
      deletions.push(this.#o.store.deleteOffsets(groupId, t.name, t.partitions));
      return t.partitions.map(() => ErrorCode.NONE);
    });
    await Promise.all(deletions);
    return { errorCode: ErrorCode.NONE, codes };
  }

  /** Describes a group for DescribeGroups (Kafka answers an unknown group as Dead). */
  describe(groupId: string): {
    /** Why the group is answered as Dead (Kafka's GroupIdNotFoundException message), if it is. */
    notFound?: string;
    state: string;
    protocolType: string;
    protocolData: string;
    members: {
      memberId: string;
      groupInstanceId: string | null;
      clientId: string;
      clientHost: string;
      memberMetadata: Uint8Array;
      memberAssignment: Uint8Array;
    }[];
  } {
    // Kafka's DescribeGroups only describes classic groups: a KIP-848 group is answered as Dead
    // (GroupMetadataManager.describeGroups); ConsumerGroupDescribe describes it.
    const dead = (notFound: string) => ({ notFound, state: "Dead", protocolType: "", protocolData: "", members: [] });
    if (this.#consumer.has(groupId)) return dead(`Group ${groupId} is not a classic group.`);
    const g = this.#classic.get(groupId);
    if (!g) {
      if (!this.#o.store.groupIds().includes(groupId)) return dead(`Group ${groupId} not found.`);
      return { state: "Empty", protocolType: "", protocolData: "", members: [] };
    }
    const stable = g.state === "Stable";
    return {
      state: g.state,
      protocolType: g.protocolType ?? "",
      protocolData: stable ? (g.protocolName ?? "") : "",
      members: [...g.members.values()].map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        memberMetadata: stable
          ? (m.protocols.find((p) => p.name === g.protocolName)?.metadata ?? new Uint8Array(0))
          : new Uint8Array(0),
        memberAssignment: stable ? m.assignment : new Uint8Array(0),
      })),
    };
  }

  /** Groups for ListGroups: id, protocol type, state and group type. */
  list(): { groupId: string; protocolType: string; groupState: string; groupType: string }[] {
    return this.groupIds().map((groupId) => {
      const cg = this.#consumer.get(groupId);
      if (cg) return { groupId, protocolType: "consumer", groupState: cg.describe().state, groupType: "consumer" };
      const g = this.#classic.get(groupId);
      return {
        groupId,
        protocolType: g?.protocolType ?? "",
        groupState: g?.state ?? "Empty",
        groupType: "classic",
      };
    });
  }

  /**
   * The groups this node coordinates, for metrics: type, state, member count and committed
   * offsets (in-memory views, no I/O).
   */
  stats(): {
    groupId: string;
    type: "classic" | "consumer";
    state: string;
    members: number;
    offsets: { topic: string; partition: number; offset: number }[];
  }[] {
    const out = [];
    for (const groupId of this.groupIds()) {
      if (this.coordinatorError(groupId) !== ErrorCode.NONE) continue;
      const cg = this.#consumer.get(groupId)?.describe();
      const g = this.#classic.get(groupId);
      out.push({
        groupId,
        type: cg ? "consumer" as const : "classic" as const,
        state: cg ? cg.state : g?.state ?? "Empty",
        members: cg ? cg.members.length : g?.members.size ?? 0,
        offsets: this.#o.store.offsets(groupId),
      });
    }
    return out;
  }

  /** Every group id known here (groups with members, saved state or offsets). */
  groupIds(): string[] {
    return [...new Set([...this.#classic.keys(), ...this.#consumer.keys(), ...this.#o.store.groupIds()])].sort();
  }

  /** Deletes a group: GROUP_ID_NOT_FOUND, NON_EMPTY_GROUP or NONE (once stored). */
  async deleteGroup(groupId: string): Promise<number> {
    const group = this.#classic.get(groupId);
    const consumer = this.#consumer.get(groupId);
    const known = group !== undefined || consumer !== undefined || this.#o.store.groupIds().includes(groupId);
    if (!known) return ErrorCode.GROUP_ID_NOT_FOUND;
    if ((group && !group.isEmpty()) || (consumer && !consumer.isEmpty())) return ErrorCode.NON_EMPTY_GROUP;
    group?.markDead();
    consumer?.markDead();
    this.#classic.delete(groupId);
    this.#consumer.delete(groupId);
    await this.#o.store.deleteGroup(groupId);
    this.#o.logger.info("Deleted group", { group: groupId });
    return ErrorCode.NONE;
  }

  /** Session expiry sweep (runs every 200 ms). */
  expireMembers(): void {
    for (const g of this.#consumer.values()) {
      const gone = g.expireMembers();
      if (gone.length > 0) {
        this.#o.logger.info("Removed consumer group members after their session or rebalance timeout", {
          group: g.groupId,
          members: gone.length,
        });
        this.#saveConsumer(g);
      }
    }
    for (const g of this.#classic.values()) {
      const gone = g.expire();
      if (gone.length > 0) {
        this.#o.logger.info("Removed members after their session expired", { group: g.groupId, members: gone.length });
      }
    }
  }

  /** Offset retention sweep (KIP-211): only groups without members lose offsets. */
  expireOffsets(): void {
    const retentionMs = this.#o.config.number("offsets.retention.minutes") * 60_000;
    const now = this.#o.clock.now();
    for (const groupId of this.#o.store.groupIds()) {
      const g = this.#classic.get(groupId);
      if (g && !g.isEmpty()) continue;
      if (this.#consumer.get(groupId)?.isEmpty() === false) continue;
      const emptySince = g && g.protocolType !== null ? g.stateSinceMs : null;
      const stale = this.#o.store.offsets(groupId).filter((o) => now - (emptySince ?? o.commitMs) >= retentionMs);
      const expired = stale.map((o) => this.#o.store.deleteOffsets(groupId, o.topic, [o.partition]));
      if (stale.length > 0) {
        this.#o.logger.info("Expired committed offsets", { group: groupId, partitions: stale.length });
      }
      Promise.all(expired).then(() => {
        if (
          !this.#o.store.hasOffsets(groupId) && g && g.isEmpty() && g.state === "Empty" &&
          this.#classic.get(groupId) === g
        ) {
          this.#classic.delete(groupId);
          return this.#o.store.deleteGroup(groupId);
        }
      }).catch((err) => {
        this.#o.logger.error("Could not expire committed offsets", { group: groupId, error: String(err) });
      });
    }
  }

  /** A deleted topic's offsets are removed from every group. */
  onTopicDeleted(topic: string): Promise<void> {
    return this.#o.store.deleteTopic(topic);
  }

  /** Stops timers; members still waiting for a rebalance are told to find the coordinator again. */
  close(): void {
    for (const g of this.#consumer.values()) g.markDead();
    for (const g of this.#classic.values()) {
      if (g.state === "PreparingRebalance" || g.state === "CompletingRebalance") g.markDead();
    }
    if (this.#expiryTimer) clearInterval(this.#expiryTimer);
    if (this.#retentionTimer) clearInterval(this.#retentionTimer);
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    this.#closed = true;
  }
}
