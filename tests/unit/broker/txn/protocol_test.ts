/**
 * The transaction protocol's broker-side rules that no client here exercises (they are for
 * zombies, transactions v2 clients and other brokers), at the protocol level against a broker
 * in this process: KIP-890 verification refuses a transactional batch of no ongoing transaction
 * (no hanging transaction); Produce v12 under `transaction.version` 2 adds the partition; ApiVersions
 * finalizes `transaction.version` 2; OffsetFetch `require_stable` answers UNSTABLE_OFFSET_COMMIT
 * while a transaction's offsets are staged; WriteTxnMarkers ends a transaction in a partition;
 * `transactional.id.expiration.ms` removes idle ids. Real clients: tests/compat/transactions.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { startBroker } from "../../../../mod.ts";
import { KafkaConnection } from "../../../../src/client/connection.ts";
import { PRODUCE_API } from "../../../../src/protocol/generated/00_produce.ts";
import { LIST_OFFSETS_API } from "../../../../src/protocol/generated/02_list_offsets.ts";
import { OFFSET_COMMIT_API } from "../../../../src/protocol/generated/08_offset_commit.ts";
import { OFFSET_FETCH_API } from "../../../../src/protocol/generated/09_offset_fetch.ts";
import { FIND_COORDINATOR_API } from "../../../../src/protocol/generated/10_find_coordinator.ts";
import { API_VERSIONS_API } from "../../../../src/protocol/generated/18_api_versions.ts";
import { CREATE_TOPICS_API } from "../../../../src/protocol/generated/19_create_topics.ts";
import { INIT_PRODUCER_ID_API } from "../../../../src/protocol/generated/22_init_producer_id.ts";
import { ADD_PARTITIONS_TO_TXN_API } from "../../../../src/protocol/generated/24_add_partitions_to_txn.ts";
import { ADD_OFFSETS_TO_TXN_API } from "../../../../src/protocol/generated/25_add_offsets_to_txn.ts";
import { END_TXN_API } from "../../../../src/protocol/generated/26_end_txn.ts";
import { WRITE_TXN_MARKERS_API } from "../../../../src/protocol/generated/27_write_txn_markers.ts";
import { TXN_OFFSET_COMMIT_API } from "../../../../src/protocol/generated/28_txn_offset_commit.ts";
import { ErrorCode } from "../../../../src/protocol/generated/errors.ts";
import { buildBatch } from "../../../../src/protocol/records/records.ts";
import { connect } from "../../../support/runtime.ts";

type Conn = KafkaConnection;

async function withBroker(config: Record<string, string>, fn: (conn: Conn) => Promise<void>): Promise<void> {
  await using broker = await startBroker({ logLevel: "silent", config });
  const conn = await KafkaConnection.open("127.0.0.1", broker.port, { connect });
  try {
    const created = await conn.request(CREATE_TOPICS_API, 5, {
      topics: [{ name: "t", numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 1000,
    });
    assert.equal(created.topics[0]!.errorCode, ErrorCode.NONE);
    await fn(conn);
  } finally {
    conn.close();
  }
}

async function init(conn: Conn, id: string): Promise<{ producerId: bigint; producerEpoch: number }> {
  const coord = await conn.request(FIND_COORDINATOR_API, 4, { key: "", keyType: 1, coordinatorKeys: [id] });
  assert.equal(coord.coordinators[0]!.errorCode, ErrorCode.NONE);
  const r = await conn.request(INIT_PRODUCER_ID_API, 4, {
    transactionalId: id,
    transactionTimeoutMs: 60_000,
    producerId: -1n,
    producerEpoch: -1,
  });
  assert.equal(r.errorCode, ErrorCode.NONE);
  return { producerId: r.producerId, producerEpoch: r.producerEpoch };
}

async function produce(
  conn: Conn,
  version: number,
  id: string | null,
  p: { producerId: bigint; producerEpoch: number },
  partition: number,
  seq: number,
): Promise<number> {
  const records = buildBatch([{ key: null, value: new TextEncoder().encode(`v${seq}`) }], {
    producerId: p.producerId,
    producerEpoch: p.producerEpoch,
    baseSequence: seq,
    transactional: true,
  });
  const r = await conn.request(PRODUCE_API, version, {
    transactionalId: id,
    acks: -1,
    timeoutMs: 5000,
    topicData: [{ name: "t", partitionData: [{ index: partition, records }] }],
  });
  return r.responses[0]!.partitionResponses[0]!.errorCode;
}

async function lastStable(conn: Conn, partition: number): Promise<bigint> {
  const r = await conn.request(LIST_OFFSETS_API, 7, {
    replicaId: -1,
    isolationLevel: 1,
    topics: [{ name: "t", partitions: [{ partitionIndex: partition, timestamp: -1n }] }],
  });
  return r.topics[0]!.partitions[0]!.offset;
}

test("a transactional batch of no ongoing transaction is refused and leaves no hanging transaction", async () => {
  await withBroker({}, async (conn) => {
    const p = await init(conn, "zombie");
    assert.equal(await produce(conn, 9, "zombie", p, 0, 0), ErrorCode.INVALID_TXN_STATE);
    assert.equal(await produce(conn, 9, null, p, 0, 0), ErrorCode.INVALID_TXN_STATE);
    assert.equal(await lastStable(conn, 0), 0n, "nothing was written, nothing holds the LSO");
    // Once the partition is added, the same batch goes in and holds the LSO until the end.
    const added = await conn.request(ADD_PARTITIONS_TO_TXN_API, 3, {
      v3AndBelowTransactionalId: "zombie",
      v3AndBelowProducerId: p.producerId,
      v3AndBelowProducerEpoch: p.producerEpoch,
      v3AndBelowTopics: [{ name: "t", partitions: [0] }],
    });
    assert.equal(added.resultsByTopicV3AndBelow[0]!.resultsByPartition[0]!.partitionErrorCode, ErrorCode.NONE);
    assert.equal(await produce(conn, 9, "zombie", p, 0, 0), ErrorCode.NONE);
    assert.equal(await lastStable(conn, 0), 0n);
    const ended = await conn.request(END_TXN_API, 3, { transactionalId: "zombie", ...p, committed: false });
    assert.equal(ended.errorCode, ErrorCode.NONE);
    assert.equal(await lastStable(conn, 0), 2n, "batch + ABORT marker");
    // After the abort, a late batch of the same epoch must not open a new transaction.
    assert.equal(await produce(conn, 9, "zombie", p, 0, 1), ErrorCode.INVALID_TXN_STATE);
    assert.equal(await produce(conn, 12, "zombie", p, 1, 0), ErrorCode.NONE, "v12 adds the partition");
    assert.equal(await lastStable(conn, 1), 0n, "the v12 transaction is open");
  });
});

test("transactions v2: ApiVersions finalizes transaction.version 2; Produce v12 adds partitions; EndTxn v5 bumps the epoch and fences the old one", async () => {
  await withBroker({}, async (conn) => {
    const versions = await conn.request(API_VERSIONS_API, 3, {
      clientSoftwareName: "kbin-test",
      clientSoftwareVersion: "1",
    });
    assert.deepEqual(versions.finalizedFeatures.map((f) => [f.name, f.minVersionLevel, f.maxVersionLevel]), [[
      "transaction.version",
      2,
      2,
    ]]);
    assert.deepEqual(versions.supportedFeatures.map((f) => [f.name, f.minVersion, f.maxVersion]), [[
      "transaction.version",
      0,
      2,
    ]]);
    const p = await init(conn, "v2");
    assert.equal(await produce(conn, 12, "v2", p, 0, 0), ErrorCode.NONE);
    assert.equal(await produce(conn, 12, "v2", p, 1, 0), ErrorCode.NONE);
    assert.equal(await lastStable(conn, 0), 0n);
    const ended = await conn.request(END_TXN_API, 5, { transactionalId: "v2", ...p, committed: true });
    assert.equal(ended.errorCode, ErrorCode.NONE);
    assert.equal(ended.producerEpoch, p.producerEpoch + 1);
    assert.equal(await lastStable(conn, 0), 2n);
    assert.equal(await lastStable(conn, 1), 2n);
    // The old epoch is fenced by the marker at the bumped epoch.
    assert.equal(await produce(conn, 12, "v2", p, 0, 1), ErrorCode.INVALID_PRODUCER_EPOCH);
    const next = { producerId: p.producerId, producerEpoch: ended.producerEpoch };
    assert.equal(await produce(conn, 12, "v2", next, 0, 0), ErrorCode.NONE);
  });
});

test("OffsetFetch require_stable answers UNSTABLE_OFFSET_COMMIT while a transaction's offsets are staged", async () => {
  await withBroker({}, async (conn) => {
    const committed = await conn.request(OFFSET_COMMIT_API, 7, {
      groupId: "g",
      generationIdOrMemberEpoch: -1,
      memberId: "",
      groupInstanceId: null,
      topics: [{ name: "t", partitions: [{ partitionIndex: 0, committedOffset: 5n, committedMetadata: null }] }],
    });
    assert.equal(committed.topics[0]!.partitions[0]!.errorCode, ErrorCode.NONE);
    const p = await init(conn, "ctp");
    const added = await conn.request(ADD_OFFSETS_TO_TXN_API, 3, { transactionalId: "ctp", ...p, groupId: "g" });
    assert.equal(added.errorCode, ErrorCode.NONE);
    const staged = await conn.request(TXN_OFFSET_COMMIT_API, 3, {
      transactionalId: "ctp",
      groupId: "g",
      ...p,
      generationId: -1,
      memberId: "",
      groupInstanceId: null,
      topics: [{ name: "t", partitions: [{ partitionIndex: 0, committedOffset: 9n, committedMetadata: "" }] }],
    });
    assert.equal(staged.topics[0]!.partitions[0]!.errorCode, ErrorCode.NONE);
    const fetch = async (requireStable: boolean) => {
      const r = await conn.request(OFFSET_FETCH_API, 7, {
        groupId: "g",
        topics: [{ name: "t", partitionIndexes: [0, 1] }],
        requireStable,
      });
      return r.topics[0]!.partitions.map((x) => [x.partitionIndex, x.errorCode, Number(x.committedOffset)]);
    };
    assert.deepEqual(await fetch(false), [[0, 0, 5], [1, 0, -1]]);
    assert.deepEqual(await fetch(true), [[0, ErrorCode.UNSTABLE_OFFSET_COMMIT, -1], [1, 0, -1]]);
    const ended = await conn.request(END_TXN_API, 3, { transactionalId: "ctp", ...p, committed: true });
    assert.equal(ended.errorCode, ErrorCode.NONE);
    assert.deepEqual(await fetch(true), [[0, 0, 9], [1, 0, -1]]);
  });
});

test("WriteTxnMarkers ends a producer's transaction in a partition; stale producer or coordinator epochs are refused; errors stay with their partition", async () => {
  await withBroker({}, async (conn) => {
    const p = await init(conn, "hang");
    await conn.request(ADD_PARTITIONS_TO_TXN_API, 3, {
      v3AndBelowTransactionalId: "hang",
      v3AndBelowProducerId: p.producerId,
      v3AndBelowProducerEpoch: p.producerEpoch,
      v3AndBelowTopics: [{ name: "t", partitions: [0] }],
    });
    assert.equal(await produce(conn, 9, "hang", p, 0, 0), ErrorCode.NONE);
    assert.equal(await lastStable(conn, 0), 0n);
    const r = await conn.request(WRITE_TXN_MARKERS_API, 1, {
      markers: [{
        ...p,
        transactionResult: false,
        coordinatorEpoch: 5,
        topics: [{ name: "t", partitionIndexes: [0, 7] }, { name: "nope", partitionIndexes: [0] }],
      }],
    });
    assert.deepEqual(
      r.markers[0]!.topics.map((t) => [t.name, t.partitions.map((x) => [x.partitionIndex, x.errorCode])]),
      [["t", [[0, ErrorCode.NONE], [7, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]]], ["nope", [[
        0,
        ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      ]]]],
    );
    assert.equal(await lastStable(conn, 0), 2n, "the ABORT marker ended the transaction");
    // An older producer epoch is refused by the log.
    const stale = await conn.request(WRITE_TXN_MARKERS_API, 1, {
      markers: [{
        producerId: p.producerId,
        producerEpoch: p.producerEpoch - 1,
        transactionResult: true,
        coordinatorEpoch: 0,
        topics: [{ name: "t", partitionIndexes: [0] }],
      }],
    });
    assert.equal(stale.markers[0]!.topics[0]!.partitions[0]!.errorCode, ErrorCode.INVALID_PRODUCER_EPOCH);
    // So is an older coordinator epoch than the last marker's (a coordinator that lost its shard).
    const fenced = await conn.request(WRITE_TXN_MARKERS_API, 1, {
      markers: [{
        ...p,
        transactionResult: false,
        coordinatorEpoch: 4,
        topics: [{ name: "t", partitionIndexes: [0] }],
      }],
    });
    assert.equal(fenced.markers[0]!.topics[0]!.partitions[0]!.errorCode, ErrorCode.TRANSACTION_COORDINATOR_FENCED);
  });
});

test("transactional.id.expiration.ms removes an idle transactional id: the next InitProducerId gets a new producer id", async () => {
  await withBroker({
    "transactional.id.expiration.ms": "300",
    "transaction.abort.timed.out.transaction.cleanup.interval.ms": "100",
  }, async (conn) => {
    const first = await init(conn, "idle");
    const again = await init(conn, "idle");
    assert.equal(again.producerId, first.producerId, "still known: same id, epoch bumped");
    assert.equal(again.producerEpoch, first.producerEpoch + 1);
    await new Promise((r) => setTimeout(r, 900));
    const later = await init(conn, "idle");
    assert.notEqual(later.producerId, first.producerId);
    assert.equal(later.producerEpoch, 0);
  });
});
