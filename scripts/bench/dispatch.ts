/**
 * Request-path microbenchmark: requests per second through `Dispatcher.handle` in one process,
 * with `file:` storage in a temporary directory and no sockets, for small Produce (v9, acks=1, one 100-byte record) and
 * Fetch (v12, one partition) requests. It measures the per-request work of kbin's own code
 * (decoding, routing, handlers, encoding), which the socket benchmarks in suite.ts drown in I/O.
 *
 * Usage: bun scripts/bench/dispatch.ts [ROOT] [REQUESTS]
 *   ROOT: a kbin checkout to measure (default this one), so that another commit can be measured
 *   in the same run for before/after numbers (`git worktree add /tmp/before REV`).
 * On a shared VM the numbers swing by tens of percent from run to run: alternate the two trees
 * several times and compare the best runs.
 *
 * @module
 */

const root = process.argv[2] ?? new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
const n = Number(process.argv[3] ?? 100000);
const { startKafkaBroker } = await import(`${root}/src/server/start.ts`);
const { BrokerConfig } = await import(`${root}/src/broker/config.ts`);
const { silentLogger } = await import(`${root}/src/broker/logger.ts`);
const { bunRuntime } = await import(`${root}/src/runtime/bun/runtime.ts`);
const { PRODUCE_API } = await import(`${root}/src/protocol/generated/00_produce.ts`);
const { FETCH_API } = await import(`${root}/src/protocol/generated/01_fetch.ts`);
const { encodeRequestHeader } = await import(`${root}/src/protocol/generated/headers.ts`);
const { Writer } = await import(`${root}/src/protocol/writer.ts`);
const { buildBatch } = await import(`${root}/src/protocol/records/records.ts`);

const { mkdtempSync, rmSync } = await import("node:fs");
const { tmpdir } = await import("node:os");
const dir = mkdtempSync(`${tmpdir()}/kbin-dispatch-`);
process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
const running = await startKafkaBroker({
  runtime: bunRuntime,
  config: new BrokerConfig([["listeners", "PLAINTEXT://127.0.0.1:0"], ["num.partitions", "1"]]),
  logger: silentLogger,
  // Trees from before the storage interface took `dataDir`; later ones a storage URL.
  dataDir: dir,
  storage: `file:${dir}`,
});
const broker = running.broker;
const created = broker.store
  ? broker.store.createTopic({ name: "b", partitions: 1, configs: {} })
  : await broker.storage.topics.create({ name: "b", partitions: 1, configs: {} });
if (!created.ok) throw new Error("create failed");
const conn: Record<string, unknown> = { remote: "x", id: 1, principal: "ANONYMOUS", data: new Map() };
function frame(api: any, version: number, body: any): Uint8Array {
  const w = new Writer(256);
  encodeRequestHeader(w, api.requestHeaderVersion(version), {
    requestApiKey: api.apiKey,
    requestApiVersion: version,
    correlationId: 1,
    clientId: "bench",
  });
  api.encodeRequest(w, version, body);
  return w.toBytes();
}
const batch = buildBatch([{ value: new Uint8Array(100) }]);
const prod = () =>
  frame(PRODUCE_API, 9, {
    acks: 1,
    timeoutMs: 1000,
    topicData: [{ name: "b", partitionData: [{ index: 0, records: batch.slice() }] }],
  });
const fetchFrame = frame(FETCH_API, 12, {
  replicaId: -1,
  maxWaitMs: 0,
  minBytes: 0,
  maxBytes: 4096,
  isolationLevel: 0,
  sessionId: 0,
  sessionEpoch: -1,
  topics: [{ topic: "b", partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 4096 }] }],
  forgottenTopicsData: [],
  rackId: "",
});
for (let i = 0; i < 2000; i++) await broker.dispatcher.handle(prod(), conn, () => {});
let t = performance.now();
for (let i = 0; i < n; i++) await broker.dispatcher.handle(prod(), conn, () => {});
const p = n / ((performance.now() - t) / 1000);
for (let i = 0; i < 2000; i++) await broker.dispatcher.handle(fetchFrame, conn, () => {});
t = performance.now();
for (let i = 0; i < n; i++) await broker.dispatcher.handle(fetchFrame, conn, () => {});
const f = n / ((performance.now() - t) / 1000);
console.log(`${root}: produce ${Math.round(p)}/s fetch ${Math.round(f)}/s`);
await running.close();
process.exit(0);
