import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ErrorCode } from "../../../src/protocol/generated/errors.ts";
import {
  type BatchInfo,
  incrementSequence,
  NUM_BATCHES_TO_RETAIN,
  ProducerStateManager,
  type SequenceCheck,
} from "../../../src/storage/producer_state.ts";

const INT32_MAX = 0x7fffffff;
const PID = 1000n;

/** A data batch of `count` records from producer PID (or `over.producerId`). */
function batch(baseSequence: number, count: number, over: Partial<BatchInfo> = {}): BatchInfo {
  return {
    producerId: PID,
    producerEpoch: 0,
    baseSequence,
    lastOffsetDelta: count - 1,
    isTransactional: false,
    isControl: false,
    maxTimestamp: 1_000n,
    ...over,
  };
}

/** A COMMIT/ABORT marker batch (one record, no sequence). */
function marker(producerEpoch: number, over: Partial<BatchInfo> = {}): BatchInfo {
  return {
    producerId: PID,
    producerEpoch,
    baseSequence: -1,
    lastOffsetDelta: 0,
    isTransactional: true,
    isControl: true,
    maxTimestamp: 2_000n,
    ...over,
  };
}

/** Checks, asserts it is an append, then records it at the log end; returns the next log end offset. */
function append(state: ProducerStateManager, b: BatchInfo, logEnd: bigint): bigint {
  assert.deepEqual(state.check(b), { kind: "append" });
  state.update(b, logEnd, 0);
  return logEnd + BigInt(b.lastOffsetDelta) + 1n;
}

function assertError(verdict: SequenceCheck, code: number): void {
  assert.equal(verdict.kind, "error", `expected error ${code}, got ${JSON.stringify(verdict, bigintJson)}`);
  if (verdict.kind === "error") {
    assert.equal(verdict.code, code);
    assert.ok(verdict.message.length > 0);
  }
}

function bigintJson(_key: string, value: unknown): unknown {
  return typeof value === "bigint" ? value.toString() : value;
}

/** Five batches of 5 records at sequences 0..24, offsets 0..24. */
function fiveBatches(state: ProducerStateManager): bigint {
  let end = 0n;
  for (let i = 0; i < 5; i++) end = append(state, batch(i * 5, 5), end);
  return end;
}

