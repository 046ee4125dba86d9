/**
 * A member of a classic consumer group, as Kafka's Java consumer and librdkafka run one:
 * FindCoordinator, then JoinGroup and SyncGroup (the leader runs the chosen assignor), then
 * Heartbeat in the background until a rebalance, and LeaveGroup on close.
 *
 * - Protocols are offered in preference order (default `range,cooperative-sticky`, the Java
 *   client's since 3.0); the coordinator picks the first one every member offers.
 * - Rebalance protocol, as Kafka's ConsumerCoordinator decides it: cooperative (KIP-429) only when
 *   every offered assignor supports it. Eager members revoke everything before they rejoin;
 *   cooperative members keep consuming, revoke only what they lose and rejoin once more so the
 *   leader can hand those partitions over.
 * - Errors: MEMBER_ID_REQUIRED (KIP-394) rejoins with the given id; UNKNOWN_MEMBER_ID rejoins
 *   with an empty id and ILLEGAL_GENERATION with the same one, both after declaring the owned
 *   partitions lost; REBALANCE_IN_PROGRESS rejoins; COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR,
 *   COORDINATOR_LOAD_IN_PROGRESS and broken connections look the coordinator up again (the
 *   membership survives while the session lasts); FENCED_INSTANCE_ID and other errors are fatal.
 * - Static membership (KIP-345): with a `groupInstanceId` the member does not leave on close
 *   unless told to, so a restart within the session timeout gets its partitions back without a
 *   rebalance.
 * - The member talks to the coordinator over two connections of its own: one for JoinGroup and
 *   SyncGroup, which can wait for a whole rebalance (a broker answers one request per connection
 *   at a time), and one for Heartbeat, OffsetCommit, OffsetFetch and LeaveGroup. Fetches stay on
 *   the client's shared connections.
 *
 * Rebalance listeners ("revoked", "assigned", "lost") are awaited in order; a consumer commits
 * in "revoked" what it consumed from the partitions it gives up. A listener that throws is fatal
 * to the member, and a listener must not await {@link GroupMember.close}.
 *
 * @module
 */

import { OFFSET_COMMIT_API } from "../protocol/generated/08_offset_commit.ts";
import { OFFSET_FETCH_API } from "../protocol/generated/09_offset_fetch.ts";
import { JOIN_GROUP_API, type JoinGroupResponseMember } from "../protocol/generated/11_join_group.ts";
import { HEARTBEAT_API } from "../protocol/generated/12_heartbeat.ts";
import { LEAVE_GROUP_API } from "../protocol/generated/13_leave_group.ts";
import { SYNC_GROUP_API } from "../protocol/generated/14_sync_group.ts";
import type { ApiDescriptor } from "../protocol/generated/api_keys.ts";
import { ErrorCode, errorName, isRetriable } from "../protocol/generated/errors.ts";
import {
  type Assignor,
  ASSIGNORS,
  comparePartitions,
  decodeAssignmentPartitions,
  decodeSubscription,
  DEFAULT_ASSIGNORS,
  encodeAssignment,
  encodeSubscription,
  type GroupSubscriber,
  type RebalanceProtocol,
  rebalanceProtocol,
  type Subscription,
  type TopicPartition,
} from "./assignors.ts";
import type { KafkaClient } from "./client.ts";
import type { KafkaConnection } from "./connection.ts";
import { KafkaClientError } from "./errors.ts";
import type { NoticeLevel } from "./fetcher.ts";
import { findCoordinator } from "./groups.ts";

/** Options for {@link GroupMember}. */
export interface GroupMemberOptions {
  groupId: string;
  /** Topics to subscribe to. */
  topics: readonly string[];
  /** Assignor names in preference order (default `range,cooperative-sticky`). */
  assignors?: readonly string[];
  /** Static membership (KIP-345); null or absent for a dynamic member. */
  groupInstanceId?: string | null;
  /** Default 45000, as Kafka 3.0+. */
  sessionTimeoutMs?: number;
  /** How long the coordinator waits for members to rejoin (default 300000, Kafka's max.poll.interval.ms). */
  rebalanceTimeoutMs?: number;
  /** Default 3000. */
  heartbeatIntervalMs?: number;
  /** Default 100; doubles per failure up to 1000. */
  retryBackoffMs?: number;
  /** How often the leader checks partition counts to rebalance on a change (default 300000). */
  metadataMaxAgeMs?: number;
  /** Send LeaveGroup on close (default: dynamic members do, static members do not). */
  leaveOnClose?: boolean;
  /** Sent in the subscription (v3) for rack-aware assignors. */
  rackId?: string | null;
  /** Rebalances, retries and failures worth telling the user. */
  onNotice?: (message: string, level: NoticeLevel) => void;
}

/** An offset to commit: the next offset to consume (last consumed + 1). */
export interface OffsetToCommit {
  topic: string;
  partition: number;
  offset: bigint;
  /** The leader epoch of the last consumed record, when known. */
  leaderEpoch?: number;
  metadata?: string;
}

/** A committed offset as OffsetFetch reports it; `offset` -1 means none. */
export interface CommittedPosition {
  topic: string;
  partition: number;
  offset: bigint;
  leaderEpoch: number;
  metadata: string | null;
}

