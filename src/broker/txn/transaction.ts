/**
 * One transactional id's state, and the transaction coordinator's decisions on it, as Kafka's
 * `TransactionMetadata` and `TransactionCoordinator` make them (transactions v1 and v2, KIP-98 and
 * KIP-890). Pure: every decision takes the current state and a request and returns the state to
 * store (durably, before answering) plus what to tell the client and what markers to write. The
 * coordinator (I/O, timers, markers) applies them.
 *
 * States and the transitions Kafka allows:
 *
 * ```
 * Empty ──add──▶ Ongoing ──end(commit)──▶ PrepareCommit ──markers──▶ CompleteCommit
 *   ▲              │  └────end(abort)──▶ PrepareAbort ──markers──▶ CompleteAbort
 *   │              └──init (fence)──▶ PrepareEpochFence ──▶ PrepareAbort
 *   └──init (bump)── Complete* / Empty                   Empty/Complete* ──expire──▶ Dead
 * ```
 *
 * @module
 */

import { ErrorCode } from "../../protocol/generated/errors.ts";

/** Kafka's TransactionState names. */
export type TxnState =
  | "Empty"
  | "Ongoing"
  | "PrepareCommit"
  | "PrepareAbort"
  | "CompleteCommit"
  | "CompleteAbort"
  | "PrepareEpochFence"
  | "Dead";

/** The states each state may be entered from (Kafka's `TransactionState.validPreviousStates`). */
const PREVIOUS: Record<TxnState, readonly TxnState[]> = {
  Empty: ["Empty", "CompleteCommit", "CompleteAbort"],
  Ongoing: ["Ongoing", "Empty", "CompleteCommit", "CompleteAbort"],
  PrepareCommit: ["Ongoing"],
  PrepareAbort: ["Ongoing", "PrepareEpochFence", "Empty", "CompleteCommit", "CompleteAbort"],
  CompleteCommit: ["PrepareCommit"],
  CompleteAbort: ["PrepareAbort"],
  PrepareEpochFence: ["Ongoing"],
  Dead: ["Empty", "CompleteCommit", "CompleteAbort"],
};

/** Whether Kafka allows going from `from` to `to`. */
export function canTransition(from: TxnState, to: TxnState): boolean {
  return PREVIOUS[to].includes(from);
}

/** A topic partition a transaction wrote to. */
export interface TxnPartition {
  topic: string;
  partition: number;
}

/** What the coordinator keeps about one transactional id (Kafka's TransactionMetadata). */
export interface TxnMetadata {
  transactionalId: string;
  producerId: bigint;
  /** The id before the last one handed out (epoch exhaustion), or -1. */
  previousProducerId: bigint;
  producerEpoch: number;
  /** The epoch before the last bump (so a retried InitProducerId can be recognised), or -1. */
  lastProducerEpoch: number;
  timeoutMs: number;
  state: TxnState;
  /** Partitions of the ongoing (or completing) transaction, sorted. */
  partitions: TxnPartition[];
  /** Whether the group offsets of a consumer group are part of it (AddOffsetsToTxn). */
  groups: string[];
  /** When the ongoing transaction started (first partition added), -1 when none. */
  startMs: number;
  updateMs: number;
  /** 1 for transactions v1 clients, 2 once a v2 client (EndTxn v5+) ends a transaction. */
  transactionVersion: number;
}

/** The largest epoch before Kafka hands out a new producer id (Short.MaxValue - 1). */
export const MAX_EPOCH = 32766;

/** A decision: the state to store (null: nothing changes) and the error code to answer. */
export interface Decision {
  next: TxnMetadata | null;
  error: number;
}

const fail = (error: number): Decision => ({ next: null, error });

function samePartition(a: TxnPartition, b: TxnPartition): boolean {
  return a.topic === b.topic && a.partition === b.partition;
}

function sortPartitions(ps: TxnPartition[]): TxnPartition[] {
  return ps.sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
}

/** A new transactional id's state before its first InitProducerId completes. */
export function freshMetadata(
  transactionalId: string,
  producerId: bigint,
  timeoutMs: number,
  nowMs: number,
): TxnMetadata {
  return {
    transactionalId,
    producerId,
    previousProducerId: -1n,
    producerEpoch: -1,
    lastProducerEpoch: -1,
    timeoutMs,
    state: "Empty",
    partitions: [],
    groups: [],
    startMs: -1,
    updateMs: nowMs,
    transactionVersion: 1,
  };
}