describe("ProducerStateManager.check()", () => {
  test("ProducerStateManager.check() appends the first batch of an unknown producer at sequence 0", () => {
    assert.deepEqual(new ProducerStateManager().check(batch(0, 3)), { kind: "append" });
  });

  test("ProducerStateManager.check() appends an unknown producer's batch at a non-zero sequence, as Kafka does since KIP-360", () => {
    assert.deepEqual(new ProducerStateManager().check(batch(42, 3, { producerEpoch: 7 })), { kind: "append" });
  });

  test("ProducerStateManager.check() appends the batch that follows the newest one", () => {
    const state = new ProducerStateManager();
    const end = append(state, batch(0, 3), 0n);
    assert.equal(end, 3n);
    append(state, batch(3, 2), end);
  });

  test("ProducerStateManager.check() answers a retried batch with its original offsets", () => {
    const state = new ProducerStateManager();
    let end = append(state, batch(0, 3, { maxTimestamp: 111n }), 10n);
    end = append(state, batch(3, 4, { maxTimestamp: 222n }), end);
    assert.deepEqual(state.check(batch(0, 3, { maxTimestamp: 999n })), {
      kind: "duplicate",
      baseOffset: 10n,
      lastOffset: 12n,
      maxTimestamp: 111n,
    });
    assert.deepEqual(state.check(batch(3, 4)), {
      kind: "duplicate",
      baseOffset: 13n,
      lastOffset: 16n,
      maxTimestamp: 222n,
    });
  });

  test("ProducerStateManager.check() recognises a retry of any of the last 5 batches", () => {
    const state = new ProducerStateManager();
    fiveBatches(state);
    for (let i = 0; i < 5; i++) {
      const verdict = state.check(batch(i * 5, 5));
      assert.deepEqual(verdict, {
        kind: "duplicate",
        baseOffset: BigInt(i * 5),
        lastOffset: BigInt(i * 5 + 4),
        maxTimestamp: 1_000n,
      });
    }
  });

  test("ProducerStateManager.check() rejects a retry of the 6th-newest batch with OUT_OF_ORDER_SEQUENCE_NUMBER, as Kafka keeps only 5", () => {
    assert.equal(NUM_BATCHES_TO_RETAIN, 5);
    const state = new ProducerStateManager();
    const end = fiveBatches(state);
    append(state, batch(25, 5), end);
    assertError(state.check(batch(0, 5)), ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    assert.equal(state.check(batch(5, 5)).kind, "duplicate");
  });

  test("ProducerStateManager.check() rejects a batch that only overlaps a retained batch with OUT_OF_ORDER_SEQUENCE_NUMBER", () => {
    const state = new ProducerStateManager();
    append(state, batch(0, 5), 0n);
    assertError(state.check(batch(0, 3)), ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    assertError(state.check(batch(2, 3)), ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
  });

  test("ProducerStateManager.check() rejects a sequence gap with OUT_OF_ORDER_SEQUENCE_NUMBER", () => {
    const state = new ProducerStateManager();
    append(state, batch(0, 5), 0n);
    assertError(state.check(batch(6, 1)), ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
  });

  test("ProducerStateManager.check() rejects an older epoch with INVALID_PRODUCER_EPOCH", () => {
    const state = new ProducerStateManager();
    let end = append(state, batch(0, 5, { producerEpoch: 2 }), 0n);
    end = append(state, batch(0, 5, { producerEpoch: 3 }), end);
    assertError(state.check(batch(5, 1, { producerEpoch: 2 })), ErrorCode.INVALID_PRODUCER_EPOCH);
    // A retry from the old epoch is no duplicate either: the bump forgot that epoch's batches.
    assertError(state.check(batch(0, 5, { producerEpoch: 2 })), ErrorCode.INVALID_PRODUCER_EPOCH);
  });

  test("ProducerStateManager.check() accepts a bumped epoch only when its sequence restarts at 0", () => {
    const state = new ProducerStateManager();
    append(state, batch(0, 5, { producerEpoch: 0 }), 0n);
    assertError(state.check(batch(5, 1, { producerEpoch: 1 })), ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    assert.deepEqual(state.check(batch(0, 1, { producerEpoch: 1 })), { kind: "append" });
  });

  test("ProducerStateManager.check() follows sequence numbers past 2^31-1 back to 0", () => {
    assert.equal(incrementSequence(INT32_MAX, 1), 0);
    assert.equal(incrementSequence(INT32_MAX - 1, 3), 1);
    assert.equal(incrementSequence(5, 3), 8);

    const state = new ProducerStateManager();
    // Unknown producer: any first sequence is accepted (KIP-360).
    let end = append(state, batch(INT32_MAX - 4, 5), 0n); // 2147483643..2147483647
    end = append(state, batch(0, 2), end); // wraps to 0
    assert.deepEqual(state.check(batch(INT32_MAX - 4, 5)), {
      kind: "duplicate",
      baseOffset: 0n,
      lastOffset: 4n,
      maxTimestamp: 1_000n,
    });
    // A batch straddling the wrap: 2147483646, 2147483647, 0, 1.
    const other = new ProducerStateManager();
    let e2 = append(other, batch(INT32_MAX - 3, 2), 0n);
    e2 = append(other, batch(INT32_MAX - 1, 4), e2);
    assert.equal(other.producers()[0]?.lastSequence, 1);
    assert.equal(other.check(batch(INT32_MAX - 1, 4)).kind, "duplicate");
    assertError(other.check(batch(0, 1)), ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    append(other, batch(2, 1), e2);
    assert.equal(end, 7n);
  });

  test("ProducerStateManager.check() rejects a data batch without a sequence with INVALID_RECORD", () => {
    assertError(new ProducerStateManager().check(batch(-1, 1)), ErrorCode.INVALID_RECORD);
  });

  test("ProducerStateManager.check() does not change state", () => {
    const state = new ProducerStateManager();
    append(state, batch(0, 5), 0n);
    const before = state.snapshot(5n);
    state.check(batch(5, 5, { producerEpoch: 1 }));
    state.check(batch(5, 5));
    state.check(batch(0, 1, { producerId: 7n }));
    assert.deepEqual(state.snapshot(5n), before);
  });

  test("ProducerStateManager.check() requires sequence 0 from a known epoch that has no batch yet", () => {
    const state = new ProducerStateManager();
    let end = append(state, batch(0, 5, { isTransactional: true }), 0n);
    // The coordinator's marker bumps the epoch (as KIP-360's epoch bump on abort does).
    end = append(state, marker(1), end);
    assertError(state.check(batch(5, 1, { producerEpoch: 1 })), ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    append(state, batch(0, 1, { producerEpoch: 1 }), end);
  });
});

describe("ProducerStateManager transactions", () => {
  test("ProducerStateManager.update() opens a transaction at the first transactional batch and a marker ends it", () => {
    const state = new ProducerStateManager();
    let end = append(state, batch(0, 2, { isTransactional: true }), 100n);
    end = append(state, batch(2, 2, { isTransactional: true }), end);
    assert.equal(state.producers()[0]?.currentTxnFirstOffset, 100n);
    end = append(state, marker(0, { coordinatorEpoch: 3 }), end);
    const view = state.producers()[0];
    assert.equal(view?.currentTxnFirstOffset, null);
    assert.equal(view?.coordinatorEpoch, 3);
    assert.equal(view?.lastTimestamp, 2_000n);
    // Same-epoch markers keep the batches, so sequences continue and retries are still found.
    assert.equal(state.check(batch(2, 2, { isTransactional: true })).kind, "duplicate");
    append(state, batch(4, 1), end);
  });

  test("ProducerStateManager.check() skips sequence checks for control batches", () => {
    const state = new ProducerStateManager();
    append(state, batch(0, 5, { producerEpoch: 4, isTransactional: true }), 0n);
    assert.deepEqual(state.check(marker(4)), { kind: "append" });
    assert.deepEqual(state.check(marker(5)), { kind: "append" });
    assert.deepEqual(state.check(marker(0, { producerId: 77n })), { kind: "append" });
  });

  test("ProducerStateManager.check() rejects a marker from an older epoch with INVALID_PRODUCER_EPOCH", () => {
    const state = new ProducerStateManager();
    append(state, batch(0, 1, { producerEpoch: 4 }), 0n);
    assertError(state.check(marker(3)), ErrorCode.INVALID_PRODUCER_EPOCH);
  });

  test("ProducerStateManager.check() rejects a marker from an older coordinator with TRANSACTION_COORDINATOR_FENCED", () => {
    const state = new ProducerStateManager();
    const end = append(state, batch(0, 1, { isTransactional: true }), 0n);
    append(state, marker(0, { coordinatorEpoch: 5 }), end);
    assertError(state.check(marker(0, { coordinatorEpoch: 4 })), ErrorCode.TRANSACTION_COORDINATOR_FENCED);
    assert.deepEqual(state.check(marker(0, { coordinatorEpoch: 5 })), { kind: "append" });
  });

  test("ProducerStateManager.check() rejects a non-transactional batch during a transaction with INVALID_TXN_STATE", () => {
    const state = new ProducerStateManager();
    append(state, batch(0, 2, { isTransactional: true }), 0n);
    assertError(state.check(batch(2, 1)), ErrorCode.INVALID_TXN_STATE);
    assert.deepEqual(state.check(batch(2, 1, { isTransactional: true })), { kind: "append" });
  });
});

describe("ProducerStateManager.removeExpired()", () => {
  test("ProducerStateManager.removeExpired() drops producers idle for at least the expiration time", () => {
    const state = new ProducerStateManager();
    append(state, batch(0, 1, { producerId: 1n, maxTimestamp: 1_000n }), 0n);
    append(state, batch(0, 1, { producerId: 2n, maxTimestamp: 5_000n }), 1n);
    state.removeExpired(10_999, 10_000);
    assert.deepEqual(state.producers().map((p) => p.producerId), [1n, 2n]);
    state.removeExpired(11_000, 10_000);
    assert.deepEqual(state.producers().map((p) => p.producerId), [2n]);
  });

  test("ProducerStateManager.removeExpired() keeps a producer with an open transaction", () => {
    const state = new ProducerStateManager();
    append(state, batch(0, 1, { isTransactional: true, maxTimestamp: 0n }), 0n);
    state.removeExpired(86_400_000 * 10, 86_400_000);
    assert.equal(state.producers().length, 1);
  });

  test("ProducerStateManager.check() accepts any sequence from a producer whose state expired (KIP-360)", () => {
    const state = new ProducerStateManager();
    append(state, batch(0, 5, { maxTimestamp: 0n }), 0n);
    assertError(state.check(batch(9, 1)), ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    state.removeExpired(86_400_000, 86_400_000);
    assert.deepEqual(state.check(batch(9, 1)), { kind: "append" });
  });
});

describe("ProducerStateManager.producers()", () => {
  test("ProducerStateManager.producers() reports epoch, last sequence, offsets and timestamps", () => {
    const state = new ProducerStateManager();
    let end = append(state, batch(0, 3, { producerEpoch: 2, maxTimestamp: 50n }), 20n);
    end = append(state, batch(3, 2, { producerEpoch: 2, maxTimestamp: 60n }), end);
    assert.deepEqual(state.producers(), [{
      producerId: PID,
      producerEpoch: 2,
      lastSequence: 4,
      lastTimestamp: 60n,
      lastOffset: 24n,
      currentTxnFirstOffset: null,
      coordinatorEpoch: -1,
    }]);
    assert.equal(end, 25n);
  });
});

describe("ProducerStateManager snapshots", () => {
  function sample(): { state: ProducerStateManager; end: bigint } {
    const state = new ProducerStateManager();
    let end = fiveBatches(state);
    end = append(state, batch(0, 2, { producerId: 2n, producerEpoch: 9, isTransactional: true }), end);
    end = append(state, batch(0, 1, { producerId: 3n, isTransactional: true }), end);
    end = append(state, marker(0, { producerId: 3n, coordinatorEpoch: 4 }), end);
    return { state, end };
  }

  test("ProducerStateManager.load() restores what snapshot() wrote", () => {
    const { state, end } = sample();
    const bytes = state.snapshot(end);
    const loaded = ProducerStateManager.load(bytes);
    assert.ok(loaded !== null);
    assert.equal(loaded.replayFrom, end);
    assert.deepEqual(loaded.state.producers(), state.producers());
    assert.deepEqual(loaded.state.snapshot(end), bytes);
    // All retained batches come back, so every retry is still answered as a duplicate.
    for (let i = 0; i < 5; i++) assert.equal(loaded.state.check(batch(i * 5, 5)).kind, "duplicate");
    assert.deepEqual(loaded.state.check(batch(25, 1)), { kind: "append" });
    assertError(loaded.state.check(batch(2, 1, { producerId: 2n, producerEpoch: 9 })), ErrorCode.INVALID_TXN_STATE);
  });

  test("ProducerStateManager.load() round-trips an empty state", () => {
    const loaded = ProducerStateManager.load(new ProducerStateManager().snapshot(0n));
    assert.ok(loaded !== null);
    assert.equal(loaded.replayFrom, 0n);
    assert.deepEqual(loaded.state.producers(), []);
  });

  test("ProducerStateManager.load() returns null when any byte is corrupted", () => {
    const { state, end } = sample();
    const bytes = state.snapshot(end);
    for (let i = 0; i < bytes.length; i++) {
      const bad = bytes.slice();
      bad[i] = bad[i]! ^ 0x01;
      assert.equal(ProducerStateManager.load(bad), null, `flipped byte ${i}`);
    }
  });

  test("ProducerStateManager.load() returns null for truncated, extended, empty or unknown-version bytes", () => {
    const { state, end } = sample();
    const bytes = state.snapshot(end);
    for (let n = 0; n < bytes.length; n++) assert.equal(ProducerStateManager.load(bytes.subarray(0, n)), null);
    const longer = new Uint8Array(bytes.length + 1);
    longer.set(bytes);
    assert.equal(ProducerStateManager.load(longer), null);
    const v2 = bytes.slice();
    new DataView(v2.buffer).setInt16(0, 2);
    assert.equal(ProducerStateManager.load(v2), null);
  });

  test("ProducerStateManager.load() keeps the newest batches when fewer are allowed", () => {
    const { state, end } = sample();
    const loaded = ProducerStateManager.load(state.snapshot(end), { maxBatchesPerProducer: 2 });
    assert.ok(loaded !== null);
    assert.equal(loaded.state.check(batch(20, 5)).kind, "duplicate");
    assert.equal(loaded.state.check(batch(15, 5)).kind, "duplicate");
    assertError(loaded.state.check(batch(10, 5)), ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
  });

  test("ProducerStateManager.snapshot() below the log end leaves out later state, and replay brings it back", () => {
    const state = new ProducerStateManager();
    const log: [BatchInfo, bigint][] = [];
    let end = 0n;
    const add = (b: BatchInfo) => {
      log.push([b, end]);
      end = append(state, b, end);
    };
    for (let i = 0; i < 7; i++) add(batch(i * 2, 2, { maxTimestamp: BigInt(100 + i) }));
    add(batch(0, 2, { producerId: 2n, isTransactional: true }));
    add(batch(2, 1, { producerId: 2n, isTransactional: true }));
    add(marker(0, { producerId: 2n, coordinatorEpoch: 1 }));
    add(batch(3, 1, { producerId: 2n }));
    for (const upTo of [0n, 3n, 8n, 14n, 15n, 16n, 17n, 18n, end]) {
      const loaded = ProducerStateManager.load(state.snapshot(upTo));
      assert.ok(loaded !== null, `snapshot at ${upTo}`);
      assert.equal(loaded.replayFrom, upTo);
      for (const [b, base] of log) {
        if (base + BigInt(b.lastOffsetDelta) >= upTo) loaded.state.update(b, base, 0);
      }
      assert.deepEqual(loaded.state.producers(), state.producers(), `snapshot at ${upTo}`);
      // Producer 1 wrote no marker, so its whole dedup window survives any snapshot offset.
      for (let i = 2; i < 7; i++) assert.equal(loaded.state.check(batch(i * 2, 2)).kind, "duplicate");
      assert.deepEqual(loaded.state.check(batch(14, 1)), { kind: "append" });
      assert.deepEqual(loaded.state.check(batch(4, 1, { producerId: 2n })), { kind: "append" });
    }
  });
});

describe("ProducerStateManager.truncateFrom()", () => {
  test("ProducerStateManager.truncateFrom() forgets batches at or after the offset and continues from the newest survivor", () => {
    const state = new ProducerStateManager();
    fiveBatches(state); // offsets 0..24, sequences 0..24
    state.truncateFrom(15n);
    assert.equal(state.producers()[0]?.lastSequence, 14);
    assert.equal(state.producers()[0]?.lastOffset, 14n);
    assert.equal(state.check(batch(10, 5)).kind, "duplicate");
    assert.deepEqual(state.check(batch(15, 5)), { kind: "append" });
    assertError(state.check(batch(20, 5)), ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
  });

  test("ProducerStateManager.truncateFrom() drops the batch that contains the offset", () => {
    const state = new ProducerStateManager();
    fiveBatches(state);
    state.truncateFrom(12n);
    assert.equal(state.producers()[0]?.lastOffset, 9n);
    assert.deepEqual(state.check(batch(10, 5)), { kind: "append" });
  });

  test("ProducerStateManager.truncateFrom() leaves producers with no state at or after the offset untouched", () => {
    const state = new ProducerStateManager();
    let end = append(state, batch(0, 2, { producerId: 1n }), 0n);
    end = append(state, batch(0, 2, { producerId: 2n, isTransactional: true }), end);
    end = append(state, marker(0, { producerId: 2n }), end);
    const before = state.producers();
    append(state, batch(0, 2, { producerId: 3n }), end);
    state.truncateFrom(end);
    assert.deepEqual(state.producers(), before);
  });

  test("ProducerStateManager.truncateFrom() drops producers it cannot rebuild, which then count as unknown", () => {
    const state = new ProducerStateManager();
    // Producer 1: every batch at or after the offset.
    let end = append(state, batch(0, 5, { producerId: 1n }), 10n);
    // Producer 2: a marker at or after the offset.
    end = append(state, batch(0, 1, { producerId: 2n, isTransactional: true }), end);
    end = append(state, marker(1, { producerId: 2n }), end);
    state.truncateFrom(10n);
    assert.deepEqual(state.producers(), []);
    assert.deepEqual(state.check(batch(5, 1, { producerId: 1n })), { kind: "append" });
    assert.equal(end, 17n);
  });

  test("ProducerStateManager.truncateFrom() closes a transaction that began at or after the offset", () => {
    const state = new ProducerStateManager();
    let end = append(state, batch(0, 2, { isTransactional: true, maxTimestamp: 10n }), 0n);
    end = append(state, marker(0, { maxTimestamp: 20n }), end); // offset 2
    end = append(state, batch(2, 2, { isTransactional: true, maxTimestamp: 30n }), end); // offsets 3..4
    assert.equal(state.producers()[0]?.currentTxnFirstOffset, 3n);
    state.truncateFrom(3n);
    const view = state.producers()[0];
    assert.equal(view?.currentTxnFirstOffset, null);
    assert.equal(view?.lastTimestamp, 20n); // the marker was the last update below the offset
    assert.deepEqual(state.check(batch(2, 1)), { kind: "append" });
    assert.equal(end, 5n);
  });

  test("ProducerStateManager.truncateFrom() keeps a transaction that began below the offset open", () => {
    const state = new ProducerStateManager();
    let end = append(state, batch(0, 2, { isTransactional: true, maxTimestamp: 10n }), 0n);
    end = append(state, batch(2, 2, { isTransactional: true, maxTimestamp: 30n }), end);
    state.truncateFrom(2n);
    const view = state.producers()[0];
    assert.equal(view?.currentTxnFirstOffset, 0n);
    assert.equal(view?.lastTimestamp, 10n);
    assert.equal(end, 4n);
  });
});

describe("new ProducerStateManager()", () => {
  test("new ProducerStateManager() honours maxBatchesPerProducer and rejects values below 1", () => {
    const state = new ProducerStateManager({ maxBatchesPerProducer: 2 });
    fiveBatches(state);
    assert.equal(state.check(batch(15, 5)).kind, "duplicate");
    assertError(state.check(batch(10, 5)), ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    assert.throws(() => new ProducerStateManager({ maxBatchesPerProducer: 0 }), RangeError);
  });
});
