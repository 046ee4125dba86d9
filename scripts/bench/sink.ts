/**
 * Produce sink: a TCP server that answers ApiVersions, Metadata, InitProducerId and Produce with
 * success and stores nothing. It is the ceiling for the produce benchmarks: what librdkafka plus
 * loopback (plus the cheapest possible Bun request loop) can do on this machine, so kbin's produce
 * rates can be reported as a ratio to it. Not a broker: no Fetch, no validation, no storage.
 *
 * Usage: `bun scripts/bench/sink.ts [--listen HOST:PORT] [--partitions N]`
 * (default 127.0.0.1:0, 1 partition per topic). Prints `sink ready on HOST:PORT` when listening.
 *
 * @module
 */

import { parseArgs } from "node:util";
import type { ApiDescriptor } from "../../src/protocol/generated/api_keys.ts";
import { PRODUCE_API, type ProduceRequest } from "../../src/protocol/generated/00_produce.ts";
import { METADATA_API, type MetadataRequest } from "../../src/protocol/generated/03_metadata.ts";
import { API_VERSIONS_API } from "../../src/protocol/generated/18_api_versions.ts";
import { INIT_PRODUCER_ID_API } from "../../src/protocol/generated/22_init_producer_id.ts";
import { decodeRequestHeader, encodeResponseHeader } from "../../src/protocol/generated/headers.ts";
import { ErrorCode } from "../../src/protocol/generated/errors.ts";
import { Reader } from "../../src/protocol/reader.ts";
import { Writer } from "../../src/protocol/writer.ts";

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: { listen: { type: "string", default: "127.0.0.1:0" }, partitions: { type: "string", default: "1" } },
});
const [listenHost = "127.0.0.1", listenPort = "0"] = values.listen.split(":");
const partitionCount = Number(values.partitions);
/** The APIs the sink answers, with the same version windows as kbin's handlers. */
const SUPPORTED: [ApiDescriptor<any, any>, number][] = [
  [PRODUCE_API, 11],
  [METADATA_API, 12],
  [API_VERSIONS_API, 4],
  [INIT_PRODUCER_ID_API, 5],
];
/**
 * Advertised but never answered (a producer does not send them). librdkafka derives features
 * from ApiVersions: without Fetch v4 it falls back to magic 1 message sets, without
 * FindCoordinator v0 it turns lz4 off, without Fetch v10 zstd. Same windows as kbin.
 */
const ADVERTISED_ONLY = [
  { apiKey: 1, minVersion: 0, maxVersion: 17 },
  { apiKey: 2, minVersion: 1, maxVersion: 10 },
  { apiKey: 10, minVersion: 0, maxVersion: 6 },
];
const MAX_FRAME_BYTES = 100 * 1024 * 1024;
const TOPIC_ID = "c2lua3NpbmtzaW5rc2luaw";

let nextProducerId = 1000n;
/** Next offset per "topic/partition", so responses carry increasing base offsets. */
const offsets = new Map<string, bigint>();

interface SinkSocket {
  chunks: Uint8Array[];
  buffered: number;
  pending: Uint8Array[];
}

function respond(api: ApiDescriptor<any, any>, version: number, correlationId: number, body: unknown): Uint8Array {
  const w = new Writer(256);
  w.int32(0);
  encodeResponseHeader(w, api.responseHeaderVersion(version), { correlationId });
  api.encodeResponse(w, version, body);
  const out = w.toBytes();
  new DataView(out.buffer, out.byteOffset, out.byteLength).setInt32(0, out.length - 4);
  return out;
}

function produceResponse(req: ProduceRequest): unknown {
  return {
    throttleTimeMs: 0,
    responses: req.topicData.map((t) => ({
      name: t.name,
      partitionResponses: t.partitionData.map((p) => {
        const key = `${t.name}/${p.index}`;
        const base = offsets.get(key) ?? 0n;
        let count = 0;
        const r = p.records;
        // lastOffsetDelta + 1 of each batch (offset 23 in a RecordBatch v2 header).
        if (r !== null) {
          const v = new DataView(r.buffer, r.byteOffset, r.byteLength);
          for (let at = 0; at + 27 <= r.length;) {
            count += v.getInt32(at + 23) + 1;
            at += 12 + v.getInt32(at + 8);
          }
        }
        offsets.set(key, base + BigInt(count));
        return {
          index: p.index,
          errorCode: ErrorCode.NONE,
          baseOffset: base,
          logAppendTimeMs: -1n,
          logStartOffset: 0n,
        };
      }),
    })),
  };
}

