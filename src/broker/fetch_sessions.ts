/**
 * Incremental fetch sessions (KIP-227). A session remembers the partitions a client fetches
 * and what it was last told about each, so later requests name only what changed and
 * responses carry only partitions with news (records, an error, or moved offsets).
 *
 * Epoch rules, as in Kafka's FetchSession: (id 0, epoch -1) is a full fetch without a session;
 * (id 0, epoch 0) a full fetch that opens one; (id N, epoch 0) closes N and opens another;
 * (id N, epoch -1) closes N; (id N, epoch E > 0) is incremental and E must be the session's
 * next epoch, else INVALID_FETCH_SESSION_EPOCH; an unknown N is FETCH_SESSION_ID_NOT_FOUND.
 * When the cache is full the least recently used session is evicted.
 *
 * @module
 */

import type { Clock } from "../ports.ts";

/** What a session remembers about one partition. */
export interface SessionPartition {
  topicName: string;
  topicId: string;
  partition: number;
  fetchOffset: bigint;
  partitionMaxBytes: number;
  currentLeaderEpoch: number;
  /** Last values sent, to decide whether an incremental response must include the partition. */
  sentHighWatermark: bigint;
  sentLogStartOffset: bigint;
  sentLastStableOffset: bigint;
}

/** One client's session. Partition order is insertion order, as Kafka's LinkedHashMap. */
export interface FetchSession {
  readonly id: number;
  /** The epoch the next incremental request must carry. */
  nextEpoch: number;
  readonly partitions: Map<string, SessionPartition>;
  lastUsedMs: number;
  /** Whether the session was created by a request addressing topics by id (v13+). */
  readonly usesTopicIds: boolean;
}

/** The key of a partition inside a session. */
export function sessionKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

/** Broker-wide session cache. */
export class FetchSessionCache {
  readonly #sessions = new Map<number, FetchSession>();
  readonly #max: number;
  readonly #clock: Clock;

  constructor(options: { maxSessions: number; clock: Clock }) {
    this.#max = options.maxSessions;
    this.#clock = options.clock;
  }

  get size(): number {
    return this.#sessions.size;
  }

  /** Opens a session, evicting the least recently used one when full; null when disabled. */
  create(usesTopicIds: boolean): FetchSession | null {
    if (this.#max <= 0) return null;
    if (this.#sessions.size >= this.#max) {
      let oldest: FetchSession | null = null;
      for (const s of this.#sessions.values()) if (!oldest || s.lastUsedMs < oldest.lastUsedMs) oldest = s;
      if (oldest) this.#sessions.delete(oldest.id);
    }
    let id = 0;
    while (id === 0 || this.#sessions.has(id)) id = (Math.random() * 0x7fffffff) | 0;
    const s: FetchSession = { id, nextEpoch: 1, partitions: new Map(), lastUsedMs: this.#clock.now(), usesTopicIds };
    this.#sessions.set(id, s);
    return s;
  }

  get(id: number): FetchSession | undefined {
    const s = this.#sessions.get(id);
    if (s) {
      s.lastUsedMs = this.#clock.now();
      // Re-insert so iteration order tracks recency.
      this.#sessions.delete(id);
      this.#sessions.set(id, s);
    }
    return s;
  }

  remove(id: number): void {
    this.#sessions.delete(id);
  }
}

/** The epoch after `epoch`, wrapping past INT32_MAX to 1 as Kafka does. */
export function nextSessionEpoch(epoch: number): number {
  return epoch >= 0x7fffffff ? 1 : epoch + 1;
}
