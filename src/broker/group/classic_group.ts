/**
 * A classic consumer group (the JoinGroup/SyncGroup protocol), following Kafka's
 * GroupCoordinator and ClassicGroup: states Empty, PreparingRebalance, CompletingRebalance,
 * Stable and Dead; generations; the v4+ MEMBER_ID_REQUIRED handshake; static membership
 * (KIP-345) with fencing of a replaced instance; rebalance and session timeouts;
 * `group.initial.rebalance.delay.ms` for the first rebalance of an empty group. The eager and
 * cooperative (KIP-429) flows are both driven by clients; the group only has to let a member
 * rejoin at any time and keep serving heartbeats and commits meanwhile.
 *
 * Responses to JoinGroup and SyncGroup may be delayed until the rebalance completes, so they
 * are delivered through callbacks; the handlers turn them into promises.
 *
 * @module
 */

import { decodeConsumerProtocolSubscription } from "../../protocol/generated/data_consumer_protocol_subscription.ts";
import { ErrorCode } from "../../protocol/generated/errors.ts";
import { Reader } from "../../protocol/reader.ts";

/** Group states, as Kafka names them. */
export type ClassicState = "Empty" | "PreparingRebalance" | "CompletingRebalance" | "Stable" | "Dead";

/** A protocol a member supports, with its opaque metadata. */
export interface MemberProtocol {
  name: string;
  metadata: Uint8Array;
}

/** What a JoinGroup request carries. */
export interface JoinRequest {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocolType: string;
  protocols: MemberProtocol[];
  /** v4+: an unknown member must first be given an id (MEMBER_ID_REQUIRED). */
  requireKnownMemberId: boolean;
  /** v9+: the leader may skip assigning (a static leader rejoining, KIP-814). */
  supportsSkipAssignment: boolean;
}

/** A JoinGroup answer. */
export interface JoinResult {
  errorCode: number;
  generationId: number;
  protocolType: string | null;
  protocolName: string | null;
  leader: string;
  skipAssignment: boolean;
  memberId: string;
  members: { memberId: string; groupInstanceId: string | null; metadata: Uint8Array }[];
}

/** A SyncGroup answer. */
export interface SyncResult {
  errorCode: number;
  protocolType: string | null;
  protocolName: string | null;
  assignment: Uint8Array;
}

/** One member of a classic group. */
export interface ClassicMember {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocolType: string;
  protocols: MemberProtocol[];
  assignment: Uint8Array;
  lastHeartbeatMs: number;
  awaitingJoin: ((r: JoinResult) => void) | null;
  awaitingSync: ((r: SyncResult) => void) | null;
  /** Joined but not yet through a completed rebalance (KIP-394 new-member timeout). */
  isNew: boolean;
}

/** Settings from the broker configuration. */
export interface ClassicGroupSettings {
  initialRebalanceDelayMs: number;
  maxSize: number;
  newMemberJoinTimeoutMs: number;
}

/** Called when the group reaches a state worth saving (a completed sync, or empty). */
export type PersistFn = (group: ClassicGroup) => void;

const EMPTY = new Uint8Array(0);

function sameProtocols(a: readonly MemberProtocol[], b: readonly MemberProtocol[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x.name !== y.name || x.metadata.length !== y.metadata.length) return false;
    for (let j = 0; j < x.metadata.length; j++) if (x.metadata[j] !== y.metadata[j]) return false;
  }
  return true;
}

/** A JoinGroup answer that carries only an error. */
export function joinError(memberId: string, errorCode: number): JoinResult {
  return {
    errorCode,
    generationId: -1,
    protocolType: null,
    protocolName: null,
    leader: "",
    skipAssignment: false,
    memberId,
    members: [],
  };
}

/** A classic group and its rebalance state machine. */
export class ClassicGroup {
  readonly groupId: string;
  state: ClassicState = "Empty";
  generationId = 0;
  protocolType: string | null = null;
  protocolName: string | null = null;
  leaderId: string | null = null;
  readonly members = new Map<string, ClassicMember>();
  /** v4+ members given an id but not yet rejoined with it, with their expiry time. */
  readonly pendingMembers = new Map<string, number>();
  readonly staticMembers = new Map<string, string>();
  /** When the group entered its current state (offset expiry starts when it became Empty). */
  stateSinceMs: number;
  #joinTimer: ReturnType<typeof setTimeout> | null = null;
  #joinDeadlineMs = 0;
  #initialDelayDeadlineMs = 0;
  readonly #now: () => number;
  readonly #settings: ClassicGroupSettings;
  readonly #persist: PersistFn;
  readonly #newMemberId: (clientId: string) => string;
  readonly #onRebalance: (() => void) | undefined;

