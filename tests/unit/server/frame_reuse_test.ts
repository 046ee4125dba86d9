/**
 * Large Produce frames that span socket reads are assembled into pooled buffers and reused once
 * their request settles. These tests pin the lifetime: a pooled frame is never handed out again
 * while its request (or the log's write of its batches) may still read it.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { startBroker } from "../../../mod.ts";
import { KafkaConnection } from "../../../src/client/connection.ts";
import type { Conn } from "../../../src/ports.ts";
import { FETCH_API } from "../../../src/protocol/generated/01_fetch.ts";
import { PRODUCE_API } from "../../../src/protocol/generated/00_produce.ts";
import { CREATE_TOPICS_API } from "../../../src/protocol/generated/19_create_topics.ts";
import { ErrorCode } from "../../../src/protocol/generated/errors.ts";
import { encodeRequestHeader } from "../../../src/protocol/generated/headers.ts";
import { Writer } from "../../../src/protocol/writer.ts";
import { buildBatch } from "../../../src/protocol/records/records.ts";
import { scanBatches } from "../../../src/protocol/records/batch.ts";
import { serveConnection } from "../../../src/server/connection.ts";
import { FramePool } from "../../../src/server/frame_pool.ts";
import { createLogger } from "../../../src/broker/logger.ts";
import { connect } from "../../support/runtime.ts";

/** FNV-1a and length of a batch from its magic byte on (the broker writes only base offset and leader epoch). */
function fingerprint(batch: Uint8Array): string {
  let h = 0x811c9dc5;
  for (let i = 16; i < batch.length; i++) h = Math.imul(h ^ batch[i]!, 0x01000193);
  return `${batch.length}:${(h >>> 0).toString(16)}`;
}

/** A batch of `count` records of `size` bytes, each byte derived from `seed`. */
function batchOf(seed: number, count = 40, size = 8000): Uint8Array {
  return buildBatch(Array.from({ length: count }, (_, i) => {
    const value = new Uint8Array(size);
    for (let j = 0; j < size; j++) value[j] = (seed * 31 + i * 7 + j) & 0xff;
    return { key: new Uint8Array([seed & 0xff, i]), value };
  }));
}

/** A size-prefixed Produce request frame. */
function produceFrame(correlationId: number, acks: number, topic: string, batches: Uint8Array[]): Uint8Array {
  const w = new Writer();
  w.int32(0);
  encodeRequestHeader(w, PRODUCE_API.requestHeaderVersion(9), {
    requestApiKey: PRODUCE_API.apiKey,
    requestApiVersion: 9,
    correlationId,
    clientId: "frame-reuse-test",
  });
  PRODUCE_API.encodeRequest(w, 9, {
    acks,
    timeoutMs: 5000,
    topicData: [{ name: topic, partitionData: batches.map((records, index) => ({ index, records })) }],
  });
  const out = new Uint8Array(w.length);
  let at = 0;
  for (const c of w.chunks()) {
    out.set(c, at);
    at += c.length;
  }
  new DataView(out.buffer).setInt32(0, out.length - 4);
  return out;
}

test("serveConnection gives a pooled Produce frame back only after its request settles", async () => {
  const pool = new FramePool();
  let feed!: ReadableStreamDefaultController<Uint8Array>;
  const conn: Conn = {
    readable: new ReadableStream<Uint8Array>({ start: (c) => void (feed = c) }),
    writable: new WritableStream<Uint8Array>(),
    remote: "test",
    close() {},
  };
  const gates: (() => void)[] = [];
  const seen: { frame: Uint8Array; copy: Uint8Array; settled: Promise<void> }[] = [];
  const served = serveConnection(conn, {
    logger: createLogger(() => {}, { level: "silent" }),
    maxRequestBytes: 1 << 24,
    framePool: pool,
    handler: {
      handle(frame, _state, release) {
        const copy = frame.slice();
        let open!: () => void;
        const settled = new Promise<void>((resolve) => (open = resolve));
        gates.push(open);
        seen.push({ frame, copy, settled });
        release(); // pipelined: the loop reads the next frame while this one is unanswered
        return settled.then(() => null);
      },
    },
  });
  const frames = [1, 2, 3].map((n) => produceFrame(n, 1, "t", [batchOf(n, 20)]));
  for (const f of frames) {
    // Split every frame across reads so it is assembled (into a pooled buffer).
    for (let at = 0; at < f.length; at += 50_000) feed.enqueue(f.slice(at, at + 50_000));
  }
  while (seen.length < 3) await new Promise((r) => setTimeout(r, 5));
  const buffers = new Set(seen.map((s) => s.frame.buffer));
  assert.equal(buffers.size, 3, "three unanswered frames use three distinct blocks");
  assert.equal(pool.idleBytes, 0);
  gates[0]!();
  await seen[0]!.settled;
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(pool.idleBytes, seen[0]!.frame.buffer.byteLength, "the settled frame's block is back");
  for (const s of seen.slice(1)) assert.deepEqual(s.frame, s.copy, "unsettled frames are untouched");
  gates[1]!();
  gates[2]!();
  feed.close();
  await served;
});

