/**
 * A partition's leader epoch history: where each epoch started, as Kafka's
 * `LeaderEpochFileCache` keeps it (and in its `leader-epoch-checkpoint` text format), so that
 * OffsetForLeaderEpoch can tell a client where an epoch ended and clients detect truncation
 * (KIP-101, KIP-320). A partition that never started an epoch is at epoch 0 from offset 0.
 *
 * @module
 */

import type { EpochEnd } from "./engine.ts";

/** One epoch and the first offset written under it. */
export interface EpochEntry {
  epoch: number;
  startOffset: number;
}

const CHECKPOINT_VERSION = 0;

/** The epoch history of one partition. */
export class LeaderEpochs {
  #entries: EpochEntry[];

  constructor(entries: readonly EpochEntry[] = []) {
    this.#entries = [...entries];
  }

  /** The current epoch (0 when none was ever started). */
  get latest(): number {
    return this.#entries[this.#entries.length - 1]?.epoch ?? 0;
  }

  get entries(): readonly EpochEntry[] {
    return this.#entries;
  }

  /**
   * Where `epoch` ended, by Kafka's rules: the current epoch ends at the log end; an older one
   * where the next epoch started; an epoch above every known one (or -1) is unknown (-1, -1); an
   * epoch below the first known one ends where the first one started.
   * @param epoch the epoch a client asks about
   * @param logEndOffset the log end offset
   * @returns the epoch and its end offset
   */
  endOffsetFor(epoch: number, logEndOffset: number): EpochEnd {
    if (epoch < 0) return { leaderEpoch: -1, endOffset: -1 };
    if (epoch === this.latest) return { leaderEpoch: epoch, endOffset: logEndOffset };
    const higher = this.#entries.findIndex((e) => e.epoch > epoch);
    if (higher < 0) return { leaderEpoch: -1, endOffset: -1 };
    const floor = higher - 1;
    // No entry at or below: the implicit epoch 0 (from offset 0) is the floor, as the entry
    // (0, 0) Kafka writes on a partition's first append would be.
    const leaderEpoch = floor >= 0 ? this.#entries[floor]!.epoch : 0;
    return { leaderEpoch, endOffset: this.#entries[higher]!.startOffset };
  }

  /** The epoch the record at `offset` was written in (the last epoch starting at or before it). */
  epochForOffset(offset: number): number {
    let epoch = 0;
    for (const e of this.#entries) {
      if (e.startOffset > offset) break;
      epoch = e.epoch;
    }
    return epoch;
  }

  /** Records that `epoch` starts at `startOffset`; false when it is not above the current one. */
  assign(epoch: number, startOffset: number): boolean {
    if (this.#entries.length > 0 && epoch <= this.latest) return false;
    if (this.#entries.length === 0 && epoch <= 0) return false;
    this.#entries.push({ epoch, startOffset });
    return true;
  }

  /**
   * The log was truncated at `endOffset` (recovery dropped a torn tail): epochs that started later
   * now start there. Unlike Kafka's follower truncation they are kept, as this node still leads at
   * them. Returns whether anything changed.
   */
  truncateFromEnd(endOffset: number): boolean {
    let changed = false;
    for (const e of this.#entries) {
      if (e.startOffset > endOffset) {
        e.startOffset = endOffset;
        changed = true;
      }
    }
    return changed;
  }

  /** Kafka's checkpoint text: version, count, then "epoch startOffset" lines. */
  toCheckpoint(): string {
    return [
      String(CHECKPOINT_VERSION),
      String(this.#entries.length),
      ...this.#entries.map((e) => `${e.epoch} ${e.startOffset}`),
    ]
      .join("\n") + "\n";
  }

  /**
   * Parses Kafka's checkpoint text.
   * @param text the file's content
   * @returns the history, or null when the text is not a valid checkpoint
   */
  static fromCheckpoint(text: string): LeaderEpochs | null {
    const lines = text.split("\n").filter((l) => l.length > 0);
    if (lines[0] !== String(CHECKPOINT_VERSION)) return null;
    const count = Number(lines[1]);
    if (!Number.isInteger(count) || lines.length !== count + 2) return null;
    const entries: EpochEntry[] = [];
    for (const line of lines.slice(2)) {
      const [e, o] = line.split(" ").map(Number);
      if (!Number.isInteger(e) || !Number.isInteger(o)) return null;
      entries.push({ epoch: e!, startOffset: o! });
    }
    return new LeaderEpochs(entries);
  }
}