/** What InitProducerId decided. */
export type InitDecision =
  /** Store `next` and answer its producer id and epoch. */
  | { kind: "ready"; next: TxnMetadata }
  /** An ongoing transaction must be aborted first (markers at `next`'s epoch); answer CONCURRENT_TRANSACTIONS. */
  | { kind: "abort-first"; next: TxnMetadata }
  | { kind: "error"; error: number };

/**
 * InitProducerId with a transactional id (Kafka's `prepareInitProducerIdTransit`).
 * @param meta the stored state (a fresh one for a new id)
 * @param o.timeoutMs the producer's transaction.timeout.ms
 * @param o.maxTimeoutMs the broker's transaction.max.timeout.ms
 * @param o.expected the producer id and epoch the client says it had (v3+, KIP-360), or null
 * @param o.newProducerId a fresh id, used when the epoch is exhausted
 */
export function initProducerId(
  meta: TxnMetadata,
  o: {
    timeoutMs: number;
    maxTimeoutMs: number;
    expected: { id: bigint; epoch: number } | null;
    newProducerId: () => bigint;
    nowMs: number;
  },
): InitDecision {
  if (o.timeoutMs <= 0 || o.timeoutMs > o.maxTimeoutMs) {
    return { kind: "error", error: ErrorCode.INVALID_TRANSACTION_TIMEOUT };
  }
  const expected = o.expected !== null && o.expected.id >= 0n ? o.expected : null;
  if (expected !== null) {
    // KIP-360 (Kafka's isValidProducerId): a client may re-initialise with the id it was given, or
    // with the previous id once its epoch was exhausted; anyone else is a zombie.
    const valid = meta.producerEpoch === -1 || expected.id === meta.producerId ||
      (expected.id === meta.previousProducerId && expected.epoch >= MAX_EPOCH);
    if (!valid) return { kind: "error", error: ErrorCode.PRODUCER_FENCED };
  }
  switch (meta.state) {
    case "PrepareCommit":
    case "PrepareAbort":
    case "PrepareEpochFence":
      return { kind: "error", error: ErrorCode.CONCURRENT_TRANSACTIONS };
    case "Dead":
      return { kind: "error", error: ErrorCode.CONCURRENT_TRANSACTIONS };
    case "Ongoing": {
      // Fence the running producer: bump the epoch and abort its transaction with it.
      const fenced = bumpEpoch(meta, o.newProducerId);
      return {
        kind: "abort-first",
        next: { ...fenced, state: "PrepareAbort", timeoutMs: meta.timeoutMs, updateMs: o.nowMs },
      };
    }
    case "Empty":
    case "CompleteCommit":
    case "CompleteAbort": {
      if (expected !== null && expected.id === meta.producerId && meta.producerEpoch !== -1) {
        // A retry of the InitProducerId that made the current epoch: answer it again.
        if (expected.epoch === meta.lastProducerEpoch) return { kind: "ready", next: meta };
        if (expected.epoch !== meta.producerEpoch) return { kind: "error", error: ErrorCode.PRODUCER_FENCED };
      }
      const bumped = bumpEpoch(meta, o.newProducerId);
      return {
        kind: "ready",
        next: {
          ...bumped,
          state: "Empty",
          partitions: [],
          groups: [],
          startMs: -1,
          timeoutMs: o.timeoutMs,
          updateMs: o.nowMs,
        },
      };
    }
  }
}

function bumpEpoch(meta: TxnMetadata, newProducerId: () => bigint): TxnMetadata {
  if (meta.producerEpoch >= MAX_EPOCH) {
    return {
      ...meta,
      previousProducerId: meta.producerId,
      producerId: newProducerId(),
      lastProducerEpoch: meta.producerEpoch,
      producerEpoch: 0,
    };
  }
  return { ...meta, lastProducerEpoch: meta.producerEpoch, producerEpoch: meta.producerEpoch + 1 };
}

/** Checks the producer id and epoch of a request against the state. */
function checkProducer(meta: TxnMetadata, producerId: bigint, epoch: number): number {
  if (producerId !== meta.producerId) return ErrorCode.INVALID_PRODUCER_ID_MAPPING;
  if (epoch !== meta.producerEpoch) return ErrorCode.PRODUCER_FENCED;
  return ErrorCode.NONE;
}

/**
 * AddPartitionsToTxn (and the partitions a v2 produce adds implicitly).
 * @returns the state with the partitions added, state Ongoing
 */
