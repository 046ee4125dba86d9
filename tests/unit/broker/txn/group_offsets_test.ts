/**
 * The group side of transactional offsets: staged offsets become committed on COMMIT, go on
 * ABORT, and a TxnOffsetCommit of an epoch older than the last marker that ended the producer's
 * transaction in the group is fenced (a late request from a fenced processor must not leave
 * offsets staged that no marker will ever end, which would hold read_committed consumers'
 * OffsetFetch at UNSTABLE_OFFSET_COMMIT).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { silentLogger } from "../../../../src/broker/logger.ts";
import type { GroupCoordinator } from "../../../../src/broker/group/coordinator.ts";
import { PendingTxnOffsets } from "../../../../src/broker/txn/group_offsets.ts";
import { ErrorCode } from "../../../../src/protocol/generated/errors.ts";
import type { CommittedOffset } from "../../../../src/storage/engine.ts";
import { openMemoryStorage } from "../../../../src/storage/memory/engine.ts";

const offset = (o: number): CommittedOffset => ({
  topic: "t",
  partition: 0,
  offset: o,
  leaderEpoch: -1,
  metadata: null,
  commitMs: 0,
});

test("staged offsets commit on COMMIT, go on ABORT; a late stage of an older epoch is fenced", async () => {
  const storage = openMemoryStorage({
    clock: { now: () => 0 },
    logger: silentLogger,
    decompress: (_c, d) => d,
    logConfig: () => {
      throw new Error("unused");
    },
  });
  const applied: number[] = [];
  const groups = {
    applyTransactionalOffsets: (_g: string, offsets: readonly CommittedOffset[]) => {
      applied.push(...offsets.map((o) => o.offset));
      return Promise.resolve();
    },
  } as unknown as GroupCoordinator;
  const pending = new PendingTxnOffsets({ storage, groups });
  assert.equal(await pending.stage("g", 7n, 0, [offset(10)]), ErrorCode.NONE);
  assert.deepEqual([...(await pending.unstable("g"))], ["t:0"]);
  assert.equal(await pending.complete("g", 7n, 0, true), 1);
  assert.deepEqual(applied, [10]);
  assert.equal((await pending.unstable("g")).size, 0);
  // The producer is fenced: its transaction is aborted at epoch 1, then a late stage of epoch 0 arrives.
  assert.equal(await pending.stage("g", 7n, 0, [offset(20)]), ErrorCode.NONE);
  assert.equal(await pending.complete("g", 7n, 1, false), 0);
  assert.equal(await pending.stage("g", 7n, 0, [offset(30)]), ErrorCode.PRODUCER_FENCED);
  assert.equal((await pending.unstable("g")).size, 0, "nothing left staged");
  // The new epoch goes on, within the same epoch across transactions (transactions v1).
  assert.equal(await pending.stage("g", 7n, 1, [offset(40)]), ErrorCode.NONE);
  assert.equal(await pending.complete("g", 7n, 1, true), 1);
  assert.equal(await pending.stage("g", 7n, 1, [offset(50)]), ErrorCode.NONE);
  assert.deepEqual(applied, [10, 40]);
  await storage.close();
});