/** The outcome of committing one partition. */
export interface CommitResult {
  topic: string;
  partition: number;
  errorCode: number;
}

/** A rebalance listener; the member waits for it. */
export type PartitionsListener = (partitions: TopicPartition[]) => void | Promise<void>;

/** The events of a {@link GroupMember}. */
export interface GroupMemberEvents {
  /** Partitions newly assigned (eager: the whole assignment, each generation). */
  assigned: PartitionsListener;
  /** Partitions given up while still a member: commit them now. */
  revoked: PartitionsListener;
  /** Partitions lost with the membership (session expired, fenced): committing is no longer possible. */
  lost: PartitionsListener;
  /** A fatal error: the member stopped; close it. */
  error: (error: Error) => void;
}

type State = "idle" | "joining" | "stable" | "closing" | "closed" | "failed";

interface CoordinatorLink {
  nodeId: number;
  host: string;
  port: number;
  /** JoinGroup and SyncGroup. */
  join: KafkaConnection;
  /** Heartbeat, offsets and LeaveGroup. */
  control: KafkaConnection;
}

const COORDINATOR_ERRORS: ReadonlySet<number> = new Set([
  ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
  ErrorCode.COORDINATOR_NOT_AVAILABLE,
  ErrorCode.NOT_COORDINATOR,
]);
const PROTOCOL_TYPE = "consumer";
/** Errors that end the member, marked so the run loop does not retry them. */
const FATAL = new WeakSet<Error>();

function fatal(error: Error): Error {
  FATAL.add(error);
  return error;
}

/** Whether the run loop should back off and try again after `err`. */
function retriable(err: unknown): boolean {
  if (!(err instanceof KafkaClientError) || FATAL.has(err)) return false;
  return err.code === null || isRetriable(err.code) || COORDINATOR_ERRORS.has(err.code);
}

function key(tp: TopicPartition): string {
  return `${tp.topic}\0${tp.partition}`;
}

function minus(a: readonly TopicPartition[], b: readonly TopicPartition[]): TopicPartition[] {
  const drop = new Set(b.map(key));
  return a.filter((tp) => !drop.has(key(tp)));
}

function describePartitions(list: readonly TopicPartition[]): string {
  if (list.length === 0) return "none";
  return list.map((tp) => `${tp.topic}-${tp.partition}`).join(", ");
}

/**
 * A classic consumer-group member.
 * @example
 * const member = new GroupMember(client, { groupId: "g", topics: ["orders"] });
 * member.on("assigned", async (parts) => startFetching(parts, await member.committed(parts)));
 * member.on("revoked", async (parts) => { await member.commit(positionsOf(parts)); stopFetching(parts); });
 * await member.start();
 * // … consume, commit periodically …
 * await member.close();
 */