export function addPartitions(
  meta: TxnMetadata | null,
  o: { producerId: bigint; epoch: number; partitions: readonly TxnPartition[]; nowMs: number },
): Decision {
  if (meta === null) return fail(ErrorCode.INVALID_PRODUCER_ID_MAPPING);
  const bad = checkProducer(meta, o.producerId, o.epoch);
  if (bad !== ErrorCode.NONE) return fail(bad);
  if (meta.state === "PrepareCommit" || meta.state === "PrepareAbort" || meta.state === "PrepareEpochFence") {
    return fail(ErrorCode.CONCURRENT_TRANSACTIONS);
  }
  if (meta.state === "Dead") return fail(ErrorCode.INVALID_PRODUCER_ID_MAPPING);
  const added = o.partitions.filter((p) => !meta.partitions.some((q) => samePartition(p, q)));
  if (added.length === 0 && meta.state === "Ongoing") return { next: null, error: ErrorCode.NONE };
  const starting = meta.state !== "Ongoing";
  return {
    next: {
      ...meta,
      state: "Ongoing",
      partitions: sortPartitions([...(starting ? [] : meta.partitions), ...added]),
      groups: starting ? [] : meta.groups,
      startMs: starting ? o.nowMs : meta.startMs,
      updateMs: o.nowMs,
    },
    error: ErrorCode.NONE,
  };
}

/** AddOffsetsToTxn: the group's offsets join the transaction (its coordinator partition, in Kafka). */
export function addOffsets(
  meta: TxnMetadata | null,
  o: { producerId: bigint; epoch: number; groupId: string; nowMs: number },
): Decision {
  if (meta === null) return fail(ErrorCode.INVALID_PRODUCER_ID_MAPPING);
  const bad = checkProducer(meta, o.producerId, o.epoch);
  if (bad !== ErrorCode.NONE) return fail(bad);
  if (meta.state === "PrepareCommit" || meta.state === "PrepareAbort" || meta.state === "PrepareEpochFence") {
    return fail(ErrorCode.CONCURRENT_TRANSACTIONS);
  }
  const starting = meta.state !== "Ongoing";
  const groups = starting ? [] : meta.groups;
  return {
    next: {
      ...meta,
      state: "Ongoing",
      partitions: starting ? [] : meta.partitions,
      groups: groups.includes(o.groupId) ? groups : [...groups, o.groupId].sort(),
      startMs: starting ? o.nowMs : meta.startMs,
      updateMs: o.nowMs,
    },
    error: ErrorCode.NONE,
  };
}

/** What EndTxn decided: the Prepare state to store (markers follow), or an answer straight away. */
export type EndDecision =
  | { kind: "prepare"; next: TxnMetadata; commit: boolean }
  /** Already done (a retried EndTxn): answer `error` (NONE) without changing anything. */
  | { kind: "done"; error: number }
  | { kind: "error"; error: number };

/**
 * EndTxn (Kafka's `endTransaction`). A v2 client (transaction version 2) gets its epoch bumped at
 * every end (KIP-890), which fences zombie sends of the transaction just ended.
 */
export function endTransaction(
  meta: TxnMetadata | null,
  o: { producerId: bigint; epoch: number; commit: boolean; transactionVersion: number; nowMs: number },
): EndDecision {
  if (meta === null) return { kind: "error", error: ErrorCode.INVALID_PRODUCER_ID_MAPPING };
  if (o.producerId !== meta.producerId) return { kind: "error", error: ErrorCode.INVALID_PRODUCER_ID_MAPPING };
  // A v2 client retrying EndTxn after the bump still holds the epoch before it.
  const retriedV2 = o.transactionVersion >= 2 && o.epoch === meta.lastProducerEpoch &&
    (meta.state === "CompleteCommit" || meta.state === "CompleteAbort");
  if (o.epoch !== meta.producerEpoch && !retriedV2) return { kind: "error", error: ErrorCode.PRODUCER_FENCED };
  switch (meta.state) {
    case "Ongoing": {
      const bump = o.transactionVersion >= 2;
      return {
        kind: "prepare",
        commit: o.commit,
        next: {
          ...meta,
          state: o.commit ? "PrepareCommit" : "PrepareAbort",
          transactionVersion: Math.max(meta.transactionVersion, o.transactionVersion),
          lastProducerEpoch: bump ? meta.producerEpoch : meta.lastProducerEpoch,
          producerEpoch: bump ? meta.producerEpoch + 1 : meta.producerEpoch,
          updateMs: o.nowMs,
        },
      };
    }
    case "CompleteCommit":
      return o.commit ? { kind: "done", error: ErrorCode.NONE } : { kind: "error", error: ErrorCode.INVALID_TXN_STATE };
    case "CompleteAbort":
      return o.commit ? { kind: "error", error: ErrorCode.INVALID_TXN_STATE } : { kind: "done", error: ErrorCode.NONE };
    case "PrepareCommit":
      return o.commit
        ? { kind: "error", error: ErrorCode.CONCURRENT_TRANSACTIONS }
        : { kind: "error", error: ErrorCode.INVALID_TXN_STATE };
    case "PrepareAbort":
    case "PrepareEpochFence":
      return o.commit
        ? { kind: "error", error: ErrorCode.INVALID_TXN_STATE }
        : { kind: "error", error: ErrorCode.CONCURRENT_TRANSACTIONS };
    case "Empty":
      // A v2 client may abort with nothing added (an empty transaction): nothing to write.
      return !o.commit && o.transactionVersion >= 2
        ? { kind: "done", error: ErrorCode.NONE }
        : { kind: "error", error: ErrorCode.INVALID_TXN_STATE };
    case "Dead":
      return { kind: "error", error: ErrorCode.INVALID_PRODUCER_ID_MAPPING };
  }
}

