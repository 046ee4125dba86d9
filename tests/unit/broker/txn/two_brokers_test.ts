/**
 * A transaction whose coordinator, partitions and consumer group are on different brokers (two
 * brokers on one PostgreSQL), at the protocol level for what no client here does: a transactions
 * v2 client (Produce v12 and TxnOffsetCommit v5 with no AddPartitionsToTxn / AddOffsetsToTxn).
 * The partition's leader verifies (and adds) the partition at the coordinator's broker; the
 * group's coordinator adds the group there; EndTxn's markers reach the other broker's partition
 * and group through WriteTxnMarkers. A zombie batch is refused by the remote verification.
 * Real clients across brokers: tests/compat/scale_out (kill -9 of the coordinator's broker).
 */
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { type EmbeddedBroker, startBroker } from "../../../../mod.ts";
import { KafkaConnection } from "../../../../src/client/connection.ts";
import { PRODUCE_API } from "../../../../src/protocol/generated/00_produce.ts";
import { LIST_OFFSETS_API } from "../../../../src/protocol/generated/02_list_offsets.ts";
import { METADATA_API } from "../../../../src/protocol/generated/03_metadata.ts";
import { OFFSET_FETCH_API } from "../../../../src/protocol/generated/09_offset_fetch.ts";
import { FIND_COORDINATOR_API } from "../../../../src/protocol/generated/10_find_coordinator.ts";
import { CREATE_TOPICS_API } from "../../../../src/protocol/generated/19_create_topics.ts";
import { INIT_PRODUCER_ID_API } from "../../../../src/protocol/generated/22_init_producer_id.ts";
import { END_TXN_API } from "../../../../src/protocol/generated/26_end_txn.ts";
import { TXN_OFFSET_COMMIT_API } from "../../../../src/protocol/generated/28_txn_offset_commit.ts";
import { ErrorCode } from "../../../../src/protocol/generated/errors.ts";
import { buildBatch } from "../../../../src/protocol/records/records.ts";
import { postgresBinDir, sharedPostgres, stopSharedPostgres } from "../../../support/postgres.ts";
import { connect } from "../../../support/runtime.ts";

after(stopSharedPostgres);

