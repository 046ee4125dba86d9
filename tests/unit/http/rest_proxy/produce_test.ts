/**
 * The REST proxy's producer with a fake Kafka client: answers per record from batch offsets, and on
 * a cluster of several brokers only the partitions this broker leads; the ordered answer queue.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { KafkaClient } from "../../../../src/client/client.ts";
import { partitionForKey } from "../../../../src/client/partitioner.ts";
import { silentLogger } from "../../../../src/broker/logger.ts";
import { type Delivery, OrderedOutput, TopicProducer } from "../../../../src/http/rest_proxy/produce.ts";
import type { ConvertedRecord } from "../../../../src/http/rest_proxy/records.ts";
import { RestError } from "../../../../src/http/rest_proxy/errors.ts";

/** A client whose topic "t" has partitions led by `leaders[i]`; Produce answers offset 10 × partition. */
function fakeClient(leaders: number[], produced: { node: number; partitions: number[] }[]): KafkaClient {
  const metadata = () =>
    Promise.resolve({
      brokers: [],
      topics: [{
        name: "t",
        errorCode: 0,
        partitions: leaders.map((leaderId, partitionIndex) => ({
          partitionIndex,
          leaderId,
          errorCode: 0,
          leaderEpoch: 0,
        })),
      }],
    });
  const conn = (node: number) => ({
    address: `node-${node}`,
    // No InitProducerId: idempotence stays off.
    pickVersion: (api: { apiKey: number }) => (api.apiKey === 0 ? 9 : null),
    request: (
      _api: unknown,
      _v: number,
      body: { topicData: { name: string; partitionData: { index: number }[] }[] },
    ) => {
      const partitions = body.topicData[0]!.partitionData.map((p) => p.index);
      produced.push({ node, partitions });
      return Promise.resolve({
        responses: [{
          name: "t",
          partitionResponses: partitions.map((index) => ({
            index,
            errorCode: 0,
            baseOffset: BigInt(10 * index),
            logAppendTimeMs: -1n,
            recordErrors: [],
            errorMessage: null,
          })),
        }],
      });
    },
  });
  return {
    metadata,
    any: () => Promise.resolve(conn(0)),
    node: (n: number) => Promise.resolve(conn(n)),
  } as unknown as KafkaClient;
}

function rec(partial: Partial<ConvertedRecord>): ConvertedRecord {
  return {
    partition: undefined,
    key: null,
    value: new Uint8Array([1]),
    headers: [],
    timestamp: 5n,
    keyInfo: undefined,
    valueInfo: undefined,
    ...partial,
  };
}

const options = { localNode: () => 1, lingerMs: 0, deliveryTimeoutMs: 5000, logger: silentLogger };

test("TopicProducer answers each record with its offset in the batch and the record's timestamp", async () => {
  const produced: { node: number; partitions: number[] }[] = [];
  const p = await TopicProducer.open(fakeClient([1, 1], produced), "t", options);
  assert.ok(p instanceof TopicProducer);
  const sent = [rec({ partition: 1 }), rec({ partition: 1, timestamp: 99n }), rec({ partition: 0 })].map((r) =>
    p.send(r).delivery
  );
  const out = await Promise.all(sent);
  assert.deepEqual(out, [
    { ok: true, partition: 1, offset: 10n, timestampMs: 5n },
    { ok: true, partition: 1, offset: 11n, timestampMs: 99n },
    { ok: true, partition: 0, offset: 0n, timestampMs: 5n },
  ]);
  assert.deepEqual(produced, [{ node: 1, partitions: [0, 1] }], "one Produce request with a batch per partition");
  const missing = await p.send(rec({ partition: 2 })).delivery;
  assert.ok(!missing.ok && missing.error.errorCode === 40402);
  await p.close();
});

test("TopicProducer on several brokers writes only to the partitions this broker leads", async () => {
  const produced: { node: number; partitions: number[] }[] = [];
  // Partitions 0 and 2 are led by this broker (1), partition 1 by broker 2.
  const p = await TopicProducer.open(fakeClient([1, 2, 1], produced), "t", options);
  assert.ok(p instanceof TopicProducer);
  const refused = await p.send(rec({ partition: 1 })).delivery as Extract<Delivery, { ok: false }>;
  assert.equal(refused.ok, false);
  assert.equal(refused.error.errorCode, 50003);
  assert.match(refused.error.message, /NOT_LEADER_OR_FOLLOWER\): partition 1 of "t" is led by broker 2, not this one/);
  // A key hashing to broker 2's partition is refused too; keyless records go round robin over 0 and 2.
  let key = new Uint8Array([0]);
  for (let i = 0; partitionForKey(key, 3) !== 1; i++) key = new Uint8Array([i]);
  assert.equal((await p.send(rec({ key })).delivery).ok, false);
  const keyless = await Promise.all([p.send(rec({})).delivery, p.send(rec({})).delivery, p.send(rec({})).delivery]);
  assert.deepEqual(keyless.map((d) => d.ok && d.partition), [0, 2, 0]);
  assert.ok(produced.every((r) => r.node === 1 && !r.partitions.includes(1)));
  assert.equal(
    p.matches([{ partitionIndex: 0, leaderId: 1 }, { partitionIndex: 1, leaderId: 2 }, {
      partitionIndex: 2,
      leaderId: 1,
    }]),
    true,
  );
  assert.equal(
    p.matches([{ partitionIndex: 0, leaderId: 1 }, { partitionIndex: 1, leaderId: 1 }, {
      partitionIndex: 2,
      leaderId: 1,
    }]),
    false,
  );
  await p.close();
});

test("TopicProducer.open() answers 40401 for an unknown topic", async () => {
  const client = {
    metadata: () => Promise.resolve({ brokers: [], topics: [{ name: "x", errorCode: 3, partitions: [] }] }),
  };
  const r = await TopicProducer.open(client as unknown as KafkaClient, "x", options);
  assert.ok(r instanceof RestError);
  assert.deepEqual(r.body(), { error_code: 40401, message: "Topic not found." });
});

test("OrderedOutput.next() hands out answers in reservation order, as runs of the ready ones", async () => {
  const out = new OrderedOutput();
  const a = out.reserve();
  const b = out.reserve();
  const c = out.reserve();
  c("C");
  b("B");
  const first = out.next();
  a("A");
  assert.equal(await first, "ABC");
  const d = out.reserve();
  const settled = out.settled();
  out.end();
  const second = out.next();
  d("D");
  await settled;
  assert.equal(await second, "D");
  assert.equal(await out.next(), null);
});