  constructor(
    groupId: string,
    options: {
      now: () => number;
      settings: ClassicGroupSettings;
      persist: PersistFn;
      newMemberId: (clientId: string) => string;
      /** Told of each new generation with members (a rebalance, for metrics). */
      onRebalance?: () => void;
    },
  ) {
    this.groupId = groupId;
    this.#now = options.now;
    this.#settings = options.settings;
    this.#persist = options.persist;
    this.#newMemberId = options.newMemberId;
    this.#onRebalance = options.onRebalance;
    this.stateSinceMs = options.now();
  }

  #transition(state: ClassicState): void {
    this.state = state;
    this.stateSinceMs = this.#now();
  }

  /** Protocol names supported by every one of `members` (null when there are none). */
  static #common(members: readonly { protocols: readonly MemberProtocol[] }[]): Set<string> | null {
    if (members.length === 0) return null;
    const [first, ...rest] = members.map((m) => new Set(m.protocols.map((p) => p.name)));
    return new Set([...first!].filter((n) => rest.every((r) => r.has(n))));
  }

  #candidateProtocols(): Set<string> {
    return ClassicGroup.#common([...this.members.values()]) ?? new Set();
  }

  #supportsProtocols(protocolType: string, protocols: readonly MemberProtocol[], excluding?: string): boolean {
    const others = [...this.members.values()].filter((m) => m.memberId !== excluding);
    if (others.length === 0) return protocolType !== "" && protocols.length > 0;
    if (protocolType !== this.protocolType) return false;
    const common = ClassicGroup.#common(others)!;
    return protocols.some((p) => common.has(p.name));
  }

  #selectProtocol(): string {
    const candidates = this.#candidateProtocols();
    const votes = new Map<string, number>();
    for (const m of this.members.values()) {
      const vote = m.protocols.find((p) => candidates.has(p.name))!.name;
      votes.set(vote, (votes.get(vote) ?? 0) + 1);
    }
    let best = "";
    let most = -1;
    for (const [name, n] of votes) {
      if (n > most) {
        best = name;
        most = n;
      }
    }
    return best;
  }

  #joinResult(member: ClassicMember, errorCode = ErrorCode.NONE): JoinResult {
    const isLeader = member.memberId === this.leaderId;
    return {
      errorCode,
      generationId: this.generationId,
      protocolType: this.protocolType,
      protocolName: this.protocolName,
      leader: this.leaderId ?? "",
      skipAssignment: false,
      memberId: member.memberId,
      members: isLeader ? this.#memberMetadata() : [],
    };
  }

  #memberMetadata(): JoinResult["members"] {
    return [...this.members.values()].map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      metadata: m.protocols.find((p) => p.name === this.protocolName)?.metadata ?? EMPTY,
    }));
  }

  static #error(memberId: string, errorCode: number): JoinResult {
    return joinError(memberId, errorCode);
  }

  /**
   * Kafka's ClassicGroup.validateMember: a static member is checked by its instance id first,
   * so a replaced instance learns it was fenced (FENCED_INSTANCE_ID, fatal for the client)
   * instead of rejoining and displacing its successor.
   */
  #validateMember(memberId: string, groupInstanceId: string | null): number {
    if (groupInstanceId !== null) {
      const current = this.staticMembers.get(groupInstanceId);
      if (current === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
      if (current !== memberId) return ErrorCode.FENCED_INSTANCE_ID;
      return ErrorCode.NONE;
    }
    return this.members.has(memberId) ? ErrorCode.NONE : ErrorCode.UNKNOWN_MEMBER_ID;
  }

  /** Handles a JoinGroup; `respond` may be called later, when the rebalance completes. */
  join(req: JoinRequest, respond: (r: JoinResult) => void): void {
    if (this.state === "Dead") return respond(ClassicGroup.#error(req.memberId, ErrorCode.COORDINATOR_NOT_AVAILABLE));
    if (!this.#supportsProtocols(req.protocolType, req.protocols, req.memberId)) {
      return respond(ClassicGroup.#error(req.memberId, ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
    }
    if (req.memberId === "") this.#newMemberJoin(req, respond);
    else this.#currentMemberJoin(req, respond);
  }

  #newMemberJoin(req: JoinRequest, respond: (r: JoinResult) => void): void {
    const existingStatic = req.groupInstanceId !== null ? this.staticMembers.get(req.groupInstanceId) : undefined;
    if (existingStatic === undefined && this.members.size + this.pendingMembers.size >= this.#settings.maxSize) {
      return respond(ClassicGroup.#error("", ErrorCode.GROUP_MAX_SIZE_REACHED));
    }
    // Kafka names static members after their instance id, dynamic ones after their client id.
    const memberId = this.#newMemberId(req.groupInstanceId ?? req.clientId);
    if (req.groupInstanceId !== null) return this.#staticMemberJoin(req, memberId, existingStatic, respond);
    if (req.requireKnownMemberId) {
      // KIP-394: hand out the id first; the member must rejoin with it within the session timeout.
      this.pendingMembers.set(memberId, this.#now() + req.sessionTimeoutMs);
      return respond({ ...ClassicGroup.#error(memberId, ErrorCode.MEMBER_ID_REQUIRED) });
    }
    this.#addMemberAndRebalance(req, memberId, respond);
  }

  #staticMemberJoin(
    req: JoinRequest,
    memberId: string,
    oldMemberId: string | undefined,
    respond: (r: JoinResult) => void,
  ): void {
    if (oldMemberId === undefined) return this.#addMemberAndRebalance(req, memberId, respond);
    const old = this.members.get(oldMemberId)!;
    // KIP-345: the new instance takes over the old member's place; the old one is fenced.
    old.awaitingJoin?.(ClassicGroup.#error(oldMemberId, ErrorCode.FENCED_INSTANCE_ID));
    old.awaitingSync?.({
      errorCode: ErrorCode.FENCED_INSTANCE_ID,
      protocolType: null,
      protocolName: null,
      assignment: EMPTY,
    });

    const member: ClassicMember = {
      ...old,
      memberId,
      clientId: req.clientId,
      clientHost: req.clientHost,
      sessionTimeoutMs: req.sessionTimeoutMs,
      rebalanceTimeoutMs: req.rebalanceTimeoutMs,
      protocols: req.protocols,
      lastHeartbeatMs: this.#now(),
      awaitingJoin: null,
      awaitingSync: null,
    };
    this.members.delete(oldMemberId);
    this.members.set(memberId, member);
    this.staticMembers.set(req.groupInstanceId!, memberId);
    if (this.leaderId === oldMemberId) this.leaderId = memberId;
    switch (this.state) {
      case "Stable":
        // Kafka rebalances only if the protocol the group would now select changes; new
        // subscription bytes alone (a client's generation in its user data) do not count.
        if (this.#selectProtocol() !== this.protocolName) {
          member.awaitingJoin = respond;
          this.#prepareRebalance();
        } else {
          // Rejoining with the same protocols: no rebalance; the member gets the current
          // generation and then its old assignment through SyncGroup (KIP-345).
          const isLeader = memberId === this.leaderId;
          const skip = isLeader && req.supportsSkipAssignment;
          respond({
            ...this.#joinResult(member),
            members: skip ? this.#memberMetadata() : [],
            skipAssignment: skip,
          });
          this.#persist(this);
        }
        return;
      case "CompletingRebalance":
        member.awaitingJoin = respond;
        this.#prepareRebalance();
        return;
      case "PreparingRebalance":
        member.awaitingJoin = respond;
        this.#tryCompleteJoin();
        return;
      default:
        respond(ClassicGroup.#error(memberId, ErrorCode.UNKNOWN_MEMBER_ID));
    }
  }

  #currentMemberJoin(req: JoinRequest, respond: (r: JoinResult) => void): void {
    if (this.pendingMembers.has(req.memberId)) {
      this.pendingMembers.delete(req.memberId);
      return this.#addMemberAndRebalance(req, req.memberId, respond);
    }
    const invalid = this.#validateMember(req.memberId, req.groupInstanceId);
    if (invalid !== ErrorCode.NONE) return respond(ClassicGroup.#error(req.memberId, invalid));
    const member = this.members.get(req.memberId)!;
    const changed = !sameProtocols(member.protocols, req.protocols);
    member.lastHeartbeatMs = this.#now();
    switch (this.state) {
      case "PreparingRebalance":
        this.#updateMember(member, req, respond);
        this.#tryCompleteJoin();
        return;
      case "CompletingRebalance":
        if (!changed) return respond(this.#joinResult(member));
        this.#updateMember(member, req, respond);
        this.#prepareRebalance();
        return;
      case "Stable":
        if (changed || member.memberId === this.leaderId) {
          this.#updateMember(member, req, respond);
          this.#prepareRebalance();
        } else {
          respond(this.#joinResult(member));
        }
        return;
      default:
        respond(ClassicGroup.#error(req.memberId, ErrorCode.UNKNOWN_MEMBER_ID));
    }
  }

  #updateMember(member: ClassicMember, req: JoinRequest, respond: (r: JoinResult) => void): void {
    member.protocols = req.protocols;
    member.sessionTimeoutMs = req.sessionTimeoutMs;
    member.rebalanceTimeoutMs = req.rebalanceTimeoutMs;
    member.clientId = req.clientId;
    member.clientHost = req.clientHost;
    // A join still pending came over an older connection (requests on one connection are
    // serial); answer it with a retriable error so that client simply rejoins.
    member.awaitingJoin?.(ClassicGroup.#error(member.memberId, ErrorCode.REBALANCE_IN_PROGRESS));
    member.awaitingJoin = respond;
  }

  #addMemberAndRebalance(req: JoinRequest, memberId: string, respond: (r: JoinResult) => void): void {
    const member: ClassicMember = {
      memberId,
      groupInstanceId: req.groupInstanceId,
      clientId: req.clientId,
      clientHost: req.clientHost,
      sessionTimeoutMs: req.sessionTimeoutMs,
      rebalanceTimeoutMs: req.rebalanceTimeoutMs,
      protocolType: req.protocolType,
      protocols: req.protocols,
      assignment: EMPTY,
      lastHeartbeatMs: this.#now(),
      awaitingJoin: respond,
      awaitingSync: null,
      isNew: true,
    };
    if (this.members.size === 0) this.protocolType = req.protocolType;
    this.members.set(memberId, member);
    if (req.groupInstanceId !== null) this.staticMembers.set(req.groupInstanceId, memberId);
    if (this.leaderId === null) this.leaderId = memberId;
    if (this.state === "PreparingRebalance" && this.#initialDelayDeadlineMs > 0) {
      // A join during the initial delay extends it, up to the rebalance timeout.
      this.#scheduleJoin(Math.min(this.#now() + this.#settings.initialRebalanceDelayMs, this.#joinDeadlineMs));
    }
    if (this.state === "PreparingRebalance") this.#tryCompleteJoin();
    else this.#prepareRebalance();
  }

  #maxRebalanceTimeoutMs(): number {
    let max = 0;
    for (const m of this.members.values()) max = Math.max(max, m.rebalanceTimeoutMs);
    return max;
  }

  #prepareRebalance(): void {
    if (this.state === "CompletingRebalance") {
      for (const m of this.members.values()) {
        m.assignment = EMPTY;
        m.awaitingSync?.({
          errorCode: ErrorCode.REBALANCE_IN_PROGRESS,
          protocolType: null,
          protocolName: null,
          assignment: EMPTY,
        });
        m.awaitingSync = null;
      }
    }
    const wasEmpty = this.state === "Empty";
    this.#transition("PreparingRebalance");
    const now = this.#now();
    this.#joinDeadlineMs = now + this.#maxRebalanceTimeoutMs();
    if (wasEmpty && this.#settings.initialRebalanceDelayMs > 0) {
      this.#initialDelayDeadlineMs = Math.min(now + this.#settings.initialRebalanceDelayMs, this.#joinDeadlineMs);
      this.#scheduleJoin(this.#initialDelayDeadlineMs);
    } else {
      this.#initialDelayDeadlineMs = 0;
      this.#scheduleJoin(this.#joinDeadlineMs);
      this.#tryCompleteJoin();
    }
  }

  #scheduleJoin(atMs: number): void {
    if (this.#joinTimer) clearTimeout(this.#joinTimer);
    this.#joinTimer = setTimeout(() => {
      this.#joinTimer = null;
      this.#onJoinTimeout();
    }, Math.max(0, atMs - this.#now()));
  }

  #allJoined(): boolean {
    if (this.pendingMembers.size > 0) return false;
    for (const m of this.members.values()) if (!m.awaitingJoin) return false;
    return true;
  }

  #tryCompleteJoin(): void {
    if (this.state !== "PreparingRebalance") return;
    if (this.#initialDelayDeadlineMs > 0 && this.#now() < this.#initialDelayDeadlineMs) return;
    if (this.#allJoined()) this.#completeJoin();
  }

  #onJoinTimeout(): void {
    if (this.state !== "PreparingRebalance") return;
    if (this.#initialDelayDeadlineMs > 0) {
      this.#initialDelayDeadlineMs = 0;
      if (!this.#allJoined() && this.#now() < this.#joinDeadlineMs) {
        this.#scheduleJoin(this.#joinDeadlineMs);
        return;
      }
    }
    this.#completeJoin();
  }

  #completeJoin(): void {
    if (this.#joinTimer) {
      clearTimeout(this.#joinTimer);
      this.#joinTimer = null;
    }
    this.#initialDelayDeadlineMs = 0;
    // Members that did not rejoin in time leave the group (Kafka removes them too).
    for (const m of [...this.members.values()]) if (!m.awaitingJoin) this.#removeMember(m.memberId);
    this.pendingMembers.clear();
    this.generationId++;
    if (this.members.size === 0) {
      this.protocolName = null;
      this.leaderId = null;
      this.#transition("Empty");
      this.#persist(this);
      return;
    }
    this.#onRebalance?.();
    this.protocolName = this.#selectProtocol();
    if (this.leaderId === null || !this.members.has(this.leaderId)) this.leaderId = this.members.keys().next().value!;
    this.#transition("CompletingRebalance");
    const now = this.#now();
    for (const m of this.members.values()) {
      const respond = m.awaitingJoin!;
      m.awaitingJoin = null;
      m.isNew = false;
      m.lastHeartbeatMs = now;
      respond(this.#joinResult(m));
    }
  }

  #removeMember(memberId: string): void {
    const m = this.members.get(memberId);
    if (!m) return;
    this.members.delete(memberId);
    if (m.groupInstanceId !== null && this.staticMembers.get(m.groupInstanceId) === memberId) {
      this.staticMembers.delete(m.groupInstanceId);
    }
    if (this.leaderId === memberId) this.leaderId = this.members.keys().next().value ?? null;
  }

  /** Removes a member (LeaveGroup or expiry) and rebalances the rest. */
  removeMemberAndRebalance(memberId: string, errorForPending: number): void {
    const m = this.members.get(memberId);
    if (!m) return;
    m.awaitingJoin?.(ClassicGroup.#error(memberId, errorForPending));
    m.awaitingSync?.({ errorCode: errorForPending, protocolType: null, protocolName: null, assignment: EMPTY });
    this.#removeMember(memberId);
    if (this.state === "PreparingRebalance") this.#tryCompleteJoin();
    else if (this.state === "Stable" || this.state === "CompletingRebalance") this.#prepareRebalance();
  }

  /** Handles SyncGroup; followers wait for the leader's assignment. */
  sync(
    req: {
      memberId: string;
      groupInstanceId: string | null;
      generationId: number;
      protocolType: string | null;
      protocolName: string | null;
      assignments: { memberId: string; assignment: Uint8Array }[];
    },
    respond: (r: SyncResult) => void,
  ): void {
    const fail = (errorCode: number) =>
      respond({ errorCode, protocolType: null, protocolName: null, assignment: EMPTY });
    if (this.state === "Dead") return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    const invalid = this.#validateMember(req.memberId, req.groupInstanceId);
    if (invalid !== ErrorCode.NONE) return fail(invalid);
    const member = this.members.get(req.memberId)!;
    if (req.generationId !== this.generationId) return fail(ErrorCode.ILLEGAL_GENERATION);
    if (
      (req.protocolType !== null && req.protocolType !== this.protocolType) ||
      (req.protocolName !== null && req.protocolName !== this.protocolName)
    ) {
      return fail(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    }
    member.lastHeartbeatMs = this.#now();
    switch (this.state) {
      case "Empty":
        return fail(ErrorCode.UNKNOWN_MEMBER_ID);
      case "PreparingRebalance":
        return fail(ErrorCode.REBALANCE_IN_PROGRESS);
      case "CompletingRebalance": {
        member.awaitingSync?.({
          errorCode: ErrorCode.REBALANCE_IN_PROGRESS,
          protocolType: null,
          protocolName: null,
          assignment: EMPTY,
        });
        member.awaitingSync = respond;
        if (req.memberId !== this.leaderId) return;
        const given = new Map(req.assignments.map((a) => [a.memberId, a.assignment]));
        for (const m of this.members.values()) m.assignment = given.get(m.memberId) ?? EMPTY;
        this.#transition("Stable");
        this.#persist(this);
        for (const m of this.members.values()) {
          const r = m.awaitingSync;
          m.awaitingSync = null;
          r?.({
            errorCode: ErrorCode.NONE,
            protocolType: this.protocolType,
            protocolName: this.protocolName,
            assignment: m.assignment,
          });
        }
        return;
      }
      case "Stable":
        return respond({
          errorCode: ErrorCode.NONE,
          protocolType: this.protocolType,
          protocolName: this.protocolName,
          assignment: member.assignment,
        });
    }
  }

  /** Handles a Heartbeat. */
  heartbeat(req: { memberId: string; groupInstanceId: string | null; generationId: number }): number {
    if (this.state === "Dead") return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (this.state === "Empty") return ErrorCode.UNKNOWN_MEMBER_ID;
    const invalid = this.#validateMember(req.memberId, req.groupInstanceId);
    if (invalid !== ErrorCode.NONE) return invalid;
    const member = this.members.get(req.memberId)!;
    if (req.generationId !== this.generationId) return ErrorCode.ILLEGAL_GENERATION;
    member.lastHeartbeatMs = this.#now();
    return this.state === "PreparingRebalance" ? ErrorCode.REBALANCE_IN_PROGRESS : ErrorCode.NONE;
  }

  /** Handles one member of a LeaveGroup. */
  leave(memberId: string, groupInstanceId: string | null): number {
    if (this.state === "Dead") return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    let id = memberId;
    if (groupInstanceId !== null) {
      const current = this.staticMembers.get(groupInstanceId);
      if (current === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
      if (memberId !== "" && memberId !== current) return ErrorCode.FENCED_INSTANCE_ID;
      id = current;
    }
    if (this.pendingMembers.delete(id)) {
      this.#tryCompleteJoin();
      return ErrorCode.NONE;
    }
    if (!this.members.has(id)) return ErrorCode.UNKNOWN_MEMBER_ID;
    this.removeMemberAndRebalance(id, ErrorCode.UNKNOWN_MEMBER_ID);
    return ErrorCode.NONE;
  }

  /** Removes members whose session expired (and pending ids never used); returns their ids. */
  expire(): string[] {
    const now = this.#now();
    const gone: string[] = [];
    for (const [id, deadline] of this.pendingMembers) {
      if (now >= deadline) {
        this.pendingMembers.delete(id);
        gone.push(id);
      }
    }
    for (const m of [...this.members.values()]) {
      // Members waiting for a join or sync answer are kept alive, as in Kafka.
      if (m.awaitingJoin || m.awaitingSync) continue;
      const limit = m.isNew ? Math.max(m.sessionTimeoutMs, this.#settings.newMemberJoinTimeoutMs) : m.sessionTimeoutMs;
      if (now - m.lastHeartbeatMs >= limit) {
        gone.push(m.memberId);
        this.removeMemberAndRebalance(m.memberId, ErrorCode.UNKNOWN_MEMBER_ID);
      }
    }
    if (gone.length > 0) this.#tryCompleteJoin();
    return gone;
  }

  /** Validates an offset commit against membership and generation (classic rules). */
  validateCommit(memberId: string, groupInstanceId: string | null, generationId: number): number {
    if (this.state === "Dead") return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (groupInstanceId !== null) {
      const current = this.staticMembers.get(groupInstanceId);
      if (current !== undefined && current !== memberId) return ErrorCode.FENCED_INSTANCE_ID;
    }
    if (generationId < 0 && this.state === "Empty") return ErrorCode.NONE;
    const member = this.members.get(memberId);
    if (!member) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (generationId !== this.generationId) return ErrorCode.ILLEGAL_GENERATION;
    if (this.state === "CompletingRebalance") return ErrorCode.REBALANCE_IN_PROGRESS;
    member.lastHeartbeatMs = this.#now();
    return ErrorCode.NONE;
  }

  /** Topics the members subscribe to, from consumer-protocol metadata (OffsetDelete check). */
  subscribedTopics(): Set<string> {
    const topics = new Set<string>();
    if (this.protocolType !== "consumer") return topics;
    for (const m of this.members.values()) {
      const p = m.protocols.find((x) => x.name === this.protocolName) ?? m.protocols[0];
      if (!p || p.metadata.length < 2) continue;
      try {
        const r = new Reader(p.metadata);
        const version = r.int16();
        for (const t of decodeConsumerProtocolSubscription(r, Math.min(version, 3)).topics) topics.add(t);
      } catch {
        // unreadable metadata subscribes to nothing we can name
      }
    }
    return topics;
  }

  isEmpty(): boolean {
    return this.members.size === 0 && this.pendingMembers.size === 0;
  }

  /** Marks the group deleted: pending callers get COORDINATOR_NOT_AVAILABLE. */
  markDead(): void {
    for (const m of this.members.values()) {
      m.awaitingJoin?.(ClassicGroup.#error(m.memberId, ErrorCode.COORDINATOR_NOT_AVAILABLE));
      m.awaitingSync?.({
        errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE,
        protocolType: null,
        protocolName: null,
        assignment: EMPTY,
      });
    }
    if (this.#joinTimer) clearTimeout(this.#joinTimer);
    this.#transition("Dead");
  }

  /** JSON-safe snapshot for the group store (members with their assignments). */
  toJSON(): unknown {
    const b64 = (u: Uint8Array) => btoa(String.fromCharCode(...u));
    return {
      version: 1,
      state: this.state === "Stable" || this.state === "Empty" ? this.state : "Stable",
      generationId: this.generationId,
      protocolType: this.protocolType,
      protocolName: this.protocolName,
      leaderId: this.leaderId,
      stateSinceMs: this.stateSinceMs,
      members: [...this.members.values()].map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        sessionTimeoutMs: m.sessionTimeoutMs,
        rebalanceTimeoutMs: m.rebalanceTimeoutMs,
        protocolType: m.protocolType,
        protocols: m.protocols.map((p) => ({ name: p.name, metadata: b64(p.metadata) })),
        assignment: b64(m.assignment),
      })),
    };
  }

  /** Restores a saved group; members get a fresh session from now. */
  restore(data: unknown): void {
    const d = data as ReturnType<ClassicGroup["toJSON"]> & {
      version: number;
      state: ClassicState;
      generationId: number;
      protocolType: string | null;
      protocolName: string | null;
      leaderId: string | null;
      stateSinceMs: number;
      members: {
        memberId: string;
        groupInstanceId: string | null;
        clientId: string;
        clientHost: string;
        sessionTimeoutMs: number;
        rebalanceTimeoutMs: number;
        protocolType: string;
        protocols: { name: string; metadata: string }[];
        assignment: string;
      }[];
    };
    const unb64 = (s: string) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
    this.generationId = d.generationId;
    this.protocolType = d.protocolType;
    this.protocolName = d.protocolName;
    this.leaderId = d.leaderId;
    const now = this.#now();
    for (const m of d.members) {
      this.members.set(m.memberId, {
        ...m,
        protocols: m.protocols.map((p) => ({ name: p.name, metadata: unb64(p.metadata) })),
        assignment: unb64(m.assignment),
        lastHeartbeatMs: now,
        awaitingJoin: null,
        awaitingSync: null,
        isNew: false,
      });
      if (m.groupInstanceId !== null) this.staticMembers.set(m.groupInstanceId, m.memberId);
    }
    this.state = this.members.size > 0 ? "Stable" : "Empty";
    this.stateSinceMs = d.stateSinceMs;
  }
}
