/**
 * REST produce throughput beside Kafka-protocol produce of the same records in the same run: one
 * kbin (`--http`) on file:, a topic of PARTITIONS partitions, JSON values of about 200 bytes
 * without keys, acks=all everywhere. Three cases alternate, REPEATS runs of SECONDS each:
 *
 * - kafka: kbin's own Producer over TCP (idempotent, batches per partition, 5 requests in flight);
 * - rest batched: WORKERS HTTP clients, each POSTing 100 concatenated records per request to v3
 *   `/records` and waiting for the 100 answers before the next request;
 * - rest streaming: WORKERS HTTP clients, each sending one chunked request for the whole run (100
 *   records per chunk), answered one JSON object per record.
 *
 * Reports records/s and MB/s (medians) and each REST case as a ratio to the Kafka protocol.
 *
 * Usage: bash scripts/bench/run.sh rest [SECONDS] [REPEATS] [WORKERS] [PARTITIONS]
 *        (or bun scripts/bench/rest_produce.ts …; defaults 3, 2, 4, 4)
 * Environment: KBIN_BIN (a kbin executable; default kbin from source on Bun).
 *
 * @module
 */

import { KafkaClient } from "../../src/client/client.ts";
import { Producer } from "../../src/client/producer.ts";
import { CREATE_TOPICS_API } from "../../src/protocol/generated/19_create_topics.ts";
import { connect } from "../../src/runtime/bun/net.ts";
import { startHttpBroker } from "./http_broker.ts";

const SECONDS = Number(process.argv[2] ?? 3);
const REPEATS = Number(process.argv[3] ?? 2);
const WORKERS = Number(process.argv[4] ?? 4);
const PARTITIONS = Number(process.argv[5] ?? 4);
const PER_REQUEST = 100;
const TOPIC = "bench-rest";
const log = (s: string) => process.stderr.write(`rest: ${s}\n`);
const encoder = new TextEncoder();

/** The record values, about 200 bytes of JSON each (the same bytes through both protocols). */
function value(n: number): { id: number; customer: string; items: string[]; note: string } {
  return { id: n, customer: `customer-${n % 1000}`, items: ["alpha", "beta", "gamma"], note: "x".repeat(120) };
}
const VALUE_BYTES = encoder.encode(JSON.stringify(value(123456))).length;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const broker = await startHttpBroker("rest");
try {
  const { port, url } = broker;
  const client = new KafkaClient({ bootstrap: [`127.0.0.1:${port}`], connect, clientId: "bench-rest" });
  const { response } = await client.send(CREATE_TOPICS_API, () => ({
    topics: [{ name: TOPIC, numPartitions: PARTITIONS, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 30_000,
  }));
  if (response.topics[0]?.errorCode !== 0) throw new Error(`CreateTopics: ${response.topics[0]?.errorCode}`);
  const clusterId = ((await (await fetch(`${url}/v3/clusters`)).json()) as { data: { cluster_id: string }[] }).data[0]!
    .cluster_id;
  const recordsUrl = `${url}/v3/clusters/${clusterId}/topics/${TOPIC}/records`;

  /** Counts the `"error_code":200` answers of a v3 produce answer; throws on any other. */
  const countOk = (text: string): number => {
    let n = 0;
    for (const line of text.split("\r\n")) {
      if (line === "") continue;
      if (!line.startsWith('{"error_code":200')) throw new Error(`REST produce failed: ${line.slice(0, 300)}`);
      n++;
    }
    return n;
  };
  const chunkOf = (from: number): string => {
    let s = "";
    for (let i = 0; i < PER_REQUEST; i++) s += JSON.stringify({ value: { type: "JSON", data: value(from + i) } });
    return s;
  };

  const kafka = async (): Promise<number> => {
    let delivered = 0;
    let failed: string | null = null;
    const producer = new Producer(client, TOPIC, {
      acks: -1,
      onDelivered: (r) => (delivered += r.tags.length),
      onFailed: (f) => (failed ??= f.message),
    });
    await producer.connect();
    const t0 = performance.now();
    const end = t0 + SECONDS * 1000;
    let n = 0;
    while (performance.now() < end) {
      // One chunk of records at a time, as the REST cases send them.
      for (let i = 0; i < PER_REQUEST; i++, n++) {
        const wait = producer.send({ key: null, value: encoder.encode(JSON.stringify(value(n))) });
        if (wait) await wait;
      }
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    await producer.flush();
    const seconds = (performance.now() - t0) / 1000;
    producer.close();
    if (failed !== null) throw new Error(`Kafka produce failed: ${failed}`);
    return delivered / seconds;
  };

  const restBatched = async (): Promise<number> => {
    const t0 = performance.now();
    const end = t0 + SECONDS * 1000;
    const counts = await Promise.all(Array.from({ length: WORKERS }, async (_, w) => {
      let ok = 0;
      let n = w * 1e9;
      while (performance.now() < end) {
        const r = await fetch(recordsUrl, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: chunkOf(n),
        });
        n += PER_REQUEST;
        ok += countOk(await r.text());
      }
      return ok;
    }));
    return counts.reduce((a, b) => a + b, 0) / ((performance.now() - t0) / 1000);
  };

  const restStreaming = async (): Promise<number> => {
    const t0 = performance.now();
    const end = t0 + SECONDS * 1000;
    const counts = await Promise.all(Array.from({ length: WORKERS }, async (_, w) => {
      let n = w * 1e9;
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (performance.now() >= end) controller.close();
          else {
            controller.enqueue(encoder.encode(chunkOf(n)));
            n += PER_REQUEST;
          }
        },
      });
      const r = await fetch(recordsUrl, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
        duplex: "half",
      } as RequestInit);
      return countOk(await r.text());
    }));
    return counts.reduce((a, b) => a + b, 0) / ((performance.now() - t0) / 1000);
  };

  const cases = [
    ["Kafka protocol (kbin Producer, TCP)", kafka],
    [`REST v3, ${PER_REQUEST} records per request, ${WORKERS} clients`, restBatched],
    [`REST v3 streaming, ${PER_REQUEST} records per chunk, ${WORKERS} streams`, restStreaming],
  ] as const;
  log("warming up");
  for (const [, run] of cases) await run();
  const results = new Map<string, number[]>(cases.map(([name]) => [name, []]));
  for (let i = 0; i < REPEATS; i++) {
    for (const [name, run] of cases) {
      const rate = await run();
      results.get(name)!.push(rate);
      log(`run ${i + 1}: ${name}: ${Math.round(rate).toLocaleString("en")} records/s`);
    }
  }
  const base = median(results.get(cases[0][0])!);
  console.log(
    `\nProduce to ${PARTITIONS} partitions on file:, acks=all, ${VALUE_BYTES}-byte JSON values, ` +
      `${REPEATS} runs of ${SECONDS} s each (medians)\n`,
  );
  console.log("| case | records/s | MB/s (values) | vs Kafka protocol |");
  console.log("| --- | --- | --- | --- |");
  for (const [name] of cases) {
    const rate = median(results.get(name)!);
    console.log(
      `| ${name} | ${Math.round(rate).toLocaleString("en")} | ${(rate * VALUE_BYTES / 1e6).toFixed(1)} | ${
        (rate / base).toFixed(2)
      } |`,
    );
  }
  await client.close();
} finally {
  await broker.stop();
}
