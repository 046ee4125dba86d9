/**
 * DescribeProducers, DescribeTransactions and ListTransactions (KIP-664) on an embedded broker,
 * with the generated codecs: ListTransactions v2 (the transactional id pattern) is spoken by no
 * client here, and the error cases stay with their id or partition.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type EmbeddedBroker, startBroker } from "../../../../mod.ts";
import { KafkaConnection } from "../../../../src/client/connection.ts";
import { CREATE_TOPICS_API } from "../../../../src/protocol/generated/19_create_topics.ts";
import { INIT_PRODUCER_ID_API } from "../../../../src/protocol/generated/22_init_producer_id.ts";
import { ADD_PARTITIONS_TO_TXN_API } from "../../../../src/protocol/generated/24_add_partitions_to_txn.ts";
import { DESCRIBE_PRODUCERS_API } from "../../../../src/protocol/generated/61_describe_producers.ts";
import { DESCRIBE_TRANSACTIONS_API } from "../../../../src/protocol/generated/65_describe_transactions.ts";
import { LIST_TRANSACTIONS_API } from "../../../../src/protocol/generated/66_list_transactions.ts";
import { ErrorCode } from "../../../../src/protocol/generated/errors.ts";
import { connect } from "../../../support/runtime.ts";

describe("transaction admin APIs", () => {
  let broker: EmbeddedBroker;
  let conn: KafkaConnection;
  let producerId: bigint;

  before(async () => {
    broker = await startBroker();
    conn = await KafkaConnection.open("127.0.0.1", broker.port, { connect });
    const created = await conn.request(CREATE_TOPICS_API, 7, {
      topics: [{ name: "t", numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 1000,
    });
    assert.equal(created.topics[0]!.errorCode, ErrorCode.NONE);
    for (const id of ["orders-1", "orders-2", "billing"]) {
      const init = await conn.request(INIT_PRODUCER_ID_API, 4, {
        transactionalId: id,
        transactionTimeoutMs: 60000,
        producerId: -1n,
        producerEpoch: -1,
      });
      assert.equal(init.errorCode, ErrorCode.NONE);
      if (id === "orders-1") producerId = init.producerId;
    }
    const added = await conn.request(ADD_PARTITIONS_TO_TXN_API, 3, {
      v3AndBelowTransactionalId: "orders-1",
      v3AndBelowProducerId: producerId,
      v3AndBelowProducerEpoch: 0,
      v3AndBelowTopics: [{ name: "t", partitions: [1, 0] }],
    });
    assert.equal(added.resultsByTopicV3AndBelow[0]!.resultsByPartition[0]!.partitionErrorCode, ErrorCode.NONE);
  });
  after(async () => {
    conn?.close();
    await broker?.close();
  });

  test("ListTransactions v2 filters by state and by a whole-id pattern; a bad pattern is INVALID_REGULAR_EXPRESSION", async () => {
    const list = (o: { states?: string[]; pattern?: string | null; version?: number }) =>
      conn.request(LIST_TRANSACTIONS_API, o.version ?? 2, {
        stateFilters: o.states ?? [],
        producerIdFilters: [],
        durationFilter: -1n,
        transactionalIdPattern: o.pattern ?? null,
      });
    const all = await list({});
    assert.deepEqual(
      all.transactionStates.map((t) => [t.transactionalId, t.transactionState]).sort(),
      [["billing", "Empty"], ["orders-1", "Ongoing"], ["orders-2", "Empty"]],
    );
    assert.deepEqual((await list({ pattern: "orders-.*" })).transactionStates.map((t) => t.transactionalId).sort(), [
      "orders-1",
      "orders-2",
    ]);
    assert.deepEqual((await list({ pattern: "orders" })).transactionStates, []);
    // v1 has no pattern: the field is not sent, so every id is listed.
    assert.equal((await list({ pattern: "orders", version: 1 })).transactionStates.length, 3);
    const ongoing = await list({ states: ["Ongoing", "Nope"] });
    assert.deepEqual(ongoing.unknownStateFilters, ["Nope"]);
    assert.deepEqual(ongoing.transactionStates.map((t) => [t.transactionalId, t.producerId]), [[
      "orders-1",
      producerId,
    ]]);
    const bad = await list({ pattern: "(" });
    assert.equal(bad.errorCode, ErrorCode.INVALID_REGULAR_EXPRESSION);
    assert.deepEqual(bad.transactionStates, []);
  });

  test("DescribeTransactions answers each id on its own: state, timeout, partitions or its error", async () => {
    const r = await conn.request(DESCRIBE_TRANSACTIONS_API, 0, {
      transactionalIds: ["orders-1", "nobody", "orders-2", ""],
    });
    assert.deepEqual(r.transactionStates.map((s) => s.errorCode), [
      ErrorCode.NONE,
      ErrorCode.TRANSACTIONAL_ID_NOT_FOUND,
      ErrorCode.NONE,
      ErrorCode.INVALID_REQUEST,
    ]);
    const [o1, , o2] = r.transactionStates;
    assert.equal(o1!.transactionState, "Ongoing");
    assert.equal(o1!.transactionTimeoutMs, 60000);
    assert.equal(o1!.producerId, producerId);
    assert.ok(o1!.transactionStartTimeMs > 0n);
    assert.deepEqual(o1!.topics, [{ topic: "t", partitions: [0, 1] }]);
    assert.deepEqual([o2!.transactionState, o2!.transactionStartTimeMs, o2!.topics], ["Empty", -1n, []]);
  });

  test("DescribeProducers answers each partition on its own", async () => {
    const r = await conn.request(DESCRIBE_PRODUCERS_API, 0, {
      topics: [{ name: "t", partitionIndexes: [0, 2, -1] }, { name: "missing", partitionIndexes: [0] }],
    });
    assert.deepEqual(r.topics.map((t) => [t.name, t.partitions.map((p) => [p.partitionIndex, p.errorCode])]), [
      ["t", [[0, ErrorCode.NONE], [2, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION], [
        -1,
        ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      ]]],
      ["missing", [[0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]]],
    ]);
    assert.deepEqual(r.topics[0]!.partitions[0]!.activeProducers, []);
  });
});
