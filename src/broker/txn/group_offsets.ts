/**
 * Transactional offsets a consumer group holds until their transaction ends (Kafka keeps them as
 * pending offsets of the group's `__consumer_offsets` partition). TxnOffsetCommit, answered by the
 * group's coordinator, stages them here per producer; the transaction's marker for the group
 * (written by the transaction coordinator, directly or through WriteTxnMarkers when another broker
 * coordinates the group) makes them the group's committed offsets (COMMIT) or drops them (ABORT).
 * While some are staged, OffsetFetch with `require_stable` answers UNSTABLE_OFFSET_COMMIT for
 * their partitions. They are a document per group in the storage's state (namespace
 * `group-txn-offsets`), so a broker that takes the group's shard over finds them.
 *
 * @module
 */

import { ErrorCode } from "../../protocol/generated/errors.ts";
import type { CommittedOffset, Storage } from "../../storage/engine.ts";
import { coordinatorShard } from "../../storage/placement.ts";
import type { GroupCoordinator } from "../group/coordinator.ts";
import { KeyedQueue } from "./keyed_queue.ts";

const NS = "group-txn-offsets";

/** A group's staged offsets by producer id. */
type Staged = Record<string, { epoch: number; offsets: CommittedOffset[] }>;

/** The staged transactional offsets of every group. */
export class PendingTxnOffsets {
  readonly #storage: Storage;
  readonly #groups: GroupCoordinator;
  readonly #queue = new KeyedQueue();

  constructor(o: { storage: Storage; groups: GroupCoordinator }) {
    this.#storage = o.storage;
    this.#groups = o.groups;
  }

  async #load(groupId: string): Promise<Staged> {
    const text = await this.#storage.state.get(NS, groupId);
    return text === null ? {} : JSON.parse(text) as Staged;
  }

  async #save(groupId: string, staged: Staged): Promise<void> {
    const value = Object.keys(staged).length === 0 ? null : JSON.stringify(staged);
    await this.#storage.state.put(NS, [[groupId, value]]);
  }

  /**
   * Stages offsets of a producer's transaction; later ones for the same partition replace earlier.
   * @returns NONE, or PRODUCER_FENCED when a newer epoch of the producer staged offsets already
   */
  stage(groupId: string, producerId: bigint, epoch: number, offsets: readonly CommittedOffset[]): Promise<number> {
    return this.#queue.run(groupId, async () => {
      const staged = await this.#load(groupId);
      const key = String(producerId);
      const mine = staged[key];
      if (mine && mine.epoch > epoch) return ErrorCode.PRODUCER_FENCED;
      const kept = (mine?.offsets ?? []).filter((o) =>
        !offsets.some((n) => n.topic === o.topic && n.partition === o.partition)
      );
      staged[key] = { epoch, offsets: [...kept, ...offsets] };
      await this.#save(groupId, staged);
      return ErrorCode.NONE;
    });
  }

  /**
   * Ends a producer's staged offsets in one group: committed or dropped. Idempotent (a marker
   * written again after a crash finds nothing left).
   * @returns how many offsets were committed
   */
  complete(groupId: string, producerId: bigint, epoch: number, commit: boolean): Promise<number> {
    return this.#queue.run(groupId, async () => {
      const staged = await this.#load(groupId);
      const key = String(producerId);
      const mine = staged[key];
      if (!mine || mine.epoch > epoch) return 0;
      if (commit) await this.#groups.applyTransactionalOffsets(groupId, mine.offsets);
      delete staged[key];
      await this.#save(groupId, staged);
      return commit ? mine.offsets.length : 0;
    });
  }

  /** Ends a producer's staged offsets in every group of a coordinator shard (WriteTxnMarkers). */
  async completeShard(shard: number, producerId: bigint, epoch: number, commit: boolean): Promise<void> {
    const count = this.#storage.cluster.shardCount;
    for (const [groupId, text] of await this.#storage.state.list(NS)) {
      if (coordinatorShard(groupId, count) !== shard) continue;
      if (!(String(producerId) in (JSON.parse(text) as Staged))) continue;
      await this.complete(groupId, producerId, epoch, commit);
    }
  }

  /** The partitions ("topic:partition") of a group with offsets staged by an open transaction. */
  async unstable(groupId: string): Promise<Set<string>> {
    const staged = await this.#load(groupId);
    const out = new Set<string>();
    for (const { offsets } of Object.values(staged)) for (const o of offsets) out.add(`${o.topic}:${o.partition}`);
    return out;
  }
}