test("pipelined large produce requests (acks 1, all and 0) are stored byte for byte while frame buffers are reused", async () => {
  // On disk: the file system's writes are asynchronous, so a frame reused too early would be
  // read by a pending write (the in-memory file system copies at once and would hide it).
  const dataDir = await mkdtemp(join(tmpdir(), "kbin-frame-reuse-"));
  await using _cleanup = { [Symbol.asyncDispose]: () => rm(dataDir, { recursive: true, force: true }) };
  await using broker = await startBroker({ dataDir, logLevel: "silent" });
  const client = await KafkaConnection.open("127.0.0.1", broker.port, { connect });
  const raw = await connect({ host: "127.0.0.1", port: broker.port });
  const writer = raw.writable.getWriter();
  try {
    const created = await client.request(CREATE_TOPICS_API, 5, {
      topics: [{ name: "reuse", numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 1000,
    });
    assert.equal(created.topics[0]!.errorCode, ErrorCode.NONE);
    const sent: Uint8Array[][] = [[], []];
    // acks=0 requests (no answer) over a raw socket, ~640 KB each, so each spans socket reads.
    for (let n = 0; n < 12; n++) {
      const batches = [batchOf(1000 + n), batchOf(2000 + n)];
      batches.forEach((b, p) => sent[p]!.push(b));
      await writer.write(produceFrame(n + 1, 0, "reuse", batches));
    }
    // Then pipelined acks=1 and acks=all requests on the client connection.
    const answers = [];
    for (let n = 0; n < 12; n++) {
      const batches = [batchOf(3000 + n), batchOf(4000 + n)];
      batches.forEach((b, p) => sent[p]!.push(b));
      const acks = n % 2 === 0 ? 1 : -1;
      answers.push(client.request(PRODUCE_API, 9, {
        acks,
        timeoutMs: 5000,
        topicData: [{ name: "reuse", partitionData: batches.map((records, index) => ({ index, records })) }],
      }));
    }
    const results = await Promise.all(answers);
    for (const r of results) {
      for (const p of r.responses[0]!.partitionResponses) assert.equal(p.errorCode, ErrorCode.NONE);
    }
    for (const partition of [0, 1]) {
      const stored: Uint8Array[] = [];
      for (let offset = 0n; stored.length < 24;) {
        const res = await client.request(FETCH_API, 12, {
          maxWaitMs: 500,
          minBytes: 1,
          maxBytes: 64 << 20,
          topics: [{
            topic: "reuse",
            partitions: [{ partition, fetchOffset: offset, partitionMaxBytes: 64 << 20 }],
          }],
        });
        const part = res.responses[0]!.partitions[0]!;
        assert.equal(part.errorCode, ErrorCode.NONE);
        const records = part.records!;
        const batches = scanBatches(records).batches;
        assert.ok(batches.length > 0, `partition ${partition} has ${stored.length} of 24 batches`);
        for (const { at, size } of batches) stored.push(records.slice(at, at + size));
        offset = BigInt(part.highWatermark);
      }
      const expected = sent[partition]!;
      // Same multiset per source and order within each source: acks=0 batches first in their
      // order, the client's in theirs (the two connections may interleave).
      const key = fingerprint;
      const fromRaw = stored.filter((b) => expected.slice(0, 12).some((e) => key(e) === key(b)));
      const fromClient = stored.filter((b) => expected.slice(12).some((e) => key(e) === key(b)));
      assert.deepEqual(fromRaw.map(key), expected.slice(0, 12).map(key), `partition ${partition}: acks=0 batches`);
      assert.deepEqual(fromClient.map(key), expected.slice(12).map(key), `partition ${partition}: acked batches`);
    }
  } finally {
    writer.releaseLock();
    raw.close();
    client.close();
  }
});
