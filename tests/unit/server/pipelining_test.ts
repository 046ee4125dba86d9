/**
 * Pipelined requests on one connection: Produce releases the connection once its batches have
 * offsets, so later requests run while it waits for fsync; effects and answers stay in order.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { startBroker } from "../../../mod.ts";
import { KafkaConnection } from "../../../src/client/connection.ts";
import { PRODUCE_API } from "../../../src/protocol/generated/00_produce.ts";
import { FETCH_API } from "../../../src/protocol/generated/01_fetch.ts";
import { CREATE_TOPICS_API } from "../../../src/protocol/generated/19_create_topics.ts";
import { ErrorCode } from "../../../src/protocol/generated/errors.ts";
import { buildBatch } from "../../../src/protocol/records/records.ts";
import { scanBatches } from "../../../src/protocol/records/batch.ts";
import { connect } from "../../support/runtime.ts";

const enc = new TextEncoder();

test("pipelined acks=all produce requests get consecutive offsets in request order, and a pipelined fetch sees an in-order prefix", async () => {
  await using broker = await startBroker({ logLevel: "silent" });
  const conn = await KafkaConnection.open("127.0.0.1", broker.port, { connect });
  try {
    await conn.request(CREATE_TOPICS_API, 5, {
      topics: [{ name: "p", numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 1000,
    });
    const sends = Array.from({ length: 20 }, (_, i) =>
      conn.request(PRODUCE_API, 9, {
        acks: -1,
        timeoutMs: 1000,
        topicData: [{
          name: "p",
          partitionData: [{
            index: 0,
            records: buildBatch([{ value: enc.encode(`a${i}`) }, { value: enc.encode(`b${i}`) }]),
          }],
        }],
      }));
    const fetched = conn.request(FETCH_API, 12, {
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1 << 20,
      topics: [{ topic: "p", partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20 }] }],
    });
    const results = await Promise.all(sends);
    const offsets = results.map((r) => {
      const p = r.responses[0]!.partitionResponses[0]!;
      assert.equal(p.errorCode, ErrorCode.NONE);
      return Number(p.baseOffset);
    });
    assert.deepEqual(offsets, offsets.map((_, i) => i * 2), "each request's batch follows the previous one");
    const f = (await fetched).responses[0]!.partitions[0]!;
    assert.equal(f.errorCode, ErrorCode.NONE);
    // Answers and effects are ordered; visibility is not promised before a produce is answered,
    // so the fetch sees a whole-batch prefix of the log (usually all of it).
    const hw = Number(f.highWatermark);
    assert.ok(hw % 2 === 0 && hw <= 40, `high watermark ${hw}`);
    assert.equal(scanBatches(f.records!).batches.length, hw / 2);
  } finally {
    conn.close();
  }
});