export class GroupMember {
  readonly groupId: string;
  /** How this member rebalances, from its assignors. */
  readonly protocol: RebalanceProtocol;
  readonly #client: KafkaClient;
  readonly #topics: string[];
  readonly #assignors: Assignor[];
  readonly #instanceId: string | null;
  readonly #sessionTimeoutMs: number;
  readonly #rebalanceTimeoutMs: number;
  readonly #heartbeatIntervalMs: number;
  readonly #retryBackoffMs: number;
  readonly #metadataMaxAgeMs: number;
  readonly #leaveOnClose: boolean;
  readonly #rackId: string | null;
  readonly #onNotice: (message: string, level: NoticeLevel) => void;
  readonly #listeners: { [E in keyof GroupMemberEvents]: Set<GroupMemberEvents[E]> } = {
    assigned: new Set(),
    revoked: new Set(),
    lost: new Set(),
    error: new Set(),
  };

  #state: State = "idle";
  #memberId = "";
  #generationId = -1;
  #protocolName: string | null = null;
  #leaderId = "";
  #owned: TopicPartition[] = [];
  /** Why the member must (re)join; null while it need not. */
  #rejoinReason: string | null = "joining the group";
  /** Bumped at each join, so late heartbeat answers of an older generation are ignored. */
  #joinEpoch = 0;
  #coordinator: CoordinatorLink | null = null;
  #discovering: Promise<CoordinatorLink> | null = null;
  #heartbeatTimer: ReturnType<typeof setTimeout> | null = null;
  #heartbeatInFlight = false;
  #wake: (() => void) | null = null;
  #loop: Promise<void> | null = null;
  #closing: Promise<void> | null = null;
  #failure: Error | null = null;
  #startedSettled = false;
  #resolveStarted!: () => void;
  #rejectStarted!: (err: Error) => void;
  readonly #started: Promise<void>;
  /** Leader only: the partition counts the last assignment was computed from. */
  #snapshot: Map<string, number> | null = null;
  #groupTopics: string[] = [];
  #metadataCheckedAtMs = 0;
  #checkingMetadata = false;

  /**
   * @throws RangeError for an unknown assignor name, no topics or an empty group id
   */
  constructor(client: KafkaClient, options: GroupMemberOptions) {
    if (options.groupId === "") throw new RangeError("Cannot join a group: the group id is empty");
    if (options.topics.length === 0) throw new RangeError(`Cannot join group "${options.groupId}": no topics`);
    const names = options.assignors ?? DEFAULT_ASSIGNORS;
    if (names.length === 0) throw new RangeError(`Cannot join group "${options.groupId}": no assignors`);
    this.#assignors = names.map((name) => {
      const a = ASSIGNORS.get(name);
      if (!a) {
        throw new RangeError(
          `Cannot join group "${options.groupId}": unknown assignor "${name}" (known: ${
            [...ASSIGNORS.keys()].join(", ")
          })`,
        );
      }
      return a;
    });
    this.groupId = options.groupId;
    this.protocol = rebalanceProtocol(this.#assignors);
    this.#client = client;
    this.#topics = [...new Set(options.topics)];
    this.#instanceId = options.groupInstanceId ?? null;
    this.#sessionTimeoutMs = options.sessionTimeoutMs ?? 45000;
    this.#rebalanceTimeoutMs = options.rebalanceTimeoutMs ?? 300000;
    this.#heartbeatIntervalMs = options.heartbeatIntervalMs ?? 3000;
    this.#retryBackoffMs = options.retryBackoffMs ?? 100;
    this.#metadataMaxAgeMs = options.metadataMaxAgeMs ?? 300000;
    this.#leaveOnClose = options.leaveOnClose ?? this.#instanceId === null;
    this.#rackId = options.rackId ?? null;
    this.#onNotice = options.onNotice ?? (() => {});
    this.#started = new Promise<void>((resolve, reject) => {
      this.#resolveStarted = resolve;
      this.#rejectStarted = reject;
    });
    // start() hands this promise out; a failure nobody awaits is reported through "error".
    this.#started.catch(() => {});
  }

  /** The member id the coordinator gave ("" before the first join). */
  get memberId(): string {
    return this.#memberId;
  }

  /** The current generation, -1 when not in one. */
  get generationId(): number {
    return this.#generationId;
  }

  /** The assignor the group chose, once joined. */
  get protocolName(): string | null {
    return this.#protocolName;
  }

  /** Whether this member led the last rebalance. */
  get isLeader(): boolean {
    return this.#memberId !== "" && this.#leaderId === this.#memberId;
  }

  /** The fatal error that stopped the member, if any. */
  get failure(): Error | null {
    return this.#failure;
  }

  /** The partitions the member owns now, sorted. */
  assignment(): TopicPartition[] {
    return this.#owned.map((tp) => ({ ...tp }));
  }

  /**
   * Adds a listener.
   * @returns a function that removes it
   */
  on<E extends keyof GroupMemberEvents>(event: E, listener: GroupMemberEvents[E]): () => void {
    const set = this.#listeners[event] as Set<GroupMemberEvents[E]>;
    set.add(listener);
    return () => set.delete(listener);
  }

  /**
   * Joins the group and keeps the membership in the background.
   * @returns a promise that resolves once the first assignment is in place (its "assigned"
   *   listeners done), or rejects with a fatal error or when the member is closed first
   */
  start(): Promise<void> {
    if (this.#state === "idle") {
      this.#state = "joining";
      this.#loop = this.#run();
    }
    return this.#started;
  }

  /**
   * Leaves the group: "revoked" (or "lost") for what the member owns, then LeaveGroup unless
   * it is a static member (or `options.leave` says otherwise), then closes its connections.
   * Failures along the way are notices, not errors.
   */
  close(options: { leave?: boolean } = {}): Promise<void> {
    this.#closing ??= this.#close(options.leave ?? this.#leaveOnClose);
    return this.#closing;
  }

  /**
   * Commits offsets with this member's generation (OffsetCommit), retrying coordinator errors.
   * A commit refused with ILLEGAL_GENERATION or UNKNOWN_MEMBER_ID means the membership is gone:
   * the member rejoins; FENCED_INSTANCE_ID stops it, as a heartbeat answering so would.
   * @returns one error code per partition, in the order given
   * @throws KafkaClientError when the coordinator stays unreachable
   */
  async commit(offsets: readonly OffsetToCommit[]): Promise<CommitResult[]> {
    if (offsets.length === 0) return [];
    const answer = (code: number) => offsets.map((o) => ({ topic: o.topic, partition: o.partition, errorCode: code }));
    for (let attempt = 0;; attempt++) {
      const generationId = this.#generationId;
      const memberId = this.#memberId;
      if (generationId < 0 || memberId === "") return answer(ErrorCode.ILLEGAL_GENERATION);
      let results: CommitResult[];
      try {
        const link = await this.#link();
        const byTopic = new Map<string, OffsetToCommit[]>();
        for (const o of offsets) {
          let list = byTopic.get(o.topic);
          if (!list) byTopic.set(o.topic, list = []);
          list.push(o);
        }
        const { response } = await this.#client.send(OFFSET_COMMIT_API, () => ({
          groupId: this.groupId,
          generationIdOrMemberEpoch: generationId,
          memberId,
          groupInstanceId: this.#instanceId,
          retentionTimeMs: -1n,
          topics: [...byTopic].map(([name, list]) => ({
            name,
            partitions: list.map((o) => ({
              partitionIndex: o.partition,
              committedOffset: o.offset,
              committedLeaderEpoch: o.leaderEpoch ?? -1,
              committedMetadata: o.metadata ?? "",
            })),
          })),
        }), { to: link.control, minVersion: 2 });
        const codes = new Map<string, number>();
        for (const t of response.topics) {
          for (const p of t.partitions) codes.set(key({ topic: t.name, partition: p.partitionIndex }), p.errorCode);
        }
        results = offsets.map((o) => ({
          topic: o.topic,
          partition: o.partition,
          errorCode: codes.get(key(o)) ?? ErrorCode.UNKNOWN_SERVER_ERROR,
        }));
      } catch (err) {
        if (!retriable(err) || attempt >= 3 || this.#isClosed()) throw err;
        this.#coordinatorLost(`commit failed: ${(err as Error).message}`);
        await this.#pause(this.#backoff(attempt));
        continue;
      }
      const coordinatorError = results.find((r) => COORDINATOR_ERRORS.has(r.errorCode));
      if (coordinatorError && attempt < 3 && !this.#isClosed()) {
        this.#coordinatorLost(`commit answered ${errorName(coordinatorError.errorCode)}`);
        await this.#pause(this.#backoff(attempt));
        continue;
      }
      if (results.some((r) => r.errorCode === ErrorCode.FENCED_INSTANCE_ID)) {
        this.#fail(this.#joinError("stay in", ErrorCode.FENCED_INSTANCE_ID));
        return results;
      }
      const gone = results.find((r) =>
        r.errorCode === ErrorCode.UNKNOWN_MEMBER_ID || r.errorCode === ErrorCode.ILLEGAL_GENERATION
      );
      if (gone && this.#state === "stable" && this.#generationId === generationId) {
        this.#resetGeneration(gone.errorCode === ErrorCode.UNKNOWN_MEMBER_ID);
        this.#requestRejoin(`a commit answered ${errorName(gone.errorCode)}`);
      }
      return results;
    }
  }

  /**
   * The group's committed offsets for these partitions (OffsetFetch, requiring stable offsets as
   * Kafka's consumer does), retrying coordinator errors and UNSTABLE_OFFSET_COMMIT.
   * @returns one entry per partition, in the order given; `offset` -1 when none is committed
   * @throws KafkaClientError for other errors, or when the coordinator stays unreachable
   */
  async committed(partitions: readonly TopicPartition[]): Promise<CommittedPosition[]> {
    if (partitions.length === 0) return [];
    const byTopic = new Map<string, number[]>();
    for (const tp of partitions) {
      let list = byTopic.get(tp.topic);
      if (!list) byTopic.set(tp.topic, list = []);
      list.push(tp.partition);
    }
    const topics = [...byTopic].map(([name, partitionIndexes]) => ({ name, partitionIndexes }));
    for (let attempt = 0;; attempt++) {
      let errorCode: number = ErrorCode.NONE;
      const found = new Map<string, CommittedPosition & { errorCode: number }>();
      try {
        const link = await this.#link();
        const { response, version } = await this.#client.send(
          OFFSET_FETCH_API,
          (v) =>
            v >= 8
              ? { groups: [{ groupId: this.groupId, memberId: null, memberEpoch: -1, topics }], requireStable: true }
              : { groupId: this.groupId, topics, requireStable: true },
          { to: link.control, minVersion: 1 },
        );
        const group = version >= 8
          ? response.groups.find((g) => g.groupId === this.groupId) ?? response.groups[0]
          : { errorCode: response.errorCode, topics: response.topics };
        errorCode = group?.errorCode ?? ErrorCode.NONE;
        for (const t of group?.topics ?? []) {
          for (const p of t.partitions) {
            found.set(key({ topic: t.name, partition: p.partitionIndex }), {
              topic: t.name,
              partition: p.partitionIndex,
              offset: p.committedOffset,
              leaderEpoch: p.committedLeaderEpoch,
              metadata: p.metadata,
              errorCode: p.errorCode,
            });
          }
        }
        if (errorCode === ErrorCode.NONE) {
          errorCode = [...found.values()].find((p) => p.errorCode !== ErrorCode.NONE)?.errorCode ?? ErrorCode.NONE;
        }
      } catch (err) {
        if (!retriable(err) || attempt >= 5 || this.#isClosed()) throw err;
        this.#coordinatorLost(`fetching committed offsets failed: ${(err as Error).message}`);
        await this.#pause(this.#backoff(attempt));
        continue;
      }
      if (errorCode === ErrorCode.NONE) {
        return partitions.map((tp) => {
          const p = found.get(key(tp));
          return {
            topic: tp.topic,
            partition: tp.partition,
            offset: p?.offset ?? -1n,
            leaderEpoch: p?.leaderEpoch ?? -1,
            metadata: p?.metadata ?? null,
          };
        });
      }
      const again = COORDINATOR_ERRORS.has(errorCode) || errorCode === ErrorCode.UNSTABLE_OFFSET_COMMIT;
      if (!again || attempt >= 10 || this.#isClosed()) {
        throw new KafkaClientError(`Cannot fetch the committed offsets of group "${this.groupId}"`, {
          code: errorCode,
        });
      }
      if (COORDINATOR_ERRORS.has(errorCode)) this.#coordinatorLost(`OffsetFetch answered ${errorName(errorCode)}`);
      await this.#pause(this.#backoff(attempt));
    }
  }

  // ---- the run loop ----

  async #run(): Promise<void> {
    let failures = 0;
    while (this.#state !== "closing" && this.#state !== "failed") {
      try {
        await this.#link();
        if (this.#rejoinReason !== null) {
          await this.#join();
        } else {
          this.#scheduleHeartbeat();
          await this.#pause();
        }
        failures = 0;
      } catch (err) {
        if (this.#isClosed()) break;
        if (!retriable(err)) {
          this.#fail(err as Error);
          break;
        }
        this.#onNotice(`Group "${this.groupId}": ${(err as Error).message}; retrying`, "warning");
        if ((err as KafkaClientError).code === null || COORDINATOR_ERRORS.has((err as KafkaClientError).code!)) {
          this.#coordinatorLost((err as Error).message);
        }
        await this.#pause(this.#backoff(failures++));
      }
    }
  }

  /** One join: JoinGroup, the leader's assignment, SyncGroup, then the listeners. */
  async #join(): Promise<void> {
    // Kafka's onJoinPrepare: partitions of a lost generation are lost; eager members revoke all.
    if (this.#owned.length > 0 && (this.#generationId < 0 || this.#memberId === "")) {
      const lost = this.#owned;
      this.#owned = [];
      this.#onNotice(`Group "${this.groupId}": partitions lost: ${describePartitions(lost)}`, "warning");
      await this.#emit("lost", lost);
    } else if (this.#owned.length > 0 && this.protocol === "eager") {
      const revoked = this.#owned;
      await this.#emit("revoked", revoked);
      this.#owned = [];
    }
    if (this.#isClosed()) return;
    this.#state = "joining";
    this.#stopHeartbeat();
    const epoch = ++this.#joinEpoch;
    const link = await this.#link();
    const joinVersion = this.#version(link.join, JOIN_GROUP_API, this.#instanceId === null ? 0 : 5);
    const reason = this.#rejoinReason ?? "rejoining";
    this.#onNotice(`Group "${this.groupId}": joining (${reason})`, "info");
    const { response: joined } = await this.#client.send(JOIN_GROUP_API, () => ({
      groupId: this.groupId,
      sessionTimeoutMs: this.#sessionTimeoutMs,
      rebalanceTimeoutMs: this.#rebalanceTimeoutMs,
      memberId: this.#memberId,
      groupInstanceId: this.#instanceId,
      protocolType: PROTOCOL_TYPE,
      protocols: this.#assignors.map((a) => ({ name: a.name, metadata: encodeSubscription(this.#subscription(a)) })),
      reason,
    }), { to: link.join, maxVersion: joinVersion });
    if (this.#isClosed()) return;
    switch (joined.errorCode) {
      case ErrorCode.NONE:
        break;
      case ErrorCode.MEMBER_ID_REQUIRED:
        // KIP-394: the coordinator named us; join again with that id at once.
        this.#memberId = joined.memberId;
        this.#rejoinReason = "need to re-join with the given member-id";
        return;
      case ErrorCode.UNKNOWN_MEMBER_ID:
      case ErrorCode.ILLEGAL_GENERATION:
        this.#resetGeneration(joined.errorCode === ErrorCode.UNKNOWN_MEMBER_ID);
        this.#rejoinReason = `JoinGroup answered ${errorName(joined.errorCode)}`;
        return;
      case ErrorCode.REBALANCE_IN_PROGRESS:
        this.#rejoinReason = "JoinGroup answered REBALANCE_IN_PROGRESS";
        return;
      default:
        throw this.#joinError("join", joined.errorCode);
    }
    this.#memberId = joined.memberId;
    this.#generationId = joined.generationId;
    this.#protocolName = joined.protocolName;
    this.#leaderId = joined.leader;
    const assignor = this.#assignors.find((a) => a.name === joined.protocolName);
    if (!assignor) {
      throw fatal(
        new KafkaClientError(
          `Cannot join group "${this.groupId}": the coordinator chose protocol "${joined.protocolName}", which this member did not offer`,
          { code: ErrorCode.INCONSISTENT_GROUP_PROTOCOL },
        ),
      );
    }
    const assignments = this.isLeader && !joined.skipAssignment ? await this.#assign(assignor, joined.members) : [];
    if (this.#isClosed()) return;
    const syncVersion = this.#version(link.join, SYNC_GROUP_API, this.#instanceId === null ? 0 : 3);
    const { response: synced } = await this.#client.send(SYNC_GROUP_API, () => ({
      groupId: this.groupId,
      generationId: this.#generationId,
      memberId: this.#memberId,
      groupInstanceId: this.#instanceId,
      protocolType: PROTOCOL_TYPE,
      protocolName: joined.protocolName,
      assignments,
    }), { to: link.join, maxVersion: syncVersion });
    if (this.#isClosed()) return;
    switch (synced.errorCode) {
      case ErrorCode.NONE:
        break;
      case ErrorCode.REBALANCE_IN_PROGRESS:
        this.#rejoinReason = "SyncGroup answered REBALANCE_IN_PROGRESS";
        return;
      case ErrorCode.UNKNOWN_MEMBER_ID:
      case ErrorCode.ILLEGAL_GENERATION:
        this.#resetGeneration(synced.errorCode === ErrorCode.UNKNOWN_MEMBER_ID);
        this.#rejoinReason = `SyncGroup answered ${errorName(synced.errorCode)}`;
        return;
      default:
        throw this.#joinError("sync with", synced.errorCode);
    }
    let assigned: TopicPartition[];
    try {
      assigned = decodeAssignmentPartitions(synced.assignment);
    } catch (err) {
      throw fatal(
        new KafkaClientError(`Cannot read the assignment of group "${this.groupId}": ${(err as Error).message}`, {
          code: null,
        }),
      );
    }
    const foreign = assigned.filter((tp) => !this.#topics.includes(tp.topic));
    if (foreign.length > 0) {
      this.#onNotice(
        `Group "${this.groupId}": ignoring assigned partitions of unsubscribed topics: ${describePartitions(foreign)}`,
        "warning",
      );
      assigned = minus(assigned, foreign);
    }
    await this.#apply(assigned, epoch);
  }

  /** Kafka's onJoinComplete: listeners for what changed, and a second join after a cooperative revoke. */
  async #apply(assigned: TopicPartition[], epoch: number): Promise<void> {
    this.#rejoinReason = null;
    this.#state = "stable";
    this.#scheduleHeartbeat();
    this.#onNotice(
      `Group "${this.groupId}": generation ${this.#generationId} (${this.#protocolName}${
        this.isLeader ? ", leader" : ""
      }) assigned ${describePartitions(assigned)}`,
      "info",
    );
    if (this.protocol === "cooperative") {
      const revoked = minus(this.#owned, assigned);
      const added = minus(assigned, this.#owned);
      if (revoked.length > 0) {
        await this.#emit("revoked", revoked);
        this.#owned = minus(this.#owned, revoked);
        // KIP-429: the partitions given up are handed over in the next rebalance.
        if (epoch === this.#joinEpoch) this.#requestRejoin("partitions were revoked for reassignment");
      }
      this.#owned = [...this.#owned, ...added].sort(comparePartitions);
      await this.#emit("assigned", added);
    } else {
      this.#owned = [...assigned];
      await this.#emit("assigned", assigned);
    }
    if (!this.#startedSettled) {
      this.#startedSettled = true;
      this.#resolveStarted();
    }
  }

  /** The leader's job: decode the subscriptions, read partition counts, run the assignor. */
  async #assign(
    assignor: Assignor,
    members: readonly JoinGroupResponseMember[],
  ): Promise<{ memberId: string; assignment: Uint8Array }[]> {
    const subscribers: GroupSubscriber[] = members.map((m) => {
      let subscription: Subscription;
      try {
        subscription = decodeSubscription(m.metadata);
      } catch (err) {
        this.#onNotice(
          `Group "${this.groupId}": member ${m.memberId} sent a subscription that does not decode (${
            (err as Error).message
          }); it gets nothing`,
          "warning",
        );
        subscription = { topics: [], userData: null, ownedPartitions: [], generationId: -1, rackId: null };
      }
      return { memberId: m.memberId, groupInstanceId: m.groupInstanceId, subscription };
    });
    this.#groupTopics = [...new Set(subscribers.flatMap((s) => s.subscription.topics))].sort();
    const counts = await this.#partitionCounts(this.#groupTopics);
    this.#snapshot = counts;
    this.#metadataCheckedAtMs = Date.now();
    const result = assignor.assign(counts, subscribers);
    return subscribers.map((s) => ({
      memberId: s.memberId,
      assignment: encodeAssignment(result.get(s.memberId) ?? []),
    }));
  }

  async #partitionCounts(topics: readonly string[]): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    if (topics.length === 0) return counts;
    const md = await this.#client.metadata([...topics], { allowAutoTopicCreation: false });
    for (const t of md.topics) {
      if (t.name === null || t.partitions.length === 0) continue;
      if (t.errorCode !== ErrorCode.NONE && t.errorCode !== ErrorCode.LEADER_NOT_AVAILABLE) continue;
      counts.set(t.name, Math.max(...t.partitions.map((p) => p.partitionIndex + 1)));
    }
    return counts;
  }

  /** Leader only: rebalance when a subscribed topic's partition count changed (Kafka's metadata snapshot). */
  async #checkMetadata(): Promise<void> {
    const snapshot = this.#snapshot;
    if (
      !this.isLeader || snapshot === null || this.#checkingMetadata ||
      Date.now() - this.#metadataCheckedAtMs < this.#metadataMaxAgeMs
    ) return;
    this.#checkingMetadata = true;
    this.#metadataCheckedAtMs = Date.now();
    const epoch = this.#joinEpoch;
    try {
      const now = await this.#partitionCounts(this.#groupTopics);
      const same = now.size === snapshot.size && [...now].every(([t, n]) => snapshot.get(t) === n);
      if (!same && epoch === this.#joinEpoch && this.#state === "stable") {
        this.#requestRejoin("the partition counts of subscribed topics changed");
      }
    } catch (err) {
      this.#onNotice(`Group "${this.groupId}": metadata refresh failed: ${(err as Error).message}`, "info");
    } finally {
      this.#checkingMetadata = false;
    }
  }

  #subscription(assignor: Assignor): Subscription {
    const generationId = this.#generationId;
    return {
      topics: this.#topics,
      userData: assignor.userData({ generationId }),
      // Eager members revoked everything before joining, so they own nothing here.
      ownedPartitions: this.#owned,
      generationId,
      rackId: this.#rackId,
    };
  }

  // ---- heartbeats ----

  #scheduleHeartbeat(): void {
    if (
      this.#heartbeatTimer !== null || this.#heartbeatInFlight || this.#state !== "stable" ||
      this.#coordinator === null
    ) return;
    this.#heartbeatTimer = setTimeout(() => {
      this.#heartbeatTimer = null;
      void this.#heartbeat();
    }, this.#heartbeatIntervalMs);
  }

  #stopHeartbeat(): void {
    if (this.#heartbeatTimer !== null) clearTimeout(this.#heartbeatTimer);
    this.#heartbeatTimer = null;
  }

  async #heartbeat(): Promise<void> {
    const link = this.#coordinator;
    if (link === null || this.#state !== "stable") return;
    const epoch = this.#joinEpoch;
    const stale = () => epoch !== this.#joinEpoch || this.#state !== "stable";
    this.#heartbeatInFlight = true;
    try {
      const { response } = await this.#client.send(HEARTBEAT_API, () => ({
        groupId: this.groupId,
        generationId: this.#generationId,
        memberId: this.#memberId,
        groupInstanceId: this.#instanceId,
      }), { to: link.control });
      if (stale()) return;
      const code = response.errorCode;
      switch (code) {
        case ErrorCode.NONE:
          void this.#checkMetadata();
          break;
        case ErrorCode.REBALANCE_IN_PROGRESS:
          this.#requestRejoin("the group is rebalancing");
          break;
        case ErrorCode.UNKNOWN_MEMBER_ID:
        case ErrorCode.ILLEGAL_GENERATION:
          this.#onNotice(`Group "${this.groupId}": heartbeat answered ${errorName(code)}`, "warning");
          this.#resetGeneration(code === ErrorCode.UNKNOWN_MEMBER_ID);
          this.#requestRejoin(`heartbeat answered ${errorName(code)}`);
          break;
        case ErrorCode.FENCED_INSTANCE_ID:
          this.#fail(this.#joinError("stay in", code));
          break;
        default:
          if (COORDINATOR_ERRORS.has(code)) this.#coordinatorLost(`heartbeat answered ${errorName(code)}`);
          else this.#onNotice(`Group "${this.groupId}": heartbeat answered ${errorName(code)}`, "warning");
      }
    } catch (err) {
      if (!stale() && this.#coordinator === link) this.#coordinatorLost(`heartbeat failed: ${(err as Error).message}`);
    } finally {
      this.#heartbeatInFlight = false;
      this.#scheduleHeartbeat();
    }
  }

  // ---- coordinator ----

  /** The coordinator's connections, looked up and opened when needed (one lookup at a time). */
  #link(): Promise<CoordinatorLink> {
    if (this.#coordinator !== null) return Promise.resolve(this.#coordinator);
    // While closing, commits and LeaveGroup still need the coordinator.
    if (this.#state === "closed" || this.#state === "failed") {
      return Promise.reject(new KafkaClientError(`Group member of "${this.groupId}" is closed`, { code: null }));
    }
    this.#discovering ??= (async () => {
      try {
        const c = await findCoordinator(this.#client, this.groupId);
        const joinTimeoutMs = Math.max(this.#client.requestTimeoutMs, this.#rebalanceTimeoutMs + 5000);
        const join = await this.#client.connectTo(c.host, c.port, { requestTimeoutMs: joinTimeoutMs });
        let control: KafkaConnection;
        try {
          control = await this.#client.connectTo(c.host, c.port);
        } catch (err) {
          join.close();
          throw err;
        }
        const link = { ...c, join, control };
        if (this.#state === "closed") {
          join.close();
          control.close();
          throw new KafkaClientError(`Group member of "${this.groupId}" is closed`, { code: null });
        }
        this.#coordinator = link;
        this.#onNotice(`Group "${this.groupId}": coordinator is node ${c.nodeId} at ${c.host}:${c.port}`, "info");
        return link;
      } finally {
        this.#discovering = null;
      }
    })();
    return this.#discovering;
  }

  /** Forgets the coordinator (closing its connections fails what is in flight there). */
  #coordinatorLost(reason: string): void {
    const link = this.#coordinator;
    if (link === null) return;
    this.#coordinator = null;
    this.#stopHeartbeat();
    this.#onNotice(`Group "${this.groupId}": coordinator ${link.host}:${link.port} lost (${reason})`, "warning");
    link.join.close();
    link.control.close();
    this.#wakeUp();
  }

  #version(conn: KafkaConnection, api: ApiDescriptor<any, any>, minVersion: number): number {
    const v = conn.pickVersion(api as ApiDescriptor<unknown, unknown>, api.maxVersion, minVersion);
    if (v === null) {
      const what = this.#instanceId !== null && minVersion > 0
        ? `${api.name} v${minVersion}+ (static membership)`
        : api.name;
      throw fatal(new KafkaClientError(`Broker ${conn.address} does not support ${what}`, { code: null }));
    }
    return v;
  }

  #joinError(action: string, code: number): Error {
    const detail = code === ErrorCode.FENCED_INSTANCE_ID
      ? ` (another member uses group.instance.id "${this.#instanceId}")`
      : "";
    return fatal(new KafkaClientError(`Cannot ${action} group "${this.groupId}"${detail}`, { code }));
  }

  // ---- state ----

  #resetGeneration(resetMemberId: boolean): void {
    this.#generationId = -1;
    this.#protocolName = null;
    this.#leaderId = "";
    if (resetMemberId) this.#memberId = "";
  }

  #requestRejoin(reason: string): void {
    if (this.#rejoinReason === null) this.#rejoinReason = reason;
    this.#wakeUp();
  }

  #isClosed(): boolean {
    return this.#state === "closing" || this.#state === "closed" || this.#state === "failed";
  }

  async #emit(event: "assigned" | "revoked" | "lost", partitions: TopicPartition[]): Promise<void> {
    for (const listener of [...this.#listeners[event]]) {
      try {
        await listener(partitions.map((tp) => ({ ...tp })));
      } catch (err) {
        throw fatal(err instanceof Error ? err : new Error(String(err)));
      }
    }
  }

  #fail(err: Error): void {
    if (this.#state === "failed" || this.#state === "closed") return;
    this.#state = "failed";
    this.#failure = err;
    this.#stopHeartbeat();
    this.#wakeUp();
    this.#onNotice(`Group "${this.groupId}": stopped: ${err.message}`, "info");
    if (!this.#startedSettled) {
      this.#startedSettled = true;
      this.#rejectStarted(err);
    }
    for (const listener of [...this.#listeners.error]) listener(err);
  }

  /** Waits until woken (rejoin, lost coordinator, close), or `ms` when given. */
  #pause(ms?: number): Promise<void> {
    if (this.#isClosed()) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        if (timer !== null) clearTimeout(timer);
        if (this.#wake === done) this.#wake = null;
        resolve();
      };
      const timer = ms === undefined ? null : setTimeout(done, ms);
      const previous = this.#wake;
      this.#wake = previous === null ? done : () => {
        previous();
        done();
      };
    });
  }

  #wakeUp(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }

  #backoff(failures: number): number {
    return Math.min(1000, this.#retryBackoffMs * 2 ** Math.min(failures, 10));
  }

  async #close(leave: boolean): Promise<void> {
    const wasFailed = this.#state === "failed";
    const link = this.#coordinator;
    if (!wasFailed) this.#state = "closing";
    this.#stopHeartbeat();
    // A JoinGroup or SyncGroup in flight is abandoned: LeaveGroup ends the membership anyway.
    link?.join.close();
    this.#wakeUp();
    await this.#loop?.catch(() => {});
    if (this.#owned.length > 0) {
      const owned = this.#owned;
      this.#owned = [];
      const event = this.#generationId >= 0 && this.#memberId !== "" && !wasFailed ? "revoked" : "lost";
      for (const listener of [...this.#listeners[event]]) {
        try {
          await listener(owned.map((tp) => ({ ...tp })));
        } catch (err) {
          this.#onNotice(`Group "${this.groupId}": ${event} listener failed: ${(err as Error).message}`, "warning");
        }
      }
    }
    if (leave && this.#memberId !== "" && !wasFailed) {
      try {
        await this.#leave();
      } catch (err) {
        this.#onNotice(`Group "${this.groupId}": LeaveGroup failed: ${(err as Error).message}`, "warning");
      }
    }
    this.#state = "closed";
    const current = this.#coordinator;
    this.#coordinator = null;
    for (const conn of new Set([link?.join, link?.control, current?.join, current?.control])) conn?.close();
    if (!this.#startedSettled) {
      this.#startedSettled = true;
      this.#rejectStarted(
        new KafkaClientError(`Group member of "${this.groupId}" was closed before its first assignment`, {
          code: null,
        }),
      );
    }
  }

  async #leave(): Promise<void> {
    // The control connection survives close(); look the coordinator up if it was lost.
    const link = this.#coordinator ?? (await this.#discoverForLeave());
    const version = link.control.pickVersion(LEAVE_GROUP_API as ApiDescriptor<unknown, unknown>);
    if (version === null) return;
    if (this.#instanceId !== null && version < 3) {
      this.#onNotice(`Group "${this.groupId}": the broker cannot remove a static member (LeaveGroup < v3)`, "warning");
      return;
    }
    const { response } = await this.#client.send(LEAVE_GROUP_API, (v) =>
      v >= 3
        ? {
          groupId: this.groupId,
          members: [{
            memberId: this.#memberId,
            groupInstanceId: this.#instanceId,
            reason: "the consumer is being closed",
          }],
        }
        : { groupId: this.groupId, memberId: this.#memberId }, { to: link.control });
    const code = response.errorCode || (response.members[0]?.errorCode ?? ErrorCode.NONE);
    if (code !== ErrorCode.NONE && code !== ErrorCode.UNKNOWN_MEMBER_ID) {
      this.#onNotice(`Group "${this.groupId}": LeaveGroup answered ${errorName(code)}`, "warning");
    } else {
      this.#onNotice(`Group "${this.groupId}": left the group`, "info");
    }
    this.#resetGeneration(true);
  }

  async #discoverForLeave(): Promise<CoordinatorLink> {
    const c = await findCoordinator(this.#client, this.groupId);
    const control = await this.#client.connectTo(c.host, c.port);
    const link = { ...c, join: control, control };
    this.#coordinator = link;
    return link;
  }
}
