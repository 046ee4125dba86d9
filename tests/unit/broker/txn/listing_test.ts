import assert from "node:assert/strict";
import { test } from "node:test";
import { compileListFilters, type ListFilters } from "../../../../src/broker/txn/listing.ts";
import { freshMetadata, type TxnMetadata } from "../../../../src/broker/txn/transaction.ts";
import { ErrorCode } from "../../../../src/protocol/generated/errors.ts";

const NOW = 1_000_000;

function meta(id: string, o: Partial<TxnMetadata> = {}): TxnMetadata {
  return { ...freshMetadata(id, 7n, 60000, NOW), ...o };
}

function names(f: Partial<ListFilters>, metas: TxnMetadata[]): string[] {
  const c = compileListFilters({
    stateFilters: [],
    producerIdFilters: [],
    durationFilterMs: -1n,
    transactionalIdPattern: null,
    ...f,
  });
  assert.ok(c.ok);
  return metas.filter((m) => c.value.matches(m, NOW)).map((m) => m.transactionalId);
}

const ALL = [
  meta("a-empty"),
  meta("b-ongoing", { state: "Ongoing", producerId: 8n, startMs: NOW - 5000 }),
  meta("c-dead", { state: "Dead" }),
  meta("d-commit", { state: "CompleteCommit", producerId: 9n }),
];

test("compileListFilters() without filters lists every id but the Dead ones", () => {
  assert.deepEqual(names({}, ALL), ["a-empty", "b-ongoing", "d-commit"]);
});

test("compileListFilters() matches state names exactly; unknown names are echoed and match nothing", () => {
  assert.deepEqual(names({ stateFilters: ["Ongoing", "CompleteCommit"] }, ALL), ["b-ongoing", "d-commit"]);
  assert.deepEqual(names({ stateFilters: ["ongoing"] }, ALL), []);
  const c = compileListFilters({
    stateFilters: ["Bogus", "Bogus", "Empty"],
    producerIdFilters: [],
    durationFilterMs: -1n,
    transactionalIdPattern: null,
  });
  assert.ok(c.ok);
  assert.deepEqual(c.value.unknownStateFilters, ["Bogus"]);
  assert.deepEqual(names({ stateFilters: ["Bogus"] }, ALL), []);
  assert.deepEqual(names({ stateFilters: ["Dead"] }, ALL), []);
});

test("compileListFilters() filters by producer id and by duration (running longer than)", () => {
  assert.deepEqual(names({ producerIdFilters: [8n, 9n] }, ALL), ["b-ongoing", "d-commit"]);
  assert.deepEqual(names({ stateFilters: ["Ongoing"], durationFilterMs: 4999n }, ALL), ["b-ongoing"]);
  assert.deepEqual(names({ stateFilters: ["Ongoing"], durationFilterMs: 5000n }, ALL), []);
});

test("compileListFilters() matches the pattern against the whole id; a bad one is INVALID_REGULAR_EXPRESSION", () => {
  assert.deepEqual(names({ transactionalIdPattern: "[ab]-.*" }, ALL), ["a-empty", "b-ongoing"]);
  assert.deepEqual(names({ transactionalIdPattern: "ongoing" }, ALL), []);
  assert.deepEqual(names({ transactionalIdPattern: "" }, ALL), ["a-empty", "b-ongoing", "d-commit"]);
  const bad = compileListFilters({
    stateFilters: [],
    producerIdFilters: [],
    durationFilterMs: -1n,
    transactionalIdPattern: "(",
  });
  assert.equal(bad.ok, false);
  assert.equal(!bad.ok && bad.code, ErrorCode.INVALID_REGULAR_EXPRESSION);
});
