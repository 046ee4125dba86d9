/**
 * Kafka's retention decision (`UnifiedLog.deleteOldSegments`), shared by every engine: which of a
 * partition's oldest segments go, given their sizes, newest timestamps and end offsets. Engines
 * without segments pass their batches as the units.
 *
 * The three rules run in Kafka's order, each from where the previous stopped:
 * 1. by time: a segment goes while `now - newest timestamp > retention.ms` (a segment without a
 *    timestamp, -1, never qualifies);
 * 2. by size: while the partition is over `retention.bytes` by at least the segment's size;
 * 3. by log start: while the next segment starts at or below the log start offset (DeleteRecords).
 *
 * No unit ending past the high watermark goes, nor an empty last one.
 *
 * @module
 */

import type { RetentionConfig, RetentionOutcome } from "./engine.ts";

/** One segment (or batch) as retention sees it. */
export interface RetentionUnit {
  size: number;
  /** Newest record timestamp, -1 when none. */
  maxTimestamp: number;
  /** The offset after its last record (the next unit's base offset). */
  endOffset: number;
}

/** How many units go from the front, and the rule that took the first. */
export interface RetentionPlan {
  count: number;
  bytes: number;
  reason: RetentionOutcome["reason"];
}

/**
 * Plans a retention pass.
 * @param units the partition's segments, oldest first
 * @param state the log start offset and high watermark
 * @param config retention settings (Infinity: no limit)
 * @param nowMs the time the pass runs at
 * @returns how many units go from the front, their bytes and why
 */
export function planRetention(
  units: readonly RetentionUnit[],
  state: { logStartOffset: number; highWatermark: number },
  config: RetentionConfig,
  nowMs: number,
): RetentionPlan {
  let count = 0;
  let bytes = 0;
  let reason: RetentionOutcome["reason"] = null;
  const eligible = (i: number) => {
    const u = units[i]!;
    const lastAndEmpty = i === units.length - 1 && u.size === 0;
    return !lastAndEmpty && u.endOffset <= state.highWatermark;
  };
  const take = (why: NonNullable<RetentionOutcome["reason"]>) => {
    bytes += units[count]!.size;
    count++;
    reason ??= why;
  };
  if (Number.isFinite(config.retentionMs)) {
    while (count < units.length && eligible(count)) {
      const ts = units[count]!.maxTimestamp;
      if (ts < 0 || nowMs - ts <= config.retentionMs) break;
      take("retention.ms");
    }
  }
  if (Number.isFinite(config.retentionBytes)) {
    let total = 0;
    for (const u of units) total += u.size;
    let over = total - bytes - config.retentionBytes;
    while (count < units.length && eligible(count) && over - units[count]!.size >= 0) {
      over -= units[count]!.size;
      take("retention.bytes");
    }
  }
  while (count < units.length - 1 && eligible(count) && units[count]!.endOffset <= state.logStartOffset) {
    take("log start offset");
  }
  return { count, bytes, reason };
}
