/** The transaction coordinator's decisions (Kafka's TransactionCoordinator rules), state by state. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { ErrorCode } from "../../../../src/protocol/generated/errors.ts";
import {
  addOffsets,
  addPartitions,
  canTransition,
  completeTransaction,
  endTransaction,
  expireTransaction,
  freshMetadata,
  initProducerId,
  isExpiredId,
  MAX_EPOCH,
  parseTxn,
  serializeTxn,
  type TxnMetadata,
} from "../../../../src/broker/txn/transaction.ts";

const NOW = 1_000_000;
let nextId = 100n;
const newProducerId = () => nextId++;
const init = (meta: TxnMetadata, expected: { id: bigint; epoch: number } | null = null, timeoutMs = 60_000) =>
  initProducerId(meta, { timeoutMs, maxTimeoutMs: 900_000, expected, newProducerId, nowMs: NOW });

function ready(meta: TxnMetadata, expected: { id: bigint; epoch: number } | null = null): TxnMetadata {
  const d = init(meta, expected);
  assert.equal(d.kind, "ready", JSON.stringify(d, (_k, v) => (typeof v === "bigint" ? String(v) : v)));
  if (d.kind !== "ready") throw new Error();
  return d.next;
}

test("Kafka's transitions: only the allowed ones", () => {
  assert.ok(canTransition("Empty", "Ongoing"));
  assert.ok(canTransition("Ongoing", "PrepareCommit"));
  assert.ok(canTransition("PrepareCommit", "CompleteCommit"));
  assert.ok(canTransition("CompleteCommit", "Ongoing"));
  assert.ok(canTransition("Ongoing", "PrepareEpochFence"));
  assert.ok(canTransition("PrepareEpochFence", "PrepareAbort"));
  assert.ok(!canTransition("Empty", "PrepareCommit"));
  assert.ok(!canTransition("PrepareCommit", "PrepareAbort"));
  assert.ok(!canTransition("Ongoing", "CompleteCommit"));
  assert.ok(!canTransition("Dead", "Empty"));
});

test("InitProducerId: a new id gets epoch 0, a re-init bumps it, a bad timeout is refused", () => {
  const fresh = freshMetadata("t1", 7n, 60_000, NOW);
  const first = ready(fresh);
  assert.deepEqual([first.producerId, first.producerEpoch, first.state], [7n, 0, "Empty"]);
  const second = ready(first);
  assert.deepEqual([second.producerId, second.producerEpoch, second.lastProducerEpoch], [7n, 1, 0]);
  assert.deepEqual(init(second, null, 0), { kind: "error", error: ErrorCode.INVALID_TRANSACTION_TIMEOUT });
  assert.deepEqual(init(second, null, 900_001), { kind: "error", error: ErrorCode.INVALID_TRANSACTION_TIMEOUT });
});

test("InitProducerId with an ongoing transaction fences it: abort first, the epoch bumped", () => {
  const m = ready(freshMetadata("t2", 8n, 60_000, NOW));
  const ongoing = addPartitions(m, { producerId: 8n, epoch: 0, partitions: [{ topic: "a", partition: 0 }], nowMs: NOW })
    .next!;
  const d = init(ongoing);
  assert.equal(d.kind, "abort-first");
  if (d.kind !== "abort-first") return;
  assert.deepEqual([d.next.state, d.next.producerEpoch, d.next.partitions.length], ["PrepareAbort", 1, 1]);
  // The old producer is fenced from now on.
  assert.equal(
    addPartitions(d.next, { producerId: 8n, epoch: 0, partitions: [{ topic: "b", partition: 0 }], nowMs: NOW }).error,
    ErrorCode.PRODUCER_FENCED,
  );
  // While the abort is being written, another InitProducerId waits.
  assert.deepEqual(init(d.next), { kind: "error", error: ErrorCode.CONCURRENT_TRANSACTIONS });
  const aborted = completeTransaction(d.next, NOW);
  assert.equal(aborted.state, "CompleteAbort");
  assert.equal(ready(aborted).producerEpoch, 2);
});

test("InitProducerId with the previous id and epoch (KIP-360): a retry answers again, a stranger is fenced", () => {
  const m = ready(ready(freshMetadata("t3", 9n, 60_000, NOW)));
  assert.equal(m.producerEpoch, 1);
  const retry = init(m, { id: 9n, epoch: 0 });
  assert.ok(retry.kind === "ready" && retry.next.producerEpoch === 1);
  assert.ok(init(m, { id: 9n, epoch: 1 }).kind === "ready");
  assert.deepEqual(init(m, { id: 9n, epoch: 5 }), { kind: "error", error: ErrorCode.PRODUCER_FENCED });
  assert.deepEqual(init(m, { id: 42n, epoch: 0 }), { kind: "error", error: ErrorCode.PRODUCER_FENCED });
});

test("an exhausted epoch gets a new producer id", () => {
  const m = { ...ready(freshMetadata("t4", 10n, 60_000, NOW)), producerEpoch: MAX_EPOCH };
  const next = ready(m);
  assert.equal(next.producerEpoch, 0);
  assert.notEqual(next.producerId, 10n);
  assert.equal(next.previousProducerId, 10n);
});

test("AddPartitions and AddOffsets: id and epoch checked, partitions merged, Prepare states refused", () => {
  const m = ready(freshMetadata("t5", 11n, 60_000, NOW));
  const p = (topic: string, partition: number) => ({ topic, partition });
  const a = addPartitions(m, { producerId: 11n, epoch: 0, partitions: [p("b", 1), p("a", 0)], nowMs: NOW + 1 }).next!;
  assert.deepEqual([a.state, a.partitions, a.startMs], ["Ongoing", [p("a", 0), p("b", 1)], NOW + 1]);
  const same = addPartitions(a, { producerId: 11n, epoch: 0, partitions: [p("a", 0)], nowMs: NOW + 2 });
  assert.deepEqual(same, { next: null, error: ErrorCode.NONE });
  const more = addPartitions(a, { producerId: 11n, epoch: 0, partitions: [p("a", 1)], nowMs: NOW + 3 }).next!;
  assert.deepEqual(more.partitions, [p("a", 0), p("a", 1), p("b", 1)]);
  assert.equal(more.startMs, NOW + 1);
  const withOffsets = addOffsets(more, { producerId: 11n, epoch: 0, groupId: "g", nowMs: NOW }).next!;
  assert.deepEqual(withOffsets.groups, ["g"]);
  assert.equal(
    addPartitions(more, { producerId: 12n, epoch: 0, partitions: [p("c", 0)], nowMs: NOW }).error,
    ErrorCode.INVALID_PRODUCER_ID_MAPPING,
  );
  assert.equal(
    addPartitions(more, { producerId: 11n, epoch: 1, partitions: [p("c", 0)], nowMs: NOW }).error,
    ErrorCode.PRODUCER_FENCED,
  );
  const ending = endTransaction(more, { producerId: 11n, epoch: 0, commit: true, transactionVersion: 1, nowMs: NOW });
  assert.equal(ending.kind, "prepare");
  if (ending.kind !== "prepare") return;
  assert.equal(
    addPartitions(ending.next, { producerId: 11n, epoch: 0, partitions: [p("c", 0)], nowMs: NOW }).error,
    ErrorCode.CONCURRENT_TRANSACTIONS,
  );
  assert.equal(
    addPartitions(null, { producerId: 11n, epoch: 0, partitions: [], nowMs: NOW }).error,
    ErrorCode.INVALID_PRODUCER_ID_MAPPING,
  );
});

test("EndTxn: commit and abort from Ongoing; retries after completion; wrong states", () => {
  const m = ready(freshMetadata("t6", 12n, 60_000, NOW));
  const ongoing = addPartitions(m, {
    producerId: 12n,
    epoch: 0,
    partitions: [{ topic: "a", partition: 0 }],
    nowMs: NOW,
  })
    .next!;
  const end = (meta: TxnMetadata, commit: boolean, epoch = 0, transactionVersion = 1) =>
    endTransaction(meta, { producerId: 12n, epoch, commit, transactionVersion, nowMs: NOW });
  const commit = end(ongoing, true);
  assert.ok(commit.kind === "prepare" && commit.next.state === "PrepareCommit" && commit.next.producerEpoch === 0);
  if (commit.kind !== "prepare") return;
  // While the markers are written: a commit retry waits, an abort is a state error.
  assert.deepEqual(end(commit.next, true), { kind: "error", error: ErrorCode.CONCURRENT_TRANSACTIONS });
  assert.deepEqual(end(commit.next, false), { kind: "error", error: ErrorCode.INVALID_TXN_STATE });
  const done = completeTransaction(commit.next, NOW);
  assert.deepEqual([done.state, done.partitions], ["CompleteCommit", []]);
  assert.deepEqual(end(done, true), { kind: "done", error: ErrorCode.NONE });
  assert.deepEqual(end(done, false), { kind: "error", error: ErrorCode.INVALID_TXN_STATE });
  assert.deepEqual(end(ready(done), true), { kind: "error", error: ErrorCode.PRODUCER_FENCED });
  assert.deepEqual(end(m, true), { kind: "error", error: ErrorCode.INVALID_TXN_STATE });
  assert.deepEqual(end(ongoing, true, 3), { kind: "error", error: ErrorCode.PRODUCER_FENCED });
});

test("transactions v2 (KIP-890): every end bumps the epoch; a retry with the old epoch is answered", () => {
  const m = ready(freshMetadata("t7", 13n, 60_000, NOW));
  const ongoing = addPartitions(m, {
    producerId: 13n,
    epoch: 0,
    partitions: [{ topic: "a", partition: 0 }],
    nowMs: NOW,
  })
    .next!;
  const end = endTransaction(ongoing, { producerId: 13n, epoch: 0, commit: false, transactionVersion: 2, nowMs: NOW });
  assert.ok(end.kind === "prepare" && end.next.producerEpoch === 1 && end.next.transactionVersion === 2);
  if (end.kind !== "prepare") return;
  const done = completeTransaction(end.next, NOW);
  assert.deepEqual(
    endTransaction(done, { producerId: 13n, epoch: 0, commit: false, transactionVersion: 2, nowMs: NOW }),
    { kind: "done", error: ErrorCode.NONE },
  );
  // An empty abort by a v2 client writes nothing.
  assert.deepEqual(
    endTransaction(done, { producerId: 13n, epoch: 1, commit: false, transactionVersion: 2, nowMs: NOW }),
    { kind: "done", error: ErrorCode.NONE },
  );
});

test("a transaction past its timeout is aborted with the epoch bumped; idle ids expire", () => {
  const d = init(freshMetadata("t8", 14n, 1000, NOW), null, 1000);
  assert.equal(d.kind, "ready");
  if (d.kind !== "ready") return;
  const m = d.next;
  const ongoing = addPartitions(m, {
    producerId: 14n,
    epoch: 0,
    partitions: [{ topic: "a", partition: 0 }],
    nowMs: NOW,
  })
    .next!;
  assert.equal(expireTransaction(ongoing, NOW + 1000), null);
  const expired = expireTransaction(ongoing, NOW + 1001)!;
  assert.deepEqual([expired.state, expired.producerEpoch], ["PrepareAbort", 1]);
  assert.equal(isExpiredId(m, NOW + 10, 5), true);
  assert.equal(isExpiredId(ongoing, NOW + 10, 5), false);
});

test("the stored form reads back exactly; other versions are refused", () => {
  const m = addPartitions(ready(freshMetadata("t9", 2n ** 40n, 5000, NOW)), {
    producerId: 2n ** 40n,
    epoch: 0,
    partitions: [{ topic: "x", partition: 3 }],
    nowMs: NOW,
  }).next!;
  assert.deepEqual(parseTxn(serializeTxn(m)), m);
  assert.equal(parseTxn('{"v":2}'), null);
  assert.equal(parseTxn("not json"), null);
});