const NO_POSTGRES = postgresBinDir() === null && process.env["CI"] !== "true";

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test("transactions v2 across two brokers: remote verification and adds, markers through WriteTxnMarkers", {
  skip: NO_POSTGRES ? "PostgreSQL is not installed" : false,
}, async () => {
  const pg = await sharedPostgres();
  const url = pg.createDatabase(`kbin_txn_two_${process.pid}`);
  const brokers: EmbeddedBroker[] = [];
  const conns = new Map<number, KafkaConnection>();
  try {
    for (const nodeId of [1, 2]) {
      brokers.push(
        await startBroker({
          storage: url,
          logLevel: "silent",
          config: { "node.id": String(nodeId), "kbin.cluster.lease.ms": "4000", "kbin.cluster.heartbeat.ms": "200" },
        }),
      );
      conns.set(nodeId, await KafkaConnection.open("127.0.0.1", brokers.at(-1)!.port, { connect }));
    }
    const c1 = conns.get(1)!;
    const created = await c1.request(CREATE_TOPICS_API, 5, {
      topics: [{ name: "t", numPartitions: 8, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 1000,
    });
    assert.equal(created.topics[0]!.errorCode, ErrorCode.NONE);
    // Both brokers agree on the partitions' leaders, and each leads some.
    const leaders = await until("both brokers leading partitions, seen alike", async () => {
      const seen = [];
      for (const c of conns.values()) {
        const m = await c.request(METADATA_API, 12, {
          topics: [{ name: "t", topicId: "AAAAAAAAAAAAAAAAAAAAAA" }],
          allowAutoTopicCreation: false,
          includeTopicAuthorizedOperations: false,
        });
        seen.push(m.topics[0]!.partitions.map((p) => p.leaderId).join());
      }
      const ids = seen[0]!.split(",").map(Number);
      return seen[0] === seen[1] && ids.includes(1) && ids.includes(2) ? ids : undefined;
    });
    // A transactional id coordinated by one broker and a group coordinated by the other.
    const coordinatorOf = async (keyType: number, key: string) =>
      (await c1.request(FIND_COORDINATOR_API, 4, { key: "", keyType, coordinatorKeys: [key] })).coordinators[0]!
        .nodeId;
    let txnId = "";
    let a = -1;
    for (let i = 0; a < 0; i++) {
      const n = await coordinatorOf(1, `txn-${i}`);
      if (n === 1 || n === 2) [txnId, a] = [`txn-${i}`, n];
    }
    const b = a === 1 ? 2 : 1;
    let groupId = "";
    for (let i = 0; groupId === ""; i++) if (await coordinatorOf(0, `group-${i}`) === b) groupId = `group-${i}`;
    const onB = leaders.map((l, p) => (l === b ? p : -1)).filter((p) => p >= 0);
    const ca = conns.get(a)!;
    const cb = conns.get(b)!;

    const init = await ca.request(INIT_PRODUCER_ID_API, 4, {
      transactionalId: txnId,
      transactionTimeoutMs: 60_000,
      producerId: -1n,
      producerEpoch: -1,
    });
    assert.equal(init.errorCode, ErrorCode.NONE);
    const p = { producerId: init.producerId, producerEpoch: init.producerEpoch };
    const produce = (version: number, partition: number, seq: number) =>
      cb.request(PRODUCE_API, version, {
        transactionalId: txnId,
        acks: -1,
        timeoutMs: 5000,
        topicData: [{
          name: "t",
          partitionData: [{
            index: partition,
            records: buildBatch([{ key: null, value: new Uint8Array([seq]) }], {
              ...p,
              baseSequence: seq,
              transactional: true,
            }),
          }],
        }],
      }).then((r) => r.responses[0]!.partitionResponses[0]!.errorCode);
    // v11 (transactions v1): the partition was never added; B asks A, which says no.
    assert.equal(await produce(11, onB[0]!, 0), ErrorCode.INVALID_TXN_STATE);
    // v12 (transactions v2): B has A add the partition.
    assert.equal(await produce(12, onB[0]!, 0), ErrorCode.NONE);
    const staged = await cb.request(TXN_OFFSET_COMMIT_API, 5, {
      transactionalId: txnId,
      groupId,
      ...p,
      generationId: -1,
      memberId: "",
      groupInstanceId: null,
      topics: [{ name: "t", partitions: [{ partitionIndex: 0, committedOffset: 42n, committedMetadata: "" }] }],
    });
    assert.equal(staged.topics[0]!.partitions[0]!.errorCode, ErrorCode.NONE);
    const fetchOffset = async () => {
      const r = await cb.request(OFFSET_FETCH_API, 7, {
        groupId,
        topics: [{ name: "t", partitionIndexes: [0] }],
        requireStable: true,
      });
      const q = r.topics[0]!.partitions[0]!;
      return [q.errorCode, Number(q.committedOffset)];
    };
    assert.deepEqual(await fetchOffset(), [ErrorCode.UNSTABLE_OFFSET_COMMIT, -1]);
    const lso = async () => {
      const r = await cb.request(LIST_OFFSETS_API, 7, {
        replicaId: -1,
        isolationLevel: 1,
        topics: [{ name: "t", partitions: [{ partitionIndex: onB[0]!, timestamp: -1n }] }],
      });
      return Number(r.topics[0]!.partitions[0]!.offset);
    };
    assert.equal(await lso(), 0, "the open transaction holds the LSO");
    const ended = await ca.request(END_TXN_API, 5, { transactionalId: txnId, ...p, committed: true });
    assert.equal(ended.errorCode, ErrorCode.NONE);
    assert.equal(ended.producerEpoch, p.producerEpoch + 1);
    assert.equal(await lso(), 2, "batch and COMMIT marker, written on the other broker");
    assert.deepEqual(await fetchOffset(), [ErrorCode.NONE, 42]);
  } finally {
    for (const c of conns.values()) c.close();
    for (const broker of brokers.reverse()) await broker.close();
  }
});
