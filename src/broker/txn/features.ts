/**
 * The feature levels kbin finalizes (KIP-584), as Kafka 4.x answers them in ApiVersions v3+:
 * `transaction.version` 2 (KIP-890's transactions v2: the epoch bumped at every transaction end,
 * partitions added by Produce v12, offsets by TxnOffsetCommit v5). Clients that do not know
 * the feature keep transactions v1. A broker emulating a release before 4.0 finalizes nothing.
 *
 * @module
 */

/** The finalized `transaction.version`. */
export const TRANSACTION_VERSION = 2;

/** The supported range and finalized level of each feature. */
export const FEATURES: readonly { name: string; minVersion: number; maxVersion: number; level: number }[] = [
  { name: "transaction.version", minVersion: 0, maxVersion: 2, level: TRANSACTION_VERSION },
];

/** The epoch of the finalized levels (they never change while kbin runs). */
export const FEATURES_EPOCH = 1n;
