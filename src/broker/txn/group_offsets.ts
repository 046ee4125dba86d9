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

/**
 * A group's document: staged offsets, and per producer the epoch of the last marker that ended a
 * transaction here (`ended`), which fences a late TxnOffsetCommit of an older epoch (one that
 * reached the broker before its producer was fenced but was staged after the ABORT).
 */
type GroupDoc = { staged: Staged; ended: Record<string, number> };

/** The staged transactional offsets of every group. */
export class PendingTxnOffsets {
  readonly #storage: Storage;
  readonly #groups: GroupCoordinator;
  readonly #queue = new KeyedQueue();

  constructor(o: { storage: Storage; groups: GroupCoordinator }) {
    this.#storage = o.storage;
    this.#groups = o.groups;
  }

  async #load(groupId: string): Promise<GroupDoc> {
    const text = await this.#storage.state.get(NS, groupId);
    if (text === null) return { staged: {}, ended: {} };
    const doc = JSON.parse(text) as Partial<GroupDoc>;
    return { staged: doc.staged ?? {}, ended: doc.ended ?? {} };
  }

  async #save(groupId: string, doc: GroupDoc): Promise<void> {
    const empty = Object.keys(doc.staged).length === 0 && Object.keys(doc.ended).length === 0;
    await this.#storage.state.put(NS, [[groupId, empty ? null : JSON.stringify(doc)]]);
  }

  /**
   * Stages offsets of a producer's transaction; later ones for the same partition replace earlier.
   * @returns NONE, or PRODUCER_FENCED when a newer epoch of the producer staged offsets already
   */
  stage(groupId: string, producerId: bigint, epoch: number, offsets: readonly CommittedOffset[]): Promise<number> {
    return this.#queue.run(groupId, async () => {
      const doc = await this.#load(groupId);
      const key = String(producerId);
      const mine = doc.staged[key];
      if ((mine && mine.epoch > epoch) || (doc.ended[key] ?? -1) > epoch) return ErrorCode.PRODUCER_FENCED;
      const kept = (mine?.offsets ?? []).filter((o) =>
        !offsets.some((n) => n.topic === o.topic && n.partition === o.partition)
      );
      doc.staged[key] = { epoch, offsets: [...kept, ...offsets] };
      await this.#save(groupId, doc);
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
      const doc = await this.#load(groupId);
      const key = String(producerId);
      const mine = doc.staged[key];
      const ended = Math.max(doc.ended[key] ?? -1, epoch);
      if (mine && mine.epoch > epoch) return 0;
      if (mine && commit) await this.#groups.applyTransactionalOffsets(groupId, mine.offsets);
      if (!mine && doc.ended[key] === ended) return 0;
      delete doc.staged[key];
      doc.ended[key] = ended;
      await this.#save(groupId, doc);
      return mine && commit ? mine.offsets.length : 0;
    });
  }

  /** Ends a producer's staged offsets in every group of a coordinator shard (WriteTxnMarkers). */
  async completeShard(shard: number, producerId: bigint, epoch: number, commit: boolean): Promise<void> {
    const count = this.#storage.cluster.shardCount;
    for (const [groupId, text] of await this.#storage.state.list(NS)) {
      if (coordinatorShard(groupId, count) !== shard) continue;
      const doc = JSON.parse(text) as Partial<GroupDoc>;
      if (!(String(producerId) in (doc.staged ?? {}))) continue;
      await this.complete(groupId, producerId, epoch, commit);
    }
  }

  /** The partitions ("topic:partition") of a group with offsets staged by an open transaction. */
  async unstable(groupId: string): Promise<Set<string>> {
    const { staged } = await this.#load(groupId);
    const out = new Set<string>();
    for (const { offsets } of Object.values(staged)) for (const o of offsets) out.add(`${o.topic}:${o.partition}`);
    return out;
  }
}