function metadataResponse(req: MetadataRequest, host: string, port: number): unknown {
  return {
    throttleTimeMs: 0,
    brokers: [{ nodeId: 1, host, port, rack: null }],
    clusterId: "kbin-bench-sink",
    controllerId: 1,
    topics: (req.topics ?? []).map((t) => ({
      errorCode: ErrorCode.NONE,
      name: t.name,
      topicId: TOPIC_ID,
      isInternal: false,
      partitions: Array.from({ length: partitionCount }, (_, i) => ({
        errorCode: ErrorCode.NONE,
        partitionIndex: i,
        leaderId: 1,
        leaderEpoch: 0,
        replicaNodes: [1],
        isrNodes: [1],
        offlineReplicas: [],
      })),
    })),
  };
}

/** Answers one request frame (without its size prefix); null when no response is due. */
function handle(frame: Uint8Array, host: string, port: number): Uint8Array | null {
  const dv = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const apiKey = dv.getInt16(0);
  const version = dv.getInt16(2);
  const entry = SUPPORTED.find(([api]) => api.apiKey === apiKey);
  if (!entry) throw new RangeError(`Cannot answer API key ${apiKey}: the sink only knows Produce and metadata`);
  const [api, maxVersion] = entry;
  const r = new Reader(frame);
  if (api === API_VERSIONS_API && version > maxVersion) {
    // Kafka answers an unknown ApiVersions version with v0 and UNSUPPORTED_VERSION.
    const correlationId = dv.getInt32(4);
    return respond(api, 0, correlationId, { errorCode: ErrorCode.UNSUPPORTED_VERSION, apiKeys: apiKeys() });
  }
  const header = decodeRequestHeader(r, api.requestHeaderVersion(version));
  const req = api.decodeRequest(r, version);
  switch (api) {
    case API_VERSIONS_API:
      return respond(api, version, header.correlationId, { errorCode: ErrorCode.NONE, apiKeys: apiKeys() });
    case METADATA_API:
      return respond(api, version, header.correlationId, metadataResponse(req as MetadataRequest, host, port));
    case INIT_PRODUCER_ID_API:
      return respond(api, version, header.correlationId, { producerId: nextProducerId++, producerEpoch: 0 });
    default: {
      const produce = req as ProduceRequest;
      const body = produceResponse(produce);
      return produce.acks === 0 ? null : respond(api, version, header.correlationId, body);
    }
  }
}

function apiKeys() {
  return [
    ...SUPPORTED.map(([api, maxVersion]) => ({ apiKey: api.apiKey, minVersion: api.minVersion, maxVersion })),
    ...ADVERTISED_ONLY,
  ].sort((a, b) => a.apiKey - b.apiKey);
}

function send(socket: Bun.Socket<SinkSocket>, bytes: Uint8Array): void {
  const s = socket.data;
  if (s.pending.length > 0) {
    s.pending.push(bytes);
    return;
  }
  const n = socket.write(bytes);
  if (n < bytes.length) s.pending.push(bytes.subarray(Math.max(0, n)));
}

/** Splits buffered bytes into frames and answers each; returns false to close the socket. */
function consume(socket: Bun.Socket<SinkSocket>, host: string, port: number): boolean {
  const s = socket.data;
  for (;;) {
    if (s.buffered < 4) return true;
    let head = s.chunks[0]!;
    if (head.length < 4) {
      head = concat(s.chunks, s.buffered);
      s.chunks = [head];
    }
    const size = new DataView(head.buffer, head.byteOffset, 4).getInt32(0);
    if (size < 0 || size > MAX_FRAME_BYTES) return false;
    if (s.buffered < 4 + size) return true;
    if (head.length < 4 + size) {
      head = concat(s.chunks, s.buffered);
      s.chunks = [head];
    }
    const frame = head.subarray(4, 4 + size);
    const rest = head.subarray(4 + size);
    if (rest.length > 0) s.chunks[0] = rest;
    else s.chunks.shift();
    s.buffered -= 4 + size;
    const out = handle(frame, host, port);
    if (out !== null) send(socket, out);
  }
}

function concat(chunks: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

const server = Bun.listen<SinkSocket>({
  hostname: listenHost,
  port: Number(listenPort),
  socket: {
    open(socket) {
      socket.data = { chunks: [], buffered: 0, pending: [] };
      socket.setNoDelay?.(true);
    },
    data(socket, chunk) {
      socket.data.chunks.push(chunk);
      socket.data.buffered += chunk.length;
      try {
        if (!consume(socket, server.hostname, server.port)) socket.end();
      } catch (err) {
        console.error(`sink: closing a connection: ${(err as Error).message}`);
        socket.end();
      }
    },
    drain(socket) {
      const s = socket.data;
      while (s.pending.length > 0) {
        const head = s.pending[0]!;
        const n = socket.write(head);
        if (n < head.length) {
          s.pending[0] = head.subarray(Math.max(0, n));
          return;
        }
        s.pending.shift();
      }
    },
  },
});
console.log(`sink ready on ${server.hostname}:${server.port}`);
process.on("SIGTERM", () => {
  server.stop(true);
  process.exit(0);
});