/** After every marker of a Prepare state is written: CompleteCommit or CompleteAbort, partitions cleared. */
export function completeTransaction(meta: TxnMetadata, nowMs: number): TxnMetadata {
  if (meta.state !== "PrepareCommit" && meta.state !== "PrepareAbort") {
    throw new Error(`Cannot complete the transaction of ${meta.transactionalId}: it is ${meta.state}`);
  }
  return {
    ...meta,
    state: meta.state === "PrepareCommit" ? "CompleteCommit" : "CompleteAbort",
    partitions: [],
    groups: [],
    startMs: -1,
    updateMs: nowMs,
  };
}

/**
 * A transaction past its timeout (Kafka's `abortTimedOutTransactions`): abort it with the epoch
 * bumped, so the producer that went quiet is fenced. Null when not expired.
 */
export function expireTransaction(meta: TxnMetadata, nowMs: number): TxnMetadata | null {
  if (meta.state !== "Ongoing" || meta.startMs < 0 || nowMs - meta.startMs <= meta.timeoutMs) return null;
  return {
    ...meta,
    state: "PrepareAbort",
    lastProducerEpoch: meta.producerEpoch,
    producerEpoch: Math.min(meta.producerEpoch + 1, MAX_EPOCH),
    updateMs: nowMs,
  };
}

/** Whether an idle transactional id is past `transactional.id.expiration.ms` (Kafka removes it). */
export function isExpiredId(meta: TxnMetadata, nowMs: number, expirationMs: number): boolean {
  return (meta.state === "Empty" || meta.state === "CompleteCommit" || meta.state === "CompleteAbort") &&
    nowMs - meta.updateMs > expirationMs;
}

/** The stored form (JSON, versioned; bigints as strings). */
export function serializeTxn(meta: TxnMetadata): string {
  return JSON.stringify({
    v: 1,
    ...meta,
    producerId: String(meta.producerId),
    previousProducerId: String(meta.previousProducerId),
  });
}

/** Reads the stored form; null when it is not one this version understands. */
export function parseTxn(text: string): TxnMetadata | null {
  try {
    const o = JSON.parse(text) as Record<string, unknown>;
    if (o["v"] !== 1 || typeof o["transactionalId"] !== "string" || typeof o["state"] !== "string") return null;
    if (!(o["state"] as string in PREVIOUS)) return null;
    return {
      transactionalId: o["transactionalId"] as string,
      producerId: BigInt(o["producerId"] as string),
      previousProducerId: BigInt(o["previousProducerId"] as string),
      producerEpoch: o["producerEpoch"] as number,
      lastProducerEpoch: o["lastProducerEpoch"] as number,
      timeoutMs: o["timeoutMs"] as number,
      state: o["state"] as TxnState,
      partitions: (o["partitions"] as TxnPartition[]).map((p) => ({ topic: p.topic, partition: p.partition })),
      groups: [...(o["groups"] as string[])],
      startMs: o["startMs"] as number,
      updateMs: o["updateMs"] as number,
      transactionVersion: o["transactionVersion"] as number,
    };
  } catch {
    return null;
  }
}
